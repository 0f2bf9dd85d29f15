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
    "torch_namespace",
]

_KIND_FROM_MODULE = {"numpy": "numpy", "torch": "torch", "jax": "jax", "jaxlib": "jax"}


def array_kind(x: Any) -> str | None:
    """Return ``"numpy"``, ``"torch"``, ``"jax"``, another library's name, or None.

    ``None`` means the value has no array kind of its own (a Python scalar, list
    or tuple) and takes the kind of the arrays beside it.  The answer depends on
    the value's type only, so it is cached per type: a loss call pays one dict
    look-up per argument.
    """
    t = type(x)
    try:
        return _KIND_BY_TYPE[t]
    except KeyError:
        pass
    kind = _array_kind_uncached(x)
    if kind != "tensorflow":  # a TF tensor's kind depends on the value (tf.is_tensor)
        _KIND_BY_TYPE[t] = kind
    return kind


_KIND_BY_TYPE: dict[type, str | None] = {}


def _array_kind_uncached(x: Any) -> str | None:
    if x is None or isinstance(x, (bool, int, float, complex, list, tuple)):
        return None
    if isinstance(x, (np.ndarray, np.generic)):
        return "numpy"
    # isinstance, as array_api_compat.is_torch_array does, without its lru_cache'd helper:
    # torch.compile warns on every lru_cache it traces through (issue 17).
    if "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor):
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
        """Convert ``x`` to this namespace: a Python scalar or list, or a NumPy array
        beside tensors of another kind (the rule of Keras and optax, which convert
        their inputs); an array of this kind is returned as it is (cast to ``dtype``)."""
        if x is None:
            return None
        kind = array_kind(x)
        if kind is None or (kind == "numpy" and self.kind != "numpy"):
            if self.kind == "torch":
                return self.xp.asarray(x, dtype=dtype, device=self.device)
            return self.xp.asarray(x, dtype=dtype)
        if dtype is not None and x.dtype != dtype:
            return self.xp.astype(x, dtype)
        return x

    def __repr__(self) -> str:
        return f"Namespace(kind={self.kind!r})"


class _NoCopy:
    """An array namespace whose ``astype`` does not copy an array already of the dtype.

    The standard's ``astype`` copies by default (array-api-compat follows it for NumPy and
    torch); lossbridge never writes into an array, so a cast to the same dtype is the array
    itself (a copy of y_true and of the values on every Keras call otherwise)."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp
        self.__name__ = xp.__name__

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._xp, name)
        setattr(self, name, value)  # next time a plain attribute
        return value

    def astype(self, x: Any, dtype: Any, /, *, copy: bool = False, device: Any = None) -> Any:
        if device is None:
            return self._xp.astype(x, dtype, copy=copy)
        return self._xp.astype(x, dtype, copy=copy, device=device)

    def __repr__(self) -> str:
        return f"<{self.__name__} (astype without copies)>"


class _NumPy(_NoCopy):
    """NumPy's namespace, with the ml_dtypes floats (bfloat16, which JAX and Keras use on
    NumPy arrays) known to ``isdtype`` and ``finfo``, and ``bfloat16`` as a dtype name
    where ml_dtypes is installed."""

    def isdtype(self, dtype: Any, kind: Any) -> bool:
        if _is_ml_float(dtype):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            return any(k in ("real floating", "numeric") or k == dtype for k in kinds)
        return bool(self._xp.isdtype(dtype, kind))

    def clip(self, x: Any, /, min: Any = None, max: Any = None) -> Any:
        if _is_ml_float(x.dtype):  # Python bounds take the array's dtype (JAX's weak types)
            lo = None if min is None else np.asarray(min, dtype=x.dtype)
            hi = None if max is None else np.asarray(max, dtype=x.dtype)
            return np.clip(x, lo, hi)
        if (x.dtype.kind == "f" and isinstance(min, (float, int, type(None)))
                and isinstance(max, (float, int, type(None))) and (min, max) != (None, None)):
            # NumPy's own clip, one pass (array-api-compat's generic one makes copies); Python
            # bounds are weak under NEP 50, so the array's dtype is kept as the standard says
            return np.clip(x, min, max)
        return self._xp.clip(x, min, max)

    def __getattr__(self, name: str) -> Any:
        if name == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return super().__getattr__(name)


def _is_ml_float(dtype: Any) -> bool:
    """True for ml_dtypes' floating types (their NumPy kind is 'V')."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return False
    return dt.kind == "V" and "float" in dt.name


_XP_BY_KIND: dict[str, Any] = {}
_NAMESPACES: dict[str, Namespace] = {}


def _numpy_namespace() -> Namespace:
    # array_api_compat.numpy imports numpy.typing & co (about 0.15 s): loaded on first use
    ns = _NAMESPACES.get("numpy")
    if ns is None:
        import array_api_compat.numpy as compat_numpy

        ns = _NAMESPACES["numpy"] = Namespace(_NumPy(compat_numpy), "numpy")
    return ns


def get_namespace(arrays: Mapping[str, Any], *, numpy_joins: bool = True) -> Namespace:
    """The namespace of a call, from its named array arguments.

    ``arrays`` maps argument names to values; ``None`` values and Python scalars,
    lists and tuples are ignored when choosing the kind.  With ``numpy_joins``
    (Keras, tf.keras, optax, Theano: they convert their inputs) a NumPy array
    beside arrays of another kind takes their kind (convert it with
    :meth:`Namespace.asarray`); without it (torch, which refuses NumPy arrays
    beside tensors) that mix is an error.

    Raises:
      LossBridgeTypeError: when two arguments are arrays of different kinds
        (other than NumPy beside another kind with ``numpy_joins``).
    """
    first_name: str | None = None
    first: Any = None
    kind: str | None = None
    for name, value in arrays.items():
        check_argument(name, value)  # None, str, object and masked arrays (issue 11)
        k = array_kind(value)
        if k is None:
            continue
        if kind is None or (kind == "numpy" and k != "numpy" and numpy_joins):
            kind, first_name, first = k, name, value
        elif k != kind:
            if k == "numpy" and numpy_joins:
                continue
            _mixed_kinds(first_name, first, name, value)
    if kind is None or kind == "numpy":
        return _numpy_namespace()
    if kind == "tensorflow":
        # array-api-compat has no TensorFlow namespace: keras.ops computes on TF tensors.
        from ._keras_xp import keras_namespace

        return Namespace(keras_namespace(), "tensorflow")
    xp = _XP_BY_KIND.get(kind)
    if xp is None and kind == "torch":
        # array_namespace's answer for a tensor, without its lru_cache'd helpers (torch.compile
        # warns on each it traces through when the first call of a process is compiled)
        import array_api_compat.torch as compat_torch

        xp = _XP_BY_KIND[kind] = _NoCopy(compat_torch)
    if xp is None:
        try:
            xp = array_api_compat.array_namespace(first)
        except TypeError as e:
            raise LossBridgeTypeError(
                f"`{first_name}` is a {describe(first)}, which lossbridge cannot compute with: "
                f"{e}. Pass a NumPy array, a torch tensor, a JAX array or another Array API array."
            ) from None
        if kind == "torch":
            xp = _NoCopy(xp)
        if kind in ("torch", "jax"):
            _XP_BY_KIND[kind] = xp
    return Namespace(xp, kind, first.device if kind == "torch" else None)


def _mixed_kinds(name_a: str | None, a: Any, name_b: str, b: Any) -> None:
    sides = {array_kind(a): (name_a, a), array_kind(b): (name_b, b)}
    if "torch" in sides and "numpy" in sides:
        (t_name, t_value), (n_name, n_value) = sides["torch"], sides["numpy"]
        raise LossBridgeTypeError(
            f"argument '{n_name}' must be Tensor, not numpy.ndarray. torch's losses take "
            f"tensors only: `{t_name}` is a {describe(t_value)} and `{n_name}` a "
            f"{describe(n_value)}. Convert it first: torch.as_tensor({n_name}, "
            f"device={t_name}.device)."
        )
    raise LossBridgeTypeError(
        f"Arguments of one loss call must be arrays of one kind, but `{name_a}` is a "
        f"{describe(a)} and `{name_b}` is a {describe(b)}. Convert them to one kind "
        f"first, for example with torch.as_tensor(...), jax.numpy.asarray(...) or "
        f"numpy.asarray(...)."
    )


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
    for torch tensors while ``torch.compile`` traces, and for torch tensors batched by
    ``torch.func.vmap`` (also inside ``jacfwd``/``hessian``), where value checks are
    impossible and lossbridge follows the framework's value instead.
    """
    if x is None:
        return True
    kind = array_kind(x)
    if kind == "torch":
        torch = sys.modules["torch"]
        if torch.compiler.is_compiling():
            return False
        if x.is_meta or type(x).__name__ == "FakeTensor":
            return False
        from ._functorch import under_functorch_vmap  # a tensor batched by torch.func.vmap

        return not under_functorch_vmap(x)
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
    return True


def torch_namespace(arrays: Mapping[str, Any]) -> Namespace:
    """:func:`get_namespace` with torch's rule: a NumPy array beside tensors is an error
    (torch raises ``TypeError: ... must be Tensor, not numpy.ndarray``)."""
    return get_namespace(arrays, numpy_joins=False)
