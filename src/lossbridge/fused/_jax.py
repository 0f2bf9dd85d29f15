"""Chunked linear + cross-entropy on JAX arrays (imported only when a JAX array arrives).

Same formulas as ``_torch.py``.  The per-token losses and log-sum-exps come from a
``jax.custom_vjp`` whose forward scans row blocks with ``lax.scan`` (one block of logits
alive at a time) and whose backward recomputes each block's logits and applies the
per-token cotangents, so it is exact for every reduction and for gradients through the
returned lse.  The reduction is ordinary JAX code around it.  float16/bfloat16 inputs
are computed with float32 accumulation (``preferred_element_type``); the weight gradient
is accumulated in a float32 ``V x D`` carry.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

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
    """The custom_vjp'd per-token function for one static configuration.

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

    def block_forward(hb, W, b, tb, w, cd):
        z, _ = logits(hb, W, b, cd)
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
        return ell.astype(cd), lse.astype(cd)

    def fwd_scan(h, W, b, t, w):
        cd = _compute_dtype(h.dtype)
        hs = h.reshape(nblk, rows, h.shape[1])
        ts = t.reshape((nblk, rows, *t.shape[1:]))

        def body(_, xs):
            hb, tb = xs
            return None, block_forward(hb, W, b, tb, w, cd)

        _, (ell, lse) = lax.scan(body, None, (hs, ts))
        return ell.reshape(-1), lse.reshape(-1)

    @jax.custom_vjp
    def f(h, W, b, t, w):
        return fwd_scan(h, W, b, t, w)

    def f_fwd(h, W, b, t, w):
        ell, lse = fwd_scan(h, W, b, t, w)
        return (ell, lse), (h, W, b, t, w, lse)

    def f_bwd(res, cts):
        h, W, b, t, w, lse = res
        g_ell, g_lse = cts
        cd = _compute_dtype(h.dtype)
        d = h.shape[1]
        hs = h.reshape(nblk, rows, d)
        ts = t.reshape((nblk, rows, *t.shape[1:]))
        lses = lse.reshape(nblk, rows)
        gls = g_ell.astype(cd).reshape(nblk, rows)
        gss = g_lse.astype(cd).reshape(nblk, rows)

        def body(carry, xs):
            gw, gb = carry
            hb, tb, lb, ub, vb = xs
            z, th = logits(hb, W, b, cd)
            tinfo, a, valid = coeffs(tb, w, cd)
            if prob:
                u = ub
            else:
                ts_, wt, bad = tinfo
                u = jnp.where(valid, ub, 0.0)
                u = jnp.where(bad, jnp.nan, u)
            alpha = u * (a + 2.0 * zl * lb) + vb
            p = jnp.exp(z - lb[:, None]) * alpha[:, None]
            if prob:
                dz = p - ((1.0 - eps) * u)[:, None] * tinfo
            else:
                dz = p.at[jnp.arange(rows), ts_].add(-(1.0 - eps) * u * wt)
            if eps > 0.0:
                wv = jnp.ones((v,), cd) if w is None else w.astype(cd)
                dz = dz - ((eps / v) * u)[:, None] * wv[None, :]
            if th is not None:
                dz = dz * (1.0 - th * th)
            ghb = lax.dot_general(dz, W, (((1,), (0,)), ((), ())), preferred_element_type=cd)
            gw = gw + lax.dot_general(dz, hb, (((0,), (0,)), ((), ())), preferred_element_type=cd)
            gb = gb + jnp.sum(dz, axis=0)
            if prob:
                # Probability targets: dℓ_i/dy_ic = (1-ε) w_c (lse_i - z_ic), times u_i.
                gy = ((1.0 - eps) * u)[:, None] * (lb[:, None] - z)
                if w is not None:
                    gy = gy * w.astype(cd)[None, :]
                return (gw, gb), (ghb.astype(h.dtype), gy.astype(tb.dtype))
            return (gw, gb), ghb.astype(h.dtype)

        init = (jnp.zeros(W.shape, cd), jnp.zeros((v,), cd))
        # Under shard_map the carry varies over every mesh axis its inputs vary over.
        init = tuple(_varying_like(x, (h, W, b, t, w, lse, g_ell, g_lse)) for x in init)
        (gw, gb), out = lax.scan(body, init, (hs, ts, lses, gls, gss))
        gt = None
        if prob:
            gh, gt = out
            gt = gt.reshape(t.shape)
        else:
            gh = out
        gh = gh.reshape(h.shape)
        # A replicated W (or h) used with data that varies over a shard_map axis: its
        # cotangent is the sum over that axis (the transpose of the implicit broadcast).
        gh, gw, gb = _sum_to(gh, h), _sum_to(gw, W), _sum_to(gb, b)
        return (
            gh,
            gw.astype(W.dtype),
            None if b is None else gb.astype(b.dtype),
            gt,
            None,
        )

    f.defvjp(f_fwd, f_bwd)
    return f


def _varying_like(x: Any, refs: tuple) -> Any:
    """``x`` cast to vary over the shard_map axes any of ``refs`` varies over (no-op elsewhere)."""
    typeof, pcast = getattr(jax, "typeof", None), getattr(lax, "pcast", None)
    if typeof is None or pcast is None:  # pragma: no cover - older JAX: no varying types
        return x
    axes: set = set()
    for r in refs:
        if r is not None:
            axes |= _vma(typeof(r))
    missing = tuple(sorted(axes - _vma(typeof(x))))
    return pcast(x, missing, to="varying") if missing else x


def _sum_to(ct: Any, primal: Any) -> Any:
    """``ct`` summed over the shard_map axes it varies over and ``primal`` does not."""
    typeof = getattr(jax, "typeof", None)
    if primal is None or typeof is None:
        return ct
    extra = tuple(sorted(_vma(typeof(ct)) - _vma(typeof(primal))))
    return lax.psum(ct, extra) if extra else ct


def _vma(aval: Any) -> set:
    """The mesh axes an abstract value varies over (``.vma`` before JAX 0.10, then
    ``.manual_axis_type.varying``)."""
    mat = getattr(aval, "manual_axis_type", None)
    if mat is not None:
        return set(getattr(mat, "varying", ()) or ())
    return set(getattr(aval, "vma", ()) or ())


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
