"""Chunked linear + cross-entropy on JAX arrays (imported only when a JAX array arrives).

Same formulas as ``_torch.py``.  The per-token losses and log-sum-exps come from a
``jax.custom_jvp`` whose primal scans row blocks with ``lax.scan`` (one block of logits
alive at a time) and whose tangent rule, linear in the input tangents, scans the blocks
again with each block rematerialised (``jax.checkpoint``): forward mode (``jax.jvp``,
``jacfwd``, ``hessian``) works, and JAX derives reverse mode by transposing the tangent
scan, which recomputes each block's logits and accumulates the weight gradient in the
scan's carry, as a hand-written chunked backward does (the same temporary memory).  It is
exact for every reduction and for gradients through the returned lse; the reduction is
ordinary JAX code around it.  float16/bfloat16 inputs are computed with float32
accumulation (``preferred_element_type``).  Under ``shard_map`` JAX's own transposition sums
the cotangent of a replicated ``W`` over the mesh axes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_derivatives import SymbolicZero

from .._backend import is_concrete
from ._common import check_arrays, check_num_items, raise_out_of_range

__all__ = ["jax_linear_cross_entropy"]

_BLOCK_BYTES = 128 << 20
_MIN_ROWS = 64


def _is_int(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.integer)


def _is_float(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)


def _compute_dtype(dtype) -> Any:
    return jnp.float32 if dtype in (jnp.float16, jnp.bfloat16) else dtype


@functools.lru_cache(maxsize=128)
def _make(ig: int, eps: float, zl: float, cap: float | None, prob: bool, v: int, rows: int, nblk: int):
    """The custom_jvp'd per-token function for one static configuration.

    f(h, W, b, t, w) -> (ell, lse), h: (nblk*rows, D) (padded), t: (nblk*rows,) or
    (nblk*rows, V); b and w may be None.
    """

    def logits(hb, W, b, cd):
        z = lax.dot_general(hb, W, (((1,), (1,)), ((), ())), preferred_element_type=cd)
        if b is not None:
            z = z + b.astype(cd)
        if cap is None:
            return z, None
        th = jnp.tanh(z / cap)
        return cap * th, th

    def coeffs(tb, w, cd):
        """(target info, A_i, valid_i) of one block.

        Target info: ``w ⊙ y`` (probabilities) or ``(safe index, w_t, out-of-range mask)``.
        """
        wsum = v if w is None else jnp.sum(w)
        if prob:
            y = tb.astype(cd)
            yw = y if w is None else y * w
            ysum = jnp.sum(yw, axis=1)
            a = (1.0 - eps) * ysum + (eps / v) * wsum
            return yw, a, None
        valid = tb != ig
        inrange = (tb >= 0) & (tb < v)
        ts = jnp.where(valid & inrange, tb, 0)
        wt = valid.astype(cd) if w is None else w[ts] * valid
        a = (1.0 - eps) * wt + (eps / v) * wsum
        # An out-of-range target (only possible under jit) makes the token NaN.
        bad = valid & ~inrange
        return (ts, wt, bad), a, valid

    def block_forward(z, tb, w, cd):
        """(ell, lse) of one block from its logits ``z``."""
        m = jnp.max(z, axis=1)
        m = jnp.maximum(m, jnp.finfo(cd).min)
        zr = z - m[:, None]
        s = jnp.sum(jnp.exp(zr), axis=1)
        dl = jnp.log(s)
        lse = m + dl
        tinfo, _a, valid = coeffs(tb, w, cd)
        if prob:
            ell = (1.0 - eps) * (jnp.sum(tinfo, axis=1) * dl - jnp.sum(zr * tinfo, axis=1))
        else:
            ts, wt, _bad = tinfo
            zt = jnp.take_along_axis(zr, ts[:, None], axis=1)[:, 0]
            ell = (1.0 - eps) * wt * (dl - zt)
        if eps > 0.0:
            wsum = v if w is None else jnp.sum(w)
            zw = jnp.sum(zr, axis=1) if w is None else zr @ w
            ell = ell + (eps / v) * (wsum * dl - zw)
        if zl > 0.0:
            ell = ell + zl * lse * lse
        if not prob:
            ell = jnp.where(valid, ell, 0.0)
            ell = jnp.where(tinfo[2], jnp.nan, ell)
        return ell, lse

    def fwd_scan(h, W, b, t, w):
        cd = _compute_dtype(h.dtype)
        hs = h.reshape(nblk, rows, h.shape[1])
        ts = t.reshape((nblk, rows, *t.shape[1:]))

        def body(_, xs):
            hb, tb = xs
            ell, lse = block_forward(logits(hb, W, b, cd)[0], tb, w, cd)
            return None, (ell.astype(cd), lse.astype(cd))

        _, (ell, lse) = lax.scan(body, None, (hs, ts))
        return ell.reshape(-1), lse.reshape(-1)

    # A custom_jvp (not a custom_vjp): forward mode (jax.jvp, jacfwd, hessian) works, and the
    # tangent is linear in the input tangents, so JAX derives reverse mode by transposing it.
    # The tangent scan's body is rematerialised (jax.checkpoint): reverse mode saves the
    # inputs and the per-token lse only and recomputes each block's logits in the
    # transposed scan, one block of logits alive at a time, as a hand-written backward would
    # (the same HLO: 4 matmuls per block, 2 exp passes, the same temporary memory).
    @jax.custom_jvp
    def f(h, W, b, t, w):
        return fwd_scan(h, W, b, t, w)

    def _zero(x):
        return x is None or isinstance(x, SymbolicZero)

    @functools.partial(f.defjvp, symbolic_zeros=True)
    def f_jvp(primals, tangents):
        h, W, b, t, w = primals
        dh, dW, db, dt, _dw = tangents  # the class weight is not differentiated (stop_gradient)
        cd = _compute_dtype(h.dtype)
        d = h.shape[1]
        hs = h.reshape(nblk, rows, d)
        ts = t.reshape((nblk, rows, *t.shape[1:]))
        dh = None if _zero(dh) else dh.reshape(nblk, rows, d)
        dt = None if (_zero(dt) or not prob) else dt.reshape(nblk, rows, v)
        # W's and b's tangents in the compute dtype, cast once outside the scan: reverse mode
        # accumulates their cotangents over the blocks in the scan's carry in float32 (for
        # float16/bfloat16 weights too) and casts the sum back once, as a float32 V x D carry.
        dW = None if _zero(dW) else dW.astype(cd)
        db = None if (b is None or _zero(db)) else db.astype(cd)

        # The primal (f itself: a higher derivative uses this rule again), then the tangent
        # scan; its blocks take their lse from the primal, so reverse mode recomputes each
        # block's logits once and exp(z - lse) from them, as a hand-written backward would.
        ell, lse = f(h, W, b, t, w)
        lses = lse.reshape(nblk, rows)

        @jax.checkpoint
        def block(W, b, w, dW, db, hb, tb, lb, dhb, dtb):
            z, th = logits(hb, W, b, cd)
            p = jnp.exp(z - lb[:, None])
            tinfo, a, valid = coeffs(tb, w, cd)
            dz = jnp.zeros((), cd)
            if dhb is not None:
                dz = dz + lax.dot_general(dhb, W, (((1,), (1,)), ((), ())), preferred_element_type=cd)
            if dW is not None:
                dz = dz + lax.dot_general(hb, dW, (((1,), (1,)), ((), ())), preferred_element_type=cd)
            if db is not None:
                dz = dz + db
            if th is not None:
                dz = dz * (1.0 - th * th)
            dz = jnp.broadcast_to(dz, z.shape)
            dlse = jnp.sum(p * dz, axis=1)
            # d ell = sum_c (dl/dz_c) dz_c, dl/dz = p (A + 2 zl lse) - (1-eps) w y - (eps/V) w
            dell = (a + 2.0 * zl * lb) * dlse
            if prob:
                dell = dell - (1.0 - eps) * jnp.sum(tinfo * dz, axis=1)
                if dtb is not None:  # dl/dy_c = (1-eps) w_c (lse - z_c)
                    gy = (1.0 - eps) * (lb[:, None] - z)
                    if w is not None:
                        gy = gy * w.astype(cd)[None, :]
                    dell = dell + jnp.sum(gy * dtb.astype(cd), axis=1)
            else:
                ts_, wt, bad = tinfo
                dell = dell - (1.0 - eps) * wt * jnp.take_along_axis(dz, ts_[:, None], axis=1)[:, 0]
            if eps > 0.0:
                dell = dell - (eps / v) * (jnp.sum(dz, axis=1) if w is None else dz @ w.astype(cd))
            if not prob:
                # a constant factor (linear): an ignored token has no tangent, an
                # out-of-range one (only under jit) a NaN tangent and NaN gradients
                dell = dell * jnp.where(bad, jnp.nan, valid.astype(cd))
            return dell.astype(cd), dlse.astype(cd)

        def body(_, xs):
            hb, tb, lb, dhb, dtb = xs
            return None, block(W, b, w, dW, db, hb, tb, lb, dhb, dtb)

        _, (dell, dlse) = lax.scan(body, None, (hs, ts, lses, dh, dt))
        return (ell, lse), (dell.reshape(-1), dlse.reshape(-1))

    return f


def _rows(n: int, v: int, chunk: int | None) -> int:
    if chunk is not None:
        return max(1, min(chunk, max(n, 1)))
    rows = _BLOCK_BYTES // (4 * v)
    return max(1, min(max(rows, _MIN_ROWS), max(n, 1)))


def jax_linear_cross_entropy(input, weight, target, bias, class_weight, ig, red, eps, zl, cap, chunk,
                             num_items, return_lse):
    spec = check_arrays(input, weight, target, bias, class_weight, is_int=_is_int, is_float=_is_float)
    check_num_items(num_items, red, concrete=num_items is None or is_concrete(num_items))
    if not spec.prob and is_concrete(target) and spec.n:
        t = np.asarray(target).reshape(-1).astype(np.int64)
        bad = (t != ig) & ((t < 0) | (t >= spec.v))
        if bad.any():
            flat = int(np.flatnonzero(bad)[0])
            pos = tuple(int(i) for i in np.unravel_index(flat, spec.batch_shape)) if spec.batch_shape else ()
            raise_out_of_range(int(t[flat]), pos, spec.v, ig, target)
    n, v = spec.n, spec.v
    rows = _rows(n, v, chunk)
    nblk = max(1, math.ceil(n / rows))
    return _core(
        input, weight, target, bias, class_weight, num_items, ig=ig, red=red, eps=eps, zl=zl,
        cap=cap, prob=spec.prob, n=n, d=spec.d, v=v, rows=rows, nblk=nblk,
        batch_shape=tuple(spec.batch_shape), return_lse=return_lse,
    )


@functools.partial(
    jax.jit,
    static_argnames=("ig", "red", "eps", "zl", "cap", "prob", "n", "d", "v", "rows", "nblk",
                     "batch_shape", "return_lse"),
)
def _core(input, weight, target, bias, class_weight, num_items, *, ig, red, eps, zl, cap, prob, n, d,
          v, rows, nblk, batch_shape, return_lse):
    """The loss after the checks: one module-level ``jit`` with the configuration static, so
    an eager call compiles once per configuration and shapes (a fresh closure per call would
    trace and compile the scans again every time)."""
    cd = _compute_dtype(input.dtype)
    pad = nblk * rows - n
    h = input.reshape(n, d)
    if prob:
        t = target.reshape(n, v)
        tpad = jnp.pad(t, ((0, pad), (0, 0)))
    else:
        t = target.reshape(n)
        tpad = jnp.pad(t, (0, pad), constant_values=ig)
    hpad = jnp.pad(h, ((0, pad), (0, 0)))
    w = None if class_weight is None else lax.stop_gradient(class_weight).astype(cd)
    f = _make(ig, eps, zl, cap, prob, v, rows, nblk)
    ell, lse = f(hpad, weight, bias, tpad, w)
    ell, lse = ell[:n], lse[:n]
    if red == "none":
        loss = ell.reshape(batch_shape)
    else:
        total = jnp.sum(ell)
        if num_items is not None:
            loss = total / jnp.asarray(num_items, cd)
        elif red == "sum":
            loss = total
        else:
            if prob:
                denom = jnp.asarray(float(n), cd)
            else:
                valid = t != ig
                wt = valid.astype(cd) if w is None else w[jnp.where(valid & (t >= 0) & (t < v), t, 0)] * valid
                denom = jnp.sum(wt)
            safe = jnp.where(denom != 0, denom, 1.0)
            # 0/0 -> NaN like torch, with zero (not NaN) gradients.
            loss = jnp.where(denom != 0, total / safe, jnp.nan)
    if return_lse:
        return loss, lse.reshape(batch_shape)
    return loss
