"""An array namespace on ``keras.ops``, for arrays array-api-compat does not know (TensorFlow).

``lossbridge.to_keras_loss`` must work on every Keras 3 backend.  On JAX and torch
Keras hands the loss JAX arrays and torch tensors, which array-api-compat covers;
on TensorFlow it hands ``tf.Tensor``s (symbolic inside ``tf.function``), for which
array-api-compat has no namespace.  :func:`keras_namespace` returns a small
object with the Array API names the generic loss code uses, each computed by the
``keras.ops`` function of the same meaning (so it runs in TensorFlow graphs).

Only the names lossbridge's generic code calls are provided (see ``_SAME`` and the
methods below); any other name raises :class:`LossBridgeNotImplementedError` that
names it, so a loss that needs more fails clearly instead of computing something
else.  Python ``if``s in the losses only read shapes and dtypes, never values, so
they are traced correctly.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._errors import LossBridgeNotImplementedError

__all__ = ["keras_namespace"]

#: Array API names whose ``keras.ops`` function has the same name and meaning.
_SAME = (
    "abs", "all", "any", "arange", "argmax", "broadcast_to", "count_nonzero", "exp", "expand_dims",
    "flip", "floor", "full", "full_like", "isfinite", "isinf", "isnan", "log", "log1p", "logaddexp", "logical_not", "matmul",
    "max", "maximum", "mean", "min", "minimum", "moveaxis", "nonzero", "ones_like", "reshape",
    "real", "sign", "sort", "sqrt", "squeeze", "stack", "sum", "take", "take_along_axis",
    "where", "zeros", "zeros_like",
)
#: Array API name -> keras.ops name.
_RENAMED = {"concat": "concatenate", "permute_dims": "transpose", "cumulative_sum": "cumsum"}
_DTYPES = ("bool", "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8")
_KINDS = {
    "bool": ("bool",),
    "signed integer": ("int8", "int16", "int32", "int64"),
    "unsigned integer": ("uint8", "uint16", "uint32", "uint64"),
    "real floating": ("float16", "bfloat16", "float32", "float64"),
    "complex floating": ("complex64", "complex128"),
}
_KINDS["integral"] = _KINDS["signed integer"] + _KINDS["unsigned integer"]
_KINDS["numeric"] = _KINDS["integral"] + _KINDS["real floating"] + _KINDS["complex floating"]


class KerasOpsNamespace:
    """The Array API subset lossbridge uses, computed with ``keras.ops``."""

    __name__ = "lossbridge._keras_xp"

    def __init__(self) -> None:
        import keras

        self._ops = keras.ops
        self._standardize = keras.backend.standardize_dtype
        for name in _SAME:
            setattr(self, name, getattr(keras.ops, name))
        for name, target in _RENAMED.items():
            setattr(self, name, getattr(keras.ops, target))
        for name in _DTYPES:  # the backend's own dtype objects, so ``x.dtype == xp.float32`` works
            setattr(self, name, keras.ops.zeros((), dtype=name).dtype)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise LossBridgeNotImplementedError(
            f"lossbridge's keras.ops namespace (used for TensorFlow tensors) has no `xp.{name}`: "
            "this loss cannot run on the TensorFlow backend yet. Use the JAX or torch Keras "
            "backend (KERAS_BACKEND=jax or torch), or report the missing function."
        )

    def astype(self, x: Any, dtype: Any) -> Any:
        return self._ops.cast(x, dtype)

    def asarray(self, x: Any, dtype: Any = None, device: Any = None) -> Any:
        return self._ops.convert_to_tensor(x, dtype=dtype)

    def isdtype(self, dtype: Any, kind: Any) -> bool:
        name = self._standardize(dtype)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        for k in kinds:
            if isinstance(k, str):
                if name in _KINDS[k]:
                    return True
            elif name == self._standardize(k):
                return True
        return False

    def broadcast_arrays(self, *arrays: Any) -> list[Any]:
        shapes = [tuple(a.shape) for a in arrays]
        if all(d is not None for shape in shapes for d in shape):
            shape = np.broadcast_shapes(*shapes)
            return [self._ops.broadcast_to(a, shape) for a in arrays]
        out = []  # a dimension unknown until run time (a graph's batch): broadcast by adding zeros
        for i, a in enumerate(arrays):
            for j, b in enumerate(arrays):
                if i != j:
                    a = a + self._ops.zeros_like(b, dtype=a.dtype)
            out.append(a)
        return out

    def result_type(self, *dtypes: Any) -> Any:
        import keras

        name = keras.backend.result_type(*(self._standardize(d) for d in dtypes))
        return getattr(self, name)

    def matrix_transpose(self, x: Any) -> Any:
        return self._ops.swapaxes(x, -1, -2)

    def finfo(self, dtype: Any) -> Any:
        return np.finfo(self._standardize(dtype))

    def clip(self, x: Any, min: Any = None, max: Any = None) -> Any:
        if min is not None:
            x = self._ops.maximum(x, min)
        if max is not None:
            x = self._ops.minimum(x, max)
        return x


@functools.cache
def _cached(backend: str) -> KerasOpsNamespace:
    return KerasOpsNamespace()


def keras_namespace() -> KerasOpsNamespace:
    """The ``keras.ops`` namespace of the current Keras backend (one object per backend)."""
    try:
        import keras
    except ImportError:
        keras = None
    if keras is None or keras.backend.backend() != "tensorflow":
        raise LossBridgeNotImplementedError(
            "lossbridge computes on TensorFlow tensors through keras.ops, which needs Keras 3 with "
            "KERAS_BACKEND=tensorflow (set before `import keras`). Convert the tensors to NumPy, "
            "or use the Keras backend that matches your arrays."
        )
    return _cached(keras.backend.backend())
