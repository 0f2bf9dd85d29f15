"""The whole Keras catalog beyond the numbers, against keras 3.15.1 itself: identifiers
and aliases, signatures (positional order and defaults), names, configs, the known
differences from keras 3.15.1 (each shown to be exactly the known one), error types
and messages, warnings, ``jax.jit``, and ``lossbridge compare`` on every Keras entry."""

from __future__ import annotations

import inspect
import json
import math
import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness.conformance import check
from harness.oracle import OracleError, Spec

K = lb.keras
P = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
Y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def keras_jax(keras_oracles):
    oracle = next((o for o in keras_oracles if o.backend == "jax"), None)
    if oracle is None:
        pytest.skip("keras-jax is not available")
    return oracle


# --------------------------------------------------------------- the catalog

PUBLIC = "result = sorted(n for n in dir(keras.losses) if not n.startswith('_'))"


def test_every_keras_loss_is_here(keras_jax):
    """lb.keras mirrors keras.losses one to one (plus the aliases keras.losses.get accepts)."""
    theirs = keras_jax.exec(PUBLIC)
    missing = [n for n in theirs if not hasattr(K, n)]
    assert not missing, missing
    assert set(theirs) <= set(K.__all__)


def test_registry_is_keras_all_objects_dict(keras_jax):
    theirs = keras_jax.exec(
        "import inspect\n"
        "from keras.src.losses import ALL_OBJECTS_DICT as d\n"
        "result = {k: (v.__name__, inspect.isclass(v)) for k, v in d.items()}"
    )
    ours = {k: (v.__name__, inspect.isclass(v)) for k, v in K.ALL_OBJECTS_DICT.items()}
    assert ours == theirs


@pytest.mark.parametrize("identifier", sorted(set(K.ALL_OBJECTS_DICT) - {"Loss", "LossFunctionWrapper"}))
def test_get_resolves_every_identifier_like_keras(identifier, keras_jax):
    ours = K.get(identifier)
    theirs = keras_jax.exec(
        "import inspect\no = keras.losses.get(ident)\n"
        "result = (o.__name__ if inspect.isfunction(o) else type(o).__name__, inspect.isfunction(o),\n"
        "          None if inspect.isfunction(o) else o.name)",
        ident=identifier,
    )
    is_function = not isinstance(ours, K.Loss)
    assert (ours.__name__ if is_function else type(ours).__name__, is_function,
            None if is_function else ours.name) == theirs


@pytest.mark.parametrize("identifier,hint", [
    ("huber_loss", "use 'huber'"),
    ("logcosh", "use 'log_cosh'"),
    ("kullback_leibler_divergence", "use 'kl_divergence'"),
    ("CategoricalGeneralizedCrossEntropy", "pass the object"),
    ("categorical_generalized_cross_entropy", "pass the object"),
    ("crossentropy", "compile() only"),
    ("ce", "compile() only"),
])
def test_identifiers_keras_3_rejects(identifier, hint, keras_jax):
    with pytest.raises(OracleError) as theirs:
        keras_jax.exec("result = keras.losses.get(ident)", ident=identifier)
    assert theirs.value.kind == "ValueError"
    with pytest.raises(lb.LossBridgeError, match="Could not interpret loss identifier") as ours:
        K.get(identifier)
    assert isinstance(ours.value, ValueError) and hint in str(ours.value)


SIGNATURE = (
    "import inspect\n"
    "result = [(p.name, str(p.kind), repr(p.default)) for p in\n"
    "          inspect.signature(getattr(keras.losses, name)).parameters.values()]"
)


def _signature(obj) -> list[tuple[str, str, str]]:
    return [(p.name, str(p.kind), repr(p.default)) for p in inspect.signature(obj).parameters.values()]


LOSS_NAMES = sorted(
    [n for n, v in K.ALL_OBJECTS_DICT.items() if v.__name__ == n and n not in ("Loss", "LossFunctionWrapper")]
    + ["CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"]
)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_signatures_match_keras(name, keras_jax):
    """Same parameter names, positional order, kinds and defaults (ported calls bind alike),
    plus lossbridge's keyword-only switches to the fixes Keras made after 3.15.1."""
    ours = _signature(getattr(K, name))
    extra = [p for p in ours if p[0] in POST_RELEASE_FIXES]
    assert extra == [(a, "KEYWORD_ONLY", "None") for a in POST_RELEASE_FIXES if a in dict(POST_RELEASE_FIXES_OF).get(name, ())]
    assert [p for p in ours if p not in extra] == keras_jax.exec(SIGNATURE, name=name)


#: lossbridge's keyword-only arguments that choose a fix Keras made after 3.15.1.
POST_RELEASE_FIXES = ("fixed_alpha_beta", "fixed_label_smoothing")
POST_RELEASE_FIXES_OF = [
    ("Tversky", ("fixed_alpha_beta",)), ("tversky", ("fixed_alpha_beta",)),
    ("CategoricalCrossentropy", ("fixed_label_smoothing",)), ("categorical_crossentropy", ("fixed_label_smoothing",)),
    ("CategoricalFocalCrossentropy", ("fixed_label_smoothing",)),
    ("categorical_focal_crossentropy", ("fixed_label_smoothing",)),
]


# ----------------------------------------------------------------- configs

NEW_CLASSES = [
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy",
    "KLDivergence", "Poisson", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber",
    "LogCosh", "CosineSimilarity", "Hinge", "SquaredHinge", "CategoricalHinge", "Dice", "Tversky",
    "Circle", "CTC",
]
NON_DEFAULT = {
    "BinaryFocalCrossentropy": {"apply_class_balancing": True, "alpha": 0.6, "gamma": 3.0, "from_logits": True,
                                "label_smoothing": 0.1, "axis": 0, "reduction": "sum", "name": "bf"},
    "CategoricalFocalCrossentropy": {"alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.2, "axis": 1, "reduction": None},
    "CategoricalGeneralizedCrossEntropy": {"q": 0.7, "reduction": "mean_with_sample_weight"},
    "KLDivergence": {"reduction": "sum", "name": "kl"},
    "Poisson": {"reduction": "none"},
    "MeanAbsolutePercentageError": {"name": "mape"},
    "MeanSquaredLogarithmicError": {"reduction": "mean"},
    "Huber": {"delta": 2.5, "reduction": "sum"},
    "LogCosh": {"reduction": None},
    "CosineSimilarity": {"axis": 1, "name": "cos"},
    "Hinge": {"reduction": "sum"},
    "SquaredHinge": {"name": "sh"},
    "CategoricalHinge": {"reduction": "none"},
    "Dice": {"axis": [1, 2], "reduction": "sum"},
    "Tversky": {"alpha": 0.3, "beta": 0.7, "axis": 1, "name": "tv"},
    "Circle": {"gamma": 32.0, "margin": 0.25, "remove_diagonal": False},
    "CTC": {"reduction": "sum"},
}
#: Keys keras 3.15.1 drops from get_config (keras PR #23286, fixed on keras main).
DROPPED_BY_3_15_1 = {"Huber": "delta", "CosineSimilarity": "axis"}

SERIALIZE = "result = keras.losses.serialize(getattr(keras.losses, name)(**config))"


@pytest.mark.parametrize("config_kind", ["default", "non-default"])
@pytest.mark.parametrize("name", NEW_CLASSES)
def test_serialize_matches_keras(name, config_kind, keras_jax):
    config = {} if config_kind == "default" else NON_DEFAULT[name]
    ours = K.serialize(getattr(K, name)(**config))
    theirs = keras_jax.exec(SERIALIZE, name=name, config=config)
    if name in DROPPED_BY_3_15_1:
        key = DROPPED_BY_3_15_1[name]
        # the only difference: keras 3.15.1's config lacks exactly this key
        assert set(ours["config"]) - set(theirs["config"]) == {key}
        assert ours["config"][key] == getattr(getattr(K, name)(**config), key)
        ours = {**ours, "config": {k: v for k, v in ours["config"].items() if k != key}}
    assert ours == theirs


@pytest.mark.parametrize("name", [n for n in NEW_CLASSES if n != "CategoricalGeneralizedCrossEntropy"])
def test_keras_configs_deserialize_here_and_back(name, keras_jax):
    config = NON_DEFAULT[name]
    theirs = keras_jax.exec(SERIALIZE, name=name, config=config)
    obj = K.deserialize(theirs)
    assert type(obj).__name__ == name
    for key, value in theirs["config"].items():
        assert obj.get_config()[key] == value
    dropped = DROPPED_BY_3_15_1.get(name)
    back = keras_jax.exec("result = keras.losses.deserialize(cfg).get_config()", cfg=K.serialize(obj))
    assert back == {k: v for k, v in obj.get_config().items() if k != dropped}
    again = type(obj).from_config(json.loads(json.dumps(obj.get_config())))
    assert again.get_config() == json.loads(json.dumps(obj.get_config()))


def test_generalized_cross_entropy_configs(keras_jax):
    """Keras does not register GCE: keras.losses.deserialize returns its config's class
    name as a bare string; lossbridge raises and says how to rebuild it."""
    config = K.serialize(K.CategoricalGeneralizedCrossEntropy(q=0.7))
    assert keras_jax.exec("result = keras.losses.deserialize(cfg)", cfg=config) == "CategoricalGeneralizedCrossEntropy"
    with pytest.raises(lb.LossBridgeError, match=r"from_config\(config\['config'\]\)"):
        K.deserialize(config)
    assert K.CategoricalGeneralizedCrossEntropy.from_config(config["config"]).q == 0.7
    fn = K.serialize(K.categorical_generalized_cross_entropy)
    assert fn == keras_jax.exec("result = keras.losses.serialize(keras.losses.categorical_generalized_cross_entropy)")


def test_reloaded_huber_and_cosine_keep_their_arguments(keras_jax):
    """keras PR #23286: a keras 3.15.1 Huber(delta=2.5) reloaded from its config is a
    Huber(delta=1.0), so its value changes; lossbridge's config round trip keeps delta
    (and CosineSimilarity's axis)."""
    y, p = np.array([[0.0, 3.0], [1.0, 1.0]]), np.array([[2.0, 0.0], [1.5, 1.0]])
    before, after = keras_jax.exec(
        "h = keras.losses.Huber(delta=2.5)\n"
        "again = keras.losses.Huber.from_config(h.get_config())\n"
        "result = (float(h(y, p)), float(again(y, p)))", y=y, p=p)
    assert before != pytest.approx(after)
    ours = K.Huber(delta=2.5)
    again = K.Huber.from_config(ours.get_config())
    assert float(again(y, p)) == pytest.approx(float(ours(y, p))) == pytest.approx(before, rel=1e-6)
    cos = K.CosineSimilarity(axis=0)
    assert float(K.CosineSimilarity.from_config(cos.get_config())(y, p)) == pytest.approx(float(cos(y, p)))
    theirs = keras_jax.exec("c = keras.losses.CosineSimilarity(axis=0)\n"
                            "result = (float(c(y, p)), float(keras.losses.CosineSimilarity.from_config(c.get_config())(y, p)))",
                            y=y, p=p)
    assert theirs[0] == pytest.approx(float(cos(y, p)), rel=1e-6) and theirs[1] != pytest.approx(theirs[0])


def test_gce_q_is_validated_like_keras(keras_jax):
    for q in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(OracleError, match=r"q must be in the interval \(0, 1\)"):
            keras_jax.exec("result = keras.losses.CategoricalGeneralizedCrossEntropy(q=q)", q=q)
        with pytest.raises(lb.LossBridgeError, match=r"q must be in the interval \(0, 1\)") as e:
            K.CategoricalGeneralizedCrossEntropy(q=q)
        assert f"Received: q={q!r}" in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(OracleError) as theirs:
        keras_jax.exec("result = keras.losses.CategoricalGeneralizedCrossEntropy(q='0.5')")
    assert theirs.value.kind == "TypeError"
    with pytest.raises(lb.LossBridgeTypeError, match="q must be a number") as e:
        K.CategoricalGeneralizedCrossEntropy(q="0.5")
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)
    assert K.CategoricalGeneralizedCrossEntropy(q=np.float32(0.25)).q == np.float32(0.25)
    # The function form checks nothing, as in Keras: q = 2 is computed.
    theirs = keras_jax.exec("result = np.asarray(keras.losses.categorical_generalized_cross_entropy("
                            "np.array([1, 2]), keras.ops.convert_to_tensor(p), q=2.0))", p=P.astype(np.float32))
    np.testing.assert_allclose(K.categorical_generalized_cross_entropy(np.array([1, 2]), P.astype(np.float32), q=2.0),
                               theirs, rtol=1e-6)


# ------------------------------ known differences from keras 3.15.1 (tested)


# ------------- bugs fixed after keras 3.15.1: the release by default, the fix by argument


_Y_TV = np.array([[1.0, 0.0], [1.0, 1.0]])
_P_TV = np.array([[0.9, 0.2], [0.5, 0.5]])


def _keras_tversky(oracle, **config):
    value, _ = oracle.run(Spec("keras", "Tversky", "class", {"axis": 1, "reduction": None, **config}),
                          [_Y_TV, _P_TV], "float32")
    return value


def test_tversky_follows_keras_3_15_1_and_warns_when_alpha_differs_from_beta(keras_oracles, backends):
    """keras 3.15.1 weighs FN by alpha (PR #23333 fixed it after the release): the default
    gives the release's number, with a warning naming both behaviours when alpha != beta."""
    with pytest.warns(lb.LossBridgeWarning, match=r"keras 3\.15\.1.*PR #23333.*fixed_alpha_beta=True"):
        ours = K.Tversky(alpha=0.3, beta=0.7, axis=1, reduction=None)(_Y_TV, _P_TV)
    with pytest.warns(lb.LossBridgeWarning, match="fixed_alpha_beta"):
        ours_fn = K.tversky(_Y_TV, _P_TV, alpha=0.3, beta=0.7, axis=1)
    for oracle in keras_oracles:
        release = _keras_tversky(oracle, alpha=0.3, beta=0.7)
        np.testing.assert_allclose(ours, release, rtol=1e-6)
        np.testing.assert_allclose(ours_fn, release, rtol=1e-6)
    # The conformance check of the default against Keras (warnings are not compared there).
    check(Spec("keras", "tversky", "function", kwargs={"alpha": 0.2, "beta": 0.9, "axis": 1}), [_Y_TV, _P_TV],
          keras_oracles, backends, wrt=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K.Tversky(alpha=0.4, beta=0.4, axis=1)(_Y_TV, _P_TV)  # alpha == beta: nothing to say
        K.tversky(_Y_TV, _P_TV, alpha=0.3, beta=0.7, fixed_alpha_beta=False)  # an explicit choice


def test_tversky_fixed_alpha_beta_is_keras_after_pr_23333(keras_oracles):
    """fixed_alpha_beta=True: alpha on FP, beta on FN, i.e. keras 3.15.1 with the two exchanged,
    and not the release's value (so the argument changes something)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = K.Tversky(alpha=0.3, beta=0.7, axis=1, reduction=None, fixed_alpha_beta=True)(_Y_TV, _P_TV)
        release = K.Tversky(alpha=0.3, beta=0.7, axis=1, reduction=None, fixed_alpha_beta=False)(_Y_TV, _P_TV)
    tp = (_Y_TV * _P_TV).sum(1)
    fp, fn = ((1 - _Y_TV) * _P_TV).sum(1), (_Y_TV * (1 - _P_TV)).sum(1)
    np.testing.assert_allclose(fixed, 1 - tp / (tp + 0.3 * fp + 0.7 * fn + 1e-7), rtol=1e-6)  # the documented formula
    for oracle in keras_oracles:
        np.testing.assert_allclose(fixed, _keras_tversky(oracle, alpha=0.7, beta=0.3), rtol=1e-6)
        np.testing.assert_allclose(release, _keras_tversky(oracle, alpha=0.3, beta=0.7), rtol=1e-6)
    assert not np.allclose(fixed, release, rtol=1e-2)


def test_fixed_arguments_are_in_the_config_only_when_true(keras_oracles):
    """A config without the argument is keras 3.15.1's and loads there; True is kept (and
    round-trips through lossbridge), since it changes the loss."""
    for cls, arg, kw in [(K.Tversky, "fixed_alpha_beta", {"alpha": 0.3, "beta": 0.7}),
                         (K.CategoricalCrossentropy, "fixed_label_smoothing", {"label_smoothing": 0.2, "axis": 0}),
                         (K.CategoricalFocalCrossentropy, "fixed_label_smoothing", {"label_smoothing": 0.2, "axis": 0})]:
        for value in (None, False):
            config = cls(**kw, **{arg: value}).get_config()
            assert arg not in config
            theirs = keras_oracles[0].exec(
                f"result = keras.losses.{cls.__name__}.from_config(config).get_config()", config=config)
            assert theirs == config
        config = cls(**kw, **{arg: True}).get_config()
        assert config[arg] is True
        assert getattr(cls.from_config(config), arg) is True


# A 6 x 5 batch with the classes on axis 0 (6 classes), as in the issue: keras 3.15.1 smooths
# with K = y_true.shape[-1] = 5, Keras after PR #23437 with K = 6.
_R_LS = np.random.default_rng(17)
_Y_LS = np.eye(6)[:, _R_LS.integers(0, 6, size=5)]          # one-hot along axis 0
_P_LS = _R_LS.dirichlet(np.ones(6), size=5).T                # probabilities along axis 0


@pytest.mark.parametrize("name", ["categorical_crossentropy", "categorical_focal_crossentropy"])
def test_label_smoothing_on_another_axis_follows_keras_3_15_1(name, keras_oracles, backends):
    fn = getattr(K, name)
    with pytest.warns(lb.LossBridgeWarning, match=r"y_true\.shape\[-1\] = 5.*PR #23437.*y_pred\.shape\[axis\] = 6"):
        ours = fn(_Y_LS, _P_LS, label_smoothing=0.2, axis=0)
    check(Spec("keras", name, "function", kwargs={"label_smoothing": 0.2, "axis": 0}), [_Y_LS, _P_LS],
          keras_oracles, backends, wrt=(0, 1))
    cls = {"categorical_crossentropy": "CategoricalCrossentropy",
           "categorical_focal_crossentropy": "CategoricalFocalCrossentropy"}[name]
    check(Spec("keras", cls, "class", {"label_smoothing": 0.2, "axis": 0}), [_Y_LS, _P_LS],
          keras_oracles, backends, wrt=(1,))
    # fixed_label_smoothing=True: Keras' own loss of the targets smoothed with K = 6.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = fn(_Y_LS, _P_LS, label_smoothing=0.2, axis=0, fixed_label_smoothing=True)
        release = fn(_Y_LS, _P_LS, label_smoothing=0.2, axis=0, fixed_label_smoothing=False)
        fn(_Y_LS.T, _P_LS.T, label_smoothing=0.2)  # axis=-1: both counts agree, no warning
    smoothed = _Y_LS * 0.8 + 0.2 / 6
    for oracle in keras_oracles:
        theirs, _ = oracle.run(Spec("keras", name, "function", kwargs={"axis": 0}), [smoothed, _P_LS], "float64")
        np.testing.assert_allclose(fixed, theirs, rtol=1e-6)
    np.testing.assert_allclose(release, ours, rtol=1e-12)
    assert not np.allclose(fixed, ours, rtol=1e-3)


# ---------------------------------------------------- errors and warnings


# (categorical focal, KL divergence, Poisson and CTC compute integer predictions as Keras does:
# tests/badinput/test_regressions.py compares them with Keras.)
@pytest.mark.parametrize("fn,kwargs", [
    (K.binary_focal_crossentropy, {}), (K.categorical_generalized_cross_entropy, {"q": 0.5}),
])
def test_integer_predictions_suggest_swapped_arguments(fn, kwargs):
    with pytest.raises(lb.LossBridgeTypeError, match=r"order is \(y_true, y_pred\)") as e:
        fn(P, np.array([[0, 1, 0], [0, 0, 1]]), **kwargs)
    assert "int64" in str(e.value) and "(2, 3)" in str(e.value) and isinstance(e.value, TypeError)


def test_ctc_ranks():
    with pytest.raises(lb.LossBridgeError, match=r"Received: y_true.shape=\(2,\)\. Pad each label"):
        K.CTC()(np.ones(2), np.ones((2, 3, 4)))
    with pytest.raises(lb.LossBridgeError, match=r"Received: y_pred.shape=\(2, 3\)\. CTC takes one row"):
        K.CTC()(np.ones((2, 3)), np.ones((2, 3)))


@pytest.mark.parametrize("loss,args", [
    (K.KLDivergence(), (np.ones((2, 4)) / 4, np.ones((2, 3)) / 3)),
    (K.Huber(), (np.ones((2, 4)), np.ones((2, 3)))),
    (K.Dice(), (np.ones((2, 4)), np.ones((2, 3)))),
    (K.CategoricalFocalCrossentropy(), (np.array([1, 2]), P)),
    (K.CategoricalGeneralizedCrossEntropy(), (Y, P)),
    (K.Circle(), (np.array([1, 2, 3]), np.ones((3, 2, 2)))),
    (K.CTC(), (np.ones((3, 3)), np.ones((2, 5, 4)))),
])
def test_shape_errors_are_every_type_keras_raises_and_say_the_shapes(loss, args):
    """keras-jax raises TypeError or ValueError here, keras-torch RuntimeError."""
    with pytest.raises(lb.LossBridgeError) as e:
        loss(*args)
    assert isinstance(e.value, TypeError) and isinstance(e.value, RuntimeError) and isinstance(e.value, ValueError)
    message = str(e.value)
    assert str(tuple(args[1].shape)) in message and "float32" in message, message


def test_silent_broadcasts_warn_and_compute_keras_value(keras_jax):
    with pytest.warns(lb.LossBridgeWarning, match=r"broadcasts them to \(2, 2\)"):
        out = K.poisson(np.array([1.0, 2.0]), np.array([[0.5], [1.5]]))
    theirs = keras_jax.exec("result = np.asarray(keras.losses.poisson(y, p))",
                            y=np.array([1.0, 2.0], dtype=np.float32), p=np.array([[0.5], [1.5]], dtype=np.float32))
    np.testing.assert_allclose(out, theirs, rtol=1e-6)
    with pytest.warns(lb.LossBridgeWarning, match=r"squeeze the trailing axis"):
        out = K.CategoricalGeneralizedCrossEntropy(reduction=None)(np.array([[1], [2]]), P)
    assert out.shape == (2, 2)
    with pytest.warns(lb.LossBridgeWarning, match="one-hot encodes a negative label to a row of zeros"):
        K.CategoricalGeneralizedCrossEntropy()(np.array([1, -1]), P)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K.Poisson()(np.array([1.0, 2.0]), np.array([[0.5], [1.5]]))  # the class aligns: no warning


def test_focal_one_class_syntax_warning_points_at_user_code():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        K.CategoricalFocalCrossentropy()(np.ones((2, 1)), np.array([[0.3], [0.9]]))
    (w,) = [w for w in caught if issubclass(w.category, SyntaxWarning)]
    assert issubclass(w.category, lb.LossBridgeWarning) and w.filename == __file__
    assert "categorical_focal_crossentropy" in str(w.message)


# ----------------------------------------------------------------- jax.jit

SAMPLES = {
    "BinaryFocalCrossentropy": (Y, P), "CategoricalFocalCrossentropy": (Y, P),
    "CategoricalGeneralizedCrossEntropy": (np.array([1, 2]), P), "KLDivergence": (Y, P), "Poisson": (Y, P),
    "MeanAbsolutePercentageError": (Y + 1, P), "MeanSquaredLogarithmicError": (Y, P), "Huber": (Y, P * 3),
    "LogCosh": (Y, P), "CosineSimilarity": (Y, P), "Hinge": (Y, P - 0.5), "SquaredHinge": (Y * 2 - 1, P - 0.5),
    "CategoricalHinge": (Y, P), "Dice": (Y, P), "Tversky": (Y, P),
    "Circle": (np.array([1, 1, 2, 2]), np.eye(4)[[0, 0, 1, 2]] * 1.0),
    "CTC": (np.array([[1, 2, 0], [3, 3, 1]]), np.random.default_rng(0).normal(size=(2, 4, 4))),
}


@pytest.mark.parametrize("name", NEW_CLASSES)
def test_runs_under_jax_jit(name, backends):
    """No Python branch on values (the hinge label conversion is a global where): the
    loss traces under jax.jit and gives the eager value."""
    if "jax" not in backends:
        pytest.skip("jax is not installed")
    import jax
    import jax.numpy as jnp

    y, p = (jnp.asarray(a) for a in SAMPLES[name])
    loss = getattr(K, name)(reduction="none")
    eager = loss(y, p)
    jitted = jax.jit(lambda a, b: loss(a, b))(y, p)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=2e-6, atol=1e-6)


def test_hinge_conversion_is_global_under_jit(backends, keras_jax):
    """One jitted function, two batches: {0, 1} labels are converted, mixed ones are not."""
    if "jax" not in backends:
        pytest.skip("jax is not installed")
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda y, p: K.hinge(y, p))
    p = np.array([[0.3, -0.4, 0.2]], dtype=np.float32)
    for y in (np.array([[0.0, 1.0, 1.0]]), np.array([[0.0, 1.0, -1.0]])):
        theirs = keras_jax.exec("result = np.asarray(keras.losses.hinge(y, p))", y=y.astype(np.float32), p=p)
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(y, dtype=jnp.float32), jnp.asarray(p))), theirs, rtol=1e-6)


# --------------------------------------------------- lossbridge compare (CLI)

KERAS_ENTRIES = [e for e in lb._catalog.all_entries("keras")]


def test_every_keras_loss_is_in_the_catalog():
    names = {e.name for e in KERAS_ENTRIES}
    expected = {n for n, v in K.ALL_OBJECTS_DICT.items() if n == v.__name__} - {"Loss", "LossFunctionWrapper"}
    expected |= {"CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"}
    assert expected == names


def test_compare_every_keras_entry_at_once(capsys):
    from lossbridge.cli import main

    assert main(["compare", *[e.id for e in KERAS_ENTRIES], "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["id"] for r in results] == [e.id for e in KERAS_ENTRIES]
    assert all(r["error"] is None and math.isfinite(r["mean"]) for r in results), results


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=lambda e: e.id)
def test_compare_runs_every_keras_entry(entry, capsys):
    """`lossbridge compare keras:<Name>` exits 0 with a finite value: the loss on the built-in
    sample's arrays for its input roles (MAPE's 1.6e8 is Keras' 1e9 * |p| for the zero
    targets of the sample, the intended value; test_cli_values_are_keras_values compares a
    few entries with keras itself, the conformance tests every loss)."""
    from lossbridge import _sample
    from lossbridge.cli import main

    assert main(["compare", entry.id, "--json"]) == 0
    (res,) = json.loads(capsys.readouterr().out)["results"]
    assert res["error"] is None, res
    values = np.asarray(res["returns"], dtype=float)
    assert np.all(np.isfinite(values)) and math.isfinite(res["mean"]), res
    arrays = _sample.inputs(entry.resolved_roles({}), _sample.sample())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.LossBridgeWarning)
        direct = entry.build({})(*arrays)
    np.testing.assert_allclose(values, np.asarray(direct, dtype=float), rtol=1e-12)


@pytest.mark.parametrize("name", ["CTC", "Circle", "CategoricalGeneralizedCrossEntropy", "Tversky", "KLDivergence"])
def test_cli_values_are_keras_values(name, keras_jax, capsys):
    """The CLI's roles give keras itself the same arrays: keras computes the same value."""
    from lossbridge import _sample
    from lossbridge.cli import main

    entry = lb._catalog.lookup(f"keras:{name}")
    assert main(["compare", entry.id, "--json"]) == 0
    (res,) = json.loads(capsys.readouterr().out)["results"]
    arrays = _sample.inputs(entry.resolved_roles({}), _sample.sample())
    arrays = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
    theirs = keras_jax.exec(
        "result = np.asarray(getattr(keras.losses, name)()(*[keras.ops.convert_to_tensor(a) for a in arrays]))",
        name=name, arrays=arrays,
    )
    np.testing.assert_allclose(res["returns"], theirs, rtol=2e-5, atol=1e-6)
