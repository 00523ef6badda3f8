"""Resume (nst_lib.resume, stylize(resume=…, save_state=…), --save-state/--resume), Adam's state carried
over, the image start, and 16-bit output."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import make_content, make_style, write_png
from nst_lib.errors import InvalidSettingError, OutputError
from nst_lib.images import output_bit_depth, save_image
from nst_lib.resume import RunState, resumed_config


# ------------------------------------------------------------------------------------------ state files
def test_state_round_trip(tmp_path):
    state = RunState(config={"size": 64, "steps": 10}, image=np.full((8, 9, 3), 0.25, np.float32), stage=1,
                     stage_iterations=3, tile_pass=1, next_tile=2, offsets=[(3, 4)], iterations=7, elapsed=1.5,
                     history=[{"iteration": 1, "total": 2.0}], optimizer={"m": np.ones((8, 9, 3)), "t": np.array(5)},
                     fingerprints={"content": "abc"})
    path = state.save(tmp_path / "run.npz")
    back = RunState.load(path)
    assert (back.stage, back.stage_iterations, back.tile_pass, back.next_tile, back.iterations) == (1, 3, 1, 2, 7)
    assert back.offsets == [(3, 4)] and back.history == state.history and back.fingerprints == {"content": "abc"}
    np.testing.assert_array_equal(back.image, state.image)
    assert int(back.optimizer["t"]) == 5 and back.optimizer["m"].shape == (8, 9, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind


def test_bad_state_files_are_refused_in_one_sentence(tmp_path):
    with pytest.raises(InvalidSettingError, match="does not exist"):
        RunState.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidSettingError, match="not a run state"):
        RunState.load(junk)


def test_a_resumed_run_keeps_its_settings():
    state = RunState(config={"size": 64, "steps": 10, "optimizer": "adam"}, image=np.zeros((4, 4, 3), np.float32))
    cfg = resumed_config(state, {"steps": 20, "time_budget": 5.0})
    assert (cfg.size, cfg.steps, cfg.optimizer, cfg.time_budget) == (64, 20, "adam", 5.0)
    with pytest.raises(InvalidSettingError, match="size=128"):
        resumed_config(state, {"size": 128})


# ------------------------------------------------------------------------------------- Adam carried over
def test_adam_continues_exactly_from_its_state():
    """Four steps in one go equal two steps, then two more from the returned state."""
    import tensorflow as tf

    from nst_lib.optimize import run_adam

    target = tf.constant(np.linspace(0.2, 0.8, 5 * 6 * 3, dtype=np.float32).reshape(1, 5, 6, 3))

    def value_and_grad(image):
        diff = image - target
        return {"total": tf.reduce_sum(diff**2)}, 2 * diff

    init = np.full((5, 6, 3), 0.5, np.float32)
    settings = dict(learning_rate=0.05, beta_1=0.9, average_decay=None, learning_rate_end=None)
    whole = run_adam(value_and_grad, init, steps=4, **settings)
    first = run_adam(value_and_grad, init, steps=2, **settings)
    second = run_adam(value_and_grad, first.state["iterate"] if "iterate" in first.state else first.image,
                      steps=2, state=first.state, **settings)
    np.testing.assert_allclose(second.image, whole.image, atol=1e-6)
    assert int(second.state["t"]) == 4


def test_adam_decay_and_average():
    import tensorflow as tf

    from nst_lib.optimize import run_adam

    seen = []

    def value_and_grad(image):
        return {"total": tf.reduce_sum(image)}, tf.ones_like(image)

    init = np.full((4, 4, 3), 0.9, np.float32)
    result = run_adam(value_and_grad, init, steps=20, learning_rate=0.01, learning_rate_end=0.001, beta_1=0.0,
                      epsilon=1e-8, average_decay=0.5, callback=lambda e: seen.append(e.image()[0, 0, 0]))
    steps = -np.diff([0.9] + [float(v) for v in seen])  # the average moves slower and slower
    assert steps[-1] < steps[2]
    assert "average" in result.state and result.image[0, 0, 0] > float(seen[-1]) - 1e-6


# ------------------------------------------------------------------------------------------- resume runs
def _small_run(tmp_path):
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    write_png(content, make_content(64, 56))
    write_png(style, make_style(64, 64))
    return content, style


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_sigkill_then_resume_finishes_the_run(tmp_path):
    """A real SIGKILL of a CLI run, then --resume: the run goes on from the saved iteration."""
    content, style = _small_run(tmp_path)
    state, out = tmp_path / "run.npz", tmp_path / "out.png"
    history = tmp_path / "history.json"
    env = {**os.environ, "NST_SAVE_INTERVAL": "0", "NST_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "nst_lib.cli", "stylize", str(content), str(style), "-o", str(out),
               "--size", "48", "--steps", "40", "--optimizer", "adam", "--backbone", "vgg16", "--quiet"]
    process = subprocess.Popen(command + ["--save-state", str(state)], env=env)
    deadline = time.monotonic() + 240
    saved_at = None
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists():
            try:
                saved_at = RunState.load(state).iterations
            except InvalidSettingError:  # the file is replaced atomically, so this is only a race on first sight
                saved_at = None
            if saved_at and saved_at >= 5:
                break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists()
    killed = RunState.load(state)
    assert 5 <= killed.iterations < 40 and not killed.finished
    assert "m" in killed.optimizer and "v" in killed.optimizer  # Adam's moments were saved

    from nst_lib.cli import main  # the resumed run in this process: one TensorFlow start-up is enough

    assert main(command[3:] + ["--resume", str(state), "--save-state", str(state), "--history", str(history)]) == 0
    assert out.exists()
    import json

    iterations = [h["iteration"] for h in json.loads(history.read_text())["history"]]
    assert iterations[-1] == 40 and iterations == sorted(iterations)
    assert RunState.load(state).finished


def test_resume_refuses_other_images(tmp_path):
    import nst_lib

    content, style = _small_run(tmp_path)
    state = tmp_path / "run.npz"
    nst_lib.stylize(str(content), str(style), size=48, steps=2, optimizer="adam", backbone="vgg16",
                    save_state=state)
    assert RunState.load(state).finished
    with pytest.raises(InvalidSettingError, match="content image differs"):
        nst_lib.stylize(make_content(64, 56, seed=3), str(style), resume=state)
    again = nst_lib.stylize(str(content), str(style), resume=state)  # a finished run returns at once
    assert again.iterations == 2 and len(again.history) == 2 and again.image.shape[:2] == (48, 42)


def test_init_from_an_image_file(tmp_path):
    import nst_lib

    content, style = _small_run(tmp_path)
    start = tmp_path / "start.png"
    write_png(start, np.full((40, 30, 3), 0.3, np.float32))
    result = nst_lib.stylize(str(content), str(style), size=48, steps=1, optimizer="adam", learning_rate=1e-6,
                             backbone="vgg16", init=str(start))
    assert abs(float(result.image.mean()) - 0.3) < 0.01  # it started from the file, stretched to the content


# ------------------------------------------------------------------------------------------- 16-bit output
def test_bit_depth_rule():
    assert output_bit_depth("a.tif") == 16 and output_bit_depth("a.TIFF") == 16
    assert output_bit_depth("a.png") == 8 and output_bit_depth("a.png", 16) == 16
    assert output_bit_depth("a.tif", 8) == 8
    with pytest.raises(OutputError, match="16 bits per channel need a .png, .tif or .tiff"):
        output_bit_depth("a.jpg", 16)
    with pytest.raises(OutputError, match="8 or 16"):
        output_bit_depth("a.png", 12)


@pytest.mark.parametrize("name,bit_depth", [("out.png", 16), ("out.tif", None), ("out.tiff", 16)])
def test_sixteen_bit_files_read_back_with_sixteen_bits(tmp_path, name, bit_depth):
    image = np.random.default_rng(0).random((37, 53, 3)).astype(np.float32)
    path = save_image(image, tmp_path / name, bit_depth)
    if name.endswith(".png"):
        import png

        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        pixels = np.vstack([np.asarray(row, np.uint16) for row in rows]).reshape(height, width, 3)
        assert info["bitdepth"] == 16
    else:
        import tifffile

        pixels = tifffile.imread(path)
    assert pixels.dtype == np.uint16 and pixels.shape == (37, 53, 3)
    np.testing.assert_allclose(pixels / 65535.0, image, atol=0.6 / 65535)  # rounding only: 256× finer than 8 bits
    assert len(np.unique(pixels)) > 256  # more levels than 8 bits can hold


def test_eight_bit_png_stays_eight_bit(tmp_path):
    from PIL import Image

    path = save_image(np.full((4, 4, 3), 0.5, np.float32), tmp_path / "out.png")
    assert Image.open(path).mode == "RGB"
