"""lossbridge port: the corpus rewrites as expected (both directions), the emitted equivalence
tests pass, and the CLI's outputs and errors."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lossbridge as lb
from lossbridge import cli

pytest.importorskip("libcst", reason="lossbridge port needs libcst (the [port] extra)")

CORPUS = Path(__file__).parent / "port_corpus"
SCRIPTS = sorted(p.name for p in CORPUS.glob("[kt]*.py"))


def _to(name: str) -> str:
    return "torch" if name.startswith("k") else "keras"


def test_corpus_size() -> None:
    assert len(SCRIPTS) >= 25
    assert {_to(s) for s in SCRIPTS} == {"torch", "keras"}


@pytest.mark.parametrize("name", SCRIPTS)
def test_corpus_golden(name: str) -> None:
    result = lb.port((CORPUS / name).read_text(), _to(name))
    assert result.code == (CORPUS / "expected" / name).read_text()
    assert result.report() == (CORPUS / "expected" / (name[:-3] + ".report.txt")).read_text()
    json.loads(result.json())


def test_refused_and_partial_sites_are_reported() -> None:
    for name, kind in [("k20_custom_tf_loss.py", "custom"), ("k17_dynamic_name.py", "dynamic"),
                       ("t12_losses_in_loop.py", "dynamic"), ("t13_dynamic_weight.py", "dynamic"),
                       ("k23_class_weight_runtime.py", "fit"), ("k27_loss_weights_runtime.py", "loss_weights"),
                       ("t17_functional_dynamic.py", "dynamic"), ("k30_class_weight_mutated.py", "fit"),
                       ("k31_two_models_sample_weight.py", "fit")]:
        result = lb.port((CORPUS / name).read_text(), _to(name))
        left = [s for s in result.sites if s.status == "left" and s.kind == kind]
        assert left and all(s.reason for s in left), name


@pytest.mark.parametrize("name, fn", [("k16_custom_loss.py", "rmse"), ("k21_custom_huberish.py", "log_cosh_like")])
def test_custom_loss_port_keeps_its_values(name: str, fn: str) -> None:
    """The @lossbridge.loss rewrite of a keras.ops-only function computes what the original does
    (keras.ops' abs/mean/sqrt/square/where are NumPy's for these inputs, so NumPy runs the original)."""
    import numpy as np

    source = (CORPUS / name).read_text()
    result = lb.port(source, "torch")
    (site,) = [s for s in result.sites if s.kind == "custom"]
    assert site.status == "ported_with_conditions" and site.exact is True
    cut = lambda text: text[:text.index("model.compile")].replace("import keras\n", "")  # noqa: E731
    original: dict = {"ops": np}
    exec(cut(source).replace("from keras import ops\n", ""), original)
    ported: dict = {}
    exec(cut(result.code).replace("from keras import ops\n", ""), ported)
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) * 2
    np.testing.assert_allclose(ported[fn](y_pred, y_true), original[fn](y_true, y_pred), rtol=1e-12)
    torch = pytest.importorskip("torch", reason="the torch face of the ported loss")
    module = ported[fn].torch()
    assert float(module(torch.as_tensor(y_pred), torch.as_tensor(y_true))) == pytest.approx(
        float(np.mean(original[fn](y_true, y_pred))), rel=1e-12)


def test_emitted_equivalence_tests_pass(tmp_path: Path) -> None:
    """Every ported loss site of the corpus, against the original, in one pytest run (values and
    gradients; lossbridge.keras stands for Keras so no Keras worker starts)."""
    files = []
    for name in SCRIPTS:
        text = lb.port((CORPUS / name).read_text(), _to(name)).emit_test()
        if "SITES = [\n]" in text:
            continue
        path = tmp_path / f"test_emitted_{name}"
        path.write_text(text)
        files.append(str(path))
    assert len(files) >= 25
    env = {**os.environ, "LOSSBRIDGE_PORT_ORACLE": "dialect"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout


#: real Keras' fit() machinery (train_on_batch on a weightless softmax/identity model, learning rate 0:
#: the loss it returns is the compiled loss of this batch) against the ported criterion of k10 / k28
_REAL_FIT = '''

@pytest.mark.parametrize("name, loss, head, weights", [
    ("k10_class_weight.py", "sparse_categorical_crossentropy", "softmax", {"class_weight": {0: 1.0, 1: 5.0, 2: 1.0}}),
    ("k28_sample_weight_regression.py", "huber", "linear", {"sample_weight": "w"}),
])
def test_keras_fit_equals_ported_criterion(name, loss, head, weights):
    import keras
    import numpy as np
    import torch

    import lossbridge as lb

    corpus = CORPUS
    code = lb.port(open(corpus + "/" + name).read(), "torch").code
    scope = {"torch": torch}
    exec(code.split("# lossbridge port: the loss of the compile() below\\n")[1].split("model.compile")[0], scope)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(8, 3)).astype("float32")
    y = rng.integers(0, 3, 8) if head == "softmax" else rng.normal(size=(8, 3)).astype("float32")
    w = (rng.random(8) * 3).astype("float32")
    if "sample_weight" in weights:
        weights = {"sample_weight": w}
    model = keras.Sequential([keras.Input((3,)), keras.layers.Activation(head)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
    expected = model.train_on_batch(z, y, return_dict=True, **weights)["loss"]
    args = (torch.tensor(z), torch.tensor(y)) + ((torch.tensor(w),) if "sample_weight" in weights else ())
    assert float(scope["criterion"](*args)) == pytest.approx(float(expected), rel=1e-6)
'''


def _n_cases(name: str) -> int:
    result = lb.port((CORPUS / name).read_text(), _to(name))
    return sum(1 for s in result.sites if (s.kind == "loss" and s.target_spec)
               or (s.kind in ("fit", "loss_weights") and s.snippet))


def test_emitted_tests_pass_against_real_keras(tmp_path: Path) -> None:
    """Sites of each direction (a criterion, fit's class_weight and sample_weight, a multi-output
    total, functional calls) with real Keras (torch backend, one process) as the Keras side; and
    Keras' own fit() (train_on_batch) with class_weight / sample_weight against the ported criterion."""
    # find_spec, not importorskip: importing keras here would fix this worker's Keras backend
    # (tensorflow by default) for tests/upstream, which runs Keras' own tests on jax
    if importlib.util.find_spec("keras") is None:
        pytest.skip("the real-Keras check needs keras installed")
    files = []
    names = ("k01_mnist_sparse_softmax.py", "t06_weighted_ce.py", "k22_class_weight_onehot.py",
             "k24_sample_weight_binary.py", "k12_multi_output_dict.py", "t16_functional_mix.py",
             "t19_functional_class_weight.py")
    for name in names:
        path = tmp_path / f"test_real_{name}"
        path.write_text(lb.port((CORPUS / name).read_text(), _to(name)).emit_test()
                        + "\n\ndef test_oracle_is_real_keras():\n    from lossbridge._port import _use_real_keras\n"
                        "    assert _use_real_keras()\n")
        files.append(str(path))
    fit = tmp_path / "test_real_fit.py"
    fit.write_text(f"import pytest\n\nCORPUS = {str(CORPUS)!r}\n" + _REAL_FIT)
    files.append(str(fit))
    env = {**os.environ, "KERAS_BACKEND": "torch", "LOSSBRIDGE_PORT_ORACLE": "auto"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    expected = sum(_n_cases(n) + 1 for n in names) + 2
    assert f"{expected} passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-500:]


def test_check_site_fails_on_a_wrong_port() -> None:
    pytest.importorskip("torch", reason="check_site computes gradients with torch")
    os.environ["LOSSBRIDGE_PORT_ORACLE"] = "dialect"
    try:
        with pytest.raises(AssertionError):
            lb._port.check_site("torch:CrossEntropyLoss(label_smoothing=0.1)", "torch:CrossEntropyLoss()", "keras")
        with pytest.raises(lb.LossBridgeError):
            lb._port.check_site("torch:NotALoss", "torch:MSELoss", "keras")  # unknown loss
    finally:
        del os.environ["LOSSBRIDGE_PORT_ORACLE"]


def test_check_weighted_and_total_fail_on_a_wrong_port() -> None:
    """The emitted checks catch the usual hand ports: torch's weight= (divides by the sum of the
    weights, not the batch size) for a class_weight, a sample-weighted sum over the sum of the
    weights, and wrong loss weights for a multi-output total."""
    pytest.importorskip("torch", reason="the checks compute gradients with torch")
    os.environ["LOSSBRIDGE_PORT_ORACLE"] = "dialect"
    try:
        wrong = ("criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 1.0]))\n")
        with pytest.raises(AssertionError):
            lb._port.check_weighted("sparse_categorical_crossentropy", "keras:SparseCategoricalCrossentropy(from_logits=True)",
                                    wrong, {0: 1.0, 1: 5.0, 2: 1.0}, n_classes=3)
        result = lb.port((CORPUS / "k28_sample_weight_regression.py").read_text(), "torch")
        (site,) = [s for s in result.sites if s.kind == "fit"]
        lb._port.check_weighted(site.spec, site.target_spec, site.snippet, site.weights)  # the port passes
        with pytest.raises(AssertionError):
            lb._port.check_weighted(site.spec, site.target_spec, site.snippet.replace(
                "/ per_sample.numel()", "/ sample_weight.sum()"), site.weights)
        result = lb.port((CORPUS / "k12_multi_output_dict.py").read_text(), "torch")
        (total,) = [s for s in result.sites if s.kind == "loss_weights"]
        lb._port.check_total(total.spec, total.target_spec, total.snippet, total.weights)
        with pytest.raises(AssertionError):
            lb._port.check_total(total.spec, total.target_spec, total.snippet, {"digit": 1.0, "box": 1.0})
    finally:
        del os.environ["LOSSBRIDGE_PORT_ORACLE"]


def test_emit_test_shapes_from_script_and_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The emitted test takes the batch size and class count from the script's literals, from
    --batch/--classes, and reports a size held in a variable as data dependent."""
    text = lb.port((CORPUS / "t15_functional_loop.py").read_text(), "keras").emit_test()
    assert "N, C = 32, 10\n" in text and "# classes: 10 (line 7: nn.Linear(128, 10))" in text
    text = lb.port((CORPUS / "t19_functional_class_weight.py").read_text(), "keras").emit_test()
    assert "N, C = 6, 3\n" in text  # the class weights' length
    report = lb.port((CORPUS / "t05_ignore_index.py").read_text(), "keras").report()
    assert "classes = 4 (data dependent: line 4: logits.view(-1, vocab_size)" in report
    script = tmp_path / "t05.py"
    script.write_text((CORPUS / "t05_ignore_index.py").read_text())
    emitted = tmp_path / "test_t05.py"
    assert cli.main(["port", str(script), "--to", "keras", "--emit-test", str(emitted), "--batch", "3",
                     "--classes", "7"]) == 0
    assert "classes = 7 (given on the command line)" in capsys.readouterr().out
    assert "N, C = 3, 7\n" in emitted.read_text()
    assert cli.main(["port", str(script), "--to", "keras", "--classes", "0"]) == 2
    assert "classes=0" in capsys.readouterr().err
    with pytest.raises(lb.LossBridgeError, match="positive integers"):
        lb.port("x = 1\n", "torch", {"rows": 3})


def test_cli_port_diff_write_json_emit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "train.py"
    script.write_text((CORPUS / "t02_softmax_bug.py").read_text())
    assert cli.main(["port", str(script), "--to", "keras"]) == 0
    out = capsys.readouterr().out
    assert "-    loss = criterion(F.softmax(model(x), dim=1), y)" in out and "line 7: softmax: ported" in out
    assert script.read_text() == (CORPUS / "t02_softmax_bug.py").read_text()
    emitted = tmp_path / "test_eq.py"
    assert cli.main(["port", str(script), "--to", "keras", "--json", "--write", "--emit-test", str(emitted)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["to"] == "keras" and report["sites"][0]["exact"] is True
    assert script.read_text() == (CORPUS / "expected" / "t02_softmax_bug.py").read_text()
    assert "check_site" in emitted.read_text()


@pytest.mark.parametrize("argv, message", [
    (["port", "MISSING.py", "--to", "torch"], "MISSING.py: [Errno 2]"),
    (["port", "BAD", "--to", "jax"], "unknown target"),
    (["port", "SYNTAX", "--to", "torch"], "syntax error at line 1"),
])
def test_cli_port_errors(argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("model.compile(loss=\n")
    argv = [str(bad) if a in ("BAD", "SYNTAX") else (str(tmp_path / a) if a == "MISSING.py" else a) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_port_api_errors() -> None:
    with pytest.raises(lb.LossBridgeError, match="unknown target"):
        lb.port("x = 1\n", "optax")
    with pytest.raises(lb.LossBridgeError, match="syntax error"):
        lb.port("def (:\n", "torch")


def test_import_does_not_load_libcst() -> None:
    code = "import sys, lossbridge; assert 'libcst' not in sys.modules; lossbridge.port; assert 'libcst' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
