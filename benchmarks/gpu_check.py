"""CUDA smoke check of lossbridge.fused (correctness first, one rough timing).

Not part of the test suite (CI has no GPU).  Run on a CUDA machine:

    PYTHONPATH=src python benchmarks/gpu_check.py

Checks values and gradients of the torch path on CUDA against a float64 CPU reference
(float32 and bfloat16 inputs, every reduction and option), the JAX path on the default JAX
device, then times one forward+backward at an LM-head size against naive PyTorch.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from lossbridge.fused import linear_cross_entropy


def ref(h, W, t, b, cw, red, eps, zl, cap):
    z = h.double() @ W.double().T + b.double()
    if cap:
        z = cap * torch.tanh(z / cap)
    per = F.cross_entropy(z, t, weight=cw, reduction="none", label_smoothing=eps)
    valid = t != -100
    lse = torch.logsumexp(z, -1)
    per = per + zl * lse * lse * valid
    if red == "none":
        return per
    if red == "sum":
        return per.sum()
    den = valid.sum() if cw is None else (cw[torch.where(valid, t, 0)] * valid).sum()
    return per.sum() / den


def check_cuda() -> int:
    dev = "cuda"
    bad = 0
    g = torch.Generator().manual_seed(0)
    n, d, v = 300, 64, 5000
    for dtype, tol in ((torch.float32, 2e-5), (torch.bfloat16, 2e-5)):
        for red in ("mean", "sum", "none"):
            for eps, zl, cap, use_cw in ((0.0, 0.0, None, False), (0.1, 1e-3, 30.0, True)):
                h0 = torch.randn(n, d, generator=g)
                W0 = torch.randn(v, d, generator=g) / 8
                b0 = torch.randn(v, generator=g)
                t = torch.randint(0, v, (n,), generator=g)
                t[::7] = -100
                cw = torch.rand(v, generator=g, dtype=torch.float64) + 0.5 if use_cw else None
                h, W, b = (x.to(dev, dtype).requires_grad_() for x in (h0, W0, b0))
                out = linear_cross_entropy(h, W, t.to(dev), b, reduction=red, label_smoothing=eps, z_loss=zl,
                                           softcap=cap, chunk_size=128,
                                           class_weight=None if cw is None else cw.to(dev, torch.float32))
                hd, Wd, bd = (x.detach().cpu().double().requires_grad_() for x in (h, W, b))
                r = ref(hd, Wd, t, bd, cw, red, eps, zl, cap)
                up = torch.randn(r.shape, generator=g, dtype=torch.float64)
                (out * up.to(dev, out.dtype)).sum().backward()
                (r * up).sum().backward()
                verr = float(((out.detach().cpu().double() - r.detach()).abs().max()) / r.detach().abs().max())
                gerr = max(float((x.grad.cpu().double() - y.grad).norm() / y.grad.norm()) for x, y in
                           ((h, hd), (W, Wd), (b, bd)))
                gtol = 1e-4 if dtype == torch.float32 else 1e-2
                ok = verr < tol and gerr < gtol
                bad += not ok
                print(f"cuda {str(dtype)[6:]:9s} {red:4s} eps={eps} zl={zl} cap={cap} cw={use_cw}: "
                      f"value rel err {verr:.1e}, grad rel err {gerr:.1e} {'ok' if ok else 'FAIL'}", flush=True)
    return bad


def check_jax() -> int:
    try:
        import jax
    except ImportError:
        print("jax not installed")
        return 0
    print("jax devices:", jax.devices())
    key = jax.random.PRNGKey(0)
    h = jax.random.normal(key, (257, 32))
    W = jax.random.normal(jax.random.PRNGKey(1), (1000, 32)) / 4
    t = jax.random.randint(jax.random.PRNGKey(2), (257,), 0, 1000)
    f = jax.jit(jax.value_and_grad(lambda h, W: linear_cross_entropy(h, W, t, chunk_size=64), argnums=(0, 1)))
    val, (_gh, gw) = f(h, W)
    ht = torch.tensor(jax.device_get(h).tolist(), dtype=torch.float64, requires_grad=True)
    Wt = torch.tensor(jax.device_get(W).tolist(), dtype=torch.float64, requires_grad=True)
    r = F.cross_entropy(ht @ Wt.T, torch.tensor(jax.device_get(t).tolist()))
    r.backward()
    err = abs(float(val) - float(r)) / float(r)
    gerr = float(torch.tensor(jax.device_get(gw).tolist()).double().sub(Wt.grad).norm() / Wt.grad.norm())
    ok = err < 1e-5 and gerr < 1e-3
    print(f"jax value rel err {err:.1e}, grad W rel err {gerr:.1e} {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


def timing(n=8192, d=4096, v=131072):
    dev = "cuda"
    for dtype in (torch.bfloat16, torch.float32):
        h = torch.randn(n, d, device=dev, dtype=dtype, requires_grad=True)
        W = (torch.randn(v, d, device=dev) / d**0.5).to(dtype).requires_grad_()
        y = torch.randint(0, v, (n,), device=dev)
        methods = {
            "naive": lambda h=h, W=W, y=y: F.cross_entropy(h @ W.T, y),
            "naive_up": lambda h=h, W=W, y=y: F.cross_entropy((h @ W.T).float(), y),
            "fused": lambda h=h, W=W, y=y: linear_cross_entropy(h, W, y),
        }
        for name, fn in methods.items():
            h.grad = W.grad = None
            fn().backward()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            times = []
            for _ in range(3):
                h.grad = W.grad = None
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                loss = fn()
                loss.backward()
                torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            peak = (torch.cuda.max_memory_allocated() - base) / 2**20
            print(f"timing {str(dtype)[6:]:9s} N={n} D={d} V={v} {name:9s} {min(times) * 1e3:8.1f} ms "
                  f"peak +{peak:7.0f} MiB loss {float(loss):.6f}", flush=True)


if __name__ == "__main__":
    print(torch.__version__, torch.cuda.get_device_name())
    failures = check_cuda() + check_jax()
    timing()
    print("FAILURES:", failures)
    sys.exit(1 if failures else 0)
