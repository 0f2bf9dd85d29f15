"""torch's likelihood and divergence losses: ``poisson_nll_loss``,
``gaussian_nll_loss`` and ``kl_div``.

Re-exported by :mod:`lossbridge.torch.functional`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .. import _deferred, ops
from .._backend import Namespace, describe, quiet, torch_namespace
from .._checks import (
    is_concrete,  # also False under torch.func.vmap
    is_floating,
)
from .._config import check_level
from .._diagnostics import LossBridgeReductionWarning, check_call
from .._errors import (
    LossBridgeError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from .._grad import custom_gradient
from .._warnings import warn
from ._common import (
    accelerator_tensors,
    broadcast_shape,
    convert,
    native,
    native_failed,
    plain_cpu_tensors,
    same_shape_fast,
    torch_dtype_name,
)
from ._reduction import legacy_get_string, resolve_reduction
from ._reduction import reduce as _reduce

__all__ = ["gaussian_nll_loss", "kl_div", "poisson_nll_loss"]


# ------------------------------------------------------------------ Poisson


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """torch's ``poisson_nll_loss``: negative log-likelihood of ``target ~ Poisson(rate)``.

    Element-wise on the broadcast ``input`` (``x``) and ``target`` (``y``)::

        log_input=True  (default, x = log rate):  l = exp(x) - y * x
        log_input=False (x = rate):               l = x - y * log(x + eps)
        full=True adds Stirling's term where y > 1 (0 where y <= 1):
                                                  y * log(y) - y + 0.5 * log(2 * pi * y)

    ``eps=1e-8`` is used only when ``log_input=False``.  Nothing is clamped:
    ``exp(100)`` overflows to inf as in torch.  ``"mean"`` (default) divides by
    the number of elements; ``reduction="elementwise_mean"`` is rejected (torch
    checks the name itself here).  Gradients are the derivatives of the formula
    (torch differentiates it the same way, including NaN with respect to a
    target ``y <= 0`` when ``full=True``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x, y = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 3.0])
        >>> lb.torch.functional.poisson_nll_loss(x, y, reduction="none").round(6).tolist()
        [1.648721, 1.367879, 1.389056]
        >>> round(float(lb.torch.functional.poisson_nll_loss(x, y, full=True, reduction="sum")), 6)
        6.169738

    See also: :class:`lossbridge.torch.PoissonNLLLoss`, ``lossbridge.keras.Poisson``
    (which takes the rate, not its log, and adds a 1e-7 epsilon).
    """
    if size_average is None and reduce is None and same_shape_fast(input, target):
        try:
            return sys.modules["torch"].nn.functional.poisson_nll_loss(
                input, target, log_input=log_input, full=full, eps=eps, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _poisson_nll_loss_checked(
                input, target, log_input, full, size_average, eps, reduce, reduction))
    return _poisson_nll_loss_checked(
        input, target, log_input, full, size_average, eps, reduce, reduction)


def _poisson_nll_loss_checked(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """:func:`poisson_nll_loss` through lossbridge's checks (every array kind)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    reduction = resolve_reduction(None, None, reduction, aten=False)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    broadcast_shape("poisson_nll_loss", [("target", target), ("input", input)])  # torch's order
    if native(ns):
        import torch

        return torch.nn.functional.poisson_nll_loss(
            input, target, log_input=log_input, full=full, eps=eps, reduction=reduction
        )
    with quiet(ns):  # log(0) and log of negatives: torch's own inf / NaN
        loss = xp.exp(input) - target * input if log_input else input - target * xp.log(input + eps)
        if full:
            stirling = target * xp.log(target) - target + 0.5 * xp.log((2 * math.pi) * target)
            loss = loss + xp.where(target <= 1, xp.zeros_like(stirling), stirling)
    return _reduce(ns, loss, reduction)


# ----------------------------------------------------------------- Gaussian


def _gaussian_var(ns: Namespace, input: Any, var: Any, check_sign: bool = True) -> Any:
    """torch's checks of ``var`` (sign, then shape); returns ``var`` ready to broadcast.
    ``check_sign=False``: torch's own function checks the sign (a pass over var that
    lossbridge then does not repeat; see :func:`gaussian_nll_loss`)."""
    xp = ns.xp
    if isinstance(var, float):
        if var < 0:
            raise LossBridgeError(
                f"var has negative entry/entries. `var` is {var!r}: variances must be >= 0 "
                "(values below eps are clamped to eps)."
            )
        return var * xp.ones_like(input)
    if isinstance(var, (bool, int)):
        raise LossBridgeTypeError(
            f"any() received an invalid combination of arguments - got (bool). `var` is the int "
            f"{var!r}: torch's gaussian_nll_loss accepts a float or an array, pass {float(var)!r}."
        )
    var = convert(ns, var)
    if check_sign and is_concrete(var) and bool(xp.any(var < 0)):
        raise LossBridgeError(
            f"var has negative entry/entries. `var` is a {describe(var)} holding "
            f"{int(xp.sum(xp.astype(var < 0, xp.int32)))} negative values: variances must be >= 0 "
            "(a softplus or exp output layer keeps them positive)."
        )
    ishape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != ishape:
        if ishape[:-1] == vshape:
            var = xp.expand_dims(var, axis=-1)
        elif not (
            input.ndim == var.ndim and sum(v for i, v in zip(ishape, vshape, strict=False) if i != v) == 1
        ):
            raise LossBridgeError(
                f"var is of incorrect size. `input` has shape {ishape} and `var` {vshape}: give "
                f"var the input's shape, the input's shape without its last dimension "
                f"{ishape[:-1]}, or the input's shape with exactly one dimension of size 1."
            )
    return var


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Any:
    """torch's ``gaussian_nll_loss``: negative log-likelihood of ``target ~ N(input, var)``.

    Element-wise, with ``v = max(var, eps)``::

        l = 0.5 * (log(v) + (input - target)**2 / v)     (+ 0.5 * log(2 * pi) if full)

    ``var`` is a float, or an array of ``input``'s shape, of ``input.shape[:-1]``
    (one variance per sample: a trailing dimension is added), or of ``input``'s
    rank with exactly one mismatching dimension of size 1 (homoscedastic).
    Negative entries raise ``ValueError`` (checked on concrete arrays only: under
    ``jax.jit`` they are clamped to ``eps`` like zeros); ``target`` broadcasts
    silently.  Defaults ``full=False``, ``eps=1e-6``, ``reduction="mean"`` (over
    every element of the broadcast loss; no legacy arguments, no
    ``"elementwise_mean"``).

    **Gradient**: torch clamps ``var`` in place under ``no_grad``, so the clamp
    is transparent to autodiff: the gradient with respect to ``var`` is
    ``0.5 * (1/v - (input - target)**2 / v**2)`` evaluated at the clamped ``v``,
    also where ``var < eps`` (``var = 0``, ``d = 1`` gives about ``-5e11``), not
    the zero a clamp would give.  lossbridge reproduces this on every backend.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> mu, y = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 3.0]])
        >>> var = np.array([[1.0, 2.0], [0.0, 4.0]])
        >>> lb.torch.functional.gaussian_nll_loss(mu, y, var, reduction="none").round(6).tolist()
        [[0.125, 0.346574], [499993.092245, 0.693147]]

    See also: :class:`lossbridge.torch.GaussianNLLLoss`, :func:`poisson_nll_loss`.
    """
    if same_shape_fast(input, target) and plain_cpu_tensors(var):
        try:
            return sys.modules["torch"].nn.functional.gaussian_nll_loss(
                input, target, var, full=full, eps=eps, reduction=reduction)
        except Exception as e:
            native_failed(e, lambda: _gaussian_nll_loss_checked(
                input, target, var, full, eps, reduction))
    if (accelerator_tensors(input, target, var) and input.shape == target.shape == var.shape
            and reduction in ("none", "mean", "sum")
            and not sys.modules["torch"]._C._has_torch_function_variadic(input, target, var)):
        _deferred.begin()
        try:
            out = _gaussian_on_device(input, target, var, full, eps, reduction)
        except Exception as e:
            native_failed(e, lambda: _gaussian_nll_loss_checked(
                input, target, var, full, eps, reduction))
        _defer_var_sign(var, eps)
        return out
    return _gaussian_nll_loss_checked(input, target, var, full, eps, reduction)


def _gaussian_on_device(input: Any, target: Any, var: Any, full: bool, eps: float,
                        reduction: str) -> Any:
    """torch's ``gaussian_nll_loss`` after its checks (torch 2.13's own lines), for same-shape
    accelerator tensors: its sign test of ``var`` (``torch.any(var < 0)``, a host read) is
    :func:`_defer_var_sign`, which the caller stages.  The in-place clamp under ``no_grad`` is
    torch's: the generic formula of :func:`_gaussian_nll_loss_checked` emulates it with about
    a dozen kernels, this is five."""
    torch = sys.modules["torch"]
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _gaussian_nll_loss_checked(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Any:
    """:func:`gaussian_nll_loss` through lossbridge's checks (every array kind)."""
    ns = torch_namespace({"input": input, "target": target, "var": var})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    given = var
    var = _gaussian_var(ns, input, var, check_sign=not native(ns))
    if reduction not in ("none", "mean", "sum"):
        raise LossBridgeError(
            f"{reduction} is not valid. Use reduction='none', 'mean' or 'sum'."
        )
    if ns.xp.isdtype(var.dtype, "complex floating"):
        raise LossBridgeNotImplementedError(
            f"\"lt_cpu\" not implemented for '{torch_dtype_name(var)}'. `var` is a "
            f"{describe(given)}: variances must be real floating, convert them with .float()."
        )
    if not is_floating(ns, var):
        raise LossBridgeRuntimeError(
            "result type Float can't be cast to the desired output type long int. `var` is a "
            f"{describe(var)}: variances must be floating, convert them with .float()."
        )
    broadcast_shape(
        "gaussian_nll_loss", [("input", input), ("target", target), ("var", var)]
    )
    if not isinstance(given, float) and _deferred.on_accelerator(ns, var) and (
            check_level() == "cheap"):
        # torch's sign test (torch.any(var < 0)) is a host read: on accelerators the count of
        # negative entries goes to the host without waiting and raises at a later call; this
        # call computes below with them clamped to eps (the formula torch's function runs).
        # While torch.compile traces, nothing can be deferred: the formula below traces
        # (torch's own function does not: its sign test is data-dependent control flow).
        if is_concrete(var):
            _deferred.begin()
            _defer_var_sign(var, eps)
    elif native(ns):
        import torch

        try:  # torch checks var's sign itself: its ValueError, worded by lossbridge
            return torch.nn.functional.gaussian_nll_loss(
                input, target, var, full=full, eps=eps, reduction=reduction
            )
        except ValueError:
            _gaussian_var(ns, input, given)
            raise
    # max(var, eps) in value, var in gradient (torch's clamp_ under no_grad); an
    # infinite var passes no gradient (the torch value there is 0 as well).
    clamped = ops.stop_gradient(xp.clip(var, eps, None))
    with quiet(ns):  # inf - inf and log(inf): torch's values
        delta = var - ops.stop_gradient(var)
        v = clamped + xp.where(var == math.inf, xp.zeros_like(delta), delta)
        loss = 0.5 * (xp.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(ns, loss, reduction)


def _defer_var_sign(var: Any, eps: float) -> None:
    """:func:`gaussian_nll_loss`'s sign check of an accelerator ``var``, without a host read
    (:func:`lossbridge._deferred.raise_later`, after the caller's ``begin``): torch's
    ValueError, raised at a later call."""

    def fail(where: str, count: int, position: tuple[int, ...], value: Any) -> Exception:
        return LossBridgeError(
            f"var has negative entry/entries. (In the loss call at {where}, checked after "
            f"the device computed it: that call clamped them to eps={eps}.) `var` held "
            f"{count} negative values, the first {value!r} at position {list(position)}: "
            "variances must be >= 0 (a softplus or exp output layer keeps them positive)."
        )

    _deferred.raise_later(var.detach() < 0, var.detach(), fail)
    _deferred.commit()  # the call runs no diagnostics, which would commit at its end


# ------------------------------------------------------------------------ KL

_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size."
    "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
    "'mean' will be changed to behave the same as 'batchmean' in the next major release."
)


def kl_div(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Any:
    """torch's ``kl_div``: ``KL(target || model)`` with the model given as log-probabilities.

    ``input`` is ``log q`` (log-probabilities of the model, e.g. a
    ``log_softmax`` output); ``target`` is ``p`` (or ``log p`` with
    ``log_target=True``).  Element-wise on the broadcast arrays::

        log_target=False:  l = xlogy(p, p) - p * input     (0 where p == 0, NaN where p < 0)
        log_target=True:   l = exp(t) * (t - input)

    Reductions: ``"mean"`` (default) divides by the number of elements - not the
    KL divergence - and warns on every call, as torch does; ``"batchmean"``
    divides the sum by ``input.shape[0]`` (the batch size; a 0-d input is not
    divided, and torch applies this division even when the legacy
    ``size_average``/``reduce`` chose the reduction); ``"sum"``; ``"none"``.

    Edge values are torch's: ``p = 0`` with ``input = -inf`` gives NaN (``0 * inf``);
    with ``log_target=True``, ``t = -inf`` gives NaN.  Gradients are torch's:
    ``-p`` (``-exp(t)``) with respect to ``input``; with respect to ``p``,
    ``log(p) + p / p - input`` (torch's ``xlogy`` derivative: NaN where ``p == 0``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logq = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
        >>> p = np.array([[0.5, 0.5], [0.9, 0.1]])
        >>> round(float(lb.torch.functional.kl_div(logq, p, reduction="batchmean")), 6)
        0.255953

    See also: :class:`lossbridge.torch.KLDivLoss`, ``lossbridge.optax.kl_divergence``,
    ``lossbridge.keras.KLDivergence`` (argument order (y_true, y_pred), probabilities).
    """
    if (size_average is None and reduce is None and reduction in _KL_ENUM
            and same_shape_fast(input, target)):
        torch = sys.modules["torch"]
        try:
            out = torch.kl_div(input, target, _KL_ENUM[reduction], log_target=log_target)
        except Exception as e:
            native_failed(e, lambda: _kl_div_checked(
                input, target, None, None, reduction, log_target))
        if reduction == "mean":
            warn(_KL_MEAN_WARNING + " Pass reduction='batchmean' for the KL divergence. (LB030)",
                 LossBridgeReductionWarning)
        elif reduction == "batchmean" and input.dim() != 0:
            out = out / input.size(0)
        # No cheap finding of a same-shape call: LB006 (log-probabilities as the target) is a
        # "full" detector, which this path never runs (same_shape_fast), so nothing is read
        # here, on any device (torch's kl_div kernel has no device-side assert).
        return out
    return _kl_div_checked(input, target, size_average, reduce, reduction, log_target)


_KL_ENUM = {"mean": 1, "sum": 2, "batchmean": 2}  # torch's reduction enum of the kernel (batchmean: sum / N)


def _kl_div_checked(input: Any, target: Any, size_average: bool | None, reduce: bool | None, reduction: str,
                    log_target: bool) -> Any:
    """:func:`kl_div` through lossbridge's checks (every array kind)."""
    if size_average is not None or reduce is not None:
        base = legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warn(_KL_MEAN_WARNING + " Pass reduction='batchmean' for the KL divergence. (LB030)",
             LossBridgeReductionWarning)
        base = "mean"
    elif reduction == "batchmean":
        base = "sum"
    else:
        base = resolve_reduction(None, None, reduction)
    ns = torch_namespace({"input": input, "target": target})
    xp = ns.xp
    input = convert(ns, input)
    target = convert(ns, target, like=input)
    for name, x in (("input", input), ("target", target)):
        if not is_floating(ns, x):
            raise LossBridgeRuntimeError(
                f"kl_div: Integral inputs not supported. `{name}` is a {describe(x)}: convert it "
                "with .float() (input holds log-probabilities, target probabilities)."
            )
    broadcast_shape("kl_div", [("input", input), ("target", target)])
    check_call("torch:kl_div", ns, {"input": input, "target": target},
               {"reduction": reduction, "log_target": log_target})
    if native(ns):
        import torch

        out = torch.kl_div(input, target, {"none": 0, "mean": 1, "sum": 2}[base], log_target=log_target)
    elif log_target:
        with quiet(ns):  # exp(-inf) * -inf = NaN, as torch
            out = _reduce(ns, xp.exp(target) * (target - input), base)
    else:
        x, y = xp.broadcast_arrays(input, target)
        xs, ys = ops.stop_gradient(x), ops.stop_gradient(y)
        with quiet(ns):
            loss = ops.xlogy(ys, ys) - ys * xs
            # torch's derivatives: xlogy(y, y) -> xlogy(y != 0, y) + y / y; -y * x -> -x, -y
            grad_y = ops.xlogy(xp.astype(ys != 0, ys.dtype), ys) + ys / ys - xs
        loss = custom_gradient(loss, (x, -ys), (y, grad_y))
        out = _reduce(ns, loss, base)
    if reduction == "batchmean" and input.ndim != 0:
        with quiet(ns):  # an empty batch gives 0 / 0 = NaN, as torch
            out = out / input.shape[0]
    return out
