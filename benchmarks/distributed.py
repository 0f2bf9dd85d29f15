"""Benchmark: vocabulary-parallel fused linear cross-entropy on CPU (torch.distributed, gloo).

For world sizes 1, 2 and 4 (processes on this machine, each with 2 // world threads, at
least 1), every rank holds the same hidden states ``h`` (N x D) and targets and one
``tensor_split`` shard of the head ``W`` (V x D), and runs forward + backward of:

  single   lossbridge.fused.linear_cross_entropy(h, W, y) on the whole head (world 1 only)
  vocab    lossbridge.distributed.vocab_parallel_linear_cross_entropy(h, W_r, y)
  gather   naive: local logits h @ W_r.T, all_gather of the logits (autograd-aware
           torch.distributed.nn.functional.all_gather), F.cross_entropy on the N x V logits

and the same three with probability targets (``*_prob``, e.g. a distillation teacher's
distribution, no gradient to it): ``single_prob`` holds the full N x V target, ``vocab_prob``
only the rank's N x V_r columns, ``gather_prob`` the full N x V target on every rank (what
``F.cross_entropy`` on the gathered logits needs).

Reported per rank (max over ranks): peak RSS of the timed steps above the RSS before them
(Linux: the peak ``VmHWM`` is reset through ``/proc/self/clear_refs`` after the warm-up step,
which compiles the fused engine's block kernels once -- a one-time cost of ~50-100 MiB that
is not the loss's memory; elsewhere ``ru_maxrss`` minus the RSS after the inputs were built,
warm-up included; both include W.grad and h.grad), median step time, and the loss's
difference from the single-process fused loss.  The communication volume per token is
computed from the algorithm (numbers every rank sends into its collectives), not sniffed
on the wire: vocab = 1 (MAX) + 3 (SUM: sum-exp, target logit and weight -- for probability
targets Σ w y z and Σ w y --; 4 with label smoothing) forward + D (the hidden gradient)
backward; gather = V_total - V_r (logits) forward + V_total - V_r backward (the
gradient of the gathered logits) + nothing for h (each rank already has the full dlogits).

On 2 cores, 2 or 4 ranks share the same 2 cores: the times show the overhead of the
collectives, not a speed-up; the memory per rank is the point.

The ranks meet through a ``file://`` store in a fresh temporary directory (no TCP port is
picked and released, so no other process can take it in between).

Usage:  python benchmarks/distributed.py [--n 1024 --d 512 --v 32771 --steps 3]
                                         [--methods single,vocab,gather,single_prob,...]
Writes a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise OSError("no VmHWM")


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _prob_target(n: int, v: int, lo: int, hi: int, seed: int = 2):
    """Columns lo:hi of a fixed (n, v) probability matrix (softmax of Gaussian logits),
    generated in column blocks so that only those columns are ever held in full."""
    import torch

    g = torch.Generator().manual_seed(seed)
    total = torch.zeros(n)
    mine = torch.empty(n, hi - lo)
    for s in range(0, v, 4096):
        e = min(v, s + 4096)
        block = (torch.randn(n, e - s, generator=g) * 2).exp_()
        total += block.sum(1)
        a, b = max(s, lo), min(e, hi)
        if a < b:
            mine[:, a - lo:b - lo] = block[:, a - s:b - s]
    return mine.div_(total[:, None])


def _child(method: str, rank: int, world: int, init: str, n: int, d: int, v: int, steps: int, out: str) -> None:
    import torch

    torch.set_num_threads(max(1, 2 // world))
    import torch.distributed as dist
    import torch.nn.functional as F

    from lossbridge.distributed import vocab_parallel_linear_cross_entropy
    from lossbridge.fused import linear_cross_entropy

    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    g = torch.Generator().manual_seed(0)
    h = torch.randn(n, d, generator=g) / d**0.5
    y = torch.randint(0, v, (n,), generator=g)
    # Only this rank's rows of W are ever materialised (generated in row blocks).
    sizes = [t.numel() for t in torch.tensor_split(torch.arange(v), world)]
    v0 = sum(sizes[:rank])
    W = torch.empty(sizes[rank], d)
    gw = torch.Generator().manual_seed(1)
    for s in range(0, v, 4096):
        e = min(v, s + 4096)
        block = torch.randn(e - s, d, generator=gw)
        lo, hi = max(s, v0), min(e, v0 + sizes[rank])
        if lo < hi:
            W[lo - v0:hi - v0] = block[lo - s:hi - s]
    prob = method.endswith("_prob")
    method = method.removesuffix("_prob")
    if prob:  # the rank's columns (vocab) or the whole target (single, gather)
        y = _prob_target(n, v, v0, v0 + sizes[rank]) if method == "vocab" else _prob_target(n, v, 0, v)
    h.requires_grad_()
    W.requires_grad_()
    base = _rss_kib()
    reset = False
    times, loss = [], None
    for step in range(steps + 1):
        h.grad = W.grad = None
        if step == 1:  # after the warm-up: measure the steady-state steps only
            loss = None
            base = _rss_kib()
            reset = _reset_peak()
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        if method == "single":
            loss = linear_cross_entropy(h, W, y)
        elif method == "vocab":
            loss = vocab_parallel_linear_cross_entropy(h, W, y)
        else:
            local = h @ W.T
            if world > 1:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # deprecated alias, same op
                    from torch.distributed.nn.functional import all_gather

                    # all_gather needs equal shapes: pad each shard's logits to ceil(V/P) columns.
                    width = max(sizes)
                    padded = F.pad(local, (0, width - local.shape[1]))
                    parts = all_gather(padded)
                logits = torch.cat([p[:, :k] for p, k in zip(parts, sizes, strict=True)], dim=1)
            else:
                logits = local
            loss = F.cross_entropy(logits, y)
        # all_gather's backward sums the P ranks' (identical) logit gradients: scale by 1/P.
        (loss / world if method == "gather" else loss).backward()
        if method == "gather" and world > 1:
            # all_gather's backward gives each rank its own shard's gradient; the hidden
            # gradient is partial per rank, as in the vocab-parallel loss: all-reduce it.
            dist.all_reduce(h.grad)
        times.append(time.perf_counter() - t0)
    peak = _peak_kib() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = {"rank": rank, "time": statistics.median(times[1:]), "peak_mib": (peak - base) / 1024,
           "loss": float(loss.detach()), "reset": reset,
           "gh": float(h.grad.abs().max()), "gw": float(W.grad.abs().max())}
    with open(f"{out}.{rank}", "w") as f:
        json.dump(res, f)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def _run(method: str, world: int, args) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(max(1, 2 // world)))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r")
        init = os.path.join(tmp, "rendezvous")  # file:// store: fresh, private, no port race
        procs = [subprocess.Popen([sys.executable, __file__, "--child", method, str(r), str(world), init,
                                   str(args.n), str(args.d), str(args.v), str(args.steps), out], env=env)
                 for r in range(world)]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"{method} world={world} failed")
        rs = []
        for r in range(world):
            with open(f"{out}.{r}") as f:
                rs.append(json.load(f))
    return {"time": max(r["time"] for r in rs), "peak_mib": max(r["peak_mib"] for r in rs), "loss": rs[0]["loss"],
            "reset": all(r["reset"] for r in rs)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        m, r, w, init, n, d, v, steps, out = sys.argv[2:]
        _child(m, int(r), int(w), init, int(n), int(d), int(v), int(steps), out)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--v", type=int, default=32771)  # a prime: no world size divides it
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--methods", default="single,vocab,gather,single_prob,vocab_prob,gather_prob")
    ap.add_argument("--worlds", default="1,2,4")
    args = ap.parse_args()
    methods = args.methods.split(",")
    rows = []
    refs = {}
    for kind in ("", "_prob"):
        if "single" + kind in methods:
            refs[kind] = _run("single" + kind, 1, args)
            rows.append(("single" + kind, 1, refs[kind]))
        for world in (int(w) for w in args.worlds.split(",")):
            for method in ("vocab" + kind, "gather" + kind):
                if method in methods:
                    rows.append((method, world, _run(method, world, args)))
    n, d, v = args.n, args.d, args.v
    print(f"N={n} D={d} V={v} float32, {args.steps} timed steps (median), torch {__import__('torch').__version__}, "
          f"{os.cpu_count()} CPUs")
    how = ("peak RSS of the timed steps (VmHWM reset after the warm-up step)" if all(r["reset"] for _, _, r in rows)
           else "ru_maxrss since the inputs were built (warm-up and kernel compilation included)")
    print(f"peak MiB per rank: {how}\n")
    print("| method | world | peak MiB per rank | step s (fwd+bwd) | loss diff vs single | floats sent per token per rank |")
    print("|---|---|---|---|---|---|")
    for method, world, r in rows:
        vr = -(-v // world)
        base = method.removesuffix("_prob")
        comm = {"single": "0", "vocab": f"{4 + d} (4 fwd + D={d} bwd)" if world > 1 else "0",
                "gather": f"{2 * (v - vr) + d} (2x(V-V_r) + D)" if world > 1 else "0"}[base]
        ref = refs.get("_prob" if method.endswith("_prob") else "")
        diff = f"{abs(r['loss'] - ref['loss']):.1e}" if ref is not None else "n/a"
        print(f"| {method} | {world} | {r['peak_mib']:.0f} | {r['time']:.3f} | {diff} | {comm} |")


if __name__ == "__main__":
    main()
