"""Attaching a framework's hand-written gradient to a generic computation.

Some frameworks define a loss' gradient by a formula that is not the derivative
of its value: torch's ``binary_cross_entropy`` clamps each log at -100 but its
gradient is ``(p - y) / max(p (1 - p), 1e-12)`` with respect to ``p`` and
``log(1 - p) - log(p)`` (infinite at the edges) with respect to ``y``.
:func:`custom_gradient` returns the value computed by the generic code with that
gradient attached, through a ``torch.autograd.Function`` on torch tensors and a
``jax.custom_jvp`` on JAX arrays (the only two places where autodiff differs, so
the only two overrides).
"""

from __future__ import annotations

from typing import Any

from ._backend import array_kind


def custom_gradient(value: Any, *pairs: tuple[Any, Any]) -> Any:
    """``value`` with the elementwise gradient ``g`` with respect to each ``x`` of ``pairs``.

    ``value``, every ``x`` and every ``g`` have one shape; ``value`` carries no
    gradient of its own.  The vector-Jacobian product with an upstream gradient ``u``
    is ``u * g`` for each ``x`` (on JAX the Jacobian-vector product is
    ``sum(x_dot * g)`` on both, so forward mode works too).  A ``g`` computed from stopped
    inputs is a constant; on JAX a ``g`` that depends on differentiable inputs also
    gives the second-order terms (torch differentiates the gradient once only).  On
    NumPy (no autodiff) ``value`` is returned as is.
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
            # setup_context + generate_vmap_rule + jvp: usable under torch.func.grad/vmap/
            # jacrev and forward mode (torch.func.jvp/jacfwd), as on JAX.
            generate_vmap_rule = True

            @staticmethod
            def forward(value: Any, n: int, *xs_and_gs: Any) -> Any:
                return value.clone()

            @staticmethod
            def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
                _, n, *xs_and_gs = inputs
                ctx.n = n
                ctx.save_for_backward(*xs_and_gs[n:])
                ctx.save_for_forward(*xs_and_gs[n:])

            @staticmethod
            def backward(ctx: Any, grad: Any) -> Any:
                gs = ctx.saved_tensors
                return (None, None, *[grad * g for g in gs], *[None] * ctx.n)

            @staticmethod
            def jvp(ctx: Any, value_dot: Any, n_dot: Any, *xs_and_gs_dot: Any) -> Any:
                # The tangent sum(x_dot * g), as the JAX rule below.
                out = None
                for x_dot, g in zip(xs_and_gs_dot[: ctx.n], ctx.saved_tensors, strict=True):
                    if x_dot is not None:
                        out = x_dot * g if out is None else out + x_dot * g
                return out

        _TORCH_FN = _Attach
    xs = [x for x, _ in pairs]
    gs = [g.detach() for _, g in pairs]
    return _TORCH_FN.apply(value.detach(), len(xs), *xs, *gs)


_JAX_FN: Any = None


def _jax_attach(value: Any, pairs: tuple[tuple[Any, Any], ...]) -> Any:
    global _JAX_FN
    if _JAX_FN is None:
        import jax

        # A custom_jvp (not a custom_vjp): the tangent sum(x_dot * g) is linear in the
        # x_dot, so JAX derives reverse mode by transposing it, and forward mode
        # (jax.jvp, jacfwd, hessian, check_grads(modes=["fwd"])) works too.
        @jax.custom_jvp
        def attach(value: Any, xs: tuple[Any, ...], gs: tuple[Any, ...]) -> Any:
            return value

        @attach.defjvp
        def attach_jvp(primals: Any, tangents: Any) -> Any:
            value, _, gs = primals
            _, xs_dot, _ = tangents
            out = jax.numpy.zeros_like(value)
            for x_dot, g in zip(xs_dot, gs, strict=True):
                # g is not stopped here: a g computed from differentiable inputs gives the
                # second-order terms (d/dz of x_dot * g(z)) to higher-order autodiff.
                out = out + (x_dot * g).astype(value.dtype)
            return value, out

        _JAX_FN = attach
    import jax

    xs = tuple(x for x, _ in pairs)
    gs = tuple(g for _, g in pairs)
    return _JAX_FN(jax.lax.stop_gradient(value), xs, gs)
