"""CTC loss against the real torch 2.13 on NumPy, torch (torch's kernel), torch-generic
(lossbridge's alpha/beta recursion on torch tensors) and JAX.

torch's CTC gradient is the gradient with respect to the *logits* before a
``log_softmax``: the randomised test differentiates through one (a test-only
wrapper, ``harness/wrappers.py``), and also compares the gradient taken directly
with respect to ``log_probs`` (torch's formula ``exp(lp) - posterior``, which
lossbridge reproduces on every backend).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbridge as lb
from harness import strategies as S
from harness.backends import to_backend
from harness.conformance import check
from harness.oracle import OracleError, Spec

T_STEPS, MAX_LEN = 5, 3


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@st.composite
def ctc_case(draw):
    r = S.rng(draw(S.seeds))
    n, c = draw(S.batch_sizes), draw(st.sampled_from([3, 4]))
    layout = draw(st.sampled_from(["padded", "padded", "concatenated", "unbatched"]))
    if layout == "unbatched":
        n = 1
    blank = draw(st.sampled_from([0, 0, c - 1]))
    pool = [k for k in range(c) if k != blank]
    tl = r.integers(0, MAX_LEN + 1, size=n)
    il = np.where(r.uniform(size=n) < 0.5, T_STEPS, r.integers(0, T_STEPS + 1, size=n))
    labels = r.choice(pool, size=(n, MAX_LEN))
    if draw(st.booleans()):  # repeated labels need a blank between them: often impossible
        labels[:, 1] = labels[:, 0]
    if draw(st.integers(0, 4)) == 0:  # a label equal to blank: torch computes it anyway
        labels[0, 0] = blank
    padding = r.integers(-1, c, size=(n, MAX_LEN))  # never read by torch
    padded = np.where(np.arange(MAX_LEN) < tl[:, None], labels, padding)
    if layout == "padded":
        targets = padded
    else:
        targets = np.concatenate([labels[i, : tl[i]] for i in range(n)]).astype(np.int64)
    logits = r.normal(0, 2, size=(T_STEPS, n, c))
    if layout == "unbatched":
        logits = logits[:, 0]
        il, tl = (il[0], tl[0]) if draw(st.booleans()) else (il, tl)  # 0-d or (1,) lengths
    config = {"blank": blank, "reduction": draw(S.TORCH_REDUCTIONS),
              "zero_infinity": draw(st.booleans())}
    return config, logits, targets, np.asarray(il), np.asarray(tl)


# The CTC recursions are Python loops over T of small array ops on every backend (JAX
# dispatches each op eagerly inside jax.vjp): a quarter of the profile's examples.
@settings(max_examples=max(2, settings.default.max_examples // 4))
@given(case=ctc_case(), use_class=st.booleans(), tuple_lengths=st.booleans())
def test_ctc_loss_through_log_softmax(case, use_class, tuple_lengths, torch_oracle, torch_backends):
    config, logits, targets, il, tl = case
    name = "CTCLoss" if use_class else "ctc_loss"
    if il.ndim == 0:
        tuple_lengths = False  # a 0-d length has no tuple form
    spec = Spec("torch", f"{name}(log_softmax(logits))", "wrapper", config | {"tuple_lengths": tuple_lengths})
    check(spec, [logits, targets, il, tl], [torch_oracle], torch_backends, wrt=(0,))


@settings(max_examples=max(2, settings.default.max_examples // 4))
@given(case=ctc_case(), normalised=st.booleans(), use_class=st.booleans())
def test_ctc_loss_gradient_with_respect_to_log_probs(case, normalised, use_class, torch_oracle, torch_backends):
    """torch's gradient is not the derivative of its value; lossbridge returns torch's."""
    config, logits, targets, il, tl = case
    log_probs = _log_softmax(logits) if normalised else logits  # unnormalised: torch does not check
    spec = (Spec("torch", "CTCLoss", "class", config) if use_class
            else Spec("torch", "ctc_loss", kwargs=config))
    check(spec, [log_probs, targets, il, tl], [torch_oracle], torch_backends, wrt=(0,))


# ----------------------------------------------------------------- edge cases

R = np.random.default_rng(7)
LOGITS = R.normal(0, 2, size=(6, 3, 4))
LP = _log_softmax(LOGITS)
TG = np.array([[1, 2, 2], [3, 1, 0], [1, 0, 0]])
IL = np.array([6, 4, 5])
TL = np.array([3, 2, 0])


def _ctc(args: list, wrt: tuple = (0,), **kwargs) -> tuple:
    return Spec("torch", "ctc_loss(log_softmax(logits))", "wrapper", kwargs), args, wrt


def _ctc_lp(args: list, wrt: tuple = (0,), **kwargs) -> tuple:
    return Spec("torch", "ctc_loss", kwargs=kwargs), args, wrt


EDGE_CASES = {
    "ctc padded, none": _ctc([LOGITS, TG, IL, TL], reduction="none"),
    "ctc mean divides by target lengths (0 -> 1)": _ctc([LOGITS, TG, IL, TL]),
    "ctc concatenated targets": _ctc([LOGITS, np.array([1, 2, 2, 3, 1]), IL, TL], reduction="sum"),
    "ctc zero-length targets everywhere": _ctc([LOGITS, np.zeros((3, 0), dtype=np.int64), IL, np.zeros(3, dtype=np.int64)], reduction="none"),
    "ctc empty concatenated targets": _ctc([LOGITS, np.zeros((0,), dtype=np.int64), IL, np.zeros(3, dtype=np.int64)], reduction="none"),
    "ctc impossible alignment: inf, NaN gradient": _ctc([LOGITS, np.array([[1, 1, 1], [3, 1, 0], [1, 0, 0]]), np.array([4, 4, 1]), np.array([3, 2, 1])], reduction="none"),
    "ctc impossible alignment, zero_infinity": _ctc([LOGITS, np.array([[1, 1, 1], [3, 1, 0], [1, 0, 0]]), np.array([4, 4, 1]), np.array([3, 2, 1])], reduction="mean", zero_infinity=True),
    "ctc input length 0 (target length 0 and 1)": _ctc([LOGITS, TG, np.array([0, 0, 5]), np.array([0, 1, 0])], reduction="none"),
    "ctc repeated labels need a blank between": _ctc([LOGITS, np.array([[2, 2, 0], [3, 3, 3], [1, 1, 0]]), np.array([6, 5, 2]), np.array([2, 3, 2])], reduction="none"),
    "ctc blank inside the targets": _ctc([LOGITS, np.array([[1, 0, 2], [3, 1, 0], [0, 0, 0]]), IL, np.array([3, 2, 1])], reduction="none"),
    "ctc blank = C - 1": _ctc([LOGITS, np.array([[0, 1, 2], [2, 0, 0], [1, 1, 1]]), IL, np.array([3, 1, 2])], blank=3, reduction="sum"),
    "ctc unbatched, 1-D targets are concatenated": _ctc([LOGITS[:, 0], np.array([1, 2, 2]), np.array(6), np.array(3)], reduction="none"),
    "ctc unbatched, (1, S) targets and (1,) lengths": _ctc([LOGITS[:, 0], np.array([[1, 2, 2]]), np.array([6]), np.array([2])]),
    "ctc lengths as tuples": (Spec("torch", "ctc_loss(log_softmax(logits))", "wrapper", {"tuple_lengths": True, "reduction": "none"}), [LOGITS, TG, IL, TL], (0,)),
    "ctc float targets are truncated": _ctc([LOGITS, np.array([[1.7, 2.2, 2.9], [3.0, 1.5, 0.0], [1.0, 0.0, 0.0]]), IL, TL], reduction="none"),
    "ctc log_probs directly: torch's gradient exp(lp) - posterior": _ctc_lp([LP, TG, IL, TL], reduction="sum"),
    "ctc unnormalised log_probs can give a negative loss": _ctc_lp([LOGITS + 3.0, TG, IL, TL], reduction="none"),
    "ctc -inf log-probability of the blank": _ctc_lp([np.where(np.arange(4) == 0, -np.inf, LP), TG, IL, TL], reduction="none"),
    "CTCLoss class, zero_infinity, mean": (Spec("torch", "CTCLoss(log_softmax(logits))", "wrapper", {"zero_infinity": True}), [LOGITS, np.array([[1, 1, 1], [3, 1, 0], [1, 0, 0]]), np.array([6, 2, 5]), np.array([3, 2, 1])], (0,)),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_ctc_edge_cases(name, torch_oracle, torch_backends):
    spec, args, wrt = EDGE_CASES[name]
    check(spec, args, [torch_oracle], torch_backends, wrt=wrt)


ERROR_CASES = {
    "ctc input length above T": _ctc_lp([LP, TG, np.array([7, 4, 5]), TL])[:2],
    "ctc negative input length": _ctc_lp([LP, TG, np.array([-1, 4, 5]), TL])[:2],
    "ctc negative target length": _ctc_lp([LP, TG, IL, np.array([-1, 2, 0])])[:2],
    "ctc target length above S": _ctc_lp([LP, TG, IL, np.array([4, 2, 0])])[:2],
    "ctc concatenated targets of the wrong length": _ctc_lp([LP, np.array([1, 2, 2, 3]), IL, TL])[:2],
    "ctc 3-D targets": _ctc_lp([LP, TG[:, :, None], IL, TL])[:2],
    "ctc padded targets of another batch size": _ctc_lp([LP, TG[:2], IL, TL])[:2],
    "ctc blank out of range": _ctc_lp([LP, TG, IL, TL], blank=4)[:2],
    "ctc negative blank": _ctc_lp([LP, TG, IL, TL], blank=-1)[:2],
    "ctc input_lengths of another size": _ctc_lp([LP, TG, IL[:2], TL])[:2],
    "ctc target_lengths of another size": _ctc_lp([LP, TG, IL, np.array([3, 2, 0, 1])])[:2],
    "ctc 0-d lengths for a batch": _ctc_lp([LP, TG, np.array(6), np.array(3)])[:2],
    "ctc float input lengths": _ctc_lp([LP, TG, IL.astype(float), TL])[:2],
    "ctc 1-D log_probs": _ctc_lp([LP[:, 0, 0], TG, IL, TL])[:2],
    "ctc 4-D log_probs": _ctc_lp([LP[..., None], TG, IL, TL])[:2],
    "ctc integer log_probs": _ctc_lp([np.zeros((6, 3, 4), dtype=np.int64), TG, IL, TL])[:2],
    "ctc empty batch": _ctc_lp([LP[:, :0], TG[:0], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)])[:2],
    "ctc unknown reduction": _ctc_lp([LP, TG, IL, TL], reduction="avg")[:2],
    "ctc unbatched concatenated targets longer than the target length": _ctc_lp([LP[:, 0], np.array([1, 2, 2]), np.array(6), np.array(2)])[:2],
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_ctc_errors_have_torch_types(name, torch_oracle, torch_backends):
    spec, args = ERROR_CASES[name]
    with pytest.raises(OracleError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_oracle.run(spec, args, "float32")
    check(spec, args, [torch_oracle], torch_backends, dtypes=("float32",))


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_ctc_labels_out_of_range_are_refused(backend, backends):
    """torch does not check labels and reads memory out of bounds; lossbridge refuses them."""
    if backend not in backends:
        pytest.skip(f"{backend} is not installed")
    f = lb.torch.functional.ctc_loss
    for bad in (np.array([[1, 4, 2], [3, 1, 0], [1, 0, 0]]), np.array([[1, -1, 2], [3, 1, 0], [1, 0, 0]])):
        args = [to_backend(a, backend, "float32") for a in (LP, bad, IL, TL)]
        with pytest.raises(lb.LossBridgeIndexError, match=r"target label -?\d of sample 0 \(position 1\)"):
            f(*args)
    # padding after a sample's length is not read, whatever it holds
    padded = np.array([[1, 2, 2], [3, 1, 99], [-5, 0, 0]])
    out = f(*[to_backend(a, backend, "float64") for a in (LP, padded, IL, TL)], reduction="none")
    assert np.all(np.isfinite(np.asarray(out)))


def test_ctc_python_int_lengths_are_a_type_error_as_in_torch():
    import torch

    with pytest.raises(TypeError):
        torch.nn.functional.ctc_loss(torch.tensor(LP[:, 0]), torch.tensor([1, 2, 2]), 6, 3)
    with pytest.raises(lb.LossBridgeTypeError, match=r"pass \(6,\)"):
        lb.torch.functional.ctc_loss(LP[:, 0], np.array([1, 2, 2]), 6, 3)


def test_ctc_under_jit_and_grad_matches_eager():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    f = lb.torch.functional.ctc_loss
    args = [jnp.asarray(a) for a in (LOGITS, TG, IL, TL)]

    def loss(logits, targets, il, tl):
        return f(jax.nn.log_softmax(logits), targets, il, tl, zero_infinity=True)

    eager, g_eager = jax.value_and_grad(loss)(*args)
    jitted, g_jit = jax.jit(jax.value_and_grad(loss))(*args)  # lengths traced: no host checks
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g_jit), np.asarray(g_eager), rtol=1e-5, atol=1e-7)
    # a batch of problems under vmap: one value per problem, as the loop would give
    batch = jnp.stack([args[0], args[0] * 0.5])
    vmapped = jax.vmap(lambda lg: loss(lg, *args[1:]))(batch)
    looped = [loss(lg, *args[1:]) for lg in batch]
    np.testing.assert_allclose(np.asarray(vmapped), np.asarray(looped), rtol=1e-6)
    # labels out of range cannot be checked while traced: NaN, not a number
    bad = jnp.asarray(np.array([[1, 7, 2], [3, 1, 0], [1, 0, 0]]))
    out = jax.jit(lambda lp, t: f(lp, t, args[2], args[3], reduction="none"))(jnp.asarray(LP), bad)
    out = np.asarray(out)
    assert math.isnan(out[0]) and np.isfinite(out[1:]).all()


GOLDEN_CASES = {
    **{f"ctc {k}": v for k, v in EDGE_CASES.items()},
    **{f"ctc error {name}": (spec, args, ()) for name, (spec, args) in ERROR_CASES.items()},
}


def _unread_positions():
    """(t, n, c) of log_probs that torch's kernel never reads for the sample below: at t = 0
    the classes of states >= 2 only, at the last step the classes of states other than the
    last two only."""
    return [(0, 0, 2), (3, 0, 1)]


@pytest.mark.parametrize("value", [math.inf, math.nan])
@pytest.mark.parametrize("where", _unread_positions())
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_ctc_non_finite_log_probs_torch_does_not_read(value, where, reduction):
    # found by the bad-input exploration: the generic recursion added -inf + inf = NaN in
    # states that torch's kernel assigns -inf without reading log_probs (a silent NaN)
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from harness.backends import jax_context

    rng = np.random.default_rng(3)
    lp = np.log(rng.dirichlet(np.ones(3), size=(4, 2)))  # (T=4, N=2, C=3)
    targets = np.array([[1, 2], [2, 0]])
    il, tl = np.array([4, 3]), np.array([2, 1])
    lp[where] = value
    t = torch.from_numpy(lp).requires_grad_()
    want = torch.nn.functional.ctc_loss(t, torch.from_numpy(targets), torch.from_numpy(il),
                                        torch.from_numpy(tl), reduction=reduction)
    (want_grad,) = torch.autograd.grad(want.sum(), t)
    got = lb.torch.functional.ctc_loss(lp, targets, il, tl, reduction=reduction)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12)
    with jax_context("float64"):
        fn = lambda x: jnp.sum(lb.torch.functional.ctc_loss(  # noqa: E731
            x, jnp.asarray(targets), jnp.asarray(il), jnp.asarray(tl), reduction=reduction))
        value_j, grad_j = jax.value_and_grad(fn)(jnp.asarray(lp))
    np.testing.assert_allclose(float(value_j), float(want.sum()), rtol=1e-12)
    finite = np.isfinite(want_grad.numpy())  # at a +inf input torch's gradient is inf there
    np.testing.assert_allclose(np.asarray(grad_j)[finite], want_grad.numpy()[finite], atol=1e-12)
    assert np.isfinite(np.asarray(grad_j)[finite]).all()
