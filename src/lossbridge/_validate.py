"""Input-class validation shared by every dialect: one check per argument of a call.

:func:`check_argument` runs once for every named argument that a loss hands to
``_backend.get_namespace``, so every public loss of every dialect refuses the same
classes of bad input with the same clear error, instead of failing deep inside a
formula (``AttributeError: 'NoneType' object has no attribute 'dtype'``) or
returning a number the framework never returns:

=====================  ===========================================================
``None``               for an argument every loss requires (``y_true``, ``y_pred``,
                       ``input``, ``target``, ``logits``, ...): TypeError, as torch
                       and Keras raise when handed ``None``.
a string or bytes      TypeError (torch: "must be Tensor, not str").
NumPy object array     TypeError (no framework computes on Python objects).
big-endian NumPy       TypeError (also a ValueError): torch and JAX refuse a
array (``>f4``)        non-native byte order; Keras converts it (a documented divergence).
NumPy masked array     TypeError: the frameworks drop the mask silently
                       (``torch.as_tensor``/``jnp.asarray`` read the raw data), so
                       the answer would be neither the masked nor the unmasked one;
                       lossbridge refuses it (a documented divergence,
                       ``_divergences.DIVERGENCES``).
=====================  ===========================================================

The errors are :class:`~lossbridge.LossBridgeTypeError` (a ``ValueError`` and a
``TypeError``); each names the argument, what was seen and the fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)

__all__ = [
    "REQUIRED", "BoolDtypeError", "BroadcastError", "check_argument", "require", "reword_raw_error",
    "wrap_public", "wrap_raw_errors",
]

#: Argument names that no loss of any dialect accepts as ``None``.
REQUIRED = frozenset({
    "y_true", "y_pred", "input", "target", "logits", "predictions", "x1", "x2",
    "anchor", "positive", "negative", "scores", "log_predictions", "predictor_outputs",
    "coding_dist", "true_dist", "output", "embeddings", "input1", "input2", "var",
    "log_probs", "input_lengths", "target_lengths", "features", "labels", "anchors", "linear_weight",
    "positives", "negatives", "log_targets", "logit_paddings", "label_paddings",
})

_FIX = "Pass a NumPy array, a torch tensor, a JAX array, or a Python number or list of numbers."


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")


def require(**arrays: Any) -> None:
    """Refuse ``None`` for the named arguments, where the name alone does not say that the
    argument is required (optax's ``targets`` is optional in ``l2_loss``, required in
    ``kl_divergence``)."""
    for name, value in arrays.items():
        if value is None:
            raise LossBridgeTypeError(
                f"`{name}` is None, but this loss needs an array for it. {_FIX}"
            )


def check_argument(name: str, value: Any) -> None:
    """Refuse an input class no framework computes on (see the module docstring).

    Raises:
      LossBridgeTypeError: for ``None`` where ``name`` is required, a string, a NumPy
        object or string array, a NumPy masked array or a non-native byte order.
    """
    if value is None:
        if name in REQUIRED:
            raise LossBridgeTypeError(
                f"`{name}` is None, but this loss needs an array for it. {_FIX}"
            )
        return
    if isinstance(value, (str, bytes)):
        raise LossBridgeTypeError(
            f"`{name}` must be an array, not {type(value).__name__} {value!r}. {_FIX}"
        )
    if isinstance(value, np.ma.MaskedArray):
        raise LossBridgeTypeError(
            f"`{name}` is a NumPy masked array (numpy.ma) of shape {value.shape} and dtype "
            f"{value.dtype}; the frameworks ignore its mask, so lossbridge refuses it. Pass "
            f"`{name}.filled(...)` for the unmasked answer, or drop the masked entries (or give "
            "them a weight of 0 where the loss takes one) for the masked answer."
        )
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSUV" and not (
            value.dtype.kind == "V" and "float" in value.dtype.name):  # ml_dtypes' bfloat16 & co
        what = {"O": "object", "S": "bytes", "U": "string", "V": "structured"}[value.dtype.kind]
        raise LossBridgeTypeError(
            f"`{name}` is a NumPy array of shape {value.shape} and {what} dtype {value.dtype}, "
            f"which no framework computes on. Convert it with numpy.asarray({name}, "
            f"dtype=numpy.float32) (or an integer dtype for labels). {_FIX}"
        )
    if isinstance(value, np.ndarray) and not value.dtype.isnative:
        raise LossBridgeTypeError(
            f"`{name}` is a NumPy array of shape {value.shape} with the non-native byte order "
            f"{value.dtype.str!r}: torch.as_tensor refuses it (\"given numpy array has byte order "
            "different from the native byte order\") and JAX refuses it (\"is not a valid JAX "
            f"array type\"). Convert it first: {name}.astype({name}.dtype.newbyteorder('=')))."
        )
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (str, bytes)) or item is None:
                raise LossBridgeTypeError(
                    f"`{name}` is a {type(value).__name__} holding {_type_name(item)} "
                    f"{item!r}; it must hold numbers. {_FIX}"
                )
            if isinstance(item, (list, tuple)):
                check_argument(name, item)


# The built-in types the kernels and array libraries raise, and the lossbridge error that
# is also that type.
_WRAPPED: dict[type[BaseException], type[LossBridgeError]] = {
    RuntimeError: LossBridgeRuntimeError,
    TypeError: LossBridgeTypeError,
    NotImplementedError: LossBridgeNotImplementedError,
    IndexError: LossBridgeIndexError,
    ValueError: LossBridgeError,
}


class BroadcastError(LossBridgeRuntimeError, LossBridgeTypeError):
    """Two inputs whose shapes do not broadcast, raised from inside a kernel: torch says
    RuntimeError ("The size of tensor a (0) must match ..."), JAX TypeError ("add got
    incompatible shapes") or ValueError, NumPy ValueError; this error is all three."""


class BoolDtypeError(LossBridgeRuntimeError, LossBridgeTypeError, LossBridgeNotImplementedError):
    """Arithmetic on a boolean array, raised from inside a kernel: torch says RuntimeError
    ("Subtraction, the `-` operator, with a bool tensor is not supported") or
    NotImplementedError ("... not implemented for 'Bool'"), JAX TypeError ("sub does not
    accept dtype bool"), for the same boolean input; this error is all three."""


_BOOL_MESSAGES = ("with a bool tensor is not supported", "with two bool tensors is not supported",
                  "on a bool tensor is not supported", "not implemented for 'Bool'")
_BROADCAST_MESSAGES = ("must match the size of tensor", "operands could not be broadcast",
                       "incompatible shapes for broadcasting")

_AXIS_FIX = ("`axis` counts the dimensions of the inputs: pass -1 for the last axis, or an "
             "axis in [-ndim, ndim) of the array it reduces.")


def wrap_raw_errors(fn: Callable[..., Any], fix: str, *, method: bool = False) -> Callable[..., Any]:
    """``fn``, re-raising a raw error of the kernel or array library it calls (torch's
    ``"mse_cpu" not implemented for 'ComplexFloat'``, NumPy's "operands could not be
    broadcast", NumPy's AxisError) as the lossbridge error of the same built-in type: the
    library's message first, then the inputs seen, then ``fix``.  Errors of a library's own
    class are left.  ``method``: ``fn`` is a method (its ``self`` is not shown)."""
    name = fn.__qualname__ if method else fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LossBridgeError:
            raise
        except (RuntimeError, TypeError, NotImplementedError, IndexError, ValueError) as e:
            reworded = reword_raw_error(e, name, args[1:] if method else args, kwargs, fix)
            if reworded is None:
                raise
            raise reworded from e

    wrapper.__lossbridge_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def reword_raw_error(
    e: BaseException, name: str, shown: tuple[Any, ...], kwargs: dict[str, Any], fix: str
) -> LossBridgeError | None:
    """The lossbridge error for a raw error ``e`` that ``name(*shown, **kwargs)`` raised (see
    :func:`wrap_raw_errors`), or None where ``e`` is a library's own class (left as it is)."""
    from ._backend import describe

    axis = type(e) is np.exceptions.AxisError
    cls = LossBridgeIndexError if axis else _WRAPPED.get(type(e))
    if cls is not None and any(m in str(e) for m in _BROADCAST_MESSAGES):
        cls = BroadcastError
    elif cls is not None and any(m in str(e) for m in _BOOL_MESSAGES):
        cls = BoolDtypeError
    if cls is None:
        return None
    seen = ", ".join(describe(a) for a in shown if a is not None)
    if "axis" in kwargs:
        seen += f", axis={kwargs['axis']!r}"
    return cls(f"{e} ({name} was called with {seen}.) {_AXIS_FIX if axis else fix}")


def wrap_public(scope: dict[str, Any], fix: str) -> None:
    """Wrap every function named in ``scope["__all__"]`` with :func:`wrap_raw_errors`."""
    for name in scope["__all__"]:
        obj = scope.get(name)
        if callable(obj) and not isinstance(obj, type) and not getattr(
            obj, "__lossbridge_wrapped__", False
        ):
            scope[name] = wrap_raw_errors(obj, fix)
