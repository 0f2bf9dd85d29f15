"""The transform matrix (issue 17, item 4): every public loss of every dialect, from
:mod:`lossbridge._catalog` (a new loss is covered when it is registered), under the
function transforms people use.

* JAX arrays (every dialect): ``jax.jit``, ``jax.grad``, ``jax.vmap``, ``jax.jacfwd``,
  ``jax.hessian``.  ``jit`` and ``vmap`` must give the eager values, ``grad`` and
  ``jacfwd`` the same derivative, ``hessian`` a finite-shaped result.
* torch tensors (every dialect): ``torch.func.grad``, ``torch.func.vmap``,
  ``torch.func.jacfwd`` against eager autograd and eager values, and
  ``torch.compile(fullgraph=True)`` (no graph break) with no warning of lossbridge's own
  and none from dynamo about lru_cache'd helpers.  CI compiles every torch- and
  Keras-dialect loss and a subset of the others; ``LOSSBRIDGE_TRANSFORMS_FULL=1`` compiles
  every loss (and runs the JAX transforms on every loss, not every fifth).

The inputs are the catalog's shared sample (``lossbridge._sample``), and derivatives are
taken with respect to every floating input.  Every failing case is in one of two tables,
strict (each must still fail, so a table cannot hide a fix or go stale):

* ``FRAMEWORK_FAILS`` (class b): the framework's own loss fails the same check, asserted
  live by ``test_framework_fails_too`` (torch 2.13; keras 3.15.1 on the torch/jax backends
  in a subprocess; for Theano, which cannot be installed, its formula in torch/jax ops);
* ``OPEN_JAX`` / ``OPEN_TORCH`` / ``OPEN_COMPILE``: lossbridge fails where the framework
  works or where no framework oracle exists, each with the reason.

``test_counts`` prints pass / framework-also-fails / open per transform family.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import pytest

import lossbridge
from lossbridge import _catalog, _sample

FULL = os.environ.get("LOSSBRIDGE_TRANSFORMS_FULL", "") not in ("", "0")
ENTRIES = sorted(_catalog.all_entries(), key=lambda e: e.id)
IDS = [e.id for e in ENTRIES]
SAMPLE = _sample.sample()

#: (entry id, transform) -> why the transform does not apply there (framework checked).
UNSUPPORTED: dict[tuple[str, str], str] = {}

_FWD_NAN = ("forward mode: the Jacobian-vector product sums x_dot * g over every element, and g is "
            "infinite where the loss has a log(0) (0 * inf = NaN), so every jacfwd entry is NaN while "
            "reverse mode gives the finite ones")
_TORCH_NO_FWD = "torch's kernel has no forward-mode (jvp) formula: NotImplementedError"
#: (kind, entry id, transform) -> (why, oracle): the framework's own loss fails the same check,
#: asserted live by test_framework_fails_too.  Oracles: "torch" (torch 2.13's own
#: torch.nn.functional / torch.nn loss under the same torch.func transform; for JAX arrays, the
#: torch dialect's framework is torch), "keras" (keras 3.15.1's own loss, on the torch backend
#: for torch tensors and on the jax backend for JAX arrays, in a subprocess), "formula" (Theano:
#: no framework is installable here, so the closest oracle is Theano's documented formula written
#: in the array framework's own ops).
FRAMEWORK_FAILS: dict[tuple[str, str, str], tuple[str, str]] = {
    **{("torch", f"torch:{n}", "jacfwd"): (_TORCH_NO_FWD + f" ({k})", "torch") for n, k in (
        ("CTCLoss", "_ctc_loss"), ("ctc_loss", "_ctc_loss"), ("MultiMarginLoss", "multi_margin_loss"),
        ("multi_margin_loss", "multi_margin_loss"), ("MultiLabelMarginLoss", "multilabel_margin_loss"),
        ("multilabel_margin_loss", "multilabel_margin_loss"))},
    **{("torch", f"torch:{n}", t): ("torch refuses a target that requires grad: 'soft_margin_loss is not "
                                    "differentiable with respect to argument target'", "torch")
       for n in ("SoftMarginLoss", "soft_margin_loss") for t in ("grad", "jacfwd")},
    **{("torch", f"torch:{n}", "vmap"): ("torch's gaussian_nll_loss checks torch.any(var < 0) in Python: "
                                         "data-dependent control flow under vmap", "torch")
       for n in ("GaussianNLLLoss", "gaussian_nll_loss")},
    **{(k, f"torch:{n}", "jacfwd"): (_FWD_NAN + " (torch's BCE/KL forward formulas)", "torch")
       for k in ("torch", "jax") for n in ("BCELoss", "binary_cross_entropy", "KLDivLoss", "kl_div")},
    **{("jax", f"torch:{n}", "grad"): ("torch's kl_div gradient with respect to a zero target is NaN "
                                       "(target * log(target)), as the dialect's", "torch")
       for n in ("KLDivLoss", "kl_div")},
    **{("torch", f"torch:{n}", "compile"): ("torch's _ctc_loss has a data-dependent output shape: "
                                            "torch.compile(fullgraph=True) refuses it (Unsupported)", "torch")
       for n in ("CTCLoss", "ctc_loss")},
    **{("torch", f"keras:{n}", "compile"): ("Keras' CTC on the torch backend is torch's ctc_loss, whose "
                                            "output shape is data-dependent: no fullgraph compile", "torch")
       for n in ("CTC", "ctc")},
    **{("torch", f"torch:{n}", "compile"): ("torch's gaussian_nll_loss checks torch.any(var < 0) in Python: "
                                            "a data-dependent guard under torch.compile", "torch")
       for n in ("GaussianNLLLoss", "gaussian_nll_loss")},
    **{("torch", f"keras:{n}", "jacfwd"): ("Keras' CTC on the torch backend is torch's ctc_loss: "
                                           + _TORCH_NO_FWD, "keras") for n in ("CTC", "ctc")},
    **{(k, f"keras:{n}", "jacfwd"): (_FWD_NAN + " (Circle's log-sum-exp of masked -inf terms)", "keras")
       for k in ("torch", "jax") for n in ("Circle", "circle")},
    **{(k, f"theano:{n}", "jacfwd"): (_FWD_NAN + " (no clipping: log(0) at p = 0)", "formula")
       for k in ("torch", "jax") for n in ("binary_crossentropy", "categorical_crossentropy")},
    **{("jax", f"theano:{n}", "grad"): ("the gradient of target * log(output) is NaN at output = target = 0 "
                                        "(0 / 0), Theano's formula, unclipped", "formula")
       for n in ("binary_crossentropy", "categorical_crossentropy")},
}
#: Measured failures on JAX arrays, still open (strict: each must still fail), with why.
OPEN_JAX: dict[tuple[str, str], str] = {}
#: Measured failures of torch.func transforms on torch tensors, still open (strict), with why.
OPEN_TORCH: dict[tuple[str, str], str] = {}
#: torch.compile(fullgraph=True) failures, still open (strict), with why.
OPEN_COMPILE: dict[str, str] = {}
KNOWN_FAILING = ({("torch", e, "compile"): why for e, why in OPEN_COMPILE.items()}
                 | {("jax", e, t): why for (e, t), why in OPEN_JAX.items()}
                 | {("torch", e, t): why for (e, t), why in OPEN_TORCH.items()}
                 | {k: why for k, (why, _) in FRAMEWORK_FAILS.items()})


def _args(entry):
    return [np.asarray(a) for a in _sample.inputs(entry.resolved_roles({}), SAMPLE)]


def _float_positions(args):
    return [i for i, a in enumerate(args) if np.issubdtype(a.dtype, np.floating)]


def _expect(entry, transform, run, kind="jax"):
    reason = UNSUPPORTED.get((entry.id, transform)) or KNOWN_FAILING.get((kind, entry.id, transform))
    if reason is None:
        run()
        return
    with pytest.raises(Exception):  # noqa: B017  (the listed failure, whatever its type)
        run()


# ------------------------------------------------------------------------------- JAX


jax = pytest.importorskip("jax")
jnp = jax.numpy


def _first(out):
    """The loss of a loss that also returns auxiliary values (optax's
    ``ctc_loss_with_forward_probs`` returns the loss and the forward variables)."""
    return out[0] if isinstance(out, tuple) else out


def _jax_setup(entry, loss=None):
    if loss is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a deprecated class warns when built (NLLLoss2d)
            loss = entry.build({})
    args = [jnp.asarray(a) for a in _args(entry)]
    floats = _float_positions(_args(entry))

    def value(*xs):
        return _first(loss(*xs))

    def scalar(*fl):
        full = list(args)
        for i, x in zip(floats, fl, strict=True):
            full[i] = x
        return jnp.sum(jnp.asarray(value(*full)))

    return value, scalar, args, floats


JAX_TRANSFORMS = ("jit", "grad", "vmap", "jacfwd", "hessian")
#: JAX compiles every transform of every loss (3.4 s a loss on 2 cores): CI runs every
#: fifth loss of the sorted catalog (all with LOSSBRIDGE_TRANSFORMS_FULL=1).
JAX_ENTRIES = ENTRIES if FULL else ENTRIES[::5]


def _jax_run(entry, transform, loss=None):
    """The check of ``transform`` on JAX arrays, as a callable that raises when it fails."""
    value, scalar, args, floats = _jax_setup(entry, loss)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eager = np.asarray(value(*args))
            if transform == "jit":
                np.testing.assert_allclose(np.asarray(jax.jit(value)(*args)), eager, rtol=2e-5, atol=1e-6)
            elif transform == "vmap":
                batched = [jnp.stack([a, a]) for a in args]
                out = np.asarray(jax.vmap(value)(*batched))
                np.testing.assert_allclose(out, np.stack([eager, eager]), rtol=2e-5, atol=1e-6)
            else:
                if not floats:
                    raise TypeError("no floating input to differentiate")
                fl = [args[i] for i in floats]
                argnums = tuple(range(len(fl)))
                g = jax.grad(scalar, argnums=argnums)(*fl)
                if transform == "grad":
                    assert all(np.all(np.isfinite(np.asarray(x)) | np.isinf(np.asarray(x))) for x in g), \
                        "NaN in the gradient"
                elif transform == "jacfwd":
                    jf = jax.jacfwd(scalar, argnums=argnums)(*fl)
                    for a, b in zip(jf, g, strict=True):
                        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
                else:
                    h = jax.hessian(scalar, argnums=argnums)(*fl)
                    assert np.shape(h[0][0]) == fl[0].shape * 2

    return run


@pytest.mark.parametrize("transform", JAX_TRANSFORMS)
@pytest.mark.parametrize("entry", JAX_ENTRIES, ids=[e.id for e in JAX_ENTRIES])
def test_jax_transform(entry, transform):
    _expect(entry, transform, _jax_run(entry, transform), "jax")


# ----------------------------------------------------------------------------- torch


torch = pytest.importorskip("torch")


def _torch_setup(entry, built=None):
    if built is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a deprecated class warns when built (NLLLoss2d)
            built = entry.build({})

    def loss(*xs):
        return _first(built(*xs))

    npargs = _args(entry)
    args = [torch.as_tensor(a) for a in npargs]
    floats = _float_positions(npargs)

    def scalar(*fl):
        full = list(args)
        for i, x in zip(floats, fl, strict=True):
            full[i] = x
        out = loss(*full)
        return out.sum() if out.ndim else out

    return loss, scalar, args, floats


TORCH_TRANSFORMS = ("grad", "vmap", "jacfwd")


def _torch_run(entry, transform, loss=None):
    """The check of a torch.func ``transform`` on torch tensors, as a callable that raises
    when it fails; ``loss`` replaces the dialect's (a framework's own loss, the oracle)."""
    loss, scalar, args, floats = _torch_setup(entry, loss)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eager = loss(*args).detach()
            if transform == "vmap":
                batched = [torch.stack([a, a]) for a in args]
                out = torch.func.vmap(loss)(*batched)
                # NaN where the eager value has NaN (Theano's 0 * log 0)
                torch.testing.assert_close(out, torch.stack([eager, eager]), rtol=2e-5, atol=1e-6,
                                           equal_nan=True)
                return
            if not floats:
                raise TypeError("no floating input to differentiate")
            fl = [args[i].clone().requires_grad_() for i in floats]
            want = torch.autograd.grad(scalar(*fl), fl, allow_unused=True, materialize_grads=True)
            argnums = tuple(range(len(fl)))
            fl = [x.detach() for x in fl]
            got = (torch.func.grad if transform == "grad" else torch.func.jacfwd)(scalar, argnums=argnums)(*fl)
            for a, b in zip(got, want, strict=True):
                if transform == "jacfwd":
                    # torch.func.jacfwd gives the Jacobian in the output's dtype, autograd in the
                    # input's (tf.keras' Huber casts float64 inputs to float32): torch's rule,
                    # checked by test_jacfwd_dtype_is_the_outputs.
                    b = b.to(a.dtype)
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)

    return run


def test_jacfwd_dtype_is_the_outputs():
    x = torch.ones(3, dtype=torch.float64)
    assert torch.func.jacfwd(lambda v: v.float().sum())(x).dtype == torch.float32
    assert torch.func.grad(lambda v: v.float().sum())(x).dtype == torch.float64


@pytest.mark.parametrize("transform", TORCH_TRANSFORMS)
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_func_transform(entry, transform):
    _expect(entry, transform, _torch_run(entry, transform), "torch")


def _compile_subset():
    """Every torch- and Keras-dialect loss (about 0.3 s each with backend="eager"); of the
    other dialects one loss per family (first 6 letters of the name), every 4th of them in
    CI; every loss of every dialect with LOSSBRIDGE_TRANSFORMS_FULL=1."""
    if FULL:
        return ENTRIES
    seen, rest = set(), []
    for e in ENTRIES:
        family = (e.dialect, e.name.lower().replace("_", "")[:6])
        if e.dialect not in ("torch", "keras") and family not in seen:
            seen.add(family)
            rest.append(e)
    return [e for e in ENTRIES if e.dialect in ("torch", "keras")] + rest[::4]


COMPILED = _compile_subset()
_PACKAGE = os.path.dirname(os.path.abspath(lossbridge.__file__)) + os.sep


def _compile_run(entry, loss=None):
    """torch.compile(fullgraph=True) gives the eager value, with no warning of lossbridge's own
    but the eager call's (optax's deprecation of convex_kl_divergence: emitted when the call
    is compiled, at the caller's line) and none from dynamo about array-api-compat's
    lru_cache helpers."""
    loss, _, args, _ = _torch_setup(entry, loss)

    def run():
        torch._dynamo.reset()
        with warnings.catch_warnings(record=True) as eager_seen:
            warnings.simplefilter("always")
            eager = loss(*args)
        expected = {(w.category, str(w.message)) for w in eager_seen
                    if issubclass(w.category, lossbridge.LossBridgeWarning)}
        compiled = torch.compile(lambda *a: loss(*a), fullgraph=True, backend="eager")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            out = compiled(*args)
        torch.testing.assert_close(out, eager, rtol=2e-5, atol=1e-6, equal_nan=True)
        ours = [w for w in seen if str(w.filename).startswith(_PACKAGE) or "array_api_compat" in str(w.filename)
                or "lru_cache" in str(w.message) or (issubclass(w.category, lossbridge.LossBridgeWarning)
                                                     and (w.category, str(w.message)) not in expected)]
        assert not ours, [str(w.message)[:200] for w in ours]
        assert {(w.category, str(w.message)) for w in seen} >= expected, "the eager call's warning is lost"

    return run


@pytest.mark.parametrize("entry", COMPILED, ids=[e.id for e in COMPILED])
def test_torch_compile_fullgraph(entry):
    _expect(entry, "compile", _compile_run(entry), "torch")


def test_compiled_warning_once_at_the_callers_line():
    """A lossbridge warning inside compiled code (optax's deprecation of convex_kl_divergence):
    no graph break under fullgraph=True, the warning of the eager call emitted once, when the
    call is compiled, at the line that calls the compiled function; eager calls still warn at
    their own line."""
    import lossbridge.optax as O

    lp, t = torch.tensor([0.1, 0.9]).log(), torch.tensor([0.3, 0.7])
    torch._dynamo.reset()
    compiled = torch.compile(lambda a, b: O.convex_kl_divergence(a, b), fullgraph=True, backend="eager")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = _lineno() + 1
        first, second = compiled(lp, t), compiled(lp, t)
        eager = O.convex_kl_divergence(lp, t); eager_line = _lineno()  # noqa: E702
    ours = [w for w in seen if issubclass(w.category, lossbridge.LossBridgeWarning)]
    assert [(w.category, w.filename, w.lineno) for w in ours] == [
        (lossbridge.LossBridgeDeprecationWarning, __file__, line),
        (lossbridge.LossBridgeDeprecationWarning, __file__, eager_line)], [(w.filename, w.lineno) for w in ours]
    torch.testing.assert_close(first, eager)
    torch.testing.assert_close(second, eager)


def _lineno():
    import inspect

    return inspect.currentframe().f_back.f_lineno


@pytest.mark.parametrize("name", ["hinge_loss", "huber_loss", "smooth_labels"])
def test_compiled_optax_gradient_is_eager(name):
    """The optax losses whose hand-written gradient (lossbridge._grad.custom_gradient) or label
    arithmetic broke torch.compile: fullgraph compiles, with and without an input that requires
    grad, and the compiled gradient is the eager one."""
    entry = next(e for e in ENTRIES if e.id == f"optax:{name}")
    loss, _, args, floats = _torch_setup(entry)
    torch._dynamo.reset()
    compiled = torch.compile(lambda *a: loss(*a), fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(*args), loss(*args))  # nothing requires grad
    grads = []
    for fn in (loss, compiled):
        xs = [a.clone().requires_grad_() if i in floats else a for i, a in enumerate(args)]
        fn(*xs).sum().backward()
        grads.append([xs[i].grad for i in floats])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


_FIRST_COMPILE = """
import warnings, torch, numpy as np
import lossbridge.torch.functional as F, lossbridge.keras as K, lossbridge.optax as O
p = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]); y = torch.tensor([2, 0])
calls = [lambda: F.kl_div(p.log(), p, reduction="batchmean"), lambda: F.cross_entropy(p, y), lambda: F.mse_loss(p, p * 2),
         lambda: K.BinaryCrossentropy()(p, p), lambda: O.kl_divergence(p.log(), p)]
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    for call in calls:  # the first call of the process is the compiled one
        torch.compile(call, fullgraph=True, backend="eager")()
print([f"{w.filename}: {w.message}"[:300] for w in seen])
"""


def test_first_compiled_call_warns_nothing():
    """Issue 17: the first torch.compile of a loss in a process printed dynamo warnings from
    array-api-compat's lru_cache'd helpers (array_kind, array_namespace); a fresh process,
    whose first loss call is compiled, sees no warning at all."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": ""}
    done = subprocess.run([sys.executable, "-c", _FIRST_COMPILE], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-2000:]
    assert "lru_cache" not in done.stderr, done.stderr[-2000:]


# --------------------------------------------------------- the framework fails too (class b)


def _torch_framework_loss(entry):
    """torch 2.13's own loss of a torch-dialect entry (the module built as the catalog builds
    the dialect's, its dtype string as a torch dtype)."""
    if entry.is_class:
        kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in entry.defaults.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(torch.nn, entry.name)(**kwargs)
    return getattr(torch.nn.functional, entry.name)


def _theano_formula(entry, xp):
    """Theano's documented formula in the array framework's own ops (torch or jax.numpy)."""
    if entry.name == "binary_crossentropy":
        return lambda o, t: -(t * xp.log(o) + (1.0 - t) * xp.log(1.0 - o))
    assert entry.name == "categorical_crossentropy", entry.id
    return lambda p, t: -xp.sum(t * xp.log(p), axis=-1)


def _torch_grad_has_no_nan(entry, loss):
    """The JAX matrix's gradient assertion (no NaN) on the framework's own torch gradient."""
    _, scalar, args, floats = _torch_setup(entry, loss)

    def run():
        fl = [args[i].clone().requires_grad_() for i in floats]
        got = torch.autograd.grad(scalar(*fl), fl, allow_unused=True, materialize_grads=True)
        assert not any(bool(torch.isnan(g).any()) for g in got), "NaN in the gradient"

    return run


_KERAS_ORACLE: dict[str, dict[str, str | None]] = {}


def _keras_oracle(kind, case):
    """Keras 3.15.1's own loss under the same check, in a subprocess with KERAS_BACKEND set
    (torch for torch tensors, jax for JAX arrays); every case of one backend in one process."""
    import json
    import subprocess
    import sys

    if importlib.util.find_spec("keras") is None:  # not imported here: that would fix this
        pytest.skip("keras is not installed")  # worker's Keras backend (tests/upstream: jax)
    backend = "torch" if kind == "torch" else "jax"
    if backend not in _KERAS_ORACLE:
        cases = [f"{e}:{t}" for (k, e, t), (_, o) in FRAMEWORK_FAILS.items() if o == "keras" and k == kind]
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        script = os.path.join(os.path.dirname(__file__), "_transforms_keras_oracle.py")
        done = subprocess.run([sys.executable, script, *cases], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        _KERAS_ORACLE[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    return _KERAS_ORACLE[backend][case]


@pytest.mark.parametrize("key", sorted(FRAMEWORK_FAILS), ids=[":".join(k) for k in sorted(FRAMEWORK_FAILS)])
def test_framework_fails_too(key):
    """Class (b): the dialect fails the check, and the framework's own loss fails it too."""
    kind, eid, transform = key
    why, oracle = FRAMEWORK_FAILS[key]
    entry = next(e for e in ENTRIES if e.id == eid)
    dialect_run = (_compile_run(entry) if transform == "compile"
                   else (_jax_run if kind == "jax" else _torch_run)(entry, transform))
    with pytest.raises(Exception):  # noqa: B017  (the dialect fails: a fix would show here)
        dialect_run()
    if transform == "compile":  # torch's own loss under torch.compile(fullgraph=True)
        torch_entry = entry if entry.dialect == "torch" else next(e for e in ENTRIES if e.id == "torch:CTCLoss")
        with pytest.raises(Exception):  # noqa: B017  (torch's own loss fails to compile too)
            _compile_run(torch_entry, _torch_framework_loss(torch_entry))()
        return
    if oracle == "keras":
        failure = _keras_oracle(kind, f"{eid}:{transform}")
        assert failure is not None, f"Keras' own {entry.name} passes {transform}: the dialect must too ({why})"
        return
    if oracle == "formula":
        xp = jnp if kind == "jax" else torch
        run = (_jax_run if kind == "jax" else _torch_run)(entry, transform, _theano_formula(entry, xp))
    elif kind == "torch":
        run = _torch_run(entry, transform, _torch_framework_loss(entry))
    elif transform == "grad":  # torch dialect on JAX arrays: the same assertion on torch's gradient
        run = _torch_grad_has_no_nan(entry, _torch_framework_loss(entry))
    else:
        run = _torch_run(entry, transform, _torch_framework_loss(entry))
    with pytest.raises(Exception):  # noqa: B017  (the framework's own loss fails the same check)
        run()


def test_counts(capsys):
    """The matrix' counts by transform family: passing, framework-also-fails, open."""
    fam = {"jax": [(e.id, t) for e in ENTRIES for t in JAX_TRANSFORMS],
           "torch.func": [(e.id, t) for e in ENTRIES for t in TORCH_TRANSFORMS],
           "torch.compile": [(e.id, "compile") for e in ENTRIES]}
    kinds = {"jax": "jax", "torch.func": "torch", "torch.compile": "torch"}
    lines = []
    for name, cases in fam.items():
        k = kinds[name]
        fw = sum((k, e, t) in FRAMEWORK_FAILS for e, t in cases)
        op = sum((k, e, t) in KNOWN_FAILING and (k, e, t) not in FRAMEWORK_FAILS for e, t in cases)
        lines.append(f"{name}: {len(cases) - fw - op} pass, {fw} framework-also-fails, {op} open")
    lines.append(f"(CI runs: jax {len(JAX_ENTRIES)} losses, torch.func all {len(ENTRIES)}, "
                 f"torch.compile {len(COMPILED)}; LOSSBRIDGE_TRANSFORMS_FULL=1 runs all)")
    with capsys.disabled():
        print("\ntransform matrix: " + "; ".join(lines))
    assert all(k in ("jax", "torch") for k, _, _ in KNOWN_FAILING)
