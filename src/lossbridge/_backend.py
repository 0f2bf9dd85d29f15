"""Array dispatch: which library an array belongs to, without importing any.

A loss is written once against the namespace ``xp`` that
``array_api_compat.array_namespace`` returns for its inputs.  This module adds
what lossbridge needs on top of that:

* Python scalars, lists and tuples have no kind of their own: they take the kind
  of the other arrays of the call, or become NumPy arrays when there are none.
* Two array kinds in one call (a NumPy array beside a torch tensor) are an error
  that names both arguments and says how to fix it.
* Frameworks are never imported here: a torch tensor can only exist if torch is
  already in ``sys.modules`` (the same rule as einops and array-api-compat).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from typing import Any

import array_api_compat
import numpy as np

from ._errors import LossBridgeTypeError
from ._validate import check_argument

__all__ = [
    "Namespace",
    "array_kind",
    "describe",
    "get_namespace",
    "is_concrete",
    "quiet",
]

_KIND_FROM_MODULE = {"numpy": "numpy", "torch": "torch", "jax": "jax", "jaxlib": "jax"}


def array_kind(x: Any) -> str | None:
    """Return ``"numpy"``, ``"torch"``, ``"jax"``, another library's name, or None.

    ``None`` means the value has no array kind of its own (a Python scalar, list
    or tuple) and takes the kind of the arrays beside it.
    """
    if x is None or isinstance(x, (bool, int, float, complex, list, tuple)):
        return None
    if isinstance(x, (np.ndarray, np.generic)):
        return "numpy"
    if "torch" in sys.modules and array_api_compat.is_torch_array(x):
        return "torch"
    if "jax" in sys.modules and array_api_compat.is_jax_array(x):
        return "jax"
    if "tensorflow" in sys.modules and _is_tf_tensor(x):
        return "tensorflow"
    if hasattr(x, "__array_namespace__"):
        root = type(x).__module__.split(".")[0]
        return _KIND_FROM_MODULE.get(root, root)
    return None


def _is_tf_tensor(x: Any) -> bool:
    import tensorflow as tf

    return bool(tf.is_tensor(x)) and not hasattr(x, "__array_namespace__")


def describe(x: Any) -> str:
    """A short description of a value for error messages: kind, shape and dtype."""
    if x is None:
        return "None"
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return f"{type(x).__name__} {x!r}" if not isinstance(x, (list, tuple)) else (
            f"{type(x).__name__} of length {len(x)}"
        )
    kind = array_kind(x) or type(x).__name__
    label = {"numpy": "numpy array", "torch": "torch tensor", "jax": "jax array",
             "tensorflow": "tensorflow tensor"}.get(kind, kind)
    return f"{label} of shape {tuple(shape)} and dtype {_dtype_name(dtype)}"


def _dtype_name(dtype: Any) -> str:
    name = str(dtype)
    return name.replace("torch.", "")


class Namespace:
    """The array namespace of one loss call.

    Attributes:
      xp: the array-API namespace (``array_api_compat.numpy``,
        ``array_api_compat.torch``, ``jax.numpy``, ...).
      kind: ``"numpy"``, ``"torch"``, ``"jax"`` or another library's name.
      device: the device of the first array, or None.
    """

    __slots__ = ("device", "kind", "xp")

    def __init__(self, xp: Any, kind: str, device: Any = None) -> None:
        self.xp = xp
        self.kind = kind
        self.device = device

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        """Convert ``x`` (an array of this kind, a scalar or a list) to this namespace."""
        if x is None:
            return None
        if array_kind(x) is None:
            if self.kind == "torch":
                return self.xp.asarray(x, dtype=dtype, device=self.device)
            return self.xp.asarray(x, dtype=dtype)
        if dtype is not None and x.dtype != dtype:
            return self.xp.astype(x, dtype)
        return x

    def __repr__(self) -> str:
        return f"Namespace(kind={self.kind!r})"


def get_namespace(arrays: Mapping[str, Any]) -> Namespace:
    """The namespace of a call, from its named array arguments.

    ``arrays`` maps argument names to values; ``None`` values and Python scalars,
    lists and tuples are ignored when choosing the kind.

    Raises:
      LossBridgeTypeError: when two arguments are arrays of different kinds.
    """
    first_name: str | None = None
    first: Any = None
    kind: str | None = None
    for name, value in arrays.items():
        check_argument(name, value)  # None, str, object and masked arrays (issue 11)
        k = array_kind(value)
        if k is None:
            continue
        if kind is None:
            kind, first_name, first = k, name, value
        elif k != kind:
            raise LossBridgeTypeError(
                f"Arguments of one loss call must be arrays of one kind, but `{first_name}` is a "
                f"{describe(first)} and `{name}` is a {describe(value)}. Convert them to one kind "
                f"first, for example with torch.as_tensor(...), jax.numpy.asarray(...) or "
                f"numpy.asarray(...)."
            )
    if kind is None:
        return Namespace(array_api_compat.numpy, "numpy")
    if kind == "tensorflow":
        # array-api-compat has no TensorFlow namespace: keras.ops computes on TF tensors.
        from ._keras_xp import keras_namespace

        return Namespace(keras_namespace(), "tensorflow")
    try:
        xp = array_api_compat.array_namespace(first)
    except TypeError as e:
        raise LossBridgeTypeError(
            f"`{first_name}` is a {describe(first)}, which lossbridge cannot compute with: {e}. "
            "Pass a NumPy array, a torch tensor, a JAX array or another Array API array."
        ) from None
    device = array_api_compat.device(first) if kind == "torch" else None
    return Namespace(xp, kind, device)


def quiet(ns: Namespace) -> Any:
    """A context in which NumPy does not warn about ``log(0)``, ``0/0`` or overflow.

    Used around formulas whose infinities and NaNs are the framework's intended
    values (torch's ``binary_cross_entropy`` takes ``log(0) = -inf`` then clamps it).
    """
    if ns.kind == "numpy":
        return np.errstate(all="ignore")
    return contextlib.nullcontext()


def is_concrete(x: Any) -> bool:
    """True when the values of ``x`` can be read on the host now.

    False for JAX tracers (inside ``jax.jit``, ``jax.grad``'s trace, ``jax.vmap``)
    and for torch tensors while ``torch.compile`` traces, where value checks are
    impossible and lossbridge follows the framework's value instead.
    """
    if x is None:
        return True
    kind = array_kind(x)
    if kind == "jax":
        import jax

        if not isinstance(x, jax.core.Tracer):
            return True
        # Under jax.grad (without jit) a tracer still holds its value: checks can run.
        try:
            from jax._src.core import is_concrete as jax_is_concrete

            return bool(jax_is_concrete(x))
        except Exception:  # a JAX without it: treat every tracer as abstract
            return False
    if kind == "tensorflow":
        import tensorflow as tf

        return bool(tf.executing_eagerly()) and hasattr(x, "numpy")
    if kind == "torch":
        import torch

        if torch.compiler.is_compiling():
            return False
        return not getattr(x, "is_meta", False) and type(x).__name__ != "FakeTensor"
    return True
