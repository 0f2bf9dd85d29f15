"""Every example of issue 11 (bad or extreme inputs), compared with the real framework by the
bad-input suite's classifier: lossbridge must agree (same value, same NaN/inf pattern), raise a
LossBridgeError of the framework's built-in type, or behave as a documented divergence.

Examples not fixed yet are ``xfail(strict=True)`` with the reason: they fail today, and the
day they pass the strict xfail fails, so that the marker is removed."""

from __future__ import annotations

import numpy as np
import pytest

from harness.backends import require
from lossbridge import _catalog

from .bad_inputs import PASSING, classify, lossbridge_result, oracle_results, to_kind

F32 = np.float32
P3 = np.array([[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]], F32)
LAB = np.array([1, 2])
ONEHOT = np.eye(3, dtype=F32)[LAB]
SEQ_LOGITS = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(F32)
SEQ_PAD = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], F32)
SEQ_LAB = np.array([[1, 2], [2, 0]])
SEQ_LAB_PAD = np.array([[0, 0], [0, 1]], F32)


def _nan_at(a: np.ndarray, value: float = np.nan) -> np.ndarray:
    a = a.copy()
    a.flat[1] = value
    return a


def _masked(a: np.ndarray) -> np.ndarray:
    return np.ma.masked_array(a, mask=np.eye(*a.shape, dtype=bool) if a.ndim == 2 else False)


# (id, dialect, name, torch module "torch.functional" or "", args, kwargs, kind, input class)
EXAMPLES = [
    ("optax-sce-broadcast", "optax", "softmax_cross_entropy", "",
     [np.array([1.0, 2.0, 3.0], F32), np.array([[1.0], [0.0], [1.0]], F32)], {}, "numpy", "example"),
    ("optax-poly-broadcast", "optax", "poly_loss_cross_entropy", "",
     [np.array([1.0, 2.0, 3.0], F32), np.array([[1.0], [0.0], [1.0]], F32)], {}, "numpy", "example"),
    ("keras-sparse-neg-inf-jax", "keras", "sparse_categorical_crossentropy", "",
     [np.array([0]), np.array([[0.5, 0.5, -np.inf]], F32)], {}, "jax", "example"),
    ("keras-sparse-neg-inf-class-jax", "keras", "SparseCategoricalCrossentropy", "",
     [np.array([0]), np.array([[0.5, 0.5, -np.inf]], F32)], {}, "jax", "example"),
    ("keras-sparse-neg-inf-numpy", "keras", "sparse_categorical_crossentropy", "",
     [np.array([0]), np.array([[0.5, 0.5, -np.inf]], F32)], {}, "numpy", "example"),
    ("optax-multiclass-hinge-nan", "optax", "multiclass_hinge_loss", "",
     [_nan_at(P3), LAB], {}, "numpy", "example"),
    ("optax-multiclass-perceptron-inf", "optax", "multiclass_perceptron_loss", "",
     [_nan_at(P3, np.inf), LAB], {}, "numpy", "example"),
    ("optax-sparsemax-nan", "optax", "multiclass_sparsemax_loss", "",
     [_nan_at(P3), LAB], {}, "numpy", "example"),
    ("optax-ctc-nan", "optax", "ctc_loss", "",
     [_nan_at(SEQ_LOGITS), SEQ_PAD, SEQ_LAB, SEQ_LAB_PAD], {}, "numpy", "example"),
    ("optax-ctc-float16", "optax", "ctc_loss", "",
     [SEQ_LOGITS.astype(np.float16), SEQ_PAD.astype(np.float16), SEQ_LAB,
      SEQ_LAB_PAD.astype(np.float16)], {}, "numpy", "example"),
    ("torch-ce-inf-numpy", "torch", "CrossEntropyLoss", "",
     [np.array([[np.inf, 0, 0], [0, 0, -np.inf]], F32), np.array([0, 1])], {}, "numpy", "example"),
    ("keras-sparse-axis-5", "keras", "SparseCategoricalCrossentropy", "",
     [LAB, P3], {"axis": 5}, "numpy", "example"),
    ("keras-mse-int-y-pred", "keras", "mean_squared_error", "",
     [np.array([[0.5, 1.5]], F32), np.array([[1, 3]])], {}, "numpy", "example"),
    ("keras-mse-bool-y-pred", "keras", "mean_squared_error", "",
     [np.array([[0.5, 1.5]], F32), np.array([[True, False]])], {}, "numpy", "example"),
    ("torch-hinge-embedding-string", "torch", "hinge_embedding_loss", "torch.functional",
     [P3, "abc"], {}, "numpy", "example"),
    ("optax-multiclass-hinge-string", "optax", "multiclass_hinge_loss", "",
     [P3, "abc"], {}, "numpy", "example"),
    ("torch-bce-bool-target", "torch", "binary_cross_entropy", "torch.functional",
     [P3, ONEHOT.astype(bool)], {}, "numpy", "example"),
    ("torch-mse-complex", "torch", "mse_loss", "torch.functional",
     [P3.astype(np.complex64), ONEHOT], {}, "numpy", "example"),
    ("torch-bce-mixed-dtypes", "torch", "binary_cross_entropy", "torch.functional",
     [P3, ONEHOT.astype(np.float64)], {}, "numpy", "example"),
    ("torch-smooth-l1-beta-nan", "torch", "smooth_l1_loss", "torch.functional",
     [P3, ONEHOT], {"beta": float("nan")}, "numpy", "example"),
    ("numpy-masked-torch", "torch", "mse_loss", "torch.functional",
     [_masked(P3), ONEHOT], {}, "numpy", "masked"),
    ("numpy-masked-keras", "keras", "categorical_crossentropy", "",
     [ONEHOT, _masked(P3)], {}, "numpy", "masked"),
    ("torch-ce-empty-class-axis", "torch", "cross_entropy", "torch.functional",
     [np.zeros((2, 0), F32), LAB], {}, "numpy", "example"),
    ("keras-cce-empty-class-axis", "keras", "categorical_crossentropy", "",
     [np.zeros((2, 0), F32), np.zeros((2, 0), F32)], {}, "numpy", "example"),
    ("torch-ce-none-target", "torch", "cross_entropy", "torch.functional",
     [P3, None], {}, "numpy", "example"),
    ("keras-cce-none-y-true", "keras", "categorical_crossentropy", "",
     [None, P3], {}, "numpy", "example"),
    ("optax-sce-none-labels", "optax", "softmax_cross_entropy", "",
     [P3, None], {}, "numpy", "example"),
    ("keras-cce-0d", "keras", "categorical_crossentropy", "",
     [np.array(1.0, F32), np.array(0.5, F32)], {}, "numpy", "example"),
    ("optax-sce-0d", "optax", "softmax_cross_entropy", "",
     [np.array(1.0, F32), np.array(0.5, F32)], {}, "numpy", "example"),
    ("torch-ce-uint8-labels", "torch", "cross_entropy", "torch.functional",
     [np.zeros((2, 300), F32), np.array([1, 200], np.uint8)], {}, "numpy", "example"),
    ("torch-ce-huge-label", "torch", "cross_entropy", "torch.functional",
     [P3, np.array([1, 2147483647])], {}, "numpy", "example"),
    ("keras-bce-big-endian", "keras", "binary_crossentropy", "",
     [ONEHOT, P3.astype(">f4")], {}, "numpy", "big_endian"),
    ("keras-kl-big-endian", "keras", "kl_divergence", "",
     [ONEHOT, P3.astype(">f4")], {}, "numpy", "big_endian"),
    ("torch-mse-object", "torch", "mse_loss", "torch.functional",
     [P3.astype(object), ONEHOT], {}, "numpy", "example"),
    ("optax-ctc-blank-nan", "optax", "ctc_loss", "",
     [SEQ_LOGITS, SEQ_PAD, SEQ_LAB, SEQ_LAB_PAD], {"blank_id": float("nan")}, "numpy", "example"),
    ("optax-triplet-norm-degree-0", "optax", "triplet_margin_loss", "",
     [P3, ONEHOT, ONEHOT[::-1].copy()], {"norm_degree": 0}, "numpy", "example"),
    ("torch-tensor-bool-mse", "torch", "mse_loss", "torch.functional",
     [P3.astype(bool), ONEHOT.astype(bool)], {}, "torch", "example"),
    ("torch-tensor-complex-l1", "torch", "l1_loss", "torch.functional",
     [P3.astype(np.complex64), ONEHOT.astype(np.complex64)], {}, "torch", "example"),
    ("torch-tensor-mixed-bce", "torch", "binary_cross_entropy", "torch.functional",
     [P3, ONEHOT.astype(np.float64)], {}, "torch", "example"),
    # an axis out of range: Keras raises (ValueError on jax, IndexError on torch)
    ("keras-cce-class-axis-5", "keras", "CategoricalCrossentropy", "",
     [ONEHOT, P3], {"axis": 5}, "numpy", "example"),
    ("keras-cosine-axis-4-torch", "keras", "cosine_similarity", "",
     [ONEHOT, P3], {"axis": 4}, "torch", "example"),
    ("keras-cce-axis-minus-3-jax", "keras", "categorical_crossentropy", "",
     [ONEHOT, P3], {"axis": -3}, "jax", "example"),
    ("optax-sce-axis-5", "optax", "softmax_cross_entropy", "",
     [P3, ONEHOT], {"axis": 5}, "numpy", "example"),
    # NaN/inf scores in the sparsemax projection (optax: NaN, or inf for -inf)
    ("optax-sparsemax-neg-inf-torch", "optax", "multiclass_sparsemax_loss", "",
     [_nan_at(P3, -np.inf), LAB], {}, "torch", "example"),
    ("optax-sparsemax-inf-jax", "optax", "multiclass_sparsemax_loss", "",
     [_nan_at(P3, np.inf), LAB], {}, "jax", "example"),
    # tf.keras 2: integer/complex predictions refused (documented), sparse axis taken mod rank
    ("tf-keras-mse-int-pred", "tf_keras", "mean_squared_error", "",
     [ONEHOT, np.array([[1, 0, 2], [0, 3, 0]], np.int32)], {}, "numpy", "int"),
    ("tf-keras-cce-class-complex-pred", "tf_keras", "CategoricalCrossentropy", "",
     [ONEHOT, P3.astype(np.complex64)], {}, "numpy", "complex"),
    ("tf-keras-sparse-axis-5", "tf_keras", "sparse_categorical_crossentropy", "",
     [LAB, P3], {"axis": 5}, "numpy", "example"),
    ("keras-log-cosh-int-pred", "keras", "log_cosh", "",
     [ONEHOT, np.array([[1, 0, 2], [0, 3, 0]], np.int32)], {}, "numpy", "int"),
    ("torch-lce-label-smoothing-nan", "torch", "linear_cross_entropy", "torch.functional",
     [P3[:, :2].copy(), P3.T.copy(), LAB], {"label_smoothing": float("nan")}, "torch", "example"),
    ("optax-ctc-float16-torch", "optax", "ctc_loss", "",
     [SEQ_LOGITS.astype(np.float16), SEQ_PAD.astype(np.float16), SEQ_LAB,
      SEQ_LAB_PAD.astype(np.float16)], {}, "torch", "example"),
]

# Examples of the issue not fixed on this branch: strict xfails (they fail today; the day
# one passes, the strict xfail fails and its entry must go).
NOT_FIXED: dict[str, str] = {}


def _param(example):
    reason = NOT_FIXED.get(example[0])
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(example, id=example[0], marks=marks)


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
def test_issue11_example(example, request: pytest.FixtureRequest) -> None:
    check_example(example, request)


def check_example(example: tuple, request: pytest.FixtureRequest, position: int | None = None) -> None:
    """One example against the framework: agree, the framework's error type, or documented.
    ``position``: the argument the input class concerns (default: 1 for int/complex)."""
    ident, dialect, name, module, args, kwargs, kind, cls = example
    require({"keras": "keras", "optax": "optax", "torch": "torch", "tf_keras": "tf_keras"}[dialect])
    if kind != "numpy":
        require(kind)
    keras_oracles = request.getfixturevalue("keras_oracles") if dialect == "keras" else []
    entry = _catalog.Entry(dialect, name, tuple(f"arg{i}" for i in range(len(args))),
                           defaults=kwargs, module=module)
    mine = lossbridge_result(entry, [to_kind(a, kind) for a in args])
    tf_oracle = request.getfixturevalue("tf_keras_oracle") if dialect == "tf_keras" else None
    theirs = oracle_results(entry, args, keras_oracles, tf_oracle)
    if position is None:
        position = 1 if cls in ("int", "complex") else None
    outcome = classify(entry, cls, mine, theirs, mutated=False, position=position)
    assert outcome in PASSING, (
        f"{ident}: {outcome}; lossbridge -> {mine.error or 'value'} {mine.message or mine.value}; "
        "framework -> " + "; ".join(f"{t.error or 'value'} {t.message or t.value}" for t in theirs)
    )
    if mine.error is not None:  # the message names what was passed, never a converted value
        assert "2147483648" not in mine.message


def test_axis_errors_name_the_argument_and_the_fix() -> None:
    """An axis out of range: the framework's message first, then the argument and the fix."""
    import lossbridge as lb

    for call in (lambda: lb.optax.softmax_cross_entropy(P3, ONEHOT, axis=5),
                 lambda: lb.keras.CategoricalCrossentropy(axis=5)(ONEHOT, P3),
                 lambda: lb.tf_keras.categorical_crossentropy(ONEHOT, P3, axis=-3)):
        with pytest.raises(lb.LossBridgeError) as info:
            call()
        message = str(info.value)
        assert "out of bounds for array of dimension 2" in message
        assert "`axis`" in message and "-1" in message, message


def test_every_public_loss_converts_raw_errors() -> None:
    """Every public function of the optax, Keras and tf.keras dialects (and the Keras classes'
    ``__call__``) goes through the raw-error wrapper, and the wrapper keeps the built-in type."""
    import lossbridge as lb
    from lossbridge._validate import wrap_raw_errors

    for module in (lb.optax, lb.keras, lb.tf_keras):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type):
                if issubclass(obj, lb.keras.Loss):
                    assert getattr(obj.__call__, "__lossbridge_wrapped__", False), (module, name)
            elif callable(obj) and name not in ("get", "serialize", "deserialize", "floatx",
                                                 "reduce_weighted_values",
                                                 "squeeze_or_expand_to_same_rank"):
                assert getattr(obj, "__lossbridge_wrapped__", False), (module.__name__, name)

    def broken(x: np.ndarray) -> None:
        np.add(x, np.ones(7))  # NumPy's raw "operands could not be broadcast"

    with pytest.raises(lb.LossBridgeError, match="operands could not be broadcast") as info:
        wrap_raw_errors(broken, "the fix")(P3)
    assert isinstance(info.value, ValueError) and "the fix" in str(info.value)
    with pytest.raises(lb.LossBridgeIndexError, match="`axis`") as axis_info:
        wrap_raw_errors(lambda x: np.sum(x, axis=3), "the fix")(P3)
    assert isinstance(axis_info.value, ValueError)  # numpy's AxisError is both
