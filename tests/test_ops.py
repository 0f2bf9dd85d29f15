"""lossbridge.ops: values at extreme inputs, gradients, and native == generic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbridge as lb
from harness.backends import available_backends, to_backend, to_numpy, value_and_grad
from harness.compare import assert_close
from lossbridge import ops

BACKENDS = available_backends()


def _generic(fn):
    """Run ``fn`` with the generic Array API path forced."""

    def run(*a, **k):
        previous, ops._NATIVE = ops._NATIVE, False
        try:
            return fn(*a, **k)
        finally:
            ops._NATIVE = previous

    return run


# reference values computed in Python floats with the stable textbook formulas
def _lse(row):
    m = max(row)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(v - m) for v in row))


def _log_sigmoid(v):
    return -math.log1p(math.exp(-v)) if v >= 0 else v - math.log1p(math.exp(v))


EXTREME = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0], [0.0, 1e-30, -1e4], [88.0, 89.0, 700.0]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_values(backend, native, dtype):
    from harness.backends import jax_context

    def run(fn, *args):
        f = fn if native else _generic(fn)
        with jax_context(dtype):
            return to_numpy(f(*[to_backend(a, backend, dtype) for a in args]))

    x = EXTREME.astype(dtype)
    lse = np.array([_lse(r) for r in x.astype(float)])
    assert_close(run(lambda a: ops.logsumexp(a, axis=-1), x), lse, dtype, "logsumexp")
    assert_close(run(lambda a: ops.logsumexp(a, axis=(0, 1)), x), _lse(x.astype(float).ravel()), dtype, "logsumexp all")
    ls = run(lambda a: ops.log_softmax(a, axis=-1), x)
    assert np.all(np.isfinite(ls)) and np.all(ls <= 0)
    assert_close(ls, x.astype(float) - lse[:, None], dtype, "log_softmax", scale=10)
    sm = run(lambda a: ops.softmax(a, axis=-1), x)
    assert_close(sm.sum(-1), np.ones(4), dtype, "softmax sums to 1")
    v = np.array([-800.0, -100.0, 0.0, 30.0, 800.0]).astype(dtype)
    assert_close(run(ops.log_sigmoid, v), [_log_sigmoid(float(t)) for t in v], dtype, "log_sigmoid")
    assert_close(run(ops.softplus, v), [-_log_sigmoid(-float(t)) for t in v], dtype, "softplus")
    assert_close(run(ops.sigmoid, v), [math.exp(_log_sigmoid(float(t))) for t in v], dtype, "sigmoid")
    # -inf rows and +inf entries
    inf = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 0.0]]).astype(dtype)
    assert_close(run(lambda a: ops.logsumexp(a, axis=-1), inf), [-np.inf, np.inf, 0.0], dtype, "logsumexp inf")
    assert_close(run(lambda a: ops.log_softmax(a, axis=-1), inf[2:]), [[-np.inf, 0.0]], dtype, "log_softmax -inf")


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
@pytest.mark.parametrize("native", [True, False])
def test_gradients_are_finite_and_correct_at_extremes(backend, native):
    x = np.array([[1e4, -1e4, 0.0], [-50.0, 3.0, 1e3]])

    def grad(fn, a):
        f = fn if native else _generic(fn)
        return value_and_grad(lambda t: f(t).sum(), [a], backend, wrt=(0,), cotangent=None, dtype="float64")[1][0]

    sm = np.exp(x - np.array([_lse(r) for r in x])[:, None])
    assert_close(grad(lambda t: ops.logsumexp(t, axis=-1), x), sm, "float64", "d logsumexp = softmax", grad=True)
    v = np.array([-800.0, 0.0, 800.0])
    sig = np.array([math.exp(_log_sigmoid(t)) for t in v])
    assert_close(grad(ops.softplus, v), sig, "float64", "d softplus = sigmoid", grad=True)
    assert_close(grad(ops.log_sigmoid, v), 1 - sig, "float64", "d log_sigmoid = sigmoid(-x)", grad=True)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_xlogy_gradient_is_finite_where_x_is_zero(backend):
    def f(x, y):
        return ops.xlogy(x, y).sum()

    value, (_gx, gy) = value_and_grad(
        f, [np.array([0.0, 0.0, 2.0]), np.array([0.0, 3.0, np.e])], backend, wrt=(0, 1), dtype="float64"
    )
    assert value == pytest.approx(2.0)
    assert np.all(np.isfinite(gy)) and gy[0] == 0 and gy[1] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_hot_take_along_axis_clip(backend):
    labels = to_backend(np.array([[2, 0], [1, 5]]), backend)
    oh = to_numpy(ops.one_hot(labels, 3))
    assert oh.shape == (2, 2, 3)
    assert oh[1, 1].tolist() == [0.0, 0.0, 0.0]  # out of range: all zeros
    assert to_numpy(ops.one_hot(labels, 3, axis=1)).shape == (2, 3, 2)
    x = to_backend(np.arange(6.0).reshape(2, 3), backend)
    idx = to_backend(np.array([[2], [0]]), backend)
    assert to_numpy(ops.take_along_axis(x, idx, axis=1)).tolist() == [[2.0], [3.0]]
    assert to_numpy(ops.clip(x, 1.0, 4.0)).tolist() == [[1.0, 1.0, 2.0], [3.0, 4.0, 4.0]]
    assert to_numpy(ops.stop_gradient(x)).tolist() == to_numpy(x).tolist()


@settings(max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), shape=st.sampled_from([(3,), (2, 3), (2, 3, 4)]), scale=st.sampled_from([1.0, 30.0, 1e3]))
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b in ("torch", "jax")])
def test_native_equals_generic(backend, seed, shape, scale):
    """The framework kernels ops uses on torch/JAX compute the generic formulas (values and VJPs)."""
    x = np.random.default_rng(seed).normal(size=shape) * scale
    axis = -1
    fns = {
        "logsumexp": lambda t: ops.logsumexp(t, axis=axis),
        "log_softmax": lambda t: ops.log_softmax(t, axis=axis),
        "softmax": lambda t: ops.softmax(t, axis=axis),
        "log_sigmoid": ops.log_sigmoid,
        "softplus": ops.softplus,
        "sigmoid": ops.sigmoid,
    }
    for name, fn in fns.items():
        for dtype in ("float32", "float64"):
            nv, (ng,) = value_and_grad(fn, [x], backend, wrt=(0,), cotangent=seed, dtype=dtype)
            gv, (gg,) = value_and_grad(_generic(fn), [x], backend, wrt=(0,), cotangent=seed, dtype=dtype)
            assert_close(gv, nv, dtype, f"{name} {dtype} value", scale=4)
            assert_close(gg, ng, dtype, f"{name} {dtype} gradient", grad=True, scale=4)


def test_namespace_lookup():
    assert ops.namespace(np.ones(2)).__name__ == "array_api_compat.numpy"
    assert ops.namespace([1.0], 2.0).__name__ == "array_api_compat.numpy"
    with pytest.raises(lb.LossBridgeTypeError):
        pytest.importorskip("torch")
        import torch

        ops.namespace(np.ones(2), torch.ones(2))


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
@pytest.mark.parametrize("native", [True, False])
def test_more_gradients_at_extremes(backend, native):
    """log_softmax, softmax, sigmoid, xlogy, clip and take_along_axis: finite, exact VJPs at
    extreme inputs (float64), on the native kernels and the generic path."""

    def vjp(fn, args, wrt=(0,), cot=None):
        f = fn if native else _generic(fn)
        return value_and_grad(f, args, backend, wrt=wrt, cotangent=cot, dtype="float64")

    x = np.array([[1e4, -1e4, 0.0], [-50.0, 3.0, 1e3], [-np.inf, 0.0, 1.0]])
    sm = np.exp(x - np.array([_lse(r) for r in x])[:, None])
    cot = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0], [2.0, 1.0, -1.0]])
    _, (g,) = vjp(lambda t: ops.log_softmax(t, axis=-1), [x], cot=cot)
    assert_close(g, cot - sm * cot.sum(-1, keepdims=True), "float64", "d log_softmax", grad=True)
    _, (g,) = vjp(lambda t: ops.softmax(t, axis=-1), [x], cot=cot)
    assert_close(g, sm * (cot - (cot * sm).sum(-1, keepdims=True)), "float64", "d softmax", grad=True)
    v = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    s = np.array([math.exp(_log_sigmoid(t)) for t in v])
    _, (g,) = vjp(lambda t: ops.sigmoid(t).sum(), [v])
    assert_close(g, s * (1 - s), "float64", "d sigmoid", grad=True)
    # xlogy: tiny and huge y, x = 0 with y = 0
    xs, ys = np.array([0.0, 1e-30, 2.0, 3.0]), np.array([0.0, 1e-300, 1e300, 1.0])
    value, (gx, gy) = vjp(lambda a, b: ops.xlogy(a, b), [xs, ys], wrt=(0, 1), cot=np.ones(4))
    assert_close(value, [0.0, 1e-30 * math.log(1e-300), 2.0 * math.log(1e300), 0.0], "float64", "xlogy")
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    assert_close(gx[1:], np.log(ys[1:]), "float64", "d xlogy / dx", grad=True)
    assert_close(gy[1:], xs[1:] / ys[1:], "float64", "d xlogy / dy", grad=True)
    # clip passes the gradient inside [min, max] only
    c = np.array([-1e30, -1.0, 0.5, 2.0, 1e30])
    value, (g,) = vjp(lambda t: ops.clip(t, 0.0, 1.0), [c], cot=np.ones(5))
    assert value.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert g.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    # take_along_axis scatters the upstream gradient back
    idx = np.array([[2], [0], [1]])
    _, (g,) = vjp(lambda t, i: ops.take_along_axis(t, i, axis=1), [x, idx], cot=np.array([[1.0], [2.0], [3.0]]))
    assert g.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_public_and_documented(backend):
    """Every name of lossbridge.ops is exported, documented with an example, and keeps the
    array kind it is given."""
    for name in ops.__all__:
        fn = getattr(ops, name)
        assert fn.__doc__ and ">>>" in fn.__doc__, name
    assert lb.ops is ops
    x = to_backend(np.array([[0.5, -1.0, 2.0]]), backend, "float32")
    from lossbridge._backend import array_kind

    for out in (ops.logsumexp(x, axis=-1), ops.log_softmax(x), ops.softmax(x), ops.log_sigmoid(x),
                ops.softplus(x), ops.sigmoid(x), ops.xlogy(x, x * x), ops.clip(x, 0.0, 1.0),
                ops.stop_gradient(x)):
        assert array_kind(out) == backend
        assert to_numpy(out).dtype == np.float32
