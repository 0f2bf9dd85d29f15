"""torch's margin and embedding losses.

``soft_margin_loss``, ``multilabel_soft_margin_loss``, ``multi_margin_loss``,
``multilabel_margin_loss``, ``margin_ranking_loss``, ``hinge_embedding_loss`` and
``cosine_embedding_loss``.  Re-exported by :mod:`lossbridge.torch.functional`.

torch computes the hinge parts of its composite losses with ``clamp_min(u, 0)``,
whose gradient passes at ``u == 0``; its C++ kernels (``multi_margin_loss``,
``multilabel_margin_loss``) count a term only where ``z > 0``.  Both are
reproduced, so gradients at ties match torch's.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .. import _deferred, ops
from .._backend import Namespace, describe, quiet, torch_namespace
from .._checks import (
    checked_labels,
    deferred_label_error,
    device_label_pass,
    first_out_of_range,
    is_floating,
    is_integral,
    label_range_message,
)
from .._config import check_level
from .._deferred import on_accelerator
from .._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
)
from ._common import (
    accelerator_tensors,
    broadcast_shape,
    check_floating_input,
    clamp_min0,
    convert,
    native,
    native_failed,
    plain_cpu_tensors,
    same_shape_fast,
    torch_dtype_name,
)
from ._reduction import KERNEL_REDUCTION, legacy_get_string, resolve_reduction, torch_size
from ._reduction import reduce as _reduce

__all__ = [
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
]


# ----------------------------------------------------------- soft margins


def soft_margin_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``soft_margin_loss``: two-class logistic loss with labels ``y`` in {1, -1}.

    Element-wise (``target`` broadcast to ``input``'s shape, which the result keeps)::

        l = log(1 + exp(-y * x))      computed as log1p(exp(-x * y))

    Not overflow-safe, as in torch: ``-x * y`` above about 88 (float32) or 709
    (float64) gives ``inf`` and a NaN gradient.  ``y`` is not checked to be +-1
    (any real value is used as is).  ``"mean"`` (default) divides by the number
    of elements.  torch's kernel has no gradient with respect to ``target``
    (an error when it requires one); lossbridge's generic code differentiates it.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x, y = np.array([2.0, -1.0, 0.0]), np.array([1.0, 1.0, -1.0])
        >>> lb.torch.functional.soft_margin_loss(x, y, reduction="none").round(6).tolist()
        [0.126928, 1.313262, 0.693147]

    See also: :class:`lossbridge.torch.SoftMarginLoss`,
    :func:`binary_cross_entropy_with_logits` (the same loss with 0/1 labels,
    stable), ``lossbridge.optax.hinge_loss`` (its non-smooth version).
    """
    if size_average is None and reduce is None and same_shape_fast(input, target):
        # torch's kernel decides the dtypes it takes (it computes on complex input)
        torch = sys.modules["torch"]
        try:  # torch.nn.functional's own kernel call, without its Python layer
            enum = KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch._C._nn.soft_margin_loss(input, target, enum)
            return torch.nn.functional.soft_margin_loss(input, target, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _soft_margin_checked(input, target, None, None, reduction))
    return _soft_margin_checked(input, target, size_average, reduce, reduction)


def _soft_margin_checked(input: Any, target: Any, size_average: bool | None, reduce: bool | None,
                         reduction: str) -> Any:
    """:func:`soft_margin_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    if not is_floating(ns, input):
        raise LossBridgeRuntimeError(
            f"result type {torch_dtype_name(target) if is_floating(ns, target) else 'Float'} can't "
            f"be cast to the desired output type {torch_dtype_name(input)}. `input` is a "
            f"{describe(input)}: scores must be floating, "
            "convert them with .float()."
        )
    shape = broadcast_shape("soft_margin_loss", [("input", input), ("target", target)])
    if shape != tuple(input.shape):
        raise LossBridgeRuntimeError(
            f"output with shape {list(input.shape)} doesn't match the broadcast shape "
            f"{list(shape)}. soft_margin_loss keeps input's shape: `target` of shape "
            f"{tuple(target.shape)} must broadcast to `input`'s {tuple(input.shape)}."
        )
    if native(ns):
        import torch

        return torch.nn.functional.soft_margin_loss(input, target, reduction=reduction)
    with quiet(ns):  # overflow to inf, as torch
        loss = xp.log1p(xp.exp(-input * target))
    return _reduce(ns, loss, reduction)


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``multilabel_soft_margin_loss``: one binary logistic loss per class, averaged.

    For ``input`` of shape ``(N, C)`` (or ``(C,)``, or more dimensions: the
    class dimension is always the last one of ``input``) and 0/1 ``target``::

        l_n = -(1/C) * sum_c w_c * (y_nc * log_sigmoid(x_nc) + (1 - y_nc) * log_sigmoid(-x_nc))

    ``'none'`` returns one value per sample, ``(N,)``; ``"mean"`` (default) is the
    mean over samples; ``weight`` (any shape that broadcasts, usually ``(C,)``)
    multiplies each term.  Stable for large logits.  ``target`` broadcasts
    silently; ``"elementwise_mean"`` is rejected.  Without weight its mean equals
    :func:`binary_cross_entropy_with_logits`'s mean.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x, y = np.array([[2.0, -1.0, 0.0]]), np.array([[1.0, 0.0, 1.0]])
        >>> round(float(lb.torch.functional.multilabel_soft_margin_loss(x, y)), 6)
        0.377779

    See also: :class:`lossbridge.torch.MultiLabelSoftMarginLoss`,
    :func:`binary_cross_entropy_with_logits`.
    """
    if (size_average is None and reduce is None and weight is None
            and same_shape_fast(input, target)):
        try:
            return sys.modules["torch"].nn.functional.multilabel_soft_margin_loss(
                input, target, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _multilabel_soft_margin_loss_checked(
                input, target, weight, size_average, reduce, reduction))
    return _multilabel_soft_margin_loss_checked(
        input, target, weight, size_average, reduce, reduction)


def _multilabel_soft_margin_loss_checked(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`multilabel_soft_margin_loss` through lossbridge's checks (every array kind)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    weight = convert(ns, weight, like=input)
    check_floating_input(ns, input, "log_sigmoid_cpu")
    arrays = [("input", input), ("target", target)]
    shape = broadcast_shape("multilabel_soft_margin_loss", arrays)
    if weight is not None:
        broadcast_shape("multilabel_soft_margin_loss", [("loss", shape), ("weight", weight)])
    if input.ndim == 0:
        raise LossBridgeIndexError(
            "Dimension specified as -1 but tensor has no dimensions. `input` is a 0-d "
            f"{describe(input)}: multilabel_soft_margin_loss needs a class dimension, shape (C,) "
            "or (N, C)."
        )
    if reduction not in ("none", "mean", "sum"):
        raise LossBridgeError(f"{reduction} is not valid. Use reduction='none', 'mean' or 'sum'.")
    if native(ns):
        import torch

        return torch.nn.functional.multilabel_soft_margin_loss(
            input, target, weight=weight, reduction=reduction
        )
    target = _float_like(ns, target, input)
    loss = -(target * ops.log_sigmoid(input) + (1 - target) * ops.log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    with quiet(ns):  # C = 0 gives 0 / 0, as torch
        per_sample = xp.sum(loss, axis=input.ndim - 1) / input.shape[-1]
    return _reduce(ns, per_sample, reduction)


def _float_like(ns: Namespace, target: Any, input: Any) -> Any:
    """An integer or boolean ``target`` in ``input``'s floating dtype: torch promotes a float32
    tensor with an int64 one to float32, NumPy to float64 (found by torch's module_db samples,
    tests/upstream)."""
    return target if is_floating(ns, target) else ns.xp.astype(target, input.dtype)


# ---------------------------------------------------------- multi-class hinge


def _check_2d_input(input: Any) -> tuple[int, int]:
    """torch's shape rule of its multi-margin kernels: ``(C,)``, ``(N, C)`` or 0-d."""
    nd = input.ndim
    valid = (nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0
    if not valid:
        raise LossBridgeRuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}. `input` must hold scores of shape (C,) or (N, C) with C > 0."
        )
    if nd <= 1:
        return 1, 1 if nd == 0 else input.shape[0]
    return input.shape[0], input.shape[1]


class _ComplexTargetError(LossBridgeRuntimeError, LossBridgeNotImplementedError):
    """A complex target of class indices: torch's kernels fail on it before their dtype check
    (``"min_all" not implemented for 'ComplexFloat'``, NotImplementedError) or at it
    (RuntimeError), loss by loss; this error is both."""


def _check_long_target(ns: Namespace, target: Any, who: str) -> None:
    """Class indices as torch's kernels take them: int64 on torch tensors; any signed integer
    dtype on NumPy and JAX arrays (unsigned ones, such as uint8, torch refuses: "expected
    scalar type Long but found Byte")."""
    if ns.xp.isdtype(target.dtype, "complex floating"):
        raise _ComplexTargetError(
            f"\"min_all\" not implemented for '{torch_dtype_name(target)}'. {who}: `target` is a "
            f"{describe(target)}; class indices must be int64: convert with .long()."
        )
    ok = (
        str(target.dtype) == "torch.int64" if ns.kind == "torch"
        else is_integral(ns, target) and not ns.xp.isdtype(target.dtype, "unsigned integer")
    )
    if not ok:
        raise LossBridgeRuntimeError(
            f"expected scalar type Long but found {torch_dtype_name(target)}. {who}: `target` is "
            f"a {describe(target)}; class indices must be int64: convert with .long()."
        )


def _range_error(ns: Namespace, target: Any, low: int, high: int, message: str, who: str,
                 kernel_checks: bool = False) -> Any:
    """Raise torch's RuntimeError for a target outside ``[low, high)`` (concrete targets only);
    return the target to compute with.

    Skipped where torch's own kernel checks the range (``kernel_checks``: CPU tensors with
    native kernels; the kernel's error is reworded by :func:`_native_range`) and at level
    "off" on torch tensors.  On accelerator tensors below level "full" nothing is read: the
    labels out of range are replaced on the device (by ``low``: class 0, or -1, the end of the
    sample's list), so the kernel never reaches torch's device-side assert (which ends the
    process's CUDA context), and the same error is raised at a later call
    (:func:`lossbridge._checks.checked_labels`)."""
    if ns.kind == "torch":
        level = check_level()
        if level == "off":
            return target
        if on_accelerator(ns, target) and level != "full":
            return checked_labels(ns, target, high, arg="target", low=low,
                                  error=LossBridgeRuntimeError,
                                  framework_message=f"{message}. {who}:")
        if kernel_checks:
            return target
    found = first_out_of_range(ns, target - low, high - low)
    if found is not None:
        value, position, count = found
        found = (value + low, position, count)
        raise LossBridgeRuntimeError(
            f"{message}. {who}: "
            + label_range_message("target", target, high, found)
            + (" (-1 ends a sample's list of labels.)" if low == -1 else "")
        )
    return target


def _kernel_checks(ns: Namespace, nframe: int) -> bool:
    # torch's CPU kernels check the target range (a RuntimeError); empty inputs go generic
    return native(ns) and nframe > 0 and ns.device is not None and ns.device.type == "cpu"


def _native_range(kernel: Any, ns: Namespace, target: Any, low: int, high: int, message: str,
                  who: str) -> Any:
    """``kernel()``, with its range error worded by :func:`_range_error`."""
    try:
        return kernel()
    except RuntimeError:
        _range_error(ns, target, low, high, message, who)
        raise


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``multi_margin_loss``: the multi-class hinge loss (Weston-Watkins).

    For scores ``x`` of shape ``(N, C)`` (or ``(C,)``) and class indices
    ``y`` of shape ``(N,)`` (or ``()``), with ``z_k = margin - x[y] + x[k]``::

        l_n = (1/C) * sum_{k != y_n} w[y_n] * max(0, z_k)**p        p in {1, 2}

    The sum runs over every other class (not the max, as Crammer-Singer's
    ``optax.multiclass_hinge_loss``); ``weight`` (1-D, one per class) scales the
    whole sample by its target class's weight, and ``"mean"`` (default) is the
    plain mean over samples (**not** divided by the sum of weights, unlike
    :func:`cross_entropy`).  A term counts only where ``z > 0`` (no gradient at
    ``z == 0``).  Defaults ``p=1``, ``margin=1.0``.  A target outside ``[0, C)``
    raises ``RuntimeError: target out of range`` (checked on concrete arrays;
    under ``jax.jit`` that sample's loss is NaN).  For an empty batch torch
    returns uninitialised memory as the ``"mean"`` and the ``"sum"``;
    lossbridge returns NaN and 0 (on torch tensors too).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
        >>> round(float(lb.torch.functional.multi_margin_loss(x, np.array([3]))), 6)
        0.325

    See also: :class:`lossbridge.torch.MultiMarginLoss`,
    :func:`multilabel_margin_loss`, ``lossbridge.optax.multiclass_hinge_loss``.
    """
    if (size_average is None and reduce is None and weight is None
            and plain_cpu_tensors(input, target) and check_level() != "full"
            and input.ndim == 2 and target.ndim == 1 and input.shape[0] > 0):
        try:
            return sys.modules["torch"].nn.functional.multi_margin_loss(
                input, target, p=p, margin=margin, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _multi_margin_loss_checked(
                input, target, p, margin, weight, size_average, reduce, reduction))
    if (size_average is None and reduce is None and accelerator_tensors(input, target, weight)
            and input.ndim == 2 and target.ndim == 1 and input.shape[0] > 0
            and target.dtype is sys.modules["torch"].int64):
        # on an accelerator: the labels out of range are read as class 0 (no device-side
        # assert) and torch's error follows at a later call
        safe, bad = device_label_pass(target, 0, input.shape[1])
        try:
            out = sys.modules["torch"].nn.functional.multi_margin_loss(
                input, safe, p=p, margin=margin, weight=weight, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _multi_margin_loss_checked(
                input, target, p, margin, weight, size_average, reduce, reduction))
        _deferred.raise_later(bad, target, deferred_label_error(
            target, input.shape[1], arg="target", error=LossBridgeRuntimeError,
            framework_message="target out of range. multi_margin_loss:"))
        return out
    return _multi_margin_loss_checked(
        input, target, p, margin, weight, size_average, reduce, reduction)


def _multi_margin_loss_checked(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`multi_margin_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise LossBridgeError(f"only p == 1 and p == 2 supported. Got p={p!r}.")
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target)
    weight = convert(ns, weight, like=input)
    if weight is not None and weight.ndim != 1:
        raise LossBridgeError(
            f"weight must be one-dimensional. `weight` has shape {tuple(weight.shape)}: give one "
            "weight per class, shape (C,)."
        )
    nframe, dim = _check_2d_input(input)
    if not (target.ndim <= 1 and math.prod(target.shape) == nframe):
        raise LossBridgeRuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{nframe}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}. Give one class index "
            "per sample (not one-hot)."
        )
    _check_long_target(ns, target, "multi_margin_loss")
    if weight is not None:
        if weight.shape[0] != dim:
            raise LossBridgeRuntimeError(
                f"inconsistent weight size, expected {dim} but got {list(weight.shape)}. Give "
                f"one weight per class ({dim})."
            )
        if weight.dtype != input.dtype:
            if ns.kind == "torch":
                raise LossBridgeRuntimeError(
                    f"expected scalar type {torch_dtype_name(input)} but found "
                    f"{torch_dtype_name(weight)}. Convert the weight with weight.to(input.dtype)."
                )
            weight = xp.astype(weight, input.dtype)
    check_floating_input(ns, input, "multi_margin_loss_cpu_kernel")
    kernel_checks = _kernel_checks(ns, nframe)
    target = _range_error(ns, target, 0, dim, "target out of range", "multi_margin_loss",
                          kernel_checks)
    if native(ns) and nframe > 0:  # torch's kernel returns uninitialised memory when empty
        import torch

        return _native_range(
            lambda: torch.nn.functional.multi_margin_loss(
                input, target, p=p, margin=margin, weight=weight, reduction=reduction),
            ns, target, 0, dim, "target out of range", "multi_margin_loss",
        )
    x = xp.reshape(input, (nframe, dim))
    t = xp.reshape(target, (nframe,))
    in_range = (t >= 0) & (t < dim)
    safe_t = xp.where(in_range, t, xp.zeros_like(t))
    x_y = ops.take_along_axis(x, xp.expand_dims(safe_t, axis=1), axis=1)
    z = margin - x_y + x
    counted = (z > 0) & ~ops.one_hot(safe_t, dim, dtype=xp.bool)
    h = z if p == 1 else z * z
    h = xp.where(counted, h, xp.zeros_like(h))
    if weight is not None:
        h = h * xp.expand_dims(xp.take(weight, safe_t, axis=0), axis=1)
    per_sample = xp.sum(h, axis=1) / dim
    # A label out of range can only arrive here traced (JAX under jit): NaN, not a number.
    per_sample = xp.where(in_range, per_sample, xp.full_like(per_sample, math.nan))
    if reduction == "none":
        return per_sample if target.ndim > 0 else xp.reshape(per_sample, ())
    return _reduce(ns, per_sample, reduction)


def multilabel_margin_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``multilabel_margin_loss``: hinge between every target and every non-target class.

    ``target`` has ``input``'s shape ``(N, C)`` (or ``(C,)``) and lists each
    sample's classes, **ending at the first -1** (later entries are ignored but
    must still lie in ``[-1, C)``).  With ``T`` the set of listed classes (a
    class listed twice counts twice)::

        l_n = (1/C) * sum_{j listed} sum_{k not in T} max(0, 1 - (x[y_j] - x[k]))

    A term counts only where it is positive.  ``'none'`` gives ``(N,)`` (a 0-d
    value for a 1-D input); ``"mean"`` (default) is the mean over samples.  A
    label outside ``[-1, C)`` raises ``RuntimeError: argument #2 'target' is out
    of range`` (concrete arrays; NaN under ``jax.jit``).  For an empty batch
    torch returns uninitialised memory as the ``"mean"`` and the ``"sum"``;
    lossbridge returns NaN and 0 (on torch tensors too).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
        >>> round(float(lb.torch.functional.multilabel_margin_loss(x, np.array([[3, 0, -1, 1]]))), 6)
        0.85

    See also: :class:`lossbridge.torch.MultiLabelMarginLoss`,
    :func:`multilabel_soft_margin_loss`, :func:`multi_margin_loss`.
    """
    if (size_average is None and reduce is None and same_shape_fast(input, target)
            and plain_cpu_tensors(input) and 0 < input.ndim <= 2 and input.numel() > 0):
        try:
            return sys.modules["torch"].nn.functional.multilabel_margin_loss(
                input, target, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _multilabel_margin_loss_checked(
                input, target, size_average, reduce, reduction))
    if (size_average is None and reduce is None and accelerator_tensors(input, target)
            and input.shape == target.shape and 0 < input.ndim <= 2 and input.numel() > 0
            and target.dtype is sys.modules["torch"].int64):
        # on an accelerator: the labels out of range are read as -1, the end of the sample's
        # list (no device-side assert), and torch's error follows at a later call
        classes = input.shape[-1]
        safe, bad = device_label_pass(target, -1, classes)
        try:
            out = sys.modules["torch"].nn.functional.multilabel_margin_loss(
                input, safe, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _multilabel_margin_loss_checked(
                input, target, size_average, reduce, reduction))
        _deferred.raise_later(bad, target, deferred_label_error(
            target, classes, arg="target", low=-1, error=LossBridgeRuntimeError,
            framework_message="argument #2 'target' is out of range. multilabel_margin_loss:"))
        return out
    return _multilabel_margin_loss_checked(input, target, size_average, reduce, reduction)


def _multilabel_margin_loss_checked(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`multilabel_margin_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target)
    nframe, dim = _check_2d_input(input)
    if input.ndim <= 1:
        ok = target.ndim <= 1 and math.prod(target.shape) == dim
    else:
        ok = tuple(target.shape) == (nframe, dim)
    if not ok:
        raise LossBridgeRuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: "
            f"{list(input.shape)}. The target lists class indices padded with -1 and has "
            "input's shape."
        )
    _check_long_target(ns, target, "multilabel_margin_loss")
    check_floating_input(ns, input, "multilabel_margin_loss_forward_out_frame")
    message = "argument #2 'target' is out of range"
    kernel_checks = _kernel_checks(ns, nframe)
    target = _range_error(ns, target, -1, dim, message, "multilabel_margin_loss", kernel_checks)
    if native(ns) and nframe > 0:  # torch's kernel returns uninitialised memory when empty
        import torch

        return _native_range(
            lambda: torch.nn.functional.multilabel_margin_loss(input, target, reduction=reduction),
            ns, target, -1, dim, message, "multilabel_margin_loss",
        )
    x = xp.reshape(input, (nframe, dim))
    y = xp.reshape(target, (nframe, dim))
    # position j is listed while no negative label came at or before it
    listed = xp.cumulative_sum(xp.astype(y < 0, xp.int32), axis=1) == 0
    safe_y = xp.where(listed, y, xp.zeros_like(y))
    safe_y = xp.where(safe_y < dim, safe_y, xp.zeros_like(safe_y))
    hot = ops.one_hot(safe_y, dim, dtype=xp.bool) & xp.expand_dims(listed, axis=2)  # (N, j, k)
    is_target = xp.any(hot, axis=1)  # (N, k)
    x_y = ops.take_along_axis(x, safe_y, axis=1)  # (N, j)
    z = 1 - xp.expand_dims(x_y, axis=2) + xp.expand_dims(x, axis=1)  # (N, j, k)
    counted = xp.expand_dims(listed, axis=2) & ~xp.expand_dims(is_target, axis=1) & (z > 0)
    per_sample = xp.sum(xp.where(counted, z, xp.zeros_like(z)), axis=(1, 2)) / dim
    bad = xp.any((y < -1) | (y >= dim), axis=1)  # only traced (JAX under jit): NaN
    per_sample = xp.where(bad, xp.full_like(per_sample, math.nan), per_sample)
    if reduction == "none":
        return per_sample if input.ndim == 2 else xp.reshape(per_sample, ())
    return _reduce(ns, per_sample, reduction)


# ------------------------------------------------------------ pairs and labels


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``margin_ranking_loss``: ``x1`` should rank above ``x2`` where ``y = 1``.

    Element-wise on the broadcast arrays (which must have the same number of
    dimensions)::

        l = max(0, -y * (x1 - x2) + margin)

    ``y`` is not checked to be +-1.  The gradient passes at ``l == 0`` (torch's
    ``clamp_min``).  Defaults ``margin=0``, ``reduction="mean"`` (over elements).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x1, x2, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.5]), np.array([1.0, 1.0, -1.0])
        >>> lb.torch.functional.margin_ranking_loss(x1, x2, y, margin=0.1, reduction="none").round(6).tolist()
        [1.1, 0.0, 0.0]

    See also: :class:`lossbridge.torch.MarginRankingLoss`,
    :func:`hinge_embedding_loss`.
    """
    if size_average is None and reduce is None and same_shape_fast(input1, input2, target):
        torch = sys.modules["torch"]
        try:  # torch.nn.functional's own kernel call, without its Python layer (same shapes)
            enum = KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(
                    input1, input2, target):
                return torch.margin_ranking_loss(input1, input2, target, margin, enum)
            return torch.nn.functional.margin_ranking_loss(
                input1, input2, target, margin=margin, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _margin_ranking_checked(
                input1, input2, target, margin, None, None, reduction))
    return _margin_ranking_checked(input1, input2, target, margin, size_average, reduce, reduction)


def _margin_ranking_checked(input1: Any, input2: Any, target: Any, margin: float,
                            size_average: bool | None, reduce: bool | None, reduction: str) -> Any:
    """:func:`margin_ranking_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input1": input1, "input2": input2, "target": target})
    input1 = convert(ns, input1)
    input2 = convert(ns, input2, like=input1)
    target = convert(ns, target, like=input1)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise LossBridgeRuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {torch_size(input1)}, input2: {torch_size(input2)}, target: "
            f"{torch_size(target)} . Give the three arrays one shape, e.g. (N,)."
        )
    broadcast_shape(
        "margin_ranking_loss", [("input1", input1), ("input2", input2), ("target", target)]
    )
    if native(ns):
        import torch

        return torch.nn.functional.margin_ranking_loss(
            input1, input2, target, margin=margin, reduction=reduction
        )
    target = _float_like(ns, target, input1)
    loss = clamp_min0(ns, -target * (input1 - input2) + margin)
    return _reduce(ns, loss, reduction)


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``hinge_embedding_loss``: distances ``x`` small for ``y = 1``, above ``margin`` for ``y = -1``.

    Element-wise on the broadcast arrays::

        l = [y != 1] * max(0, margin - x) + [y != -1] * x

    so ``y = 1`` gives ``x``, ``y = -1`` gives ``max(0, margin - x)``, and **any
    other label gives both terms** (``y = 0``, ``x = 0.7``: 1.0).  The gradient
    passes at ``margin - x == 0``.  Defaults ``margin=1.0``, ``reduction="mean"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x, y = np.array([0.7, 0.7, 0.7]), np.array([1.0, -1.0, 0.0])
        >>> lb.torch.functional.hinge_embedding_loss(x, y, reduction="none").round(6).tolist()
        [0.7, 0.3, 1.0]

    See also: :class:`lossbridge.torch.HingeEmbeddingLoss`,
    :func:`cosine_embedding_loss`, :func:`margin_ranking_loss`.
    """
    if size_average is None and reduce is None and same_shape_fast(input, target):
        try:
            return sys.modules["torch"].nn.functional.hinge_embedding_loss(
                input, target, margin=margin, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _hinge_embedding_loss_checked(
                input, target, margin, size_average, reduce, reduction))
    return _hinge_embedding_loss_checked(input, target, margin, size_average, reduce, reduction)


def _hinge_embedding_loss_checked(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`hinge_embedding_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    broadcast_shape("hinge_embedding_loss", [("target", target), ("input", input)])  # torch's order
    if reduction == "mean" and not (is_floating(ns, input) or xp.isdtype(input.dtype, "complex floating")):
        raise LossBridgeRuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {torch_dtype_name(input)}. `input` is a {describe(input)}: "
            "pass float scores (input.float())."
        )
    if native(ns):
        import torch

        return torch.nn.functional.hinge_embedding_loss(
            input, target, margin=margin, reduction=reduction
        )
    zeros = xp.zeros_like(input)
    margin_part = xp.where(target != 1, clamp_min0(ns, margin - input), zeros)
    self_part = xp.where(target != -1, input, zeros)
    return _reduce(ns, margin_part + self_part, reduction)


# torch's EPSILON of cosine_embedding_loss is the C++ float 1e-12: 9.99999996e-13 as a double.
_COSINE_EPS = 9.999999960041972e-13


def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``cosine_embedding_loss``: cosine similarity pulled up (``y = 1``) or below ``margin`` (``y = -1``).

    ``input1``, ``input2`` of shape ``(N, D)`` with ``target`` ``(N,)``, or
    ``(D,)`` with a 0-d target.  Per sample::

        cos = sum(x1 * x2) / sqrt((sum(x1**2) + 1e-12) * (sum(x2**2) + 1e-12))
        l   = 1 - cos                if y == 1
              max(0, cos - margin)   if y == -1
              0                      for any other label

    (The 1e-12 is a C++ float: 9.99999996e-13.)  It keeps a zero vector finite (``cos = 0``),
    but its gradient is then huge (about 1/1e-6).  Defaults ``margin=0``,
    ``reduction="mean"`` (over samples).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x1 = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> x2 = np.array([[1.0, 1.0], [-1.0, 2.0]])
        >>> lb.torch.functional.cosine_embedding_loss(x1, x2, np.array([1.0, -1.0]), margin=0.1, reduction="none").round(6).tolist()
        [0.292893, 0.216228]

    See also: :class:`lossbridge.torch.CosineEmbeddingLoss`,
    ``lossbridge.optax.cosine_distance``, ``lossbridge.keras.CosineSimilarity``.
    """
    if (size_average is None and reduce is None and same_shape_fast(input1, input2)
            and plain_cpu_tensors(target)):
        try:
            return sys.modules["torch"].nn.functional.cosine_embedding_loss(
                input1, input2, target, margin=margin, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _cosine_embedding_loss_checked(
                input1, input2, target, margin, None, None, reduction))
    return _cosine_embedding_loss_checked(
        input1, input2, target, margin, size_average, reduce, reduction)


def _cosine_embedding_loss_checked(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`cosine_embedding_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input1": input1, "input2": input2, "target": target})
    xp = ns.xp
    input1 = convert(ns, input1)
    input2 = convert(ns, input2, like=input1)
    target = convert(ns, target, like=input1)
    tdim = target.ndim
    if tdim > 1:
        raise LossBridgeRuntimeError(
            "0D or 1D target tensor expected, multi-target not supported. `target` has shape "
            f"{tuple(target.shape)}: give one +-1 label per pair, shape (N,)."
        )
    want = 2 if tdim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise LossBridgeRuntimeError(
            f"{tdim}D target tensor expects {want}D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}. Pairs of embeddings are (N, D) with "
            "a target of shape (N,), or (D,) with a 0-d target."
        )
    shape = broadcast_shape("cosine_embedding_loss", [("input1", input1), ("input2", input2)])
    broadcast_shape(
        "cosine_embedding_loss", [("target", target), ("cos", shape[:tdim])]
    )
    if native(ns):
        import torch

        return torch.nn.functional.cosine_embedding_loss(
            input1, input2, target, margin=margin, reduction=reduction
        )
    axis = tdim
    prod_sum = xp.sum(input1 * input2, axis=axis)
    mag1 = xp.sum(input1 * input1, axis=axis) + _COSINE_EPS
    mag2 = xp.sum(input2 * input2, axis=axis) + _COSINE_EPS
    cos = prod_sum / xp.sqrt(mag1 * mag2)
    zeros = xp.zeros_like(cos)
    pos = xp.where(target == 1, 1 - cos, zeros)
    neg = xp.where(target == -1, clamp_min0(ns, cos - margin), zeros)
    return _reduce(ns, pos + neg, reduction)

