"""torch's distance-based losses: ``pairwise_distance``, ``triplet_margin_loss`` and
``triplet_margin_with_distance_loss``.  Re-exported by :mod:`lossbridge.torch.functional`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from .. import ops
from .._backend import Namespace, torch_namespace
from .._errors import LossBridgeError, LossBridgeRuntimeError
from ._common import broadcast_shape, clamp_min0, convert, native, native_failed, same_shape_fast
from ._reduction import reduce as _reduce
from ._reduction import resolve_reduction

__all__ = ["pairwise_distance", "triplet_margin_loss", "triplet_margin_with_distance_loss"]


def _vector_norm(ns: Namespace, d: Any, p: float, keepdims: bool) -> Any:
    """``||d||_p`` over the last axis, with torch's gradient (0 where the norm is 0).

    ``p = inf`` / ``-inf``: max / min of ``|d|`` (ties share the gradient);
    ``p = 0``: the number of non-zero entries (no gradient); otherwise
    ``(sum |d|**p) ** (1/p)``, with no NaN from zero entries.
    """
    xp = ns.xp
    if d.ndim == 0:
        d = xp.reshape(d, (1,))
        keepdims = False
    a = d * xp.sign(d)  # |d| whose derivative is sign(d), 0 at 0 (as torch's norm)
    if p == math.inf:
        return xp.max(a, axis=-1, keepdims=keepdims)
    if p == -math.inf:
        return xp.min(a, axis=-1, keepdims=keepdims)
    if p == 0:  # a count: gradient 0 (but still a function of d, as in torch)
        count = ops.stop_gradient(xp.sum(xp.astype(a != 0, d.dtype), axis=-1, keepdims=keepdims))
        finite = xp.where(xp.isfinite(d), d, xp.zeros_like(d))
        return count + 0.0 * xp.sum(finite, axis=-1, keepdims=keepdims)
    if p == 1:
        return xp.sum(a, axis=-1, keepdims=keepdims)
    if p == 2:
        s = xp.sum(d * d, axis=-1, keepdims=keepdims)
        zero = s == 0
        return xp.where(zero, xp.zeros_like(s), xp.sqrt(xp.where(zero, xp.ones_like(s), s)))
    zero_a = a == 0
    terms = xp.where(zero_a, xp.zeros_like(a), xp.where(zero_a, xp.ones_like(a), a) ** p)
    s = xp.sum(terms, axis=-1, keepdims=keepdims)
    zero = s == 0
    return xp.where(zero, xp.zeros_like(s), xp.where(zero, xp.ones_like(s), s) ** (1.0 / p))


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Any:
    """torch's ``pairwise_distance``: ``||x1 - x2 + eps||_p`` over the last dimension.

    ``eps`` is added to the *difference* (so ``pairwise_distance(a, a)`` is
    ``eps * D ** (1/p)``, not 0).  ``x1`` and ``x2`` broadcast; the norm runs
    over the last dimension of the broadcast difference (a 0-d difference is its
    own absolute value).  ``p=inf`` is the largest ``|x1 - x2 + eps|``, ``p=0``
    the number of non-zero entries.  Defaults ``p=2.0``, ``eps=1e-6``,
    ``keepdim=False``.  The gradient is torch's (0 where the norm is 0).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.torch.functional.pairwise_distance(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), eps=0.0).tolist()
        [5.0]

    See also: :func:`triplet_margin_loss`, :func:`triplet_margin_with_distance_loss`.
    """
    ns = torch_namespace({"x1": x1, "x2": x2})
    x1 = convert(ns, x1)
    x2 = convert(ns, x2, like=x1)
    broadcast_shape("pairwise_distance", [("x1", x1), ("x2", x2)])
    if native(ns):
        import torch

        return torch.nn.functional.pairwise_distance(x1, x2, p=p, eps=eps, keepdim=keepdim)
    return _vector_norm(ns, x1 - x2 + eps, p, keepdim)


def _check_margin(margin: float) -> None:
    if margin <= 0:
        raise LossBridgeError(
            f"margin must be greater than 0, got {margin}. The margin is how much farther the "
            "negative must be than the positive."
        )


def _check_triplet_dims(anchor: Any, positive: Any, negative: Any) -> None:
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise LossBridgeRuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs. Their "
            f"shapes are {tuple(anchor.shape)}, {tuple(positive.shape)} and "
            f"{tuple(negative.shape)}; use (N, D) for all three."
        )


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``triplet_margin_loss``: the positive must be closer to the anchor than the negative, by ``margin``.

    With ``d(u, v) = pairwise_distance(u, v, p, eps) = ||u - v + eps||_p`` over
    the last dimension (``(N, D)`` or ``(D,)``, all three of one rank)::

        l = max(0, margin + d(a, p) - d(a, n))
        swap=True:  d(a, n) <- min(d(a, n), d(p, n))

    ``eps`` sits inside the norm, added to the difference (optax adds it to the
    sum of powers instead).  ``margin`` must be positive.  Defaults
    ``margin=1.0``, ``p=2``, ``eps=1e-6``, ``swap=False``, ``reduction="mean"``
    (over samples).  The gradient passes at ``l == 0`` (torch's ``clamp_min``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> a, pos, neg = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.5]])
        >>> round(float(lb.torch.functional.triplet_margin_loss(a, pos, neg, eps=0.0)), 6)
        0.5

    See also: :class:`lossbridge.torch.TripletMarginLoss`,
    :func:`triplet_margin_with_distance_loss`, ``lossbridge.optax.triplet_margin_loss``.
    """
    if size_average is None and reduce is None and same_shape_fast(anchor, positive, negative):
        _check_margin(margin)
        try:
            return sys.modules["torch"].nn.functional.triplet_margin_loss(
                anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap,
                reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _triplet_margin_loss_checked(
                anchor, positive, negative, margin, p, eps, swap, None, None, reduction))
    return _triplet_margin_loss_checked(anchor, positive, negative, margin, p, eps, swap, size_average, reduce,
                                        reduction)


def _triplet_margin_loss_checked(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`triplet_margin_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    _check_margin(margin)
    ns = torch_namespace({"anchor": anchor, "positive": positive, "negative": negative})
    anchor = convert(ns, anchor)
    positive = convert(ns, positive, like=anchor)
    negative = convert(ns, negative, like=anchor)
    _check_triplet_dims(anchor, positive, negative)
    broadcast_shape(
        "triplet_margin_loss", [("anchor", anchor), ("positive", positive), ("negative", negative)]
    )
    if native(ns):
        import torch

        return torch.nn.functional.triplet_margin_loss(
            anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap, reduction=reduction
        )
    d_pos = _vector_norm(ns, anchor - positive + eps, p, False)
    d_neg = _vector_norm(ns, anchor - negative + eps, p, False)
    if swap:
        d_neg = ns.xp.minimum(d_neg, _vector_norm(ns, positive - negative + eps, p, False))
    return _reduce(ns, clamp_min0(ns, margin + d_pos - d_neg), reduction)


def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Any:
    """torch's ``triplet_margin_with_distance_loss``: the triplet loss with any distance.

    ``distance_function(u, v)`` takes two arrays of the call's kind and returns
    one distance per sample (default :func:`pairwise_distance`, ``p=2``,
    ``eps=1e-6``: then this equals :func:`triplet_margin_loss`)::

        l = max(0, margin + D(a, p) - D(a, n))
        swap=True:  D(a, n) <- min(D(a, n), D(p, n))

    Keyword-only options; ``margin`` (default 1.0) must be positive; the three
    inputs must have one number of dimensions; ``reduction`` is ``"mean"``
    (default, over the distances' elements), ``"sum"`` or ``"none"`` (no legacy
    arguments, no ``"elementwise_mean"``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> l1 = lambda u, v: np.abs(u - v).sum(-1)
        >>> a, pos, neg = np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[0.0, 2.5]])
        >>> float(lb.torch.functional.triplet_margin_with_distance_loss(a, pos, neg, distance_function=l1))
        0.5

    See also: :class:`lossbridge.torch.TripletMarginWithDistanceLoss`,
    :func:`triplet_margin_loss`, :func:`pairwise_distance`.
    """
    if distance_function is None and same_shape_fast(anchor, positive, negative):
        try:
            return sys.modules["torch"].nn.functional.triplet_margin_with_distance_loss(
                anchor, positive, negative, margin=margin, swap=swap, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _triplet_margin_with_distance_loss_checked(
                anchor, positive, negative, distance_function=distance_function, margin=margin,
                swap=swap, reduction=reduction))
    return _triplet_margin_with_distance_loss_checked(
        anchor, positive, negative, distance_function=distance_function, margin=margin,
        swap=swap, reduction=reduction)


def _triplet_margin_with_distance_loss_checked(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Any:
    """:func:`triplet_margin_with_distance_loss` through lossbridge's checks (every array kind)."""
    if reduction not in ("mean", "sum", "none"):
        raise LossBridgeError(
            f"{reduction} is not a valid value for reduction. Use 'none', 'mean' or 'sum'."
        )
    _check_margin(margin)
    ns = torch_namespace({"anchor": anchor, "positive": positive, "negative": negative})
    anchor = convert(ns, anchor)
    positive = convert(ns, positive, like=anchor)
    negative = convert(ns, negative, like=anchor)
    _check_triplet_dims(anchor, positive, negative)
    if native(ns):
        import torch

        return torch.nn.functional.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=distance_function, margin=margin,
            swap=swap, reduction=reduction,
        )
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = ns.xp.minimum(d_neg, distance(positive, negative))
    return _reduce(ns, clamp_min0(ns, margin + d_pos - d_neg), reduction)
