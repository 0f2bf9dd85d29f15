"""lossbridge.diagnose, the check levels, the warnings of the dialect losses and `lossbridge doctor`.

Every detector fires on its mistake and stays silent on clean random calls (the
generators of tools/diagnose_fpr.py, which measures the rates on many more draws).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import lossbridge as lb
from lossbridge import _diagnostics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("diagnose_fpr", os.path.join(ROOT, "tools", "diagnose_fpr.py"))
fpr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fpr)

BACKENDS = ["numpy"]
for _name in ("torch", "jax"):
    if importlib.util.find_spec(_name) is not None:
        BACKENDS.append(_name)

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
LOGITS = np.log(P) + 1.5


def _codes(findings):
    return [f.code for f in findings]


# ------------------------------------------------------------------ registry


def test_every_code_is_documented_and_has_a_case():
    readme = pathlib.Path(ROOT, "docs", "guides", "tour.md").read_text()  # the codes' table
    doc = _diagnostics.__doc__
    assert set(fpr.CASES) == set(lb.CODES)
    for code, info in lb.CODES.items():
        assert re.fullmatch(r"LB\d{3}", code)
        assert f"``{code}``" in doc, code
        assert f"`{code}`" in readme, code
        assert info.level in ("cheap", "full")
        assert issubclass(info.category, lb.LossBridgeWarning) and info.category is not lb.LossBridgeWarning
    families = {c[:4] for c in lb.CODES}
    assert len({lb.CODES[c].category for c in lb.CODES}) == len(families)  # one class per family


# ------------------------------------------------------------------ detectors


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("code", sorted(fpr.CASES))
def test_detector_fires_on_its_case(code, backend):
    for seed in range(4 if backend == "numpy" else 2):
        loss, args, kwargs = fpr.case(code, seed, True, backend)
        findings = lb.diagnose(loss, *args, **kwargs)
        assert code in _codes(findings), (loss, [str(f) for f in findings])
        (f,) = [f for f in findings if f.code == code]
        assert "`" in f.message and f.fix and f.title == lb.CODES[code].title
        assert str(f).startswith(f"{code} (")


@pytest.mark.parametrize("code", sorted(fpr.CASES))
def test_detector_is_silent_on_clean_random_calls(code):
    """No finding at all (not only none of this code) on 150 clean NumPy draws."""
    for seed in range(150):
        loss, args, kwargs = fpr.case(code, seed, False)
        findings = lb.diagnose(loss, *args, **kwargs)
        assert not findings, (seed, loss, [str(f) for f in findings])


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_detectors_are_silent_on_clean_calls_of_every_backend(backend):
    for code in sorted(fpr.CASES):
        for seed in range(8):
            loss, args, kwargs = fpr.case(code, seed, False, backend)
            findings = lb.diagnose(loss, *args, **kwargs)
            assert not findings, (code, seed, loss, [str(f) for f in findings])


def test_the_measurement_tool_counts():
    row = fpr.measure("LB016", 5)
    assert row["draws"] == 5 and row["false_positives"] == 0 and row["detected"] == 5


def test_findings_name_the_arrays_and_what_was_seen():
    (f,) = lb.diagnose("torch:cross_entropy", P, np.array([0, 2]))
    assert f.code == "LB001" and "`input`" in f.message and "(2, 3)" in f.message and "[0.1, 0.8]" in f.message
    (f,) = lb.diagnose(lb.torch.CrossEntropyLoss(ignore_index=3), LOGITS, np.array([3, 3]))
    assert f.code == "LB016" and "ignore_index=3" in f.message and "NaN" in f.message
    (f,) = lb.diagnose(lb.keras.SparseCategoricalCrossentropy(ignore_class=0), np.array([0.0, 0.0]), P)
    assert f.code == "LB016" and "ignore_class=0" in f.message and "0" in f.message
    (f,) = lb.diagnose("torch:nll_loss", np.log(P), np.array([0, 5]))
    assert f.code == "LB014" and "label 5 at position [1]" in f.message and "IndexError" in f.message
    assert f.as_dict()["code"] == "LB014" and f.as_dict()["level"] == "cheap"
    (f,) = lb.diagnose("keras:MeanSquaredError", np.zeros((4, 4, 2)), np.zeros((4, 4, 2)), sample_weight=np.ones(4))
    assert f.code == "LB021" and "LAST axis" in f.message and "sample_weight[:, None]" in f.fix
    (f,) = lb.diagnose("keras:MeanSquaredError", np.zeros((4, 3, 2)), np.zeros((4, 3, 2)), sample_weight=np.ones(4))
    assert f.code == "LB021" and "raises" in f.message
    # a batch of one: its single weight multiplies every timestep of its sample, as meant
    assert lb.diagnose("keras:MeanSquaredError", np.zeros((1, 2, 2)), np.ones((1, 2, 2)), sample_weight=np.ones(1)) == []


def test_special_cases_of_the_detectors():
    # ignore_index values are not out of range; an unbatched input has its classes on axis 0
    assert lb.diagnose("torch:cross_entropy", LOGITS, np.array([255, 1]), ignore_index=255) == []
    assert lb.diagnose("torch:cross_entropy", LOGITS[0], np.array(1)) == []
    assert _codes(lb.diagnose("torch:cross_entropy", P[0], np.array(4))) == ["LB001", "LB014"]
    # -inf logits mask classes: allowed; +inf is not; NaN never
    masked = LOGITS.copy()
    masked[:, 2] = -np.inf
    assert lb.diagnose("torch:cross_entropy", masked, np.array([0, 1])) == []
    assert _codes(lb.diagnose("keras:CategoricalCrossentropy", np.eye(3)[[0, 1]], np.where(P > 0.5, -np.inf, P))) == ["LB040"]
    # softmax over the batch axis, log-softmax over the wrong axis, the reverse layouts
    assert _codes(lb.diagnose("torch:cross_entropy", P.T / P.T.sum(0), np.array([0, 1, 1]))) == ["LB005"]
    lp = np.log(np.full((2, 3, 4), 0.25))
    (f,) = lb.diagnose("torch:nll_loss", lp, np.zeros((2, 4), dtype=int))
    assert f.code == "LB005" and "channels-last" in f.message
    (f,) = lb.diagnose("keras:categorical_crossentropy", np.eye(4)[np.zeros((2, 3), dtype=int)], np.full((2, 3, 4), 1 / 3))
    assert f.code == "LB005" and "channels-first" in f.message
    # log-probabilities where probabilities are expected are named as such
    (f,) = lb.diagnose("theano:categorical_crossentropy", np.log(P), np.array([0, 2]))
    assert f.code == "LB002" and "log-probabilities" in f.message
    # optax silently broadcasts (N,) labels against (N, N) logits
    (f,) = lb.diagnose("optax:softmax_cross_entropy", np.zeros((3, 3)), np.array([0, 1, 2]))
    assert f.code == "LB011" and "broadcast" in f.message
    # Keras aligns (N,) with (N, 1): not a mistake there, but it is in torch
    assert lb.diagnose("keras:mean_squared_error", np.zeros(4), np.zeros((4, 1))) == []
    assert _codes(lb.diagnose("torch:l1_loss", np.zeros(4), np.zeros((4, 1)))) == ["LB020"]
    assert _codes(lb.diagnose(lb.torch.KLDivLoss(), np.log(P), P)) == ["LB030"]  # torch's default "mean"
    assert _codes(lb.diagnose("optax:kl_divergence", P, P)) == ["LB003"]
    assert lb.diagnose("torch:kl_div", np.log(P), np.log(P), reduction="batchmean", log_target=True) == []
    # a few values in [0, 1] are not enough to call logits sigmoid outputs
    assert lb.diagnose("torch:binary_cross_entropy_with_logits", np.array([0.2, 0.9]), np.array([0.0, 1.0])) == []
    # a fully ignored batch is only a mistake under a mean (torch: NaN; Keras: a silent 0)
    assert lb.diagnose("torch:cross_entropy", LOGITS, np.array([1, 1]), ignore_index=1, reduction="sum") == []
    assert lb.diagnose(lb.keras.SparseCategoricalCrossentropy(ignore_class=1, reduction="sum"), np.array([1, 1]), P) == []
    # empty arrays
    assert lb.diagnose("torch:cross_entropy", np.zeros((0, 3)), np.zeros(0, dtype=int)) == []


def test_diagnose_reads_every_kind_of_loss():
    x, t = P, np.array([0, 2])
    for loss in ("torch:CrossEntropyLoss", "torch.nn.CrossEntropyLoss", "F.cross_entropy",
                 lb.torch.CrossEntropyLoss, lb.torch.CrossEntropyLoss(), lb.torch.functional.cross_entropy):
        assert _codes(lb.diagnose(loss, x, t)) == ["LB001"], loss
    # keyword arguments by the loss' own names; options of a function
    assert _codes(lb.diagnose("torch:cross_entropy", input=x, target=t)) == ["LB001"]
    assert _codes(lb.diagnose("torch:cross_entropy", LOGITS, np.array([1, 1]), ignore_index=1)) == ["LB016"]
    assert _codes(lb.diagnose(lb.keras.categorical_crossentropy, np.eye(3)[t], x, from_logits=True)) == ["LB001"]
    assert _codes(lb.diagnose(lb.keras.CategoricalCrossentropy(from_logits=True), np.eye(3)[t], x)) == ["LB001"]
    assert _codes(lb.diagnose(lb.optax.softmax_cross_entropy_with_integer_labels, x, t)) == ["LB001"]
    # Python lists
    assert _codes(lb.diagnose("torch:mse_loss", [[1.0], [2.0]], [1.0, 2.0])) == ["LB020"]


def test_diagnose_reads_real_torch_losses():
    torch = pytest.importorskip("torch")
    x, t = torch.tensor(P), torch.tensor([1, 1])
    assert _codes(lb.diagnose(torch.nn.CrossEntropyLoss(ignore_index=1), x, t)) == ["LB001", "LB016"]
    assert _codes(lb.diagnose(torch.nn.CrossEntropyLoss, x, t)) == ["LB001"]
    assert _codes(lb.diagnose(torch.nn.functional.nll_loss, x, t)) == ["LB003"]
    assert _codes(lb.diagnose(torch.nn.KLDivLoss(reduction="batchmean"), x.log(), x)) == []


def test_diagnose_reads_real_optax_and_keras_losses():
    optax = pytest.importorskip("optax")
    assert _codes(lb.diagnose(optax.losses.softmax_cross_entropy, P, np.eye(3)[[0, 2]])) == ["LB001"]
    os.environ.setdefault("KERAS_BACKEND", "jax")  # keras' default backend is TensorFlow
    keras = pytest.importorskip("keras")
    y = np.eye(3)[[0, 2]]
    assert _codes(lb.diagnose(keras.losses.CategoricalCrossentropy(from_logits=True), y, P)) == ["LB001"]
    assert _codes(lb.diagnose(keras.losses.CategoricalCrossentropy(), y, LOGITS)) == ["LB002"]
    assert _codes(lb.diagnose(keras.losses.SparseCategoricalCrossentropy(ignore_class=2), np.array([2, 2]), P)) == ["LB016"]
    assert _codes(lb.diagnose(keras.losses.categorical_crossentropy, y, LOGITS)) == ["LB002"]


def test_diagnose_errors():
    with pytest.raises(lb.LossBridgeError, match="Unknown loss 'torch:nope'"):
        lb.diagnose("torch:nope", P, P)
    with pytest.raises(lb.LossBridgeTypeError, match="cannot read int 42 as a loss"):
        lb.diagnose(42, P, P)
    with pytest.raises(lb.LossBridgeTypeError, match="cannot read function"):
        lb.diagnose(lambda a, b: 0, P, P)
    with pytest.raises(lb.LossBridgeTypeError, match=r"do not fit torch:cross_entropy\(input, target"):
        lb.diagnose("torch:cross_entropy", P, P, P, P, P, P, P, P, P, P)
    with pytest.raises(lb.LossBridgeTypeError, match="do not fit"):
        lb.diagnose("torch:CrossEntropyLoss", P, np.array([0, 1]), bogus=1)


def test_diagnose_errors_on_mixed_and_traced_arrays():
    torch = pytest.importorskip("torch")
    with pytest.raises(lb.LossBridgeTypeError, match=r"must be Tensor, not numpy\.ndarray"):
        lb.diagnose("torch:cross_entropy", P, torch.tensor([0, 1]))
    jax = pytest.importorskip("jax")

    def traced(x):
        lb.diagnose("torch:cross_entropy", x, jax.numpy.asarray([0, 1]))
        return x

    with pytest.raises(lb.LossBridgeError, match=r"outside jax\.jit"):
        jax.jit(traced)(jax.numpy.asarray(P))
    # under jax.grad (no jit) the values are concrete: diagnose reads the primal values
    out = jax.grad(lambda x: (lb.diagnose("torch:cross_entropy", x, jax.numpy.asarray([0, 1])), x.sum())[1])(
        jax.numpy.asarray(P))
    assert out.shape == (2, 3)


# ------------------------------------------------------------------ levels and warnings


def test_checks_sets_the_level_globally_and_as_a_context():
    assert lb.checks.level() == "cheap"
    try:
        c = lb.checks("full")
        assert lb.checks.level() == "full" and repr(c) == "lossbridge.checks('full')"
        with lb.checks("off") as inner:
            assert lb.checks.level() == "off" and inner.previous == "full"
            with lb.checks("cheap"):
                assert lb.checks.level() == "cheap"
            assert lb.checks.level() == "off"
        assert lb.checks.level() == "full"
    finally:
        lb.checks("cheap")
    with pytest.raises(lb.LossBridgeError, match="Unknown check level 'loud'"):
        lb.checks("loud")
    assert lb.checks.level() == "cheap"
    with pytest.raises(RuntimeError), lb.checks("off"):
        raise RuntimeError("restored on errors too")
    assert lb.checks.level() == "cheap"


def test_cheap_checks_warn_at_the_default_level():
    T, K = lb.torch, lb.keras
    with pytest.warns(lb.LossBridgeTargetWarning, match=r"^LB016: every one of the 2 labels") as w:
        out = T.CrossEntropyLoss(ignore_index=1)(LOGITS, np.array([1, 1]))
    assert np.isnan(out) and w[0].filename == __file__
    with pytest.warns(lb.LossBridgeTargetWarning, match="LB016"):
        T.NLLLoss(ignore_index=0)(np.log(P), np.array([0, 0]))
    with pytest.warns(lb.LossBridgeTargetWarning, match=r"^LB015: `y_true`"):
        K.SparseCategoricalCrossentropy()(np.array([1.5, 0.0]), P)
    with pytest.warns(lb.LossBridgeTargetWarning, match="LB016"):
        K.SparseCategoricalCrossentropy(ignore_class=0)(np.array([0, 0]), P)
    with pytest.warns(lb.LossBridgeShapeWarning, match=r"^LB021: `sample_weight` has shape \(3,\)"):
        K.MeanSquaredError()(np.zeros((3, 3, 2)), np.ones((3, 3, 2)), sample_weight=np.ones(3))
    with pytest.warns(lb.LossBridgeShapeWarning, match=r"^Using a target size .*\(LB020\)$"):
        T.MSELoss()(np.zeros((3, 1)), np.zeros(3))
    with pytest.warns(lb.LossBridgeReductionWarning, match=r"^reduction: 'mean' .*\(LB030\)$"):
        T.KLDivLoss()(np.log(P), P)
    # the value checks (full) stay quiet at the default level
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.CrossEntropyLoss()(P, np.array([0, 1]))
        T.BCEWithLogitsLoss()(np.full((4, 4), 0.5), np.ones((4, 4)))
        K.CategoricalCrossentropy()(np.eye(3)[[0, 1]], LOGITS)
        T.CrossEntropyLoss(ignore_index=1)(LOGITS, np.array([1, 0]))


def test_keras_on_jax_out_of_range_warning_has_its_code():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.warns(lb.LossBridgeTargetWarning, match="^LB014: "):
        lb.keras.SparseCategoricalCrossentropy()(jnp.asarray([1, 3]), jnp.asarray(P))


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_checks_warn_only_at_full(backend):
    conv = lambda x: fpr.convert(np.asarray(x), backend)  # noqa: E731
    T, K, F = lb.torch, lb.keras, lb.torch.functional
    calls = [
        (lb.LossBridgeDomainWarning, "LB001", lambda: T.CrossEntropyLoss()(conv(P), conv([0, 1]))),
        (lb.LossBridgeDomainWarning, "LB001", lambda: T.BCEWithLogitsLoss()(conv(np.full((4, 4), 0.5)), conv(np.ones((4, 4))))),
        (lb.LossBridgeDomainWarning, "LB002", lambda: K.CategoricalCrossentropy()(conv(np.eye(3)[[0, 1]]), conv(LOGITS))),
        (lb.LossBridgeDomainWarning, "LB003", lambda: F.nll_loss(conv(P), conv([0, 1]))),
        (lb.LossBridgeDomainWarning, "LB003", lambda: F.kl_div(conv(P), conv(P), reduction="batchmean")),
        (lb.LossBridgeDomainWarning, "LB004", lambda: F.nll_loss(conv(LOGITS), conv([0, 1]))),
        (lb.LossBridgeDomainWarning, "LB006", lambda: F.kl_div(conv(np.log(P)), conv(np.log(P)), reduction="batchmean")),
        (lb.LossBridgeTargetWarning, "LB013", lambda: F.cross_entropy(conv(LOGITS), conv(np.eye(3)[[0, 1]]), weight=conv([1.0, 2.0, 3.0]))),
        (lb.LossBridgeValueWarning, "LB040", lambda: F.mse_loss(conv([1.0, np.nan]), conv([1.0, 2.0]))),
    ]
    for category, code, call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call()  # cheap: quiet
        with lb.checks("full"), pytest.warns(category, match=f"^{code}: ") as w:
            call()
        assert w[0].filename == __file__, code
        with lb.checks("off"), warnings.catch_warnings():
            warnings.simplefilter("error")
            call()


def test_off_runs_no_check():
    with lb.checks("off"), warnings.catch_warnings():
        warnings.simplefilter("error")
        lb.torch.CrossEntropyLoss(ignore_index=1)(LOGITS, np.array([1, 1]))
        lb.keras.SparseCategoricalCrossentropy()(np.array([1.5, 0.0]), P)


def test_no_warning_under_jit_and_the_same_values():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, t = jnp.asarray(P), jnp.asarray([1, 1])
    f = jax.jit(lambda x, t: lb.torch.functional.cross_entropy(x, t, ignore_index=1))
    g = jax.jit(lambda x: lb.keras.CategoricalCrossentropy(from_logits=True)(jnp.eye(3)[jnp.asarray([0, 1])], x))
    with lb.checks("full"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(float(f(x, t)))
        assert float(g(x)) > 0
        jax.vmap(lambda r: lb.torch.functional.cross_entropy(r, jnp.asarray(0)))(x)
    with lb.checks("full"), pytest.warns(lb.LossBridgeDomainWarning, match="^LB001"):
        grad = jax.grad(lambda x: lb.torch.functional.cross_entropy(x, jnp.asarray([0, 1])))(x)
    assert grad.shape == (2, 3)


def test_checks_do_not_change_values_or_torch_gradients():
    torch = pytest.importorskip("torch")
    x = torch.tensor(P, requires_grad=True)
    with lb.checks("full"), pytest.warns(lb.LossBridgeDomainWarning):
        out = lb.torch.functional.cross_entropy(x, torch.tensor([0, 1]))
    out.backward()
    expected = torch.nn.functional.cross_entropy(torch.tensor(P), torch.tensor([0, 1]))
    assert float(out.detach()) == float(expected) and x.grad is not None


# ------------------------------------------------------------------ the command


def _doctor(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "lossbridge", "doctor", *args],
                          capture_output=True, text=True, env=env, cwd=cwd)


def test_doctor_end_to_end(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, input=P, target=np.array([0, 2]))
    out = _doctor("--loss", "torch:CrossEntropyLoss", "--data", str(bad))
    assert out.returncode == 1, out.stderr
    assert "LB001" in out.stdout and "probabilities where logits are expected" in out.stdout

    out = _doctor("--loss", "torch:cross_entropy", "--data", str(bad), "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert [f["code"] for f in report["findings"]] == ["LB001"]
    assert report["inputs"]["input"] == {"array": "input", "shape": [2, 3], "dtype": "float64"}

    clean = tmp_path / "clean.npz"  # arrays named by role
    np.savez(clean, logits=LOGITS, labels=np.array([0, 2]))
    out = _doctor("--loss", "torch:CrossEntropyLoss", "--data", str(clean))
    assert out.returncode == 0 and "no problems found" in out.stdout, out.stdout + out.stderr
    out = _doctor("--loss", "torch:CrossEntropyLoss", "--data", str(clean), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["findings"] == []

    weighted = tmp_path / "weighted.npz"  # sample_weight reaches a Keras loss
    np.savez(weighted, y_true=np.zeros((4, 4, 2)), y_pred=np.ones((4, 4, 2)), sample_weight=np.ones(4))
    out = _doctor("--loss", "keras:MeanSquaredError", "--data", str(weighted), "--json")
    assert out.returncode == 1 and [f["code"] for f in json.loads(out.stdout)["findings"]] == ["LB021"]


def test_doctor_bad_arguments_and_files(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, input=P, target=np.array([0, 2]))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, input=np.array([{"a": 1}], dtype=object))
    cases = [
        (["--loss", "torch:CrossEntropyLoss", "--data", str(tmp_path / "missing.npz")], "Cannot read"),
        (["--loss", "torch:CrossEntropyLoss", "--data", str(garbage)], "Cannot read"),
        (["--loss", "torch:CrossEntropyLoss", "--data", str(pickled)], "Cannot read"),
        (["--loss", "torch:Nope", "--data", str(good)], "Unknown loss"),
        (["--loss", "torch:CrossEntropyLoss(", "--data", str(good)], "Cannot read"),
        (["--loss", "keras:MeanSquaredError", "--data", str(good)], "has no array 'y_true'"),
        (["--data", str(good)], "required: --loss"),
        (["--loss", "torch:CrossEntropyLoss"], "required: --data"),
    ]
    for args, message in cases:
        out = _doctor(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr and out.stderr.count("\n") == 1, (args, out.stderr)
        assert out.stdout == ""


def test_doctor_help_documents_the_exit_status():
    out = _doctor("--help")
    assert out.returncode == 0 and "0 no findings, 1 findings reported, 2 bad arguments" in out.stdout


def test_every_catalog_loss_is_clean_on_the_built_in_sample():
    """diagnose() reads every loss lossbridge knows, and the sample (correct inputs) has no finding,
    also through the losses' own checks at the full level."""
    from lossbridge import _catalog, _sample

    sample = _sample.sample()
    for entry in _catalog.all_entries():
        args = _sample.inputs(entry.resolved_roles({}), sample)
        assert lb.diagnose(entry.id, *args) == [], entry.id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated aliases warn when built
            loss = entry.build({})
        with lb.checks("full"), warnings.catch_warnings():
            warnings.simplefilter("error", lb.LossBridgeWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            loss(*args)


def test_diagnose_on_jax_arrays_in_a_fresh_process():
    pytest.importorskip("jax")
    code = ("import jax.numpy as jnp, lossbridge as lb\n"
            "print([f.code for f in lb.diagnose('torch:cross_entropy', jnp.asarray([[0.5, 0.5]]), jnp.asarray([0]))])")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "['LB001']", out.stderr


def test_keras_pipeline_hands_the_diagnostics_the_labels_as_given(monkeypatch):
    # Keras casts y_true to the loss' float dtype; integer labels cannot hold LB015's
    # non-integer values, so the diagnostics see the integer labels (no float scan per call)
    torch = pytest.importorskip("torch")
    from lossbridge import _diagnostics

    seen = []
    real = _diagnostics.keras_call
    monkeypatch.setattr(_diagnostics, "keras_call",
                        lambda loss, y_true, *a: (seen.append(y_true.dtype), real(loss, y_true, *a)))
    probs = torch.tensor(P, dtype=torch.float32)
    lb.keras.SparseCategoricalCrossentropy()(torch.tensor([1, 0], dtype=torch.int32), probs)
    assert seen == [torch.int32]
    with pytest.warns(lb.LossBridgeTargetWarning, match=r"^LB015: `y_true`"):
        lb.keras.SparseCategoricalCrossentropy()(torch.tensor([1.5, 0.0]), probs)
    with pytest.warns(lb.LossBridgeTargetWarning, match="LB016"):
        lb.keras.SparseCategoricalCrossentropy(ignore_class=0)(torch.tensor([0, 0]), probs)
