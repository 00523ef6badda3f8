"""Executing a course notebook in fast mode, and notebooks 01–05 executed once per test session for two tests.

Two tests need notebooks 01–05 run in fast mode: ``test_notebooks`` runs each one as shipped (its exercise
cells empty, their checks failing on purpose), and ``test_my_nst``'s chain runs them with the exercise
cells filled in, so that the checks write ``my_nst.py`` for notebook 08. No cell of 01–05 calls a
learner's function, so the two runs differ only at the exercises, and one kernel per notebook serves both
(:func:`execute`): it runs the shipped cells in order in the notebook's own folder, and right after each
exercise's check has failed, it does what a learner does next — in the *learner's folder*, it runs the
exercise cell filled with the reference solution and its check again (which then saves the function to
``my_nst.py`` there), after the cells since the previous exercise that read ``my_nst.py`` (notebook 04
brings in the learner's ``gram_matrix``). Then the kernel's names those cells set and its working folder
are put back, so the shipped cells that follow see exactly what they see in a shipped run.

:class:`EarlyNotebooks` (the session fixture ``early_notebooks`` in ``conftest.py``) keeps the results in
the session's temporary folder, shared by the pytest-xdist workers under a file lock: whichever test
needs notebook N first runs every early notebook up to N not run yet, in order (the learner's
``my_nst.py`` grows from notebook to notebook), and the others read what it stored.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import fcntl
import inspect
import json
import os
import re
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
#: the notebooks whose checks write the pieces notebook 08 imports from my_nst.py
EARLY = ("01_images_and_preprocessing", "02_vgg19_feature_maps", "03_gram_matrices",
         "04_content_and_style_losses", "05_optimization")
TIMEOUT = 600  # seconds per notebook (and per cell)
#: seconds a kernel may take to start (nbclient's default, 60, is too short on a loaded 2-core machine)
STARTUP_TIMEOUT = 300
EXERCISE_TAG = "exercise"
#: a cell that imports the learner's pieces from my_nst.py (its result depends on the folder it runs in)
READS_LEARNER_FILE = re.compile(r"\bpieces\.(my_pieces|capstone_pieces)\(")


def notebook_folder(base: Path) -> Path:
    """A folder to run notebooks in, outside the repository: what they write (``my_nst.py``, the learner's
    file) lands there, and ``../benchmarks`` still resolves (notebook 10 reads measured results)."""
    folder = base / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    if not (base / "benchmarks").exists():
        (base / "benchmarks").symlink_to(REPO / "benchmarks", target_is_directory=True)
    return folder


def kernel_environment() -> dict[str, str]:
    """Fast mode, offline, the Agg backend, and TensorFlow's C++ log level as a learner's JupyterLab has it."""
    env = {**os.environ, "NST_FAST": "1", "NST_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


# ------------------------------------------------------------------------------- filled exercises
def _exercise_of(function_name: str) -> str | None:
    """The exercise a function of an exercise cell answers: its own name, or without a ``my_`` prefix."""
    from nst_lib.course import checks

    for name in (function_name, function_name.removeprefix("my_")):
        if name in checks.EXERCISES:
            return name
    return None


def fill_with_solutions(source: str) -> tuple[str, list[str]]:
    """An exercise cell with every exercise function replaced by its reference solution (same name), the
    names the solutions read from their module imported first; the cell's other statements are kept."""
    from nst_lib.course import checks, learner_file, solutions

    lines = source.splitlines()
    filled, imports = [], set()
    for node in sorted(ast.parse(source).body, key=lambda n: -n.lineno):
        if not isinstance(node, ast.FunctionDef) or _exercise_of(node.name) is None:
            continue
        exercise = _exercise_of(node.name)
        reference = checks.reference(exercise)
        text = textwrap.dedent(inspect.getsource(reference)).replace(f"def {exercise}(", f"def {node.name}(", 1)
        imports |= {name for name in learner_file._global_names(reference, text) if name not in checks.EXERCISES}
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        lines[start:node.end_lineno] = text.rstrip().splitlines()
        filled.append(exercise)
    header = [f"from {solutions.__name__} import {', '.join(sorted(imports))}"] if imports else []
    return "\n".join(header + lines) + "\n", filled


def exercises_of(path: Path) -> list[str]:
    """The exercises whose cells ``path`` ships (what its filled-in run saves to my_nst.py)."""
    import nbformat

    return [name for cell in nbformat.read(path, as_version=4).cells if EXERCISE_TAG in cell.metadata.get("tags", [])
            for name in fill_with_solutions(cell.source)[1]]


def _assigned_names(source: str) -> set[str]:
    """The names a cell binds at its top level (assignments, imports, definitions)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


# ------------------------------------------------------------------------------------- one run
@dataclasses.dataclass
class Run:
    """One fast-mode execution of a notebook: the shipped cells with their outputs, how long it took, and
    the first error of a cell not tagged raises-exception (None: it ran to the end). With the exercises
    filled in: which were (``filled``), what those cells printed (``learner_printed``), and what went
    wrong (``learner_error``; None: every filled check passed, or none was run)."""

    notebook: dict
    seconds: float
    error: str | None = None
    filled: list[str] = dataclasses.field(default_factory=list)
    learner_printed: str = ""
    learner_error: str | None = None


_PUT_ASIDE = """\
import os as _nst_test_os
_nst_test_aside = {{_n: globals()[_n] for _n in {names!r} if _n in globals()}}
_nst_test_os.chdir({folder!r})
"""
_PUT_BACK = """\
for _nst_test_name in {names!r}:
    globals().pop(_nst_test_name, None)
globals().update(_nst_test_aside)
_nst_test_os.chdir({folder!r})
del _nst_test_aside, _nst_test_name, _nst_test_os
"""


def _learner_step(client, exercise, check, readers: list, folder: Path, learner: Path, run: Run) -> None:
    """After a shipped check failed: the cells in ``readers`` (which read my_nst.py), the exercise cell
    filled in and its check, in ``learner``'s folder; then the kernel's names and folder as they were."""
    from nbformat.v4 import new_code_cell

    source, filled = fill_with_solutions(exercise.source)
    steps = [*(new_code_cell(cell.source) for cell in readers), new_code_cell(source), new_code_cell(check.source)]
    names = sorted(set().union(*(_assigned_names(cell.source) for cell in steps)))
    client.execute_cell(new_code_cell(_PUT_ASIDE.format(names=names, folder=str(learner))), 0, store_history=False)
    try:
        for cell in steps:  # untagged copies: an error here raises instead of passing as expected
            client.execute_cell(cell, 0)
            run.learner_printed += "".join(o.text for o in cell.outputs if o.output_type == "stream")
        run.filled += filled
    except Exception as exc:  # noqa: BLE001 - recorded for the chain test, which reports it
        run.learner_error = run.learner_error or f"{' / '.join(filled)}: {exc}"
    finally:
        client.execute_cell(new_code_cell(_PUT_BACK.format(names=names, folder=str(folder))), 0, store_history=False)


def execute(path: Path, folder: Path, learner: Path | None = None) -> Run:
    """Run notebook ``path`` in fast mode in ``folder``, one kernel, top to bottom (the test of
    ``test_notebooks``); with ``learner``, each exercise is also filled in there after its check (above)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, startup_timeout=STARTUP_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    run = Run(notebook={}, seconds=0.0)
    readers: list = []
    started = time.perf_counter()
    try:
        with client.setup_kernel(env=kernel_environment()):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
                if learner is None or cell.cell_type != "code":
                    continue
                if READS_LEARNER_FILE.search(cell.source):
                    readers.append(cell)
                previous = nb.cells[index - 1] if index else None
                if previous is not None and EXERCISE_TAG in previous.metadata.get("tags", []):
                    _learner_step(client, previous, cell, readers, folder, learner, run)
                    readers = []
    except CellExecutionError as exc:
        run.error = str(exc)
    run.seconds = time.perf_counter() - started
    run.notebook = nbformat.from_dict(nb)
    return run


# --------------------------------------------------------------------------- shared by the workers
class EarlyNotebooks:
    """Notebooks 01–05, each executed once per session (shipped, with the exercises also filled in), for
    every worker: results stored in ``root`` as ``NN.json``; the learner's folder is ``root/learner``."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.learner = root / "learner" / "notebooks"
        self.learner.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _lock(self):
        with open(self.root / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _stored(self, stem: str) -> Path:
        return self.root / f"{stem}.json"

    def result(self, stem: str) -> Run:
        """The run of early notebook ``stem``, running it (and the early ones before it not run yet) if needed."""
        with self._lock():
            for earlier in EARLY[:EARLY.index(stem) + 1]:
                if not self._stored(earlier).is_file():
                    run = execute(NOTEBOOK_DIR / f"{earlier}.ipynb", notebook_folder(self.root / earlier), self.learner)
                    partial = self._stored(earlier).with_suffix(".part")
                    partial.write_text(json.dumps(dataclasses.asdict(run)), encoding="utf-8")
                    partial.replace(self._stored(earlier))
            data = json.loads(self._stored(stem).read_text(encoding="utf-8"))
        import nbformat

        return Run(**{**data, "notebook": nbformat.from_dict(data["notebook"])})
