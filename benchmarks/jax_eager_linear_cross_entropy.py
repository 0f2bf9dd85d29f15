"""Eager and jitted value-and-gradient of the fused linear cross-entropy on JAX arrays,
against the naive loss (logits materialised, optax-dialect cross-entropy), issue 17 class 7.

    python benchmarks/jax_eager_linear_cross_entropy.py [--n 256 --d 64 --v 1000 --reps 20]

Prints one row per method: the median milliseconds of a ``value_and_grad`` call after a
warm-up call (the warm-up compiles), and the XLA compilations seen during the timed calls
(0 means an eager call compiles once per configuration and shape).
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import lossbridge as lb
from lossbridge.fused import linear_cross_entropy

_COMPILE = "/jax/core/compile/backend_compile_duration"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--v", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    h = jnp.asarray(rng.standard_normal((args.n, args.d)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((args.v, args.d)) * 0.1, jnp.float32)
    t = jnp.asarray(rng.integers(0, args.v, args.n))

    def fused(a, b):
        return linear_cross_entropy(a, b, t)

    def naive(a, b):
        return jnp.mean(lb.optax.softmax_cross_entropy_with_integer_labels(a @ b.T, t))

    compiles: list[float] = []

    def listener(event: str, duration: float, **_: object) -> None:
        if event == _COMPILE:
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    print(f"N={args.n} D={args.d} V={args.v}, value_and_grad, median of {args.reps} calls, "
          f"jax {jax.__version__} on {jax.devices()[0].platform}")
    print(f"{'method':<14} {'ms/call':>9} {'compiles':>9}")
    for name, fn in [("fused eager", jax.value_and_grad(fused, (0, 1))),
                     ("naive eager", jax.value_and_grad(naive, (0, 1))),
                     ("fused jit", jax.jit(jax.value_and_grad(fused, (0, 1)))),
                     ("naive jit", jax.jit(jax.value_and_grad(naive, (0, 1))))]:
        jax.block_until_ready(fn(h, w))
        compiles.clear()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(h, w))
            times.append(time.perf_counter() - t0)
        print(f"{name:<14} {statistics.median(times) * 1e3:9.2f} {len(compiles):9d}")
    jax.monitoring.unregister_event_duration_listener(listener)


if __name__ == "__main__":
    main()
