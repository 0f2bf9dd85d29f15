"""The ``torch.autograd.Function`` behind :func:`lossbridge._grad.custom_gradient` on torch
tensors.  This module imports torch: it is imported lazily, by ``_grad`` on a torch tensor
(outside any class statement, which torch.compile could not trace)."""

from __future__ import annotations

from typing import Any

import torch


class AttachNoJvp(torch.autograd.Function):
    """``value`` with the gradient ``grad * g`` to each ``x``: ``apply(value, n, *xs, *gs)``.
    setup_context + generate_vmap_rule: usable under torch.func.grad/vmap/jacrev and
    torch.compile(fullgraph=True)."""

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


class Attach(AttachNoJvp):
    """:class:`AttachNoJvp` with forward mode (torch.func.jvp/jacfwd), as the JAX rule in
    ``_grad``; dynamo traces no Function with a jvp, so compiled code uses the other."""

    @staticmethod
    def jvp(ctx: Any, value_dot: Any, n_dot: Any, *xs_and_gs_dot: Any) -> Any:
        # The tangent sum(x_dot * g), as the JAX rule.
        out = None
        for x_dot, g in zip(xs_and_gs_dot[: ctx.n], ctx.saved_tensors, strict=True):
            if x_dot is not None:
                out = x_dot * g if out is None else out + x_dot * g
        return out
