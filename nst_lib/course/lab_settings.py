"""JupyterLab settings of the course environment: no "get notified about official Jupyter news?" prompt, a
file browser that lists each notebook once, and kernels that talk to the server encrypted.

``make install`` runs ``python -m nst_lib.course.lab_settings install``, which writes two documented
configuration files of the project's environment (not the user's own settings, and no package is patched):

- JupyterLab's settings-override file, ``<prefix>/share/jupyter/lab/settings/overrides.json``. A fresh
  ``make lab`` opens without the news prompt, and makes no request to the news feed or for update checks
  (the course works offline). A learner can still switch news on in Settings → Notifications: overrides set
  defaults only. Keys already in the file (set by the learner or another tool) are kept.
- The environment's Jupyter server configuration file, ``<prefix>/etc/jupyter/jupyter_server_config.json``
  (every ``jupyter lab``/``jupyter server`` of the environment reads it; the ``jupyter_server_config.d``
  folder beside it only enables extensions). Its ``ContentsManager.hide_globs`` becomes the installed
  server's default list (or the list already in the file) plus :data:`TWIN_GLOB`: the file browser hides the
  notebooks' jupytext ``.py`` twins, which it would otherwise list beside the notebooks, cut to the same
  "00_setup_and_t…" and told apart only by their icon. Hiding only leaves them out of listings: jupytext
  still reads and writes them (the server's contents manager is jupytext's, which inherits the setting),
  and developers edit them in their editor. Its ``MappingKernelManager.transport_encryption`` is ``"auto"``
  (:data:`SERVER_KERNELS`): the server gives each kernel CurveZMQ keys (kernels whose spec declares
  ``supported_encryption: curve``, as ipykernel's, and so the course kernel's, does), so the server and the
  kernel talk encrypted over their TCP ports on 127.0.0.1, and ipykernel no longer prints "Kernel is running
  over TCP without encryption…" into the terminal of ``make lab`` at every kernel start. (Unix sockets,
  ``KernelManager.transport = "ipc"``, also silence it, but a socket's path, Jupyter's runtime folder and
  ``/kernel-<uuid>-ipc-N``, 50 characters, exceeds the operating system's limit (107 characters on Linux,
  103 on macOS) as soon as the runtime folder's path is longer than 57 characters, and then no kernel starts:
  it did in this project's own test, under pytest's temporary folder.) Other keys in the file are kept, and a
  user's own settings (in ``~/.jupyter``) win over these.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

#: plugin id → settings: JupyterLab 4's notification plugin asks about news while ``fetchNews`` is "none".
OVERRIDES: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


#: the jupytext twins of the notebooks (``notebooks/NN_name.py``); Jupyter matches hide_globs against file names
TWIN_GLOB = "[0-9][0-9]_*.py"
#: how the server starts kernels: with manager-provisioned CurveZMQ keys where the kernel supports them
SERVER_KERNELS = {"MappingKernelManager": {"transport_encryption": "auto"}}


def overrides_path(prefix: str | Path = sys.prefix) -> Path:
    """Where JupyterLab reads the environment's setting overrides."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def server_config_path(prefix: str | Path = sys.prefix) -> Path:
    """The environment's Jupyter server configuration file written by :func:`install_server_config`."""
    return Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.json"


def install_server_config(prefix: str | Path = sys.prefix) -> Path:
    """Add :data:`TWIN_GLOB` to ``ContentsManager.hide_globs`` in the environment's server configuration (the
    installed jupyter_server's default list when the file sets none: a list in a configuration file replaces
    the default), and :data:`SERVER_KERNELS` where the file does not say otherwise and the installed
    jupyter_server and pyzmq support it; return the file's path."""
    from jupyter_server.services.contents.manager import ContentsManager  # only where JupyterLab is installed

    path = server_config_path(prefix)
    current = _read_json(path)
    manager = current.setdefault("ContentsManager", {})
    globs = list(manager.get("hide_globs") or ContentsManager.class_traits()["hide_globs"].default())
    manager["hide_globs"] = globs + [glob for glob in [TWIN_GLOB] if glob not in globs]
    if _transport_encryption_supported():
        for section, settings in SERVER_KERNELS.items():
            for key, value in settings.items():
                current.setdefault(section, {}).setdefault(key, value)
    _write_json(path, current)
    return path


def _transport_encryption_supported() -> bool:
    """Whether the installed jupyter_server can provision CurveZMQ keys and pyzmq's libzmq has
    CurveZMQ (without it the setting would stop the server from starting)."""
    import zmq
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager

    return "transport_encryption" in MappingKernelManager.class_traits() and bool(zmq.has("curve"))


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: {path} is not valid JSON ({exc}); fix or delete it, then run make install") from None


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def install(prefix: str | Path = sys.prefix) -> Path:
    """Merge :data:`OVERRIDES` into the environment's ``overrides.json``; return its path."""
    path = overrides_path(prefix)
    current = _read_json(path)
    for plugin, settings in OVERRIDES.items():
        current.setdefault(plugin, {}).update(settings)
    _write_json(path, current)
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: python -m nst_lib.course.lab_settings install")
    print(f"JupyterLab settings written to {install()}")
    print(f"Jupyter server configuration written to {install_server_config()}")
