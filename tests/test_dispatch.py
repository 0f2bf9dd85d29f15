"""Any array in, the same kind out; mixing kinds is an error; gradients flow."""

from __future__ import annotations

import numpy as np
import pytest

import lossbridge as lb
from harness.backends import require

Y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
P = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
LABELS = np.array([1, 2])

CALLS = {
    "keras.CategoricalCrossentropy": lambda y, p, t: lb.keras.CategoricalCrossentropy()(y, p),
    "keras.categorical_crossentropy": lambda y, p, t: lb.keras.categorical_crossentropy(y, p),
    "keras.SparseCategoricalCrossentropy": lambda y, p, t: lb.keras.SparseCategoricalCrossentropy()(t, p),
    "keras.BinaryCrossentropy": lambda y, p, t: lb.keras.BinaryCrossentropy()(y, p),
    "keras.MeanSquaredError": lambda y, p, t: lb.keras.MeanSquaredError()(y, p),
    "torch.CrossEntropyLoss": lambda y, p, t: lb.torch.CrossEntropyLoss()(p, t),
    "torch.NLLLoss": lambda y, p, t: lb.torch.NLLLoss()(p, t),
    "torch.BCELoss": lambda y, p, t: lb.torch.BCELoss()(p, y),
    "torch.BCEWithLogitsLoss": lambda y, p, t: lb.torch.BCEWithLogitsLoss()(p, y),
    "torch.MSELoss": lambda y, p, t: lb.torch.MSELoss()(p, y),
    "torch.L1Loss": lambda y, p, t: lb.torch.L1Loss()(p, y),
    "optax.softmax_cross_entropy": lambda y, p, t: lb.optax.softmax_cross_entropy(p, y),
    "optax.softmax_cross_entropy_with_integer_labels": lambda y, p, t: lb.optax.softmax_cross_entropy_with_integer_labels(p, t),
    "optax.sigmoid_binary_cross_entropy": lambda y, p, t: lb.optax.sigmoid_binary_cross_entropy(p, y),
    "theano.categorical_crossentropy": lambda y, p, t: lb.theano.categorical_crossentropy(p, t),
    "theano.binary_crossentropy": lambda y, p, t: lb.theano.binary_crossentropy(p + 0.01, y),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_in_numpy_out(name):
    out = CALLS[name](Y, P, LABELS)
    assert isinstance(out, (np.ndarray, np.generic)), type(out)


@pytest.mark.parametrize("name", list(CALLS))
def test_torch_in_torch_out_with_backward(name):
    require("torch")
    import torch

    p = torch.tensor(P, requires_grad=True)
    out = CALLS[name](torch.tensor(Y), p, torch.tensor(LABELS))
    assert isinstance(out, torch.Tensor)
    out.sum().backward()
    assert p.grad is not None and p.grad.shape == p.shape


@pytest.mark.parametrize("name", list(CALLS))
def test_jax_in_jax_out_grad_jit_vmap(name):
    require("jax")
    import jax
    import jax.numpy as jnp

    y, p, t = jnp.asarray(Y), jnp.asarray(P), jnp.asarray(LABELS)
    out = CALLS[name](y, p, t)
    assert isinstance(out, jax.Array)
    g = jax.grad(lambda p: CALLS[name](y, p, t).sum())(p)
    assert g.shape == p.shape
    jitted = jax.jit(lambda y, p, t: CALLS[name](y, p, t))(y, p, t)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(out), rtol=1e-6)
    # vmap over a leading batch of two copies: each slice equals the unbatched value.
    stacked = jax.vmap(lambda y, p, t: CALLS[name](y, p, t))(
        jnp.stack([y, y]), jnp.stack([p, p]), jnp.stack([t, t])
    )
    np.testing.assert_allclose(np.asarray(stacked[0]), np.asarray(out), rtol=1e-6)


def test_python_lists_become_numpy():
    out = lb.keras.CategoricalCrossentropy()(Y.tolist(), P.tolist())
    assert isinstance(out, (np.ndarray, np.generic))
    assert float(out) == pytest.approx(1.1769392, rel=1e-6)
    out = lb.torch.functional.cross_entropy(P.tolist(), LABELS.tolist())
    assert isinstance(out, (np.ndarray, np.generic))


def test_python_lists_take_the_kind_of_the_arrays_beside_them():
    require("torch")
    import torch

    out = lb.torch.functional.cross_entropy(torch.tensor(P), LABELS.tolist(), weight=[1.0, 2.0, 3.0])
    assert isinstance(out, torch.Tensor)


@pytest.mark.parametrize("kind", ["torch", "jax"])
def test_numpy_beside_tensors_follows_each_framework(kind):
    """Keras converts a NumPy y_true to y_pred's kind; torch refuses NumPy beside a tensor."""
    require(kind)
    if kind == "torch":
        import torch

        other = torch.tensor(P)
    else:
        import jax.numpy as jnp

        other = jnp.asarray(P)
    out = lb.keras.CategoricalCrossentropy()(Y, other)
    assert lb._backend.array_kind(out) == kind
    assert float(out) == pytest.approx(float(lb.keras.CategoricalCrossentropy()(Y, P)), rel=1e-6)
    if kind == "torch":
        with pytest.raises(lb.LossBridgeTypeError, match="`weight`") as e:
            lb.torch.functional.cross_entropy(other, other.argmax(1), weight=np.ones(3))
        assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)


def test_mixing_two_tensor_kinds_is_an_error_naming_both_arguments():
    require("torch")
    require("jax")
    import jax.numpy as jnp
    import torch

    with pytest.raises(lb.LossBridgeTypeError) as e:
        lb.keras.CategoricalCrossentropy()(jnp.asarray(Y), torch.tensor(P))
    msg = str(e.value)
    assert "`y_true` is a jax array of shape (2, 3)" in msg and "`y_pred` is a torch tensor" in msg
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)


def test_torch_cuda_style_device_is_kept_for_lists():
    require("torch")
    import torch

    p = torch.tensor(P, device="meta")
    ns = lb._backend.get_namespace({"p": p})
    assert ns.asarray([1.0, 2.0]).device.type == "meta"


def test_unsupported_object_is_a_clear_error():
    class NotAnArray:
        shape = (2,)
        dtype = "float32"

        def __array_namespace__(self):
            raise TypeError("no namespace")

    with pytest.raises(lb.LossBridgeError):
        lb.keras.MeanSquaredError()(NotAnArray(), NotAnArray())


def test_errors_and_warnings_hierarchy():
    assert issubclass(lb.LossBridgeError, ValueError)
    for cls, builtin in [
        (lb.LossBridgeIndexError, IndexError), (lb.LossBridgeRuntimeError, RuntimeError),
        (lb.LossBridgeTypeError, TypeError), (lb.LossBridgeNotImplementedError, NotImplementedError),
    ]:
        assert issubclass(cls, lb.LossBridgeError) and issubclass(cls, builtin)
    assert issubclass(lb.LossBridgeWarning, UserWarning)
    assert issubclass(lb.LossBridgeSyntaxWarning, SyntaxWarning)
    assert issubclass(lb.LossBridgeFutureWarning, FutureWarning)


def test_warnings_point_at_user_code():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lb.torch.functional.mse_loss(np.ones((3, 1)), np.ones(3))  # this line
    (w,) = [w for w in caught if issubclass(w.category, lb.LossBridgeWarning)]
    assert w.filename == __file__, w.filename
