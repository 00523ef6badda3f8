"""The exercises as shipped: every build-it exercise is empty, and none comes after the code that answers it.

"Predict first, then read" (issue 19): a learner writes each key function before the notebook shows it.
These tests read the notebooks (nothing is executed):

* every cell tagged ``exercise`` (the convention of :mod:`nst_lib.course.checks`) defines one function,
  named after a registered exercise, whose body is only ``raise NotImplementedError`` (a docstring may come
  first) — so its check can say "still empty", and nothing of the answer is shipped;
* every registered exercise of notebooks 00–07, 09 and 10 has such a cell in its own notebook, followed by
  a code cell that runs its check, tagged ``raises-exception``; no untagged cell defines an exercise's name;
* no code cell *before* an exercise contains the code of its answer. What "the code of its answer" looks
  like is given below as patterns, one list per exercise (the library's way and the reference solution's
  way); at least one of them must match the reference solution's source, so that a list that no longer
  describes the answer fails here instead of passing silently.
"""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
EXERCISE_TAG = "exercise"
EXPECTED_FAILURE_TAG = "raises-exception"
CAPSTONE = "08"  # its two exercises assemble the others; notebook 08 has its own tests

#: exercise → regular expressions for code that answers it (any one found before the exercise is a spoiler)
ANSWER_PATTERNS: dict[str, list[str]] = {
    "to_float_image": [r"/\s*255\b"],
    "preprocess": [r"::-1\]", r"tf\.reverse\("],
    "deprocess": [r"\+\s*\S*MEANS_BGR", r"\+\s*means\b"],
    "feature_map_shape": [r"//\s*2\b"],
    "receptive_field": [r"rf\s*\+=", r"jump\s*\*=\s*2"],
    "make_extractor": [r"keras\.Model\("],
    "gram_matrix": [r"transpose_a\s*=\s*True", r"einsum\("],
    "content_loss": [r"reduce_mean\(tf\.square\(\w+(\[\w+\])?\s*-\s*\w+"],
    "style_loss": [r"reduce_mean\(tf\.square\((nst\.)?gram(_matrix)?\b"],
    "total_variation": [r"\[:,\s*1:", r"\[1:\]\s*-"],
    "adam_step": [r"beta_1\s*\*\s*m\s*\+"],
    "make_train_step": [r"(?s)GradientTape.*apply_gradients"],
    "paper_to_ours": [r"normalisation_factor\(", r"2\s*\*\s*channels\s*\*\s*positions"],
    "luminance_transfer": [r"combine_luminance\(", r"match_luminance\(", r"rgb_to_yiq\("],
    "guided_gram_matrix": [r"reduce_sum\(tf\.square\(mask", r"gram_matrix\(\s*\w+\s*,\s*\w+\s*\)"],
    "mean_std_distance": [r"tf\.nn\.moments\(", r"tf\.sqrt\(variance"],
    "sliced_wasserstein_distance": [r"tf\.sort\("],
    "instance_norm": [r"tf\.nn\.moments\(", r"reduce_mean\(x,\s*axis=\[1,\s*2\]"],
    "batch_style_loss": [r"total\s*/\s*batch", r"perceptual_losses\("],
    "rescale_weights": [r"/\s*np\.asarray\(mean\)", r"\.rescale_weights\("],
    "temporal_loss": [r"tf\.square\(\s*image\s*-\s*warped\s*\)"],
    "activation_values": [r"channels\s*/\s*\(?[\w. *]*stride\)?\s*\*\*\s*2"],
}


def _registry() -> dict:
    from nst_lib.course.checks import EXERCISES

    return {name: item for name, item in EXERCISES.items() if item.notebook != CAPSTONE}


def _notebook(number: str) -> Path:
    matches = sorted(NOTEBOOK_DIR.glob(f"{number}_*.ipynb"))
    assert len(matches) == 1, f"expected one notebook {number}_*.ipynb, found {matches}"
    return matches[0]


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _code_cells(path: Path) -> list[tuple[int, object]]:
    nb = nbformat.read(path, as_version=4)
    return [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def _functions(source: str) -> list[ast.FunctionDef]:
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    return [node for node in ast.parse(cleaned).body if isinstance(node, ast.FunctionDef)]


def _is_empty_starter(function: ast.FunctionDef) -> bool:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise):
        return False
    raised = body[0].exc
    name = raised.func if isinstance(raised, ast.Call) else raised
    return isinstance(name, ast.Name) and name.id == "NotImplementedError"


def _exercise_cell(name: str, notebook: str) -> tuple[int, object, list]:
    """(index, cell, the code cells of the notebook) of the exercise cell defining ``name``."""
    if not sorted(NOTEBOOK_DIR.glob(f"{notebook}_*.ipynb")):
        pytest.skip(f"{name}'s notebook {notebook} is not in notebooks/ yet (its check is registered already)")
    cells = _code_cells(_notebook(notebook))
    found = [(index, cell) for index, cell in cells
             if EXERCISE_TAG in cell.metadata.get("tags", []) and any(f.name == name for f in _functions(_source(cell)))]
    assert len(found) == 1, (f"notebook {notebook}: expected one cell tagged {EXERCISE_TAG!r} defining {name}(), "
                             f"found {len(found)}")
    return found[0][0], found[0][1], cells


EXERCISES = sorted(_registry().items(), key=lambda item: (item[1].notebook, item[0]))


@pytest.mark.parametrize("name, item", EXERCISES, ids=[name for name, _ in EXERCISES])
def test_the_exercise_ships_empty_and_its_check_follows(name, item):
    index, cell, cells = _exercise_cell(name, item.notebook)
    functions = _functions(_source(cell))
    assert [f.name for f in functions] == [name], (
        f"notebook {item.notebook} cell {index}: an exercise cell defines the exercise's function only "
        f"(found {[f.name for f in functions]})")
    assert _is_empty_starter(functions[0]), (
        f"notebook {item.notebook} cell {index}: the body of {name}() must be `raise NotImplementedError` (after an "
        f"optional docstring) — no starter code, no `...` or `pass`, so its check can say \"still empty\"")
    following = [c for i, c in cells if i > index]
    assert following, f"notebook {item.notebook}: nothing runs the check of {name}"
    check_cell = following[0]
    assert re.search(rf"check_\w+\(\s*{name}\s*\)", _source(check_cell)), (
        f"notebook {item.notebook}: the cell after the exercise {name}() must run its check, "
        f"found {_source(check_cell)[:80]!r}")
    assert EXPECTED_FAILURE_TAG in check_cell.metadata.get("tags", []), (
        f"notebook {item.notebook}: the check of {name} fails on the empty starter; tag its cell {EXPECTED_FAILURE_TAG!r}")


@pytest.mark.parametrize("name, item", EXERCISES, ids=[name for name, _ in EXERCISES])
def test_no_exercise_follows_the_code_of_its_answer(name, item):
    patterns = ANSWER_PATTERNS.get(name)
    assert patterns, f"add the patterns of {name}'s answer to ANSWER_PATTERNS"
    reference = inspect.getsource(item.reference)
    assert any(re.search(pattern, reference) for pattern in patterns), (
        f"none of the patterns {patterns} matches the reference {name}() any more: update ANSWER_PATTERNS")
    index, _, cells = _exercise_cell(name, item.notebook)
    spoiler = _first_spoiler(patterns, cells, index)
    assert spoiler is None, (
        f"notebook {item.notebook} cell {spoiler[0]}, before the exercise {name}() (cell {index}), already shows "
        f"its answer ({spoiler[1]!r}): move the exercise before that derivation")


def _first_spoiler(patterns: list[str], cells: list, exercise_index: int) -> tuple[int, str] | None:
    """(cell index, matched text) of the first code cell before ``exercise_index`` with answer code, or None."""
    for index, cell in cells:
        if index >= exercise_index:
            return None
        for pattern in patterns:
            found = re.search(pattern, _source(cell))
            if found:
                return index, found.group(0)
    return None


def test_no_untagged_cell_defines_an_exercise():
    names = {name: item.notebook for name, item in _registry().items()}
    for path in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")):
        if path.name.startswith(CAPSTONE):
            continue
        for index, cell in _code_cells(path):
            if EXERCISE_TAG in cell.metadata.get("tags", []):
                continue
            defined = [f.name for f in _functions(_source(cell)) if f.name in names]
            assert not defined, (f"{path.name} cell {index} defines {defined} without the {EXERCISE_TAG!r} tag: "
                                 "an exercise's function lives in its (empty) exercise cell")


def test_the_spoiler_detector_finds_a_derivation_placed_before_its_exercise():
    """Notebook 03 derives the Gram matrix right after its exercise; with the exercise put after that
    derivation, the detector must report it (so the test above can fail)."""
    index, _, cells = _exercise_cell("gram_matrix", "03")
    assert _first_spoiler(ANSWER_PATTERNS["gram_matrix"], cells, index) is None
    derivation = next(i for i, cell in cells if i > index and re.search(ANSWER_PATTERNS["gram_matrix"][0], _source(cell)))
    assert _first_spoiler(ANSWER_PATTERNS["gram_matrix"], cells, derivation + 1)[0] == derivation
    assert not _is_empty_starter(_functions("def gram_matrix(f):\n    ...\n")[0])
    assert _is_empty_starter(_functions('def gram_matrix(f):\n    """Doc."""\n    raise NotImplementedError\n')[0])
