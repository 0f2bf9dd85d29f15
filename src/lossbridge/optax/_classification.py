"""optax's classification losses (``optax/losses/_classification.py``, optax 0.2.8).

Cross-entropies, margins, sparsemax and the Kullback-Leibler divergences.  Every
function returns one value per example (or per element) and never reduces; the
CTC losses, which optax keeps in the same module, are in :mod:`._ctc`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._backend import describe, get_namespace, quiet
from .._errors import (
    LossBridgeDeprecationWarning,
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeTypeError,
)
from .._grad import custom_gradient
from .._validate import require
from .._warnings import warn
from ._projections import projection_simplex
from ._utils import (
    Axis,
    broadcast_shapes,
    canonicalize_axes,
    canonicalize_axis,
    check_shapes_equal,
    check_subdtype,
    expand_where,
    jit_on_jax,
    log_softmax,
    logsumexp,
    masked_log_softmax,
    masked_sum,
    maximum,
    quiet_numpy,
    scalar,
    softmax,
)

__all__ = [
    "check_subdtype",
    "convex_kl_divergence",
    "generalized_kl_divergence",
    "hinge_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "masked_log_softmax",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
]


# --------------------------------------------------------------- binary losses


@quiet_numpy
@jit_on_jax
def sigmoid_binary_cross_entropy(logits: Any, labels: Any) -> Any:
    r"""optax's ``sigmoid_binary_cross_entropy``: element-wise, from logits, no reduction.

    .. math::
        \ell = -y \log\sigma(x) - (1 - y)\log\sigma(-x)

    with ``log_sigmoid`` on both sides (finite for every finite ``x``).  ``logits``
    must be floating (``TypeError`` otherwise); ``labels`` (0/1 or probabilities)
    are cast to the logits' dtype and broadcast with them.  The result has the
    broadcast shape.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.sigmoid_binary_cross_entropy(np.array([1.0, -200.0]), np.array([1, 1])).round(6).tolist()
        [0.313262, 200.0]

    See also:
        :func:`lossbridge.torch.functional.binary_cross_entropy_with_logits` with
        ``reduction="none"`` (the same values); :func:`sigmoid_focal_loss`.
    """
    ns = get_namespace({"logits": logits, "labels": labels})
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    broadcast_shapes(logits=logits, labels=labels)
    return _sigmoid_bce(ns, logits, ns.xp.astype(labels, logits.dtype))


def _sigmoid_bce(ns: Any, logits: Any, labels: Any) -> Any:
    # log(1 - sigmoid(x)) = log_sigmoid(-x), the stable form.
    return -labels * ops.log_sigmoid(logits) - (1.0 - labels) * ops.log_sigmoid(-logits)


@quiet_numpy
@jit_on_jax
def sigmoid_focal_loss(
    logits: Any, labels: Any, *, alpha: Any | None = None, gamma: Any = 2.0
) -> Any:
    r"""optax's ``sigmoid_focal_loss`` (Lin et al. 2017), element-wise, no reduction.

    .. math::
        \ell = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x, y), \qquad
        \log(1 - p_t) = \operatorname{logsumexp}\big([\log\sigma(x), \log\sigma(-x)],
        b=[1 - y, y]\big)

    where ``BCE`` is :func:`sigmoid_binary_cross_entropy`, the focal weight
    ``exp(gamma * log(1 - p_t))`` is computed in log space (as optax 0.2.5+), and
    ``alpha_t = alpha * y + (1 - alpha) * (1 - y)`` when ``alpha`` is given
    (default ``None``: no weighting).  ``gamma`` defaults to 2.  Labels may be 0/1
    or soft in [0, 1]; they are cast to the logits' dtype.  ``logits`` must be
    floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.sigmoid_focal_loss(np.array([2.0, -1.0]), np.array([1.0, 1.0]), alpha=0.25).round(6).tolist()
        [0.000451, 0.175467]

    See also:
        :func:`sigmoid_binary_cross_entropy` (``gamma=0``, no ``alpha``).
    """
    ns = get_namespace({"logits": logits, "labels": labels, "alpha": alpha, "gamma": gamma})
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    broadcast_shapes(logits=logits, labels=labels)
    labels = xp.astype(labels, logits.dtype)
    ce_loss = _sigmoid_bce(ns, logits, labels)
    log_p = ops.log_sigmoid(logits)
    log_q = ops.log_sigmoid(-logits)
    log_one_minus_p_t = logsumexp(
        ns,
        xp.stack([log_p, log_q], axis=-1),
        (max(logits.ndim, labels.ndim),),
        b=xp.stack([1 - labels, labels], axis=-1),
    )
    loss = ce_loss * xp.exp(gamma * log_one_minus_p_t)
    if alpha is None:
        return loss
    return (alpha * labels + (1.0 - alpha) * (1.0 - labels)) * loss


@quiet_numpy
@jit_on_jax
def hinge_loss(predictor_outputs: Any, targets: Any) -> Any:
    r"""optax's ``hinge_loss`` for binary classification, element-wise.

    .. math::
        \ell = \max(0,\ 1 - x\,y)

    ``targets`` should be in {-1, 1} (not checked, as in optax).  Inputs broadcast;
    no dtype check.  At the kink (``x * y == 1``) the gradient is half the slope,
    as ``jnp.maximum`` gives it.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.hinge_loss(np.array([0.3, 2.0, -0.5]), np.array([1.0, 1.0, 1.0])).tolist()
        [0.7, 0.0, 1.5]

    See also:
        :func:`perceptron_loss`, :func:`multiclass_hinge_loss`;
        :class:`lossbridge.torch.SoftMarginLoss` is the smooth version.
    """
    ns = get_namespace({"predictor_outputs": predictor_outputs, "targets": targets})
    x, y = ns.asarray(predictor_outputs), ns.asarray(targets)
    broadcast_shapes(predictor_outputs=x, targets=y)
    margin = 1 - x * y
    return maximum(ns, margin, 0)


@quiet_numpy
@jit_on_jax
def perceptron_loss(predictor_outputs: Any, targets: Any) -> Any:
    r"""optax's binary ``perceptron_loss``, element-wise.

    .. math::
        \ell = \max(0,\ -x\,y)

    ``targets`` should be in {-1, 1}.  ``predictor_outputs`` and ``targets`` must
    have one shape (``ValueError('Shape mismatch ...')`` otherwise).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.perceptron_loss(np.array([0.3, -2.0]), np.array([1.0, 1.0])).tolist()
        [0.0, 2.0]

    See also:
        :func:`hinge_loss` (a margin of 1), :func:`multiclass_perceptron_loss`.
    """
    ns = get_namespace({"predictor_outputs": predictor_outputs, "targets": targets})
    x, y = ns.asarray(predictor_outputs), ns.asarray(targets)
    check_shapes_equal(x, y, "predictor_outputs", "targets")
    margin = -x * y
    return maximum(ns, margin, 0)


@quiet_numpy
@jit_on_jax
def sparsemax_loss(logits: Any, labels: Any) -> Any:
    r"""optax's binary ``sparsemax_loss`` (Blondel et al. 2020, sec. 4.4), element-wise.

    .. math::
        \ell = \operatorname{sparse\_plus}(z), \quad z = -x \text{ if } y \ne 0
        \text{ else } x, \qquad
        \operatorname{sparse\_plus}(z) = \begin{cases} 0 & z \le -1 \\
        (z + 1)^2 / 4 & -1 < z < 1 \\ z & z \ge 1 \end{cases}

    Zero exactly when ``jax.nn.sparse_sigmoid(logits) == labels``.  ``labels`` are
    read as booleans (non-zero is the positive class); inputs broadcast.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.sparsemax_loss(np.array([0.0, 2.0, 0.5]), np.array([1, 1, 0])).tolist()
        [0.25, 0.0, 0.5625]

    See also:
        :func:`multiclass_sparsemax_loss`, :func:`sigmoid_binary_cross_entropy`.
    """
    ns = get_namespace({"logits": logits, "labels": labels})
    xp = ns.xp
    x, y = ns.asarray(logits), ns.asarray(labels)
    broadcast_shapes(logits=x, labels=y)
    positive = y if xp.isdtype(y.dtype, "bool") else y != 0
    z = xp.where(positive, -x, x)
    quadratic = (z + 1.0) ** 2 / 4
    return xp.where(
        z <= -1.0, scalar(ns, 0.0, quadratic), xp.where(z >= 1.0, xp.astype(z, quadratic.dtype), quadratic)
    )


# ---------------------------------------------------------- softmax family


@quiet_numpy
@jit_on_jax
def safe_softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    r"""optax's ``safe_softmax_cross_entropy``: softmax cross-entropy with :math:`0 \log 0 = 0`.

    .. math::
        \ell = -\sum_j w_j, \qquad w_j = \begin{cases} y_j \log\operatorname{softmax}(x)_j
        & y_j \ne 0 \\ 0 & y_j = 0 \end{cases}

    over the last axis.  A ``-inf`` logit with a zero label contributes 0 (where
    :func:`softmax_cross_entropy` gives NaN), and so does its gradient; the
    gradient with respect to ``labels`` is ``-log_softmax(logits)`` (``+inf`` at a
    ``-inf`` logit), as optax's custom JVP defines it.  ``labels`` broadcast to the
    logits' shape; ``logits`` must be floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logits, labels = np.array([[1.0, -np.inf, 2.0]]), np.array([[0.0, 0.0, 1.0]])
        >>> lb.optax.safe_softmax_cross_entropy(logits, labels).round(6).tolist()
        [0.313262]
        >>> lb.optax.softmax_cross_entropy(logits, labels).tolist()  # 0 * -inf
        [nan]

    See also:
        :func:`softmax_cross_entropy` (the same where no logit is ``-inf``).
    """
    ns = get_namespace({"logits": logits, "labels": labels})
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    check_subdtype(ns, logits, "floating", "logits")
    canonicalize_axis(-1, logits.ndim)  # optax's log_softmax over the last axis of the logits
    shape = broadcast_shapes(logits=logits, labels=labels)
    weights = xp.broadcast_to(labels, shape)
    if ns.kind == "jax" and xp.isdtype(weights.dtype, "real floating"):
        # optax's own custom_jvp: forward mode (jax.jvp, jacfwd, hessian) and every order.
        return -xp.sum(_weighted_log_softmax_jax()(xp.broadcast_to(logits, shape), weights), axis=-1)
    log_probs = log_softmax(ns, logits, (logits.ndim - 1,))
    nonzero = weights != 0.0
    # The value and the logits' gradient by autodiff, with the labels held constant.
    held = ops.stop_gradient(weights)
    terms = xp.where(nonzero, held * log_probs, xp.zeros_like(log_probs))
    if ns.kind != "numpy" and xp.isdtype(weights.dtype, "real floating"):
        # optax's custom JVP: d/dlabels = log_softmax(logits), also where labels == 0.
        zeros = xp.zeros_like(ops.stop_gradient(terms))
        terms = terms + custom_gradient(
            zeros, (weights, xp.astype(ops.stop_gradient(log_probs), weights.dtype))
        )
    return -xp.sum(terms, axis=-1)


_WEIGHTED_LOG_SOFTMAX: Any = None


def _weighted_log_softmax_jax() -> Any:
    """optax's ``weighted_logsoftmax`` on JAX arrays: ``where(w != 0, w log_softmax(x), 0)``
    with its ``jax.custom_jvp`` (tangent ``w x_dot - w sum(x_dot softmax(x)) + w_dot
    log_softmax(x)``: no NaN at a ``-inf`` logit with a zero weight, and a JVP, so forward
    mode and higher orders work as in optax).  Built once, on first use."""
    global _WEIGHTED_LOG_SOFTMAX
    if _WEIGHTED_LOG_SOFTMAX is None:
        import jax
        import jax.numpy as jnp

        @jax.custom_jvp
        def weighted(x: Any, w: Any) -> Any:
            lsm = jax.nn.log_softmax(x, axis=-1)
            return jnp.where(w != 0.0, w * lsm, jnp.zeros_like(lsm))

        @weighted.defjvp
        def weighted_jvp(primals: Any, tangents: Any) -> Any:
            (x, w), (x_dot, w_dot) = primals, tangents
            lsm = jax.nn.log_softmax(x, axis=-1)
            out = jnp.where(w != 0.0, w * lsm, jnp.zeros_like(lsm))
            dot = (w * x_dot - w * jnp.sum(x_dot * jax.nn.softmax(x, axis=-1), axis=-1, keepdims=True)
                   + w_dot * lsm)
            return out, dot

        _WEIGHTED_LOG_SOFTMAX = weighted
    return _WEIGHTED_LOG_SOFTMAX


@quiet_numpy
@jit_on_jax
def softmax_cross_entropy(
    logits: Any, labels: Any, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``softmax_cross_entropy``: cross-entropy from logits and probability labels.

    .. math::
        \ell_i = -\sum_j y_{ij} \log \operatorname{softmax}(x_i)_j

    over ``axis`` (an int, a tuple of ints, or None for every axis; default -1).
    ``labels`` are probabilities (one-hot or soft) broadcastable to the logits.
    ``where`` (boolean) leaves entries out of the softmax and of the sum; a mask
    of one rank less than the logits is expanded on ``axis``; a row with nothing
    selected gives 0.  A ``-inf`` logit gives NaN even with a zero label (use
    :func:`safe_softmax_cross_entropy`).  ``logits`` must be floating
    (``TypeError``).  No reduction over the batch.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.optax.softmax_cross_entropy(np.array([1.0, 2.0]), np.array([0.0, 1.0])))
        0.31326168751822286

    See also:
        :func:`softmax_cross_entropy_with_integer_labels`,
        :func:`safe_softmax_cross_entropy`, :func:`lossbridge.optax.smooth_labels`;
        :func:`lossbridge.torch.functional.cross_entropy` (class axis 1, reduces);
        :func:`lossbridge.keras.categorical_crossentropy` with ``from_logits=True``.
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where})
    logits, labels, where = ns.asarray(logits), ns.asarray(labels), ns.asarray(where)
    check_subdtype(ns, logits, "floating", "logits")
    where = expand_where(ns, where, axis, logits.ndim)
    axes = canonicalize_axes(axis, logits.ndim)
    broadcast_shapes(logits=logits, labels=labels, where=where)
    log_probs = log_softmax(ns, logits, axes, where)
    # optax sums over `axis` of the product, whose rank is the broadcast rank: logits (N,)
    # with labels (N, 1) give (N, N), summed over its last axis.
    product = labels * log_probs
    return -masked_sum(ns, product, canonicalize_axes(axis, product.ndim), where)


@quiet_numpy
@jit_on_jax
def softmax_cross_entropy_with_integer_labels(
    logits: Any, labels: Any, axis: int | tuple[int, ...] = -1, where: Any = None
) -> Any:
    r"""optax's ``softmax_cross_entropy_with_integer_labels``: ``logsumexp(x) - x[label]``.

    .. math::
        \ell_i = \log\sum_j e^{x_{ij}} - x_{i, y_i}

    ``labels`` are integers (``TypeError`` otherwise) of the logits' shape without
    ``axis``.  Indexing follows ``jnp.take_along_axis``: a label ``-C <= t < 0``
    wraps to ``t + C``; a label ``>= C`` or ``< -C`` gives NaN, never an error.
    With a tuple ``axis`` the class axes are flattened, in order, and a label is a
    flat index into them.  With ``where``, masked entries leave the normaliser
    (the label's logit is read even if masked) and a row with nothing selected
    gives 0.  ``axis=None`` is a ``ValueError``, as in optax.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> f = lb.optax.softmax_cross_entropy_with_integer_labels
        >>> f(np.array([[1.0, 2.0, 3.0]]), np.array([-1])).round(6).tolist()
        [0.407606]

    See also:
        :func:`softmax_cross_entropy` (probability labels);
        :func:`lossbridge.torch.functional.cross_entropy` with ``reduction="none"``
        (class axis 1, ``ignore_index``, errors on a bad label).
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where})
    xp = ns.xp
    logits, labels, where = ns.asarray(logits), ns.asarray(labels), ns.asarray(where)
    check_subdtype(ns, logits, "floating", "logits")
    check_subdtype(ns, labels, "integer", "labels")
    if isinstance(axis, bool) or not isinstance(axis, (int, tuple)):
        raise LossBridgeError(
            "Keyword argument 'axis' must be of type 'int' or 'tuple[int, ...]' but actual type "
            f"is {type(axis)}."
        )
    where = expand_where(ns, where, axis, logits.ndim)
    if isinstance(axis, int):
        axis_ = canonicalize_axis(axis, logits.ndim)
    else:
        # Move the class axes last, in order, and flatten them into one (as optax does).
        logit_axes = canonicalize_axes(axis, logits.ndim)
        batch = tuple(a for a in range(logits.ndim) if a not in logit_axes)
        perm = batch + logit_axes
        logits = xp.permute_dims(logits, perm)
        logits = xp.reshape(logits, (*tuple(logits.shape[:len(batch)]), -1))
        if where is not None:
            where = xp.permute_dims(where, perm)
            where = xp.reshape(where, (*tuple(where.shape[:len(batch)]), -1))
        axis_ = len(batch)
    if labels.ndim + 1 != logits.ndim:
        raise LossBridgeError(
            f"indices and arr must have the same number of dimensions; {labels.ndim + 1} vs. "
            f"{logits.ndim}: `labels` must have the logits' shape without the class axis, but "
            f"the logits are {tuple(logits.shape)} (class axis {axis_}) and the labels "
            f"{tuple(labels.shape)}."
        )
    index = xp.expand_dims(labels, axis=axis_)
    batch_shape = _broadcast_batch(logits, index, axis_)
    num_classes = logits.shape[axis_]
    full = (*batch_shape[:axis_], num_classes, *batch_shape[axis_:])
    index = xp.broadcast_to(index, (*full[:axis_], 1, *full[axis_ + 1:]))
    if num_classes == 0:
        # optax: the log-normalizer of no class is -inf and JAX's out-of-bounds gather reads a
        # finite fill, so every sample is -inf (0 where `where`, all False, masks it out).
        zero = xp.sum(xp.broadcast_to(logits, full), axis=axis_)
        return zero if where is not None else zero + scalar(ns, -math.inf, zero)
    label_logits = xp.squeeze(_take(ns, xp.broadcast_to(logits, full), index, axis_), axis=axis_)
    log_normalizers = logsumexp(ns, logits, (axis_,), where=where)
    out = log_normalizers - label_logits
    if where is not None:
        out = xp.where(xp.any(where, axis=axis_), out, scalar(ns, 0.0, out))
    return out


def _broadcast_batch(logits: Any, index: Any, axis: int) -> tuple[int, ...]:
    """The broadcast of the logits' and the labels' shapes without the class axis."""
    a, b = list(logits.shape), list(index.shape)
    del a[axis], b[axis]
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise LossBridgeError(
            f"Incompatible shapes for broadcasting: the logits have shape {tuple(logits.shape)} "
            f"with class axis {axis} and the labels {tuple(index.shape[:axis] + index.shape[axis + 1:])}; "
            "the labels must have the logits' shape without the class axis."
        ) from None


def _take(ns: Any, x: Any, index: Any, axis: int) -> Any:
    """``jnp.take_along_axis`` in its default mode: negative indices wrap once, indices
    ``>= n`` or ``< -n`` give NaN."""
    xp = ns.xp
    n = x.shape[axis]
    if xp.isdtype(index.dtype, "unsigned integer"):
        in_range, wrapped = index < n, index
    else:
        in_range = (index >= -n) & (index < n)
        wrapped = xp.where(index < 0, index + n, index)
    safe = xp.where(in_range, wrapped, xp.zeros_like(wrapped))
    if ns.kind == "torch":
        safe = xp.astype(safe, xp.int64)  # torch.take_along_dim takes int64 indices only
    taken = ops.take_along_axis(x, safe, axis=axis)
    return xp.where(in_range, taken, scalar(ns, math.nan, taken))


def _one_hot(ns: Any, labels: Any, num_classes: int, like: Any) -> Any:
    """``jax.nn.one_hot(labels, num_classes)``: zero rows for labels outside [0, C)."""
    dtype = like.dtype if ns.xp.isdtype(like.dtype, "real floating") else None
    return ops.one_hot(labels, num_classes, dtype=dtype)


def _dot_last_dim(ns: Any, a: Any, b: Any) -> Any:
    """optax's ``_dot_last_dim``: a dot product over the last axis, ``inf * 0`` giving NaN as
    optax's eager product does.  On JAX arrays under ``jit`` XLA rewrites the product with
    a one-hot built in the same program into a select, which drops that NaN (optax itself
    gives ``inf`` under ``jax.jit``): an optimization barrier keeps the product."""
    if ns.kind == "jax":
        import jax

        b = jax.lax.optimization_barrier(b)
    return ns.xp.sum(a * b, axis=-1)


def _class_labels(ns: Any, scores: Any, labels: Any) -> tuple[Any, Any]:
    scores, labels = ns.asarray(scores), ns.asarray(labels)
    if scores.ndim == 0:  # optax reads scores.shape[-1]: IndexError
        raise LossBridgeIndexError(
            "tuple index out of range: `scores` must have a class axis (the last one), but it "
            "is a 0-d array."
        )
    if ns.xp.isdtype(labels.dtype, "bool"):  # optax's jax.nn.one_hot: "iota does not accept bool"
        raise LossBridgeTypeError(
            f"iota does not accept dtype bool: `labels` is a {describe(labels)}, but optax takes "
            "integer class indices. Pass labels.astype(int)."
        )
    one_hot = _one_hot(ns, labels, scores.shape[-1], scores)
    broadcast_shapes(scores=scores, one_hot_labels=one_hot)
    return scores, one_hot


@quiet_numpy
@jit_on_jax
def multiclass_hinge_loss(scores: Any, labels: Any) -> Any:
    r"""optax's ``multiclass_hinge_loss`` (Crammer-Singer), one value per example.

    .. math::
        \ell = \max_k \big(s_k + 1 - [k = y]\big) - s_y

    over the last axis.  ``labels`` are integers of ``scores``' shape without the
    last axis; a label outside ``[0, C)`` (negative ones included) has an all-zero
    one-hot row (``jax.nn.one_hot``), so the loss is ``max(s) + 1``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.multiclass_hinge_loss(np.array([[1.0, 3.0, 0.0]]), np.array([0])).tolist()
        [3.0]

    See also:
        :func:`hinge_loss`, :func:`multiclass_perceptron_loss`;
        :func:`lossbridge.torch.functional.multi_margin_loss` sums over classes instead.
    """
    ns = get_namespace({"scores": scores, "labels": labels})
    xp = ns.xp
    scores, one_hot = _class_labels(ns, scores, labels)
    return xp.max(scores + 1.0 - one_hot, axis=-1) - _dot_last_dim(ns, scores, one_hot)


@quiet_numpy
@jit_on_jax
def multiclass_perceptron_loss(scores: Any, labels: Any) -> Any:
    r"""optax's ``multiclass_perceptron_loss``, one value per example.

    .. math::
        \ell = \max_k s_k - s_y

    over the last axis, with ``s_y`` read through ``jax.nn.one_hot(labels)`` (a
    label outside ``[0, C)`` reads 0).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.multiclass_perceptron_loss(np.array([[1.0, 3.0, 0.0]]), np.array([0])).tolist()
        [2.0]

    See also:
        :func:`perceptron_loss`, :func:`multiclass_hinge_loss`.
    """
    ns = get_namespace({"scores": scores, "labels": labels})
    xp = ns.xp
    scores, one_hot = _class_labels(ns, scores, labels)
    best, picked = xp.max(scores, axis=-1), _dot_last_dim(ns, scores, one_hot)
    if best.dtype == xp.bool:  # bool scores: JAX promotes bool - float, torch refuses it
        best = xp.astype(best, picked.dtype)
    return best - picked


@quiet_numpy
@jit_on_jax
def multiclass_sparsemax_loss(scores: Any, labels: Any) -> Any:
    r"""optax's ``multiclass_sparsemax_loss`` (Martins & Astudillo 2016), one value per row.

    .. math::
        p = \operatorname{sparsemax}(s), \qquad
        \ell = \sum_k p_k (s_k - s_y) + \tfrac12 \Big(1 - \sum_k p_k^2\Big)

    where ``sparsemax`` is the Euclidean projection onto the probability simplex
    (its gradient is optax's: ``supp * v - (supp . v / |supp|) * supp``) and the
    ``y``-th term is held at 0 (no gradient).  ``scores`` are ``(batch, classes)``
    and ``labels`` ``(batch,)`` integers: optax maps the loss over the first axis
    with ``jax.vmap``, and lossbridge accepts exactly that layout (optax gives
    meaningless numbers or a ``TypeError`` for other ranks).  Labels index like
    ``scores[label]`` in JAX: ``-C <= y < 0`` wraps; other out-of-range labels read
    the nearest class (clamped) and no term is held at 0.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.multiclass_sparsemax_loss(np.array([[1.0, 1.5, 0.0]]), np.array([0])).tolist()
        [0.5625]

    See also:
        :func:`sparsemax_loss` (binary), :func:`make_fenchel_young_loss`.
    """
    ns = get_namespace({"scores": scores, "labels": labels})
    xp = ns.xp
    scores, labels = ns.asarray(scores), ns.asarray(labels)
    if scores.ndim != 2:
        raise LossBridgeTypeError(
            "multiclass_sparsemax_loss takes `scores` of shape (batch, num_classes) (optax maps "
            f"over the first axis with jax.vmap), but `scores` has shape {tuple(scores.shape)}. "
            "Reshape to (-1, num_classes) first."
        )
    if ns.xp.isdtype(labels.dtype, "bool"):
        # optax indexes with them: JAX's NonConcreteBooleanIndexError, an IndexError
        raise LossBridgeIndexError(
            "Array boolean indices must be concrete. multiclass_sparsemax_loss: `labels` is a "
            f"{describe(labels)}; optax indexes the scores with it (a boolean mask under "
            "jax.vmap). `labels` must be integer class indices: labels.astype('int32')."
        )
    if not ns.xp.isdtype(labels.dtype, "integral"):
        raise LossBridgeTypeError(
            f"Indexer must have integer or boolean type, got indexer with type {labels.dtype}: "
            "`labels` must be integer class indices."
        )
    if labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
        raise LossBridgeError(
            f"vmap got inconsistent sizes for array axes to be mapped: `scores` has shape "
            f"{tuple(scores.shape)} and `labels` {tuple(labels.shape)}; give one label per row."
        )
    n = scores.shape[-1]
    if n == 0:
        raise LossBridgeIndexError(
            "index is out of bounds for axis 0 with size 0. multiclass_sparsemax_loss: `scores` "
            f"is a {describe(scores)} with no class (optax indexes the empty row with the label). "
            "Pass scores of shape (batch, num_classes) with num_classes >= 1."
        )
    index = xp.expand_dims(labels, axis=-1)
    if xp.isdtype(labels.dtype, "unsigned integer"):
        wrapped, valid = index, index < n
    else:
        wrapped = xp.where(index < 0, index + n, index)
        valid = (index >= -n) & (index < n)
    read = xp.clip(wrapped, 0, n - 1)  # jnp indexing clamps an out-of-range gather
    if ns.kind == "torch":
        read = xp.astype(read, xp.int64)  # torch gathers with int64 indices only (uint8 labels)
    z = scores - ops.take_along_axis(scores, read, axis=-1)
    classes = ns.asarray(list(range(n)), dtype=wrapped.dtype)
    held = (classes == wrapped) & valid  # .at[label].set(0.0): dropped when out of range
    z = xp.where(held, scalar(ns, 0.0, z), z)
    proba = projection_simplex(ns, scores)
    terms = xp.where(proba != 0, z, scalar(ns, 0.0, z))
    return xp.sum(proba * terms, axis=-1) + 0.5 * (1.0 - xp.sum(proba * proba, axis=-1))


@quiet_numpy
@jit_on_jax
def poly_loss_cross_entropy(
    logits: Any, labels: Any, *, epsilon: Any = 2.0, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``poly_loss_cross_entropy`` (Poly-1, Leng et al. 2022), one value per example.

    .. math::
        \ell = \mathrm{CE}(x, y) + \epsilon \sum_j y_j \big(1 - \operatorname{softmax}(x)_j\big)

    with ``CE`` = :func:`softmax_cross_entropy`; ``epsilon`` defaults to 2.0 (the
    paper's ImageNet value; -1 is suggested for detection).  ``axis`` and ``where``
    as in :func:`softmax_cross_entropy` (the softmax and the polynomial sum use
    ``where`` as given, the cross-entropy expands a lower-rank mask on ``axis``).
    ``logits`` and ``labels`` must both be floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.poly_loss_cross_entropy(np.array([[1.0, 2.0]]), np.array([[0.0, 1.0]])).round(6).tolist()
        [0.851145]

    See also:
        :func:`softmax_cross_entropy` (``epsilon=0``).
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where, "epsilon": epsilon})
    logits, labels, where = ns.asarray(logits), ns.asarray(labels), ns.asarray(where)
    check_subdtype(ns, logits, "floating", "logits")
    check_subdtype(ns, labels, "floating", "labels")
    axes = canonicalize_axes(axis, logits.ndim)
    broadcast_shapes(logits=logits, labels=labels, where=where)
    p = softmax(ns, logits, axes, where)
    product = labels * (1 - p)
    one_minus_pt = masked_sum(ns, product, canonicalize_axes(axis, product.ndim), where)
    cross_entropy = softmax_cross_entropy(logits, labels, axis=axis, where=where)
    return cross_entropy + epsilon * one_minus_pt


# ------------------------------------------------------------- divergences


@quiet_numpy
@jit_on_jax
def kl_divergence(
    log_predictions: Any, targets: Any, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``kl_divergence``: KL(targets || predictions), predictions in log space.

    .. math::
        \ell = \sum_j y_j \big(\log y_j - \log q_j\big), \qquad 0 \log 0 := 0

    over ``axis`` (int, tuple or None; default -1), masked by ``where`` (entries
    left out of the sum; no expansion).  ``targets`` are probabilities (a
    negative one gives NaN); both inputs must be floating (``TypeError``).  As in
    optax, the gradient with respect to a target of exactly 0 is NaN (``log`` is
    differentiated at 0 before the mask).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.optax.kl_divergence(np.log(np.array([0.5, 0.5])), np.array([1.0, 0.0])))
        0.6931471805599453

    See also:
        :func:`kl_divergence_with_log_targets`, :func:`generalized_kl_divergence`;
        :func:`lossbridge.torch.functional.kl_div` (``reduction="none"``, then sum).
    """
    require(targets=targets)
    ns = get_namespace({"log_predictions": log_predictions, "targets": targets, "where": where})
    xp = ns.xp
    lp, t, where = ns.asarray(log_predictions), ns.asarray(targets), ns.asarray(where)
    check_subdtype(ns, lp, "floating", "log_predictions")
    check_subdtype(ns, t, "floating", "targets")
    shape = broadcast_shapes(log_predictions=lp, targets=t, where=where)
    with quiet(ns):
        loss = t * (xp.where(t == 0, scalar(ns, 0.0, t), xp.log(t)) - lp)
    return masked_sum(ns, loss, canonicalize_axes(axis, len(shape)), where)


@quiet_numpy
@jit_on_jax
def kl_divergence_with_log_targets(
    log_predictions: Any, log_targets: Any, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``kl_divergence_with_log_targets``: KL with both distributions in log space.

    .. math::
        \ell = \sum_j e^{t_j} (t_j - \log q_j)

    over ``axis``, masked by ``where``.  Both inputs must be floating
    (``TypeError``).  A ``-inf`` log-target gives ``0 * inf = NaN`` where the
    prediction is also ``-inf``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lp, lt = np.log(np.array([0.5, 0.5])), np.log(np.array([0.9, 0.1]))
        >>> round(float(lb.optax.kl_divergence_with_log_targets(lp, lt)), 6)
        0.368064

    See also:
        :func:`kl_divergence`; :func:`lossbridge.torch.functional.kl_div` with
        ``log_target=True``.
    """
    ns = get_namespace(
        {"log_predictions": log_predictions, "log_targets": log_targets, "where": where}
    )
    xp = ns.xp
    lp, lt, where = ns.asarray(log_predictions), ns.asarray(log_targets), ns.asarray(where)
    check_subdtype(ns, lp, "floating", "log_predictions")
    check_subdtype(ns, lt, "floating", "log_targets")
    shape = broadcast_shapes(log_predictions=lp, log_targets=lt, where=where)
    loss = xp.exp(lt) * (lt - lp)
    return masked_sum(ns, loss, canonicalize_axes(axis, len(shape)), where)


@quiet_numpy
@jit_on_jax
def generalized_kl_divergence(
    log_predictions: Any, targets: Any, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``generalized_kl_divergence``: KL for unnormalised distributions.

    .. math::
        \ell = \sum_j y_j (\log y_j - \log q_j) + \sum_j (q_j - y_j)

    the Bregman divergence of :math:`f(x) = x \log x - x`; equal to
    :func:`kl_divergence` when both sum to 1.  ``axis``/``where`` as there.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.optax.generalized_kl_divergence(np.log(np.array([1.0, 1.0])), np.array([1.0, 0.0]))), 6)
        1.0

    See also:
        :func:`kl_divergence`; :func:`convex_kl_divergence` (its deprecated name).
    """
    require(targets=targets)
    ns = get_namespace({"log_predictions": log_predictions, "targets": targets, "where": where})
    xp = ns.xp
    x = kl_divergence(log_predictions, targets, axis=axis, where=where)
    lp, t, where = ns.asarray(log_predictions), ns.asarray(targets), ns.asarray(where)
    shape = broadcast_shapes(log_predictions=lp, targets=t, where=where)
    y = masked_sum(ns, xp.exp(lp) - t, canonicalize_axes(axis, len(shape)), where)
    return x + y


@quiet_numpy
def convex_kl_divergence(
    log_predictions: Any, targets: Any, axis: Axis = -1, where: Any = None
) -> Any:
    """Deprecated alias of :func:`generalized_kl_divergence` (as in optax 0.2.8).

    Warns ``"The function convex_kl_divergence is deprecated. Please use
    generalized_kl_divergence instead."`` as a
    :class:`~lossbridge.LossBridgeDeprecationWarning` (a ``DeprecationWarning``,
    hidden by Python's default filters, as optax's is), then returns
    ``generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)``.

    Example:
        >>> import warnings
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     round(float(lb.optax.convex_kl_divergence(np.zeros(2), np.array([1.0, 0.0]))), 6)
        1.0

    See also:
        :func:`generalized_kl_divergence`.
    """
    warn(
        "The function convex_kl_divergence is deprecated. Please use generalized_kl_divergence "
        "instead.",
        LossBridgeDeprecationWarning,
    )
    return generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)
