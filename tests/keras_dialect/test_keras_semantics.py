"""Keras dialect behaviour beyond the numbers: identifiers, configs, names, errors,
warnings, and the known differences from keras 3.15.1 (each tested against it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness.conformance import check
from harness.oracle import OracleError, Spec

K = lb.keras
P = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
Y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

CLASSES = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy",
           "MeanSquaredError", "MeanAbsoluteError"]
NON_DEFAULT = {
    "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.2, "reduction": "sum", "name": "cce"},
    "SparseCategoricalCrossentropy": {"from_logits": True, "ignore_class": 3, "reduction": None},
    "BinaryCrossentropy": {"label_smoothing": 0.1, "axis": 0, "reduction": "mean_with_sample_weight"},
    "MeanSquaredError": {"reduction": "sum", "name": "my_mse"},
    "MeanAbsoluteError": {"reduction": "none"},
}


@pytest.fixture(scope="module")
def keras_jax(keras_oracles):
    return next(o for o in keras_oracles if o.backend == "jax")


# --------------------------------------------------------------- identifiers


@pytest.mark.parametrize("identifier", ["mse", "MSE", "mae", "MAE", "bce", "BCE", "categorical_crossentropy",
                                        "sparse_categorical_crossentropy", "binary_crossentropy",
                                        "mean_squared_error", "mean_absolute_error", *CLASSES])
def test_get_resolves_like_keras(identifier, keras_jax):
    ours = K.get(identifier)
    theirs = keras_jax.exec(
        "import inspect\no = keras.losses.get(ident)\n"
        "result = (o.__name__ if inspect.isfunction(o) else type(o).__name__, inspect.isfunction(o))",
        ident=identifier,
    )
    assert (ours.__name__ if callable(ours) and not isinstance(ours, K.Loss) else type(ours).__name__,
            not isinstance(ours, K.Loss)) == theirs


def test_get_other_identifiers():
    assert K.get(None) is None
    fn = K.mean_squared_error
    assert K.get(fn) is fn
    assert isinstance(K.get(K.CategoricalCrossentropy), K.CategoricalCrossentropy)
    obj = K.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert obj.from_logits is True
    with pytest.raises(lb.LossBridgeError, match="Could not interpret loss identifier: 'nope'"):
        K.get("nope")
    with pytest.raises(lb.LossBridgeError, match=r"tf.keras 2 identifier: use 'log_cosh'"):
        K.get("logcosh")
    with pytest.raises(lb.LossBridgeError, match="Could not interpret loss identifier"):
        K.get(3)


# ----------------------------------------------------------------- configs


@pytest.mark.parametrize("name", CLASSES)
def test_serialize_matches_keras(name, keras_jax):
    """lossbridge configs are Keras' own (keras main: SCCE keeps `axis`)."""
    config = NON_DEFAULT[name]
    ours = K.serialize(getattr(K, name)(**config))
    theirs = keras_jax.exec("result = keras.losses.serialize(getattr(keras.losses, name)(**config))",
                            name=name, config=config)
    if name == "SparseCategoricalCrossentropy":
        # keras <= 3.15.1 drops `axis` (keras PR #23286): the only difference.
        assert {k: v for k, v in ours["config"].items() if k != "axis"} == theirs["config"]
        assert "axis" not in theirs["config"] and ours["config"]["axis"] == -1
        ours = {**ours, "config": theirs["config"]}
    assert ours == theirs


@pytest.mark.parametrize("name", CLASSES)
def test_keras_configs_deserialize_here_and_back(name, keras_jax):
    config = NON_DEFAULT[name]
    theirs = keras_jax.exec("result = keras.losses.serialize(getattr(keras.losses, name)(**config))",
                            name=name, config=config)
    obj = K.deserialize(theirs)
    assert type(obj).__name__ == name
    for key, value in theirs["config"].items():
        assert obj.get_config()[key] == value
    back = keras_jax.exec("result = keras.losses.deserialize(cfg).get_config()", cfg=K.serialize(obj))
    assert back == {k: v for k, v in obj.get_config().items() if not (name.startswith("Sparse") and k == "axis")}
    again = type(obj).from_config(obj.get_config())
    assert again.get_config() == obj.get_config()


def test_function_serialization(keras_jax):
    cfg = K.serialize(K.categorical_crossentropy)
    assert cfg == keras_jax.exec("result = keras.losses.serialize(keras.losses.categorical_crossentropy)")
    assert K.deserialize(cfg) is K.categorical_crossentropy
    assert K.deserialize("mse") is K.mean_squared_error  # keras 3.15.1 raises here
    wrapper = K.LossFunctionWrapper(K.categorical_crossentropy, name="w", from_logits=True)
    cfg = K.serialize(wrapper)
    assert cfg["config"]["fn"]["config"] == "categorical_crossentropy" and cfg["config"]["from_logits"] is True
    again = K.deserialize(cfg)
    assert again.fn is K.categorical_crossentropy and again._fn_kwargs == {"from_logits": True}
    np.testing.assert_allclose(again(Y, P), wrapper(Y, P))
    with pytest.raises(lb.LossBridgeError, match="Could not interpret loss identifier"):
        K.deserialize("nope")  # keras 3.15.1 returns the string 'nope'


def test_names_are_made_unique_like_keras():
    first, second = K.Loss(), K.Loss()
    assert first.name.startswith("loss") and second.name != first.name
    assert K.CategoricalCrossentropy().name == K.CategoricalCrossentropy().name == "categorical_crossentropy"


def test_reduction_and_dtype_arguments():
    with pytest.raises(lb.LossBridgeError, match=r"'auto' is tf.keras 2's reduction"):
        K.CategoricalCrossentropy(reduction="auto")
    with pytest.raises(lb.LossBridgeError, match="Invalid value for argument `reduction`"):
        K.MeanSquaredError(reduction="avg")
    assert K.MeanSquaredError(dtype="mixed_float16").dtype == "float16"
    out = K.MeanSquaredError(dtype="float64")(np.ones(3, dtype=np.float32), np.zeros(3))
    assert out.dtype == np.float64
    assert K.MeanSquaredError()(np.ones(3), np.zeros(3)).dtype == np.float32
    with pytest.raises(lb.LossBridgeError, match="computes in a floating dtype"):
        K.MeanSquaredError(dtype="int32")
    # NumPy computes in ml_dtypes' bfloat16, as Keras does (tests/keras_dialect/test_keras_bfloat16.py)
    assert K.MeanSquaredError(dtype="bfloat16")(np.ones(3), np.zeros(3)).dtype.name == "bfloat16"


# ---------------------------------------------------- errors and warnings


def test_swapped_integer_labels_are_an_error_that_suggests_swapping():
    # Keras raises on the shapes (ValueError); integer predictions of the right shape compute
    # as in Keras (tests/badinput/test_regressions.py compares them with Keras).
    with pytest.raises(lb.LossBridgeError, match=r"order is \(y_true, y_pred\)"):
        K.sparse_categorical_crossentropy(P, np.array([1, 2]))


def test_scce_one_hot_labels_error_says_the_fix():
    with pytest.raises(lb.LossBridgeError, match="looks one-hot"):
        K.SparseCategoricalCrossentropy()(Y, P)


def test_sample_weight_shape_error_says_the_fix():
    with pytest.raises(lb.LossBridgeError) as e:
        K.MeanSquaredError()(np.ones((2, 3, 4)), np.zeros((2, 3, 4)), sample_weight=np.ones(4))
    assert "shape (2, 1)" in str(e.value) and isinstance(e.value, RuntimeError)


def test_sample_weight_of_one_rank_that_does_not_fit_is_each_keras_backends_error(keras_oracles, backends):
    """Found by tests/test_argument_conformance.py: CosineSimilarity(axis=0) leaves a loss of
    shape (C,); a per-sample weight (N,) of the same rank does not broadcast.  keras-jax raises
    TypeError (lax.mul), keras-torch RuntimeError: lossbridge's error is both (it was only a
    RuntimeError)."""
    r = np.random.default_rng(0)
    spec = Spec("keras", "CosineSimilarity", "class", {"axis": 0})
    args = [r.normal(size=(2, 3)), r.normal(size=(2, 3)), np.array([0.5, 2.0])]
    for oracle in keras_oracles:
        with pytest.raises(OracleError):
            oracle.run(spec, args, "float32")
    check(spec, args, keras_oracles, backends, dtypes=("float32",))


def test_one_class_syntax_warning_points_at_user_code():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        K.CategoricalCrossentropy()(np.ones((2, 1)), np.array([[0.3], [0.9]]))
    (w,) = [w for w in caught if issubclass(w.category, SyntaxWarning)]
    assert issubclass(w.category, lb.LossBridgeWarning) and w.filename == __file__
    assert "Consider using 'binary_crossentropy'" in str(w.message)


# ------------------------------------------- sparse labels out of range


def test_out_of_range_labels_follow_the_backend_of_the_array_kind(keras_oracles, backends):
    spec = Spec("keras", "SparseCategoricalCrossentropy", "class", {"reduction": "none"})
    args = [np.array([1, 3]), P, None]
    for oracle in keras_oracles:
        if oracle.backend == "jax":
            value, _ = oracle.run(spec, args, "float32")
            assert value.tolist()[1] == 0.0  # keras-jax: a silent 0
        else:
            with pytest.raises(OracleError) as e:
                oracle.run(spec, args, "float32")
            assert "IndexError" in e.value.mro  # keras-torch raises
    with pytest.raises(lb.LossBridgeIndexError) as e:
        K.SparseCategoricalCrossentropy()(np.array([1, 3]), P)
    msg = str(e.value)
    assert "label 3 at position [1]" in msg and "[0, 2]" in msg and isinstance(e.value, IndexError)
    if "jax" in backends:
        import jax.numpy as jnp

        with pytest.warns(lb.LossBridgeWarning, match="Keras gives these labels a loss of 0"):
            out = K.SparseCategoricalCrossentropy(reduction="none")(jnp.asarray([1, 3]), jnp.asarray(P))
        assert np.asarray(out).tolist()[1] == 0.0
        with lb._config._level("off"), warnings.catch_warnings():
            warnings.simplefilter("error")
            K.SparseCategoricalCrossentropy(reduction="none")(jnp.asarray([1, 3]), jnp.asarray(P))


def test_ignore_class_excludes_the_label_from_the_range_check():
    out = K.SparseCategoricalCrossentropy(ignore_class=255)(np.array([1, 255]), P)
    assert float(out) == pytest.approx(0.0512933, rel=1e-5)
    out = K.SparseCategoricalCrossentropy(ignore_class=-1)(np.array([-1, 2]), P)
    assert float(out) == pytest.approx(2.3025851, rel=1e-5)


# --------------------------- known differences from keras 3.15.1 (tested)


def test_label_smoothing_counts_classes_on_the_class_axis(keras_oracles, backends):
    """keras PR #23437: 3.15.1 counts smoothing classes on y_true.shape[-1]; with
    axis=1 on (1, C=3, T=2) that is T. lossbridge uses C; 3.15.1's value equals
    lossbridge's when the class count is taken from the last axis instead."""
    y_true = np.array([[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]])  # (1, C=3, T=2), classes on axis 1
    y_pred = np.array([[[0.7, 0.2], [0.2, 0.3], [0.1, 0.5]]])
    ls = 0.1
    ours = K.categorical_crossentropy(y_true, y_pred, label_smoothing=ls, axis=1,
                                      fixed_label_smoothing=True)  # the post-release count
    # the corrected value equals the channels-last computation, which 3.15.1 gets right
    channels_last = K.categorical_crossentropy(np.moveaxis(y_true, 1, -1), np.moveaxis(y_pred, 1, -1), label_smoothing=ls)
    np.testing.assert_allclose(ours, channels_last, rtol=1e-6)
    check(Spec("keras", "categorical_crossentropy", kwargs={"label_smoothing": ls}),
          [np.moveaxis(y_true, 1, -1), np.moveaxis(y_pred, 1, -1)], keras_oracles, backends, wrt=(1,))
    # 3.15.1 on the axis=1 layout: smoothing with K = T = 2
    for oracle in keras_oracles:
        theirs, _ = oracle.run(Spec("keras", "categorical_crossentropy", kwargs={"label_smoothing": ls, "axis": 1}),
                               [y_true, y_pred], "float64")
        wrong_k = y_true.shape[-1]
        y_smoothed_wrong = y_true * (1 - ls) + ls / wrong_k
        as_315 = K.categorical_crossentropy(y_smoothed_wrong, y_pred, axis=1)
        np.testing.assert_allclose(theirs, as_315, rtol=1e-6)
        assert not np.allclose(theirs, ours, rtol=1e-3)


def test_bfloat16_binary_focal_on_torch_with_a_target_that_requires_grad_is_keras_torchs(keras_oracles):
    """Found by tests/test_argument_conformance.py: with y_true requiring grad, the torch path
    left torch's BCE kernel for the generic code, which takes log(0) = -inf in bfloat16 where
    keras-torch's kernel clamps at -100 (inf against 29)."""
    oracles = [o for o in keras_oracles if o.backend == "torch"]
    y_true = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    y_pred = np.array([[0.0, 1.0, 0.3], [0.5, 0.9, 1.0]])
    for name, config in (("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 0.0}),
                         ("BinaryCrossentropy", {})):
        spec = Spec("keras", name, "class", {**config, "dtype": "bfloat16"})
        check(spec, [y_true, y_pred], oracles, ["torch"], dtypes=("float32",), wrt=(0, 1))
