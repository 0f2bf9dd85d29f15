"""lossbridge.to_keras_loss: model.fit on the JAX, torch and TensorFlow Keras backends.

Each backend runs ``keras_adapter_worker.py`` once in a subprocess (``KERAS_BACKEND``
is fixed when keras is imported).  A model trained with the adapted loss and its
twin trained with the native Keras loss of the same meaning must follow the same
loss history and end with the same weights; at the same weights the two losses
agree, with and without sample weights; the value survives ``model.save`` /
``keras.models.load_model`` (also in a new process, without ``custom_objects``) and
``get_config`` / ``from_config``.

TensorFlow: CI's environment has no TensorFlow, so the TensorFlow run uses the
current interpreter when it can import tensorflow, else the interpreter named by
``LOSSBRIDGE_TF_PYTHON`` (a venv with tensorflow and keras 3), else it is skipped
with that reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.backends import installed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "keras_adapter_worker.py")
BACKENDS = ("jax", "torch", "tensorflow")
# The full set on JAX; the others run the cases that exercise each part of the adapter.
SUBSET = "keras_scce,keras_scce_uneven_batches,torch_ce_class_weights"


def _python_for(backend: str) -> str | None:
    if not installed("keras"):
        return None
    if backend != "tensorflow":
        return sys.executable if installed(backend) else None
    if importlib.util.find_spec("tensorflow") is not None:
        return sys.executable
    return os.environ.get("LOSSBRIDGE_TF_PYTHON") or None


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests"), os.path.join(ROOT, "examples"),
         env.get("PYTHONPATH", "")])
    env.setdefault("JAX_PLATFORMS", "cpu")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


_RUNS: dict[str, tuple[dict, str]] = {}


def run_worker(backend: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    if backend not in _RUNS:
        python = _python_for(backend)
        if python is None:
            reason = (
                "tensorflow is not importable in this interpreter and LOSSBRIDGE_TF_PYTHON is "
                "not set (point it at a Python with tensorflow and keras 3 to run this test)"
                if backend == "tensorflow" else f"keras or {backend} is not installed"
            )
            pytest.skip(reason)
        out = str(tmp_path_factory.mktemp(f"keras-{backend}"))
        env = _env(backend)
        if backend != "jax":
            env["LOSSBRIDGE_WORKER_CASES"] = SUBSET
        proc = subprocess.run([python, WORKER, out], capture_output=True, text=True, env=env,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr[-6000:]
        _RUNS[backend] = (json.loads(proc.stdout.strip().splitlines()[-1]), out)
    return _RUNS[backend]


def _close(a, b, rtol=2e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_follows_the_native_keras_loss(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    assert report["backend"] == backend
    assert report["cases"]
    for name, r in report["cases"].items():
        _close(r["history"], r["history_native"], rtol=1e-5, atol=1e-6)
        assert r["weights_max_abs_diff"] < 1e-5, (name, r["weights_max_abs_diff"])
        assert r["history"][-1] < r["history"][0], (name, r["history"])  # it trains


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_equal_the_native_loss_at_the_same_weights(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    for name, r in report["cases"].items():
        _close(r["value"], r["value_native"])
        if "value_sw_native" in r:
            _close(r["value_sw"], r["value_sw_native"])
        assert r["value_sw"] != pytest.approx(r["value"], rel=1e-3), name  # weights were applied


@pytest.mark.parametrize("backend", BACKENDS)
def test_masks_on_the_predictions_are_applied_once(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    assert set(report["mask"]) == {"keras_scce", "torch_ce_none", "custom_rmse"}
    for name, r in report["mask"].items():
        _close(r["adapted"], r["native"])
        assert r["adapted"] != pytest.approx(r["unmasked"], rel=1e-3), name  # the mask mattered


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_and_config_round_trip(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    for name, r in report["cases"].items():
        assert r["loaded_type"] == "KerasLoss", name
        _close(r["value_loaded"], r["value"], rtol=0, atol=0)
        _close(r["evaluate_loaded"], r["value"], rtol=1e-6)
        _close(r["value_from_config"], r["value"], rtol=0, atol=0)
        _close(r["value_deserialized"], r["value"], rtol=0, atol=0)


@pytest.mark.parametrize("import_order", ["keras first", "register"])
def test_load_model_in_a_new_process_needs_no_custom_objects(import_order, tmp_path_factory):
    report, out = run_worker("jax", tmp_path_factory)
    name = "torch_ce_class_weights"
    imports = ("import keras\nimport lossbridge\n" if import_order == "keras first" else
               "import lossbridge\nimport keras\nlossbridge.adapters.register_keras_serializables()\n")
    code = imports + (
        "import numpy as np\n"
        f"m = keras.models.load_model({os.path.join(out, name + '.keras')!r})\n"
        f"p = np.load({os.path.join(out, name + '.pred.npy')!r})\n"
        f"t = np.load({os.path.join(out, name + '.targets.npy')!r})\n"
        "print(float(m.loss(t, p)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env("jax"), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert float(proc.stdout.strip().splitlines()[-1]) == report["cases"][name]["value"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_class_takes_its_constructor_arguments(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    r = report["from_class"]
    assert r["reduction"] == "sum"
    _close(r["value"], r["native"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_ops_namespace_errors(backend, tmp_path_factory):
    report, _ = run_worker(backend, tmp_path_factory)
    error = report["xp_error"]
    assert "LossBridgeNotImplementedError" in error["mro"] and "NotImplementedError" in error["mro"]
    if backend == "tensorflow":
        assert "has no `xp.linalg`" in error["message"]
    else:
        assert "KERAS_BACKEND=tensorflow" in error["message"]
