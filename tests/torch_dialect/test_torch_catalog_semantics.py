"""The torch catalog beyond the numbers: completeness, signatures, attributes, warnings,
the command line on every torch entry (against torch's own value), dtypes, and the
generic code under ``jax.jit`` / ``jax.vmap``."""

from __future__ import annotations

import inspect
import json
import math
import warnings

import numpy as np
import pytest

import lossbridge as lb
from lossbridge import _catalog, _sample
from lossbridge.cli import main

T = lb.torch
F = lb.torch.functional
X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])


def _torch_losses() -> tuple[list[str], list[str]]:
    import torch
    from torch.nn.modules.loss import _Loss

    classes = sorted(n for n in dir(torch.nn) if isinstance(getattr(torch.nn, n), type)
                     and issubclass(getattr(torch.nn, n), _Loss))
    functions = sorted(n for n in dir(torch.nn.functional) if n.endswith("_loss") or n in (
        "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
        "linear_cross_entropy", "pairwise_distance"))
    return classes, functions


def test_every_torch_loss_exists_with_torchs_signature():
    import torch

    classes, functions = _torch_losses()
    assert len(classes) >= 23 and len(functions) >= 22
    for name in classes:
        # __init__: torch wraps NLLLoss2d in a deprecation decorator that hides the class signature
        ours = inspect.signature(getattr(T, name).__init__)
        theirs = inspect.signature(inspect.unwrap(getattr(torch.nn, name).__init__))
        _same_parameters(name, ours, theirs)
    for name in functions:
        ours = inspect.signature(getattr(F, name))
        theirs_fn = getattr(torch.nn.functional, name)
        if inspect.isbuiltin(theirs_fn):  # pairwise_distance: the signature is in the docstring
            head = theirs_fn.__doc__.strip().splitlines()[0]
            assert head.startswith(f"{name}(x1, x2, p=2.0, eps=1e-6, keepdim=False)")
            assert str(ours).startswith("(x1: 'Any', x2: 'Any', p: 'float' = 2.0, eps: 'float' = 1e-06, keepdim: 'bool' = False)")
        else:
            _same_parameters(name, ours, inspect.signature(theirs_fn))
        assert name in F.__all__
    assert set(T.__all__) - {"functional"} == set(classes)


def _same_parameters(name: str, ours: inspect.Signature, theirs: inspect.Signature) -> None:
    a = [(p.name, p.kind, p.default) for p in ours.parameters.values() if p.name != "self"]
    b = [(p.name, p.kind, p.default) for p in theirs.parameters.values() if p.name != "self"]
    assert a == b, f"{name}: {a} != {b}"


def test_forward_signatures_match_torch():
    import torch

    classes, _ = _torch_losses()
    for name in classes:
        ours = [p for p in inspect.signature(getattr(T, name).forward).parameters if p != "self"]
        theirs = [p for p in inspect.signature(getattr(torch.nn, name).forward).parameters if p != "self"]
        assert ours == theirs, name


@pytest.mark.parametrize("cls,kwargs", [
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-3, "reduction": "sum"}),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3, "reduction": "none"}),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}),
    ("HuberLoss", {"reduction": "sum", "delta": 2}),
    ("SmoothL1Loss", {"beta": 0.5}),
    ("SoftMarginLoss", {"reduction": "none"}),
    ("MultiLabelSoftMarginLoss", {"reduction": "sum"}),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}),
    ("MultiLabelMarginLoss", {}),
    ("MarginRankingLoss", {"margin": 0.3}),
    ("HingeEmbeddingLoss", {"margin": 2.0}),
    ("CosineEmbeddingLoss", {"margin": -0.1}),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "eps": 0.0, "swap": True}),
    ("TripletMarginWithDistanceLoss", {"margin": 0.5, "swap": True}),
    ("CTCLoss", {"blank": 2, "reduction": "sum", "zero_infinity": True}),
    ("LinearCrossEntropyLoss", {"in_features": 5, "num_classes": 3, "out_features": (2,), "bias": True,
                                "ignore_index": 1, "label_smoothing": 0.1, "reduction": "none"}),
    ("PoissonNLLLoss", {"size_average": False}),
    ("MultiMarginLoss", {"reduce": False}),
])
def test_module_attributes_match_torch(cls, kwargs):
    import torch

    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = getattr(T, cls)(**kwargs)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = getattr(torch.nn, cls)(**kwargs)
    for attr in ("reduction", "log_input", "full", "eps", "log_target", "delta", "beta", "p",
                 "margin", "swap", "blank", "zero_infinity", "weight", "ignore_index",
                 "label_smoothing", "num_classes", "out_features", "options"):
        assert getattr(ours, attr, "absent") == getattr(theirs, attr, "absent"), (cls, attr)
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]
    if cls == "LinearCrossEntropyLoss":
        assert tuple(ours.linear.weight.shape) == tuple(theirs.linear.weight.shape)
        assert tuple(ours.linear.bias.shape) == tuple(theirs.linear.bias.shape)
        bound = 1 / math.sqrt(5)  # torch's nn.Linear initialisation range
        assert np.abs(ours.linear.weight).max() <= bound and ours.linear.weight.dtype == np.float32
    if cls == "TripletMarginWithDistanceLoss":
        assert ours.distance_function is F.pairwise_distance


def test_kl_div_mean_warns_on_every_call_with_torchs_text():
    import torch

    logq, p = np.log(np.array([[0.25, 0.75]])), np.array([[0.5, 0.5]])
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.KLDivLoss()(torch.tensor(logq), torch.tensor(p))
    loss = T.KLDivLoss()
    for _ in range(2):
        with pytest.warns(lb.LossBridgeWarning) as ours:
            loss(logq, p)
        assert len(ours) == 1 and str(ours[0].message).startswith(str(theirs[0].message))
        assert ours[0].filename == __file__  # stacklevel points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(logq, p, reduction="batchmean")  # no warning
    with pytest.warns(lb.LossBridgeWarning, match="size_average and reduce args will be deprecated"):
        F.kl_div(logq, p, reduce=True)


def test_nll_loss_2d_is_a_deprecated_alias():
    import torch

    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.NLLLoss2d()
    with pytest.warns(FutureWarning) as ours:
        loss = T.NLLLoss2d(ignore_index=1)
    assert issubclass(ours[0].category, lb.LossBridgeFutureWarning)
    assert str(ours[0].message) == str(theirs[0].message)
    assert isinstance(loss, T.NLLLoss) and loss.ignore_index == 1
    logp = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    assert float(loss(logp, np.array([1, 0]))) == pytest.approx(-math.log(0.5))  # label 1 ignored


@pytest.mark.parametrize("name", ["huber_loss", "smooth_l1_loss"])
def test_size_mismatch_warning_is_torchs(name):
    import torch

    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(torch.nn.functional, name)(torch.ones(3, 1), torch.ones(3))
    with pytest.warns(lb.LossBridgeWarning) as ours:
        getattr(F, name)(np.ones((3, 1)), np.ones(3))
    expected = str(theirs[0].message).replace("torch.Size([3])", "[3]").replace("torch.Size([3, 1])", "[3, 1]")
    assert str(ours[0].message).startswith(expected) and "squeeze(-1)" in str(ours[0].message)
    with warnings.catch_warnings(record=True) as caught:  # torch's own warning is not repeated
        warnings.simplefilter("always")
        getattr(F, name)(torch.ones(3, 1), torch.ones(3))
    assert len(caught) == 1


@pytest.mark.parametrize("name", ["ctc_loss", "huber_loss", "margin_ranking_loss", "multi_margin_loss"])
def test_elementwise_mean_is_accepted_with_a_warning_where_torch_accepts_it(name):
    args = {
        "ctc_loss": (np.log(np.full((3, 1, 2), 0.5)), np.array([[1]]), np.array([3]), np.array([1])),
        "huber_loss": (X, X * 0), "margin_ranking_loss": (X[0], X[1], np.ones(3)),
        "multi_margin_loss": (X, np.array([0, 1, 2, 0])),
    }[name]
    with pytest.warns(lb.LossBridgeWarning, match="elementwise_mean"):
        out = getattr(F, name)(*args, reduction="elementwise_mean")
    assert float(out) == pytest.approx(float(getattr(F, name)(*args)))


def test_huber_weighted_mean_is_not_divided_by_the_weights():
    d, w = np.array([0.5, 3.0]), np.array([1.0, 3.0])
    per = F.huber_loss(d, np.zeros(2), reduction="none")
    assert float(F.huber_loss(d, np.zeros(2), weight=w)) == pytest.approx(float((w * per).mean()))
    assert float(F.l1_loss(d, np.zeros(2), weight=w)) == pytest.approx(float((w * d).sum() / w.sum()))


# ------------------------------------------------------------- command line

TORCH_ENTRIES = _catalog.all_entries("torch")


def _torch_reference(entry: _catalog.Entry, inputs: list) -> float | None:
    """torch's own value for a catalog entry on the built-in sample (None: no fixed value)."""
    import torch

    if entry.name == "LinearCrossEntropyLoss":
        return None  # a randomly initialised linear layer
    args = [torch.tensor(a) for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if entry.module == "torch":
            out = getattr(torch.nn, entry.name)(**entry.defaults)(*args)
        else:
            out = getattr(torch.nn.functional, entry.name)(*args, **entry.defaults)
    return out.detach().numpy().tolist()


def test_catalog_has_every_torch_loss():
    classes, functions = _torch_losses()
    ids = {e.name for e in TORCH_ENTRIES}
    assert set(classes) <= ids
    assert set(functions) - {"pairwise_distance"} <= ids


@pytest.mark.parametrize("entry", TORCH_ENTRIES, ids=lambda e: e.id)
def test_compare_runs_every_torch_entry_with_torchs_value(entry, capsys, torch_oracle):
    assert main(["compare", entry.id, "--json"]) == 0
    (res,) = json.loads(capsys.readouterr().out)["results"]
    assert res["error"] is None, res
    expected = _torch_reference(entry, _sample.inputs(entry.roles, _sample.sample()))
    if expected is None:
        assert np.all(np.isfinite(res["returns"]))
    else:
        np.testing.assert_allclose(res["returns"], expected, rtol=1e-9, atol=1e-12)


def test_compare_huber_and_smooth_l1_in_one_table(capsys):
    assert main(["compare", "torch:HuberLoss(delta=0.5)", "torch:SmoothL1Loss(beta=0.5)", "--json"]) == 0
    huber, smooth = json.loads(capsys.readouterr().out)["results"]
    assert huber["mean"] == pytest.approx(0.5 * smooth["mean"])  # Huber(d) = d * SmoothL1(beta=d)


# ------------------------------------------------- dtypes, jit and vmap on JAX

FUNCTIONS = [e for e in TORCH_ENTRIES if e.module == "torch.functional"]


@pytest.mark.parametrize("entry", FUNCTIONS, ids=lambda e: e.name)
@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_float32_in_float32_out(entry, backend, backends):
    from harness.backends import to_backend

    if backend not in backends:
        pytest.skip(f"{backend} is not installed")
    inputs = [to_backend(a, backend, "float32") for a in _sample.inputs(entry.roles, _sample.sample())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.LossBridgeWarning)
        out = entry.build({})(*inputs)
    assert str(out.dtype).endswith("float32"), (entry.name, out.dtype)


@pytest.mark.parametrize("entry", FUNCTIONS, ids=lambda e: e.name)
def test_generic_code_runs_under_jit_and_vmap(entry):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    inputs = [jnp.asarray(a) for a in _sample.inputs(entry.roles, _sample.sample())]
    fn = entry.build({"reduction": "none"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.LossBridgeWarning)
        eager = fn(*inputs)
        jitted = jax.jit(fn)(*inputs)
        np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-6, atol=1e-6)
        # vmap over a leading batch of two copies of the first (floating) input
        first = inputs[0]
        batched = jax.vmap(lambda a: fn(a, *inputs[1:]))(jnp.stack([first, first]))
    np.testing.assert_allclose(np.asarray(batched[0]), np.asarray(eager), rtol=1e-6, atol=1e-6)


# -------------------------------------------------- error messages: torch's first

def _error_cases() -> dict:
    import importlib

    cases = {}
    for module in ("torch_dialect.test_torch_catalog_conformance", "torch_dialect.test_torch_ctc"):
        cases.update(importlib.import_module(module).ERROR_CASES)
    return cases


ERRORS = _error_cases()
# torch's own text there is an artifact of its implementation (an overload list of
# torch.any for an int variance); lossbridge keeps its first clause.
_FIRST_CLAUSE_ONLY = {"gaussian int var": "any() received an invalid combination of arguments - got (bool)"}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_messages_start_with_torchs(name, torch_oracle):
    from harness.oracle import OracleError, run_lossbridge

    spec, args = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OracleError) as theirs:
            torch_oracle.run(spec, args, "float64")
        for backend in ("numpy", "torch"):
            with pytest.raises(lb.LossBridgeError) as ours:
                run_lossbridge(spec, args, backend, "float64")
            expected = _FIRST_CLAUSE_ONLY.get(name, theirs.value.message)
            if backend == "numpy":  # torch prints torch.Size([3]); other arrays print [3]
                expected = expected.replace("torch.Size(", "").replace("])", "]")
            assert str(ours.value).startswith(expected), (str(ours.value), expected)
            assert len(str(ours.value)) > len(expected)  # then the shapes seen and the fix
