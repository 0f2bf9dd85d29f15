"""Keras 3 probabilistic losses: categorical, sparse categorical and binary
cross-entropy, Kullback-Leibler divergence, Poisson, generalized cross-entropy.

Semantics of keras 3.15.1 on the jax and torch backends, with the fixes of
Keras' main branch where 3.15.1 has a known bug (see ``lossbridge.keras``'s
divergence list): label smoothing counts classes on the class axis, and
``SparseCategoricalCrossentropy.get_config`` keeps ``axis``.  The focal
cross-entropies are in :mod:`lossbridge.keras._focal`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .. import ops
from .._backend import Namespace, describe, quiet
from .._checks import (
    check_label_range,
    checked_labels,
    first_out_of_range,
    is_concrete,
    label_range_message,
)
from .._config import check_level
from .._deferred import on_accelerator
from .._diagnostics import LossBridgeTargetWarning
from .._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeRuntimeError,
    LossBridgeSyntaxWarning,
    LossBridgeTypeError,
    LossBridgeWarning,
)
from .._warnings import warn
from ._inputs import (
    BOOL_SUB,
    IncompatibleShapesError,
    as_float,
    broadcast_shape,
    check_broadcast,
    param,
    predictions,
    require_predictions,
)
from ._inputs import class_axis as _class_axis
from ._loss import (
    EPSILON,
    Loss,
    LossFunctionWrapper,
    convert_to_tensor,
    flavor,
    mean,
    namespace_of,
    with_mask,
)

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "KLDivergence",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_generalized_cross_entropy",
    "kl_divergence",
    "poisson",
    "sparse_categorical_crossentropy",
]


# ------------------------------------------------------------------ shared pieces


def _check_axis(axis: Any) -> None:
    if isinstance(axis, bool):
        raise LossBridgeError(
            f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}"
        )


def _require_predictions(ns: Namespace, y_pred: Any, loss: str, from_logits: bool) -> None:
    require_predictions(ns, y_pred, loss, "logits" if from_logits else "probabilities")


def _predictions(
    ns: Namespace, y_true: Any, y_pred: Any, from_logits: bool, *, cast_true: bool = True,
    bool_error: str | None = None,
) -> tuple[Any, Any, Any]:
    """:func:`._inputs.predictions` for a probability loss: integer and boolean
    predictions compute as in Keras (JAX backend), except boolean logits, on which
    Keras' ``log_softmax`` fails ("sub does not accept dtype bool")."""
    return predictions(ns, y_true, y_pred, cast_true=cast_true,
                       bool_error=BOOL_SUB if from_logits else bool_error)


def _same_shape(y_true: Any, y_pred: Any, loss: str, fix: str) -> None:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise LossBridgeError(
            f"{loss}: arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}. {fix}"
        )


def log_probabilities(ns: Namespace, y_pred: Any, from_logits: bool, axis: int) -> Any:
    """Keras' log-probabilities of ``y_pred`` along ``axis``.

    Logits: ``log_softmax(y_pred)``.  Probabilities: renormalised
    ``p / sum(p, axis)``, then clipped to ``[EPSILON, 1 - EPSILON]``, then ``log``.
    """
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    return ns.xp.log(clipped_probabilities(ns, y_pred, axis))


def clipped_probabilities(ns: Namespace, y_pred: Any, axis: int) -> Any:
    """``clip(y_pred / sum(y_pred, axis), EPSILON, 1 - EPSILON)``: Keras' probability path.

    The row is renormalised first (a row of zeros gives NaN, as in Keras), then clipped.
    """
    xp = ns.xp
    with quiet(ns):  # a row of zeros gives 0/0 = NaN, as in Keras
        p = y_pred / xp.sum(y_pred, axis=axis, keepdims=True)
    return xp.clip(p, EPSILON, 1.0 - EPSILON)


def _torch_kernel(ns: Namespace, y_true: Any, y_pred: Any) -> bool:
    """torch's BCE kernels compute Keras 3's torch-backend values and gradients (they are what
    it calls) for same-shape, same-dtype torch tensors, a target that requires grad included
    (torch 2.13's kernels differentiate the target: in half precision, where the generic code
    takes log(0), the kernel's -100 clamp is keras-torch's value)."""
    return (ns.kind == "torch" and ops._NATIVE and flavor() != "tf_keras"
            and tuple(y_true.shape) == tuple(y_pred.shape) and y_true.dtype == y_pred.dtype)


def bce_elementwise(ns: Namespace, y_true: Any, y_pred: Any, from_logits: bool) -> Any:
    """Keras' backend ``binary_crossentropy``: the element-wise loss, no reduction.

    Logits: ``-y log_sigmoid(x) - (1 - y) log_sigmoid(-x)``.  Probabilities:
    ``p = clip(y_pred, EPSILON, 1 - EPSILON)``, ``-(y log p + (1 - y) log(1 - p))``
    (no epsilon inside the log).  tf.keras 2 (``flavor() == "tf_keras"``) adds one:
    ``-(y log(p + EPSILON) + (1 - y) log(1 - p + EPSILON))``.
    """
    if _torch_kernel(ns, y_true, y_pred):
        # Keras 3's torch backend computes with these very kernels: one fused pass
        import torch

        if from_logits:
            return torch.nn.functional.binary_cross_entropy_with_logits(
                y_pred, y_true, reduction="none")
        try:
            return torch.nn.functional.binary_cross_entropy(
                torch.clip(y_pred, EPSILON, 1.0 - EPSILON), y_true, reduction="none")
        except RuntimeError as e:  # a target outside [0, 1]: keras-torch raises this too
            raise LossBridgeRuntimeError(
                f"{e}. `y_true` is a {describe(y_true)}: binary_crossentropy on torch tensors "
                "computes with torch's kernel, as Keras' torch backend does, which takes targets "
                "in [0, 1] (Keras' JAX backend gives NaN for them instead)."
            ) from None
    if from_logits:
        return -y_true * ops.log_sigmoid(y_pred) - (1.0 - y_true) * ops.log_sigmoid(-y_pred)
    xp = ns.xp
    p = xp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    if flavor() == "tf_keras":
        return -(y_true * xp.log(p + EPSILON) + (1.0 - y_true) * xp.log(1.0 - p + EPSILON))
    return -(y_true * xp.log(p) + (1.0 - y_true) * xp.log(1.0 - p))


def _smooth_categorical(
    y_true: Any, y_pred: Any, label_smoothing: float, axis: int,
    fixed: bool | None, loss: str,
) -> Any:
    """Label smoothing ``y * (1 - ls) + ls / K`` of the categorical losses.

    keras 3.15.1 (the release) counts ``K`` on ``y_true.shape[-1]`` whatever
    ``axis`` is; Keras main (PR #23437) counts it on ``y_pred.shape[axis]``.
    ``fixed=None`` (default) and ``False`` give the release's count, ``True`` the
    fixed one; with ``None`` a :class:`LossBridgeWarning` names both when they
    differ.  Under :mod:`lossbridge.tf_keras` the count is tf_keras 2.21's:
    ``categorical_crossentropy`` on ``axis``, ``categorical_focal_crossentropy`` on
    the last axis (``fixed`` is not offered there).
    """
    on_axis = y_pred.shape[axis] if y_pred.ndim else 1
    on_last = y_true.shape[-1] if y_true.ndim else 1
    if flavor() == "tf_keras":
        num_classes = on_axis if loss == "categorical_crossentropy" else on_last
    elif fixed:
        num_classes = on_axis
    else:
        num_classes = on_last
        if fixed is None and on_axis != on_last:
            warn(
                f"{loss}(label_smoothing={label_smoothing}, axis={axis}): keras 3.15.1 (the "
                f"release, followed by default) counts the classes on y_true.shape[-1] = "
                f"{on_last}; Keras after PR #23437 counts them on y_pred.shape[axis] = {on_axis}, "
                "which gives another loss. Pass fixed_label_smoothing=False to keep the "
                "release's count without this warning, or fixed_label_smoothing=True for "
                "the fixed one.",
                LossBridgeWarning,
            )
    return y_true * (1.0 - label_smoothing) + (label_smoothing / num_classes)


# -------------------------------------------------------------- categorical


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    *,
    fixed_label_smoothing: bool | None = None,
) -> Any:
    """Keras' categorical cross-entropy, one value per sample.

    Formula, with ``K = y_true.shape[-1]`` (see ``fixed_label_smoothing``) and
    ``eps = 1e-7``::

        y    = y_true * (1 - label_smoothing) + label_smoothing / K
        logp = log_softmax(y_pred, axis)                        if from_logits
             = log(clip(y_pred / sum(y_pred, axis), eps, 1 - eps))   otherwise
        loss = -sum(y * logp, axis)

    The probabilities are *renormalised* before the clip (``y_pred * 2`` gives the
    same loss) and never get an epsilon inside the log.  ``y_true`` and ``y_pred``
    must have the same shape (one-hot or soft targets).  The result keeps
    ``y_pred``'s dtype (the class ``CategoricalCrossentropy`` casts to float32).

    Args:
      y_true: one-hot or probability targets, shape of ``y_pred``.
      y_pred: probabilities (default) or logits (``from_logits=True``), floating.
      from_logits: whether ``y_pred`` holds logits.
      label_smoothing: in ``[0, 1]``; mixes the targets with the uniform distribution.
      axis: the class axis.
      fixed_label_smoothing: how ``K`` is counted when ``axis`` is not the last axis.
        ``None`` (default) or ``False``: on ``y_true.shape[-1]``, as keras 3.15.1
        (the release) does whatever the axis; ``True``: on ``y_pred.shape[axis]``,
        as Keras does after PR #23437.  With ``None`` a ``LossBridgeWarning`` names
        both counts when they differ (``label_smoothing > 0`` and
        ``y_true.shape[-1] != y_pred.shape[axis]``).

    Returns:
      The per-sample loss: ``y_pred``'s shape without ``axis``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> lb.keras.categorical_crossentropy(y_true, y_pred).round(7).tolist()
        [0.0512933, 2.3025851]

    See also: :class:`CategoricalCrossentropy`, ``lossbridge.torch.functional.cross_entropy``
    (logits and class indices), ``lossbridge.optax.softmax_cross_entropy``.
    """
    _check_axis(axis)
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    y_true, y_pred, _ = _predictions(ns, y_true, y_pred, from_logits)
    if y_pred.ndim >= 1 and y_pred.shape[-1] == 1:
        warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            LossBridgeSyntaxWarning,
        )
    if y_pred.ndim < 1:
        # Keras reads output.shape[axis] first: "tuple index out of range" (IndexError).
        raise LossBridgeIndexError(
            "tuple index out of range. categorical_crossentropy: argument `output` must be at "
            f"least rank 1. Received: output.shape={tuple(y_pred.shape)}, target.shape="
            f"{tuple(y_true.shape)}. y_pred holds one probability (or logit) per class, shape "
            "(N, C)."
        )
    if label_smoothing:
        y_true = _smooth_categorical(
            y_true, y_pred, label_smoothing, axis, fixed_label_smoothing, "categorical_crossentropy"
        )
    _same_shape(
        y_true, y_pred, "categorical_crossentropy",
        "categorical_crossentropy takes one-hot (or probability) targets of y_pred's shape; "
        "for integer class indices use sparse_categorical_crossentropy.",
    )
    if y_true.ndim < 1:
        # Keras reads output.shape[-1]: "tuple index out of range" (IndexError).
        raise LossBridgeIndexError(
            "tuple index out of range. categorical_crossentropy: arguments `target` and `output` must be at least rank 1. "
            f"Received: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )
    if from_logits and flavor() == "tf_keras" and axis < -1:
        # tf.nn.softmax_cross_entropy_with_logits moves a class axis other than -1 to the end
        # with tf.range(axis), which refuses a negative axis (TensorFlow's InvalidArgumentError)
        raise LossBridgeError(
            f"Requires start <= limit when delta > 0: 0/{axis} [Op:Range]. tf.keras' "
            f"categorical_crossentropy(from_logits=True) takes the class axis -1 or a non-negative "
            f"axis; write axis={axis % y_pred.ndim} for y_pred of shape {tuple(y_pred.shape)}."
        )
    logp = log_probabilities(ns, y_pred, from_logits, axis)
    return -ns.xp.sum(y_true * logp, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Keras' ``CategoricalCrossentropy``: one-hot targets, probabilities or logits.

    The per-sample loss is :func:`categorical_crossentropy`; the Keras pipeline
    then casts to ``dtype`` (float32), weights and reduces (default: sum over the
    batch divided by the number of samples).

    Args:
      from_logits: whether ``y_pred`` holds logits (default: probabilities).
      label_smoothing: ``y * (1 - ls) + ls / K``, ``K = y_true.shape[-1]`` as in
        keras 3.15.1 (see ``fixed_label_smoothing``).
      axis: the class axis (default -1).
      fixed_label_smoothing: ``True`` counts ``K`` on ``axis`` as Keras after PR
        #23437; ``None`` (default, warns when the counts differ) or ``False``: the
        release's count.  Kept in the config only when ``True`` (keras 3.15.1 cannot
        load it then: it has no such behaviour).
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"categorical_crossentropy"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> round(float(lb.keras.CategoricalCrossentropy()(y_true, y_pred)), 6)
        1.176939
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        *,
        fixed_label_smoothing: bool | None = None,
    ) -> None:
        super().__init__(
            categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
            fixed_label_smoothing=fixed_label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.fixed_label_smoothing = fixed_label_smoothing

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis
        )
        if self.fixed_label_smoothing:
            config.update(fixed_label_smoothing=True)
        return config


# -------------------------------------------------------------------- sparse


def _sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> tuple[Any, Any]:
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_true, y_pred, given = _predictions(ns, y_true, y_pred, from_logits, cast_true=False)
    if y_pred.ndim < 1:
        raise LossBridgeIndexError(
            "tuple index out of range. sparse_categorical_crossentropy: argument `output` must be at least rank 1. "
            f"Received: output.shape={tuple(y_pred.shape)}"
        )
    class_axis = _class_axis(axis, y_pred.ndim, "sparse_categorical_crossentropy")
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = xp.squeeze(y_true, axis=axis)
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    if tuple(y_true.shape) != expected:
        one_hot = tuple(y_true.shape) == tuple(y_pred.shape)
        fix = (
            "y_true looks one-hot: pass class indices (argmax over the class axis) or use "
            "CategoricalCrossentropy."
            if one_hot
            else f"Pass one integer class index per sample, with shape {expected}."
        )
        if not ns.xp.isdtype(given.dtype, "real floating"):
            fix += (
                f" `y_pred` holds {given.dtype} values: Keras' argument order is (y_true, "
                "y_pred); if you passed the labels second, swap the arguments."
            )
        raise LossBridgeError(
            "sparse_categorical_crossentropy: arguments `target` and `output` must have the "
            "same shape up until the last dimension: "
            f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}. {fix}"
        )
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = xp.where(valid, y_true, xp.zeros_like(y_true))
        # As Keras: the ignored rows of y_pred are replaced by zeros, so that nothing
        # computed from them (a 0/0 of a row of zeros) reaches the gradient.
        y_pred = xp.where(xp.expand_dims(valid, axis=class_axis), y_pred, xp.zeros_like(y_pred))
    labels = xp.astype(y_true, xp.int64 if ns.kind != "jax" else xp.int32)
    num_classes = y_pred.shape[class_axis]
    in_range = None
    one_hot = ns.kind == "jax" and flavor() != "tf_keras"
    if one_hot:
        # keras-jax one-hot encodes the labels: an out-of-range label gives a silent
        # 0 loss. lossbridge gives the same value and warns when it can see the labels.
        checked = check_level() != "off" and is_concrete(labels)
        found = first_out_of_range(ns, labels, num_classes) if checked else None
        if found is not None:
            warn(
                "LB014: sparse_categorical_crossentropy: "
                + label_range_message("y_true", labels, num_classes, found, ignore_class,
                                      "ignore_class")
                + " On JAX arrays Keras gives these labels a loss of 0 (as lossbridge does "
                "here); on torch and NumPy it raises IndexError.",
                LossBridgeTargetWarning,
            )
        if found is not None or not checked:
            # Labels out of range, or not seen (traced, or checks off): masked on the device.
            # Labels checked in range need no mask (7 fewer primitives to compile eagerly).
            in_range = (labels >= 0) & (labels < num_classes)
    elif ns.kind == "torch" and ops._NATIVE and flavor() != "tf_keras":
        res = _torch_nll(ns, log_probabilities(ns, y_pred, from_logits, class_axis), labels,
                         class_axis, num_classes)
        if valid is not None:
            res = xp.where(valid, res, xp.zeros_like(res))
        return res, valid
    else:
        check_label_range(
            ns, labels, num_classes, arg="y_true", ignore=None, ignore_arg="ignore_class",
            framework_message="Target {value} is out of bounds.",
        )
    if flavor() == "tf_keras" and not from_logits:
        # tf.keras 2 clips (without renormalising), takes the log and hands it to
        # sparse_softmax_cross_entropy_with_logits: the clipped row is renormalised there.
        logp = ops.log_softmax(ns.xp.log(ns.xp.clip(y_pred, EPSILON, 1.0 - EPSILON)), axis=class_axis)
    else:
        logp = log_probabilities(ns, y_pred, from_logits, class_axis)
    safe = labels if in_range is None else xp.where(in_range, labels, xp.zeros_like(labels))
    picked = xp.squeeze(
        ops.take_along_axis(logp, xp.expand_dims(safe, axis=class_axis), axis=class_axis),
        axis=class_axis,
    )
    res = -picked
    if one_hot:
        # keras-jax computes -sum(one_hot * logp): a NaN or infinite log-probability of any
        # class (a -inf or NaN in y_pred) makes the row NaN (0 * inf); keras-torch picks.
        res = res + xp.sum(logp * 0.0, axis=class_axis)
    if in_range is not None:
        res = xp.where(in_range, res, xp.zeros_like(res))
    if valid is not None:
        res = xp.where(valid, res, xp.zeros_like(res))
    return res, valid


def _torch_nll(ns: Namespace, logp: Any, labels: Any, class_axis: int, num_classes: int) -> Any:
    """Keras 3's torch backend: ``nll_loss(log_prob, target, reduction="none")`` with the class
    axis moved to 1.  torch's kernel checks the label range on CPU tensors (its IndexError
    reworded by lossbridge's check); on accelerators the labels are checked without a sync
    (:func:`lossbridge._checks.checked_labels`)."""
    import torch

    message = "Target {value} is out of bounds."
    labels = checked_labels(ns, labels, num_classes, arg="y_true", ignore_arg="ignore_class",
                            framework_message=message) if on_accelerator(ns, labels) else labels
    x, t = (logp[None], labels[None]) if logp.ndim == 1 else (logp.movedim(class_axis, 1), labels)
    try:
        res = torch.nn.functional.nll_loss(x, t, reduction="none")
    except IndexError:
        check_label_range(ns, labels, num_classes, arg="y_true", ignore_arg="ignore_class",
                          framework_message=message)
        raise
    return res[0] if logp.ndim == 1 else res


@with_mask(_sparse_categorical_crossentropy)
def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Any:
    """Keras' sparse categorical cross-entropy: integer labels, one value per sample.

    Formula, with ``t`` the integer label and ``logp`` as in
    :func:`categorical_crossentropy` (renormalise, clip to ``[1e-7, 1 - 1e-7]``,
    log; or ``log_softmax`` of logits)::

        loss = -logp[..., t]           (0 where t == ignore_class)

    ``y_true`` of shape ``y_pred.shape`` without the class axis, or with a size-1
    axis there (squeezed).  Float labels are truncated to integers (1.7 -> 1), as
    Keras does.  Labels outside ``[0, C)``: on NumPy arrays and torch tensors an
    ``IndexError`` (:class:`LossBridgeIndexError`) naming the label, as Keras'
    torch backend raises; on JAX arrays the loss of that sample is 0, as Keras'
    JAX backend computes, with a :class:`LossBridgeWarning` when the labels are
    concrete (not traced).

    Args:
      y_true: integer class indices (any integer or float dtype).
      y_pred: probabilities (default) or logits, class axis ``axis``.
      from_logits: whether ``y_pred`` holds logits.
      ignore_class: a label value whose samples get loss 0 and are excluded from the
        mean of the class form.
      axis: the class axis of ``y_pred`` (Keras' torch backend semantics: any axis).

    Returns:
      The per-sample loss, of ``y_true``'s (squeezed) shape.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> lb.keras.sparse_categorical_crossentropy(np.array([1, 2]), y_pred).round(7).tolist()
        [0.0512933, 2.3025851]
    """
    return _sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)[0]


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Keras' ``SparseCategoricalCrossentropy``: integer labels, probabilities or logits.

    The per-sample loss is :func:`sparse_categorical_crossentropy`.  With
    ``ignore_class``, the ignored samples are masked: the default reduction then
    averages over the valid samples only (a mask weight ``total/valid``), and a
    batch with every sample ignored gives 0.  Note that ``reduction`` comes
    before ``axis`` in this signature, as in Keras.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> loss = lb.keras.SparseCategoricalCrossentropy(ignore_class=2)
        >>> round(float(loss(np.array([1, 2]), y_pred)), 7)
        0.0512933
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Any = "sum_over_batch_size",
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
            from_logits=from_logits, ignore_class=ignore_class, axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        # Keras main (PR #23286) keeps `axis`; keras <= 3.15.1 drops it.
        config = Loss.get_config(self)
        config.update(from_logits=self.from_logits, ignore_class=self.ignore_class, axis=self.axis)
        return config


# -------------------------------------------------------------------- binary


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Keras' binary cross-entropy, averaged over ``axis``.

    Formula, with ``eps = 1e-7``::

        y    = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
        bce  = -y * log_sigmoid(x) - (1 - y) * log_sigmoid(-x)        if from_logits
        p    = clip(y_pred, eps, 1 - eps)                            otherwise
        bce  = -(y * log(p) + (1 - y) * log(1 - p))
        loss = mean(bce, axis)

    No epsilon inside the log: in float32 an element's loss lies in
    ``[1.19e-7, 16.118095]``.  ``y_true`` and ``y_pred`` must have the same shape
    (this function does not rank-align; the class ``BinaryCrossentropy`` does).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> lb.keras.binary_crossentropy(y_true, y_pred).round(6).tolist()
        [0.916291, 0.713558]
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_pred = convert_to_tensor(ns, y_pred)
    _require_predictions(ns, y_pred, "binary_crossentropy", from_logits)
    y_true = xp.astype(convert_to_tensor(ns, y_true), y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _same_shape(
        y_true, y_pred, "binary_crossentropy",
        "Give y_true and y_pred the same shape, for example both (N, 1) or both (N,); the "
        "class BinaryCrossentropy aligns (N,) with (N, 1) for you.",
    )
    return mean(ns, bce_elementwise(ns, y_true, y_pred, from_logits), axis=axis)


class BinaryCrossentropy(LossFunctionWrapper):
    """Keras' ``BinaryCrossentropy``: 0/1 targets, probabilities or logits.

    The per-sample loss is :func:`binary_crossentropy` (mean over ``axis``); the
    pipeline aligns ``(N,)`` with ``(N, 1)``, casts to float32, weights and reduces.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(lb.keras.BinaryCrossentropy()(y_true, y_pred)), 5)
        0.81492
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis
        )
        return config


# ------------------------------------------------------------- KL divergence


def kl_divergence(y_true: Any, y_pred: Any) -> Any:
    """Keras' Kullback-Leibler divergence, summed over the last axis.

    Formula, with ``eps = 1e-7``::

        y    = clip(y_true, eps, 1)
        p    = clip(y_pred, eps, 1)
        loss = sum(y * log(y / p), axis=-1)

    Both arguments are clipped to ``[eps, 1]``: a target of 0 contributes
    ``1e-7 * log(1e-7 / p)`` (not 0) and a prediction of 0 costs ``log(y / 1e-7)``.
    Inputs are probability distributions along the last axis (not renormalised).
    No rank alignment here (``(N,)`` against ``(N, 1)`` broadcasts to ``(N, N)``,
    with a :class:`lossbridge.LossBridgeWarning`); the class aligns them.

    Args:
      y_true: target probabilities.
      y_pred: predicted probabilities (floating).

    Returns:
      The per-sample divergence, ``y_pred``'s shape without the last axis.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> lb.keras.kl_divergence(y_true, y_pred).round(5).tolist()
        [0.05129, 2.30258]

    See also: :class:`KLDivergence`, :func:`categorical_crossentropy` (the same up to
    the entropy of ``y_true``), ``lossbridge.torch.functional.kl_div`` (log-space input).
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_true, y_pred, _ = _predictions(ns, y_true, y_pred, False)
    check_broadcast(
        "kl_divergence", y_true, y_pred,
        "Give y_true and y_pred the same shape: two probability distributions over the last axis.",
    )
    if flavor() == "tf_keras" and ns.kind == "jax":
        # TensorFlow's clip_by_value passes the whole gradient at a bound (a one-hot
        # y_true == 1); JAX's clip (maximum/minimum) half of it: the value inside the closed
        # interval is taken as is, so its gradient is 1 there, as TF's (and torch's clamp)
        y_true = xp.where((y_true >= EPSILON) & (y_true <= 1.0), y_true, xp.clip(y_true, EPSILON, 1.0))
        y_pred = xp.where((y_pred >= EPSILON) & (y_pred <= 1.0), y_pred, xp.clip(y_pred, EPSILON, 1.0))
    else:
        y_true = xp.clip(y_true, EPSILON, 1.0)
        y_pred = xp.clip(y_pred, EPSILON, 1.0)
    return xp.sum(y_true * xp.log(y_true / y_pred), axis=-1)


class KLDivergence(LossFunctionWrapper):
    """Keras' ``KLDivergence``: :func:`kl_divergence` in the Keras pipeline.

    ``sum(y * log(y / p), axis=-1)`` with both clipped to ``[1e-7, 1]``, one value
    per sample; inputs cast to ``dtype`` (float32), ``(N,)`` aligned with
    ``(N, 1)``, weighted, then reduced (default ``"sum_over_batch_size"``: the sum
    divided by the number of samples).  Registered as ``"kl_divergence"``,
    ``"kld"`` and ``"KLD"``.

    Args:
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"kl_divergence"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> round(float(lb.keras.KLDivergence()(y_true, y_pred)), 5)
        1.17694

    See also: :func:`kl_divergence`, :class:`CategoricalCrossentropy`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "kl_divergence", dtype: Any = None
    ) -> None:
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# ------------------------------------------------------------------- Poisson


def poisson(y_true: Any, y_pred: Any) -> Any:
    """Keras' Poisson loss, averaged over the last axis.

    Formula, with ``eps = 1e-7``::

        loss = mean(y_pred - y_true * log(y_pred + eps), axis=-1)

    ``y_pred`` is a predicted rate (>= 0; a negative rate larger than ``eps`` gives
    NaN, as in Keras), ``y_true`` a count.  The epsilon is *added* inside the log
    (no clip).  No rank alignment here (``(N,)`` against ``(N, 1)`` broadcasts to
    ``(N, N)``, with a :class:`lossbridge.LossBridgeWarning`); the class aligns them.

    Args:
      y_true: observed counts.
      y_pred: predicted rates (floating).

    Returns:
      The per-sample loss, ``y_pred``'s shape without the last axis.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.poisson(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                  np.array([[1.0, 1.0], [0.0, 0.0]])).round(5).tolist()
        [1.0, 0.0]

    See also: :class:`Poisson`, ``lossbridge.torch.functional.poisson_nll_loss``.
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_true, y_pred, given = _predictions(ns, y_true, y_pred, False)
    check_broadcast(
        "poisson", y_true, y_pred, "Give y_true (counts) and y_pred (rates) the same shape."
    )
    # Keras adds epsilon cast to y_pred's dtype, in that dtype: 0 for integer predictions,
    # True for boolean ones (True + True is True: log 0 = 0 for every boolean prediction).
    shifted = given + param(ns, EPSILON, given)
    with quiet(ns):  # a negative rate gives NaN, as in Keras
        return mean(ns, y_pred - y_true * xp.log(as_float(ns, shifted)), axis=-1)


class Poisson(LossFunctionWrapper):
    """Keras' ``Poisson``: :func:`poisson` in the Keras pipeline.

    ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` per sample; inputs cast
    to ``dtype`` (float32), ``(N,)`` aligned with ``(N, 1)``, weighted and reduced
    (default: the sum divided by the number of elements of the per-sample loss).

    Args:
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"poisson"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.Poisson()
        >>> round(float(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]]))), 6)
        0.5

    See also: :func:`poisson`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "poisson", dtype: Any = None
    ) -> None:
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# ------------------------------------------------- generalized cross-entropy


def _check_class_labels(ns: Namespace, labels: Any, num_classes: int, loss: str) -> None:
    """Labels outside ``[0, num_classes)`` in a one-hot encoding, as Keras' backends do.

    Negative labels encode to a row of zeros on both Keras backends (a warning
    here).  Labels ``>= num_classes`` also give a row of zeros on keras-jax (a
    warning on JAX arrays) but raise ``RuntimeError`` in keras-torch's
    ``one_hot`` (an error on torch tensors and NumPy arrays).
    """
    if check_level() == "off":
        return
    xp = ns.xp
    zero = xp.zeros_like(labels)
    too_big = first_out_of_range(ns, xp.where(labels < 0, zero, labels), num_classes)
    if too_big is not None:
        message = label_range_message("y_true", labels, num_classes, too_big)
        if ns.kind == "jax":
            warn(
                f"{loss}: {message} On JAX arrays Keras one-hot encodes such a label to a row "
                "of zeros (a predicted probability of 0), as lossbridge does here; keras-torch "
                "raises.",
                LossBridgeWarning,
            )
        else:
            raise LossBridgeRuntimeError(
                f"Class values must be smaller than num_classes. {loss}: {message}"
            )
    negative = first_out_of_range(ns, xp.where(labels >= num_classes, zero, labels), num_classes)
    if negative is not None:
        warn(
            f"{loss}: " + label_range_message("y_true", labels, num_classes, negative)
            + " Keras one-hot encodes a negative label to a row of zeros (a predicted "
            "probability of 0), as lossbridge does here.",
            LossBridgeWarning,
        )


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> Any:
    """Keras' generalized cross-entropy (Zhang & Sabuncu, 2018), one value per sample.

    Formula, with ``C = y_pred.shape[-1]``::

        p    = sum(y_pred * one_hot(int(y_true), C), axis=-1)
        loss = (1 - p ** q) / q

    ``y_true`` holds integer class indices of shape ``(N,)`` (float labels are
    truncated); ``y_pred`` probabilities ``(N, C)``, used as given: no clipping,
    no renormalisation, no ``from_logits``.  ``q`` should lie in ``(0, 1)`` (q -> 0
    approaches cross-entropy, q = 1 is MAE); only the class checks it, this
    function computes any ``q`` as Keras does.  Labels of shape ``(N, 1)`` silently
    broadcast to an ``(N, N)`` loss in Keras; lossbridge computes the same and
    warns.  A label outside ``[0, C)`` selects no class (``p = 0``, loss ``1/q``) on
    JAX arrays and for negative labels (with a warning); a label ``>= C`` raises
    on NumPy arrays and torch tensors (keras-torch raises ``RuntimeError``).

    Args:
      y_true: integer class indices, shape ``(N,)``.
      y_pred: predicted probabilities, shape ``(N, C)``.
      q: the exponent (no default in the function form).

    Returns:
      The per-sample loss, shape ``(N,)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> lb.keras.categorical_generalized_cross_entropy(np.array([1, 2]), y_pred, q=0.5).round(5).tolist()
        [0.05064, 1.36754]

    See also: :class:`CategoricalGeneralizedCrossEntropy`,
    :func:`sparse_categorical_crossentropy` (the ``q -> 0`` limit, with clipping).
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_pred = convert_to_tensor(ns, y_pred)
    y_true = convert_to_tensor(ns, y_true)
    _require_predictions(ns, y_pred, "categorical_generalized_cross_entropy", False)
    if y_pred.ndim < 1:
        raise LossBridgeIndexError(  # Keras: IndexError (tuple index out of range)
            "tuple index out of range: categorical_generalized_cross_entropy: `y_pred` must "
            "have a class axis (shape "
            f"(N, C)), but it is a {describe(y_pred)}."
        )
    labels = xp.astype(y_true, xp.int64 if ns.kind != "jax" else xp.int32)
    num_classes = int(y_pred.shape[-1])
    encoded_shape = (*labels.shape, num_classes)
    if encoded_shape != tuple(y_pred.shape):
        fix = (
            "categorical_generalized_cross_entropy takes integer class indices of shape "
            f"{tuple(y_pred.shape[:-1])}"
            + (
                "; y_true looks one-hot: pass its argmax over the last axis."
                if tuple(labels.shape) == tuple(y_pred.shape)
                else (
                    "; squeeze the trailing axis of y_true."
                    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1
                    else "."
                )
            )
        )
        out = broadcast_shape(encoded_shape, tuple(y_pred.shape))
        if out is None:
            raise IncompatibleShapesError(
                f"categorical_generalized_cross_entropy: the one-hot encoding of `y_true` "
                f"({describe(y_true)}) has shape {encoded_shape}, which cannot be broadcast "
                f"against `y_pred` ({describe(y_pred)}). {fix}"
            )
        warn(
            f"categorical_generalized_cross_entropy: `y_true` has shape {tuple(labels.shape)}, so "
            f"its one-hot encoding {encoded_shape} broadcasts against `y_pred` "
            f"{tuple(y_pred.shape)} to {out} and the loss has shape {out[:-1]}, as Keras "
            f"computes. {fix}",
            LossBridgeWarning,
        )
    _check_class_labels(ns, labels, num_classes, "categorical_generalized_cross_entropy")
    one_hot = ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
    p = xp.sum(y_pred * one_hot, axis=-1)
    with quiet(ns):
        powered = p**q
    # Keras' power is C's pow on both backends: (-inf)**q = inf for 0 < q < 1, where NumPy's
    # and torch's ** give NaN.
    powered = xp.where(p == -math.inf, xp.full_like(powered, math.inf), powered)
    return (1.0 - powered) / q


def _validate_q(q: Any) -> None:
    if not isinstance(q, numbers.Real):
        # Keras' `0 < q < 1` raises TypeError for a non-number: this error is both.
        raise LossBridgeTypeError(
            f"q must be a number in the interval (0, 1). Received: q={q!r} of type "
            f"{type(q).__name__}. Pass a float such as q=0.5."
        )
    if not 0 < float(q) < 1:
        raise LossBridgeError(
            f"q must be in the interval (0, 1). Received: q={q!r}. "
            "CategoricalGeneralizedCrossEntropy's q is an exponent strictly between 0 (close to "
            "cross-entropy) and 1 (mean absolute error); the paper's default is q=0.7, Keras' 0.5."
        )


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Keras' ``CategoricalGeneralizedCrossEntropy`` (Keras 3.10+): noise-robust cross-entropy.

    The per-sample loss is :func:`categorical_generalized_cross_entropy`,
    ``(1 - p ** q) / q`` with ``p`` the probability of the labelled class, then the
    Keras pipeline (float32 cast, weights, ``"sum_over_batch_size"`` reduction).
    ``y_true`` holds integer labels ``(N,)``; labels ``(N, 1)`` broadcast to an
    ``(N, N)`` loss as in Keras (with a warning).

    Not in Keras' string registry: ``lb.keras.get("CategoricalGeneralizedCrossEntropy")``
    raises, as ``keras.losses.get`` does; pass the object instead.

    Args:
      q: in ``(0, 1)`` (default 0.5); other values raise ``ValueError``.
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"categorical_generalized_cross_entropy"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> round(float(lb.keras.CategoricalGeneralizedCrossEntropy()(np.array([1, 2]), y_pred)), 6)
        0.709093

    See also: :func:`categorical_generalized_cross_entropy`,
    :class:`SparseCategoricalCrossentropy`.
    """

    def __init__(
        self,
        q: float = 0.5,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_generalized_cross_entropy",
        dtype: Any = None,
    ) -> None:
        _validate_q(q)
        super().__init__(
            categorical_generalized_cross_entropy, name=name, reduction=reduction, dtype=dtype, q=q
        )
        self.q = q

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(q=self.q)
        return config


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
