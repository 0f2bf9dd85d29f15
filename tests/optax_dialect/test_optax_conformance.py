"""lossbridge.optax against the real optax 0.2.8, on NumPy, torch and JAX arrays.

Every public loss of ``optax.losses`` is run on randomised inputs (hypothesis draws
the structure and a seed, NumPy the values) and on planted edge cases, in float32
and float64 (float64 under ``jax.enable_x64``), and compared with optax: values on
every backend, VJPs (a random non-uniform upstream gradient) with respect to
every float argument on torch and JAX.  Where optax raises, lossbridge must raise
a LossBridgeError of the same built-in type.  ``ctc_loss_with_forward_probs``
(three outputs) and ``make_fenchel_young_loss`` (a factory) have their own
drivers built from the same harness pieces.

Slow losses draw fewer examples than the profile's ``max_examples`` (see
``_fewer``), so that this module runs in a few minutes on two cores.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import strategies as S
from harness.backends import value_and_grad
from harness.compare import assert_close, record
from harness.conformance import check
from harness.oracle import OracleError, Spec

pytestmark = pytest.mark.usefixtures("optax_oracle")


def _spec(name: str, **kwargs) -> Spec:
    return Spec("optax", name, kwargs=kwargs)


def _fewer(divisor: int):
    """A hypothesis ``settings`` with the profile's ``max_examples`` divided by ``divisor``
    (at least 4), for the losses whose new structures are slow to compile.

    A case whose structure (shapes, options) is new costs about 1-2 s of CPU, nearly all
    of it JAX compiling (the oracle's ``jax.jit``, and lossbridge's eager JAX primitives
    with their VJPs) in float32 and float64; a case seen before costs milliseconds.  The
    divisors keep this module within about five minutes on two cores: the losses with
    many structures (axis layouts x masks x options) or long compilations (CTC's time
    loop, the focal loss' scaled logsumexp) draw fewer examples.
    """
    return settings(max_examples=max(4, settings.default.max_examples // divisor))


# Shapes come from a few (batch, classes) pairs of the small sets of ``harness.strategies``
# (S.batch_sizes x S.class_counts), shared by every test of this module: eager JAX (the
# lossbridge "jax" backend) compiles each primitive once per shape, so shared shapes keep the
# compilation caches warm across tests, and the structures drawn per test stay few.
PAIRS = st.sampled_from([(4, 3), (4, 3), (2, 5), (1, 2)])
RANK3 = (2, 2, 3)  # (batch, positions, classes) for class axes other than the last


def _where(r: np.random.Generator, shape: tuple[int, ...], axes: tuple[int, ...], empty_row: bool) -> np.ndarray:
    """A boolean mask of ``shape``; with ``empty_row``, one row (over ``axes``) all False."""
    w = r.uniform(size=shape) < 0.7
    if empty_row and w.size:
        moved = np.moveaxis(w, axes, tuple(range(w.ndim - len(axes), w.ndim)))
        flat = moved.reshape(-1, int(np.prod([shape[a] for a in axes])))
        flat[r.integers(0, flat.shape[0])] = False
        w = np.moveaxis(flat.reshape(moved.shape), tuple(range(w.ndim - len(axes), w.ndim)), axes)
    return w


# ------------------------------------------------------------ softmax family


@st.composite
def class_axis_case(draw, allow_none: bool = True, allow_tuple: bool = True):
    """(shape, axis, class axes) for losses with ``axis=``: the last axis of a batch, a
    middle axis, the last of three (as -1 or 2), a tuple of axes, or every axis (None)."""
    layout = draw(st.sampled_from(
        ["last", "last", "last", "middle", "rank3_last"]
        + (["tuple"] if allow_tuple else []) + (["none"] if allow_none else [])))
    if layout == "last":
        n, c = draw(PAIRS)
        return (n, c), -1, (1,)
    if layout == "middle":
        return (2, 3, 2), 1, (1,)
    if layout == "rank3_last":
        return RANK3, draw(st.sampled_from([-1, 2])), (2,)
    if layout == "tuple":
        return RANK3, (1, 2), (1, 2)
    return (4, 3), None, (0, 1)


@st.composite
def softmax_case(draw, integer_labels: bool = False):
    r = S.rng(draw(S.seeds))
    shape, axis, axes = draw(class_axis_case(allow_none=not integer_labels))
    x = S.logits(r, shape, draw(st.sampled_from(["normal", "normal", "extreme"])))
    kwargs: dict = {}
    if axis != -1:
        kwargs["axis"] = axis
    mask = draw(st.sampled_from(["none", "none", "full", "full_empty_row", "per_example"]))
    if mask in ("full", "full_empty_row"):
        kwargs["where"] = _where(r, shape, axes, mask == "full_empty_row")
    elif mask == "per_example" and axis is not None:
        loss_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
        kwargs["where"] = r.uniform(size=loss_shape) < 0.7
    if integer_labels:
        num = int(np.prod([shape[a] for a in axes]))
        loss_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
        labels = r.integers(0, num, size=loss_shape)
        style = draw(st.sampled_from(["in_range", "in_range", "wrap", "out_of_range"]))
        if style == "wrap":
            labels = np.where(r.uniform(size=loss_shape) < 0.4, r.integers(-num, 0, size=loss_shape), labels)
        elif style == "out_of_range":
            labels = np.where(r.uniform(size=loss_shape) < 0.4, r.choice([num, num + 3, -num - 1, -100], size=loss_shape), labels)
        return kwargs, x, labels
    if draw(st.booleans()):
        moved = np.moveaxis(np.zeros(shape), axes, tuple(range(len(shape) - len(axes), len(shape))))
        flat = moved.reshape(-1, int(np.prod([shape[a] for a in axes])))
        flat[np.arange(flat.shape[0]), r.integers(0, flat.shape[1], size=flat.shape[0])] = 1.0
        labels = np.moveaxis(flat.reshape(moved.shape), tuple(range(len(shape) - len(axes), len(shape))), axes)
    else:
        labels = r.uniform(0.0, 1.0, size=shape) ** 3
    return kwargs, x, labels


@_fewer(2)  # 6 axis layouts x 3 kinds of mask
@given(case=softmax_case())
def test_softmax_cross_entropy(case, optax_oracle, backends):
    kwargs, x, labels = case
    check(_spec("softmax_cross_entropy", **kwargs), [x, labels], [optax_oracle], backends, wrt=(0, 1))


@_fewer(2)  # 5 axis layouts x 3 kinds of mask
@given(case=softmax_case(integer_labels=True))
def test_softmax_cross_entropy_with_integer_labels(case, optax_oracle, backends):
    kwargs, x, labels = case
    spec = _spec("softmax_cross_entropy_with_integer_labels", **kwargs)
    check(spec, [x, labels], [optax_oracle], backends, wrt=(0,))


@_fewer(4)  # the softmax cross-entropy's structures, plus its own softmax
@given(case=softmax_case(), epsilon=st.sampled_from([2.0, -1.0, 0.5]))
def test_poly_loss_cross_entropy(case, epsilon, optax_oracle, backends):
    kwargs, x, labels = case
    where = kwargs.get("where")
    if where is not None and where.shape != x.shape:
        kwargs = {**kwargs, "where": None}  # the softmax part does not expand a lower-rank mask
    spec = _spec("poly_loss_cross_entropy", epsilon=epsilon, **{k: v for k, v in kwargs.items() if v is not None})
    check(spec, [x, labels], [optax_oracle], backends, wrt=(0, 1))


@st.composite
def safe_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), (c,), RANK3]))
    c = shape[-1]
    x = S.logits(r, shape, "normal")
    labels = S.soft_targets(r, shape) if draw(st.booleans()) else np.eye(c)[r.integers(0, c, size=shape[:-1])]
    if draw(st.booleans()):
        labels = np.where(r.uniform(size=shape) < 0.4, 0.0, labels)
    if draw(st.booleans()):  # -inf logits where the label is 0
        x = np.where((labels == 0) & (r.uniform(size=shape) < 0.6), -np.inf, x)
    if draw(st.booleans()) and len(shape) > 1:
        labels = labels[..., 0, :]  # broadcast over the batch
    return x, labels


@_fewer(2)  # its custom gradient compiles per shape
@given(case=safe_case())
def test_safe_softmax_cross_entropy(case, optax_oracle, backends):
    x, labels = case
    check(_spec("safe_softmax_cross_entropy"), [x, labels], [optax_oracle], backends, wrt=(0, 1))


@st.composite
def binary_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), (n,), RANK3]))
    x = S.logits(r, shape, draw(st.sampled_from(["normal", "normal", "extreme"])))
    labels = r.integers(0, 2, size=shape).astype(float) if draw(st.booleans()) else r.uniform(size=shape)
    if len(shape) > 1 and draw(st.integers(0, 3)) == 0:
        labels = labels[0]  # broadcast
    return x, labels


@_fewer(2)  # 4 shapes x broadcast labels
@given(case=binary_case())
def test_sigmoid_binary_cross_entropy(case, optax_oracle, backends):
    x, labels = case
    check(_spec("sigmoid_binary_cross_entropy"), [x, labels], [optax_oracle], backends, wrt=(0, 1))


@_fewer(4)  # its scaled logsumexp is the slowest eager compilation (~2 s per shape)
@given(case=binary_case(), alpha=st.sampled_from([None, None, 0.25, 0.9]), gamma=st.sampled_from([2.0, 0.0, 0.5, 1.0, 3.0]))
def test_sigmoid_focal_loss(case, alpha, gamma, optax_oracle, backends):
    x, labels = case
    kwargs = {"gamma": gamma} | ({"alpha": alpha} if alpha is not None else {})
    check(_spec("sigmoid_focal_loss", **kwargs), [x, labels], [optax_oracle], backends, wrt=(0, 1))


# --------------------------------------------------------------- divergences


@st.composite
def divergence_case(draw, log_targets: bool = False, normalised: bool = True):
    r = S.rng(draw(S.seeds))
    shape, axis, axes = draw(class_axis_case())
    lp = S.logits(r, shape, "normal")
    lp = lp - np.log(np.exp(lp).sum(axis=axes, keepdims=True)) if draw(st.booleans()) else lp
    t = S.soft_targets(r, shape, axis=axes[-1])
    if not normalised:
        t = t * r.uniform(0.2, 3.0, size=shape)
    if draw(st.booleans()):
        t = np.where(r.uniform(size=shape) < 0.3, 0.0, t)  # 0 log 0 = 0 (gradient NaN, as optax)
    if log_targets:
        with np.errstate(divide="ignore"):
            t = np.log(t) if draw(st.booleans()) else np.log(np.maximum(t, 1e-3))
    kwargs: dict = {} if axis == -1 else {"axis": axis}
    mask = draw(st.sampled_from(["none", "none", "full", "full_empty_row"]))
    if mask != "none":
        kwargs["where"] = _where(r, shape, axes, mask == "full_empty_row")
    return kwargs, lp, t


@_fewer(2)  # 6 axis layouts x masks
@given(case=divergence_case())
def test_kl_divergence(case, optax_oracle, backends):
    kwargs, lp, t = case
    check(_spec("kl_divergence", **kwargs), [lp, t], [optax_oracle], backends, wrt=(0, 1))


@_fewer(2)  # 6 axis layouts x masks
@given(case=divergence_case(log_targets=True))
def test_kl_divergence_with_log_targets(case, optax_oracle, backends):
    kwargs, lp, lt = case
    check(_spec("kl_divergence_with_log_targets", **kwargs), [lp, lt], [optax_oracle], backends, wrt=(0, 1))


@_fewer(2)  # 6 axis layouts x masks
@given(case=divergence_case(normalised=False))
def test_generalized_kl_divergence(case, optax_oracle, backends):
    kwargs, lp, t = case
    check(_spec("generalized_kl_divergence", **kwargs), [lp, t], [optax_oracle], backends, wrt=(0, 1))


@_fewer(4)  # an alias: generalized_kl_divergence is tested in full
@given(case=divergence_case(normalised=False))
def test_convex_kl_divergence(case, optax_oracle, backends):
    kwargs, lp, t = case
    check(_spec("convex_kl_divergence", **kwargs), [lp, t], [optax_oracle], backends, wrt=(0, 1))


def test_convex_kl_divergence_warns_as_optax():
    import optax

    import lossbridge as lb

    with warnings.catch_warnings(record=True) as expected:
        warnings.simplefilter("always")
        optax.losses.convex_kl_divergence(np.zeros(2), np.array([0.5, 0.5]))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        lb.optax.convex_kl_divergence(np.zeros(2), np.array([0.5, 0.5]))
    assert [str(w.message) for w in got] == [str(w.message) for w in expected]
    assert issubclass(got[0].category, DeprecationWarning)
    assert issubclass(got[0].category, lb.LossBridgeWarning)
    assert got[0].filename == __file__  # points at the caller, as optax's stacklevel=2


# ---------------------------------------------------------------- regression


@st.composite
def regression_case(draw, broadcast: bool = True):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), (n,), RANK3]))
    p = r.normal(0.0, 2.0, size=shape)
    style = draw(st.sampled_from(["same", "same", "none", "ties", "large"] + (["broadcast"] if broadcast else [])))
    if style == "none":
        return p, None
    t = r.normal(0.0, 2.0, size=shape)
    if style == "ties":
        p = np.where(r.uniform(size=shape) < 0.3, t, p)
        p = np.where(r.uniform(size=shape) < 0.3, t + r.choice([-1.0, 1.0, 0.5, 2.0], size=shape), p)
    elif style == "large":
        p = p * 300.0
    elif style == "broadcast":
        t = t[(0,) * (len(shape) - 1)] if len(shape) > 1 else t[:1]
    return p, t


@pytest.mark.parametrize("name", ["l2_loss", "squared_error", "log_cosh"])
@given(case=regression_case())
def test_pointwise_regression(name, case, optax_oracle, backends):
    p, t = case
    check(_spec(name), [p, t], [optax_oracle], backends, wrt=(0, 1) if t is not None else (0,))


@given(case=regression_case(), delta=st.sampled_from([1.0, 0.5, 2.0]))
def test_huber_loss(case, delta, optax_oracle, backends):
    p, t = case
    check(_spec("huber_loss", delta=delta), [p, t], [optax_oracle], backends, wrt=(0, 1) if t is not None else (0,))


@st.composite
def cosine_case(draw):
    r = S.rng(draw(S.seeds))
    shape, axis, axes = draw(class_axis_case())
    a, b = r.normal(size=shape), r.normal(size=shape)
    eps = draw(st.sampled_from([0.0, 1e-6, 0.5]))
    if eps > 0 and draw(st.booleans()):  # zero vectors: 0 with epsilon > 0 (NaN with epsilon = 0)
        moved = np.moveaxis(a, axes, tuple(range(len(shape) - len(axes), len(shape))))
        flat = moved.reshape(-1, int(np.prod([shape[x] for x in axes]))).copy()
        flat[0] = 0.0
        a = np.moveaxis(flat.reshape(moved.shape), tuple(range(len(shape) - len(axes), len(shape))), axes)
    kwargs: dict = {"epsilon": eps} if eps else {}
    if axis != -1:
        kwargs["axis"] = axis
    if draw(st.booleans()):
        kwargs["where"] = _where(r, shape, axes, eps > 0 and draw(st.booleans()))
    return kwargs, a, b


@_fewer(2)  # 6 axis layouts x masks, twice
@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_distance"])
@given(case=cosine_case())
def test_cosine(name, case, optax_oracle, backends):
    kwargs, a, b = case
    check(_spec(name, **kwargs), [a, b], [optax_oracle], backends, wrt=(0, 1))


# ------------------------------------------------------------------- margins


@st.composite
def signed_case(draw, same_shape: bool = False):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n,)]))
    x = r.normal(size=shape)
    y = r.choice([-1.0, 1.0], size=shape)
    if draw(st.booleans()):  # kinks: x * y == 1 (hinge) or x == 0 (perceptron)
        x = np.where(r.uniform(size=shape) < 0.4, r.choice([1.0, -1.0, 0.0], size=shape), x)
    if not same_shape and len(shape) > 1 and draw(st.booleans()):
        y = y[0]
    return x, y


@given(case=signed_case())
def test_hinge_loss(case, optax_oracle, backends):
    check(_spec("hinge_loss"), list(case), [optax_oracle], backends, wrt=(0, 1))


@given(case=signed_case(same_shape=True))
def test_perceptron_loss(case, optax_oracle, backends):
    check(_spec("perceptron_loss"), list(case), [optax_oracle], backends, wrt=(0, 1))


@given(case=signed_case())
def test_sparsemax_loss(case, optax_oracle, backends):
    x, y = case
    # Binary labels 0/1 (read as booleans); the kinks of sparse_plus are at +-1.
    check(_spec("sparsemax_loss"), [x * 1.5, (y > 0).astype(np.int64)], [optax_oracle], backends, wrt=(0,))


@st.composite
def multiclass_case(draw, two_d: bool = False):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = (n, c) if two_d else draw(st.sampled_from([(n, c), (n, c), (c,), RANK3]))
    c = shape[-1]
    scale = draw(st.sampled_from([0.3, 1.0, 3.0]))
    scores = r.normal(0.0, scale, size=shape)
    if draw(st.booleans()):  # ties
        scores = np.round(scores)
    labels = r.integers(0, c, size=shape[:-1])
    style = draw(st.sampled_from(["in_range", "in_range", "out_of_range"]))
    if style == "out_of_range":
        labels = np.where(r.uniform(size=labels.shape) < 0.5, r.choice([-1, c, -c - 1, -c], size=labels.shape), labels)
    return scores, labels


@pytest.mark.parametrize("name", ["multiclass_hinge_loss", "multiclass_perceptron_loss"])
@given(case=multiclass_case())
def test_multiclass_margins(name, case, optax_oracle, backends):
    check(_spec(name), list(case), [optax_oracle], backends, wrt=(0,))


@_fewer(2)  # the projection's sort and gathers
@given(case=multiclass_case(two_d=True))
def test_multiclass_sparsemax_loss(case, optax_oracle, backends):
    check(_spec("multiclass_sparsemax_loss"), list(case), [optax_oracle], backends, wrt=(0,))


# ------------------------------------------------------------------- ranking


@st.composite
def ranking_case(draw):
    import jax.numpy as jnp

    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), (c,), RANK3]))
    c = shape[-1]
    x = r.normal(size=shape)
    labels = r.integers(0, 3, size=shape).astype(float)
    kwargs: dict = {}
    mask = draw(st.sampled_from(["none", "some", "empty_row", "all_empty"]))
    if mask != "none":
        w = r.uniform(size=shape) < 0.7
        if mask == "empty_row":
            w.reshape(-1, c)[0] = False
        elif mask == "all_empty":
            w[...] = False
        kwargs["where"] = w
    if draw(st.booleans()):
        kwargs["weights"] = r.uniform(0.0, 2.0, size=shape)
    reduce_fn = draw(st.sampled_from(["default", "default", "none", "sum", "mean"]))
    if reduce_fn != "default":
        kwargs["reduce_fn"] = {"none": None, "sum": jnp.sum, "mean": jnp.mean}[reduce_fn]
    return kwargs, x, labels


@_fewer(3)  # 4 shapes x masks x weights x 4 reductions
@given(case=ranking_case())
def test_ranking_softmax_loss(case, optax_oracle, backends):
    kwargs, x, labels = case
    check(_spec("ranking_softmax_loss", **kwargs), [x, labels], [optax_oracle], backends, wrt=(0, 1))


# -------------------------------------------------------------- segmentation


@st.composite
def dice_case(draw):
    r = S.rng(draw(S.seeds))
    layout = draw(st.sampled_from(["BHC", "BHC", "BHWC", "BC", "BH_binary", "BH1"]))
    shape = {"BHC": RANK3, "BHWC": (2, 2, 2, 3), "BC": (4, 3), "BH_binary": (4, 3), "BH1": (2, 5, 1)}[layout]
    c = shape[-1] if layout != "BH_binary" else 1
    x = r.normal(0.0, 2.0, size=shape)
    if layout == "BH_binary" or c == 1:
        t = (r.uniform(size=shape) < 0.5).astype(float)
    else:
        t = np.eye(c)[r.integers(0, c, size=shape[:-1])]
    kwargs: dict = {}
    if draw(st.booleans()):
        kwargs["smooth"] = draw(st.sampled_from([1e-5, 0.5]))
    if draw(st.booleans()):
        kwargs["alpha"], kwargs["beta"] = draw(st.sampled_from([(0.3, 0.7), (0.7, 0.3), (1.0, 1.0)]))
    if draw(st.booleans()) and layout != "BH_binary":
        kwargs["class_weights"] = r.uniform(0.1, 2.0, size=(c,))
    if draw(st.integers(0, 3)) == 0 and layout != "BH_binary" and c > 1:
        kwargs["apply_softmax"] = False
        x = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    kwargs["reduction"] = draw(st.sampled_from(["mean", "mean", "sum", "none"]))
    if draw(st.booleans()):
        kwargs["ignore_background"] = True
    if layout == "BHWC" and draw(st.booleans()):
        kwargs["axis"] = draw(st.sampled_from([(1,), 2, (1, 2)]))
    if layout == "BH_binary" and draw(st.booleans()):
        t = t[..., None]  # targets one rank more
    return kwargs, x, t


@_fewer(3)  # 6 layouts x class weights x reductions x axes
@given(case=dice_case())
def test_dice_loss(case, optax_oracle, backends):
    kwargs, x, t = case
    check(_spec("dice_loss", **kwargs), [x, t], [optax_oracle], backends, wrt=(0, 1))


@_fewer(3)  # 6 layouts x options
@given(case=dice_case())
def test_multiclass_generalized_dice_loss(case, optax_oracle, backends):
    kwargs, x, t = case
    if x.shape != t.shape:
        t = t[..., 0]
    kwargs = {k: v for k, v in kwargs.items() if k in ("smooth", "apply_softmax", "ignore_background")}
    check(_spec("multiclass_generalized_dice_loss", **kwargs), [x, t], [optax_oracle], backends, wrt=(0, 1))


@st.composite
def binary_dice_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), RANK3, (n, c, 1), (n,)]))
    x = r.normal(0.0, 2.0, size=shape)
    t = (r.uniform(size=shape) < 0.5).astype(float)
    kwargs = {"smooth": draw(st.sampled_from([1.0, 1e-3]))}
    return kwargs, x, t


@_fewer(3)  # 5 layouts
@given(case=binary_dice_case())
def test_binary_dice_loss(case, optax_oracle, backends):
    kwargs, x, t = case
    check(_spec("binary_dice_loss", **kwargs), [x, t], [optax_oracle], backends, wrt=(0, 1))


# ----------------------------------------------------------- self-supervised


@st.composite
def ntxent_case(draw):
    r = S.rng(draw(S.seeds))
    b, d = draw(st.sampled_from([(4, 3), (4, 3), (2, 5)]))
    e = r.normal(size=(b, d))
    labels = draw(st.sampled_from(["pairs", "random", "all_distinct"]))
    if labels == "pairs":
        y = np.repeat(np.arange(b // 2), 2)
    elif labels == "random":
        y = r.integers(0, 2, size=b)
    else:
        y = np.arange(b)  # no positive pair: NaN, as optax
    temperature = draw(st.sampled_from([0.07, 0.5, 1.0]))
    return e, y, temperature


@_fewer(3)  # a (batch x batch) similarity per shape
@given(case=ntxent_case())
def test_ntxent(case, optax_oracle, backends):
    e, y, temperature = case
    # The 1/temperature (up to ~14) scales the rounding of cosines near 1: float32 needs more room.
    check(Spec("optax", "ntxent", kwargs={"temperature": temperature}), [e, y], [optax_oracle], backends,
          wrt=(0,), scale=4.0)


@st.composite
def triplet_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(PAIRS)
    shape = draw(st.sampled_from([(n, c), (n, c), RANK3, (c,)]))
    a, p, m = (r.normal(size=shape) for _ in range(3))
    p = a + 0.3 * p if draw(st.booleans()) else p
    kwargs: dict = {}
    if len(shape) == 3 and draw(st.booleans()):
        kwargs["axis"] = 1
    if draw(st.booleans()):
        kwargs["norm_degree"] = draw(st.sampled_from([1, 3, 4, 2.0]))
    if draw(st.booleans()):
        kwargs["margin"] = draw(st.sampled_from([0.0, 0.5, 5.0]))
    if draw(st.booleans()):
        kwargs["eps"] = draw(st.sampled_from([0.0, 1e-3]))
    return kwargs, a, p, m


@_fewer(2)  # 4 shapes x axis x norm degrees
@given(case=triplet_case())
def test_triplet_margin_loss(case, optax_oracle, backends):
    kwargs, a, p, n = case
    check(_spec("triplet_margin_loss", **kwargs), [a, p, n], [optax_oracle], backends, wrt=(0, 1, 2))


# ----------------------------------------------------------------- smoothing


@st.composite
def smoothing_case(draw):
    r = S.rng(draw(S.seeds))
    shape, axis, axes = draw(class_axis_case())
    labels = S.one_hot(r, r.integers(0, shape[axes[-1]], size=shape[: axes[-1]] + shape[axes[-1] + 1 :]), shape[axes[-1]], axes[-1]) \
        if len(axes) == 1 else S.soft_targets(r, shape)
    kwargs: dict = {"axis": axis} if axis != -1 else {}
    if draw(st.booleans()):
        kwargs["where"] = _where(r, shape, axes, draw(st.booleans()))
    alpha = draw(st.sampled_from([0.1, 0.0, 1.0, 0.35]))
    return kwargs, labels, alpha


@_fewer(2)  # 6 axis layouts x masks
@given(case=smoothing_case())
def test_smooth_labels(case, optax_oracle, backends):
    kwargs, labels, alpha = case
    check(_spec("smooth_labels", **kwargs), [labels, alpha], [optax_oracle], backends, wrt=(0,))


# ----------------------------------------------------------------------- CTC


@st.composite
def ctc_case(draw):
    r = S.rng(draw(S.seeds))
    # (batch, frames, classes, label length): few structures, the CTC loop is unrolled per T.
    # (2, 4, 3, 2) main; (1, 2, 4, 3) often impossible (3 labels in 2 frames); (2, 4, 3, 0) no labels.
    b, t_max, k, n = draw(st.sampled_from([(2, 4, 3, 2), (2, 4, 3, 2), (2, 4, 3, 2), (1, 2, 4, 3), (2, 4, 3, 0)]))
    blank = 0  # blank_id=K-1 is an edge case (a new compilation per blank_id)
    logits = r.normal(0.0, 2.0, size=(b, t_max, k))
    non_blank = [c for c in range(k) if c != blank]
    labels = r.choice(non_blank, size=(b, n))
    if n > 1 and draw(st.booleans()):
        labels[:, 1] = labels[:, 0]  # a repeated label needs a blank between
    if draw(st.integers(0, 4)) == 0:
        labels = np.where(r.uniform(size=labels.shape) < 0.3, r.choice([blank, k, -1], size=labels.shape), labels)
    label_lens = r.integers(0, n + 1, size=b)
    label_paddings = (np.arange(n)[None, :] >= label_lens[:, None]).astype(float)
    frame_lens = r.integers(0, t_max + 1, size=b)
    logit_paddings = (np.arange(t_max)[None, :] >= frame_lens[:, None]).astype(float)
    if draw(st.integers(0, 3)) == 0:  # paddings anywhere (optax only reads them per frame)
        logit_paddings = (r.uniform(size=(b, t_max)) < 0.3).astype(float)
    kwargs: dict = {}
    if draw(st.integers(0, 3)) == 0:
        kwargs["log_epsilon"] = -1e3
    return kwargs, logits, logit_paddings, labels, label_paddings


@_fewer(4)  # the time loop: ~40 primitives per step, compiled per structure
@given(case=ctc_case())
def test_ctc_loss(case, optax_oracle, backends):
    kwargs, logits, logit_paddings, labels, label_paddings = case
    check(_spec("ctc_loss", **kwargs), [logits, logit_paddings, labels, label_paddings], [optax_oracle],
          backends, wrt=(0,))


def _ctc_forward_outputs(module_name: str, kwargs: dict):
    """``ctc_loss_with_forward_probs`` as one flat array (loss, logalpha_blank, logalpha_nonblank)."""

    def fn(logits, logit_paddings, labels, label_paddings, **more):
        kw = {**kwargs, **more}
        if module_name == "optax":
            import jax.numpy as jnp
            import optax

            outs = optax.losses.ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings, **kw)
            return jnp.concatenate([jnp.ravel(o) for o in outs])
        import lossbridge as lb
        from lossbridge import ops

        outs = lb.optax.ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings, **kw)
        xp = ops.namespace(*outs)
        return xp.concat([xp.reshape(o, (-1,)) for o in outs])

    return fn


@_fewer(8)  # as test_ctc_loss, whose randomised cases run the same forward algorithm
@given(case=ctc_case())
def test_ctc_loss_with_forward_probs(case, optax_oracle, backends):
    kwargs, *args = case
    for dtype in ("float32", "float64"):
        expected, expected_grads = optax_oracle.run_callable(
            "ctc_loss_with_forward_probs", _ctc_forward_outputs("optax", {}), args, dtype, (0,), 0,
            static_kwargs=kwargs)
        for backend in backends:
            wrt = (0,) if backend != "numpy" else ()
            value, grads = value_and_grad(_ctc_forward_outputs("lossbridge", kwargs), args, backend, wrt, 0, dtype)
            where = f"optax.ctc_loss_with_forward_probs {kwargs} on {backend} {dtype}"
            assert_close(value, expected, dtype, f"{where}: value")
            if wrt:
                assert_close(grads[0], expected_grads[0], dtype, f"{where}: gradient", grad=True)
            record("optax.ctc_loss_with_forward_probs", backend, dtype)


# ------------------------------------------------------------ Fenchel-Young


def _max_functions():
    from lossbridge import ops

    def logsumexp(s):
        return ops.logsumexp(s, axis=-1)

    def hardmax(s):
        return ops.namespace(s).max(s)

    def sparsemax_conjugate(s, scale=1.0):
        # max_p <p, s> - ||p||^2/2 over the simplex, through the projection's sort formula.
        xp = ops.namespace(s)
        u = xp.flip(xp.sort(s / scale), axis=-1)
        cs = xp.cumulative_sum(u)
        j = ops.namespace(s).arange(1, s.shape[-1] + 1, dtype=s.dtype)
        tau = xp.max(xp.where(1 + j * u > cs, (cs - 1) / j, -math.inf))
        p = xp.maximum(s / scale - tau, xp.zeros_like(s))
        return scale * (xp.sum(p * s / scale) - 0.5 * xp.sum(p * p))

    return {"logsumexp": (logsumexp, {}), "max": (hardmax, {}), "sparsemax_conjugate": (sparsemax_conjugate, {"scale": 2.0})}


@_fewer(4)  # torch.vmap and jnp.vectorize compile per max function and shape
@given(seed=S.seeds, shape=st.sampled_from([(4, 3), (4, 3), RANK3]),
       which=st.sampled_from(["logsumexp", "max", "sparsemax_conjugate"]))
def test_make_fenchel_young_loss(seed, shape, which, optax_oracle, backends):
    import optax

    import lossbridge as lb

    r = S.rng(seed)
    c = shape[-1]
    scores = r.normal(size=shape)
    targets = np.eye(c)[r.integers(0, c, size=shape[:-1])] if r.uniform() < 0.5 else S.soft_targets(r, shape)
    max_fun, kwargs = _max_functions()[which]
    ours, theirs = lb.optax.make_fenchel_young_loss(max_fun), optax.losses.make_fenchel_young_loss(max_fun)
    for dtype in ("float32", "float64"):
        expected, expected_grads = optax_oracle.run_callable(
            f"make_fenchel_young_loss({which})", theirs, [scores, targets], dtype, (0, 1), 0, static_kwargs=kwargs)
        for backend in backends:
            wrt = (0, 1) if backend != "numpy" else ()
            value, grads = value_and_grad(lambda s, t: ours(s, t, **kwargs), [scores, targets], backend, wrt, 0, dtype)
            where = f"optax.make_fenchel_young_loss({which}) on {backend} {dtype}"
            assert_close(value, expected, dtype, f"{where}: value")
            for g, eg in zip(grads, expected_grads, strict=False):
                assert_close(g, eg, dtype, f"{where}: gradient", grad=True)
            record(f"optax.make_fenchel_young_loss({which})", backend, dtype)


def test_make_fenchel_young_loss_extra_positional_argument_is_a_type_error(backends):
    import jax.scipy.special
    import optax

    import lossbridge as lb

    with pytest.raises(TypeError):
        optax.losses.make_fenchel_young_loss(jax.scipy.special.logsumexp)(np.ones((2, 3)), np.ones((2, 3)), 1)
    from harness.backends import to_backend

    for backend in backends:
        fy = lb.optax.make_fenchel_young_loss(lambda s, *a: lb.ops.logsumexp(s, axis=-1))
        with pytest.raises(lb.LossBridgeError) as info:
            fy(to_backend(np.ones((2, 3)), backend), to_backend(np.ones((2, 3)), backend), 1)
        assert isinstance(info.value, TypeError)


# ---------------------------------------------------------------- edge cases

X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
T = np.array([0, 2, 1, 1])
MASK = np.array([[True, True, False], [False, False, False], [True, False, True], [True, True, True]])
NEG_INF = np.array([[1.0, -np.inf, 2.0], [-np.inf, -np.inf, 0.5], [0.0, 1.0, 2.0]])
CTC_LOGITS = np.random.default_rng(7).normal(size=(2, 4, 3))  # structures of ctc_case
CTC_SHORT = np.random.default_rng(8).normal(size=(1, 2, 4))


def _ctc(labels, label_paddings, logit_paddings=None, logits=CTC_LOGITS, **kwargs):
    lp = np.zeros(logits.shape[:2]) if logit_paddings is None else logit_paddings
    return (_spec("ctc_loss", **kwargs), [logits, lp, np.asarray(labels), np.asarray(label_paddings, dtype=float)], (0,))


EDGE_CASES = {
    "sce where with an all-False row (0, gradient 0; labels' gradient NaN where masked, as optax)": (
        _spec("softmax_cross_entropy", where=MASK), [X, Y], (0, 1)),
    "sce where per example": (_spec("softmax_cross_entropy", where=np.array([True, False, True, True])), [X, Y], (0, 1)),
    "sce axis None": (_spec("softmax_cross_entropy", axis=None), [X, Y / 4], (0, 1)),
    "sce -inf logit, zero label (NaN, as optax)": (_spec("softmax_cross_entropy"), [NEG_INF, np.eye(3)[[2, 2, 1]]], (0, 1)),
    "safe sce -inf logits": (_spec("safe_softmax_cross_entropy"), [NEG_INF, np.eye(3)[[2, 2, 1]]], (0, 1)),
    "safe sce -inf logits, soft labels": (_spec("safe_softmax_cross_entropy"), [NEG_INF, np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])], (0, 1)),
    "sce int labels -1 wraps, >= C and < -C are NaN": (
        _spec("softmax_cross_entropy_with_integer_labels"), [X, np.array([-1, 3, -4, -3])], (0,)),
    "sce int labels where with an all-False row": (
        _spec("softmax_cross_entropy_with_integer_labels", where=MASK), [X, T], (0,)),
    "sce int labels tuple axis, flat labels": (
        _spec("softmax_cross_entropy_with_integer_labels", axis=(2, 3)),
        [np.arange(24, dtype=float).reshape(1, 2, 3, 4) / 5, np.array([[6, 11]])], (0,)),
    "sce int labels uint8": (_spec("softmax_cross_entropy_with_integer_labels"), [X, np.array([0, 2, 1, 5], dtype=np.uint8)], (0,)),
    "sce int labels +-1e4 logits": (
        _spec("softmax_cross_entropy_with_integer_labels"), [np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), np.array([1, 2])], (0,)),
    "poly where with an all-False row": (_spec("poly_loss_cross_entropy", where=MASK), [X, Y], (0, 1)),
    "sigmoid bce +-200": (_spec("sigmoid_binary_cross_entropy"), [np.array([-200.0, 200.0, 0.0]), np.array([1.0, 0.0, 0.5])], (0, 1)),
    "sigmoid bce integer labels": (_spec("sigmoid_binary_cross_entropy"), [X, (Y > 0).astype(np.int64)], (0,)),
    "focal extreme logits": (_spec("sigmoid_focal_loss", alpha=0.25), [np.array([-100.0, 100.0, 30.0, -30.0]), np.array([1.0, 0.0, 1.0, 0.5])], (0, 1)),
    "focal gamma 0.5 at p_t = 1": (_spec("sigmoid_focal_loss", gamma=0.5), [np.array([50.0, -50.0]), np.array([1.0, 0.0])], (0, 1)),
    "kl zero targets": (_spec("kl_divergence"), [np.log(np.array([[0.5, 0.5, 1e-30]])), np.array([[1.0, 0.0, 0.0]])], (0, 1)),
    "kl negative target (NaN)": (_spec("kl_divergence"), [np.zeros((1, 2)), np.array([[-0.5, 1.5]])], (0,)),
    "kl with log targets -inf": (_spec("kl_divergence_with_log_targets"), [np.log(np.array([[0.5, 0.5]])), np.array([[0.0, -np.inf]])], (0, 1)),
    "cosine zero vectors, epsilon 0 (NaN)": (_spec("cosine_similarity"), [np.zeros((2, 3)), np.ones((2, 3))], (0, 1)),
    "cosine zero vectors, epsilon 1e-12": (_spec("cosine_distance", epsilon=1e-12), [np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])], (0, 1)),
    "cosine where all False": (_spec("cosine_similarity", epsilon=1e-6, where=np.zeros((2, 3), dtype=bool)), [X[:2], Y[:2]], (0, 1)),
    "huber ties at +-delta and 0": (_spec("huber_loss", delta=1.0), [np.array([1.0, -1.0, 0.0, 2.5]), np.zeros(4)], (0, 1)),
    "log_cosh huge errors": (_spec("log_cosh"), [np.array([1e3, -1e3, 0.0]), np.array([0.0, 0.0, 0.0])], (0, 1)),
    "hinge ties": (_spec("hinge_loss"), [np.array([1.0, -1.0, 0.5, 1.0]), np.array([1.0, -1.0, 1.0, -1.0])], (0, 1)),
    "perceptron zero scores": (_spec("perceptron_loss"), [np.array([0.0, 0.0, 1.0]), np.array([1.0, -1.0, -1.0])], (0, 1)),
    "sparsemax kinks at +-1": (_spec("sparsemax_loss"), [np.array([1.0, -1.0, 1.0, -1.0, 0.0]), np.array([1, 1, 0, 0, 1])], (0,)),
    "sparsemax bool labels": (_spec("sparsemax_loss"), [X, Y > 0.25], (0,)),
    "multiclass hinge ties and a 1-D row": (_spec("multiclass_hinge_loss"), [np.array([1.0, 1.0, 0.0]), np.array(0)], (0,)),
    "multiclass perceptron ties": (_spec("multiclass_perceptron_loss"), [np.array([[2.0, 2.0, 0.0], [1.0, 1.0, 1.0]]), np.array([0, 2])], (0,)),
    "multiclass sparsemax out-of-range labels (clamped, not held)": (
        _spec("multiclass_sparsemax_loss"), [X, np.array([3, -1, -4, 7])], (0,)),
    "multiclass sparsemax one class in the support": (
        _spec("multiclass_sparsemax_loss"), [np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([1, 0])], (0,)),
    "ranking all lists masked (0)": (_spec("ranking_softmax_loss", where=np.zeros((4, 3), dtype=bool)), [X, Y], (0, 1)),
    "ranking masked lists, no reduction": (_spec("ranking_softmax_loss", where=MASK, reduce_fn=None), [X, Y], (0, 1)),
    "ranking NaN logits stay NaN under the mean": (
        _spec("ranking_softmax_loss", where=np.array([[True, True, True], [False, False, False]])), [np.array([[np.nan, 1.0, 0.0], [1.0, 2.0, 3.0]]), Y[:2]], (0,)),
    "dice 2-D inputs (no spatial axes)": (_spec("dice_loss"), [X, Y], (0, 1)),
    "dice ignore_background, class weights, reduction none": (
        _spec("dice_loss", ignore_background=True, class_weights=np.array([1.0, 2.0, 0.5]), reduction="none"),
        [X.reshape(1, 4, 3), np.eye(3)[T].reshape(1, 4, 3)], (0, 1)),
    "dice probabilities (apply_softmax=False)": (
        _spec("dice_loss", apply_softmax=False), [np.array([[[0.2, 0.8], [0.5, 0.5]]]), np.array([[[0.0, 1.0], [1.0, 0.0]]])], (0, 1)),
    "generalized dice, absent class": (
        _spec("multiclass_generalized_dice_loss"), [X.reshape(2, 2, 3), np.eye(3)[[0, 0, 1, 1]].reshape(2, 2, 3)], (0, 1)),
    "binary dice (1,) input": (_spec("binary_dice_loss"), [np.array([0.3]), np.array([1.0])], (0, 1)),
    "ntxent one sample (NaN)": (_spec("ntxent"), [np.array([[1.0, 2.0]]), np.array([0])], (0,)),
    "ntxent identical embeddings": (_spec("ntxent"), [np.ones((4, 2)), np.array([0, 0, 1, 1])], (0,)),
    "triplet identical points (eps inside the root)": (_spec("triplet_margin_loss"), [np.ones((2, 3)), np.ones((2, 3)), np.zeros((2, 3))], (0, 1, 2)),
    "triplet margin tie": (_spec("triplet_margin_loss", margin=0.0, eps=0.0), [np.zeros((1, 2)), np.array([[3.0, 4.0]]), np.array([[0.0, 5.0]])], (0, 1, 2)),
    "smooth labels where with an all-False row (inf)": (
        _spec("smooth_labels", where=MASK), [Y, 0.1], (0,)),
    "smooth labels tuple axis": (_spec("smooth_labels", axis=(0, 1)), [Y, 0.2], (0,)),
    "ctc zero-length labels": _ctc([[1, 2], [1, 1]], [[1, 1], [1, 1]]),
    "ctc no labels at all (N = 0)": _ctc(np.zeros((2, 0), dtype=np.int64), np.zeros((2, 0))),
    "ctc impossible alignment (3 labels, 2 frames)": _ctc([[1, 2, 3]], [[0, 0, 0]], logits=CTC_SHORT),
    "ctc impossible alignment (repeats need a blank)": _ctc([[1, 1], [2, 2]], [[0, 0], [0, 0]], np.array([[0.0, 0, 0, 1], [0, 0, 1, 1]])),
    "ctc repeats need a blank": _ctc([[1, 1], [2, 2]], [[0, 0], [0, 1]]),
    "ctc all frames padded": _ctc([[1, 2], [1, 1]], [[0, 0], [1, 1]], np.ones((2, 4))),
    "ctc blank_id last": _ctc([[1, 0], [2, 2]], [[0, 0], [0, 1]], blank_id=2),
    "ctc blank_id last, log_epsilon -inf (NaN, as optax)": _ctc([[1, 0], [2, 2]], [[0, 0], [0, 0]], blank_id=2, log_epsilon=-np.inf),
    "ctc labels outside [0, K) emit with probability 1": _ctc([[5, -1], [3, 1]], [[0, 0], [0, 1]]),
}


def _random_golden() -> dict:
    r = np.random.default_rng(2025)
    cases = {}
    for i in range(1):
        x, y, t = r.normal(size=(4, 3)), S.soft_targets(r, (4, 3)), r.integers(-1, 3, size=4)
        p, q = r.normal(size=(4, 3)), r.normal(size=(4, 3))
        lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
        cases.update({
            f"sce random {i}": (_spec("softmax_cross_entropy"), [x, y], (0, 1)),
            f"sce int random {i}": (_spec("softmax_cross_entropy_with_integer_labels"), [x, t], (0,)),
            f"safe sce random {i}": (_spec("safe_softmax_cross_entropy"), [x, y], (0, 1)),
            f"sigmoid bce random {i}": (_spec("sigmoid_binary_cross_entropy"), [x, y], (0, 1)),
            f"focal random {i}": (_spec("sigmoid_focal_loss", alpha=0.3), [x, y], (0, 1)),
            f"poly random {i}": (_spec("poly_loss_cross_entropy", epsilon=1.0), [x, y], (0, 1)),
            f"kl random {i}": (_spec("kl_divergence"), [lp, y], (0, 1)),
            f"kl log targets random {i}": (_spec("kl_divergence_with_log_targets"), [lp, np.log(y + 0.1)], (0, 1)),
            f"generalized kl random {i}": (_spec("generalized_kl_divergence"), [lp, y * 2], (0, 1)),
            f"l2 random {i}": (_spec("l2_loss"), [p, q], (0, 1)),
            f"squared error random {i}": (_spec("squared_error"), [p, q], (0, 1)),
            f"huber random {i}": (_spec("huber_loss", delta=0.7), [p, q], (0, 1)),
            f"log_cosh random {i}": (_spec("log_cosh"), [p, q], (0, 1)),
            f"cosine similarity random {i}": (_spec("cosine_similarity"), [p, q], (0, 1)),
            f"cosine distance random {i}": (_spec("cosine_distance", epsilon=0.1), [p, q], (0, 1)),
            f"hinge random {i}": (_spec("hinge_loss"), [p, np.sign(q)], (0, 1)),
            f"perceptron random {i}": (_spec("perceptron_loss"), [p, np.sign(q)], (0, 1)),
            f"sparsemax random {i}": (_spec("sparsemax_loss"), [p, (q > 0).astype(np.int64)], (0,)),
            f"multiclass hinge random {i}": (_spec("multiclass_hinge_loss"), [x, t], (0,)),
            f"multiclass perceptron random {i}": (_spec("multiclass_perceptron_loss"), [x, t], (0,)),
            f"multiclass sparsemax random {i}": (_spec("multiclass_sparsemax_loss"), [x, t], (0,)),
            f"ranking random {i}": (_spec("ranking_softmax_loss"), [x, np.round(2 * y)], (0, 1)),
            f"dice random {i}": (_spec("dice_loss"), [x.reshape(2, 2, 3), np.eye(3)[t].reshape(2, 2, 3)], (0, 1)),
            f"generalized dice random {i}": (_spec("multiclass_generalized_dice_loss"), [x.reshape(2, 2, 3), np.eye(3)[t].reshape(2, 2, 3)], (0, 1)),
            f"binary dice random {i}": (_spec("binary_dice_loss"), [x, (q > 0).astype(float)], (0, 1)),
            f"ntxent random {i}": (_spec("ntxent", temperature=0.5), [p, np.array([0, 0, 1, 1])], (0,)),
            f"triplet random {i}": (_spec("triplet_margin_loss"), [x, p, q], (0, 1, 2)),
            f"smooth labels random {i}": (_spec("smooth_labels"), [y, 0.1], (0,)),
            f"ctc random {i}": _ctc(r.integers(1, 4, size=(3, 2)), [[0, 0], [0, 1], [0, 0]]),
        })
    return cases


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(name, optax_oracle, backends):
    spec, args, wrt = EDGE_CASES[name]
    check(spec, args, [optax_oracle], backends, wrt=wrt)


# ------------------------------------------- errors: the same types as optax

ERROR_CASES = {
    "sce integer logits": (_spec("softmax_cross_entropy"), [np.ones((2, 3), dtype=np.int64), np.ones((2, 3))]),
    "sce axis out of bounds": (_spec("softmax_cross_entropy", axis=2), [X, Y]),
    "sce axis None with a per-example mask": (_spec("softmax_cross_entropy", axis=None, where=np.ones(4, dtype=bool)), [X, Y]),
    "sce labels of another shape": (_spec("softmax_cross_entropy"), [X, np.ones((4, 4))]),
    "sce int float labels": (_spec("softmax_cross_entropy_with_integer_labels"), [X, T.astype(float)]),
    "sce int labels of another batch": (_spec("softmax_cross_entropy_with_integer_labels"), [X, T[:3]]),
    "sce int (N, 1) labels": (_spec("softmax_cross_entropy_with_integer_labels"), [X, T[:, None]]),
    "sce int axis None": (_spec("softmax_cross_entropy_with_integer_labels", axis=None), [X, T]),
    "sce int axis out of bounds": (_spec("softmax_cross_entropy_with_integer_labels", axis=5), [X, T]),
    "safe sce integer logits": (_spec("safe_softmax_cross_entropy"), [np.ones((2, 3), dtype=np.int64), np.ones((2, 3))]),
    "sigmoid bce integer logits": (_spec("sigmoid_binary_cross_entropy"), [np.ones(3, dtype=np.int64), np.ones(3)]),
    "sigmoid bce shapes that do not broadcast": (_spec("sigmoid_binary_cross_entropy"), [X, np.ones(4)]),
    "focal shapes that do not broadcast": (_spec("sigmoid_focal_loss"), [X, np.ones(4)]),
    "poly integer labels": (_spec("poly_loss_cross_entropy"), [X, np.eye(3, dtype=np.int64)[T]]),
    "kl integer targets": (_spec("kl_divergence"), [X, np.eye(3, dtype=np.int64)[T]]),
    "kl log targets integer predictions": (_spec("kl_divergence_with_log_targets"), [np.ones((2, 3), dtype=np.int64), Y[:2]]),
    "kl shapes that do not broadcast": (_spec("kl_divergence"), [X, np.ones(4)]),
    "squared error shape mismatch (no broadcasting)": (_spec("squared_error"), [X, X[0]]),
    "l2 integer predictions": (_spec("l2_loss"), [np.ones(3, dtype=np.int64)]),
    "huber shapes that do not broadcast": (_spec("huber_loss"), [X, np.ones(4)]),
    "log_cosh integer predictions": (_spec("log_cosh"), [np.ones(3, dtype=np.int64)]),
    "cosine integer targets": (_spec("cosine_similarity"), [X, np.ones((4, 3), dtype=np.int64)]),
    "cosine shapes that do not broadcast": (_spec("cosine_distance"), [X, np.ones(4)]),
    "hinge shapes that do not broadcast": (_spec("hinge_loss"), [X, np.ones(4)]),
    "perceptron shape mismatch": (_spec("perceptron_loss"), [X, X[0]]),
    "multiclass hinge labels of another batch": (_spec("multiclass_hinge_loss"), [X, T[:3]]),
    "multiclass sparsemax 1-D scores": (_spec("multiclass_sparsemax_loss"), [X[0], np.array(1)]),
    "multiclass sparsemax 3-D scores": (_spec("multiclass_sparsemax_loss"), [np.ones((2, 4, 3)), np.array([0, 1])]),
    "multiclass sparsemax labels of another batch": (_spec("multiclass_sparsemax_loss"), [X, T[:3]]),
    "multiclass sparsemax float labels": (_spec("multiclass_sparsemax_loss"), [X, T.astype(float)]),
    "ranking integer logits": (_spec("ranking_softmax_loss"), [np.ones((2, 3), dtype=np.int64), Y[:2]]),
    "dice shape mismatch": (_spec("dice_loss"), [X, np.ones((4, 4))]),
    "dice unsupported reduction": (_spec("dice_loss", reduction="avg"), [X, Y]),
    "dice class weights of rank 2": (_spec("dice_loss", class_weights=np.ones((1, 3))), [X, Y]),
    # found by tests/test_argument_conformance.py: NumPy's/torch's raw broadcasting error before
    "dice class weights against a loss reduced over the class axis": (
        _spec("dice_loss", class_weights=np.ones(3), axis=(1,)), [X, Y]),
    "dice apply_softmax=False with logits": (_spec("dice_loss", apply_softmax=False), [X, Y]),
    "binary dice apply_sigmoid=False (optax requires probabilities of 1)": (
        _spec("binary_dice_loss", apply_sigmoid=False), [np.full((2, 3), 0.5), np.ones((2, 3))]),
    "generalized dice shape mismatch": (_spec("multiclass_generalized_dice_loss"), [X, np.ones((4, 4))]),
    "ntxent labels of another batch": (_spec("ntxent"), [X, np.array([0, 0, 1])]),
    "ntxent integer embeddings": (_spec("ntxent"), [np.ones((4, 2), dtype=np.int64), np.array([0, 0, 1, 1])]),
    "triplet integer negatives": (_spec("triplet_margin_loss"), [X, X, np.ones((4, 3), dtype=np.int64)]),
    "smooth labels integer labels": (_spec("smooth_labels"), [np.eye(3, dtype=np.int64), 0.1]),
    "ctc logits of rank 2": (_spec("ctc_loss"), [np.ones((2, 4)), np.zeros((2, 4)), np.ones((2, 2), dtype=np.int64), np.zeros((2, 2))]),
    "ctc labels of rank 1": (_spec("ctc_loss"), [np.ones((2, 4, 3)), np.zeros((2, 4)), np.ones(2, dtype=np.int64), np.zeros(2)]),
    "ctc label paddings of another shape": (_spec("ctc_loss"), [np.ones((2, 4, 3)), np.zeros((2, 4)), np.ones((2, 2), dtype=np.int64), np.zeros((2, 3))]),
    "ctc logit paddings of another shape": (_spec("ctc_loss"), [np.ones((2, 4, 3)), np.zeros((2, 5)), np.ones((2, 2), dtype=np.int64), np.zeros((2, 2))]),
    "ctc labels of another batch": (_spec("ctc_loss"), [np.ones((2, 4, 3)), np.zeros((2, 4)), np.ones((3, 2), dtype=np.int64), np.zeros((3, 2))]),
    "ctc no frames (T = 0)": (_spec("ctc_loss"), [np.ones((2, 0, 3)), np.zeros((2, 0)), np.ones((2, 2), dtype=np.int64), np.zeros((2, 2))]),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_have_optax_types(name, optax_oracle, backends):
    spec, args = ERROR_CASES[name]
    with pytest.raises(OracleError), warnings.catch_warnings():  # an error in optax itself
        warnings.simplefilter("ignore")
        optax_oracle.run(spec, args, "float32")
    check(spec, args, [optax_oracle], backends, dtypes=("float32",))


GOLDEN_CASES = {
    **EDGE_CASES,
    **_random_golden(),
    **{name: (spec, args, ()) for name, (spec, args) in ERROR_CASES.items()},
}
