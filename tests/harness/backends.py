"""Array kinds under test, conversions, and value-and-gradient on each autodiff system.

Every conformance test draws its inputs as NumPy float64 arrays and runs the loss
on each *backend* (the kind of array handed to lossbridge):

* ``numpy``  - values only (NumPy has no autodiff);
* ``torch``  - torch tensors, gradients by ``torch.autograd.grad``;
* ``jax``    - JAX arrays, gradients by ``jax.vjp``; float64 cases run inside
  ``jax.enable_x64(True)``, float32 cases with JAX's default (x64 off, int32 labels).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

ALL_BACKENDS = ("numpy", "torch", "jax")


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def require(module: str) -> None:
    """Skip the test when ``module`` is not installed (never happens under --require-frameworks)."""
    import pytest

    if not installed(module):
        pytest.skip(f"{module} is not installed")


def available_backends() -> list[str]:
    return [b for b in ALL_BACKENDS if b == "numpy" or installed(b)]


def jax_context(dtype: str, x64: bool = False) -> Any:
    """``jax.enable_x64(True)`` for float64 cases (or ``x64``), nothing otherwise."""
    if dtype == "float64" or x64:
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def to_backend(x: Any, backend: str, dtype: str | None = None) -> Any:
    """A NumPy array (or None / scalar) as an array of ``backend``.

    Floating arrays are cast to ``dtype``; integer and boolean arrays keep their
    kind (JAX with x64 off turns int64 into int32, as a JAX user would see).
    """
    if x is None or isinstance(x, (int, float, str, bool)):
        return x
    x = np.asarray(x)
    if dtype is not None and x.dtype.kind == "f":
        x = x.astype(dtype)
    if backend == "numpy":
        return x.copy()
    if backend == "torch":
        import torch

        return torch.from_numpy(x.copy())
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(x)
    raise ValueError(backend)


def to_numpy(x: Any) -> Any:
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach()
        if str(x.dtype) == "torch.bfloat16":  # NumPy has no bfloat16: ml_dtypes' (with jax), else float32
            out = x.float().cpu().numpy()
            try:
                import ml_dtypes
            except ImportError:
                return out
            return out.astype(ml_dtypes.bfloat16)
        return x.cpu().numpy()
    return np.asarray(x)


def make_cotangent(cotangent: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient: an int is a seed for a random, non-uniform array of ``shape``."""
    if isinstance(cotangent, (int, np.integer)):
        return np.random.default_rng(int(cotangent)).uniform(-1.0, 2.0, size=shape)
    if cotangent is None:
        return np.ones(shape)
    return np.asarray(cotangent)


def value_and_grad(
    fn: Callable[..., Any],
    args: Sequence[Any],
    backend: str,
    wrt: Sequence[int] = (),
    cotangent: Any = None,
    dtype: str = "float32",
    x64: bool = False,
    host: Sequence[int] = (),
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Run ``fn(*args)`` on ``backend`` arrays; return the value and the VJPs.

    ``args`` are NumPy arrays (or None); the ones at positions ``wrt`` are
    differentiated with the upstream gradient ``cotangent`` (an array of the
    output's shape, or an int seed for a random non-uniform one, see
    :func:`make_cotangent`).  On NumPy the
    gradient list holds None.  The arguments at positions ``host`` stay NumPy
    arrays (cast to ``dtype`` when floating): mixed array kinds, as a NumPy data
    pipeline hands labels or sample weights next to tensors.
    """
    if backend == "jax":
        with jax_context(dtype, x64):
            return _jax_value_and_grad(fn, args, wrt, cotangent, dtype, host)
    conv = [to_backend(a, "numpy" if i in host else backend, dtype) for i, a in enumerate(args)]
    if backend == "numpy" or not wrt:
        out = fn(*conv)
        return to_numpy(out), [None for _ in wrt]
    import torch

    for i in wrt:
        conv[i].requires_grad_(True)
    out = fn(*conv)
    cot = torch.as_tensor(make_cotangent(cotangent, tuple(out.shape)), dtype=out.dtype)
    grads = torch.autograd.grad(out, [conv[i] for i in wrt], grad_outputs=cot, allow_unused=True)
    return to_numpy(out), [to_numpy(g) if g is not None else None for g in grads]


def _jax_value_and_grad(fn, args, wrt, cotangent, dtype, host=()):
    import jax
    import jax.numpy as jnp

    conv = [to_backend(a, "numpy" if i in host else "jax", dtype) for i, a in enumerate(args)]
    if not wrt:
        return to_numpy(fn(*conv)), []

    def f(*diff):
        merged = list(conv)
        for i, d in zip(wrt, diff, strict=False):
            merged[i] = d
        return fn(*merged)

    out, vjp = jax.vjp(f, *[conv[i] for i in wrt])
    cot = jnp.asarray(make_cotangent(cotangent, tuple(out.shape)), dtype=out.dtype)
    grads = vjp(cot)
    return to_numpy(out), [to_numpy(g) for g in grads]
