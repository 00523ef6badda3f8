"""The learner's file ``my_nst.py``: passing checks save the function as written in its cell, notebook 08
imports every piece from it, falls back on references built on the learner's other pieces, and labels
every result truthfully (issue 19 §1).

Functions "defined in a cell" are compiled here under the file name ipykernel gives a cell, with their
source in ``linecache`` — what ``inspect.getsource`` reads in a notebook.
"""
from __future__ import annotations

import ast
import inspect
import itertools
import linecache
import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from nst_lib.course import checks, learner_file, pieces, solutions  # noqa: E402
from nst_lib.course.learner_file import FILE_NAME, LearnerFileError  # noqa: E402
from notebook_runs import EARLY, STARTUP_TIMEOUT, exercises_of  # noqa: E402

_cells = itertools.count(1)


def in_a_cell(source: str, namespace: dict) -> dict:
    """Run ``source`` as a notebook cell would (ipykernel's file name, source in linecache)."""
    source = textwrap.dedent(source)
    filename = f"/tmp/ipykernel_{os.getpid()}/{next(_cells)}{abs(hash(source)) % 10**8}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    """A notebook's namespace, running in an empty folder (where my_nst.py goes)."""
    monkeypatch.chdir(tmp_path)
    return in_a_cell("import numpy as np\nimport tensorflow as tf\n", {"__name__": "__main__"})


GRAM = """
def _flat(features):
    return tf.reshape(features, (-1, tf.shape(features)[-1]))

def gram_matrix(features):
    flat = _flat(features)
    positions = tf.cast(tf.shape(flat)[0], tf.float32)
    return (tf.matmul(flat, flat, transpose_a=True) / positions)[tf.newaxis]
"""

PREPROCESS = """
MEANS = np.array((103.939, 116.779, 123.68), np.float32)

def preprocess(images):
    return tf.reverse(images, axis=[-1]) * 255.0 - MEANS
"""

STYLE_LOSS = """
def style_loss(features, target_grams, layer_weights):
    terms = []
    for layer, weight in layer_weights.items():
        gram = gram_matrix(features[layer])
        terms.append(weight * tf.reduce_mean(tf.square(gram - tf.reshape(target_grams[layer], tf.shape(gram)))))
    return tf.add_n(terms)
"""


def _blocks(path: Path) -> dict[str, str]:
    return learner_file._read_blocks(path)


# ------------------------------------------------------------------------------------ saving
def test_a_passing_check_saves_the_cell_function_with_what_it_needs(notebook, tmp_path, capsys):
    in_a_cell(PREPROCESS, notebook)
    in_a_cell(GRAM, notebook)
    assert not (tmp_path / FILE_NAME).exists()
    checks.check_preprocess(notebook["preprocess"])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"→ saved to {FILE_NAME} as preprocess (notebook 08 uses it from there)"
    checks.check_gram_matrix(notebook["gram_matrix"])
    text = (tmp_path / FILE_NAME).read_text()
    assert text.startswith('"""my_nst.py — your own neural style transfer') and "This file is yours" in text
    assert "Made by nst_lib.course.learner_file" in text
    blocks = _blocks(tmp_path / FILE_NAME)
    assert list(blocks) == ["preprocess", "gram_matrix"]  # in the order of the notebooks
    assert "passed check_preprocess" in blocks["preprocess"].splitlines()[0]
    assert "import tensorflow as tf" in blocks["preprocess"] and "MEANS = np.array(" in blocks["preprocess"]
    assert "def _flat(features):" in blocks["gram_matrix"]  # a helper from the cell comes along
    assert not list(tmp_path.glob(".*tmp"))  # written atomically: no temporary file left
    module = learner_file.load_learner_module()
    checks.check_preprocess(module.preprocess)
    checks.check_gram_matrix(module.gram_matrix)


def test_a_block_is_replaced_when_its_exercise_passes_again_and_others_stay(notebook, tmp_path):
    in_a_cell(GRAM, notebook)
    in_a_cell(PREPROCESS, notebook)
    checks.check_gram_matrix(notebook["gram_matrix"])
    checks.check_preprocess(notebook["preprocess"])
    in_a_cell(GRAM.replace("positions = ", "count = ").replace("/ positions", "/ count"), notebook)
    checks.check_gram_matrix(notebook["gram_matrix"])
    text = (tmp_path / FILE_NAME).read_text()
    assert text.count("def gram_matrix(") == 1 and "/ count" in text and "/ positions" not in text
    assert text.count("def preprocess(") == 1
    ast.parse(text)


def test_another_exercise_is_left_to_the_file_and_a_renamed_function_keeps_the_exercise_name(notebook, tmp_path):
    in_a_cell(GRAM, notebook)
    in_a_cell(STYLE_LOSS, notebook)
    checks.check_style_loss(notebook["style_loss"])
    block = _blocks(tmp_path / FILE_NAME)["style_loss"]
    assert "def gram_matrix" not in block  # gram_matrix is its own exercise: the file's block (or a piece) is used
    in_a_cell("""
    def my_adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon):
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return np.clip(image - alpha * m / (np.sqrt(v) + epsilon), 0.0, 1.0), m, v
    """, notebook)
    checks.check_adam_step(notebook["my_adam_step"])
    module = learner_file.load_learner_module()
    assert module.adam_step is module.my_adam_step
    assert "import numpy as np" in _blocks(tmp_path / FILE_NAME)["adam_step"]


def test_the_course_network_and_unwritable_values_are_said_in_the_block(notebook, tmp_path, capsys):
    notebook["vgg"] = checks.vgg_network()
    notebook["LOOKUP"] = object()
    in_a_cell("""
    import keras

    def make_extractor(layer_names):
        LOOKUP
        return keras.Model(vgg.input, [vgg.get_layer(name).output for name in layer_names])
    """, notebook)
    checks.check_feature_extractor(notebook["make_extractor"])
    message = capsys.readouterr().out.splitlines()[-1]
    assert "LOOKUP" in message and "cannot be saved as code" in message
    block = _blocks(tmp_path / FILE_NAME)["make_extractor"]
    assert "from nst_lib.course.network import vgg_network" in block and "vgg = vgg_network()" in block
    assert "import keras" in block and "# not saved (not plain values): LOOKUP" in block


def test_functions_from_files_are_never_saved(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    checks.check_gram_matrix(solutions.gram_matrix)
    checks.check_gram_matrix(tf.function(lambda f: solutions.gram_matrix(f)))
    assert not (tmp_path / FILE_NAME).exists() and "saved" not in capsys.readouterr().out


def test_a_source_that_cannot_be_read_is_said_and_nothing_is_written(notebook, tmp_path, capsys):
    in_a_cell(GRAM, notebook)
    function = notebook["gram_matrix"]
    linecache.cache.pop(function.__code__.co_filename)  # the cell's source is gone (e.g. a restarted kernel)
    checks.check_gram_matrix(function)
    assert "not saved to my_nst.py: the source of gram_matrix cannot be read" in capsys.readouterr().out
    assert not (tmp_path / FILE_NAME).exists()
    in_a_cell("total_variation = lambda x: (tf.reduce_mean(tf.square(x[:, 1:] - x[:, :-1]))\n"
              "                             + tf.reduce_mean(tf.square(x[:, :, 1:] - x[:, :, :-1])))\n", notebook)
    checks.check_total_variation(notebook["total_variation"])  # passes; a lambda is not a definition to save
    assert "not saved to my_nst.py" in capsys.readouterr().out and not (tmp_path / FILE_NAME).exists()


def test_a_broken_file_is_reported_in_one_line(tmp_path):
    (tmp_path / FILE_NAME).write_text("def gram_matrix(:\n")
    with pytest.raises(LearnerFileError, match="my_nst.py cannot be imported: SyntaxError"):
        learner_file.load_learner_module(tmp_path)
    chosen = pieces.my_pieces("gram_matrix", folder=tmp_path)
    assert not chosen["gram_matrix"].yours and "cannot be imported" in chosen.report().splitlines()[0]


def test_my_nst_is_git_ignored():
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert FILE_NAME in ignored


# ------------------------------------------------------------------------------------ the pieces
def test_nothing_written_means_nothing_is_yours(tmp_path):
    chosen = pieces.my_pieces(*pieces.CAPSTONE_PIECES, folder=tmp_path)
    assert [chosen.owner(name) for name in pieces.CAPSTONE_PIECES] == ["reference"] * 8
    assert chosen.tally() == ("0 of 8 pieces are yours; missing: preprocess, make_extractor, gram_matrix, content_loss, "
                              "style_loss, make_train_step, make_objective, style_transfer.")
    assert chosen.label() == "reference" and "no my_nst.py here yet" in chosen.report().lower()


def test_a_reference_is_built_on_the_learners_pieces(notebook, tmp_path):
    """A reference style_loss calls the learner's gram_matrix (from my_nst.py), not the library's."""
    in_a_cell(GRAM, notebook)
    checks.check_gram_matrix(notebook["gram_matrix"])
    chosen = pieces.my_pieces("gram_matrix", "style_loss", folder=tmp_path)
    assert chosen["gram_matrix"].yours and chosen["gram_matrix"].origin == FILE_NAME
    assert not chosen["style_loss"].yours and chosen["style_loss"].reason == "not in my_nst.py yet"
    assert chosen["style_loss"].why == (pieces.Why.NOT_WRITTEN,) and chosen["gram_matrix"].why == ()
    calls = []
    learners = chosen.module.gram_matrix
    chosen.module.gram_matrix = lambda f: calls.append(1) or learners(f)  # count what the reference calls
    chosen.namespace["gram_matrix"] = chosen.module.gram_matrix
    feats = {"a": tf.random.uniform((1, 4, 4, 3))}
    chosen.functions("style_loss")(feats, {"a": solutions.gram_matrix(feats["a"])}, {"a": 1.0})
    assert calls == [1]
    assert chosen.tally() == "1 of 2 pieces are yours; missing: style_loss."
    assert chosen.label() == "yours + reference (1 of 2 pieces yours)"


def test_a_failing_or_empty_piece_is_replaced_and_named(notebook, tmp_path):
    in_a_cell(GRAM, notebook)
    checks.check_gram_matrix(notebook["gram_matrix"])
    with open(tmp_path / FILE_NAME, "a") as file:  # the learner edits the file and breaks gram_matrix
        file.write("\n\ndef gram_matrix(features):\n    return tf.constant(1.0)\n")
    chosen = pieces.my_pieces("gram_matrix", folder=tmp_path)
    assert not chosen["gram_matrix"].yours and chosen["gram_matrix"].reason.startswith("fails its check")
    assert chosen["gram_matrix"].why == (pieces.Why.FAILS,) and chosen["gram_matrix"].failing
    assert chosen.tally() == "0 of 1 pieces are yours; failing its check: gram_matrix."

    def empty(features):
        raise NotImplementedError

    fresh = pieces.my_pieces(folder=tmp_path)
    assert fresh.adopt(gram_matrix=empty) is not empty
    assert "still empty" in fresh["gram_matrix"].reason
    # the notebook's (empty) and then my_nst.py's (failing): the tally goes by the first, as the reason reads
    assert fresh["gram_matrix"].why == (pieces.Why.EMPTY, pieces.Why.FAILS) and fresh["gram_matrix"].missing
    assert fresh.tally() == "0 of 1 pieces are yours; missing: gram_matrix."


def test_the_reference_itself_is_never_counted_as_yours(tmp_path, capsys):
    chosen = pieces.my_pieces(folder=tmp_path)
    chosen.adopt(gram_matrix=checks.reference("gram_matrix"))
    assert not chosen["gram_matrix"].yours and "reference solution, not yours" in chosen["gram_matrix"].reason
    assert chosen["gram_matrix"].why == (pieces.Why.IS_REFERENCE,)
    again = pieces.my_pieces("gram_matrix", folder=tmp_path)
    again.adopt(style_loss=again.functions("gram_matrix"))  # a built reference passed back in
    assert not again["style_loss"].yours


def test_the_tally_reads_the_verdicts_not_the_words(tmp_path):
    """Missing or failing is decided by each piece's ``why``, whatever its sentence says (issue 23: no code
    parses a message)."""
    chosen = pieces.my_pieces(folder=tmp_path)
    chosen.pieces["a"] = pieces.Piece("a", len, False, pieces.REFERENCE, "échoue à sa vérification", (pieces.Why.FAILS,))
    chosen.pieces["b"] = pieces.Piece("b", len, False, pieces.REFERENCE, "fails? no: not written", (pieces.Why.NOT_WRITTEN,))
    chosen.pieces["c"] = pieces.Piece("c", len, True, "my_nst.py")
    assert chosen.tally() == "1 of 3 pieces are yours; missing: b; failing its check: a."
    assert [chosen[n].missing for n in "abc"] == [False, True, False] and not chosen["c"].failing


def test_the_capstone_widget_says_whose_functions_run():
    from nst_lib.course.widgets.capstone import capstone_demo

    demo = capstone_demo(solutions.make_objective, solutions.make_train_step, background=False, label="reference")
    assert "reference" in demo.status.value and "your" not in demo.status.value.lower()
    assert "your" not in str(demo.preview.value).lower()


# ------------------------------------------------------------------------------------ the notebooks
REPO = Path(__file__).resolve().parents[1]
CAPSTONE = REPO / "notebooks" / "08_your_own_style_transfer.ipynb"
NOTEBOOK_TIMEOUT = 600


def _run(path: Path, folder: Path):
    """A notebook and the nbclient that executes it in ``folder`` (the kernel's working directory)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    return nb, NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT, startup_timeout=STARTUP_TIMEOUT, kernel_name="python3",
                              resources={"metadata": {"path": str(folder)}})


def _stdout(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


COUNTING = '''

# (test) every piece counts its calls into calls.txt, one name per line
import functools as _functools


def _counted(_name, _function):
    @_functools.wraps(_function)
    def run(*args, **kwargs):
        with open("calls.txt", "a") as _file:
            _file.write(_name + "\\n")
        return _function(*args, **kwargs)
    return run


for _name in {names!r}:
    globals()[_name] = _counted(_name, globals()[_name])
'''


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.timeout(7 * NOTEBOOK_TIMEOUT)
def test_notebooks_01_to_05_save_their_solutions_and_08_runs_on_them(early_notebooks, tmp_path, monkeypatch):
    """Done means (issue 19): with the exercise cells of 01–05 filled in, their checks write my_nst.py;
    notebook 08 then imports every piece from it, calls each of them in its run, and labels them yours.

    01–05 run once for this test and test_notebooks (tests/notebook_runs.py): in each notebook's kernel,
    after an exercise's shipped check fails, its cell filled with the reference solution and its check
    run again in the learner's folder, as a learner does next."""
    monkeypatch.setenv("NST_FAST", "1")
    monkeypatch.setenv("NST_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    expected = []
    for stem in EARLY:
        run = early_notebooks.result(stem)
        if run.learner_error:
            pytest.fail(f"{stem}, filled in: {run.learner_error}", pytrace=False)
        wanted = exercises_of(REPO / "notebooks" / f"{stem}.ipynb")
        assert run.filled == wanted, f"{stem}: filled in and checked {run.filled}, its exercise cells {wanted} ({run.error})"
        expected += wanted
        if stem.startswith("04"):  # its cell that brings in gram_matrix, run again in the learner's folder
            assert "✓ gram_matrix: yours (from my_nst.py)" in run.learner_printed, run.learner_printed
    folder = tmp_path / "notebooks"  # a copy: notebook 08 and this test write into it
    shutil.copytree(early_notebooks.learner, folder)
    saved = learner_file.saved_names(folder)
    assert sorted(saved) == sorted(expected), (saved, expected)
    assert set(pieces.CAPSTONE_PIECES[:-2]) <= set(saved)
    module = learner_file.load_learner_module(folder)
    for name in saved:  # what was saved imports what it needs and passes again, from the file
        checks.EXERCISES[name].check(getattr(module, name))

    # notebook 08's own two pieces, in the file too, then every piece counts its calls
    text = (folder / FILE_NAME).read_text()
    for name in ("make_objective", "style_transfer"):
        reference = checks.reference(name)
        uses = sorted({n for n in learner_file._global_names(reference, inspect.getsource(reference))
                       if n not in checks.EXERCISES})
        text += (f"\n\n{learner_file.BLOCK_MARK}{name} ━━ notebook 08 · written by the test\n"
                 f"from {solutions.__name__} import {', '.join(uses)}\n\n\n{inspect.getsource(reference)}")
    (folder / FILE_NAME).write_text(text + COUNTING.format(names=list(pieces.CAPSTONE_PIECES)))

    nb, client = _run(CAPSTONE, folder)
    run_cell = next(i for i, c in enumerate(nb.cells) if "style_transfer(content, style, STEPS)" in c.source)
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if index == run_cell:
                (folder / "calls.txt").unlink(missing_ok=True)
            client.execute_cell(cell, index)
            if index == run_cell:
                calls = (folder / "calls.txt").read_text().split()
    assert set(calls) == set(pieces.CAPSTONE_PIECES), f"not called in 08's run: {set(pieces.CAPSTONE_PIECES) - set(calls)}"
    printed = "".join(_stdout(c) for c in nb.cells if c.cell_type == "code")
    for name in pieces.CAPSTONE_PIECES:
        assert f"✓ {name}: yours (from my_nst.py)" in printed, printed
    assert "The run below is yours." in printed and "\nyours: " in printed
    assert _stdout(nb.cells[-1]).strip() == "8 of 8 pieces are yours."
