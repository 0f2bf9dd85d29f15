"""The torch dialect (lossbridge.torch.functional.linear_cross_entropy, fused path) against torch 2.13's F.linear_cross_entropy."""

from __future__ import annotations

import math
import types
import warnings

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


@settings(derandomize=True, deadline=None, max_examples=200)
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
    for name, a, r in zip(("input", "linear_weight", "linear_bias"), grads(ours, [x, lw, lb], up),
                          grads(ref, [x, lw, lb], up), strict=True):
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
    except Exception as e:  # noqa: BLE001 - we compare with whatever torch raises
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
    with pytest.raises(lossbridge.LossBridgeRuntimeError, match="class_weight.detach|weight"):
        torch_linear_cross_entropy(x, lw, t, weight=w)
