"""Attaching a framework's hand-written gradient to a generic computation.

Some frameworks define a loss' gradient by a formula that is not the derivative
of its value: torch's ``binary_cross_entropy`` clamps each log at -100 but its
gradient is ``(p - y) / max(p (1 - p), 1e-12)`` with respect to ``p`` and
``log(1 - p) - log(p)`` (infinite at the edges) with respect to ``y``.
:func:`custom_gradient` returns the value computed by the generic code with that
gradient attached, through a ``torch.autograd.Function`` on torch tensors and a
``jax.custom_vjp`` on JAX arrays (the only two places where autodiff differs, so
the only two overrides).
"""

from __future__ import annotations

from typing import Any

from ._backend import array_kind


def custom_gradient(value: Any, *pairs: tuple[Any, Any]) -> Any:
    """``value`` with the elementwise gradient ``g`` with respect to each ``x`` of ``pairs``.

    ``value``, every ``x`` and every ``g`` have one shape; ``value`` and the ``g``s
    must not carry gradients themselves (compute them from stopped inputs).  The
    vector-Jacobian product with an upstream gradient ``u`` is ``u * g`` for each
    ``x``.  On NumPy (no autodiff) ``value`` is returned as is.
    """
    pairs = tuple((x, g) for x, g in pairs if x is not None)
    kind = array_kind(value)
    if kind == "torch":
        return _torch_attach(value, pairs)
    if kind == "jax":
        return _jax_attach(value, pairs)
    return value


_TORCH_FN: Any = None


def _torch_attach(value: Any, pairs: tuple[tuple[Any, Any], ...]) -> Any:
    global _TORCH_FN
    if _TORCH_FN is None:
        import torch

        class _Attach(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, value: Any, n: int, *xs_and_gs: Any) -> Any:
                ctx.n = n
                ctx.save_for_backward(*xs_and_gs[n:])
                return value.clone()

            @staticmethod
            def backward(ctx: Any, grad: Any) -> Any:
                gs = ctx.saved_tensors
                return (None, None, *[grad * g for g in gs], *[None] * ctx.n)

        _TORCH_FN = _Attach
    xs = [x for x, _ in pairs]
    gs = [g.detach() for _, g in pairs]
    return _TORCH_FN.apply(value.detach(), len(xs), *xs, *gs)


_JAX_FN: Any = None


def _jax_attach(value: Any, pairs: tuple[tuple[Any, Any], ...]) -> Any:
    global _JAX_FN
    if _JAX_FN is None:
        import jax
        import jax.numpy as jnp

        @jax.custom_vjp
        def attach(value: Any, xs: tuple[Any, ...], gs: tuple[Any, ...]) -> Any:
            return value

        def fwd(value: Any, xs: tuple[Any, ...], gs: tuple[Any, ...]) -> Any:
            return value, (value, xs, gs)

        def bwd(res: Any, ct: Any) -> Any:
            value, xs, gs = res
            return (
                jnp.zeros_like(value),
                tuple((ct * g).astype(x.dtype) for x, g in zip(xs, gs, strict=False)),
                tuple(jnp.zeros_like(g) for g in gs),
            )

        attach.defvjp(fwd, bwd)
        _JAX_FN = attach
    import jax

    xs = tuple(x for x, _ in pairs)
    gs = tuple(jax.lax.stop_gradient(g) for _, g in pairs)
    return _JAX_FN(jax.lax.stop_gradient(value), xs, gs)
