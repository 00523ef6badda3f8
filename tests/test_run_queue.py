"""Tests of apps/run_queue.py (the web page's server-wide queue) and apps/run_worker.py (its workers).

The queue's jobs are plain Python functions that block on an event the test controls, so order,
positions, limits, cancelling and abandoned owners are checked deterministically and in milliseconds.
The worker test ends a real worker process twice before it has even loaded TensorFlow (a run that does
not stop in time; a worker killed as by the out-of-memory killer). Page-level and load tests are
test_app.py and test_app_load.py.
"""
from __future__ import annotations

import threading
import time

import pytest

from run_queue import Admission, RunQueue, RunRefusedError, State, heartbeat_liveness

TIMEOUT = 5.0


class Jobs:
    """Jobs that record when they start and wait until the test releases them (or they are stopped)."""

    def __init__(self):
        self.started: list[str] = []
        self.release: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, name: str, result=None, error: BaseException | None = None):
        self.release[name] = threading.Event()

        def job(ticket):
            with self.lock:
                self.started.append(name)
            while not self.release[name].wait(0.01):
                if ticket.stop_requested:
                    return f"{name} stopped"
            if error is not None:
                raise error
            return result if result is not None else f"{name} done"

        return job

    def finish(self, name: str, ticket) -> None:
        self.release[name].set()
        assert ticket.wait(TIMEOUT)


def wait_until(condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


@pytest.fixture
def queue():
    made: list[RunQueue] = []

    def make(**options) -> RunQueue:
        made.append(RunQueue(**options))
        return made[-1]

    yield make
    for q in made:
        q.close()


def test_one_run_at_a_time_in_submission_order_with_positions(queue):
    events = []
    q, jobs = queue(on_event=lambda ticket, event: events.append((ticket.owner, event))), Jobs()
    tickets = {name: q.submit(name, jobs(name)) for name in "abcd"}
    wait_until(lambda: jobs.started == ["a"])
    assert [tickets[n].position for n in "abcd"] == [0, 1, 2, 3]
    assert tickets["a"].state is State.RUNNING and tickets["b"].state is State.WAITING
    assert q.status().running == 1 and q.status().waiting == 3
    for index, name in enumerate("abcd"):
        jobs.finish(name, tickets[name])
        assert tickets[name].state is State.DONE and tickets[name].outcome == f"{name} done"
        remaining = "abcd"[index + 1:]
        if remaining:
            wait_until(lambda: tickets[remaining[0]].state is State.RUNNING)
            assert [tickets[n].position for n in remaining] == list(range(0, len(remaining)))
    assert jobs.started == list("abcd")
    starts = [tickets[n].started_at for n in "abcd"]
    assert starts == sorted(starts) and all(tickets[n].queue_wait >= 0 for n in "abcd")
    assert q.status().running == q.status().waiting == 0
    assert events[:5] == [("a", "queued"), ("a", "started"), ("b", "queued"), ("c", "queued"), ("d", "queued")]
    assert events[5:] == [("a", "done"), ("b", "started"), ("b", "done"), ("c", "started"), ("c", "done"),
                          ("d", "started"), ("d", "done")]


def test_the_limit_allows_several_runs_at_once(queue):
    q, jobs = queue(max_running=2), Jobs()
    tickets = [q.submit(str(i), jobs(str(i))) for i in range(3)]
    wait_until(lambda: len(jobs.started) == 2)
    assert sorted(jobs.started) == ["0", "1"] and tickets[2].position == 1
    jobs.finish("1", tickets[1])
    wait_until(lambda: jobs.started[-1] == "2")
    assert tickets[0].state is State.RUNNING
    for i in (0, 2):
        jobs.finish(str(i), tickets[i])


def test_cancel_leaves_the_queue_and_the_others_move_up(queue):
    events = []
    q, jobs = queue(on_event=lambda ticket, event: events.append((ticket.owner, event))), Jobs()
    a, b, c = (q.submit(n, jobs(n)) for n in "abc")
    wait_until(lambda: jobs.started == ["a"])
    b.cancel()
    assert b.state is State.CANCELLED and b.end_reason == "cancelled" and b.position == 0 and b.wait(0)
    assert events == [("a", "queued"), ("a", "started"), ("b", "queued"), ("c", "queued"), ("b", "cancelled")]
    assert c.position == 1
    jobs.finish("a", a)
    jobs.finish("c", c)
    assert jobs.started == ["a", "c"]  # b never ran


def test_cancel_while_running_stops_the_job_and_keeps_its_outcome(queue):
    events = []
    q, jobs = queue(on_event=lambda ticket, event: events.append((ticket.owner, event))), Jobs()
    a, b = q.submit("a", jobs("a")), q.submit("b", jobs("b"))
    wait_until(lambda: jobs.started == ["a"])
    a.cancel()
    assert a.wait(TIMEOUT)
    assert a.state is State.DONE and a.outcome == "a stopped" and a.end_reason == "cancelled"
    assert events[-2:] == [("a", "stopped"), ("b", "started")]
    wait_until(lambda: jobs.started == ["a", "b"])  # the place is released
    jobs.finish("b", b)
    a.cancel()  # no effect once finished
    assert a.state is State.DONE


def test_a_failing_job_is_reported_and_frees_its_place(queue):
    q, jobs = queue(), Jobs()
    a = q.submit("a", jobs("a", error=ValueError("bad settings")))
    b = q.submit("b", jobs("b"))
    jobs.finish("a", a)
    assert a.state is State.FAILED and isinstance(a.error, ValueError) and a.outcome is None
    wait_until(lambda: b.state is State.RUNNING)
    jobs.finish("b", b)


def test_an_owner_gone_for_the_grace_period_loses_its_place_and_its_run(queue):
    clock = [100.0]
    alive = {"a": True, "b": True, "c": True}
    q = queue(is_alive=lambda t: alive[t.owner], grace=5.0, clock=lambda: clock[0], poll=3600)
    jobs = Jobs()
    a, b, c = (q.submit(n, jobs(n)) for n in "abc")
    wait_until(lambda: jobs.started == ["a"])
    alive["a"] = alive["b"] = False  # two tabs closed: the running one and the first waiting one
    assert q.check_owners() == []  # missing, but within the grace period (a reload reconnects)
    clock[0] += 4.0
    alive["b"] = True  # b came back in time
    assert q.check_owners() == []
    clock[0] += 1.5
    assert q.check_owners() == [a]
    assert a.wait(TIMEOUT)
    assert a.state is State.CANCELLED and a.end_reason == "abandoned" and a.outcome is None
    wait_until(lambda: jobs.started == ["a", "b"])
    assert c.position == 1
    alive["c"] = False
    q.check_owners()
    clock[0] += 5.0
    assert q.check_owners() == [c] and c.state is State.CANCELLED and c.end_reason == "abandoned"
    jobs.finish("b", b)
    assert jobs.started == ["a", "b"]


def test_the_monitor_thread_abandons_tickets_of_closed_sessions_by_itself(queue):
    connected = {"a": True}
    q = queue(is_alive=lambda t: connected[t.owner], grace=0.05, poll=0.01)
    jobs = Jobs()
    a = q.submit("a", jobs("a"))
    wait_until(lambda: jobs.started == ["a"])
    connected["a"] = False
    assert a.wait(TIMEOUT) and a.state is State.CANCELLED and a.end_reason == "abandoned"
    wait_until(lambda: q._monitor is None)  # an empty queue needs no watcher …
    connected["b"] = False
    b = q.submit("b", jobs("b"))  # … and a new ticket gets one again
    assert b.wait(TIMEOUT) and b.end_reason == "abandoned"


def test_heartbeat_liveness():
    clock = [0.0]
    q = RunQueue(is_alive=heartbeat_liveness(30.0), clock=lambda: clock[0])
    jobs = Jobs()
    ticket = q.submit("x", jobs("x"))
    check = heartbeat_liveness(30.0)
    clock[0] = 29.0
    assert check(ticket)
    ticket.touch()
    clock[0] = 58.0
    assert check(ticket)
    clock[0] = 60.0
    assert not check(ticket)
    q.close()


def test_admission_refuses_a_run_that_cannot_fit_before_queueing_it(queue):
    def admission(request, budget):
        cost = request["bytes"]
        if cost > budget:
            return Admission(False, cost, f"needs {cost} bytes, the server allows {budget}")
        return Admission(True, cost)

    q, jobs = queue(max_running=2, memory_budget=100, admission=admission), Jobs()
    with pytest.raises(RunRefusedError, match="needs 150 bytes, the server allows 100"):
        q.submit("big", jobs("big"), {"bytes": 150})
    assert q.status().waiting == 0 and q.status().running == 0
    a = q.submit("a", jobs("a"), {"bytes": 60})
    b = q.submit("b", jobs("b"), {"bytes": 60})  # fits alone, but not next to a
    c = q.submit("c", jobs("c"), {"bytes": 10})  # would fit next to a, but must not overtake b
    wait_until(lambda: jobs.started == ["a"])
    time.sleep(0.05)
    assert (b.position, c.position) == (1, 2) and q.status().memory_in_use == 60
    jobs.finish("a", a)
    wait_until(lambda: sorted(jobs.started) == ["a", "b", "c"])  # b (60) and c (10) fit together
    assert q.status().memory_in_use == 70
    jobs.finish("b", b)
    jobs.finish("c", c)


def test_a_full_queue_refuses_with_a_sentence(queue):
    q, jobs = queue(max_waiting=1), Jobs()
    a, b = q.submit("a", jobs("a")), q.submit("b", jobs("b"))
    wait_until(lambda: jobs.started == ["a"])
    with pytest.raises(RunRefusedError, match=r"queue is full \(1 runs waiting, 1 in progress\)"):
        q.submit("c", jobs("c"))
    for name, ticket in (("a", a), ("b", b)):
        jobs.finish(name, ticket)


def test_close_cancels_everything_and_refuses_new_work():
    q, jobs = RunQueue(), Jobs()
    a, b = q.submit("a", jobs("a")), q.submit("b", jobs("b"))
    wait_until(lambda: jobs.started == ["a"])
    q.close()
    assert a.state is State.DONE and a.outcome == "a stopped" and b.state is State.CANCELLED
    with pytest.raises(RunRefusedError, match="shutting down"):
        q.submit("c", jobs("c"))
    with pytest.raises(ValueError, match="at least 1"):
        RunQueue(max_running=0)


# ================================================================== worker processes (apps/run_worker.py)
class FakeTicket:
    """What WorkerPool.run needs of a run_queue.Ticket."""

    def __init__(self):
        self.stop_requested = False
        self.progress = self.preview = None


def _tiny_job():
    import app_logic as logic
    from nst_lib.config import StyleConfig

    return {"content": logic.example_image("content", "chelsea"), "styles": [logic.example_image("style", "swirls")],
            "mask": None, "mask_name": None, "config": StyleConfig(size=48, steps=2000)}


def test_a_worker_that_does_not_stop_in_time_is_ended_and_a_killed_one_is_reported():
    import os
    import signal

    from run_worker import RunEndedError, WorkerPool

    pool = WorkerPool(1, stop_timeout=0.5)
    try:
        # cancelled while the fresh worker still imports TensorFlow: it cannot stop itself, so it is ended
        ticket, outcome = FakeTicket(), []
        runner = threading.Thread(target=lambda: outcome.append(pool.run(ticket, _tiny_job())))
        runner.start()
        wait_until(lambda: pool.pids())
        ticket.stop_requested = True
        runner.join(TIMEOUT)
        assert not runner.is_alive() and outcome == [None] and pool.pids() == []

        # killed during a run (as the kernel's out-of-memory killer does): one sentence, and a fresh worker next
        ticket, errors = FakeTicket(), []

        def run() -> None:
            try:
                pool.run(ticket, _tiny_job())
            except RunEndedError as exc:
                errors.append(str(exc))

        runner = threading.Thread(target=run)
        runner.start()
        wait_until(lambda: pool.pids())
        os.kill(pool.pids()[0], signal.SIGKILL)
        runner.join(TIMEOUT)
        assert not runner.is_alive() and len(errors) == 1
        assert "ended with code -9 (it was probably out of memory)" in errors[0] and "smaller size" in errors[0]
        assert pool.pids() == []
    finally:
        pool.close()
