"""Numeric precision of the networks: float32, or bfloat16 where the processor computes it natively.

bfloat16 keeps float32's 8-bit exponent and cuts the mantissa to 7 bits, so VGG's activations take less
memory (how much less in a whole run is not calibrated yet: ``nst_lib.memory.ACTIVATION_BYTES``) and, on
a processor with bfloat16 dot-product instructions (x86 ``avx512_bf16`` or AMX; ARM's ``bf16``), the
convolutions take about half the time. Only the networks run in it: the feature maps leave
the extractor as float32, so Gram matrices, losses, the optimiser's state and the image stay float32
(``docs/precision.md`` has the measurements behind this split).

``precision="auto"`` (the default) picks bfloat16 only when both hold:

1. the processor has native bfloat16 (:func:`native_bfloat16`, read from ``/proc/cpuinfo``); without it
   TensorFlow emulates bfloat16 and is slower than float32;
2. a short measurement (:func:`measure_speedup`: one value-and-gradient of VGG's first blocks, float32 and
   bfloat16 interleaved) shows bfloat16 faster. It is made once per machine and TensorFlow version and
   cached in ``$KERAS_HOME/nst_precision.json`` (:func:`cache_path`).

Otherwise float32. :func:`resolve_precision` returns the choice with a sentence saying why; ``stylize``
puts it on :attr:`~nst_lib.transfer.Result.precision` and ``nst info`` prints it.
"""
from __future__ import annotations

import importlib.metadata

import json
import os
import platform
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import PRECISIONS  # noqa: F401 - the values of StyleConfig.precision / --precision
from .errors import InvalidSettingError
from .startup import import_tensorflow_quietly
from .weights import keras_cache_dir

#: the precisions a network can really run in
COMPUTE_PRECISIONS = ("float32", "bfloat16")
#: x86 flags (``/proc/cpuinfo``) that mean bfloat16 dot products in hardware
X86_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
#: ARM feature (``/proc/cpuinfo`` "Features") for BFDOT/BFMMLA
ARM_BFLOAT16_FEATURE = "bf16"
#: ``auto`` picks bfloat16 when its measured time is below this fraction of float32's
AUTO_THRESHOLD = 0.9
CACHE_NAME = "nst_precision.json"
CACHE_VERSION = 1


@dataclass(frozen=True)
class PrecisionChoice:
    """Which precision a run uses and why.

    ``requested`` is the setting (auto, float32, bfloat16); ``used`` is float32 or bfloat16; ``reason`` is
    one sentence for people; ``speed_ratio`` is the cached measurement (bfloat16 time / float32 time) when
    ``auto`` consulted one.
    """

    requested: str
    used: str
    reason: str
    speed_ratio: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_precision(value: object, name: str = "precision") -> str:
    """``value`` if it is one of :data:`PRECISIONS`, else :class:`InvalidSettingError` naming them."""
    if value not in PRECISIONS:
        raise InvalidSettingError(f"{name} must be one of {', '.join(PRECISIONS)}; got {value!r}")
    return str(value)


# ------------------------------------------------------------------------------------ the processor
def cpu_description(cpuinfo: str | None = None) -> dict:
    """The processor's model name, architecture and bfloat16-related flags (from ``/proc/cpuinfo``)."""
    text = _read_cpuinfo() if cpuinfo is None else cpuinfo
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu part") and not model:
            model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return {"model": model or platform.processor() or "unknown", "machine": platform.machine(),
            "bfloat16_flags": sorted(flags & {*X86_BFLOAT16_FLAGS, ARM_BFLOAT16_FEATURE}),
            "cpus": os.cpu_count()}


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:  # not Linux: no flags known, so auto stays float32
        return ""


def native_bfloat16(cpuinfo: str | None = None) -> tuple[bool, str]:
    """(True, which flag) when the processor computes bfloat16 natively; (False, why not) otherwise."""
    description = cpu_description(cpuinfo)
    found = description["bfloat16_flags"]
    if found:
        return True, f"the processor ({description['model']}) has {', '.join(found)}"
    if not (cpuinfo if cpuinfo is not None else _read_cpuinfo()):
        return False, f"the processor's features are unknown on {platform.system() or 'this system'} (no /proc/cpuinfo)"
    return False, (f"the processor ({description['model']}) has no native bfloat16 "
                   f"({' or '.join(X86_BFLOAT16_FLAGS)} on x86, {ARM_BFLOAT16_FEATURE} on ARM)")


# ------------------------------------------------------------------------------------ the measurement
def measure_speedup(size: int = 96, repeats: int = 5) -> dict:
    """Time one value-and-gradient through VGG's first three blocks in float32 and in bfloat16.

    Random weights (timing only), runs interleaved, median of ``repeats`` each after a warm-up; about two
    seconds. Returns ``{"float32": s, "bfloat16": s, "ratio": bfloat16 / float32, "size": size}``.
    """
    tf = _tensorflow()
    image = tf.random.stateless_uniform((1, size, size, 3), seed=(0, 0))
    steps = {name: _timed_step(_probe_network(name), image) for name in COMPUTE_PRECISIONS}
    for step in steps.values():
        step()  # trace and warm up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {**medians, "ratio": medians["bfloat16"] / medians["float32"], "size": size}


def _tensorflow():
    """TensorFlow, started without its C++ start-up lines (``auto`` may decide before anything else imports it)."""
    import_tensorflow_quietly()
    import tensorflow as tf  # lazy: the precision of a run is decided before TensorFlow is needed

    return tf


def _probe_network(precision: str):
    import keras

    inputs = keras.Input(shape=(None, None, 3))
    x = inputs
    for block, (convs, channels) in enumerate(((2, 64), (2, 128), (3, 256))):
        for _ in range(convs):
            x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", dtype=layer_dtype(precision))(x)
        if block < 2:
            x = keras.layers.MaxPooling2D(2, dtype=layer_dtype(precision))(x)
    return keras.Model(inputs, x)


def _timed_step(model, image):
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            features = tf.cast(model(x), tf.float32)
            loss = tf.reduce_mean(tf.square(features))
        return loss, tape.gradient(loss, x)

    return lambda: [t.numpy() for t in step(image)]


def layer_dtype(precision: str) -> str:
    """The Keras layer dtype policy for a compute precision: float32 weights, bfloat16 arithmetic."""
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


# ------------------------------------------------------------------------------------ the cached choice
def cache_path() -> Path:
    """Where the measurement is kept: ``$KERAS_HOME/nst_precision.json`` (``~/.keras`` by default)."""
    return keras_cache_dir() / CACHE_NAME


def machine_key() -> str:
    """What a cached measurement depends on: processor, core count, TensorFlow version."""
    description = cpu_description()
    return f"{description['model']}|{description['machine']}|{description['cpus']} cpus|tf {tensorflow_version()}"


#: the distributions TensorFlow comes in (the first one installed gives the version)
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly")


def tensorflow_version() -> str:
    """The installed TensorFlow's version, read from its package metadata: deciding ``auto`` from the cache
    does not import TensorFlow (seconds), so a run refused by its memory plan is refused at once. Imports
    it only when no known distribution is installed (a build from source)."""
    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return _tensorflow().__version__


def cached_measurement(measure=measure_speedup) -> dict:
    """The bfloat16/float32 measurement for this machine: from the cache file, or made now and saved.

    A cache that cannot be read or written (read-only home, a corrupt file) only means measuring again.
    """
    path, key = cache_path(), machine_key()
    try:
        saved = json.loads(path.read_text())
        if saved.get("version") == CACHE_VERSION and saved.get("machine") == key:
            return saved["measurement"]
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    measurement = measure()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"version": CACHE_VERSION, "machine": key, "measurement": measurement,
                                         "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        os.replace(temporary, path)
    except OSError:
        pass
    return measurement


_RESOLVED: dict[str, PrecisionChoice] = {}
_LOCK = threading.Lock()


def resolve_precision(requested: str = "auto") -> PrecisionChoice:
    """The precision a run with setting ``requested`` uses here, and why (``auto`` decided once per process).

    Raises:
        InvalidSettingError: ``requested`` is not one of :data:`PRECISIONS`.
    """
    check_precision(requested)
    if requested != "auto":
        native, why = native_bfloat16()
        reason = "requested"
        if requested == "bfloat16" and not native:
            reason = f"requested, although {why}: expect it slower than float32"
        return PrecisionChoice(requested, requested, reason)
    with _LOCK:
        if "auto" not in _RESOLVED:
            _RESOLVED["auto"] = _decide_auto()
        return _RESOLVED["auto"]


def _decide_auto() -> PrecisionChoice:
    native, why = native_bfloat16()
    if not native:
        return PrecisionChoice("auto", "float32", f"auto: {why}")
    measurement = cached_measurement()
    ratio = float(measurement["ratio"])
    faster = ratio < AUTO_THRESHOLD
    verdict = "faster" if faster else f"not faster enough (needs < {AUTO_THRESHOLD:g})"
    return PrecisionChoice(
        "auto", "bfloat16" if faster else "float32",
        f"auto: {why}, and bfloat16 took {ratio:.2f}× float32's time in this machine's measurement "
        f"({verdict}; cached in {cache_path()})", ratio)


def forget_auto_choice() -> None:
    """Drop the process's ``auto`` decision (tests; after deleting the cache file)."""
    with _LOCK:
        _RESOLVED.clear()


def describe_precision(requested: str = "auto") -> str:
    """One line for ``nst info``: the precision ``requested`` resolves to here, and why."""
    choice = resolve_precision(requested)
    return f"precision {requested}: {choice.used} ({choice.reason})"
