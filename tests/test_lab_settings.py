"""A fresh ``make lab`` asks no "official Jupyter news?" question: the environment's JupyterLab settings
override (``nst_lib.course.lab_settings``, run by ``make install``) answers it, and a real JupyterLab
server started from this environment reports the answer through its settings API. And its file browser
lists each notebook once: the environment's server configuration hides the jupytext ``.py`` twins, which
jupytext still writes on save (checked on ``make lab``'s own command)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from nst_lib.course import lab_settings

REPO = Path(__file__).resolve().parents[1]
PLUGIN = "@jupyterlab/apputils-extension:notification"


def test_install_writes_the_override_and_keeps_other_keys(tmp_path):
    path = lab_settings.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                                PLUGIN: {"doNotDisturbMode": True}}))
    assert lab_settings.install(tmp_path) == path
    written = json.loads(path.read_text())
    assert written[PLUGIN] == {"doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert lab_settings.install(tmp_path) == path and json.loads(path.read_text()) == written  # idempotent


def test_broken_overrides_file_is_reported_not_replaced(tmp_path):
    path = lab_settings.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SystemExit, match=r"error: .*overrides.json is not valid JSON"):
        lab_settings.install(tmp_path)
    assert path.read_text() == "{not json"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_jupyterlab_of_this_environment_does_not_ask_about_news(tmp_path):
    """What make install set up: the running server serves the notification plugin's schema with the
    default "false" (Never) for news, not "none" (which makes JupyterLab show the news prompt), and the
    user has set nothing (JupyterLab applies overrides.json to the schema defaults)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists() or shutil.which("jupyter-lab", path=str(jupyter.parent)) is None:
        pytest.skip("JupyterLab is not installed in this environment")
    if not lab_settings.overrides_path().is_file():
        pytest.fail(f"{lab_settings.overrides_path()} is missing: run make install")
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshot_app import _stop, _wait_http, free_port

    port, token = free_port(), "nst-lab-settings"
    log = open(tmp_path / "lab.log", "wb")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--allow-root"],
        stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 90, server)
        url = f"http://127.0.0.1:{port}/lab/api/settings/{PLUGIN}?token={token}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    setting = json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        _stop(server)
        log.close()
    properties = setting["schema"]["properties"]
    assert properties["fetchNews"]["default"] == "false", properties["fetchNews"]
    assert properties["checkForUpdates"]["default"] is False
    assert "fetchNews" not in setting["settings"]  # nothing in the user's own settings decides it


# ------------------------------------------------------------------ the file browser lists each notebook once
def test_server_config_hides_the_twins_and_keeps_the_server_defaults(tmp_path):
    pytest.importorskip("jupyter_server")
    from jupyter_server.services.contents.manager import ContentsManager

    path = lab_settings.install_server_config(tmp_path)
    assert path == tmp_path / "etc" / "jupyter" / "jupyter_server_config.json"  # not .d/: that only enables extensions
    globs = json.loads(path.read_text())["ContentsManager"]["hide_globs"]
    defaults = ContentsManager.class_traits()["hide_globs"].default()
    assert globs == [*defaults, lab_settings.TWIN_GLOB]
    if lab_settings._transport_encryption_supported():
        assert json.loads(path.read_text())["MappingKernelManager"] == {"transport_encryption": "auto"}
    manager = ContentsManager(hide_globs=globs)  # how the server applies them: to file names
    names = {"00_setup_and_tour.py": False, "13_video.py": False, "00_setup_and_tour.ipynb": True,
             "my_nst.py": True, "jupytext.toml": True, "portrait.png": True, "notes_01.py": True, "x.pyc": False}
    assert {name: manager.should_list(name) for name in names} == names
    assert lab_settings.install_server_config(tmp_path) == path and json.loads(path.read_text())["ContentsManager"][
        "hide_globs"] == globs  # idempotent


def test_server_config_keeps_what_the_file_already_sets(tmp_path):
    pytest.importorskip("jupyter_server")
    path = lab_settings.server_config_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"ServerApp": {"terminals_enabled": False},
                                "ContentsManager": {"hide_globs": ["*.bak"], "allow_hidden": False},
                                "MappingKernelManager": {"transport_encryption": "disabled"}}))
    lab_settings.install_server_config(tmp_path)
    assert json.loads(path.read_text()) == {"ServerApp": {"terminals_enabled": False}, "ContentsManager": {
        "hide_globs": ["*.bak", lab_settings.TWIN_GLOB], "allow_hidden": False},
        "MappingKernelManager": {"transport_encryption": "disabled"}}  # someone's choice, kept
    path.write_text("{not json")
    with pytest.raises(SystemExit, match=r"error: .*jupyter_server_config.json is not valid JSON"):
        lab_settings.install_server_config(tmp_path)
    assert path.read_text() == "{not json"


def _make_lab_command() -> list[str]:
    """The command ``make lab`` runs (its recipe, printed by make without running it or its install step)."""
    printed = subprocess.run(["make", "-s", "-n", "-o", "install", "lab", f"VENV={sys.prefix}"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(f"{sys.prefix}/bin/jupyter lab notebooks/"), printed
    return printed[0].split()


@contextlib.contextmanager
def _make_lab(tmp_path: Path, log: Path):
    """``make lab``'s own command, run in ``tmp_path`` (so over ``tmp_path/notebooks``) with the environment's
    configuration only (an empty user config folder, as on a fresh machine) and its runtime files (kernel
    connection files and sockets) in ``tmp_path/runtime``; yields the server's URL with its token."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if not lab_settings.server_config_path().is_file():
        pytest.fail(f"{lab_settings.server_config_path()} is missing: run make install")
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshot_app import _stop, _wait_http, free_port

    port, token = free_port(), "nst-make-lab"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "user-config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [*_make_lab_command(), "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={token}"],
            cwd=tmp_path, env=env, stdout=output, stderr=output, start_new_session=True)
        try:
            _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 90, server)
            yield f"127.0.0.1:{port}", token
        finally:
            _stop(server)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_make_lab_lists_notebooks_not_their_twins_and_jupytext_still_writes_them(tmp_path):
    """``make lab``'s own command over a copy of ``notebooks/`` (with a learner's ``my_nst.py`` and images):
    the server's listing (what the file browser shows) has the notebooks, not their ``.py`` twins; saving a
    notebook through the contents API, as JupyterLab does, still rewrites its hidden twin."""
    pytest.importorskip("jupytext")
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))[:2]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for source in [*notebooks, *(n.with_suffix(".py") for n in notebooks), REPO / "notebooks" / "jupytext.toml"]:
        shutil.copy(source, folder / source.name)
    (folder / "my_nst.py").write_text("def gram_matrix(features):\n    return features\n")
    for image in ("stylized.png", "my_photo.jpg"):
        shutil.copy(REPO / "docs" / "figures" / "feature_maps.png", folder / image)
    first = notebooks[0].name
    with _make_lab(tmp_path, tmp_path / "lab.log") as (host, token):
        base = f"http://{host}/api/contents"
        with urllib.request.urlopen(f"{base}?token={token}", timeout=30) as response:
            listed = {item["name"] for item in json.load(response)["content"]}
        url = f"{base}/{first}?token={token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            model = json.load(response)
        marker = "A sentence added in JupyterLab."
        model["content"]["cells"][0]["source"] += f"\n\n{marker}"
        body = json.dumps({"type": "notebook", "format": "json", "content": model["content"]}).encode()
        request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(request, timeout=30).status == 200
    expected = {*(n.name for n in notebooks), "jupytext.toml", "my_nst.py", "stylized.png", "my_photo.jpg"}
    assert listed == expected, f"listed {sorted(listed)}, expected {sorted(expected)}"
    twin = (folder / first).with_suffix(".py").read_text(encoding="utf-8")
    assert marker in twin, "jupytext did not write the hidden .py twin on save"


def _run_in_kernel(host: str, token: str, kernel_id: str, code: str, timeout: float = 180) -> str:
    """Run ``code`` on a kernel of the server through its websocket, as JupyterLab does; return its stdout."""
    import websocket

    socket = websocket.create_connection(f"ws://{host}/api/kernels/{kernel_id}/channels?token={token}",
                                         timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        socket.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                       "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        stdout, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                stdout.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                raise AssertionError(f"the kernel raised {message['content']['ename']}: {message['content']['evalue']}")
            elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return "".join(stdout)
        raise TimeoutError(f"no answer from the kernel within {timeout:.0f} s")
    finally:
        socket.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_make_lab_kernels_talk_encrypted_without_the_tcp_warning(tmp_path):
    """A kernel of ``make lab`` (the course kernel) gets CurveZMQ keys from the server, runs code sent the way
    JupyterLab sends it, before and after a restart, and ipykernel's "Kernel is running over TCP without encryption" warning does not
    reach ``make lab``'s terminal (here its log: the kernel's output goes to the server's)."""
    pytest.importorskip("websocket", reason="the websocket-client package is needed to talk to the kernel")
    if not lab_settings._transport_encryption_supported():
        pytest.skip("this jupyter_server or pyzmq cannot encrypt the kernels' transport")
    (tmp_path / "notebooks").mkdir()
    with _make_lab(tmp_path, tmp_path / "lab.log") as (host, token):
        request = urllib.request.Request(f"http://{host}/api/kernels?token={token}", method="POST",
                                         data=json.dumps({"name": "python3"}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            kernel_id = json.load(response)["id"]
        output = _run_in_kernel(host, token, kernel_id, "import sys; x = 1; print(sys.orig_argv[1:4], 6 * 7)")
        connection = json.loads((tmp_path / "runtime" / f"kernel-{kernel_id}.json").read_text())
        # Kernel → Restart Kernel (notebook 00 asks for it after VGG19's weights are put in place)
        restart = urllib.request.Request(f"http://{host}/api/kernels/{kernel_id}/restart?token={token}", method="POST",
                                         data=b"", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(restart, timeout=180).close()
        after_restart = _run_in_kernel(host, token, kernel_id, "print('x' in dir(), 6 * 7)")  # a fresh kernel
    log = (tmp_path / "lab.log").read_text(encoding="utf-8", errors="replace")
    assert output.strip() == "['-Xfrozen_modules=off', '-m', 'nst_lib.course.kernel'] 42", output  # the course kernel
    assert connection["transport"] == "tcp" and connection.get("curve_publickey"), sorted(connection)
    assert after_restart.strip() == "False 42", after_restart
    assert "Kernel started" in log  # the log is the terminal's text: it would hold the warning
    assert "without encryption" not in log, log[-2000:]
