"""The ``nst`` command line: the reliability contract.

* exit 2 and exactly one ``error: …`` line on stderr for every bad input or argument, and no output file;
* exit 0 only with a complete image, and a final ``wrote … px, … iterations, … s`` line;
* exit 130 after Ctrl-C with the best image so far; a SIGKILL never leaves a partial file;
* never a traceback, unless ``--debug``.

Most cases run in-process (``main([...])`` with capsys); the signal cases use a real subprocess.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_lib.cli import main

from conftest import REPO, make_content, make_style, write_png

NST = Path(sys.executable).with_name("nst")
TINY = ["--size", "48", "--scales", "1"]
TINY_STEPS = "3"


@pytest.fixture
def files(tmp_path):
    """Inputs in ``tmp_path/in``; outputs go to the empty folder ``tmp_path/out``."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    paths = {
        "content": write_png(src / "content.png", make_content()),
        "style": write_png(src / "style.png", make_style()),
        "out": out,
        "in": src,
    }
    (src / "empty.png").write_bytes(b"")
    (src / "notes.jpg").write_text("this is a text file with a .jpg name\n")
    (src / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>\n')
    Image.new("RGB", (1, 1), (255, 0, 0)).save(src / "dot.png")
    (src / "folder").mkdir()
    mask = np.zeros((64, 64, 3), np.float32)
    mask[:, :32] = 1
    write_png(src / "mask.png", mask)
    return paths


def _stylize_args(files, *extra, content=None, styles=None, output=None, steps=TINY_STEPS):
    content = str(content or files["content"])
    styles = [str(s) for s in (styles or [files["style"]])]
    output = str(output or files["out"] / "result.png")
    tiny = [*TINY, "--steps", steps] if steps else TINY
    return ["stylize", content, *styles, "-o", output, *tiny, *extra]


def _assert_one_error_line(capsys, code, *words):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------------- bad inputs
IMAGE_CASES = {
    "missing path": ("missing.png", "does not exist"),
    "directory": ("folder", "directory"),
    "empty file": ("empty.png", "empty"),
    "text file named .jpg": ("notes.jpg", "notes.jpg"),
    "unsupported format": ("drawing.svg", "drawing.svg"),
    "1x1 image": ("dot.png", "1×1"),
}


@pytest.mark.parametrize("role", ["content", "style"])
@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_bad_images_exit_2_with_one_line(files, capsys, role, case):
    name, words = IMAGE_CASES[case]
    bad = files["in"] / name
    args = _stylize_args(files, content=bad) if role == "content" else _stylize_args(files, styles=[bad])
    _assert_one_error_line(capsys, main(args), words)
    assert not any(files["out"].iterdir())


BAD_ARGS = {
    "negative weight": (["--style-weight", "-1"], "style_weight must be >= 0"),
    "negative content weight": (["--content-weight=-5"], "content_weight"),
    "non-numeric weight": (["--content-weight", "abc"], "expected a number, got 'abc'"),
    "non-numeric tv weight": (["--tv-weight", "1e-3x"], "--tv-weight"),
    "all-zero weights": (["--content-weight", "0", "--style-weight", "0"], "all zero"),
    "all-zero blend": (["--style-blend", "0"], "all zero"),
    "size 0": (["--size", "0"], "size must be between"),
    "negative size": (["--size", "-64"], "size"),
    "huge size": (["--size", "100000"], "100000"),
    "fractional size": (["--size", "64.5"], "whole number"),
    "steps 0": (["--steps", "0"], "steps must be >= 1"),
    "unknown layer": (["--style-layers", "conv1_1,conv9_1"], "unknown vgg19 layer 'conv9_1'"),
    "unknown content layer": (["--content-layers", "fc7"], "valid names are"),
    "unknown optimiser": (["--optimizer", "sgd"], "invalid choice: 'sgd'"),
    "blend mismatch": (["--style-blend", "1,2"], "style_blend needs 1 value"),
    "unknown init": (["--init", "zeros"], "--init"),
    "save-every 0": (["--save-every", "0"], "--save-every"),
    "unknown flag": (["--colour", "none"], "unrecognized arguments"),
}


@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_arguments_exit_2_with_one_line(files, capsys, quiet_substitution, case):
    extra, words = BAD_ARGS[case]
    _assert_one_error_line(capsys, main(_stylize_args(files, *extra)), words)
    assert not any(files["out"].iterdir())


def test_masks_of_the_wrong_kind_are_refused(files, capsys, quiet_substitution):
    _assert_one_error_line(capsys, main(_stylize_args(files, "--mask", str(files["in"] / "notes.jpg"))), "notes.jpg")
    mask = str(files["in"] / "mask.png")
    three = ["--mask", mask, "--mask", mask, "--mask", mask]
    _assert_one_error_line(capsys, main(_stylize_args(files, *three)), "3 mask(s) for 1 style")
    assert not any(files["out"].iterdir())


@pytest.mark.parametrize(
    "output, words",
    [
        ("missing_folder/result.png", "does not exist"),
        ("result.xyz", "cannot write '.xyz'"),
        ("result.gif", "cannot write '.gif'"),
        ("result", "no extension"),
        (".", "directory"),
    ],
)
def test_bad_output_paths(files, capsys, output, words):
    _assert_one_error_line(capsys, main(_stylize_args(files, output=files["out"] / output)), words)
    assert not any(files["out"].iterdir())


def test_output_in_a_read_only_folder(files, capsys, monkeypatch):
    locked = files["out"] / "locked"
    locked.mkdir()
    real_access = os.access
    # root ignores chmod, so refuse write access to this folder the way a read-only mount would
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == locked else real_access(p, mode, **kw))
    _assert_one_error_line(capsys, main(_stylize_args(files, output=locked / "result.png")), "not writable")
    _assert_one_error_line(capsys, main(_stylize_args(files, "--history", str(locked / "h.json"))), "not writable")
    assert not any(locked.iterdir())


def test_history_in_a_missing_folder(files, capsys):
    _assert_one_error_line(capsys, main(_stylize_args(files, "--history", str(files["out"] / "no" / "h.json"))), "does not exist")


def test_bad_weights_files(files, capsys):
    truncated = files["in"] / "truncated.h5"
    truncated.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 500)
    missing = files["in"] / "missing_weights.h5"
    _assert_one_error_line(capsys, main(_stylize_args(files, "--weights", str(missing))), "missing_weights.h5", "does not exist")
    _assert_one_error_line(capsys, main(_stylize_args(files, "--weights", str(truncated))), "truncated.h5")
    assert not any(files["out"].iterdir())


def test_debug_shows_the_traceback(files):
    from nst_lib.errors import ImageNotFoundError

    with pytest.raises(ImageNotFoundError):
        main(_stylize_args(files, "--debug", content=files["in"] / "missing.png"))


def test_usage_errors_without_a_command(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_layers_command_lists_both_names(capsys):
    assert main(["layers", "--backbone", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "block4_conv2" in out and "conv4_2" in out and "conv5_4" not in out
    assert re.search(r"block1_conv2\s+conv1_2\s+64\s+1\s+5 px", out)


# ------------------------------------------------------------------------------------------ success
WROTE = re.compile(r"^wrote (?P<path>.+): (?P<w>\d+)×(?P<h>\d+) px, (?P<it>\d+) iterations, (?P<secs>[\d.]+) s, ")


@pytest.mark.slow
def test_a_tiny_run_writes_a_complete_image_checkpoints_and_history(files, capsys, offline_weights):
    output = files["out"] / "result.png"
    history = files["out"] / "history.json"
    code = main(_stylize_args(files, "--steps", "4", "--save-every", "2", "--history", str(history), output=output))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    last = captured.out.strip().splitlines()[-1]
    match = WROTE.match(last)
    assert match, last
    assert (match["w"], match["h"], match["it"]) == ("48", "48", "4")
    assert "Traceback" not in captured.err and "error" not in captured.err
    with Image.open(output) as im:
        im.load()  # complete and decodable
        assert im.size == (48, 48)
    assert sorted(p.name for p in files["out"].iterdir()) == [
        "history.json", "result.png", "result_0002.png", "result_0004.png",
    ]  # fmt: skip
    data = json.loads(history.read_text())
    assert data["iterations"] == 4 and len(data["history"]) == 4 and data["config"]["size"] == 48


@pytest.mark.slow
def test_quiet_prints_nothing_on_success(files, capsys, offline_weights):
    output = files["out"] / "quiet.jpg"
    assert main(_stylize_args(files, "--quiet", output=output)) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    with Image.open(output) as im:
        im.load()
        assert im.size == (48, 48) and im.format == "JPEG"


def _budget_run(files, capsys, name, *extra, steps=TINY_STEPS):
    """Run a budgeted stylization; check it succeeded and wrote a whole 48×48 image. Returns (wrote line
    match, that line, seconds taken)."""
    output = files["out"] / name
    started = time.perf_counter()
    code = main(_stylize_args(files, *extra, output=output, steps=steps))
    took = time.perf_counter() - started
    captured = capsys.readouterr()
    assert code == 0, captured.err
    last = captured.out.strip().splitlines()[-1]
    match = WROTE.match(last)
    assert match and "time budget" in last, last
    with Image.open(output) as im:
        im.load()
        assert im.size == (48, 48)
    return match, last, took


#: how far past its deadline a run may end: the evaluation under way is finished (measured: under 0.3 s
#: at 48 px on an idle 2-core machine; a machine shared by several test runs needs more)
BUDGET_SLACK = 2.0


@pytest.mark.slow
def test_time_budget_stops_early_and_still_writes_the_image(files, capsys, offline_weights):
    match, last, took = _budget_run(files, capsys, "budget.png", "--steps", "500", "--time-budget", "3")
    assert int(match["it"]) < 500, last
    assert float(match["secs"]) <= 3 + BUDGET_SLACK, last  # the budget counts from the start of the run


@pytest.mark.slow
def test_a_time_budget_alone_uses_the_whole_budget(files, capsys, offline_weights):
    """`--time-budget` without `--steps`: the best image reachable in that time, not 300 steps and out."""
    match, last, took = _budget_run(files, capsys, "whole_budget.png", "--time-budget", "4", steps=None)
    assert 3.5 <= float(match["secs"]) <= 4 + BUDGET_SLACK, last  # ran until the budget, then stopped


def test_a_history_path_that_is_a_folder_is_refused_before_the_run(files, capsys):
    (files["out"] / "history.json").mkdir()
    _assert_one_error_line(capsys, main(_stylize_args(files, "--history", str(files["out"] / "history.json"))),
                           "is a folder")
    assert [p.name for p in files["out"].iterdir()] == ["history.json"]  # no image either


@pytest.mark.slow
def test_a_history_that_cannot_be_written_exits_2_with_one_line(files, capsys, offline_weights, monkeypatch):
    real_replace = os.replace

    def disk_full_for_json(source, target):
        if str(target).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", disk_full_for_json)
    history = files["out"] / "history.json"
    line = _assert_one_error_line(capsys, main(_stylize_args(files, "--quiet", "--history", str(history))),
                                  "history.json", "No space left on device")
    assert "unexpected" not in line
    assert sorted(p.name for p in files["out"].iterdir()) == ["result.png"]  # the image is whole; no temporary file


@pytest.mark.slow
def test_checkpoints_of_several_scales_are_named_per_scale(files, capsys, offline_weights):
    output = files["out"] / "result.png"
    code = main(_stylize_args(files, "--size", "128", "--scales", "2", "--steps", "4", "--save-every", "1",
                              "--quiet", output=output))
    assert code == 0, capsys.readouterr().err
    sizes = {}
    for path in files["out"].iterdir():
        with Image.open(path) as im:
            sizes[path.name] = im.size
    assert sizes == {
        "result.png": (128, 128),
        "result_scale1_0001.png": (64, 64), "result_scale1_0002.png": (64, 64),
        "result_scale2_0003.png": (128, 128), "result_scale2_0004.png": (128, 128),
    }  # fmt: skip


@pytest.mark.slow
def test_example_images_by_name(files, capsys, offline_weights):
    output = files["out"] / "example.png"
    code = main(["stylize", "example:astronaut", "example:swirls", "-o", str(output), *TINY, "--steps", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    with Image.open(output) as im:
        assert im.size == (48, 48)  # the 512×512 photo at --size 48
    assert WROTE.match(captured.out.strip().splitlines()[-1])
    _assert_one_error_line(capsys, main(_stylize_args(files, content="example:mona_lisa")),
                           "unknown example 'mona_lisa'", "astronaut", "swirls")
    assert [p.name for p in files["out"].iterdir()] == ["example.png"]


def test_examples_and_weights_commands(capsys, offline_weights, quiet_substitution):
    from nst_lib import data
    from nst_lib.backbone import resolve_weights

    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for name in data.list_content_images() + data.list_style_images() + data.list_paintings():
        assert name in out
    assert main(["weights"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == resolve_weights("vgg19").describe() and captured.err == ""


# ------------------------------------------------------------------------------- real processes
def _env():
    env = dict(os.environ, NST_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _command():
    return [str(NST)] if NST.exists() else [sys.executable, "-m", "nst_lib.cli"]


def _start(folder: Path, *extra):
    """Start ``nst stylize`` (64 px, 500 steps) with inputs and output in ``folder``; stderr to a file."""
    write_png(folder / "content.png", make_content())
    write_png(folder / "style.png", make_style())
    (folder / "out").mkdir()
    err = (folder / "stderr.txt").open("w")
    args = ["stylize", str(folder / "content.png"), str(folder / "style.png"), "-o", str(folder / "out" / "result.png"),
            "--size", "64", "--steps", "500", "--scales", "1", *extra]  # fmt: skip
    process = subprocess.Popen(_command() + args, stdout=subprocess.PIPE, stderr=err, env=_env(), text=True)
    return process, err


def _wait_for_progress(process, stderr_path: Path, timeout: float = 120.0) -> None:
    """Until the progress bar shows a finished iteration (tqdm writes ``  1/500`` to stderr)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nst exited early ({process.returncode}): {stderr_path.read_text()}")
        if re.search(r"\b[1-9]\d*/500\b", stderr_path.read_text(errors="replace")):
            return
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"no progress within {timeout} s: {stderr_path.read_text()}")


def test_console_script_exit_code_for_a_bad_input(files):
    done = subprocess.run(
        _command() + _stylize_args(files, content=files["in"] / "notes.jpg"),
        capture_output=True, text=True, env=_env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.slow
def test_ctrl_c_exits_130_with_the_best_image_so_far(tmp_path, offline_weights):
    folder = tmp_path
    process, err = _start(folder)
    try:
        _wait_for_progress(process, folder / "stderr.txt")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        err.close()
    stderr = (folder / "stderr.txt").read_text()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert re.search(r"wrote .*result\.png: 64×64 px, \d+ iterations, .*\(interrupted\)", stderr), stderr
    with Image.open(folder / "out" / "result.png") as im:
        im.load()
        assert im.size == (64, 64)
    assert [p.name for p in (folder / "out").iterdir()] == ["result.png"]  # no temporary file left


@pytest.mark.slow
def test_sigkill_never_leaves_a_partial_output(tmp_path, offline_weights):
    folder = tmp_path
    process, err = _start(folder, "--save-every", "1")
    try:
        _wait_for_progress(process, folder / "stderr.txt")
        time.sleep(0.3)  # let it write a checkpoint or two
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        err.close()
    assert process.returncode == -signal.SIGKILL
    assert not (folder / "out" / "result.png").exists()  # the final image was never complete
    for path in sorted((folder / "out").glob("result_*.png")):  # every file at a real name is whole
        with Image.open(path) as im:
            im.load()
            assert im.size == (64, 64)


def test_progress_bar_counts_seconds_when_only_a_budget_is_given(tmp_path, capsys):
    from types import SimpleNamespace

    from nst_lib.cli import _Progress

    def event(iteration, elapsed):
        return SimpleNamespace(iteration=iteration, elapsed=elapsed, shape=(40, 48), losses={"total": 1234.5})

    bar = _Progress(None, quiet=False, save_every=None, output=tmp_path / "o.png", budget=30.0)
    bar(event(1, 4.0))
    bar(event(7, 12.5))
    assert bar.bar.total == 30 and bar.bar.n == 12.5
    bar.close()
    err = capsys.readouterr().err
    assert "/30 s" in err and "iteration 7" in err and "48×40 loss 1234" in err, err

    steps = _Progress(100, quiet=False, save_every=None, output=tmp_path / "o.png", budget=30.0)
    steps(event(7, 12.5))  # a step limit as well: the bar counts iterations
    assert steps.bar.total == 100 and steps.bar.n == 7
    steps.close()
