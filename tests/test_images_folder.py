"""The top-level ``images/`` folder: the style images live there once, an installed wheel still has them,
its README is current, and photos dropped into ``images/yours/`` are found by name (``example:NAME``, the
notebooks' example menus)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_lib import cli_common, data
from nst_lib.errors import InvalidSettingError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import make_style_images  # noqa: E402


@pytest.fixture
def yours(tmp_path, monkeypatch):
    """A project folder with images/yours/ holding one photo, as the current folder (a notebook runs in a
    subfolder: the lookup goes up)."""
    folder = tmp_path / "images" / "yours"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(80, 120, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "my_cat.png")
    (folder / "notes.txt").write_text("not an image")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv(data.YOUR_IMAGES_ENV, raising=False)
    return folder, pixels


def test_the_style_images_live_in_images_styles_and_nowhere_else_in_the_repository():
    for name in data.list_style_images():
        assert (REPO / "images" / "styles" / f"{name}.png").is_file()
        assert data.style_image_path(name) == REPO / "images" / "styles" / f"{name}.png"
    tracked = subprocess.run(["git", "ls-files", "*.png"], cwd=REPO, capture_output=True, text=True).stdout.split()
    copies = [p for p in tracked if Path(p).stem in data.STYLE_IMAGES and not p.startswith("images/styles/")]
    assert not copies, f"a second copy of a style image can drift: {copies}"


def test_images_readme_is_what_the_script_writes_and_names_every_image():
    text = (REPO / "images" / "README.md").read_text(encoding="utf-8")
    assert text == make_style_images.readme_text(), "images/README.md is stale: python scripts/make_style_images.py"
    for name in [*data.list_style_images(), *data.list_content_images()]:
        assert f"`{name}`" in text
    assert "images/yours/" in text


def test_example_name_finds_a_photo_dropped_into_images_yours(yours):
    folder, pixels = yours
    assert data.your_images_dir().resolve() == folder.resolve()
    assert data.list_your_images() == ["my_cat"]  # notes.txt is not an image
    image = cli_common.load_source("example:my_cat")  # what `nst stylize example:my_cat …` loads
    assert image.shape == (80, 120, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image, pixels / 255.0, atol=1e-6)
    assert data.example_image("my_cat", size=60).shape == (40, 60, 3)
    assert data.example_image("swirls", size=32).shape == (32, 32, 3)  # bundled names still work
    with pytest.raises(cli_common.UsageError, match=r"unknown example 'my_dog'.*my_cat.*images/yours"):
        cli_common.load_source("example:my_dog")
    with pytest.raises(InvalidSettingError, match=r"no photo named 'my_dog' in .*yours.*my_cat"):
        data.your_image("my_dog")


def test_nst_examples_lists_your_photos(yours):
    folder, _ = yours
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "nst_lib.cli", "examples"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    section = lines.index(f"Your photos (in {folder.resolve()})")
    assert lines[section + 1].split() == ["my_cat", "my_cat.png"] and lines[section + 2] == ""


def test_the_environment_variable_names_another_folder(tmp_path, monkeypatch):
    Image.new("RGB", (80, 40), "red").save(tmp_path / "poster.jpg")
    monkeypatch.setenv(data.YOUR_IMAGES_ENV, str(tmp_path))
    assert data.list_your_images() == ["poster"]
    assert data.example_image("poster").shape == (40, 80, 3)


def test_the_notebooks_example_menus_offer_your_photos(yours):
    pytest.importorskip("ipywidgets")
    from nst_lib.course.widgets.common import example_options, load_example

    options = dict((key, label) for label, key in example_options(("content",)))
    assert options["yours:my_cat"] == "my_cat (yours)"
    assert load_example("yours:my_cat", 60).shape == (40, 60, 3)
    # replaced under the same name: the menu shows the new photo, not a cached old one
    Image.new("RGB", (40, 80), "blue").save(yours[0] / "my_cat.png")
    assert load_example("yours:my_cat").shape == (80, 40, 3)


@pytest.mark.slow
def test_a_non_editable_install_has_the_style_images(tmp_path):
    """`pip install .` (a wheel, not the checkout): the styles are package data and load from there."""
    source, wheels = tmp_path / "source", tmp_path / "wheels"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "nst_lib", "images"):  # what a build reads (pip builds in-tree)
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__", "yours")}
                                            if (REPO / name).is_dir() else {}))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("nst_lib-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in data.list_style_images():
            shipped = archive.read(f"nst_lib/styles/{name}.png")
            original = (REPO / "images" / "styles" / f"{name}.png").read_bytes()
            assert hashlib.sha256(shipped).digest() == hashlib.sha256(original).digest(), name
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                              str(target), str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    code = ("import nst_lib.data as d; p = d.style_image_path('swirls'); print(p); "
            "print(d.style_image('swirls', size=64).shape)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(target)})
    assert run.returncode == 0, run.stderr[-2000:]
    path, shape = run.stdout.split("\n")[:2]
    assert Path(path).resolve().is_relative_to(target.resolve()), path  # the installed copy, not the checkout
    assert shape == "(64, 64, 3)"
