"""Issue 12 on a real CUDA device: no host synchronisation, torch's values, deferred label
errors without a device-side assert, and the per-call cost in a loop of launches.

Not part of the test suite (CI has no GPU; ``tests/test_no_sync.py`` runs the same paths on the
CPU by treating CPU tensors as accelerator tensors).  On a CUDA machine:

    PYTHONPATH=src python benchmarks/gpu_sync.py            # about 2 minutes
    PYTHONPATH=src python benchmarks/gpu_sync.py --device cpu --fake-accelerator   # dry run
    PYTHONPATH=src python benchmarks/gpu_sync.py --device cpu --fake-accelerator \
        --sections cost --shapes 32x10,8192x100    # the host cost of the accelerator paths here

1. **syncs** -- every torch-dialect functional loss (the inputs of ``benchmarks/overhead.py``,
   N=32 x C=10, 8192 x 100 and 8 x 21 x 128 x 128), the loss modules, four Keras-dialect
   losses on torch tensors and the fused linear cross-entropy, forward and backward, at the
   default check level, under ``torch.cuda.set_sync_debug_mode("error")`` (CUDA raises on any
   synchronising call) and a TorchDispatchMode that counts host reads
   (``aten._local_scalar_dense``, ``is_nonzero``, ``item``, ``equal``).  Each value and
   gradient is compared with ``torch.nn.functional`` on the same device (the Keras dialect and
   the fused loss with their own CPU result).
2. **labels** -- a label out of range, each case in a fresh process: the call must not end in
   torch's device-side assert (which kills the process's CUDA context), the next call must raise
   ``LossBridgeIndexError`` naming the label and the earlier call.
3. **cost** -- loops of K calls then one synchronisation (what a training loop sees), lossbridge
   against torch.nn.functional, the sides alternating per block, 7 rounds: median ratio and
   25th-75th percentile; and a training step (MLP 784-256-10, batch 64; and 4096-wide, batch
   4096) with ``torch.nn.CrossEntropyLoss`` and ``lossbridge.torch.CrossEntropyLoss``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
from overhead import _torch_inputs  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import lossbridge as lb  # noqa: E402
from lossbridge import _deferred  # noqa: E402

HOST_READS = {"_local_scalar_dense", "is_nonzero", "item", "equal"}
SHAPES = ((32, 10), (8192, 100), (8, 21, 128, 128))


class CountHostReads(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in HOST_READS:
            self.reads.append(str(func))
        return func(*args, **(kwargs or {}))


def _on(device: str, a: tuple, grad: bool) -> tuple:
    out = []
    for x in a:
        x = x.to(device)
        if grad and x.is_floating_point() and not out:  # the first argument: the prediction
            x = x.detach().requires_grad_()
        out.append(x)
    return tuple(out)


def _cases(shape: tuple[int, ...], device: str, grad: bool) -> Iterator[tuple]:
    """``(name, args, kwargs, lossbridge's function, torch's)`` for every torch-dialect loss
    that ``benchmarks/overhead.py`` has inputs for at ``shape``, the arguments on ``device``."""
    for name in lb.torch.functional.__all__:
        inputs = _torch_inputs(name, shape)
        if inputs is not None:
            a, kw = inputs
            yield (name, _on(device, a, grad=grad), kw, getattr(lb.torch.functional, name),
                   getattr(torch.nn.functional, name))


def _syncs(device: str, step: Callable[[], object]) -> tuple[object, list[str], str]:
    """Run ``step`` with CUDA's sync check raising and host reads counted."""
    error = ""
    mode = CountHostReads()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
    try:
        with mode:
            out = step()
    except RuntimeError as e:  # CUDA's "called a synchronizing CUDA operation"
        out, error = None, str(e).splitlines()[0]
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    return out, mode.reads, error


def section_syncs(device: str) -> int:
    bad = 0
    print("\n## 1. host syncs and values, default check level, forward + backward")
    for shape in SHAPES:
        for name, a, kw, ours, theirs in _cases(shape, device, grad=True):

            def step(ours=ours, a=a, kw=kw):
                out = ours(*a, **kw)
                out.backward()
                return out.detach(), a[0].grad.clone()

            a[0].grad = None
            got, reads, error = _syncs(device, step)
            a[0].grad = None
            ref = theirs(*a, **kw)
            ref.backward()
            ok = not reads and not error
            if ok:
                for what, mine, theirs_ in (("value", got[0], ref.detach()), ("grad", got[1], a[0].grad)):
                    try:
                        torch.testing.assert_close(mine, theirs_)
                    except AssertionError as e:
                        ok, error = False, what + ": " + " ".join(str(e).split())[:300]
                        break
            if not ok and not reads:  # is torch's kernel deterministic here? native against itself
                g1 = a[0].grad.clone()
                a[0].grad = None
                again = theirs(*a, **kw)
                again.backward()
                same = bool(torch.equal(again.detach(), ref.detach()) and torch.equal(a[0].grad, g1))
                error += f" | native against itself: {'equal' if same else 'DIFFERS'}"
            bad += not ok
            print(f"{'x'.join(map(str, shape)):<14} {name:<34} reads {len(reads)}  "
                  f"{'ok' if ok else 'FAIL ' + (error or str(reads))}", flush=True)
    lb.checks.flush()
    bad += _modules_and_keras(device)
    return bad


def _modules_and_keras(device: str) -> int:
    bad = 0
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 10, generator=g)
    t = torch.randint(0, 10, (64,), generator=g)
    p = torch.softmax(x, 1)
    onehot = torch.nn.functional.one_hot(t, 10).float()
    h = torch.randn(256, 32, generator=g)
    w = torch.randn(1000, 32, generator=g) / 4
    ft = torch.randint(0, 1000, (256,), generator=g)
    ft[::5] = -100
    cases: dict[str, tuple[Callable[..., object], tuple, Callable[..., object] | None]] = {
        "torch CrossEntropyLoss(label_smoothing=0.1)": (
            lb.torch.CrossEntropyLoss(label_smoothing=0.1), (x, t),
            torch.nn.CrossEntropyLoss(label_smoothing=0.1)),
        "torch CrossEntropyLoss(weight, ignore_index=3)": (
            lb.torch.CrossEntropyLoss(weight=torch.arange(1.0, 11.0).to(device), ignore_index=3),
            (x, t), torch.nn.CrossEntropyLoss(weight=torch.arange(1.0, 11.0).to(device),
                                              ignore_index=3)),
        "torch NLLLoss(reduction=sum)": (lb.torch.NLLLoss(reduction="sum"),
                                         (torch.log_softmax(x, 1), t),
                                         torch.nn.NLLLoss(reduction="sum")),
        "keras CategoricalCrossentropy": (lb.keras.CategoricalCrossentropy(), (onehot, p), None),
        "keras SparseCategoricalCrossentropy(from_logits)": (
            lb.keras.SparseCategoricalCrossentropy(from_logits=True), (t, x), None),
        "keras BinaryCrossentropy": (lb.keras.BinaryCrossentropy(), (onehot, torch.sigmoid(x)),
                                     None),
        "keras MeanSquaredError": (lb.keras.MeanSquaredError(), (onehot, p), None),
        "fused linear_cross_entropy": (lambda h, w, t: lb.fused.linear_cross_entropy(
            h, w, t, chunk_size=128), (h, w, ft), None),
        "fused linear_cross_entropy(z_loss, smoothing)": (lambda h, w, t: lb.fused.linear_cross_entropy(
            h, w, t, chunk_size=128, z_loss=1e-3, label_smoothing=0.1), (h, w, ft), None),
    }
    for label, (ours, args, native) in cases.items():
        keras_like = label.startswith("keras")
        grad_at = 1 if keras_like else 0  # y_pred is Keras' second argument
        dev = [a.to(device) for a in args]
        dev[grad_at] = dev[grad_at].detach().requires_grad_()

        def step(ours=ours, dev=dev, grad_at=grad_at):
            out = ours(*dev)
            out.backward()
            return out.detach(), dev[grad_at].grad.clone()

        got, reads, error = _syncs(device, step)
        # the native loss on the device, else lossbridge's own CPU result (which the test suite
        # checks against the framework)
        ref_in = [a.to(device) if native is not None else a.clone() for a in args]
        ref_in[grad_at] = ref_in[grad_at].detach().requires_grad_()
        ref = (native or ours)(*ref_in)
        ref.backward()
        ok = not reads and not error
        if ok:
            try:
                torch.testing.assert_close(got[0].cpu(), ref.detach().cpu(), rtol=1e-5, atol=1e-5)
                torch.testing.assert_close(got[1].cpu(), ref_in[grad_at].grad.cpu(),
                                           rtol=1e-4, atol=1e-6)
            except AssertionError as e:
                ok, error = False, " ".join(str(e).split())[:200]
        bad += not ok
        print(f"{label:<50} reads {len(reads)}  {'ok' if ok else 'FAIL ' + (error or str(reads))}",
              flush=True)
    return bad


# ------------------------------------------------------------------ 2. labels out of range

LABEL_CASES = {
    "cross_entropy": "F.cross_entropy(x, t)",
    "cross_entropy segmentation": "F.cross_entropy(x.reshape(4, 16, 10).transpose(1, 2), t.reshape(4, 16))",
    "nll_loss": "F.nll_loss(torch.log_softmax(x, 1), t)",
    "CrossEntropyLoss(weight)": "lb.torch.CrossEntropyLoss(weight=torch.ones(10, device=dev))(x, t)",
    "multi_margin_loss": "F.multi_margin_loss(x, t)",
    "multilabel_margin_loss": "F.multilabel_margin_loss(x, torch.stack([t, torch.full_like(t, -1)], 1).repeat(1, 5))",
    "keras SparseCategoricalCrossentropy": "lb.keras.SparseCategoricalCrossentropy(from_logits=True)(t, x)",
    "fused linear_cross_entropy": "lb.fused.linear_cross_entropy(x, torch.ones(10, 10, device=dev), t)",
    # not a label: logits where binary_cross_entropy takes probabilities (12 * 0.1 = 1.2)
    "binary_cross_entropy input 1.2": "F.binary_cross_entropy((t.float() / 10).reshape(8, 8), (good.reshape(8, 8) > 4).float())",
}

_LABEL_CHILD = """
import sys, torch, lossbridge as lb
from lossbridge import _deferred
F = lb.torch.functional
dev, code, fake = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if fake:
    _deferred.ACCELERATOR_DEVICE_TYPES.add("cpu")
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 10, generator=g).to(dev)
good = torch.randint(0, 10, (64,), generator=g).to(dev)
t = good.clone(); t[7] = 12
try:
    out = eval(code)
    if dev == "cuda":
        torch.cuda.synchronize()  # a device-side assert surfaces here
    first = "computed " + format(float(out), ".6f")
except Exception as e:
    print("FAIL the call itself raised:", type(e).__name__, str(e).splitlines()[0][:160]); sys.exit(1)
t = good
try:
    eval(code)
    lb.checks.flush()
    print("FAIL no error at the next call or flush;", first); sys.exit(1)
except lb.LossBridgeError as e:
    msg = " ".join(str(e).split())
    ok = "In the loss call at" in msg
    print(("ok " if ok else "FAIL (message) ") + first + "; next call: " + msg[:230]); sys.exit(0 if ok else 1)
except Exception as e:
    print("FAIL", type(e).__name__, str(e).splitlines()[0][:200]); sys.exit(1)
"""


def section_labels(device: str, fake: bool) -> int:
    print("\n## 2. a label out of range (12 of 10 classes), each case in a fresh process")
    bad = 0
    env = dict(os.environ, CUDA_LAUNCH_BLOCKING="0")
    for label, code in LABEL_CASES.items():
        proc = subprocess.run([sys.executable, "-c", _LABEL_CHILD, device, code, "1" if fake else "0"],
                              capture_output=True, text=True, env=env, timeout=300)
        line = (proc.stdout.strip().splitlines() or [""])[-1]
        if proc.returncode != 0 and not line.startswith("FAIL"):
            line = "FAIL " + (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
        bad += proc.returncode != 0
        print(f"{label:<38} {line}", flush=True)
    return bad


# ------------------------------------------------------------------ 3. cost in a loop


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def compare_loops(device: str, fns: dict[str, Callable[[], object]], k: int,
                  rounds: int = 7) -> dict[str, list[float]]:
    """Per round and side: the time per call of K calls and one sync (key ``name``), and the
    host's time to issue them, before the sync (key ``name issue``)."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    _sync(device)
    names = list(fns)
    per: dict[str, list[float]] = {n: [] for n in names}
    per.update({f"{n} issue": [] for n in names})
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            fn = fns[n]
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            t1 = time.perf_counter()
            _sync(device)
            per[n].append((time.perf_counter() - t0) / k)
            per[f"{n} issue"].append((t1 - t0) / k)
    return per


def _issue(t: dict[str, list[float]]) -> str:
    return (f"  host issue: native {statistics.median(t['native issue']) * 1e6:6.1f} us, "
            f"lb {statistics.median(t['lb issue']) * 1e6:6.1f} us")


def _ratio(a: list[float], b: list[float]) -> str:
    r = sorted(x / y for x, y in zip(a, b, strict=True))
    q = statistics.quantiles(r, n=4)
    return f"{statistics.median(r):5.2f}x [{q[0]:.2f}-{q[2]:.2f}]"


def section_cost(device: str, shapes: tuple[tuple[int, ...], ...] = SHAPES) -> None:
    print("\n## 3. cost per call in a loop of launches (forward only; K calls, then one sync)")
    for shape in shapes:
        k = 200 if shape == (32, 10) else 50
        print(f"\n{'x'.join(map(str, shape))}  (K={k})")
        for name, a, kw, ours, theirs in _cases(shape, device, grad=False):
            t = compare_loops(device, {"native": lambda theirs=theirs, a=a, kw=kw: theirs(*a, **kw),
                                       "lb": lambda ours=ours, a=a, kw=kw: ours(*a, **kw)}, k)
            print(f"{name:<34} native {statistics.median(t['native']) * 1e6:9.1f} us  "
                  f"lb {statistics.median(t['lb']) * 1e6:9.1f} us  {_ratio(t['lb'], t['native'])}"
                  + _issue(t), flush=True)
    lb.checks.flush()
    print("\n## training steps (SGD; K steps, then one sync)")
    # the wide step is minutes on a CPU (the dry run measures only the launch-bound one)
    for width, batch in ((256, 64),) + (((4096, 4096),) if device != "cpu" else ()):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(),
                                    torch.nn.Linear(width, 10)).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(batch, 784, device=device)
        y = torch.randint(0, 10, (batch,), device=device)

        def step(criterion, model=model, opt=opt, x=x, y=y):
            def run():
                opt.zero_grad()
                criterion(model(x), y).backward()
                opt.step()
            return run

        t = compare_loops(device, {"native": step(torch.nn.CrossEntropyLoss()),
                                   "lb": step(lb.torch.CrossEntropyLoss())}, 100)
        print(f"MLP 784-{width}-10 batch {batch:<5}            native "
              f"{statistics.median(t['native']) * 1e6:9.1f} us  lb "
              f"{statistics.median(t['lb']) * 1e6:9.1f} us  {_ratio(t['lb'], t['native'])}"
              + _issue(t), flush=True)
    lb.checks.flush()


def section_profile(device: str) -> None:
    """Where the host time of a default-level call on the device goes (cProfile, 500 calls)."""
    import cProfile
    import pstats

    x = torch.randn(32, 10, device=device)
    t = torch.randint(0, 10, (32,), device=device)
    for name, call in (("cross_entropy", lambda: lb.torch.functional.cross_entropy(x, t)),
                       ("mse_loss", lambda: lb.torch.functional.mse_loss(x, x))):
        for _ in range(20):
            call()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(500):
            call()
        profile.disable()
        _sync(device)
        print(f"\n## profile: {name} 32x10, 500 calls (internal time)")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(30)
    lb.checks.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--fake-accelerator", action="store_true",
                        help="treat CPU tensors as accelerator tensors (a dry run without a GPU)")
    parser.add_argument("--sections", default="syncs,labels,cost,profile")
    parser.add_argument("--shapes", default=",".join("x".join(map(str, s)) for s in SHAPES),
                        help="the cost section's shapes (e.g. 32x10,8192x100)")
    args = parser.parse_args()
    shapes = tuple(tuple(int(d) for d in s.split("x")) for s in args.shapes.split(","))
    if args.fake_accelerator:
        _deferred.ACCELERATOR_DEVICE_TYPES.add("cpu")
    print(f"torch {torch.__version__}",
          torch.cuda.get_device_name() if args.device == "cuda" else args.device)
    bad = 0
    sections = args.sections.split(",")
    if "syncs" in sections:
        bad += section_syncs(args.device)
    if "labels" in sections:
        bad += section_labels(args.device, args.fake_accelerator)
    if "cost" in sections:
        section_cost(args.device, shapes)
    if "profile" in sections:
        section_profile(args.device)
    print("\nFAILURES:", bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
