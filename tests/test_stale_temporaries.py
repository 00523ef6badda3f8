"""What a process killed with SIGKILL while it writes leaves behind (``.NAME.XXXXXXXX.tmp`` beside its target) is
removed by the next ``nst stylize`` / ``nst train`` that writes that very target — and nothing else: not another
target's temporary, not a file that only looks alike, not the temporary of a process still writing
(docs/safety.md, "Files: checked before any work").
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_content, make_style, write_png
from test_bad_inputs import _good_model_config, _model

from nst_lib.cli import main
from nst_lib.fileio import remove_temporaries, temporary_path

WRITER = """
import sys, time
from nst_lib.fileio import atomic_write
with atomic_write(sys.argv[1]) as stream:
    stream.write(b"half a file")
    stream.flush()
    print("writing", flush=True)
    time.sleep(120)
"""


def _age(path: Path, seconds: float = 100.0) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _left(target: Path) -> Path:
    """A temporary of ``target`` as a killed process leaves it: unlocked and not written to for a while."""
    path = temporary_path(target)
    path.write_bytes(b"half a file")
    return _age(path)


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_live_writers_temporary_is_kept_and_a_killed_ones_is_removed(tmp_path):
    target = tmp_path / "out.png"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        temporary, = [p for p in tmp_path.iterdir() if p.name.startswith(".out.png.")]
        assert temporary.name.endswith(".tmp")  # locked before it got this name: no "~tmp" left over
        _age(temporary)  # old: only its writer's lock keeps it
        assert remove_temporaries(tmp_path, ["out.png"]) == 0 and temporary.exists()
    finally:
        writer.kill()  # SIGKILL: the writer cannot clean up
        writer.wait(timeout=60)
    assert temporary.exists() and not target.exists()
    assert remove_temporaries(tmp_path, ["out.png"]) == 1  # at once: no waiting for it to age
    assert not any(tmp_path.iterdir())


def test_only_stale_temporaries_of_the_named_targets_are_removed(tmp_path):
    stale = _left(tmp_path / "out.png")
    fresh = temporary_path(tmp_path / "out.png")  # unlocked under a temporary name: stale however young
    fresh.write_bytes(b"x")
    claiming = tmp_path / ".out.png.1a2b3c4d~tmp"  # the name a writer creates before it locks and renames
    claiming.write_bytes(b"x")
    other = _left(tmp_path / "holiday.png")  # another target's
    alike = tmp_path / ".out.png.notes.txt"  # a user's file that only looks alike
    alike.write_bytes(b"x")
    _age(alike)
    assert remove_temporaries(tmp_path, ["out.png"]) == 2
    assert not stale.exists() and not fresh.exists() and claiming.exists() and other.exists() and alike.exists()
    assert remove_temporaries(tmp_path, lambda name: name.startswith("holi")) == 1 and not other.exists()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """Inputs, stale temporaries of the outputs a command will write, and files that must stay as they are."""
    monkeypatch.chdir(tmp_path)
    write_png(tmp_path / "photo.png", make_content())
    write_png(tmp_path / "style.png", make_style())
    _model(tmp_path / "model.keras", _good_model_config())
    (tmp_path / "runs").mkdir()
    stale = [_left(tmp_path / name) for name in ("out.png", "out_0002.png", "out_scale1_0004.png", "m.keras",
                                                  "styled.png")]
    stale.append(_left(tmp_path / "runs" / "history.json"))
    kept = [_left(tmp_path / "holiday.png"), _left(tmp_path / "photo.png"), _left(tmp_path / "outx_0002.png")]
    (tmp_path / ".out.png.notes.txt").write_bytes(b"mine")
    kept.append(_age(tmp_path / ".out.png.notes.txt"))
    return tmp_path, stale, kept


def _stop_before_tensorflow(monkeypatch, module: str) -> None:
    """Ctrl-C where TensorFlow would be imported: after every check and the clean-up, before any work."""
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"nst_lib.{module}.import_tensorflow_quietly", interrupt)


@pytest.mark.parametrize("argv, module, removed", [
    (["stylize", "photo.png", "style.png", "-o", "out.png", "--history", "runs/history.json", "--save-every", "2",
      "--size", "48"], "cli", {"out.png", "out_0002.png", "out_scale1_0004.png", "runs/history.json"}),
    (["stylize", "photo.png", "style.png", "-o", "out.png", "--size", "48"], "cli", {"out.png"}),
    (["train", "style.png", "-o", "m.keras", "--steps", "1"], "cli_train", {"m.keras"}),
    (["stylize", "photo.png", "--model", "model.keras", "-o", "styled.png"], "cli_train", {"styled.png"}),
], ids=["stylize with history and checkpoints", "stylize", "train", "stylize --model"])
def test_a_command_removes_what_a_killed_run_left_of_its_own_targets(argv, module, removed, folder, capsys,
                                                                       monkeypatch):
    root, stale, kept = folder
    _stop_before_tensorflow(monkeypatch, module)
    before = _checksums(root)
    assert main(argv) == 130
    err = capsys.readouterr().err
    gone = {str(p.relative_to(root)) for p in stale if not p.exists()}
    assert {str(Path(name).parent / f".{Path(name).name}") for name in removed} == \
        {name.rsplit(".", 2)[0] for name in gone}, gone
    assert f"note: removed {len(removed)} temporary file(s) that an interrupted run left beside" in err
    after = _checksums(root)
    assert {name: after.get(name) for name in before if name not in gone} == \
        {name: digest for name, digest in before.items() if name not in gone}  # every other file: same bytes
    assert all(p.exists() for p in kept) and set(after) <= set(before)


def test_a_refused_command_removes_nothing(folder, capsys):
    root, stale, _ = folder
    before = _checksums(root)
    assert main(["stylize", "photo.png", "style.png", "-o", "out.png", "--max-memory", "1M"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert _checksums(root) == before and all(p.exists() for p in stale)


def test_quiet_removes_without_a_note(folder, capsys, monkeypatch):
    root, stale, _ = folder
    _stop_before_tensorflow(monkeypatch, "cli")
    assert main(["stylize", "photo.png", "style.png", "-o", "out.png", "--size", "48", "--quiet"]) == 130
    assert "note:" not in capsys.readouterr().err
    assert not stale[0].exists()


@pytest.mark.slow
def test_a_run_after_a_killed_one_leaves_only_its_image(folder, capsys, offline_weights):
    root, stale, kept = folder
    assert main(["stylize", "photo.png", "style.png", "-o", "out.png", "--size", "48", "--steps", "1",
                 "--scales", "1", "--quiet"]) == 0
    assert (root / "out.png").is_file() and not stale[0].exists()
    assert not [p for p in root.iterdir() if p.name.startswith(".out.png.") and p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------- nst video
def test_a_video_being_written_is_a_locked_temporary_of_fileio(tmp_path):
    """An .mp4 is written through fileio's writer: ``.clip.mp4.XXXXXXXX.mp4``, kept while it is being written
    (even when old), renamed at the end; an empty clip leaves nothing."""
    import numpy as np

    from nst_lib.errors import OutputError
    from nst_lib.frames import write_video

    frame = np.full((32, 48, 3), 0.5, np.float32)
    seen = []

    def frames():
        yield frame
        temporary, = [p for p in tmp_path.iterdir() if p.name.startswith(".clip.mp4.") and p.suffix == ".mp4"]
        _age(temporary)
        seen.append(remove_temporaries(tmp_path, ["clip.mp4"]))
        yield frame

    write_video(tmp_path / "clip.mp4", frames(), 10)
    assert seen == [0] and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    with pytest.raises(OutputError, match="no frame"):
        write_video(tmp_path / "empty.gif", [], 10)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


@pytest.mark.parametrize("output, targets", [
    ("out.gif", ["out.gif"]),
    ("out_frames", ["out_frames/00000.png", "out_frames/00001.png"]),
], ids=["gif", "folder of frames"])
def test_nst_video_removes_what_a_killed_run_left_of_its_own_files(output, targets, folder, capsys, monkeypatch):
    root, _, kept = folder
    (root / "frames").mkdir()
    for index in range(2):
        write_png(root / "frames" / f"{index:05d}.png", make_content(seed=index))
    (root / "out_frames").mkdir()
    (root / "state").mkdir()
    stale = [_left(root / name) for name in [*targets, "state/00001.npy"]]
    kept += [_left(root / "out_frames" / "00002.png"), _left(root / "state" / "00002.npy")]  # not frames of this run
    _stop_before_tensorflow(monkeypatch, "cli_video")
    before = _checksums(root)
    assert main(["video", "frames", "style.png", "-o", output, "--save-state", "state", "--size", "48"]) == 130
    assert f"note: removed {len(stale)} temporary file(s)" in capsys.readouterr().err
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    after = _checksums(root)
    assert after == {name: digest for name, digest in before.items() if name in after} and len(after) == len(before) - len(stale)
