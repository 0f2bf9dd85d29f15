"""What every optax loss shares: optax's input checks and JAX's masked reductions, on ``xp``.

optax validates with ``optax._src.utils`` (``check_subdtype`` raises ``TypeError``;
``check_shapes_equal`` and ``check_rank`` raise ``ValueError``) and leans on
``jax.numpy`` for the rest: ``jnp.sum(x, axis, where=...)``,
``jax.nn.log_softmax(x, axis, where)``, ``jnp.expand_dims(where, axis)``.  This
module writes those once against the array namespace, with the same values,
the same gradients (the same ``stop_gradient`` placement) and errors that are
:class:`~lossbridge.LossBridgeError` subclasses of the same built-in type.
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from .. import ops
from .._backend import Namespace, array_kind, describe
from .._checks import is_floating, is_integral
from .._errors import LossBridgeError, LossBridgeTypeError
from .._grad import custom_gradient

__all__ = [
    "Axis",
    "as_bool",
    "broadcast_shapes",
    "canonicalize_axes",
    "canonicalize_axis",
    "check_rank",
    "check_shapes_equal",
    "check_subdtype",
    "expand_where",
    "jit_on_jax",
    "log_softmax",
    "logaddexp",
    "logsumexp",
    "masked_log_softmax",
    "masked_sum",
    "maximum",
    "minimum",
    "quiet_numpy",
    "scalar",
    "softmax",
]

Axis = int | tuple[int, ...] | None

F = TypeVar("F", bound=Callable[..., Any])


def quiet_numpy(fn: F) -> F:
    """Run ``fn`` without NumPy's divide/invalid/overflow warnings.

    optax's formulas produce intended infinities and NaNs (``0 * log 0`` before a
    mask, ``-inf - -inf`` in a fully masked softmax); JAX is silent about them, and
    so is lossbridge on NumPy arrays (``_backend.quiet``, for a whole function).
    """

    @functools.wraps(fn)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        torch = sys.modules.get("torch")
        if torch is not None and torch.compiler.is_compiling():  # dynamo cannot trace errstate
            return fn(*args, **kwargs)
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return quiet  # type: ignore[return-value]


def jit_on_jax(fn: F) -> F:
    """On JAX arrays, run ``fn`` compiled with ``jax.jit``: the same code, one XLA program.

    optax is used under ``jax.jit``; eager JAX would dispatch (and compile) every
    primitive of the loss one by one, which for a loop like CTC's costs seconds per
    new shape.  When every array argument is a JAX array (or a tracer: inside a
    user's ``jit``/``vmap``/``grad`` the inner jit is inlined), arrays and Python
    floats are traced and every other argument (axes, flags, callables, None) is
    static; otherwise — NumPy or torch arrays, mixed kinds (an error, raised by
    ``fn``), unhashable options — ``fn`` runs as is.  Not for losses that read
    values on the host (``dice_loss``'s probability check) or warn (a warning would
    come once per compilation).
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def on_jax(*args: Any, **kwargs: Any) -> Any:
        if "jax" not in sys.modules:
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        kinds = {array_kind(v) for v in bound.arguments.values()} - {None}
        if kinds != {"jax"}:
            return fn(*args, **kwargs)
        dynamic = {k: v for k, v in bound.arguments.items() if array_kind(v) == "jax" or type(v) is float}
        static = tuple(sorted((k, v) for k, v in bound.arguments.items() if k not in dynamic))
        try:
            compiled = _compiled(fn, static)
        except TypeError:  # an unhashable option (a list as axis): run eagerly
            return fn(*args, **kwargs)
        return compiled(dynamic)

    return on_jax  # type: ignore[return-value]


@functools.lru_cache(maxsize=512)
def _compiled(fn: Callable[..., Any], static: tuple[tuple[str, Any], ...]) -> Callable[..., Any]:
    import jax

    options = dict(static)
    return jax.jit(lambda dynamic: fn(**dynamic, **options))


def check_subdtype(ns: Namespace, x: Any, kind: str, arg: str) -> None:
    """optax's ``utils.check_subdtype``: a ``TypeError`` naming the dtype (a lossbridge one).

    ``kind`` is ``"floating"`` or ``"integer"`` (signed or unsigned; not bool).
    """
    ok = is_floating(ns, x) if kind == "floating" else is_integral(ns, x)
    if not ok:
        fix = "cast it to a float dtype" if kind == "floating" else "cast it to an integer dtype"
        raise LossBridgeTypeError(
            f"Expected the input to have a dtype that is a subdtype of {kind}, got "
            f"{str(x.dtype).replace('torch.', '')} instead: `{arg}` is a {describe(x)}; {fix}."
        )


def check_shapes_equal(a: Any, b: Any, arg_a: str, arg_b: str) -> None:
    """optax's ``utils.check_shapes_equal``: ``ValueError('Shape mismatch: ...')``."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa != sb:
        raise LossBridgeError(
            f"Shape mismatch: got {sa} and {sb}. `{arg_a}` is a {describe(a)} and `{arg_b}` is a "
            f"{describe(b)}; this loss takes them of one shape (it does not broadcast)."
        )


def check_rank(x: Any, rank: int, arg: str) -> None:
    """optax's ``utils.check_rank``: ``ValueError('Expected the input to have rank ...')``."""
    if x.ndim != rank:
        raise LossBridgeError(
            f"Expected the input to have rank {rank}, got {x.ndim} instead: `{arg}` is a "
            f"{describe(x)}."
        )


def broadcast_shapes(**arrays: Any) -> tuple[int, ...]:
    """The broadcast shape of named arrays (None skipped), or a clear error.

    NumPy and torch would raise their own types, so the shapes are checked before
    computing, with JAX's error type: arrays of different ranks fail in
    ``jnp``'s rank promotion (``ValueError('Incompatible shapes for broadcasting
    ...')``), arrays of one rank in ``lax`` (``TypeError('mul got incompatible
    shapes for broadcasting ...')``, a :class:`~lossbridge.LossBridgeTypeError`).
    """
    named = {k: v for k, v in arrays.items() if v is not None and hasattr(v, "shape")}
    try:
        return tuple(np.broadcast_shapes(*(tuple(v.shape) for v in named.values())))
    except ValueError:
        seen = ", ".join(f"`{k}` is a {describe(v)}" for k, v in named.items())
        same_rank = len({len(v.shape) for v in named.values()}) == 1
        error = LossBridgeTypeError if same_rank else LossBridgeError
        raise error(
            f"Incompatible shapes for broadcasting: {seen}. Give them shapes that broadcast "
            "(equal, or 1, dimension by dimension from the right)."
        ) from None


def canonicalize_axis(axis: Any, ndim: int) -> int:
    """optax's ``canonicalize_axis``: ``axis`` in ``[0, ndim)`` or ``ValueError``."""
    axis = operator.index(axis)
    if 0 <= axis < ndim:
        return axis
    if -ndim <= axis < 0:
        return axis + ndim
    raise LossBridgeError(
        f"axis {axis} is out of bounds for array of dimension {ndim}: the `axis` argument "
        f"({axis}) names no axis of the {ndim}-d input it reduces. Pass an axis in "
        f"[{-ndim}, {ndim - 1}] (-1: the last axis, where optax's losses put the classes)."
    )


def canonicalize_axes(axis: Axis | Sequence[int], ndim: int) -> tuple[int, ...]:
    """``axis`` (None: every axis; an int; a tuple or list of ints) as non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, bool):
        raise LossBridgeTypeError(f"`axis` must be an int or a tuple of ints, got {axis!r}.")
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise LossBridgeError(f"repeated axis in `axis`={axis!r}.")
        return axes
    try:
        return (canonicalize_axis(axis, ndim),)
    except TypeError:
        raise LossBridgeTypeError(
            f"`axis` must be an int or a tuple of ints, got {type(axis).__name__} {axis!r}."
        ) from None


def expand_where(ns: Namespace, where: Any, axis: Axis, ndim: int) -> Any:
    """``jnp.expand_dims(where, axis)`` when ``where.ndim != ndim`` (optax's rule).

    A mask given per example (the loss' shape) gets size-1 dimensions at the class
    axes, so that it broadcasts against the logits.
    """
    if where is None or where.ndim == ndim:
        return where
    if axis is None:
        # jnp.expand_dims(where, None) fails in optax with a TypeError.
        raise LossBridgeTypeError(
            f"'NoneType' object is not iterable: with axis=None, `where` must have the logits' "
            f"rank {ndim}, but it is a {describe(where)}."
        )
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out_ndim = where.ndim + len(axes)
    new = sorted(canonicalize_axis(a, out_ndim) for a in axes)
    for a in new:
        where = ns.xp.expand_dims(where, axis=a)
    return where


def as_bool(ns: Namespace, x: Any) -> Any:
    """``x != 0`` as a boolean array (JAX's truthiness of a mask given as numbers)."""
    if ns.xp.isdtype(x.dtype, "bool"):
        return x
    return ns.xp.astype(x, ns.xp.bool)


def scalar(ns: Namespace, value: float, like: Any) -> Any:
    """A 0-d array holding ``value`` with ``like``'s dtype (and device)."""
    return ns.asarray(value, dtype=like.dtype)


def masked_sum(
    ns: Namespace, x: Any, axes: tuple[int, ...], where: Any = None, keepdims: bool = False
) -> Any:
    """``jnp.sum(x, axis, where=where, keepdims=keepdims)``: masked entries count as 0.

    ``axes == ()`` reduces nothing (as ``jnp.sum(x, axis=())``).
    """
    xp = ns.xp
    if where is not None:
        x = xp.where(where, x, scalar(ns, 0.0, x))
    if not axes:
        return x
    return xp.sum(x, axis=axes, keepdims=keepdims)


def log_softmax(ns: Namespace, x: Any, axes: tuple[int, ...], where: Any = None) -> Any:
    """``jax.nn.log_softmax(x, axes, where)``, operation for operation.

    ``shifted = where(w, x, -inf) - stop_gradient(max)``, then
    ``shifted - log(sum(exp(shifted), where=w))``, and ``-inf`` at masked entries.
    A row with every entry masked is ``-inf``; a row of ``-inf`` logits is NaN.
    On JAX arrays this is ``jax.nn.log_softmax`` itself; elsewhere JAX's formula,
    also on torch tensors: ``torch.log_softmax``'s gradient, ``exp(output)``,
    loses float32 precision at large logits (1e-3 relative at 1e4).
    """
    for a in axes:  # NumPy and torch reduce a 0-d array over axis -1; JAX (optax) refuses
        canonicalize_axis(a, x.ndim)
    if ns.kind == "jax":
        import jax

        return jax.nn.log_softmax(x, axis=axes, where=where)
    xp = ns.xp
    neg_inf = scalar(ns, -math.inf, x)
    x_safe = x if where is None else xp.where(where, x, neg_inf)
    x_max = xp.max(x_safe, axis=axes, keepdims=True)
    shifted = x_safe - ops.stop_gradient(x_max)
    lse = xp.log(masked_sum(ns, xp.exp(shifted), axes, where, keepdims=True))
    result = shifted - lse
    if where is not None:
        result = xp.where(where, result, neg_inf)
    return result


masked_log_softmax = log_softmax


def logsumexp(
    ns: Namespace, a: Any, axes: tuple[int, ...], where: Any = None, b: Any = None,
    keepdims: bool = False,
) -> Any:
    """``jax.scipy.special.logsumexp(a, axes, b=b, where=where)``, operation for operation.

    ``log(sum(b * exp(a - m), where=w)) + m`` with ``m = max(a)`` (0 where not
    finite, no gradient); masked entries and entries with ``b == 0`` are left out;
    a negative sum gives NaN.  On JAX arrays this is JAX's function itself;
    elsewhere JAX's formula (``torch.logsumexp``'s gradient ``exp(x - out)`` loses
    float32 precision at large inputs).
    """
    if ns.kind == "jax":
        import jax

        return jax.scipy.special.logsumexp(a, axis=axes, b=b, keepdims=keepdims, where=where)
    xp = ns.xp
    neg_inf = scalar(ns, -math.inf, a)
    if where is not None:
        a = xp.where(where, a, scalar(ns, 0.0, a))
    if b is not None:
        a = xp.where(b != 0, a, neg_inf)
    amax = xp.max(a if where is None else xp.where(where, a, neg_inf), axis=axes, keepdims=True)
    amax = ops.stop_gradient(xp.where(xp.isfinite(amax), amax, scalar(ns, 0.0, amax)))
    exp_a = xp.exp(a - amax)
    if b is not None:
        exp_a = exp_a * b
    sumexp = masked_sum(ns, exp_a, axes, where, keepdims=True)
    out = xp.log(xp.abs(sumexp)) + amax
    if b is not None:
        out = xp.where(sumexp < 0, scalar(ns, math.nan, out), out)
    if not keepdims:
        out = xp.squeeze(out, axis=axes)
    return out


def logaddexp(ns: Namespace, x1: Any, x2: Any) -> Any:
    """``jnp.logaddexp(x1, x2)`` with JAX's gradient on every array kind.

    The value is the framework's ``logaddexp``; the gradient is JAX's custom JVP,
    ``exp(x - logaddexp(x1, x2))`` for each input (``+inf`` read as 0), computed
    from the rounded output: in float32 at magnitudes like CTC's ``log_epsilon =
    -1e5`` it differs from torch's own rule (``1 / (1 + exp(x2 - x1))``) by up to
    1e-2 relative, so torch tensors get JAX's rule through ``custom_gradient``.
    """
    xp = ns.xp
    if ns.kind in ("jax", "numpy"):
        return xp.logaddexp(x1, x2)
    shape = broadcast_shapes(x1=x1, x2=x2)
    x1, x2 = xp.broadcast_to(x1, shape), xp.broadcast_to(x2, shape)
    s1, s2 = ops.stop_gradient(x1), ops.stop_gradient(x2)
    out = xp.logaddexp(s1, s2)

    def replace_inf(x: Any) -> Any:
        return xp.where(x == math.inf, scalar(ns, 0.0, x), x)

    finite_out = replace_inf(out)
    g1 = xp.exp(replace_inf(s1) - finite_out)
    g2 = xp.exp(replace_inf(s2) - finite_out)
    return custom_gradient(out, (x1, g1), (x2, g2))


def maximum(ns: Namespace, x: Any, y: Any) -> Any:
    """``jnp.maximum(x, y)`` with JAX's gradient on every array kind (see :func:`_chooser`)."""
    return _chooser(ns, x, y, ns.xp.maximum)


def minimum(ns: Namespace, x: Any, y: Any) -> Any:
    """``jnp.minimum(x, y)`` with JAX's gradient on every array kind (see :func:`_chooser`)."""
    return _chooser(ns, x, y, ns.xp.minimum)


def _chooser(ns: Namespace, x: Any, y: Any, op: Any) -> Any:
    """``op(x, y)`` for ``op`` = maximum/minimum, differentiated as ``lax.max``/``lax.min``.

    JAX sends the gradient to the input equal to the output, half to each at a
    tie, and **none** where the output is NaN; torch sends it to both inputs of a
    NaN (``triplet_margin_loss`` with an odd ``norm_degree`` makes such NaNs), so
    torch tensors get JAX's rule through ``custom_gradient``.  ``y`` may be a
    Python scalar (no gradient).
    """
    xp = ns.xp
    if ns.kind in ("jax", "numpy"):
        return op(x, y if hasattr(y, "shape") else scalar(ns, y, x))
    if not hasattr(y, "shape"):
        y = scalar(ns, y, x)
    shape = broadcast_shapes(x=x, y=y)
    x, y = xp.broadcast_to(x, shape), xp.broadcast_to(y, shape)
    sx, sy = ops.stop_gradient(x), ops.stop_gradient(y)
    out = op(sx, sy)
    one, half, zero = (scalar(ns, v, out) for v in (1.0, 0.5, 0.0))

    def share(a: Any, b: Any) -> Any:
        return xp.where(a == out, xp.where(b == out, half, one), zero)

    return custom_gradient(out, (x, share(sx, sy)), (y, share(sy, sx)))


def softmax(ns: Namespace, x: Any, axes: tuple[int, ...], where: Any = None) -> Any:
    """``jax.nn.softmax(x, axes, where)`` (JAX's default, non-custom-JVP rule).

    ``exp(where(w, x, -inf) - stop_gradient(max)) / sum(..., where=w)``, 0 at masked
    entries; ``jax.nn.softmax`` itself on JAX arrays.
    """
    if ns.kind == "jax":
        import jax

        return jax.nn.softmax(x, axis=axes, where=where)
    xp = ns.xp
    x_safe = x if where is None else xp.where(where, x, scalar(ns, -math.inf, x))
    x_max = xp.max(x_safe, axis=axes, keepdims=True)
    unnormalized = xp.exp(x_safe - ops.stop_gradient(x_max))
    result = unnormalized / masked_sum(ns, unnormalized, axes, where, keepdims=True)
    if where is not None:
        result = xp.where(where, result, scalar(ns, 0.0, result))
    return result
