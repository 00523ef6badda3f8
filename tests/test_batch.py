"""``nst batch`` on Dask: two worker processes of a LocalCluster give the same images as one; results are
reported in input order; a failed photo is reported and the others go on; a re-run skips finished outputs;
bad arguments are one ``error:`` line before any worker starts."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_lib.cli import main

from conftest import make_content, make_style, write_png


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained fast network (4 channels, 1 residual block): a real model file that runs in milliseconds."""
    from nst_lib.fast import FastModel, build_network
    from nst_lib.fast_settings import MODEL_FORMAT

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    FastModel(build_network(4, 1, seed=0, metadata={"format": MODEL_FORMAT})).save(path)
    return path


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    return [write_png(folder / f"photo_{i}.png", make_content(40 + 4 * i, 48, seed=i)) for i in range(8)]


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as image:
            out[path.name] = np.asarray(image)
    return out


@pytest.mark.slow
def test_two_workers_give_the_images_of_one_stream_in_order_and_skip_finished_outputs(tmp_path, photos, tiny_model,
                                                                                      capsys):
    broken = photos[0].parent / "photo_3b.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)  # between photo_3 and photo_4 by name
    model = ["--model", str(tiny_model)]
    assert main(["batch", str(photos[0].parent), *model, "-o", str(tmp_path / "two"), "--workers", "2"]) == 1
    captured = capsys.readouterr()
    written = re.findall(r"wrote \S+/(photo_\d+)\.png", captured.out)
    assert written == [f"photo_{i}" for i in range(8)]  # in input order, as they streamed back
    failures = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1 and "photo_3b.png" in failures[0], captured.err
    assert "9 photo(s): 8 written, 0 skipped (already there), 1 failed" in captured.err
    assert "Traceback" not in captured.err

    assert main(["batch", *map(str, photos), *model, "-o", str(tmp_path / "one"), "--workers", "1", "--quiet"]) == 0
    two, one = _pixels(tmp_path / "two"), _pixels(tmp_path / "one")
    assert sorted(two) == sorted(one) == [f"photo_{i}.png" for i in range(8)]
    for name in one:
        assert one[name].shape == (40 + 4 * int(name[6]), 48, 3)
        assert np.array_equal(one[name], two[name]), name

    capsys.readouterr()
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "two").iterdir()}
    assert main(["batch", *map(str, photos), *model, "-o", str(tmp_path / "two"), "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert len(re.findall(r"^skipped \S+ \(it exists\)$", captured.out, re.M)) == 8
    assert "8 photo(s): 0 written, 8 skipped" in captured.out
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "two").iterdir()} == stamps


@pytest.mark.slow
def test_a_batch_by_optimisation_writes_every_photo(tmp_path, photos, offline_weights, capsys):
    style = write_png(tmp_path / "style.png", make_style())
    args = ["batch", *map(str, photos[:2]), str(style), "-o", str(tmp_path / "out"), "--size", "48", "--steps", "2",
            "--workers", "1", "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photo_0.png", "photo_1.png"]
    assert capsys.readouterr().err == ""


def test_bad_batch_arguments_are_one_error_line_before_any_worker(tmp_path, photos, tiny_model, capsys):
    style = write_png(tmp_path / "style.png", make_style())
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    twin = tmp_path / "other"
    twin.mkdir()
    write_png(twin / "photo_0.png", make_content())
    cases = [
        ([str(photos[0]), "-o", str(tmp_path / "o")], "at least one INPUT and then a STYLE"),
        ([str(tmp_path / "missing.png"), str(style), "-o", str(tmp_path / "o")], "does not exist"),
        ([str(tmp_path / "empty"), str(style), "-o", str(tmp_path / "o")], "holds no image"),
        ([str(photos[0]), str(style), "-o", str(tmp_path / "file")], "is a file"),
        ([str(photos[0]), str(style), "-o", str(tmp_path / "no" / "o")], "does not exist"),
        ([str(photos[0]), str(twin / "photo_0.png"), str(style), "-o", str(tmp_path / "o")], "would both be written"),
        ([str(photos[0]), str(style), "-o", str(tmp_path / "o"), "--workers", "0"], "--workers must be"),
        ([str(photos[0]), "--model", str(tiny_model), "--steps", "3", "-o", str(tmp_path / "o")], "cannot be used with --model"),
        ([str(photos[0]), "--model", str(style), "-o", str(tmp_path / "o")], "not a Keras model file"),
        ([str(photos[0]), str(style), "-o", str(tmp_path / "o"), "--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
    ]
    for args, words in cases:
        assert main(["batch", *args]) == 2, args
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], (args, err)
    assert not (tmp_path / "o").exists()
