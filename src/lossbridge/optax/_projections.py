"""The Euclidean projection onto the simplex (``optax.projections.projection_simplex``).

Used by :func:`lossbridge.optax.multiclass_sparsemax_loss`; written once against
``xp``, row-wise over the last axis, with optax's gradient.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._backend import Namespace

__all__ = ["projection_simplex"]


def projection_simplex(ns: Namespace, values: Any) -> Any:
    r"""``argmin_p ||v - p||^2`` subject to ``p >= 0, sum(p) = 1``, over the last axis.

    Value, as optax computes it (sort-based, Held et al.): with ``u`` the values
    sorted in decreasing order and ``c = cumsum(u)``, ``k = #{j : 1/j + u_j - c_j/j > 0}``
    and ``p = relu(1/k + v - c_k/k)``.

    Gradient, as optax's custom JVP defines it (the Jacobian of the projection on
    its support ``S = {p > 0}``): ``dp = 1_S * dv - (1_S . dv / |S|) * 1_S``.  It
    is attached by the value-preserving identity
    ``p = p0 + 1_S * (v - sg(v)) - 1_S * (t - sg(t))`` with ``t = 1_S . v / |S|``
    (``sg`` = stop_gradient; both brackets are exactly 0), so torch autograd and
    ``jax.grad`` see that Jacobian, under ``jax.jit`` and ``jax.vmap`` too.
    """
    xp = ns.xp
    v = ops.stop_gradient(values)
    n = v.shape[-1]
    u = xp.flip(xp.sort(v, axis=-1), axis=-1)
    # torch's own cumsum on torch tensors: array-api-compat's cumulative_sum looks up the
    # namespace through lru_cache'd helpers, which torch.compile warns about (issue 17)
    cumsum_u = u.cumsum(-1) if ns.kind == "torch" else xp.cumulative_sum(u, axis=-1)
    ind = ns.asarray(list(range(1, n + 1)), dtype=v.dtype)
    cond = 1 / ind + (u - cumsum_u / ind) > 0
    idx = xp.count_nonzero(cond, axis=-1, keepdims=True)
    top = ops.take_along_axis(cumsum_u, idx - 1, axis=-1)
    idx_f = xp.astype(idx, v.dtype)
    p0 = 1 / idx_f + (v - top / idx_f)
    p0 = xp.where(p0 < 0, xp.zeros_like(p0), p0)  # relu, and NaN stays NaN as in jax.nn.relu
    if ns.kind == "numpy":
        return p0
    # where, not a product with the 0/1 support: an infinite value off the support must not
    # turn the (exactly zero) gradient brackets into NaN.
    on = p0 > 0
    zero = xp.zeros_like(p0)
    card = xp.sum(xp.astype(on, v.dtype), axis=-1, keepdims=True)
    t = xp.sum(xp.where(on, values, zero), axis=-1, keepdims=True) / card
    return p0 + xp.where(on, values - v, zero) - xp.where(on, t - ops.stop_gradient(t), zero)
