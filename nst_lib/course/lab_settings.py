"""JupyterLab settings of the course environment: no "get notified about official Jupyter news?" prompt, and
a file browser that lists each notebook once.

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
  and developers edit them in their editor. Other keys in the file are kept, and a user's own
  ``hide_globs`` (in ``~/.jupyter``) wins over this one.
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


def overrides_path(prefix: str | Path = sys.prefix) -> Path:
    """Where JupyterLab reads the environment's setting overrides."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def server_config_path(prefix: str | Path = sys.prefix) -> Path:
    """The environment's Jupyter server configuration file written by :func:`install_server_config`."""
    return Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.json"


def install_server_config(prefix: str | Path = sys.prefix) -> Path:
    """Add :data:`TWIN_GLOB` to ``ContentsManager.hide_globs`` in the environment's server configuration (the
    installed jupyter_server's default list when the file sets none: a list in a configuration file replaces
    the default); return the file's path."""
    from jupyter_server.services.contents.manager import ContentsManager  # only where JupyterLab is installed

    path = server_config_path(prefix)
    current = _read_json(path)
    manager = current.setdefault("ContentsManager", {})
    globs = list(manager.get("hide_globs") or ContentsManager.class_traits()["hide_globs"].default())
    manager["hide_globs"] = globs + [glob for glob in [TWIN_GLOB] if glob not in globs]
    _write_json(path, current)
    return path


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
