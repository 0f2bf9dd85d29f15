"""optax's regression losses (``optax/losses/_regression.py``, optax 0.2.8).

Element-wise losses of ``predictions - targets`` (``targets=None`` means zeros),
and the cosine similarity/distance over an axis.  None of them reduces.
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import Namespace, get_namespace
from ._utils import (
    Axis,
    broadcast_shapes,
    canonicalize_axes,
    check_shapes_equal,
    check_subdtype,
    jit_on_jax,
    logaddexp,
    masked_sum,
    maximum,
    minimum,
    quiet_numpy,
    scalar,
)

__all__ = [
    "cosine_distance",
    "cosine_similarity",
    "huber_loss",
    "l2_loss",
    "log_cosh",
    "squared_error",
]


def _errors(predictions: Any, targets: Any, *, same_shape: bool = False) -> tuple[Namespace, Any]:
    ns = get_namespace({"predictions": predictions, "targets": targets})
    p, t = ns.asarray(predictions), ns.asarray(targets)
    check_subdtype(ns, p, "floating", "predictions")
    if t is None:
        return ns, p
    if same_shape:
        check_shapes_equal(p, t, "predictions", "targets")
    else:
        broadcast_shapes(predictions=p, targets=t)
    if ns.xp.isdtype(t.dtype, "bool"):
        t = ns.xp.astype(t, p.dtype)  # JAX promotes boolean targets (torch cannot subtract them)
    return ns, p - t


@quiet_numpy
@jit_on_jax
def squared_error(predictions: Any, targets: Any | None = None) -> Any:
    r"""optax's ``squared_error``: element-wise :math:`(p - t)^2`.

    ``targets`` must have exactly the predictions' shape (``ValueError('Shape
    mismatch ...')``: optax refuses to broadcast here, unlike :func:`huber_loss`);
    ``None`` means zeros.  ``predictions`` must be floating (``TypeError``).
    ``squared_error(p, t).mean()`` is the mean squared error.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.squared_error(np.array([1.0, 3.0]), np.array([0.0, 1.0])).tolist()
        [1.0, 4.0]

    See also:
        :func:`l2_loss` (half of it); :func:`lossbridge.torch.functional.mse_loss`
        with ``reduction="none"``.
    """
    _ns, errors = _errors(predictions, targets, same_shape=True)
    return errors**2


@quiet_numpy
@jit_on_jax
def l2_loss(predictions: Any, targets: Any | None = None) -> Any:
    r"""optax's ``l2_loss``: element-wise :math:`\tfrac12 (p - t)^2` — **half** the squared error.

    The factor 1/2 (Bishop's convention) makes it half of torch's ``MSELoss`` with
    ``reduction="none"``.  Shapes and dtypes as :func:`squared_error`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.l2_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0])).tolist()
        [0.5, 2.0]

    See also:
        :func:`squared_error`; :func:`lossbridge.torch.functional.mse_loss` (no 1/2).
    """
    return 0.5 * squared_error(predictions, targets)


@quiet_numpy
@jit_on_jax
def huber_loss(predictions: Any, targets: Any | None = None, *, delta: Any = 1.0) -> Any:
    r"""optax's ``huber_loss``: quadratic near 0, linear beyond ``delta``, element-wise.

    .. math::
        \ell = \tfrac12 \min(|e|, \delta)^2 + \delta\,\big(|e| - \min(|e|, \delta)\big),
        \qquad e = p - t

    i.e. :math:`\tfrac12 e^2` for :math:`|e| \le \delta` and
    :math:`\delta |e| - \tfrac12\delta^2` beyond.  ``delta`` defaults to 1.0;
    ``targets`` broadcast (``None``: zeros); ``predictions`` must be floating.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.huber_loss(np.array([0.5, 3.0]), delta=1.0).tolist()
        [0.125, 2.5]

    See also:
        :func:`lossbridge.torch.functional.huber_loss` with ``reduction="none"``
        (the same); ``smooth_l1_loss`` divides by ``beta``.
    """
    ns, errors = _errors(predictions, targets)
    xp = ns.xp
    abs_errors = xp.abs(errors)
    quadratic = minimum(ns, abs_errors, ns.asarray(delta, dtype=abs_errors.dtype))
    # Same as max(abs_x - delta, 0) but avoids potentially doubling the gradient.
    linear = abs_errors - quadratic
    return 0.5 * quadratic**2 + delta * linear


@quiet_numpy
@jit_on_jax
def log_cosh(predictions: Any, targets: Any | None = None) -> Any:
    r"""optax's ``log_cosh``: element-wise :math:`\log\cosh(p - t)`.

    Computed as ``logaddexp(e, -e) - log(2)`` (no overflow): about ``e**2 / 2``
    near 0 and ``|e| - log(2)`` far away.  ``targets`` broadcast (``None``:
    zeros); ``predictions`` must be floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.log_cosh(np.array([0.0, 1000.0])).round(6).tolist()
        [0.0, 999.306853]

    See also:
        :func:`huber_loss`; ``lossbridge.keras.log_cosh`` (Keras averages over the last axis).
    """
    ns, errors = _errors(predictions, targets)
    return logaddexp(ns, errors, -errors) - scalar(ns, math.log(2.0), errors)


def cosine_similarity_core(
    ns: Namespace, a: Any, b: Any, epsilon: Any, axes: tuple[int, ...], where: Any
) -> Any:
    """The cosine similarity of :func:`cosine_similarity`, on converted arrays."""
    xp = ns.xp
    a_norm2 = masked_sum(ns, a * a, axes, where, keepdims=True)
    b_norm2 = masked_sum(ns, b * b, axes, where, keepdims=True)
    # jnp.clip(x, epsilon) is jnp.maximum(epsilon, x): half the gradient at a tie.
    a_norm = xp.sqrt(maximum(ns, ns.asarray(epsilon, dtype=a_norm2.dtype), a_norm2))
    b_norm = xp.sqrt(maximum(ns, ns.asarray(epsilon, dtype=b_norm2.dtype), b_norm2))
    return masked_sum(ns, (a / a_norm) * (b / b_norm), axes, where)


@quiet_numpy
@jit_on_jax
def cosine_similarity(
    predictions: Any, targets: Any, *, epsilon: Any = 0.0, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``cosine_similarity`` over ``axis``.

    .. math::
        \ell = \sum_j \frac{p_j}{\sqrt{\max(\|p\|^2, \epsilon)}}
        \frac{t_j}{\sqrt{\max(\|t\|^2, \epsilon)}}

    ``epsilon`` (default 0.0) bounds the *squared* norms from below, so with the
    default a zero vector gives NaN (0/0); pass a small ``epsilon`` to get 0.
    ``axis`` (int, tuple or None; default -1) and ``where`` (entries left out of
    the norms and of the sum) as in optax.  Inputs broadcast; both must be
    floating (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.cosine_similarity(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]]), epsilon=1e-12).round(6).tolist()
        [0.707107, 0.0]

    See also:
        :func:`cosine_distance`; :class:`lossbridge.torch.CosineEmbeddingLoss` (bounds
        the norms' product instead, reduces);
        :class:`lossbridge.keras.CosineSimilarity` (the negative, L2-normalised with
        an epsilon).
    """
    ns = get_namespace(
        {"predictions": predictions, "targets": targets, "where": where, "epsilon": epsilon}
    )
    a, b, where = ns.asarray(predictions), ns.asarray(targets), ns.asarray(where)
    check_subdtype(ns, a, "floating", "predictions")
    check_subdtype(ns, b, "floating", "targets")
    shape = broadcast_shapes(predictions=a, targets=b, where=where)
    return cosine_similarity_core(ns, a, b, epsilon, canonicalize_axes(axis, len(shape)), where)


@quiet_numpy
@jit_on_jax
def cosine_distance(
    predictions: Any, targets: Any, *, epsilon: Any = 0.0, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``cosine_distance``: :math:`1 - \cos(p, t)`, see :func:`cosine_similarity`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.cosine_distance(np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])).tolist()
        [1.0]

    See also:
        :func:`cosine_similarity`; :class:`lossbridge.torch.CosineEmbeddingLoss` with
        target 1 (no margin, reduces).
    """
    ns = get_namespace({"predictions": predictions, "targets": targets})
    a, b = ns.asarray(predictions), ns.asarray(targets)
    check_subdtype(ns, a, "floating", "predictions")
    check_subdtype(ns, b, "floating", "targets")
    return 1.0 - cosine_similarity(a, b, epsilon=epsilon, axis=axis, where=where)
