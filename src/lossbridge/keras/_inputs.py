"""Input handling shared by the functional forms of the Keras losses.

Keras' functions convert ``y_pred`` to a tensor, cast ``y_true`` to its dtype and
then compute; shape problems surface as whatever the backend raises while
broadcasting (``TypeError``/``ValueError`` on JAX, ``RuntimeError`` on torch).
The helpers here raise one clear lossbridge error instead (an instance of all
three built-in types, so a ported ``except`` clause keeps working on either
backend), and warn where Keras silently broadcasts two different shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import Namespace, array_kind, describe
from .._checks import is_floating
from .._errors import (
    LossBridgeError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
    LossBridgeWarning,
)
from .._warnings import warn
from ._loss import IncompatibleShapesError, convert_to_tensor, namespace_of

__all__ = [
    "IncompatibleShapesError",
    "as_float",
    "broadcast_shape",
    "check_broadcast",
    "constant",
    "keras_cast",
    "param",
    "predictions",
    "prepare",
    "prepare_typed",
    "require_predictions",
]


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast shape of ``a`` and ``b`` (NumPy rules), or None if they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def check_broadcast(loss: str, y_true: Any, y_pred: Any, fix: str) -> None:
    """Raise when ``y_true`` and ``y_pred`` do not broadcast; warn when they broadcast
    to shapes that differ (Keras computes a silently broadcast loss then)."""
    ts, ps = tuple(y_true.shape), tuple(y_pred.shape)
    if ts == ps:
        return
    out = broadcast_shape(ts, ps)
    if out is None:
        raise IncompatibleShapesError(
            f"{loss}: `y_true` ({describe(y_true)}) and `y_pred` ({describe(y_pred)}) cannot be "
            f"broadcast together (Keras fails while broadcasting them). {fix}"
        )
    warn(
        f"{loss}: `y_true` has shape {ts} and `y_pred` has shape {ps}; Keras broadcasts them to "
        f"{out} and computes the loss of every pair, as lossbridge does here. {fix}",
        LossBridgeWarning,
    )


class PredictionsDtypeError(LossBridgeRuntimeError, LossBridgeTypeError,
                            LossBridgeNotImplementedError):
    """Integer, boolean or complex predictions where a loss takes real ones.

    Keras' torch backend raises ``RuntimeError`` ("Found dtype Int but expected Float",
    "Subtraction ... with a bool tensor") or ``NotImplementedError`` (a kernel without
    complex support) and its JAX backend ``TypeError`` where it refuses them: this error
    is all three (and a :class:`lossbridge.LossBridgeError`).
    """


def require_predictions(ns: Namespace, y_pred: Any, loss: str, what: str) -> None:
    """Reject integer or boolean ``y_pred`` (most likely the labels passed second)."""
    if not is_floating(ns, y_pred):
        raise PredictionsDtypeError(
            f"{loss}: `y_pred` must hold floating-point {what}, but it is a {describe(y_pred)}. "
            "Keras' argument order is (y_true, y_pred): if you passed the labels second, swap "
            "the arguments; otherwise cast the predictions to a float dtype."
        )


def keras_cast(ns: Namespace, y_true: Any, y_pred: Any) -> Any:
    """Keras' ``ops.cast(y_true, y_pred.dtype)``: truncation toward zero for integer
    predictions (0.5 -> 0, 1.5 -> 1), ``y_true != 0`` for boolean ones."""
    return y_true if y_true.dtype == y_pred.dtype else ns.xp.astype(y_true, y_pred.dtype)


def as_float(ns: Namespace, x: Any) -> Any:
    """``x`` in float32 when it is an integer or boolean array, else unchanged.

    Keras' float operations (``log``, ``mean``, a division, a Python float operand)
    promote integer and boolean tensors to float32; a formula whose integer steps have
    already been taken (``y_true`` cast, constants cast, see :func:`prepare_typed`) runs
    in float32 with the same values."""
    return x if is_floating(ns, x) else ns.xp.astype(x, ns.xp.float32)


def predictions(
    ns: Namespace, y_true: Any, y_pred: Any, *, cast_true: bool = True,
    bool_error: str | None = None,
) -> tuple[Any, Any, Any]:
    """Keras' function forms on their predictions, whatever their dtype (the one place
    the Keras dialect handles integer and boolean ``y_pred``).

    Returns ``(y_true, y_pred, given)``: ``y_true`` cast to ``y_pred``'s dtype as Keras
    casts it (``cast_true``; truncation for integer predictions, ``!= 0`` for boolean
    ones), then both in float32 (:func:`as_float`: Keras' float operations promote them);
    ``given`` is ``y_pred`` in the dtype the user gave, for the constants Keras casts to
    it (:func:`constant`) and the steps it takes in that dtype.  Where Keras fails on
    boolean predictions (``bool_error``: its message, such as JAX's "sub does not accept
    dtype bool"), a :class:`PredictionsDtypeError` says so; there Keras wraps unsigned
    integer predictions around (``0 - 1 = 255``), and lossbridge refuses them (a
    documented divergence) with the same error.
    """
    given = convert_to_tensor(ns, y_pred)
    if ns.xp.isdtype(given.dtype, "complex floating"):
        # Keras fails on them (JAX: "Clip received a complex value", torch: kernels without
        # complex support); float32 would drop the imaginary part.
        raise PredictionsDtypeError(
            f"`y_pred` is a {describe(given)}: Keras' losses take real predictions and fail on "
            "complex ones. Pass the real part (or the magnitude) as floats."
        )
    if bool_error is not None and ns.xp.isdtype(given.dtype, "bool"):
        raise PredictionsDtypeError(
            f"{bool_error} `y_pred` is a {describe(given)}: Keras casts y_true to y_pred's "
            "dtype (bool) and fails on booleans there. Pass the predictions as floats "
            "(y_pred.astype('float32'))."
        )
    if bool_error is not None and ns.xp.isdtype(given.dtype, "unsigned integer"):
        # An intentional divergence (lossbridge._divergences): Keras computes, but wraps.
        raise PredictionsDtypeError(
            f"`y_pred` is a {describe(given)}: Keras casts y_true to this unsigned dtype and "
            "subtracts or negates in it, which wraps around (0 - 1 = 255), so its answer is "
            "no loss; lossbridge refuses unsigned predictions here. Pass the predictions as "
            "floats (y_pred.astype('float32'))."
        )
    y_true = convert_to_tensor(ns, y_true)
    if cast_true:
        y_true = as_float(ns, keras_cast(ns, y_true, given))
    return y_true, as_float(ns, given), given


#: JAX's message where Keras subtracts boolean predictions (torch: a RuntimeError).
BOOL_SUB = "sub does not accept dtype bool at position 0."


def prepare_typed(
    y_true: Any, y_pred: Any, *, subtracts: bool = True, **others: Any
) -> tuple[Namespace, Any, Any, Any]:
    """Keras' preamble: ``y_pred`` converted, ``y_true`` cast to ``y_pred``'s dtype.

    Returns ``(ns, y_true, y_pred, given)`` as :func:`predictions` does.  Boolean
    predictions where Keras subtracts them (``subtracts``) raise Keras' TypeError (a
    :class:`~lossbridge.LossBridgeTypeError`).
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred, **others)
    y_true, y_pred, given = predictions(ns, y_true, y_pred,
                                        bool_error=BOOL_SUB if subtracts else None)
    return ns, y_true, y_pred, given


def prepare(y_true: Any, y_pred: Any, *, subtracts: bool = True,
            **others: Any) -> tuple[Namespace, Any, Any]:
    """:func:`prepare_typed` without the given-dtype ``y_pred`` (for a formula without
    constants of ``y_pred``'s dtype)."""
    ns, y_true, y_pred, _ = prepare_typed(y_true, y_pred, subtracts=subtracts, **others)
    return ns, y_true, y_pred


def class_axis(axis: int, ndim: int, loss: str) -> int:
    """``axis`` as a non-negative index into ``ndim`` dimensions, or Keras' ValueError."""
    if not -ndim <= axis < ndim:
        raise LossBridgeError(
            f"axis {axis} is out of bounds for array of dimension {ndim}. {loss}: the argument "
            f"`axis`={axis} must name a dimension of y_pred, which has {ndim}: use "
            f"{-ndim} <= axis < {ndim} (-1, the default, is the last one)."
        )
    return axis % ndim


def constant(ns: Namespace, value: float, given: Any) -> Any:
    """Keras' ``convert_to_tensor(value, dtype=y_pred.dtype)`` for the ``given`` predictions
    (:func:`prepare_typed`): truncated for integer ones (``1e-7`` -> 0, ``0.5`` -> 0), ``True``
    for boolean ones; then as the formula computes it (:func:`as_float`)."""
    return as_float(ns, param(ns, value, given))


def param(ns: Namespace, value: Any, like: Any) -> Any:
    """A loss parameter (a Python number, list, NumPy array or array of the call's kind)
    as an array of the call's kind with ``like``'s dtype."""
    if array_kind(value) in (None, "numpy"):
        value = np.asarray(value, dtype=np.float64)
        return ns.asarray(value.tolist() if value.ndim else float(value), dtype=like.dtype)
    return ns.xp.astype(value, like.dtype)
