"""Fast (feed-forward) style transfer: an image-transformation network and its training loop (notebook 10).

Johnson, Alahi & Fei-Fei (ECCV 2016) train a convolutional network to do in one pass what ``stylize``
does by optimising pixels for minutes: map a photo to its stylized version. The network is trained, for
one style, on many photos with the *perceptual loss*, which is exactly the objective of ``stylize``: the
content, style and total-variation losses of :mod:`nst_lib.losses` measured by the same VGG extractor.

The network (:class:`~nst_lib.fast_network.StyleTransferNetwork`, about 0.4 million weights at the default
width 16, half of Johnson et al.'s) is built in :mod:`nst_lib.fast_network`.

Deviations from Johnson et al.: half the width (16 instead of 32 channels in the first layer), content
and style layers and loss normalisation as in ``stylize`` (so the two are directly comparable), a sigmoid
instead of a scaled tanh, and the training photos of :mod:`nst_lib.fast_data` instead of MS-COCO.

The saved model is a normal ``.keras`` file: ``keras.models.load_model`` opens it once this module is
imported (its layers are registered under the ``nst_lib`` package), and its config holds the training
settings, the style's fingerprint, the step count and the loss history. The optimizer is saved with it,
so ``resume=`` continues a run where it stopped.
"""
from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import keras
import numpy as np
import tensorflow as tf

from .backbone import shared_extractor
from .fileio import atomic_file
from .errors import InvalidSettingError
from .fast_data import HELD_OUT_PHOTOS, PhotoSampler
from .fast_network import (  # noqa: F401 - re-exported: notebook 10 builds the network from nst_lib.fast
    ConvBlock,
    InstanceNormalization,
    ReflectionPadding2D,
    ResidualBlock,
    StyleTransferNetwork,
    build_network,
)
from .fast_settings import (ARCHITECTURE_FIELDS, MODEL_FORMAT, ModelFileError, TrainSettings, check_model_file,
                            check_model_path)
from .images import fingerprint, load_image, resize_to
from .losses import content_loss, style_loss, total_variation_loss
from .objective import LayerWeights, build_objective, layer_weights, style_targets
from .optimize import STOP_REASONS as OPTIMIZER_STOP_REASONS
from . import memory
from .precision import PrecisionChoice, resolve_precision

#: Peak memory of one forward pass per pixel at width 16 (:func:`nst_lib.memory.fast_inference_bytes`).
INFERENCE_BYTES_PER_PIXEL = memory.FAST_INFERENCE_BYTES_PER_PIXEL

#: how training can end (the optimiser's words, :data:`nst_lib.optimize.STOP_REASONS`), or ``"loaded"``
STOP_REASONS = {**{reason: OPTIMIZER_STOP_REASONS[reason]
                   for reason in ("steps", "time_budget", "interrupted", "callback", "nonfinite")},
                "loaded": "loaded from a file"}


# ------------------------------------------------------------------------------------------ loss
def perceptual_losses(
    extractor,
    outputs: tf.Tensor,
    content_features: Mapping[str, tf.Tensor],
    style_targets: Mapping[str, Any],
    layer_weights: LayerWeights,
    loss_weights: tuple[float, float, float],
    *,
    style_loss_name: str = "gram",
    seed: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    """The perceptual loss of a batch of network outputs: ``stylize``'s objective, averaged over the batch.

    The content loss compares each output with the photo it was made from; the style loss compares each
    output's statistics with the style's (per image, then averaged); TV smooths. The terms are the
    functions of :mod:`nst_lib.losses`, so the numbers mean the same as in a ``stylize`` history.

    Args:
        extractor: the :class:`~nst_lib.backbone.FeatureExtractor` (content and style layers).
        outputs: (B, H, W, 3) network outputs in [0, 1].
        content_features: layer → (B, h, w, C) features of the input photos at the content layers.
        style_targets: layer → the style's target at that layer: a tuple of tensors of the registered
            statistic (for Gram: ``(gram,)``; see :mod:`nst_lib.losses`).
        layer_weights: the content and style layers' weights (each set summing to 1; see
            :func:`nst_lib.objective.layer_weights`).
        loss_weights: (content_weight, style_weight, tv_weight).
        style_loss_name: the registered style statistic (``TrainSettings.style_loss``).
        seed: int64 (2,) tensor for statistics that draw random numbers (each image gets its own stream).

    Returns:
        ``{"total", "content", "style", "tv", "content/<layer>", "style/<layer>"}`` as scalars.
    """
    content_weight, style_weight, tv_weight = loss_weights
    content_layer_weights, style_layer_weights = layer_weights.content, layer_weights.style
    features = extractor(outputs)
    zero = tf.constant(0.0, tf.float32)
    out: dict[str, tf.Tensor] = {}
    content = zero
    if content_weight > 0 and content_layer_weights:
        content, per_layer = content_loss(features, content_features, content_layer_weights)
        out.update({f"content/{k}": v for k, v in per_layer.items()})
    style = zero
    if style_weight > 0 and style_layer_weights:
        batch = outputs.shape[0]
        seed = tf.zeros((2,), tf.int64) if seed is None else seed
        per_image = [  # each image its own statistics: one Gram matrix per image, not one for the batch
            style_loss({k: features[k][i:i + 1] for k in style_layer_weights}, style_targets, style_layer_weights,
                       statistic=style_loss_name, seed=tf.random.experimental.stateless_fold_in(seed, i))
            for i in range(batch)
        ]
        style = tf.add_n([loss for loss, _ in per_image]) / batch
        out.update({f"style/{k}": tf.add_n([parts[k] for _, parts in per_image]) / batch for k in style_layer_weights})
    tv = total_variation_loss(outputs) if tv_weight > 0 else zero
    out.update(content=content, style=style, tv=tv)
    out["total"] = content_weight * content + style_weight * style + tv_weight * tv
    return out


def style_fingerprint(style_image: np.ndarray) -> str:
    """The style image's fingerprint (:func:`nst_lib.images.fingerprint`: a resumed run must train on the
    same style)."""
    return fingerprint(style_image)


def style_targets_for(extractor, style_image: np.ndarray, style_layers, style_loss_name: str = "gram") -> dict[str, Any]:
    """The style's target at each style layer (:func:`nst_lib.objective.style_targets`), computed once per
    training run."""
    return style_targets(extractor, style_image, style_layers, style_loss_name)


def evaluate_stylization(image: Any, content: Any, style: Any, settings: TrainSettings | None = None) -> dict[str, float]:
    """The losses of ``stylize``'s objective for ``image`` as a stylization of ``content`` with ``style``.

    This is how a network's output and a ``stylize`` result are compared on equal terms (notebook 10 and
    ``benchmarks/fast.py``): the objective (layers and weights) of ``settings``, built by
    :func:`nst_lib.objective.build_objective`, the builder ``stylize`` uses. The content is resized to the
    image; the style to ``settings.style_size`` (as in training; ``stylize`` at that size does the same).

    Returns:
        ``{"total", "content", "style", "tv", "content/<layer>", "style/<layer>"}`` as floats.
    """
    settings = settings or TrainSettings()
    picture = load_image(image)
    photo = load_image(content)
    if photo.shape[:2] != picture.shape[:2]:
        photo = resize_to(photo, *picture.shape[:2])
    style_image = load_image(style, settings.style_size)
    # the substitution notice is not repeated here: train_fast puts it on its notes
    extractor = shared_extractor(settings.content_layers + settings.style_layers, settings.backbone, settings.weights,
                                 warn=False)
    weights = layer_weights(settings, extractor.backbone)
    targets = style_targets(extractor, style_image, tuple(weights.style), settings.style_loss)
    objective = build_objective(extractor, photo, [targets], settings, weights)
    return {k: float(v) for k, v in objective.parts(tf.constant(picture[np.newaxis])).items()}


_POLICY_LOCK = threading.Lock()


def _bfloat16_copy(network: StyleTransferNetwork) -> StyleTransferNetwork:
    """The same network (same float32 weights) built under Keras' ``mixed_bfloat16`` policy: it computes in
    bfloat16. The global policy is set only while the copy is built (under a lock), then restored."""
    with _POLICY_LOCK:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_bfloat16")
        try:
            copy = build_network(network.width, network.residual_blocks)
        finally:
            keras.config.set_dtype_policy(previous)
    copy.set_weights(network.get_weights())
    return copy


# ------------------------------------------------------------------------------------------ training
@dataclass
class TrainProgress:
    """A progress event of :func:`train_fast`, sent to the callback after every step."""

    step: int  # steps done so far, counting those of a resumed run
    steps: int | None  # the step count asked for (None: until the time budget is spent)
    losses: dict[str, float]  # total, content, style, tv of this step's batch (weighted total)
    elapsed: float  # seconds since this call started
    time_budget: float | None
    checkpoint: str | None = None  # the model file written after this step, if one was
    #: the network as it is now applied to an image (path, array, …) → float32 (H, W, 3)
    stylize: Callable[..., np.ndarray] = field(default=lambda image, size=None: np.zeros((0, 0, 3)), repr=False)


@dataclass
class FastModel:
    """A trained fast-transfer network: ``stylize(image)`` in one pass; ``save``/``load`` as ``.keras``.

    Attributes:
        network: the Keras :class:`StyleTransferNetwork` (its ``metadata`` holds the training record).
        stop_reason: why training stopped (see :data:`STOP_REASONS`), or ``"loaded"``.
        message: one sentence about it.
        notes: one-line notices (e.g. VGG16 replacing VGG19).
    """

    network: StyleTransferNetwork
    stop_reason: str = "loaded"
    message: str = STOP_REASONS["loaded"]
    notes: list[str] = field(default_factory=list)
    _infer: dict = field(default_factory=dict, repr=False)  # compute precision → traced inference function
    #: the precision the last :meth:`stylize` ran in, and why (nst_lib.precision)
    last_precision: PrecisionChoice | None = None

    # -------------------------------------------------------------- what the file says
    @property
    def metadata(self) -> dict[str, Any]:
        return self.network.metadata

    @property
    def settings(self) -> TrainSettings:
        """The training settings (those of the latest run on this model)."""
        return TrainSettings.from_dict(self.metadata["settings"])

    @property
    def steps(self) -> int:
        """Training steps done in total."""
        return int(self.metadata.get("steps_done", 0))

    @property
    def train_seconds(self) -> float:
        """Seconds spent training, over all runs (resumed ones included)."""
        return float(self.metadata.get("train_seconds", 0.0))

    @property
    def history(self) -> list[dict[str, float]]:
        """One entry per step: step, seconds (of training so far), total, content, style, tv."""
        keys = ("step", "seconds", "total", "content", "style", "tv")
        return [dict(zip(keys, row)) for row in self.metadata.get("history", [])]

    # -------------------------------------------------------------- inference
    def stylize(self, image: Any, size: int | None = None, precision: str = "float32") -> np.ndarray:
        """Stylize ``image`` (a path, bytes, PIL image or array) in one forward pass.

        Args:
            image: anything :func:`nst_lib.images.load_image` accepts.
            size: long side of the result; ``None`` keeps the image's size.
            precision: ``float32`` (default), ``bfloat16`` or ``auto`` (:mod:`nst_lib.precision`): bfloat16 runs a
                copy of the network under Keras' ``mixed_bfloat16`` policy (same float32 weights, bfloat16
                arithmetic); :attr:`last_precision` says which ran.

        Returns:
            float32 (H, W, 3) in [0, 1].
        """
        picture = load_image(image, size)
        memory.check_fast_inference(picture.shape[:2], self.network.width)
        choice = self.last_precision = resolve_precision(precision)
        if choice.used not in self._infer:
            network = self.network if choice.used == "float32" else _bfloat16_copy(self.network)

            @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
            def infer(batch):
                return tf.cast(network(batch, training=False), tf.float32)

            self._infer[choice.used] = infer
        return self._infer[choice.used](tf.constant(picture[np.newaxis]))[0].numpy()

    # -------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (with its optimizer state and metadata) atomically to a ``.keras`` file."""
        return _save_atomically(self.network, check_model_path(path))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FastModel":
        """Open a model written by :meth:`save` or ``nst train``.

        Raises:
            ModelFileError: the file is missing, is not a ``.keras`` model, or is another kind of model.
        """
        target = Path(path).expanduser()
        check_model_file(target)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras' notes about compiled metrics are not for users
                network = keras.models.load_model(target, compile=True)
        except Exception as exc:  # noqa: BLE001 - truncated zips, bad HDF5 and version skew all mean "unusable"
            raise ModelFileError(f"cannot load model {str(target)!r}: {' '.join(str(exc).split())[:300]}") from None
        if not isinstance(network, StyleTransferNetwork):
            raise ModelFileError(f"{str(target)!r} is not a fast-transfer model (it holds a {type(network).__name__})")
        return cls(network)


def _save_atomically(network: StyleTransferNetwork, target: Path) -> Path:
    """Save with :func:`nst_lib.fileio.atomic_file`: the target is complete or untouched."""
    with atomic_file(target, ".keras") as temporary:
        network.save(temporary)
    return target


@contextmanager
def _graceful_interrupts() -> Iterator[threading.Event]:
    """In the main thread, the first Ctrl-C (SIGINT) sets the yielded event instead of raising, so the loop
    can finish its step and write a checkpoint; a second Ctrl-C raises KeyboardInterrupt as usual."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # pragma: no cover - signals unavailable (embedded interpreters)
        yield event
        return
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def _settings_for(settings: TrainSettings | None, options: dict[str, Any], previous: Optional[FastModel]) -> TrainSettings:
    names = {f for f in TrainSettings.__dataclass_fields__}
    unknown = sorted(set(options) - names)
    if unknown:
        raise InvalidSettingError(f"unknown option(s) {', '.join(unknown)}; valid options are {', '.join(sorted(names))}")
    for key in ("content_layers", "style_layers"):
        value = options.get(key)
        if isinstance(value, str):
            options[key] = tuple(v.strip() for v in value.split(",") if v.strip())
        elif isinstance(value, list):
            options[key] = tuple(value)
    base = settings or (previous.settings if previous is not None else TrainSettings())
    if previous is not None:
        saved = previous.settings
        for name in ARCHITECTURE_FIELDS:
            asked = options.get(name, getattr(base, name))
            if asked != getattr(saved, name):
                raise InvalidSettingError(
                    f"{name}={asked} differs from the resumed model's {name}={getattr(saved, name)}; "
                    "the architecture of a resumed model cannot change"
                )
    return base.replace(**options) if options else base


def train_fast(
    style: Any,
    *,
    images: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    resume: str | os.PathLike | FastModel | None = None,
    callback: Callable[[TrainProgress], Optional[bool]] | None = None,
    settings: TrainSettings | None = None,
    **options: Any,
) -> FastModel:
    """Train a fast-transfer network for ``style`` with the perceptual loss (notebook 10).

    Each step stylizes a batch of random crops of the training photos (:mod:`nst_lib.fast_data`), measures
    the perceptual loss (:func:`perceptual_losses`) and takes an Adam step on the network's weights.

    Args:
        style: the style image: a path, bytes, PIL image or (H, W, 3) array in [0, 1].
        images: a folder of training photos; default the offline photos (two are held out, see
            :data:`nst_lib.fast_data.HELD_OUT_PHOTOS`).
        output: a ``.keras`` file written every ``checkpoint_every`` steps, at the end and on Ctrl-C
            (atomically: an earlier checkpoint stays intact until the new one is complete).
        resume: a model file (or :class:`FastModel`, which is then trained in place) to continue: its weights,
            optimizer state, step count and history are kept; its settings are the defaults for this run,
            ``options`` override them (not the architecture). ``steps`` counts the steps of both runs.
        callback: called with a :class:`TrainProgress` after every step; return ``True`` to stop.
        settings: a :class:`~nst_lib.fast_settings.TrainSettings`; keyword ``options`` override its fields.
        **options: any field of :class:`~nst_lib.fast_settings.TrainSettings` (size, steps, batch_size, …).

    Returns:
        The trained :class:`FastModel`. Ctrl-C (or a KeyboardInterrupt raised by the callback) stops after
        the current step and returns it with ``stop_reason == "interrupted"``, the checkpoint written.

    Raises:
        InvalidSettingError, InvalidImageError, ImageNotFoundError, WeightsError, OutputError,
        ModelFileError: bad input, before any training.
    """
    start = time.perf_counter()
    setup = _prepare_training(style, images, output, resume, settings, options)
    network, optimizer, history, seconds_before = _network_for(setup)
    model = FastModel(network, notes=setup.notes)
    loop = _TrainLoop(setup, model, optimizer, history, seconds_before)
    train_step = _make_train_step(setup, network, optimizer)
    reason = loop.run(train_step, callback, start)
    model.stop_reason = reason
    model.message = STOP_REASONS[reason]
    if reason == "nonfinite":
        model.message = (f"the loss became NaN or infinite at step {loop.step + 1}; lower the learning rate or the "
                         "loss weights (the weights of the last good step were kept)")
    return model


@dataclass
class _TrainingSetup:
    """Everything a training run needs before its first step (checked before any training)."""

    settings: TrainSettings
    previous: Optional[FastModel]
    target: Path | None  # the model file
    images: str | os.PathLike | None
    style_image: np.ndarray
    fingerprint: str
    sampler: PhotoSampler
    extractor: Any
    weights: LayerWeights
    targets: dict
    notes: list[str]


def _prepare_training(style, images, output, resume, settings, options) -> _TrainingSetup:
    previous = None
    if resume is not None:
        previous = resume if isinstance(resume, FastModel) else FastModel.load(resume)
    settings = _settings_for(settings, dict(options), previous)
    target = check_model_path(output) if output is not None else None
    style_image = load_image(style, settings.style_size)
    style_print = fingerprint(style_image)
    if previous is not None and previous.metadata.get("style_sha256") != style_print:
        raise InvalidSettingError(
            "the style image differs from the one the resumed model was trained on; give the same style image "
            "(at the same style_size) or start a new run without resume"
        )
    steps_done = previous.steps if previous is not None else 0
    sampler = PhotoSampler(settings.size, images, seed=settings.seed * 1_000_003 + steps_done)
    precision = resolve_precision(settings.precision)
    extractor = shared_extractor(settings.content_layers + settings.style_layers, settings.backbone, settings.weights,
                                 warn=False, precision=precision.used)
    notes = [extractor.weights_info.notice] if extractor.weights_info.notice else []
    notes.append(f"the loss network (VGG) computes in {precision.used} ({precision.reason})")
    weights = layer_weights(settings, extractor.backbone)
    targets = style_targets(extractor, style_image, tuple(weights.style), settings.style_loss) if weights.style else {}
    return _TrainingSetup(settings, previous, target, images, style_image, style_print, sampler, extractor, weights,
                          targets, notes)


def _network_for(setup: _TrainingSetup):
    """The network and its optimizer (the resumed model's, or new ones), the history and the seconds before,
    with the training record in the network's metadata."""
    settings, previous = setup.settings, setup.previous
    if previous is not None:
        network = previous.network
        optimizer = network.optimizer
        optimizer.learning_rate.assign(settings.learning_rate)
        history = [list(row) for row in previous.metadata.get("history", [])]
        seconds_before = previous.train_seconds
    else:
        network = build_network(settings.width, settings.residual_blocks, seed=settings.seed)
        optimizer = keras.optimizers.Adam(settings.learning_rate)
        network.compile(optimizer=optimizer)  # so that model.save() stores the optimizer state too
        history, seconds_before = [], 0.0
    optimizer.build(network.trainable_variables)
    network.update_metadata(
        format=MODEL_FORMAT,
        settings=settings.to_dict(),
        style_sha256=setup.fingerprint,
        style_shape=list(setup.style_image.shape[:2]),
        backbone=setup.extractor.backbone,
        weights_source=setup.extractor.weights_info.source,
        training_photos=str(Path(setup.images).expanduser().resolve()) if setup.images is not None else setup.sampler.names,
        held_out_photos=[] if setup.images is not None else list(HELD_OUT_PHOTOS),
    )
    return network, optimizer, history, seconds_before


def _make_train_step(setup: _TrainingSetup, network, optimizer):
    """One traced training step: the perceptual loss of a batch and an Adam step on the network's weights
    (skipped when a gradient or the loss is not finite)."""
    extractor, weights, targets, settings = setup.extractor, setup.weights, setup.targets, setup.settings
    loss_weights = (settings.content_weight, settings.style_weight, settings.tv_weight)
    variables = network.trainable_variables

    @tf.function(reduce_retracing=True)
    def train_step(photos, seed):
        content_features = extractor(photos)
        content_features = {k: content_features[k] for k in weights.content}
        with tf.GradientTape() as tape:
            outputs = network(photos, training=True)
            parts = perceptual_losses(extractor, outputs, content_features, targets, weights, loss_weights,
                                      style_loss_name=settings.style_loss, seed=seed)
        gradients = tape.gradient(parts["total"], variables)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients] + [tf.math.is_finite(parts["total"])])
        if finite:  # a NaN step leaves the weights and the optimizer as they were
            optimizer.apply_gradients(zip(gradients, variables))
        return parts, finite

    return train_step


class _TrainLoop:
    """The steps of a training run: budget, Ctrl-C, NaN, checkpoints every ``checkpoint_every`` steps and at
    the end, the callback."""

    def __init__(self, setup: _TrainingSetup, model: FastModel, optimizer, history: list, seconds_before: float):
        self.setup, self.settings, self.model, self.network = setup, setup.settings, model, model.network
        self.optimizer, self.history, self.seconds_before = optimizer, history, seconds_before
        self.run_seconds = 0.0  # time spent in steps in this call
        self.step = int(optimizer.iterations.numpy())

    def record(self, reason: str) -> None:
        self.network.update_metadata(steps_done=int(self.optimizer.iterations.numpy()),
                                     train_seconds=self.seconds_before + self.run_seconds, history=self.history,
                                     stop_reason=reason)

    def checkpoint(self, reason: str) -> str | None:
        self.record(reason)
        if self.setup.target is None:
            return None
        _save_atomically(self.network, self.setup.target)
        return str(self.setup.target)

    def run(self, train_step, callback, start: float) -> str:
        """Train until the steps, the budget, Ctrl-C, a NaN or the callback end it; returns the reason."""
        with _graceful_interrupts() as interrupted:
            try:
                reason = self._steps(train_step, callback, start, interrupted)
            except KeyboardInterrupt:  # raised by a callback, or a second Ctrl-C, or outside the main thread
                reason = "interrupted"
            previous = self.setup.previous
            if self.step > (previous.steps if previous is not None else 0) or self.setup.target is not None:
                try:
                    self.checkpoint(reason)
                except KeyboardInterrupt:  # Ctrl-C while saving: the previous checkpoint is intact
                    reason = "interrupted"
            else:
                self.record(reason)
        return reason

    def _steps(self, train_step, callback, start: float, interrupted) -> str:
        settings, last_step_seconds = self.settings, 0.0
        while True:
            if settings.steps is not None and self.step >= settings.steps:
                return "steps"
            elapsed = time.perf_counter() - start
            if settings.time_budget is not None and elapsed + 0.5 * last_step_seconds >= settings.time_budget:
                return "time_budget"
            if interrupted.is_set():
                return "interrupted"
            step_start = time.perf_counter()
            photos = tf.constant(self.setup.sampler.batch(settings.batch_size))
            parts, finite = train_step(photos, tf.constant([settings.seed, self.step], tf.int64))
            values = {k: float(v) for k, v in parts.items() if "/" not in k}
            last_step_seconds = time.perf_counter() - step_start
            self.run_seconds += last_step_seconds
            if not bool(finite):
                return "nonfinite"
            self.step = int(self.optimizer.iterations.numpy())
            self.history.append([self.step, round(self.seconds_before + self.run_seconds, 3),
                                 *(float(f"{values[k]:.6g}") for k in ("total", "content", "style", "tv"))])
            written = self.checkpoint("checkpoint") if self.step % settings.checkpoint_every == 0 else None
            if callback is not None:
                event = TrainProgress(self.step, settings.steps, values, time.perf_counter() - start,
                                      settings.time_budget, written, self.model.stylize)
                if callback(event):
                    return "callback"
