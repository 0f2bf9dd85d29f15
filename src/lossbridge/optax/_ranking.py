"""optax's ranking losses (``optax/losses/_ranking.py``, optax 0.2.8).

Ranking losses work on the last axis (a list of items); the leading axes are
batch axes.  Unlike the rest of optax they *do* reduce by default, with
``reduce_fn=jnp.mean``; here the default is :func:`mean`, the same reduction on
any array, and ``jnp.mean``/``jnp.sum``/``np.mean``/``np.sum``/``torch.mean``/
``torch.sum`` are recognised and run on any array too.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from .._backend import Namespace, describe, get_namespace, quiet
from .._errors import LossBridgeIndexError
from ._utils import (
    broadcast_shapes,
    check_subdtype,
    jit_on_jax,
    log_softmax,
    masked_sum,
    quiet_numpy,
    scalar,
)

__all__ = ["mean", "ranking_softmax_loss", "sum"]


def mean(a: Any, where: Any = None) -> Any:
    """``jnp.mean(a, where=where)`` on any array: ``sum(a, where) / count(where)``.

    Example:
        >>> import numpy as np
        >>> from lossbridge.optax import _ranking
        >>> float(_ranking.mean(np.array([1.0, 2.0, 6.0]), where=np.array([True, True, False])))
        1.5
    """
    ns = get_namespace({"a": a, "where": where})
    a, where = ns.asarray(a), ns.asarray(where)
    with quiet(ns):
        return _mean(ns, a, where)


def sum(a: Any, where: Any = None) -> Any:
    """``jnp.sum(a, where=where)`` on any array.

    Example:
        >>> import numpy as np
        >>> from lossbridge.optax import _ranking
        >>> float(_ranking.sum(np.array([1.0, 2.0, 6.0]), where=np.array([True, True, False])))
        3.0
    """
    ns = get_namespace({"a": a, "where": where})
    a, where = ns.asarray(a), ns.asarray(where)
    return masked_sum(ns, a, tuple(range(a.ndim)), where)


def _mean(ns: Namespace, a: Any, where: Any) -> Any:
    xp = ns.xp
    total = masked_sum(ns, a, tuple(range(a.ndim)), where)
    if where is None:
        count = scalar(ns, float(math.prod(a.shape)), total)
    else:
        count = xp.sum(xp.astype(xp.broadcast_to(where, tuple(a.shape)), total.dtype))
    return total / count


def _known_reducer(reduce_fn: Any) -> str | None:
    """``"mean"`` or ``"sum"`` for the reducers every array kind can run, else None."""
    if reduce_fn is mean or reduce_fn is sum:
        return reduce_fn.__name__
    candidates = []
    for module in ("jax.numpy", "numpy", "torch"):
        mod = sys.modules.get(module)
        if mod is not None:
            candidates += [(getattr(mod, "mean", None), "mean"), (getattr(mod, "sum", None), "sum")]
    for fn, name in candidates:
        if fn is not None and reduce_fn is fn:
            return name
    return None


def _safe_reduce(
    ns: Namespace, a: Any, where: Any, reduce_fn: Callable[..., Any] | None
) -> Any:
    """optax's ``_safe_reduce``: a masked mean of nothing is 0 unless the input has NaNs;
    without a reduction, masked lists are set to 0."""
    xp = ns.xp
    known = _known_reducer(reduce_fn) if reduce_fn is not None else None
    if reduce_fn is None:
        output = a
    elif known == "mean":
        output = _mean(ns, a, where)
    elif known == "sum":
        output = masked_sum(ns, a, tuple(range(a.ndim)), where)
    else:
        output = reduce_fn(a, where=where)
    if known == "mean":
        is_input_valid = xp.logical_not(xp.any(xp.isnan(a)))
        output = xp.where(xp.isnan(output) & is_input_valid, scalar(ns, 0.0, output), output)
    if reduce_fn is None and where is not None:
        output = xp.where(where, output, scalar(ns, 0.0, output))
    return output


@quiet_numpy
@jit_on_jax
def ranking_softmax_loss(
    logits: Any,
    labels: Any,
    *,
    where: Any | None = None,
    weights: Any | None = None,
    reduce_fn: Callable[..., Any] | None = mean,
) -> Any:
    r"""optax's ``ranking_softmax_loss``: listwise softmax cross-entropy, reduced by ``reduce_fn``.

    .. math::
        \ell(s, y) = -\sum_i y_i \log \frac{e^{s_i}}{\sum_j e^{s_j}}

    per list (the last axis), with ``labels`` (relevance, cast to the logits'
    dtype) multiplied by ``weights`` when given.  ``where`` marks valid items:
    invalid items get label 0 and logit ``-inf`` and leave the sum.  Then
    ``reduce_fn`` (default: the mean over lists, ``jnp.mean`` semantics; or a sum;
    or ``None`` for one value per list) reduces the per-list losses, counting only
    lists with a valid item; a mean over no valid list is 0 (unless the losses
    hold a NaN), and with ``reduce_fn=None`` a list with no valid item gives 0.
    ``jnp.mean``/``jnp.sum`` (and NumPy's and torch's) are recognised and run on
    any array; another callable is called as ``reduce_fn(loss, where=mask)``.
    ``logits`` must be floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.optax.ranking_softmax_loss(np.array([2.0, 1.0, 3.0]), np.array([1.0, 0.0, 0.0]))), 3)
        1.408

    See also:
        :func:`lossbridge.optax.softmax_cross_entropy` (no mask, no reduction).
    """
    ns = get_namespace({"logits": logits, "labels": labels, "where": where, "weights": weights})
    with quiet(ns):
        return _ranking_softmax_loss(ns, logits, labels, where, weights, reduce_fn)


def _ranking_softmax_loss(
    ns: Namespace, logits: Any, labels: Any, where: Any, weights: Any,
    reduce_fn: Callable[..., Any] | None,
) -> Any:
    xp = ns.xp
    logits, labels = ns.asarray(logits), ns.asarray(labels)
    where, weights = ns.asarray(where), ns.asarray(weights)
    check_subdtype(ns, logits, "floating", "logits")
    if logits.ndim == 0:
        # optax reduces over axis -1 (NumPy's AxisError: a ValueError and an IndexError)
        raise LossBridgeIndexError(
            f"axis -1 is out of bounds for array of dimension 0. ranking_softmax_loss: `logits` "
            f"is a {describe(logits)}; it scores a list of items on its last axis: pass shape "
            "(num_items,) or (batch, num_items)."
        )
    broadcast_shapes(logits=logits, labels=labels, where=where, weights=weights)  # JAX's error
    labels = xp.astype(labels, logits.dtype)
    if where is not None:
        labels = xp.where(where, labels, xp.zeros_like(labels))
        logits = xp.where(where, logits, scalar(ns, -math.inf, logits))
    if weights is not None:
        labels = labels * weights
    logits_log_softmax = log_softmax(ns, logits, (logits.ndim - 1,))
    loss = -masked_sum(ns, labels * logits_log_softmax, (logits.ndim - 1,), where)
    if where is not None:
        where = xp.any(where, axis=-1)
    return _safe_reduce(ns, loss, where, reduce_fn)

