"""The command line at its edges: one strict reader of loss strings, losses validated by
building (and, in ``doctor`` and ``compare``, by calling) them, ``--data`` files read
safely, and every user error one line on stderr with exit status 2, never a traceback.

The commands run in-process (``lossbridge.cli.main``); torch is the oracle for what
its constructors and calls refuse.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import io
import json
import os
import pathlib
import subprocess
import sys
import zipfile
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbridge
from lossbridge import _catalog, _sample
from lossbridge.cli import main

torch = pytest.importorskip("torch", reason="torch is the oracle of the torch loss strings")

EXAMPLES = int(os.environ.get("LOSSBRIDGE_EXAMPLES", "12"))


def cli(*argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``lossbridge *argv``, run in-process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as e:  # argparse's own errors
            status = int(e.code or 0)
    return status, out.getvalue(), err.getvalue()


def assert_user_error(status: int, err: str, *words: str) -> None:
    assert status == 2, err
    assert err.startswith("lossbridge: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> str:
    """Every role of the built-in sample, as a user's .npz."""
    path = tmp_path_factory.mktemp("data") / "sample.npz"
    np.savez(path, **_sample.sample())
    return str(path)


def commands(loss: str, data: str) -> list[list[str]]:
    return [["explain", loss], ["compare", loss], ["doctor", "--loss", loss, "--data", data]]


# --------------------------------------------------------------- the loss strings

BAD_STRINGS = [
    # (loss string, words the one-line error must hold: what is wrong, where, and the fix)
    ("torch:CrossEntropyLoss()+f(x=1)", ["text after the call", "'+f(x=1)'", "one pair of parentheses"]),
    ("torch:CrossEntropyLoss(label_smoothing=0.1)(reduction='sum')",
     ["text after the call", "(reduction='sum')", "every argument inside one pair of parentheses"]),
    ("torch:CrossEntropyLoss(label_smoothing=0.1).weight", ["text after the call", "'.weight'"]),
    ("torch:CrossEntropyLoss()[0]", ["text after the call", "'[0]'"]),
    ("torch:CrossEntropyLoss(label_smoothing=0.1) # 0.2", ["text after the call", "'# 0.2'"]),
    ("torch:CrossEntropyLoss() if True else 1", ["text after the call"]),
    ("torch:CrossEntropyLoss(nope=1)",
     ["torch:CrossEntropyLoss has no argument 'nope'", "Its arguments are: weight, size_average, ignore_index"]),
    ("torch:CrossEntropyLoss(labelsmoothing=0.1)", ["no argument 'labelsmoothing'", "Did you mean label_smoothing=?"]),
    ("torch:CrossEntropyLoss(**{'label_smoothing': 0.1})", ["'**' unpacking is not accepted", "key=value"]),
    ("torch:CrossEntropyLoss(*[[1.0, 2.0, 3.0]])", ["'*' unpacking is not accepted", "key=value"]),
    ("torch:CrossEntropyLoss(label_smoothing=f(1))", ["argument label_smoothing=", "not a Python literal", "'f(1)'"]),
    ("torch:CrossEntropyLoss(label_smoothing=0.1 + 0.2)", ["argument label_smoothing=", "not a Python literal"]),
    ("torch:CrossEntropyLoss(__import__('os'))", ["positional argument 1", "not a Python literal"]),
    ("torch:CrossEntropyLoss(", ["'(' was never closed", "dialect:Name(key=literal, ...)"]),
    ("torch:CrossEntropyLoss(label_smoothing=)", ["Cannot read the arguments", "dialect:Name(key=literal, ...)"]),
    ("torch:CrossEntropyLoss(label_smoothing=0.1, label_smoothing=0.2)", ["label_smoothing= is given twice"]),
    ("(torch:CrossEntropyLoss)", ["no loss name before '('"]),
    ("torch:CrossEntropyLoss)", ["Cannot read the loss 'torch:CrossEntropyLoss)'", "write dialect:Name"]),
    ("torch:CrossEntropyLos", ["Unknown loss", "Did you mean 'torch:CrossEntropyLoss'"]),
    ("", ["Cannot read the loss ''"]),
    ("torch:CrossEntropyLoss([1.0, 2.0, 3.0], weight=[1.0, 2.0, 3.0])", ["weight is given twice", "give it once"]),
    ("torch:cross_entropy(1)", ["positional arguments of torch:cross_entropy are its inputs (input, target)",
                                "give the options by keyword"]),
    ("torch:cross_entropy(target=[0, 1])", ["target= is an input of torch:cross_entropy", "the labels array"]),
    ("torch:GaussianNLLLoss(True)", ["torch:GaussianNLLLoss takes no positional argument, 1 given",
                                     "its arguments are: full, eps, reduction"]),
    ("keras:CategoricalCrossentropy(True, 0.1, -1, 'sum', 'n', None, 7)",
     ["takes at most 6 positional arguments (from_logits, label_smoothing, axis, reduction, name, dtype), 7 given"]),
    ("torch:CrossEntropyLoss(weight=[1.0, 'a', 3.0])",
     ["weight=[1.0, 'a', 3.0]", "is not a tensor of numbers", "weight=[1.0, 2.0, 3.0]"]),
    ("torch:CrossEntropyLoss(" + "[" * 80 + "]" * 80 + ")", ["is not a tensor of numbers"]),
    ("optax:smooth_labels(0.1)", ["positional arguments of optax:smooth_labels are its inputs (labels)"]),
]


@pytest.mark.parametrize("loss,words", BAD_STRINGS, ids=[s for s, _ in BAD_STRINGS])
def test_bad_loss_strings_exit_2_with_one_line_in_every_command(loss, words, sample_file):
    for argv in commands(loss, sample_file):
        status, out, err = cli(*argv)
        assert_user_error(status, err, *words)
        assert out == "", argv


def test_the_parser_errors_are_the_builtin_type_python_raises():
    with pytest.raises(lossbridge.LossBridgeTypeError):  # as f(nope=1) raises TypeError
        _catalog.parse("torch:CrossEntropyLoss(nope=1)")
    with pytest.raises(lossbridge.LossBridgeTypeError):
        _catalog.parse("torch:GaussianNLLLoss(True)")
    with pytest.raises(lossbridge.LossBridgeError):
        _catalog.parse("torch:CrossEntropyLoss()+f(x=1)")
    with pytest.raises(lossbridge.LossBridgeError, match="text after the call"):  # translate's string source too
        lossbridge.translate("torch:CrossEntropyLoss(label_smoothing=0.1)(reduction='sum')", "keras")
    with pytest.raises(lossbridge.LossBridgeTypeError, match="no argument 'nope'"):
        lossbridge.translate("torch:CrossEntropyLoss(nope=1)", "keras")


def test_a_positional_weight_is_what_torch_takes_first():
    """``CrossEntropyLoss(1)`` is ``weight=1``, which torch's constructor refuses: so does the command,
    with torch's own message first; a list (the loss string's tensor) is the class weight."""
    with pytest.raises(TypeError) as refused:
        torch.nn.CrossEntropyLoss(1)
    for argv in (["explain", "torch:CrossEntropyLoss(1)"], ["compare", "torch:CrossEntropyLoss(1)"]):
        status, _, err = cli(*argv)
        assert_user_error(status, err, str(refused.value), "weight=1", "weight=[1.0, 2.0, 3.0]")
    logits, labels = torch.tensor(_sample.sample()["logits"]), torch.tensor(_sample.sample()["labels"])
    weight = [1.0, 2.0, 3.0]
    expected = float(torch.nn.CrossEntropyLoss(torch.tensor(weight, dtype=torch.float64))(logits, labels))
    for loss in ("torch:CrossEntropyLoss([1.0, 2.0, 3.0])", "torch:CrossEntropyLoss(weight=[1.0, 2.0, 3.0])"):
        status, out, err = cli("compare", loss, "--json")
        assert status == 0, err
        assert json.loads(out)["results"][0]["mean"] == pytest.approx(expected, rel=1e-12)
    status, out, _ = cli("explain", "torch:CrossEntropyLoss([1.0, 2.0, 3.0])", "--json")
    assert status == 0 and json.loads(out)["config"]["weight"] == weight


def test_torch_refuses_the_tensors_the_parser_refuses():
    with pytest.raises((TypeError, ValueError)):  # no tensor of numbers
        torch.tensor([1.0, "a", 3.0])
    deep = torch.tensor(ast.literal_eval("[" * 80 + "]" * 80))  # a tensor (NumPy refuses > 64 dimensions) ...
    s = _sample.sample()
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):  # ... that no call takes
        torch.nn.CrossEntropyLoss(weight=deep)(torch.tensor(s["logits"]), torch.tensor(s["labels"]))


def test_doctor_reports_a_call_error_the_diagnostics_cannot_read(sample_file):
    """optax refuses a string axis; the diagnostics cannot even read the call: the call's error is the report."""
    status, _, err = cli("doctor", "--loss", "optax:softmax_cross_entropy(axis='x')", "--data", sample_file)
    assert_user_error(status, err, "`axis` must be an int", "axis='x'")


def test_a_tensor_argument_of_a_torch_function_is_a_list():
    x, t = torch.zeros(2, 3), torch.tensor([0, 1])
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        torch.nn.functional.cross_entropy(x, t, weight=2.0)
    status, _, err = cli("compare", "torch:cross_entropy(weight=2.0)")
    assert_user_error(status, err, "argument 'weight' must be Tensor, not float", "weight=[1.0, 2.0, 3.0]")


def test_positional_arguments_bind_as_the_framework_binds_them():
    """Keras' first constructor argument is from_logits: the inputs switch to logits."""
    status, out, err = cli("compare", "keras:CategoricalCrossentropy(True, 0.1)",
                           "keras:CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)", "--json")
    assert status == 0, err
    first, second = json.loads(out)["results"]
    assert first["inputs"] == ["onehot", "logits"] and first["returns"] == second["returns"]
    assert _catalog.parse("torch:CrossEntropyLoss(None, None, 2)")[1] == {
        "weight": None, "size_average": None, "ignore_index": 2}


#: lossbridge's keyword-only switches to a post-release Keras fix (issue 17): not the framework's
OPT_IN_FIXES = {"fixed_alpha_beta", "fixed_label_smoothing"}


def _params(obj) -> tuple[list[str], list[str]]:
    """(positional parameter names in order, every parameter name sorted) of a signature."""
    ps = [p for p in inspect.signature(obj).parameters.values()
          if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
          and not (p.kind is p.KEYWORD_ONLY and p.name in OPT_IN_FIXES)]
    return [p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)], sorted(p.name for p in ps)


def _source_signatures(package: str, folder: str) -> dict[str, tuple[list[str], list[str]]]:
    """The same, read from the installed package's source (functions and classes' ``__init__``),
    without importing it (Keras would pick a backend)."""
    root = pathlib.Path(importlib.util.find_spec(package).origin).parent / folder
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            fn = node
            if isinstance(node, ast.ClassDef):
                fn = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if isinstance(fn, ast.FunctionDef) and not node.name.startswith("_"):
                a = fn.args
                pos = [x.arg for x in a.posonlyargs + a.args if x.arg != "self"]
                out.setdefault(node.name, (pos, sorted(pos + [x.arg for x in a.kwonlyargs])))
    return out


def test_the_dialect_signatures_are_the_frameworks():
    """The parser binds names and positions by the dialect object's signature; for that to be
    the framework's, every torch, Keras and optax catalog object has the framework's positional
    parameters in order and the same keyword names (torch's deprecated NLLLoss2d, which takes
    ``*args, **kwargs``, excepted)."""
    for package in ("keras", "optax"):
        if importlib.util.find_spec(package) is None:
            pytest.fail(f"{package} is not installed: it is the oracle of the {package} signatures")
    real = {"keras": _source_signatures("keras", "src/losses"), "optax": _source_signatures("optax", "losses")}
    checked = 0
    for e in _catalog.all_entries():
        if e.dialect == "torch" and e.id != "torch:NLLLoss2d":
            framework = getattr(torch.nn, e.name, None) or getattr(torch.nn.functional, e.name)
            assert _params(e.obj()) == _params(framework), e.id
        elif e.dialect in real:
            assert _params(e.obj()) == real[e.dialect].get(e.name), e.id
        else:
            continue
        checked += 1
    assert checked > 100


# ------------------------------------------------------- validated by building / calling

def torch_refusal(**config) -> str:
    s = _sample.sample()
    kwargs = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v for k, v in config.items()}
    with pytest.raises(Exception) as info:  # torch builds these and refuses them at the call
        torch.nn.CrossEntropyLoss(**kwargs)(torch.tensor(s["logits"]), torch.tensor(s["labels"]))
    return str(info.value)


@pytest.mark.parametrize("arguments,config", [
    ("weight=[1.0, 2.0]", {"weight": [1.0, 2.0]}),
    ("label_smoothing=2", {"label_smoothing": 2}),
    ("reduction='bogus'", {"reduction": "bogus"}),
])
def test_doctor_and_compare_report_what_the_call_raises(arguments, config, sample_file):
    """torch builds these losses and refuses them when called: ``doctor`` (which used to say
    "no problems found") and ``compare`` say what the call raises, torch's message first."""
    loss = f"torch:CrossEntropyLoss({arguments})"
    said = torch_refusal(**config)
    status, out, err = cli("doctor", "--loss", loss, "--data", sample_file)
    assert_user_error(status, err, said, loss, "sample.npz")
    assert "no problems found" not in out
    status, out, err = cli("doctor", "--loss", loss, "--data", sample_file, "--json")
    assert_user_error(status, err, said)
    assert said in json.loads(out)["call"]["message"]
    status, out, err = cli("compare", loss)  # the table, then the one-line error
    assert_user_error(status, err, said, "the built-in sample")
    assert "lossbridge compare" in out
    # the constructor accepts them, as torch's does: explain has nothing to refuse
    torch.nn.CrossEntropyLoss(**{k: torch.tensor(v) if k == "weight" else v for k, v in config.items()})
    assert cli("explain", loss)[0] == 0


def test_doctor_runs_the_loss_and_says_what_it_returns(sample_file):
    s = _sample.sample()
    expected = float(torch.nn.CrossEntropyLoss(label_smoothing=0.1)(torch.tensor(s["logits"]), torch.tensor(s["labels"])))
    status, out, err = cli("doctor", "--loss", "torch:CrossEntropyLoss(label_smoothing=0.1)", "--data", sample_file)
    assert status == 0 and err == "", err
    assert "no problems found" in out and f"it returns {expected:.7g}." in out
    status, out, _ = cli("doctor", "--loss", "torch:CrossEntropyLoss(0.1)", "--data", sample_file)
    assert status == 2  # a float weight: torch refuses it
    status, out, _ = cli("doctor", "--loss", "torch:CrossEntropyLoss(label_smoothing=0.1)", "--data", sample_file, "--json")
    assert status == 0 and json.loads(out)["call"] == {"shape": [], "mean": pytest.approx(expected, rel=1e-12)}


def test_a_constructor_that_refuses_its_arguments_is_a_user_error(sample_file):
    with pytest.raises(TypeError):  # torch refuses these sizes when building
        torch.nn.LinearCrossEntropyLoss(None, None)
    for argv in commands("torch:LinearCrossEntropyLoss(None, None)", sample_file):
        status, _, err = cli(*argv)
        assert_user_error(status, err, "LinearCrossEntropyLoss", "in_features=None")
    for argv in commands("keras:CategoricalCrossentropy(reduction='bogus')", sample_file):
        status, _, err = cli(*argv)  # Keras' constructor refuses it (the dialect's too)
        assert_user_error(status, err, "Invalid value for argument `reduction`", "Received: reduction='bogus'")


def test_a_weight_both_in_the_string_and_in_the_data_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    s = _sample.sample()
    np.savez(path, input=s["logits"], target=s["labels"], weight=np.ones(3))
    status, _, err = cli("doctor", "--loss", "torch:cross_entropy(weight=[1.0, 1.0, 1.0])", "--data", str(path))
    assert_user_error(status, err, "weight is given twice")


# -------------------------------------------------------------------- --data files

def npy_bytes(shape, descr="<f8", data=b"") -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue() + data


def zipped(path, **members: bytes) -> str:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_bad_data_files_exit_2_with_one_line_and_never_the_pickle_advice(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("logits,labels\n1,2\n")
    objects = tmp_path / "objects.npz"
    np.savez(objects, logits=np.array([{"a": 1}], dtype=object), labels=np.array([0]))
    strings = tmp_path / "strings.npz"
    np.savez(strings, logits=np.array(["a", "b"]), labels=np.array([0, 1]))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    huge = zipped(tmp_path / "huge.npz", **{"logits.npy": npy_bytes((10**6, 10**6)), "labels.npy": npy_bytes((2,))})
    short = zipped(tmp_path / "short.npz", **{"logits.npy": npy_bytes((1000,), data=b"\0" * 16)})
    header = zipped(tmp_path / "header.npz", **{"logits.npy": b"\x93NUMPY\x02\x00" + (200_000).to_bytes(4, "little")
                                                 + b" " * 200_000})
    other = zipped(tmp_path / "other.npz", **{"logits.npy": npy_bytes((1,), data=b"\0" * 8), "notes.txt": b"hi"})
    cases = [
        (text, ["not a NumPy .npz file", "np.savez("]),
        (objects, ["the array 'logits' has dtype object", "numeric arrays"]),
        (strings, ["the array 'logits' has dtype <U1", "numeric arrays"]),
        (single, ["a single .npy array", "np.savez("]),
        (huge, ["the array 'logits' declares shape (1000000, 1000000) of float64 (7.28 TiB)", "at most 2 GiB"]),
        (short, ["expected 8000 bytes"]),
        (header, ["not a plain NumPy array", "header is oversized"]),
        (other, ["member 'notes.txt' is not a .npy array"]),
        (tmp_path / "missing.npz", ["No such file"]),
        (tmp_path, ["Is a directory"]),
    ]
    for path, words in cases:
        for argv in (["compare", "torch:CrossEntropyLoss", "--data", str(path)],
                     ["doctor", "--loss", "torch:CrossEntropyLoss", "--data", str(path)]):
            status, out, err = cli(*argv)
            assert_user_error(status, err, f"Cannot read {str(path)!r}", *words)
            assert "pickle" not in err and "MemoryError" not in err and out == "", err


def test_the_size_limit_is_on_the_declared_bytes_in_all(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, a=np.zeros(10), b=np.zeros(6, dtype=np.int32))  # 80 + 24 bytes
    assert set(_sample.load(str(path), max_bytes=104)) == {"a", "b"}
    with pytest.raises(lossbridge.LossBridgeError, match="at most 103 bytes in all"):
        _sample.load(str(path), max_bytes=103)


def test_good_files_load_as_numpy_loads_them(tmp_path):
    arrays = {"f4": np.arange(6, dtype=np.float32).reshape(2, 3), "be": np.arange(3, dtype=">f8"),
              "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "i1": np.array([-1, 2], np.int8),
              "b": np.array([True, False]), "c": np.array([1 + 2j]), "empty": np.zeros((0, 3)), "scalar": np.array(2.5)}
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, **arrays)
        got = _sample.load(str(path))
        with np.load(path) as expected:
            assert sorted(got) == sorted(expected.files)
            for k in expected.files:
                assert got[k].dtype == expected[k].dtype and np.array_equal(got[k], expected[k]), k


# ------------------------------------------------------------------------ fuzzing

_IDS = sorted(e.id for e in _catalog.all_entries())
_NAMES = sorted({n for e in _catalog.all_entries() for n in inspect.signature(e.obj()).parameters} |
                {"weight", "label_smoothing", "reduction", "from_logits", "axis", "ignore_index", "delta", "nope"})
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["'mean'", "'sum'", "'none'", "'bogus'", "[1.0, 2.0, 3.0]", "[1.0]", "()", "{}", "-1", "1e999",
                     "f(x)", "**{}", "x", "'", "[[[", "(1, 2)", "{'a': 1}", "b'x'", "1j", "--", "", "[1.0, 'a']",
                     "[[1.0]]", "9" * 30, "'x'", "float('nan')", "[" * 70 + "]" * 70, "[True, None]"]),
).map(lambda v: v if isinstance(v, str) else repr(v))
_SUFFIXES = st.sampled_from(["", "", "", ")", "(", "()", "+f(x=1)", "(reduction='sum')", ".x", "[0]", " ", "\n", "#",
                             " # c"])


@st.composite
def loss_strings(draw) -> str:
    head = draw(st.sampled_from(_IDS) | st.text(max_size=12))
    if draw(st.booleans()):
        return head + draw(_SUFFIXES)
    args = draw(st.lists(st.tuples(st.sampled_from(_NAMES) | st.just(""), _VALUES), max_size=3))
    inner = ", ".join(f"{k}={v}" if k else v for k, v in args)
    return f"{head}({inner})" + draw(_SUFFIXES)


def check_outcome(argv: list[str], allowed: tuple[int, ...]) -> None:
    status, _, err = cli(*argv)
    assert status in allowed, (argv, status, err)
    if status == 2:
        assert err.startswith("lossbridge: error: ") and err.count("\n") == 1, (argv, err)
    else:
        assert err == "", (argv, err)


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(loss=loss_strings() | st.text(max_size=40).filter(lambda s: not s.startswith("-")))
def test_fuzzed_loss_strings_never_a_traceback(loss, sample_file):
    """Random and half-valid loss strings: explain and compare end in 0 or a one-line 2, doctor in
    0, 1 (findings) or a one-line 2, whatever the string."""
    check_outcome(["explain", loss, "--json"], (0, 2))
    check_outcome(["compare", loss, "--json"], (0, 2))
    check_outcome(["doctor", "--loss", loss, "--data", sample_file, "--json"], (0, 1, 2))


def test_a_user_error_in_a_real_process_is_one_line_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "lossbridge", "compare", "torch:CrossEntropyLoss()+f(x=1)"],
                          capture_output=True, text=True)
    assert_user_error(proc.returncode, proc.stderr, "text after the call")
