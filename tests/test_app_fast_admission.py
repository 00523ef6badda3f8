"""A run with a trained fast network goes through the web page's memory admission like an optimisation:
its estimate (the network's pass at the requested size, the model, the upload) is shown before Run, a run
the server's budget cannot hold is refused with a sentence, and one that fits waits while the runs in
progress leave too little of the budget (apps/fast_plan.py; the queue in apps/run_queue.py)."""
from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import pytest

import app_logic as logic
import fast_models
from fast_plan import FastRunRequest, fast_admission, fast_plan_view, fast_request, fast_run_bytes
from image_fixtures import encode, quadrant_image
from run_queue import RunQueue, RunRefusedError, State
from nst_lib import data
from nst_lib.errors import NSTError
from nst_lib.fast_settings import MODEL_FORMAT
from nst_lib.memory import BASE_BYTES, fast_inference_bytes

from test_app import APP, errors, finish_run, page  # noqa: F401 - the page fixture and its helpers

MiB, GiB = 2**20, 2**30


def model_record(path: Path, width: int) -> Path:
    """A ``.keras`` file with only the record the page reads before a run (no weights: it is never run)."""
    config = {"registered_name": "nst_lib>StyleTransferNetwork", "class_name": "StyleTransferNetwork",
              "config": {"width": width, "residual_blocks": 1, "metadata": {"format": MODEL_FORMAT}}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\0" * 100_000)
    return path


# ------------------------------------------------------------------------------------ the estimate
def test_a_fast_request_reads_the_networks_width_and_counts_the_upload(tmp_path):
    model = model_record(tmp_path / "wide.keras", width=32)
    upload = logic.read_upload("photo.png", encode(quadrant_image(300, 400), "PNG"), role="content image")
    request = fast_request(upload, model, 1024)
    assert request == FastRunRequest((300, 400), 1024, 32, model.stat().st_size, upload.header.decode_bytes(1024))
    assert request.output_shape == (768, 1024) and request.decode_bytes > 0
    assert fast_run_bytes(request) == (BASE_BYTES + 2 * model.stat().st_size + request.decode_bytes
                                       + fast_inference_bytes(768 * 1024, 32))
    example = logic.example_image("content", data.list_content_images()[0])
    assert fast_request(example, model, 256).decode_bytes == 0  # an example is already decoded
    (tmp_path / "page.keras").write_bytes(b"<html>")
    with pytest.raises(NSTError, match="is not a Keras model file"):
        fast_request(upload, tmp_path / "page.keras", 256)


def test_the_library_refuses_with_the_same_formula():
    assert fast_inference_bytes(1024 * 1024, 16) == 465 * 1024 * 1024  # the measured +465 MB at 1024² px
    assert fast_inference_bytes(1024 * 1024, 4) == fast_inference_bytes(1024 * 1024, 16) // 4


def test_the_admission_refuses_what_the_budget_cannot_hold_with_a_sentence():
    request = FastRunRequest((3000, 4000), 4096, 16)
    refused = fast_admission(request, GiB)
    assert not refused.fits and refused.cost_bytes == fast_run_bytes(request) > GiB
    assert refused.message == ("a 4096×3072 px run with the fast network needs about 6.1 GB of memory, and this "
                               "server allows 1.0 GB; choose a smaller size")
    assert logic.run_admission(request, GiB) == refused  # the page's queue hands fast requests to it
    assert logic.run_admission(request, 8 * GiB).fits
    small = FastRunRequest((300, 400), 256, 16)
    assert fast_admission(small, GiB).fits and fast_admission(small, GiB).cost_bytes == fast_run_bytes(small)
    view = fast_plan_view(request, GiB)
    assert not view.fits and view.text == "A" + refused.message[1:] + "."
    assert fast_plan_view(small, GiB).text.startswith("**Memory plan:** 256×192 px in one pass of the fast network")


def test_the_queue_refuses_a_fast_run_that_cannot_fit_and_queues_one_behind_a_run_holding_the_memory():
    queue = RunQueue(2, memory_budget=1200 * MiB, admission=logic.run_admission)
    with pytest.raises(RunRefusedError, match="with the fast network needs about .* choose a smaller size"):
        queue.submit("a", lambda ticket: None, FastRunRequest((3000, 4000), 4096, 16))
    release = threading.Event()
    holder = queue.submit("gatys", lambda ticket: release.wait(60), None)
    holder.cost_bytes = 800 * MiB  # an optimisation's estimate in progress (a real one: tests/test_app.py)
    fast = queue.submit("fast", lambda ticket: "done", FastRunRequest((300, 400), 256, 4))
    assert fast.cost_bytes == fast_run_bytes(FastRunRequest((300, 400), 256, 4)) > 400 * MiB
    assert fast.state is State.WAITING and fast.position == 1  # a free slot, but not enough memory
    release.set()
    assert fast.wait(60) and fast.state is State.DONE and fast.outcome == "done"
    queue.close()


# ------------------------------------------------------------------------------------------ the page
@pytest.mark.slow
def test_the_page_shows_a_fast_runs_memory_before_run_and_refuses_what_cannot_fit(page, tmp_path, monkeypatch):
    model_record(tmp_path / "wide.keras", width=16)
    monkeypatch.setenv(fast_models.ENV_MODELS, str(tmp_path))
    monkeypatch.setenv(logic.ENV_MAX_MEMORY, "1G")
    at = page.start()
    at.radio(key="method").set_value("fast").run()
    at.number_input(key="size").set_value(256).run()
    plan = [c.value for c in at.caption if c.value.startswith("**Memory plan:**")]
    assert plan and "in one pass of the fast network" in plan[0] and "of the 1.0 GB" in plan[0], plan
    assert not at.button(key="run").disabled and errors(at) == []
    at.number_input(key="size").set_value(4096).run()
    assert any("with the fast network needs about" in e and "this server allows 1.0 GB; choose a smaller size." in e
               for e in errors(at)), errors(at)
    assert at.button(key="run").disabled and "ticket" not in at.session_state  # nothing was queued


@pytest.mark.slow
def test_a_fast_run_waits_while_a_running_optimisation_holds_the_servers_memory(page, tiny_models_folder, monkeypatch):
    """Two runs at once are allowed, but the budget holds only one of them: the fast run waits its turn
    (before, it did not count and started beside the optimisation), then runs when the memory is free."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(fast_models.ENV_MODELS, str(tiny_models_folder))
    monkeypatch.setenv(logic.ENV_MAX_RUNS, "2")
    monkeypatch.setenv(logic.ENV_MAX_MEMORY, "1200M")  # an optimisation ~0.8 GB, this fast run ~0.7 GB
    first = page.start(size="48", steps="5000")
    first.button(key="run").click()
    first.run()
    assert "ticket" in first.session_state and first.session_state["ticket"].state is State.RUNNING
    second = AppTest.from_file(str(APP), default_timeout=180)
    second.run()
    second.radio(key="method").set_value("fast").run()
    second.number_input(key="size").set_value(256).run()
    second.button(key="run").click()
    second.run()
    ticket = second.session_state["ticket"]
    assert ticket.state is State.WAITING and ticket.cost_bytes > 600 * MiB, ticket
    waiting = [i.value for i in second.info]
    assert any("you are 1st in the queue" in text and "1 run in progress" in text for text in waiting), waiting
    first.session_state["ticket"].cancel()  # the optimisation stops; its memory goes back to the budget
    finish_run(first.run())
    finish_run(second.run())
    assert errors(second) == []
    result = second.session_state["result"]
    assert "fast network tiny_swirls" in result["summary"] and max(result["image"].shape[:2]) == 256
