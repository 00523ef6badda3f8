"""Notebook 08's demo: the learner's functions run in a loop with a best image, progress and Stop.

Driven headlessly with the reference solutions at 48 px and a few steps (real offline weights).
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ipywidgets")

from nst_lib import data  # noqa: E402
from nst_lib.course import solutions  # noqa: E402
from nst_lib.course.widgets.capstone import capstone_demo, loss_curve_png, run_your_transfer  # noqa: E402
from nst_lib.course.widgets.common import has_picture, png_size  # noqa: E402

SIZE = 48


@pytest.fixture(scope="module")
def pair():
    return data.example_pair("grace_hopper", "swirls", size=SIZE)


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_run_your_transfer_keeps_the_image_of_the_lowest_loss_and_stops_on_request(pair):
    content, style = pair
    events = []
    result = run_your_transfer(solutions.make_objective, solutions.make_train_step, content, style, 3,
                               callback=lambda event: events.append(event) and False)
    assert [e.iteration for e in events] == [1, 2, 3] and result.stop_reason == "steps"
    assert len(result.losses) == 3 and result.best_loss == min(result.losses)
    assert result.losses[-1] < result.losses[0]  # Adam lowers the tutorial's objective from the content start
    assert result.image.shape == content.shape and not np.allclose(result.image, content)
    assert events[0].image().shape == content.shape

    stopped = run_your_transfer(solutions.make_objective, solutions.make_train_step, content, style, 50,
                                callback=lambda event: event.iteration >= 2)
    assert stopped.stop_reason == "callback" and stopped.iterations == 2
    # the loss of step k belongs to the image before step k: after two steps the best is the image after step 1
    assert stopped.best_loss == min(stopped.losses) == stopped.losses[1]


def test_loss_curve_png_ignores_non_finite_values():
    width, height = png_size(loss_curve_png([3.0, 2.0, float("nan"), 1.0]))
    assert width > 100 and height > 100


def test_demo_runs_the_learners_functions_and_shows_the_best_image():
    calls = []

    def make_objective(content, style):
        calls.append(content.shape)
        return solutions.make_objective(content, style)

    demo = capstone_demo(make_objective, solutions.make_train_step, background=False)
    assert not has_picture(demo.preview)  # a placeholder until there is a result, never a broken image
    demo.size_slider.value, demo.steps_slider.value = 64, 2
    demo.run_button.click()
    assert calls and max(calls[0][:2]) == 64
    assert demo.result is not None and demo.result.iterations == 2
    assert has_picture(demo.preview) and has_picture(demo.curve)
    assert "Finished" in demo.status.value and not demo.run_button.disabled and demo.stop_button.disabled


def test_stop_keeps_the_best_image_and_the_kernel_is_free_meanwhile():
    demo = capstone_demo(solutions.make_objective, solutions.make_train_step, background=True)
    demo.size_slider.value, demo.steps_slider.value = 64, 500
    run = demo.start()
    assert run is not None and demo.running  # start() returned at once: the run is in a thread
    for _ in range(600):  # wait for the first steps (at most 60 s)
        if run.iterations >= 2:
            break
        run.done.wait(0.1)
    demo.stop_button.click()
    assert demo.wait(60)
    assert demo.result.stop_reason == "callback" and 2 <= demo.result.iterations < 500
    assert demo.result.best_loss == min(demo.result.losses)
    assert has_picture(demo.preview) and "best image so far is kept" in demo.status.value


def test_an_error_in_the_learners_code_is_one_line_in_the_status():
    def broken(content, style):
        raise ValueError("my objective is not finished")

    demo = capstone_demo(broken, solutions.make_train_step, background=False)
    demo.size_slider.value, demo.steps_slider.value = 64, 2
    demo.run_button.click()
    assert "my objective is not finished" in demo.status.value and "Traceback" not in demo.status.value
    assert not demo.run_button.disabled and demo.result is None
