"""The course's Jupyter kernel: IPython with TensorFlow already started, so no C++ start-up lines reach a cell.

``make install`` runs ``python -m nst_lib.course.kernel install``, which installs the ``python3`` kernel of
the project's environment (what ``make lab`` and the notebook tests use) with this module as its entry
point. The kernel starts TensorFlow with descriptor 2 muted (:func:`nst_lib.startup.import_tensorflow_quietly`)
and then runs the ordinary ipykernel; otherwise ipykernel would forward TensorFlow's ``I0000 …``/``E0000 …
failed call to cuInit`` lines into the learner's first cells. The cost is TensorFlow's import (a few
seconds) at kernel start instead of at the first cell.

The kernel also reports a ``language_info`` without the interpreter's patch version (:data:`LANGUAGE_INFO`),
and every notebook of the course records exactly that and :data:`NOTEBOOK_KERNELSPEC` in its metadata.
JupyterLab writes the kernel's ``language_info`` and kernel spec into a notebook it opens and marks the
notebook modified when they differ from the file's; with ipykernel's own ``language_info`` (``"version":
"3.11.7"``) a notebook would open modified on every Python but the one it was last saved with.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from nst_lib.startup import import_tensorflow_quietly

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (nst course)"
#: what JupyterLab writes into a notebook's ``metadata.kernelspec`` when this kernel starts
NOTEBOOK_KERNELSPEC = {"name": KERNEL_NAME, "display_name": DISPLAY_NAME, "language": "python"}
#: ipykernel's ``language_info`` without ``version`` (optional in nbformat; the kernel's banner still names the
#: exact Python, and notebook 00 prints it); every notebook records it as its ``metadata.language_info``
LANGUAGE_INFO = {
    "name": "python",
    "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "file_extension": ".py",
}


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
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelapp import IPKernelApp

    class CourseKernel(IPythonKernel):
        """IPython's kernel, reporting :data:`LANGUAGE_INFO` (what the course's notebooks record)."""

        language_info = LANGUAGE_INFO

    IPKernelApp.launch_instance(kernel_class=CourseKernel)


if __name__ == "__main__":
    main()
