"""torch 2.13's ``linear_cross_entropy``: a linear layer followed by ``cross_entropy``.

This is the *reference* (unfused) computation: the logits ``input @ W.T + b`` are
materialised, then :func:`lossbridge.torch.functional.cross_entropy` runs on
them.  A memory-efficient chunked path may replace it later; the values are the
same by definition.  Re-exported by :mod:`lossbridge.torch.functional`.
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import get_namespace
from .._errors import LossBridgeRuntimeError
from ._common import native

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

    ``options`` (a ``torch.nn.LinearCrossEntropyOptions``) selects torch's chunked
    kernel on torch tensors; on other arrays the logits are computed in full
    (same values, more memory); with ``options`` on torch tensors, torch's own
    function runs and its errors are torch's.  ``input`` and ``linear_weight``
    must have one dtype.

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
    from .functional import cross_entropy

    ns = get_namespace(
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
    if input.dtype != linear_weight.dtype or (
        linear_bias is not None and linear_bias.dtype != input.dtype
    ):
        other = linear_weight if input.dtype != linear_weight.dtype else linear_bias
        raise LossBridgeRuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_c_dtype(input)} != "
            f"{_c_dtype(other)}. Convert the weights or the input, e.g. "
            "input.to(linear_weight.dtype)."
        )
    if options is not None and ns.kind == "torch":
        import torch

        return torch.nn.functional.linear_cross_entropy(
            input, linear_weight, target, linear_bias=linear_bias, weight=weight,
            reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing,
            options=options,
        )
    rows = math.prod(out_features) * num_classes
    w2 = xp.reshape(linear_weight, (rows, in_features))
    b2 = None if linear_bias is None else xp.reshape(linear_bias, (rows,))
    if native(ns):  # torch's reference path: F.linear, then cross_entropy (validated below)
        import torch

        logits = torch.nn.functional.linear(input, w2, b2)
    else:
        logits = xp.matmul(input, xp.matrix_transpose(w2))
        if b2 is not None:
            logits = logits + b2
    logits = xp.reshape(logits, logits_shape)
    return cross_entropy(
        logits, target, weight, reduction=reduction,
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
    )
