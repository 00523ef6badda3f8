"""Issue 18's cases, one row each: what a careless user or an attacker types, and what must come out.

Every row runs the ``nst`` command line in-process in a scratch folder holding the inputs (photo, style,
a hard link, crafted state and model files, a pre-existing output). A row says which exit code and which
words the one ``error: …`` line must hold; afterwards every file that was there before has the same bytes
(SHA-256 of each), and no file appeared except the ones the row expects. The web page's cases (§2, §4,
§5 and its half of §3) are in ``tests/test_app_safety.py``; the measured memory of §3 in
``benchmarks/input_memory.py`` and ``benchmarks/web_load.py`` (see docs/safety.md).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from nst_lib.cli import main

from conftest import make_content, make_style, write_png

LONG = "n" * 244  # + ".png" = 248 characters: the temporary name would pass 255
TINY = ["--size", "48", "--steps", "1", "--scales", "1"]


# ------------------------------------------------------------------------------------------ crafted files
def _npz(path: Path, meta, image: np.ndarray | None = None) -> None:
    image = np.zeros((8, 8, 3), np.float32) if image is None else image
    np.savez(path, meta=np.array(json.dumps(meta)), history=np.array("[]"), image=image)


def _good_meta(**changes) -> dict:
    meta = {"format": "nst-run-state/1", "config": {"size": 48}, "stage": 0, "stage_iterations": 0,
            "tile_pass": 0, "next_tile": 0, "offsets": [], "iterations": 0, "elapsed": 0.0,
            "fingerprints": {}, "finished": False, "optimizer_keys": []}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not Ellipsis}


def _state_bomb(path: Path) -> None:
    """A state whose image declares 40000 × 40000 × 3 float32 values (19 GB) in a file of a few kB."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (40000, 40000, 3)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.npy", _npy(np.array(json.dumps(_good_meta()))))
        archive.writestr("history.npy", _npy(np.array("[]")))
        archive.writestr("image.npy", header.getvalue() + bytes(1 << 20))  # the rest would be zeros too


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _model(path: Path, inner) -> None:
    """A ``.keras`` zip whose config.json is a StyleTransferNetwork with the given ``config`` part."""
    config = {"class_name": "StyleTransferNetwork", "registered_name": "nst_lib>StyleTransferNetwork", "config": inner}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))


def _good_model_config(**changes) -> dict:
    return {"width": 16, "residual_blocks": 5, "metadata": {"format": "nst_lib.fast/1", "settings": {}}, **changes}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The scratch folder, with every input the rows refer to; the test runs inside it."""
    monkeypatch.chdir(tmp_path)
    write_png(tmp_path / "photo.png", make_content())
    write_png(tmp_path / "style.png", make_style())
    write_png(tmp_path / "same.png", make_content(seed=3))
    write_png(tmp_path / "result.png", make_style(seed=4))  # a pre-existing output
    os.link(tmp_path / "photo.png", tmp_path / "photo_link.png")
    (tmp_path / "folder").mkdir()
    write_png(tmp_path / "result_0002.png", make_content(seed=5))  # a photo named like a checkpoint of -o result.png
    _npz(tmp_path / "good.npz", _good_meta())
    _npz(tmp_path / "number.npz", 5)
    _npz(tmp_path / "bad_stage.npz", _good_meta(stage="x"))
    _npz(tmp_path / "no_config.npz", _good_meta(config=...))
    _state_bomb(tmp_path / "bomb.npz")
    _model(tmp_path / "list_meta.keras", _good_model_config(metadata=[1, 2]))
    _model(tmp_path / "wide.keras", _good_model_config(width=1_000_000))
    _model(tmp_path / "model.keras", _good_model_config())
    (tmp_path / "mine.npz").write_bytes(b"PK\x03\x04 not really a zip")
    # nst video and nst batch: a folder of frames, and outputs that are inputs under another name (hard links)
    (tmp_path / "frames").mkdir()
    write_png(tmp_path / "frames" / "00000.png", make_content(seed=6))
    write_png(tmp_path / "frames" / "00001.png", make_content(seed=7))
    os.link(tmp_path / "style.png", tmp_path / "style_link.gif")
    os.link(tmp_path / "model.keras", tmp_path / "model_link.gif")
    (tmp_path / "out_frames").mkdir()
    os.link(tmp_path / "style.png", tmp_path / "out_frames" / "00000.png")  # where the first frame would go
    (tmp_path / "batch_out").mkdir()
    os.link(tmp_path / "photo.png", tmp_path / "batch_out" / "photo.png")  # where photo.png's result would go
    (tmp_path / "batch_out2").mkdir()
    os.link(tmp_path / "style.png", tmp_path / "batch_out2" / "same.png")
    # a photo of yours (example:mine), found in images/yours/ of the current folder
    (tmp_path / "images" / "yours").mkdir(parents=True)
    write_png(tmp_path / "images" / "yours" / "mine.png", make_style(seed=8))
    return tmp_path


# ------------------------------------------------------------------------------------------ the table
@dataclass
class Case:
    issue: str  # the paragraph of issue 18
    argv: list[str]
    words: tuple[str, ...]  # the one error line holds each of these
    code: int = 2
    absent: tuple[str, ...] = ("unexpected",)  # and none of these
    new_files: tuple[str, ...] = ()  # files that may appear (nothing else may)
    empty_keras_home: bool = False  # run with an empty Keras cache (outside the scratch folder)


CASES = {
    "history and output the same file": Case(
        "§1", ["stylize", "photo.png", "style.png", "--history", "same.png", "-o", "same.png", *TINY],
        ("-o", "--history", "same file")),
    "state over the input photo": Case(
        "§1", ["stylize", "photo.png", "style.png", "--save-state", "photo.png", "-o", "out.png", *TINY],
        ("--save-state", "content image", "destroy")),
    "state equal to the output": Case(
        "§1", ["stylize", "photo.png", "style.png", "--save-state", "result.png", "-o", "result.png", *TINY],
        ("-o", "--save-state", "same file")),
    "output a hard link of the content": Case(
        "§1", ["stylize", "photo.png", "style.png", "-o", "photo_link.png", *TINY], ("content image", "photo.png")),
    "output over a style through ..": Case(
        "§1", ["stylize", "photo.png", "style.png", "-o", "folder/../style.png", *TINY], ("style image",)),
    "history over the resumed state": Case(
        "§1", ["stylize", "photo.png", "style.png", "--resume", "good.npz", "--history", "good.npz", "-o",
               "out.png"], ("--history 'good.npz' is the same file as --resume", "destroy")),
    "train over its style image": Case(
        "§1", ["train", "style.png", "-o", "style.png", "--steps", "1"], (".keras",)),
    "--model output over the content": Case(
        "§1", ["stylize", "photo.png", "--model", "model.keras", "-o", "photo.png"], ("content image",)),
    "a checkpoint name of --save-every over the content": Case(
        "§1", ["stylize", "result_0002.png", "style.png", "-o", "result.png", "--save-every", "2", *TINY],
        ("--save-every", "result_0002.png", "content image")),
    "a state file that expands to 19 GB": Case(
        "§3", ["stylize", "photo.png", "style.png", "--resume", "bomb.npz", "-o", "out.png"],
        ("bomb.npz", "declares", "(40000, 40000, 3)")),
    "a 248-character output name": Case(
        "§7", ["stylize", "photo.png", "style.png", "-o", LONG + ".png", *TINY], ("248", "at most 241")),
    "train into /proc": Case(
        "§7", ["train", "style.png", "-o", "/proc/x.keras", "--steps", "1"], ("/proc", "cannot create")),
    "train with a 245-character model name": Case(
        "§7", ["train", "style.png", "-o", "m" * 239 + ".keras", "--steps", "1"], ("245", "at most 241")),
    "state metadata that is a number": Case(
        "§8", ["stylize", "photo.png", "style.png", "--resume", "number.npz", "-o", "out.png"],
        ("number.npz", "not a record")),
    "state with a bad stage": Case(
        "§8", ["stylize", "photo.png", "style.png", "--resume", "bad_stage.npz", "-o", "out.png"],
        ("bad_stage.npz", "stage")),
    "state without settings": Case(
        "§8", ["stylize", "photo.png", "style.png", "--resume", "no_config.npz", "-o", "out.png"],
        ("no_config.npz", "settings")),
    ".keras metadata that is a list": Case(
        "§8", ["stylize", "photo.png", "--model", "list_meta.keras", "-o", "out.png"], ("list_meta.keras", "metadata")),
    "--max-memory of 400 nines": Case(
        "§8", ["stylize", "photo.png", "style.png", "-o", "out.png", "--max-memory", "9" * 400, *TINY],
        ("max_memory", "at most")),
    "--model with a 16-bit JPEG": Case(
        "§9", ["stylize", "photo.png", "--model", "model.keras", "-o", "out.jpg", "--bit-depth", "16"], ("16 bits", ".jpg")),
    "--model with --resume": Case(
        "§9", ["stylize", "photo.png", "--model", "model.keras", "-o", "out.png", "--resume", "number.npz"],
        ("--resume", "cannot be used with --model")),
    "--model with --save-state": Case(
        "§9", ["stylize", "photo.png", "--model", "model.keras", "-o", "out.png", "--save-state", "run.npz"],
        ("--save-state", "cannot be used with --model")),
    "--resume of a folder": Case(
        "§10", ["stylize", "photo.png", "style.png", "--resume", "folder", "-o", "out.png"], ("is a folder",),
        absent=("unexpected", "does not exist")),
    "a folder as -o": Case(
        "§10", ["stylize", "photo.png", "style.png", "-o", "folder", *TINY], ("'folder' is a directory",),
        absent=("unexpected", "not valid")),
    "a bad --weights file of the user's": Case(
        "§10", ["stylize", "photo.png", "style.png", "-o", "out.png", "--weights", "mine.npz", *TINY], ("mine.npz",),
        absent=("unexpected", "delete it")),
    "a listed painting while offline": Case(
        "§10", ["stylize", "photo.png", "example:starry_night", "-o", "out.png", *TINY],
        ("starry_night", "NST_OFFLINE"), absent=("unexpected", "unknown example"), empty_keras_home=True),
    "video: -o a hard link of the style": Case(
        "§1", ["video", "frames", "style.png", "-o", "style_link.gif", "--steps-first", "1"],
        ("-o", "style_link.gif", "style image", "destroy")),
    "video: -o the input folder through ..": Case(
        "§1", ["video", "frames", "style.png", "-o", "folder/../frames", "--steps-first", "1"],
        ("'folder/../frames' is the input", "never overwritten")),
    "video: a frame to write is a hard link of the style": Case(
        "§1", ["video", "frames", "style.png", "-o", "out_frames", "--steps-first", "1"],
        ("out_frames/00000.png", "style image", "destroy")),
    "video: --model output a hard link of the model": Case(
        "§1", ["video", "frames", "--model", "model.keras", "-o", "model_link.gif"], ("-o", "--model", "destroy")),
    "video into /proc": Case(
        "§7", ["video", "frames", "style.png", "-o", "/proc/x.gif", "--steps-first", "1"], ("/proc", "cannot create")),
    "video with a 248-character output name": Case(
        "§7", ["video", "frames", "style.png", "-o", LONG + ".gif", "--steps-first", "1"], ("248", "at most 241")),
    "batch: a result is a hard link of its photo": Case(
        "§1", ["batch", "photo.png", "style.png", "-o", "batch_out", "--size", "48", "--steps", "1"],
        ("batch_out/photo.png", "the input 'photo.png'", "destroy")),
    "batch: a result is a hard link of the style": Case(
        "§1", ["batch", "same.png", "style.png", "-o", "batch_out2", "--size", "48", "--steps", "1"],
        ("batch_out2/same.png", "style image", "destroy")),
    "batch: a result over the style through ..": Case(
        "§1", ["batch", "folder/../style.png", "example:swirls", "-o", "folder/..", "--size", "48", "--steps", "1"],
        ("style.png", "the input", "destroy")),
    "batch into /proc": Case(
        "§7", ["batch", "photo.png", "style.png", "-o", "/proc/out", "--size", "48", "--steps", "1"],
        ("/proc", "cannot create")),
    "stylize: -o over a photo of yours given as example:": Case(
        "§1", ["stylize", "photo.png", "example:mine", "-o", "images/yours/mine.png", *TINY],
        ("images/yours/mine.png", "style image", "destroy")),
    "a model of absurd width": Case(
        "§10", ["stylize", "photo.png", "--model", "wide.keras", "-o", "out.png"], ("width", "between 4 and 128")),
}
NEEDS_WEIGHTS = {"a bad --weights file of the user's"}  # the weights file is read only when the network is built


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_case(case: Case, folder: Path, capsys) -> str:
    before = _checksums(folder)
    code = main(case.argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == case.code, (code, captured.err)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    for word in case.words:
        assert word in errors[0], (word, errors[0])
    for word in case.absent:
        assert word not in errors[0], (word, errors[0])
    after = _checksums(folder)
    changed = [name for name, digest in before.items() if after.get(name) != digest]
    assert not changed, f"changed or removed: {changed}"
    appeared = set(after) - set(before) - set(case.new_files)
    assert not appeared, f"new files: {appeared}"
    return errors[0]


@pytest.mark.parametrize("name", [n for n in CASES if n not in NEEDS_WEIGHTS])
def test_bad_input(name, scratch, capsys, monkeypatch, tmp_path_factory):
    if CASES[name].empty_keras_home:
        monkeypatch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
    run_case(CASES[name], scratch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NEEDS_WEIGHTS))
def test_bad_input_read_with_the_network(name, scratch, capsys, offline_weights):
    run_case(CASES[name], scratch, capsys)


def test_every_paragraph_of_the_issue_has_a_row():
    cli_paragraphs = {"§1", "§3", "§6", "§7", "§8", "§9", "§10"}  # §2, §4, §5: the web page (test_app_safety.py)
    assert cli_paragraphs - {case.issue for case in CASES.values()} == {"§6"}  # §6: the test below


# ------------------------------------------------------------------------------- §6: the image comes first
@pytest.mark.slow
def test_a_failed_state_write_never_costs_the_image(scratch, capsys, offline_weights, monkeypatch):
    from nst_lib.errors import OutputError
    from nst_lib.resume import RunState

    def disk_full(self, path):
        raise OutputError(f"could not write '{path}' (No space left on device)")

    monkeypatch.setattr(RunState, "save", disk_full)
    case = Case("§6", ["stylize", "photo.png", "style.png", "--save-state", "run.npz", "-o", "out.png", "--quiet", *TINY],
                ("image was written to out.png", "run state could not be saved", "No space left"), new_files=("out.png",))
    run_case(case, scratch, capsys)
    from PIL import Image

    assert Image.open(scratch / "out.png").size == (48, 48)


# --------------------------------------------------------------------------- legitimate neighbours still work
def test_same_file_sees_hard_links_symlinks_and_dot_dot(tmp_path):
    from nst_lib.paths import same_file

    (tmp_path / "a.png").write_bytes(b"x")
    os.link(tmp_path / "a.png", tmp_path / "hard.png")
    os.symlink(tmp_path / "a.png", tmp_path / "soft.png")
    (tmp_path / "d").mkdir()
    assert same_file(tmp_path / "a.png", tmp_path / "hard.png")
    assert same_file(tmp_path / "a.png", tmp_path / "soft.png")
    assert same_file(tmp_path / "a.png", tmp_path / "d" / ".." / "a.png")
    assert same_file(tmp_path / "new.png", tmp_path / "d" / ".." / "new.png")  # neither exists yet
    assert not same_file(tmp_path / "a.png", tmp_path / "b.png")


def test_resuming_into_the_same_state_file_is_allowed(tmp_path):
    from nst_lib.paths import check_distinct, PathClashError

    check_distinct({"-o": tmp_path / "out.png", "--save-state": tmp_path / "run.npz"},
                   {"--resume": tmp_path / "run.npz"}, may_overwrite={"--save-state": "--resume"})
    with pytest.raises(PathClashError) as caught:
        check_distinct({"-o": tmp_path / "run.npz"}, {"--resume": tmp_path / "run.npz"})
    assert (caught.value.first, caught.value.second) == ("-o", "--resume")


def test_the_probe_leaves_no_file(tmp_path):
    from nst_lib.paths import check_writable

    check_writable(tmp_path / "out.png")
    assert not any(tmp_path.iterdir())


def test_a_cached_painting_is_an_example(tmp_path, monkeypatch):
    from nst_lib import data
    from nst_lib.cli_common import load_source

    cached = tmp_path / "nst_paintings" / data.PAINTINGS["starry_night"].fname
    cached.parent.mkdir()
    from PIL import Image

    Image.fromarray((make_style() * 255).astype(np.uint8)).save(cached, format="JPEG")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert load_source("example:starry_night", 40).shape == (40, 40, 3)


# ----------------------------------------------------------------------- §3: memory counted from the first byte
def _big_png(path: Path, width: int = 3000, height: int = 2400) -> Path:
    from PIL import Image

    ramp = np.linspace(0, 255, width, dtype=np.float32)
    pixels = np.broadcast_to(ramp[np.newaxis, :, np.newaxis], (height, width, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_decoding_that_the_budget_cannot_hold_is_refused_from_the_header(scratch, capsys):
    _big_png(scratch / "big.png")
    case = Case("§3", ["stylize", "big.png", "style.png", "-o", "out.png", "--max-memory", "160M", *TINY],
                ("decoding 'big.png'", "3000×2400", "--max-memory"))
    run_case(case, scratch, capsys)


def test_a_photo_of_yours_is_refused_from_its_header_too(scratch, capsys, monkeypatch):
    """``example:NAME`` of a photo in images/yours/ goes through the same header check as a path (it was
    decoded reduced, but never measured from its header first)."""
    from nst_lib import images

    _big_png(scratch / "images" / "yours" / "big.png")
    decoded = []
    monkeypatch.setattr(images, "_decode", lambda *a, **k: decoded.append(a) or pytest.fail("decoded"))
    case = Case("§3", ["stylize", "photo.png", "example:big", "-o", "out.png", "--max-memory", "160M", *TINY],
                ("decoding", "big.png", "3000×2400", "--max-memory"))
    run_case(case, scratch, capsys)
    assert not decoded  # refused from the header: not a pixel decoded


@pytest.mark.parametrize("command", [
    ["video", "frames", "big.png", "-o", "out.gif", "--steps-first", "1"],
    ["batch", "photo.png", "big.png", "-o", "batch_new", "--size", "48", "--steps", "1"],
], ids=["video", "batch"])
def test_a_style_of_video_or_batch_is_refused_from_its_header(command, scratch, capsys):
    """nst video and nst batch count a style's decoding from its header too (they decoded it first)."""
    _big_png(scratch / "big.png")
    case = Case("§3", [*command, "--max-memory", "160M"], ("decoding 'big.png'", "3000×2400", "--max-memory"))
    run_case(case, scratch, capsys)


def test_a_large_file_is_reduced_right_after_decoding(tmp_path):
    """No float32 array of the full 3000 × 2400 frame is made (it would take 86 MB); NumPy's allocations are
    traced by tracemalloc."""
    import tracemalloc

    from nst_lib.images import load_image, read_image_header

    path = _big_png(tmp_path / "big.png")
    header = read_image_header(path)
    assert (header.width, header.height, header.mode, header.upright_shape) == (3000, 2400, "RGB", (2400, 3000))
    tracemalloc.start()
    image = load_image(path, 128)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert image.shape == (102, 128, 3)
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB traced"
    assert header.decode_bytes(128) < header.decode_bytes(None)


def test_reduced_decoding_gives_the_full_size_picture(tmp_path):
    from nst_lib.images import load_image, resize_long_side

    path = _big_png(tmp_path / "big.png", 1200, 900)
    reduced = load_image(path, 100)
    full = resize_long_side(load_image(path), 100)
    assert float(np.abs(reduced - full).mean()) < 0.01


def test_the_input_check_carries_fields(tmp_path):
    from nst_lib.images import read_image_header
    from nst_lib.memory import InputMemoryError, check_input_decoding

    header = read_image_header(_big_png(tmp_path / "big.png"))
    with pytest.raises(InputMemoryError) as caught:
        check_input_decoding([(header, None)], "160M")
    assert caught.value.budget == 160 * 2**20 and caught.value.needed > caught.value.budget
    assert check_input_decoding([(header, 128)], "1G") < 2**30


def test_a_refused_plan_prints_one_line_and_no_tensorflow_start_up(tmp_path):
    """The whole stderr of a separate `nst` process, file descriptor 2 included (capsys sees only sys.stderr).

    A fresh KERAS_HOME makes `--precision auto` decide from scratch (on a processor with native bfloat16
    it measures, which starts TensorFlow) before the memory plan refuses the run.
    """
    import subprocess
    import sys

    write_png(tmp_path / "photo.png", make_content(64, 48))
    write_png(tmp_path / "style.png", make_style(48, 48))
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "NST_OFFLINE": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "nst_lib.cli", "stylize", "photo.png", "style.png", "-o", "out.png",
               "--size", "4096", "--max-memory", "1G"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("error: ") and "--max-memory" in done.stderr
    assert not (tmp_path / "out.png").exists()
