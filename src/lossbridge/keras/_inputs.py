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
    "broadcast_shape",
    "check_broadcast",
    "param",
    "prepare",
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


def prepare(y_true: Any, y_pred: Any, **others: Any) -> tuple[Namespace, Any, Any]:
    """Keras' preamble: ``y_pred`` converted, ``y_true`` cast to ``y_pred``'s dtype.

    Integer predictions: ``y_true`` is cast to their integer dtype first (as Keras 3
    does), then the formula runs in float32 (the values agree).  Boolean predictions
    raise Keras' TypeError (a :class:`~lossbridge.LossBridgeTypeError`).
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred, **others)
    xp = ns.xp
    y_pred = convert_to_tensor(ns, y_pred)
    y_true = convert_to_tensor(ns, y_true)
    if xp.isdtype(y_pred.dtype, "bool"):
        # Keras casts y_true to bool too, then subtracts: "sub does not accept dtype bool"
        # (JAX's TypeError; torch's RuntimeError).
        raise PredictionsDtypeError(
            "sub does not accept dtype bool at position 0. `y_pred` is a "
            f"{describe(y_pred)}: Keras casts y_true to y_pred's dtype (bool) and cannot "
            "subtract booleans. Pass the predictions as floats (y_pred.astype('float32'))."
        )
    if not is_floating(ns, y_pred):
        # Keras 3 casts y_true to y_pred's integer dtype (0.5 -> 0, 1.5 -> 1) before the
        # formula; the formula itself then runs in float32 (the values agree).
        if y_true.dtype != y_pred.dtype:
            y_true = xp.astype(y_true, y_pred.dtype)
        y_pred = xp.astype(y_pred, xp.float32)
    if y_true.dtype != y_pred.dtype:
        y_true = xp.astype(y_true, y_pred.dtype)
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


def param(ns: Namespace, value: Any, like: Any) -> Any:
    """A loss parameter (a Python number, list, NumPy array or array of the call's kind)
    as an array of the call's kind with ``like``'s dtype."""
    if array_kind(value) in (None, "numpy"):
        value = np.asarray(value, dtype=np.float64)
        return ns.asarray(value.tolist() if value.ndim else float(value), dtype=like.dtype)
    return ns.xp.astype(value, like.dtype)
