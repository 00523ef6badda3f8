"""Many photos, or many video frames, stylized as Dask tasks (``nst batch``, ``nst video --model --workers``).

Stylizing a photo library, or the frames of a long clip with a trained network, is embarrassingly
parallel: every item is independent. That work belongs on an existing distributed engine, not on a loop,
so this module hands it to ``dask.distributed``: an embedded :class:`~distributed.LocalCluster` of worker
*processes* by default (``workers=N``), or an existing cluster (``scheduler="tcp://HOST:8786"``; see
docs/video.md for ``dask scheduler`` / ``dask worker`` on other machines).

* Each worker process loads the network (or the VGG feature extractor) once and keeps it for every task
  it runs; TensorFlow there uses one thread per operation (the processes share the cores).
* Results come back *in input order*, each as soon as it and every item before it are done, so progress
  is reported in order while the cluster works ahead.
* An item that fails (an unreadable photo, a disk full) is reported with its reason, and the rest go on.
* An output that already exists is skipped (outputs are written atomically: an existing file is complete),
  so re-running after a kill does only what is left.

Optimisation-based video is *not* distributed: each frame starts from the previous stylized frame.
"""
from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from dask.distributed import Client, LocalCluster, as_completed

from .config import StyleConfig
from .errors import NSTError, OutputError
from .fast import FastModel
from .images import save_image
from .startup import import_tensorflow_quietly
from .transfer import stylize


@dataclass(frozen=True)
class BatchJob:
    """What every task of a batch shares: a trained network, or optimisation settings and style images."""

    model: str | None = None  # path of a .keras fast-transfer network
    size: int | None = None  # long side of the outputs (with a model: None keeps each photo's size)
    config: dict | None = None  # StyleConfig.to_dict() for optimisation
    styles: tuple = ()  # style images (float32 arrays) for optimisation


@dataclass
class ItemOutcome:
    """How one item went."""

    index: int
    source: str
    output: str
    status: str  # "written", "skipped" (the output existed) or "failed"
    message: str = ""
    seconds: float = 0.0
    worker: str = ""


@functools.lru_cache(maxsize=4)
def _network(path: str, modified: float) -> FastModel:
    """The network at ``path``, loaded once per worker process (``modified`` renews it if the file changes)."""
    del modified
    return FastModel.load(path)


def _worker_setup() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import_tensorflow_quietly(intra_op_threads=1)


def stylize_image(source: Any, job: BatchJob) -> np.ndarray:
    """One item's stylized image (runs on a worker)."""
    _worker_setup()
    if job.model is not None:
        return _network(str(job.model), os.path.getmtime(job.model)).stylize(source, job.size)
    return stylize(source, list(job.styles), config=StyleConfig(**job.config)).image


def stylize_item(index: int, source: str, output: str, job: BatchJob) -> ItemOutcome:
    """Stylize ``source`` into ``output`` (atomically); a failure becomes the outcome's message, not an error."""
    start = time.perf_counter()
    worker = f"pid {os.getpid()}"
    try:
        save_image(stylize_image(source, job), output)
    except NSTError as exc:
        return ItemOutcome(index, source, output, "failed", " ".join(str(exc).split()), time.perf_counter() - start, worker)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch; its reason is reported
        return ItemOutcome(index, source, output, "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}",
                           time.perf_counter() - start, worker)
    return ItemOutcome(index, source, output, "written", "", time.perf_counter() - start, worker)


def open_client(workers: int | None = None, scheduler: str | None = None) -> Client:
    """A Dask client: on an existing cluster (``scheduler``), or on a new LocalCluster of ``workers`` processes.

    Raises:
        OutputError: the scheduler cannot be reached.
    """
    if scheduler is not None:
        try:
            return Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise OutputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the workers inherit it
    cluster = LocalCluster(n_workers=max(1, int(workers or 1)), threads_per_worker=1, processes=True,
                           preload=["nst_lib.startup"],  # TensorFlow started quietly in every worker
                           dashboard_address=":0", silence_logs=logging.ERROR)  # any free port: no clash
    return Client(cluster)


def close_client(client: Client) -> None:
    """Close the client, and its LocalCluster if it made one."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def in_order(futures: Sequence[Any]) -> Iterator[Any]:
    """The futures' results in the order of ``futures``, each as soon as it and all before it are done."""
    position = {future.key: index for index, future in enumerate(futures)}
    waiting: dict[int, Any] = {}
    following = 0
    for future in as_completed(futures):
        waiting[position[future.key]] = future.result()
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def run_batch(client: Client | None, pairs: Sequence[tuple[str, str]], job: BatchJob,
              on_outcome: Callable[[ItemOutcome], None] | None = None) -> list[ItemOutcome]:
    """Stylize each ``(source, output)`` pair on the cluster; outputs that exist are skipped.

    Returns the outcomes in input order (``on_outcome`` sees each as it streams back, in that order).
    ``client`` may be ``None`` when every output exists (nothing is submitted).
    """
    outcomes: list[ItemOutcome] = []
    todo = [(i, s, o) for i, (s, o) in enumerate(pairs) if not Path(o).exists()]
    if todo and client is None:
        raise ValueError("run_batch needs a Dask client: some outputs are missing")
    skipped = {i for i in range(len(pairs))} - {i for i, _, _ in todo}
    futures = [client.submit(stylize_item, i, s, o, job, pure=False, key=f"nst-item-{i}-{time.time_ns()}")
               for i, s, o in todo]
    results = in_order(futures)
    for index, (source, output) in enumerate(pairs):
        outcome = ItemOutcome(index, source, output, "skipped") if index in skipped else next(results)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _network_on_frame(frame: np.ndarray, model: str) -> np.ndarray:
    _worker_setup()
    return _network(str(model), os.path.getmtime(model)).stylize(frame)


def dask_network_outputs(model: str, frames: Iterable[tuple[int, np.ndarray]], *, workers: int | None = None,
                         scheduler: str | None = None, ahead: int = 16) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(index, frame, network output)`` in order, the network running on Dask workers, at most ``ahead``
    frames in flight (a long clip is never held in memory whole)."""
    client = open_client(workers, scheduler)
    try:
        pending: list[tuple[int, np.ndarray, Any]] = []
        for index, frame in frames:
            pending.append((index, frame, client.submit(_network_on_frame, frame, str(model), pure=False)))
            if len(pending) >= ahead:
                done_index, done_frame, future = pending.pop(0)
                yield done_index, done_frame, future.result()
        for done_index, done_frame, future in pending:
            yield done_index, done_frame, future.result()
    finally:
        close_client(client)
