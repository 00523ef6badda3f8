"""Errors carry fields, not only text (issue 23): what was received, what is allowed, which input (content,
style, mask), and the sentence without its subject; front ends build their text from those fields and no
front end parses or rewrites an exception's message."""
from __future__ import annotations

import ast
import pathlib
import pickle

import numpy as np
import pytest

from image_fixtures import encode, png_declaring, quadrant_image
from nst_lib.config import StyleConfig
from nst_lib.errors import INPUT_ROLES, ImageNotFoundError, InvalidImageError, NSTError, OutputError, input_role
from nst_lib.images import MAX_INPUT_PIXELS, MIN_SOURCE_SIDE, check_output_path, load_image, read_image_header
from nst_lib.memory import InputMemoryError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def png(height: int = 48, width: int = 32) -> bytes:
    return encode(quadrant_image(height, width), "PNG")


def assert_subject_and_problem_make_the_message(error: NSTError) -> None:
    assert error.subject and error.problem and str(error) == f"{error.subject} {error.problem}"


# ----------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(
    ("source", "reason", "received", "allowed"),
    [
        (b"", "empty", 0, None),
        (b"this is not an image", "not_an_image", None, None),
        (png()[:60], "corrupt", None, None),
        (png_declaring(30_000, 30_000), "too_large", 900_000_000, MAX_INPUT_PIXELS),
        (png(4, 40), "too_small", (40, 4), MIN_SOURCE_SIDE),
        (np.zeros((20, 20, 5), np.uint8), "wrong_shape", (20, 20, 5), None),
        (np.full((20, 20, 3), 2.0, np.float32), "out_of_range", (2.0, 2.0), (0.0, 1.0)),
        (np.zeros((20, 20, 3), np.int64), "wrong_dtype", "int64", None),
    ],
    ids=["empty", "text", "truncated", "bomb", "tiny", "shape", "range", "dtype"],
)
def test_decode_errors_say_why_what_was_received_and_what_is_allowed(source, reason, received, allowed):
    with pytest.raises(InvalidImageError) as caught:
        load_image(source)
    error = caught.value
    assert error.reason == reason
    if received is not None:
        assert error.received == received
    if allowed is not None:
        assert error.allowed == allowed
    assert_subject_and_problem_make_the_message(error)
    if isinstance(source, bytes):
        assert error.subject == f"the given image data ({len(source):,} bytes)"


def test_the_header_check_raises_the_same_fields_before_decoding():
    with pytest.raises(InvalidImageError) as caught:
        read_image_header(png(), max_pixels=100)
    assert (caught.value.reason, caught.value.received, caught.value.allowed) == ("too_large", (32, 48), 100)


def test_path_errors_carry_the_path(tmp_path):
    with pytest.raises(ImageNotFoundError) as caught:
        load_image(tmp_path / "missing.png")
    assert (caught.value.reason, caught.value.received) == ("not_found", str(tmp_path / "missing.png"))
    with pytest.raises(ImageNotFoundError) as caught:
        load_image(tmp_path)
    assert caught.value.reason == "directory"
    assert_subject_and_problem_make_the_message(caught.value)


def test_output_path_errors_carry_fields(tmp_path):
    with pytest.raises(OutputError) as caught:
        check_output_path(tmp_path / "result.xyz")
    assert caught.value.reason == "wrong_type" and caught.value.received == ".xyz" and ".png" in caught.value.allowed
    with pytest.raises(OutputError) as caught:
        check_output_path(tmp_path / "no" / "result.png")
    assert caught.value.reason == "not_found"
    assert_subject_and_problem_make_the_message(caught.value)


# ------------------------------------------------------------------------------------- which input
@pytest.mark.parametrize(
    ("where", "role", "number"),
    [("content", "content", None), ("style", "style", None), ("second style", "style", 2), ("mask", "mask", None)],
)
def test_a_run_says_which_input_an_error_is_about(where, role, number):
    """prepare_inputs tags the error (role, number) before any network is built."""
    from nst_lib.inputs import prepare_inputs

    good, bad = png(64, 64), b"not an image"
    content = bad if where == "content" else good
    styles = [good, bad] if where == "second style" else [bad if where == "style" else good]
    mask = bad if where == "mask" else None
    with pytest.raises(InvalidImageError) as caught:
        prepare_inputs(content, styles, StyleConfig(size=64), mask)
    assert (caught.value.role, caught.value.number) == (role, number)
    assert caught.value.role in INPUT_ROLES and caught.value.reason == "not_an_image"


def test_input_role_keeps_a_role_already_given():
    with pytest.raises(NSTError) as caught:
        with input_role("content"):
            with input_role("mask", 2):
                raise InvalidImageError("x")
    assert (caught.value.role, caught.value.number) == ("mask", 2)


# ------------------------------------------------------------------------------- sentences from fields
def test_sentence_and_restated_put_another_subject_in_front_of_the_problem():
    with pytest.raises(InvalidImageError) as caught:
        load_image(b"")
    error = caught.value
    assert error.sentence() == str(error)
    assert error.sentence("'me.png'").startswith("'me.png' is empty (0 bytes)")
    twin = error.restated("the style image 'me.png'")
    assert type(twin) is InvalidImageError and str(twin).startswith("the style image 'me.png' is empty")
    assert (twin.reason, twin.received, twin.subject) == ("empty", 0, "the style image 'me.png'")
    assert str(error).startswith("the given image data")  # the original is untouched
    plain = NSTError("no problem field")
    assert plain.sentence("'me.png'") == "'me.png' cannot be used: no problem field"


def test_errors_keep_their_fields_through_pickle():
    """The web page's runs happen in worker processes: errors cross as pickles, whatever their __init__ takes."""
    memory = InputMemoryError("decoding 'x.png' needs 2 GB", "'x.png'", 2 << 30, 1 << 30)
    memory.about(role="style", number=2)
    copy = pickle.loads(pickle.dumps(memory))
    assert type(copy) is InputMemoryError and str(copy) == str(memory)
    assert (copy.needed, copy.budget, copy.received, copy.allowed, copy.role, copy.number) == (
        2 << 30, 1 << 30, 2 << 30, 1 << 30, "style", 2)
    with pytest.raises(ImageNotFoundError) as caught:
        load_image("/no/such/file.png")
    again = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(again, FileNotFoundError) and again.reason == "not_found" and str(again) == str(caught.value)


# ------------------------------------------------------------------------------------------ front ends
def test_the_web_page_names_the_upload_from_the_fields():
    import app_logic as logic

    with pytest.raises(InvalidImageError) as caught:
        logic.read_upload("me.png", b"not an image", role="style image")
    error = caught.value
    assert str(error).startswith("the style image 'me.png' is not an image format")
    assert (error.role, error.reason, error.subject) == ("style", "not_an_image", "the style image 'me.png'")
    with pytest.raises(InvalidImageError) as caught:
        logic.read_upload("notes.txt", png(), role="mask")
    assert (caught.value.role, caught.value.reason, caught.value.received) == ("mask", "wrong_type", ".txt")
    with pytest.raises(InvalidImageError) as caught:
        logic.read_upload("big.png", png(), role="content image", max_bytes=10)
    assert (caught.value.reason, caught.value.received, caught.value.allowed) == ("too_large", len(png()), 10)


def test_the_course_widgets_name_the_upload_from_the_fields():
    from nst_lib.course.widgets.common import decode_upload, error_html

    upload = ({"name": "me.png", "content": b""},)
    with pytest.raises(InvalidImageError) as caught:
        decode_upload(upload)
    assert str(caught.value).startswith("'me.png' is empty (0 bytes)") and caught.value.reason == "empty"
    with pytest.raises(InvalidImageError) as caught:
        load_image(b"junk")
    shown = error_html(caught.value, about="me.png")
    assert "⚠ &#x27;me.png&#x27; is not an image format" in shown and "given image data" not in shown
    assert "me.png: RuntimeError: boom" in error_html(RuntimeError("boom"), about="me.png")


FRONT_ENDS = [*sorted((ROOT / "apps").glob("*.py")), *sorted((ROOT / "nst_lib" / "course" / "widgets").glob("*.py")),
              *sorted((ROOT / "nst_lib").glob("cli*.py"))]
TEXT_METHODS = {"replace", "startswith", "endswith", "split", "partition", "rpartition", "find", "index"}


def _message_of_exception(node: ast.AST, names: set[str]) -> bool:
    """``str(e)`` (or ``e.args``) for a name bound by an ``except … as e``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str" and node.args:
        return isinstance(node.args[0], ast.Name) and node.args[0].id in names
    return isinstance(node, ast.Attribute) and node.attr == "args" and isinstance(node.value, ast.Name) \
        and node.value.id in names


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_front_end_parses_or_rewrites_an_error_message(path):
    tree = ast.parse(path.read_text())
    names = {handler.name for handler in ast.walk(tree) if isinstance(handler, ast.ExceptHandler) and handler.name}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            if any(_message_of_exception(side, names) for side in node.comparators):
                problems.append(f"line {node.lineno}: looks for text in an error's message")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TEXT_METHODS:
            whitespace = node.func.attr == "split" and not node.args  # " ".join(str(e).split()): one line, not parsing
            if _message_of_exception(node.func.value, names) and not whitespace:
                problems.append(f"line {node.lineno}: .{node.func.attr}() on an error's message")
        if isinstance(node, ast.Subscript) and _message_of_exception(node.value, names):
            problems.append(f"line {node.lineno}: reads an error's args")
        if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value == "⚠" for c in
                                                 [node.left, *node.comparators]):
            problems.append(f"line {node.lineno}: decides by the warning glyph in its own HTML")
    assert not problems, problems


def test_memory_refusals_carry_what_is_needed_and_what_the_budget_allows():
    from nst_lib.memory import check_plan, plan_run

    plan = plan_run(StyleConfig(size=512, max_memory="200M"), (512, 512))
    with pytest.raises(NSTError) as caught:
        check_plan(plan)
    assert (caught.value.reason, caught.value.received, caught.value.allowed) == (
        "memory", plan.estimated_peak_bytes, plan.budget_bytes)


def test_the_web_queue_says_why_it_refuses_in_fields():
    from run_queue import RunQueue, RunRefusedError

    queue = RunQueue(max_running=1, max_waiting=0, memory_budget=100 * 2**20)
    try:
        with pytest.raises(RunRefusedError) as caught:
            with queue.reserve_memory(200 * 2**20, "decoding the content image 'big.png'"):
                pass
        assert (caught.value.reason, caught.value.received, caught.value.allowed) == ("memory", 200 * 2**20, 100 * 2**20)
    finally:
        queue.close()


def test_atomic_write_failures_carry_fields(tmp_path):
    from nst_lib.fileio import atomic_write

    with pytest.raises(OutputError) as caught:
        with atomic_write(tmp_path / "missing" / "x.png") as stream:
            stream.write(b"x")
    assert caught.value.reason == "unwritable" and caught.value.received  # the system's reason, e.g. "No such file…"
    assert caught.value.subject == f"folder '{tmp_path / 'missing'}'"
    with pytest.raises(OutputError) as caught:
        with atomic_write(tmp_path / "x.png"):
            raise OSError(28, "No space left on device")
    assert (caught.value.reason, caught.value.received) == ("write_failed", "No space left on device")
    assert not list(tmp_path.iterdir())  # nothing half-written left
