"""torch 2.13's ``linear_cross_entropy``: a linear layer followed by ``cross_entropy``.

On torch tensors and JAX arrays the loss runs on the memory-efficient fused path of
:mod:`lossbridge.fused` (the ``N x C`` logits never exist in full); on NumPy arrays, and
on torch tensors with native kernels switched off (the ``torch-generic`` test backend),
the logits are materialised and :func:`lossbridge.torch.functional.cross_entropy` runs
on them.  Both paths validate with cross_entropy's own checks, so values and errors are
the same.  Re-exported by :mod:`lossbridge.torch.functional`.
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import Namespace, describe, torch_namespace
from .._errors import LossBridgeError, LossBridgeRuntimeError, LossBridgeTypeError
from .._functorch import functorch_wrapped
from ._common import convert, native, torch_dtype_name
from ._reduction import resolve_reduction, safe_mean_divide

__all__ = ["linear_cross_entropy"]

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int"}


def _c_dtype(x: Any) -> str:
    name = str(x.dtype).replace("torch.", "")
    return _C_NAMES.get(name, name)


def linear_cross_entropy(
    input: Any,
    linear_weight: Any,
    target: Any,
    *,
    linear_bias: Any = None,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
) -> Any:
    """torch's ``linear_cross_entropy``: ``cross_entropy(input @ W.T + b, target)``.

    Shapes: ``input`` ``(in_features,)`` or ``(N, in_features)``;
    ``linear_weight`` ``(C, in_features)`` or ``(C, d1, ..., dK, in_features)``
    for a K-dimensional loss (batched input only); ``linear_bias`` ``(C,)`` or
    ``(C, d1, ..., dK)``.  The logits have shape ``(*batch, C, d1, ..., dK)``::

        logits = input @ linear_weight.reshape(C * d1 * ... * dK, in_features).T + bias
        loss   = cross_entropy(logits, target, weight, reduction=..., ignore_index=...,
                               label_smoothing=...)

    so every rule of :func:`cross_entropy` applies (index or probability
    targets, weighted ``"mean"`` divided by the sum of the targets' weights, NaN
    when every target is ignored, label smoothing).  ``ignore_index`` defaults to
    None, meaning -100 for index targets; it must stay None for probability
    targets (a target of the logits' shape).  Keyword-only options, as in torch.

    ``input`` and ``linear_weight`` must have one dtype.

    On torch tensors and JAX arrays the value and gradients come from
    :func:`lossbridge.fused.linear_cross_entropy`: the logits are computed block by
    block and never stored (peak extra memory: one block, about 128 MiB, instead of
    the logits and their gradient); a K-dimensional loss runs it once per position of
    ``(d1, ..., dK)``.  On NumPy arrays the logits are materialised (same values).
    Differences from torch's reference path, all deliberate:

    * float16/bfloat16 inputs are computed in float32 (GEMMs, log-sum-exp, sums) and
      the result is rounded once to the input dtype, so the value is *more* accurate
      than torch's (which rounds the logits to the input dtype); torch's own chunked
      path (``options=...``) returns a wrong value in bfloat16.
    * ``options`` (``torch.nn.LinearCrossEntropyOptions`` or None) never changes the
      value: only an explicit ``options.batch_chunk_size`` is used, as the rows per
      block; ``chunking_method``, ``acc_policy``, ``acc_dtype`` and
      ``allow_retain_graph`` are accepted and ignored (accumulation is always float32
      or better, and a second backward always works: it recomputes).
    * On torch tensors, double backward and forward-mode AD are not supported
      (``torch.autograd.Function`` with a once-differentiable backward; torch's chunked
      path has the same limits).  On JAX the loss is a ``jax.custom_jvp``: ``jax.jit``,
      ``jax.grad``, ``jax.vjp``, forward mode (``jax.jvp``, ``jacfwd``) and ``jax.hessian`` work.
    * When every class weight of the non-ignored targets is 0 (but some target is not
      ignored), ``'mean'`` is NaN as in torch, with zero gradients where torch's are NaN.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> W = np.array([[1.0, 2.0], [2.0, -1.0], [0.5, 0.0]])     # 3 classes
        >>> t = np.array([1, 0])
        >>> round(float(lb.torch.functional.linear_cross_entropy(x, W, t)), 6)
        0.317107
        >>> round(float(lb.torch.functional.cross_entropy(x @ W.T, t)), 6)
        0.317107

    See also: :class:`lossbridge.torch.LinearCrossEntropyLoss`, :func:`cross_entropy`.
    """
    from .functional import _cross_entropy_checks, cross_entropy

    ns = torch_namespace(
        {"input": input, "linear_weight": linear_weight, "target": target,
         "linear_bias": linear_bias, "weight": weight}
    )
    xp = ns.xp
    input = ns.asarray(input)
    linear_weight = ns.asarray(linear_weight)
    target = ns.asarray(target)
    linear_bias = ns.asarray(linear_bias)
    if input.ndim < 1 or input.ndim > 2:
        raise LossBridgeRuntimeError(
            f"expected input with dimensionality 1 or 2, got {input.ndim}. `input` has shape "
            f"{tuple(input.shape)}: give (in_features,) or (N, in_features); flatten extra "
            "dimensions into N."
        )
    if linear_weight.ndim < 2:
        raise LossBridgeRuntimeError(
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}. "
            "linear_weight is (C, in_features), as torch.nn.Linear(in_features, C).weight."
        )
    batch = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise LossBridgeRuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively. linear_weight is "
            "(C, in_features): if you passed Linear's weight transposed, use W.T."
        )
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise LossBridgeRuntimeError(
            f"expected linear_bias shape {(num_classes, *out_features)}, got "
            f"{tuple(linear_bias.shape)}."
        )
    if out_features and not batch:
        raise LossBridgeRuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}. Add a batch dimension: input[None]."
        )
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise LossBridgeRuntimeError(
            "ignore_index cannot be specified when target contains probabilities. A target of "
            f"the logits' shape {logits_shape} is read as class probabilities: leave "
            "ignore_index=None, or give class indices."
        )
    if input.dtype != linear_weight.dtype:
        raise LossBridgeRuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_c_dtype(input)} != "
            f"{_c_dtype(linear_weight)}. Convert the weights or the input, e.g. "
            "input.to(linear_weight.dtype)."
        )
    if linear_bias is not None and linear_bias.dtype != input.dtype:
        raise LossBridgeRuntimeError(
            f"self and mat2 must have the same dtype, but got {torch_dtype_name(linear_bias)} and "
            f"{torch_dtype_name(input)}. `linear_bias` is a {describe(linear_bias)} and `input` a "
            f"{describe(input)}: convert the bias, e.g. linear_bias.to(input.dtype)."
        )
    reduction = resolve_reduction(None, None, reduction)
    chunk = _options_chunk(options)
    ig = -100 if ignore_index is None else ignore_index
    # cross_entropy's own checks, on a stand-in of the logits (shape and dtype only).
    like = _logits_like(ns, logits_shape, input.dtype)
    prob, weight, label_smoothing = _cross_entropy_checks(
        ns, like, target, convert(ns, weight, like=like), ig, label_smoothing
    )
    # Under torch.func transforms (grad, vmap, jacfwd) the materialised logits: the fused
    # autograd.Function has no functorch rules (torch's own linear_cross_entropy works there).
    transformed = ns.kind == "torch" and any(
        functorch_wrapped(a) for a in (input, linear_weight, target, linear_bias, weight))
    if num_classes and (ns.kind == "jax" or native(ns)) and not transformed:
        return _fused(ns, input, linear_weight, target, linear_bias, weight, reduction, ig,
                      label_smoothing, chunk, prob)
    rows = math.prod(out_features) * num_classes
    w2 = xp.reshape(linear_weight, (rows, in_features))
    b2 = None if linear_bias is None else xp.reshape(linear_bias, (rows,))
    logits = xp.matmul(input, xp.matrix_transpose(w2))
    if b2 is not None:
        logits = logits + b2
    logits = xp.reshape(logits, logits_shape)
    return cross_entropy(
        logits, target, weight, reduction=reduction, ignore_index=ig,
        label_smoothing=label_smoothing,
    )


def _logits_like(ns: Namespace, shape: tuple[int, ...], dtype: Any) -> Any:
    """An array-like of the logits' shape and dtype that allocates nothing."""
    if ns.kind == "torch":
        import torch

        return torch.empty((), dtype=dtype, device=ns.device).expand(shape)
    if ns.kind == "jax":
        import jax

        return jax.ShapeDtypeStruct(shape, dtype)
    return ns.xp.broadcast_to(ns.xp.zeros((), dtype=dtype), shape)


def _options_chunk(options: Any) -> int | None:
    """Rows per block from ``options.batch_chunk_size`` (None: automatic)."""
    if options is None:
        return None
    if not hasattr(options, "batch_chunk_size"):
        raise LossBridgeTypeError(
            f"`options` must be None or a torch.nn.LinearCrossEntropyOptions, got "
            f"{describe(options)}. Pass options=None (the fused path runs either way)."
        )
    bcs = options.batch_chunk_size
    if bcs is None:
        return None
    if isinstance(bcs, bool) or not isinstance(bcs, int) or bcs < 1:
        raise LossBridgeError(
            f"`options.batch_chunk_size` must be None or a positive int (rows per block), got "
            f"{bcs!r}."
        )
    return bcs


def _fused(ns, input, linear_weight, target, linear_bias, weight, reduction, ig, eps, chunk, prob):
    """The validated call on :func:`lossbridge.fused.linear_cross_entropy`.

    Unbatched input becomes one row.  A K-dimensional loss (``linear_weight`` of shape
    ``(C, d1, ..., dK, D)``) is an ordinary one at each position k of ``(d1, ..., dK)``
    with weight ``linear_weight[:, k, :]`` (a view); the positions' per-sample losses
    are reduced together with torch's rules.
    """
    from ..fused import linear_cross_entropy as fused_lce

    xp = ns.xp
    num_classes, d = linear_weight.shape[0], linear_weight.shape[-1]
    out_features = tuple(linear_weight.shape[1:-1])
    dtype = xp.result_type(input.dtype, target.dtype) if prob else input.dtype
    unbatched = input.ndim == 1
    x = xp.reshape(input, (1, d)) if unbatched else input
    n = x.shape[0]
    kw = dict(ignore_index=ig, label_smoothing=eps, class_weight=weight, chunk_size=chunk)
    if not out_features:
        t = xp.reshape(target, (1, num_classes) if prob else (1,)) if unbatched else target
        loss = fused_lce(x, linear_weight, t, linear_bias, reduction=reduction, **kw)
        if unbatched and reduction == "none":
            loss = xp.reshape(loss, ())
        return xp.astype(loss, dtype)
    k_total = math.prod(out_features)
    w3 = xp.reshape(linear_weight, (num_classes, k_total, d))
    b2 = None if linear_bias is None else xp.reshape(linear_bias, (num_classes, k_total))
    t3 = xp.reshape(target, (n, num_classes, k_total) if prob else (n, k_total))
    parts = [
        fused_lce(x, w3[:, k, :], t3[:, :, k] if prob else t3[:, k],
                  None if b2 is None else b2[:, k], reduction="none", **kw)
        for k in range(k_total)
    ]
    loss = xp.stack(parts, axis=1)  # (N, K), in the compute dtype
    if reduction == "none":
        return xp.astype(xp.reshape(loss, (n, *out_features)), dtype)
    total = xp.sum(loss)
    if reduction == "sum":
        return xp.astype(total, dtype)
    if prob:
        count = denom = ns.asarray(float(n * k_total), dtype=loss.dtype)
    else:
        valid = xp.reshape(t3 != ig, (-1,))
        count = xp.sum(xp.astype(valid, loss.dtype))
        if weight is None:
            denom = count
        else:
            safe_t = xp.where(valid, xp.reshape(t3, (-1,)), xp.zeros_like(valid, dtype=t3.dtype))
            w_t = xp.take(xp.astype(weight, loss.dtype), safe_t, axis=0)  # class indices already
            denom = xp.sum(w_t * xp.astype(valid, loss.dtype))
    return xp.astype(safe_mean_divide(ns, total, denom, count), dtype)
