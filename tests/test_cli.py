"""The `lossbridge` command, run as a user runs it (subprocess), with real and bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lossbridge import _catalog
from lossbridge.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lossbridge", *args], capture_output=True, text=True)


def test_compare_family_table():
    out = run("compare")
    assert out.returncode == 0, out.stderr
    for text in ("keras CategoricalCrossentropy()", "torch nn.CrossEntropyLoss()(probs, labels)",
                 "theano categorical_crossentropy", "optax softmax_cross_entropy", "why it differs"):
        assert text in out.stdout


def test_compare_family_json_values_are_the_frameworks():
    out = run("compare", "--json")
    assert out.returncode == 0, out.stderr
    results = {r["call"]: r for r in json.loads(out.stdout)["results"]}
    assert results["keras CategoricalCrossentropy()"]["mean"] == pytest.approx(1.1769392, rel=1e-6)
    assert results["torch nn.CrossEntropyLoss()(logits, labels)"]["mean"] == pytest.approx(1.1769392, rel=1e-6)
    assert results["torch nn.CrossEntropyLoss()(probs, labels)"]["mean"] == pytest.approx(0.986895, rel=1e-5)
    assert results["keras CategoricalCrossentropy(label_smoothing=0.1)"]["mean"] == pytest.approx(1.4591359, rel=1e-6)
    assert results["-(y * log(p)).sum(1).mean()"]["mean"] is None or str(results["-(y * log(p)).sum(1).mean()"]["mean"]) == "nan"


def test_compare_named_losses_and_keyword_arguments():
    out = run("compare", "keras:CategoricalCrossentropy", "torch:CrossEntropyLoss",
              "keras:CategoricalCrossentropy(from_logits=True)", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)["results"]
    assert [r["inputs"] for r in res] == [["onehot", "probs"], ["logits", "labels"], ["onehot", "logits"]]
    assert all(r["mean"] == pytest.approx(1.1769392, rel=1e-6) for r in res)


def test_compare_with_a_data_file(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, logits=np.array([[2.0, 0.0]]), labels=np.array([0]))
    out = run("compare", "torch.cross_entropy", "optax:softmax_cross_entropy_with_integer_labels", "--data", str(path))
    assert out.returncode == 0, out.stderr
    values_table = out.stdout.split("Step by step")[0]  # the staged comparison follows
    assert values_table.count("0.126928") == 4  # returns and mean for both


@pytest.mark.parametrize("args,message", [
    (["compare", "keras:Nope"], "Unknown loss 'keras:Nope'"),
    (["compare", "CategoricalCrossentropy(from_logits=maybe)"], "not a Python literal"),
    (["compare", "--data", "x.npz"], "--data needs LOSS names"),
    (["list", "fortran"], "Unknown dialect 'fortran'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_unreadable_and_incomplete_data_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    out = run("compare", "torch:CrossEntropyLoss", "--data", str(bad))
    assert out.returncode == 2 and "Cannot read" in out.stderr
    out = run("compare", "torch:CrossEntropyLoss", "--data", str(tmp_path / "missing.npz"))
    assert out.returncode == 2 and "Cannot read" in out.stderr
    partial = tmp_path / "p.npz"
    np.savez(partial, logits=np.zeros((1, 2)))
    out = run("compare", "torch:CrossEntropyLoss", "--data", str(partial))
    assert out.returncode == 2 and "no 'labels' array" in out.stderr


def test_list():
    out = run("list", "--json")
    assert out.returncode == 0
    ids = {e["id"] for e in json.loads(out.stdout)}
    assert {"keras:CategoricalCrossentropy", "torch:CrossEntropyLoss", "torch:cross_entropy",
            "theano:categorical_crossentropy", "optax:softmax_cross_entropy"} <= ids
    out = run("list", "keras")
    assert out.returncode == 0 and "keras:MeanSquaredError" in out.stdout


def test_plain_output_without_rich(monkeypatch, capsys):
    import builtins

    real = builtins.__import__

    def no_rich(name, *a, **k):
        if name.startswith("rich"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_rich)
    assert main(["compare"]) == 0
    text = capsys.readouterr().out
    assert "call" in text and " | " in text and "1.176939" in text


@pytest.mark.parametrize("entry", _catalog.all_entries(), ids=lambda e: e.id)
def test_every_catalog_entry_runs_on_the_sample(entry, capsys):
    assert main(["compare", entry.id, "--json"]) == 0
    (res,) = json.loads(capsys.readouterr().out)["results"]
    assert res["error"] is None, res
