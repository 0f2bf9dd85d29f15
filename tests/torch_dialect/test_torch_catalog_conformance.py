"""The rest of the torch loss catalog against the real torch 2.13, on NumPy, torch
(torch's kernels), torch-generic (lossbridge's generic code on torch tensors) and JAX.

Regression (Huber, SmoothL1), likelihoods (PoissonNLL, GaussianNLL, KLDiv), margins
(soft, multi-label soft, multi-class, multi-label, ranking, hinge and cosine
embedding), triplets (with torch's and named custom distances), pairwise_distance
and linear cross-entropy: values and gradients (random non-uniform upstream
gradient), float32 and float64, every reduction and option, the class and the
function.  Hypothesis draws the structure from small shape sets (JAX compiles per
shape) and a seed; NumPy draws the values.  CTC is in ``test_torch_ctc.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import strategies as S
from harness.conformance import check
from harness.oracle import OracleError, Spec


def examples(fraction: float) -> settings:
    """A share of the profile's ``max_examples`` (these tests run 4 backends x 2 dtypes each)."""
    return settings(max_examples=max(2, math.ceil(settings.default.max_examples * fraction)))


def _spec(name: str, cls: str, use_class: bool, config: dict, kwargs: dict | None = None) -> Spec:
    if use_class and not kwargs:
        return Spec("torch", cls, "class", config)
    return Spec("torch", name, "function", kwargs=config | (kwargs or {}))


reductions = S.TORCH_REDUCTIONS


def _ties(r: np.random.Generator, x: np.ndarray, value, share: float = 0.3) -> np.ndarray:
    """``x`` with about ``share`` of its entries replaced by ``value`` (ties at kinks)."""
    return np.where(r.uniform(size=x.shape) < share, value, x)


# ----------------------------------------------------------------- regression


@st.composite
def robust_case(draw, huber: bool):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    pair = draw(st.sampled_from(["same", "same", "same", "col_vs_flat", "scalar_target"]))
    xs, ts = {"same": ((n, 3), (n, 3)), "col_vs_flat": ((n, 1), (n,)), "scalar_target": ((n, 2), ())}[pair]
    x, t = r.normal(0, 2, size=xs), r.normal(0, 2, size=ts)
    k = draw(st.sampled_from([0.5, 1.0, 2.0] if huber else [0.0, 0.5, 1.0, 2.0]))
    if pair == "same" and draw(st.booleans()):  # plant |d| == k and d == 0 (the kinks)
        x = np.where(r.uniform(size=xs) < 0.4, t + r.choice([-k, k, 0.0], size=xs), x)
    config: dict = {"reduction": draw(reductions), ("delta" if huber else "beta"): k}
    kwargs: dict = {}
    if huber and draw(st.booleans()):
        kwargs["weight"] = r.uniform(0.0, 2.0, size=xs)
    return config, kwargs, x, t


@examples(0.5)
@given(case=robust_case(huber=True), use_class=st.booleans())
def test_huber_loss(case, use_class, torch_oracle, torch_backends):
    config, kwargs, x, t = case
    check(_spec("huber_loss", "HuberLoss", use_class, config, kwargs), [x, t], [torch_oracle],
          torch_backends, wrt=(0, 1))


@examples(0.5)
@given(case=robust_case(huber=False), use_class=st.booleans())
def test_smooth_l1_loss(case, use_class, torch_oracle, torch_backends):
    config, _, x, t = case
    check(_spec("smooth_l1_loss", "SmoothL1Loss", use_class, config), [x, t], [torch_oracle],
          torch_backends, wrt=(0, 1))


# ---------------------------------------------------------------- likelihoods


@st.composite
def poisson_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 3), (n,)]))
    log_input = draw(st.booleans())
    x = r.normal(0, 1.5, size=shape) if log_input else r.uniform(0, 4, size=shape)
    if not log_input and draw(st.booleans()):
        x = _ties(r, x, 0.0)  # log(0 + eps)
    y = r.poisson(2.0, size=shape).astype(float)
    if draw(st.booleans()):
        y = r.uniform(0, 5, size=shape)
    target = y if draw(st.integers(0, 3)) else y[..., :1]  # sometimes broadcast
    config = {"log_input": log_input, "full": draw(st.booleans()), "reduction": draw(reductions)}
    if draw(st.booleans()):
        config["eps"] = 1e-3
    return config, x, target


@examples(0.5)
@given(case=poisson_case(), use_class=st.booleans())
def test_poisson_nll_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    check(_spec("poisson_nll_loss", "PoissonNLLLoss", use_class, config), [x, y], [torch_oracle],
          torch_backends, wrt=(0, 1))


@st.composite
def gaussian_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 3), (n, 2, 3)]))
    x, y = r.normal(size=shape), r.normal(size=shape)
    layout = draw(st.sampled_from(["same", "same", "last_dropped", "one_dim", "float"]))
    if layout == "float":
        var = float(r.choice([0.0, 1e-8, 0.3, 2.0]))
    else:
        vshape = {"same": shape, "last_dropped": shape[:-1], "one_dim": (*shape[:-1], 1)}[layout]
        var = r.uniform(0.05, 3.0, size=vshape)
        if draw(st.booleans()):  # below eps: clamped in value, transparent in gradient
            var = _ties(r, var, r.choice([0.0, 1e-9]))
    config = {"full": draw(st.booleans()), "reduction": draw(reductions)}
    if draw(st.booleans()):
        config["eps"] = 1e-2
    return config, x, y, var


@examples(0.35)  # many shapes (JAX compiles each): fewer examples
@given(case=gaussian_case(), use_class=st.booleans())
def test_gaussian_nll_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y, var = case
    wrt = (0, 1) if isinstance(var, float) else (0, 1, 2)
    # var below eps has a gradient ~1/eps^2 next to O(1) entries: compare it relative to its size
    check(_spec("gaussian_nll_loss", "GaussianNLLLoss", use_class, config), [x, y, var],
          [torch_oracle], torch_backends, wrt=wrt)


@st.composite
def kl_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 3), (n, 2, 3), (3,)]))
    logits = r.normal(0, 2, size=shape)
    log_q = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    if draw(st.booleans()):
        log_q = r.normal(-1, 1, size=shape)  # not normalised: kl_div does not check
    p = S.soft_targets(r, shape)
    log_target = draw(st.booleans())
    if log_target:
        target = np.log(np.maximum(p, 1e-3))
    else:
        target = _ties(r, p, 0.0, 0.2) if draw(st.booleans()) else p  # 0 * log 0 = 0
    config = {"reduction": draw(st.sampled_from(["mean", "batchmean", "sum", "none"])),
              "log_target": log_target}
    return config, log_q, target


@examples(0.5)
@given(case=kl_case(), use_class=st.booleans())
def test_kl_div(case, use_class, torch_oracle, torch_backends):
    config, log_q, target = case
    check(_spec("kl_div", "KLDivLoss", use_class, config), [log_q, target], [torch_oracle],
          torch_backends, wrt=(0, 1))


# -------------------------------------------------------------------- margins


@st.composite
def soft_margin_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 3), (n,)]))
    x = r.normal(0, 3, size=shape)
    y = r.choice([1.0, -1.0], size=shape)
    if draw(st.booleans()):
        y = r.choice([1.0, -1.0, 0.0, 0.5], size=shape)  # not checked to be +-1
    if len(shape) == 2 and draw(st.booleans()):
        y = y[0]  # broadcast to input's shape
    return {"reduction": draw(reductions)}, x, y


@examples(0.5)
@given(case=soft_margin_case(), use_class=st.booleans())
def test_soft_margin_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    # torch's kernel has no gradient with respect to the target
    check(_spec("soft_margin_loss", "SoftMarginLoss", use_class, config), [x, y], [torch_oracle],
          torch_backends, wrt=(0,))


@st.composite
def multilabel_soft_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(S.class_counts)
    shape = draw(st.sampled_from([(n, c), (n, c), (c,), (n, 2, c)]))
    x = S.logits(r, shape, draw(st.sampled_from(["normal", "normal", "extreme"])))
    y = r.integers(0, 2, size=shape).astype(float)
    if draw(st.booleans()):
        y = r.uniform(size=shape)
    config: dict = {"reduction": draw(reductions)}
    if draw(st.booleans()):
        config["weight"] = r.uniform(0.1, 2.0, size=(c,))
    return config, x, y


@examples(0.35)  # many shapes (JAX compiles each): fewer examples
@given(case=multilabel_soft_case(), use_class=st.booleans())
def test_multilabel_soft_margin_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    check(_spec("multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss", use_class, config),
          [x, y], [torch_oracle], torch_backends, wrt=(0, 1))


@st.composite
def multi_margin_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(S.class_counts)
    unbatched = draw(st.integers(0, 4)) == 0
    x = r.normal(size=(c,) if unbatched else (n, c))
    t = r.integers(0, c, size=() if unbatched else (n,))
    margin = draw(st.sampled_from([1.0, 1.0, 0.5, 0.0, -0.5]))
    if draw(st.booleans()):  # plant z == 0: x[k] = x[y] - margin
        x2 = np.atleast_2d(x)
        t2 = np.atleast_1d(t)
        x_y = x2[np.arange(x2.shape[0]), t2][:, None]
        x2 = np.where(r.uniform(size=x2.shape) < 0.4, x_y - margin, x2)
        x2[np.arange(x2.shape[0]), t2] = x_y[:, 0]
        x = x2.reshape(x.shape)
    config: dict = {"p": draw(st.sampled_from([1, 2])), "margin": margin, "reduction": draw(reductions)}
    if draw(st.booleans()):
        config["weight"] = r.uniform(0.1, 3.0, size=(c,))
    return config, x, t


@examples(0.35)  # many shapes (JAX compiles each): fewer examples
@given(case=multi_margin_case(), use_class=st.booleans())
def test_multi_margin_loss(case, use_class, torch_oracle, torch_backends):
    config, x, t = case
    check(_spec("multi_margin_loss", "MultiMarginLoss", use_class, config), [x, t], [torch_oracle],
          torch_backends, wrt=(0,))


@st.composite
def multilabel_margin_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(S.class_counts)
    unbatched = draw(st.integers(0, 4)) == 0
    rows = 1 if unbatched else n
    y = np.empty((rows, c), dtype=np.int64)
    for i in range(rows):
        k = int(r.integers(0, c + 1))  # how many labels before the -1
        labels = r.choice(c, size=k, replace=draw(st.booleans()))  # duplicates count twice
        tail = r.integers(-1, c, size=c - k)  # after the first -1 anything in [-1, C) is ignored
        if c - k:
            tail[0] = -1
        y[i] = np.concatenate([labels, tail])
    x = r.normal(size=(rows, c))
    if draw(st.booleans()):  # plant 1 - (x[j] - x[k]) == 0
        x = np.where(r.uniform(size=x.shape) < 0.3, x[:, :1] - 1.0, x)
    if unbatched:
        x, y = x[0], y[0]
    return {"reduction": draw(reductions)}, x, y


@examples(0.35)  # many shapes (JAX compiles each): fewer examples
@given(case=multilabel_margin_case(), use_class=st.booleans())
def test_multilabel_margin_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    check(_spec("multilabel_margin_loss", "MultiLabelMarginLoss", use_class, config), [x, y],
          [torch_oracle], torch_backends, wrt=(0,))


@st.composite
def ranking_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n,), (n,), (n, 2)]))
    x1, x2 = r.normal(size=shape), r.normal(size=shape)
    y = r.choice([1.0, -1.0], size=shape)
    if draw(st.booleans()):
        y = r.choice([1.0, -1.0, 0.0], size=shape)
    margin = draw(st.sampled_from([0.0, 0.0, 0.5]))
    if draw(st.booleans()):  # plant -y (x1 - x2) + margin == 0
        x2 = np.where(r.uniform(size=shape) < 0.4, x1 - margin * y, x2)
    if draw(st.integers(0, 3)) == 0:
        y = y[..., :1]  # torch 2.13 broadcasts a target of one element (same number of dims)
    return {"margin": margin, "reduction": draw(reductions)}, x1, x2, y


@examples(0.5)
@given(case=ranking_case(), use_class=st.booleans())
def test_margin_ranking_loss(case, use_class, torch_oracle, torch_backends):
    config, x1, x2, y = case
    check(_spec("margin_ranking_loss", "MarginRankingLoss", use_class, config), [x1, x2, y],
          [torch_oracle], torch_backends, wrt=(0, 1, 2))


@st.composite
def hinge_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 3), (n,)]))
    margin = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]))
    x = np.abs(r.normal(0, 1.5, size=shape))
    if draw(st.booleans()):
        x = _ties(r, x, margin)  # margin - x == 0
    y = r.choice([1.0, -1.0], size=shape)
    if draw(st.booleans()):
        y = r.choice([1.0, -1.0, 0.0, 2.0], size=shape)  # both branches for other labels
    return {"margin": margin, "reduction": draw(reductions)}, x, y


@examples(0.5)
@given(case=hinge_case(), use_class=st.booleans())
def test_hinge_embedding_loss(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    check(_spec("hinge_embedding_loss", "HingeEmbeddingLoss", use_class, config), [x, y],
          [torch_oracle], torch_backends, wrt=(0,))


@st.composite
def cosine_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    unbatched = draw(st.integers(0, 4)) == 0
    shape = (4,) if unbatched else (n, 4)
    x1, x2 = r.normal(size=shape), r.normal(size=shape)
    if not unbatched and draw(st.booleans()):
        x1[0] = 0.0  # a zero vector: cos = 0 through the 1e-12 in each norm
    y = r.choice([1.0, -1.0], size=shape[:-1])
    if draw(st.booleans()):
        y = r.choice([1.0, -1.0, 0.0], size=shape[:-1])
    margin = draw(st.sampled_from([0.0, 0.0, 0.3, -0.2]))
    return {"margin": margin, "reduction": draw(reductions)}, x1, x2, y


@examples(0.5)
@given(case=cosine_case(), use_class=st.booleans())
def test_cosine_embedding_loss(case, use_class, torch_oracle, torch_backends):
    config, x1, x2, y = case
    # the gradient at a zero vector is about 1/sqrt(1e-12 * |x2|^2): relative comparison
    check(_spec("cosine_embedding_loss", "CosineEmbeddingLoss", use_class, config), [x1, x2, y],
          [torch_oracle], torch_backends, wrt=(0, 1))


# ------------------------------------------------------------------- triplets


@st.composite
def triplet_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n, 4), (n, 4), (4,)]))
    a, p, neg = r.normal(size=shape), r.normal(size=shape), r.normal(size=shape)
    if draw(st.booleans()):
        neg = a + 0.1 * r.normal(size=shape)  # hard negatives: the hinge is active
    config = {
        "margin": draw(st.sampled_from([1.0, 0.5, 2.0])),
        "swap": draw(st.booleans()),
        "reduction": draw(reductions),
    }
    return config, a, p, neg


@examples(0.5)
@given(case=triplet_case(), p=st.sampled_from([2.0, 2.0, 1.0, 3.0, 1.5, math.inf]),
       eps=st.sampled_from([1e-6, 1e-6, 0.0, 0.1]), use_class=st.booleans())
def test_triplet_margin_loss(case, p, eps, use_class, torch_oracle, torch_backends):
    config, a, pos, neg = case
    check(_spec("triplet_margin_loss", "TripletMarginLoss", use_class, config | {"p": p, "eps": eps}),
          [a, pos, neg], [torch_oracle], torch_backends, wrt=(0, 1, 2))


# A custom distance's gradient at a tie (|0| for "l1") is its framework's own (1 in JAX,
# 0 in torch): the random inputs have no ties, the edge cases avoid them.
@examples(0.4)
@given(case=triplet_case(), distance=st.sampled_from([None, None, "l1", "squared"]),
       use_class=st.booleans())
def test_triplet_margin_with_distance_loss(case, distance, use_class, torch_oracle, torch_backends):
    config, a, pos, neg = case
    if distance is None and not use_class:
        spec = Spec("torch", "triplet_margin_with_distance_loss", kwargs=config)
    elif distance is None:
        spec = Spec("torch", "TripletMarginWithDistanceLoss", "class", config)
    else:
        name = ("TripletMarginWithDistanceLoss" if use_class else "triplet_margin_with_distance_loss")
        spec = Spec("torch", f"{name}(named distance)", "wrapper", config | {"distance": distance})
    check(spec, [a, pos, neg], [torch_oracle], torch_backends, wrt=(0, 1, 2))


@examples(0.3)
@given(seed=S.seeds, shapes=st.sampled_from([((3, 4), (3, 4)), ((4,), (4,)), ((3, 4), (4,)), ((), ())]),
       p=st.sampled_from([2.0, 1.0, 3.0, 0.0, math.inf]), eps=st.sampled_from([1e-6, 0.0]),
       keepdim=st.booleans())
def test_pairwise_distance(seed, shapes, p, eps, keepdim, torch_oracle, torch_backends):
    r = S.rng(seed)
    x1, x2 = r.normal(size=shapes[0]), r.normal(size=shapes[1])
    x2 = np.where(r.uniform(size=x2.shape) < 0.3, x1 if x1.shape == x2.shape else x2, x2)  # zeros
    spec = Spec("torch", "pairwise_distance", kwargs={"p": p, "eps": eps, "keepdim": keepdim})
    check(spec, [x1, x2], [torch_oracle], torch_backends, wrt=(0, 1))


# ------------------------------------------------------- linear cross-entropy


@st.composite
def linear_ce_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(S.class_counts)
    f = 4
    layout = draw(st.sampled_from(["NC", "NC", "C", "NCd"]))
    x = r.normal(size=(f,) if layout == "C" else (n, f))
    w = r.normal(0, 0.7, size=(c, 2, f) if layout == "NCd" else (c, f))
    b = r.normal(size=w.shape[:-1]) if draw(st.booleans()) else None
    logits_shape = {"NC": (n, c), "C": (c,), "NCd": (n, c, 2)}[layout]
    tshape = {"NC": (n,), "C": (), "NCd": (n, 2)}[layout]
    config: dict = {"reduction": draw(reductions)}
    if draw(st.integers(0, 3)) == 0:
        target = S.soft_targets(r, logits_shape, axis=0 if layout == "C" else 1)
    else:
        target = r.integers(0, c, size=tshape)
        ignore = draw(st.sampled_from([None, None, "default", "explicit"]))
        if ignore == "default" and target.ndim:
            target = np.where(r.uniform(size=tshape) < 0.3, -100, target)
        elif ignore == "explicit":
            config["ignore_index"] = int(r.integers(0, c))
    if draw(st.booleans()):
        config["weight"] = r.uniform(0.1, 3.0, size=(c,))
    config["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]))
    return config, x, w, b, target


@examples(0.35)  # many shapes (JAX compiles each): fewer examples
@given(case=linear_ce_case(), use_class=st.booleans())
def test_linear_cross_entropy(case, use_class, torch_oracle, torch_backends):
    config, x, w, b, target = case
    if use_class:  # the module's linear parameters are arguments: (input, target, W, b)
        cfg = config | {"in_features": w.shape[-1], "num_classes": w.shape[0],
                        "out_features": w.shape[1:-1], "bias": b is not None}
        spec = Spec("torch", "LinearCrossEntropyLoss(parameters)", "wrapper", cfg)
        args = [x, target, w.reshape(-1, w.shape[-1]), None if b is None else b.reshape(-1)]
        check(spec, args, [torch_oracle], torch_backends, wrt=(0, 2) if b is None else (0, 2, 3))
        return
    kwargs = config if b is None else config | {"linear_bias": b}
    spec = Spec("torch", "linear_cross_entropy", kwargs=kwargs)
    check(spec, [x, w, target], [torch_oracle], torch_backends, wrt=(0, 1))


# ----------------------------------------------------------------- edge cases

X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
T = np.array([0, 2, 1, 2])
D = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.0, 2.0, 5.0])
INF = math.inf


def _f(name: str, args: list, wrt: tuple = (0,), **kwargs) -> tuple:
    return Spec("torch", name, kwargs=kwargs), args, wrt


def _c(name: str, args: list, wrt: tuple = (0,), **config) -> tuple:
    return Spec("torch", name, "class", config), args, wrt


EDGE_CASES = {
    # regression: the reference numbers of torch-losses.md, kinks, broadcasting, empty
    "huber vs smoothl1 reference d, delta 2": _f("huber_loss", [D, np.zeros(8)], (0, 1), reduction="none", delta=2.0),
    "smoothl1 reference d, beta 2": _f("smooth_l1_loss", [D, np.zeros(8)], (0, 1), reduction="none", beta=2.0),
    "huber |d| == delta exactly": _f("huber_loss", [np.array([-1.0, 1.0, 0.0]), np.zeros(3)], (0, 1), reduction="none"),
    "huber weighted mean is mean(w l), not / sum(w)": _f("huber_loss", [D, np.zeros(8)], (0,), weight=np.linspace(0, 2, 8)),
    "huber weighted, broadcast (N,1) vs (N,)": _f("huber_loss", [np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.5, 6.0])], (0, 1), weight=np.array([[1.0], [0.5], [2.0]])),
    "huber zero weights": _f("huber_loss", [D, np.zeros(8)], (0,), weight=np.zeros(8)),
    "smoothl1 beta 0 is l1 (grad 0 at d=0)": _f("smooth_l1_loss", [np.array([0.0, 1.0, -2.0]), np.zeros(3)], (0, 1), beta=0.0, reduction="none"),
    "smoothl1 empty mean is NaN": _f("smooth_l1_loss", [np.zeros((0,)), np.zeros((0,))]),
    "HuberLoss class, delta 0.5": _c("HuberLoss", [D, np.zeros(8)], (0,), delta=0.5, reduction="sum"),
    "SmoothL1Loss legacy size_average=False": _c("SmoothL1Loss", [D, np.zeros(8)], (0,), size_average=False),
    # Poisson / Gaussian
    "poisson reference": _f("poisson_nll_loss", [np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 3.0])], (0, 1), reduction="none"),
    "poisson full: Stirling only where y > 1, NaN target gradient at y <= 0": _f("poisson_nll_loss", [np.array([0.5, -1.0, 2.0, 0.3]), np.array([0.0, 1.0, 3.0, -1.0])], (0, 1), reduction="none", full=True),
    "poisson exp overflow to inf": _f("poisson_nll_loss", [np.array([100.0, 800.0]), np.array([1.0, 1.0])], (0,), reduction="none"),
    "poisson rate 0 and negative rate": _f("poisson_nll_loss", [np.array([0.0, -0.3, 2.0]), np.array([1.0, 1.0, 0.0])], (0, 1), reduction="none", log_input=False),
    "PoissonNLLLoss legacy reduce=False": _c("PoissonNLLLoss", [np.array([0.5, -1.0]), np.array([0.0, 2.0])], (0, 1), reduce=False),
    "gaussian reference (var 0 -> eps, gradient transparent)": _f("gaussian_nll_loss", [np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 3.0]]), np.array([[1.0, 2.0], [0.0, 4.0]])], (0, 1, 2), reduction="none"),
    "gaussian var of input.shape[:-1]": _f("gaussian_nll_loss", [X, X[::-1], np.array([0.5, 1.0, 2.0, 0.0])], (0, 1, 2), full=True),
    "gaussian var (1, C)": _f("gaussian_nll_loss", [X, X * 0, np.array([[0.5, 1.0, 2.0]])], (0, 1, 2), reduction="sum"),
    "gaussian var float": _f("gaussian_nll_loss", [X, X * 0, 0.25], (0, 1)),
    "gaussian var inf": _f("gaussian_nll_loss", [np.array([1.0, 2.0]), np.zeros(2), np.array([np.inf, 1.0])], (0, 1, 2), reduction="none"),
    "gaussian target broadcast": _f("gaussian_nll_loss", [X, np.array([0.0, 1.0, 2.0]), np.ones(4)], (0, 1, 2), reduction="none"),
    "GaussianNLLLoss full, eps 0.1": _c("GaussianNLLLoss", [X, X * 0, np.full((4, 3), 0.01)], (0, 1, 2), full=True, eps=0.1),
    # KL divergence
    "kl reference batchmean": _f("kl_div", [np.log(np.array([[0.25, 0.75], [0.5, 0.5]])), np.array([[0.5, 0.5], [0.9, 0.1]])], (0, 1), reduction="batchmean"),
    "kl y = 0 with x = -inf is NaN, y = 0 target gradient NaN": _f("kl_div", [np.array([-1.0, -INF, -2.0, -INF, -1.0]), np.array([0.5, 0.0, 0.0, 0.3, -0.1])], (0, 1), reduction="none"),
    "kl log_target with -inf": _f("kl_div", [np.array([-1.0, -INF, -2.0, 0.0]), np.array([-0.5, -INF, 0.0, -INF])], (0, 1), reduction="none", log_target=True),
    "kl batchmean of a 0-d input is the sum": _f("kl_div", [np.array(-1.0), np.array(0.5)], (0, 1), reduction="batchmean"),
    "kl batchmean of a 1-D input divides by C": _f("kl_div", [np.log(np.array([0.2, 0.3, 0.5])), np.array([0.1, 0.1, 0.8])], (0, 1), reduction="batchmean"),
    "kl legacy reduce=True with batchmean divides again by N": _f("kl_div", [np.full((2, 3), -1.0), np.full((2, 3), 0.5)], (0, 1), reduce=True, reduction="batchmean"),
    "kl broadcast (N,1) vs (N,)": _f("kl_div", [np.log(np.array([[0.2], [0.8]])), np.array([0.3, 0.7])], (0, 1), reduction="sum"),
    "kl empty batchmean is NaN": _f("kl_div", [np.zeros((0, 3)), np.zeros((0, 3))], (0,), reduction="batchmean"),
    "KLDivLoss default mean (warns)": _c("KLDivLoss", [np.log(np.array([[0.25, 0.75]])), np.array([[0.5, 0.5]])], (0, 1)),
    # margins
    "soft margin overflow: inf value, NaN gradient": _f("soft_margin_loss", [np.array([-100.0, -800.0, 3.0]), np.array([1.0, 1.0, -1.0])], (0,), reduction="none"),
    "soft margin target broadcast to input": _f("soft_margin_loss", [X, np.array([1.0, -1.0, 1.0])], (0,)),
    "multilabel soft margin 1-D input": _f("multilabel_soft_margin_loss", [X[0], np.array([1.0, 0.0, 1.0])], (0, 1), reduction="none"),
    "multilabel soft margin target broadcasts over input": _f("multilabel_soft_margin_loss", [np.array([[0.5], [-1.0]]), np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])], (0, 1), reduction="none"),
    "multilabel soft margin C = 0 is NaN": _f("multilabel_soft_margin_loss", [np.zeros((2, 0)), np.zeros((2, 0))], (0,), reduction="none"),
    "multilabel soft margin 3-D (class dim last)": _f("multilabel_soft_margin_loss", [np.arange(12.0).reshape(2, 2, 3) / 4 - 1, np.eye(3)[[0, 2, 1, 1]].reshape(2, 2, 3)], (0, 1), weight=np.array([1.0, 2.0, 0.5])),
    "multi margin ties (z == 0: no gradient)": _f("multi_margin_loss", [np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.5]]), np.array([0, 1])], (0,), reduction="none"),
    "multi margin reference": _f("multi_margin_loss", [np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])], (0,)),
    "multi margin 1-D input, 0-d target, none": _f("multi_margin_loss", [X[0], np.array(2)], (0,), reduction="none"),
    "multi margin 1-D input, (1,) target, none": _f("multi_margin_loss", [X[0], np.array([2])], (0,), reduction="none"),
    "multi margin 0-d input": _f("multi_margin_loss", [np.array(1.5), np.array(0)], (0,), reduction="none"),
    "multi margin weighted mean is not / sum(w)": _f("multi_margin_loss", [X, T], (0,), weight=np.array([1.0, 2.0, 3.0]), p=2),
    "multi margin empty batch, none": _f("multi_margin_loss", [np.zeros((0, 3)), np.zeros((0,), dtype=np.int64)], (0,), reduction="none"),
    "multilabel margin reference (list ends at -1)": _f("multilabel_margin_loss", [np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]])], (0,)),
    "multilabel margin duplicate label counts twice": _f("multilabel_margin_loss", [np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 3, -1, 1]])], (0,)),
    "multilabel margin all and none listed": _f("multilabel_margin_loss", [np.array([[0.1, 0.2, 0.4], [0.3, 0.1, 0.0]]), np.array([[2, 0, 1], [-1, 0, 2]])], (0,), reduction="none"),
    "multilabel margin 1-D and 0-d": _f("multilabel_margin_loss", [np.array([0.1, 0.2, 0.4, 0.8]), np.array([3, 0, -1, 1])], (0,), reduction="none"),
    "multilabel margin 0-d": _f("multilabel_margin_loss", [np.array(0.1), np.array(0)], (0,), reduction="none"),
    "margin ranking ties (gradient passes at 0)": _f("margin_ranking_loss", [np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0]), np.array([1.0, -1.0, 1.0])], (0, 1, 2), reduction="none"),
    "margin ranking 0-d": _f("margin_ranking_loss", [np.array(1.0), np.array(0.0), np.array(-1.0)], (0, 1, 2), margin=0.5),
    "margin ranking target (1,) broadcast": _f("margin_ranking_loss", [np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 0.0]), np.array([-1.0])], (0, 1, 2), reduction="none"),
    "hinge embedding y outside {1, -1} gets both terms": _f("hinge_embedding_loss", [np.array([0.7, 0.7, 1.0, 2.0, 0.3]), np.array([0.0, 1.0, -1.0, -1.0, 2.0])], (0,), reduction="none"),
    "hinge embedding broadcast": _f("hinge_embedding_loss", [np.array([[0.2], [1.5]]), np.array([1.0, -1.0, 0.0])], (0,), reduction="none"),
    "cosine reference, zero vector, y = 0": _f("cosine_embedding_loss", [np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 2.0]]), np.array([[1.0, 1.0], [-1.0, 2.0], [1.0, 1.0], [0.5, 0.5]]), np.array([1.0, -1.0, 1.0, 0.0])], (0, 1), reduction="none", margin=0.1),
    "cosine 1-D inputs, 0-d target": _f("cosine_embedding_loss", [np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]), np.array(-1.0)], (0, 1)),
    "cosine rows broadcast": _f("cosine_embedding_loss", [X, X[:1], np.array([1.0, -1.0, 1.0, -1.0])], (0, 1), reduction="none"),
    "cosine empty mean is NaN": _f("cosine_embedding_loss", [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0,))]),
    # triplets
    "triplet eps inside the difference: d(a, a) > 0": _f("triplet_margin_loss", [X, X, X + 0.5], (0, 1, 2), reduction="none"),
    "triplet swap with ties": _f("triplet_margin_loss", [X, X + 1.0, X + 1.0], (0, 1, 2), swap=True, reduction="none", eps=0.0),
    "triplet 3-D": _f("triplet_margin_loss", [np.zeros((2, 2, 3)), np.ones((2, 2, 3)), np.full((2, 2, 3), 0.5)], (0, 1, 2), reduction="none"),
    "triplet 0-d inputs": _f("triplet_margin_loss", [np.array(0.0), np.array(1.0), np.array(0.5)], (0, 1, 2)),
    "triplet p = 0 (count of non-zero entries)": _f("triplet_margin_loss", [X, X[::-1], X * 2], (0, 1, 2), p=0.0, reduction="none"),
    "triplet p = inf ties": _f("triplet_margin_loss", [np.array([[1.0, -1.0, 0.0]]), np.zeros((1, 3)), np.array([[0.0, 2.0, 0.0]])], (0, 1, 2), p=math.inf, eps=0.0, reduction="none"),
    "triplet broadcast rows": _f("triplet_margin_loss", [X, X[:1], X[::-1]], (0, 1, 2), reduction="none"),
    "TripletMarginWithDistanceLoss default = TripletMarginLoss": _c("TripletMarginWithDistanceLoss", [X, X[::-1], X * 2], (0, 1, 2), swap=True),
    "triplet with distance, l1": (Spec("torch", "triplet_margin_with_distance_loss(named distance)", "wrapper", {"distance": "l1", "margin": 0.5}), [X, X[::-1] + 0.1, X * 2 + 0.3], (0, 1, 2)),
    "pairwise distance 1-D vs 2-D": _f("pairwise_distance", [X[0], X], (0, 1)),
    "pairwise distance identical (norm eps * sqrt(D))": _f("pairwise_distance", [X, X], (0, 1), eps=0.0),
    # linear cross-entropy
    "linear ce all ignored (NaN, gradient 0)": _f("linear_cross_entropy", [X, np.eye(3) - 0.5, np.full(4, -100)], (0, 1)),
    "linear ce K-dim weight and bias": _f("linear_cross_entropy", [X, np.arange(24.0).reshape(2, 4, 3) / 10 - 1, np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 0]])], (0, 1), linear_bias=np.arange(8.0).reshape(2, 4) / 8),
    "linear ce probabilities": _f("linear_cross_entropy", [X, np.eye(3), np.full((4, 3), 1 / 3)], (0, 1), label_smoothing=0.2),
    "linear ce unbatched": _f("linear_cross_entropy", [X[0], np.eye(3)[::-1], np.array(2)], (0, 1), reduction="none"),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(name, torch_oracle, torch_backends):
    spec, args, wrt = EDGE_CASES[name]
    check(spec, args, [torch_oracle], torch_backends, wrt=wrt)


# ------------------------------------------------- errors: torch's exception type

ERROR_CASES = {
    "huber delta 0": _f("huber_loss", [D, D], delta=0.0)[:2],
    "huber weighted, delta -1": _f("huber_loss", [D, D], delta=-1.0, weight=np.ones(8))[:2],
    "huber weight of another size": _f("huber_loss", [D, D], weight=np.ones(1))[:2],
    "huber weighted elementwise_mean": _f("huber_loss", [D, D], weight=np.ones(8), reduction="elementwise_mean")[:2],
    "huber unknown reduction": _f("huber_loss", [D, D], reduction="avg")[:2],
    "huber integer input and target": _f("huber_loss", [np.arange(3), np.arange(3)])[:2],
    "huber integer input, float target": _f("huber_loss", [np.arange(3), np.ones(3)])[:2],
    "huber sizes that do not broadcast": _f("huber_loss", [np.ones(3), np.ones(4)])[:2],
    "smoothl1 negative beta": _f("smooth_l1_loss", [D, D], beta=-1.0)[:2],
    "smoothl1 integer input and target": _f("smooth_l1_loss", [np.arange(3), np.arange(3)])[:2],
    "smoothl1 beta 0, integer, mean": _f("smooth_l1_loss", [np.arange(3), np.arange(3)], beta=0.0)[:2],
    "poisson elementwise_mean": _f("poisson_nll_loss", [D, D], reduction="elementwise_mean")[:2],
    "poisson sizes that do not broadcast": _f("poisson_nll_loss", [np.ones(3), np.ones(4)])[:2],
    "gaussian negative var": _f("gaussian_nll_loss", [X, X, -np.ones((4, 3))])[:2],
    "gaussian negative float var": _f("gaussian_nll_loss", [X, X, -0.5])[:2],
    "gaussian int var": _f("gaussian_nll_loss", [X, X, 1])[:2],
    "gaussian var (1, 1)": _f("gaussian_nll_loss", [X, X, np.ones((1, 1))])[:2],
    "gaussian var (C,)": _f("gaussian_nll_loss", [X, X, np.ones(3)])[:2],
    "gaussian var 0-d": _f("gaussian_nll_loss", [X, X, np.array(1.0)])[:2],
    "gaussian var (N, C, 1)": _f("gaussian_nll_loss", [X, X, np.ones((4, 3, 1))])[:2],
    "gaussian elementwise_mean": _f("gaussian_nll_loss", [X, X, np.ones((4, 3))], reduction="elementwise_mean")[:2],
    "gaussian integer var array": _f("gaussian_nll_loss", [X, X, np.ones((4, 3), dtype=np.int64)])[:2],
    "kl integer target": _f("kl_div", [X, np.ones((4, 3), dtype=np.int64)], reduction="sum")[:2],
    "kl unknown reduction": _f("kl_div", [X, X], reduction="bogus")[:2],
    "soft margin target that widens the input": _f("soft_margin_loss", [np.zeros(3), np.ones((3, 1))])[:2],
    "soft margin integer input": _f("soft_margin_loss", [np.zeros(3, dtype=np.int64), np.ones(3)])[:2],
    "multilabel soft margin 0-d input": _f("multilabel_soft_margin_loss", [np.array(0.0), np.array(1.0)])[:2],
    "multilabel soft margin elementwise_mean": _f("multilabel_soft_margin_loss", [X, X], reduction="elementwise_mean")[:2],
    "multilabel soft margin weight of another size": _f("multilabel_soft_margin_loss", [X, X], weight=np.ones(4))[:2],
    "multilabel soft margin integer input": _f("multilabel_soft_margin_loss", [np.zeros((2, 3), dtype=np.int64), np.ones((2, 3))])[:2],
    "multi margin p = 3": _f("multi_margin_loss", [X, T], p=3)[:2],
    "multi margin 2-D weight": _f("multi_margin_loss", [X, T], weight=np.ones((1, 3)))[:2],
    "multi margin weight of another size": _f("multi_margin_loss", [X, T], weight=np.ones(4))[:2],
    "multi margin target out of range": _f("multi_margin_loss", [X, np.array([0, 3, 1, 2])])[:2],
    "multi margin negative target": _f("multi_margin_loss", [X, np.array([0, -1, 1, 2])])[:2],
    "multi margin target of another size": _f("multi_margin_loss", [X, T[:3]])[:2],
    "multi margin one-hot target": _f("multi_margin_loss", [X, np.eye(3, dtype=np.int64)[T]])[:2],
    "multi margin float target": _f("multi_margin_loss", [X, T.astype(float)])[:2],
    "multi margin 3-D input": _f("multi_margin_loss", [np.zeros((2, 3, 4)), np.zeros(2, dtype=np.int64)])[:2],
    "multi margin C = 0": _f("multi_margin_loss", [np.zeros((2, 0)), np.zeros(2, dtype=np.int64)])[:2],
    "multi margin integer input": _f("multi_margin_loss", [np.zeros((4, 3), dtype=np.int64), T])[:2],
    "multilabel margin label out of range": _f("multilabel_margin_loss", [X, np.array([[0, 3, -1], [0, -1, 0], [1, -1, 0], [2, -1, 0]])])[:2],
    "multilabel margin -2": _f("multilabel_margin_loss", [X, np.array([[0, -2, -1], [0, -1, 0], [1, -1, 0], [2, -1, 0]])])[:2],
    "multilabel margin out of range after -1": _f("multilabel_margin_loss", [X, np.array([[0, -1, 7], [0, -1, 0], [1, -1, 0], [2, -1, 0]])])[:2],
    "multilabel margin target of another shape": _f("multilabel_margin_loss", [X, np.zeros((4, 2), dtype=np.int64)])[:2],
    "multilabel margin float target": _f("multilabel_margin_loss", [X, np.zeros((4, 3))])[:2],
    "multilabel margin 3-D": _f("multilabel_margin_loss", [np.zeros((2, 3, 4)), np.zeros((2, 3, 4), dtype=np.int64)])[:2],
    "margin ranking different ranks": _f("margin_ranking_loss", [np.zeros(3), np.zeros(3), np.ones((3, 1))])[:2],
    "margin ranking sizes that do not broadcast": _f("margin_ranking_loss", [np.zeros(3), np.zeros(4), np.ones(3)])[:2],
    "hinge embedding sizes that do not broadcast": _f("hinge_embedding_loss", [np.zeros(3), np.ones(4)])[:2],
    "cosine 3-D inputs": _f("cosine_embedding_loss", [np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.ones(2)])[:2],
    "cosine 2-D target": _f("cosine_embedding_loss", [np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 1))])[:2],
    "cosine 0-d target, 2-D inputs": _f("cosine_embedding_loss", [np.zeros((2, 3)), np.zeros((2, 3)), np.array(1.0)])[:2],
    "cosine batch mismatch": _f("cosine_embedding_loss", [np.ones((2, 3)), np.ones((2, 3)), np.ones(3)])[:2],
    "cosine D mismatch": _f("cosine_embedding_loss", [np.ones((2, 3)), np.ones((2, 4)), np.ones(2)])[:2],
    "triplet margin 0": _f("triplet_margin_loss", [X, X, X], margin=0.0)[:2],
    "triplet different ranks": _f("triplet_margin_loss", [X, X, X[0]])[:2],
    "triplet with distance margin -1": _f("triplet_margin_with_distance_loss", [X, X, X], margin=-1.0)[:2],
    "triplet with distance elementwise_mean": _f("triplet_margin_with_distance_loss", [X, X, X], reduction="elementwise_mean")[:2],
    "triplet with distance different ranks": _f("triplet_margin_with_distance_loss", [X, X, X[0]])[:2],
    "TripletMarginLoss margin 0": _c("TripletMarginLoss", [X, X, X], margin=0.0)[:2],
    "TripletMarginWithDistanceLoss margin 0": _c("TripletMarginWithDistanceLoss", [X, X, X], margin=0.0)[:2],
    "MultiMarginLoss p = 3": _c("MultiMarginLoss", [X, T], p=3)[:2],
    "MultiMarginLoss 2-D weight": _c("MultiMarginLoss", [X, T], weight=np.ones((1, 3)))[:2],
    "HuberLoss string delta": _c("HuberLoss", [D, D], delta="2")[:2],
    "LinearCrossEntropyLoss weight of another shape": (Spec("torch", "LinearCrossEntropyLoss(parameters)", "wrapper", {"in_features": 3, "num_classes": 3, "weight": np.ones(4)}), [X, T, np.eye(3)]),
    "LinearCrossEntropyLoss negative label smoothing": (Spec("torch", "LinearCrossEntropyLoss(parameters)", "wrapper", {"in_features": 3, "num_classes": 3, "label_smoothing": -0.1}), [X, T, np.eye(3)]),
    "linear ce 3-D input": _f("linear_cross_entropy", [X[None], np.eye(3), T])[:2],
    "linear ce 1-D weight": _f("linear_cross_entropy", [X, np.ones(3), T])[:2],
    "linear ce in_features mismatch": _f("linear_cross_entropy", [X, np.ones((3, 2)), T])[:2],
    "linear ce bias shape": _f("linear_cross_entropy", [X, np.eye(3), T], linear_bias=np.ones(2))[:2],
    "linear ce K-dim unbatched": _f("linear_cross_entropy", [X[0], np.ones((3, 2, 3)), np.array(0)])[:2],
    "linear ce ignore_index with probabilities": _f("linear_cross_entropy", [X, np.eye(3), np.full((4, 3), 1 / 3)], ignore_index=-100)[:2],
    "linear ce label_smoothing > 1": _f("linear_cross_entropy", [X, np.eye(3), T], label_smoothing=1.5)[:2],
    "linear ce target out of range": _f("linear_cross_entropy", [X, np.eye(3), np.array([0, 3, 1, 2])])[:2],
    "linear ce float (N,) target": _f("linear_cross_entropy", [X, np.eye(3), T.astype(float)])[:2],
    "linear ce unknown reduction": _f("linear_cross_entropy", [X, np.eye(3), T], reduction="avg")[:2],
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_have_torch_types(name, torch_oracle, torch_backends):
    spec, args = ERROR_CASES[name]
    with pytest.raises(OracleError), warnings.catch_warnings():  # an error in torch itself
        warnings.simplefilter("ignore")
        torch_oracle.run(spec, args, "float32")
    check(spec, args, [torch_oracle], torch_backends, dtypes=("float32",))


def _random_golden() -> dict:
    r = np.random.default_rng(2025)
    cases = {}
    for i in range(2):
        x, y = r.normal(size=(4, 3)), r.normal(size=(4, 3))
        t = r.integers(0, 3, size=4)
        cases[f"huber random {i}"] = _f("huber_loss", [x, y], (0, 1), delta=0.5 + i, weight=r.uniform(0, 2, (4, 3)))
        cases[f"smoothl1 random {i}"] = _f("smooth_l1_loss", [x, y], (0, 1), beta=0.5 + i, reduction="none")
        cases[f"poisson random {i}"] = _f("poisson_nll_loss", [x, r.poisson(2.0, (4, 3)).astype(float)], (0, 1), full=bool(i))
        cases[f"gaussian random {i}"] = _f("gaussian_nll_loss", [x, y, r.uniform(0, 2, (4, 3))], (0, 1, 2), full=bool(i))
        cases[f"kl random {i}"] = _f("kl_div", [x - np.log(np.exp(x).sum(1, keepdims=True)), S.soft_targets(r, (4, 3))], (0, 1), reduction="batchmean")
        cases[f"soft margin random {i}"] = _f("soft_margin_loss", [x, np.sign(y)], (0,))
        cases[f"multilabel soft margin random {i}"] = _f("multilabel_soft_margin_loss", [x, (y > 0).astype(float)], (0, 1), weight=r.uniform(0.5, 2, 3))
        cases[f"multi margin random {i}"] = _f("multi_margin_loss", [x, t], (0,), p=1 + i, weight=r.uniform(0.5, 2, 3))
        cases[f"multilabel margin random {i}"] = _f("multilabel_margin_loss", [x, np.array([[0, 2, -1], [1, -1, 0], [-1, 0, 0], [2, 1, 0]])], (0,), reduction="none")
        cases[f"margin ranking random {i}"] = _f("margin_ranking_loss", [x[:, 0], y[:, 0], np.sign(y[:, 1])], (0, 1, 2), margin=0.2 * i)
        cases[f"hinge embedding random {i}"] = _f("hinge_embedding_loss", [np.abs(x), np.sign(y)], (0,), margin=1.0 + i)
        cases[f"cosine embedding random {i}"] = _f("cosine_embedding_loss", [x, y, np.sign(r.normal(size=4))], (0, 1), margin=0.1 * i)
        cases[f"triplet random {i}"] = _f("triplet_margin_loss", [x, y, r.normal(size=(4, 3))], (0, 1, 2), swap=bool(i), p=1.0 + i)
        cases[f"triplet with distance random {i}"] = _f("triplet_margin_with_distance_loss", [x, y, r.normal(size=(4, 3))], (0, 1, 2), swap=bool(i))
        cases[f"linear ce random {i}"] = _f("linear_cross_entropy", [x, r.normal(size=(5, 3)), r.integers(0, 5, 4)], (0, 1), label_smoothing=0.1 * i, weight=r.uniform(0.5, 2, 5))
    return cases


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
def test_empty_batch_is_nan_and_zero_where_torch_returns_uninitialised_memory(name, torch_backends):
    """A divergence on purpose: torch's kernels skip writing the output of an empty batch."""
    import lossbridge as lb
    from harness.oracle import run_lossbridge

    target = np.zeros((0,) if name == "multi_margin_loss" else (0, 3), dtype=np.int64)
    for backend in torch_backends:
        for reduction, expected in (("mean", math.nan), ("sum", 0.0)):
            spec = Spec("torch", name, kwargs={"reduction": reduction})
            value, _ = run_lossbridge(spec, [np.zeros((0, 3)), target], backend, "float32")
            np.testing.assert_equal(float(value), expected)
        out = getattr(lb.torch.functional, name)(np.zeros((0, 3)), target, reduction="none")
        assert out.shape == (0,)


GOLDEN_CASES = {
    **{f"catalog {k}": v for k, v in EDGE_CASES.items()},
    **_random_golden(),
    **{f"catalog error {name}": (spec, args, ()) for name, (spec, args) in ERROR_CASES.items()},
}
