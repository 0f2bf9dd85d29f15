"""optax's classification losses (``optax/losses/_classification.py``)."""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from .._backend import Namespace, describe, get_namespace
from .._checks import is_floating, is_integral
from .._errors import LossBridgeError, LossBridgeTypeError

__all__ = [
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]

Axis = int | tuple[int, ...]


def check_subdtype(ns: Namespace, x: Any, kind: str, arg: str) -> None:
    """optax's ``utils.check_subdtype``: a ``TypeError`` naming the dtype (a lossbridge one)."""
    ok = is_floating(ns, x) if kind == "floating" else is_integral(ns, x)
    if not ok:
        fix = "cast it to a float dtype" if kind == "floating" else "cast it to an integer dtype"
        raise LossBridgeTypeError(
            f"Expected the input to have a dtype that is a subdtype of {kind}, got "
            f"{str(x.dtype).replace('torch.', '')} instead: `{arg}` is a {describe(x)}; {fix}."
        )


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if isinstance(axis, bool) or not isinstance(axis, (int, tuple)):
        raise LossBridgeError(
            "Keyword argument 'axis' must be of type 'int' or 'tuple[int, ...]' but actual type "
            f"is {type(axis)}."
        )
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(a % ndim for a in axes)


def masked_log_softmax(ns: Namespace, logits: Any, axes: tuple[int, ...], where: Any) -> Any:
    """``jax.nn.log_softmax(logits, axis, where)``: masked entries leave the normaliser."""
    xp = ns.xp
    if where is None:
        if len(axes) == 1:
            return ops.log_softmax(logits, axis=axes[0])
        return logits - ops.logsumexp(logits, axis=axes, keepdims=True)
    neg_inf = xp.full_like(logits, -math.inf)
    masked = xp.where(where, logits, neg_inf)
    lse = ops.logsumexp(masked, axis=axes, keepdims=True)
    return xp.where(where, logits - lse, neg_inf)


def softmax_cross_entropy(
    logits: Any, labels: Any, axis: Axis | None = -1, where: Any = None
) -> Any:
    """optax's ``softmax_cross_entropy``: ``-sum(labels * log_softmax(logits), axis)``.

    ``labels`` are probabilities of ``logits``' shape (one-hot or soft).  With
    ``where`` (boolean, ``logits``' shape, or one less rank: expanded on ``axis``),
    masked entries are excluded from the normaliser and from the sum.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.optax.softmax_cross_entropy(np.array([1.0, 2.0]), np.array([0.0, 1.0])))
        0.31326168751822286
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where})
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    axes = _axes(axis if axis is not None else tuple(range(logits.ndim)), logits.ndim)
    if where is not None:
        where = ns.asarray(where)
        if where.ndim != logits.ndim:
            where = xp.expand_dims(where, axis=axes[0])
        where = xp.broadcast_to(where, tuple(logits.shape))
    log_probs = masked_log_softmax(ns, logits, axes, where)
    terms = labels * log_probs
    if where is not None:
        terms = xp.where(where, terms, xp.zeros_like(terms))
    return -xp.sum(terms, axis=axes)


def softmax_cross_entropy_with_integer_labels(
    logits: Any, labels: Any, axis: Axis = -1, where: Any = None
) -> Any:
    """optax's ``softmax_cross_entropy_with_integer_labels``: ``logsumexp(logits) - logits[label]``.

    ``labels`` are integers of ``logits``' shape without ``axis``.  A label
    ``-C <= t < 0`` wraps to ``t + C``; a label ``>= C`` or ``< -C`` gives NaN.
    With ``where``, masked entries leave the normaliser (the label's logit is read
    even if masked) and a row with nothing selected gives 0.  With a tuple
    ``axis``, the class axes are flattened into one.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> f = lb.optax.softmax_cross_entropy_with_integer_labels
        >>> f(np.array([[1.0, 2.0, 3.0]]), np.array([-1])).round(6).tolist()
        [0.407606]
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where})
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    check_subdtype(ns, labels, "integer", "labels")
    if where is not None:
        where = ns.asarray(where)
    axes = _axes(axis, logits.ndim)
    if where is not None:
        if where.ndim != logits.ndim:
            where = xp.expand_dims(where, axis=axes[0])
        where = xp.broadcast_to(where, tuple(logits.shape))
    axis_ = axes[0]
    if len(axes) > 1:
        # Move the class axes last, in order, and flatten them into one (as optax does).
        batch = tuple(a for a in range(logits.ndim) if a not in axes)
        perm, shape = batch + axes, tuple(logits.shape[a] for a in batch) + (-1,)
        logits = xp.reshape(xp.permute_dims(logits, perm), shape)
        if where is not None:
            where = xp.reshape(xp.permute_dims(where, perm), shape)
        axis_ = len(batch)
    num_classes = logits.shape[axis_]
    in_range = (labels >= -num_classes) & (labels < num_classes)
    wrapped = xp.where(labels < 0, labels + num_classes, labels)
    safe = xp.where(in_range, wrapped, xp.zeros_like(wrapped))
    label_logits = xp.squeeze(
        ops.take_along_axis(logits, xp.expand_dims(safe, axis=axis_), axis=axis_), axis=axis_
    )
    label_logits = xp.where(in_range, label_logits, xp.full_like(label_logits, math.nan))
    if where is None:
        lse = ops.logsumexp(logits, axis=axis_)
    else:
        lse = ops.logsumexp(xp.where(where, logits, xp.full_like(logits, -math.inf)), axis=axis_)
    out = lse - label_logits
    if where is not None:
        out = xp.where(xp.any(where, axis=axis_), out, xp.zeros_like(out))
    return out


def sigmoid_binary_cross_entropy(logits: Any, labels: Any) -> Any:
    """optax's ``sigmoid_binary_cross_entropy``, element-wise, no reduction.

    Formula: ``-labels * log_sigmoid(logits) - (1 - labels) * log_sigmoid(-logits)``;
    labels are cast to the logits' dtype.  Equal to torch's
    ``binary_cross_entropy_with_logits(..., reduction="none")``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.sigmoid_binary_cross_entropy(np.array([1.0, -200.0]), np.array([1, 1])).round(6).tolist()
        [0.313262, 200.0]
    """
    ns = get_namespace({"logits": logits, "labels": labels})
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    labels = xp.astype(labels, logits.dtype)
    return -labels * ops.log_sigmoid(logits) - (1.0 - labels) * ops.log_sigmoid(-logits)
