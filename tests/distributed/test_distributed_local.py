"""lossbridge.distributed in one process: sum_and_count against the frameworks' own means,
the split-batch identity, GradientAccumulator, the warnings and every error path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
import lossbridge.distributed as lbd
from lossbridge import LossBridgeError, LossBridgeTypeError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _data(n=9, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    y[[1, 4, 5]] = -100
    w = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
    return x, y, w


CALLS = [
    ("F.cross_entropy", lambda x, y, w: (F.cross_entropy, (x, y), {"weight": w, "label_smoothing": 0.1})),
    ("F.nll_loss", lambda x, y, w: (F.nll_loss, (x.log_softmax(1), y), {"weight": w})),
    ("nn.CrossEntropyLoss", lambda x, y, w: (torch.nn.CrossEntropyLoss(weight=w, ignore_index=-100), (x, y), {})),
    ("lb.torch.cross_entropy", lambda x, y, w: (lb.torch.functional.cross_entropy, (x, y), {"weight": w})),
    ("lb.torch.CrossEntropyLoss", lambda x, y, w: (lb.torch.CrossEntropyLoss(weight=w), (x, y), {})),
    ("F.mse_loss", lambda x, y, w: (F.mse_loss, (x, 0.5 * x.cos() + 1), {})),
    ("nn.SmoothL1Loss", lambda x, y, w: (torch.nn.SmoothL1Loss(beta=0.5), (x, 0.5 * x.cos() + 1), {})),
    ("lb.torch.L1Loss", lambda x, y, w: (lb.torch.L1Loss(), (x, 0.5 * x.cos() + 1), {})),
]


def _torch_mean(name, x, y, w):
    """The framework's own full-batch mean (torch's loss on torch tensors)."""
    fn, args, kw = dict(CALLS)[name](x, y, w)
    if name.startswith("lb.torch"):
        fn = {"lb.torch.cross_entropy": F.cross_entropy, "lb.torch.CrossEntropyLoss": torch.nn.CrossEntropyLoss(weight=w),
              "lb.torch.L1Loss": torch.nn.L1Loss()}[name]
    return fn(*args, **kw)


@pytest.mark.parametrize("name", [c[0] for c in CALLS])
def test_sum_over_count_is_torchs_mean_and_splits_add_up(name):
    x, y, w = _data()
    fn, args, kw = dict(CALLS)[name](x, y, w)
    num, den = lbd.sum_and_count(fn, *args, **kw)
    want = _torch_mean(name, x, y, w)
    torch.testing.assert_close(num / den, want, rtol=1e-12, atol=1e-12)
    # Two uneven pieces of the batch: (n1 + n2) / (d1 + d2) is the full-batch mean ...
    parts = [dict(CALLS)[name](x[s], y[s], w) for s in (slice(0, 2), slice(2, None))]
    sums = [lbd.sum_and_count(f, *a, **k) for f, a, k in parts]
    total = sum(s[0] for s in sums) / sum(s[1] for s in sums)
    torch.testing.assert_close(total, want, rtol=1e-12, atol=1e-12)
    # ... and the mean of the two means is not (for the losses with uneven denominators).
    if name.startswith(("F.cross", "F.nll", "nn.Cross", "lb.torch.c", "lb.torch.C")):
        means = [f(*a, **k) for f, a, k in parts]
        assert abs(float(sum(means) / 2 - want)) > 1e-3


def test_probability_targets_and_spatial_dims():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 2, 2, generator=g, dtype=torch.float64)
    p = torch.rand(3, 4, 2, 2, generator=g, dtype=torch.float64).softmax(1)
    num, den = lbd.sum_and_count(F.cross_entropy, x, p, weight=torch.rand(4, dtype=torch.float64))
    assert float(den) == 12.0
    y = torch.randint(0, 4, (3, 2, 2), generator=g)
    y[0] = -100
    num, den = lbd.sum_and_count(F.cross_entropy, x, y)
    assert float(den) == 8.0
    torch.testing.assert_close(num / den, F.cross_entropy(x, y))


def test_fused_loss_sum_and_count():
    from lossbridge.fused import linear_cross_entropy

    g = torch.Generator().manual_seed(2)
    h = torch.randn(7, 4, generator=g, dtype=torch.float64)
    W = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 5, -100, 2, 2, -100, 1])
    cw = torch.rand(6, generator=g, dtype=torch.float64)
    num, den = lbd.sum_and_count(linear_cross_entropy, h, W, y, class_weight=cw, label_smoothing=0.1)
    torch.testing.assert_close(num / den, F.cross_entropy(h @ W.T, y, weight=cw, label_smoothing=0.1))
    with pytest.raises(LossBridgeError, match="num_items_in_batch"):
        lbd.sum_and_count(linear_cross_entropy, h, W, y, num_items_in_batch=3)
    with pytest.raises(LossBridgeError, match="return_lse"):
        lbd.sum_and_count(linear_cross_entropy, h, W, y, return_lse=True)


def test_keras_sum_over_batch_size_over_the_global_batch(keras_oracles):
    """Two shards' (sum, count) give Keras' full-batch value (the real Keras computes it)."""
    r = np.random.default_rng(0)
    y = r.integers(0, 4, (6, 3))
    y[0, :2] = 3  # ignore_class=3: a mask
    logits = r.normal(size=(6, 3, 4)).astype("float32")
    sw = r.uniform(0.2, 2.0, (6, 3)).astype("float32")
    cases = [
        ("SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)", {}, None),
        ("SparseCategoricalCrossentropy(from_logits=True)", {}, sw),
        ("SparseCategoricalCrossentropy(from_logits=True, reduction='mean_with_sample_weight')", {}, sw),
    ]
    for ctor, _, weight in cases:
        loss = eval("lb.keras." + ctor)
        parts = []
        for s in (slice(0, 1), slice(1, None)):
            args = (y[s], logits[s]) if weight is None else (y[s], logits[s], weight[s])
            parts.append(lbd.sum_and_count(loss, *args))
        got = sum(float(p[0]) for p in parts) / sum(float(p[1]) for p in parts)
        for oracle in keras_oracles:
            code = ("loss = keras.losses." + ctor + "\n"
                    "result = float(loss(y, p) if w is None else loss(y, p, sample_weight=w))")
            want = oracle.exec(code, y=y, p=logits, w=weight)
            assert got == pytest.approx(want, rel=2e-6), (ctor, oracle.backend)


def _split_mean(loss, args, cut=2, **kw):
    """(sum of numerators) / (sum of denominators) over two uneven pieces of the batch."""
    parts = [lbd.sum_and_count(loss, *(a[s] for a in args), **kw) for s in (slice(0, cut), slice(cut, None))]
    return sum(float(p[0]) for p in parts) / sum(float(p[1]) for p in parts)


def test_tf_keras_auto_over_the_global_batch(tf_keras_oracle):
    """tf.keras 2's "auto" (sum over the number of elements, sample weights in the numerator)
    over the union of two shards equals real tf.keras on the full batch."""
    r = np.random.default_rng(4)
    y = r.integers(0, 4, (7, 3))
    logits = r.normal(size=(7, 3, 4)).astype("float32")
    sw = r.uniform(0.0, 2.0, (7, 3)).astype("float32")
    sw[0] = 0.0
    dense_t, dense_p = r.uniform(size=(7, 5)).astype("float32"), r.uniform(size=(7, 5)).astype("float32")
    cases = [
        ("SparseCategoricalCrossentropy(from_logits=True)", (y, logits), None),
        ("SparseCategoricalCrossentropy(from_logits=True)", (y, logits), sw),
        ("MeanSquaredError()", (dense_t, dense_p), sw[:, 0]),
        ("Huber(delta=0.3, reduction='sum_over_batch_size')", (dense_t, dense_p), None),
    ]
    for ctor, (a, b), weight in cases:
        loss = eval("lb.tf_keras." + ctor)
        args = (a, b) if weight is None else (a, b, weight)
        got = _split_mean(loss, args)
        want = tf_keras_oracle.exec(
            "loss = tf_keras.losses." + ctor + "\n"
            "result = float(loss(a, b) if w is None else loss(a, b, sample_weight=w))", a=a, b=b, w=weight)
        assert got == pytest.approx(want, rel=2e-6), ctor
        assert float(lbd.global_loss(loss, *args)) == pytest.approx(want, rel=2e-6), ctor


def test_tf_keras_mask_counts_the_unmasked_elements():
    # tf.keras rescales a mask by size / count under "auto": the denominator is the count.
    r = np.random.default_rng(5)
    y = torch.as_tensor(r.uniform(size=(6, 4)))
    p = torch.as_tensor(r.uniform(size=(6, 4)))
    mask = torch.as_tensor(r.uniform(size=6) < 0.6)
    mask[0], mask[5] = True, False
    p._keras_mask = mask
    loss = lb.tf_keras.MeanSquaredError()
    num, den = lbd.sum_and_count(loss, y, p)
    assert float(den) == float(mask.sum())
    torch.testing.assert_close(num / den, loss(y, p))
    torch.testing.assert_close(num / den, ((y - p) ** 2).mean(-1)[mask].mean())


def test_optax_and_theano_functions_are_means_over_elements():
    jnp = pytest.importorskip("jax.numpy")
    optax = pytest.importorskip("optax")
    r = np.random.default_rng(6)
    logits = jnp.asarray(r.normal(size=(7, 5)).astype("float32"))
    labels = jnp.asarray(r.integers(0, 5, 7))
    onehot = jnp.eye(5, dtype=logits.dtype)[labels]
    want = jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels))
    assert _split_mean(lb.optax.softmax_cross_entropy_with_integer_labels, (logits, labels), 3) == pytest.approx(
        float(want), rel=1e-6)
    want = jnp.mean(optax.losses.sigmoid_focal_loss(logits, onehot, gamma=1.5))
    assert _split_mean(lb.optax.sigmoid_focal_loss, (logits, onehot), 3, gamma=1.5) == pytest.approx(
        float(want), rel=1e-6)
    num, den = lbd.sum_and_count(lb.optax.squared_error, logits)  # element-wise: every element counts
    assert float(den) == 35.0
    probs = np.asarray(r.dirichlet(np.ones(5), 7))
    onehot_np = np.eye(5)[np.asarray(labels)]
    full = np.mean(lb.theano.categorical_crossentropy(probs, onehot_np))
    assert _split_mean(lb.theano.categorical_crossentropy, (probs, onehot_np), 3) == pytest.approx(full, rel=1e-12)
    bce = np.mean(lb.theano.binary_crossentropy(probs, onehot_np))
    num, den = lbd.sum_and_count(lb.theano.binary_crossentropy, probs, onehot_np)
    assert float(den) == 35.0 and float(num / den) == pytest.approx(bce, rel=1e-12)
    # Keras' loss functions are per-sample too.
    yk, pk = np.asarray(onehot), np.asarray(probs)
    keras_fn = float(np.mean(lb.keras.categorical_crossentropy(yk, pk)))
    assert _split_mean(lb.keras.categorical_crossentropy, (yk, pk), 3) == pytest.approx(keras_fn, rel=1e-12)


def test_losses_that_reduce_themselves_are_refused():
    jnp = pytest.importorskip("jax.numpy")
    emb = jnp.ones((4, 3))
    with pytest.raises(LossBridgeTypeError, match="ntxent") as e:
        lbd.sum_and_count(lb.optax.ntxent, emb, jnp.array([0, 0, 1, 1]))
    assert "values.sum()" in str(e.value)
    with pytest.raises(LossBridgeTypeError, match="returns labels"):
        lbd.sum_and_count(lb.optax.smooth_labels, emb, 0.1)
    with pytest.raises(LossBridgeTypeError, match="ctc_loss"):
        lbd.sum_and_count(lb.optax.ctc_loss_with_forward_probs, emb, emb, emb, emb)
    with pytest.raises(LossBridgeError, match="mean"):
        lbd.sum_and_count(lb.tf_keras.MeanSquaredError(reduction="sum"), np.ones(3), np.zeros(3))


def test_global_loss_is_the_loss_on_one_process():
    x, y, w = _data()
    torch.testing.assert_close(lbd.global_loss(F.cross_entropy, x, y, weight=w), F.cross_entropy(x, y, weight=w))
    loss = lb.keras.CategoricalCrossentropy(reduction="mean_with_sample_weight")
    p = x.softmax(1)
    t = F.one_hot(y.clamp(min=0), 5).double()
    sw = x[:, 0].abs()
    torch.testing.assert_close(lbd.global_loss(loss, t, p, sample_weight=sw), loss(t, p, sample_weight=sw))


def test_global_mean_single_process_and_zero_denominator():
    num = torch.tensor(6.0, requires_grad=True)
    out = lbd.global_mean(num * 1.0, torch.tensor(3.0))
    out.backward()
    assert float(out.detach()) == 2.0 and float(num.grad) == pytest.approx(1 / 3)
    num.grad = None
    out = lbd.global_mean(num * 1.0, torch.tensor(0.0))
    out.backward()
    assert torch.isnan(out) and float(num.grad) == 0.0
    with pytest.raises(LossBridgeError, match="not initialised"):
        lbd.global_mean(num, torch.tensor(1.0), group=object())
    assert float(lbd.global_mean(np.float64(6.0), 4)) == 1.5
    with pytest.raises(LossBridgeTypeError, match="axis_name"):
        lbd.global_mean(np.float64(6.0), 4, group=object())


def test_accumulator_exact_and_scale_mean():
    x, y, _ = _data(n=10)
    x.requires_grad_()
    pieces = (slice(0, 2), slice(2, 7), slice(7, 10))
    acc = lbd.GradientAccumulator([lbd.ce_denominator(y[s]) for s in pieces])
    with acc:
        for k, s in enumerate(pieces):
            if k == 1:  # a micro-batch loss that is already a mean
                acc.scale_mean(F.cross_entropy(x[s], y[s]), k).backward()
            else:
                acc.scale(*lbd.sum_and_count(F.cross_entropy, x[s], y[s])).backward()
    g = x.grad.clone()
    x.grad = None
    F.cross_entropy(x, y).backward()
    torch.testing.assert_close(g, x.grad)


def test_accumulator_warnings():
    x, y, _ = _data(n=10)
    dens = [lbd.ce_denominator(y[:5]), lbd.ce_denominator(y[5:])]
    acc = lbd.GradientAccumulator(dens)
    acc.scale(*lbd.sum_and_count(F.cross_entropy, x[:5], y[:5]))
    with pytest.warns(lbd.LossBridgeAccumulationWarning, match="1 went through") as rec:
        acc.finish()
    assert rec[0].filename == __file__  # points at the user's line
    with pytest.warns(lbd.LossBridgeAccumulationWarning, match="was declared"):
        acc.scale(torch.tensor(1.0), torch.tensor(99.0))
    with pytest.warns(lbd.LossBridgeAccumulationWarning, match="uneven denominators"):
        lbd.GradientAccumulator.check_means([3, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lbd.GradientAccumulator.check_means([4, 4.0])
    assert issubclass(lbd.LossBridgeAccumulationWarning, lb.LossBridgeWarning)


def test_accumulator_reads_nothing_on_accelerator_tensors(monkeypatch):
    """Tensor denominators stay on their device (float64): building the accumulator, scaling
    and the declared-vs-given comparison make no host read (the comparison's warning comes
    at a later lossbridge call); the accumulated gradient is the full-batch one."""
    from lossbridge import _deferred
    from lossbridge.fused import linear_cross_entropy
    from test_no_sync import CountHostReads

    monkeypatch.setattr(_deferred, "ACCELERATOR_DEVICE_TYPES", {"cpu"})
    _deferred._PENDING.clear()
    g = torch.Generator().manual_seed(9)
    h = torch.randn(12, 4, generator=g, dtype=torch.float64, requires_grad=True)
    W = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 7, (12,), generator=g)
    y[[0, 1, 2, 9]] = -100
    pieces = (slice(0, 3), slice(3, 11), slice(11, 12))
    with CountHostReads() as mode:
        acc = lbd.GradientAccumulator([lbd.ce_denominator(y[s], like=h) for s in pieces])
        for s in pieces:
            num, den = lbd.sum_and_count(linear_cross_entropy, h[s], W, y[s])
            acc.scale(num, den).backward()
        acc.finish()
    assert mode.reads == []
    got = h.grad.clone(), W.grad.clone()
    h.grad = W.grad = None
    F.cross_entropy(h @ W.T, y).backward()
    torch.testing.assert_close(got[0], h.grad)
    torch.testing.assert_close(got[1], W.grad)
    assert acc.total.dtype == torch.float64 and float(acc.total) == 8.0
    # A wrong denominator: no read now, the warning at the next flush (a later call).
    acc = lbd.GradientAccumulator([torch.tensor(3.0), torch.tensor(5.0)])
    with CountHostReads() as mode:
        acc.scale(torch.tensor(1.0), torch.tensor(4.0))
    assert mode.reads == []
    with pytest.warns(lbd.LossBridgeAccumulationWarning, match="micro-batch 0 has denominator 4 but 3"):
        lb.checks.flush()
    _deferred._PENDING.clear()


def test_errors():
    x, y, _ = _data()
    with pytest.raises(LossBridgeError, match="mean"):
        lbd.sum_and_count(F.cross_entropy, x, y, reduction="sum")
    with pytest.raises(LossBridgeError, match="mean"):
        lbd.sum_and_count(torch.nn.CrossEntropyLoss(reduction="none"), x, y)
    with pytest.raises(LossBridgeError, match="size_average"):
        lbd.sum_and_count(F.cross_entropy, x, y, size_average=True)
    with pytest.raises(LossBridgeTypeError, match="instance"):
        lbd.sum_and_count(torch.nn.CrossEntropyLoss, x, y)
    with pytest.raises(LossBridgeTypeError, match="does not know"):
        lbd.sum_and_count(lambda a, b: (a - b).sum(), x, x)
    with pytest.raises(LossBridgeTypeError, match="do not fit"):
        lbd.sum_and_count(F.cross_entropy, x)
    with pytest.raises(LossBridgeError, match="ctc_loss"):
        lbd.sum_and_count(F.ctc_loss, x, y, y, y)
    with pytest.raises(LossBridgeTypeError, match="input, target"):
        lbd.sum_and_count(torch.nn.CrossEntropyLoss(), x)
    with pytest.raises(LossBridgeError, match="num_classes"):
        lbd.ce_denominator(torch.rand(3, 4))
    with pytest.raises(LossBridgeError, match="at least one"):
        lbd.GradientAccumulator([])
    with pytest.raises(LossBridgeTypeError, match="0-d"):
        lbd.GradientAccumulator([object()])
    with pytest.raises(LossBridgeError, match="mean"):
        lbd.sum_and_count(lb.keras.MeanSquaredError(reduction="sum"), np.ones(3), np.zeros(3))


def test_vocab_parallel_single_process_and_errors():
    from lossbridge.fused import linear_cross_entropy

    g = torch.Generator().manual_seed(3)
    h = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    W = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 6, -100, 0, 3])
    a = lbd.vocab_parallel_linear_cross_entropy(h, W, y, z_loss=1e-3, softcap=4.0, label_smoothing=0.1)
    a.backward()
    gh, gw = h.grad.clone(), W.grad.clone()
    h.grad = W.grad = None
    b = linear_cross_entropy(h, W, y, z_loss=1e-3, softcap=4.0, label_smoothing=0.1)
    b.backward()
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(gh, h.grad)
    torch.testing.assert_close(gw, W.grad)
    vp = lbd.vocab_parallel_linear_cross_entropy
    # bfloat16: computed in float32 like the fused loss (same value and gradients)
    hb, Wb = h.detach().bfloat16().requires_grad_(), W.detach().bfloat16().requires_grad_()
    got = vp(hb, Wb, y, label_smoothing=0.1)
    got.backward()
    g1 = (hb.grad.clone(), Wb.grad.clone())
    hb.grad = Wb.grad = None
    want = linear_cross_entropy(hb, Wb, y, label_smoothing=0.1)
    want.backward()
    assert got.dtype == want.dtype == torch.float32 and hb.grad.dtype == torch.bfloat16
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g1[0], hb.grad)
    torch.testing.assert_close(g1[1], Wb.grad)
    # bfloat16 probability targets (one process: the shard is the whole head): the target's
    # gradient too, in its own dtype
    pb = torch.randn(5, 7, generator=g, dtype=torch.float64).softmax(-1).bfloat16().requires_grad_()
    hb.grad = Wb.grad = None
    got = vp(hb, Wb, pb, label_smoothing=0.1, z_loss=1e-3)
    got.backward()
    g1 = (hb.grad.clone(), Wb.grad.clone(), pb.grad.clone())
    hb.grad = Wb.grad = pb.grad = None
    want = linear_cross_entropy(hb, Wb, pb, label_smoothing=0.1, z_loss=1e-3)
    want.backward()
    assert got.dtype == want.dtype == torch.float32 and pb.grad.dtype == g1[2].dtype == torch.bfloat16
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for a, b in zip(g1, (hb.grad, Wb.grad, pb.grad), strict=True):
        torch.testing.assert_close(a, b)
    with pytest.raises(LossBridgeTypeError, match="axis_name"):
        vp(h, W, y, axis_name="v")
    # A probability target must be this rank's (N, V_r) columns: here V_r = 7 rows of W.
    for bad in ((5, 6), (5, 23), (4, 7)):
        with pytest.raises(LossBridgeError) as info:
            vp(h, W, torch.rand(*bad, dtype=torch.float64))
        msg = str(info.value)
        assert type(info.value) is LossBridgeError, type(info.value)
        assert "`target`" in msg and f"shape {bad}" in msg and "shape (5, 7)" in msg, msg
        assert "(7, 4)" in msg and "target[..., v0:v0 + V_r]" in msg, msg
    with pytest.raises(LossBridgeError, match="vocab_size"):
        vp(h, W, y, vocab_size=8)
    with pytest.raises(LossBridgeError, match="not initialised"):
        vp(h, W, y, group=object())
    with pytest.raises(lb.LossBridgeIndexError, match="class index 7"):
        vp(h, W, torch.tensor([1, 7, 0, 0, 0]))
    with pytest.raises(LossBridgeError, match="reduction"):
        vp(h, W, y, reduction="avg")
    with pytest.raises(LossBridgeError, match="num_items_in_batch"):
        vp(h, W, y, reduction="none", num_items_in_batch=3)
    with pytest.raises(LossBridgeTypeError, match="torch tensors or JAX"):
        vp(np.ones((5, 4)), np.ones((7, 4)), np.zeros(5, int))


def test_vocab_parallel_jax_errors():
    jnp = pytest.importorskip("jax.numpy")
    h, W, y = jnp.ones((3, 4)), jnp.ones((5, 4)), jnp.zeros(3, int)
    with pytest.raises(LossBridgeError, match="needs `axis_name`"):
        lbd.vocab_parallel_linear_cross_entropy(h, W, y)
    # Probability targets: this shard's (N, V_r) columns, V_r = 5 rows of W (checked before
    # any collective, so outside shard_map too).
    with pytest.raises(LossBridgeError) as info:
        lbd.vocab_parallel_linear_cross_entropy(h, W, jnp.ones((3, 20)) / 20, axis_name="v")
    msg = str(info.value)
    assert "`target`" in msg and "shape (3, 20)" in msg and "shape (3, 5)" in msg, msg
    assert "target[..., v0:v0 + V_r]" in msg, msg
