"""``nst video --save-state DIR`` / ``--resume DIR``: the state folder writes ``DIR/video.json`` and
``DIR/00000.npy`` … (one per frame of the run), so none of them may be an input or the output, and DIR may not
be the input folder of frames; inputs kept in DIR under other names are allowed (docs/safety.md). Same table
style as ``tests/test_bad_inputs.py``: exit code, the words of the one error line, SHA-256 of every file
before and after, no file appearing.
"""
from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from test_bad_inputs import Case, run_case, scratch  # noqa: F401 - scratch is a fixture

FAST = ["--steps-first", "1", "--size", "48"]


@pytest.fixture
def folders(scratch):  # noqa: F811 - the fixture imported above
    """State folders holding inputs: under a state name, as a hard link, under a name of their own."""
    (scratch / "state").mkdir()
    shutil.copy(scratch / "style.png", scratch / "state" / "00001.npy")  # a style image kept under a state name
    (scratch / "linked").mkdir()
    os.link(scratch / "style.png", scratch / "linked" / "00000.npy")
    (scratch / "resumed").mkdir()
    os.link(scratch / "style.png", scratch / "resumed" / "video.json")
    (scratch / "mine").mkdir()
    shutil.copy(scratch / "style.png", scratch / "mine" / "style.png")  # a name the state folder never writes
    return scratch


CASES = {
    "a style kept under a frame's state name": Case(
        "state", ["video", "frames", "state/00001.npy", "-o", "out.gif", "--save-state", "state", *FAST],
        ("--save-state would write 'state/00001.npy'", "the style image", "destroy", "nothing was written")),
    "a frame's state file is a hard link of the style": Case(
        "state", ["video", "frames", "style.png", "-o", "out.gif", "--save-state", "linked", *FAST],
        ("--save-state would write 'linked/00000.npy'", "the style image 'style.png'", "destroy")),
    "the record of a resumed video is a hard link of the style": Case(
        "state", ["video", "frames", "style.png", "-o", "out.gif", "--resume", "resumed", *FAST],
        ("--resume would write 'resumed/video.json'", "the style image 'style.png'", "destroy")),
    "the state folder is the input folder": Case(
        "state", ["video", "frames", "style.png", "-o", "out.gif", "--save-state", "frames", *FAST],
        ("--save-state 'frames' is the input folder of frames", "nothing was written")),
    "the input folder through ..": Case(
        "state", ["video", "frames", "style.png", "-o", "out.gif", "--save-state", "folder/../frames", *FAST],
        ("'folder/../frames' is the input folder",)),
    "-o a folder named like the state record": Case(
        "state", ["video", "frames", "style.png", "-o", "state/video.json", "--save-state", "state", *FAST],
        ("-o 'state/video.json' is a file the state folder --save-state 'state' writes", "nothing was written")),
    "the model kept under a frame's state name": Case(
        "state", ["video", "frames", "--model", "state/00001.npy", "-o", "out.gif", "--save-state", "state"],
        ("--save-state would write 'state/00001.npy'", "--model", "destroy")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_state_folder_that_would_replace_an_input_is_refused(name, folders, capsys):
    run_case(CASES[name], folders, capsys)


def _checksums(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv", [
    ["video", "frames", "mine/style.png", "-o", "out.gif", "--save-state", "mine", *FAST],
    ["video", "frames", "style.png", "-o", "mine", "--save-state", "mine", *FAST],
    ["video", "frames", "style.png", "-o", "mine/out.gif", "--save-state", "mine", *FAST],
], ids=["a style under a name of its own", "-o the state folder (00000.png beside 00000.npy)", "-o inside it"])
def test_a_state_folder_that_replaces_no_input_is_allowed(argv, folders, capsys, monkeypatch):
    """Stopped where TensorFlow would be imported: every check passed, nothing written yet."""
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nst_lib.cli_video.import_tensorflow_quietly", interrupt)
    from nst_lib.cli import main

    before = _checksums(folders)
    assert main(argv) == 130, capsys.readouterr().err
    assert "error:" not in capsys.readouterr().err
    assert _checksums(folders) == before
