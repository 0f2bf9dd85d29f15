"""`lossbridge explain` and the staged `lossbridge compare A B`, run as a user runs them
(subprocess), with real and bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import lossbridge as lb


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lossbridge", *args], capture_output=True, text=True)


# ----------------------------------------------------------------------- explain


def test_explain_shows_the_dialect_documentation_and_the_equivalents():
    out = run("explain", "keras:SparseCategoricalCrossentropy(from_logits=True)")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    # the formula comes from the dialect's docstrings (class and the function it defers to)
    first_doc_line = lb.keras.SparseCategoricalCrossentropy.__doc__.strip().splitlines()[0]
    assert first_doc_line in text
    for words in ("Defaults", "Equivalents", "torch.nn.CrossEntropyLoss()", "softmax_cross_entropy_with_integer_labels",
                  "unsupported pair", "from_logits"):
        assert words in text, words


def test_explain_json_is_the_translation_table():
    out = run("explain", "torch:CrossEntropyLoss(label_smoothing=0.1, reduction='sum')", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["framework"] == "torch" and data["name"] == "CrossEntropyLoss"
    assert data["row"]["key"] == "ce_logits_labels"
    assert set(data["translations"]) == {"keras", "optax", "theano"}
    keras = data["translations"]["keras"]
    expected = lb.translate("torch:CrossEntropyLoss(label_smoothing=0.1, reduction='sum')", "keras").to_dict()
    assert keras == json.loads(json.dumps(expected))
    assert keras["exact"] and keras["native"] and "label_smoothing=0.1" in keras["code"]
    assert "error" in data["translations"]["theano"]
    assert data["signature"]["ignore_index"] == -100
    assert "sum / sum_{i not ignored} w[t_i]" in data["doc"]  # the reduction denominator, from the docstring


def test_explain_to_one_framework_and_a_loss_without_a_dialect_object():
    out = run("explain", "keras:Huber(delta=2.0)", "--to", "torch", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data["translations"]) == ["torch"]
    assert data["translations"]["torch"]["code"].endswith("torch.nn.HuberLoss(delta=2.0)")


@pytest.mark.parametrize("args,message", [
    (["explain", "keras:Nope"], "Unknown loss 'keras:Nope'"),
    (["explain", "torch:CrossEntropyLoss", "--to", "fortran"], "--to 'fortran': unknown framework; choose one of keras, torch, optax, theano"),
    (["explain"], "the following arguments are required: LOSS"),
    (["explain", "CategoricalCrossentropy(from_logits=maybe)"], "not a Python literal"),
])
def test_explain_bad_arguments_exit_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2, out.stdout
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


# ----------------------------------------------------------------------- compare


def _first(*args: str) -> dict:
    out = run("compare", *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_compare_agreeing_losses_agree_at_every_step():
    d = _first("keras:CategoricalCrossentropy", "torch:CrossEntropyLoss")
    assert d["divergence"]["first"] is None and d["divergence"]["reproduced"]
    assert [s["step"] for s in d["divergence"]["steps"]] == ["renormalise", "clip", "log", "smoothing", "weighting", "reduce"]
    out = run("compare", "keras:CategoricalCrossentropy", "torch:CrossEntropyLoss")
    assert "Step by step" in out.stdout and "agree at every step" in out.stdout


def test_compare_finds_smoothing_weighting_and_reduce():
    assert _first("keras:CategoricalCrossentropy", "keras:CategoricalCrossentropy(label_smoothing=0.1)")["divergence"]["first"] == "smoothing"
    d = _first("torch:CrossEntropyLoss", "torch:CrossEntropyLoss(weight=[1.0, 2.0, 3.0])")
    assert d["divergence"]["first"] == "weighting"
    d = _first("keras:SparseCategoricalCrossentropy(from_logits=True)", "optax:softmax_cross_entropy_with_integer_labels")
    assert d["divergence"]["first"] == "reduce"
    out = run("compare", "keras:CategoricalCrossentropy", "keras:CategoricalCrossentropy(label_smoothing=0.1)")
    assert "First divergence: smoothing" in out.stdout


def test_compare_finds_renormalise_and_clip_on_data_files(tmp_path):
    # unnormalised probabilities: Keras renormalises, NLLLoss on log(p) does not
    p = np.array([[0.1, 0.6, 0.1], [0.2, 0.2, 0.9]])
    path = tmp_path / "unnormalised.npz"
    np.savez(path, probs=p, log_probs=np.log(p), onehot=np.eye(3)[[1, 2]], labels=np.array([1, 2]))
    d = _first("keras:CategoricalCrossentropy", "torch:NLLLoss", "--data", str(path))
    assert d["divergence"]["first"] == "renormalise" and not d["divergence"]["values_equal"]
    # a zero probability on a target: Keras clips it to 1e-7, Theano takes log(0)
    p = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    path = tmp_path / "zero.npz"
    np.savez(path, probs=p, labels=np.array([0, 2]), onehot=np.eye(3)[[0, 2]])
    d = _first("keras:SparseCategoricalCrossentropy", "theano:crossentropy_categorical_1hot", "--data", str(path))
    assert d["divergence"]["first"] == "clip"
    values = [r["returns"] for r in d["results"]]
    assert values[1][0] == float("inf")


def test_compare_non_categorical_pairs_say_so():
    d = _first("torch:MSELoss", "keras:MeanSquaredError")
    assert d["divergence"]["first"] is None and "not a categorical cross-entropy" in d["divergence"]["reason"]
    out = run("compare", "torch:MSELoss", "keras:MeanSquaredError")
    assert out.returncode == 0 and "no staged comparison" in out.stdout


def test_compare_staged_with_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    out = run("compare", "keras:CategoricalCrossentropy", "torch:NLLLoss", "--data", str(bad))
    assert out.returncode == 2 and "Cannot read" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    partial = tmp_path / "partial.npz"
    np.savez(partial, probs=np.full((2, 3), 1 / 3))
    out = run("compare", "keras:CategoricalCrossentropy", "torch:NLLLoss", "--data", str(partial))
    assert out.returncode == 2 and "no 'onehot' array" in out.stderr
