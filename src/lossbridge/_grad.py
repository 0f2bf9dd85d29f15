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


def _torch_attach(value: Any, pairs: tuple[tuple[Any, Any], ...]) -> Any:
    # The torch.autograd.Function classes live in a module that imports torch (imported here,
    # lazily): a class statement inside code that torch.compile traces is a graph break.
    import torch

    from . import _grad_torch

    # dynamo traces no autograd.Function with a jvp ("Unsupported custom jvp"); compiled
    # code has no forward mode anyway, so it gets the same Function without the jvp rule.
    xs = [x for x, _ in pairs]
    fn: Any = _grad_torch.Attach
    if torch.compiler.is_compiling():
        if not (torch.is_grad_enabled() and any(x.requires_grad for x in xs)):
            # no gradient to attach; dynamo calls a setup_context-style forward with a ctx
            # when no input requires grad (AttributeError: 'Function' object has no
            # attribute 'clone'), so the Function is not applied at all
            return value.detach()
        fn = _grad_torch.AttachNoJvp
    gs = [g.detach() for _, g in pairs]
    return fn.apply(value.detach(), len(xs), *xs, *gs)


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
