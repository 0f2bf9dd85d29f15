"""lossbridge.theano. Theano 1.0.5 cannot run on Python 3.11 with NumPy 2 (and
PyTensor removed these functions), so the oracles here are Theano's definitions
written as NumPy and torch expressions (theano/tensor/nnet/nnet.py), its verified
outputs, and hand-derived gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lossbridge as lb
from harness import strategies as S
from harness.backends import available_backends, require, to_numpy, value_and_grad
from harness.compare import assert_close, record

TH = lb.theano
BACKENDS = available_backends()


@given(seed=S.seeds, n=S.batch_sizes, c=S.class_counts, soft=st.booleans(), zeros=st.booleans())
@pytest.mark.parametrize("backend", BACKENDS)
def test_categorical_crossentropy_dense(backend, seed, n, c, soft, zeros):
    r = S.rng(seed)
    p = S.probabilities(r, (n, c), "edges" if zeros else "normalised")
    y = S.soft_targets(r, (n, c)) if soft else S.one_hot(r, r.integers(0, c, n), c)
    for dtype in ("float32", "float64"):
        value, grads = value_and_grad(TH.categorical_crossentropy, [p, y], backend,
                                      wrt=(0,) if backend != "numpy" else (), cotangent=seed, dtype=dtype)
        with np.errstate(all="ignore"):
            pp, yy = p.astype(dtype), y.astype(dtype)
            expected = -(yy * np.log(pp)).sum(-1)  # theano: -sum(true * log(coding), axis=-1)
            cot = np.random.default_rng(seed).uniform(-1.0, 2.0, size=(n,))
            grad = -(yy / pp) * cot[:, None]  # d/dp of -y log p, no clipping
        assert_close(value, expected, dtype, "theano categorical_crossentropy")
        if grads and grads[0] is not None:
            assert_close(grads[0], np.where(yy == 0, np.where(pp == 0, np.nan, 0.0), grad), dtype,
                         "theano categorical_crossentropy gradient", grad=True)
        record("theano.categorical_crossentropy (vs its definition)", backend, dtype)


@given(seed=S.seeds, n=S.batch_sizes, c=S.class_counts)
@pytest.mark.parametrize("backend", BACKENDS)
def test_categorical_crossentropy_integer_labels(backend, seed, n, c):
    r = S.rng(seed)
    p = S.probabilities(r, (n, c), "normalised")
    t = r.integers(-c, c, n)  # negative labels wrap, as NumPy indexing
    for dtype in ("float32", "float64"):
        value, grads = value_and_grad(TH.categorical_crossentropy, [p, t], backend,
                                      wrt=(0,) if backend != "numpy" else (), cotangent=seed, dtype=dtype)
        pp = p.astype(dtype)
        picked = pp[np.arange(n), t]
        assert_close(value, -np.log(picked), dtype, "theano 1-hot")
        if grads and grads[0] is not None:
            cot = np.random.default_rng(seed).uniform(-1.0, 2.0, size=(n,))
            g = np.zeros_like(pp)
            g[np.arange(n), t] = -cot / picked  # -1/p at the target entry only
            assert_close(grads[0], g, dtype, "theano 1-hot gradient", grad=True)
        record("theano.categorical_crossentropy (vs its definition)", backend, dtype)


@given(seed=S.seeds, n=S.batch_sizes)
@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_crossentropy(backend, seed, n):
    r = S.rng(seed)
    out = r.uniform(0.01, 0.99, size=(n, 3))
    tgt = r.uniform(size=(n, 3))
    for dtype in ("float32", "float64"):
        value, grads = value_and_grad(TH.binary_crossentropy, [out, tgt], backend,
                                      wrt=(0, 1) if backend != "numpy" else (), cotangent=seed, dtype=dtype)
        o, t = out.astype(dtype), tgt.astype(dtype)
        assert_close(value, -(t * np.log(o) + (1 - t) * np.log(1 - o)), dtype, "theano binary")
        if grads and grads[0] is not None:
            cot = np.random.default_rng(seed).uniform(-1.0, 2.0, size=(n, 3))
            assert_close(grads[0], cot * (o - t) / (o * (1 - o)), dtype, "d/d output", grad=True)
            assert_close(grads[1], cot * (np.log(1 - o) - np.log(o)), dtype, "d/d target", grad=True)
        record("theano.binary_crossentropy (vs its definition)", backend, dtype)


@pytest.mark.parametrize("backend", BACKENDS)
def test_verified_values_and_no_clipping(backend):
    from harness.backends import to_backend

    p = to_backend(np.array([[0.7, 0.3], [0.0, 1.0]]), backend, "float32")
    out = to_numpy(TH.categorical_crossentropy(p, to_backend(np.array([0, 0]), backend)))
    np.testing.assert_allclose(out, [0.35667494, np.inf], rtol=1e-6)  # Theano 1.0.5's output
    b = to_numpy(TH.binary_crossentropy(to_backend(np.array([0.0, 0.0, 1.0]), backend, "float64"),
                                        to_backend(np.array([1.0, 0.0, 1.0]), backend, "float64")))
    # p=0, t=1: inf; p=0, t=0 and p=1, t=1: 0 * log(0) is NaN, as in Theano (no clipping)
    assert b[0] == np.inf and np.isnan(b[1]) and np.isnan(b[2])


def test_matches_torch_expressions():
    """The same numbers as the torch expressions people port Theano code to."""
    require("torch")
    import torch

    r = np.random.default_rng(0)
    p = torch.tensor(S.probabilities(r, (4, 3), "normalised"), requires_grad=True)
    t = torch.tensor([0, 2, 1, -1])
    ours = TH.categorical_crossentropy(p, t)
    theirs = -torch.log(p[torch.arange(4), t])
    torch.testing.assert_close(ours, theirs)
    g1, = torch.autograd.grad(ours.sum(), p)
    g2, = torch.autograd.grad(theirs.sum(), p)
    torch.testing.assert_close(g1, g2)


def test_errors():
    p = np.array([[0.5, 0.5]])
    with pytest.raises(lb.LossBridgeIndexError, match="index 2 is out of bounds"):
        TH.categorical_crossentropy(p, np.array([2]))
    with pytest.raises(lb.LossBridgeIndexError, match="index -3 is out of bounds"):
        TH.categorical_crossentropy(p, np.array([-3]))
    with pytest.raises(lb.LossBridgeTypeError, match="rank mismatch between coding and true distributions"):
        TH.categorical_crossentropy(p, np.array(1))
    with pytest.raises(lb.LossBridgeTypeError, match="integer vector"):
        TH.crossentropy_categorical_1hot(p, np.array([0.0]))
    with pytest.raises(lb.LossBridgeTypeError, match=r"matrix of probabilities \(N, C\)"):
        TH.crossentropy_categorical_1hot(np.array([0.5, 0.5]), np.array(0))
    with pytest.raises(lb.LossBridgeError, match="give one label per row"):
        TH.crossentropy_categorical_1hot(p, np.array([0, 1]))
