"""Chunked linear + cross-entropy on torch tensors (imported only when a tensor arrives).

Notation (one token i, C = V classes, z = softcap(x_i W^T + b), lse = logsumexp(z),
w = class weights (ones if none), t = target, y = target probabilities, ε = label
smoothing, ζ = z_loss)::

    index target:  ℓ_i = (1-ε) w_t (lse - z_t) + (ε/C) Σ_c w_c (lse - z_c) + ζ lse²   (0 if ignored)
    prob. target:  ℓ_i = Σ_c w_c ((1-ε) y_c + ε/C) (lse - z_c) + ζ lse²
    dℓ_i/dz      = p (A_i + 2ζ lse) - (1-ε) w⊙y - (ε/C) w,   p = softmax(z),
                   A_i = (1-ε) Σ_c w_c y_c + (ε/C) Σ_c w_c      (y = one-hot(t) for index targets)

Two engines share the per-block code:

* ``_fused``: row chunks over the full vocabulary, 3 GEMMs per chunk (logits, grad_input,
  grad_weight); the gradients are computed in forward for a *scalar* upstream gradient
  and multiplied by it in backward.  Used for reduction 'mean'/'sum' when the compute
  dtype is the input dtype (float32/float64).
* ``_stats`` + ``_grads``: forward computes only the log-sum-exp and the loss (1 GEMM);
  backward recomputes each logit block and applies the per-token upstream gradient
  (3 GEMMs).  Used for reduction 'none' (per-token upstream, Liger #968), for the
  gradient of the returned lse, for a second backward (retain_graph), and for
  float16/bfloat16 inputs, where blocks are also tiled over the vocabulary so that
  neither a V x D float32 copy of ``weight`` nor a V x D float32 gradient accumulator
  is ever allocated (only a ``tile x D`` one).

Each block's elementwise passes (max/exp/sum, then the gradient scale) run as two
compiled kernels where inductor has a C++ compiler, torch's eager kernels otherwise
(``_torch_kernels``; ``LOSSBRIDGE_FUSED_COMPILE=0`` forces eager).  Rows per block come
from :func:`choose_rows` (memory budget, L2 floor, balanced blocks).

Caller tensors are never written to; every in-place operation acts on workspaces
allocated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .. import _deferred
from . import _torch_kernels as K

# Workspace of one logits block, in bytes (float32: rows x V x 4).  Measured on a
# 2-core AVX2 CPU (see benchmarks/RESULTS.md): the 3 GEMMs per block get faster with
# more rows up to thousands (CPU time of the block GEMMs at V=16384, D=1024, N=2048 on a
# loaded machine: 5.1 s at 64 rows, 4.3 s at 128, 3.4 s at 256, 3.1 s at 512, 2.9 s at
# 2048; the unchunked GEMMs 3.1 s), because every block streams W and the V x D weight
# gradient through memory once.  So the block is as large as this budget allows (it is
# the engine's whole extra memory), never smaller than the L2 floor below.
_BLOCK_BYTES = 128 << 20
_MIN_ROWS = 64
# float16/bfloat16 inputs on the vocabulary-tiled engine: columns of weight per tile.
_VTILE = 4096
# Used when sysfs does not say (this project's CI machine: 1 MiB L2 per core, 32 MiB L3).
_L2_FALLBACK = 1 << 20
_L3_FALLBACK = 32 << 20


@dataclass(frozen=True)
class Cfg:
    ignore_index: int
    reduction: str
    eps: float
    zl: float
    cap: float | None
    prob: bool
    v: int
    chunk_size: int | None


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16/bfloat16 compute (GEMMs, log-sum-exp, loss, gradient sums) in float32."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _parse_size(text: str) -> int:
    t = text.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(t[:-1] if t[-1:] in "KMG" else t) * mult


def cache_sizes(root: str = "/sys/devices/system/cpu/cpu0/cache") -> tuple[int, int]:
    """(L2 bytes of one core, L3 bytes) of cpu0 from sysfs; the fallback constants where absent."""
    import glob
    import os

    found: dict[int, int] = {}
    for d in sorted(glob.glob(os.path.join(root, "index*"))):
        try:
            with open(os.path.join(d, "level")) as f:
                level = int(f.read())
            with open(os.path.join(d, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(d, "size")) as f:
                size = _parse_size(f.read())
        except (OSError, ValueError):
            continue
        if kind in ("Unified", "Data") and level in (2, 3):
            found[level] = size
    return found.get(2, _L2_FALLBACK), found.get(3, _L3_FALLBACK)


_CACHES: tuple[int, int] | None = None


@torch.compiler.assume_constant_result  # read once; under torch.compile a constant (no graph break)
def _caches() -> tuple[int, int]:
    global _CACHES
    if _CACHES is None:
        _CACHES = cache_sizes()
    return _CACHES


def choose_rows(n: int, width: int, d: int, itemsize: int, nbuf: int, l2: int, l3: int,
                chunk_size: int | None = None) -> int:
    """Tokens per block: a pure function of the sizes, the dtype's itemsize and the caches.

    * ``chunk_size`` given: that (at most ``n``, at least 1).
    * Otherwise the largest block of ``width`` classes within ``_BLOCK_BYTES`` (``nbuf``
      buffers; the engine's whole extra memory), and at least a floor of rows even where
      that exceeds the budget (huge vocabularies): the rows whose hidden panel
      (rows x d x itemsize) fills half of one core's L2 (``l2``), at most ``_MIN_ROWS``
      (64) and at least 8.  With d = 1024 float32 and a 1 MiB L2 that is 64 (the previous
      constant); wider hidden sizes get a smaller floor instead of a panel spilling L2.
    * The L3 (``l3``) does not lower the block: a block that fits in it (at V = 131072,
      float32: at most 64 rows of 32 MiB) makes the 3 GEMMs slower than the elementwise
      passes it saves (measured, see ``_BLOCK_BYTES``: 5.1 s CPU at 64 rows against 3.4 s
      at 256); it is an argument so that the choice stays a pure, testable function.
    * The rows are then balanced over the blocks (ceil(n / blocks) each), so that no
      small last block pays a full pass over W and the weight gradient for a few tokens.
    """
    n1 = max(n, 1)
    if chunk_size is not None:
        return max(1, min(chunk_size, n1))
    cap = _BLOCK_BYTES // max(1, width * itemsize * nbuf)
    floor = min(_MIN_ROWS, max(8, l2 // max(1, 2 * d * itemsize)))
    del l3  # see the docstring
    rows = max(1, min(max(cap, floor), n1))
    blocks = -(-n1 // rows)
    return -(-n1 // blocks)


def _rows_for(n: int, width: int, nbuf: int, itemsize: int, chunk_size: int | None, d: int = 1024) -> int:
    l2, l3 = _caches()
    return choose_rows(n, width, d, itemsize, nbuf, l2, l3, chunk_size)


class _Tok:
    """Per-token data of one call (computed once, reused by forward and backward)."""

    __slots__ = ("a", "t", "valid", "w", "wsum", "wt", "y")
    # Tensors, or None where the target kind has none (``t``/``a`` for index targets, ``y``
    # for probability targets): the engine reads each only on its own path.
    a: Any
    t: Any
    valid: Any
    w: Any
    wsum: Any
    wt: Any
    y: Any

    def __init__(self, target: torch.Tensor, cw: torch.Tensor | None, cfg: Cfg, cd: torch.dtype, n: int):
        dev = target.device
        self.w = None if cw is None else cw.detach().to(cd)
        self.wsum = float(cfg.v) if cw is None else self.w.sum()
        if cfg.prob:
            self.y = target.reshape(n, cfg.v)
            self.t = self.valid = self.wt = None
            # A_i needs Σ_c w_c y_ic, accumulated block by block in _stats/_fused.
            self.a = None
        else:
            self.y = None
            t = target.reshape(n).long()
            self.valid = t != cfg.ignore_index
            self.t = torch.where(self.valid, t, torch.zeros((), dtype=t.dtype, device=dev))
            self.wt = self.valid.to(cd) if cw is None else self.w[self.t] * self.valid
            self.a = (1.0 - cfg.eps) * self.wt + (cfg.eps / cfg.v) * self.wsum


class _Work:
    """Reusable logits workspace: blocks are class-major, ``(width, k)`` = (classes, tokens).

    The class-major layout makes the logits GEMM ``W_j @ h_b^T`` (measured ~20% faster
    than ``h_b @ W_j^T`` with MKL on AVX2) and the weight-gradient GEMM ``G @ h_b``
    transpose-free.  Views of the first ``width * k`` elements keep every block
    contiguous, whatever its shape.
    """

    def __init__(self, width: int, rows: int, cd, dev, nbuf: int):
        self.bufs = [torch.empty(width * rows, dtype=cd, device=dev) for _ in range(nbuf)]

    def get(self, width: int, k: int) -> tuple[Any, Any]:
        z = self.bufs[0][: width * k].view(width, k)
        z2 = self.bufs[1][: width * k].view(width, k) if len(self.bufs) > 1 else None
        return z, z2


def _logits(hb, wj, bj, z, z2, cap):
    """Block logits (class-major): z <- wj @ hb.T + bj; with softcap returns (capped, tanh)."""
    if bj is None:
        torch.mm(wj, hb.t(), out=z)
    else:
        torch.addmm(bj[:, None], wj, hb.t(), out=z)
    if cap is None:
        return z, None
    z.div_(cap).tanh_()
    torch.mul(z, cap, out=z2)
    return z2, z


def _target_gather(z, t, j0, width, v):
    """(z[t_i - j0, i], inside) for the targets that fall in this tile; inside is None
    when the tile spans every class."""
    if j0 == 0 and width == v:
        return z.gather(0, t[None, :]).squeeze(0), None
    loc = t - j0
    inside = (loc >= 0) & (loc < width)
    return z.gather(0, loc.clamp(0, width - 1)[None, :]).squeeze(0), inside


def _ytile(tok: _Tok, s, e, j0, j1, cd, w_t):
    """Class-major (width, k) block of w ⊙ y."""
    y = tok.y[s:e, j0:j1].t().to(cd)
    return y if w_t is None else y * w_t[:, None]


def _block_stats(zr, tok, cfg, s, e, j0, j1, w_t, cd, acc):
    """Accumulate the target and smoothing sums of one block of *relative* logits.

    ``zr`` = z - m0 (m0: a per-token reference, the maximum of the token's first tile), so
    the sums never cancel at large logit offsets.  ``acc`` holds per-token tensors: 'zt'
    (index: z_t - m0; prob: Σ w y (z - m0)), 'zw' (Σ w (z - m0), with smoothing), 'yw'
    (prob: Σ w y).
    """
    if cfg.prob:
        yt = _ytile(tok, s, e, j0, j1, cd, w_t)
        acc["yw"][s:e] += yt.sum(0)
        acc["zt"][s:e] += (zr * yt).sum(0)
    else:
        g, inside = _target_gather(zr, tok.t[s:e], j0, j1 - j0, cfg.v)
        if inside is None:
            acc["zt"][s:e] = g
        else:
            acc["zt"][s:e] += torch.where(inside, g, torch.zeros((), dtype=cd, device=zr.device))
    if cfg.eps > 0.0:
        acc["zw"][s:e] += zr.sum(0) if w_t is None else torch.mv(zr.t(), w_t)


def _finish_loss(tok: _Tok, cfg: Cfg, lse, dlse, acc):
    """Per-token loss from lse, dlse = lse - m0 and the relative sums."""
    eps, v = cfg.eps, cfg.v
    if cfg.prob:
        ell = (1.0 - eps) * (acc["yw"] * dlse - acc["zt"])
    else:
        ell = (1.0 - eps) * tok.wt * (dlse - acc["zt"])
    if eps > 0.0:
        ell = ell + (eps / v) * (tok.wsum * dlse - acc["zw"])
    if cfg.zl > 0.0:
        ell = ell + cfg.zl * lse * lse
    if tok.valid is not None:
        ell = torch.where(tok.valid, ell, torch.zeros((), dtype=ell.dtype, device=ell.device))
    return ell


def _a_of(tok: _Tok, cfg: Cfg, acc, s, e):
    if cfg.prob:
        return (1.0 - cfg.eps) * acc["yw"][s:e] + (cfg.eps / cfg.v) * tok.wsum
    return tok.a[s:e]


def _dlogits_targets(p, tok, cfg, s, e, j0, j1, u, w_t, cd):
    """p -= u (1-ε) w⊙y + u (ε/C) w   on one class-major block (u: per-token upstream)."""
    eps = cfg.eps
    if eps < 1.0:
        if cfg.prob:
            p.addcmul_(_ytile(tok, s, e, j0, j1, cd, w_t), (-(1.0 - eps) * u)[None, :])
        else:
            t = tok.t[s:e]
            width = j1 - j0
            coef = -(1.0 - eps) * u * tok.wt[s:e]
            if j0 == 0 and width == cfg.v:
                p.scatter_add_(0, t[None, :], coef[None, :])
            else:
                loc = t - j0
                inside = (loc >= 0) & (loc < width)
                coef = torch.where(inside, coef, torch.zeros((), dtype=cd, device=p.device))
                p.scatter_add_(0, loc.clamp(0, width - 1)[None, :], coef[None, :])
    if eps > 0.0:
        g = (eps / cfg.v) * u
        if w_t is None:
            p.sub_(g[None, :])
        else:
            p.addr_(w_t, g, alpha=-1.0)


def _compiled_stats(z, tok: _Tok, cfg: Cfg, s, e, w, acc):
    """Block statistics with the compiled kernel (index targets over the full vocabulary):
    returns (m, Σ exp(z - m)) and fills ``acc`` as :func:`_block_stats` does, leaving ``z``
    unchanged; None where the eager path must run (see ``_torch_kernels``)."""
    if cfg.prob or not K.use_compiled(z):
        return None
    r = K.stats(z, w, cfg.eps > 0.0)
    if r is None:
        return None
    m, ssum, zs = r
    # z_t - m: the same rounding as gathering from z - m.
    acc["zt"][s:e] = z.gather(0, tok.t[s:e][None, :]).squeeze(0) - m
    if zs is not None:
        acc["zw"][s:e] += zs
    return m, ssum


def _scale(z, m, c):
    """p = exp(z - m) * c in place (compiled kernel; eager if it fails)."""
    if not K.scale(z, m, c):
        z.sub_(m[None, :]).exp_().mul_(c[None, :])
    return z


def _softcap_grad(p, th):
    """p <- p * (1 - tanh²); th is overwritten."""
    th.square_()
    p.addcmul_(p, th, value=-1.0)


def _new_acc(cfg: Cfg, n: int, cd, dev) -> dict:
    acc = {"zt": torch.zeros(n, dtype=cd, device=dev)}
    if cfg.eps > 0.0:
        acc["zw"] = torch.zeros(n, dtype=cd, device=dev)
    if cfg.prob:
        acc["yw"] = torch.zeros(n, dtype=cd, device=dev)
    return acc


def _fused(h, W, b, tok: _Tok, cfg: Cfg, uscale, need):
    """Forward with gradients for a scalar upstream of 1: 3 GEMMs per row chunk.

    ``uscale``: per-token factor of the reduction (valid_i / denominator).
    Returns lse, per-token loss, A (per token), and the gradients (each None if not needed).
    """
    n, v = h.shape[0], W.shape[0]
    cd, dev = h.dtype, h.device
    nbuf = 2 if cfg.cap is not None else 1
    rows = _rows_for(n, v, nbuf, h.element_size(), cfg.chunk_size, h.shape[1])
    work = _Work(v, rows, cd, dev, nbuf)
    lse = torch.empty(n, dtype=cd, device=dev)
    dlse = torch.empty(n, dtype=cd, device=dev)
    acc = _new_acc(cfg, n, cd, dev)
    need_h, need_w, need_b = need
    gh: Any = torch.empty_like(h, memory_format=torch.contiguous_format) if need_h else None
    gw: Any = (torch.zeros_like(W) if n == 0 else torch.empty_like(W)) if need_w else None
    gb = torch.zeros(v, dtype=cd, device=dev) if need_b else None
    w = tok.w
    fmin = torch.finfo(cd).min
    for s in range(0, n, rows):
        e = min(n, s + rows)
        hb = h[s:e]
        z, th = _logits(hb, W, b, *work.get(v, e - s), cfg.cap)
        kst = _compiled_stats(z, tok, cfg, s, e, w, acc)
        if kst is None:
            m = z.amax(0).clamp_(min=fmin)
            zr = z.sub_(m[None, :])
            _block_stats(zr, tok, cfg, s, e, 0, v, w, cd, acc)
            p = zr.exp_()
            ssum = p.sum(0)
        else:
            m, ssum = kst
        dl = ssum.log()
        dlse[s:e] = dl
        lse[s:e] = m + dl
        a = _a_of(tok, cfg, acc, s, e)
        u = uscale[s:e]
        alpha = u * a if cfg.zl == 0.0 else u * (a + (2.0 * cfg.zl) * lse[s:e])
        if kst is None:
            p.mul_((alpha / ssum)[None, :])
        else:
            p = _scale(z, m, alpha / ssum)
        _dlogits_targets(p, tok, cfg, s, e, 0, v, u, w, cd)
        if th is not None:
            _softcap_grad(p, th)
        if need_h:
            torch.mm(p.t(), W, out=gh[s:e])
        if need_w:
            if s == 0:
                torch.mm(p, hb, out=gw)
            else:
                gw.addmm_(p, hb)
        if need_b:
            gb += p.sum(1)
    ell = _finish_loss(tok, cfg, lse, dlse, acc)
    return lse, ell, _a_of(tok, cfg, acc, 0, n), (gh, gw, gb)


def _tiles(v: int, cd, wdtype, chunk_size, n, d: int) -> tuple[int, int]:
    """(vtile, rows) of the recompute engine."""
    # no cast needed (cd == wdtype): full-width row chunks, no online merge
    vt = v if cd == wdtype else min(v, _VTILE)
    return vt, _rows_for(n, vt, 1, torch.finfo(cd).bits // 8, chunk_size, d)


def _stats(h, W, b, tok: _Tok, cfg: Cfg):
    """Forward without gradients: lse and per-token loss, 1 GEMM, tiled (vtile x rows)."""
    n, v = h.shape[0], W.shape[0]
    cd = compute_dtype(h.dtype)
    dev = h.device
    vt, rows = _tiles(v, cd, W.dtype, cfg.chunk_size, n, W.shape[1])
    work = _Work(vt, rows, cd, dev, 2 if cfg.cap is not None else 1)
    hc = h.to(cd)
    fmin = torch.finfo(cd).min
    m = torch.full((n,), fmin, dtype=cd, device=dev)
    m0 = torch.empty(n, dtype=cd, device=dev)
    ssum = torch.zeros(n, dtype=cd, device=dev)
    acc = _new_acc(cfg, n, cd, dev)
    for j0 in range(0, v, vt):
        j1 = min(v, j0 + vt)
        wj = W[j0:j1].to(cd)
        bj = None if b is None else b[j0:j1].to(cd)
        w_t = None if tok.w is None else tok.w[j0:j1]
        for s in range(0, n, rows):
            e = min(n, s + rows)
            z, _ = _logits(hc[s:e], wj, bj, *work.get(j1 - j0, e - s), cfg.cap)
            kst = _compiled_stats(z, tok, cfg, s, e, w_t, acc) if vt == v else None
            if kst is not None:
                m[s:e], ssum[s:e] = kst
                m0[s:e] = m[s:e]
                continue
            mb = z.amax(0).clamp_(min=fmin)
            if j0 == 0:
                m0[s:e] = mb
                zr = z.sub_(mb[None, :])
                _block_stats(zr, tok, cfg, s, e, j0, j1, w_t, cd, acc)
                sb = zr.exp_().sum(0)
            else:
                zr = z.sub_(m0[None, s:e])
                _block_stats(zr, tok, cfg, s, e, j0, j1, w_t, cd, acc)
                sb = zr.sub_((mb - m0[s:e])[None, :]).exp_().sum(0)
            mo = m[s:e]
            mn = torch.maximum(mo, mb)
            ssum[s:e] = ssum[s:e] * torch.exp(mo - mn) + sb * torch.exp(mb - mn)
            m[s:e] = mn
    dl = ssum.log()
    lse = m + dl
    dlse = (m - m0) + dl
    ell = _finish_loss(tok, cfg, lse, dlse, acc)
    a = _a_of(tok, cfg, acc, 0, n)
    return lse, ell, a


def _grads(h, W, b, tok: _Tok, cfg: Cfg, lse, a, u, vlse, need):
    """Backward by recomputation: 3 GEMMs per block, any per-token upstream.

    dz_i = p_i (u_i (A_i + 2ζ lse_i) + vlse_i) - u_i (1-ε) w⊙y_i - u_i (ε/C) w.
    ``u``: per-token upstream of the loss (already × valid / denominator), 1-D.
    ``vlse``: per-token upstream of the returned lse, or None.
    """
    n, v = h.shape[0], W.shape[0]
    cd = compute_dtype(h.dtype)
    dev = h.device
    need_h, need_w, need_b = need[:3]
    need_t = len(need) > 3 and need[3]
    # Probability targets: dℓ_i/dy_ic = (1-ε) w_c (lse_i - z_ic), times u_i.
    gt: Any = torch.empty((n, v), dtype=cd, device=dev) if need_t else None
    vt, rows = _tiles(v, cd, W.dtype, cfg.chunk_size, n, W.shape[1])
    work = _Work(vt, rows, cd, dev, 2 if cfg.cap is not None else 1)
    hc = h.to(cd)
    alpha = u * a if cfg.zl == 0.0 else u * (a + (2.0 * cfg.zl) * lse)
    if vlse is not None:
        alpha = alpha + vlse
    same_w = cd == W.dtype
    single = vt == v
    gh: Any = None  # the gradients asked for (need_*), None for the others
    if need_h:
        gh = torch.empty(h.shape, dtype=cd, device=dev) if single else torch.zeros(h.shape, dtype=cd, device=dev)
    gw: Any = torch.zeros_like(W) if need_w else None
    gb: Any = torch.zeros(v, dtype=cd, device=dev) if need_b else None
    accw: Any = None
    for j0 in range(0, v, vt):
        j1 = min(v, j0 + vt)
        width = j1 - j0
        wj = W[j0:j1].to(cd)
        bj = None if b is None else b[j0:j1].to(cd)
        w_t = None if tok.w is None else tok.w[j0:j1]
        if need_w:
            if same_w:
                accw = gw[j0:j1]
            elif accw is None or accw.shape[0] != width:
                accw = torch.empty((width, W.shape[1]), dtype=cd, device=dev)
        for s in range(0, n, rows):
            e = min(n, s + rows)
            hb = hc[s:e]
            z, th = _logits(hb, wj, bj, *work.get(width, e - s), cfg.cap)
            if need_t:
                gy = (lse[None, s:e] - z) * ((1.0 - cfg.eps) * u[s:e])[None, :]
                gt[s:e, j0:j1] = (gy if w_t is None else gy * w_t[:, None]).t()
            if K.use_compiled(z):
                p = _scale(z, lse[s:e], alpha[s:e])
            else:
                p = z.sub_(lse[None, s:e]).exp_().mul_(alpha[None, s:e])
            _dlogits_targets(p, tok, cfg, s, e, j0, j1, u[s:e], w_t, cd)
            if th is not None:
                _softcap_grad(p, th)
            if need_h:
                if single:
                    torch.mm(p.t(), wj, out=gh[s:e])
                else:
                    gh[s:e].addmm_(p.t(), wj)
            if need_w:
                if s == 0:
                    torch.mm(p, hb, out=accw)
                else:
                    accw.addmm_(p, hb)
            if need_b:
                gb[j0:j1] += p.sum(1)
        if need_w and not same_w and n > 0:
            gw[j0:j1].copy_(accw)
    if need_h and gh.dtype != h.dtype:
        gh = gh.to(h.dtype)
    if need_t:
        return gh, gw, gb, gt
    return gh, gw, gb


class LinearCrossEntropyFunction(torch.autograd.Function):
    """autograd.Function of the chunked loss; see :func:`lce`."""

    @staticmethod
    def forward(ctx, h, W, b, target, cw, divisor, cfg: Cfg):
        ctx.set_materialize_grads(False)
        n = h.shape[0]
        cd = compute_dtype(h.dtype)
        tok = _Tok(target, cw, cfg, cd, n)
        need = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], b is not None and ctx.needs_input_grad[2])
        ctx.need_t = cfg.prob and ctx.needs_input_grad[3]
        ctx.target_meta = (target.shape, target.dtype)
        denom = _denominator(tok, cfg, divisor, n, cd, h.device)
        uscale = _uscale(tok, denom, n, cd, h.device)
        pre = None
        # The gradient of probability targets needs the recomputing engine (_grads).
        if cfg.reduction != "none" and cd == h.dtype and any(need) and not ctx.need_t:
            lse, ell, a, pre = _fused(h, W, b, tok, cfg, uscale, need)
        else:
            lse, ell, a = _stats(h, W, b, tok, cfg)
        loss = _reduce(ell, cfg, denom)
        ctx.cfg, ctx.tok, ctx.need, ctx.pre, ctx.a = cfg, tok, need, pre, a
        ctx.uscale = uscale
        ctx.save_for_backward(h, W, b, lse)
        return loss, lse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_loss, g_lse):
        none7 = (None,) * 7
        if g_loss is None and g_lse is None:
            return none7
        gt = None
        h, W, b, lse = ctx.saved_tensors
        cfg, tok, need = ctx.cfg, ctx.tok, ctx.need
        pre, ctx.pre = ctx.pre, None
        if pre is not None and g_lse is None and g_loss is not None:
            gh, gw, gb = pre
            del pre
            if not (g_loss.device.type not in _deferred.ACCELERATOR_DEVICE_TYPES and float(g_loss) == 1.0):
                g = g_loss.to(gh.dtype if gh is not None else gw.dtype if gw is not None else gb.dtype)
                for x in (gh, gw, gb):
                    if x is not None:
                        x.mul_(g)
        else:
            del pre
            cd = compute_dtype(h.dtype)
            if g_loss is None:
                u = torch.zeros(h.shape[0], dtype=cd, device=h.device)
            elif cfg.reduction == "none":
                u = g_loss.reshape(-1).to(cd) * ctx.uscale
            else:
                u = g_loss.to(cd) * ctx.uscale
            vlse = None if g_lse is None else g_lse.reshape(-1).to(cd)
            if ctx.need_t:
                gh, gw, gb, gt = _grads(h, W, b, tok, cfg, lse, ctx.a, u, vlse, (*need, True))
                shape, dtype = ctx.target_meta
                gt = gt.reshape(shape).to(dtype)
            else:
                gh, gw, gb = _grads(h, W, b, tok, cfg, lse, ctx.a, u, vlse, need)
        if gb is not None and gb.dtype != b.dtype:
            gb = gb.to(b.dtype)
        return gh, gw, gb, gt, None, None, None


def _denominator(tok: _Tok, cfg: Cfg, divisor, n: int, cd, dev):
    """Denominator of the reduction (a 0-d tensor), or None for 'none' / plain 'sum'."""
    if divisor is not None:
        return torch.as_tensor(divisor, device=dev).to(cd)
    if cfg.reduction == "mean":
        if cfg.prob:
            return torch.tensor(float(n), dtype=cd, device=dev)
        return tok.wt.sum()
    return None


def _uscale(tok: _Tok, denom, n, cd, dev):
    """Per-token factor of the gradient of the reduced loss: valid_i / denom (0 if denom == 0)."""
    base = torch.ones(n, dtype=cd, device=dev) if tok.valid is None else tok.valid.to(cd)
    if denom is None:
        return base
    inv = torch.where(denom != 0, 1.0 / denom, torch.zeros((), dtype=cd, device=dev))
    return base * inv


def _reduce(ell, cfg: Cfg, denom):
    if cfg.reduction == "none":
        return ell
    total = ell.sum()
    return total if denom is None else total / denom


def lce(h, W, b, target, cw, *, cfg: Cfg, divisor=None, want_lse: bool = False):
    """Chunked loss on 2-D ``h`` (N, D); returns (loss, lse or None), loss in the compute dtype.

    'none' returns a 1-D (N,) loss.  ``divisor`` (number or 0-d tensor) replaces the
    denominator of 'mean' and divides 'sum'; a zero divisor gives a NaN or inf value and
    zero gradients.

    Tokens whose target is ``ignore_index`` contribute neither loss nor gradient, so unless
    their lse is wanted they are dropped before any GEMM (an exact saving: with 1/17 of the
    tokens ignored, 6% of the work); ``index_select`` gives them zero gradients.
    """
    n = h.shape[0]
    # Not while torch.compile traces: the count of kept tokens is a data-dependent shape
    # (a graph break); the ignored tokens then go through the GEMMs with zero weight.
    # Nor on accelerator tensors: the count is a host read, which would stall the device.
    if (not cfg.prob and not want_lse and n and not torch.compiler.is_compiling()
            and h.device.type not in _deferred.ACCELERATOR_DEVICE_TYPES):
        t = target.reshape(n)
        keep = t != cfg.ignore_index
        kept = int(keep.sum())
        if kept < n:
            idx = keep.nonzero().squeeze(1)
            loss, _ = _lce(h.index_select(0, idx), W, b, t.index_select(0, idx), cw, cfg, divisor)
            if cfg.reduction == "none":
                loss = loss.new_zeros(n).index_put((idx,), loss)
            return loss, None
    return _lce(h, W, b, target, cw, cfg, divisor)


def _lce(h, W, b, target, cw, cfg: Cfg, divisor):
    needs = torch.is_grad_enabled() and (
        h.requires_grad or W.requires_grad or (b is not None and b.requires_grad)
        or (cfg.prob and target.requires_grad)
    )
    if not needs:
        with torch.no_grad():
            n = h.shape[0]
            cd = compute_dtype(h.dtype)
            tok = _Tok(target, cw, cfg, cd, n)
            lse, ell, _ = _stats(h, W, b, tok, cfg)
            return _reduce(ell, cfg, _denominator(tok, cfg, divisor, n, cd, h.device)), lse
    return LinearCrossEntropyFunction.apply(h, W, b, target, cw, divisor, cfg)


__all__ = ["Cfg", "LinearCrossEntropyFunction", "compute_dtype", "lce"]
