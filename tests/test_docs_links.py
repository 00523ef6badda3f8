"""Every link and file reference in the README and the docs resolves: relative links point at files that
exist (and at headings that exist, for ``#anchors``), and paths written in backticks (``benchmarks/speed.py``)
name files or folders of the repository. The README stays a landing page (at most 250 lines)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
#: a file named inside backticks (``benchmarks/speed.py``, ``python scripts/x.py --flag``, ``results/a.json``):
#: a path under a folder of the repository, or a bare script name on the benchmarks' own page
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FOLDERS = r"(?:\.\./)?(?:nst_lib|scripts|benchmarks|docs|notebooks|tests|apps|\.ci|results|archive|figures)/"
FILE_PATH = re.compile(r"(?<![\w/$~.])(" + FOLDERS + r"[\w./-]*\w|[\w-]+\.py)(?![\w/<{])")
#: names that stand for a family of files, not one
PLACEHOLDERS = re.compile(r"NN_|_NNNN|[{*<]")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown page's headings."""
    out = set()
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"^#{1,6}\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            out.add(text.replace(" ", "-"))
    return out


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_links_resolve(page: Path):
    broken = []
    for target in LINK.findall(_without_code_blocks(page.read_text())):
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_file_references_resolve(page: Path):
    missing = []
    for span in CODE_SPAN.findall(page.read_text()):
        for reference in FILE_PATH.findall(span):
            if PLACEHOLDERS.search(reference) or ("/" not in reference and page.parent.name != "benchmarks"):
                continue
            bases = [ROOT, page.parent, ROOT / "benchmarks"]
            if not any((base / reference).exists() for base in bases):
                missing.append(reference)
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {', '.join(sorted(set(missing)))}"


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move long sections to docs/*.md (at most 250)"
    for command in ("make test", "make lab", "make test-fast"):
        assert command in "\n".join(lines), f"the README names {command!r}"
