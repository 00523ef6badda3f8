"""The precision setting (nst_lib/precision.py): detection, the cached auto choice, bfloat16 VGG, the contract.

The processor detection and the measurement are mocked both ways, so these tests mean the same on a
machine with native bfloat16 and on one without.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import make_content, make_style, write_png
from nst_lib import precision
from nst_lib.cli import main
from nst_lib.config import StyleConfig
from nst_lib.errors import InvalidSettingError

EPYC = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n"
SKYLAKE = "processor\t: 0\nmodel name\t: Intel Xeon Skylake\nflags\t\t: fpu sse avx2 avx512f avx512bw\n"
SAPPHIRE = "model name\t: Intel Xeon Sapphire Rapids\nflags\t\t: avx512f amx_tile amx_bf16 amx_int8\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes sve bf16 i8mm\nCPU part\t: 0xd40\n"
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\nCPU part\t: 0xd0c\n"


@pytest.mark.parametrize("cpuinfo, native", [(EPYC, True), (SAPPHIRE, True), (GRAVITON3, True),
                                             (SKYLAKE, False), (GRAVITON2, False), ("", False)])
def test_native_bfloat16_is_read_from_the_processor_flags(cpuinfo, native):
    found, why = precision.native_bfloat16(cpuinfo)
    assert found is native
    assert why  # a sentence either way
    if native:
        assert any(flag in why for flag in ("avx512_bf16", "amx_bf16", "bf16"))


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A temporary Keras home (so the cache file is the test's own) and no decision kept from before."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    precision.forget_auto_choice()
    yield tmp_path / "keras" / precision.CACHE_NAME
    precision.forget_auto_choice()


def _mock(monkeypatch, native: bool, ratio: float | None = None):
    calls = []
    monkeypatch.setattr(precision, "native_bfloat16", lambda cpuinfo=None: (native, "mocked processor"))

    def measure():
        calls.append(1)
        return {"float32": 1.0, "bfloat16": ratio, "ratio": ratio, "size": 96}

    monkeypatch.setattr(precision, "measure_speedup", measure)
    monkeypatch.setattr(precision.cached_measurement, "__defaults__", (measure,))
    return calls


def test_auto_is_float32_without_native_bfloat16_and_measures_nothing(fresh, monkeypatch):
    calls = _mock(monkeypatch, native=False, ratio=0.5)
    choice = precision.resolve_precision("auto")
    assert (choice.requested, choice.used) == ("auto", "float32")
    assert "mocked processor" in choice.reason
    assert calls == [] and not fresh.exists()


def test_auto_is_bfloat16_when_native_and_measured_faster_and_the_measurement_is_cached(fresh, monkeypatch):
    calls = _mock(monkeypatch, native=True, ratio=0.55)
    choice = precision.resolve_precision("auto")
    assert choice.used == "bfloat16" and choice.speed_ratio == pytest.approx(0.55)
    assert "0.55" in choice.reason and str(fresh) in choice.reason
    saved = json.loads(fresh.read_text())
    assert saved["measurement"]["ratio"] == pytest.approx(0.55) and saved["machine"] == precision.machine_key()
    precision.forget_auto_choice()  # a new process: reads the file, does not measure again
    assert precision.resolve_precision("auto").used == "bfloat16"
    assert len(calls) == 1


def test_auto_is_float32_when_native_but_not_faster(fresh, monkeypatch):
    _mock(monkeypatch, native=True, ratio=1.3)
    choice = precision.resolve_precision("auto")
    assert choice.used == "float32" and "not faster" in choice.reason


def test_a_corrupt_or_foreign_cache_is_measured_again(fresh, monkeypatch):
    calls = _mock(monkeypatch, native=True, ratio=0.5)
    fresh.parent.mkdir(parents=True)
    fresh.write_text("{not json")
    assert precision.resolve_precision("auto").used == "bfloat16"
    precision.forget_auto_choice()
    fresh.write_text(json.dumps({"version": precision.CACHE_VERSION, "machine": "another machine",
                                 "measurement": {"ratio": 2.0}}))
    assert precision.resolve_precision("auto").used == "bfloat16"
    assert len(calls) == 2


def test_forced_precisions_are_used_and_bfloat16_without_hardware_says_so(fresh, monkeypatch):
    calls = _mock(monkeypatch, native=False)
    assert precision.resolve_precision("float32").used == "float32"
    choice = precision.resolve_precision("bfloat16")
    assert choice.used == "bfloat16" and "slower" in choice.reason
    assert calls == []


def test_bad_precision_values_are_refused_with_the_allowed_ones():
    with pytest.raises(InvalidSettingError, match="precision must be one of auto, float32, bfloat16; got 'float16'"):
        StyleConfig(precision="float16")
    with pytest.raises(InvalidSettingError, match="auto, float32, bfloat16"):
        precision.resolve_precision("half")


def test_the_cli_refuses_a_bad_precision_and_info_explains_the_choice(fresh, monkeypatch, capsys, tmp_path):
    content = write_png(tmp_path / "c.png", make_content())
    code = main(["stylize", str(content), str(content), "-o", str(tmp_path / "o.png"), "--precision", "half"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "precision" in err[0]
    _mock(monkeypatch, native=False)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "processor:" in out and "weights:" in out and "precision auto: float32" in out


def test_a_bfloat16_extractor_returns_float32_features_close_to_float32(offline_weights):
    from nst_lib.backbone import FeatureExtractor

    layers = ["block1_conv1", "block3_conv1", "block5_conv2"]
    image = make_content(48, 48)[np.newaxis]
    full = FeatureExtractor(layers, "vgg16", precision="float32")(image)
    half = FeatureExtractor(layers, "vgg16", precision="bfloat16")(image)
    for name in layers:
        assert half[name].dtype.name == "float32"
        a, b = full[name].numpy(), half[name].numpy()
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.05, name  # bfloat16 keeps ~3 significant digits
    with pytest.raises(InvalidSettingError, match="auto"):
        FeatureExtractor(layers, "vgg16", precision="auto")


def test_stylize_in_bfloat16_says_so_is_reproducible_and_optimises(offline_weights, fresh, monkeypatch):
    import nst_lib

    content, style = make_content(48, 48), make_style(48, 48)
    settings = dict(size=48, steps=6, backbone="vgg16")
    first = nst_lib.stylize(content, style, precision="bfloat16", **settings)
    again = nst_lib.stylize(content, style, precision="bfloat16", **settings)
    assert first.precision.used == "bfloat16" and first.precision.requested == "bfloat16"
    np.testing.assert_array_equal(first.image, again.image)  # reproducible for a given precision
    assert first.image.dtype == np.float32
    assert first.history[-1]["total"] < 0.5 * first.history[0]["total"]
    _mock(monkeypatch, native=False)  # auto on a processor without bfloat16
    plain = nst_lib.stylize(content, style, **settings)
    assert plain.precision.used == "float32" and plain.precision.requested == "auto"
    # the same objective, evaluated in float32, after the same iterations: bfloat16 is not worse by much
    objective = nst_lib.transfer.make_objective(content, style, precision="float32", **settings)
    values = [float(objective.parts(r.image[np.newaxis])["total"]) for r in (first, plain)]
    assert values[0] < 1.25 * values[1], values


def test_fast_model_inference_in_bfloat16_is_close_to_float32_and_says_so():
    import keras

    from nst_lib.fast import FastModel, build_network

    model = FastModel(build_network(8, 1, seed=0))
    image = make_content(48, 48)
    full = model.stylize(image)
    half = model.stylize(image, precision="bfloat16")
    assert model.last_precision.used == "bfloat16" and half.dtype == np.float32
    assert np.abs(full - half).mean() < 0.01 and np.abs(full - half).max() < 0.1
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    assert model.stylize(image, precision="float32").tobytes() == full.tobytes()


def test_train_settings_take_the_precision_and_refuse_bad_ones():
    from nst_lib.fast_settings import TrainSettings

    assert TrainSettings().precision == "auto"
    assert TrainSettings(precision="bfloat16").precision == "bfloat16"
    with pytest.raises(InvalidSettingError, match="precision must be one of auto, float32, bfloat16"):
        TrainSettings(precision="fp8")


def test_the_cache_key_names_tensorflows_version_without_importing_it():
    """Deciding ``auto`` from the cache must not start TensorFlow: a run its memory plan refuses is refused
    at once (it took 11 s of TensorFlow import before, on a loaded machine)."""
    import subprocess
    import sys

    import tensorflow as tf

    code = ("import sys; from nst_lib import precision; key = precision.machine_key(); "
            "print(key); assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"|tf {tf.__version__}")  # the same key as before: old caches still count
