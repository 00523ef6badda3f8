"""A server-wide queue for the web page's optimisations (no Streamlit import; tested in tests/test_run_queue.py).

Every browser tab of ``apps/streamlit_app.py`` is a session of one server process, and a style transfer
takes the machine's cores and up to gigabytes of memory for minutes. :class:`RunQueue` makes a shared
server fair:

* at most ``max_running`` optimisations run at once (default one); the others wait in a first-come,
  first-served queue, and every waiting ticket knows its :attr:`Ticket.position`;
* an **admission check** (pluggable; the page plugs in :func:`nst_lib.memory.plan_run`) refuses, before it
  queues, a run that cannot fit the server's memory budget, and the budget is shared: the head of the
  queue waits until the runs in progress leave room for its estimated peak (no overtaking, so nobody
  starves);
* :meth:`Ticket.cancel` leaves the queue (a waiting ticket) or asks a running job to stop (it keeps its
  best image so far);
* a ticket whose owner is gone (the browser tab was closed) for longer than ``grace`` seconds is cancelled
  as *abandoned*: it leaves the queue, or its run is stopped and its result dropped. Liveness is a
  pluggable ``is_alive(ticket)``: the page asks Streamlit's runtime whether the session is still
  connected, and falls back to :meth:`Ticket.touch` heartbeats (:func:`heartbeat_liveness`).

Jobs run on worker threads that the queue starts, one per running ticket, so a session's page stays
responsive while it waits or runs; the job reports progress on its ticket and polls
:attr:`Ticket.stop_requested`. The queue holds tickets only while they wait or run; a finished ticket's
outcome is referenced by its owner alone.
"""
from __future__ import annotations

import contextlib
import enum
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from nst_lib.errors import NSTError

__all__ = [
    "Admission",
    "QueueStatus",
    "RunQueue",
    "RunRefusedError",
    "State",
    "Ticket",
    "admit_everything",
    "heartbeat_liveness",
]


class RunRefusedError(NSTError):
    """A run was refused before it was queued (the queue is full, or it cannot fit the memory budget)."""


class State(str, enum.Enum):
    """Where a ticket is: waiting → running → done / failed, or cancelled from either."""

    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"  # the job returned (also after a Stop while running: the outcome is the best so far)
    FAILED = "failed"  # the job raised; see Ticket.error
    CANCELLED = "cancelled"  # left the queue, or was abandoned (its outcome, if any, is dropped)


@dataclass(frozen=True)
class Admission:
    """The answer of an admission check: whether a run fits, what it costs, and why not."""

    fits: bool
    cost_bytes: int = 0  # estimated peak memory of the run, counted against the queue's memory budget
    message: str = ""  # one sentence for the page when it does not fit


def admit_everything(request: Any, memory_budget: int | None) -> Admission:
    """The default admission check: every run fits and costs nothing."""
    return Admission(True)


@dataclass(frozen=True)
class QueueStatus:
    """A snapshot of the queue for display: how many runs are in progress and waiting."""

    running: int
    waiting: int
    max_running: int
    memory_in_use: int  # the estimated peaks of the runs in progress and the reserved memory (uploads), bytes


class Ticket:
    """One session's place in the queue, and the channel between its job and its page.

    The job sets :attr:`progress` and :attr:`preview` while it runs; the page reads them, together with
    :attr:`state`, :attr:`position` and, at the end, :attr:`outcome` or :attr:`error`.
    """

    def __init__(self, queue: "RunQueue", number: int, owner: str, job: Callable[["Ticket"], Any],
                 cost_bytes: int, now: float):
        self.number = number  # order of submission, server-wide
        self.owner = owner  # the session that submitted it (its id)
        self.cost_bytes = cost_bytes
        self.submitted_at = now
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.state = State.WAITING
        self.end_reason: str | None = None  # "cancelled" (by its owner) or "abandoned" (owner gone)
        self.progress: Any = None  # whatever the job reports (the page uses app_logic.Progress)
        self.preview: Any = None  # the job's latest preview image
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.last_seen = now
        self._queue = queue
        self._job = job
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._owner_missing_since: float | None = None

    @property
    def position(self) -> int:
        """1 for the head of the queue, 2 behind it, …; 0 once the ticket no longer waits."""
        return self._queue.position(self)

    @property
    def active(self) -> bool:
        """True while the ticket waits or runs."""
        return self.state in (State.WAITING, State.RUNNING)

    @property
    def stop_requested(self) -> bool:
        """True once the job should stop (its owner cancelled, or is gone); jobs poll this."""
        return self._stop.is_set()

    @property
    def queue_wait(self) -> float | None:
        """Seconds between submission and start (``None`` if it never started)."""
        return None if self.started_at is None else self.started_at - self.submitted_at

    def touch(self) -> None:
        """A heartbeat from the owner's page (used by :func:`heartbeat_liveness`)."""
        self.last_seen = self._queue.clock()

    def cancel(self, reason: str = "cancelled") -> None:
        """Leave the queue, or ask the running job to stop; no effect once finished."""
        self._queue.cancel(self, reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the ticket is finished (done, failed or cancelled); False on timeout."""
        return self._finished.wait(timeout)

    def __repr__(self) -> str:
        return f"Ticket(#{self.number}, owner={self.owner!r}, {self.state.value})"


def heartbeat_liveness(timeout: float) -> Callable[[Ticket], bool]:
    """An ``is_alive`` check: the owner is alive while its page touched the ticket in the last ``timeout`` s."""
    def is_alive(ticket: Ticket) -> bool:
        return ticket._queue.clock() - ticket.last_seen <= timeout

    return is_alive


class RunQueue:
    """A first-come, first-served queue with a limit on concurrent runs and a shared memory budget.

    Args:
        max_running: how many jobs run at once (at least 1).
        memory_budget: bytes the running jobs may use together (their admission costs), or ``None``.
        admission: ``admission(request, memory_budget) -> Admission``, called by :meth:`submit`.
        max_waiting: how many tickets may wait; a submission that cannot start at once beyond that is refused
            (0: no waiting list, a run starts at once or is refused).
        is_alive: ``is_alive(ticket) -> bool``; ``None`` never abandons a ticket.
        grace: seconds an owner may be missing before its ticket is abandoned (a reload reconnects).
        poll: seconds between owner checks of the monitor thread.
        clock: monotonic seconds (tests pass a fake one).
        on_event: ``on_event(ticket, event)`` for a server log, with event one of ``"queued"``,
            ``"started"``, ``"done"``, ``"stopped"`` (done after a cancel: the best so far), ``"failed"``,
            ``"cancelled"`` and ``"abandoned"``.
    """

    def __init__(
        self,
        max_running: int = 1,
        *,
        memory_budget: int | None = None,
        admission: Callable[[Any, int | None], Admission] = admit_everything,
        max_waiting: int = 10,
        is_alive: Callable[[Ticket], bool] | None = None,
        grace: float = 10.0,
        poll: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        on_event: Callable[[Ticket, str], None] | None = None,
    ):
        if int(max_running) < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.max_running = int(max_running)
        self.memory_budget = memory_budget
        self.admission = admission
        self.max_waiting = int(max_waiting)
        self.is_alive = is_alive
        self.grace = float(grace)
        self.poll = float(poll)
        self.clock = clock
        self.on_event = on_event
        self._lock = threading.RLock()
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._reserved = 0  # bytes of reserve_memory() blocks in progress (uploads being decoded)
        self._numbers = itertools.count(1)
        self._closed = threading.Event()
        self._monitor: threading.Thread | None = None

    # ------------------------------------------------------------------------------------- submitting
    def submit(self, owner: str, job: Callable[[Ticket], Any], request: Any = None) -> Ticket:
        """Queue ``job`` for ``owner``; it starts as soon as its turn comes (maybe at once).

        Raises:
            RunRefusedError: the admission check refused the request, the queue is full, or the queue
                is closed. Nothing was queued.
        """
        admission = self.admission(request, self.memory_budget)
        if not admission.fits:
            raise RunRefusedError(admission.message or "this run does not fit the server's memory budget",
                                  reason="memory", received=int(admission.cost_bytes), allowed=self.memory_budget)
        with self._lock:
            if self._closed.is_set():
                raise RunRefusedError("the server is shutting down; try again in a moment", reason="closed")
            if not self._can_start_now(int(admission.cost_bytes)) and len(self._waiting) >= self.max_waiting:
                if self.max_waiting == 0:  # no waiting list: a run starts at once or not at all
                    raise RunRefusedError(
                        f"the server is busy ({len(self._running)} run{'s' if len(self._running) != 1 else ''} in "
                        "progress) and keeps no waiting list; try again when it ends", reason="busy",
                        received=len(self._running), allowed=0)
                raise RunRefusedError(
                    f"the server's queue is full ({len(self._waiting)} runs waiting, "
                    f"{len(self._running)} in progress); try again in a few minutes", reason="queue_full",
                    received=len(self._waiting), allowed=self.max_waiting)
            ticket = Ticket(self, next(self._numbers), owner, job, int(admission.cost_bytes), self.clock())
            self._waiting.append(ticket)
            self._event(ticket, "queued")
            self._dispatch()
        self._start_monitor()
        return ticket

    def position(self, ticket: Ticket) -> int:
        """The ticket's 1-based place among the waiting ones, 0 when it is not waiting."""
        with self._lock:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return 0

    def status(self) -> QueueStatus:
        """How many runs are in progress and waiting right now."""
        with self._lock:
            return QueueStatus(len(self._running), len(self._waiting), self.max_running,
                               self._in_use())

    # ------------------------------------------------------------------------------------- cancelling
    def cancel(self, ticket: Ticket, reason: str = "cancelled") -> None:
        """Take a waiting ticket out of the queue, or ask a running one's job to stop."""
        with self._lock:
            if not ticket.active:
                return
            ticket.end_reason = ticket.end_reason or reason
            ticket._stop.set()
            if ticket.state is State.WAITING:
                self._waiting.remove(ticket)
                self._finish(ticket, State.CANCELLED)
                self._dispatch()  # the head may have been blocked by memory; the next may fit now

    def check_owners(self) -> list[Ticket]:
        """Abandon tickets whose owner has been missing for ``grace`` seconds; returns them."""
        if self.is_alive is None:
            return []
        with self._lock:
            tickets = [*self._running, *self._waiting]
        abandoned = []
        now = self.clock()
        for ticket in tickets:
            try:
                alive = bool(self.is_alive(ticket))
            except Exception:  # noqa: BLE001 - a failing check must not kill the monitor; count as alive
                alive = True
            if alive:
                ticket._owner_missing_since = None
            elif ticket._owner_missing_since is None:
                ticket._owner_missing_since = now
            if ticket._owner_missing_since is not None and now - ticket._owner_missing_since >= self.grace:
                self.cancel(ticket, "abandoned")
                abandoned.append(ticket)
        return abandoned

    def close(self, timeout: float = 10.0) -> None:
        """Refuse new work, cancel every ticket and wait up to ``timeout`` s for running jobs to end."""
        self._closed.set()
        with self._lock:
            tickets = [*self._waiting, *self._running]
        for ticket in tickets:
            self.cancel(ticket, "cancelled")
        deadline = time.monotonic() + timeout
        for ticket in tickets:
            ticket.wait(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------------------------ other memory
    @contextlib.contextmanager
    def reserve_memory(self, cost_bytes: int, what: str) -> Iterator[None]:
        """Count ``cost_bytes`` (e.g. decoding an upload in the server) against the memory budget while the
        block runs, together with the runs in progress: ``with queue.reserve_memory(n, "decoding x.png"):``.

        Raises:
            RunRefusedError: runs and other reservations leave too little of the budget right now.
        """
        cost_bytes = int(cost_bytes)
        with self._lock:
            in_use = self._in_use()
            if self.memory_budget is not None and in_use + cost_bytes > self.memory_budget:
                raise RunRefusedError(
                    f"{what} needs about {cost_bytes / 2**20:.0f} MB, and the server's memory "
                    f"({self.memory_budget / 2**20:.0f} MB) is taken by runs and uploads in progress "
                    f"({in_use / 2**20:.0f} MB); try again in a moment", reason="memory", received=cost_bytes,
                    allowed=self.memory_budget - in_use)
            self._reserved += cost_bytes
        try:
            yield
        finally:
            with self._lock:
                self._reserved -= cost_bytes
                self._dispatch()

    # ---------------------------------------------------------------------------------------- internals
    def _in_use(self) -> int:
        """Bytes counted against the budget now: the runs in progress and the reservations."""
        return sum(t.cost_bytes for t in self._running) + self._reserved

    def _can_start_now(self, cost_bytes: int) -> bool:
        """Whether a new ticket would start at once (nobody waits, a slot is free, its memory fits)."""
        if self._waiting or len(self._running) >= self.max_running:
            return False
        busy = bool(self._running) or self._reserved > 0
        return not (busy and self.memory_budget is not None and self._in_use() + cost_bytes > self.memory_budget)

    def _dispatch(self) -> None:
        """Start waiting tickets in order while the limits allow (called with the lock held)."""
        while self._waiting and len(self._running) < self.max_running:
            head = self._waiting[0]
            in_use = self._in_use()
            busy = bool(self._running) or self._reserved > 0
            if busy and self.memory_budget is not None and in_use + head.cost_bytes > self.memory_budget:
                break  # first come, first served: nobody overtakes a head that waits for memory
            self._waiting.pop(0)
            head.state = State.RUNNING
            head.started_at = self.clock()
            self._running.append(head)
            self._event(head, "started")
            threading.Thread(target=self._work, args=(head,), name=f"nst-run-{head.number}", daemon=True).start()

    def _work(self, ticket: Ticket) -> None:
        state, outcome, error = State.DONE, None, None
        try:
            outcome = ticket._job(ticket)
        except BaseException as exc:  # noqa: BLE001 - reported on the ticket, shown by the page
            state, error = State.FAILED, exc
        with self._lock:
            self._running.remove(ticket)
            if ticket.end_reason == "abandoned":
                state, outcome, error = State.CANCELLED, None, None  # nobody is there to see it
            ticket.outcome, ticket.error = outcome, error
            self._finish(ticket, state)
            self._dispatch()

    def _finish(self, ticket: Ticket, state: State) -> None:
        ticket.state = state
        ticket.finished_at = self.clock()
        ticket._job = None  # drop the job's references (images, settings) as soon as possible
        if state is State.DONE:
            self._event(ticket, "stopped" if ticket.end_reason else "done")
        elif state is State.FAILED:
            self._event(ticket, "failed")
        else:
            self._event(ticket, ticket.end_reason or "cancelled")
        ticket._finished.set()

    def _event(self, ticket: Ticket, event: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(ticket, event)
            except Exception:  # noqa: BLE001,S110 - a failing log must not break the queue
                pass

    def _start_monitor(self) -> None:
        """Watch the owners while there are tickets (the watcher ends itself when the queue is empty)."""
        if self.is_alive is None:
            return
        with self._lock:
            if self._monitor is None:
                self._monitor = threading.Thread(target=self._watch, name="nst-run-queue-monitor", daemon=True)
                self._monitor.start()

    def _watch(self) -> None:
        while not self._closed.wait(self.poll):
            with self._lock:
                if not self._waiting and not self._running:
                    self._monitor = None  # a later submit starts a new watcher
                    return
            self.check_owners()
        with self._lock:
            self._monitor = None
