"""The registry of style statistics: how a feature map's style is summarised and compared (notebook 09).

:class:`StyleStatistic` names the two functions of a statistic (targets, distance);
:func:`register_style_statistic` adds one under the name ``StyleConfig.style_loss`` accepts. Gram is
registered here (the default), the statistics beyond it by :mod:`nst_lib.statistics` (which
:mod:`nst_lib.losses` imports), so every statistic is known wherever a loss is computed.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import tensorflow as tf

from .errors import InvalidSettingError
from .gram import gram_matrix

#: A style target at one layer: a tuple of tensors (for Gram: ``(gram,)``).
StyleStatistics = tuple


# --------------------------------------------------------------------------------- style statistics
@dataclass(frozen=True)
class StyleStatistic:
    """One way to summarise the style of a feature map, registered under ``name``.

    Attributes:
        name: the value of ``StyleConfig.style_loss`` that selects it.
        targets: ``targets(features) -> tuple of tensors``: the statistics of a style image's (1, h, w, C)
            features at one layer (for Gram: ``(gram,)``).
        distance: ``distance(features, target, mask, seed) -> scalar``: how far the (1, h, w, C) features of
            the image being optimised are from ``target``. ``mask`` is ``None`` or a (1, h, w) weight map in
            [0, 1] already at the features' resolution (a guided statistic describes only that region);
            ``seed`` is an int64 tensor of shape (2,) (the run's seed and the evaluation number), for
            ``tf.random.stateless_*`` ops that must change at every evaluation yet stay reproducible.
        blend: ``blend(targets, weights) -> tuple``: one target from the targets of several style images
            (weights sum to 1). Default: the weighted sum of each element.
        description: one line for documentation and the CLI.
        stochastic: the distance draws random numbers from ``seed``, so the loss changes between
            evaluations (L-BFGS then redraws them per block of iterations: ``optimize.run_lbfgs_redrawing``).
    """

    name: str
    targets: Callable[[tf.Tensor], StyleStatistics]
    distance: Callable[[tf.Tensor, StyleStatistics, "tf.Tensor | None", tf.Tensor], tf.Tensor]
    blend: Callable[[Sequence[StyleStatistics], Sequence[Any]], StyleStatistics] | None = None
    description: str = ""
    stochastic: bool = False

    def blend_targets(self, targets: Sequence[StyleStatistics], weights: Sequence[Any]) -> StyleStatistics:
        """Blend the targets of several style images (weights summing to 1)."""
        if self.blend is not None:
            return tuple(self.blend(targets, weights))
        return tuple(tf.add_n([w * t[i] for t, w in zip(targets, weights)]) for i in range(len(targets[0])))


_STATISTICS: dict[str, StyleStatistic] = {}
_STATISTICS_LOCK = threading.Lock()


def register_style_statistic(
    name: str,
    targets: Callable[[tf.Tensor], StyleStatistics],
    distance: Callable[..., tf.Tensor],
    *,
    blend: Callable[[Sequence[StyleStatistics], Sequence[Any]], StyleStatistics] | None = None,
    description: str = "",
    stochastic: bool = False,
) -> StyleStatistic:
    """Register a style statistic under ``name`` (see :class:`StyleStatistic`); returns it.

    Registering the same name again replaces the earlier entry (useful while developing in a notebook).
    The name must also be listed in :data:`nst_lib.config.STYLE_LOSSES` to be accepted by ``StyleConfig``.
    """
    statistic = StyleStatistic(name, targets, distance, blend, description, stochastic)
    with _STATISTICS_LOCK:
        _STATISTICS[name] = statistic
    return statistic


def style_statistic(name: str) -> StyleStatistic:
    """The registered statistic called ``name``.

    Raises:
        InvalidSettingError: no statistic has that name (the message lists the registered ones).
    """
    try:
        return _STATISTICS[name]
    except KeyError:
        raise InvalidSettingError(
            f"unknown style loss {name!r}; registered style losses are {', '.join(style_statistic_names())}"
        ) from None


def style_statistic_names() -> tuple[str, ...]:
    """Names of the registered style statistics."""
    return tuple(_STATISTICS)


# ------------------------------------------------------------------------------- the default: Gram
def gram_targets(features: tf.Tensor) -> StyleStatistics:
    """``(gram,)``: the (C, C) Gram matrix of (1, h, w, C) style features."""
    return (gram_matrix(features)[0],)


def gram_distance(features: tf.Tensor, target: StyleStatistics, mask: tf.Tensor | None = None,
                  seed: tf.Tensor | None = None) -> tf.Tensor:
    """mean((G − A)²) with G the (optionally mask-guided) Gram matrix of ``features``."""
    del seed  # deterministic
    return tf.reduce_mean(tf.square(gram_matrix(features, mask)[0] - target[0]))


register_style_statistic(
    "gram", gram_targets, gram_distance,
    description="Gram matrices (Gatys et al.): channel correlations, mean((G − A)²)",
)
