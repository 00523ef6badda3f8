"""The demos' shared machinery and the slider-to-picture demos, driven headlessly.

:class:`BackgroundRun` is tested with fake jobs (no TensorFlow: each "iteration" is a short sleep), so the
threading is checked quickly and exactly; the demos that call ``stylize`` use real (offline) weights at
64 px and a few steps.
"""
from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from nst_lib.course.widgets import common

#: seconds: the most any background run in this file may take (a cap: the tests wait for what they assert;
#: a cold start under a load of 20+ on two cores takes over a minute)
WAIT = 300


@dataclass
class FakeEvent:
    """What ``stylize`` gives its callback (the fields the demos read)."""

    iteration: int
    losses: dict = field(default_factory=lambda: {"total": 1.0})
    elapsed: float = 0.0
    scale: int = 0
    scales: int = 1
    shape: tuple = (8, 8)
    image: Callable = lambda: np.zeros((8, 8, 3), np.float32)


@dataclass
class FakeResult:
    image: np.ndarray
    iterations: int
    stop_reason: str


def fake_job(steps: int, pause: float = 0.01, fail_at: int | None = None, started: threading.Event | None = None):
    """A job like ``stylize``: calls back after every iteration; the 'best image' is filled with the
    iteration at which it was made; returns early when the callback says so."""

    def job(callback):
        if started is not None:
            started.set()
        best = 0
        for iteration in range(1, steps + 1):
            time.sleep(pause)
            if fail_at == iteration:
                raise ValueError("the learning rate must be positive; got -1")
            best = iteration
            event = FakeEvent(iteration, image=lambda i=iteration: np.full((8, 8, 3), i / steps, np.float32))
            if callback(event):
                return FakeResult(np.full((8, 8, 3), best / steps, np.float32), iteration, "callback")
        return FakeResult(np.full((8, 8, 3), best / steps, np.float32), steps, "steps")

    return job


def recorder(status=None, **kwargs):
    log: list[tuple] = []
    runner = common.BackgroundRun(
        status,
        on_start=lambda run: log.append(("start", run.number)),
        on_progress=lambda run, event, image: log.append(("progress", run.number, event.iteration, image is not None)),
        on_result=lambda run, result: log.append(("result", run.number, result.stop_reason, run.stopped)),
        on_end=lambda run: log.append(("end", run.number)),
        **kwargs,
    )
    return runner, log


# ---------------------------------------------------------------------------------- BackgroundRun
def test_background_run_reports_progress_and_the_result():
    runner, log = recorder(preview_interval=0.0)
    run = runner.start(fake_job(4), preview_every=2)
    assert runner.wait(WAIT) and not runner.running
    assert log[0] == ("start", 1) and log[-2:] == [("result", 1, "steps", False), ("end", 1)]
    progress = [entry for entry in log if entry[0] == "progress"]
    assert [entry[2] for entry in progress] == [1, 2, 3, 4]
    assert [entry[3] for entry in progress] == [True, True, False, True]  # the first, then every 2nd
    assert run.previews == 3 and run.iterations == 4 and 0 <= run.first_preview_seconds < WAIT
    assert run.result.iterations == 4 and run.thread is not threading.current_thread()


def test_background_run_throttles_previews_by_time():
    runner, log = recorder(preview_interval=10.0)
    run = runner.start(fake_job(5, pause=0.001))
    assert runner.wait(WAIT)
    assert run.previews == 1  # only the first iteration: the next one would be due in 10 s
    assert [entry[3] for entry in log if entry[0] == "progress"] == [True, False, False, False, False]


def test_stop_returns_true_from_the_callback_and_keeps_the_best():
    status = common.widgets.HTML()
    runner, log = recorder(status)
    run = runner.start(fake_job(10_000, pause=0.002))
    deadline = time.monotonic() + WAIT
    while run.iterations < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert runner.running
    assert runner.stop()
    assert "best image so far will be kept" in status.value
    assert runner.wait(WAIT)
    assert run.stopped and run.result.stop_reason == "callback" and run.result.iterations < 10_000
    assert float(run.result.image.mean()) > 0  # the best image made before Stop, not the start
    assert ("result", 1, "callback", True) in log and log[-1] == ("end", 1)
    assert not runner.stop()  # nothing runs any more


def test_a_newer_start_cancels_the_older_run_and_only_the_newer_one_reports():
    runner, log = recorder()
    first_started = threading.Event()
    first = runner.start(fake_job(100_000, pause=0.002, started=first_started))
    assert first_started.wait(WAIT)
    second = runner.start(fake_job(3))
    assert runner.wait(WAIT)
    assert first.done.is_set() and first.cancelled.is_set() and not first.stopped
    assert first.result.stop_reason == "callback" and first.result.iterations < 100_000
    assert second.result.stop_reason == "steps" and runner.current is second
    numbers_after_second_start = [entry[1] for entry in log[log.index(("start", 2)):]]
    assert set(numbers_after_second_start) == {2}  # the cancelled run never touched the demo again
    assert not any(entry[0] == "result" and entry[1] == 1 for entry in log)


def test_starts_in_a_burst_run_only_the_last_one():
    runner, log = recorder()
    gate = threading.Event()

    def blocking(callback):
        gate.wait(WAIT)
        callback(FakeEvent(1))
        return FakeResult(np.zeros((8, 8, 3), np.float32), 1, "steps")

    first = runner.start(blocking)
    middle = runner.start(fake_job(3))  # waits for the first to let go …
    last = runner.start(fake_job(2))  # … and is replaced before it even begins
    gate.set()
    assert runner.wait(WAIT) and first.done.wait(WAIT) and middle.done.wait(WAIT)
    assert middle.started is None and middle.result is None  # never ran
    assert last.result.iterations == 2
    assert [entry for entry in log if entry[0] == "result"] == [("result", 3, "steps", False)]


def test_an_exception_becomes_one_line_in_the_status():
    status = common.widgets.HTML()
    runner, log = recorder(status)
    run = runner.start(fake_job(5, fail_at=2))
    assert runner.wait(WAIT)
    assert isinstance(run.error, ValueError) and run.result is None
    assert status.value.count("⚠") == 1 and "learning rate must be positive" in status.value
    assert "Traceback" not in status.value and log[-1] == ("end", 1)


def test_a_failing_handler_is_reported_and_the_run_still_ends():
    status = common.widgets.HTML()

    def broken(run, event, image):
        raise RuntimeError("cannot draw")

    runner = common.BackgroundRun(status, on_progress=broken)
    run = runner.start(fake_job(2))
    assert runner.wait(WAIT) and run.result.iterations == 2
    assert "RuntimeError: cannot draw" in status.value


def test_synchronous_mode_runs_in_the_callers_thread():
    seen = []
    runner = common.BackgroundRun(on_start=lambda run: seen.append(threading.current_thread()), background=False)
    run = runner.start(fake_job(2))
    assert run.done.is_set() and seen == [threading.current_thread()] and run.result.iterations == 2


# ------------------------------------------------------------------------------------- image slots
def _decodes(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


def test_image_slots_start_with_a_valid_placeholder():
    empty, boxed = common.image_slot(), common.image_slot(120, text="result")
    assert _decodes(empty.value) == (1, 1) and _decodes(boxed.value) == (120, 120)
    assert not common.has_picture(boxed)
    common.show_png(boxed, np.ones((10, 20, 3), np.float32))
    assert _decodes(boxed.value) == (20, 10) and common.has_picture(boxed)
    common.show_png(boxed, None)
    assert boxed.value == common.placeholder_png(120, 120, "result") and not common.has_picture(boxed)


# ---------------------------------------------------------------------- notebook 04: weights → image
def test_preview_settings_and_keys():
    from nst_lib.errors import InvalidSettingError
    from nst_lib.course.widgets.weights_preview import preview_settings, ratio_weights, settings_key

    assert ratio_weights(1e6) == pytest.approx((1e4, 1e-2))
    settings = preview_settings(ratio=1e4, style_layer_weights=[1, 0, 0, 0, 1], size=64, steps=3)
    assert settings["content_weight"] == pytest.approx(100.0) and settings["scales"] == 1
    assert settings["style_layer_weights"] == (1.0, 0.0, 0.0, 0.0, 1.0)
    again = preview_settings(ratio=1e4 * (1 + 1e-9), style_layer_weights=[1, 0, 0, 0, 1], size=64, steps=3)
    assert settings_key("a", "b", settings) == settings_key("a", "b", again)  # slider round-off
    assert settings_key("a", "b", settings) != settings_key("a", "c", settings)
    with pytest.raises(InvalidSettingError, match="must not be all zero"):
        preview_settings(ratio=1e4, style_layer_weights=[0] * 5, size=64, steps=3)


@pytest.fixture(scope="module")
def counted_traces():
    """How many times the objective was traced into a graph (the traced body, ``nst_lib.losses.objective_parts``,
    runs in Python only while tracing)."""
    from nst_lib import losses

    original = losses.objective_parts
    counter = {"traces": 0}

    def parts(*args, **kwargs):
        import tensorflow as tf

        if not tf.executing_eagerly():
            counter["traces"] += 1
        return original(*args, **kwargs)

    losses.objective_parts = parts
    yield counter
    losses.objective_parts = original


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_weights_preview_answers_a_slider_with_a_picture_and_caches_it(counted_traces):
    from nst_lib.course.widgets.weights_preview import weights_preview_demo

    demo = weights_preview_demo(background=False)  # the first preview runs at once
    assert demo.result is not None, demo.status.value
    height, width = demo.result.image.shape[:2]
    assert max(height, width) == 64 and common.png_size(demo.image_view.value) == (width, height)
    assert common.has_picture(demo.chart_view) and demo.progress.value == 3
    first_picture, first_key = demo.image_view.value, demo.key()
    traces = counted_traces["traces"]

    demo.ratio_slider.value = 1e3  # much more style: a different picture
    assert "⚠" not in demo.status.value, demo.status.value
    assert demo.image_view.value != first_picture and len(demo.cache) == 2
    assert demo.background_run.current.first_preview_seconds is not None
    assert counted_traces["traces"] == traces, "a ratio change must reuse the traced graph"

    runs = demo.background_run.runs_started
    started = time.perf_counter()
    demo.ratio_slider.value = 1e6  # back to the first setting: from the cache, no run
    assert time.perf_counter() - started < 0.2
    assert demo.background_run.runs_started == runs and demo.shown_from_cache
    assert demo.image_view.value == first_picture and demo.key() == first_key
    assert "from the cache" in demo.status.value

    for slider in demo.style_sliders.values():
        slider.value = 0.0
    assert demo.status.value.count("⚠") == 1 and "must not be all zero" in demo.status.value
    demo.style_sliders["block5_conv1"].value = 1.0  # a new setting runs again
    assert "⚠" not in demo.status.value and demo.result.config.style_layer_weights == (0, 0, 0, 0, 1.0)
    assert counted_traces["traces"] == traces, "layer weights are graph inputs: changing them must not retrace"


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_weights_preview_newer_change_cancels_the_older_run_and_stop_keeps_the_best():
    from nst_lib.course.widgets.weights_preview import WeightsPreviewDemo

    demo = WeightsPreviewDemo(steps=400, background=True)
    older = demo.background_run.current

    def wait_for(condition, what):
        deadline = time.monotonic() + WAIT
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert condition(), f"timed out waiting for {what}: {demo.status.value}"

    wait_for(lambda: older.previews >= 1, "the first picture")
    assert common.has_picture(demo.image_view) and demo.running
    demo.ratio_slider.value = 1e8
    newer = demo.background_run.current
    assert newer is not older and older.cancelled.is_set()
    wait_for(lambda: newer.iterations >= 2, "the newer run")
    assert older.done.is_set() and older.result.iterations < 400  # it let go at its next iteration
    demo.stop_button.click()
    assert demo.wait(WAIT)
    assert newer.stopped and demo.result is newer.result and demo.result.stop_reason == "callback"
    assert demo.result.iterations < 400 and "best image so far is kept" in demo.status.value
    height, width = demo.result.image.shape[:2]
    assert common.png_size(demo.image_view.value) == (width, height)
    assert demo.cache == {}  # neither the cancelled nor the stopped run is a finished preview
    assert demo.stop_button.disabled


# ------------------------------------------------------------------------------------------ uploads
def _png_file(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(name: str, content: bytes) -> tuple[dict, ...]:
    """What an ipywidgets 8 FileUpload holds after the user picked one file."""
    import datetime

    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def _one_error_line(status: str, *fragments: str) -> None:
    assert status.count("⚠") == 1 and "Traceback" not in status and "<br" not in status, status
    for fragment in fragments:
        assert fragment in status, status


def test_image_source_accepts_images_and_refuses_other_files():
    status = common.widgets.HTML()
    source = common.ImageSource("content", common.example_options(("content",)), "content:astronaut", status)
    changes = []
    source.observe(changes.append)
    with pytest.raises(ValueError, match="no content file uploaded yet"):
        source.picker.value = common.UPLOADED
        source.image(64)
    source.picker.value = "content:astronaut"
    source.upload.value = _upload("notes.txt", b"hello, not a picture")
    _one_error_line(status.value, "notes.txt", "not an image")
    assert source.picker.value == "content:astronaut" and source.content is None
    count = len(changes)
    source.upload.value = _upload("mine.png", _png_file(120, 60))
    assert source.uploaded and source.label == "mine.png" and len(changes) == count + 1
    assert source.image(64).shape == (32, 64, 3) and "Uploaded mine.png" in status.value
    first = source.value
    source.upload.value = _upload("other.png", _png_file(50, 100, seed=1))  # a new file, same choice
    assert len(changes) == count + 2 and source.value != first and source.image(64).shape == (64, 32, 3)


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_feature_maps_and_gram_demos_accept_uploads():
    from nst_lib.course.widgets import features, gram

    viewer = features.feature_maps_demo("astronaut", "block1_conv1")
    drawn = viewer.maps_view.value
    viewer.upload.value = _upload("broken.png", b"\x89PNG but truncated")
    _one_error_line(viewer.status.value, "broken.png")
    assert viewer.maps_view.value == drawn and viewer.image_picker.value == "content:astronaut"
    viewer.upload.value = _upload("wide.png", _png_file(120, 60))
    assert "⚠" not in viewer.status.value, viewer.status.value
    assert "wide.png" in viewer.info.value and "64 channels of 32×64" in viewer.info.value
    assert viewer.maps_view.value != drawn

    demo = gram.gram_demo("swirls", "swirls", "block1_conv1")
    assert demo.distance == pytest.approx(0.0, abs=1e-3)
    demo.upload_b.value = _upload("texture.png", _png_file(64, 64, seed=3))
    assert "⚠" not in demo.status.value, demo.status.value
    assert demo.image_b_picker.value == common.UPLOADED and demo.distance > 0
    distance = demo.distance
    demo.upload_a.value = _upload("empty.png", b"")
    _one_error_line(demo.status.value, "empty.png")
    assert demo.distance == distance


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_controls_demo_runs_uploaded_images_with_an_uploaded_mask():
    from nst_lib.course.widgets.controls import controls_demo, uploaded_mask

    mask_file = np.zeros((40, 80), np.uint8)
    mask_file[:, :40] = 255  # white left half
    buffer = io.BytesIO()
    Image.fromarray(mask_file).save(buffer, format="PNG")
    mask, note = uploaded_mask(buffer.getvalue(), 24, 48)
    assert mask.shape == (24, 48) and mask[:, :20].min() > 0.9 and mask[:, 28:].max() < 0.1 and note == ""
    assert "stretched" in uploaded_mask(buffer.getvalue(), 48, 48)[1]

    demo = controls_demo(background=False)
    demo.size_slider.value, demo.steps_slider.value = 64, 2
    demo.content_upload.value = _upload("photo.png", _png_file(80, 40))
    demo.style_upload.value = _upload("art.png", _png_file(64, 64, seed=2))
    demo.mask_upload.value = _upload("notes.txt", b"not a mask")
    _one_error_line(demo.status.value, "notes.txt")
    assert demo.mask_picker.value == "none"
    demo.mask_upload.value = _upload("mask.png", buffer.getvalue())
    assert demo.mask_picker.value == common.UPLOADED
    demo.run_button.click()
    assert demo.result is not None, demo.status.value
    assert demo.result.image.shape == (32, 64, 3) and demo.settings["mask"] == "uploaded mask.png"
    assert common.png_size(demo.figure_view.value)[0] > 3 * 64  # photo, style, mask and result
    assert "Note:" not in demo.status.value  # the VGG16-for-VGG19 notice is not repeated in every status

    black = io.BytesIO()
    Image.fromarray(np.zeros((40, 80), np.uint8)).save(black, format="PNG")
    demo.mask_upload.value = _upload("black.png", black.getvalue())
    demo.run_button.click()
    assert "Note:" in demo.status.value and "all black" in demo.status.value  # the run's notes are shown


# ------------------------------------------------------------------------- Stop in 05 and 07 (threads)
def _stop_after_two_iterations(demo, steps_slider) -> None:
    steps_slider.value = 400
    demo.run_button.click()
    run = demo.background_run.current
    deadline = time.monotonic() + WAIT
    while run.iterations < 2 and not run.done.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert demo.background_run.running and demo.run_button.disabled and not demo.stop_button.disabled
    demo.stop_button.click()
    assert demo.wait(WAIT)
    assert run.stopped and demo.result is run.result and demo.result.stop_reason == "callback"
    assert 2 <= demo.result.iterations < 400 and "best image so far is kept" in demo.status.value
    assert not demo.run_button.disabled and demo.stop_button.disabled


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_optimisers_demo_runs_in_the_background_and_stop_keeps_the_best():
    from nst_lib.course.widgets.optimization import optimization_demo

    demo = optimization_demo()
    demo.size_slider.value = 64
    _stop_after_two_iterations(demo, demo.steps_slider)
    height, width = demo.result.image.shape[:2]
    assert common.png_size(demo.image_view.value) == (width, height)
    assert len(next(iter(demo.histories.values()))) == demo.result.iterations


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_controls_demo_runs_in_the_background_and_stop_keeps_the_best():
    from nst_lib.course.widgets.controls import controls_demo

    demo = controls_demo()
    demo.size_slider.value = 64
    _stop_after_two_iterations(demo, demo.steps_slider)
    assert common.has_picture(demo.result_view) and common.has_picture(demo.figure_view)


# --------------------------------------------------------------------- no broken-image icons anywhere
def _images_in(widget) -> list:
    found = [widget] if isinstance(widget, common.widgets.Image) else []
    for child in getattr(widget, "children", ()):
        found += _images_in(child)
    return found


@pytest.mark.usefixtures("offline_weights", "quiet_substitution")
def test_no_image_widget_starts_without_a_picture_or_placeholder():
    """An ipywidgets.Image with empty (or undecodable) bytes draws a broken-image icon in the browser."""
    from nst_lib.course.widgets import controls, features, gram, images, losses, optimization, studio
    from nst_lib.course.widgets.weights_preview import weights_preview_demo

    demos = {
        "tour": images.tour_demo(), "images": images.images_demo(), "features": features.feature_maps_demo(),
        "gram": gram.gram_demo(), "losses": losses.loss_weights_demo(size=48),
        "weights_preview": weights_preview_demo(start=False), "optimisers": optimization.optimization_demo(),
        "studio": studio.studio_demo(), "controls": controls.controls_demo(),
    }
    for name, demo in demos.items():
        views = _images_in(demo)
        assert views, f"{name} has no image view"
        for view in views:
            assert view.value, f"{name}: an Image starts with empty bytes"
            _decodes(view.value)
