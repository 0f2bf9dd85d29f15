"""Replay the recorded answers of the real frameworks (tests/golden/*.json).

These run with NumPy alone (values) and add gradients where torch or JAX is
installed, so the suite checks exact numbers even where keras, torch or optax is
missing.  Where the framework is installed, the live comparison
(tests/*_dialect/test_*_conformance.py) covers every backend, and the replay runs
on NumPy only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness import golden
from harness.backends import available_backends, installed
from harness.compare import assert_close, record
from harness.oracle import run_lossbridge, tf_keras_python

LIBS = ("keras", "torch", "optax", "tf_keras")
CASES = [(lib, case) for lib in LIBS for case in golden.load(lib)]


def _live(lib: str) -> bool:
    """Whether the live conformance tests compare ``lib`` itself in this run."""
    return tf_keras_python() is not None if lib == "tf_keras" else installed(lib)


def test_golden_files_exist():
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    for lib in LIBS:
        if os.path.isdir(os.path.join(here, f"{lib}_dialect")):
            assert golden.load(lib), f"tests/golden/{lib}.json is missing or empty: run tests/golden/record.py"


@pytest.mark.parametrize("lib,case", CASES, ids=[f"{lib}:{c['name']}:{c['dtype']}" for lib, c in CASES])
def test_golden(lib, case):
    spec = golden.spec_from_json(case["spec"])
    args = golden.decode(case["args"])
    dtype = case["dtype"]
    wrt = tuple(case["wrt"])
    # Where the framework is installed, the live conformance tests already compare every
    # backend with it: the replay then checks the recorded values on NumPy only (it is the
    # suite's memory of the framework); where it is missing, on every installed backend.
    backends = ["numpy"] if _live(lib) else available_backends()
    for backend in backends:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "error" in case:
                with pytest.raises(lb.LossBridgeError):
                    run_lossbridge(spec, args, backend, dtype, wrt if backend != "numpy" else (), 0)
                continue
            value, grads = run_lossbridge(spec, args, backend, dtype, wrt if backend != "numpy" else (), 0)
        expected = golden.decode(case["value"])
        out_dtype = np.asarray(expected).dtype.name
        if lib == "keras" and out_dtype == "float64":
            out_dtype = "float32"  # see harness/conformance.py: keras.ops.mean is float32
        where = f"golden {lib}:{case['name']} ({dtype}) on {backend}"
        assert_close(value, expected, out_dtype, f"{where}: value")
        exp_grads = golden.decode(case["grads"])
        # Keras gradients were recorded on keras-jax; at ties torch differs (see conformance.py).
        if backend != "numpy" and (lib != "keras" or backend == "jax"):
            for i, g, eg in zip(wrt, grads, exp_grads, strict=False):
                if eg is not None:
                    assert_close(g, eg, out_dtype, f"{where}: gradient of argument {i}", grad=True)
        record(f"golden:{spec.id}", backend, dtype)
