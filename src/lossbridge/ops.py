"""Numerically stable primitives for writing losses on any array.

The Array API standard has no ``logsumexp``, ``log_softmax`` or ``log_sigmoid``;
they are written here once, stably, against the namespace of their input.  On
torch tensors and JAX arrays the framework's own kernel is used where it computes
the same function (``torch.logsumexp``, ``jax.nn.log_softmax``, ...): it is
faster and its gradient is hand-written; ``tests/test_ops.py`` proves the native
and generic paths equal, values and gradients, including at extreme inputs.

Every function takes arrays of one kind and returns an array of that kind;
gradients flow through torch autograd and ``jax.grad``.

Example:
    >>> import numpy as np
    >>> from lossbridge import ops
    >>> ops.logsumexp(np.array([1000.0, 1000.0]), axis=-1).round(4)
    np.float64(1000.6931)
    >>> ops.log_sigmoid(np.array([-800.0, 0.0, 800.0])).round(4).tolist()
    [-800.0, -0.6931, -0.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._backend import array_kind, get_namespace, quiet

__all__ = [
    "clip",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "namespace",
    "one_hot",
    "sigmoid",
    "softmax",
    "softplus",
    "stop_gradient",
    "take_along_axis",
    "xlogy",
]

Axis = int | Sequence[int] | None

# Set to False (only by the test suite, through ``_use_native``) to force the
# generic Array API path on torch and JAX inputs, so the two paths can be compared.
_NATIVE = True


def namespace(*arrays: Any) -> Any:
    """The Array API namespace of ``arrays`` (``array_api_compat`` semantics).

    Python scalars and lists are skipped; with no arrays at all the NumPy
    namespace is returned.  Mixing array kinds raises :class:`LossBridgeTypeError`.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.namespace(np.ones(2), 1.0).__name__
        'array_api_compat.numpy'
    """
    return get_namespace({f"arrays[{i}]": a for i, a in enumerate(arrays)}, numpy_joins=False).xp


def _native(x: Any) -> str | None:
    if not _NATIVE:
        return None
    kind = array_kind(x)
    return kind if kind in ("torch", "jax") else None


def _axes(x: Any, axis: Axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    if isinstance(axis, int):
        return (axis,)
    return tuple(axis)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))``, computed without overflow.

    Formula: ``m + log(sum(exp(x - m)))`` with ``m = max(x, axis)`` (``m = 0``
    where the maximum is not finite, so rows of ``-inf`` give ``-inf`` and rows
    holding ``+inf`` give ``+inf``).

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> float(ops.logsumexp(np.array([0.0, np.log(3.0)])))  # log(1 + 3)
        1.3862943611198906
    """
    native = _native(x)
    if native == "torch":
        import torch

        return torch.logsumexp(x, dim=_axes(x, axis), keepdim=keepdims)
    if native == "jax":
        import jax

        return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)
    ns = get_namespace({"x": x})
    xp = ns.xp
    axes = _axes(x, axis)
    m = xp.max(x, axis=axes, keepdims=True)
    m = stop_gradient(xp.where(xp.isfinite(m), m, xp.zeros_like(m)))
    with quiet(ns):  # log(0) = -inf for a row of -inf is the intended value
        out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = xp.squeeze(out, axis=axes)
    return out


def log_softmax(x: Any, axis: int = -1, *, torch_semantics: bool = False) -> Any:
    """``x - logsumexp(x, axis)``: log-probabilities from logits.

    Computed as ``(x - m) - log(sum(exp(x - m)))`` with ``m = max(x, axis)``; a
    non-finite ``m`` is replaced by 0 as in JAX, except with ``torch_semantics``
    (torch's kernel subtracts it: a row holding ``+inf`` is all NaN).

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.log_softmax(np.array([0.0, 0.0]), axis=-1).round(4).tolist()
        [-0.6931, -0.6931]
    """
    native = _native(x)
    if native == "torch":
        import torch

        return torch.log_softmax(x, dim=axis)
    if native == "jax" and not torch_semantics:
        import jax

        return jax.nn.log_softmax(x, axis=axis)
    # (x - m) - log(sum(exp(x - m))): subtracting the max first keeps the precision
    # of the large entries (x - logsumexp(x) loses it when |x| is large).
    ns = get_namespace({"x": x})
    xp = ns.xp
    m = xp.max(x, axis=axis, keepdims=True)
    if not torch_semantics:
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    with quiet(ns):
        shifted = x - stop_gradient(m)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x - logsumexp(x, axis))``: probabilities from logits.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.softmax(np.array([0.0, np.log(3.0)]), axis=-1).round(4).tolist()
        [0.25, 0.75]
    """
    native = _native(x)
    if native == "torch":
        import torch

        return torch.softmax(x, dim=axis)
    if native == "jax":
        import jax

        return jax.nn.softmax(x, axis=axis)
    xp = namespace(x)
    return xp.exp(log_softmax(x, axis=axis))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)`` (no overflow, exact gradient).

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.softplus(np.array([-1000.0, 0.0, 1000.0])).round(4).tolist()
        [0.0, 0.6931, 1000.0]
    """
    if _native(x) == "jax":
        import jax

        return jax.nn.softplus(x)
    xp = namespace(x)
    return xp.logaddexp(x, xp.zeros_like(x))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for every finite ``x``.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.log_sigmoid(np.array([-100.0, 100.0])).round(4).tolist()
        [-100.0, -0.0]
    """
    native = _native(x)
    if native == "torch":
        import torch

        return torch.nn.functional.logsigmoid(x)
    if native == "jax":
        import jax

        return jax.nn.log_sigmoid(x)
    return -softplus(-x)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.sigmoid(np.array([0.0])).tolist()
        [0.5]
    """
    native = _native(x)
    if native == "torch":
        import torch

        return torch.sigmoid(x)
    if native == "jax":
        import jax

        return jax.nn.sigmoid(x)
    xp = namespace(x)
    return xp.exp(log_sigmoid(x))


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, defined as 0 where ``x == 0`` (also where ``y == 0``).

    The gradient is finite where ``x == 0``: the log is taken of ``where(x == 0, 1, y)``.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e])).tolist()
        [0.0, 2.0]
    """
    xp = namespace(x, y)
    zero = x == 0
    safe_y = xp.where(zero, xp.ones_like(y), y)
    return xp.where(zero, xp.zeros_like(x * safe_y), x * xp.log(safe_y))


def one_hot(labels: Any, num_classes: int, axis: int = -1, dtype: Any = None) -> Any:
    """One-hot encoding of integer ``labels`` along a new ``axis``.

    Labels outside ``[0, num_classes)`` give an all-zero row (as ``jax.nn.one_hot``).
    ``dtype`` defaults to the namespace's default float dtype.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.one_hot(np.array([2, 0]), 3).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    ns = get_namespace({"labels": labels})
    xp = ns.xp
    classes = ns.asarray(list(range(num_classes)), dtype=labels.dtype) if num_classes else (
        xp.zeros((0,), dtype=labels.dtype) if ns.kind != "torch" else
        xp.zeros((0,), dtype=labels.dtype, device=ns.device)
    )
    if dtype is None:
        dtype = xp.float32 if ns.kind == "jax" else xp.asarray(0.0).dtype
    out = xp.astype(xp.expand_dims(labels, axis=-1) == classes, dtype)
    if axis != -1 and axis != labels.ndim:
        out = xp.moveaxis(out, -1, axis)
    return out


def take_along_axis(x: Any, indices: Any, axis: int = -1) -> Any:
    """``x`` gathered at ``indices`` along ``axis`` (``numpy.take_along_axis``).

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.take_along_axis(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1], [0]]), axis=1).tolist()
        [[2.0], [3.0]]
    """
    xp = namespace(x, indices)
    return xp.take_along_axis(x, indices, axis=axis)


def clip(x: Any, min: Any = None, max: Any = None) -> Any:
    """``min(max(x, min), max)``, with the gradient passed where ``min <= x <= max``.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.clip(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0).tolist()
        [0.0, 0.5, 1.0]
    """
    xp = namespace(x)
    return xp.clip(x, min, max)


def stop_gradient(x: Any) -> Any:
    """``x`` with no gradient flowing back through it (identity on NumPy).

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> ops.stop_gradient(np.array([1.0])).tolist()
        [1.0]
    """
    kind = array_kind(x)
    if kind == "torch":
        return x.detach()
    if kind == "jax":
        import jax

        return jax.lax.stop_gradient(x)
    return x


LOG2 = math.log(2.0)
