"""``torch.nn.functional`` losses with torch 2.13's exact semantics, on any array.

Call order is torch's: ``(input, target, ...)``, prediction first.  On torch
tensors each function validates its inputs (lossbridge errors that are also
torch's built-in types, with the shapes and the fix) and then calls torch's own
kernel, whose semantics are identical by definition; on NumPy and JAX arrays the
same semantics are computed by lossbridge's generic Array API code.  The test
suite proves the two paths equal, values and gradients.

The families live in private modules (``_regression``, ``_probabilistic``,
``_margin``, ``_distance``, ``_ctc``, ``_linear``); this module is the one public
namespace, with torch's names.

Intentional differences on non-torch arrays: index targets may have any integer
dtype (torch's CPU kernels want int64; JAX without x64 has only int32), and a
class ``weight`` of another float dtype is cast to the input's dtype.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import numpy as np

from .. import _deferred, _diagnostics, ops
from .._backend import Namespace, array_kind, describe, quiet, torch_namespace
from .._backend import is_concrete as _backend_is_concrete
from .._checks import (
    check_label_range,
    checked_labels,
    deferred_label_error,
    device_label_pass,
    is_concrete,
    is_floating,
    is_integral,
)
from .._config import check_level
from .._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
)
from .._grad import custom_gradient
from .._validate import reword_raw_error as _reword_raw_error
from ._common import accelerator_index_call as _accelerator_index_call
from ._common import accelerator_tensors as _accelerator_tensors
from ._common import broadcast_shape, size_warning
from ._common import broadcast_weight as _broadcast_weight
from ._common import check_floating_input as _check_floating_input
from ._common import convert as _convert
from ._common import native as _native
from ._common import native_failed as _native_failed
from ._common import plain_cpu_tensors as _plain_cpu_tensors
from ._common import readable_now as _readable_now
from ._common import same_shape_fast as _fast
from ._common import shape_hint as _shape_hint
from ._common import torch_dtype_name as _torch_dtype_name
from ._common import torch_size_warning_silenced as _torch_size_warning_silenced
from ._ctc import ctc_loss
from ._distance import pairwise_distance, triplet_margin_loss, triplet_margin_with_distance_loss
from ._linear import linear_cross_entropy
from ._margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
)
from ._probabilistic import gaussian_nll_loss, kl_div, poisson_nll_loss
from ._reduction import KERNEL_REDUCTION as _KERNEL_REDUCTION
from ._reduction import reduce as _reduce
from ._reduction import resolve_reduction, safe_mean_divide, torch_size
from ._regression import huber_loss, smooth_l1_loss

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


# --------------------------------------------------------------- cross entropy


def _class_dim(input: Any) -> int:
    return 0 if input.ndim == 1 else 1


def _check_index_target(ns: Namespace, input: Any, target: Any, who: str) -> None:
    """torch's checks of an index target, in torch's order: for unbatched input the dtype,
    then the shape; for batched input the shape (batch, spatial dims), then the dtype."""
    if input.ndim == 1:
        _check_index_dtype(ns, input, target, who)
        if target.ndim == 1 and target.shape[0] != 1:
            raise LossBridgeError(
                "For 1D input, 1D target must have size 1, but got target size: "
                f"{target.shape[0]}. An input of shape {tuple(input.shape)} is one sample of "
                f"{input.shape[0]} classes; for a batch pass input of shape (N, C)."
            )
        if target.ndim > 1:
            raise LossBridgeRuntimeError(
                "0D or 1D target tensor expected, multi-target not supported. "
                f"{who}: target is a {describe(target)} for an unbatched input of shape "
                f"{tuple(input.shape)}."
            )
        return
    target_batch = target.shape[0] if target.ndim else 0  # torch reads a 0-d target as 0
    if target_batch != input.shape[0]:
        raise LossBridgeError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target_batch}). {who}: input is a {describe(input)}, target a "
            f"{describe(target)}."
        )
    if input.ndim == 2:
        if target.ndim != 1:
            one_hot = tuple(target.shape) == tuple(input.shape)
            hint = (
                " The target looks one-hot: pass class indices (target.argmax(dim=1)), or a "
                "float target of input's shape for class probabilities."
                if one_hot or (target.ndim == 2 and target.shape[-1] == input.shape[1])
                else (
                    " The target has a trailing size-1 dimension: squeeze it with "
                    "target.squeeze(1)."
                    if target.ndim == 2 and target.shape[-1] == 1
                    else ""
                )
            )
            raise LossBridgeRuntimeError(
                "0D or 1D target tensor expected, multi-target not supported. "
                f"{who}: input is a {describe(input)}, target a {describe(target)}.{hint}"
            )
        _check_index_dtype(ns, input, target, who)
        return
    expected = (input.shape[0], *input.shape[2:])
    if tuple(target.shape) != tuple(expected):
        raise LossBridgeRuntimeError(
            f"Expected target size {list(expected)}, got {list(target.shape)}. {who}: for an "
            f"input of shape (N, C, d1, ...) = {tuple(input.shape)} the class dimension is 1 "
            "and the target holds one class index per (N, d1, ...) position; if your classes "
            "are on the last axis, move them with input.movedim(-1, 1)."
        )
    _check_index_dtype(ns, input, target, who)


def _check_index_dtype(ns: Namespace, input: Any, target: Any, who: str) -> None:
    torch_ok = ns.kind == "torch" and str(target.dtype) in ("torch.int64", "torch.uint8")
    if not (torch_ok or (ns.kind != "torch" and is_integral(ns, target))):
        is_float = is_floating(ns, target)
        fix = (
            " A float target must have input's shape to be read as class probabilities; for "
            "class indices convert it with .long()."
            if is_float
            else " Convert the target with .long()."
        )
        raise LossBridgeRuntimeError(
            f"expected target dtype to be Long or Byte, but got {_torch_dtype_name(target)}. "
            f"{who}: `target` is a {describe(target)} and `input` a {describe(input)}.{fix}"
        )


def _check_weight(
    ns: Namespace, weight: Any, input: Any, num_classes: int, prefix: str = ""
) -> Any:
    if weight is None:
        return None
    if weight.ndim != 1 or weight.shape[0] != num_classes:
        raise LossBridgeRuntimeError(
            f"{prefix}weight tensor should be defined either for all {num_classes} classes or no "
            f"classes but got weight tensor of shape: {list(weight.shape)}. Pass one weight "
            f"per class, a 1-D array of length {num_classes}."
        )
    if weight.dtype != input.dtype:
        if ns.kind == "torch":
            raise LossBridgeRuntimeError(
                f"expected scalar type {_torch_dtype_name(input)} but found "
                f"{_torch_dtype_name(weight)}. `weight` is a {describe(weight)} and `input` a "
                f"{describe(input)}: convert the weight with weight.to(input.dtype)."
            )
        weight = ns.xp.astype(weight, input.dtype)
    return weight


def _check_range(ns: Namespace, target: Any, num_classes: int, ignore_index: int) -> Any:
    """The label-range check of torch's kernels (IndexError on CPU, a device-side assert on
    CUDA), made before the kernel: returns ``target``, or on accelerator tensors a copy whose
    out-of-range labels are ``ignore_index`` (the error follows at a later call: see
    :mod:`lossbridge._deferred`)."""
    if ns.kind == "torch" and check_level() == "off":
        return target
    return checked_labels(
        ns, target, num_classes, arg="target", ignore=ignore_index,
        framework_message="Target {value} is out of bounds.",
    )


def _native_with_index_check(
    ns: Namespace, fn: Any, target: Any, num_classes: int, ignore: int, *args: Any,
    **kwargs: Any,
) -> Any:
    """torch's kernel ``fn(*args, **kwargs)`` on CPU tensors, whose own range check replaces
    lossbridge's pass over the labels: its IndexError becomes lossbridge's (same type, with
    the label, its position, the valid range and the fix)."""
    try:
        return fn(*args, **kwargs)
    except IndexError as e:
        check_label_range(
            ns, target, num_classes, arg="target", ignore=ignore,
            framework_message="Target {value} is out of bounds.",
        )
        raise LossBridgeIndexError(f"{e} `target` is a {describe(target)}.") from None


def _kernel_checks_range(ns: Namespace, target: Any) -> bool:
    """True when torch's own kernel will raise IndexError for a label out of range (CPU
    tensors, native kernels on, outside traces), so that lossbridge reads no label."""
    return _native(ns) and not _deferred.on_accelerator(ns, target) and is_concrete(target)


def _index_loss_on_device(name: str, input: Any, target: Any, weight: Any, ignore_index: int,
                          reduction: str, kernel: Any, checked: Any) -> Any:
    """cross_entropy / nll_loss on accelerator tensors at the default level
    (:func:`~lossbridge.torch._common.accelerator_index_call`): the label pass
    (:func:`~lossbridge._checks.device_label_pass`: the labels out of range become
    ``ignore_index``), ``kernel(safe_labels)`` (torch's function; an error it raises is worded
    by ``checked()``, the validating path), and the checks, deferred with one asynchronous copy
    of one or two numbers (:func:`lossbridge._deferred.defer`):
    ``probe = [sum(bad), out]`` for ``"mean"``, ``sum(bad)`` otherwise.  At a later call,
    when the copy has completed: a count above 0 raises torch's ``IndexError`` (the label,
    its position, the valid range and the call's file and line; :func:`checked_labels`'
    message), and a NaN mean runs the value detectors (LB016, every target ignored), as
    :func:`lossbridge._diagnostics.check_call` does for the validating path.  The count is
    summed in ``out``'s dtype to share the copy; only its truth is read (a sum of ones never
    rounds to 0), the exact count is recomputed before raising."""
    num_classes = input.shape[1 if input.dim() > 1 else 0]
    safe, bad = device_label_pass(target, 0, num_classes, ignore_index)
    try:
        out = kernel(safe)
    except Exception as e:
        _native_failed(e, checked)
    mean = reduction == "mean"
    count = bad.sum(dtype=out.dtype)
    probe = sys.modules["torch"].stack((count, out.detach())) if mean else count

    def check(copies: dict[str, Any], where: str) -> None:
        host = copies["probe"].numpy()
        found = host[0] if mean else host
        if found:
            _deferred.count_check(bad, target, deferred_label_error(
                target, num_classes, arg="target", ignore=ignore_index,
                framework_message="Target {value} is out of bounds."))(found, where)
        if mean and math.isnan(host[1]):
            _diagnostics.torch_nan_mean_check(
                name, {"input": input, "target": target, "weight": weight},
                {"ignore_index": ignore_index, "reduction": reduction, "weight": weight},
            )(host[1], where)

    _deferred.defer(check, {"probe": probe})
    return out


def _weighted_nll(
    ns: Namespace,
    logp: Any,
    target: Any,
    weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float = 0.0,
) -> Any:
    """torch's NLL over log-probabilities ``logp`` with class-index ``target``.

    element: ``-w[t] * logp[t]`` (0 where ``t == ignore_index``); with label
    smoothing ``eps``: ``(1 - eps) * nll + eps / C * (-sum_c w[c] * logp[c])``.
    ``"mean"`` divides by ``sum(w[t])`` over the non-ignored elements.
    """
    xp = ns.xp
    unbatched = logp.ndim == 1
    if unbatched:
        logp = xp.expand_dims(logp, axis=0)
        target = xp.reshape(target, (1,))
    cdim = 1
    num_classes = logp.shape[cdim]
    valid = target != ignore_index
    in_range = (target >= 0) & (target < num_classes)
    safe_t = xp.where(valid & in_range, target, xp.zeros_like(target))
    picked = xp.squeeze(ops.take_along_axis(logp, xp.expand_dims(safe_t, axis=cdim), axis=cdim), axis=cdim)
    # Labels out of range can only arrive here traced (JAX under jit): give NaN, not a number.
    picked = xp.where(in_range | ~valid, picked, xp.full_like(picked, math.nan))
    if weight is None:
        w_t = xp.astype(valid, logp.dtype)
    else:
        w_t = xp.reshape(xp.take(weight, xp.reshape(safe_t, (-1,)), axis=0), tuple(safe_t.shape))
        w_t = xp.where(valid, w_t, xp.zeros_like(w_t))
    zero = xp.zeros_like(picked)
    nll = xp.where(valid, -w_t * picked, zero)
    if label_smoothing > 0.0:
        if weight is None:
            smooth = -xp.sum(logp, axis=cdim)
        else:
            shape = [1] * logp.ndim
            shape[cdim] = num_classes
            smooth = -xp.sum(logp * xp.reshape(weight, tuple(shape)), axis=cdim)
        smooth = xp.where(valid, smooth, zero)
    if reduction == "none":
        out = nll if label_smoothing <= 0.0 else (
            (1.0 - label_smoothing) * nll + (label_smoothing / num_classes) * smooth
        )
        return out[0] if unbatched else out
    total = xp.sum(nll)
    if label_smoothing > 0.0:
        total = (1.0 - label_smoothing) * total + (label_smoothing / num_classes) * xp.sum(smooth)
    if reduction == "sum":
        return total
    count = xp.sum(xp.astype(valid, xp.int32))
    return safe_mean_divide(ns, total, xp.sum(w_t), count)


def _label_smoothing(label_smoothing: float) -> float:
    if label_smoothing > 1.0:
        raise LossBridgeRuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}. It is the "
            "share of the uniform distribution mixed into the targets: use a value in [0, 1]."
        )
    # torch smooths only when label_smoothing > 0: a negative value and NaN are no smoothing
    return float(label_smoothing) if label_smoothing > 0 else 0.0


def _cross_entropy_checks(
    ns: Namespace, input: Any, target: Any, weight: Any, ignore_index: int, label_smoothing: float,
    check_range: bool = True,
) -> tuple[bool, Any, float]:
    """torch's checks of ``cross_entropy(input, target, weight, ...)``, in torch's order.

    Reads only ``input``'s shape and dtype, so :func:`linear_cross_entropy` runs them on a
    stand-in of the logits it never materialises.  Returns ``(prob, weight,
    label_smoothing)``: whether ``target`` holds class probabilities, the weight in
    ``input``'s dtype, and the effective label smoothing.
    """
    _check_floating_input(ns, input, "log_softmax_lastdim_kernel_impl")
    prob = tuple(input.shape) == tuple(target.shape)
    if prob and not is_floating(ns, target):
        raise LossBridgeRuntimeError(
            "Expected floating point type for target with class probabilities, got "
            f"{_torch_dtype_name(target)}. `target` has input's shape {tuple(input.shape)}, so "
            "torch reads it as class probabilities: for class indices give it shape (N,) "
            "(target.argmax(1) of a one-hot), for probabilities convert it with .float()."
        )
    if input.ndim == 0:
        # torch's log_softmax over dim 1 of a 0-d input: IndexError (nll_loss: ValueError)
        raise LossBridgeIndexError(
            "Dimension out of range (expected to be in range of [-1, 0], but got 1). Expected 1 "
            "or more dimensions (got 0): `input` must hold the logits of C classes."
        )
    label_smoothing = _label_smoothing(label_smoothing)
    cdim = _class_dim(input)
    num_classes = input.shape[cdim]
    if prob:
        if ignore_index >= 0:
            raise LossBridgeRuntimeError(
                "ignore_index is not supported for floating point target. A float target of "
                f"input's shape {tuple(input.shape)} is read as class probabilities; give class "
                f"indices to use ignore_index={ignore_index}."
            )
    else:
        _check_index_target(ns, input, target, "cross_entropy")
    # torch's probability-target kernel prefixes its message with "cross_entropy: "
    weight = _check_weight(ns, weight, input, num_classes, "cross_entropy: " if prob else "")
    if not prob and check_range:
        _check_range(ns, target, num_classes, ignore_index)
    return prob, weight, label_smoothing


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """torch's ``cross_entropy``: logits ``input``, class indices or probabilities ``target``.

    ``input`` has shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``: the class
    dimension is 1 (0 when unbatched).  With ``lp = log_softmax(input, class dim)``:

    * **class indices** (integer target of shape ``(N, d1, ...)``)::

          l_i  = -w[t_i] * lp[i, t_i]                  (0 where t_i == ignore_index)
          s_i  = -sum_c w[c] * lp[i, c]                (label smoothing part)
          loss = (1 - eps) * R(l) + eps / C * R(s)
          R = sum;  "mean": sum / sum_{i not ignored} w[t_i]

      Every target ignored (or an empty batch) gives NaN for ``"mean"``.
    * **class probabilities** (float target of exactly ``input``'s shape)::

          y    = (1 - eps) * target + eps / C
          l_i  = -sum_c w[c] * y[i, c] * lp[i, c]
          "mean": sum / (number of samples N * d1 * ... * dk), not / sum of weights

    ``ignore_index`` must be negative for probability targets.  A label outside
    ``[0, C)`` that is not ``ignore_index`` raises :class:`LossBridgeIndexError`
    (torch's ``IndexError``), checked on the host before any device kernel.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
        >>> t = np.array([0, 2, 1, 2])
        >>> round(float(lb.torch.functional.cross_entropy(x, t)), 6)
        1.26034
        >>> round(float(lb.torch.functional.cross_entropy(x, t, weight=np.array([1.0, 2.0, 3.0]))), 6)
        1.23297

    See also: :class:`lossbridge.torch.CrossEntropyLoss`,
    ``lossbridge.keras.sparse_categorical_crossentropy(from_logits=True)``.
    """
    if size_average is None and reduce is None and _plain_cpu_tensors(input, target, weight):
        torch = sys.modules["torch"]
        try:  # inline (no closure, no call): the hottest path of the dialect
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target, weight):
                # torch.nn.functional.cross_entropy's own call, without its Python layer
                out = torch._C._nn.cross_entropy_loss(
                    input, target, weight, enum, ignore_index, label_smoothing)
            else:
                out = torch.nn.functional.cross_entropy(
                    input, target, weight, ignore_index=ignore_index, reduction=reduction,
                    label_smoothing=label_smoothing)
        except Exception as e:
            _native_failed(e, lambda: _cross_entropy_checked(
                input, target, weight, None, ignore_index, None, reduction, label_smoothing))
        # The cheap findings of an index-target call are errors torch raises itself, and
        # LB016 (every target ignored), whose mean is NaN: at the default level the hook runs
        # only then (tests/test_no_sync.py checks that the other findings stay empty).
        level = check_level()
        if level != "off" and (level == "full" or reduction == "mean") and _readable_now(out) and (
                level == "full" or math.isnan(out.item())):
            _diagnostics.check_call(
                "torch:cross_entropy", torch_namespace({"input": input}),
                {"input": input, "target": target, "weight": weight},
                {"ignore_index": ignore_index, "reduction": reduction, "weight": weight},
                result=out, concrete=True,
            )
        return out
    if (size_average is None and reduce is None and reduction in _KERNEL_REDUCTION
            and _accelerator_index_call(input, target, weight)):
        return _index_loss_on_device(
            "cross_entropy", input, target, weight, ignore_index, reduction,
            lambda safe: sys.modules["torch"].nn.functional.cross_entropy(
                input, safe, weight, ignore_index=ignore_index, reduction=reduction,
                label_smoothing=label_smoothing),
            lambda: _cross_entropy_checked(
                input, target, weight, None, ignore_index, None, reduction, label_smoothing))
    return _cross_entropy_checked(input, target, weight, size_average, ignore_index, reduce,
                                  reduction, label_smoothing)


def _cross_entropy_checked(
    input: Any, target: Any, weight: Any, size_average: Any, ignore_index: int, reduce: Any,
    reduction: str, label_smoothing: float,
) -> Any:
    """:func:`cross_entropy` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    input = _convert(ns, input)
    target = _convert(ns, target)
    weight = _convert(ns, weight, like=input)
    prob, weight, label_smoothing = _cross_entropy_checks(
        ns, input, target, weight, ignore_index, label_smoothing, check_range=False
    )
    cdim = _class_dim(input)
    num_classes = input.shape[cdim]
    config = {"ignore_index": ignore_index, "reduction": reduction, "weight": weight}
    arrays = {"input": input, "target": target, "weight": weight}
    if _native(ns):
        import torch

        kwargs: dict[str, Any] = {"ignore_index": ignore_index, "reduction": reduction,
                  "label_smoothing": label_smoothing}
        if not prob and _kernel_checks_range(ns, target):
            out = _native_with_index_check(
                ns, torch.nn.functional.cross_entropy, target, num_classes, ignore_index,
                input, target, weight, **kwargs,
            )
        else:
            if not prob:
                target = _check_range(ns, target, num_classes, ignore_index)
            out = torch.nn.functional.cross_entropy(input, target, weight, **kwargs)
        _diagnostics.check_call("torch:cross_entropy", ns, arrays, config, result=out)
        return out
    if not prob:
        target = _check_range(ns, target, num_classes, ignore_index)
    out = _cross_entropy_generic(ns, input, target, weight, ignore_index, reduction,
                                 label_smoothing, prob)
    _diagnostics.check_call("torch:cross_entropy", ns, arrays, config, result=out)
    return out


def _cross_entropy_generic(
    ns: Namespace, input: Any, target: Any, weight: Any, ignore_index: int, reduction: str,
    label_smoothing: float, prob: bool,
) -> Any:
    xp = ns.xp
    cdim = _class_dim(input)
    num_classes = input.shape[cdim]
    logp = ops.log_softmax(input, axis=cdim, torch_semantics=True)
    if not prob:
        return _weighted_nll(ns, logp, target, weight, ignore_index, reduction, label_smoothing)
    y = target
    if label_smoothing > 0.0:
        y = y * (1.0 - label_smoothing) + label_smoothing / num_classes
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = num_classes
        y = y * xp.reshape(weight, tuple(shape))
    loss = -xp.sum(y * logp, axis=cdim)
    if reduction != "mean":
        return _reduce(ns, loss, reduction)
    n = math.prod(input.shape) // num_classes if num_classes else 0
    total = xp.sum(loss)
    return total / n if n else total * math.nan


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``nll_loss``: the negative log-likelihood of log-probabilities ``input``.

    ``input`` holds log-probabilities of shape ``(C,)``, ``(N, C)`` or
    ``(N, C, d1, ...)`` (they are not checked to be log-probabilities)::

        l_i  = -w[t_i] * input[i, t_i]        (0 where t_i == ignore_index)
        "mean": sum(l) / sum_{i not ignored} w[t_i]   (NaN when every target is ignored)

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logp = np.log(np.array([[0.05, 0.95, 1e-12], [0.1, 0.8, 0.1]]))
        >>> lb.torch.functional.nll_loss(logp, np.array([1, 2]), reduction="none").round(7).tolist()
        [0.0512933, 2.3025851]
    """
    if size_average is None and reduce is None and _plain_cpu_tensors(input, target, weight):
        torch = sys.modules["torch"]
        try:  # inline, as in cross_entropy
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target, weight):
                out = torch._C._nn.nll_loss_nd(input, target, weight, enum, ignore_index)
            else:
                out = torch.nn.functional.nll_loss(
                    input, target, weight, ignore_index=ignore_index, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _nll_loss_checked(
                input, target, weight, None, ignore_index, None, reduction))
        # The cheap findings of an index-target call are errors torch raises itself, and
        # LB016 (every target ignored), whose mean is NaN: at the default level the hook runs
        # only then (tests/test_no_sync.py checks that the other findings stay empty).
        level = check_level()
        if level != "off" and (level == "full" or reduction == "mean") and _readable_now(out) and (
                level == "full" or math.isnan(out.item())):
            _diagnostics.check_call(
                "torch:nll_loss", torch_namespace({"input": input}),
                {"input": input, "target": target, "weight": weight},
                {"ignore_index": ignore_index, "reduction": reduction, "weight": weight},
                result=out, concrete=True,
            )
        return out
    if (size_average is None and reduce is None and reduction in _KERNEL_REDUCTION
            and _accelerator_index_call(input, target, weight)):
        return _index_loss_on_device(
            "nll_loss", input, target, weight, ignore_index, reduction,
            lambda safe: sys.modules["torch"].nn.functional.nll_loss(
                input, safe, weight, ignore_index=ignore_index, reduction=reduction),
            lambda: _nll_loss_checked(input, target, weight, None, ignore_index, None, reduction))
    return _nll_loss_checked(input, target, weight, size_average, ignore_index, reduce, reduction)


def _nll_loss_checked(
    input: Any, target: Any, weight: Any, size_average: Any, ignore_index: int, reduce: Any,
    reduction: str,
) -> Any:
    """:func:`nll_loss` through lossbridge's checks (every array kind)."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    input = _convert(ns, input)
    target = _convert(ns, target)
    weight = _convert(ns, weight, like=input)
    if input.ndim == 0:
        raise LossBridgeError(
            "Expected 1 or more dimensions (got 0): `input` must hold the log-probabilities of "
            "C classes, shape (C,), (N, C) or (N, C, d1, ...)."
        )
    _check_floating_input(ns, input, "nll_loss_out_frame")
    _check_index_target(ns, input, target, "nll_loss")
    num_classes = input.shape[_class_dim(input)]
    weight = _check_weight(ns, weight, input, num_classes)
    config = {"ignore_index": ignore_index, "reduction": reduction, "weight": weight}
    arrays = {"input": input, "target": target, "weight": weight}
    if _native(ns):
        import torch

        if _kernel_checks_range(ns, target):
            out = _native_with_index_check(
                ns, torch.nn.functional.nll_loss, target, num_classes, ignore_index,
                input, target, weight, ignore_index=ignore_index, reduction=reduction,
            )
        else:
            target = _check_range(ns, target, num_classes, ignore_index)
            out = torch.nn.functional.nll_loss(
                input, target, weight, ignore_index=ignore_index, reduction=reduction
            )
        _diagnostics.check_call("torch:nll_loss", ns, arrays, config, result=out)
        return out
    target = _check_range(ns, target, num_classes, ignore_index)
    out = _weighted_nll(ns, input, target, weight, ignore_index, reduction)
    _diagnostics.check_call("torch:nll_loss", ns, arrays, config, result=out)
    return out


# ------------------------------------------------------------------ binary


def _check_binary_dtypes(ns: Namespace, input: Any, target: Any, logits: bool) -> None:
    if logits:
        if not is_floating(ns, input):
            raise LossBridgeNotImplementedError(
                f'"log_sigmoid_cpu" not implemented for \'{_torch_dtype_name(input)}\'. '
                f"`input` is a {describe(input)}: logits must be floating, convert with .float()."
            )
        if not is_floating(ns, target):
            raise LossBridgeRuntimeError(
                f"result type Float can't be cast to the desired output type "
                f"{_torch_dtype_name(target)}. `target` is a {describe(target)}: binary targets "
                "must be floating, convert them with .float()."
            )
        return
    if not is_floating(ns, target):
        raise LossBridgeRuntimeError(
            f"Found dtype {_torch_dtype_name(target)} but expected {_torch_dtype_name(input)}. "
            f"`target` is a {describe(target)}: binary targets must be floating, convert them "
            "with .float()."
        )
    if not is_floating(ns, input):
        raise LossBridgeRuntimeError(
            f"Found dtype {_torch_dtype_name(target)} but expected {_torch_dtype_name(input)}. "
            f"`input` is a {describe(input)}: probabilities must be floating."
        )
    if input.dtype != target.dtype:
        # torch's binary_cross_entropy kernel takes one dtype (no promotion).
        raise LossBridgeRuntimeError(
            f"Found dtype {_torch_dtype_name(target)} but expected {_torch_dtype_name(input)}. "
            f"`input` is a {describe(input)} and `target` a {describe(target)}: convert the "
            "target to the input's dtype (target.to(input.dtype))."
        )


_BCE_LOGITS_HINT = (" These look like logits: use binary_cross_entropy_with_logits "
                    "(BCEWithLogitsLoss), or apply sigmoid first.")


def _check_unit_interval(ns: Namespace, x: Any, arg: str) -> Any:
    """torch's check that ``x`` (binary_cross_entropy's input or target) lies in [0, 1];
    returns ``x`` to compute with.  On accelerators at the default level nothing is read:
    torch's CUDA kernel asserts on an input outside [0, 1] (the process loses its CUDA
    context), so those elements are computed as 0.5 and torch's error is raised at a later
    call; a target there is computed as torch's CUDA kernel does (it does not check)."""
    if not is_concrete(x):
        return x
    if _deferred.on_accelerator(ns, x) and check_level() != "full":
        if arg != "input" or x.numel() == 0:
            return x
        _deferred.begin()
        safe, bad = _unit_interval_on_device(x)
        _deferred.raise_later(bad, x.detach(), _bce_input_error)
        return safe
    xp = ns.xp
    ok = (x >= 0) & (x <= 1)
    if not bool(xp.all(ok)):
        bad = xp.nonzero(~ok)
        position = [int(b[0]) for b in bad]
        value = float(x[tuple(position)]) if position else float(x)
        hint = (
            _BCE_LOGITS_HINT
            if arg == "input"
            else " Binary targets are probabilities of the positive class."
        )
        raise LossBridgeRuntimeError(
            f"all elements of {arg} should be between 0 and 1. `{arg}` holds {value!r} at "
            f"position {position}.{hint}"
        )
    return x


def _unit_interval_on_device(x: Any) -> tuple[Any, Any]:
    """binary_cross_entropy's input on an accelerator: ``x`` with its elements outside [0, 1]
    (NaN too) replaced by 0.5 (torch's CUDA kernel would assert), and the mask of those
    elements, for ``_deferred.raise_later(bad, x.detach(), _bce_input_error)``."""
    bad = x.detach().clamp(0, 1) != x.detach()
    return x.masked_fill(bad, 0.5), bad


def _bce_input_error(where: str, count: int, position: tuple[int, ...], value: Any) -> Exception:
    return LossBridgeRuntimeError(
        f"all elements of input should be between 0 and 1. (In the loss call at "
        f"{where}, checked after the device computed it: that call computed them as "
        f"0.5.) `input` holds {value!r} at position {list(position)} ({count} values "
        f"outside [0, 1]).{_BCE_LOGITS_HINT}"
    )


# torch's binary_cross_entropy_backward clamps p(1 - p) at EPSILON = 1e-12, a C++
# float: 9.99999996e-13 when read as a double.
_BCE_GRAD_EPS = 9.999999960041972e-13


def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``binary_cross_entropy`` of probabilities ``input``.

    Formula (element-wise, ``w`` broadcast to the target's shape)::

        l = -w * (y * max(log(p), -100) + (1 - y) * max(log(1 - p), -100))
        "mean": sum(l) / numel

    Each log is clamped at -100, so a confident wrong answer costs 100.  The
    gradient is torch's hand-written one, ``w * (p - y) / max(p * (1 - p), 1e-12)``
    (with respect to ``p``) and ``w * (log(1 - p) - log(p))`` (with respect to
    ``y``), which is not the derivative of the clamped value at the edges.
    ``input`` and ``target`` must have the same shape, and values in ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> p = np.array([0.0, 0.5, 1.0])
        >>> lb.torch.functional.binary_cross_entropy(p, np.array([1.0, 1.0, 1.0]), reduction="none").round(4).tolist()
        [100.0, 0.6931, -0.0]
    """
    # CPU only: torch's CUDA kernel asserts on an input outside [0, 1] (the checked path defers
    # that check on accelerators)
    if (size_average is None and reduce is None and weight is None and _fast(input, target)
            and _plain_cpu_tensors(input)):
        torch = sys.modules["torch"]
        try:  # as in cross_entropy: torch.nn.functional's own kernel call, or the function
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch._C._nn.binary_cross_entropy(input, target, None, enum)
            return torch.nn.functional.binary_cross_entropy(input, target, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _binary_cross_entropy_checked(
                input, target, weight, size_average, reduce, reduction))
    if (size_average is None and reduce is None and weight is None and _fast(input, target)
            and reduction in _KERNEL_REDUCTION and _accelerator_tensors(input, target)
            and input.numel() > 0 and input.dtype.is_floating_point):
        torch = sys.modules["torch"]
        _deferred.begin()
        safe, bad = _unit_interval_on_device(input)
        try:
            if not torch._C._has_torch_function_variadic(input, target):
                out = torch._C._nn.binary_cross_entropy(
                    safe, target, None, _KERNEL_REDUCTION[reduction])
            else:
                out = torch.nn.functional.binary_cross_entropy(safe, target, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _binary_cross_entropy_checked(
                input, target, weight, size_average, reduce, reduction))
        _deferred.raise_later(bad, input.detach(), _bce_input_error)
        return out
    return _binary_cross_entropy_checked(input, target, weight, size_average, reduce, reduction)


def _binary_cross_entropy_checked(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    xp = ns.xp
    input = _convert(ns, input)
    target = _convert(ns, target, like=input)
    weight = _convert(ns, weight, like=input)
    if tuple(target.shape) != tuple(input.shape):
        raise LossBridgeError(
            f"Using a target size ({torch_size(target)}) that is different to the input size "
            f"({torch_size(input)}) is deprecated. Please ensure they have the same size. "
            + _shape_hint(input, target)
        )
    _check_binary_dtypes(ns, input, target, logits=False)
    if weight is not None:
        weight = _broadcast_weight(ns, weight, target, "weight")
    if check_level() != "off" or ns.kind != "torch":
        input = _check_unit_interval(ns, input, "input")
        target = _check_unit_interval(ns, target, "target")
    if _native(ns):
        import torch

        return torch.nn.functional.binary_cross_entropy(input, target, weight, reduction=reduction)
    p, y = ops.stop_gradient(input), ops.stop_gradient(target)
    with quiet(ns):  # log(0) = -inf is intended here
        log_p, log_1mp = xp.log(p), xp.log1p(-p)
        loss = -(y * xp.clip(log_p, -100.0, None) + (1.0 - y) * xp.clip(log_1mp, -100.0, None))
        grad_p = (p - y) / xp.clip(p * (1.0 - p), _BCE_GRAD_EPS, None)
        grad_y = log_1mp - log_p
    if weight is not None:
        loss, grad_p, grad_y = loss * weight, grad_p * weight, grad_y * weight
    loss = custom_gradient(loss, (input, grad_p), (target, grad_y))
    return _reduce(ns, loss, reduction)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
    """torch's ``binary_cross_entropy_with_logits``: sigmoid and BCE in one stable step.

    Formula (element-wise; ``pw = pos_weight`` broadcast against the target, usually
    one value per class on the last dimension; ``w`` broadcast likewise)::

        l = w * ((1 - y) * x - (1 + (pw - 1) * y) * log_sigmoid(x))
          = -w * (pw * y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
        "mean": sum(l) / numel

    Stable for every finite logit (``x = -200, y = 1`` costs 200); ``x = +-inf``
    gives NaN, as in torch.  ``input`` and ``target`` must have the same shape.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> f = lb.torch.functional.binary_cross_entropy_with_logits
        >>> round(float(f(np.array([0.0]), np.array([1.0]), pos_weight=np.array([3.0]))), 4)
        2.0794
    """
    if (size_average is None and reduce is None and weight is None and pos_weight is None
            and _fast(input, target)):
        torch = sys.modules["torch"]
        try:  # as in cross_entropy: torch.nn.functional's own kernel call, or the function
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch.binary_cross_entropy_with_logits(input, target, None, None, enum)
            return torch.nn.functional.binary_cross_entropy_with_logits(
                input, target, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _binary_cross_entropy_with_logits_checked(
                input, target, weight, size_average, reduce, reduction, pos_weight))
    return _binary_cross_entropy_with_logits_checked(input, target, weight, size_average, reduce, reduction, pos_weight)


def _binary_cross_entropy_with_logits_checked(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    ns = torch_namespace(
        {"input": input, "target": target, "weight": weight, "pos_weight": pos_weight}
    )
    input = _convert(ns, input)
    target = _convert(ns, target, like=input)
    weight = _convert(ns, weight, like=input)
    pos_weight = _convert(ns, pos_weight, like=input)
    if tuple(target.shape) != tuple(input.shape):
        raise LossBridgeError(
            f"Target size ({torch_size(target)}) must be the same as input size "
            f"({torch_size(input)}). " + _shape_hint(input, target)
        )
    _check_binary_dtypes(ns, input, target, logits=True)
    if weight is not None:
        _broadcast_weight(ns, weight, target, "weight")
    if pos_weight is not None:
        _broadcast_weight(ns, pos_weight, target, "pos_weight")
    _diagnostics.check_call(
        "torch:binary_cross_entropy_with_logits", ns,
        {"input": input, "target": target, "weight": weight, "pos_weight": pos_weight},
        {"reduction": reduction},
    )
    if _native(ns):
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(
            input, target, weight, reduction=reduction, pos_weight=pos_weight
        )
    log_sig = ops.log_sigmoid(input)
    with quiet(ns):  # 0 * inf = NaN for infinite logits, as in torch
        if pos_weight is None:
            loss = (1.0 - target) * input - log_sig
        else:
            loss = (1.0 - target) * input - (1.0 + (pos_weight - 1.0) * target) * log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(ns, loss, reduction)


# -------------------------------------------------------------- regression


def _pointwise(
    name: str,
    input: Any,
    target: Any,
    size_average: bool | None,
    reduce: bool | None,
    reduction: str,
    weight: Any,
) -> tuple[Namespace, Any, Any, Any, str]:
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    input = _convert(ns, input)
    target = _convert(ns, target, like=input)
    weight = _convert(ns, weight, like=input)
    size_warning(input, target)
    if weight is not None:
        reduction = resolve_reduction(size_average, reduce, reduction, aten=False)
    else:
        reduction = resolve_reduction(size_average, reduce, reduction)
    broadcast_shape(name, [("input", input), ("target", target)])
    _diagnostics.check_call(
        f"torch:{name}", ns, {"input": input, "target": target, "weight": weight},
        {"reduction": reduction},
    )
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise LossBridgeError(
            f"Weights and input must have the same size. `weight` has shape "
            f"{tuple(weight.shape)} and `input` {tuple(input.shape)}."
        )
    complex_arg = next((a for a in (input, target) if ns.xp.isdtype(a.dtype, "complex floating")),
                       None)
    if complex_arg is not None and name == "mse_loss":
        raise LossBridgeNotImplementedError(
            f'"mse_cpu" not implemented for \'ComplexFloat\'. `input` is a {describe(input)} and '
            f"`target` a {describe(target)}: mse_loss takes real inputs; pass the real and "
            "imaginary parts separately, or use l1_loss, which torch defines for complex."
        )
    if not is_floating(ns, input) and not is_floating(ns, target):
        if name == "mse_loss":
            raise LossBridgeNotImplementedError(
                f'"mse_cpu" not implemented for \'{_torch_dtype_name(input)}\'. Both `input` and '
                "`target` are integer arrays: convert them with .float()."
            )
        if reduction == "mean":
            raise LossBridgeRuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_torch_dtype_name(input)}. Convert `input` and "
                "`target` with .float()."
            )
    return ns, input, target, weight, reduction


def _weighted_reduce(ns: Namespace, loss: Any, weight: Any, reduction: str) -> Any:
    xp = ns.xp
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    with quiet(ns):  # all-zero weights give 0/0 = NaN, as in torch
        return xp.sum(loss) / xp.sum(weight)


def mse_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """torch's ``mse_loss``: ``(input - target) ** 2``, broadcast, then reduced.

    ``"mean"`` divides by the number of elements of the *broadcast* difference:
    an ``(N, 1)`` input against an ``(N,)`` target averages N * N terms (torch
    warns, and so does lossbridge).  With ``weight`` (exactly input's shape):
    ``"mean"`` is ``sum(w * l) / sum(w)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.functional.mse_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        2.5
    """
    if size_average is None and reduce is None and weight is None and _fast(input, target):
        torch = sys.modules["torch"]
        try:  # as in cross_entropy (same shapes: torch's broadcast_tensors is the identity)
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch._C._nn.mse_loss(input, target, enum)
            return torch.nn.functional.mse_loss(input, target, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _mse_loss_checked(
                input, target, size_average, reduce, reduction, weight))
    return _mse_loss_checked(input, target, size_average, reduce, reduction, weight)


def _mse_loss_checked(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    ns, input, target, weight, reduction = _pointwise(
        "mse_loss", input, target, size_average, reduce, reduction, weight
    )
    if _native(ns):
        import torch

        with _torch_size_warning_silenced(input, target):
            return torch.nn.functional.mse_loss(input, target, reduction=reduction, weight=weight)  # type: ignore[call-arg]
    loss = (input - target) ** 2
    if weight is not None:
        return _weighted_reduce(ns, loss, weight, reduction)
    return _reduce(ns, loss, reduction)


def l1_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """torch's ``l1_loss``: ``|input - target|``, broadcast, then reduced.

    The gradient at ``input == target`` is 0.  With ``weight`` (exactly input's
    shape): ``"mean"`` is ``sum(w * l) / sum(w)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.functional.l1_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        1.5
    """
    if size_average is None and reduce is None and weight is None and _fast(input, target):
        torch = sys.modules["torch"]
        try:  # as in mse_loss
            enum = _KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch._C._nn.l1_loss(input, target, enum)
            return torch.nn.functional.l1_loss(input, target, reduction=reduction)
        except Exception as e:
            _native_failed(e, lambda: _l1_loss_checked(
                input, target, size_average, reduce, reduction, weight))
    return _l1_loss_checked(input, target, size_average, reduce, reduction, weight)


def _l1_loss_checked(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    ns, input, target, weight, reduction = _pointwise(
        "l1_loss", input, target, size_average, reduce, reduction, weight
    )
    if _native(ns):
        import torch

        with _torch_size_warning_silenced(input, target):
            return torch.nn.functional.l1_loss(input, target, reduction=reduction, weight=weight)  # type: ignore[call-arg]
    diff = input - target
    # d * sign(d) == |d| exactly, and its derivative is sign(d): 0 at d == 0, as in
    # torch (JAX's own |d| has derivative 1 there).
    loss = diff * ns.xp.sign(diff)
    if weight is not None:
        return _weighted_reduce(ns, loss, weight, reduction)
    return _reduce(ns, loss, reduction)


# ------------------------------------------------- bool and complex inputs on NumPy / JAX

def _exotic(values: Any) -> str | None:
    """The kind ("numpy" or "jax") of the first bool or complex NumPy/JAX array in
    ``values``, or None.  Cheap for the usual call (torch tensors and float arrays)."""
    for a in values:
        t = type(a)
        if t is np.ndarray:
            if a.dtype.kind in "bc" or a.dtype == np.float16:
                return "numpy"
        elif (t.__module__.startswith("jax") and hasattr(a, "dtype")
              and (np.dtype(a.dtype).kind in "bc" or np.dtype(a.dtype) == np.float16)
              and _backend_is_concrete(a)):
            return "jax"
    return None


_RAW_ERROR_FIX = (
    "Pass floating-point inputs of one dtype (float16 only where torch has a kernel for it) "
    "and int64 class indices, as torch's kernels take them."
)


def _public(fn: Any, name: str | None = None, route: Any = None) -> Any:
    """``fn`` behind the one wrapper that public functions need (every frame costs on each
    call, and more with the caches cold after a large kernel, so the two jobs share it):

    * **Raw errors** of the kernel or array library are re-raised as lossbridge errors of the
      same built-in type (:func:`lossbridge._validate.reword_raw_error`), named ``name``.
    * **bool, complex and float16 NumPy/JAX arguments** are computed by torch's own kernel when
      torch is installed: which losses accept those dtypes (``mse_loss`` promotes a bool target,
      ``l1_loss`` refuses it; ``soft_margin_loss`` computes on complex input, most kernels
      refuse it; ``multilabel_margin_loss`` has no CPU float16 kernel) is a property of each
      kernel, so torch itself answers (through ``route``, by default ``fn``), in its own
      precision, and the result comes back as the input's kind.  Without torch the generic
      path runs.

    A loss with a fast path (plain CPU tensors straight to torch's kernel, in an inline
    ``try``) is public unwrapped, and this wrapper sits on its validating twin, the path of
    every other call, with ``route`` the public function: the fast call pays no wrapper."""
    name = name or fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            torch_module = sys.modules.get("torch")
            if torch_module is not None and (
                    (args and type(args[0]) is torch_module.Tensor)  # the usual call: no scan
                    or torch_module.compiler.is_compiling()):
                return fn(*args, **kwargs)  # torch tensors: torch's own kernels decide
            return _exotic_call(fn, route or fn, args, kwargs)
        except LossBridgeError:
            raise
        except (RuntimeError, TypeError, NotImplementedError, IndexError, ValueError) as e:
            reworded = _reword_raw_error(e, name, args, kwargs, _RAW_ERROR_FIX)
            if reworded is None:
                raise
            raise reworded from e

    wrapper.__lossbridge_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def _exotic_call(fn: Any, route: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)`` for arguments that are not torch tensors; where one is a bool,
    complex or float16 NumPy/JAX array, ``route`` on the arguments as torch tensors, converted
    back (see :func:`_public`)."""
    kind = _exotic(args) or _exotic(kwargs.values())
    if kind is None:
        return fn(*args, **kwargs)
    try:
        import torch
    except ImportError:
        return fn(*args, **kwargs)

    def to_torch(a: Any) -> Any:
        if kind == "jax" and array_kind(a) == "jax":
            a = np.array(a)  # a writable copy
            if a.dtype == np.int32:
                # JAX's default integer (int64 without jax_enable_x64): the class
                # indices torch takes as int64, as lossbridge's JAX path does.
                a = a.astype(np.int64)
            return torch.from_numpy(a)
        if type(a) is np.ndarray:
            return torch.from_numpy(np.array(a))  # a writable copy
        return a

    out = route(*[to_torch(a) for a in args], **{k: to_torch(v) for k, v in kwargs.items()})
    if not isinstance(out, torch.Tensor):
        return out
    res = out.detach().numpy()
    if kind == "jax":
        import jax.numpy as jnp

        return jnp.asarray(res)
    return res[()] if res.ndim == 0 else res


#: The losses with a fast path: public name -> (module, name of the validating twin that the
#: fast path falls back to).  The twin is wrapped in its module (see :func:`_public`).
_FAST_PATH_TWINS = {
    "binary_cross_entropy": (__name__, "_binary_cross_entropy_checked"),
    "binary_cross_entropy_with_logits": (__name__, "_binary_cross_entropy_with_logits_checked"),
    "cross_entropy": (__name__, "_cross_entropy_checked"),
    "nll_loss": (__name__, "_nll_loss_checked"),
    "mse_loss": (__name__, "_mse_loss_checked"),
    "l1_loss": (__name__, "_l1_loss_checked"),
    "huber_loss": (f"{__package__}._regression", "_huber_loss_checked"),
    "smooth_l1_loss": (f"{__package__}._regression", "_smooth_l1_loss_checked"),
    "soft_margin_loss": (f"{__package__}._margin", "_soft_margin_checked"),
    "margin_ranking_loss": (f"{__package__}._margin", "_margin_ranking_checked"),
    "cosine_embedding_loss": (f"{__package__}._margin", "_cosine_embedding_loss_checked"),
    "gaussian_nll_loss": (f"{__package__}._probabilistic", "_gaussian_nll_loss_checked"),
    "kl_div": (f"{__package__}._probabilistic", "_kl_div_checked"),
    "triplet_margin_loss": (f"{__package__}._distance", "_triplet_margin_loss_checked"),
    "triplet_margin_with_distance_loss": (
        f"{__package__}._distance", "_triplet_margin_with_distance_loss_checked"),
    "hinge_embedding_loss": (f"{__package__}._margin", "_hinge_embedding_loss_checked"),
    "multi_margin_loss": (f"{__package__}._margin", "_multi_margin_loss_checked"),
    "multilabel_margin_loss": (f"{__package__}._margin", "_multilabel_margin_loss_checked"),
    "multilabel_soft_margin_loss": (
        f"{__package__}._margin", "_multilabel_soft_margin_loss_checked"),
    "poisson_nll_loss": (f"{__package__}._probabilistic", "_poisson_nll_loss_checked"),
}

for _name in __all__:
    _obj = globals()[_name]
    if _name in _FAST_PATH_TWINS:
        _module, _twin = _FAST_PATH_TWINS[_name]
        _scope = vars(sys.modules[_module])
        _scope[_twin] = _public(_scope[_twin], _name, route=_obj)
        _obj.__lossbridge_wrapped__ = True  # its every other path is wrapped
    else:
        globals()[_name] = _public(_obj)
del _name, _obj, _module, _twin, _scope
