"""Worker processes that execute the web page's style transfers (tested in tests/test_run_queue.py and
through tests/test_app*.py).

Why processes and not threads of the server: Streamlit resets Keras' process-wide state
(``keras.backend.clear_session()``: TensorFlow's kernel cache, Keras' name and state trackers) and runs a
full garbage collection after *every* script run of *every* session, so a page that polls its queue
position would pull the rug from under an optimisation running on a thread of the same process (measured:
the network build never finished). In its own process a run also cannot take the server down when it
runs out of memory, gets a fair share of the cores (its TensorFlow thread pool is sized for
``max_running`` runs at once), gives its memory back when its worker exits, and can be stopped at once
when its tab is closed. The server process imports TensorFlow only to download missing VGG weights.

A :class:`WorkerPool` keeps up to ``size`` processes (fresh interpreters running this file, talking
pickled messages over a socket pair). Each imports TensorFlow once when it starts and keeps the VGG
network that ``nst_lib`` caches, so only the first run after a start pays for building it; an idle
worker exits after ``idle_timeout`` seconds. :meth:`WorkerPool.run` is what a :class:`run_queue.RunQueue`
job calls: it sends the run to a worker, copies its progress and previews onto the ticket, and asks it
to stop (then ends it, if it does not stop within ``stop_timeout`` seconds) when the ticket is cancelled.
"""
from __future__ import annotations

import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from nst_lib.errors import NSTError

__all__ = ["RunEndedError", "WorkerPool", "shared_pool"]


#: Scheduling priority of the workers relative to the server (higher = yields more; see ``man nice``).
#: 5 gives the server about three times a worker's share of a busy core, so pages stay quick while a run
#: takes every core, without starving runs on a machine that also does other work.
NICENESS = 5


class RunEndedError(NSTError, RuntimeError):
    """A worker process ended during a run (killed, or out of memory) or was ended because it did not stop."""


# --------------------------------------------------------------------------------- the worker process
def _serve(conn: Connection, threads: int, idle_timeout: float) -> None:
    """The worker's main loop: run each received job, reporting over ``conn``, until idle or told to quit.

    Messages from the server: a job (dict), ``"stop"`` (stop the current run; ignored between runs) or
    ``None`` (quit). To the server: ``("progress", …)``, ``("preview", …)``, then ``("done", view)`` or
    ``("failed", error)``.
    """
    try:
        os.nice(NICENESS)  # the pages of every session stay responsive while a run takes the cores
    except (AttributeError, OSError):
        pass
    from nst_lib.startup import import_tensorflow_quietly

    import_tensorflow_quietly(intra_op_threads=threads if threads > 0 else None)
    import app_logic  # the jobs' code, imported now so that the first run does not wait for it

    while conn.poll(idle_timeout if idle_timeout > 0 else None):
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if job is None:
            return
        if not isinstance(job, dict):
            continue  # a "stop" that arrived after its run had ended
        stopped = False

        def should_stop() -> bool:
            nonlocal stopped
            while not stopped and conn.poll():
                stopped = conn.recv() == "stop"
            return stopped

        try:
            view = app_logic.execute_run(**job, report=lambda kind, value: conn.send((kind, value)),
                                         should_stop=should_stop)
            conn.send(("done", view))
        except (BrokenPipeError, EOFError, ConnectionError):
            return
        except BaseException as exc:  # noqa: BLE001 - reported to the page as one sentence
            exc.add_note("".join(traceback.format_exception(exc)))  # for the server log
            conn.send(("failed", _picklable(exc)))


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - some exceptions carry unpicklable state
        return RuntimeError(f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------ the server's side
class _Worker:
    """One worker process (``python apps/run_worker.py FD …``) and the server's end of its socket.

    Started as a fresh interpreter rather than with :mod:`multiprocessing`: Streamlit runs the page as
    ``__main__``, and a spawned child would execute the whole page again to "import" it.
    """

    def __init__(self, threads: int, idle_timeout: float):
        mine, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno()), str(threads), str(idle_timeout)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, close_fds=True,
        )
        theirs.close()
        self.conn = Connection(mine.detach())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.conn.close()


class WorkerPool:
    """Up to ``size`` worker processes, reused from run to run.

    Args:
        size: how many runs may execute at once (the queue's ``max_running``).
        threads: TensorFlow intra-op threads per worker (default: the machine's cores shared by ``size``).
        idle_timeout: seconds after which an idle worker exits (0 = never).
        stop_timeout: seconds a run may take to stop after a cancel before its process is ended.
    """

    def __init__(self, size: int = 1, *, threads: int | None = None, idle_timeout: float = 900.0,
                 stop_timeout: float = 5.0):
        self.size = max(1, int(size))
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 1) // self.size)
        self.idle_timeout = idle_timeout
        self.stop_timeout = stop_timeout
        self._idle: list[_Worker] = []
        self._running: list[_Worker] = []
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start one worker now (importing TensorFlow takes seconds), so the first run does not wait for it."""
        with self._lock:
            if not self._idle and not self._running:
                self._idle.append(self._spawn())

    def run(self, ticket: Any, job: dict[str, Any]) -> dict[str, Any] | None:
        """Execute ``job`` (content, styles, mask, mask_name, config) for ``ticket`` in a worker.

        Sets ``ticket.progress`` and ``ticket.preview`` as the worker reports them. Returns the result
        view, or ``None`` when the run was ended before it produced an image.

        Raises:
            the run's own error (an :class:`~nst_lib.errors.NSTError` for bad input), or
            RunEndedError: the worker process died during the run.
        """
        if ticket.stop_requested:  # cancelled between its start and now: no need for a worker
            return None
        worker = self._acquire()
        kind, value = "ended", None
        try:
            kind, value = self._drive(worker, ticket, job)
        finally:
            self._release(worker, reuse=kind in ("done", "failed") and worker.alive)
        if kind == "failed":
            raise value  # the run's own error (bad input, a bug): the worker itself is fine
        return value

    def pids(self) -> list[int]:
        """Process ids of the workers, idle or running."""
        with self._lock:
            return sorted(w.process.pid for w in [*self._idle, *self._running] if w.alive)

    def close(self) -> None:
        """End the idle workers (running ones end with their run)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.end()

    # ------------------------------------------------------------------------------------ internals
    def _spawn(self) -> _Worker:
        return _Worker(self.threads, self.idle_timeout)

    def _acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._running.append(worker)
                    return worker
                worker.end()  # it timed out idle, or died
            worker = self._spawn()
            self._running.append(worker)
            return worker

    def _release(self, worker: _Worker, reuse: bool) -> None:
        with self._lock:
            self._running.remove(worker)
            if reuse and len(self._idle) < self.size:
                self._idle.append(worker)
                return
        worker.end()

    def _drive(self, worker: _Worker, ticket: Any, job: dict[str, Any]) -> tuple[str, Any]:
        """Send the job and relay its reports; returns ("done", view), ("failed", error) or ("ended", None).

        Messages to the worker go through a sender thread: a job's images take megabytes, and a worker
        that is still importing TensorFlow reads nothing, so a send could block this loop (and with it
        the reaction to a cancel) for seconds.
        """
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=_send_all, args=(worker.conn, outbox), name="nst-worker-sender", daemon=True).start()
        outbox.put(job)
        try:
            return self._relay(worker, ticket, outbox)
        finally:
            outbox.put(_END)

    @staticmethod
    def _gone(worker: _Worker, stop_asked_at: float | None) -> tuple[str, Any]:
        """The worker process ended: fine after a stop request, an error otherwise."""
        if stop_asked_at is not None:
            return "ended", None
        code = worker.process.returncode
        hint = " (it was probably out of memory)" if code in (-9, 137) else ""
        raise RunEndedError(f"the process running the style transfer ended with code {code}{hint}; "
                            "try a smaller size or fewer styles")

    def _relay(self, worker: _Worker, ticket: Any, outbox: queue.SimpleQueue) -> tuple[str, Any]:
        stop_asked_at: float | None = None
        while True:
            if worker.conn.poll(0.05):
                try:
                    kind, value = worker.conn.recv()
                except (EOFError, OSError):  # the process is gone, or going
                    try:
                        worker.process.wait(5)
                    except subprocess.TimeoutExpired:
                        worker.end()
                    return self._gone(worker, stop_asked_at)
                if kind == "progress":
                    ticket.progress = value
                elif kind == "preview":
                    ticket.preview = value
                elif kind in ("done", "failed"):
                    return kind, value
                continue
            if not worker.alive:
                return self._gone(worker, stop_asked_at)
            if ticket.stop_requested:
                if stop_asked_at is None:
                    stop_asked_at = time.monotonic()
                    outbox.put("stop")
                elif time.monotonic() - stop_asked_at > self.stop_timeout:
                    worker.end()  # it is still loading, or in a long iteration: free the cores now
                    return "ended", None



_END = object()


def _send_all(conn: Connection, outbox: queue.SimpleQueue) -> None:
    """Send the outbox's messages in order until :data:`_END` (or until the worker is gone)."""
    while (message := outbox.get()) is not _END:
        try:
            conn.send(message)
        except Exception:  # noqa: BLE001 - the worker was ended: its socket is broken or already closed
            return


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(size: int) -> WorkerPool:
    """The process-wide pool for ``size`` concurrent runs (one per server; tests share it too)."""
    with _POOLS_LOCK:
        if size not in _POOLS:
            _POOLS[size] = WorkerPool(size)
        return _POOLS[size]


if __name__ == "__main__":  # a worker process: python apps/run_worker.py FD THREADS IDLE_TIMEOUT
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3]))
