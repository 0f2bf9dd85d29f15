"""torch.func (functorch) transforms: where tensor values cannot be read on the host.

Under ``torch.func.vmap`` (and ``jacfwd``/``jacrev``/``hessian``, which vmap) a tensor
is a ``BatchedTensor``: ``bool(t)``, ``t.item()`` and ``int(t)`` raise ("data-dependent
control flow"), as they do while ``torch.compile`` traces.  lossbridge's value checks
(labels in range, probabilities in [0, 1], ...) are skipped there, as under
``jax.jit``, and the dialect follows the framework's value instead.  Under
``torch.func.grad`` alone values can be read and the checks run.

``_backend.is_concrete`` returns ``not under_functorch_vmap(x)`` for torch tensors, so
every value check of every dialect is skipped there.
"""

from __future__ import annotations

from typing import Any

from ._backend import array_kind


def under_functorch_vmap(x: Any) -> bool:
    """True when ``x`` is a torch tensor batched by ``torch.func.vmap`` at some level
    (possibly under ``torch.func.grad`` wrappers): its values cannot be read."""
    if array_kind(x) != "torch":
        return False
    import torch

    f = getattr(torch._C, "_functorch", None)
    if f is None:  # a torch without functorch: no transform can be active
        return False
    while f.is_functorch_wrapped_tensor(x) or f.is_batchedtensor(x):
        if f.is_batchedtensor(x):
            return True
        x = f.get_unwrapped(x)
    return False


def functorch_wrapped(x: Any) -> bool:
    """True for a tensor wrapped by any torch.func transform (vmap or grad)."""
    if array_kind(x) != "torch":
        return False
    import torch

    if torch.compiler.is_compiling():  # dynamo cannot trace the query (and no transform wraps)
        return False
    f = getattr(torch._C, "_functorch", None)
    return f is not None and bool(f.is_functorch_wrapped_tensor(x) or f.is_batchedtensor(x))
