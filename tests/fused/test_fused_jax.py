"""lossbridge.fused.linear_cross_entropy on JAX arrays against the torch float64 reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

jax = pytest.importorskip("jax")
jnp = jax.numpy

from lossbridge import LossBridgeError, LossBridgeIndexError  # noqa: E402
from lossbridge.fused import linear_cross_entropy  # noqa: E402

from ._helpers import grads, reference  # noqa: E402

CASES = [
    dict(reduction="mean"),
    dict(reduction="sum", chunk_size=4),
    dict(reduction="none", chunk_size=5),
    dict(reduction="mean", label_smoothing=0.2, class_weight=True, chunk_size=3),
    dict(reduction="none", softcap=2.0, z_loss=0.05, bias=True, chunk_size=64),
    dict(reduction="sum", num_items_in_batch=7.0, ignore_index=2),
    dict(reduction="mean", return_lse=True, bias=True, chunk_size=6),
    dict(reduction="none", label_smoothing=1.0, class_weight=True, return_lse=True),
    dict(reduction="mean", lead=(3, 5), chunk_size=4),
]


def _data(case, seed=0):
    rng = np.random.default_rng(seed)
    lead = case.get("lead", (13,))
    d, v = 6, 11
    h = rng.standard_normal((*lead, d)).astype(np.float32)
    W = rng.standard_normal((v, d)).astype(np.float32)
    b = rng.standard_normal(v).astype(np.float32) if case.get("bias") else None
    ig = case.get("ignore_index", -100)
    t = rng.integers(0, v, lead)
    t.reshape(-1)[::4] = ig
    cw = (rng.random(v) + 0.2).astype(np.float32) if case.get("class_weight") else None
    return h, W, b, t, cw


def _kw(case):
    kw = {k: case[k] for k in ("reduction", "label_smoothing", "z_loss", "softcap", "num_items_in_batch",
                                "return_lse", "chunk_size", "ignore_index") if k in case}
    return kw


# float32 against the float64 reference; float64 (x64 on) to rounding error.
TOL = {"float32": dict(value=2e-5, grad_rtol=1e-4, grad_atol=1e-5),
       "float64": dict(value=1e-10, grad_rtol=1e-9, grad_atol=1e-11)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_values_and_grad_match_torch_reference(case, jit, dtype):
    with jax.enable_x64(dtype == "float64"):
        _values_and_grads(case, jit, dtype)


def _values_and_grads(case, jit, dtype):
    tol = TOL[dtype]
    h, W, b, t, cw = (None if a is None else a.astype(dtype) if a.dtype.kind == "f" else a
                      for a in _data(case))
    kw = _kw(case)
    rl = case.get("return_lse", False)
    shape = t.shape
    rng = np.random.default_rng(1)
    up = rng.standard_normal(shape if case["reduction"] == "none" else ()).astype(dtype)
    up_lse = rng.standard_normal(shape).astype(dtype)

    def f(h_, W_, b_):
        out = linear_cross_entropy(h_, W_, jnp.asarray(t), b_,
                                   class_weight=None if cw is None else jnp.asarray(cw), **kw)
        if rl:
            return jnp.sum(out[0] * up) + jnp.sum(out[1] * up_lse), out
        return jnp.sum(out * up), out

    fn = jax.value_and_grad(f, argnums=(0, 1, 2), has_aux=True)
    if jit:
        fn = jax.jit(fn)
    (_, out), g = fn(jnp.asarray(h), jnp.asarray(W), None if b is None else jnp.asarray(b))

    th, tW = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (h, W))
    tb = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tkw = {k: v for k, v in kw.items() if k != "chunk_size"}
    ref = reference(th, tW, torch.tensor(t), tb,
                    class_weight=None if cw is None else torch.tensor(cw, dtype=torch.float64), **tkw)
    refs = ref if rl else (ref,)
    outs = out if rl else (out,)
    for o, r in zip(outs, refs, strict=True):
        assert o.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(np.asarray(o), r.detach().numpy(), rtol=tol["value"], atol=tol["value"])
    ups = [torch.tensor(up, dtype=torch.float64)] + ([torch.tensor(up_lse, dtype=torch.float64)] if rl else [])
    g_ref = grads(ref, [th, tW, tb], ups if rl else ups[0])
    for a, r in zip(g, g_ref, strict=True):
        if r is None:
            assert a is None
            continue
        assert a.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=tol["grad_rtol"], atol=tol["grad_atol"])


@pytest.mark.parametrize("case", CASES)
def test_forward_mode_and_hessian_match_torch_reference(case):
    """Forward mode (issue 17): jax.jvp of the fused loss (a custom_jvp) against torch.func.jvp
    of the float64 reference, and jax.hessian with respect to the input against torch's
    hessian of the reference (x64 on: to rounding error)."""
    with jax.enable_x64(True):
        h, W, b, t, cw = (None if a is None else a.astype("float64") if a.dtype.kind == "f" else a
                          for a in _data(case))
        kw = _kw(case)
        rl = case.get("return_lse", False)
        rng = np.random.default_rng(2)
        tan = [rng.standard_normal(x.shape) for x in (h, W) + (() if b is None else (b,))]
        tkw = {k: v for k, v in kw.items() if k != "chunk_size"}
        tcw = None if cw is None else torch.tensor(cw)

        def f(h_, W_, *b_):
            out = linear_cross_entropy(h_, W_, jnp.asarray(t), *b_,
                                       class_weight=None if cw is None else jnp.asarray(cw), **kw)
            return jnp.sum(out[0]) + jnp.sum(out[1]) if rl else jnp.sum(out)

        def g(h_, W_, *b_):
            out = reference(h_, W_, torch.tensor(t), *b_, class_weight=tcw, **tkw)
            return out[0].sum() + out[1].sum() if rl else out.sum()

        primals = [jnp.asarray(x) for x in (h, W) + (() if b is None else (b,))]
        val, dot = jax.jvp(f, primals, [jnp.asarray(x) for x in tan])
        tp = [torch.tensor(x) for x in (h, W) + (() if b is None else (b,))]
        rval, rdot = torch.func.jvp(g, tuple(tp), tuple(torch.tensor(x) for x in tan))
        np.testing.assert_allclose(float(val), float(rval), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(float(dot), float(rdot), rtol=1e-9, atol=1e-10)
        hess = jax.hessian(f)(*primals)
        rhess = torch.autograd.functional.hessian(lambda x: g(x, *tp[1:]), tp[0])
        np.testing.assert_allclose(np.asarray(hess), rhess.numpy(), rtol=1e-8, atol=1e-10)


def test_probability_targets_and_bfloat16():
    rng = np.random.default_rng(2)
    h = rng.standard_normal((9, 5)).astype(np.float32)
    W = rng.standard_normal((7, 5)).astype(np.float32)
    y = rng.random((9, 7)).astype(np.float32)
    y /= y.sum(1, keepdims=True)
    ours = linear_cross_entropy(jnp.asarray(h), jnp.asarray(W), jnp.asarray(y), label_smoothing=0.1, chunk_size=4)
    ref = reference(torch.tensor(h, dtype=torch.float64), torch.tensor(W, dtype=torch.float64),
                    torch.tensor(y, dtype=torch.float64), label_smoothing=0.1)
    np.testing.assert_allclose(float(ours), float(ref), rtol=1e-5)
    g = jax.grad(lambda x: linear_cross_entropy(x, jnp.asarray(W), jnp.asarray(y), chunk_size=4))(jnp.asarray(h))
    th = torch.tensor(h, dtype=torch.float64, requires_grad=True)
    reference(th, torch.tensor(W, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)).backward()
    np.testing.assert_allclose(np.asarray(g), th.grad.numpy(), rtol=1e-4, atol=1e-6)

    t = rng.integers(0, 7, 9)
    hb, Wb = jnp.asarray(h, jnp.bfloat16), jnp.asarray(W, jnp.bfloat16)
    out = linear_cross_entropy(hb, Wb, jnp.asarray(t))
    assert out.dtype == jnp.float32
    ref = torch.nn.functional.cross_entropy(
        torch.tensor(np.asarray(hb.astype(jnp.float32)), dtype=torch.float64)
        @ torch.tensor(np.asarray(Wb.astype(jnp.float32)), dtype=torch.float64).T, torch.tensor(t))
    np.testing.assert_allclose(float(out), float(ref), rtol=1e-5)
    gh = jax.grad(lambda x: linear_cross_entropy(x, Wb, jnp.asarray(t)))(hb)
    assert gh.dtype == jnp.bfloat16


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extras", [{}, {"label_smoothing": 0.2, "class_weight": True, "bias": True}])
def test_probability_targets_receive_torch_gradient(reduction, extras):
    """torch differentiates class-probability targets (dℓ/dy_c = (1-ε) w_c (lse - z_c));
    so does the fused JAX path, for every input at once (issue 17, class 5)."""
    rng = np.random.default_rng(5)
    h, W = rng.standard_normal((9, 5)), rng.standard_normal((7, 5))
    b = rng.standard_normal(7) if extras.get("bias") else None
    y = rng.random((9, 7))
    y /= y.sum(1, keepdims=True)
    cw = rng.random(7) + 0.2 if extras.get("class_weight") else None
    eps = extras.get("label_smoothing", 0.0)
    up = rng.standard_normal(() if reduction != "none" else (9,))
    with jax.enable_x64(True):
        def f(h_, W_, y_, b_):
            out = linear_cross_entropy(h_, W_, y_, b_, reduction=reduction, label_smoothing=eps,
                                       class_weight=None if cw is None else jnp.asarray(cw), chunk_size=4)
            return jnp.sum(out * up)

        g = jax.grad(f, argnums=(0, 1, 2, 3) if b is not None else (0, 1, 2))(
            *(jnp.asarray(a) for a in (h, W, y)), None if b is None else jnp.asarray(b))
    ts = [torch.tensor(a, requires_grad=True) for a in (h, W, y)] + (
        [torch.tensor(b, requires_grad=True)] if b is not None else [])
    ref = torch.nn.functional.linear_cross_entropy(
        ts[0], ts[1], ts[2], linear_bias=ts[3] if b is not None else None, reduction=reduction,
        label_smoothing=eps, weight=None if cw is None else torch.tensor(cw))
    g_ref = grads(ref, ts, torch.tensor(up))
    for name, a, r in zip(("input", "weight", "target", "bias"), g, g_ref, strict=False):
        np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_all_ignored_mean_is_nan_with_zero_gradients():
    h = jnp.ones((5, 3))
    W = jnp.arange(12.0).reshape(4, 3) / 10
    t = jnp.full((5,), -100)
    assert math.isnan(float(linear_cross_entropy(h, W, t)))
    g = jax.grad(lambda x, w: linear_cross_entropy(x, w, t), argnums=(0, 1))(h, W)
    assert not any(bool(jnp.any(x != 0)) for x in g)
    assert float(linear_cross_entropy(h, W, t, reduction="sum")) == 0.0


def test_out_of_range_targets():
    h = jnp.ones((3, 2))
    W = jnp.ones((4, 2))
    with pytest.raises(LossBridgeIndexError, match=r"class index 9 at position 1"):
        linear_cross_entropy(h, W, jnp.array([0, 9, 1]))
    # under jit the values cannot be checked: the bad token's loss is NaN, not a silent number
    out = jax.jit(lambda t: linear_cross_entropy(h, W, t, reduction="none"))(jnp.array([0, 9, 1]))
    assert math.isnan(float(out[1])) and not math.isnan(float(out[0]))


def test_errors_and_traced_num_items():
    h = jnp.ones((3, 2))
    W = jnp.ones((4, 2))
    t = jnp.array([0, 1, 2])
    with pytest.raises(LossBridgeError, match="reduction"):
        linear_cross_entropy(h, W, t, reduction="avg")
    with pytest.raises(LossBridgeError, match="last dimension"):
        linear_cross_entropy(h, jnp.ones((4, 3)), t)
    with pytest.raises(LossBridgeError, match="num_items_in_batch"):
        linear_cross_entropy(h, W, t, num_items_in_batch=jnp.array(0.0))
    f = jax.jit(lambda n: linear_cross_entropy(h, W, t, reduction="sum", num_items_in_batch=n))
    np.testing.assert_allclose(float(f(jnp.array(6.0))), 3 * math.log(4) / 6, rtol=1e-6)
    with pytest.raises(Exception, match=r"kind|torch"):
        linear_cross_entropy(h, torch.ones(4, 2), t)
