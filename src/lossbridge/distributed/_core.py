"""sum_and_count, global_mean and GradientAccumulator (no framework imported at import time)."""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from .. import _deferred
from .._backend import array_kind, describe
from .._errors import LossBridgeError, LossBridgeTypeError, LossBridgeWarning
from .._warnings import warn

__all__ = [
    "GradientAccumulator",
    "LossBridgeAccumulationWarning",
    "ce_denominator",
    "global_loss",
    "global_mean",
    "sum_and_count",
]


class LossBridgeAccumulationWarning(LossBridgeWarning):
    """Micro-batch losses that do not add up to the full-batch loss."""


# --------------------------------------------------------------------------- denominators


def _xp(x: Any) -> Any:
    if array_kind(x) == "torch":
        import torch

        return torch
    import array_api_compat

    return array_api_compat.array_namespace(x)


def ce_denominator(
    target: Any, weight: Any = None, ignore_index: int = -100, *, num_classes: int | None = None,
    like: Any = None,
) -> Any:
    r"""torch's ``'mean'`` denominator of ``cross_entropy`` / ``nll_loss`` (and the fused loss).

    Class-index ``target``: :math:`\sum_{i:\,t_i \ne \text{ignore}} w_{t_i}` (the number
    of non-ignored targets when ``weight`` is None).  Probability ``target`` (floating,
    class axis of length ``num_classes`` required): the number of elements divided by
    ``num_classes`` (torch ignores the class weights there).

    The result is a 0-d array of the kind of ``target`` and the floating dtype of
    ``like`` (or of ``weight``; else float32/the default float).  It depends on the
    targets only, so it can be computed before the forward pass (see
    :class:`GradientAccumulator`).

    Example:
        >>> import numpy as np
        >>> float(ce_denominator(np.array([0, 2, -100, 2]), np.array([1.0, 2.0, 3.0])))
        7.0
    """
    xp = _xp(target)
    torch_kind = array_kind(target) == "torch"
    dtype = getattr(like, "dtype", None) or getattr(weight, "dtype", None)
    is_float = (target.dtype.is_floating_point if torch_kind else xp.isdtype(target.dtype, "real floating"))
    if is_float:
        if num_classes is None:
            raise LossBridgeError(
                f"`target` holds class probabilities ({describe(target)}); the denominator is its "
                "number of elements divided by the number of classes. Pass num_classes=C."
            )
        n = math.prod(int(s) for s in target.shape) // max(1, int(num_classes))
        if torch_kind:
            import torch

            return torch.tensor(float(n), dtype=dtype or torch.get_default_dtype(),
                                device=target.device)
        return xp.asarray(float(n), dtype=dtype or xp.float32)
    valid = target != ignore_index
    if weight is None:
        if torch_kind:
            import torch

            return valid.sum().to(dtype or torch.get_default_dtype())
        return xp.astype(xp.sum(valid), dtype or xp.float32)  # bool sums to the default int
    safe = xp.where(valid, target, xp.zeros_like(target))
    if torch_kind:
        w = weight.detach()[safe.long()]
        return (w * valid.to(w.dtype)).sum().to(dtype or w.dtype)
    w = xp.take(weight, xp.reshape(safe, (-1,)))
    return xp.astype(xp.sum(w * xp.astype(xp.reshape(valid, (-1,)), w.dtype)), dtype or w.dtype)


def _numel_like(values: Any, like: Any) -> Any:
    n = float(math.prod(int(s) for s in values.shape))
    if array_kind(like) == "torch":
        import torch

        return torch.tensor(n, dtype=like.dtype, device=like.device)
    xp = _xp(like)
    return xp.asarray(n, dtype=like.dtype)


_CE_NAMES = ("cross_entropy", "nll_loss")
_CE_MODULES = ("CrossEntropyLoss", "NLLLoss", "NLLLoss2d")
_NOT_A_MEAN = ("ctc_loss", "CTCLoss")  # torch's 'mean' divides by the target lengths first


def _bind(fn: Callable[..., Any], args: tuple, kwargs: dict) -> inspect.BoundArguments:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise LossBridgeTypeError(f"sum_and_count: the arguments do not fit {fn!r}: {exc}.") from None
    bound.apply_defaults()
    return bound


def _check_mean(reduction: Any, what: str) -> None:
    if reduction not in ("mean", "sum_over_batch_size", "mean_with_sample_weight", "elementwise_mean"):
        raise LossBridgeError(
            f"sum_and_count({what}): `reduction` is {reduction!r}; sum_and_count splits a *mean* "
            "into (sum, denominator), so the call must use the loss's mean reduction. Leave "
            "`reduction` at its default (or 'mean' / 'sum_over_batch_size' / 'mean_with_sample_weight')."
        )


def sum_and_count(loss: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    r"""``(numerator, denominator)`` of a mean-reduced loss call, with the dialect's exact denominator.

    ``loss(*args, **kwargs) == numerator / denominator`` (up to rounding), and both add
    up across micro-batches and ranks: the full-batch mean is
    :math:`\sum_k \text{num}_k / \sum_k \text{den}_k` (see :func:`global_mean`).

    Supported losses and their denominators:

    * torch ``cross_entropy`` / ``nll_loss`` (``torch.nn.functional`` and
      ``lossbridge.torch.functional``) and ``CrossEntropyLoss`` / ``NLLLoss`` modules:
      :math:`\sum_{i \text{ not ignored}} w_{t_i}` (:func:`ce_denominator`); class
      probabilities: the number of samples (times spatial positions).
    * :func:`lossbridge.fused.linear_cross_entropy`: the same (without
      ``num_items_in_batch``, which already is a global denominator).
    * every other torch loss (function or module, torch's or the torch dialect's) whose
      ``'mean'`` is the mean of its ``'none'`` output: the number of elements of that
      output (``ctc_loss`` is refused: its mean divides by target lengths first).
    * Keras dialect losses (``lossbridge.keras``): ``"sum_over_batch_size"`` -> the number of
      elements of the per-sample loss, or the number of unmasked ones with a mask;
      ``"mean_with_sample_weight"`` -> the sum of the sample weights (mask merged).
    * tf.keras 2 dialect losses (``lossbridge.tf_keras``, ``"auto"`` or
      ``"sum_over_batch_size"``): the number of elements of the per-sample loss, or of the
      unmasked ones (tf.keras rescales the mask by size / count); sample weights are in the
      numerator only.
    * the loss *functions* of ``lossbridge.keras``, ``lossbridge.tf_keras``,
      ``lossbridge.optax`` and ``lossbridge.theano``, which return unreduced values (per
      sample or per element): the sum of the values over their number of elements
      (``jnp.mean`` of the output).  optax's ``ntxent`` and ``ranking_softmax_loss``, which
      reduce themselves, are refused.

    With :func:`global_mean` this gives each framework's mean over the *global* batch; for
    Keras that is ``sum_over_batch_size`` over every replica's samples.  Keras itself divides
    by the replica's own count and, on the TensorFlow backend under ``tf.distribute``,
    scales each replica's mean by 1/replicas: a mean of means, not the global mean, when
    masks or sample weights differ between replicas.  :func:`global_loss` does both steps
    in one call.

    The denominator never carries a gradient.

    Raises:
      LossBridgeError: the call does not use a mean reduction, or ``num_items_in_batch``
        is given to the fused loss.
      LossBridgeTypeError: a loss this function does not know.

    Example:
        >>> import torch
        >>> x, y = torch.randn(4, 3), torch.tensor([0, 1, -100, 2])
        >>> w = torch.tensor([1.0, 2.0, 0.5])
        >>> num, den = sum_and_count(torch.nn.functional.cross_entropy, x, y, weight=w)
        >>> float(den)
        3.5
        >>> bool(torch.allclose(num / den, torch.nn.functional.cross_entropy(x, y, weight=w)))
        True
    """
    from ..fused import linear_cross_entropy as fused_lce
    from ..keras._loss import Loss as KerasLoss

    if loss is fused_lce:
        return _fused(loss, args, kwargs)
    if isinstance(loss, KerasLoss):
        if _is_tf_keras_loss(loss):
            return _tf_keras(loss, args, kwargs)
        return _keras(loss, args, kwargs)
    per_element = _per_element_dialect(loss)
    if per_element:
        return _unreduced(loss, per_element, args, kwargs)
    if isinstance(loss, type):
        raise LossBridgeTypeError(
            f"sum_and_count got the class {loss.__name__}; pass an instance ({loss.__name__}()) or a function."
        )
    name = getattr(loss, "__name__", None) or type(loss).__name__
    if name in _NOT_A_MEAN:
        raise LossBridgeError(
            f"sum_and_count({name}): torch's ctc_loss 'mean' divides each sequence by its target "
            "length before averaging, so it has no (sum, count) split. Use reduction='sum' and "
            "your own normaliser."
        )
    if hasattr(loss, "reduction") and not inspect.isfunction(loss):  # a loss module
        _check_mean(loss.reduction, name)
        if name in _CE_MODULES:
            m = copy.copy(loss)
            m.reduction = "sum"
            inp, target = _two(args, kwargs, name)
            num = m(*args, **kwargs)
            den = ce_denominator(target, getattr(loss, "weight", None), loss.ignore_index,
                                 num_classes=_classes(inp), like=num)
            return num, den
        m = copy.copy(loss)
        m.reduction = "none"
        out = m(*args, **kwargs)
        return _sum(out), _numel_like(out, _sum(out))
    if callable(loss) and "reduction" in _params(loss):
        bound = _bind(loss, args, kwargs)
        if bound.arguments.get("size_average") is not None or bound.arguments.get("reduce") is not None:
            raise LossBridgeError(
                f"sum_and_count({name}): pass `reduction`, not the deprecated size_average/reduce."
            )
        _check_mean(bound.arguments["reduction"], name)
        if name in _CE_NAMES:
            bound.arguments["reduction"] = "sum"
            num = loss(*bound.args, **bound.kwargs)
            den = ce_denominator(bound.arguments["target"], bound.arguments.get("weight"),
                                 bound.arguments.get("ignore_index", -100),
                                 num_classes=_classes(bound.arguments["input"]), like=num)
            return num, den
        bound.arguments["reduction"] = "none"
        out = loss(*bound.args, **bound.kwargs)
        total = _sum(out)
        return total, _numel_like(out, total)
    raise LossBridgeTypeError(
        f"sum_and_count does not know the loss {loss!r}. It takes torch losses (functions with a "
        "`reduction` argument or loss modules), the losses of lossbridge.keras, lossbridge.tf_keras, "
        "lossbridge.optax and lossbridge.theano, and lossbridge.fused.linear_cross_entropy. For "
        "another loss that returns per-element values, use (values.sum(), number of elements) "
        "yourself."
    )


#: Modules whose public loss *functions* return unreduced values (per sample or per element):
#: the mean a user takes of them is their sum over their number of elements.
_PER_ELEMENT_MODULES = ("lossbridge.keras", "lossbridge.tf_keras", "lossbridge.optax", "lossbridge.theano")
#: Functions of those modules that are not per-element losses, with what to do instead.
_NOT_PER_ELEMENT = {
    "ntxent": "optax's ntxent already returns the mean over its positive pairs (a 0-d value)",
    "ranking_softmax_loss": "optax's ranking_softmax_loss reduces with `reduce_fn` over the lists "
                            "that have a relevant item",
    "smooth_labels": "smooth_labels returns labels, not a loss",
    "make_fenchel_young_loss": "make_fenchel_young_loss builds a loss; pass the loss it returns",
    "ctc_loss_with_forward_probs": "it returns a tuple; use ctc_loss",
}


def _per_element_dialect(loss: Any) -> str:
    """The dialect module of a per-element loss function ('' when ``loss`` is not one)."""
    if isinstance(loss, type) or not callable(loss):
        return ""
    module = getattr(loss, "__module__", None) or ""
    for prefix in _PER_ELEMENT_MODULES:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return ""


def _unreduced(loss: Any, dialect: str, args: tuple, kwargs: dict) -> tuple[Any, Any]:
    name = getattr(loss, "__name__", type(loss).__name__)
    if name in _NOT_PER_ELEMENT:
        raise LossBridgeTypeError(
            f"sum_and_count({dialect}.{name}): {_NOT_PER_ELEMENT[name]}, so it has no (sum, count) "
            "split here. Call the loss without reduction and pass (values.sum(), count) yourself."
        )
    out = loss(*args, **kwargs)
    if isinstance(out, tuple) or not hasattr(out, "shape"):
        raise LossBridgeTypeError(
            f"sum_and_count({dialect}.{name}): the loss returned {type(out).__name__}, not an array "
            "of per-element values."
        )
    total = _sum(out)
    return total, _numel_like(out, total)


def _is_tf_keras_loss(loss: Any) -> bool:
    import sys

    mod = sys.modules.get("lossbridge.tf_keras._loss")
    return mod is not None and isinstance(loss, mod.Loss)


def _params(fn: Any) -> Sequence[str]:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def _two(args: tuple, kwargs: dict, name: str) -> tuple[Any, Any]:
    vals = list(args) + [kwargs[k] for k in ("input", "target") if k in kwargs]
    if len(vals) < 2:
        raise LossBridgeTypeError(f"sum_and_count({name}) needs (input, target).")
    return vals[0], vals[1]


def _classes(inp: Any) -> int:
    return int(inp.shape[1] if inp.ndim >= 2 else inp.shape[0])


def _sum(x: Any) -> Any:
    if array_kind(x) == "torch":
        return x.sum()
    return _xp(x).sum(x)


def _fused(loss: Any, args: tuple, kwargs: dict) -> tuple[Any, Any]:
    bound = _bind(loss, args, kwargs)
    a = bound.arguments
    _check_mean(a["reduction"], "linear_cross_entropy")
    if a["num_items_in_batch"] is not None:
        raise LossBridgeError(
            "sum_and_count(linear_cross_entropy): `num_items_in_batch` is already a global "
            "denominator; drop it and let global_mean / GradientAccumulator sum the local ones."
        )
    if a["return_lse"]:
        raise LossBridgeError("sum_and_count(linear_cross_entropy): return_lse=True is not supported.")
    a["reduction"] = "sum"
    num = loss(*bound.args, **bound.kwargs)
    target, v = a["target"], int(a["weight"].shape[0])
    return num, ce_denominator(target, a["class_weight"], a["ignore_index"], num_classes=v, like=num)


def _keras(loss: Any, args: tuple, kwargs: dict) -> tuple[Any, Any]:
    from ..keras._loss import (
        apply_mask,
        convert_to_tensor,
        namespace_of,
        reduce_weighted_values,
        squeeze_or_expand_to_same_rank,
        standardize_reduction,
    )

    reduction = standardize_reduction(loss.reduction)
    _check_mean(reduction, type(loss).__name__)
    sig = inspect.signature(type(loss).__call__).bind(loss, *args, **kwargs)
    sig.apply_defaults()
    y_true, y_pred, sample_weight = sig.arguments["y_true"], sig.arguments["y_pred"], sig.arguments["sample_weight"]
    ns = namespace_of(y_true=y_true, y_pred=y_pred, sample_weight=sample_weight)
    xp = ns.xp
    in_mask = getattr(y_pred, "_keras_mask", None)
    y_pred = convert_to_tensor(ns, y_pred, loss.dtype)
    y_true = convert_to_tensor(ns, y_true, loss.dtype)
    values, out_mask = loss._call_with_mask(y_true, y_pred)
    if in_mask is not None and out_mask is not None:
        mask = ns.asarray(in_mask) & out_mask
    else:
        mask = ns.asarray(in_mask) if in_mask is not None else out_mask
    num = reduce_weighted_values(ns, values, sample_weight=sample_weight, mask=mask, reduction="sum",
                                 dtype=loss.dtype)
    if tuple(values.shape) == ():
        return num, xp.ones_like(num)
    if reduction == "mean_with_sample_weight" and (sample_weight is not None or mask is not None):
        sw = None if sample_weight is None else convert_to_tensor(ns, sample_weight, loss.dtype)
        sw = apply_mask(ns, sw, mask, values.dtype, reduction, sample_weight)
        return num, xp.astype(xp.sum(sw), num.dtype)
    if mask is not None:
        bool_mask = xp.astype(mask, xp.bool) if mask.dtype != xp.bool else mask
        fm = xp.astype(bool_mask, values.dtype)
        v2, fm = squeeze_or_expand_to_same_rank(values, fm, xp=xp)
        return num, xp.astype(xp.sum(xp.zeros_like(v2) + fm), num.dtype)
    v = values
    if sample_weight is not None:
        v, _ = squeeze_or_expand_to_same_rank(values, convert_to_tensor(ns, sample_weight, loss.dtype), xp=xp)
    return num, _numel_like(v, num)


def _tf_keras(loss: Any, args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """tf.keras 2's ``"auto"``/``"sum_over_batch_size"``: the weighted, masked sum over the number
    of elements of the per-sample loss (of the unmasked ones when a mask applies)."""
    from ..keras import _loss as k
    from ..tf_keras._loss import _align, compute_weighted_loss

    reduction = "sum_over_batch_size" if loss.reduction == "auto" else loss.reduction
    _check_mean(reduction, type(loss).__name__)
    sig = inspect.signature(type(loss).__call__).bind(loss, *args, **kwargs)
    sig.apply_defaults()
    sample_weight = sig.arguments["sample_weight"]
    ns, losses, mask = loss.losses_and_mask(sig.arguments["y_true"], sig.arguments["y_pred"], sample_weight)
    xp = ns.xp
    with k.using_flavor("tf_keras"):
        weighted = compute_weighted_loss(ns, losses, sample_weight, mask, "none")
    num = xp.sum(weighted)
    if mask is None:
        return num, _numel_like(weighted, num)
    fm = _align(ns, xp.astype(ns.asarray(mask), weighted.dtype), losses, "mask")
    return num, xp.sum(xp.zeros_like(weighted) + fm)


# --------------------------------------------------------------------------- global mean


def _torch_world(group: Any) -> tuple[bool, int]:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        if group is not None:
            raise LossBridgeError(
                "global_mean got a process `group` but torch.distributed is not initialised; call "
                "torch.distributed.init_process_group(...) first (or pass group=None on one process)."
            )
        return False, 1
    return True, dist.get_world_size(group)


def global_mean(
    numerator: Any, denominator: Any, group: Any = None, *, axis_name: Any = None, average_grads: bool = True,
) -> Any:
    r"""The mean over every rank: :math:`\sum_r \text{num}_r / \sum_r \text{den}_r`.

    **torch** (``group``: a ``torch.distributed`` process group, default the world; on a
    single process without ``init_process_group`` it is ``numerator / denominator``):
    one ``all_reduce`` of the pair ``(numerator.detach(), denominator)``.  The result's
    **value** is the global mean on every rank.  Its **gradient** on rank :math:`r` is
    :math:`P\, \nabla \text{num}_r / D` (:math:`D = \sum_r \text{den}_r`, :math:`P` = world
    size) with ``average_grads=True`` (default): DDP and FSDP *average* gradients over
    ranks, so after their all-reduce the gradient is
    :math:`\sum_r \nabla \text{num}_r / D`, exactly the full-batch gradient.  Pass
    ``average_grads=False`` when you sum gradients yourself (``all_reduce(SUM)`` without
    dividing, or no data parallelism on the parameters).  The denominator gets no
    gradient.  A global denominator of 0 gives NaN (torch's empty mean) and zero gradients.

    **JAX** with ``axis_name`` (inside ``shard_map`` / ``pmap``):
    ``psum(numerator) / psum(stop_gradient(denominator))``; under ``shard_map`` the
    gradient of replicated parameters is then the full-batch gradient (no ``pmean`` of the
    gradients needed: shard_map's transpose of the replication sums them).  Under ``pmap``
    each device's gradient is :math:`P` times its share, so the usual data-parallel
    ``lax.pmean(grads, axis_name)`` gives the full-batch gradient.  Without
    ``axis_name`` (plain ``jax.jit``, sharded or not), the arrays are already global:
    ``numerator / denominator``.

    Example:
        >>> import torch
        >>> num, den = torch.tensor(6.0), torch.tensor(3.0)
        >>> float(global_mean(num, den))          # one process: 6 / 3
        2.0
    """
    if array_kind(numerator) == "torch":
        import torch

        on, world = _torch_world(group)
        den = torch.as_tensor(denominator, device=numerator.device).detach().to(numerator.dtype)
        if not on:
            return _div0(numerator, den)
        import torch.distributed as dist

        stats = torch.stack([numerator.detach(), den])
        dist.all_reduce(stats, op=dist.ReduceOp.SUM, group=group)
        gnum, gden = stats[0], stats[1]
        scale = float(world) if average_grads else 1.0
        local = _div0(numerator * scale, gden)
        return local - local.detach() + _div0(gnum, gden)
    if axis_name is not None:
        import jax
        from jax import lax

        num = lax.psum(numerator, axis_name)
        den = lax.psum(jax.lax.stop_gradient(denominator), axis_name)
        return num / den
    if group is not None:
        raise LossBridgeTypeError(
            f"global_mean: `group` is a torch.distributed argument but `numerator` is a "
            f"{describe(numerator)}; for JAX pass axis_name=... inside shard_map/pmap."
        )
    xp = _xp(numerator)
    return numerator / xp.astype(xp.asarray(denominator), numerator.dtype)


def global_loss(
    loss: Any, *args: Any, group: Any = None, axis_name: Any = None, average_grads: bool = True, **kwargs: Any,
) -> Any:
    r"""``loss(*args, **kwargs)`` with its mean taken over every rank: ``global_mean(*sum_and_count(...))``.

    The loss's exact semantics (see :func:`sum_and_count` for the supported losses and
    their denominators) over the union of every rank's batch:
    :math:`\sum_r \text{num}_r / \sum_r \text{den}_r`.  ``group``, ``axis_name`` and
    ``average_grads`` are those of :func:`global_mean`; the other arguments go to ``loss``.
    On one process without ``torch.distributed`` (or without ``axis_name`` in JAX) it
    equals ``loss(*args, **kwargs)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y, p = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.2, 0.8], [0.6, 0.4]])
        >>> cce = lb.keras.CategoricalCrossentropy()
        >>> bool(np.isclose(global_loss(cce, y, p, sample_weight=np.array([1.0, 0.0])), cce(y, p, sample_weight=np.array([1.0, 0.0]))))
        True
    """
    num, den = sum_and_count(loss, *args, **kwargs)
    return global_mean(num, den, group, axis_name=axis_name, average_grads=average_grads)


def _div0(num: Any, den: Any) -> Any:
    """num / den; NaN with zero gradient when den == 0 (torch's empty mean)."""
    import torch

    zero = den == 0
    out = num / torch.where(zero, torch.ones_like(den), den)
    return torch.where(zero, torch.full_like(out, math.nan), out)


# --------------------------------------------------------------------------- accumulation


class GradientAccumulator:
    r"""Weights for the micro-batches of one optimiser step, so the accumulated gradient is exact.

    Give it the denominators of **all** micro-batches of this step on this rank (from the
    targets alone, e.g. :func:`ce_denominator`, before any forward pass; numbers or 0-d
    arrays).  It sums them and, when ``torch.distributed`` is initialised (on ``group``,
    default the world), all-reduces the total once: :math:`D`.  Then
    for micro-batch :math:`k` with numerator :math:`\text{num}_k`
    (:func:`sum_and_count`), ``acc.scale(num_k)`` is
    :math:`P\,\text{num}_k / D` (``average_grads=True``, for DDP/FSDP, which average over
    the :math:`P` ranks) or :math:`\text{num}_k / D`; backward on each and the accumulated
    (and DDP-averaged) gradient is the gradient of the full-batch mean
    :math:`\sum_{r,k} \text{num}_{rk} / D`.  Also for JAX/NumPy numbers (no group).

    torch tensor denominators stay on their device in float64 (``total`` is a 0-d tensor,
    the all-reduce runs on that device, as NCCL requires): nothing is read on the host, so
    on an accelerator the accumulator costs no synchronisation; numbers are summed on the
    host (``total`` is a float; under NCCL the all-reduce uses the current CUDA device).

    ``acc.scale_mean(mean_k, k)`` accepts a micro-batch loss that is already a *mean*
    and reweights it by its denominator: :math:`P\,\text{mean}_k\,\text{den}_k / D`.

    Diagnostics (:class:`LossBridgeAccumulationWarning`): :meth:`finish` warns when fewer
    or more micro-batches went through :meth:`scale` than were declared (a loss that
    bypassed the accumulator is normalised wrongly), and :meth:`scale` warns when its
    ``denominator`` differs from the declared one.  :meth:`check_means` warns when
    per-micro-batch means would be averaged with uneven denominators.

    Example:
        >>> import torch
        >>> x = torch.randn(6, 3, requires_grad=True)
        >>> y = torch.tensor([0, 1, -100, 2, -100, -100])
        >>> F = torch.nn.functional
        >>> acc = GradientAccumulator([ce_denominator(y[:3]), ce_denominator(y[3:])])
        >>> for s in (slice(0, 3), slice(3, 6)):
        ...     num, den = sum_and_count(F.cross_entropy, x[s], y[s])
        ...     acc.scale(num, den).backward()
        >>> acc.finish()
        >>> g = x.grad.clone(); x.grad = None
        >>> F.cross_entropy(x, y).backward()
        >>> bool(torch.allclose(g, x.grad))
        True
    """

    def __init__(self, denominators: Sequence[Any], group: Any = None, *, average_grads: bool = True) -> None:
        dens = list(denominators)
        if not dens:
            raise LossBridgeError("GradientAccumulator needs the denominators of at least one micro-batch.")
        for d in dens:
            _check_denominator(d)
        self._seen = 0
        self.world_size = 1
        tensors = [d for d in dens if array_kind(d) == "torch"]
        on = False
        if group is not None or tensors or _torch_dist_on():
            on, world = _torch_world(group)
        if tensors:
            # On the denominators' device, in float64, never read on the host: on an
            # accelerator this costs no synchronisation, and NCCL all-reduces device tensors.
            import torch

            dev = tensors[0].device
            self._dens: list[Any] = [torch.as_tensor(d.detach() if hasattr(d, "detach") else float(d), device=dev)
                          .to(torch.float64) for d in dens]
            total = torch.stack(self._dens).sum()
            if on:
                import torch.distributed as dist

                total = total.reshape(1)
                dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
                total = total[0]
                self.world_size = world
            self.total: Any = total
            scale = float(self.world_size if average_grads else 1)
            self._factor: Any = torch.where(total != 0, scale / torch.where(total != 0, total, 1.0),
                                            torch.full_like(total, math.nan))
            return
        self._dens = [_as_float(d) for d in dens]
        local = math.fsum(self._dens)
        self.total = local
        if on:
            import torch
            import torch.distributed as dist

            t = torch.tensor([local], dtype=torch.float64, device=_collective_device(group))
            dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
            self.total = float(t[0])
            self.world_size = world
        self._factor = (self.world_size if average_grads else 1) / self.total if self.total else math.nan

    def scale(self, numerator: Any, denominator: Any = None) -> Any:
        """``numerator * world / D`` (see the class docstring); counts the micro-batch.

        With ``denominator``, warns when it differs from the declared one (on accelerator
        tensors the comparison runs at a later lossbridge call, without a host read)."""
        k = self._seen
        self._seen += 1
        if denominator is not None and k < len(self._dens):
            self._compare(k, denominator)
        factor = self._factor
        if array_kind(numerator) == "torch" and array_kind(factor) == "torch":
            factor = factor.to(numerator.dtype)
        return numerator * factor

    def _compare(self, k: int, denominator: Any) -> None:
        declared = self._dens[k]

        def differ(d: float, want: float) -> None:
            if not math.isclose(d, want, rel_tol=1e-6, abs_tol=1e-9):
                warn(
                    f"GradientAccumulator.scale: micro-batch {k} has denominator {d:g} but "
                    f"{want:g} was declared; the accumulated gradient will not be the "
                    "full-batch gradient. Declare the denominators of the micro-batches in the "
                    "order they are scaled.",
                    LossBridgeAccumulationWarning,
                )

        device = getattr(declared, "device", None) or getattr(denominator, "device", None)
        if device is not None and device.type in _deferred.ACCELERATOR_DEVICE_TYPES:
            import torch

            given = torch.as_tensor(denominator).detach().to(device=device, dtype=torch.float64)
            pair = torch.stack([given.reshape(()), torch.as_tensor(declared, device=device, dtype=torch.float64)])

            def later(host: dict[str, Any], where: str) -> None:
                d, want = (float(v) for v in host["pair"].numpy())
                differ(d, want)

            _deferred.defer(later, {"pair": pair})
            _deferred.commit()
            return
        differ(_as_float(denominator), _as_float(declared))

    def scale_mean(self, mean: Any, k: int) -> Any:
        """A micro-batch *mean* loss reweighted by its declared denominator ``k``."""
        self._seen += 1
        weight = self._dens[k] * self._factor
        if array_kind(mean) == "torch" and array_kind(weight) == "torch":
            weight = weight.to(mean.dtype)
        return mean * weight

    def finish(self) -> None:
        """Warn when the number of scaled micro-batches differs from the declared one."""
        if self._seen != len(self._dens):
            warn(
                f"GradientAccumulator: {len(self._dens)} micro-batches were declared but "
                f"{self._seen} went through scale(); a micro-batch loss that bypasses the "
                "accumulator (e.g. loss.mean() / steps) is normalised by its own count, so the "
                "accumulated gradient is not the full-batch gradient.",
                LossBridgeAccumulationWarning,
            )
        self._seen = 0

    @staticmethod
    def check_means(denominators: Sequence[Any]) -> None:
        """Warn if averaging per-micro-batch means over these denominators is not the full mean."""
        d = [_as_float(x) for x in denominators]
        if len(set(d)) > 1:
            warn(
                f"Micro-batch means with uneven denominators {d}: their average is not the "
                "full-batch mean ((x1/n1 + x2/n2)/2 != (x1+x2)/(n1+n2)). Use "
                "lossbridge.distributed.sum_and_count with GradientAccumulator.",
                LossBridgeAccumulationWarning,
            )

    def __enter__(self) -> GradientAccumulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.finish()


def _torch_dist_on() -> bool:
    """torch.distributed is initialised (without importing torch when it is not loaded)."""
    import sys

    if "torch" not in sys.modules:
        return False
    import torch.distributed as dist

    return bool(dist.is_available() and dist.is_initialized())


def _check_denominator(x: Any) -> None:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return
    if getattr(x, "shape", None) in ((), (1,)) and not isinstance(x, (str, bytes)):
        return
    raise LossBridgeTypeError(f"a denominator must be a number or a 0-d array, got {describe(x)}.")


def _collective_device(group: Any) -> Any:
    """The device a collective of this group takes: CUDA for NCCL, else the CPU."""
    import torch
    import torch.distributed as dist

    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _as_float(x: Any) -> float:
    if hasattr(x, "detach"):
        x = x.detach()
    try:
        return float(x)
    except TypeError:
        raise LossBridgeTypeError(f"a denominator must be a number or a 0-d array, got {describe(x)}.") from None
