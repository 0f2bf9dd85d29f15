"""torch's ``ctc_loss`` (Connectionist Temporal Classification), on any array.

The generic code is the log-space forward (alpha) recursion over the extended
label sequence ``blank, l1, blank, l2, ..., blank``, written once against the
array namespace, vectorised over the batch and the label positions; one time step
is one function, looped in Python over the static number of steps ``T`` (on JAX
the same step runs in ``jax.lax.scan``, and the whole computation is one jitted
program, compiled once per shape).  It never subtracts ``-inf`` from ``-inf``.
On torch tensors the function calls torch's own kernel.

Gradient: torch's backward is not the derivative of its value.  It returns
``(exp(log_probs) - posterior) * grad`` for ``t < input_length`` (0 after),
which is the gradient with respect to the *logits* when a ``log_softmax``
produced ``log_probs`` (then the two agree after the softmax's backward).  The
generic path computes the backward (beta) recursion and attaches exactly that
gradient (``lossbridge._grad.custom_gradient``) on torch and JAX, so training
through ``log_softmax`` matches torch, and so does a gradient taken directly
with respect to ``log_probs`` (which is wrong for both, as torch documents).
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .. import ops
from .._backend import Namespace, describe, quiet, torch_namespace
from .._checks import (
    is_concrete,  # also False under torch.func.vmap
    is_floating,
    is_integral,
)
from .._config import check_level
from .._errors import (
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from .._grad import custom_gradient
from .._validate import require
from ._common import native, torch_dtype_name
from ._reduction import reduce as _reduce
from ._reduction import resolve_reduction

__all__ = ["ctc_loss"]

_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lengths(ns: Namespace, x: Any, name: str) -> Any:
    if isinstance(x, (bool, int)):
        raise LossBridgeTypeError(
            f"ctc_loss() received an invalid combination of arguments: `{name}` is the Python "
            f"int {x!r}. torch takes lengths as a tensor or a tuple of ints: pass ({x},) or an "
            "array."
        )
    arr = ns.asarray(x)
    if not is_integral(ns, arr):
        raise LossBridgeRuntimeError(
            f"{name} must be integral. `{name}` is a {describe(arr)}: lengths count time steps "
            "or labels, convert them with .long()."
        )
    return arr


def _host_ints(x: Any) -> list[int] | None:
    if not is_concrete(x):
        return None
    return [int(v) for v in (x.tolist() if hasattr(x, "tolist") else list(x))]


def _check(
    ns: Namespace, lp: Any, targets: Any, il: Any, tl: Any, blank: int
) -> None:
    """torch's argument checks, in its order, with its messages; values only when concrete."""
    T, N, C = lp.shape
    if T == 0 or N == 0 or C == 0:
        raise LossBridgeRuntimeError(
            f"log_probs tensor must not be empty. `log_probs` has shape {tuple(lp.shape)} "
            "(T, N, C): every dimension must be positive."
        )
    if not 1 <= targets.ndim <= 2:
        raise LossBridgeRuntimeError(
            f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument "
            f"#2 'targets'{_WHERE}. Targets are (N, S) padded or 1-D concatenated."
        )
    if not 0 <= blank < C:
        raise LossBridgeRuntimeError(
            f"blank must be in label range. blank={blank} but log_probs has {C} classes."
        )
    for name, x in (("input_lengths", il), ("target_lengths", tl)):
        if x.shape[0] != N:
            raise LossBridgeRuntimeError(
                f"{name} must be of size batch_size. `{name}` has {x.shape[0]} entries for a "
                f"batch of {N} (log_probs is (T, N, C) = {tuple(lp.shape)})."
            )
    tls, ils = _host_ints(tl), _host_ints(il)
    if tls is not None:
        for v in tls:
            if v < 0:
                raise LossBridgeRuntimeError(
                    f"Expected target_lengths to have value at least 0, but got value {v}{_WHERE}."
                )
        if targets.ndim == 1:
            if targets.shape[0] != sum(tls):
                raise LossBridgeRuntimeError(
                    f"Expected tensor to have size {sum(tls)} at dimension 0, but got size "
                    f"{targets.shape[0]} for argument #2 'targets'{_WHERE}. 1-D targets are the "
                    "concatenation of every sample's labels: their length must be "
                    "sum(target_lengths); for padded targets give shape (N, S)."
                )
        else:
            if targets.shape[0] != N:
                raise LossBridgeRuntimeError(
                    f"Expected tensor to have size {N} at dimension 0, but got size "
                    f"{targets.shape[0]} for argument #2 'targets'{_WHERE}. Padded targets are "
                    "(N, S), one row per sample."
                )
            if tls and max(tls) > targets.shape[1]:
                raise LossBridgeRuntimeError(
                    f"Expected tensor to have size at least {max(tls)} at dimension 1, but got "
                    f"size {targets.shape[1]} for argument #2 'targets'{_WHERE}. A target length "
                    "is longer than the padded targets."
                )
    elif targets.ndim == 2 and targets.shape[0] != N:
        raise LossBridgeRuntimeError(
            f"Expected tensor to have size {N} at dimension 0, but got size {targets.shape[0]} "
            f"for argument #2 'targets'{_WHERE}."
        )
    if ils is not None:
        for v in ils:
            if v > T:
                raise LossBridgeRuntimeError(
                    f"Expected input_lengths to have value at most {T}, but got value {v}{_WHERE}. "
                    "An input length cannot exceed log_probs.shape[0]."
                )
            if v < 0:
                raise LossBridgeRuntimeError(
                    f"Expected input_lengths to have value at least 0, but got value {v}{_WHERE}."
                )
    if tls is not None and is_concrete(targets) and (ns.kind != "torch" or check_level() != "off"):
        _check_labels(ns, targets, tl, tls, C)


def _check_labels(ns: Namespace, targets: Any, tl: Any, tls: list[int], C: int) -> None:
    """torch reads memory out of bounds for a label outside ``[0, C)``: refuse it here."""
    xp = ns.xp
    bad = (targets < 0) | (targets >= C)
    if targets.ndim == 2:  # padded: only each row's first target_lengths[n] labels are read
        used = xp.expand_dims(_arange(ns, targets.shape[1], tl), 0) < xp.expand_dims(tl, 1)
        bad = bad & used
    if not bool(xp.any(bad)):
        return
    where = xp.nonzero(bad)
    if targets.ndim == 2:
        n, pos = int(where[0][0]), int(where[1][0])
        value = targets[n, pos]
    else:
        k = int(where[0][0])
        n = next(i for i in range(len(tls)) if sum(tls[: i + 1]) > k)
        pos, value = k - sum(tls[:n]), targets[k]
    raise LossBridgeIndexError(
        f"ctc_loss: target label {int(value)} of sample {n} (position {pos}) is outside "
        f"[0, {C}). torch does not check this and reads memory out of bounds; labels must "
        f"be class indices in [0, {C - 1}], different from blank."
    )


def _lse3(xp: Any, a: Any, b: Any, c: Any) -> Any:
    """``log(exp(a) + exp(b) + exp(c))`` as torch's kernel computes it (max 0 when all -inf)."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == -math.inf, xp.zeros_like(m), m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _shift(xp: Any, x: Any, k: int, fill: Any) -> Any:
    """``x`` shifted by ``k`` along the last axis (``k > 0``: right), filled with ``fill``."""
    n = x.shape[-1]
    k = max(-n, min(n, k))
    pad = xp.full_like(x[..., :1], fill)
    if abs(k) != 1:
        pad = xp.concat([pad] * abs(k), axis=-1) if k else pad[..., :0]
    if k > 0:
        return xp.concat([pad, x[..., : n - k]], axis=-1)
    if k < 0:
        return xp.concat([x[..., -k:], pad], axis=-1)
    return x


def _arange(ns: Namespace, n: int, like: Any) -> Any:
    if ns.kind == "torch":
        return ns.xp.arange(n, dtype=like.dtype, device=like.device)
    return ns.xp.arange(n, dtype=like.dtype)


def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Any:
    """torch's ``ctc_loss``: ``-log`` of the total probability of every alignment of the targets.

    Shapes: ``log_probs`` ``(T, N, C)`` (or ``(T, C)`` unbatched), time first,
    log-probabilities over ``C`` classes including ``blank`` (not checked to be
    normalised: unnormalised input can give a negative loss); ``targets`` either
    ``(N, S)`` padded (row ``n`` uses its first ``target_lengths[n]`` labels) or
    1-D, the concatenation of every sample's labels (length
    ``sum(target_lengths)``); ``input_lengths`` and ``target_lengths`` arrays (or
    tuples of ints) of ``N`` lengths, each ``input_length <= T``.  Labels must
    lie in ``[0, C)`` and should differ from ``blank`` (torch does not check
    either; lossbridge refuses labels out of range, which torch reads out of
    bounds, and follows torch's value and gradient for labels equal to ``blank``).

    With the extended sequence ``l' = (blank, l1, blank, ..., lS, blank)`` and
    ``alpha_t(s)`` the log-probability of the prefixes ending in ``l'_s`` at time
    ``t`` (moves: stay, next, or skip a blank between two different labels)::

        loss_n = -logsumexp(alpha_{T_n - 1}(2 S_n), alpha_{T_n - 1}(2 S_n - 1))

    An impossible alignment (input too short) gives ``inf``; ``zero_infinity=True``
    turns those into 0 with a zero gradient.  Reductions: ``"mean"`` (default) is
    ``mean_n(loss_n / max(S_n, 1))`` (each sample divided by its target length
    first), ``"sum"`` the plain sum, ``"none"`` the ``(N,)`` losses (a 0-d value
    unbatched).

    **Gradient** (torch's, not the derivative of the value): with respect to
    ``log_probs`` it is ``exp(log_probs) - posterior`` for ``t < input_length``
    and 0 after; this is the derivative with respect to the logits when
    ``log_probs = log_softmax(logits)`` is in the graph (the usual use), and it
    is what lossbridge returns on every backend; differentiate through a
    ``log_softmax``.  An infinite loss without ``zero_infinity`` has a NaN
    gradient, as in torch.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lp = np.log(np.full((3, 1, 2), 0.5))          # T=3, N=1, C=2 (blank=0)
        >>> f = lb.torch.functional.ctc_loss
        >>> round(float(f(lp, np.array([[1]]), np.array([3]), np.array([1]), reduction="sum")), 6)
        0.287682
        >>> float(f(lp[:1], np.array([[1, 1]]), np.array([1]), np.array([2]), reduction="sum"))
        inf

    See also: :class:`lossbridge.torch.CTCLoss`, ``lossbridge.optax.ctc_loss``
    (batch-major logits and paddings, no reduction).
    """
    reduction = resolve_reduction(None, None, reduction)
    require(log_probs=log_probs, targets=targets, input_lengths=input_lengths,
            target_lengths=target_lengths)  # torch: TypeError ("invalid combination of arguments")
    ns = torch_namespace(
        {"log_probs": log_probs, "targets": targets, "input_lengths": input_lengths,
         "target_lengths": target_lengths}
    )
    xp = ns.xp
    log_probs = ns.asarray(log_probs)
    targets = ns.asarray(targets)
    if targets is not None and xp.isdtype(targets.dtype, "complex floating"):
        # torch casts the targets to int64: a complex one keeps its real part ("Casting complex
        # values to real discards the imaginary part"), then truncates as a float one does.
        targets = xp.real(targets)
    il = _lengths(ns, input_lengths, "input_lengths")
    tl = _lengths(ns, target_lengths, "target_lengths")
    if log_probs.ndim == 0:  # torch's unsqueeze(1) of the unbatched form fails first
        raise LossBridgeIndexError(
            "Dimension out of range (expected to be in range of [-1, 0], but got 1). `log_probs` "
            f"is a {describe(log_probs)}: log_probs is (T, N, C), time first, or (T, C) "
            "unbatched."
        )
    unbatched = log_probs.ndim != 3
    lp = xp.expand_dims(log_probs, axis=1) if unbatched else log_probs
    if lp.ndim != 3:
        raise LossBridgeRuntimeError(
            f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor for argument #1 "
            f"'log_probs'{_WHERE}. log_probs is (T, N, C), time first, or (T, C) unbatched."
        )
    if not is_floating(ns, lp) or (ns.kind == "torch" and str(lp.dtype) not in ("torch.float32", "torch.float64")):
        raise LossBridgeNotImplementedError(
            f"\"ctc_loss_cpu\" not implemented for '{torch_dtype_name(lp)}'. `log_probs` is a "
            f"{describe(log_probs)}: give float32 or float64 log-probabilities (log_softmax output)."
        )
    il = xp.reshape(il, (-1,))
    tl = xp.reshape(tl, (-1,))
    _check(ns, lp, targets, il, tl, blank)
    if native(ns):
        import torch

        return torch.nn.functional.ctc_loss(
            log_probs, targets, input_lengths, target_lengths, blank=blank, reduction=reduction,
            zero_infinity=zero_infinity,
        )
    if ns.kind == "jax":  # one compiled program instead of hundreds of eager ops
        nll, grad = _jax_ctc(blank)(ops.stop_gradient(lp), targets, il, tl)
    else:
        with quiet(ns):
            nll, grad = _ctc_generic(ns, lp, targets, il, tl, blank)
    inf = nll == math.inf
    if zero_infinity:
        nll = xp.where(inf, xp.zeros_like(nll), nll)
        if grad is not None:
            grad = xp.where(xp.expand_dims(xp.expand_dims(inf, 0), 2), xp.zeros_like(grad), grad)
    if grad is not None:
        # The value nll[n] sits at [t=0, n, c=0] of a (T, N, C) array whose sum over
        # (t, c) is nll: its cotangent reaches every [t, n, c] and meets torch's gradient.
        T, N, C = lp.shape
        t0 = xp.reshape(_arange(ns, T, il) == 0, (T, 1, 1))
        c0 = xp.reshape(_arange(ns, C, il) == 0, (1, 1, C))
        spread = xp.where(t0 & c0, xp.reshape(nll, (1, N, 1)), xp.zeros_like(lp))
        nll = xp.sum(custom_gradient(spread, (lp, grad)), axis=(0, 2))
    if reduction == "mean":
        denom = xp.astype(xp.clip(tl, 1, None), nll.dtype)
        out = _reduce(ns, nll / denom, "mean")
    else:
        out = _reduce(ns, nll, reduction)
    if unbatched and reduction == "none":
        out = xp.reshape(out, ())
    return out


def _scan(
    ns: Namespace, step: Any, init: Any, xs: tuple[Any, ...], reverse: bool = False
) -> tuple[Any, Any]:
    """``carry = step(carry, x[t])`` over the leading (time) axis of ``xs``: the final
    carry and every step's carry stacked.  A Python loop over the static ``T``; on JAX
    the same step runs in ``jax.lax.scan`` (compiled once, not unrolled)."""
    if ns.kind == "jax":
        import jax

        def body(carry: Any, x: Any) -> tuple[Any, Any]:
            new = step(carry, x)
            return new, new

        return jax.lax.scan(body, init, xs, reverse=reverse)
    steps = xs[0].shape[0]
    out: list[Any] = [None] * steps
    carry = init
    for t in reversed(range(steps)) if reverse else range(steps):
        carry = step(carry, tuple(x[t] for x in xs))
        out[t] = carry
    return carry, ns.xp.stack(out, axis=0)


@functools.cache
def _jax_ctc(blank: int) -> Any:
    """``_ctc_generic`` on JAX arrays, jitted (shapes are static, so is the loop over T)."""
    import jax

    ns = torch_namespace({"x": jax.numpy.zeros(())})
    return jax.jit(lambda lp, targets, il, tl: _ctc_generic(ns, lp, targets, il, tl, blank))


def _ctc_generic(
    ns: Namespace, lp: Any, targets: Any, il: Any, tl: Any, blank: int
) -> tuple[Any, Any]:
    """Negative log-likelihoods (N,) and, on torch / JAX, torch's gradient (T, N, C)."""
    xp = ns.xp
    lps = ops.stop_gradient(lp)
    T, N, C = lps.shape
    neg_inf = -math.inf
    tl = xp.astype(tl, il.dtype)
    if not is_integral(ns, targets):
        targets = xp.astype(targets, il.dtype)
    targets = xp.astype(targets, il.dtype)
    # padded (N, L) labels; 1-D concatenated targets are gathered with a static L
    if targets.ndim == 1:
        L = targets.shape[0]
        pos = _arange(ns, L, il)
        offsets = xp.cumulative_sum(tl) - tl
        idx = xp.expand_dims(offsets, 1) + xp.expand_dims(pos, 0)
        idx = xp.where(idx < L, idx, xp.zeros_like(idx))
        labels = xp.reshape(xp.take(targets, xp.reshape(idx, (-1,)), axis=0), (N, L)) if L else idx
    else:
        L = targets.shape[1]
        labels = targets
    pos = _arange(ns, L, il)
    used = xp.expand_dims(pos, 0) < xp.expand_dims(tl, 1)
    in_range = (labels >= 0) & (labels < C)
    bad = xp.any(used & ~in_range, axis=1)  # traced labels out of range (JAX under jit): NaN
    blanks = xp.full_like(labels, blank)
    labels = xp.where(used & in_range, labels, blanks)
    # extended labels (N, S): blank, l1, blank, l2, ..., blank
    S = 2 * L + 1
    ext = xp.reshape(xp.stack([blanks, labels], axis=-1), (N, 2 * L))
    ext = xp.concat([ext, xp.expand_dims(xp.full_like(tl, blank), 1)], axis=1)
    s_idx = _arange(ns, S, il)
    skip = (xp.expand_dims(s_idx, 0) >= 2) & (ext != _shift(xp, ext, 2, blank))
    lp_ext = ops.take_along_axis(lps, xp.broadcast_to(xp.expand_dims(ext, 0), (T, N, S)), axis=2)
    ninf = xp.full_like(lp_ext[0], neg_inf)
    start = xp.where(xp.expand_dims(s_idx, 0) == 0, xp.zeros_like(ninf), ninf)
    t_col = xp.expand_dims(_arange(ns, T, il), 1)  # (T, 1)
    alive = xp.expand_dims(t_col < xp.expand_dims(il, 0), 2)
    # torch assigns the first step (t = 0: the states 0 and 1) and the last (t = T_n - 1: the
    # states 2 S_n - 1 and 2 S_n) and never reads log_probs elsewhere there: an inf or NaN
    # there must not reach the other states (-inf + inf would be NaN)
    first = xp.expand_dims((t_col == 0) & (xp.expand_dims(s_idx, 0) >= 2), 1)  # (T, 1, S)

    def forward_step(alpha: Any, step: tuple[Any, Any, Any]) -> Any:
        lp_t, alive_t, first_t = step
        new = _lse3(
            xp, alpha, _shift(xp, alpha, 1, neg_inf),
            xp.where(skip, _shift(xp, alpha, 2, neg_inf), ninf),
        ) + lp_t
        new = xp.where(first_t, ninf, new)
        return xp.where(alive_t, new, alpha)

    alpha, alphas = _scan(ns, forward_step, start, (lp_ext, alive, first))
    two_tl = xp.expand_dims(2 * tl, 1)
    l1 = xp.squeeze(ops.take_along_axis(alpha, two_tl, axis=1), axis=1)
    l2 = xp.squeeze(
        ops.take_along_axis(alpha, xp.where(two_tl > 0, two_tl - 1, xp.zeros_like(two_tl)), axis=1),
        axis=1,
    )
    l2 = xp.where(tl > 0, l2, xp.full_like(l2, neg_inf))
    m = xp.maximum(l1, l2)
    m = xp.where(m == neg_inf, xp.zeros_like(m), m)
    nll = -(xp.log(xp.exp(l1 - m) + xp.exp(l2 - m)) + m)
    nll = xp.where(bad, xp.full_like(nll, math.nan), nll)
    if ns.kind not in ("torch", "jax"):
        return nll, None
    # backward (beta) recursion, torch's convention: beta_t(s) includes lp_ext[t](s)
    end = xp.where(xp.expand_dims(s_idx, 0) == two_tl, xp.zeros_like(ninf), ninf)
    skip_next = _shift(xp, skip, -2, False)

    ends = (xp.expand_dims(s_idx, 0) == two_tl) | (xp.expand_dims(s_idx, 0) == two_tl - 1)
    last = xp.expand_dims(t_col == xp.expand_dims(il - 1, 0), 2) & xp.expand_dims(~ends, 0)

    def backward_step(beta: Any, step: tuple[Any, Any, Any]) -> Any:
        lp_t, alive_t, last_t = step
        new = _lse3(
            xp, beta, _shift(xp, beta, -1, neg_inf),
            xp.where(skip_next, _shift(xp, beta, -2, neg_inf), ninf),
        ) + lp_t
        new = xp.where(last_t, ninf, new)
        return xp.where(alive_t, new, end)

    _, betas = _scan(ns, backward_step, end, (lp_ext, alive, last), reverse=True)
    ab = alphas + betas  # (T, N, S)
    # torch *assigns* (does not log-add) the last step's two terms: when the last label
    # is the blank (invalid targets, not checked by torch) the s = 2 S_n term is dropped.
    last_label = xp.squeeze(ops.take_along_axis(ext, xp.where(two_tl > 0, two_tl - 1, two_tl), axis=1), axis=1)
    drop = (tl > 0) & (last_label == blank)  # (N,)
    t_idx = xp.reshape(_arange(ns, T, il), (T, 1, 1))
    dropped = (
        (t_idx == xp.reshape(il - 1, (1, N, 1)))
        & (xp.reshape(s_idx, (1, 1, S)) == xp.expand_dims(two_tl, 0))
        & xp.reshape(drop, (1, N, 1))
    )
    ab = xp.where(dropped, xp.full_like(ab, neg_inf), ab)
    hot = ops.one_hot(ext, C, dtype=xp.bool)  # (N, S, C)
    collected = xp.where(xp.expand_dims(hot, 0), xp.expand_dims(ab, 3), xp.full_like(xp.expand_dims(ab, 3), neg_inf))
    mc = xp.max(collected, axis=2)
    mc = xp.where(mc == neg_inf, xp.zeros_like(mc), mc)
    lcab = xp.log(xp.sum(xp.exp(collected - xp.expand_dims(mc, 2)), axis=2)) + mc  # (T, N, C)
    nll_b = xp.reshape(nll, (1, N, 1))
    grad = xp.exp(lps) - xp.exp(lcab + nll_b - lps)
    grad = xp.where(alive, grad, xp.zeros_like(grad))
    return nll, grad
