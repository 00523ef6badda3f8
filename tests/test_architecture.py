"""The architecture as checked contracts: the layers of ``nst_lib`` (``[tool.importlinter]`` in
pyproject.toml, run with ``lint-imports``), no import cycles, no hidden function-local imports, and
docs/architecture.md's layer table generated from the same contracts.

Every module of ``nst_lib`` (the course package as a whole) must sit in one line of the layers contract,
so a new module is placed on purpose, not by accident.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_lib"
#: the comment that marks the one kind of function-local import the project allows (docs/architecture.md)
LAZY_MARK = "# lazy: imports TensorFlow"


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _layers() -> list[list[str]]:
    """The layers contract, top layer first: each layer a list of module names."""
    contract = next(c for c in _contracts() if c["type"] == "layers")
    return [[name.strip() for name in re.split(r"[:|]", line)] for line in contract["layers"]]


def _modules() -> dict[str, Path]:
    """Every module of nst_lib; the course package counts as one (``nst_lib.course``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        out[name] = path
    return out


def _owner(name: str, placed: set[str]) -> str | None:
    """The contract entry that covers module ``name`` (itself or an enclosing package)."""
    while name:
        if name in placed:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(path: Path, name: str, modules: set[str]) -> list[tuple[str, ast.AST, bool]]:
    """(imported nst_lib module, node, inside a function?) for every import statement of a module."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target.startswith("nst_lib") and target != name:
                found.append((target, node, id(node) in inside))
                break
    return found


def test_every_module_is_placed_in_a_layer():
    placed = {module for layer in _layers() for module in layer}
    unplaced = [name for name in _modules() if name != "nst_lib" and _owner(name, placed) is None]
    assert not unplaced, (
        f"module(s) {', '.join(unplaced)} are in no layer of [tool.importlinter] in pyproject.toml: add each to "
        "the line of its layer (docs/architecture.md says which is which)"
    )
    missing = sorted(placed - set(_modules()))
    assert not missing, f"the layers contract names modules that do not exist: {', '.join(missing)}"


def test_import_contracts_hold():
    """``lint-imports`` (import-linter) keeps every contract: the layers, no cycles, the web page apart."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is not installed: make install (the dev extra has import-linter)")
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_import_cycles_counting_function_local_imports():
    """import-linter's graph and this one agree: no module reaches itself, even through a function body."""
    modules = _modules()
    names = set(modules)
    edges = {name: {target for target, _, _ in _imports(path, name, names)} for name, path in modules.items()}
    # the course package's modules are one front end: a cycle inside it is its own business
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if node.startswith(target + ".") or target == "nst_lib":
                continue  # a submodule importing its own package's __init__ (the lazy re-exports)
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(edges):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_function_local_imports_are_only_the_documented_lazy_tensorflow_import():
    """Outside the course, an nst_lib import inside a function is allowed only for a module that imports
    TensorFlow, on a line marked ``# lazy: imports TensorFlow`` (so the command line answers bad
    arguments before TensorFlow's slow start)."""
    modules = _modules()
    names = set(modules)
    heavy = {name for name, path in modules.items()
             if re.search(r"^(import tensorflow|import keras|from \.(backbone|losses|optimize|transfer|fast) import)",
                          path.read_text(), re.M)}
    wrong = []
    for name, path in modules.items():
        if name.startswith("nst_lib.course"):
            continue
        lines = path.read_text().splitlines()
        for target, node, local in _imports(path, name, names):
            if not local:
                continue
            line = lines[node.lineno - 1]
            if LAZY_MARK not in line or target not in heavy:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {line.strip()}")
    assert not wrong, "function-local imports (move them to the top of the module):\n" + "\n".join(wrong)


def _table_rows(text: str) -> dict[str, str]:
    """``module -> layer`` from the rows of docs/architecture.md's layer table."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].startswith("`nst_lib"):
            for module in re.findall(r"`(nst_lib[\w./]*)`", cells[1]):
                rows[module.removesuffix(".py").removesuffix("/").replace("/", ".")] = cells[0]
    return rows


LAYER_NAMES = ["front ends", "applications", "run", "primitives", "leaf"]


def test_architecture_page_places_every_module_as_the_contract_does():
    rows = _table_rows((ROOT / "docs" / "architecture.md").read_text())
    expected = {module: LAYER_NAMES[index] for index, layer in enumerate(_layers()) for module in layer}
    assert len(_layers()) == len(LAYER_NAMES)
    wrong = {m: (rows.get(m), layer) for m, layer in expected.items() if rows.get(m) != layer}
    assert not wrong, ("docs/architecture.md's layer table disagrees with pyproject.toml's contract "
                       f"(module: (page, contract)): {wrong}")


def test_no_core_function_is_longer_than_80_lines_or_takes_more_than_8_parameters():
    """A core a newcomer reads in one sitting (the course's widgets and checks are exempt): the same check
    as the project's shape tool."""
    wide = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "course" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
                count -= 1 if args.args and args.args[0].arg in ("self", "cls") else 0
                lines = node.end_lineno - node.lineno + 1
                if count > 8 or lines > 80:
                    wide.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines, {count} parameters")
    assert not wide, "split these (a helper, a settings object or a dataclass):\n" + "\n".join(wide)
