"""What lossbridge costs in a training loop, against the native baselines of the same run.

    python benchmarks/overhead.py             # every section (about 10 minutes on 2 cores)
    python benchmarks/overhead.py --quick     # fewer repeats, no segmentation shape
    python benchmarks/overhead.py --sections torch,mlp,sync
    python benchmarks/overhead.py --sections torch --busy 1    # a busy machine
    python benchmarks/overhead.py --sections torch --cold      # caches evicted before each call

Sections (each prints median times and the ratio lossbridge / native, with the spread: the
25th-75th percentile of the per-round ratios, the sides interleaved call by call):

* ``torch``  every torch-dialect functional loss at N=32 x C=10, N=8192 x C=100 and (for the
  losses that take (N, C, d1, ...)) the segmentation shape 8 x 21 x 128 x 128, on torch
  tensors, default checks and checks off, against ``torch.nn.functional``;
* ``split``  for four losses at 8192 x 100, each call's time before torch's kernel binding, in it
  and after it (lossbridge against torch.nn.functional): where the overhead is;
* ``mlp``    a training step (MLP 784-256-10, batch 64, SGD) with ``torch.nn.CrossEntropyLoss``
  and with ``lossbridge.torch.CrossEntropyLoss`` (default checks, checks off);
* ``sync``   host reads during one default-level call on tensors lossbridge treats as
  accelerator tensors (counted by a TorchDispatchMode), and on CPU tensors;
* ``keras``  the Keras dialect against Keras 3 (CCE, SCCE, BCE, MSE at N=8192, C=100) on the
  torch and jax backends (one subprocess per backend);
* ``numpy``  the NumPy path against a plain NumPy formula;
* ``import`` ``import lossbridge`` against ``import numpy`` (fresh interpreters);
* ``jax``    the first (traced) call on JAX arrays against keras-jax and optax.

Timings are wall-clock medians; the machine may be shared, so every comparison interleaves
its sides call by call and reports the spread of the per-round ratios (the A/A row under
cross_entropy, native against itself, shows the resolution).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from lossbridge._config import _set_level  # the check level without a context manager's cost

HERE = os.path.dirname(os.path.abspath(__file__))


def _times(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def compare(fns: dict[str, Callable[[], object]], repeats: int, rounds: int = 7) -> dict[str, list[float]]:
    """Per-round medians of every function's single-call times.  The functions alternate call
    by call (the first one rotating), so drift, frequency changes and the caches' state fall on
    every side alike: an A/A comparison (native against itself) reads 1.00x +- 0.01 this way,
    where blocks of calls per function read up to 1.015x.  With ``--cold`` (see :data:`COLD`),
    a 16 MiB buffer is written before every timed call, as another process or a large kernel
    would evict the caches."""
    for fn in fns.values():  # warm-up: caches, first-call compilation
        fn()
        fn()
    names, calls = list(fns), list(fns.values())
    per_round: dict[str, list[float]] = {k: [] for k in fns}
    order = list(range(len(calls)))
    clock, flush = time.perf_counter, COLD.get("flush")
    for _ in range(rounds):
        times: list[list[float]] = [[] for _ in calls]
        for _ in range(repeats):
            order = order[1:] + order[:1]
            for j in order:
                if flush is not None:
                    flush()
                t0 = clock()
                calls[j]()
                times[j].append(clock() - t0)
        for name, t in zip(names, times, strict=True):
            per_round[name].append(statistics.median(t))
    return per_round


#: ``--cold``: the function that evicts the caches before each timed call (set by main).
COLD: dict[str, Callable[[], object]] = {}


def ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Median and 25th/75th percentiles of the per-round ratios a/b."""
    r = sorted(x / y for x, y in zip(a, b, strict=True))
    q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0], r[0], r[0]]
    return statistics.median(r), q[0], q[2]


def _fmt_us(t: float) -> str:
    return f"{t * 1e6:9.1f} us" if t < 1e-2 else f"{t * 1e3:9.2f} ms"


def _row(label: str, base: list[float], others: dict[str, list[float]]) -> str:
    cells = [f"{label:<44}", f"native {_fmt_us(statistics.median(base))}"]
    for name, t in others.items():
        m, lo, hi = ratio(t, base)
        cells.append(f"{name} {_fmt_us(statistics.median(t))} {m:5.2f}x [{lo:.2f}-{hi:.2f}]")
    return "  ".join(cells)


# ------------------------------------------------------------------ torch


def _torch_inputs(name: str, shape: tuple[int, ...]) -> tuple[tuple, dict] | None:
    import torch

    g = torch.Generator().manual_seed(0)
    n, c = shape[0], shape[1]
    rest = shape[2:]
    x = torch.randn(shape, generator=g)
    labels = torch.randint(0, c, (n, *rest), generator=g)
    probs = torch.softmax(x, 1)
    onehot = torch.zeros(shape).scatter_(1, labels.unsqueeze(1), 1.0)
    table = {
        "cross_entropy": ((x, labels), {}),
        "nll_loss": ((torch.log_softmax(x, 1), labels), {}),
        "binary_cross_entropy": ((torch.sigmoid(x), onehot), {}),
        "binary_cross_entropy_with_logits": ((x, onehot), {}),
        "mse_loss": ((x, probs), {}), "l1_loss": ((x, probs), {}),
        "huber_loss": ((x, probs), {}), "smooth_l1_loss": ((x, probs), {}),
        "poisson_nll_loss": ((x, probs), {}),
        "gaussian_nll_loss": ((x, probs, probs + 0.5), {}),
        "kl_div": ((torch.log_softmax(x, 1), probs), {"reduction": "batchmean"}),
        "soft_margin_loss": ((x, 2 * onehot - 1), {}),
        "hinge_embedding_loss": ((x, 2 * onehot - 1), {}),
    }
    if not rest:
        multilabels = torch.full((n, c), -1, dtype=torch.long)
        multilabels[:, 0] = labels
        table.update({
            "multilabel_soft_margin_loss": ((x, onehot), {}),
            "multi_margin_loss": ((x, labels), {}),
            "multilabel_margin_loss": ((x, multilabels), {}),
            "margin_ranking_loss": ((x[:, 0], x[:, 1], torch.sign(x[:, 2])), {}),
            "cosine_embedding_loss": ((x, probs, torch.sign(x[:, 2])), {}),
            "triplet_margin_loss": ((x, probs, onehot), {}),
            "triplet_margin_with_distance_loss": ((x, probs, onehot), {}),
        })
    return table.get(name)


def section_torch(args: argparse.Namespace) -> None:
    import torch

    import lossbridge as lb

    torch.set_num_threads(1)
    shapes = [(32, 10), (8192, 100)] + ([] if args.quick else [(8, 21, 128, 128)])
    print("\n## torch dialect per call (torch tensors, float32, 1 thread)")
    for shape in shapes:
        big = int(np.prod(shape)) > 1e6
        repeats = 3 if big else (20 if int(np.prod(shape)) > 1e5 else 200)
        repeats = max(2, repeats // (4 if args.quick else 1))
        print(f"\n{'x'.join(map(str, shape))}")
        for name in lb.torch.functional.__all__:
            inputs = _torch_inputs(name, shape)
            if inputs is None:
                continue
            a, kw = inputs
            ours = getattr(lb.torch.functional, name)
            theirs = getattr(torch.nn.functional, name)

            def off(ours=ours, a=a, kw=kw):
                _set_level("off")
                try:
                    return ours(*a, **kw)
                finally:
                    _set_level("cheap")

            fns = {"native": lambda theirs=theirs, a=a, kw=kw: theirs(*a, **kw),
                   "lb": lambda ours=ours, a=a, kw=kw: ours(*a, **kw), "lb off": off}
            if name == "cross_entropy":  # the A/A row: the measurement's own resolution
                fns["native again"] = fns["native"]
            t = compare(fns, repeats, rounds=5 if big else 7)
            print(_row(name, t["native"], {"lb": t["lb"], "off": t["lb off"]}))
            if "native again" in t:
                print(_row("  (A/A: native against itself)", t["native"], {"again": t["native again"]}))


def section_split(args: argparse.Namespace) -> None:
    """Where a call's time goes, for the losses whose kernels are short (the profile of the
    misses): the kernel binding that torch.nn.functional and lossbridge both end in is timed
    inside the call, so each call splits into before the kernel / the kernel / after it."""
    import torch

    import lossbridge as lb

    torch.set_num_threads(1)
    print("\n## where the time goes, 8192x100 (medians; the kernel binding timed inside the call)")
    cases = (("nll_loss", torch._C._nn, "nll_loss_nd"),
             ("margin_ranking_loss", torch, "margin_ranking_loss"),
             ("cross_entropy", torch._C._nn, "cross_entropy_loss"),
             ("mse_loss", torch._C._nn, "mse_loss"))
    for name, owner, binding in cases:
        inputs = _torch_inputs(name, (8192, 100))
        assert inputs is not None
        a, kw = inputs
        real = getattr(owner, binding)
        stamps = [0.0, 0.0]

        def timed(*args, _real=real, _stamps=stamps, **kwargs):
            _stamps[0] = time.perf_counter()
            out = _real(*args, **kwargs)
            _stamps[1] = time.perf_counter()
            return out

        calls = {"native": getattr(torch.nn.functional, name), "lb": getattr(lb.torch.functional, name)}
        parts: dict[str, list[tuple[float, float, float]]] = {k: [] for k in calls}
        setattr(owner, binding, timed)
        try:
            for i in range(100 if args.quick else 400):
                for k in (("native", "lb") if i % 2 else ("lb", "native")):
                    t0 = time.perf_counter()
                    calls[k](*a, **kw)
                    t1 = time.perf_counter()
                    parts[k].append((stamps[0] - t0, stamps[1] - stamps[0], t1 - stamps[1]))
        finally:
            setattr(owner, binding, real)
        for k, v in parts.items():
            before, kernel, after = (statistics.median(x[j] for x in v) * 1e6 for j in range(3))
            print(f"{name:<22} {k:<7} before the kernel {before:6.1f} us  kernel {kernel:8.1f} us  "
                  f"after {after:6.1f} us")


def section_mlp(args: argparse.Namespace) -> None:
    import torch

    import lossbridge as lb

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))

    def step(criterion):
        def run():
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
        return run

    lb_ce = lb.torch.CrossEntropyLoss()

    def off():
        _set_level("off")
        try:
            step(lb_ce)()
        finally:
            _set_level("cheap")

    t = compare({"native": step(torch.nn.CrossEntropyLoss()), "lb": step(lb_ce), "lb off": off},
                50 if args.quick else 200)
    print("\n## training step: MLP 784-256-10, batch 64, SGD (1 thread)")
    print(_row("step", t["native"], {"lb": t["lb"], "off": t["lb off"]}))


def section_sync(args: argparse.Namespace) -> None:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    import lossbridge as lb
    from lossbridge import _deferred

    reads = {"_local_scalar_dense", "is_nonzero", "item", "equal"}

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, a=(), kw=None):
            if func.overloadpacket.__name__ in reads:
                Count.n += 1
            return func(*a, **(kw or {}))

    x, t = torch.randn(64, 10, requires_grad=True), torch.randint(0, 10, (64,))
    print("\n## host reads per default-level call (TorchDispatchMode count)")
    for label, accel in (("accelerator tensors", True), ("CPU tensors", False)):
        saved = set(_deferred.ACCELERATOR_DEVICE_TYPES)
        if accel:
            _deferred.ACCELERATOR_DEVICE_TYPES.add("cpu")
        try:
            for name, call in (("cross_entropy", lambda: lb.torch.functional.cross_entropy(x, t)),
                               ("nll_loss", lambda: lb.torch.functional.nll_loss(x, t)),
                               ("CrossEntropyLoss", lambda: lb.torch.CrossEntropyLoss()(x, t))):
                Count.n = 0
                with Count():
                    call()
                print(f"{label:<22} {name:<18} {Count.n} host reads")
        finally:
            _deferred.ACCELERATOR_DEVICE_TYPES.clear()
            _deferred.ACCELERATOR_DEVICE_TYPES.update(saved)
            _deferred._PENDING.clear()
            _deferred._STAGED.clear()


# ------------------------------------------------------------------ keras (subprocess per backend)


def keras_worker(backend: str, quick: bool) -> None:
    os.environ["KERAS_BACKEND"] = backend
    import keras

    import lossbridge as lb

    n, c = 8192, 100
    r = np.random.default_rng(0)
    logits = r.normal(size=(n, c)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = r.integers(0, c, n)
    onehot = np.eye(c, dtype=np.float32)[labels]
    binary = (r.random((n, c)) > 0.5).astype(np.float32)
    sig = (1 / (1 + np.exp(-logits))).astype(np.float32)
    conv = keras.ops.convert_to_tensor
    cases = {
        "CategoricalCrossentropy": ((onehot, probs), "CategoricalCrossentropy"),
        "SparseCategoricalCrossentropy": ((labels.astype(np.int32), probs), "SparseCategoricalCrossentropy"),
        "BinaryCrossentropy": ((binary, sig), "BinaryCrossentropy"),
        "MeanSquaredError": ((binary, sig), "MeanSquaredError"),
    }
    if backend == "jax":  # JAX dispatches asynchronously: time each call to its result
        import jax

        ready = jax.block_until_ready
    else:
        def ready(x: object) -> object:
            return x
    rows = {}
    for name, ((yt, yp), cls) in cases.items():
        yt, yp = conv(yt), conv(yp)
        theirs, ours = getattr(keras.losses, cls)(), getattr(lb.keras, cls)()
        t = compare({"keras": lambda theirs=theirs, yt=yt, yp=yp: ready(theirs(yt, yp)),
                     "lb": lambda ours=ours, yt=yt, yp=yp: ready(ours(yt, yp))},
                    5 if quick else 20)
        rows[name] = t
    print(json.dumps(rows))


def section_keras(args: argparse.Namespace) -> None:
    print("\n## Keras dialect vs Keras 3.15.1, N=8192, C=100, float32 (backend's own tensors)")
    for backend in ("torch", "jax"):
        env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, __file__, "--keras-worker", backend]
                             + (["--quick"] if args.quick else []),
                             capture_output=True, text=True, env=env)
        if out.returncode:
            print(f"{backend}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        rows = json.loads(out.stdout.strip().splitlines()[-1])
        for name, t in rows.items():
            print(_row(f"{backend} {name}", t["keras"], {"lb": t["lb"]}).replace("native", "keras "))


def section_numpy(args: argparse.Namespace) -> None:
    import lossbridge as lb

    print("\n## NumPy path vs a plain NumPy formula (float32)")
    for n in (32, 8192):
        r = np.random.default_rng(0)
        y = (r.random((n, 10)) > 0.5).astype(np.float32)
        p = r.random((n, 10)).astype(np.float32) * 0.98 + 0.01
        x = r.normal(size=(n, 10)).astype(np.float32)
        t = r.integers(0, 10, n)

        def bce_np(y=y, p=p):
            q = np.clip(p, 1e-7, 1 - 1e-7)
            return np.mean(np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)), axis=-1))

        def mse_np(y=y, p=p):
            return np.mean(np.mean((y - p) ** 2, axis=-1))

        def ce_np(x=x, t=t):
            m = x.max(1, keepdims=True)
            lse = np.log(np.exp(x - m).sum(1)) + m[:, 0]
            return np.mean(lse - x[np.arange(len(t)), t])

        bce, mse = lb.keras.BinaryCrossentropy(), lb.keras.MeanSquaredError()
        repeats = 200 if n == 32 else 30
        for label, plain, ours in (
            ("keras BCE", bce_np, lambda bce=bce, y=y, p=p: bce(y, p)),
            ("keras MSE", mse_np, lambda mse=mse, y=y, p=p: mse(y, p)),
            ("torch cross_entropy", ce_np,
             lambda x=x, t=t: lb.torch.functional.cross_entropy(x, t)),
        ):
            tt = compare({"plain": plain, "lb": ours}, repeats // (4 if args.quick else 1))
            print(_row(f"N={n} {label}", tt["plain"], {"lb": tt["lb"]}).replace("native", "plain "))


def _fresh(code: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out.append(float(r.stdout.strip().splitlines()[-1]))
    return out


def section_import(args: argparse.Namespace) -> None:
    n = 5 if args.quick else 15
    tmpl = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    ours: list[float] = []
    numpy: list[float] = []
    for _ in range(n):  # interleaved
        numpy += _fresh(tmpl.format(m="numpy"), 1)
        ours += _fresh(tmpl.format(m="lossbridge"), 1)
    print("\n## import time (fresh interpreters, interleaved)")
    print(f"import numpy      {statistics.median(numpy):.4f} s")
    print(f"import lossbridge {statistics.median(ours):.4f} s "
          f"[{min(ours):.4f}-{max(ours):.4f}]")


def section_jax(args: argparse.Namespace) -> None:
    code = """
import os, time, numpy as np
os.environ.setdefault("KERAS_BACKEND", "jax")
import jax, jax.numpy as jnp
r = np.random.default_rng(0)
x = jnp.asarray(r.normal(size=(8192, 100)).astype(np.float32)); t = jnp.asarray(r.integers(0, 100, 8192))
p = jax.nn.softmax(x)
which = {which!r}
if which == "keras":
    import keras; cls = keras.losses.SparseCategoricalCrossentropy
    f = lambda: cls()(t, p)
elif which == "lb.keras":
    import lossbridge as lb; cls = lb.keras.SparseCategoricalCrossentropy  # the lazy import: not timed
    f = lambda: cls()(t, p)
elif which == "optax":
    import optax; fn = optax.losses.softmax_cross_entropy_with_integer_labels
    f = lambda: fn(x, t)
else:
    import lossbridge as lb; fn = lb.optax.softmax_cross_entropy_with_integer_labels  # import: not timed
    f = lambda: fn(x, t)
t0 = time.perf_counter(); jax.block_until_ready(f()); print(time.perf_counter() - t0)
"""
    n = 3 if args.quick else 7
    print("\n## first call on JAX arrays (fresh interpreters, N=8192, C=100)")
    for a, b in (("keras", "lb.keras"), ("optax", "lb.optax")):
        ta: list[float] = []
        tb: list[float] = []
        for _ in range(n):
            ta += _fresh(code.format(which=a), 1)
            tb += _fresh(code.format(which=b), 1)
        m, lo, hi = ratio(tb, ta)
        print(f"{a:<8} {statistics.median(ta) * 1e3:8.1f} ms   {b:<9} "
              f"{statistics.median(tb) * 1e3:8.1f} ms   {m:.2f}x [{lo:.2f}-{hi:.2f}]")


SECTIONS = {"torch": section_torch, "split": section_split, "mlp": section_mlp,
            "sync": section_sync,
            "keras": section_keras, "numpy": section_numpy, "import": section_import,
            "jax": section_jax}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cold", action="store_true",
                        help="write a 16 MiB buffer before every timed call (caches evicted, as on "
                             "a busy machine or after a large kernel)")
    parser.add_argument("--busy", type=int, default=0, metavar="K",
                        help="run K other processes streaming memory on the CPUs meanwhile "
                             "(a busy machine)")
    parser.add_argument("--keras-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keras_worker:
        keras_worker(args.keras_worker, args.quick)
        return
    load = os.getloadavg()[0]
    print(f"lossbridge overhead benchmark; load average {load:.2f} on {os.cpu_count()} CPUs"
          + (f"; {args.busy} busy processes" if args.busy else "")
          + ("; caches evicted before every timed call" if args.cold else ""))
    if args.cold:
        buffer = np.zeros(4 * 1024 * 1024, np.float32)  # 16 MiB: more than L2, half of L3 here

        def flush() -> None:
            np.add(buffer, 1.0, out=buffer)

        COLD["flush"] = flush
    busy = [subprocess.Popen([sys.executable, "-c", _BUSY]) for _ in range(args.busy)]
    try:
        for name in args.sections.split(","):
            SECTIONS[name](args)
    finally:
        for proc in busy:
            proc.kill()


#: A busy neighbour: streams 64 MiB through the caches and the memory bus, forever.
_BUSY = "import numpy as np\na = np.zeros(16 * 1024 * 1024, np.float32)\nwhile True:\n    a += 1.0\n"


if __name__ == "__main__":
    main()
