"""lossbridge.distributed under JAX sharding: 4 host devices, in a subprocess (so this
process's JAX keeps its own device count)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-12  # float64 (jax_enable_x64 in the worker)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("jaxdist") / "jax.json"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4 --xla_cpu_multi_thread_eigen=false",
               OMP_NUM_THREADS="1")
    src = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "_jax_worker.py"), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_case_ran(results):
    errors = {k: v for k, v in results.items() if k.endswith("_error")}
    assert not errors, errors


def test_shard_map_data_parallel_equals_full_batch(results):
    # 4 shards with 4, 3, 2, 1 valid tokens: psum / psum, gradients of replicated params.
    assert results["dp_exact_value"] < TOL
    assert results["dp_exact_grad"] < TOL


def test_naive_mean_of_shard_means_is_wrong(results):
    assert results["dp_naive_value"] > 1e-3
    assert results["dp_naive_grad"] > 1e-3


def test_pmap_with_pmean_of_the_gradients(results):
    assert results["pmap_value"] < TOL
    assert results["pmap_grad"] < TOL


def test_jit_with_sharded_inputs(results):
    assert results["jit_sharded_value"] < TOL
    assert results["jit_sharded_grad"] < TOL


@pytest.mark.parametrize("ndev", [2, 4])
def test_vocab_parallel_shard_map(results, ndev):
    keys = [k for k in results if k.startswith(f"vocab{ndev}_")]
    assert len(keys) >= (18 if ndev == 4 else 9), keys
    for k in keys:
        assert results[k] < TOL, (k, results[k])  # values, gradients, and 0 on the padded rows


def test_dialects_over_the_global_batch(results):
    # Keras (sample weights, mean_with_sample_weight, ignore_class leaving a shard empty),
    # tf.keras and optax: global_loss under shard_map = the loss on the full batch, and the
    # mean of the per-shard means is not.
    names = sorted(k[len("dialect_"):-len("_global_value")] for k in results if k.endswith("_global_value"))
    assert len(names) == 5, names
    for name in names:
        assert results[f"dialect_{name}_global_value"] < TOL, name
        assert results[f"dialect_{name}_global_grad"] < TOL, name
    # Where the per-shard denominators differ (sum of sample weights; unmasked count) the
    # mean of the shard means is wrong; where every shard has the same element count
    # (sum_over_batch_size with sample weights, per-sample optax) it happens to be right.
    for name in ("keras_cce_mean_sw", "keras_scce_ignore"):
        assert results[f"dialect_{name}_naive_value"] > 1e-4, name
        assert results[f"dialect_{name}_naive_grad"] > 1e-4, name
    for name in ("keras_cce_sw", "tf_keras_mse_sw", "optax_sce"):
        assert results[f"dialect_{name}_naive_value"] < 1e-12, name
@pytest.mark.parametrize("ndev", [2, 4])
def test_vocab_parallel_probability_targets_shard_map(results, ndev):
    # The (N, V) probabilities padded to V_r * ndev columns (junk in the padding) and split
    # over the axis: value and gradients of h, W, b and the target vs the fused loss on the
    # full head; the padded rows of W and columns of the target get exactly zero gradient.
    cases = {k.rsplit("_", 1)[0] for k in results if k.startswith(f"vocabp{ndev}_")}
    assert len(cases) >= (5 if ndev == 4 else 3), cases
    for c in cases:
        for q in ("value", "gh", "gw", "gy"):
            assert results[f"{c}_{q}"] < TOL, (c, q, results[f"{c}_{q}"])
        assert results[f"{c}_padgrad"] == 0.0, c
        if f"{c}_gb" in results:
            assert results[f"{c}_gb"] < TOL, c
    assert any(f"{c}_gb" in results for c in cases)
