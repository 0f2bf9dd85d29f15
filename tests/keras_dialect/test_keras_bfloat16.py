"""dtype="bfloat16" on NumPy inputs (issue 17, class 2): Keras computes in bfloat16 through
ml_dtypes and returns bfloat16; so does lossbridge.keras, value for value (the oracle is Keras
3 on the jax backend, run in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness.backends import require

R = np.random.default_rng(3)
Y_TRUE = (R.random((6, 4)) > 0.5).astype(np.float32)
Y_PRED = (R.random((6, 4)) * 0.9 + 0.05).astype(np.float32)
LABELS = R.integers(0, 4, 6)
NAMES = [
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "CosineSimilarity", "Hinge",
    "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy",
    "BinaryFocalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
    "Dice",
]

_ORACLE = """
NAMES = {names!r}
import json, os, sys
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np, keras
yt, yp, labels = (np.asarray(a, dtype=d) for a, d in zip(json.loads(sys.stdin.read()),
                                                           ("float32", "float32", "int64")))
out = {}
for name in NAMES:
    v = getattr(keras.losses, name)(dtype="bfloat16")(yt, yp)
    out[name] = [float(keras.ops.convert_to_numpy(v).astype("float32")), keras.backend.standardize_dtype(v.dtype)]
v = keras.losses.SparseCategoricalCrossentropy(dtype="bfloat16")(labels, yp)
out["SparseCategoricalCrossentropy"] = [float(keras.ops.convert_to_numpy(v).astype("float32")), keras.backend.standardize_dtype(v.dtype)]
print(json.dumps(out))
""".replace("{names!r}", repr(NAMES))


@pytest.fixture(scope="module")
def keras_values():
    require("keras")
    require("jax")
    data = json.dumps([Y_TRUE.tolist(), Y_PRED.tolist(), LABELS.tolist()])
    out = subprocess.run([sys.executable, "-c", _ORACLE], input=data, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ours(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "SparseCategoricalCrossentropy":
            return lb.keras.SparseCategoricalCrossentropy(dtype="bfloat16")(LABELS, Y_PRED)
        return getattr(lb.keras, name)(dtype="bfloat16")(Y_TRUE, Y_PRED)


@pytest.mark.parametrize("name", [*NAMES, "SparseCategoricalCrossentropy"])
def test_bfloat16_on_numpy_matches_keras(name, keras_values):
    pytest.importorskip("ml_dtypes")
    out = _ours(name)
    value, dtype = keras_values[name]
    assert dtype == "bfloat16"
    assert isinstance(out, (np.ndarray, np.generic)) and out.dtype.name == "bfloat16"
    # bfloat16 keeps 8 significant bits: NumPy and XLA sum in different orders and precisions,
    # a few units in the last place (2**-8 relative each) apart; 2**-5 is 4 to 8 of them
    np.testing.assert_allclose(float(out.astype(np.float32)), value, rtol=2.0**-5, atol=1e-6)


def test_bfloat16_without_ml_dtypes_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import ml_dtypes raises ImportError
    with pytest.raises(lb.LossBridgeTypeError, match="needs the ml_dtypes package"):
        lb.keras.MeanSquaredError(dtype="bfloat16")(Y_TRUE, Y_PRED)


def test_bfloat16_numpy_arrays_are_inputs_like_any_float():
    """ml_dtypes' bfloat16 NumPy arrays (what JAX hands back to NumPy) are accepted as inputs,
    not refused as a 'structured' dtype: the default float32 Keras loss casts them."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    yt, yp = Y_TRUE.astype(ml_dtypes.bfloat16), Y_PRED.astype(ml_dtypes.bfloat16)
    out = lb.keras.MeanSquaredError()(yt, yp)
    expected = lb.keras.MeanSquaredError()(yt.astype(np.float32), yp.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
