"""lossbridge.torch against the real torch 2.13, on NumPy, torch and JAX arrays.

``torch-generic`` is lossbridge's generic Array API path run on torch tensors: its
agreement with torch (values and gradients) is the proof that the native kernels
lossbridge calls on torch tensors compute the same thing as the generic code that
runs on NumPy and JAX arrays.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import strategies as S
from harness.conformance import check
from harness.oracle import OracleError, Spec


def _spec(name: str, cls: str | None, use_class: bool, config: dict, kwargs: dict) -> Spec:
    if use_class and cls is not None:
        return Spec("torch", cls, "class", config)
    return Spec("torch", name, "function", kwargs=config | kwargs)


@st.composite
def cross_entropy_case(draw, nll: bool = False):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(S.class_counts)
    layout = draw(st.sampled_from(["NC", "NC", "NCd", "C"]))
    shape = {"NC": (n, c), "NCd": (n, c, 3), "C": (c,)}[layout]
    tshape = {"NC": (n,), "NCd": (n, 3), "C": ()}[layout]
    x = S.logits(r, shape, draw(st.sampled_from(["normal", "normal", "extreme"])))
    if nll:
        x = x - np.log(np.exp(x - x.max(axis=0 if layout == "C" else 1, keepdims=True)).sum(
            axis=0 if layout == "C" else 1, keepdims=True)) - x.max(axis=0 if layout == "C" else 1, keepdims=True)
        if draw(st.booleans()):
            x = r.normal(size=shape)  # NLL does not check that its input is log-probabilities
    prob = (not nll) and draw(st.integers(0, 3)) == 0
    config: dict = {"reduction": draw(S.TORCH_REDUCTIONS)}
    if draw(st.booleans()):
        config["weight"] = r.uniform(0.1, 3.0, size=(c,))
    if prob:
        target = S.soft_targets(r, shape, axis=0 if layout == "C" else 1)
        if draw(st.booleans()):
            config["ignore_index"] = -1
    else:
        target = r.integers(0, c, size=tshape)
        ignore = draw(st.sampled_from([None, "default", "in_range", "negative"]))
        if ignore == "default" and target.ndim:
            target = np.where(r.uniform(size=tshape) < 0.3, -100, target)
        elif ignore == "in_range":
            config["ignore_index"] = int(r.integers(0, c))
        elif ignore == "negative" and target.ndim:
            config["ignore_index"] = -1
            target = np.where(r.uniform(size=tshape) < 0.3, -1, target)
    if not nll:
        ls = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0, -0.5, None]))
        config["label_smoothing"] = float(r.uniform(0, 1)) if ls is None else ls
    return config, x, target


@given(case=cross_entropy_case(), use_class=st.booleans())
def test_cross_entropy(case, use_class, torch_oracle, torch_backends):
    config, x, target = case
    spec = _spec("cross_entropy", "CrossEntropyLoss", use_class, config, {})
    wrt = (0, 1) if target.dtype.kind == "f" else (0,)
    check(spec, [x, target], [torch_oracle], torch_backends, wrt=wrt)


@given(case=cross_entropy_case(nll=True), use_class=st.booleans())
def test_nll_loss(case, use_class, torch_oracle, torch_backends):
    config, x, target = case
    spec = _spec("nll_loss", "NLLLoss", use_class, config, {})
    check(spec, [x, target], [torch_oracle], torch_backends, wrt=(0,))


@st.composite
def binary_case(draw, logits: bool):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    shape = draw(st.sampled_from([(n,), (n, 3), (n, 2, 3)]))
    if logits:
        x = S.logits(r, shape, draw(st.sampled_from(["normal", "extreme"])))
    else:
        x = r.uniform(0, 1, size=shape)
        if draw(st.booleans()):
            x = np.where(r.uniform(size=shape) < 0.3, r.choice([0.0, 1.0], size=shape), x)
    y = r.integers(0, 2, size=shape).astype(float) if draw(st.booleans()) else r.uniform(0, 1, size=shape)
    config: dict = {"reduction": draw(S.TORCH_REDUCTIONS)}
    w = draw(st.sampled_from([None, "full", "last"]))
    if w == "full":
        config["weight"] = r.uniform(0.1, 2.0, size=shape)
    elif w == "last":
        config["weight"] = r.uniform(0.1, 2.0, size=shape[-1:])
    if logits and draw(st.booleans()):
        config["pos_weight"] = r.uniform(0.1, 4.0, size=shape[-1:])
    return config, x, y


@given(case=binary_case(logits=False), use_class=st.booleans())
def test_binary_cross_entropy(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    spec = _spec("binary_cross_entropy", "BCELoss", use_class, config, {})
    # torch's gradient at p = 0 or 1 is +-1e12 by design; compare it relative to its size.
    check(spec, [x, y], [torch_oracle], torch_backends, wrt=(0, 1))


@given(case=binary_case(logits=True), use_class=st.booleans())
def test_binary_cross_entropy_with_logits(case, use_class, torch_oracle, torch_backends):
    config, x, y = case
    spec = _spec("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", use_class, config, {})
    check(spec, [x, y], [torch_oracle], torch_backends, wrt=(0, 1))


@st.composite
def pointwise_case(draw):
    r = S.rng(draw(S.seeds))
    n = draw(S.batch_sizes)
    pair = draw(st.sampled_from(["same", "same", "col_vs_flat", "flat_vs_col", "scalar_target"]))
    xs, ts = {
        "same": ((n, 3), (n, 3)), "col_vs_flat": ((n, 1), (n,)), "flat_vs_col": ((n,), (n, 1)),
        "scalar_target": ((n, 2), ()),
    }[pair]
    x, t = r.normal(size=xs), r.normal(size=ts)
    if pair == "same" and draw(st.booleans()):
        x = np.where(r.uniform(size=xs) < 0.3, t, x)  # ties: the gradient of |d| at 0 is 0
    config: dict = {"reduction": draw(S.TORCH_REDUCTIONS)}
    kwargs: dict = {}
    if draw(st.booleans()):
        kwargs["weight"] = r.uniform(0.0, 2.0, size=xs)
    return config, kwargs, x, t


@pytest.mark.parametrize("name,cls", [("mse_loss", "MSELoss"), ("l1_loss", "L1Loss")])
@given(case=pointwise_case(), use_class=st.booleans())
def test_pointwise(name, cls, case, use_class, torch_oracle, torch_backends):
    config, kwargs, x, t = case
    if kwargs:  # weight= exists on the functional form only
        use_class = False
    spec = _spec(name, cls, use_class, config, kwargs)
    check(spec, [x, t], [torch_oracle], torch_backends, wrt=(0, 1))


# ------------------------------------------------------------------ edge cases

X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
T = np.array([0, 2, 1, 2])
W = np.array([1.0, 2.0, 3.0])

EDGE_CASES = {
    "ce all ignored (mean is NaN, gradient 0)": (
        Spec("torch", "cross_entropy", kwargs={}), [X, np.full(4, -100)], (0,)),
    "ce all ignored, label smoothing": (
        Spec("torch", "cross_entropy", kwargs={"label_smoothing": 0.1}), [X, np.full(4, -100)], (0,)),
    "ce zero weights (NaN value and gradient)": (
        Spec("torch", "cross_entropy", kwargs={"weight": np.array([0.0, 1.0, 1.0])}), [X, np.zeros(4, dtype=np.int64)], (0,)),
    "ce empty batch": (Spec("torch", "cross_entropy"), [np.zeros((0, 3)), np.zeros((0,), dtype=np.int64)], (0,)),
    "ce empty batch, probabilities": (Spec("torch", "cross_entropy"), [np.zeros((0, 3)), np.zeros((0, 3))], (0,)),
    "ce label_smoothing 1.0": (Spec("torch", "cross_entropy", kwargs={"label_smoothing": 1.0, "weight": W}), [X, T], (0,)),
    "ce logits +-1e4": (
        Spec("torch", "cross_entropy", kwargs={"reduction": "none"}),
        [np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), np.array([1, 2])], (0,)),
    "ce -inf logit off target": (
        Spec("torch", "cross_entropy", kwargs={"reduction": "none"}),
        [np.array([[-np.inf, 1.0, 2.0], [0.0, 1.0, 2.0]]), np.array([1, 2])], (0,)),
    # torch 2.13 computes this value but its backward raises "size mismatch": values only.
    "ce 1-D input with a (1,) target": (Spec("torch", "cross_entropy", kwargs={"reduction": "none"}), [X[0], np.array([1])], ()),
    "ce weighted one-hot float targets (not the index mean)": (
        Spec("torch", "cross_entropy", kwargs={"weight": W}), [X, np.eye(3)[T]], (0,)),
    "ce 5-D input": (Spec("torch", "cross_entropy"), [np.random.default_rng(0).normal(size=(2, 3, 2, 2, 2)), np.random.default_rng(1).integers(0, 3, (2, 2, 2, 2))], (0,)),
    "bce p exactly 0 and 1": (
        Spec("torch", "binary_cross_entropy", kwargs={"reduction": "none"}),
        [np.array([0.0, 1.0, 0.0, 1.0, 1e-13, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.3])], (0, 1)),
    "bce empty": (Spec("torch", "binary_cross_entropy"), [np.zeros((0,)), np.zeros((0,))], (0,)),
    "bce with logits +-inf (NaN, as torch)": (
        Spec("torch", "binary_cross_entropy_with_logits", kwargs={"reduction": "none"}),
        [np.array([np.inf, -np.inf, 3.0]), np.array([1.0, 1.0, 0.5])], (0,)),
    "bce with logits x = -200": (
        Spec("torch", "binary_cross_entropy_with_logits", kwargs={"reduction": "none"}),
        [np.array([-200.0, 200.0]), np.array([1.0, 0.0])], (0, 1)),
    "mse (N,1) vs (N,) broadcast": (Spec("torch", "mse_loss"), [np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 3.0])], (0, 1)),
    "mse zero weights (NaN)": (Spec("torch", "mse_loss", kwargs={"weight": np.zeros(2)}), [np.array([1.0, 2.0]), np.zeros(2)], (0,)),
    "mse empty": (Spec("torch", "mse_loss"), [np.zeros((0,)), np.zeros((0,))], (0,)),
    "l1 empty, sum": (Spec("torch", "l1_loss", kwargs={"reduction": "sum"}), [np.zeros((0,)), np.zeros((0,))], (0,)),
}


def _random_golden() -> dict:
    r = np.random.default_rng(2024)
    cases = {}
    for i in range(3):
        x, t = r.normal(size=(4, 3)), r.integers(0, 3, size=4)
        t_ign = np.where(r.uniform(size=4) < 0.3, -100, t)
        cases[f"ce random {i}"] = (Spec("torch", "cross_entropy", kwargs={"weight": r.uniform(0.5, 2, 3), "label_smoothing": 0.1 * i}), [x, t_ign], (0,))
        cases[f"ce probabilities random {i}"] = (Spec("torch", "cross_entropy", kwargs={"weight": r.uniform(0.5, 2, 3)}), [x, S.soft_targets(r, (4, 3))], (0, 1))
        cases[f"nll random {i}"] = (Spec("torch", "nll_loss", kwargs={"reduction": "sum"}), [x, t_ign], (0,))
        cases[f"bce random {i}"] = (Spec("torch", "binary_cross_entropy", kwargs={"weight": r.uniform(0.5, 2, 3)}), [r.uniform(size=(4, 3)), r.uniform(size=(4, 3))], (0, 1))
        cases[f"bce logits random {i}"] = (Spec("torch", "binary_cross_entropy_with_logits", kwargs={"pos_weight": r.uniform(0.5, 3, 3)}), [x, r.uniform(size=(4, 3))], (0, 1))
        cases[f"mse random {i}"] = (Spec("torch", "mse_loss", kwargs={"weight": r.uniform(0, 2, (4, 3))}), [x, r.normal(size=(4, 3))], (0, 1))
        cases[f"l1 random {i}"] = (Spec("torch", "l1_loss", kwargs={"reduction": "none"}), [x, r.normal(size=(4, 3))], (0, 1))
    return cases


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(name, torch_oracle, torch_backends):
    spec, args, wrt = EDGE_CASES[name]
    check(spec, args, [torch_oracle], torch_backends, wrt=wrt)


# -------------------------------------------------- errors: same type as torch

ERROR_CASES = {
    "ce float (N,) target": (Spec("torch", "cross_entropy"), [X, T.astype(float)]),
    "ce long target of input's shape": (Spec("torch", "cross_entropy"), [X, np.eye(3, dtype=np.int64)[T]]),
    "ce batch mismatch": (Spec("torch", "cross_entropy"), [X, T[:3]]),
    "ce (N,1) target": (Spec("torch", "cross_entropy"), [X, T[:, None]]),
    "ce K-dim target mismatch": (Spec("torch", "cross_entropy"), [np.zeros((2, 3, 4)), np.zeros((2, 5), dtype=np.int64)]),
    "ce weight of wrong length": (Spec("torch", "cross_entropy", kwargs={"weight": np.ones(4)}), [X, T]),
    "ce target out of range": (Spec("torch", "cross_entropy"), [X, np.array([0, 3, 1, 2])]),
    "ce negative target": (Spec("torch", "cross_entropy"), [X, np.array([0, -1, 1, 2])]),
    "ce label_smoothing > 1": (Spec("torch", "cross_entropy", kwargs={"label_smoothing": 1.5}), [X, T]),
    "ce ignore_index with probabilities": (Spec("torch", "cross_entropy", kwargs={"ignore_index": 0}), [X, np.eye(3)[T]]),
    "ce unknown reduction": (Spec("torch", "cross_entropy", kwargs={"reduction": "avg"}), [X, T]),
    "ce 1-D input, 2 targets": (Spec("torch", "cross_entropy"), [X[0], np.array([1, 1])]),
    "nll 0-d input": (Spec("torch", "nll_loss"), [np.array(1.0), np.array(0)]),
    "bce shape mismatch": (Spec("torch", "binary_cross_entropy"), [np.full((4, 1), 0.5), np.ones(4)]),
    "bce input out of [0, 1]": (Spec("torch", "binary_cross_entropy"), [np.array([0.5, 1.5]), np.ones(2)]),
    "bce target out of [0, 1]": (Spec("torch", "binary_cross_entropy"), [np.array([0.5, 0.5]), np.array([1.0, 2.0])]),
    "bce NaN input": (Spec("torch", "binary_cross_entropy"), [np.array([np.nan]), np.ones(1)]),
    "bce long target": (Spec("torch", "binary_cross_entropy"), [np.array([0.5]), np.array([1])]),
    "bce weight not broadcastable": (Spec("torch", "binary_cross_entropy", kwargs={"weight": np.ones(2)}), [np.full((2, 3), 0.5), np.ones((2, 3))]),
    "bce with logits shape mismatch": (Spec("torch", "binary_cross_entropy_with_logits"), [np.zeros((4, 1)), np.ones(4)]),
    "bce with logits long target": (Spec("torch", "binary_cross_entropy_with_logits"), [np.zeros(2), np.array([1, 0])]),
    "mse sizes that do not broadcast": (Spec("torch", "mse_loss"), [np.ones(3), np.ones(4)]),
    "mse weight of another size": (Spec("torch", "mse_loss", kwargs={"weight": np.ones(1)}), [np.ones(2), np.zeros(2)]),
    "mse integer input and target": (Spec("torch", "mse_loss"), [np.ones(3, dtype=np.int64), np.ones(3, dtype=np.int64)]),
    "mse weighted elementwise_mean": (Spec("torch", "mse_loss", kwargs={"weight": np.ones(2), "reduction": "elementwise_mean"}), [np.ones(2), np.zeros(2)]),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_have_torch_types(name, torch_oracle, torch_backends):
    spec, args = ERROR_CASES[name]
    with pytest.raises(OracleError), warnings.catch_warnings():  # an error in torch itself
        warnings.simplefilter("ignore")
        torch_oracle.run(spec, args, "float32")
    check(spec, args, [torch_oracle], torch_backends, dtypes=("float32",))


GOLDEN_CASES = {**EDGE_CASES, **_random_golden(), **{name: (spec, args, ()) for name, (spec, args) in ERROR_CASES.items()}}
