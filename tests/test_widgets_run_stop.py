"""The Run/Stop wiring every background demo shares (BackgroundDemo.wire_run_stop), driven with a fake job:
no network, no TensorFlow."""
from __future__ import annotations

import threading
import types

import numpy as np

from nst_lib.course.widgets.common import BackgroundDemo, DemoJob, has_picture, image_slot, run_stop_buttons


def _event(iteration: int):
    return types.SimpleNamespace(iteration=iteration, image=lambda: np.full((8, 8, 3), 0.5, np.float32))


def _demo(prepare, **options):
    run_button, stop_button, progress = run_stop_buttons()
    view = image_slot(64)
    demo = BackgroundDemo("test", [[run_button, stop_button, progress], view])
    seen = {"started": [], "progress": [], "result": []}
    demo.wire_run_stop(run_button, stop_button, prepare, progress=progress, preview_view=view,
                       on_start=lambda run: seen["started"].append(run.number),
                       on_progress=lambda run, event, image: seen["progress"].append(event.iteration),
                       on_result=lambda run, result: seen["result"].append((result, run.stopped)), **options)
    return demo, run_button, stop_button, progress, view, seen


def test_run_counts_steps_shows_previews_and_gives_the_buttons_back():
    states = []

    def job(callback):
        for i in range(1, 6):
            states.append((run_button.disabled, stop_button.disabled, progress.max))
            callback(_event(i))
        return "result"

    demo, run_button, stop_button, progress, view, seen = _demo(lambda: DemoJob(job, steps=5), background=False)
    assert stop_button.disabled and not run_button.disabled
    run_button.click()
    assert states == [(True, False, 5)] * 5  # during the run: Run off, Stop on, the bar counts the steps
    assert progress.value == 5 and seen["progress"] == [1, 2, 3, 4, 5] and seen["result"] == [("result", False)]
    assert has_picture(view)  # the first preview is never delayed
    assert not run_button.disabled and stop_button.disabled  # afterwards: Run on, Stop off


def test_stop_ends_the_run_after_its_iteration_and_a_second_click_does_not_start_another():
    started, release = threading.Event(), threading.Event()
    calls = []

    def job(callback):
        calls.append(1)
        started.set()
        release.wait(30)
        stopped = callback(_event(1))  # the callback answers True once Stop was pressed
        return "best so far" if stopped else "all steps"

    demo, run_button, stop_button, progress, view, seen = _demo(lambda: DemoJob(job, steps=3))
    run_button.click()
    assert started.wait(30)
    run_button.click()  # a run is in progress: nothing new starts
    stop_button.click()
    assert "Stopping" in demo.status.value
    release.set()
    assert demo.wait(30)
    assert len(calls) == 1 and seen["result"] == [("best so far", True)]
    assert not run_button.disabled and stop_button.disabled


def test_an_error_in_prepare_is_one_line_and_starts_nothing():
    def prepare():
        raise ValueError("size must be a whole number")

    demo, run_button, stop_button, progress, view, seen = _demo(prepare, background=False)
    run_button.click()
    assert "⚠" in demo.status.value and "size must be a whole number" in demo.status.value
    assert demo.background_run.runs_started == 0 and not run_button.disabled and stop_button.disabled


def test_restart_replaces_the_run_in_progress():
    started, release = threading.Event(), threading.Event()

    def job(callback):
        started.set()
        release.wait(30)
        return callback(_event(1))

    demo, run_button, *_ , seen = _demo(lambda: DemoJob(job, steps=1), restart=True)
    run_button.click()
    assert started.wait(30)
    run_button.click()  # restart: the first run is cancelled, a second one starts after it lets go
    release.set()
    assert demo.wait(30)
    assert demo.background_run.runs_started == 2 and seen["started"] == [1, 2] and len(seen["result"]) == 1
