"""lossbridge.tf_keras against the real tf_keras 2.21 (TensorFlow 2.21).

Every class and function of the tf.keras 2 dialect on randomised inputs (hypothesis draws
the structure, NumPy the values): values and gradients (TensorFlow's ``GradientTape`` with
a non-uniform upstream gradient) on NumPy, torch and JAX arrays, float32 and float64
inputs (tf.keras keeps the dtype: float64 is compared at float64), every reduction, sample
weights of every rank tf.keras aligns; then edge cases, errors and identifiers.

The oracle is a worker process (:class:`harness.oracle.TfKerasOracle`) run by an
interpreter with TensorFlow: this one when tensorflow and tf_keras are installed (the
test extra), or ``$LOSSBRIDGE_TF_KERAS_PYTHON``.  Without one these tests skip (fail under
``--require-frameworks``); ``tests/test_golden.py`` replays the ``GOLDEN_CASES`` recorded
from tf_keras (``tests/golden/tf_keras.json``).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbridge as lb
from harness import strategies as S
from harness.conformance import check
from harness.oracle import OracleError, Spec

EXAMPLES = settings.default.max_examples


def examples(fraction: float) -> int:
    return max(3, round(EXAMPLES * fraction))


REDUCTIONS = st.sampled_from(["auto", "sum_over_batch_size", "sum", "none"])
WEIGHTS = st.sampled_from(["none", "scalar", "per_sample", "per_sample_col", "per_element"])
N = 4

ELEMENTWISE = [
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "Poisson", "KLDivergence", "Hinge",
    "SquaredHinge", "CategoricalHinge", "CosineSimilarity",
]
FUNCTIONS = {
    "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error", "Huber": "huber",
    "LogCosh": "log_cosh", "Poisson": "poisson", "KLDivergence": "kl_divergence", "Hinge": "hinge",
    "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge",
    "CosineSimilarity": "cosine_similarity",
}


def _values(name: str, r: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if name in ("Hinge", "SquaredHinge"):
        labels = r.integers(0, 2, size=shape).astype(float)
        return (labels if r.uniform() < 0.5 else 2 * labels - 1), r.normal(size=shape)
    if name == "CategoricalHinge":
        return S.one_hot(r, r.integers(0, shape[-1], size=shape[:-1]), shape[-1]), r.normal(size=shape)
    if name in ("Poisson",):
        return r.poisson(2.0, size=shape).astype(float), r.uniform(0.05, 4.0, size=shape)
    if name == "KLDivergence":
        return S.soft_targets(r, shape), S.probabilities(r, shape, "normalised")
    if name == "MeanSquaredLogarithmicError":
        return r.uniform(0.0, 5.0, size=shape), r.uniform(0.0, 5.0, size=shape)
    if name == "MeanAbsolutePercentageError":
        return r.uniform(0.5, 3.0, size=shape) * r.choice([-1, 1], size=shape), r.normal(size=shape)
    if name == "Huber":
        return r.normal(size=shape), r.normal(0, 2, size=shape)
    return r.normal(size=shape), r.normal(size=shape)


@st.composite
def elementwise_case(draw, name: str):
    r = S.rng(draw(S.seeds))
    shape = draw(st.sampled_from([(N, 3), (N, 2, 3)]))
    y_true, y_pred = _values(name, r, shape)
    config = {"reduction": draw(REDUCTIONS)}
    if name == "Huber":
        config["delta"] = draw(st.sampled_from([1.0, 0.5, 2.5]))
    if name == "CosineSimilarity" and len(shape) == 3:
        config["axis"] = draw(st.sampled_from([-1, 1]))
    loss_shape = shape[:-1] if config.get("axis", -1) == -1 else shape[:1] + shape[2:]
    sw = S.sample_weight(r, draw(WEIGHTS), loss_shape)
    return config, y_true, y_pred, sw


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=examples(0.08))
@given(data=st.data())
def test_elementwise_class(name, data, tf_keras_oracle, backends):
    config, y_true, y_pred, sw = data.draw(elementwise_case(name))
    check(Spec("tf_keras", name, "class", config), [y_true, y_pred, sw], [tf_keras_oracle], backends,
          wrt=(0, 1) if name not in ("Hinge", "SquaredHinge", "CategoricalHinge") else (1,))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_function(name, tf_keras_oracle, backends):
    r = S.rng(len(name))
    y_true, y_pred = _values(name, r, (N, 3))
    check(Spec("tf_keras", FUNCTIONS[name], "function"), [y_true, y_pred], [tf_keras_oracle], backends,
          wrt=(1,))


# ----------------------------------------------------------------- cross-entropies


@st.composite
def binary_case(draw, focal: bool):
    r = S.rng(draw(S.seeds))
    shape = draw(st.sampled_from([(N, 3), (N, 1)]))
    from_logits = draw(st.booleans())
    y_true = r.integers(0, 2, size=shape).astype(float)
    if draw(st.booleans()):
        y_true = r.uniform(size=shape)
    if from_logits:
        y_pred = S.logits(r, shape, draw(st.sampled_from(["normal", "extreme"])))
    else:
        y_pred = S.probabilities(r, shape, draw(st.sampled_from(["normalised", "edges", "tiny"])))
        y_pred = np.clip(y_pred * r.uniform(0.5, 1.0, size=shape), 0.0, 1.0)
    config = {"from_logits": from_logits, "label_smoothing": draw(st.sampled_from([0.0, 0.2])),
              "reduction": draw(REDUCTIONS)}
    if focal:
        config.update(apply_class_balancing=draw(st.booleans()), alpha=draw(st.sampled_from([0.25, 0.6])),
                      gamma=draw(st.sampled_from([0.5, 2.0, 1.5])))
        # gamma = 0 with p_t == 1 exactly: TensorFlow's pow gradient is 0 * 0**-1 = NaN, the
        # array library's is 0 (a documented divergence); 0 < gamma keeps the edges finite.
    return config, y_true, y_pred, S.sample_weight(r, draw(WEIGHTS), shape[:-1])


@pytest.mark.parametrize("name", ["BinaryCrossentropy", "BinaryFocalCrossentropy"])
@settings(max_examples=examples(0.15))
@given(data=st.data())
def test_binary_classes(name, data, tf_keras_oracle, backends):
    config, y_true, y_pred, sw = data.draw(binary_case(name == "BinaryFocalCrossentropy"))
    check(Spec("tf_keras", name, "class", config), [y_true, y_pred, sw], [tf_keras_oracle], backends,
          wrt=(1,))


@st.composite
def categorical_case(draw, name: str):
    r = S.rng(draw(S.seeds))
    c = draw(st.sampled_from([3, 5]))
    labels = r.integers(0, c, size=(N,))
    from_logits = draw(st.booleans())
    y_pred = (S.logits(r, (N, c), "normal") if from_logits
              else S.probabilities(r, (N, c), draw(st.sampled_from(["normalised", "unnormalised", "tiny"]))))
    config = {"from_logits": from_logits, "reduction": draw(REDUCTIONS)}
    if name == "SparseCategoricalCrossentropy":
        y_true = labels if draw(st.booleans()) else labels[:, None]
        if draw(st.booleans()):
            config["ignore_class"] = int(labels[0])
    else:
        y_true = S.one_hot(r, labels, c) if draw(st.booleans()) else S.soft_targets(r, (N, c))
        config["label_smoothing"] = draw(st.sampled_from([0.0, 0.1]))
        if name == "CategoricalFocalCrossentropy":
            config.update(alpha=draw(st.sampled_from([0.25, 1.0])), gamma=draw(st.sampled_from([0.0, 2.0])))
    return config, y_true, y_pred, S.sample_weight(r, draw(st.sampled_from(["none", "scalar", "per_sample"])), (N,))


@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "CategoricalFocalCrossentropy",
                                  "SparseCategoricalCrossentropy"])
@settings(max_examples=examples(0.12))
@given(data=st.data())
def test_categorical_classes(name, data, tf_keras_oracle, backends):
    config, y_true, y_pred, sw = data.draw(categorical_case(name))
    check(Spec("tf_keras", name, "class", config), [y_true, y_pred, sw], [tf_keras_oracle], backends,
          wrt=(1,))


CE_FUNCTIONS = {
    "binary_crossentropy": ({}, "binary"), "binary_focal_crossentropy": ({"from_logits": True}, "binary"),
    "categorical_crossentropy": ({}, "onehot"), "categorical_focal_crossentropy": ({}, "onehot"),
    "sparse_categorical_crossentropy": ({}, "labels"),
}


@pytest.mark.parametrize("name", list(CE_FUNCTIONS))
def test_cross_entropy_functions(name, tf_keras_oracle, backends):
    kwargs, kind = CE_FUNCTIONS[name]
    r = S.rng(7)
    y_pred = S.logits(r, (N, 3), "normal") if kwargs.get("from_logits") else S.probabilities(r, (N, 3), "tiny")
    labels = r.integers(0, 3, size=(N,))
    y_true = {"binary": r.integers(0, 2, size=(N, 3)).astype(float), "onehot": S.one_hot(r, labels, 3),
              "labels": labels}[kind]
    check(Spec("tf_keras", name, "function", kwargs=kwargs), [y_true, y_pred], [tf_keras_oracle], backends,
          wrt=(1,))


# ------------------------------------------------------------------------- CTC


@st.composite
def ctc_case(draw):
    r = S.rng(draw(S.seeds))
    t, c, length = 6, 4, 3
    label_length = r.integers(1, length + 1, size=(N, 1))
    input_length = r.integers(length * 2, t + 1, size=(N, 1))
    labels = r.integers(0, c - 1, size=(N, length))
    labels = np.where(np.arange(length)[None, :] < label_length, labels, draw(st.sampled_from([0, -1])))
    probs = S.probabilities(r, (N, t, c), draw(st.sampled_from(["normalised", "tiny"])))
    return labels, probs, input_length, label_length


@settings(max_examples=examples(0.1))
@given(case=ctc_case())
def test_ctc_batch_cost(case, tf_keras_oracle, backends):
    """TensorFlow's CTC kernel is only about float32-accurate in float64 (values within
    ~1e-8, gradients ~1e-6 of the exact recursion): float64 is compared with wider
    tolerances (rtol 1e-7 on values, 1e-5 on gradients)."""
    spec = Spec("tf_keras", "ctc_batch_cost")
    check(spec, list(case), [tf_keras_oracle], backends, wrt=(1,), dtypes=("float32",))
    check(spec, list(case), [tf_keras_oracle], backends, wrt=(1,), dtypes=("float64",), scale=100,
          grad_scale=1e4)


# ------------------------------------------------------------------ edge cases

T2 = np.array([[0.0, 1.0], [1.0, 0.0]])
P2 = np.array([[0.0, 1.0], [0.3, 1.0 - 1e-9]])
GOLDEN_CASES = {
    "bce epsilon inside the log at p in {0, 1}": (Spec("tf_keras", "BinaryCrossentropy", "class", {"reduction": "none"}),
                                                 [T2, P2, None], (1,)),
    "bce (N,) against (N, 1): squeezed": (Spec("tf_keras", "BinaryCrossentropy", "class", {"reduction": "none"}),
                                          [np.array([0.0, 1.0, 1.0]), np.array([[0.2], [0.6], [0.9]]), None], (1,)),
    "mse (N,) against (N, 1), class": (Spec("tf_keras", "MeanSquaredError", "class", {"reduction": "none"}),
                                       [np.array([1.0, 2.0, 0.5]), np.array([[1.0], [3.0], [0.0]]), None], (0, 1)),
    "mse (N,) against (N, 1), function broadcasts": (Spec("tf_keras", "mean_squared_error"),
                                                     [np.array([1.0, 2.0, 0.5]), np.array([[1.0], [3.0], [0.0]])], (0, 1)),
    "per-sample weights (N,) on a (N, 2) loss": (Spec("tf_keras", "MeanAbsoluteError", "class", {"reduction": "sum"}),
                                                 [np.ones((3, 2, 4)), np.arange(24.0).reshape(3, 2, 4) / 10 + 0.05, np.array([1.0, 0.5, 2.0])], (1,)),
    "weights (N, 1) on a (N,) loss": (Spec("tf_keras", "Hinge", "class", {"reduction": "auto"}),
                                      [T2, np.array([[0.5, 2.0], [0.3, 0.9]]), np.array([[2.0], [0.5]])], (1,)),
    "cosine of a zero vector: finite gradient": (Spec("tf_keras", "CosineSimilarity", "class", {"reduction": "none"}),
                                                 [np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]), None], (0, 1)),
    "focal from logits, extreme logits": (Spec("tf_keras", "BinaryFocalCrossentropy", "class", {"from_logits": True, "reduction": "none"}),
                                          [T2, np.array([[-200.0, 200.0], [50.0, -30.0]]), None], (1,)),
    "sparse cce clips before renormalising": (Spec("tf_keras", "SparseCategoricalCrossentropy", "class", {"reduction": "none"}),
                                              [np.array([0, 2]), np.array([[1e-9, 0.5, 0.5], [2.0, 1.0, 1e-12]]), None], (1,)),
    "sparse cce every sample ignored": (Spec("tf_keras", "SparseCategoricalCrossentropy", "class", {"ignore_class": 1}),
                                        [np.array([1, 1]), np.array([[0.2, 0.8], [0.5, 0.5]]), None], (1,)),
    "huber float64 computes in float32": (Spec("tf_keras", "Huber", "class", {"delta": 0.7, "reduction": "none"}),
                                          [np.array([[0.1, 2.0]]), np.array([[1.3, 2.2]]), None], (0, 1)),
    "empty batch": (Spec("tf_keras", "MeanSquaredError", "class", {}), [np.zeros((0, 3)), np.zeros((0, 3)), None], (1,)),
    "ctc: a label too long for its input raises": (Spec("tf_keras", "ctc_batch_cost"),
                                            [np.array([[0, 1, 0]]), np.full((1, 3, 3), 1 / 3), np.array([[2]]), np.array([[3]])], ()),
    "ctc: an empty label sequence raises": (Spec("tf_keras", "ctc_batch_cost"),
                                            [np.array([[0, 1]]), np.full((1, 3, 3), 1 / 3), np.array([[3]]), np.array([[0]])], ()),
    "bad weight rank: squeeze of a non-1 axis": (Spec("tf_keras", "MeanSquaredError", "class", {}),
                                                  [np.ones((2, 3)), np.zeros((2, 3)), np.ones((2, 3))], ()),
    "sparse cce label out of range": (Spec("tf_keras", "SparseCategoricalCrossentropy", "class", {}),
                                      [np.array([0, 3]), np.array([[0.2, 0.8], [0.5, 0.5]]), None], ()),
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_edge_cases(name, tf_keras_oracle, backends):
    spec, args, wrt = GOLDEN_CASES[name]
    check(spec, list(args), [tf_keras_oracle], backends, wrt=wrt)


def test_float64_is_kept_and_float32_is_not_promoted(backends):
    y = np.array([[0.3, 0.7]])
    assert lb.tf_keras.MeanSquaredError()(y, y * 2).dtype == np.float64
    assert lb.tf_keras.MeanSquaredError()(y.astype(np.float32), y.astype(np.float32)).dtype == np.float32
    assert lb.keras.MeanSquaredError()(y, y * 2).dtype == np.float32  # Keras 3 casts


# ------------------------------------------------------------ API against tf_keras


def test_identifiers_and_configs_match_tf_keras(tf_keras_oracle):
    names = ["huber_loss", "logcosh", "kullback_leibler_divergence", "kld", "KLD", "mse", "MSE", "mae",
             "mape", "msle", "MSLE", "bce", "BCE", "cosine_similarity", "huber", "log_cosh"]
    theirs = tf_keras_oracle.exec(
        "result = {n: tf_keras.losses.get(n).__name__ for n in names}", names=names)
    assert {n: lb.tf_keras.get(n).__name__ for n in names} == theirs
    classes = [n for n in lb.tf_keras.ALL_OBJECTS_DICT if n[0].isupper() and n not in ("Loss", "BCE", "MSE",
               "MAE", "MAPE", "MSLE", "KLD")]
    theirs = tf_keras_oracle.exec(
        "result = {n: tf_keras.losses.serialize(getattr(tf_keras.losses, n)()) for n in names}", names=classes)
    ours = {n: lb.tf_keras.serialize(getattr(lb.tf_keras, n)()) for n in classes}
    assert ours == theirs
    exported = tf_keras_oracle.exec(
        "result = sorted(n for n in dir(tf_keras.losses) if not n.startswith('_'))")
    missing = [n for n in exported if n not in ("Reduction",) and not hasattr(lb.tf_keras, n)]
    assert not missing, missing
    for name in ("Dice", "nope", "CTC"):
        with pytest.raises(OracleError, match="Unknown loss function"):
            tf_keras_oracle.exec("result = tf_keras.losses.get(name)", name=name)
        with pytest.raises(lb.LossBridgeError, match="Unknown loss function") as e:
            lb.tf_keras.get(name)
        assert isinstance(e.value, ValueError)


def test_reduction_keys_match_tf_keras(tf_keras_oracle):
    theirs = tf_keras_oracle.exec("result = tf_keras.losses.Reduction.all()")
    assert tuple(theirs) == lb.tf_keras._loss.REDUCTIONS
    for bad in ("mean", None, "mean_with_sample_weight"):
        with pytest.raises(OracleError, match="Invalid Reduction Key"):
            tf_keras_oracle.exec("result = tf_keras.losses.MeanSquaredError(reduction=r)", r=bad)
        with pytest.raises(lb.LossBridgeError, match="Invalid Reduction Key") as e:
            lb.tf_keras.MeanSquaredError(reduction=bad)
        assert isinstance(e.value, ValueError)


def test_signatures_match_tf_keras(tf_keras_oracle):
    import inspect

    names = [n for n in dir(lb.tf_keras) if not n.startswith("_") and callable(getattr(lb.tf_keras, n))
             and n not in ("get", "serialize", "deserialize", "ALL_OBJECTS_DICT", "Loss", "LossFunctionWrapper")]
    theirs = tf_keras_oracle.exec(
        "import inspect\n"
        "mods = [tf_keras.losses, tf_keras.backend]\n"
        "result = {}\n"
        "for n in names:\n"
        "    obj = next((getattr(m, n) for m in mods if hasattr(m, n)), None)\n"
        "    if obj is not None:\n"
        "        sig = inspect.signature(obj)\n"
        "        result[n] = [(p.name, repr(p.default)) for p in sig.parameters.values()\n"
        "                     if p.kind is not p.VAR_KEYWORD]\n", names=names)
    for n, params in theirs.items():
        ours = [(p.name, repr(p.default)) for p in inspect.signature(getattr(lb.tf_keras, n)).parameters.values()
                if p.kind is not p.VAR_KEYWORD]
        assert ours == params, n


# ---------------------------------------------------------------------- errors


def test_errors_name_the_argument():
    with pytest.raises(lb.LossBridgeError, match=r"Invalid Reduction Key: mean.*sum_over_batch_size"):
        lb.tf_keras.Huber(reduction="mean")
    with pytest.raises(lb.LossBridgeError, match=r"squeeze.*sample_weight"):
        lb.tf_keras.MeanSquaredError()(np.ones((2, 3)), np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(lb.LossBridgeError, match="Incompatible shapes"):
        lb.tf_keras.MeanSquaredError()(np.ones((2, 3)), np.zeros((2, 3)), np.ones((3,)))
    with pytest.raises(lb.LossBridgeIndexError, match="label 3"):
        lb.tf_keras.SparseCategoricalCrossentropy()(np.array([0, 3]), np.array([[0.2, 0.8], [0.5, 0.5]]))
    with pytest.raises(lb.LossBridgeError, match=r"input_length.*\(batch, 1\)"):
        lb.tf_keras.ctc_batch_cost(np.array([[0]]), np.full((1, 2, 2), 0.5), np.array([2]), np.array([[1]]))
    with pytest.raises(lb.LossBridgeError, match=r"y_pred.*probabilities of shape"):
        lb.tf_keras.ctc_batch_cost(np.array([[0]]), np.full((2, 2), 0.5), np.array([[2]]), np.array([[1]]))
    with pytest.raises(lb.LossBridgeError, match=r"y_true.*integer labels"):
        lb.tf_keras.ctc_batch_cost(np.array([0]), np.full((1, 2, 2), 0.5), np.array([[2]]), np.array([[1]]))
    with pytest.raises(lb.LossBridgeError, match="Labels length is zero in batch 1"):
        lb.tf_keras.ctc_batch_cost(np.array([[0], [0]]), np.full((2, 2, 2), 0.5), np.array([[2], [2]]),
                                   np.array([[1], [0]]))
    # a label_length beyond y_true's columns reads the columns there are, as tf.keras does (no
    # error; tests/badinput/test_regressions.py compares the value with TensorFlow's)
    np.testing.assert_allclose(
        lb.tf_keras.ctc_batch_cost(np.array([[0]]), np.full((1, 2, 2), 0.5), np.array([[2]]), np.array([[2]])),
        lb.tf_keras.ctc_batch_cost(np.array([[0]]), np.full((1, 2, 2), 0.5), np.array([[2]]), np.array([[1]])))
    with pytest.raises(lb.LossBridgeError, match=r"required: 3, available: 2\) in batch 0"):  # 1 1 needs a blank
        lb.tf_keras.ctc_batch_cost(np.array([[1, 1]]), np.full((1, 3, 3), 0.3), np.array([[2]]), np.array([[2]]))
    with pytest.raises(lb.LossBridgeIndexError, match="non-null label"):  # label == blank
        lb.tf_keras.ctc_batch_cost(np.array([[1]]), np.full((1, 2, 2), 0.5), np.array([[2]]), np.array([[1]]))
    with pytest.raises(lb.LossBridgeError, match=r"Keras 3 loss that tf.keras 2 does not have"):
        lb.tf_keras.get("Dice")
    with pytest.raises(lb.LossBridgeError, match="Could not interpret"):
        lb.tf_keras.get(3)
    with pytest.raises(lb.LossBridgeError, match=r"does not name a lossbridge tf.keras loss class"):
        lb.tf_keras.deserialize({"class_name": "mse", "config": {}})
    with pytest.raises(lb.LossBridgeError, match="'class_name' and 'config'"):
        lb.tf_keras.deserialize({"config": {}})
    with pytest.raises(lb.LossBridgeError, match="Could not interpret serialized"):
        lb.tf_keras.deserialize(3)
    with pytest.raises(lb.LossBridgeError, match="Cannot serialize"):
        lb.tf_keras.serialize(3)


def test_roundtrip_and_keras3_differences():
    loss = lb.tf_keras.deserialize(lb.tf_keras.serialize(lb.tf_keras.Huber(delta=2.0, reduction="sum")))
    assert (loss.delta if hasattr(loss, "delta") else loss._fn_kwargs["delta"]) == 2.0
    assert loss.reduction == "sum" and loss.name == "huber_loss"
    wrapper = lb.tf_keras.LossFunctionWrapper.from_config({"fn": "logcosh", "reduction": "none", "name": "x"})
    assert wrapper.fn is lb.tf_keras.log_cosh
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.LossBridgeWarning)
        y, p = np.array([[0.0, 1.0]]), np.array([[0.0, 0.0]])
        # the known differences from Keras 3, one by one
        assert float(lb.tf_keras.binary_crossentropy(y, p)[0]) == pytest.approx(-0.5 * np.log(2e-7), rel=1e-6)
        assert float(lb.keras.binary_crossentropy(y, p)[0]) == pytest.approx(-0.5 * np.log(1e-7), rel=1e-6)
        zero = np.array([[0.0, 0.0]])
        assert float(lb.tf_keras.cosine_similarity(zero, np.array([[1.0, 0.0]]))[0]) == 0.0


# ------------------------------------- intentional divergences from tf_keras (tested)


@pytest.mark.parametrize("name", ["categorical_crossentropy", "categorical_focal_crossentropy"])
def test_label_smoothing_counts_classes_as_tf_keras(name, tf_keras_oracle):
    """tf_keras 2.21 smooths with K = y_true.shape[axis] in categorical_crossentropy and
    K = y_true.shape[-1] in categorical_focal_crossentropy; lossbridge.tf_keras does the
    same (on (1, C=3, T=2) with axis=1 the two counts differ), without a warning and
    without Keras 3's fixed_label_smoothing argument."""
    r = S.rng(3)
    y_true = S.one_hot(r, np.array([[0, 2]]), 3, axis=1)
    y_pred = S.probabilities(r, (1, 3, 2), "normalised", axis=1)
    ls = 0.2
    theirs = tf_keras_oracle.exec(
        f"result = tf_keras.losses.{name}(tf.constant(t), tf.constant(p), "
        "label_smoothing=ls, axis=1).numpy()", t=y_true, p=y_pred, ls=ls)
    fn = getattr(lb.tf_keras, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = fn(y_true, y_pred, label_smoothing=ls, axis=1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    k = 3 if name == "categorical_crossentropy" else 2
    np.testing.assert_allclose(ours, fn(y_true * (1 - ls) + ls / k, y_pred, axis=1), rtol=1e-12)
    assert "fixed_label_smoothing" not in inspect.signature(fn).parameters
    with pytest.raises(TypeError, match="fixed_label_smoothing"):
        fn(y_true, y_pred, label_smoothing=ls, axis=1, fixed_label_smoothing=True)


def test_numpy_inputs_are_aligned_like_tensors(tf_keras_oracle):
    """tf_keras' classes align ranks only for TensorFlow tensors: on NumPy arrays (N,)
    against (N, 1) broadcasts to (N, N).  lossbridge aligns every array kind, as tf.keras
    does on the tensors of a model: its value is tf_keras' on tensors, and tf_keras'
    value on NumPy arrays is the function form's broadcast."""
    a, b = np.array([1.0, 2.0, 0.5]), np.array([[1.0], [3.0], [0.0]])
    on_tensors, on_numpy = tf_keras_oracle.exec(
        "loss = tf_keras.losses.MeanSquaredError(reduction='none')\n"
        "result = (loss(tf.constant(a), tf.constant(b)).numpy(), loss(a, b).numpy())", a=a, b=b)
    ours = lb.tf_keras.MeanSquaredError(reduction="none")(a, b)
    np.testing.assert_allclose(ours, on_tensors, rtol=1e-12)
    np.testing.assert_allclose(on_numpy, lb.tf_keras.mean_squared_error(a, b), rtol=1e-12)
    assert np.shape(on_numpy) == (3,) and np.shape(ours) == ()


def test_runs_under_jax_jit():
    """Value checks need concrete arrays; under jax.jit the losses trace and give the eager values."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    r = S.rng(11)
    y, p = r.integers(0, 2, size=(N, 3)).astype(np.float32), S.probabilities(r, (N, 3), "tiny").astype(np.float32)
    for loss in (lb.tf_keras.BinaryCrossentropy(), lb.tf_keras.SparseCategoricalCrossentropy(ignore_class=1),
                 lb.tf_keras.CosineSimilarity(), lb.tf_keras.Huber(reduction="none")):
        t = np.argmax(y, axis=-1) if isinstance(loss, lb.tf_keras.SparseCategoricalCrossentropy) else y
        eager = loss(jnp.asarray(t), jnp.asarray(p))
        np.testing.assert_allclose(jax.jit(loss)(jnp.asarray(t), jnp.asarray(p)), eager, rtol=1e-6)
    args = (np.array([[0, 1], [1, 0]]), S.probabilities(r, (2, 5, 3), "normalised").astype(np.float32),
            np.array([[5], [4]]), np.array([[2], [1]]))
    eager = lb.tf_keras.ctc_batch_cost(*map(jnp.asarray, args))
    np.testing.assert_allclose(jax.jit(lb.tf_keras.ctc_batch_cost)(*map(jnp.asarray, args)), eager, rtol=1e-6)


@pytest.mark.parametrize("axis", [-2, 1])
def test_categorical_crossentropy_from_logits_on_a_negative_class_axis_raises_as_tensorflow(
        axis, tf_keras_oracle, backends):
    """Found by tests/test_argument_conformance.py: tf.nn.softmax_cross_entropy_with_logits
    refuses a negative class axis other than -1 (tf.range(axis): InvalidArgumentError);
    lossbridge computed.  A non-negative axis computes in both."""
    r = np.random.default_rng(1)
    x = r.normal(size=(2, 3, 4))
    y = S.soft_targets(r, (2, 3, 4), axis=1)
    for name, kind in (("categorical_crossentropy", "function"), ("CategoricalCrossentropy", "class")):
        config = {"from_logits": True, "axis": axis}
        spec = Spec("tf_keras", name, kind, config) if kind == "class" else Spec(
            "tf_keras", name, kind, kwargs=config)
        if axis < 0:
            with pytest.raises(OracleError):
                tf_keras_oracle.run(spec, [y, x], "float32")
        check(spec, [y, x], [tf_keras_oracle], backends, dtypes=("float32",), wrt=(1,))
