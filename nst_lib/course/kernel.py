"""The course's Jupyter kernel: IPython with TensorFlow already started, so no C++ start-up lines reach a cell.

``make install`` runs ``python -m nst_lib.course.kernel install``, which installs the ``python3`` kernel of
the project's environment (what ``make lab`` and the notebook tests use) with this module as its entry
point. The kernel starts TensorFlow with descriptor 2 muted (:func:`nst_lib.startup.import_tensorflow_quietly`)
and then runs the ordinary ipykernel; otherwise ipykernel would forward TensorFlow's ``I0000 …``/``E0000 …
failed call to cuInit`` lines into the learner's first cells. The cost is TensorFlow's import (a few
seconds) at kernel start instead of at the first cell.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from nst_lib.startup import import_tensorflow_quietly

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (nst course)"


def install(prefix: str = sys.prefix) -> Path:
    """Install the kernel spec into ``prefix``/share/jupyter/kernels/python3; return its folder."""
    from ipykernel.kernelspec import install as install_ipykernel

    folder = Path(install_ipykernel(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=prefix))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    spec["argv"] = [sys.executable, "-Xfrozen_modules=off", "-m", "nst_lib.course.kernel", "-f", "{connection_file}"]
    spec_file.write_text(json.dumps(spec, indent=1))
    return folder


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        print(f"installed the course kernel in {install()}")
        return
    import_tensorflow_quietly()
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()


if __name__ == "__main__":
    main()
