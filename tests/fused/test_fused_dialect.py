"""The torch dialect (lossbridge.torch.functional.linear_cross_entropy, fused path) against torch 2.13's F.linear_cross_entropy."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbridge
from lossbridge.torch.functional import linear_cross_entropy as torch_linear_cross_entropy

from ._helpers import assert_close, grads

F64 = dict(rtol=1e-9, atol=1e-11)


@st.composite
def cases(draw):
    batched = draw(st.booleans())
    kdim = draw(st.sampled_from([(), (), (2,), (2, 3)])) if batched else ()
    return dict(
        n=draw(st.integers(0, 12)) if batched else None,
        d=draw(st.integers(1, 5)),
        c=draw(st.integers(1, 9)),
        kdim=kdim,
        bias=draw(st.booleans()),
        weight=draw(st.booleans()),
        reduction=draw(st.sampled_from(["mean", "sum", "none"])),
        ignore_index=draw(st.sampled_from([None, -100, 1])),
        label_smoothing=draw(st.sampled_from([0.0, 0.25, 1.0, -0.5])),
        prob=draw(st.booleans()),
        ignore_frac=draw(st.sampled_from([0.0, 0.4, 1.0])),
        options=draw(st.sampled_from([None, "default", 2])),
        seed=draw(st.integers(0, 2**16)),
    )


def build(c):
    g = torch.Generator().manual_seed(c["seed"])
    d, ncls, kdim = c["d"], c["c"], c["kdim"]
    lead = () if c["n"] is None else (c["n"],)
    x = torch.randn(*lead, d, generator=g, dtype=torch.float64).requires_grad_()
    lw = torch.randn(ncls, *kdim, d, generator=g, dtype=torch.float64).requires_grad_()
    lb = torch.randn(ncls, *kdim, generator=g, dtype=torch.float64).requires_grad_() if c["bias"] else None
    w = torch.rand(ncls, generator=g, dtype=torch.float64) + 0.1 if c["weight"] else None
    if c["prob"]:
        logits_shape = (*lead, ncls, *kdim)
        t = torch.softmax(torch.randn(logits_shape, generator=g, dtype=torch.float64), dim=1 if lead else 0)
        t.requires_grad_()  # torch differentiates probability targets (issue 17, class 5)
        ig = None
    else:
        t = torch.randint(0, ncls, (*lead, *kdim), generator=g)
        ig = c["ignore_index"]
        drop = torch.rand(t.shape, generator=g) < c["ignore_frac"]
        t = torch.where(drop, torch.full_like(t, -100 if ig is None else ig), t)
    return x, lw, lb, w, t, ig


def options_of(c):
    if c["options"] is None:
        return None
    if c["options"] == "default":
        return torch.nn.LinearCrossEntropyOptions()
    return torch.nn.LinearCrossEntropyOptions(batch_chunk_size=c["options"])


# cheap examples: 5x the profile's count (200 in CI; LOSSBRIDGE_EXAMPLES scales it)
@settings(derandomize=True, deadline=None, max_examples=5 * settings.default.max_examples)
@given(cases())
def test_matches_torch_reference_path(c):
    x, lw, lb, w, t, ig = build(c)
    kw = dict(linear_bias=lb, weight=w, reduction=c["reduction"], ignore_index=ig,
              label_smoothing=c["label_smoothing"])
    ref = F.linear_cross_entropy(x, lw, t, options=None, **kw)
    ours = torch_linear_cross_entropy(x, lw, t, options=options_of(c), **kw)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert_close(ours, ref, **F64)
    up = torch.randn(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(c["seed"]))
    if ref.dim() == 0 and math.isnan(float(ref.detach())):
        # every target ignored: NaN value; torch's gradients are zero, so are ours
        for a in grads(ours, [x, lw, lb], up):
            assert a is None or not bool(a.any())
        return
    wrt = [x, lw, lb] + ([t] if c["prob"] else [])
    for name, a, r in zip(("input", "linear_weight", "linear_bias", "target"), grads(ours, wrt, up),
                          grads(ref, wrt, up), strict=False):
        assert_close(a, r, what=name, **F64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dtype_of_result_and_gradients(dtype):
    torch.manual_seed(0)
    x = torch.randn(7, 8).to(dtype).requires_grad_()
    lw = torch.randn(20, 8).to(dtype).requires_grad_()
    t = torch.randint(0, 20, (7,))
    ref = F.linear_cross_entropy(x, lw, t)
    ours = torch_linear_cross_entropy(x, lw, t)
    assert ours.dtype == ref.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(ours.float(), ref.float(), **tol)
    ours.backward()
    assert x.grad.dtype == dtype and lw.grad.dtype == dtype


def test_uint8_target_and_unbatched_and_probabilities_with_float64_target():
    torch.manual_seed(1)
    x = torch.randn(4, 3)
    lw = torch.randn(5, 3)
    t = torch.tensor([0, 2, 1, 4])
    assert_close(torch_linear_cross_entropy(x, lw, t.to(torch.uint8)), F.linear_cross_entropy(x, lw, t),
                 rtol=1e-6, atol=1e-6)
    assert_close(torch_linear_cross_entropy(x[0], lw, t[0], reduction="none"),
                 F.linear_cross_entropy(x[0], lw, t[0], reduction="none"), rtol=1e-6, atol=1e-6)
    assert_close(torch_linear_cross_entropy(x[0], lw, t[:1]), F.linear_cross_entropy(x[0], lw, t[:1]),
                 rtol=1e-6, atol=1e-6)
    y = torch.softmax(torch.randn(4, 5, dtype=torch.float64), 1)
    ref = F.linear_cross_entropy(x, lw, y)
    ours = torch_linear_cross_entropy(x, lw, y)
    assert ours.dtype == ref.dtype == torch.float64
    assert_close(ours, ref, rtol=1e-6, atol=1e-6)


def _torch_error(fn):
    try:
        fn()
    except Exception as e:
        return e
    return None


T = torch.tensor


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((torch.randn(2, 3, 4), torch.randn(5, 4), T([[0, 1, 2]] * 2)), {}),
        ((torch.randn(4, 3), torch.randn(5), T([0, 1, 2, 3])), {}),
        ((torch.randn(4, 3), torch.randn(5, 2), T([0, 1, 2, 3])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(linear_bias=torch.zeros(4))),
        ((torch.randn(3), torch.randn(5, 2, 3), T([0, 1])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), torch.rand(4, 5)), dict(ignore_index=-100)),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(label_smoothing=1.5)),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3]).int()), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0.0, 1, 2, 3])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([[0], [1], [2], [3]])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 7])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, -3, 2, 1])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(reduction="bogus")),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(weight=torch.ones(5).double())),
        ((torch.randn(4, 3).double(), torch.randn(5, 3), T([0, 1, 2, 3])), {}),
        ((torch.randn(3), torch.randn(5, 3), T([0, 1, 2, 3])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), torch.zeros(4, 5, dtype=torch.long)), {}),
        ((torch.randn(4, 3), torch.randn(5, 2, 3), T([0, 1, 2, 3])), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(linear_bias=torch.zeros(5).double())),
        ((torch.randn(4, 3), torch.randn(5, 3).double(), T([0, 1, 2]).int()), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2]).int()), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2])), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 9])), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 9])), dict(weight=torch.ones(5).double())),
        ((torch.randn(4, 3), torch.randn(5, 3), T([[0], [1], [2], [3]])), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), torch.rand(4, 5)), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), torch.zeros(4, 5, dtype=torch.long)), dict(weight=torch.ones(4))),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2, 3])), dict(weight=torch.ones(4).double())),
        ((torch.randn(4, 3), torch.randn(5, 3), T([[0], [1], [2], [3]]).int()), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([0, 1, 2]).float()), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T(1)), {}),
        ((torch.randn(4, 3), torch.randn(5, 3), T([[0], [1], [2]])), {}),
        ((torch.randn(3), torch.randn(5, 3), T([0, 1, 2, 3]).int()), {}),
        ((torch.randn(4, 3), torch.randn(5, 2, 3), torch.zeros(4, 3, dtype=torch.int32)), {}),
        ((torch.randn(4, 3), torch.randn(5, 2, 3), torch.zeros(3, 2, dtype=torch.int32)), {}),
    ],
)
def test_errors_mirror_torch(args, kwargs):
    """Same built-in exception type as torch and torch's message first, as a lossbridge error."""
    expected = _torch_error(lambda: F.linear_cross_entropy(*args, **kwargs))
    assert expected is not None
    with pytest.raises(lossbridge.LossBridgeError) as info:
        torch_linear_cross_entropy(*args, **kwargs)
    err = info.value
    builtin = next(k for k in type(expected).__mro__ if k.__module__ == "builtins")
    assert isinstance(err, builtin), (type(err), type(expected))
    first = str(expected).split("\n")[0].rstrip(".")
    assert str(err).startswith(first), (str(err), first)


def test_options_are_accepted_and_never_change_the_value():
    torch.manual_seed(3)
    x = torch.randn(9, 4, dtype=torch.float64)
    lw = torch.randn(6, 4, dtype=torch.float64)
    t = torch.randint(0, 6, (9,))
    ref = F.linear_cross_entropy(x, lw, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for opts in (None, torch.nn.LinearCrossEntropyOptions(), torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2),
                     torch.nn.LinearCrossEntropyOptions(acc_policy="compact", allow_retain_graph=True)):
            assert_close(torch_linear_cross_entropy(x, lw, t, options=opts, label_smoothing=0.2),
                         F.linear_cross_entropy(x, lw, t, label_smoothing=0.2), **F64)
    assert_close(torch_linear_cross_entropy(x, lw, t), ref, **F64)
    with pytest.raises(lossbridge.LossBridgeTypeError, match="options"):
        torch_linear_cross_entropy(x, lw, t, options={"batch_chunk_size": 2})
    with pytest.raises(lossbridge.LossBridgeError, match="batch_chunk_size"):
        torch_linear_cross_entropy(x, lw, t, options=types.SimpleNamespace(batch_chunk_size=0))


def test_weight_requiring_grad_is_refused_like_torch():
    x = torch.randn(4, 3)
    lw = torch.randn(5, 3)
    t = torch.tensor([0, 2, 1, 4])
    w = torch.rand(5, requires_grad=True)
    with pytest.raises(RuntimeError):
        F.linear_cross_entropy(x, lw, t, weight=w)
    with pytest.raises(lossbridge.LossBridgeRuntimeError, match=r"class_weight.detach|weight"):
        torch_linear_cross_entropy(x, lw, t, weight=w)


# ----------------------------------------------------------- the fused path is taken


def _fused_node(loss, depth=0) -> bool:
    """True when the fused autograd Function is in the graph of ``loss``."""
    fn = loss.grad_fn if depth == 0 else loss
    if "LinearCrossEntropyFunction" in type(fn).__name__:
        return True
    return depth < 6 and any(_fused_node(f, depth + 1) for f, _ in fn.next_functions if f is not None)


@pytest.mark.parametrize("kdim", [(), (2,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_dialect_and_module_run_on_the_fused_function(kdim, reduction):
    """No (N, C) logits in the graph: the autograd node is the fused Function's."""
    torch.manual_seed(4)
    x = torch.randn(6, 5, requires_grad=True)
    lw = torch.randn(7, *kdim, 5, requires_grad=True)
    t = torch.randint(0, 7, (6, *kdim))
    loss = torch_linear_cross_entropy(x, lw, t, reduction=reduction)
    assert _fused_node(loss)
    module = lossbridge.torch.LinearCrossEntropyLoss(5, 7, out_features=kdim, bias=True, reduction=reduction)
    module.linear.weight = torch.nn.Parameter(lw.detach().reshape(-1, 5).clone())
    module.linear.bias = torch.nn.Parameter(torch.randn(7 * math.prod(kdim)))
    ours = module(x, t)
    assert _fused_node(ours)
    ref_module = torch.nn.LinearCrossEntropyLoss(5, 7, out_features=kdim, bias=True, reduction=reduction)
    with torch.no_grad():
        ref_module.linear.weight.copy_(module.linear.weight)
        ref_module.linear.bias.copy_(module.linear.bias)
    ref = ref_module(x, t)
    assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    up = torch.randn(ref.shape)
    ga = grads(ours, [x, module.linear.weight, module.linear.bias], up)
    gb = grads(ref, [x, ref_module.linear.weight, ref_module.linear.bias], up)
    for name, a, b in zip(("input", "weight", "bias"), ga, gb, strict=True):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


def test_torch_generic_backend_keeps_the_materialised_path():
    """With native kernels off (the torch-generic test backend) the generic code runs."""
    import lossbridge.ops

    x = torch.randn(4, 3, requires_grad=True)
    lw = torch.randn(5, 3)
    t = torch.tensor([0, 2, 1, 4])
    previous = lossbridge.ops._NATIVE
    lossbridge.ops._NATIVE = False
    try:
        loss = torch_linear_cross_entropy(x, lw, t)
    finally:
        lossbridge.ops._NATIVE = previous
    assert not _fused_node(loss)
    assert_close(loss, F.linear_cross_entropy(x, lw, t), rtol=1e-6, atol=1e-6)


def test_torch_dialect_inputs_unchanged_and_bfloat16_value_more_accurate_than_torch_chunked():
    torch.manual_seed(5)
    x = torch.randn(40, 16).bfloat16().requires_grad_()
    lw = (torch.randn(300, 16) * 0.5).bfloat16().requires_grad_()
    t = torch.randint(0, 300, (40,))
    t[::7] = -100
    copies = [a.detach().clone() for a in (x, lw, t)]
    ours = torch_linear_cross_entropy(x, lw, t, label_smoothing=0.1)
    ours.backward()
    for a, c in zip((x, lw, t), copies, strict=True):
        assert torch.equal(a.detach(), c)
    ref32 = F.linear_cross_entropy(x.detach().float(), lw.detach().float(), t, label_smoothing=0.1)
    assert ours.dtype == torch.bfloat16
    # one rounding of the float32-accurate value to bfloat16 (8 bits of mantissa)
    assert abs(float(ours.detach()) - float(ref32)) <= 2**-8 * abs(float(ref32))


# ------------------------------------------------------------------- JAX dialect

jax = pytest.importorskip("jax")
jnp = jax.numpy


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize(
    "kw",
    [
        dict(reduction="mean", weight=True, label_smoothing=0.2),
        dict(reduction="sum", kdim=(2,), bias=True),
        dict(reduction="none", kdim=(3,), ignore_index=1),
        dict(reduction="mean", kdim=(2,), weight=True, all_ignored=True),
        dict(reduction="mean", prob=True, label_smoothing=0.1),
        dict(reduction="none", unbatched=True, bias=True),
    ],
)
def test_jax_dialect_runs_fused_and_matches_torch(kw, jit):
    kw = dict(kw)
    g = torch.Generator().manual_seed(7)
    kdim = kw.pop("kdim", ())
    unbatched = kw.pop("unbatched", False)
    lead = () if unbatched else (9,)
    x = torch.randn(*lead, 4, generator=g, dtype=torch.float64)
    lw = torch.randn(6, *kdim, 4, generator=g, dtype=torch.float64)
    lb = torch.randn(6, *kdim, generator=g, dtype=torch.float64) if kw.pop("bias", False) else None
    w = torch.rand(6, generator=g, dtype=torch.float64) + 0.2 if kw.pop("weight", False) else None
    if kw.pop("prob", False):
        t = torch.softmax(torch.randn(*lead, 6, *kdim, generator=g, dtype=torch.float64), dim=-1)
    else:
        t = torch.randint(0, 6, (*lead, *kdim), generator=g)
        ig = kw.get("ignore_index", -100)
        if kw.pop("all_ignored", False):
            t = torch.full_like(t, ig)
        elif t.dim():
            t.view(-1)[::3] = ig
    xr, lwr = x.clone().requires_grad_(), lw.clone().requires_grad_()
    lbr = None if lb is None else lb.clone().requires_grad_()
    ref = F.linear_cross_entropy(xr, lwr, t, linear_bias=lbr, weight=w, **kw)
    up = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ref_g = grads(ref, [xr, lwr, lbr], up)
    with jax.enable_x64(True):
        J = lambda a: None if a is None else jnp.asarray(a.numpy())  # noqa: E731
        tj, wj, uj = J(t), J(w), J(up)
        LF = lossbridge.torch.functional

        def f(xa, lwa, lba):
            out = LF.linear_cross_entropy(xa, lwa, tj, linear_bias=lba, weight=wj, **kw)
            return jnp.sum(out * uj), out

        assert "custom_jvp" in str(jax.make_jaxpr(f)(J(x), J(lw), J(lb)))  # the fused path
        fn = jax.value_and_grad(f, argnums=(0, 1, 2), has_aux=True)
        if jit:
            fn = jax.jit(fn)
        (_, out), gs = fn(J(x), J(lw), J(lb))
        assert out.dtype == jnp.float64 and out.shape == tuple(ref.shape)
        np.testing.assert_allclose(np.asarray(out), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        for name, a, r in zip(("input", "linear_weight", "linear_bias"), gs, ref_g, strict=True):
            if r is None:
                assert a is None, name
                continue
            if math.isnan(float(ref.detach().sum())):
                assert not bool(jnp.any(a != 0)), name  # every target ignored: zero gradients
                continue
            np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_jax_labels_closed_over_by_jit_are_still_checked():
    """Concrete labels captured by a jitted function are read on the host, not traced."""
    LF = lossbridge.torch.functional
    W = jnp.ones((4, 3))
    bad = jnp.array([0, 7, 1])
    with pytest.raises(lossbridge.LossBridgeIndexError, match="Target 7 is out of bounds"):
        jax.jit(lambda x: LF.linear_cross_entropy(x, W, bad))(jnp.ones((3, 3)))
    with pytest.raises(lossbridge.LossBridgeIndexError, match="Target 7 is out of bounds"):
        jax.jit(lambda x: LF.cross_entropy(x, bad))(jnp.ones((3, 4)))
