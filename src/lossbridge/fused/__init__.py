r"""Memory-efficient fused linear + cross-entropy (the LM-head loss without the logits).

:func:`linear_cross_entropy` computes cross-entropy over ``input @ weight.T + bias``
block by block, so the ``N x V`` logits never exist in full: peak extra memory is one
block of logits (about 128 MiB by default) instead of 3x the logits.  It runs on torch
tensors (a custom :class:`torch.autograd.Function`) and on JAX arrays (a
:func:`jax.custom_vjp`, usable under :func:`jax.jit` and :func:`jax.grad`); the
framework is imported only when its array arrives.

:func:`torch_linear_cross_entropy` is the same engine behind torch 2.13's
``torch.nn.functional.linear_cross_entropy`` signature and semantics.

Example:
    >>> import torch
    >>> from lossbridge.fused import linear_cross_entropy
    >>> _ = torch.manual_seed(0)
    >>> h = torch.randn(6, 4, requires_grad=True)        # hidden states (N, D)
    >>> W = torch.randn(10, 4, requires_grad=True)       # LM head (V, D)
    >>> y = torch.tensor([1, 2, 3, -100, 4, 5])          # -100 is ignored
    >>> loss = linear_cross_entropy(h, W, y)
    >>> ref = torch.nn.functional.cross_entropy(h @ W.T, y)
    >>> bool(torch.allclose(loss, ref))
    True
    >>> loss.backward()
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import array_kind, describe, is_concrete
from .._errors import (
    LossBridgeError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from ._common import (
    check_arrays,
    check_num_items,
    check_options,
    raise_out_of_range,
)

__all__ = ["linear_cross_entropy", "torch_linear_cross_entropy"]


def linear_cross_entropy(
    input: Any,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_weight: Any = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
    num_items_in_batch: Any = None,
    return_lse: bool = False,
    chunk_size: int | None = None,
) -> Any:
    r"""Cross-entropy of ``input @ weight.T + bias`` without materialising the logits.

    For token :math:`i` with hidden state :math:`x_i` (a row of ``input``), target class
    :math:`t_i`, class weights :math:`w` (``class_weight``, ones if None),
    :math:`C = V` classes, :math:`\varepsilon` = ``label_smoothing`` and
    :math:`\zeta` = ``z_loss``:

    .. math::

        z_i &= \mathrm{cap}(x_i W^\top + b), \qquad
            \mathrm{cap}(u) = s\,\tanh(u / s) \ \text{if softcap} = s \text{ else } u \\
        \mathrm{lse}_i &= \log \textstyle\sum_c e^{z_{ic}} \\
        \ell_i &= (1-\varepsilon)\, w_{t_i} (\mathrm{lse}_i - z_{i t_i})
              + \tfrac{\varepsilon}{C} \textstyle\sum_c w_c (\mathrm{lse}_i - z_{ic})
              + \zeta\, \mathrm{lse}_i^2

    and :math:`\ell_i = 0` where :math:`t_i` = ``ignore_index``.  With
    ``z_loss = softcap = 0/None`` this is exactly ``torch.nn.functional.cross_entropy(
    input @ weight.T + bias, target, weight=class_weight, ignore_index=ignore_index,
    label_smoothing=label_smoothing, reduction=reduction)``, including torch's rules:

    * ``'mean'`` = :math:`\sum_i \ell_i / \sum_{i \text{ not ignored}} w_{t_i}` (a weighted
      mean; the count of non-ignored tokens without class weights).  Every token ignored
      (or an empty batch) gives **NaN** and zero gradients, like torch.
    * ``'sum'`` = :math:`\sum_i \ell_i`; ``'none'`` = :math:`\ell_i`, shape ``input.shape[:-1]``.
    * Label smoothing weights the uniform part by each class's own weight
      (torch's rule, pytorch#104776) and shares the ``'mean'`` denominator.
    * The z-loss term is added per non-ignored token *without* the class weight and shares
      the same denominator (so ``'mean'`` = ``'sum'`` / denominator always holds).

    ``num_items_in_batch`` (the global normaliser of gradient accumulation / data
    parallelism, as in HF transformers): when given, the value is
    :math:`\sum_i \ell_i / \text{num\_items\_in\_batch}` for ``reduction='sum'`` *and*
    ``'mean'`` (it replaces the local denominator); with ``'none'`` it is an error.

    Also accepted: class probabilities as ``target`` (float, shape
    ``input.shape[:-1] + (V,)``); then :math:`\ell_i = \sum_c w_c ((1-\varepsilon) y_{ic}
    + \varepsilon/C)(\mathrm{lse}_i - z_{ic}) + \zeta\,\mathrm{lse}_i^2`, nothing is ignored
    and ``'mean'`` divides by the number of tokens (torch's rule for probability targets).

    Args:
      input: hidden states, shape ``(..., D)``, floating point (float16, bfloat16,
        float32, float64).  Leading dimensions are flattened into ``N`` tokens.
      weight: output projection, shape ``(V, D)`` (``nn.Linear(D, V).weight``), same dtype
        as ``input``.
      target: class indices, integer, shape ``input.shape[:-1]``, each in ``[0, V)`` or
        equal to ``ignore_index``; or class probabilities (see above).
      bias: optional, shape ``(V,)``, same dtype as ``input``.
      ignore_index: target value that contributes neither loss nor gradient. Default -100.
      reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
      label_smoothing: :math:`\varepsilon \in [0, 1]`. Default 0.
      class_weight: optional per-class weights, shape ``(V,)`` (torch's ``weight``);
        treated as a constant (it receives no gradient).
      z_loss: :math:`\zeta \ge 0`, coefficient of :math:`\mathrm{lse}^2` (PaLM: 1e-4). Default 0.
      softcap: optional :math:`s > 0`: logits become :math:`s\tanh(z/s)` (Gemma 2: 30).
      num_items_in_batch: optional positive number or 0-d array; see above.
      return_lse: also return :math:`\mathrm{lse}_i` for every token (ignored ones
        included), shape ``input.shape[:-1]``; it is differentiable.
      chunk_size: rows of ``input`` per block; default: automatic (a block of about
        128 MiB of float32 logits, at least 64 rows).  Results do not depend on it.

    Returns:
      The loss (0-d, or ``input.shape[:-1]`` for ``'none'``), and with ``return_lse`` a
      tuple ``(loss, lse)``.  Both are float32 for float16/bfloat16 inputs (which are
      computed in float32 throughout: GEMMs, log-sum-exp, loss and weight-gradient
      accumulation), else of the input dtype.  Gradients have the dtypes of their inputs.

    Raises:
      LossBridgeError: bad shapes or option values (``LossBridgeTypeError`` for dtypes).
      LossBridgeIndexError: a target outside ``[0, V)`` that is not ``ignore_index``
        (checked on concrete arrays; under ``jax.jit`` such tokens give NaN instead).

    Notes:
      torch: reductions ``'mean'``/``'sum'`` in float32/float64 compute the gradients
      during forward (3 GEMMs in total) and scale them by the upstream gradient in
      backward; ``'none'``, float16/bfloat16 inputs, the gradient of ``lse`` and a second
      backward (``retain_graph=True``) recompute the logits in backward instead (4 GEMMs),
      which is exact for any per-token upstream gradient.  float16/bfloat16 blocks are
      also tiled over the vocabulary (4096 columns), so no ``V x D`` float32 copy or
      accumulator is ever allocated.  Inputs are never modified.  Double backward,
      forward-mode AD and ``torch.func`` transforms are not supported.

      JAX: a ``jax.custom_vjp``; blocks are scanned with ``lax.scan``; the backward
      recomputes the logits.  Works under ``jax.jit``, ``jax.grad``, ``jax.value_and_grad``.

    Example:
        >>> import torch
        >>> from lossbridge.fused import linear_cross_entropy
        >>> _ = torch.manual_seed(0)
        >>> h = torch.randn(2, 3, 8)                 # (batch, seq, D)
        >>> W = torch.randn(50, 8)                   # (V, D)
        >>> y = torch.randint(0, 50, (2, 3))
        >>> loss, lse = linear_cross_entropy(h, W, y, reduction="none", z_loss=1e-4,
        ...                                  return_lse=True)
        >>> loss.shape, lse.shape
        (torch.Size([2, 3]), torch.Size([2, 3]))
        >>> ref = torch.nn.functional.cross_entropy((h @ W.T).flatten(0, 1), y.flatten(),
        ...                                         reduction="none").view(2, 3)
        >>> bool(torch.allclose(loss, ref + 1e-4 * lse**2))
        True
    """
    kind = _kind_of(input=input, weight=weight, target=target, bias=bias, class_weight=class_weight)
    ig, red, eps, zl, cap, chunk = check_options(
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
        return_lse=return_lse,
    )
    if kind == "torch":
        return _torch_call(
            input, weight, target, bias, class_weight, ig, red, eps, zl, cap, chunk,
            num_items_in_batch, return_lse,
        )
    from ._jax import jax_linear_cross_entropy

    return jax_linear_cross_entropy(
        input, weight, target, bias, class_weight, ig, red, eps, zl, cap, chunk,
        num_items_in_batch, return_lse,
    )


def _kind_of(**arrays: Any) -> str:
    kinds = {name: array_kind(x) for name, x in arrays.items() if x is not None}
    first = kinds.get("input")
    if first not in ("torch", "jax"):
        raise LossBridgeTypeError(
            f"`input` must be a torch tensor or a JAX array, got {describe(arrays['input'])}. "
            "The fused loss needs a framework with autodiff; convert with torch.as_tensor(...) "
            "or jax.numpy.asarray(...)."
        )
    for name, k in kinds.items():
        if k != first:
            raise LossBridgeTypeError(
                f"`{name}` is a {describe(arrays[name])} but `input` is a {describe(arrays['input'])}; "
                "all arrays of one call must be of one kind (and on one device). Convert them first."
            )
    return first


# --------------------------------------------------------------------------- torch


def _torch_preds():
    import torch

    def is_int(x):
        return isinstance(x, torch.Tensor) and not x.dtype.is_floating_point and not x.dtype.is_complex and x.dtype != torch.bool

    def is_float(x):
        return isinstance(x, torch.Tensor) and x.dtype.is_floating_point

    return is_int, is_float


def _torch_check(input, weight, target, bias, class_weight, ig):
    """Shape/dtype/device/range checks shared by both torch entry points; returns the Spec."""
    import torch

    is_int, is_float = _torch_preds()
    spec = check_arrays(input, weight, target, bias, class_weight, is_int=is_int, is_float=is_float)
    for name, x in (("weight", weight), ("target", target), ("bias", bias), ("class_weight", class_weight)):
        if x is not None and x.device != input.device:
            raise LossBridgeRuntimeError(
                f"`{name}` is on device {x.device} but `input` is on {input.device}; move all "
                "tensors of the call to one device."
            )
    if class_weight is not None and class_weight.requires_grad and torch.is_grad_enabled():
        raise LossBridgeRuntimeError(
            "`class_weight` requires grad, but the loss is not differentiable with respect to the "
            "class weights (torch's cross_entropy refuses it too). Pass class_weight.detach()."
        )
    if not spec.prob and is_concrete(target):
        _torch_check_range(target, spec.v, ig)
    return spec


def _torch_check_range(target, v, ig, prefix=""):
    import torch

    t = target.reshape(-1).long()
    bad = (t != ig) & ((t < 0) | (t >= v))
    if bool(bad.any()):
        flat = int(bad.nonzero()[0, 0])
        pos = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(target.shape))) if target.ndim else ()
        value = int(t[flat])
        raise_out_of_range(value, pos, v, ig, target, prefix.format(value=value))


def _torch_call(input, weight, target, bias, class_weight, ig, red, eps, zl, cap, chunk, num_items,
                return_lse, divisor=None):
    """``divisor`` (internal): a denominator that bypasses the num_items_in_batch checks;
    0 gives a NaN value and zero gradients (the K-dimensional 'mean' of the dialect)."""
    from . import _torch as T

    spec = _torch_check(input, weight, target, bias, class_weight, ig)
    check_num_items(num_items, red, concrete=num_items is None or is_concrete(num_items))
    if num_items is not None:
        divisor = num_items.detach() if hasattr(num_items, "detach") else float(num_items)
    cfg = T.Cfg(ignore_index=ig, reduction=red, eps=eps, zl=zl, cap=cap, prob=spec.prob, v=spec.v,
                chunk_size=chunk)
    h = input.reshape(spec.n, spec.d)
    loss, lse = T.lce(h, weight, bias, target, class_weight, cfg=cfg, divisor=divisor, want_lse=return_lse)
    if red == "none":
        loss = loss.reshape(spec.batch_shape)
    if return_lse:
        return loss, lse.reshape(spec.batch_shape)
    return loss


# ------------------------------------------------------------------ torch dialect


def torch_linear_cross_entropy(
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
    r"""``torch.nn.functional.linear_cross_entropy`` (torch 2.13) on the fused, chunked path.

    Same signature, defaults, accepted shapes, errors and values as
    ``torch.nn.functional.linear_cross_entropy(input, linear_weight, target, ...)``, whose
    reference definition is::

        logits = torch.nn.functional.linear(input, linear_weight, linear_bias)
        loss = torch.nn.functional.cross_entropy(logits, target, weight=weight,
                   reduction=reduction, ignore_index=-100 if ignore_index is None
                   else ignore_index, label_smoothing=label_smoothing)

    i.e. (class-index target :math:`t_i`, class weights :math:`w`, :math:`C` classes,
    :math:`\varepsilon` = ``label_smoothing``, :math:`z_i = x_i W^\top + b`)
    :math:`\ell_i = (1-\varepsilon) w_{t_i}(\mathrm{lse}(z_i) - z_{it_i}) +
    \frac{\varepsilon}{C}\sum_c w_c(\mathrm{lse}(z_i) - z_{ic})` (0 if ignored);
    ``'mean'`` divides the sum by :math:`\sum_{i\,\text{not ignored}} w_{t_i}` (NaN when
    every target is ignored), ``'sum'`` sums, ``'none'`` returns :math:`\ell_i`.

    Shapes (torch's): ``input`` is ``(D,)`` (unbatched) or ``(N, D)`` (other ranks raise
    torch's ``RuntimeError``); ``linear_weight`` is ``(C, D)`` or ``(C, d_1, ..., d_K, D)``
    (K-dimensional loss, batched input only); ``linear_bias`` is ``(C, d_1, ..., d_K)``;
    ``target`` holds class indices (int64 or uint8, shape ``()``, ``(N,)`` or
    ``(N, d_1, ..., d_K)``) or class probabilities (float, the logits' shape
    ``(C,)``, ``(N, C)`` or ``(N, C, d_1, ..., d_K)``; ``'mean'`` then divides by the
    number of samples, and ``ignore_index`` must stay None).  ``weight`` is ``(C,)`` of the
    input dtype.  ``label_smoothing`` above 1 raises; a negative one counts as 0 (torch).

    Differences from torch, all deliberate:

    * The value is computed chunk by chunk in float32 or better, so for float16/bfloat16
      inputs it is *more* accurate than torch's reference (which rounds the logits to the
      input dtype); it is returned in the dtype torch returns.
    * ``options`` (``torch.nn.LinearCrossEntropyOptions`` or None) never changes the value:
      the fused path always runs.  Only an explicit ``options.batch_chunk_size`` is used,
      as the number of rows per chunk; ``chunking_method``, ``acc_policy``, ``acc_dtype``
      and ``allow_retain_graph`` are accepted and ignored (accumulation is always float32
      or better, and a second backward always works: it recomputes).
    * Double backward and forward-mode AD are not supported (torch's reference path
      supports them; its chunked path does not).

    Example:
        >>> import torch
        >>> from lossbridge.fused import torch_linear_cross_entropy
        >>> _ = torch.manual_seed(0)
        >>> x, W, t = torch.randn(5, 8), torch.randn(20, 8), torch.tensor([1, 0, 19, 3, 3])
        >>> ours = torch_linear_cross_entropy(x, W, t, label_smoothing=0.1)
        >>> ref = torch.nn.functional.linear_cross_entropy(x, W, t, label_smoothing=0.1)
        >>> bool(torch.allclose(ours, ref))
        True
    """
    import torch

    if array_kind(input) != "torch":
        raise LossBridgeTypeError(
            f"`input` must be a torch tensor, got {describe(input)}. Use "
            "lossbridge.fused.linear_cross_entropy for JAX arrays."
        )
    for name, x in (("linear_weight", linear_weight), ("target", target)):
        if not isinstance(x, torch.Tensor):
            raise LossBridgeTypeError(f"`{name}` must be a torch tensor, got {describe(x)}.")
    if input.dim() < 1 or input.dim() > 2:
        raise LossBridgeRuntimeError(
            f"expected input with dimensionality 1 or 2, got {input.dim()} (`input` is a "
            f"{describe(input)}). torch.nn.functional.linear_cross_entropy takes (D,) or (N, D); "
            "flatten leading dimensions with input.flatten(0, -2) and target.flatten()."
        )
    if linear_weight.dim() < 2:
        raise LossBridgeRuntimeError(
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()} "
            f"(`linear_weight` is a {describe(linear_weight)}); it must be (C, D) like nn.Linear.weight."
        )
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise LossBridgeRuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively (`input` is a "
            f"{describe(input)}, `linear_weight` a {describe(linear_weight)})."
        )
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise LossBridgeRuntimeError(
            f"expected linear_bias shape {(num_classes, *out_features)}, got {tuple(linear_bias.shape)}."
        )
    if out_features and input.dim() == 1:
        raise LossBridgeRuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
            f" batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}"
        )
    logits_shape = (*input.shape[:-1], num_classes, *out_features)
    prob = tuple(target.shape) == logits_shape
    if prob and ignore_index is not None:
        raise LossBridgeRuntimeError(
            "ignore_index cannot be specified when target contains probabilities "
            f"(`target` is a {describe(target)}, the logits' shape); leave ignore_index=None."
        )
    ig = -100 if ignore_index is None else ignore_index
    if isinstance(ig, bool) or not isinstance(ig, int):
        raise LossBridgeTypeError(f"`ignore_index` must be an int or None, got {describe(ignore_index)}.")
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise LossBridgeError(
            f"{reduction} is not a valid value for reduction; use 'none', 'mean' or 'sum'."
        )
    eps = float(label_smoothing)
    if eps > 1.0:
        raise LossBridgeRuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {eps:g}"
        )
    eps = max(eps, 0.0)  # torch treats a negative label_smoothing as 0
    chunk = _options_chunk(options)
    _torch_dialect_target_checks(input, linear_weight, target, linear_bias, weight, prob, num_classes,
                                 out_features, ig)

    if not out_features:
        x, tgt = input, target
        if input.dim() == 1:
            x = input.unsqueeze(0)
            tgt = target.unsqueeze(0) if prob else target.reshape(1)
        loss = linear_cross_entropy(
            x, linear_weight, tgt, linear_bias, ignore_index=ig, reduction=reduction,
            label_smoothing=eps, class_weight=weight, chunk_size=chunk,
        )
        if input.dim() == 1 and reduction == "none":
            loss = loss.squeeze(0)
        return loss.to(_torch_result_dtype(input, target, prob))
    return _torch_kdim(input, linear_weight, target, linear_bias, weight, reduction, ig, eps, chunk, prob)


def _options_chunk(options: Any) -> int | None:
    if options is None:
        return None
    if not hasattr(options, "batch_chunk_size"):
        raise LossBridgeTypeError(
            f"`options` must be None or a torch.nn.LinearCrossEntropyOptions, got {describe(options)}."
        )
    bcs = options.batch_chunk_size
    if bcs is None:
        return None
    if isinstance(bcs, bool) or not isinstance(bcs, int) or bcs < 1:
        raise LossBridgeError(f"`options.batch_chunk_size` must be None or a positive int, got {bcs!r}.")
    return bcs


def _torch_result_dtype(input, target, prob):
    import torch

    return torch.promote_types(input.dtype, target.dtype) if prob else input.dtype


def _torch_dialect_target_checks(input, linear_weight, target, linear_bias, weight, prob, num_classes,
                                 out_features, ig):
    """torch's checks in torch's order (linear, then cross_entropy), torch's message first."""
    import torch

    if linear_weight.dtype != input.dtype:
        raise LossBridgeRuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_torch_scalar_name(input.dtype).lower()} "
            f"!= {_torch_scalar_name(linear_weight.dtype).lower()} (`input` is a {describe(input)}, "
            f"`linear_weight` a {describe(linear_weight)}); cast one of them."
        )
    if linear_bias is not None and linear_bias.dtype != input.dtype:
        raise LossBridgeRuntimeError(
            f"self and mat2 must have the same dtype, but got {_torch_scalar_name(linear_bias.dtype)} and "
            f"{_torch_scalar_name(input.dtype)} (`linear_bias` is a {describe(linear_bias)}, `input` a "
            f"{describe(input)}); cast linear_bias to the input dtype."
        )
    if not input.dtype.is_floating_point:
        raise LossBridgeNotImplementedError(
            f'"log_softmax_lastdim_kernel_impl" not implemented for \'{_torch_scalar_name(input.dtype)}\' '
            f"(`input` is a {describe(input)}); cast the input to a floating dtype."
        )
    batched = input.dim() == 2
    if prob:
        if not target.dtype.is_floating_point:
            raise LossBridgeRuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{_torch_scalar_name(target.dtype)} (`target` is a {describe(target)}, the logits' "
                "shape; class indices need shape (N,))."
            )
    else:
        dtype_ok = target.dtype in (torch.int64, torch.uint8)

        def bad_dtype():
            return LossBridgeRuntimeError(
                f"expected target dtype to be Long or Byte, but got {_torch_scalar_name(target.dtype)} "
                f"(`target` is a {describe(target)}); use target.long() for class indices."
            )

        if not batched:
            if not dtype_ok:
                raise bad_dtype()
            if target.dim() != 0 and not (target.dim() == 1 and target.shape[0] == 1):
                raise LossBridgeError(
                    "For 1D input, 1D target must have size 1, but got target size: "
                    f"{target.shape[0] if target.dim() == 1 else tuple(target.shape)} (`input` is a "
                    f"{describe(input)}, `target` a {describe(target)})."
                )
        else:
            n = input.shape[0]
            tb = target.shape[0] if target.dim() else 0
            if tb != n:
                raise LossBridgeError(
                    f"Expected input batch_size ({n}) to match target batch_size ({tb}) (`input` is a "
                    f"{describe(input)}, `target` a {describe(target)})."
                )
            if out_features:
                expected = [n, *out_features]
                if list(target.shape) != expected:
                    raise LossBridgeRuntimeError(
                        f"Expected target size {expected}, got {list(target.shape)} (`target` is a "
                        f"{describe(target)})."
                    )
            elif target.dim() != 1:
                raise LossBridgeRuntimeError(
                    f"0D or 1D target tensor expected, multi-target not supported (`target` is a "
                    f"{describe(target)}; for (N, 1) labels use target.squeeze(1))."
                )
            if not dtype_ok:
                raise bad_dtype()
    if weight is not None:
        if tuple(weight.shape) != (num_classes,):
            raise LossBridgeRuntimeError(
                ("cross_entropy: " if prob else "")
                + f"weight tensor should be defined either for all {num_classes} classes or no classes "
                f"but got weight tensor of shape: {list(weight.shape)} (`weight` holds one rescaling "
                f"factor per class; `linear_weight` is the projection)."
            )
        if weight.dtype != input.dtype:
            raise LossBridgeRuntimeError(
                f"expected scalar type {_torch_scalar_name(input.dtype)} but found "
                f"{_torch_scalar_name(weight.dtype)} (`weight` is a {describe(weight)}, `input` a "
                f"{describe(input)}); cast weight with weight.to(input.dtype)."
            )
    if not prob and is_concrete(target) and target.numel():
        _torch_check_range(target, num_classes, ig, "Target {value} is out of bounds. ")


def _torch_scalar_name(dtype) -> str:
    import torch

    return {
        torch.float32: "Float", torch.float64: "Double", torch.float16: "Half",
        torch.bfloat16: "BFloat16", torch.int64: "Long", torch.int32: "Int", torch.int16: "Short",
        torch.int8: "Char", torch.uint8: "Byte", torch.bool: "Bool",
    }.get(dtype, str(dtype).replace("torch.", ""))


def _torch_kdim(input, linear_weight, target, linear_bias, weight, reduction, ig, eps, chunk, prob):
    """K-dimensional loss: softmax over the C classes at every position k of (d_1..d_K).

    Position k is an ordinary linear cross-entropy with weight linear_weight[:, k, :] (a
    strided view, no copy); the positions share the reduction's denominator.
    """
    import torch

    num_classes, d = linear_weight.shape[0], linear_weight.shape[-1]
    out_features = tuple(linear_weight.shape[1:-1])
    k_total = math.prod(out_features)
    n = input.shape[0]
    w3 = linear_weight.reshape(num_classes, k_total, d)
    b2 = None if linear_bias is None else linear_bias.reshape(num_classes, k_total)
    if prob:
        t3 = target.reshape(n, num_classes, k_total)
    else:
        t3 = target.reshape(n, k_total)
    denom = None
    if reduction == "mean":
        if prob:
            denom = torch.tensor(float(n * k_total), dtype=torch.float64, device=input.device)
        else:
            valid = t3 != ig
            wt = valid.to(torch.float64) if weight is None else (
                weight.detach().double()[torch.where(valid, t3.long(), 0)] * valid
            )
            denom = wt.sum()
    red = "none" if reduction == "none" else "sum"
    parts = [
        _torch_call(
            input, w3[:, k, :], t3[:, :, k] if prob else t3[:, k], None if b2 is None else b2[:, k],
            weight, ig, red, eps, 0.0, None, chunk, None, False, divisor=denom,
        )
        for k in range(k_total)
    ]
    if reduction == "none":
        out = torch.stack(parts, dim=1).reshape(n, *out_features)
    else:
        out = torch.stack(parts).sum()  # each part is already sum_k / denom for 'mean'
    return out.to(_torch_result_dtype(input, target, prob))
