"""The Keras 3 loss pipeline, written once and shared by every Keras loss.

``Loss.__call__(y_true, y_pred, sample_weight=None)`` does exactly what
``keras.losses.Loss.__call__`` does (keras 3.15.1, ``keras/src/losses/loss.py``):

1. ``y_true`` and ``y_pred`` are converted to the loss dtype (``float32`` unless
   ``dtype=`` says otherwise): float64 inputs lose precision, integer labels
   become floats (exact up to 2**24) and sparse losses cast them back.
2. ``call`` computes the per-sample loss; a loss may also produce a mask
   (``SparseCategoricalCrossentropy(ignore_class=...)``), combined with a mask
   carried by ``y_pred._keras_mask``.
3. :func:`reduce_weighted_values`: the mask becomes a weight ``total/valid`` on
   valid entries (``"sum_over_batch_size"`` and ``"mean"``) or a 0/1 weight, is
   merged into ``sample_weight``, the weights are rank-aligned to the loss and
   multiplied in, and the reduction divides by ``numel`` of the per-sample loss
   (``"sum_over_batch_size"``, ``"mean"``), by the sum of the weights
   (``"mean_with_sample_weight"``), by nothing (``"sum"``) or not at all
   (``"none"``/``None``).  A loss of shape ``()`` or ``(0,)`` is returned as is.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._backend import Namespace, array_kind, describe, get_namespace
from .._config import check_level
from .._errors import LossBridgeError, LossBridgeRuntimeError, LossBridgeTypeError
from .._validate import wrap_raw_errors

__all__ = [
    "EPSILON",
    "Loss",
    "LossFunctionWrapper",
    "floatx",
    "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
    "standardize_reduction",
]

#: ``keras.config.epsilon()``: the clip of probabilities and the guard of divisions.
EPSILON = 1e-7

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")
_name_uids: collections.defaultdict[str, int] = collections.defaultdict(int)


#: Which Keras' rules the shared code follows: ``"keras"`` (Keras 3) or ``"tf_keras"``
#: (tf.keras 2.x, set by :mod:`lossbridge.tf_keras` around its calls).  The few pieces
#: of math that differ read it (:func:`mean`, binary cross-entropy's epsilon, focal
#: BCE from logits, ``l2_normalize``, the probabilities of sparse cross-entropy).
# A thread-local, not a ContextVar: torch.compile (dynamo) cannot trace ContextVar.get/set
# (a graph break; issue 17), and a loss call never awaits, so per thread is per call.
_FLAVOR = threading.local()


def flavor() -> str:
    """``"keras"`` (Keras 3 rules, the default) or ``"tf_keras"`` (tf.keras 2.x rules)."""
    return str(getattr(_FLAVOR, "name", "keras"))


@contextlib.contextmanager
def using_flavor(name: str) -> Iterator[None]:
    """Run the shared Keras code with the rules of ``name`` (``"keras"`` or ``"tf_keras"``)."""
    previous = flavor()
    _FLAVOR.name = name
    try:
        yield
    finally:
        _FLAVOR.name = previous


def floatx() -> str:
    """Keras' default float type, ``"float32"``."""
    return "float32"


# --------------------------------------------------------------------------- dtypes


def standardize_dtype(dtype: Any) -> str:
    """The compute dtype name of a Keras ``dtype=`` argument.

    Accepts None (``floatx()``), a dtype name, a mixed-precision policy name
    (``"mixed_float16"`` computes in float16), a ``keras.DTypePolicy`` or any object
    with a ``compute_dtype``, and NumPy/torch/JAX dtype objects.
    """
    if dtype is None:
        return floatx()
    compute = getattr(dtype, "compute_dtype", None)
    if compute is not None:
        dtype = compute
    name = dtype if isinstance(dtype, str) else str(getattr(dtype, "name", dtype))
    name = name.replace("torch.", "")
    if name.startswith("mixed_"):
        name = name[len("mixed_") :]
    if name not in _FLOAT_DTYPES:
        raise LossBridgeError(
            f"A Keras loss computes in a floating dtype, but dtype={dtype!r} was given. "
            f"Use one of {', '.join(_FLOAT_DTYPES)}, a policy such as 'mixed_float16', or None "
            "for float32."
        )
    return name


def xp_dtype(ns: Namespace, name: str) -> Any:
    """The dtype object called ``name`` in the namespace of ``ns``."""
    if name == "bfloat16":
        if ns.kind == "torch":
            import torch

            return torch.bfloat16
        if ns.kind == "jax":
            import jax.numpy as jnp

            return jnp.bfloat16
        try:
            import ml_dtypes  # NumPy's bfloat16, as Keras and JAX use it (installed with jax)
        except ImportError:
            raise LossBridgeTypeError(
                "dtype='bfloat16' on NumPy arrays needs the ml_dtypes package (it comes with "
                "jax): pip install ml_dtypes, convert the inputs to torch tensors or JAX arrays, "
                "or use dtype='float16' or 'float32'."
            ) from None
        return np.dtype(ml_dtypes.bfloat16)
    return getattr(ns.xp, name)


def convert_to_tensor(ns: Namespace, x: Any, dtype: str | None = None) -> Any:
    """``keras.ops.convert_to_tensor`` in the namespace ``ns``.

    Python floats become ``float32`` and Python ints ``int32`` when no dtype is
    given, as in Keras; arrays keep their dtype unless ``dtype`` is given.
    """
    if x is None:
        return None
    kind = array_kind(x)
    if kind == "numpy" and ns.kind != "numpy":  # Keras converts NumPy inputs to the tensors' kind
        x = ns.asarray(x)
    elif kind is None:
        arr = np.asarray(x)
        if dtype is None:
            if arr.dtype == np.float64:
                dtype = "float32"
            elif arr.dtype == np.int64:
                dtype = "int32"
        if dtype is not None:
            return ns.asarray(arr.tolist() if arr.ndim else arr.item(), dtype=xp_dtype(ns, dtype))
        return ns.asarray(arr.tolist() if arr.ndim else arr.item())
    if dtype is not None:
        target = xp_dtype(ns, dtype)
        if x.dtype != target:
            return ns.xp.astype(x, target)
    return x


def mean(ns: Namespace, x: Any, axis: Any = None) -> Any:
    """``keras.ops.mean``: the mean is computed in float32 and cast back to x's dtype.

    Keras computes ``jnp.mean(x, dtype=result_type(x.dtype, "float32"))`` and, in
    its type promotion, ``result_type("float64", "float32")`` is float32: a float64
    loss (``dtype="float64"``) averages with float32 precision, and so does this.
    Integer inputs give float32.  Under tf.keras 2 rules (``tf.reduce_mean``) the
    mean is computed in x's own dtype.
    """
    xp = ns.xp
    result = x.dtype if xp.isdtype(x.dtype, "real floating") else xp.float32
    if flavor() == "tf_keras":
        return xp.mean(xp.astype(x, result), axis=axis)
    return xp.astype(xp.mean(xp.astype(x, xp.float32), axis=axis), result)


def namespace_of(**arrays: Any) -> Namespace:
    """The namespace of a Keras call (``y_true``, ``y_pred``, ``sample_weight``)."""
    return get_namespace(arrays)


# ------------------------------------------------------------------ rank alignment


def squeeze_or_expand_to_same_rank(
    x1: Any, x2: Any, expand_rank_1: bool = True, xp: Any = None
) -> tuple[Any, Any]:
    """Keras' rank alignment: act only when the ranks differ by exactly one.

    If the higher-rank tensor's last dimension is 1, a rank-1 partner gets a
    trailing axis (``expand_rank_1``), otherwise that size-1 axis is squeezed.
    Every other pair is returned unchanged (and broadcasts).
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if xp is None:
        xp = get_namespace({"x1": x1, "x2": x2}).xp
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = xp.expand_dims(x2, axis=-1)
        else:
            x1 = xp.squeeze(x1, axis=-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = xp.expand_dims(x1, axis=-1)
        else:
            x2 = xp.squeeze(x2, axis=-1)
    return x1, x2


# ----------------------------------------------------------------------- reduction


def standardize_reduction(reduction: Any) -> Any:
    """Validate a Keras 3 ``reduction`` (``"auto"`` is tf.keras 2 only and rejected)."""
    if reduction not in _REDUCTIONS:
        allowed = ", ".join(repr(r) for r in _REDUCTIONS)
        hint = (
            " 'auto' is tf.keras 2's reduction: in Keras 3 use 'sum_over_batch_size' (its "
            "meaning), or use lossbridge.tf_keras for tf.keras 2 semantics."
            if reduction == "auto"
            else ""
        )
        raise LossBridgeError(
            f"Invalid value for argument `reduction`. Expected one of {{{allowed}}}. "
            f"Received: reduction={reduction!r}.{hint}"
        )
    return reduction


def divide_no_nan(xp: Any, a: Any, b: Any) -> Any:
    """``a / b``, and 0 where ``b == 0`` (with a finite gradient there)."""
    zero = b == 0
    safe = xp.where(zero, xp.ones_like(b), b)
    return xp.where(zero, xp.zeros_like(a / safe), a / safe)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _size(ns: Namespace, x: Any, dtype: Any) -> Any:
    """The number of elements of ``x`` as a scalar of ``dtype``.

    Static shapes give a constant; a dimension unknown until run time (``None`` in a
    TensorFlow graph traced with a generalised batch size) counts at run time.
    """
    if all(d is not None for d in x.shape):
        return ns.asarray(float(_numel(tuple(x.shape))), dtype=dtype)
    return ns.xp.sum(ns.xp.ones_like(x, dtype=dtype))


def reduce_values(
    ns: Namespace, values: Any, sample_weight: Any = None, reduction: Any = "sum_over_batch_size"
) -> Any:
    """Sum ``values`` and divide as ``reduction`` says (see the module docstring)."""
    xp = ns.xp
    if reduction is None or reduction == "none" or tuple(values.shape) in ((), (0,)):
        return values
    loss = xp.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = xp.astype(xp.sum(sample_weight), loss.dtype)
        elif all(d is not None for d in values.shape):
            # a static count: one division (divide_no_nan's 0 for an empty loss, without its
            # five kernels); the count is cast to the loss' dtype either way
            n = _numel(tuple(values.shape))
            return loss / float(n) if n else loss * 0.0  # 0, on the graph as Keras' 0
        else:
            divisor = _size(ns, values, loss.dtype)
        loss = divide_no_nan(xp, loss, divisor)
    return loss


class IncompatibleShapesError(LossBridgeRuntimeError, LossBridgeTypeError):
    """Two inputs that cannot be broadcast together.

    Keras' JAX backend raises ``TypeError`` or ``ValueError`` here and its torch
    backend ``RuntimeError``: this error is all three (and a
    :class:`lossbridge.LossBridgeError`).
    """


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(not (x != y and x != 1 and y != 1) for x, y in zip(reversed(a), reversed(b), strict=False))


def _check_weight_fits(values: Any, sample_weight: Any, sw_given: Any) -> None:
    """The one check that a (rank-aligned) sample_weight broadcasts against the per-sample
    loss ``values`` (or the mask of that shape), before either is multiplied by it."""
    if _broadcastable(tuple(values.shape), tuple(sample_weight.shape)):
        return
    shown = describe(sw_given) if sw_given is not None else describe(sample_weight)
    # Keras' torch backend raises RuntimeError and its JAX backend ValueError (ranks that
    # differ) or TypeError (one rank: lax.mul's "incompatible shapes"), so this is all three.
    raise IncompatibleShapesError(
        f"`sample_weight` ({shown}) cannot weight the per-sample loss of shape "
        f"{tuple(values.shape)}. Keras 3 aligns ranks only when they differ by one and "
        "the last dimension is 1, then broadcasts. Pass one weight per sample with "
        f"shape {tuple(values.shape[:1]) + (1,) * (len(values.shape) - 1)} or a weight "
        f"per element with shape {tuple(values.shape)}."
    )


def apply_mask(
    ns: Namespace, sample_weight: Any, mask: Any, dtype: Any, reduction: Any, sw_given: Any = None
) -> Any:
    """Merge a boolean mask into the sample weights (``total/valid`` scaling for means)."""
    if mask is None:
        return sample_weight
    xp = ns.xp
    bool_mask = xp.astype(mask, xp.bool) if mask.dtype != xp.bool else mask
    if reduction in ("mean", "sum_over_batch_size"):
        total = _size(ns, mask, dtype)
        valid = xp.sum(xp.astype(bool_mask, dtype))
        mask_weight = divide_no_nan(xp, total, valid)
        float_mask = xp.where(bool_mask, mask_weight, xp.zeros_like(mask_weight))
    else:
        float_mask = xp.astype(bool_mask, dtype)
    if sample_weight is not None:
        sample_weight = xp.astype(sample_weight, dtype)
        float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight, xp=xp)
        _check_weight_fits(float_mask, sample_weight, sw_given)  # the mask has the loss' shape
        sample_weight = sample_weight * float_mask
    else:
        sample_weight = float_mask
    return sample_weight


def reduce_weighted_values(
    ns: Namespace,
    values: Any,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: Any = "sum_over_batch_size",
    dtype: str | None = None,
) -> Any:
    """Keras' ``reduce_weighted_values``: mask merge, weighting, reduction."""
    reduction = standardize_reduction(reduction)
    xp = ns.xp
    values = convert_to_tensor(ns, values, dtype)
    sw_given = sample_weight
    if sample_weight is not None:
        sample_weight = convert_to_tensor(ns, sample_weight, dtype)
    sample_weight = apply_mask(ns, sample_weight, mask, values.dtype, reduction, sw_given)
    if sample_weight is not None:
        sample_weight = xp.astype(sample_weight, values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight, xp=xp)
        _check_weight_fits(values, sample_weight, sw_given)
        values = values * sample_weight
    return reduce_values(ns, values, sample_weight, reduction)


# --------------------------------------------------------------------------- Loss


def _to_snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _auto_name(prefix: str) -> str:
    prefix = _to_snake_case(prefix)
    uid = _name_uids[prefix]
    _name_uids[prefix] += 1
    return prefix if uid == 0 else f"{prefix}_{uid}"


#: The advice after a raw NumPy/torch/JAX error raised inside a Keras-dialect loss.
RAW_ERROR_FIX = ("Pass y_true and y_pred as Keras takes them: floating-point predictions, targets "
                 "of the same shape (integer labels for the sparse losses), sample_weight "
                 "broadcastable to the per-sample losses.")


class Loss:
    """Base class of the Keras dialect, with ``keras.losses.Loss``'s contract.

    Subclasses implement ``call(y_true, y_pred)`` returning the per-sample loss;
    ``__call__(y_true, y_pred, sample_weight=None)`` runs the Keras pipeline around
    it (dtype cast, mask merge, weighting, reduction).  Objects are plain Python:
    they run on NumPy arrays, torch tensors and JAX arrays and import no framework.

    Args:
      name: the loss' name (default: the snake-case class name, made unique).
      reduction: ``"sum_over_batch_size"`` (default; ``= "mean"``: sum divided by
        the number of elements of the per-sample loss), ``"sum"``,
        ``"mean_with_sample_weight"`` (sum divided by the sum of the weights),
        ``"none"`` or ``None``.
      dtype: the compute dtype (default ``"float32"``); inputs are cast to it.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> class MyMSE(lb.keras.Loss):
        ...     def call(self, y_true, y_pred):
        ...         xp = lb.ops.namespace(y_true, y_pred)
        ...         return xp.mean((y_true - y_pred) ** 2, axis=-1)
        >>> float(MyMSE()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])))
        0.5
    """

    def __init__(
        self, name: str | None = None, reduction: Any = "sum_over_batch_size", dtype: Any = None
    ) -> None:
        self.name = name or _auto_name(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = standardize_dtype(dtype)

    @property
    def dtype(self) -> str:
        """The compute dtype name (``"float32"`` by default)."""
        return self._dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return self._pipeline(y_true, y_pred, sample_weight, getattr(y_pred, "_keras_mask", None))

    __call__ = wrap_raw_errors(__call__, RAW_ERROR_FIX, method=True)  # type: ignore[method-assign]

    def _pipeline(self, y_true: Any, y_pred: Any, sample_weight: Any, in_mask: Any) -> Any:
        """``__call__`` with the mask of ``y_pred`` given (Keras keeps the masks of JAX arrays,
        which take no attributes, in a table: ``lossbridge.to_keras_loss`` reads it there)."""
        ns = namespace_of(y_true=y_true, y_pred=y_pred, sample_weight=sample_weight)
        given_true = y_true
        y_pred = convert_to_tensor(ns, y_pred, self.dtype)
        y_true = convert_to_tensor(ns, y_true, self.dtype)
        if type(given_true) is not type(y_true):
            given_true = y_true
        if ns.kind != "numpy" and array_kind(sample_weight) == "numpy":
            sample_weight = ns.asarray(sample_weight)
        losses, out_mask = self._call_with_mask(y_true, y_pred)
        if check_level() != "off":  # lossbridge's diagnostics (lossbridge.checks)
            from .._diagnostics import keras_call

            # the labels as given: integer labels (cast to the loss' float dtype above, as
            # Keras does) cannot hold the non-integer values that LB015 looks for
            keras_call(self, given_true, y_pred, sample_weight, losses, ns)
        if in_mask is not None and out_mask is not None:
            mask = ns.asarray(in_mask) & out_mask
        elif in_mask is not None:
            mask = ns.asarray(in_mask)
        else:
            mask = out_mask
        return reduce_weighted_values(
            ns, losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
            dtype=self.dtype,
        )

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """The per-sample loss.  Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def _call_with_mask(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        values = self.call(y_true, y_pred)
        return values, getattr(values, "_keras_mask", None)

    def get_config(self) -> dict[str, Any]:
        """``{"name", "reduction"}`` plus the subclass' constructor arguments (no dtype)."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """``cls(**config)``."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "fn")
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A per-sample function ``fn(y_true, y_pred, **kwargs)`` inside the Keras pipeline.

    ``y_true`` and ``y_pred`` are rank-aligned with
    :func:`squeeze_or_expand_to_same_rank` before ``fn`` is called, as Keras does.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.LossFunctionWrapper(lb.keras.mean_squared_error, name="mse")
        >>> float(loss(np.array([1.0, 2.0]), np.array([[1.0], [4.0]])))  # (2,) vs (2, 1) align
        2.0
    """

    def __init__(
        self,
        fn: Any,
        reduction: Any = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self._call_with_mask(y_true, y_pred)[0]

    def _call_with_mask(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        masked = getattr(self.fn, "_lossbridge_with_mask", None)
        if masked is not None:
            return masked(y_true, y_pred, **self._fn_kwargs)
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        return values, getattr(values, "_keras_mask", None)

    def get_config(self) -> dict[str, Any]:
        from ._registry import serialize

        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        if "fn" in config:
            from ._registry import deserialize

            config = dict(config)
            config["fn"] = deserialize(config["fn"])
        return cls(**config)


def with_mask(inner: Any) -> Any:
    """Decorator: mark ``public`` as the mask-dropping face of ``inner``.

    ``inner(y_true, y_pred, ...)`` returns ``(values, mask)``; the Keras pipeline
    calls it to get the mask that Keras attaches as ``_keras_mask``.
    """

    def decorate(public: Any) -> Any:
        public._lossbridge_with_mask = inner
        return public

    return decorate
