"""torch's robust regression losses: ``huber_loss`` and ``smooth_l1_loss``.

Both are pointwise on the broadcast difference ``d = input - target`` (torch
warns when the two sizes differ, and so does lossbridge) and differ by a factor:
``huber_loss(delta) == delta * smooth_l1_loss(beta=delta)``; they agree only at
1.0.  Re-exported by :mod:`lossbridge.torch.functional`.
"""

from __future__ import annotations

import sys
from typing import Any

from .._backend import Namespace, describe, torch_namespace
from .._checks import is_floating
from .._errors import LossBridgeError, LossBridgeNotImplementedError, LossBridgeRuntimeError
from ._common import (
    broadcast_shape,
    convert,
    native,
    native_failed,
    same_shape_fast,
    size_warning,
    torch_dtype_name,
    torch_size_warning_silenced,
)
from ._reduction import KERNEL_REDUCTION, resolve_reduction
from ._reduction import reduce as _reduce

__all__ = ["huber_loss", "smooth_l1_loss"]


def _check_dtypes(ns: Namespace, input: Any, target: Any, kernel: str) -> None:
    """torch's dtype rules of its huber / smooth_l1 kernels (``kernel``: "huber_cpu" or
    "smooth_l1_cpu"): neither takes complex input; smooth_l1 dispatches on the promoted
    dtype (a complex target is NotImplementedError too; an integer input beside a float target
    computes in the target's dtype), huber on the input's (a complex target cannot be cast to
    it, nor a float target to an integer input)."""
    xp = ns.xp
    complex_arg = next((a for a in (input, target) if xp.isdtype(a.dtype, "complex floating")),
                       None)
    if complex_arg is not None:
        if xp.isdtype(input.dtype, "complex floating") or kernel != "huber_cpu":
            raise LossBridgeNotImplementedError(
                f'"{kernel}" not implemented for \'{torch_dtype_name(complex_arg)}\'. `input` is a '
                f"{describe(input)} and `target` a {describe(target)}: the loss takes real "
                "inputs; pass the real and imaginary parts separately, or use l1_loss, which "
                "torch defines for complex."
            )
        raise LossBridgeRuntimeError(
            f"result type {torch_dtype_name(target)} can't be cast to the desired output type "
            f"{torch_dtype_name(input)}. `target` is a {describe(target)}: huber_loss takes a "
            "real target; pass real arrays."
        )
    if is_floating(ns, input):
        return
    if is_floating(ns, target):
        if kernel == "smooth_l1_cpu":
            return  # smooth_l1 computes in the promoted dtype: the target's float dtype
        raise LossBridgeRuntimeError(
            f"result type {torch_dtype_name(target)} can't be cast to the desired output type "
            f"{torch_dtype_name(input)}. `input` is a {describe(input)} and `target` a "
            f"{describe(target)}: the prediction must be floating, convert it with .float()."
        )
    raise LossBridgeNotImplementedError(
        f'"{kernel}" not implemented for \'{torch_dtype_name(input)}\'. Both `input` and '
        "`target` are integer arrays: convert them with .float()."
    )


def _abs_diff(ns: Namespace, input: Any, target: Any) -> tuple[Any, Any]:
    d = input - target
    return d, ns.xp.abs(d)


def huber_loss(
    input: Any,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
) -> Any:
    """torch's ``huber_loss``: quadratic near 0, ``delta``-scaled linear beyond.

    Element-wise on the broadcast difference ``d = input - target``::

        l = 0.5 * d**2                   if |d| < delta
            delta * (|d| - 0.5 * delta)  otherwise
        gradient (w.r.t. input) = clamp(d, -delta, delta)

    Defaults ``reduction="mean"`` (over every element of the broadcast loss),
    ``delta=1.0``; ``delta`` must be positive.  Note the argument order: unlike
    most torch losses ``reduction`` comes *before* ``delta`` and there are no
    legacy ``size_average``/``reduce`` arguments.

    ``weight`` (functional only, exactly ``input``'s shape) multiplies each
    element; its ``"mean"`` is ``mean(w * l)``, divided by the number of
    elements, **not** ``sum(w * l) / sum(w)`` as :func:`l1_loss` and
    :func:`mse_loss` do with a weight.

    ``huber_loss(delta=d) == d * smooth_l1_loss(beta=d)``; optax's
    ``huber_loss`` is this loss with ``reduction="none"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> d = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.0, 2.0, 5.0])
        >>> lb.torch.functional.huber_loss(d, np.zeros(8), reduction="none", delta=2.0).round(4).tolist()
        [4.0, 0.5, 0.125, 0.0, 0.02, 0.5, 2.0, 8.0]

    See also: :class:`lossbridge.torch.HuberLoss`, :func:`smooth_l1_loss`,
    ``lossbridge.optax.huber_loss``, ``lossbridge.keras.Huber``.
    """
    if weight is None and same_shape_fast(input, target):
        torch = sys.modules["torch"]
        try:  # torch.nn.functional's own kernel call, without its Python layer (same shapes)
            enum = KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                return torch._C._nn.huber_loss(input, target, enum, delta)
            return torch.nn.functional.huber_loss(input, target, reduction=reduction, delta=delta)
        except Exception as e:
            native_failed(e, lambda: _huber_loss_checked(input, target, reduction, delta, weight))
    return _huber_loss_checked(input, target, reduction, delta, weight)


def _huber_loss_checked(
    input: Any,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    ns = torch_namespace({"input": input, "target": target, "weight": weight})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    weight = convert(ns, weight, like=input)
    size_warning(input, target)
    broadcast_shape("huber_loss", [("input", input), ("target", target)])
    if weight is None:
        reduction = resolve_reduction(None, None, reduction)
    elif tuple(weight.shape) != tuple(input.shape):
        raise LossBridgeError(
            f"Weights and input must have the same size. `weight` has shape "
            f"{tuple(weight.shape)} and `input` {tuple(input.shape)}: give one weight per element "
            "of input."
        )
    if not delta > 0:
        raise LossBridgeRuntimeError(
            f"huber_loss does not support non-positive values for delta. Got delta={delta!r}; "
            "use a positive threshold (or l1_loss / mse_loss for the two limits)."
        )
    _check_dtypes(ns, input, target, "huber_cpu")
    if weight is not None and reduction not in ("none", "mean", "sum"):
        raise LossBridgeError(
            f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'. "
            "(The weighted huber_loss accepts no legacy 'elementwise_mean'.)"
        )
    if native(ns):
        import torch

        with torch_size_warning_silenced(input, target):
            return torch.nn.functional.huber_loss(  # type: ignore[call-arg]  # torch 2.13 takes weight= (its .pyi lags)
                input, target, reduction=reduction, delta=delta, weight=weight
            )
    d, ad = _abs_diff(ns, input, target)
    loss = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    if weight is not None:
        loss = loss * weight
    return _reduce(ns, loss, reduction)


def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Any:
    """torch's ``smooth_l1_loss``: quadratic below ``beta``, L1 beyond.

    Element-wise on the broadcast difference ``d = input - target``::

        l = 0.5 * d**2 / beta   if |d| < beta
            |d| - 0.5 * beta    otherwise
        gradient (w.r.t. input) = clamp(d / beta, -1, 1)

    ``beta=0`` is exactly :func:`l1_loss` (torch dispatches to it; gradient 0 at
    ``d == 0``); a negative ``beta`` is an error.  ``"mean"`` (default) divides
    by the number of elements of the broadcast loss.  The legacy
    ``size_average``/``reduce`` override ``reduction`` with a warning.

    ``smooth_l1_loss(beta=b) == huber_loss(delta=b) / b``: the gradients
    saturate at +-1 here and at +-delta in Huber.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> d = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.0, 2.0, 5.0])
        >>> lb.torch.functional.smooth_l1_loss(d, np.zeros(8), reduction="none", beta=2.0).round(4).tolist()
        [2.0, 0.25, 0.0625, 0.0, 0.01, 0.25, 1.0, 4.0]

    See also: :class:`lossbridge.torch.SmoothL1Loss`, :func:`huber_loss`,
    :func:`l1_loss`.
    """
    if size_average is None and reduce is None and same_shape_fast(input, target):
        torch = sys.modules["torch"]
        try:  # torch.nn.functional's own kernel call, without its Python layer (same shapes)
            enum = KERNEL_REDUCTION.get(reduction)
            if enum is not None and not torch._C._has_torch_function_variadic(input, target):
                if beta == 0.0:
                    return torch._C._nn.l1_loss(input, target, enum)
                return torch._C._nn.smooth_l1_loss(input, target, enum, beta)
            return torch.nn.functional.smooth_l1_loss(input, target, reduction=reduction, beta=beta)
        except Exception as e:
            native_failed(e, lambda: _smooth_l1_loss_checked(
                input, target, size_average, reduce, reduction, beta))
    return _smooth_l1_loss_checked(input, target, size_average, reduce, reduction, beta)


def _smooth_l1_loss_checked(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Any:
    """The path of the public function above through lossbridge's checks."""
    if beta == 0.0:  # torch dispatches to l1_loss
        from .functional import l1_loss

        return l1_loss(input, target, size_average, reduce, reduction)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    size_warning(input, target)
    reduction = resolve_reduction(size_average, reduce, reduction)
    broadcast_shape("smooth_l1_loss", [("input", input), ("target", target)])
    if not beta >= 0:  # NaN too: torch's check is TORCH_CHECK(beta >= 0)
        raise LossBridgeRuntimeError(
            f"smooth_l1_loss does not support negative values for beta. Got beta={beta!r}; "
            "beta is the width of the quadratic zone, use beta >= 0 (beta=0 is l1_loss)."
        )
    _check_dtypes(ns, input, target, "smooth_l1_cpu")
    if not is_floating(ns, input):  # torch's promotion: int with float gives the float dtype
        input = xp.astype(input, target.dtype)
    if native(ns):
        import torch

        with torch_size_warning_silenced(input, target):
            return torch.nn.functional.smooth_l1_loss(input, target, reduction=reduction, beta=beta)
    d, ad = _abs_diff(ns, input, target)
    loss = xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)
    return _reduce(ns, loss, reduction)
