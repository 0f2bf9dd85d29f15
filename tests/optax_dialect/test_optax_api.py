"""lossbridge.optax as an API: the same names and signatures as optax.losses, JAX
transformations (jit, vmap, grad) on JAX arrays, torch autograd through ``.backward()``,
and the ``lossbridge compare`` command on every optax loss of the catalog."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest

import lossbridge as lb
from harness.compare import assert_close

pytestmark = pytest.mark.usefixtures("optax_oracle")

X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
T = np.array([0, 2, 1, 1])
MASK = np.array([[True, True, False], [False, False, False], [True, False, True], [True, True, True]])
RNG = np.random.default_rng(11)
CTC = (RNG.normal(size=(2, 4, 3)), np.array([[0.0, 0, 0, 0], [0, 0, 0, 1]]), np.array([[1, 2], [2, 2]]),
       np.array([[0.0, 0.0], [0.0, 0.0]]))


def test_every_public_name_of_optax_losses():
    import optax

    public = sorted(n for n in dir(optax.losses) if not n.startswith("_"))
    assert sorted(lb.optax.__all__) == public
    for name in public:
        assert callable(getattr(lb.optax, name)), name


def test_signatures_match_optax():
    """Argument names, order, kinds (keyword-only markers) and defaults are optax's."""
    import optax

    for name in lb.optax.__all__:
        ours = inspect.signature(getattr(lb.optax, name)).parameters
        theirs = inspect.signature(getattr(optax.losses, name)).parameters
        assert list(ours) == list(theirs), name
        for p, q in zip(ours.values(), theirs.values(), strict=False):
            assert p.kind == q.kind, (name, p.name)
            if name == "ranking_softmax_loss" and p.name == "reduce_fn":
                assert q.default.__name__ == "mean" and p.default is lb.optax._ranking.mean
                continue
            assert p.default == q.default or (p.default is q.default), (name, p.name, p.default, q.default)


def test_catalog_registers_every_optax_loss():
    ids = {e.name for e in lb._catalog.all_entries("optax")}
    # make_fenchel_young_loss builds a loss from a max function: it is not a loss itself.
    assert ids == set(lb.optax.__all__) - {"make_fenchel_young_loss"}


# ----------------------------------------------------------- JAX transformations

CASES = {
    "softmax_cross_entropy": ((X, Y), {"where": MASK}),
    "softmax_cross_entropy_with_integer_labels": ((X, np.array([0, -1, 5, 1])), {"where": MASK}),
    "safe_softmax_cross_entropy": ((np.where(Y == 0, -np.inf, X), Y), {}),
    "sigmoid_focal_loss": ((X, Y), {"alpha": 0.25}),
    "multiclass_sparsemax_loss": ((X, T), {}),
    "cosine_distance": ((X, Y), {"epsilon": 1e-6}),
    "dice_loss": ((X.reshape(2, 2, 3), np.eye(3)[T].reshape(2, 2, 3)), {}),
    "ranking_softmax_loss": ((X, Y), {"where": MASK, "reduce_fn": None}),
    "ctc_loss": (CTC, {}),
    "triplet_margin_loss": ((X, Y, np.ascontiguousarray(X[::-1])), {}),
}


def _jnp(args):
    import jax.numpy as jnp

    return tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name", list(CASES))
def test_jax_jit_vmap_grad(name):
    """``jax.jit``, ``jax.vmap`` (over a stacked batch) and ``jax.grad`` of lossbridge on JAX
    arrays give optax's numbers."""
    import jax
    import jax.numpy as jnp
    import optax

    args, kwargs = CASES[name]
    args, kwargs = _jnp(args), {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    ours = lambda *a: getattr(lb.optax, name)(*a, **kwargs)  # noqa: E731
    theirs = lambda *a: getattr(optax.losses, name)(*a, **kwargs)  # noqa: E731
    expected = theirs(*args)
    assert_close(jax.jit(ours)(*args), expected, "float32", f"{name} under jit")
    # vmap over a new leading axis of the first argument (the others held), compiled.
    stacked = jnp.stack([args[0], args[0] * 0.5])
    assert_close(jax.jit(jax.vmap(lambda a: ours(a, *args[1:])))(stacked),
                 jax.jit(jax.vmap(lambda a: theirs(a, *args[1:])))(stacked), "float32", f"{name} under vmap")

    def total(f):
        return lambda a: jnp.sum(jnp.where(jnp.isfinite(o := f(a, *args[1:])), o, 0.0))

    assert_close(jax.jit(jax.grad(total(ours)))(args[0]), jax.jit(jax.grad(total(theirs)))(args[0]),
                 "float32", f"{name} under grad", grad=True)


def test_jit_skips_the_value_check_that_eager_runs():
    """``dice_loss(apply_softmax=False)`` checks the rows sum to 1 where values can be read;
    under ``jax.jit`` optax cannot trace the check at all and lossbridge skips it."""
    import jax
    import jax.numpy as jnp
    import optax

    bad = jnp.full((2, 3), 0.5)
    with pytest.raises(lb.LossBridgeError, match="sum to 1"):
        lb.optax.dice_loss(bad, jnp.ones((2, 3)), apply_softmax=False)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(lambda p: optax.losses.dice_loss(p, jnp.ones((2, 3)), apply_softmax=False))(bad)
    out = jax.jit(lambda p: lb.optax.dice_loss(p, jnp.ones((2, 3)), apply_softmax=False))(bad)
    assert out.shape == (2,)


# ------------------------------------------------------------- torch autograd


@pytest.mark.parametrize("name", list(CASES))
def test_torch_backward(name):
    """On torch tensors the loss is a torch tensor and ``.backward()`` gives optax's gradient."""
    import jax
    import jax.numpy as jnp
    import optax
    import torch

    args, kwargs = CASES[name]
    targs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    targs[0].requires_grad_(True)
    tkwargs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    out = getattr(lb.optax, name)(*targs, **tkwargs)
    assert isinstance(out, torch.Tensor)
    torch.where(torch.isfinite(out), out, torch.zeros_like(out)).sum().backward()
    jkwargs = {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    with jax.enable_x64(True):
        jargs = _jnp(args)

        def total(a):
            o = getattr(optax.losses, name)(a, *jargs[1:], **jkwargs)
            return jnp.sum(jnp.where(jnp.isfinite(o), o, 0.0))

        expected = jax.grad(total)(jargs[0])
    assert targs[0].grad is not None
    assert_close(targs[0].grad.numpy(), np.asarray(expected), "float64", f"{name} backward", grad=True)


def test_outputs_keep_the_array_kind():
    import jax.numpy as jnp
    import torch

    for arr, kind in [(X, np.ndarray), (torch.tensor(X), torch.Tensor), (jnp.asarray(X), type(jnp.asarray(X)))]:
        for name in ("l2_loss", "log_cosh"):
            assert isinstance(getattr(lb.optax, name)(arr), kind)


def test_numpy_labels_join_the_tensor_kind_and_other_mixes_are_an_error():
    import jax.numpy as jnp
    import torch

    out = lb.optax.softmax_cross_entropy(torch.tensor(X), Y)  # optax converts NumPy labels
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), lb.optax.softmax_cross_entropy(X, Y), rtol=1e-12)
    with pytest.raises(lb.LossBridgeTypeError, match="one kind"):
        lb.optax.softmax_cross_entropy(torch.tensor(X), jnp.asarray(Y))


def test_ranking_recognises_the_framework_reducers():
    import jax.numpy as jnp
    import torch

    t = torch.tensor(X)
    for reduce_fn, expected in [(jnp.sum, "sum"), (np.sum, "sum"), (torch.mean, "mean"), (jnp.mean, "mean")]:
        got = lb.optax.ranking_softmax_loss(t, torch.tensor(Y), reduce_fn=reduce_fn)
        per_list = lb.optax.ranking_softmax_loss(t, torch.tensor(Y), reduce_fn=None)
        want = per_list.sum() if expected == "sum" else per_list.mean()
        assert isinstance(got, torch.Tensor) and math.isclose(float(got), float(want), rel_tol=1e-12)
    custom = lb.optax.ranking_softmax_loss(X, Y, reduce_fn=lambda a, where=None: a.max())
    assert math.isclose(float(custom), float(lb.optax.ranking_softmax_loss(X, Y, reduce_fn=None).max()))


def test_fenchel_young_ignores_keyword_arguments_as_optax():
    """optax's loss accepts keyword arguments and drops them (``jnp.vectorize`` does)."""
    import jax.numpy as jnp
    import optax

    def scaled_logsumexp(s, scale=1.0):
        return scale * lb.ops.logsumexp(s / scale, axis=-1)

    theirs = optax.losses.make_fenchel_young_loss(scaled_logsumexp)(jnp.asarray(X), jnp.asarray(Y), scale=5.0)
    plain = optax.losses.make_fenchel_young_loss(scaled_logsumexp)(jnp.asarray(X), jnp.asarray(Y))
    assert np.allclose(theirs, plain)
    ours = lb.optax.make_fenchel_young_loss(scaled_logsumexp)(X, Y, scale=5.0)
    assert_close(ours, np.asarray(plain), "float32", "fenchel-young with an ignored keyword")


# --------------------------------------------------------------------- the CLI


def _optax_ids() -> list[str]:
    return [e.id for e in lb._catalog.all_entries("optax")]


@pytest.mark.parametrize("loss", _optax_ids())
def test_cli_compare_every_optax_loss(loss, capsys):
    from lossbridge.cli import main

    assert main(["compare", loss, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["error"] is None, result
    assert result["returns"] is not None and np.all(np.isfinite(np.asarray(result["returns"], dtype=float)))


def test_cli_compare_l2_against_squared_error(capsys):
    from lossbridge.cli import main

    assert main(["compare", "optax:l2_loss", "optax:squared_error", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert np.allclose(2 * np.asarray(results[0]["returns"]), results[1]["returns"])
    assert main(["list", "optax"]) == 0
    assert "optax:ctc_loss" in capsys.readouterr().out
