"""Benchmark: fused linear + cross-entropy against naive PyTorch and torch 2.13's chunked path.

One process per configuration (so peak-memory numbers are clean), 2 threads.  Each child
builds the inputs, records its RSS, runs one warm-up step and then timed forward+backward
steps, and reports the median time, the peak RSS above the inputs (``ru_maxrss`` minus the
RSS after the inputs were allocated; it includes the gradients ``W.grad`` and ``h.grad``)
and the loss value.  The loss of every method is compared with an exact float64 reference
computed (chunked) from the very same inputs.

The machine this runs on may be shared: before each run the driver waits (``--quiet-wait``)
until other processes leave the CPUs idle, and the table reports the share of the CPUs that
other processes used while each run went on ("other CPU use"); a run with a large share is
not a clean measurement.  The process CPU time of each step (both threads) is reported
beside the wall time: it is less sensitive to other processes.

Methods:
  naive     F.cross_entropy(h @ W.T, y)                        (logits materialised)
  naive_up  F.cross_entropy((h @ W.T).float(), y)              (bf16 only: the common upcast)
  floor     the step's three matrix products alone (logits, dh, dW), unchunked: the floor
  native    F.linear_cross_entropy(h, W, y, options=nn.LinearCrossEntropyOptions())
  fused     lossbridge.fused.linear_cross_entropy(h, W, y)   (compiled block kernels, the default)
  fused_eager  the same with LOSSBRIDGE_FUSED_COMPILE=0 (torch's eager kernels per block)
  dialect   lossbridge.torch.functional.linear_cross_entropy(h, W, y)  (not in the default set)

Usage:
  python benchmarks/linear_cross_entropy.py                 # the full table (long: ~1 h here)
  python benchmarks/linear_cross_entropy.py --quick         # fp32 V=32768 and the small-N rows
  python benchmarks/linear_cross_entropy.py --dtype float32 --vocab 131072 --methods naive,fused
  python benchmarks/linear_cross_entropy.py --child fused 4096 1024 131072 float32   # one run

Writes a Markdown table to stdout (and JSON lines with --json FILE).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
THREADS = int(os.environ.get("LB_BENCH_THREADS", "2"))


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _inputs(n: int, d: int, v: int, dtype):
    import torch

    g = torch.Generator().manual_seed(1234)
    h = torch.randn(n, d, generator=g, dtype=torch.float32).to(dtype).requires_grad_()
    w = (torch.randn(v, d, generator=g, dtype=torch.float32) / d**0.5).to(dtype).requires_grad_()
    y = torch.randint(0, v, (n,), generator=g)
    y[::17] = -100
    return h, w, y


def child(method: str, n: int, d: int, v: int, dtype_name: str, reps: str, chunk: int | None) -> dict:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(THREADS)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    h, w, y = _inputs(n, d, v, dtype)
    if method == "ref":
        # exact (float64) and float32 references of the same inputs, chunked, forward only
        out = {"method": method}
        count = int((y != -100).sum())
        with torch.no_grad():
            for name, dt in (("loss64", torch.float64), ("loss32", torch.float32)):
                hd, wd = h.to(dt), w.to(dt)
                total = torch.zeros((), dtype=torch.float64)
                for s in range(0, n, 256):
                    z = hd[s : s + 256] @ wd.T
                    total += F.cross_entropy(z, y[s : s + 256], reduction="sum").double()
                out[name] = float(total) / count
        return out

    if method in ("fused", "fused_eager"):
        # fused: the default (compiled block kernels where a C++ compiler is found);
        # fused_eager: the same engine on torch's eager kernels (LOSSBRIDGE_FUSED_COMPILE=0)
        os.environ["LOSSBRIDGE_FUSED_COMPILE"] = "0" if method == "fused_eager" else os.environ.get(
            "LOSSBRIDGE_FUSED_COMPILE", "")
        sys.path.insert(0, SRC)
        from lossbridge.fused import linear_cross_entropy

        def step():
            return linear_cross_entropy(h, w, y, chunk_size=chunk)
    elif method == "dialect":  # the torch dialect (torch 2.13's signature) on the fused path
        sys.path.insert(0, SRC)
        import lossbridge.torch.functional as LF

        opts = None if chunk is None else torch.nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)

        def step():
            return LF.linear_cross_entropy(h, w, y, options=opts)
    elif method == "naive":
        def step():
            return F.cross_entropy(h @ w.T, y)
    elif method == "floor":
        # The three matrix products of a step and nothing else (logits; gradients of the input
        # and of the weight from a precomputed logits gradient): the floor of any exact method.
        grad_z = torch.randn(n, v, dtype=h.dtype, generator=torch.Generator().manual_seed(1))

        class ThreeProducts(torch.autograd.Function):
            @staticmethod
            def forward(ctx, h_, w_):
                ctx.save_for_backward(h_, w_)
                return torch.mm(h_, w_.t())[0, 0].clone()

            @staticmethod
            def backward(ctx, _):
                h_, w_ = ctx.saved_tensors
                return torch.mm(grad_z, w_), torch.mm(grad_z.t(), h_)

        def step():
            return ThreeProducts.apply(h, w)
    elif method == "naive_up":
        def step():
            return F.cross_entropy((h @ w.T).float(), y)
    elif method == "native":
        opts = torch.nn.LinearCrossEntropyOptions()
        if chunk is not None:
            opts = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)

        def step():
            return F.linear_cross_entropy(h, w, y, options=opts)
    else:
        raise SystemExit(f"unknown method {method}")

    rss0 = _rss_kib()
    times, cpu, loss = [], [], None

    def run():
        nonlocal loss
        h.grad = None
        w.grad = None
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = step()
        out.backward()
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        if loss is None:
            loss = float(out.detach())
        return dt, dc

    warm, _ = run()
    k = (1 if warm > 30 else 3 if warm > 5 else 5) if reps == "auto" else int(reps)
    for _ in range(k):
        dt, dc = run()
        times.append(dt)
        cpu.append(dc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "method": method, "n": n, "d": d, "v": v, "dtype": dtype_name, "chunk": chunk,
        "median_s": statistics.median(times), "times": times, "warmup_s": warm,
        "median_cpu_s": statistics.median(cpu), "cpu_times": cpu,
        "peak_mib": (peak - rss0) / 1024, "loss": loss,
    }


def _busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine since boot (all cores)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_quiet(max_wait: float, threshold: float = 0.15, probe: float = 3.0) -> float:
    """Wait (up to ``max_wait`` s) until other processes use < ``threshold`` of the CPUs.

    The machine this was written on is shared; a benchmark that starts while another
    job runs measures the other job.  Returns the busy fraction last seen.
    """
    deadline = time.time() + max_wait
    while True:
        if max_wait <= 0:  # no waiting left: one probe, to report the load
            b0 = _busy_seconds()
            time.sleep(1.0)
            return (_busy_seconds() - b0) / (os.cpu_count() or 1)
        b0 = _busy_seconds()
        time.sleep(probe)
        frac = (_busy_seconds() - b0) / (probe * (os.cpu_count() or 1))
        if frac < threshold or time.time() >= deadline:
            return frac
        time.sleep(10)


WAITED = {"seconds": 0.0, "runs_started_busy": 0, "runs": 0}


def run_child(args: list[str], timeout: float, quiet_wait: float = 0.0,
              wait_budget: float = math.inf) -> dict | None:
    """Run one configuration in a fresh process.  Waits for idle CPUs at most
    ``quiet_wait`` seconds, and at most what is left of ``wait_budget`` over the whole run."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", *args]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    busy_before = float("nan")
    allowed = min(quiet_wait, max(0.0, wait_budget - WAITED["seconds"]))
    if quiet_wait > 0:
        w0 = time.time()
        busy_before = wait_quiet(allowed)
        WAITED["seconds"] += time.time() - w0
        WAITED["runs"] += 1
        WAITED["runs_started_busy"] += busy_before >= 0.15
    b0, c0, t0 = _busy_seconds(), _children_cpu(), time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f}s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    wall = time.time() - t0
    # CPU used by *other* processes while the child ran, as a fraction of the machine
    foreign = (_busy_seconds() - b0) - (_children_cpu() - c0)
    out["foreign_cpu_frac"] = max(0.0, foreign) / (wall * (os.cpu_count() or 1))
    out["busy_before"] = busy_before
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float32,bfloat16")
    ap.add_argument("--vocab", default="32768,131072")
    ap.add_argument("--tokens", default="4096,256", help="values of N")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--methods", default="naive,naive_up,native,fused")
    ap.add_argument("--chunk", type=int, default=None, help="chunk_size for fused / batch_chunk_size for native")
    ap.add_argument("--reps", default="auto", help="timed steps after one warm-up ('auto': 5, 3 or 1 by speed)")
    ap.add_argument("--quick", action="store_true", help="float32 V=32768 (N=4096) and the N=256 rows only")
    ap.add_argument("--timeout", type=float, default=3600.0, help="per child, seconds")
    ap.add_argument("--json", default=None, help="append one JSON line per run to this file")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per run (default 2)")
    ap.add_argument("--configs", default=None,
                    help="explicit NxV pairs, e.g. 4096x32768,256x32768 (instead of --tokens x --vocab)")
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each run, wait up to this many seconds for other processes to "
                         "leave the CPUs idle (0: do not wait)")
    ap.add_argument("--max-total-wait", type=float, default=300.0,
                    help="cap on the waiting for idle CPUs over the whole run, seconds")
    a = ap.parse_args()

    global THREADS
    THREADS = a.threads if not a.child else THREADS
    os.environ["LB_BENCH_THREADS"] = str(THREADS)
    if a.child:
        method, n, d, v, dt = a.child[:5]
        reps = a.child[5] if len(a.child) > 5 else "auto"
        chunk = int(a.child[6]) if len(a.child) > 6 and a.child[6] != "None" else None
        print(json.dumps(child(method, int(n), int(d), int(v), dt, reps, chunk)))
        return

    configs = []
    pairs = ([tuple(map(int, c.split("x"))) for c in a.configs.split(",")] if a.configs else
             [(n, v) for v in map(int, a.vocab.split(",")) for n in map(int, a.tokens.split(","))])
    for dt in a.dtype.split(","):
        for n, v in pairs:
            if a.quick and n >= 1024 and not (dt == "float32" and v == 32768):
                continue
            configs.append((n, a.hidden, v, dt))
    methods = a.methods.split(",")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {THREADS} threads, "
          f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    print("| N | V | dtype | method | median s | ratio vs naive | ratio vs naive_up | ratio vs native "
          "| peak MiB above inputs | loss | rel. err vs fp32 ref | rel. err vs fp64 ref | other CPU use "
          "| median CPU s (ratio vs naive) |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for n, d, v, dt in configs:
        ref = run_child(["ref", str(n), str(d), str(v), dt], a.timeout)  # no timing: no wait
        res = {}
        for m in methods:
            if m == "naive_up" and dt != "bfloat16":
                continue
            res[m] = run_child([m, str(n), str(d), str(v), dt, a.reps, str(a.chunk)], a.timeout,
                               a.quiet_wait, a.max_total_wait)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps({"config": [n, d, v, dt], "ref": ref, **res[m]}) + "\n")
        for m, r in res.items():
            if "error" in r:
                print(f"| {n} | {v} | {dt} | {m} | error: {r['error']} ||||||||||", flush=True)
                continue

            def ratio(base, res=res, m=m, r=r):
                b = res.get(base)
                if not b or "error" in b or base == m:
                    return "–"
                return f"{r['median_s'] / b['median_s']:.2f}x"

            def cpu_ratio(res=res, m=m, r=r):
                b = res.get("naive")
                if not b or "error" in b or m == "naive":
                    return "–"
                return f"{r['median_cpu_s'] / b['median_cpu_s']:.2f}x"

            def rel(key, ref=ref, r=r, m=m):
                if m == "floor":  # not a loss: the matrix products alone
                    return "–"
                if not ref or key not in ref:
                    return "nan"
                return f"{abs(r['loss'] - ref[key]) / abs(ref[key]):.1e}"

            loss_text = "–" if m == "floor" else f"{r['loss']:.6f}"
            floor = res.get("floor")
            vs_floor = (f" ({r['median_s'] / floor['median_s']:.2f}x floor)"
                        if floor and "error" not in floor and m != "floor" else "")
            print(f"| {n} | {v} | {dt} | {m} | {r['median_s']:.3f}{vs_floor} | {ratio('naive')} | "
                  f"{ratio('naive_up')} | {ratio('native')} | {r['peak_mib']:.0f} | {loss_text} | "
                  f"{rel('loss32')} | {rel('loss64')} | {100 * r['foreign_cpu_frac']:.0f}% "
                  f"| {r['median_cpu_s']:.2f} ({cpu_ratio()}) |", flush=True)

    if a.quiet_wait > 0:
        print(f"\n# waited {WAITED['seconds']:.0f} s in all for idle CPUs (cap {a.max_total_wait:.0f} s); "
              f"{WAITED['runs_started_busy']} of {WAITED['runs']} timed runs started while other "
              "processes used >= 15% of the CPUs", flush=True)


if __name__ == "__main__":
    main()
