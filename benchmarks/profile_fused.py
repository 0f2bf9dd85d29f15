"""Where the fused linear + cross-entropy step spends its time (torch.profiler, CPU).

Usage: python benchmarks/profile_fused.py N D V [--eager]
Prints the profiler's table (self CPU time per aten op) of one forward+backward step after a
warm-up step, 2 torch threads, inputs as in linear_cross_entropy.py.  --eager sets
LOSSBRIDGE_FUSED_COMPILE=0 (torch's eager kernels per block).
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--eager" in sys.argv:
        os.environ["LOSSBRIDGE_FUSED_COMPILE"] = "0"
    n, d, v = (int(a) for a in args[:3])
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import torch
    from torch.profiler import ProfilerActivity, profile

    from lossbridge.fused import linear_cross_entropy

    torch.set_num_threads(int(os.environ.get("LB_BENCH_THREADS", "2")))
    g = torch.Generator().manual_seed(1234)
    h = torch.randn(n, d, generator=g).requires_grad_()
    w = (torch.randn(v, d, generator=g) / d**0.5).requires_grad_()
    y = torch.randint(0, v, (n,), generator=g)
    y[::17] = -100

    def step():
        h.grad = w.grad = None
        linear_cross_entropy(h, w, y).backward()

    step()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        step()
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


if __name__ == "__main__":
    main()
