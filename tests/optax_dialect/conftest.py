"""The optax oracle of this directory: the real optax, run under ``jax.jit``.

Eager JAX compiles every primitive once per shape and dtype, and the eager
oracle spends most of a conformance case doing that (about 0.5 s per new shape
for a cross-entropy, against 0.15 s for one compiled ``jax.jit`` of its value
and VJP).  Here the oracle compiles ``value, vjp = jax.vjp(optax.losses.<name>)``
once per (loss, static options, shapes, dtype), with array options (masks,
weights) and float hyperparameters (weakly typed, as JAX reads a Python scalar)
as traced arguments and every other option (axes, flags, reductions) static.

When jit cannot run a case — optax raises (a bad shape or dtype), or checks a
value in Python (``dice_loss(apply_softmax=False)``) — the case is run again by
the eager oracle of ``harness.oracle``, whose result or error is the answer; so
errors are always optax's eager errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.backends import installed, jax_context, make_cotangent, to_backend, to_numpy
from harness.oracle import OptaxOracle, Spec, _trim


class JitOptaxOracle:
    """``optax.losses`` under ``jax.jit``, falling back to the eager :class:`OptaxOracle`."""

    name = "optax"

    def __init__(self) -> None:
        self.eager = OptaxOracle()
        self._compiled: dict[Any, Any] = {}

    def run(self, spec: Spec, args, dtype: str, wrt=(), cotangent=None):
        try:
            return self._run_jit(spec, _trim(list(args)), dtype, tuple(wrt), cotangent)
        except Exception:
            return self.eager.run(spec, args, dtype, wrt, cotangent)

    def _run_jit(self, spec: Spec, args: list[Any], dtype: str, wrt: tuple[int, ...], cotangent: Any):
        import optax

        array_kwargs = {k: v for k, v in spec.kwargs.items() if _traced(v)}
        static_kwargs = {k: v for k, v in spec.kwargs.items() if k not in array_kwargs}
        return self.run_callable(
            spec.name, getattr(optax.losses, spec.name), args, dtype, wrt, cotangent,
            static_kwargs=static_kwargs, array_kwargs=array_kwargs,
        )

    def run_callable(
        self, name: str, loss: Any, args: list[Any], dtype: str, wrt: tuple[int, ...] = (),
        cotangent: Any = None, *, static_kwargs: dict[str, Any] | None = None,
        array_kwargs: dict[str, np.ndarray] | None = None,
    ):
        """Value and VJPs of ``loss(*args, **static_kwargs, **array_kwargs)`` on JAX arrays,
        compiled once per (name, static options, shapes, dtype).  ``name`` identifies
        ``loss`` in the cache.  NumPy arrays and Python floats (weakly typed, as JAX
        reads a Python scalar) in ``args`` and ``array_kwargs`` are traced; other values
        are static."""
        import jax

        static = tuple(sorted((static_kwargs or {}).items()))
        array_kwargs = array_kwargs or {}
        is_array = [_traced(a) for a in args]
        key = (name, static, tuple((i, a) for i, a in enumerate(args) if not is_array[i]),
               tuple(wrt), dtype, tuple(_signature(a) for a in args if _traced(a)),
               tuple((k, _signature(v)) for k, v in sorted(array_kwargs.items())))

        def forward(arrays, kw_arrays, diff=None):
            full, it = [], iter(arrays)
            for i, a in enumerate(args):
                full.append(next(it) if is_array[i] else a)
            for i, d in zip(wrt, diff or (), strict=False):
                full[i] = d
            return loss(*full, **kw_arrays, **dict(static))

        def value_and_vjp(arrays, kw_arrays, cot):
            if not wrt:
                return forward(arrays, kw_arrays), ()
            positions = [sum(is_array[:i]) for i in wrt]
            out, vjp = jax.vjp(lambda *d: forward(arrays, kw_arrays, d), *[arrays[p] for p in positions])
            return out, vjp(cot)

        with jax_context(dtype):
            arrays = [to_backend(a, "jax", dtype) for a in args if _traced(a)]
            kw_arrays = {k: to_backend(v, "jax", dtype) for k, v in array_kwargs.items()}
            if key not in self._compiled:
                out = jax.eval_shape(forward, arrays, kw_arrays)
                self._compiled[key] = (jax.jit(value_and_vjp), out.shape, out.dtype)
            fn, out_shape, out_dtype = self._compiled[key]
            cot = jax.numpy.asarray(make_cotangent(cotangent, tuple(out_shape)), dtype=out_dtype) if wrt else None
            out, grads = fn(arrays, kw_arrays, cot)
            return to_numpy(out), [to_numpy(g) for g in grads]


def _traced(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value) is float


def _signature(value: Any) -> Any:
    return (value.shape, value.dtype.str) if isinstance(value, np.ndarray) else "float"


@pytest.fixture(scope="session")
def optax_oracle() -> JitOptaxOracle:
    """The real optax under ``jax.jit`` (see the module docstring); eager where jit cannot run."""
    if not installed("optax"):
        pytest.skip("optax is not installed")
    return JitOptaxOracle()
