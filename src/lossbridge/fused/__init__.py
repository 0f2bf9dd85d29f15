r"""Memory-efficient fused linear + cross-entropy (the LM-head loss without the logits).

:func:`linear_cross_entropy` computes cross-entropy over ``input @ weight.T + bias``
block by block, so the ``N x V`` logits never exist in full: peak extra memory is one
block of logits (about 128 MiB by default) instead of 3x the logits.  It runs on torch
tensors (a custom :class:`torch.autograd.Function`) and on JAX arrays (a
:func:`jax.custom_jvp`, usable under :func:`jax.jit`, :func:`jax.grad` and forward mode); the
framework is imported only when its array arrives.

The torch dialect's :func:`lossbridge.torch.functional.linear_cross_entropy` and
:class:`lossbridge.torch.LinearCrossEntropyLoss` (torch 2.13's signatures and semantics)
run on this engine for torch tensors and JAX arrays.

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

from typing import Any

from .._backend import array_kind, describe
from .._checks import is_concrete  # also False under torch.func.vmap
from .._errors import LossBridgeRuntimeError, LossBridgeTypeError
from ._common import (
    check_arrays,
    check_num_items,
    check_options,
    raise_out_of_range,
)

__all__ = ["linear_cross_entropy"]


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
        (checked on concrete arrays; under ``jax.jit`` such tokens give NaN instead).  On
        accelerator tensors the check reads nothing on the host: the token is ignored on
        the device and the error is raised at the next lossbridge call (or
        ``lossbridge.checks.flush()``); ``lossbridge.checks("full")`` checks at once.

    Notes:
      torch: reductions ``'mean'``/``'sum'`` in float32/float64 compute the gradients
      during forward (3 GEMMs in total) and scale them by the upstream gradient in
      backward; ``'none'``, float16/bfloat16 inputs, the gradient of ``lse`` and a second
      backward (``retain_graph=True``) recompute the logits in backward instead (4 GEMMs),
      which is exact for any per-token upstream gradient.  float16/bfloat16 blocks are
      also tiled over the vocabulary (4096 columns), so no ``V x D`` float32 copy or
      accumulator is ever allocated.  Inputs are never modified.  Double backward,
      forward-mode AD and ``torch.func`` transforms are not supported.

      JAX: a ``jax.custom_jvp`` whose tangent is linear in the input tangents; blocks are
      scanned with ``lax.scan``; reverse mode (JAX's transpose of the tangent scan, each
      block rematerialised) recomputes the logits.  Works under ``jax.jit``, ``jax.grad``,
      ``jax.value_and_grad``, ``jax.jvp``, ``jax.jacfwd`` and ``jax.hessian``.

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
            "The function 'nll_loss_forward' is not differentiable with respect to argument "
            "'weight'. This input cannot have requires_grad True. `class_weight` (torch's "
            "`weight`) requires grad, but the loss is not differentiable with respect to the "
            "class weights (torch's cross_entropy refuses it too). Pass class_weight.detach()."
        )
    if not spec.prob and is_concrete(target):
        target = _torch_check_range(target, spec.v, ig)
    return spec, target


def _torch_check_range(target, v, ig, prefix=""):
    """Raise for a class index outside [0, V) (not ``ig``); returns the target to use.

    On accelerator tensors (at the default check level) nothing is read on the host: the
    bad indices become ``ig`` on the device and the error is raised at a later lossbridge
    call, once the asynchronous host copy has arrived (see :mod:`lossbridge._deferred`).
    """
    import numpy
    import torch

    from .. import _deferred
    from .._config import check_level

    _deferred.flush()
    t = target.reshape(-1).long()
    bad = (t != ig) & ((t < 0) | (t >= v))
    if target.device.type in _deferred.ACCELERATOR_DEVICE_TYPES and check_level() != "full":
        def check(copies, where):  # on the host copy, in NumPy (no tensor read)
            host = copies["target"]
            flat = host.numpy().reshape(-1).astype("int64")
            where_bad = ((flat != ig) & ((flat < 0) | (flat >= v))).nonzero()[0]
            if where_bad.size:
                i = int(where_bad[0])
                pos = tuple(int(k) for k in numpy.unravel_index(i, tuple(host.shape))) if host.ndim else ()
                value = int(flat[i])
                note = (f"(In the loss call at {where}, checked after the device computed it: that "
                        "call ignored these labels.) ")
                raise_out_of_range(value, pos, v, ig, host, note + prefix.format(value=value))

        _deferred.defer(check, {"target": target})
        _deferred.commit()
        return torch.where(bad.reshape(target.shape), torch.full_like(target, ig), target)
    if bool(bad.any()):
        flat = int(bad.nonzero()[0, 0])
        pos = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(target.shape))) if target.ndim else ()
        value = int(t[flat])
        raise_out_of_range(value, pos, v, ig, target, prefix.format(value=value))
    return target


def _torch_call(input, weight, target, bias, class_weight, ig, red, eps, zl, cap, chunk, num_items,
                return_lse):
    from . import _torch as T

    spec, target = _torch_check(input, weight, target, bias, class_weight, ig)
    check_num_items(num_items, red, concrete=num_items is None or is_concrete(num_items))
    divisor = None
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
