"""The torch engine's two block-kernel paths (compiled by inductor, eager torch kernels)
against the unfused reference, their fallback, and the cache-based block-size chooser."""

from __future__ import annotations

import os
import warnings
from unittest import mock

import pytest
import torch
from hypothesis import given, settings

from lossbridge import LossBridgeWarning
from lossbridge.fused import _torch as T
from lossbridge.fused import _torch_kernels as K
from lossbridge.fused import linear_cross_entropy

from ._helpers import assert_close, grads, reference
from .test_fused_torch import F64, cases, kwargs_of, make

MODES = ["1", "0"]  # LOSSBRIDGE_FUSED_COMPILE: forced compiled kernels / eager kernels


class _Count:
    """Counts the compiled-kernel calls (wraps K._call)."""

    def __init__(self):
        self.n = 0
        self._orig = K._call

    def __call__(self, *a):
        self.n += 1
        return self._orig(*a)


def _run_mode(mode, fn):
    """fn() with LOSSBRIDGE_FUSED_COMPILE=mode; returns (result, compiled-kernel calls)."""
    count = _Count()
    with mock.patch.dict(os.environ, {"LOSSBRIDGE_FUSED_COMPILE": mode}), mock.patch.object(K, "_call", count):
        out = fn()
    return out, count.n


def _check_case(c, dtype, tol):
    h, W, b, t, cw = make(c, dtype)
    kw = kwargs_of(c, dtype)
    h64, W64 = (x.detach().double().requires_grad_() for x in (h, W))
    b64 = None if b is None else b.detach().double().requires_grad_()
    cw64 = None if cw is None else cw.double()
    kw64 = kwargs_of(c)
    ref = reference(h64, W64, t, b64, class_weight=cw64, **kw64)
    refs = ref if c["return_lse"] else (ref,)
    g = torch.Generator().manual_seed(c["seed"] + 1)
    ups = [torch.randn(r.shape, generator=g, dtype=torch.float64) for r in refs]
    valid_any = bool((t != c["ignore_index"]).any())
    all_ignored_mean = c["reduction"] == "mean" and c["num_items"] is None and not valid_any
    if all_ignored_mean:
        ups[0] = torch.zeros_like(ups[0])  # NaN value there (torch's 0/0): tested elsewhere
    g_ref = grads(ref, [h64, W64, b64], ups if c["return_lse"] else ups[0])
    for mode in MODES:
        def step():
            for x in (h, W, b):
                if x is not None:
                    x.grad = None
            ours = linear_cross_entropy(h, W, t, b, class_weight=cw, chunk_size=c["chunk_size"], **kw)
            outs = ours if c["return_lse"] else (ours,)
            go = grads(ours, [h, W, b], [u.to(o.dtype) for u, o in zip(ups, outs, strict=True)]
                       if c["return_lse"] else ups[0].to(outs[0].dtype))
            return outs, go

        (outs, g_ours), calls = _run_mode(mode, step)
        nonempty = h.numel() > 0 and not (c["reduction"] == "none" and not valid_any and not c["return_lse"])
        if mode == "1" and nonempty and valid_any:
            assert calls > 0, "the compiled kernels did not run"
        if mode == "0":
            assert calls == 0
        for i, (o, r) in enumerate(zip(outs, refs, strict=True)):
            if i == 0 and all_ignored_mean:
                continue
            assert_close(o, r.to(o.dtype), what=f"value (compile={mode})", **tol)
        for name, a, r in zip(("input", "weight", "bias"), g_ours, g_ref, strict=True):
            assert_close(a, None if r is None else r.to(a.dtype), what=f"grad {name} (compile={mode})", **tol)


# Every option (ignore_index, smoothing, class weights, z-loss, softcap, reductions,
# num_items_in_batch, return_lse, chunk sizes) drawn by the shared strategy, both paths.
@settings(derandomize=True, deadline=None, max_examples=20)
@given(cases())
def test_both_paths_match_reference_float64(c):
    _check_case(c, torch.float64, F64)


@settings(derandomize=True, deadline=None, max_examples=10)
@given(cases())
def test_both_paths_match_reference_float32(c):
    if c["offset"] or c["scale"] > 1:
        c = dict(c, offset=0.0, scale=1.0)  # float32 tolerance below is for O(1) logits
    _check_case(c, torch.float32, dict(rtol=2e-4, atol=2e-5))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_both_paths(mode, dtype):
    """bfloat16/float16 compute in float32; the compiled scale kernel runs in backward."""
    torch.manual_seed(3)
    n, d, v = 40, 16, 200
    h = torch.randn(n, d).to(dtype).requires_grad_()
    W = (torch.randn(v, d) / d**0.5).to(dtype).requires_grad_()
    t = torch.randint(0, v, (n,))
    t[::5] = -100

    def step():
        loss = linear_cross_entropy(h, W, t, label_smoothing=0.1, z_loss=1e-3, chunk_size=16)
        return loss, grads(loss, [h, W], torch.tensor(1.0))

    (loss, (gh, gw)), calls = _run_mode(mode, step)
    assert (calls > 0) == (mode == "1")
    h64, W64 = (x.detach().double().requires_grad_() for x in (h, W))
    ref = reference(h64, W64, t, label_smoothing=0.1, z_loss=1e-3)
    rh, rw = grads(ref, [h64, W64], torch.tensor(1.0, dtype=torch.float64))
    assert_close(loss, ref.float(), rtol=1e-5, atol=1e-6, what="loss")
    for a, r in ((gh, rh), (gw, rw)):
        assert a.dtype == dtype
        assert float((a.double() - r).norm()) <= 2 * float((r.to(dtype).double() - r).norm()) + 1e-6 * float(r.norm())


@pytest.mark.parametrize("mode", MODES)
def test_probability_targets_both_paths(mode):
    """Probability targets: statistics on the eager kernels, the scale pass per mode; the
    target gradient too."""
    torch.manual_seed(4)
    n, d, v = 9, 5, 13
    h = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    W = torch.randn(v, d, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(torch.randn(n, v, dtype=torch.float64), -1).requires_grad_()
    cw = torch.rand(v, dtype=torch.float64) + 0.1

    def step():
        loss = linear_cross_entropy(h, W, y, class_weight=cw, label_smoothing=0.2, reduction="sum")
        return loss, grads(loss, [h, W, y], torch.tensor(1.0, dtype=torch.float64))

    (loss, g_ours), _ = _run_mode(mode, step)
    ref = reference(h, W, y, class_weight=cw, label_smoothing=0.2, reduction="sum")
    g_ref = grads(ref, [h, W, y], torch.tensor(1.0, dtype=torch.float64))
    assert_close(loss, ref, what="loss", **F64)
    for a, r in zip(g_ours, g_ref, strict=True):
        assert_close(a, r, what="grad", **F64)


def test_compile_failure_falls_back_with_one_warning(monkeypatch):
    """A compiler failure: one LossBridgeWarning, then the eager kernels, same results."""
    def broken():
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(K, "_kernels", broken)
    monkeypatch.setitem(K._state, "failed", False)
    monkeypatch.setenv("LOSSBRIDGE_FUSED_COMPILE", "1")
    torch.manual_seed(5)
    h = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 7, (12,))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        loss = linear_cross_entropy(h, W, t)
        loss.backward()
        linear_cross_entropy(h, W, t, reduction="none").sum().backward()
    ours = [x for x in rec if issubclass(x.category, LossBridgeWarning)]
    assert len(ours) == 1, [str(x.message) for x in rec]
    assert "compiled block kernels failed" in str(ours[0].message)
    assert "RuntimeError: no compiler here" in str(ours[0].message)
    assert ours[0].filename == __file__  # points at the user's line
    assert K._state["failed"] is True
    assert_close(loss, reference(h, W, t), what="loss", **F64)


def test_use_compiled_conditions(monkeypatch):
    z32 = torch.zeros(4, 3)
    monkeypatch.setitem(K._state, "failed", False)
    monkeypatch.setenv("LOSSBRIDGE_FUSED_COMPILE", "0")
    assert K.mode() == "off" and not K.use_compiled(z32)
    monkeypatch.setenv("LOSSBRIDGE_FUSED_COMPILE", "1")
    assert K.mode() == "force"
    monkeypatch.setitem(K._state, "cxx", True)
    assert K.use_compiled(z32)
    assert not K.use_compiled(z32.to(torch.bfloat16))  # blocks are float32/float64
    monkeypatch.setitem(K._state, "cxx", False)  # no C++ compiler: the eager kernels
    assert not K.use_compiled(z32)
    monkeypatch.setitem(K._state, "cxx", True)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)  # inside the user's torch.compile
    assert not K.use_compiled(z32)
    monkeypatch.undo()
    monkeypatch.setitem(K._state, "cxx", True)
    monkeypatch.setitem(K._state, "failed", False)
    monkeypatch.delenv("LOSSBRIDGE_FUSED_COMPILE", raising=False)
    assert K.mode() == "auto"
    assert not K.use_compiled(z32)  # auto: small blocks stay eager
    assert K.use_compiled(torch.empty(K._MIN_COMPILE_ELEMS // 256, 256))


def test_choose_rows_is_a_pure_function_of_sizes_and_caches():
    mib = 1 << 20
    l2, l3 = 1 * mib, 32 * mib
    # the size: 128 MiB / (131072 x 4) = 256 rows; N=3855 (every 17th ignored) is
    # balanced into 16 blocks of 241 instead of 15 x 256 + 15
    assert T.choose_rows(4096, 131072, 1024, 4, 1, l2, l3) == 256
    assert T.choose_rows(3855, 131072, 1024, 4, 1, l2, l3) == 241
    assert T.choose_rows(4096, 32768, 1024, 4, 1, l2, l3) == 1024
    assert T.choose_rows(4096, 32768, 1024, 4, 2, l2, l3) == 512  # softcap: two buffers
    assert T.choose_rows(4096, 32768, 1024, 8, 1, l2, l3) == 512  # float64
    # huge vocabulary: the floor from the L2 (hidden panel fills half of it), at most 64
    assert T.choose_rows(4096, 1 << 22, 1024, 4, 1, l2, l3) == 64
    assert T.choose_rows(4096, 1 << 22, 8192, 4, 1, l2, l3) == 16
    assert T.choose_rows(4096, 1 << 22, 8192, 4, 1, 4 * mib, l3) == 64
    assert T.choose_rows(4096, 1 << 22, 1 << 20, 4, 1, l2, l3) == 8
    # small n and explicit chunk sizes
    assert T.choose_rows(10, 1000, 16, 4, 1, l2, l3) == 10
    assert T.choose_rows(0, 1000, 16, 4, 1, l2, l3) == 1
    assert T.choose_rows(100, 1000, 16, 4, 1, l2, l3, chunk_size=7) == 7
    assert T.choose_rows(5, 1000, 16, 4, 1, l2, l3, chunk_size=7) == 5
    # pure: same answer twice, and never more memory than the budget above the floor
    for n in (1, 63, 64, 65, 1000, 4097):
        for v in (10, 4096, 131072, 1 << 21):
            r = T.choose_rows(n, v, 1024, 4, 1, l2, l3)
            assert r == T.choose_rows(n, v, 1024, 4, 1, l2, l3)
            assert 1 <= r <= n and (r * v * 4 <= T._BLOCK_BYTES or r <= 64)


def test_cache_sizes_from_sysfs_and_fallback(tmp_path):
    def index(name, level, kind, size):
        d = tmp_path / name
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")

    index("index0", 1, "Data", "32K")
    index("index1", 1, "Instruction", "32K")
    index("index2", 2, "Unified", "1024K")
    index("index3", 3, "Unified", "32768K")
    assert T.cache_sizes(str(tmp_path)) == (1 << 20, 32 << 20)
    assert T.cache_sizes(str(tmp_path / "missing")) == (T._L2_FALLBACK, T._L3_FALLBACK)
    (tmp_path / "index3" / "size").write_text("garbage\n")
    assert T.cache_sizes(str(tmp_path)) == (1 << 20, T._L3_FALLBACK)
    assert T._parse_size("2M") == 2 << 20 and T._parse_size("512") == 512


_FULLGRAPH_FIRST = """
import torch
import torch.nn.functional as F
from lossbridge.fused import linear_cross_entropy
torch.manual_seed(0)
h = torch.randn(12, 6, requires_grad=True); W = torch.randn(9, 6, requires_grad=True)
y = torch.randint(0, 9, (12,)); y[::4] = -100
for kw in ({"label_smoothing": 0.1}, {"reduction": "none", "z_loss": 1e-3}):
    # The process's first call of the loss is the compiled one (nothing cached by an eager call).
    out = torch.compile(lambda h, W, y: linear_cross_entropy(h, W, y, **kw), fullgraph=True, backend="eager")(h, W, y)
    out.sum().backward()
    gh = h.grad; h.grad = None
    ref = F.cross_entropy(h @ W.T, y, label_smoothing=kw.get("label_smoothing", 0.0), reduction=kw.get("reduction", "mean"))
    if "z_loss" in kw:
        lse = torch.logsumexp(h @ W.T, 1)
        ref = ref + torch.where(y != -100, 1e-3 * lse * lse, 0.0)
    ref.sum().backward()
    torch.testing.assert_close(out, ref); torch.testing.assert_close(gh, h.grad)
    h.grad = None; W.grad = None
print("ok")
"""


def test_fullgraph_compile_as_the_first_call():
    """torch.compile(fullgraph=True) of the fused loss as a process's first call: the cache
    sizes the block chooser reads from /sys are a constant to dynamo (read once), not a graph
    break; values and gradients equal torch's."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FULLGRAPH_FIRST], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (done.stdout + done.stderr)[-3000:]
