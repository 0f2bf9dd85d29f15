"""examples/: each custom loss trains in a real PyTorch loop and a real Keras model.fit from the
same initial weights, and the two frameworks give the same loss at every step."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.backends import installed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("example", ["rmse.py", "l1_mse.py"])
def test_example_trains_identically_in_torch_and_keras(example):
    for module in ("torch", "keras", "jax"):
        if not installed(module):
            pytest.skip(f"{module} is not installed")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", example), "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["keras_backend"] == "jax"
    assert len(r["torch_losses"]) == len(r["keras_losses"]) == 4
    np.testing.assert_allclose(r["torch_losses"], r["keras_losses"], rtol=1e-5)
    assert r["max_weight_diff"] < 1e-5
    assert r["keras_reloaded_value"] == r["keras_value"]
    assert r["torch_losses"][-1] < r["torch_losses"][0]  # it trains
