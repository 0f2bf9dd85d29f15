"""The tf.keras 2.x loss pipeline, as the subclass of Keras 3's that holds only the differences.

``Loss.__call__(y_true, y_pred, sample_weight=None)`` does what ``tf_keras.losses.Loss``
does (tf_keras 2.21, ``tf_keras/src/losses.py`` and ``utils/losses_utils.py``):

1. The inputs keep their dtypes (no ``dtype=`` argument, no cast to float32): float64
   arrays give a float64 loss.  Each loss function casts ``y_true`` to ``y_pred``'s dtype.
2. :class:`LossFunctionWrapper` squeezes the size-1 last axis of the input of higher
   rank when the ranks differ by one (``remove_squeezable_dimensions``); Keras 3 instead
   expands a rank-1 partner.
3. The mask (``ignore_class``) becomes a weight ``size / count`` (``"auto"`` and
   ``"sum_over_batch_size"``) or a 0/1 weight and is multiplied into ``sample_weight``.
4. ``compute_weighted_loss``: the weights are cast to the loss dtype; when their rank
   differs from the per-sample loss' rank by one they are squeezed (last axis) or
   expanded (a trailing axis) *whatever the last dimension* (Keras 3 aligns only a
   size-1 last axis); then ``losses * weights`` broadcast, summed, and divided by the
   number of elements of that product (``"auto"`` = ``"sum_over_batch_size"``; 0 when
   it is empty), or ``"sum"``, or ``"none"``.

Everything else (the per-sample math) is :mod:`lossbridge.keras`' code, run with
tf.keras 2 rules (:func:`lossbridge.keras._loss.using_flavor`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lossbridge.keras import _loss as k  # absolute: "keras" alone would name the framework

from .._backend import Namespace, describe, quiet
from .._errors import LossBridgeError, LossBridgeRuntimeError, LossBridgeTypeError
from .._validate import wrap_raw_errors

__all__ = ["REDUCTIONS", "Loss", "LossFunctionWrapper", "compute_weighted_loss", "validate_reduction"]

#: ``tf.keras.losses.Reduction.all()``.
REDUCTIONS = ("auto", "none", "sum", "sum_over_batch_size")


def validate_reduction(reduction: Any) -> Any:
    """``ReductionV2.validate``: one of ``"auto"``, ``"none"``, ``"sum"``, ``"sum_over_batch_size"``."""
    if reduction not in REDUCTIONS:
        hint = (
            " Keras 3's 'mean' is tf.keras 2's 'sum_over_batch_size' ('auto' means the same)."
            if reduction in ("mean", "mean_with_sample_weight", None)
            else ""
        )
        raise LossBridgeError(
            f'Invalid Reduction Key: {reduction}. Expected keys are "{REDUCTIONS}".{hint}'
        )
    return reduction


def _squeeze_last(ns: Namespace, x: Any, what: str, other: Any) -> Any:
    if x.shape[-1] != 1:
        raise LossBridgeRuntimeError(
            f"Can not squeeze dim[{x.ndim - 1}], expected a dimension of 1, got {x.shape[-1]}: "
            f"tf.keras squeezes the last axis of `{what}` ({describe(x)}) because its rank is "
            f"one more than the per-sample loss' ({tuple(other.shape)}). Give one weight per "
            f"sample with shape {tuple(other.shape)} or a shape that broadcasts against it."
        )
    return ns.xp.squeeze(x, axis=-1)


def compute_weighted_loss(
    ns: Namespace, losses: Any, sample_weight: Any = None, mask: Any = None, reduction: Any = "auto"
) -> Any:
    """tf.keras' ``apply_valid_mask`` + ``compute_weighted_loss`` (see the module docstring)."""
    xp = ns.xp
    validate_reduction(reduction)
    if reduction == "auto":
        reduction = "sum_over_batch_size"
    if not xp.isdtype(losses.dtype, "real floating"):
        losses = xp.astype(losses, xp.float32)
    if mask is not None:
        mask = xp.astype(ns.asarray(mask), losses.dtype)
        if reduction == "sum_over_batch_size":
            # tf.keras: mask * (size / count), no guard (no valid entry gives NaN weights).
            with quiet(ns):
                mask = mask * (ns.asarray(float(k._numel(tuple(mask.shape))), dtype=losses.dtype) / xp.sum(mask))
        if sample_weight is not None:
            sw = xp.astype(k.convert_to_tensor(ns, sample_weight), mask.dtype)
            sw = _align(ns, sw, mask, "sample_weight")
            sample_weight = sw * mask
        else:
            sample_weight = mask
    if sample_weight is None:
        weighted = losses
    else:
        sw = xp.astype(k.convert_to_tensor(ns, sample_weight), losses.dtype)
        sw = _align(ns, sw, losses, "sample_weight")
        if not k._broadcastable(tuple(losses.shape), tuple(sw.shape)):
            raise LossBridgeRuntimeError(
                f"Incompatible shapes: {list(losses.shape)} vs. {list(sw.shape)}: `sample_weight` "
                f"({describe(sample_weight)}) cannot weight the per-sample loss of shape "
                f"{tuple(losses.shape)} (tf.keras aligns ranks that differ by one, then "
                "broadcasts). Give one weight per sample or per loss element."
            )
        weighted = losses * sw
    if reduction == "none":
        return weighted
    total = xp.sum(weighted)
    if reduction == "sum_over_batch_size":
        n = ns.asarray(float(k._numel(tuple(weighted.shape))), dtype=total.dtype)
        total = k.divide_no_nan(xp, total, n)
    return total


def _align(ns: Namespace, sw: Any, losses: Any, what: str) -> Any:
    """``squeeze_or_expand_dimensions(losses, None, sample_weight)``."""
    if sw.ndim == 0:
        return sw
    if sw.ndim - losses.ndim == 1:
        return _squeeze_last(ns, sw, what, losses)
    if losses.ndim - sw.ndim == 1:
        return ns.xp.expand_dims(sw, axis=-1)
    return sw


def remove_squeezable_dimensions(ns: Namespace, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """tf.keras' rank alignment of a loss' inputs: when the ranks differ by one and the
    higher-rank input's last dimension is 1, that axis is squeezed."""
    xp = ns.xp
    diff = y_pred.ndim - y_true.ndim
    if diff == 1 and y_pred.shape[-1] == 1:
        y_pred = xp.squeeze(y_pred, axis=-1)
    elif diff == -1 and y_true.shape[-1] == 1:
        y_true = xp.squeeze(y_true, axis=-1)
    return y_true, y_pred


def refuse_integer_or_complex(y_pred: Any, *, bool_computes: bool = False) -> None:
    """The documented divergence (``lossbridge._divergences``): integer and complex predictions
    are refused, where tf.keras 2 computes in integer arithmetic or with complex values; and
    boolean predictions, on which tf.keras 2 fails (TypeError), as it does, except where it
    casts them to float32 first (``bool_computes``: ``huber``)."""
    dtype = getattr(y_pred, "dtype", None)
    if dtype is None:
        if y_pred is None or isinstance(y_pred, str):
            return  # the validation layer words these
        try:
            dtype = np.asarray(y_pred).dtype
        except Exception:  # not array-like: the validation layer words it
            return
    name = str(dtype)
    if name in ("bool", "torch.bool") and not bool_computes:
        # tf.keras 2 casts y_true and its constants to bool and fails ("Cannot convert 1e-07 to
        # EagerTensor of dtype bool", a TypeError, or a kernel without bool support).
        raise LossBridgeTypeError(
            f"Cannot convert a float to EagerTensor of dtype bool. `y_pred` is a "
            f"{describe(y_pred)}: tf.keras 2 casts y_true and the loss' constants to y_pred's "
            "dtype (bool) and fails. Pass floating-point predictions: y_pred.astype('float32')."
        )
    if "int" in name or "complex" in name:
        what = "complex" if "complex" in name else "integer"
        raise LossBridgeTypeError(
            f"`y_pred` is a {describe(y_pred)}: lossbridge.tf_keras refuses {what} predictions "
            + ("(tf.keras 2 casts y_true to y_pred's integer dtype and computes in integer "
               "arithmetic: truncated means, epsilon cast to 0). " if what == "integer" else
               "(most tf.keras 2 kernels refuse them, the others return complex values). ")
            + "Pass floating-point predictions: y_pred.astype('float32')."
        )


class Loss(k.Loss):
    """Base class of the tf.keras 2 dialect, with ``tf.keras.losses.Loss``'s contract.

    Subclasses implement ``call(y_true, y_pred)``; ``__call__`` applies the tf.keras 2
    pipeline of the module docstring (no dtype cast; ``"auto"`` reduction; tf.keras'
    sample-weight alignment).

    Args:
      reduction: ``"auto"`` (default) or ``"sum_over_batch_size"``: sum divided by the
        number of elements; ``"sum"``; ``"none"``.
      name: the loss' name (default None).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> class MyMSE(lb.tf_keras.Loss):
        ...     def call(self, y_true, y_pred):
        ...         xp = lb.ops.namespace(y_true, y_pred)
        ...         return xp.mean((y_true - y_pred) ** 2, axis=-1)
        >>> MyMSE()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).dtype  # float64 kept
        dtype('float64')
    """

    def __init__(self, reduction: Any = "auto", name: str | None = None) -> None:
        self.reduction = validate_reduction(reduction)
        self.name = name  # type: ignore[assignment]  # tf.keras 2 keeps name=None (no auto name)

    @property
    def dtype(self) -> None:  # type: ignore[override]
        """tf.keras 2 losses have no dtype: the inputs keep theirs."""
        return None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        ns, losses, mask = self.losses_and_mask(y_true, y_pred, sample_weight)
        with k.using_flavor("tf_keras"):
            return compute_weighted_loss(ns, losses, sample_weight, mask, self.reduction)

    def losses_and_mask(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Namespace, Any, Any]:
        """``(namespace, per-sample losses, mask or None)`` of a call, before weighting and
        reduction: the input mask (``y_pred._keras_mask``) merged with the loss' own."""
        fn = getattr(self, "fn", None)
        refuse_integer_or_complex(y_pred, bool_computes=getattr(fn, "_lossbridge_float32", False))
        in_mask = getattr(y_pred, "_keras_mask", None)
        ns = k.namespace_of(y_true=y_true, y_pred=y_pred, sample_weight=sample_weight)
        y_true = k.convert_to_tensor(ns, y_true)
        y_pred = k.convert_to_tensor(ns, y_pred)
        with k.using_flavor("tf_keras"):
            losses, out_mask = self._call_with_mask(y_true, y_pred)
        if in_mask is not None and out_mask is not None:
            mask = ns.asarray(in_mask) & out_mask
        else:
            mask = ns.asarray(in_mask) if in_mask is not None else out_mask
        return ns, losses, mask

    __call__ = wrap_raw_errors(__call__, k.RAW_ERROR_FIX, method=True)  # type: ignore[method-assign]

    def get_config(self) -> dict[str, Any]:
        """``{"reduction", "name"}`` plus the subclass' arguments."""
        return {"reduction": self.reduction, "name": self.name}


class LossFunctionWrapper(Loss, k.LossFunctionWrapper):
    """A per-sample function ``fn(y_true, y_pred, **kwargs)`` in the tf.keras 2 pipeline.

    The inputs are rank-aligned with :func:`remove_squeezable_dimensions` first.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.tf_keras.LossFunctionWrapper(lb.tf_keras.mean_squared_error, reduction="none")
        >>> loss(np.array([1.0, 2.0]), np.array([[1.0], [4.0]])).tolist()  # (2, 1) squeezed
        2.0
    """

    def __init__(self, fn: Any, reduction: Any = "auto", name: str | None = None, **kwargs: Any) -> None:
        Loss.__init__(self, reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _call_with_mask(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        ns = k.namespace_of(y_true=y_true, y_pred=y_pred)
        y_true, y_pred = remove_squeezable_dimensions(ns, y_true, y_pred)
        masked = getattr(self.fn, "_lossbridge_with_mask", None)
        if masked is not None:
            return masked(y_true, y_pred, **self._fn_kwargs)
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        return values, getattr(values, "_keras_mask", None)

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(self._fn_kwargs)
        config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        config = dict(config)
        fn = config.pop("fn", None)
        if cls is LossFunctionWrapper:
            from ._registry import get

            config["fn"] = get(fn) if isinstance(fn, str) else fn
        return cls(**config)
