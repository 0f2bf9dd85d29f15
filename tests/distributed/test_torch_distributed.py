"""lossbridge.distributed on real torch.distributed (gloo, CPU) with 2 and 4 processes.

One spawn per world size (tests/distributed/_torch_worker.py) runs every case against the
single-process full-batch float64 reference; the tests read its JSON of differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-12  # float64; the largest difference seen is 1.4e-14 (a sum of 11 losses)


@pytest.fixture(scope="module", params=[2, 4], ids=["world2", "world4"])
def results(request, tmp_path_factory):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no torch.distributed gloo backend")
    out = tmp_path_factory.mktemp("dist") / f"world{request.param}.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    src = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "_torch_worker.py"), str(request.param), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_case_ran(results):
    errors = {k: v for k, v in results.items() if k.endswith("_error")}
    assert not errors, errors


def test_ddp_training_steps_equal_the_full_batch(results):
    # Uneven tokens per rank (3 + 4r tokens, 15r % ignored), class weights, label smoothing.
    assert results["ddp_global_value"] < TOL
    assert results["ddp_global_grad"] < TOL
    assert results["ddp_global_params"] < TOL  # after two SGD steps


def test_naive_per_rank_mean_is_wrong(results):
    # The same data with the per-rank mean averaged by DDP: visibly different.
    assert results["ddp_naive_grad"] > 1e-3
    assert results["ddp_naive_params"] > 1e-3
    assert results["accum_naive_grad"] > 1e-3
    assert results["naive_value"] > 1e-4
    assert results["exact_value"] < TOL


def test_gradient_accumulation_equals_the_full_batch(results):
    assert results["accum_exact_grad"] < TOL
    assert results["accum_exact_tensor_grad"] < TOL  # tensor denominators, device all-reduce


def test_fsdp2_on_cpu_gloo(results):
    assert "fsdp_error" not in results, results.get("fsdp_error")
    assert results["fsdp_grad"] < TOL and results["fsdp_value"] < TOL


def test_vocab_parallel_equals_single_device(results):
    # V = 23 split 12/11 or 6/6/6/5; the options of _torch_worker.VOCAB_OPTIONS.
    n = int(results["vocab_cases"])
    assert n >= 8
    for i in range(n):
        assert results[f"vocab_{i}_value"] < TOL, i
        assert results[f"vocab_{i}_grad"] < TOL, i
    checked = [k for k in results if k.endswith("_vs_torch")]
    assert len(checked) >= 4
    for k in checked:
        assert results[k] < TOL, k



def test_dialects_over_the_global_batch(results):
    # Keras (sample weights, mean_with_sample_weight, ignore_class), tf.keras (input mask),
    # optax and Theano (per-sample values): DDP + global_loss = the full-batch loss.
    names = sorted(k[len("dialect_"):-len("_value")] for k in results if k.startswith("dialect_") and k.endswith("_value"))
    assert len(names) == 6, names
    for name in names:
        assert results[f"dialect_{name}_value"] < TOL, name
        assert results[f"dialect_{name}_global_grad"] < TOL, name
    # The per-replica mean (what Keras computes on each replica) is not the global one
    # where the replicas hold uneven counts or weights.
    for name in ("keras_cce_sw", "keras_cce_mean_sw", "keras_scce_ignore", "tf_keras_cce_mask", "optax_sce"):
        assert results[f"dialect_{name}_naive_grad"] > 1e-4, name
def test_vocab_parallel_probability_targets(results):
    # Each rank holds its (N, V_r) columns of the probability target; every option of
    # _torch_worker.VOCAB_PROB_OPTIONS vs the fused loss on the full head and full target
    # (value, grads of h, W, b and the target shard), and vs torch's cross_entropy on the
    # full logits for the options torch has.
    n = int(results["vocabp_cases"])
    assert n >= 6
    for i in range(n):
        for q in ("value", "gh", "gw", "gy"):
            assert results[f"vocabp_{i}_{q}"] < TOL, (i, q, results[f"vocabp_{i}_{q}"])
    with_bias = [k for k in results if k.startswith("vocabp_") and k.endswith("_gb")]
    assert len(with_bias) >= 3
    vs_torch = [k for k in results if k.startswith("vocabp_") and k.endswith("_vs_torch")]
    assert len(vs_torch) >= 18  # 4 options x (value, gh, gw, gy) + gb twice
    for k in with_bias + vs_torch:
        assert results[k] < TOL, (k, results[k])
