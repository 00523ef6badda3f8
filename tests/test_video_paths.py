"""What a killed video run leaves behind is not part of the result: a resumed run removes the temporary
files of its own frames (nst_lib.fileio.remove_temporaries), and nothing else."""
from __future__ import annotations

import os
import time

from conftest import make_content, write_png

from nst_lib.fileio import remove_temporaries, temporary_path


def _killed(path):
    """A temporary as a killed writer leaves it: unlocked, not written to for a while (tests/test_stale_temporaries.py)."""
    then = time.time() - 100
    os.utime(path, (then, then))


def test_remove_temporaries_removes_only_the_named_targets_temporaries(tmp_path):
    ours = temporary_path(tmp_path / "00001.png")
    ours.write_bytes(b"half a PNG")
    _killed(ours)
    other = temporary_path(tmp_path / "holiday.png")  # another target's temporary: not ours to remove
    other.write_bytes(b"x")
    _killed(other)
    mine = tmp_path / ".00001.png.notes.txt"  # a user's file that only looks alike
    mine.write_bytes(b"x")
    _killed(mine)
    (tmp_path / "00001.png").write_bytes(b"a finished frame")
    assert remove_temporaries(tmp_path, ["00001.png", "00002.png"]) == 1
    assert not ours.exists() and other.exists() and mine.exists() and (tmp_path / "00001.png").exists()
    assert remove_temporaries(tmp_path / "missing", ["00001.png"]) == 0


def test_resuming_a_video_removes_a_frame_left_half_written(tmp_path):
    from nst_lib.frames import open_frames
    from nst_lib.video import VideoJob, prepare_state

    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        write_png(frames / f"{index:05d}.png", make_content(seed=index))
    out, state = tmp_path / "out", tmp_path / "state"
    job = VideoJob(open_frames(frames), out, range(0, 3), 25.0, state)
    assert prepare_state(job, resume=False) == 0
    out.mkdir()
    (out / "00000.png").write_bytes(b"frame 0")
    left = temporary_path(out / "00001.png")  # the run was killed while writing frame 1
    left.write_bytes(b"half a PNG")
    _killed(left)
    state_left = temporary_path(state / "00001.npy")
    state_left.write_bytes(b"half an array")
    _killed(state_left)
    assert prepare_state(job, resume=True) == 0
    assert sorted(p.name for p in out.iterdir()) == ["00000.png"] and not state_left.exists()


def test_a_frame_whose_state_was_saved_but_not_its_output_is_written_on_resume(tmp_path, monkeypatch):
    """The order is output frame, then state frame (the state says "done"); a state folder from a run killed
    between the two the other way round still gives every output frame when resumed (CI saw it: 00001.png
    missing after a resume)."""
    import numpy as np

    import nst_lib.video as video
    from nst_lib.frames import open_frames
    from nst_lib.images import load_image

    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        write_png(frames / f"{index:05d}.png", make_content(seed=index))
    out, state = tmp_path / "out", tmp_path / "state"
    job = video.VideoJob(open_frames(frames), out, range(0, 3), 25.0, state)
    assert video.prepare_state(job, resume=False) == 0
    order = []
    write_frame, save_array = video.write_frame, video._save_array
    monkeypatch.setattr(video, "write_frame", lambda *a: order.append("output") or write_frame(*a))
    monkeypatch.setattr(video, "_save_array", lambda *a: order.append("state") or save_array(*a))
    first = video.FrameResult(0, np.full((48, 64, 3), 0.25, np.float32), 0.1)
    assert [r.index for r in video.finished_frames(job, [first], 0)] == [0]
    assert order == ["output", "state"]
    np.save(state / "00001.npy", np.full((48, 64, 3), 0.75, np.float32))  # the state of frame 1, not its output
    assert video.prepare_state(job, resume=True) == 2
    assert sorted(p.name for p in out.iterdir()) == ["00000.png", "00001.png"]
    assert abs(float(np.asarray(load_image(out / "00001.png")).mean()) - 0.75) < 0.01
