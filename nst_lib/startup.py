"""Starting TensorFlow without its C++ start-up lines (the CLI, the web page's workers, the course kernel).

Importing TensorFlow and running its first operation print lines such as ``I0000 … oneDNN custom
operations are on``, ``Could not find cuda drivers on your machine`` and ``E0000 … failed call to cuInit``
on machines without a GPU. They are written by C++ code straight to file descriptor 2, before absl's
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not silence them; nobody can act on them, and in
Jupyter they land in the first cells' output (ipykernel forwards descriptor 2 to the notebook). The only
reliable cure is to point descriptor 2 at ``/dev/null`` while TensorFlow starts, then restore it: later
warnings and errors, ours and TensorFlow's, are shown as usual.
"""
from __future__ import annotations

import os
import sys

__all__ = ["import_tensorflow_quietly"]


def import_tensorflow_quietly(intra_op_threads: int | None = None) -> None:
    """Import TensorFlow and run one operation with descriptor 2 muted (nothing to do if already imported).

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (warnings and information from C++ hidden) unless it is set.

    Args:
        intra_op_threads: if given (> 0), the number of threads one operation may use, set before the first
            operation (it cannot be changed after).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            if intra_op_threads:
                tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
            tf.constant(0.0) + 0.0  # the first operation initialises the devices (more start-up lines)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def dask_setup(worker=None) -> None:
    """Dask's preload hook (``dask worker --preload nst_lib.startup``; ``nst batch``'s LocalCluster passes
    it): start TensorFlow quietly, one thread per operation, before any task imports it."""
    del worker
    import_tensorflow_quietly(intra_op_threads=1)
