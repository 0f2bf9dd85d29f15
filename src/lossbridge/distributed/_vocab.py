"""Vocabulary-parallel fused linear cross-entropy (torch.distributed group or JAX mesh axis)."""

from __future__ import annotations

from typing import Any

from .._backend import array_kind, is_concrete
from .._errors import LossBridgeError, LossBridgeTypeError
from ..fused._common import check_num_items, check_options

__all__ = ["vocab_parallel_linear_cross_entropy"]


def vocab_parallel_linear_cross_entropy(
    input: Any,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    group: Any = None,
    axis_name: Any = None,
    vocab_size: int | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_weight: Any = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
    num_items_in_batch: Any = None,
    chunk_size: int | None = None,
) -> Any:
    r""":func:`lossbridge.fused.linear_cross_entropy` with ``weight`` sharded by vocabulary rows.

    Every rank holds the same ``input`` (N tokens, replicated over the group) and one
    contiguous block of rows of the head: ``weight`` ``(V_r, D)``, ``bias`` ``(V_r,)`` and
    ``class_weight`` ``(V_r,)`` are the rank's shard, in rank order
    (``torch.tensor_split(W, P)`` or any split; shards need not be equal).  ``target`` is
    either the same global class indices on every rank, or **class probabilities split
    like the head**: the rank's ``(..., V_r)`` columns ``Y[..., v0:v0 + V_r]`` of the full
    ``(..., V)`` probability matrix ``Y`` (the columns of the classes whose rows of
    ``weight`` the rank holds).  The value and the gradients of ``input``, ``weight``,
    ``bias`` (and of a probability ``target`` shard: :math:`\partial\ell_i/\partial y_{ic}
    = (1-\varepsilon) w_c (\mathrm{lse}_i - z_{ic})`, as torch gives) are those of the
    single-device loss on the full head, with the same options and formula (see
    :func:`lossbridge.fused.linear_cross_entropy`): for probability targets
    :math:`\ell_i = \sum_c w_c ((1-\varepsilon) y_{ic} + \varepsilon/C)(\mathrm{lse}_i -
    z_{ic}) + \zeta\,\mathrm{lse}_i^2`, nothing is ignored and ``'mean'`` divides by the
    number of tokens N (torch's rule; not by a count of the sharded target's elements).

    Per token the ranks exchange only statistics, never logits: one all-reduce ``MAX`` of
    the local maximum logit and one all-reduce ``SUM`` of (sum of exponentials, target
    logit, class weight of the target, smoothing sum) -- for probability targets
    :math:`\sum_c w_c y_{ic}` and :math:`\sum_c w_c y_{ic} z_{ic}` in place of the target's
    weight and logit --, i.e. 5 numbers per token in forward (4 without label smoothing);
    backward all-reduces the ``(N, D)`` gradient of the replicated ``input`` (as
    Megatron's column-parallel head does); a probability target's gradient stays on its
    rank.  Each rank holds ``1/P`` of the head, of its gradient and of each logits block.

    **torch** (``group``: a process group, default the world): a custom
    ``torch.autograd.Function``; forward uses 1 GEMM per row block and backward
    recomputes the block (3 GEMMs), reusing the fused engine's per-block code.  The
    shard offsets are found with one ``all_gather`` of the shard sizes on the first call per
    group and shard size (then cached: a shard's size must not change between calls).

    **JAX** (``axis_name``, inside ``shard_map`` with ``weight`` split over that mesh axis):
    shards must be equal (shard_map splits evenly), so pad the vocabulary to a multiple
    of the axis size and pass ``vocab_size=V``: rows at or beyond ``V`` are masked out
    (no loss, zero gradient).  A probability ``target`` is padded the same way (zero
    columns to ``V_r * P``, split over the axis with ``P(..., axis)``); its padded
    columns are ignored and get zero gradient.  Written with ``lax.pmax``/``lax.psum``; JAX's autodiff
    gives the gradients (logits of one shard exist in full in forward and backward).

    Args:
      input: ``(..., D)`` hidden states, identical on every rank.
      weight: this rank's ``(V_r, D)`` rows of the head.
      target: ``input.shape[:-1]`` global class indices (or ``ignore_index``), identical
        on every rank; or this rank's ``input.shape[:-1] + (V_r,)`` floating columns of the
        class probabilities (``V_r`` = ``weight.shape[0]``).
      bias, class_weight: this rank's ``(V_r,)`` shard, or None.
      group: torch process group (torch tensors).
      axis_name: mesh axis name (JAX arrays, inside ``shard_map``).
      vocab_size: JAX: the true vocabulary size when the last shard is padded; torch:
        optional check of the sum of the shard sizes.
      ignore_index: as in :func:`lossbridge.fused.linear_cross_entropy`, as are
        ``reduction``, ``label_smoothing``, ``z_loss``, ``softcap``,
        ``num_items_in_batch`` and ``chunk_size``.

    Returns:
      The loss: 0-d, or ``input.shape[:-1]`` for ``'none'``; identical on every rank.

    Example (one process: the shard is the whole head):
        >>> import torch
        >>> from lossbridge.fused import linear_cross_entropy
        >>> h, W = torch.randn(5, 4), torch.randn(7, 4)
        >>> y = torch.tensor([1, 6, -100, 0, 3])
        >>> a = vocab_parallel_linear_cross_entropy(h, W, y, label_smoothing=0.1)
        >>> bool(torch.allclose(a, linear_cross_entropy(h, W, y, label_smoothing=0.1)))
        True
        >>> p = torch.randn(5, 7).softmax(-1)     # probabilities: this rank's (N, V_r) columns
        >>> b = vocab_parallel_linear_cross_entropy(h, W, p, z_loss=1e-3)
        >>> bool(torch.allclose(b, linear_cross_entropy(h, W, p, z_loss=1e-3)))
        True

    Raises:
      LossBridgeError: a probability ``target`` whose last dimension is not this rank's
        ``V_r`` (e.g. the full ``(N, V)`` matrix on every rank), bad options or shapes.
      LossBridgeIndexError: a class index outside ``[0, V)`` that is not ``ignore_index``.
    """
    ig, red, eps, zl, cap, chunk = check_options(
        ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing,
        z_loss=z_loss, softcap=softcap, chunk_size=chunk_size, return_lse=False,
    )
    check_num_items(num_items_in_batch, red, concrete=num_items_in_batch is None or is_concrete(num_items_in_batch))
    kind = array_kind(input)
    if kind == "torch":
        if axis_name is not None:
            raise LossBridgeTypeError("`axis_name` is for JAX arrays; torch tensors take `group`.")
        return _torch(input, weight, target, bias, class_weight, group, vocab_size, ig, red, eps, zl, cap,
                      chunk, num_items_in_batch)
    if kind == "jax":
        if axis_name is None:
            raise LossBridgeError(
                "vocab_parallel_linear_cross_entropy on JAX arrays needs `axis_name`, the mesh axis "
                "the vocabulary is split over (call it inside shard_map). Under plain jax.jit with a "
                "sharded weight, use lossbridge.fused.linear_cross_entropy."
            )
        return _jax(input, weight, target, bias, class_weight, axis_name, vocab_size, ig, red, eps, zl, cap,
                    num_items_in_batch)
    raise LossBridgeTypeError(
        f"vocab_parallel_linear_cross_entropy takes torch tensors or JAX arrays, got {type(input).__name__}."
    )


# --------------------------------------------------------------------------- torch


def _torch(input, weight, target, bias, class_weight, group, vocab_size, ig, red, eps, zl, cap, chunk, num_items):
    import torch.distributed as dist

    from ..fused import _torch as T
    from ..fused import _torch_check_range, _torch_preds
    from ..fused._common import check_arrays

    is_int, is_float = _torch_preds()
    _check_target_shard(input, weight, target, is_float)
    spec = check_arrays(input, weight, target, bias, class_weight, is_int=is_int, is_float=is_float)
    on = dist.is_available() and dist.is_initialized()
    if on:
        sizes_i, rank = _shard_sizes(int(weight.shape[0]), group, weight.device)
    else:
        if group is not None:
            raise LossBridgeError("`group` was given but torch.distributed is not initialised.")
        sizes_i, rank = [int(weight.shape[0])], 0
    v = sum(sizes_i)
    v0 = sum(sizes_i[:rank])
    if vocab_size is not None and int(vocab_size) != v:
        raise LossBridgeError(
            f"`vocab_size` is {vocab_size} but the shards of `weight` have {sizes_i} rows (sum {v})."
        )
    if not spec.prob and is_concrete(target) and spec.n:
        # The fused loss' check: at once on the CPU; deferred (no host read) on accelerators,
        # where an out-of-range index is ignored on the device and reported at a later call.
        target = _torch_check_range(target, v, ig)
    divisor = None
    if num_items is not None:
        divisor = num_items.detach() if hasattr(num_items, "detach") else float(num_items)
    cfg = T.Cfg(ignore_index=ig, reduction=red, eps=eps, zl=zl, cap=cap, prob=spec.prob, v=v, chunk_size=chunk)
    h = input.reshape(spec.n, spec.d)
    t2 = target.reshape(spec.n, spec.v) if spec.prob else target.reshape(spec.n)
    loss = _VocabParallel.apply(h, weight, bias, t2, class_weight, divisor, cfg,
                                group if on else None, on, v0)
    return loss.reshape(spec.batch_shape) if red == "none" else loss


def _check_target_shard(input: Any, weight: Any, target: Any, is_float: Any) -> None:
    """A floating ``target`` must be this rank's ``(..., V_r)`` columns of the probabilities."""
    from .._backend import describe

    if not is_float(target) or getattr(weight, "ndim", None) != 2:
        return
    want = (*tuple(int(s) for s in input.shape[:-1]), int(weight.shape[0]))
    if tuple(int(s) for s in target.shape) != want:
        raise LossBridgeError(
            f"`target` holds class probabilities ({describe(target)}), so it must be this rank's "
            f"columns of the (..., V) probability matrix, shape {want} (input.shape[:-1] + the "
            f"{int(weight.shape[0])} rows of this rank's `weight` shard, {describe(weight)}; "
            f"`input` is a {describe(input)}). Split the probabilities like the head: pass "
            "target[..., v0:v0 + V_r], the columns of the classes whose rows this rank holds."
        )


_SHARD_SIZES: dict[Any, tuple[list[int], int]] = {}


def _shard_sizes(local: int, group: Any, device: Any) -> tuple[list[int], int]:
    """Every rank's number of vocabulary rows, and this rank's index in ``group``.

    Exchanged with one ``all_gather`` on the first call per (group, local size) and cached:
    the sizes are read on the host, which would synchronise an accelerator on every call.
    The tensors live on ``device`` (NCCL gathers device tensors only).
    """
    import torch
    import torch.distributed as dist

    key = (group, dist.get_world_size(group), dist.get_rank(group), local)
    found = _SHARD_SIZES.get(key)
    if found is None:
        sizes = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(key[1])]
        dist.all_gather(sizes, torch.tensor([local], dtype=torch.int64, device=device), group=group)
        found = _SHARD_SIZES[key] = ([int(x) for x in sizes], key[2])
    return found


def _torch_tok(target, cw, cfg, cd, n, v0, vl, group, on):
    """The fused engine's per-token data (_Tok) for one shard: local target index (or this
    shard's probability columns), global class-weight sum."""
    import torch
    import torch.distributed as dist

    tok = _ShardTok()
    tok.w = None if cw is None else cw.detach().to(cd)
    if cw is None:
        wsum = float(cfg.v)
        wsum_loc = float(vl)
    else:
        wsum_loc = tok.w.sum()
        wsum = wsum_loc.clone()
        if on:
            dist.all_reduce(wsum, group=group)
    tok.wsum = wsum
    tok.wsum_loc = wsum_loc
    if cfg.prob:
        # The rank's (n, V_r) columns; Σ_c w_c y_ic is summed over the ranks in forward.
        tok.y = target
        tok.t = tok.valid = tok.inside = tok.wt = tok.wt_loc = tok.a = None
        return tok
    t = target.long()
    tok.y = None
    tok.valid = t != cfg.ignore_index
    loc = t - v0
    tok.inside = tok.valid & (loc >= 0) & (loc < vl)
    # Local class index; out-of-shard tokens fall outside [0, vl) and the engine's tile logic
    # (target inside the tile or not) skips them.  Ignored tokens point at 0 with wt = u = 0.
    tok.t = torch.where(tok.valid, loc, torch.zeros_like(loc))
    if cw is None:
        tok.wt_loc = tok.inside.to(cd)
    else:
        tok.wt_loc = tok.w[loc.clamp(0, max(vl - 1, 0))] * tok.inside if vl else torch.zeros(n, dtype=cd)
    return tok


class _ShardTok:
    """The attributes of the fused engine's ``_Tok`` (a, t, valid, w, wsum, wt, y) for one shard."""

    a: Any
    t: Any
    valid: Any
    w: Any
    wsum: Any
    wt: Any
    y: Any
    inside: Any
    wsum_loc: Any
    wt_loc: Any


class _VocabParallel:
    """Namespace holding the autograd.Function (built lazily: torch is imported on first use)."""

    _fn = None

    @classmethod
    def apply(cls, *args):
        if cls._fn is None:
            cls._fn = _make_torch_function()
        return cls._fn.apply(*args)


def _make_torch_function():
    import torch
    import torch.distributed as dist

    from ..fused import _torch as T

    class VocabParallelLinearCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, h, W, b, target, cw, divisor, cfg, group, on, v0):
            n, vl = h.shape[0], W.shape[0]
            cd = T.compute_dtype(h.dtype)
            dev = h.device
            tok = _torch_tok(target, cw, cfg, cd, n, v0, vl, group, on)
            hc, Wc = h.to(cd), W.to(cd)
            bc = None if b is None else b.to(cd)
            nbuf = 2 if cfg.cap is not None else 1
            rows = T._rows_for(n, max(vl, 1), nbuf, torch.finfo(cd).bits // 8, cfg.chunk_size)
            work = T._Work(max(vl, 1), rows, cd, dev, nbuf)
            fmin = torch.finfo(cd).min
            m = torch.full((n,), fmin, dtype=cd, device=dev)
            ssum = torch.zeros(n, dtype=cd, device=dev)
            acc = T._new_acc(cfg, n, cd, dev)
            if vl:
                for s in range(0, n, rows):
                    e = min(n, s + rows)
                    z, _ = T._logits(hc[s:e], Wc, bc, *work.get(vl, e - s), cfg.cap)
                    mb = z.amax(0).clamp_(min=fmin)
                    m[s:e] = mb
                    zr = z.sub_(mb[None, :])
                    _stats_block(zr, tok, cfg, s, e, vl, cd, acc)
                    ssum[s:e] = zr.exp_().sum(0)
            # Global statistics: one MAX and one SUM all-reduce of per-token numbers.
            gm = m.clone()
            if on:
                dist.all_reduce(gm, op=dist.ReduceOp.MAX, group=group)
            shift = m - gm  # <= 0; local reference -> global reference
            # Per token: Σ exp, the target sum (index: z_t; prob: Σ w y z) and its weight
            # (index: w_t; prob: Σ w y), relative to the global maximum, [and Σ w z].
            if cfg.prob:
                cols = [ssum * torch.exp(shift), acc["zt"] + shift * acc["yw"], acc["yw"]]
            else:
                cols = [ssum * torch.exp(shift), (acc["zt"] + shift) * tok.inside, tok.wt_loc]
            if cfg.eps > 0.0:
                cols.append(acc["zw"] + shift * tok.wsum_loc)
            pack = torch.stack(cols)
            if on:
                dist.all_reduce(pack, op=dist.ReduceOp.SUM, group=group)
            dl = pack[0].log()
            lse = gm + dl
            gacc = {"zt": pack[1]}
            if cfg.eps > 0.0:
                gacc["zw"] = pack[3]
            if cfg.prob:
                gacc["yw"] = pack[2]
            else:
                tok.wt = pack[2] * tok.valid
            tok.a = T._a_of(tok, cfg, gacc, 0, n) if cfg.prob else (
                (1.0 - cfg.eps) * tok.wt + (cfg.eps / cfg.v) * tok.wsum)
            ell = T._finish_loss(tok, cfg, lse, dl, gacc)
            denom = T._denominator(tok, cfg, divisor, n, cd, dev)
            uscale = T._uscale(tok, denom, n, cd, dev)
            loss = T._reduce(ell, cfg, denom)
            ctx.cfg, ctx.tok, ctx.uscale, ctx.group, ctx.on = cfg, tok, uscale, group, on
            ctx.target_meta = (target.shape, target.dtype)
            ctx.save_for_backward(h, W, b, lse)
            return loss

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g_loss):
            h, W, b, lse = ctx.saved_tensors
            cfg, tok = ctx.cfg, ctx.tok
            cd = T.compute_dtype(h.dtype)
            if cfg.reduction == "none":
                u = g_loss.reshape(-1).to(cd) * ctx.uscale
            else:
                u = g_loss.to(cd) * ctx.uscale
            need = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], b is not None and ctx.needs_input_grad[2])
            need_h = need[0]
            # Probability targets receive gradients (dℓ_i/dy_ic = (1-ε) w_c (lse_i - z_ic) u_i).
            need_t = cfg.prob and ctx.needs_input_grad[3]
            gt = None
            # The engine's recompute backward on the local shard: class index tok.t (or the
            # probability columns tok.y) is local, cfg.v stays global (ε/C), so the shard
            # behaves as one vocabulary tile.
            if W.shape[0]:
                if need_t:
                    gh, gw, gb, gt = T._grads(h, W, b, tok, cfg, lse, tok.a, u, None, (*need, True))
                else:
                    gh, gw, gb = T._grads(h, W, b, tok, cfg, lse, tok.a, u, None, need)
            else:
                gh = torch.zeros_like(h) if need_h else None
                gw = torch.zeros_like(W) if need[1] else None
                gb = None if not need[2] else torch.zeros_like(b)
                gt = torch.zeros(ctx.target_meta[0], dtype=cd, device=h.device) if need_t else None
            if ctx.on and need_h:
                dist.all_reduce(gh, op=dist.ReduceOp.SUM, group=ctx.group)
            if gb is not None and gb.dtype != b.dtype:
                gb = gb.to(b.dtype)
            if gt is not None:
                shape, dtype = ctx.target_meta
                gt = gt.reshape(shape).to(dtype)
            return (gh if need_h else None), gw, gb, gt, None, None, None, None, None, None

    return VocabParallelLinearCrossEntropy


def _stats_block(zr, tok, cfg, s, e, vl, cd, acc):
    """Target and smoothing sums of one block of local logits relative to the local max."""
    from ..fused import _torch as T

    T._block_stats(zr, tok, cfg, s, e, 0, vl, tok.w, cd, acc)


# --------------------------------------------------------------------------- JAX


def _jax(input, weight, target, bias, class_weight, axis_name, vocab_size, ig, red, eps, zl, cap, num_items):
    import jax.numpy as jnp
    from jax import lax

    from ..fused._jax import _compute_dtype, _is_float

    if getattr(weight, "ndim", None) != 2 or input.shape[-1] != weight.shape[1]:
        raise LossBridgeError(f"`weight` must be this shard's (V_r, D) rows; got shape {getattr(weight, 'shape', None)}.")
    _check_target_shard(input, weight, target, _is_float)
    prob = _is_float(target)
    vl = int(weight.shape[0])
    p = lax.psum(1, axis_name)
    v_pad = vl * p
    v = v_pad if vocab_size is None else int(vocab_size)
    if not (v_pad - vl < v <= v_pad):
        raise LossBridgeError(
            f"`vocab_size`={vocab_size} does not fit {p} shards of {vl} rows (padding must be < one shard)."
        )
    batch_shape = tuple(input.shape[:-1])
    cd = _compute_dtype(input.dtype)
    h = input.reshape(-1, input.shape[-1])
    v0 = lax.axis_index(axis_name) * vl
    cols = v0 + jnp.arange(vl)
    real = cols < v
    z = lax.dot_general(h, weight, (((1,), (1,)), ((), ())), preferred_element_type=cd)
    if bias is not None:
        z = z + bias.astype(cd)
    if cap is not None:
        z = cap * jnp.tanh(z / cap)
    z = jnp.where(real[None, :], z, -jnp.inf)
    m_loc = jnp.max(jnp.where(real[None, :], z, jnp.finfo(cd).min), axis=1)
    m = lax.stop_gradient(lax.pmax(lax.stop_gradient(m_loc), axis_name))
    zr = z - m[:, None]
    ssum = lax.psum(jnp.sum(jnp.exp(zr), axis=1), axis_name)
    dl = jnp.log(ssum)
    lse = m + dl
    zrs = jnp.where(real[None, :], zr, 0.0)
    if class_weight is None:
        w = real.astype(cd)
    else:
        w = jnp.where(real, lax.stop_gradient(class_weight).astype(cd), 0.0)
    wsum = lax.psum(jnp.sum(w), axis_name)
    if prob:
        # This shard's probability columns; padded columns (>= vocab_size) are ignored.
        yw = jnp.where(real[None, :], target.reshape(-1, vl).astype(cd) * w[None, :], 0.0)
        valid = jnp.ones(h.shape[0], bool)
        # (1-ε) (Σ_c w_c y_ic (lse_i - m_i) - Σ_c w_c y_ic (z_ic - m_i)), each sum over all ranks.
        ell = (1.0 - eps) * (lax.psum(jnp.sum(yw, axis=1), axis_name) * dl
                             - lax.psum(jnp.sum(zrs * yw, axis=1), axis_name))
    else:
        t = target.reshape(-1)
        valid = t != ig
        loc = t - v0
        inside = valid & (loc >= 0) & (loc < vl)
        locs = jnp.clip(loc, 0, vl - 1)
        zt = lax.psum(jnp.where(inside, jnp.take_along_axis(zrs, locs[:, None], axis=1)[:, 0], 0.0), axis_name)
        wt = lax.psum(jnp.where(inside, w[locs], 0.0), axis_name)
        ell = (1.0 - eps) * wt * (dl - zt)
    if eps > 0.0:
        zw = lax.psum(zrs @ w, axis_name)
        ell = ell + (eps / v) * (wsum * dl - zw)
    if zl > 0.0:
        ell = ell + zl * lse * lse
    ell = jnp.where(valid, ell, 0.0)
    if red == "none":
        return ell.reshape(batch_shape)
    total = jnp.sum(ell)
    if num_items is not None:
        return total / jnp.asarray(num_items, cd)
    if red == "sum":
        return total
    # torch's 'mean': the number of tokens for probability targets (class weights ignored).
    denom = jnp.asarray(float(h.shape[0]), cd) if prob else jnp.sum(lax.stop_gradient(wt))
    safe = jnp.where(denom != 0, denom, 1.0)
    return jnp.where(denom != 0, total / safe, jnp.nan)
