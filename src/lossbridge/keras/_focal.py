"""Keras 3 focal cross-entropies (Lin et al., 2018): binary and categorical.

Both go through the clipped probability path of the plain cross-entropies
(:mod:`lossbridge.keras._probabilistic`): with ``from_logits=True`` Keras applies
``sigmoid``/``softmax`` first and then clips, so saturated logits cost at most
``-log(1e-7)`` per element, unlike the logits form of the plain cross-entropies.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._backend import describe
from .._errors import LossBridgeIndexError, LossBridgeSyntaxWarning
from .._warnings import warn
from ._inputs import check_broadcast, param
from ._loss import Loss, LossFunctionWrapper, convert_to_tensor, flavor, mean, namespace_of
from ._probabilistic import (
    _check_axis,
    _predictions,
    _require_predictions,
    _same_shape,
    _smooth_categorical,
    bce_elementwise,
    clipped_probabilities,
)

__all__ = [
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
]


# -------------------------------------------------------------------- binary


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Keras' binary focal cross-entropy, averaged over ``axis``.

    Formula, with ``eps = 1e-7``::

        y     = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
        p     = sigmoid(y_pred) if from_logits else y_pred
        bce   = -(y * log(clip(p, eps, 1 - eps)) + (1 - y) * log(1 - clip(p, eps, 1 - eps)))
        p_t   = y * p + (1 - y) * (1 - p)                  # unclipped p
        focal = (1 - p_t) ** gamma * bce
        focal = focal * (y * alpha + (1 - y) * (1 - alpha))    only if apply_class_balancing
        loss  = mean(focal, axis)

    ``alpha`` has **no effect unless** ``apply_class_balancing=True``
    (tensorflow#61519).  Logits go through ``sigmoid`` and the clipped path (not a
    stable log-sigmoid), so an element costs at most ``-log(1e-7) = 16.118`` times
    its focal factor.  ``gamma = 0`` without balancing is
    :func:`binary_crossentropy`.  ``y_true`` and ``y_pred`` must have the same shape.

    Args:
      y_true: 0/1 (or soft) targets.
      y_pred: probabilities, or logits with ``from_logits=True`` (floating).
      apply_class_balancing: weigh class 1 by ``alpha`` and class 0 by ``1 - alpha``.
      alpha: the class-1 weight, used only with ``apply_class_balancing``.
      gamma: the focusing exponent (``>= 0``).
      from_logits: whether ``y_pred`` holds logits.
      label_smoothing: in ``[0, 1]``; squeezes the targets towards 0.5.
      axis: the axis averaged over.

    Returns:
      The per-sample loss, ``y_pred``'s shape without ``axis``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> lb.keras.binary_focal_crossentropy(y_true, y_pred, gamma=2.0).round(5).tolist()
        [0.32986, 0.2058]

    See also: :class:`BinaryFocalCrossentropy`, :func:`binary_crossentropy`,
    ``lossbridge.torch`` has no focal loss (torchvision's ``sigmoid_focal_loss`` takes logits
    and balances with ``alpha`` always).
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_pred = convert_to_tensor(ns, y_pred)
    _require_predictions(ns, y_pred, "binary_focal_crossentropy", from_logits)
    y_true = xp.astype(convert_to_tensor(ns, y_true), y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _same_shape(
        y_true, y_pred, "binary_focal_crossentropy",
        "Give y_true and y_pred the same shape, for example both (N, 1) or both (N,); the "
        "class BinaryFocalCrossentropy aligns (N,) with (N, 1) for you.",
    )
    if from_logits and flavor() == "tf_keras":
        # tf.keras 2: the cross-entropy of the logits themselves (stable), p from sigmoid.
        bce = bce_elementwise(ns, y_true, y_pred, from_logits=True)
        y_pred = ops.sigmoid(y_pred)
    else:
        if from_logits:
            y_pred = ops.sigmoid(y_pred)
        bce = bce_elementwise(ns, y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal_bce = (1.0 - p_t) ** param(ns, gamma, y_pred) * bce
    if apply_class_balancing:
        a = param(ns, alpha, y_pred)
        focal_bce = (y_true * a + (1.0 - y_true) * (1.0 - a)) * focal_bce
    return mean(ns, focal_bce, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Keras' ``BinaryFocalCrossentropy``: :func:`binary_focal_crossentropy` in the pipeline.

    The per-sample loss is the focal-weighted binary cross-entropy averaged over
    ``axis``; inputs are cast to ``dtype`` (float32), ``(N,)`` is aligned with
    ``(N, 1)``, weighted and reduced (default: the sum over the per-sample losses
    divided by their number).  Note the positional order: ``apply_class_balancing``
    comes first, and ``alpha`` only acts when it is True.

    Args:
      apply_class_balancing: default False.
      alpha: default 0.25 (class 1; class 0 gets ``1 - alpha``).
      gamma: default 2.0.
      from_logits: default False.
      label_smoothing: default 0.0.
      axis: default -1.
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"binary_focal_crossentropy"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([0, 1, 0, 0])
        >>> y_pred = np.array([-18.6, 0.51, 2.94, -12.8])
        >>> round(float(lb.keras.BinaryFocalCrossentropy(gamma=2, from_logits=True)(y_true, y_pred)), 4)
        0.6912
        >>> loss = lb.keras.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2, from_logits=True)
        >>> round(float(loss(y_true, y_pred)), 4)
        0.5101

    See also: :func:`binary_focal_crossentropy`, :class:`BinaryCrossentropy`.
    """

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            binary_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
            apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis,
            apply_class_balancing=self.apply_class_balancing, alpha=self.alpha, gamma=self.gamma,
        )
        return config


# --------------------------------------------------------------- categorical


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: Any = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    *,
    fixed_label_smoothing: bool | None = None,
) -> Any:
    """Keras' categorical focal cross-entropy, summed over the class axis.

    Formula, with ``K = y_true.shape[-1]`` (see ``fixed_label_smoothing``) and
    ``eps = 1e-7``::

        y     = y_true * (1 - label_smoothing) + label_smoothing / K
        p     = softmax(y_pred, axis) if from_logits else y_pred
        p     = clip(p / sum(p, axis), eps, 1 - eps)          # renormalised, clipped
        loss  = sum(alpha * (1 - p) ** gamma * (-y * log(p)), axis)

    ``alpha`` is a global scalar, or a list with one weight per class (it
    broadcasts against the *last* axis, as in Keras).  With ``from_logits=True``
    Keras applies ``softmax`` and then the clipped path (no log-softmax).  Label
    smoothing counts ``K`` on ``y_true.shape[-1]`` as keras 3.15.1 does, whatever
    ``axis`` is (Keras after PR #23437 counts on ``axis``: ``fixed_label_smoothing``).  Keras does
    not check shapes: targets of another shape broadcast (lossbridge computes the
    same and warns; shapes that do not broadcast raise).

    Args:
      y_true: one-hot or probability targets of ``y_pred``'s shape.
      y_pred: probabilities or logits (floating).
      alpha: the weight factor (default 0.25), scalar or one per class.
      gamma: the focusing exponent (default 2.0).
      from_logits: whether ``y_pred`` holds logits.
      label_smoothing: in ``[0, 1]``.
      axis: the class axis.
      fixed_label_smoothing: ``None`` (default) or ``False``: ``K`` on
        ``y_true.shape[-1]`` (keras 3.15.1); ``True``: on ``y_pred.shape[axis]``
        (Keras after PR #23437).  With ``None`` a ``LossBridgeWarning`` names both
        when they differ.

    Returns:
      The per-sample loss, ``y_pred``'s shape without ``axis``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]])
        >>> lb.keras.categorical_focal_crossentropy(y_true, y_pred).round(6).tolist()
        [0.000263, 0.675912]

    See also: :class:`CategoricalFocalCrossentropy`, :func:`categorical_crossentropy`.
    """
    _check_axis(axis)
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    # Keras negates y_true, cast to y_pred's dtype: "neg does not accept dtype bool".
    y_true, y_pred, _ = _predictions(
        ns, y_true, y_pred, from_logits, bool_error="neg does not accept dtype bool."
    )
    if y_pred.ndim == 0:  # Keras reads y_pred.shape[-1] first
        raise LossBridgeIndexError(
            f"tuple index out of range. categorical_focal_crossentropy: `y_pred` is a "
            f"{describe(y_pred)} with no class axis; pass one row of class probabilities (or "
            "logits) per sample, shape (N, C)."
        )
    if y_pred.ndim >= 1 and y_pred.shape[-1] == 1:
        warn(
            "In loss categorical_focal_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            LossBridgeSyntaxWarning,
        )
    if label_smoothing:
        y_true = _smooth_categorical(
            y_true, y_pred, label_smoothing, axis, fixed_label_smoothing,
            "categorical_focal_crossentropy",
        )
    check_broadcast(
        "categorical_focal_crossentropy", y_true, y_pred,
        "categorical_focal_crossentropy takes one-hot (or probability) targets of y_pred's "
        "shape; one-hot encode integer labels first.",
    )
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = clipped_probabilities(ns, y_pred, axis)
    cce = -y_true * xp.log(output)
    weighting = (1.0 - output) ** param(ns, gamma, output) * param(ns, alpha, output)
    return xp.sum(weighting * cce, axis=axis)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Keras' ``CategoricalFocalCrossentropy``: :func:`categorical_focal_crossentropy` in the pipeline.

    One value per sample (summed over the class axis); inputs are cast to
    ``dtype`` (float32), weighted and reduced (default: sum divided by the number
    of samples).

    Args:
      alpha: default 0.25; a scalar or one weight per class.
      gamma: default 2.0.
      from_logits: default False.
      label_smoothing: default 0.0 (``K = y_true.shape[-1]``, see the function).
      axis: default -1.
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"categorical_focal_crossentropy"``.
      dtype: compute dtype, default float32.
      fixed_label_smoothing: see the function; kept in the config only when ``True``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> round(float(lb.keras.CategoricalFocalCrossentropy()(y_true, y_pred)), 6)
        0.233153

    See also: :func:`categorical_focal_crossentropy`, :class:`CategoricalCrossentropy`.
    """

    def __init__(
        self,
        alpha: Any = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
        dtype: Any = None,
        *,
        fixed_label_smoothing: bool | None = None,
    ) -> None:
        super().__init__(
            categorical_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
            alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
            axis=axis, fixed_label_smoothing=fixed_label_smoothing,
        )
        self.fixed_label_smoothing = fixed_label_smoothing
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis,
            alpha=self.alpha, gamma=self.gamma,
        )
        if self.fixed_label_smoothing:
            config.update(fixed_label_smoothing=True)
        return config


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
