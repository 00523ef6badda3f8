"""JupyterLab settings of the course environment: no "get notified about official Jupyter news?" prompt.

``make install`` runs ``python -m nst_lib.course.lab_settings install``, which writes JupyterLab's documented
settings-override file, ``<prefix>/share/jupyter/lab/settings/overrides.json``, of the project's
environment (not the user's own settings, and no package is patched). A fresh ``make lab`` then opens
without the news prompt, and makes no request to the news feed or for update checks (the course works
offline). A learner can still switch news on in Settings → Notifications: overrides set defaults only.
Keys already in the file (set by the learner or another tool) are kept.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

#: plugin id → settings: JupyterLab 4's notification plugin asks about news while ``fetchNews`` is "none".
OVERRIDES: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def overrides_path(prefix: str | Path = sys.prefix) -> Path:
    """Where JupyterLab reads the environment's setting overrides."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def install(prefix: str | Path = sys.prefix) -> Path:
    """Merge :data:`OVERRIDES` into the environment's ``overrides.json``; return its path."""
    path = overrides_path(prefix)
    current: dict = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise SystemExit(f"error: {path} is not valid JSON ({exc}); fix or delete it, then run make install") from None
    for plugin, settings in OVERRIDES.items():
        current.setdefault(plugin, {}).update(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: python -m nst_lib.course.lab_settings install")
    print(f"JupyterLab settings written to {install()}")
