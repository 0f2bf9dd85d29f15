"""torch's ``reduction`` rules, written once for every loss of the torch dialect.

* ``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``; ``"elementwise_mean"`` is a
  deprecated alias of ``"mean"`` in the losses torch implements in C++ (a warning),
  and an error in the ones it implements in Python.
* The legacy ``size_average`` / ``reduce`` arguments override ``reduction`` when
  either is not None (a missing one counts as True): ``reduce=False`` -> ``"none"``,
  ``size_average=False`` -> ``"sum"``, both true -> ``"mean"``; with a warning.
* ``"mean"`` of an empty loss is NaN, as in torch.
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import Namespace, array_kind, quiet
from .._errors import LossBridgeError
from .._warnings import warn

__all__ = ["KERNEL_REDUCTION", "legacy_get_string", "reduce", "resolve_reduction", "safe_mean_divide"]

#: torch's ``_Reduction.get_enum`` for the reductions its kernels take.  The fast paths call a
#: kernel's binding (``torch._C._nn.mse_loss(input, target, enum)``) with it, as
#: ``torch.nn.functional`` does; ``"elementwise_mean"`` (deprecated: torch warns) and unknown
#: names go through ``torch.nn.functional``, which warns or raises.
KERNEL_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> str:
    """torch's ``_Reduction.legacy_get_string``: the reduction the legacy flags mean."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{ret}' instead."
        )
    return ret


def resolve_reduction(
    size_average: bool | None, reduce: bool | None, reduction: str, *, aten: bool = True
) -> str:
    """The effective reduction of a call, with torch's warnings and errors.

    ``aten=True`` for the losses torch implements in C++ (they accept the
    deprecated ``"elementwise_mean"``); False for the Python-implemented ones.
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    if reduction in ("none", "mean", "sum"):
        return reduction
    if reduction == "elementwise_mean" and aten:
        warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.")
        return "mean"
    raise LossBridgeError(
        f"{reduction} is not a valid value for reduction. Use 'none', 'mean' or 'sum'."
    )


def reduce(ns: Namespace, loss: Any, reduction: str) -> Any:
    """Apply ``"none"`` / ``"sum"`` / ``"mean"`` (mean over every element; NaN if empty)."""
    if reduction == "none":
        return loss
    xp = ns.xp
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    n = math.prod(loss.shape)
    if n == 0:
        return total * math.nan
    return total / n


def safe_mean_divide(ns: Namespace, total: Any, denominator: Any, count: Any) -> Any:
    """``total / denominator`` with torch's NaN rules for weighted means.

    When ``count`` (the number of non-ignored elements) is 0 the result is NaN with
    a zero gradient, as torch writes no gradient row; otherwise the plain division
    (``0 / 0`` when every weight is zero, NaN value and NaN gradient, as torch).
    """
    xp = ns.xp
    none = count == 0
    safe = xp.where(none, xp.ones_like(denominator), denominator)
    with quiet(ns):
        out = total / safe
    return xp.where(none, xp.full_like(out, math.nan), out)


def torch_size(x: Any) -> str:
    """A shape as torch prints it: ``torch.Size([4, 1])``, or ``[4, 1]`` for other arrays."""
    if array_kind(x) == "torch":
        return str(x.size())
    return str(list(x.shape))
