"""Fast style transfer: the network, its training loop, model files and the ``nst train`` / ``nst stylize
--model`` command line.

Everything trains a tiny network (width 4, one residual block) on 32 px crops for a few steps with the
offline VGG weights; one module fixture trains the model the other tests load, resume and stylize with.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nst_lib.cli import main
from nst_lib.fast_settings import ModelFileError, TrainSettings, check_model_file

from conftest import REPO, make_content, make_style, write_png

NST = Path(sys.executable).with_name("nst")
#: the smallest settings that still train: tiny network, 32 px crops, style targets at 32 px
#: (and a VGG cut after block2: a quick trace)
LAYERS = dict(content_layers=("block2_conv1",), style_layers=("block1_conv1", "block2_conv1"))
TINY = dict(size=32, style_size=32, batch_size=2, width=4, residual_blocks=1, seed=0, **LAYERS)
TINY_FLAGS = ["--size", "32", "--style-size", "32", "--batch-size", "1", "--width", "4", "--residual-blocks", "1",
              "--content-layers", "block2_conv1", "--style-layers", "block1_conv1,block2_conv1"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def style_file(tmp_path_factory) -> Path:
    return write_png(tmp_path_factory.mktemp("style") / "style.png", make_style())


@pytest.fixture(scope="module")
def trained(tmp_path_factory, style_file, offline_weights):
    """A tiny model trained 6 steps, checkpointed every 3 steps: ``(model, path, per-step losses)``."""
    from nst_lib.fast import train_fast

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    events = []
    model = train_fast(style_file, output=path, steps=6, checkpoint_every=3, callback=events.append, **TINY)
    return model, path, events


# ------------------------------------------------------------------------------------------ network
def test_instance_normalization_matches_keras_group_normalization():
    import keras

    from nst_lib.fast import InstanceNormalization

    x = np.random.default_rng(0).normal(2.0, 3.0, (2, 5, 7, 3)).astype(np.float32)
    ours = InstanceNormalization()(x).numpy()
    theirs = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)(x).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    # every channel of every image: mean 0, standard deviation 1 (gamma 1, beta 0 at the start)
    np.testing.assert_allclose(ours.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(ours.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_network_keeps_any_image_size_and_outputs_an_image():
    from nst_lib.fast import build_network

    network = build_network(width=4, residual_blocks=1, seed=0)
    for shape in [(1, 37, 53, 3), (2, 32, 32, 3), (1, 9, 14, 3)]:
        out = network(np.random.default_rng(0).random(shape, dtype=np.float32)).numpy()
        assert out.shape == shape
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_upsampling_resizes_then_convolves():
    """No transposed convolutions (they leave checkerboard artefacts): nearest-neighbour ×2, then a conv."""
    import keras

    from nst_lib.fast import build_network

    network = build_network(width=4, residual_blocks=1, seed=0)
    kinds = {type(layer).__name__ for layer in network._flatten_layers(include_self=False)}
    assert "Conv2DTranspose" not in kinds
    upsample = [block for block in network.decoder]
    assert all(isinstance(block.resize, keras.layers.UpSampling2D) for block in upsample)
    assert all(block.resize.interpolation == "nearest" for block in upsample)


# ------------------------------------------------------------------------------------------ training
def test_training_lowers_the_loss_on_a_fixed_photo(trained, style_file):
    """The same objective as stylize, on a photo the network never saw, before and after 6 steps."""
    from nst_lib.fast import FastModel, build_network, evaluate_stylization

    model, _, events = trained
    photo = make_content(32, 32)
    untrained = FastModel(build_network(TINY["width"], TINY["residual_blocks"], seed=TINY["seed"]))
    settings = model.settings
    before = evaluate_stylization(untrained.stylize(photo), photo, style_file, settings)
    after = evaluate_stylization(model.stylize(photo), photo, style_file, settings)
    assert after["total"] < 0.9 * before["total"], (before, after)
    assert [e.step for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.checkpoint is not None for e in events] == [False, False, True, False, False, True]
    assert model.stop_reason == "steps" and model.steps == 6 and len(model.history) == 6


def test_save_and_load_give_identical_outputs(trained, tmp_path):
    import keras

    from nst_lib.fast import FastModel, StyleTransferNetwork

    model, path, _ = trained
    photo = make_content(40, 56)
    loaded = FastModel.load(path)
    np.testing.assert_array_equal(loaded.stylize(photo), model.stylize(photo))
    assert loaded.steps == 6 and loaded.history == model.history
    assert loaded.settings == model.settings
    # a normal .keras file: Keras itself opens it (the layers are registered), optimizer state included
    plain = keras.models.load_model(path)
    assert isinstance(plain, StyleTransferNetwork)
    assert int(plain.optimizer.iterations.numpy()) == 6
    again = loaded.save(tmp_path / "copy.keras")
    np.testing.assert_array_equal(FastModel.load(again).stylize(photo), model.stylize(photo))
    metadata = check_model_file(path)["config"]["metadata"]
    assert metadata["settings"]["size"] == 32 and metadata["steps_done"] == 6
    assert set(metadata["held_out_photos"]) == {"grace_hopper", "chelsea"}


def test_an_image_too_large_for_the_memory_is_refused_before_it_starts(trained, monkeypatch):
    import nst_lib.memory
    from nst_lib.errors import MemoryBudgetError

    monkeypatch.setattr(nst_lib.memory, "default_budget", lambda: 10 * 2**20)  # 10 MB
    with pytest.raises(MemoryBudgetError, match=r"stylizing a 512×512 px image with this network needs about"):
        trained[0].stylize(make_content(512, 512))


def test_resume_continues_the_step_count_and_the_optimizer(trained, style_file, tmp_path):
    from nst_lib.fast import FastModel, train_fast

    _, path, _ = trained
    steps = []
    resumed = train_fast(style_file, resume=path, output=tmp_path / "more.keras", steps=8,
                         callback=lambda e: steps.append(e.step))
    assert steps == [7, 8]
    assert resumed.steps == 8 and len(resumed.history) == 8
    assert [row["step"] for row in resumed.history] == list(range(1, 9))
    assert int(resumed.network.optimizer.iterations.numpy()) == 8
    assert FastModel.load(tmp_path / "more.keras").steps == 8
    assert FastModel.load(path).steps == 6  # the resumed file is not touched when writing elsewhere


def test_resume_refuses_another_style_or_architecture(trained, tmp_path):
    from nst_lib.errors import InvalidSettingError
    from nst_lib.fast import train_fast

    _, path, _ = trained
    other = write_png(tmp_path / "other.png", make_style(seed=5, period=11))
    with pytest.raises(InvalidSettingError, match="style image differs"):
        train_fast(other, resume=path, steps=8)
    with pytest.raises(InvalidSettingError, match="width=8 differs"):
        train_fast(other, resume=path, steps=8, width=8)


def test_keyboard_interrupt_leaves_a_loadable_checkpoint(style_file, tmp_path):
    from nst_lib.fast import FastModel, train_fast

    path = tmp_path / "stopped.keras"

    def interrupt_at_step_2(event):
        if event.step == 2:
            raise KeyboardInterrupt

    model = train_fast(style_file, output=path, steps=50, checkpoint_every=40, callback=interrupt_at_step_2, **TINY)
    assert model.stop_reason == "interrupted" and model.steps == 2
    assert FastModel.load(path).steps == 2
    assert [p.name for p in tmp_path.iterdir()] == ["stopped.keras"]  # no temporary file left


def test_a_nonfinite_loss_stops_and_keeps_the_weights(style_file):
    from nst_lib.fast import build_network, train_fast

    model = train_fast(style_file, steps=3, style_weight=1e35, **TINY)  # the style term overflows float32
    assert model.stop_reason == "nonfinite" and model.steps == 0
    initial = build_network(TINY["width"], TINY["residual_blocks"], seed=TINY["seed"])
    for ours, theirs in zip(model.network.get_weights(), initial.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_time_budget_stops_training(style_file):
    from nst_lib.fast import train_fast

    model = train_fast(style_file, steps=None, time_budget=0.001, **TINY)  # the set-up alone takes longer
    assert model.stop_reason == "time_budget" and model.steps == 0


def test_training_on_an_image_folder(style_file, tmp_path):
    from nst_lib.fast import train_fast

    for i in range(2):
        write_png(tmp_path / f"photo{i}.png", make_content(48, 64, seed=i))
    model = train_fast(style_file, images=tmp_path, steps=1, **TINY)
    assert model.steps == 1
    assert model.metadata["training_photos"] == str(tmp_path.resolve())
    assert model.metadata["held_out_photos"] == []


def test_every_registered_style_statistic_trains(style_file):
    """Any --style-loss of nst stylize trains a network too (the statistics registry of nst_lib.losses)."""
    from nst_lib.config import STYLE_LOSSES
    from nst_lib.fast import train_fast
    from nst_lib.fast_settings import default_style_weight

    for name in STYLE_LOSSES:
        if name == "gram":
            continue  # every other test trains with Gram
        model = train_fast(style_file, steps=1, style_loss=name, **{**TINY, "batch_size": 1})
        assert model.steps == 1 and model.stop_reason == "steps", name
        assert model.settings.style_loss == name and model.settings.style_weight == default_style_weight(name)
        assert np.isfinite(model.history[-1]["style"]) and model.history[-1]["style"] > 0, name


def test_the_held_out_photos_are_never_sampled():
    from nst_lib.fast_data import HELD_OUT_PHOTOS, PhotoSampler

    sampler = PhotoSampler(32, seed=0)
    assert not set(sampler.names) & {*HELD_OUT_PHOTOS, "skimage:cat", "skimage:chelsea", "skimage:astronaut"}
    batch = sampler.batch(3)
    assert batch.shape == (3, 32, 32, 3) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0


# ------------------------------------------------------------------------------------------ model files
def test_files_that_are_not_our_models_are_refused(tmp_path):
    import keras

    from nst_lib.fast import FastModel

    other = tmp_path / "dense.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(other)
    text = tmp_path / "text.keras"
    text.write_text("not a zip\n")
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{not json")
    cases = {other: "another kind (Sequential)", text: "not a Keras model file", broken: "not a Keras model file",
             tmp_path / "missing.keras": "does not exist"}
    for path, message in cases.items():
        with pytest.raises(ModelFileError, match=re.escape(message)):
            FastModel.load(path)


def test_settings_are_validated():
    from nst_lib.errors import InvalidSettingError

    for bad in [dict(batch_size=0), dict(size=16), dict(learning_rate=0), dict(width=2), dict(steps=None),
                dict(content_weight=-1), dict(style_layers=()), dict(checkpoint_every=0)]:
        with pytest.raises(InvalidSettingError):
            TrainSettings(**bad)
    settings = TrainSettings(steps=None, time_budget=60)
    assert TrainSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


# ------------------------------------------------------------------------------------------ command line
def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def inputs(tmp_path, style_file):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.jpg").write_text("a text file with a .jpg name\n")
    (folder / "empty").mkdir()
    (folder / "junk").mkdir()
    (folder / "junk" / "a.png").write_bytes(b"\x89PNG not really")
    (folder / "not_a_model.keras").write_text("hello\n")
    write_png(folder / "content.png", make_content())
    return {"style": str(style_file), "in": folder, "out": tmp_path / "out"}


BAD_TRAIN = {
    "missing style": (["{in}/nope.png"], "does not exist"),
    "style not an image": (["{in}/notes.jpg"], "notes.jpg"),
    "style is a folder": (["{in}/empty"], "empty"),
    "unknown example": (["example:nothing"], "unknown example"),
    "output not .keras": (["{style}", "-o", "{out}/model.h5"], "must end in .keras"),
    "output folder missing": (["{style}", "-o", "{in}/no/such/model.keras"], "does not exist"),
    "output is a folder": (["{style}", "-o", "{in}/empty"], "is a directory"),
    "images folder missing": (["{style}", "--images", "{in}/nowhere"], "does not exist"),
    "images folder empty": (["{style}", "--images", "{in}/empty"], "holds no images"),
    "images folder with junk": (["{style}", "--images", "{in}/junk"], "not a readable image"),
    "images is a file": (["{style}", "--images", "{in}/notes.jpg"], "is not a folder"),
    "resume missing": (["{style}", "--resume", "{in}/gone.keras"], "does not exist"),
    "resume not a model": (["{style}", "--resume", "{in}/not_a_model.keras"], "not a Keras model file"),
    "bad layer": (["{style}", "--style-layers", "conv9_1"], "unknown vgg19 layer"),
    "bad size": (["{style}", "--size", "8"], "size must be between 32 and 1024"),
    "bad steps": (["{style}", "--steps", "many"], "expected a whole number"),
    "zero steps": (["{style}", "--steps", "0"], "steps must be >= 1"),
    "bad batch": (["{style}", "--batch-size", "0"], "batch_size must be between 1 and 64"),
    "negative weight": (["{style}", "--style-weight", "-1"], "style_weight must be >= 0"),
    "bad budget": (["{style}", "--time-budget", "-5"], "time_budget must be > 0"),
    "no output": (["{style}"], "arguments are required: -o/--output"),
}


@pytest.mark.parametrize("case", list(BAD_TRAIN), ids=list(BAD_TRAIN))
def test_train_refuses_bad_input_with_one_error_line(case, inputs, capsys):
    args, message = BAD_TRAIN[case]
    args = [a.format(**inputs) for a in args]
    if "-o" not in args:
        args += ["-o", str(inputs["out"] / "model.keras")] if case != "no output" else []
    inputs["out"].mkdir()
    assert main(["train", *args]) == 2
    assert message in _one_error_line(capsys)
    assert list(inputs["out"].iterdir()) == []  # nothing written


BAD_STYLIZE = {
    "missing model": (["--model", "{in}/gone.keras"], "does not exist"),
    "not a model": (["--model", "{in}/not_a_model.keras"], "not a Keras model file"),
    "model and style": (["{style}", "--model", "{model}"], "give no STYLE image"),
    "model and steps": (["--model", "{model}", "--steps", "5"], "--steps cannot be used with --model"),
    "model and mask": (["--model", "{model}", "--mask", "{style}"], "--mask cannot be used with --model"),
    "bad size": (["--model", "{model}", "--size", "5000"], "size must be between"),
    "bad output": (["--model", "{model}", "-o", "{out}/result.xyz"], "cannot write '.xyz' files"),
}


@pytest.mark.parametrize("case", list(BAD_STYLIZE), ids=list(BAD_STYLIZE))
def test_stylize_with_a_model_refuses_bad_input(case, inputs, trained, capsys):
    args, message = BAD_STYLIZE[case]
    values = {**inputs, "model": str(trained[1])}
    args = [a.format(**values) for a in args]
    if "-o" not in args:
        args += ["-o", str(inputs["out"] / "result.png")]
    inputs["out"].mkdir()
    assert main(["stylize", str(inputs["in"] / "content.png"), *args]) == 2
    assert message in _one_error_line(capsys)
    assert list(inputs["out"].iterdir()) == []


def test_stylize_with_a_model_writes_the_image(inputs, trained, capsys):
    out = inputs["out"]
    out.mkdir()
    code = main(["stylize", str(inputs["in"] / "content.png"), "--model", str(trained[1]), "-o", str(out / "r.png"),
                 "--size", "48"])
    assert code == 0
    assert re.search(r"wrote .*r\.png: 48×48 px in [\d.]+ s", capsys.readouterr().out)
    from nst_lib.images import load_image

    assert load_image(out / "r.png").shape == (48, 48, 3)


def test_train_then_resume_from_the_command_line(inputs, capsys):
    out = inputs["out"]
    out.mkdir()
    model = str(out / "m.keras")
    assert main(["train", inputs["style"], "-o", model, *TINY_FLAGS, "--steps", "2", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["train", inputs["style"], "-o", model, "--resume", model, "--steps", "3"]) == 0
    assert re.search(r"wrote .*m\.keras: 3 steps \(1 in this run\)", capsys.readouterr().out)
    assert check_model_file(model)["config"]["metadata"]["settings"]["width"] == 4  # kept from the first run
    assert sorted(p.name for p in out.iterdir()) == ["m.keras"]


def _env():
    env = dict(os.environ, NST_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_ctrl_c_during_training_exits_130_with_the_checkpoint(tmp_path, style_file):
    model = tmp_path / "model.keras"
    command = [str(NST)] if NST.exists() else [sys.executable, "-m", "nst_lib.cli"]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        process = subprocess.Popen(command + ["train", str(style_file), "-o", str(model), *TINY_FLAGS,
                                              "--steps", "100000", "--checkpoint-every", "2"],
                                   stdout=subprocess.PIPE, stderr=err, env=_env(), text=True)
        try:
            deadline = time.monotonic() + 120
            while not model.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert model.exists(), f"no checkpoint within 120 s: {err_path.read_text()}"
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    stderr = err_path.read_text()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    match = re.search(r"wrote .*model\.keras: (\d+) steps .*\(interrupted\)", stderr)
    assert match, stderr
    from nst_lib.fast import FastModel

    assert FastModel.load(model).steps == int(match.group(1)) >= 2
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".keras"] == ["model.keras"]


# ------------------------------------------------------------------------------------------ notebook 10 widgets
def test_blend_mixes_the_photo_and_the_output():
    from nst_lib.course.widgets.fast import blend

    photo, stylized = np.zeros((4, 5, 3), np.float32), np.ones((4, 5, 3), np.float32)
    np.testing.assert_allclose(blend(stylized, photo, 0.0), photo)
    np.testing.assert_allclose(blend(stylized, photo, 1.0), stylized)
    np.testing.assert_allclose(blend(stylized, photo, 0.25), 0.25)
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend(stylized, photo, 1.5)


def test_fast_demo_answers_the_slider_with_a_picture(trained, monkeypatch):
    monkeypatch.setenv("NST_FAST", "1")
    from nst_lib.course.widgets.common import png_size
    from nst_lib.course.widgets.fast import fast_demo
    from nst_lib.images import load_image

    demo = fast_demo(trained[1], photo="chelsea")
    assert "stylized in" in demo.status.value and "⚠" not in demo.status.value
    full = load_image(bytes(demo.view.value))
    assert max(png_size(demo.view.value)) == demo.size_picker.value
    demo.blend_slider.value = 0.0  # the photo itself
    photo = load_image(bytes(demo.view.value))
    assert not np.allclose(full, photo, atol=0.02)
    demo.photo_picker.value = "upload"  # nothing uploaded yet: one friendly line
    assert "upload a photo first" in demo.status.value


def test_training_run_records_snapshots_and_stops_on_request(style_file):
    from nst_lib.course.widgets.fast import TrainingRun

    photo = make_content(32, 32)
    run = TrainingRun(style_file, photos=[photo], snapshot_steps=[1], background=False,
                      options=dict(steps=3, **TINY))
    run.start()
    model = run.result()
    assert model.steps == 3 and [s for s, _ in run.snapshots] == [1, 3]
    assert run.gallery.value and run.curve.value and "3 steps" in run.label.value
    stopped = TrainingRun(style_file, background=False, options=dict(steps=50, **TINY))
    stopped.stop()  # Stop pressed before the first step ends: training ends after it, the network kept
    assert stopped.start().result().steps == 1 and stopped.model.stop_reason == "callback"
