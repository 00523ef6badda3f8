"""``nst video`` and its pieces: optical flow, warping and the reliability mask on clips with known motion;
frames in and out (folders, MP4, GIF, offline); every bad input refused with one ``error:`` line (exit 2);
a killed run resumed; Ctrl-C keeping the finished frames; and the flicker contract on an 8-frame pan."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nst_lib.cli import main
from nst_lib.clips import CLIP_KINDS, synthetic_clip
from nst_lib.errors import InvalidImageError, InvalidSettingError, OutputError
from nst_lib.flow import flicker, frame_motion, optical_flow, reliable_mask, warp
from nst_lib.frames import check_video_output, open_frames, parse_range, write_frame, write_video

from conftest import REPO, make_style, write_png

NST = Path(sys.executable).with_name("nst")


def _env():
    env = dict(os.environ, NST_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _command():
    return [str(NST)] if NST.exists() else [sys.executable, "-m", "nst_lib.cli"]


def _frames_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    for index, frame in enumerate(frames):
        write_frame(folder, index, frame)
    return folder


@pytest.fixture(scope="module")
def pan64() -> list[np.ndarray]:
    return synthetic_clip("pan", 6, 64)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained fast network (4 channels, 1 residual block): fast, deterministic, a real model file."""
    from nst_lib.fast import FastModel, build_network
    from nst_lib.fast_settings import MODEL_FORMAT

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    FastModel(build_network(4, 1, seed=0, metadata={"format": MODEL_FORMAT})).save(path)
    return path


# ------------------------------------------------------------------------------------------- flow
def test_the_flow_of_a_pan_is_the_pan_and_warping_undoes_it():
    clip = synthetic_clip("pan", 3, 128)  # 128 px wide: 1.5 px per frame
    backward = optical_flow(clip[1], clip[0])
    inner = backward[8:-8, 8:-8]
    assert np.allclose(np.median(inner.reshape(-1, 2), axis=0), [1.5, 0.0], atol=0.1)
    aligned = warp(clip[0], backward)
    assert np.mean((aligned - clip[1])[8:-8, 8:-8] ** 2) < 0.05 * np.mean((clip[0] - clip[1]) ** 2)


def test_the_mask_drops_what_a_moving_object_uncovers_and_where_the_flow_leaves_the_frame():
    clip = synthetic_clip("object", 3, 128)
    motion = frame_motion(clip[1], clip[2])
    h, w = motion.mask.shape
    # the disc (radius 0.22 h) moves right by 2.5 px: the strip it uncovers at its left edge is unreliable
    cx, cy, radius = 0.2 * w + 2.5 * 1, 0.5 * h, 0.22 * h
    uncovered = motion.mask[int(cy) - 3:int(cy) + 3, int(cx - radius) - 1:int(cx - radius) + 2]
    assert uncovered.mean() < 0.5
    assert 0.8 < motion.reliable_fraction < 1.0  # most of the picture is still trusted
    still = np.zeros((16, 16, 2), np.float32)
    outward = still.copy()
    outward[..., 0] = 20.0  # everything points 20 px to the right: off the frame for most pixels
    assert reliable_mask(still, still).min() == 1.0
    assert reliable_mask(outward, -outward)[:, -4:].max() == 0.0


def test_flicker_is_zero_for_a_steady_stylization_and_grows_with_noise():
    clip = synthetic_clip("pan", 2, 64)
    motion = frame_motion(clip[0], clip[1])
    assert flicker(clip[0], clip[1], motion) < 1e-3  # the frames themselves follow the motion
    noisy = np.clip(clip[1] + np.random.default_rng(0).normal(0, 0.1, clip[1].shape), 0, 1).astype(np.float32)
    assert flicker(clip[0], noisy, motion) > 5e-3


def test_every_synthetic_clip_moves_and_has_the_asked_shape():
    for kind in CLIP_KINDS:
        clip = synthetic_clip(kind, 3, 96)
        assert len(clip) == 3 and clip[0].shape == (72, 96, 3) and clip[0].dtype == np.float32
        assert np.mean((clip[0] - clip[2]) ** 2) > 1e-4
    with pytest.raises(InvalidSettingError, match="unknown clip kind"):
        synthetic_clip("shake")


# ------------------------------------------------------------------------------------------ frames
@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_mp4_and_gif_round_trip_offline(tmp_path, pan64, suffix):
    path = write_video(tmp_path / f"clip{suffix}", pan64, fps=10)
    source = open_frames(path)
    assert (source.kind, source.count, source.width, source.height) == ("video", 6, 64, 48)
    assert source.fps == pytest.approx(10, rel=0.05)
    decoded = [frame for _, frame in source.read(None)]
    assert len(decoded) == 6
    assert max(float(np.mean((a - b) ** 2)) for a, b in zip(decoded, pan64)) < 2e-3
    assert [i for i, _ in source.read(32, parse_range("2:4", source.count))] == [2, 3]


def test_bad_video_inputs_are_refused_with_what_is_wrong(tmp_path, pan64):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidImageError, match="no frames"):
        open_frames(empty)
    mixed = _frames_folder(tmp_path / "mixed", pan64[:2])
    write_png(mixed / "00002.png", np.zeros((40, 64, 3), np.float32))
    with pytest.raises(InvalidImageError, match="frames of different sizes: 00000.png is 64×48 px but 00002.png is 64×40"):
        open_frames(mixed)
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(InvalidImageError, match="cannot decode"):
        open_frames(tmp_path / "broken.mp4")
    with pytest.raises(InvalidImageError, match="selects no frame"):
        parse_range("7:9", 6)
    with pytest.raises(InvalidSettingError, match="A:B"):
        parse_range("1-3", 6)


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        check_video_output(tmp_path / "missing" / "out.mp4")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_video_output(tmp_path / "file")
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_video_output(tmp_path / "dir.mp4")
    with pytest.raises(OutputError, match=r"\.mp4, \.gif or a folder"):
        check_video_output(tmp_path / "out.mov")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="not writable"):
            check_video_output(locked / "out.gif")


# --------------------------------------------------------------------------------------------- CLI
def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_cli_bad_inputs_are_one_error_line_and_exit_2(tmp_path, pan64, capsys):
    style = write_png(tmp_path / "style.png", make_style())
    frames = _frames_folder(tmp_path / "frames", pan64)
    empty = tmp_path / "empty"
    empty.mkdir()
    mixed = _frames_folder(tmp_path / "mixed", pan64[:2])
    write_png(mixed / "00002.png", np.zeros((40, 64, 3), np.float32))
    (tmp_path / "broken.webm").write_bytes(b"not a video at all" * 20)
    notes = tmp_path / "notes"
    notes.write_text("a file where a folder is wanted")
    cases = [
        ([str(empty), str(style), "-o", str(tmp_path / "o1")], "no frames"),
        ([str(mixed), str(style), "-o", str(tmp_path / "o2")], "different sizes"),
        ([str(tmp_path / "broken.webm"), str(style), "-o", str(tmp_path / "o3")], "cannot decode"),
        ([str(frames), str(style), "-o", str(tmp_path / "missing" / "out.mp4")], "does not exist"),
        ([str(frames), str(style), "-o", str(style)], "write .mp4, .gif or a folder"),
        ([str(frames), str(style), "-o", str(notes)], "is a file"),
        ([str(frames), "-o", str(tmp_path / "o4")], "needs at least one STYLE"),
        ([str(frames), str(style), "-o", str(tmp_path / "o5"), "--frames", "9:12"], "selects no frame"),
        ([str(frames), str(style), "-o", str(tmp_path / "o6"), "--resume", str(tmp_path)], "holds no saved video"),
        ([str(frames), str(style), "-o", str(tmp_path / "o7"), "--blend", "0.5"], "--blend needs --model"),
        ([str(frames), str(style), "-o", str(tmp_path / "o8"), "--temporal-weight", "x"], "expected a number"),
    ]
    for args, words in cases:
        assert main(["video", *args]) == 2, args
        assert words in _one_error_line(capsys), (args, words)
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 9))


def test_cli_model_video_gif_in_mp4_and_frames_out(tmp_path, pan64, tiny_model, capsys):
    gif = write_video(tmp_path / "in.gif", pan64, fps=8)
    assert main(["video", str(gif), "--model", str(tiny_model), "-o", str(tmp_path / "out.mp4"), "--size", "64",
                 "--quiet"]) == 0
    out = open_frames(tmp_path / "out.mp4")
    assert (out.count, out.width, out.height) == (6, 64, 48) and out.fps == pytest.approx(8, rel=0.05)
    assert main(["video", str(tmp_path / "out.mp4"), "--model", str(tiny_model), "-o", str(tmp_path / "frames"),
                 "--size", "64", "--frames", "1:4", "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert capsys.readouterr().err == ""


def test_the_blend_steadies_the_fast_network(tmp_path, tiny_model):
    from nst_lib.video import blend_frames, load_model, network_outputs

    clip = synthetic_clip("pan", 6, 96)
    model = load_model(tiny_model)
    raw = list(network_outputs(model, enumerate(clip)))
    plain = [output for _, _, output in raw]
    steady = [r.image for r in blend_frames(raw, blend=0.8)]
    motions = [frame_motion(a, b) for a, b in zip(clip, clip[1:])]
    assert np.array_equal(steady[0], plain[0])
    mean_flicker = lambda images: np.mean([flicker(p, c, m) for p, c, m in zip(images, images[1:], motions)])  # noqa: E731
    assert mean_flicker(steady) < 0.5 * mean_flicker(plain)


# ----------------------------------------------------------------------------------- real processes
def _wait_for(predicate, process, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            pytest.fail(f"nst video exited early ({process.returncode})")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no finished frame in time")


@pytest.mark.slow
def test_a_killed_video_resumes_at_its_first_unfinished_frame(tmp_path, offline_weights):
    frames = _frames_folder(tmp_path / "frames", synthetic_clip("pan", 8, 48))
    style = write_png(tmp_path / "style.png", make_style())
    state, out = tmp_path / "state", tmp_path / "out"
    args = ["video", str(frames), str(style), "-o", str(out), "--size", "48", "--steps-first", "15", "--steps", "15",
            "--quiet"]  # fmt: skip
    process = subprocess.Popen(_command() + args + ["--save-state", str(state)], env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(list(state.glob("*.npy"))) >= 2, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    saved = {p.name: p.stat().st_mtime_ns for p in state.glob("*.npy")}
    assert 2 <= len(saved) < 8, "the run finished before it could be killed"
    done = subprocess.run(_command() + args + ["--resume", str(state)], env=_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{i:05d}.png" for i in range(8)]
    assert {p.name: p.stat().st_mtime_ns for p in state.glob("*.npy") if p.name in saved} == saved  # not redone
    assert json.loads((state / "video.json").read_text())["frames"] == [0, 8]


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_frames_in_a_shorter_video(tmp_path, offline_weights):
    frames = _frames_folder(tmp_path / "frames", synthetic_clip("pan", 8, 48))
    style = write_png(tmp_path / "style.png", make_style())
    out = tmp_path / "out.gif"
    args = ["video", str(frames), str(style), "-o", str(out), "--size", "48", "--steps-first", "15", "--steps", "60"]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        process = subprocess.Popen(_command() + args, env=_env(), stdout=subprocess.DEVNULL, stderr=err)
        try:  # the bar shows "1/8" once the first frame is done
            _wait_for(lambda: " 1/8 " in err_path.read_text(errors="replace"), process)
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    stderr = err_path.read_text()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted: kept the" in stderr
    kept = open_frames(out).count
    assert 1 <= kept < 8


# ------------------------------------------------------------------------------------ the contract
@pytest.mark.slow
def test_nst_video_halves_the_flicker_of_per_frame_stylization_at_a_similar_style_loss(tmp_path, offline_weights):
    """The issue's contract on a 6-frame synthetic pan at 128 px (few frames and iterations, so that it stays
    short; benchmarks/video.py measures 12 frames with more): flicker at most half of per-frame stylization's,
    per-frame style loss within 1.3×."""
    from nst_lib import data
    from nst_lib.config import StyleConfig
    from nst_lib.images import to_uint8
    from nst_lib.transfer import make_objective
    from nst_lib.video import stylize_frames

    frame_count = 6
    clip = [to_uint8(f).astype(np.float32) / 255 for f in synthetic_clip("pan", frame_count, 128)]
    frames = _frames_folder(tmp_path / "frames", clip)
    first, later = "20", "10"
    assert main(["video", str(frames), "example:swirls", "-o", str(tmp_path / "out"), "--size", "128",
                 "--steps-first", first, "--steps", later, "--quiet"]) == 0
    ours = [frame for _, frame in open_frames(tmp_path / "out").read(None)]
    assert len(ours) == frame_count
    style, config = data.style_image("swirls"), StyleConfig(size=128, steps=int(first))
    per_frame = [to_uint8(r.image).astype(np.float32) / 255
                 for r in stylize_frames(enumerate(clip), style, config=config, temporal=False)]
    motions = [frame_motion(a, b) for a, b in zip(clip, clip[1:])]

    def mean_flicker(images):
        return np.mean([flicker(p, c, m) for p, c, m in zip(images, images[1:], motions)])

    def mean_style(images):
        return np.mean([float(make_objective(f, style, config=config).parts(x[None])["style"]) for f, x in zip(clip, images)])

    flicker_ratio = mean_flicker(ours) / mean_flicker(per_frame)
    style_ratio = mean_style(ours) / mean_style(per_frame)
    print(f"{frame_count}-frame pan at 128 px: flicker {flicker_ratio:.2f}× per-frame's, style loss {style_ratio:.2f}×")
    assert flicker_ratio <= 0.5 and style_ratio <= 1.3, (flicker_ratio, style_ratio)
