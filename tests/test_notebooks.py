"""The course notebooks: they run top to bottom in fast mode, are committed clean, follow the course's
structure, and the README's contents table matches them.

Every ``notebooks/NN_*.ipynb`` is picked up by the glob, so new notebooks are tested without editing
this file. Execution uses nbclient with ``NST_FAST=1`` (tiny images, few steps), ``NST_OFFLINE=1`` and
the Agg backend, in a folder of its own outside the repository, one test per notebook
(``tests/notebook_runs.py``). Notebooks 01–05 are executed once per session for this file and
``test_my_nst``'s chain when both are selected: the same kernel also fills in each exercise after its
shipped check has failed, in another folder, and then puts back what it changed.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_runs import EARLY, STARTUP_TIMEOUT, TIMEOUT, execute, notebook_folder

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED_FAILURE_TAG = "raises-exception"

nbformat = pytest.importorskip("nbformat")

needs_notebooks = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/NN_*.ipynb yet")


def _ids(path: Path) -> str:
    return path.stem


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _markdown(nb) -> list[str]:
    return [_source(c) for c in nb.cells if c.cell_type == "markdown"]


def _code(nb) -> list[str]:
    return [_source(c) for c in nb.cells if c.cell_type == "code"]


def _has_heading(nb, pattern: str) -> bool:
    regex = re.compile(rf"^#{{2,3}}\s+(?:\d+\.\s*)?{pattern}\b", re.IGNORECASE | re.MULTILINE)
    return any(regex.search(text) for text in _markdown(nb))


# ------------------------------------------------------------------------------ the text twins
def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, _source(c).strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_and_its_text_twin_agree(path: Path):
    """The .ipynb and its percent-format .py twin (notebooks/jupytext.toml) hold the same cells and tags.

    Editing in JupyterLab with the jupytext extension saves both; after editing one by hand, run
    `make sync`, which copies the newer file's cells into the other."""
    jupytext = pytest.importorskip("jupytext")
    twin = path.with_suffix(".py")
    assert twin.is_file(), f"{path.name} has no text twin {twin.name}; run: make sync"
    ours, theirs = _cells(_read(path)), _cells(jupytext.read(twin))
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"{path.name} cell {index} differs from {twin.name}; run: make sync"
    assert len(ours) == len(theirs), f"{path.name} has {len(ours)} cells, {twin.name} {len(theirs)}; run: make sync"


@needs_notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_names_its_kernel(path: Path):
    """JupyterLab opens a notebook without a kernelspec with a "Select Kernel" dialog; ours start at once."""
    kernelspec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: metadata.kernelspec is {kernelspec}"


@needs_notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_metadata_is_what_jupyterlab_writes(path: Path):
    """A notebook opens unmodified: its metadata is what JupyterLab writes into it on opening (the course
    kernel's spec and language_info) and on saving (jupytext's filters from notebooks/jupytext.toml), so
    JupyterLab changes nothing (tests/test_jupyterlab_open.py checks in a real JupyterLab)."""
    import tomllib

    from nst_lib.course.kernel import LANGUAGE_INFO, NOTEBOOK_KERNELSPEC

    config = tomllib.loads((NOTEBOOK_DIR / "jupytext.toml").read_text(encoding="utf-8"))
    expected = {
        "jupytext": {key: config[key] for key in ("cell_metadata_filter", "notebook_metadata_filter") if key in config},
        "kernelspec": NOTEBOOK_KERNELSPEC,
        "language_info": LANGUAGE_INFO,
    }
    metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    wrong = sorted(key for key in set(metadata) | set(expected) if metadata.get(key) != expected.get(key))
    assert not wrong, f"{path.name} would open modified in JupyterLab: " + "; ".join(
        f"metadata.{key} is {metadata.get(key)!r}, JupyterLab writes {expected.get(key)!r}" for key in wrong)


def test_every_text_twin_has_its_notebook():
    orphans = [p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.py") if not p.with_suffix(".ipynb").is_file()]
    assert not orphans, f"text twins without a notebook: {orphans}; run: make sync"


# -------------------------------------------------------------------------------------- execution
#: what TensorFlow's C++ start-up writes to descriptor 2 (absl's format: I1130 12:00:00.000000 … or I0000 …)
TENSORFLOW_START_UP = re.compile(r"(^|\n)[IWEF]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\]|absl::InitializeLog|cuInit")


def test_the_course_kernel_starts_tensorflow_quietly():
    """The project's python3 kernel is nst_lib.course.kernel (make install), whose first cells stay clean."""
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert "nst_lib.course.kernel" in spec.argv, f"the python3 kernel is not the course's: {spec.argv}; run make install"
    nb = new_notebook(cells=[new_code_cell("import tensorflow as tf\nprint(float(tf.constant(1.0) + 1.0))"),
                             new_code_cell("import time\ntime.sleep(0.5)\nprint('next cell')")])
    NotebookClient(nb, timeout=120, startup_timeout=STARTUP_TIMEOUT, kernel_name="python3").execute()
    streams = [(o.name, o.text) for cell in nb.cells for o in cell.outputs if o.output_type == "stream"]
    assert streams == [("stdout", "2.0\n"), ("stdout", "next cell\n")], streams
    # nbclient records the kernel's kernel_info as JupyterLab does: what the notebooks hold, on any Python
    from nst_lib.course.kernel import DISPLAY_NAME, LANGUAGE_INFO

    assert nb.metadata.language_info == LANGUAGE_INFO, nb.metadata.language_info
    assert spec.display_name == DISPLAY_NAME, f"the python3 kernel is named {spec.display_name!r}; run make install"


#: the test of test_my_nst that runs notebooks 01–05 with their exercises filled in
CHAIN_TEST = "test_notebooks_01_to_05_save_their_solutions_and_08_runs_on_them"


def _timeout(path: Path):
    """Per notebook; one of 01–05 may wait for (or run) the ones before it (tests/notebook_runs.py)."""
    return pytest.mark.timeout((len(EARLY) if path.stem in EARLY else 1) * TIMEOUT + 60)


@pytest.mark.notebooks
@pytest.mark.parametrize("path", [pytest.param(p, marks=_timeout(p)) for p in NOTEBOOKS], ids=_ids)
def test_notebook_runs_top_to_bottom_in_fast_mode(path: Path, request, tmp_path: Path):
    """Every cell runs (a cell tagged raises-exception must fail with its self-check's message), without
    TensorFlow's start-up lines, and the last cell shows a widget. Notebooks 01–05 are executed once for
    this test and test_my_nst's chain when both are selected (tests/notebook_runs.py: one kernel each)."""
    if path.stem in EARLY and any(item.name == CHAIN_TEST for item in request.session.items):
        run = request.getfixturevalue("early_notebooks").result(path.stem)
    else:
        run = execute(path, notebook_folder(tmp_path))
    if run.error:  # a CellExecutionError in a cell not tagged raises-exception
        pytest.fail(f"{path.name}: {run.error}", pytrace=False)
    nb = run.notebook
    assert run.seconds < TIMEOUT, f"{path.name} took {run.seconds:.0f} s in fast mode"

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if EXPECTED_FAILURE_TAG in cell.metadata.get("tags", []):
            # a starter with a deliberate mistake: its self-check must fail with a friendly message,
            # not crash for another reason
            assert errors, f"{path.name} cell {index}: tagged {EXPECTED_FAILURE_TAG} but raised nothing"
            assert errors[0].ename in ("ExerciseError", "ExerciseNotWritten"), (
                f"{path.name} cell {index}: expected an ExerciseError from the self-check, got "
                f"{errors[0].ename}: {errors[0].evalue}"
            )
            assert errors[0].evalue.startswith("✗ ")
        noise = [o.text for o in cell.outputs
                 if o.output_type == "stream" and o.name == "stderr" and TENSORFLOW_START_UP.search(o.text)]
        assert not noise, f"{path.name} cell {index} shows TensorFlow's start-up lines: {noise[0][:300]!r}"
    last = nb.cells[-1]
    shown = [o for o in last.outputs if o.output_type in ("execute_result", "display_data")]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown), (
        f"{path.name}: the last cell did not display a widget"
    )
    assert not (NOTEBOOK_DIR / "my_nst.py").exists(), "a notebook wrote my_nst.py into the repository"
    if path.name.startswith("08_"):
        # nothing written (the shipped starters, no my_nst.py): nothing may be called yours
        streams = [o.text for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                   if o.output_type == "stream" and o.name == "stdout"]
        assert streams[-1].strip().startswith("0 of 8 pieces are yours; missing: preprocess"), streams[-1]
        lines = [line for text in streams for line in text.splitlines()]
        assert not [line for line in lines if re.match(r"✓ \w+: yours|yours\b", line)], lines
        assert "The run below is reference." in lines and any(line.startswith("reference: ") for line in lines)


# ------------------------------------------------------------------------------------- committed
@needs_notebooks
def test_committed_notebooks_have_no_outputs():
    """nbstripout (a dev dependency) checks outputs, execution counts and widget state in one go."""
    tool = shutil.which("nbstripout") or str(Path(sys.executable).with_name("nbstripout"))
    assert Path(tool).exists(), "nbstripout is not installed; run: make install"
    run = subprocess.run([tool, "--verify", *map(str, NOTEBOOKS)], capture_output=True, text=True)
    assert run.returncode == 0, f"nbstripout would change: {run.stdout or run.stderr}; run: make strip"


# ------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_follows_the_course_structure(path: Path):
    nb = _read(path)
    name = path.name
    first = nb.cells[0]
    assert first.cell_type == "markdown", f"{name}: the first cell must be markdown (title and summary)"
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", _source(first).strip()) if p.strip()]
    assert paragraphs[0].startswith("# ") and "\n" not in paragraphs[0], f"{name}: first cell must open with an H1"
    assert len(paragraphs) >= 2 and not paragraphs[1].startswith("#"), f"{name}: a one-line summary follows the title"
    assert any(p.startswith("**What you'll build:**") for p in paragraphs), f"{name}: add \"**What you'll build:** …\""
    assert sum(text.lstrip().startswith("# ") for text in _markdown(nb)) == 1, f"{name}: exactly one H1 title"

    assert _has_heading(nb, "What you will learn"), f"{name}: needs a '## What you will learn' section"
    assert _has_heading(nb, "Summary"), f"{name}: needs a '## Summary' section"
    assert _has_heading(nb, "Exercises"), f"{name}: needs a '## Exercises' section"
    code = _code(nb)
    uses_checks = r"\bnst_lib\.course\.checks\b|\bnst\.course\.checks\b|from nst_lib\.course import [^\n]*\bchecks\b"
    assert any(re.search(uses_checks, c) for c in code), (
        f"{name}: exercises should use a self-check from nst_lib.course.checks"
    )

    assert any(re.search(r"^\s*(import nst_lib\b|from nst_lib\b)", c, re.MULTILINE) for c in code), (
        f"{name}: import the library (import nst_lib as nst, or from nst_lib import …)"
    )
    for text in code:
        assert "sys.path" not in text, f"{name}: no sys.path tricks; the package is installed"

    last = nb.cells[-1]
    assert last.cell_type == "code", f"{name}: the notebook must end with the interactive demo cell"
    assert re.search(r"nst_lib\.course\.widgets|nst\.course\.widgets", _source(last)) and "_demo(" in _source(last), (
        f"{name}: the last cell must build a demo from nst_lib.course.widgets (…_demo())"
    )

    for index, cell in enumerate(nb.cells):
        text = _source(cell)
        assert text.strip(), f"{name} cell {index} is empty"
        assert not re.search(r"\b(TODO|FIXME|XXX)\b", text), f"{name} cell {index} has a TODO"
        if EXPECTED_FAILURE_TAG in cell.metadata.get("tags", []):
            assert "check_" in text, f"{name} cell {index}: only self-checks may be tagged {EXPECTED_FAILURE_TAG}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_exercise_cells_carry_the_exercise_tag(path: Path):
    """The convention of nst_lib.course.checks (its docstring): the code cell in which the learner writes an
    exercise carries the tag `exercise` and defines the function (tests fill these cells with solutions)."""
    import ast

    for index, cell in enumerate(_read(path).cells):
        if "exercise" not in cell.metadata.get("tags", []):
            continue
        assert cell.cell_type == "code", f"{path.name} cell {index}: only code cells are exercise cells"
        defined = [n.name for n in ast.parse(_source(cell)).body if isinstance(n, ast.FunctionDef)]
        assert defined, f"{path.name} cell {index} is tagged exercise but defines no function"


# -------------------------------------------------------------------------------------------- toc
def _make_toc():
    spec = importlib.util.spec_from_file_location("make_toc", REPO / "scripts" / "make_toc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_toc"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_make_toc_is_idempotent_and_only_touches_its_block():
    toc = _make_toc()
    entries = [toc.Entry("00", "notebooks/00_a.ipynb", "A | B", "Summary.", "a thing")]
    table = toc.render_table(entries)
    assert "A \\| B" in table
    readme = "# Project\n\nintro\n\n<!-- toc -->\nold table\n<!-- /toc -->\n\n## More\ntext\n"
    once = toc.update_readme(readme, table)
    assert once == toc.update_readme(once, table)
    assert once.startswith("# Project\n\nintro\n\n<!-- toc -->") and once.endswith("<!-- /toc -->\n\n## More\ntext\n")
    assert "old table" not in once and "[A \\| B](notebooks/00_a.ipynb)" in once
    created = toc.update_readme("# Project\n", table)  # no markers: the block is appended
    assert created.startswith("# Project\n\n## Notebooks\n\n<!-- toc -->") and created.rstrip().endswith("<!-- /toc -->")
    assert toc.update_readme(created, table) == created
    with pytest.raises(toc.TocError):
        toc.update_readme("<!-- /toc --> then <!-- toc -->", table)


def test_make_toc_reads_every_notebook(tmp_path: Path):
    toc = _make_toc()
    (tmp_path / "notebooks").mkdir()
    cell = {"cell_type": "markdown", "metadata": {}, "source": "# Title\n\nOne line.\n\n**What you'll build:** it."}
    (tmp_path / "notebooks" / "07_x.ipynb").write_text(json.dumps({"cells": [cell]}))
    assert toc.notebook_entries(tmp_path) == [toc.Entry("07", "notebooks/07_x.ipynb", "Title", "One line.", "it.")]
    cell["source"] = "# Title\n\nOne line."
    (tmp_path / "notebooks" / "07_x.ipynb").write_text(json.dumps({"cells": [cell]}))
    with pytest.raises(toc.TocError, match="What you'll build"):
        toc.notebook_entries(tmp_path)


@needs_notebooks
def test_readme_contents_table_is_up_to_date():
    toc = _make_toc()
    readme = REPO / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not written yet")
    text = readme.read_text(encoding="utf-8")
    expected = toc.update_readme(text, toc.render_table(toc.notebook_entries(REPO)))
    assert text == expected, "README.md's notebook table is out of date; run: make toc"
