"""What the check levels cost: one loss call with lossbridge.checks "off", "cheap" and "full".

    python benchmarks/diagnostics_overhead.py [--n 512] [--c 1000]

Prints the median time per call and the ratio to "off" (the same call without
any optional check), for torch's cross_entropy on torch tensors (native kernel)
and on NumPy arrays, and Keras' SparseCategoricalCrossentropy on NumPy arrays.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

import lossbridge as lb


def _median_us(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--c", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    r = np.random.default_rng(0)
    x = r.normal(size=(args.n, args.c)).astype(np.float32)
    t = r.integers(0, args.c, args.n)
    probs = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("torch cross_entropy, numpy", lambda: lb.torch.functional.cross_entropy(x, t)),
        ("keras SparseCategoricalCrossentropy, numpy",
         lambda: lb.keras.SparseCategoricalCrossentropy()(t, probs)),
    ]
    try:
        import torch

        torch.set_num_threads(1)  # stable timings on a shared machine
        xt, tt = torch.as_tensor(x), torch.as_tensor(t)
        cases.insert(0, ("torch cross_entropy, torch (native)", lambda: lb.torch.functional.cross_entropy(xt, tt)))
    except ImportError:
        pass
    print(f"N={args.n}, C={args.c}, float32; median of {args.repeats} calls")
    for name, fn in cases:
        row: dict[str, list[float]] = {"off": [], "cheap": [], "full": []}
        for _ in range(3):  # interleaved rounds: load changes hit every level alike
            for level in row:
                with lb.checks(level), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row[level].append(_median_us(fn, args.repeats))
        row = {k: min(v) for k, v in row.items()}  # type: ignore[misc]
        print(f"{name:45s} off {row['off']:9.1f} us   cheap {row['cheap']:9.1f} us "
              f"(x{row['cheap'] / row['off']:.2f})   full {row['full']:9.1f} us (x{row['full'] / row['off']:.2f})")


if __name__ == "__main__":
    main()
