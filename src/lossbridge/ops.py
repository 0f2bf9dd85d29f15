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
    "ctc_loss",
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
    return get_namespace({f"arrays[{i}]": a for i, a in enumerate(arrays)}).xp


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


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x, axis)``: log-probabilities from logits.

    Computed as ``(x - m) - log(sum(exp(x - m)))`` with ``m = max(x, axis)``.

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
    if native == "jax":
        import jax

        return jax.nn.log_softmax(x, axis=axis)
    # (x - m) - log(sum(exp(x - m))): subtracting the max first keeps the precision
    # of the large entries (x - logsumexp(x) loses it when |x| is large).
    ns = get_namespace({"x": x})
    xp = ns.xp
    m = xp.max(x, axis=axis, keepdims=True)
    shifted = x - stop_gradient(xp.where(xp.isfinite(m), m, xp.zeros_like(m)))
    with quiet(ns):
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


def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - Array API name
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


def _logaddexp(xp: Any, a: Any, b: Any) -> Any:
    """``log(exp(a) + exp(b))`` that is ``-inf`` with a zero gradient where both are ``-inf``."""
    both = (a == -math.inf) & (b == -math.inf)
    zero = xp.zeros_like(a)
    out = xp.logaddexp(xp.where(both, zero, a), xp.where(both, zero, b))
    return xp.where(both, -math.inf, out)


def ctc_loss(
    log_probs: Any,
    labels: Any,
    label_lengths: Any,
    input_lengths: Any = None,
    blank: int = 0,
    log_epsilon: float | None = None,
) -> Any:
    """Connectionist temporal classification: ``-log p(labels | log_probs)`` per sequence.

    The forward (alpha) recursion in log space, vectorised over the batch and
    looped over the ``T`` time steps (``T`` is static, so it runs under
    ``jax.jit``), differentiable by autodiff.  It is written in optax's form
    (``optax.ctc_loss``, which Keras' JAX and NumPy backends copy): for each number
    ``n`` of labels emitted so far, the log-probability of being in a blank state
    (``phi``, ``n = 0..L``) or in the state of label ``n`` (``emit``); a blank
    continues either, a label continues itself or follows the previous state,
    except that a repeated label needs a blank in between.  Steps at or after a
    sequence's ``input_lengths`` leave its states unchanged, and the result is
    ``-phi[label_lengths]`` after the last step.

    ``log_epsilon`` is the log-probability given to impossible transitions:

    * ``None`` (default): exactly ``-inf``, as torch's ``ctc_loss``: a label
      sequence that cannot be aligned (too long for the input, counting a blank
      between repeats) costs ``+inf``.  Its gradient is 0 (a ``-inf``-safe
      log-add-exp), where torch's kernel returns NaN.
    * a finite number such as ``-1e5`` (optax's default, and Keras' on its JAX and
      NumPy backends): a soft zero, so an impossible sequence costs about
      ``1e5`` per violation, finite and with a finite gradient.

    Args:
      log_probs: log-probabilities, shape ``(B, T, C)`` (for example
        ``log_softmax(logits, -1)``; they are not normalised here).
      labels: integer labels, shape ``(B, L)``; only the first ``label_lengths[b]``
        of each row are used.  A label outside ``[0, C)`` emits with
        log-probability 0 (optax's one-hot semantics); check labels before.
      label_lengths: integers ``(B,)`` in ``[0, L]``.
      input_lengths: integers ``(B,)`` in ``[0, T]``; None means ``T`` for every
        sequence.
      blank: the blank class index.
      log_epsilon: ``None`` for an exact ``-inf``, or a soft log-zero.

    Returns:
      The negative log-likelihood per sequence, shape ``(B,)``, in ``log_probs``'
      dtype.

    Example:
        >>> import numpy as np
        >>> from lossbridge import ops
        >>> # T=2 steps, classes {blank, a}: "a" is read as "a a", "a -", "- a".
        >>> p = np.array([[[0.4, 0.6], [0.7, 0.3]]])
        >>> nll = ops.ctc_loss(np.log(p), np.array([[1]]), np.array([1]))
        >>> round(float(nll[0]), 6), round(-float(np.log(0.6 * 0.3 + 0.6 * 0.7 + 0.4 * 0.3)), 6)
        (0.328504, 0.328504)
        >>> float(ops.ctc_loss(np.log(p), np.array([[1, 1]]), np.array([2]))[0])  # needs T >= 3
        inf
    """
    if _native(log_probs) == "jax":
        # The same code, compiled once per shape: eager JAX would dispatch (and first
        # compile) every primitive of every time step separately.
        return _ctc_jax()(log_probs, labels, label_lengths, input_lengths, blank=blank,
                          log_epsilon=log_epsilon)
    return _ctc_generic(log_probs, labels, label_lengths, input_lengths, blank, log_epsilon)


_CTC_JAX: Any = None


def _ctc_jax() -> Any:
    global _CTC_JAX
    if _CTC_JAX is None:
        import jax

        _CTC_JAX = jax.jit(_ctc_generic, static_argnames=("blank", "log_epsilon"))
    return _CTC_JAX


def _ctc_generic(
    log_probs: Any, labels: Any, label_lengths: Any, input_lengths: Any, blank: int,
    log_epsilon: float | None,
) -> Any:
    """:func:`ctc_loss` written once against the array namespace."""
    ns = get_namespace({"log_probs": log_probs, "labels": labels, "label_lengths": label_lengths,
                        "input_lengths": input_lengths})
    xp = ns.xp
    batch, steps, classes = (int(d) for d in log_probs.shape)
    max_labels = int(labels.shape[1])
    dtype = log_probs.dtype
    neg = -math.inf if log_epsilon is None else float(log_epsilon)

    def full(shape: tuple[int, ...], value: float) -> Any:
        return ns.asarray(value, dtype=dtype) * xp.ones(shape, dtype=dtype, **_device(ns))

    # Emission log-probabilities of each label position: (B, T, L); 0 outside [0, C).
    in_range = (labels >= 0) & (labels < classes)
    safe = xp.where(in_range, labels, xp.zeros_like(labels))
    index = xp.broadcast_to(xp.reshape(safe, (batch, 1, max_labels)), (batch, steps, max_labels))
    emit_lp = xp.take_along_axis(log_probs, xp.astype(index, xp.int64 if ns.kind == "torch" else index.dtype), axis=2)
    emit_lp = xp.where(xp.reshape(in_range, (batch, 1, max_labels)), emit_lp, xp.zeros_like(emit_lp))
    blank_lp = log_probs[:, :, blank : blank + 1]  # (B, T, 1)

    # repeat[b, n]: label n equals label n + 1 (a blank is needed between them).
    if max_labels > 1:
        repeat = xp.concat(
            [labels[:, :-1] == labels[:, 1:], xp.zeros((batch, 1), dtype=xp.bool, **_device(ns))],
            axis=1,
        )
    else:
        repeat = xp.zeros((batch, max_labels), dtype=xp.bool, **_device(ns))
    zeros_bl = full((batch, max_labels), 0.0)
    penalty_repeat = xp.where(repeat, full((batch, max_labels), neg), zeros_bl)
    penalty_no_repeat = xp.where(repeat, zeros_bl, full((batch, max_labels), neg))

    def add_to_phi(phi: Any, added: Any) -> Any:
        return xp.concat([phi[:, :1], _logaddexp(xp, phi[:, 1:], added)], axis=1)

    phi = xp.concat([full((batch, 1), 0.0), full((batch, max_labels), neg)], axis=1)
    emit = full((batch, max_labels), neg)
    if input_lengths is not None:
        input_lengths = xp.reshape(input_lengths, (batch, 1))
    for t in range(steps):
        lp_emit = emit_lp[:, t, :]
        lp_blank = blank_lp[:, t, :]
        phi_before = phi
        # A label may follow the previous label directly unless it repeats it.
        phi = add_to_phi(phi, emit + penalty_repeat)
        next_emit = _logaddexp(xp, phi[:, :-1] + lp_emit, emit + lp_emit)
        next_phi = phi + lp_blank
        # A blank after label n (the duplicate term only carries the soft penalty).
        next_phi = add_to_phi(next_phi, emit + lp_blank + penalty_no_repeat)
        if input_lengths is not None:
            active = t < input_lengths
            next_emit = xp.where(active, next_emit, emit)
            next_phi = xp.where(active, next_phi, phi_before)
        phi, emit = next_phi, next_emit
    last = add_to_phi(phi, emit)
    lengths = xp.reshape(xp.astype(label_lengths, xp.int64 if ns.kind == "torch" else xp.int32), (batch, 1))
    return -xp.reshape(xp.take_along_axis(last, lengths, axis=1), (batch,))


def _device(ns: Any) -> dict[str, Any]:
    return {"device": ns.device} if ns.kind == "torch" else {}


LOG2 = math.log(2.0)
