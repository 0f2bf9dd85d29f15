"""lossbridge.fused.linear_cross_entropy on torch tensors against the unfused reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbridge.fused import linear_cross_entropy

from ._helpers import assert_close, grads, reference

F64 = dict(rtol=1e-9, atol=1e-11)


@st.composite
def cases(draw):
    shape_kind = draw(st.sampled_from(["flat", "2d", "token", "empty"]))
    if shape_kind == "flat":
        batch = (draw(st.integers(1, 40)),)
    elif shape_kind == "2d":
        batch = (draw(st.integers(1, 5)), draw(st.integers(1, 8)))
    elif shape_kind == "token":
        batch = ()
    else:
        batch = (0,)
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return dict(
        batch=batch,
        d=draw(st.integers(1, 6)),
        v=draw(st.integers(1, 25)),
        bias=draw(st.booleans()),
        class_weight=draw(st.booleans()),
        label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        z_loss=draw(st.sampled_from([0.0, 0.05])),
        softcap=draw(st.sampled_from([None, 0.7, 5.0])),
        reduction=reduction,
        ignore_frac=draw(st.sampled_from([0.0, 0.3, 1.0])),
        ignore_index=draw(st.sampled_from([-100, -1, 0])),
        chunk_size=draw(st.sampled_from([None, 1, 2, 3, 7, 64])),
        num_items=draw(st.sampled_from([None, 3.0, "tensor"])) if reduction != "none" else None,
        return_lse=draw(st.booleans()),
        scale=draw(st.sampled_from([1.0, 4.0])),
        offset=draw(st.sampled_from([0.0, 300.0])),
        seed=draw(st.integers(0, 2**16)),
    )


def make(c, dtype=torch.float64):
    g = torch.Generator().manual_seed(c["seed"])
    v, d, batch = c["v"], c["d"], c["batch"]
    h = (torch.randn(*batch, d, generator=g, dtype=torch.float64) * c["scale"]).to(dtype).requires_grad_()
    W = torch.randn(v, d, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    b = None
    if c["bias"] or c["offset"]:
        b = (torch.randn(v, generator=g, dtype=torch.float64) + c["offset"]).to(dtype).requires_grad_()
    t = torch.randint(0, v, batch, generator=g)
    drop = torch.rand(batch, generator=g) < c["ignore_frac"]
    t = torch.where(drop, torch.full_like(t, c["ignore_index"]), t)
    cw = torch.rand(v, generator=g, dtype=torch.float64).to(dtype) + 0.1 if c["class_weight"] else None
    return h, W, b, t, cw


def kwargs_of(c, dtype=torch.float64):
    n_items = c["num_items"]
    if n_items == "tensor":
        n_items = torch.tensor(5.0, dtype=dtype)
    return dict(
        ignore_index=c["ignore_index"], reduction=c["reduction"], label_smoothing=c["label_smoothing"],
        z_loss=c["z_loss"], softcap=c["softcap"], num_items_in_batch=n_items, return_lse=c["return_lse"],
    )


# cheap examples: 6x the profile's count (240 in CI; LOSSBRIDGE_EXAMPLES scales it)
@settings(derandomize=True, deadline=None, max_examples=6 * settings.default.max_examples)
@given(cases())
def test_values_and_gradients_match_reference_float64(c):
    h, W, b, t, cw = make(c)
    kw = kwargs_of(c)
    ours = linear_cross_entropy(h, W, t, b, class_weight=cw, chunk_size=c["chunk_size"], **kw)
    ref = reference(h, W, t, b, class_weight=cw, **kw)
    outs = ours if c["return_lse"] else (ours,)
    refs = ref if c["return_lse"] else (ref,)
    for o, r in zip(outs, refs, strict=True):
        assert o.dtype == torch.float64
        assert_close(o, r, what="value", **F64)
    g = torch.Generator().manual_seed(c["seed"] + 1)
    ups = [torch.randn(r.shape, generator=g, dtype=torch.float64) for r in refs]
    params = [h, W, b]
    all_ignored_mean = (
        c["reduction"] == "mean" and c["num_items"] is None and not bool((t != c["ignore_index"]).any())
    )
    if all_ignored_mean:
        # torch: NaN value and zero gradients (the reference's z-loss part would be 0/0),
        # so only the lse part of the gradient is compared with the reference.
        assert math.isnan(float(outs[0].detach()))
        g_zero = grads(outs[0], params, ups[0])
        for x in g_zero:
            assert x is None or not bool(x.any())
        if not c["return_lse"]:
            return
        ups[0] = torch.zeros_like(ups[0])
        ours = linear_cross_entropy(h, W, t, b, class_weight=cw, chunk_size=c["chunk_size"], **kw)
    g_ours = grads(ours, params, ups if c["return_lse"] else ups[0])
    g_ref = grads(ref, params, ups if c["return_lse"] else ups[0])
    for name, a, r in zip(("input", "weight", "bias"), g_ours, g_ref, strict=True):
        assert_close(a, r, what=f"grad {name}", **F64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n,chunk", [(12, 4), (13, 4), (3, 64), (64, 64), (65, 64), (1, 1)])
def test_chunk_sizes_dividing_and_not_dividing_n(reduction, n, chunk):
    c = dict(batch=(n,), d=5, v=11, bias=True, class_weight=True, label_smoothing=0.2, z_loss=0.01,
             softcap=None, reduction=reduction, ignore_frac=0.3, ignore_index=-100, chunk_size=chunk,
             num_items=None, return_lse=False, scale=1.0, offset=0.0, seed=n * 7 + chunk)
    h, W, b, t, cw = make(c)
    kw = kwargs_of(c)
    ours = linear_cross_entropy(h, W, t, b, class_weight=cw, chunk_size=chunk, **kw)
    ref = reference(h, W, t, b, class_weight=cw, **kw)
    assert_close(ours, ref, **F64)
    up = torch.randn(ref.shape, dtype=torch.float64)
    for a, r in zip(grads(ours, [h, W, b], up), grads(ref, [h, W, b], up), strict=True):
        assert_close(a, r, **F64)


def test_non_uniform_upstream_for_none_liger_968():
    """reduction='none' with a per-token upstream gradient: grad_weight and grad_bias must
    weight every token by its own upstream value (Liger #968 scaled by a scalar)."""
    torch.manual_seed(0)
    h = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(7, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 7, (9,))
    up = torch.tensor([0.0, 1.0, -2.0, 3.0, 0.5, 0.0, 10.0, -1.0, 2.0], dtype=torch.float64)
    ours = linear_cross_entropy(h, W, t, b, reduction="none", chunk_size=4)
    ref = F.cross_entropy(h @ W.T + b, t, reduction="none")
    for a, r in zip(grads(ours, [h, W, b], up), grads(ref, [h, W, b], up), strict=True):
        assert_close(a, r, **F64)


@pytest.mark.parametrize("z_loss", [0.0, 0.1])
def test_all_ignored(z_loss):
    h = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    W = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    t = torch.full((6,), -100)
    mean = linear_cross_entropy(h, W, t, b, z_loss=z_loss, chunk_size=4)
    assert math.isnan(float(mean.detach()))
    mean.backward()
    for x in (h, W, b):
        assert torch.equal(x.grad, torch.zeros_like(x))
    assert float(linear_cross_entropy(h, W, t, b, reduction="sum", z_loss=z_loss).detach()) == 0.0
    none = linear_cross_entropy(h, W, t, b, reduction="none", z_loss=z_loss)
    assert torch.equal(none, torch.zeros(6, dtype=torch.float64))
    ref = F.cross_entropy(h @ W.T + b, t)
    assert math.isnan(float(ref.detach()))


def test_empty_batch():
    h = torch.randn(0, 3, requires_grad=True)
    W = torch.randn(5, 3, requires_grad=True)
    t = torch.zeros(0, dtype=torch.long)
    mean = linear_cross_entropy(h, W, t)
    assert math.isnan(float(mean.detach()))
    mean.backward()
    assert W.grad is not None and not bool(W.grad.any())
    assert linear_cross_entropy(h, W, t, reduction="none").shape == (0,)
    assert float(linear_cross_entropy(h, W, t, reduction="sum").detach()) == 0.0


def test_class_probability_targets():
    torch.manual_seed(1)
    h = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(torch.randn(2, 5, 9, dtype=torch.float64), -1)
    cw = torch.rand(9, dtype=torch.float64)
    for red in ("mean", "sum", "none"):
        for eps in (0.0, 0.3):
            ours = linear_cross_entropy(h, W, y, reduction=red, label_smoothing=eps, class_weight=cw,
                                        z_loss=0.02, chunk_size=3)
            ref = reference(h, W, y, reduction=red, label_smoothing=eps, class_weight=cw, z_loss=0.02)
            assert_close(ours, ref, **F64)
            up = torch.randn(ref.shape, dtype=torch.float64)
            for a, r in zip(grads(ours, [h, W], up), grads(ref, [h, W], up), strict=True):
                assert_close(a, r, **F64)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_half_precision_against_float32_reference(dtype, reduction):
    """float16/bfloat16: the loss and lse are computed in float32 from the (exactly upcast)
    inputs, so the loss matches a float32 reference of the same inputs to 1e-5 relative;
    gradients are the float32 reference rounded once, so their error is within 2x the
    rounding error of the reference itself (plus a float32 accumulation-order allowance)."""
    torch.manual_seed(2)
    n, d, v = 50, 32, 300
    h = torch.randn(n, d).to(dtype).requires_grad_()
    W = (torch.randn(v, d) / d**0.5).to(dtype).requires_grad_()
    b = torch.randn(v).to(dtype).requires_grad_()
    t = torch.randint(0, v, (n,))
    t[::7] = -100
    ours, lse = linear_cross_entropy(h, W, t, b, reduction=reduction, chunk_size=16, return_lse=True)
    assert ours.dtype == torch.float32 and lse.dtype == torch.float32
    h32, W32, b32 = (x.detach().double().requires_grad_() for x in (h, W, b))
    ref = reference(h32, W32, t, b32, reduction=reduction)
    assert_close(ours, ref.float(), rtol=1e-5, atol=1e-6, what="loss")
    assert_close(lse, torch.logsumexp(h32 @ W32.T + b32, -1).float(), rtol=1e-6, atol=1e-6, what="lse")
    up = torch.randn(ref.shape, dtype=torch.float64)
    g_ours = grads(ours, [h, W, b], up.float())
    g_ref = grads(ref, [h32, W32, b32], up)
    for name, a, r in zip("hWb", g_ours, g_ref, strict=True):
        assert a.dtype == dtype
        rounding = (r.to(dtype).double() - r).norm()
        err = (a.double() - r).norm()
        assert err <= 2 * rounding + 1e-6 * r.norm(), (name, float(err), float(rounding))


def test_large_logit_offset_float32():
    """Relative logits keep the float32 loss accurate when every logit is ~1e4."""
    torch.manual_seed(3)
    h = torch.randn(40, 8)
    W = torch.randn(100, 8)
    b = torch.full((100,), 1e4)
    t = torch.randint(0, 100, (40,))
    ref = F.cross_entropy(h.double() @ W.double().T + b.double(), t)
    for chunk in (None, 7):
        ours = linear_cross_entropy(h, W, t, b, chunk_size=chunk, label_smoothing=0.1)
        ref_ls = F.cross_entropy(h.double() @ W.double().T + b.double(), t, label_smoothing=0.1)
        assert abs(float(ours) - float(ref_ls)) <= 1e-5 * float(ref_ls)
    hb, Wb = h.bfloat16(), W.bfloat16()
    ours_b = linear_cross_entropy(hb, Wb, t, b.bfloat16())
    ref_b = F.cross_entropy(hb.double() @ Wb.double().T + 1e4, t)
    assert abs(float(ours_b) - float(ref_b)) <= 1e-5 * float(ref_b)
    assert float(ref) > 0


def test_inputs_and_unrelated_grads_unchanged():
    """No in-place write into caller tensors, into tensors autograd saved for other nodes,
    or into the .grad of unrelated tensors (Liger #272, unsloth #5002)."""
    torch.manual_seed(4)
    x = torch.randn(20, 6, requires_grad=True)
    lin = torch.nn.Linear(6, 6)
    W = torch.randn(30, 6, requires_grad=True)
    b = torch.randn(30, requires_grad=True)
    cw = torch.rand(30)
    t = torch.randint(0, 30, (20,))
    t[3] = -100
    other = torch.randn(4, requires_grad=True)
    other.grad = torch.ones(4)
    snap = {k: v.detach().clone() for k, v in dict(x=x, W=W, b=b, cw=cw, t=t, other_grad=other.grad).items()}
    for reduction in ("mean", "none"):
        for dtype in (torch.float32, torch.bfloat16):
            x.grad = W.grad = b.grad = None
            h = torch.tanh(lin(x)).to(dtype)  # tanh saves its output h for its own backward
            extra = (h.float() ** 2).sum()  # another consumer of h that saves it
            loss = linear_cross_entropy(h, W.to(dtype), t, b.to(dtype), class_weight=cw,
                                        reduction=reduction, label_smoothing=0.1, chunk_size=7)
            (loss.sum() + extra).backward()
            h_ref = torch.tanh(lin(x)).to(dtype)
            assert torch.equal(h.detach(), h_ref.detach())
    for k, v in dict(x=x, W=W, b=b, cw=cw, t=t, other_grad=other.grad).items():
        assert torch.equal(v.detach(), snap[k]), k


def test_gradients_against_autograd_of_shared_graph():
    """The fused loss inside a bigger graph gives the same parameter gradients as the
    unfused one (the precomputed path and the recompute path)."""
    torch.manual_seed(5)
    lin = torch.nn.Linear(5, 5).double()
    head = torch.nn.Linear(5, 12).double()
    x = torch.randn(17, 5, dtype=torch.float64)
    t = torch.randint(0, 12, (17,))
    for reduction in ("mean", "none"):
        lin.zero_grad()
        head.zero_grad()
        h = torch.relu(lin(x))
        out = linear_cross_entropy(h, head.weight, t, head.bias, reduction=reduction, chunk_size=5)
        (out.sum() * 3.0).backward()
        ours = [p.grad.clone() for p in (*lin.parameters(), *head.parameters())]
        lin.zero_grad()
        head.zero_grad()
        ref = F.cross_entropy(head(torch.relu(lin(x))), t, reduction=reduction)
        (ref.sum() * 3.0).backward()
        for a, r in zip(ours, [p.grad for p in (*lin.parameters(), *head.parameters())], strict=True):
            assert_close(a, r, **F64)


@pytest.mark.parametrize(
    "kw",
    [
        dict(reduction="mean"),
        dict(reduction="none"),
        dict(reduction="sum", label_smoothing=0.3, z_loss=0.1, softcap=2.0),
        dict(reduction="mean", class_weight="w", ignore="yes"),
        dict(reduction="mean", return_lse=True),
    ],
)
def test_gradcheck_tiny_float64(kw):
    kw = dict(kw)
    torch.manual_seed(6)
    h = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    W = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, 3, 1, 2, 3])
    if kw.pop("ignore", None):
        t[1] = -100
    if kw.get("class_weight") == "w":
        kw["class_weight"] = torch.rand(4, dtype=torch.float64) + 0.5

    def f(h, W, b):
        out = linear_cross_entropy(h, W, t, b, chunk_size=2, **kw)
        return out

    # gradcheck calls backward several times on one graph: the first call uses the
    # gradients precomputed in forward, later ones recompute them, in another order of
    # float64 operations (hence a non-zero nondet_tol).
    assert torch.autograd.gradcheck(f, (h, W, b), nondet_tol=1e-12)


def test_retain_graph_second_backward_recomputes():
    torch.manual_seed(7)
    h = torch.randn(11, 4, requires_grad=True)
    W = torch.randn(9, 4, requires_grad=True)
    t = torch.randint(0, 9, (11,))
    loss = linear_cross_entropy(h, W, t, chunk_size=4)
    loss.backward(retain_graph=True)
    g1 = (h.grad.clone(), W.grad.clone())
    h.grad = W.grad = None
    loss.backward(torch.tensor(2.0))
    torch.testing.assert_close(h.grad, 2 * g1[0])
    torch.testing.assert_close(W.grad, 2 * g1[1])


def test_partial_requires_grad_and_no_grad():
    torch.manual_seed(8)
    h = torch.randn(10, 4, dtype=torch.float64)
    W = torch.randn(6, 4, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    t = torch.randint(0, 6, (10,))
    ref = F.cross_entropy(h @ W.T + b, t)
    for which in ("h", "W", "b"):
        hh, WW, bb = (x.clone().requires_grad_(name == which) for x, name in ((h, "h"), (W, "W"), (b, "b")))
        out = linear_cross_entropy(hh, WW, t, bb, chunk_size=3)
        out.backward()
        x = dict(h=hh, W=WW, b=bb)[which]
        r = x.detach().clone().requires_grad_()
        args = dict(h=hh.detach(), W=WW.detach(), b=bb.detach())
        args[which] = r
        F.cross_entropy(args["h"] @ args["W"].T + args["b"], t).backward()
        assert_close(x.grad, r.grad, **F64)
    with torch.no_grad():
        out = linear_cross_entropy(h.requires_grad_(), W, t, b)
    assert not out.requires_grad
    assert_close(out, ref, **F64)


def test_lse_gradient_and_return_shapes():
    torch.manual_seed(9)
    h = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 6, (2, 3))
    loss, lse = linear_cross_entropy(h, W, t, return_lse=True)
    assert loss.shape == () and lse.shape == (2, 3)
    (loss + (lse**2).mean()).backward()
    h2, W2 = h.detach().clone().requires_grad_(), W.detach().clone().requires_grad_()
    z = h2 @ W2.T
    (F.cross_entropy(z.reshape(-1, 6), t.reshape(-1)) + (torch.logsumexp(z, -1) ** 2).mean()).backward()
    assert_close(h.grad, h2.grad, **F64)
    assert_close(W.grad, W2.grad, **F64)


def test_num_items_in_batch():
    torch.manual_seed(10)
    h = torch.randn(8, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(5, 4, dtype=torch.float64)
    t = torch.tensor([0, 1, -100, 3, 4, -100, 1, 2])
    s = F.cross_entropy(h @ W.T, t, reduction="sum")
    for red in ("sum", "mean"):
        for n in (17, 17.0, torch.tensor(17), torch.tensor(17.0, dtype=torch.float64)):
            out = linear_cross_entropy(h, W, t, reduction=red, num_items_in_batch=n)
            assert_close(out, s / 17, **F64)
