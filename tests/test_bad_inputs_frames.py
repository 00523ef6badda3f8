"""``nst video``'s frames and ``nst batch``'s photos are measured from their headers before any work
(docs/safety.md, "Memory from the first byte"): a frame or photo whose decoding the budget cannot hold is
refused up front with one ``error:`` line naming it, its size and the budget; so is a run whose plan does
not fit. Same table style as ``tests/test_bad_inputs.py`` (exit code, the words of the error line, SHA-256 of
every file before and after, no file appearing).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import make_content, write_png
from test_bad_inputs import Case, _big_png, run_case, scratch  # noqa: F401 - scratch is a fixture

BUDGET = ["--max-memory", "160M"]  # the program's own 150 MB leave 2 MB: a 3000×2400 frame does not fit, 64×48 does


@pytest.fixture
def big_inputs(scratch):  # noqa: F811 - the fixture imported above
    """A folder of two 3000×2400 frames, a 1600×1200 MP4, a 3000×2400 photo."""
    (scratch / "big_frames").mkdir()
    for name in ("00000.png", "00001.png"):
        _big_png(scratch / "big_frames" / name)
    _big_png(scratch / "big.png")
    from nst_lib.frames import write_video

    ramp = np.linspace(0, 1, 1600, dtype=np.float32)
    frame = np.ascontiguousarray(np.broadcast_to(ramp[np.newaxis, :, np.newaxis], (1200, 1600, 3)))
    write_video(scratch / "big.mp4", [frame, frame[:, ::-1]], fps=10)
    return scratch


def _no_pixel_decoded(monkeypatch):
    """Fail if a pixel of a big file is decoded (the small style is decoded before the photos are checked)."""
    from nst_lib import images

    decode = images._decode

    def watched(stream, label, *args, **kwargs):
        if "big" in label:
            pytest.fail(f"{label} was decoded before the check")
        return decode(stream, label, *args, **kwargs)

    monkeypatch.setattr(images, "_decode", watched)


def test_video_frames_too_large_for_the_budget_are_refused_from_their_headers(big_inputs, capsys, monkeypatch):
    _no_pixel_decoded(monkeypatch)
    case = Case("§3", ["video", "big_frames", "style.png", "-o", "out.gif", "--steps-first", "1", *BUDGET],
                ("decoding", "big_frames/00000.png", "3000×2400", "160 MB", "--max-memory"))
    run_case(case, big_inputs, capsys)


def test_a_video_file_too_large_for_the_budget_is_refused_from_its_stream_header(big_inputs, capsys):
    case = Case("§3", ["video", "big.mp4", "style.png", "-o", "out.gif", "--steps-first", "1", *BUDGET],
                ("decoding the frames of 'big.mp4'", "1600×1200", "yuv420p", "160 MB", "--max-memory"))
    run_case(case, big_inputs, capsys)


def test_video_with_model_counts_frames_against_the_memory_available_now(big_inputs, capsys, monkeypatch):
    from nst_lib import memory

    monkeypatch.setattr(memory, "default_budget", lambda: 160 * 2**20)
    case = Case("§3", ["video", "big.mp4", "--model", "model.keras", "-o", "out.gif", "--size", "64"],
                ("decoding the frames of 'big.mp4'", "1600×1200", "the memory available now"))
    run_case(case, big_inputs, capsys)


def test_a_video_run_that_cannot_fit_is_refused_before_the_first_frame(big_inputs, capsys):
    case = Case("§3", ["video", "frames", "style.png", "-o", "out.gif", "--size", "2048", "--max-memory", "1G"],
                ("2048×2048 px run needs", "--max-memory"))
    run_case(case, big_inputs, capsys)


def test_a_batch_photo_too_large_for_the_budget_is_refused_before_any_worker(big_inputs, capsys, monkeypatch):
    _no_pixel_decoded(monkeypatch)
    case = Case("§3", ["batch", "photo.png", "big.png", "style.png", "-o", "batch_new", "--size", "48", "--steps", "1",
                       *BUDGET], ("decoding 'big.png'", "3000×2400", "160 MB", "--max-memory"))
    run_case(case, big_inputs, capsys)
    assert not (big_inputs / "batch_new").exists()


def test_a_batch_with_model_counts_photos_against_the_memory_available_now(big_inputs, capsys, monkeypatch):
    from nst_lib import memory

    monkeypatch.setattr(memory, "default_budget", lambda: 160 * 2**20)
    case = Case("§3", ["batch", "photo.png", "big.png", "--model", "model.keras", "-o", "batch_new"],
                ("decoding 'big.png'", "3000×2400", "the memory available now"))
    run_case(case, big_inputs, capsys)


def test_a_batch_whose_run_cannot_fit_names_the_photo(big_inputs, capsys):
    write_png(big_inputs / "wide.png", make_content(32, 64))
    case = Case("§3", ["batch", "wide.png", "photo.png", "style.png", "-o", "batch_new", "--size", "2048",
                       "--max-memory", "1G"], ("photo 'photo.png' (64×64 px)", "2048×2048 px run needs", "--max-memory"))
    run_case(case, big_inputs, capsys)


def test_the_stream_header_is_handed_over_before_a_frame_is_decoded(big_inputs):
    from nst_lib.frames import open_frames

    seen = []
    source = open_frames(big_inputs / "big.mp4", seen.extend)
    assert [(h.width, h.height, h.mode) for h in seen] == [(1600, 1200, "yuv420p")]
    assert (source.count, source.width, source.height) == (2, 1600, 1200)
    seen.clear()
    open_frames(big_inputs / "big_frames", seen.extend)
    assert [(h.width, h.height) for h in seen] == [(3000, 2400)] * 2


def test_a_video_frame_is_decoded_the_way_an_image_file_is(tmp_path):
    """The reduced decoding the headers are counted for: a large frame gives the very array load_image gives
    for the same pixels in a PNG file, and a small one the plain Lanczos resize it had before."""
    from nst_lib.images import decoded_frame_at_size, load_image, resize_long_side

    path = _big_png(tmp_path / "big.png", 1200, 900)
    with Image.open(path) as image:
        frame = image.convert("RGB")
    assert np.array_equal(decoded_frame_at_size(frame, 100), load_image(path, 100))
    small = make_content(48, 64)
    pixels = Image.fromarray((small * 255).round().astype(np.uint8))
    as_float = np.asarray(pixels, dtype=np.float32) / 255
    assert np.allclose(decoded_frame_at_size(pixels, 32), resize_long_side(as_float, 32), rtol=0, atol=1e-6)
    assert np.allclose(decoded_frame_at_size(pixels, None), as_float, rtol=0, atol=1e-6)  # (float32 rounding)


# ------------------------------------------------------------------------ --model: the network's pass up front
@pytest.mark.parametrize("argv, words", [
    (["video", "frames", "--model", "model.keras", "-o", "out.gif", "--size", "2048"], ("2048×2048 px",)),
    (["batch", "photo.png", "--model", "model.keras", "-o", "batch_new", "--size", "2048"], ("2048×2048 px",)),
    (["stylize", "photo.png", "--model", "model.keras", "-o", "out.png", "--size", "2048"], ("2048×2048 px",)),
], ids=["video", "batch", "stylize"])
def test_a_network_pass_the_memory_cannot_hold_is_refused_before_any_work(argv, words, scratch, capsys,  # noqa: F811
                                                                          monkeypatch):
    """Decoding the 64×64 input fits in 1 GB; the network's pass at 2048 px (about 1.8 GB) does not."""
    from nst_lib import memory

    monkeypatch.setattr(memory, "default_budget", lambda: 2**30)
    case = Case("§3", argv, ("stylizing a", *words, "with this network needs about", "1.0 GB is available"))
    run_case(case, scratch, capsys)


def test_stylize_with_model_counts_the_contents_decoding_from_its_header(big_inputs, capsys, monkeypatch):
    from nst_lib import memory

    _no_pixel_decoded(monkeypatch)
    monkeypatch.setattr(memory, "default_budget", lambda: 160 * 2**20)
    case = Case("§3", ["stylize", "big.png", "--model", "model.keras", "-o", "out.png"],
                ("decoding 'big.png'", "3000×2400", "the memory available now"))
    run_case(case, big_inputs, capsys)


# ------------------------------------------------------------------------ --workers N: the workers together
@pytest.mark.parametrize("argv", [
    ["batch", "photo.png", "same.png", "style.png", "-o", "batch_new", "--size", "48", "--steps", "1", "--workers", "8"],
    ["batch", "photo.png", "same.png", "--model", "model.keras", "-o", "batch_new", "--size", "48", "--workers", "8"],
    ["video", "frames", "--model", "model.keras", "-o", "out.gif", "--size", "48", "--workers", "8"],
], ids=["batch", "batch --model", "video --model"])
def test_local_workers_that_cannot_fit_together_are_refused_before_any_starts(argv, scratch, capsys,  # noqa: F811
                                                                              monkeypatch):
    """Each of 8 workers needs at least its own TensorFlow (700 MB): 2 GB cannot hold them; 2 workers fit."""
    from nst_lib import memory

    monkeypatch.setattr(memory, "default_budget", lambda: 2 * 2**30)
    run_case(Case("§3", argv, ("--workers 8: each worker needs about", "together", "the memory available now (2.0 GB)",
                               "fewer --workers")), scratch, capsys)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"nst_lib.cli_{argv[0]}.import_tensorflow_quietly", interrupt)
    from nst_lib.cli import main

    assert main([*argv[:-1], "2"]) == 130  # every check passed: stopped where TensorFlow would start
    assert "error:" not in capsys.readouterr().err
