"""Mixed array kinds, as each framework takes them (issue 17, class 1).

Keras, tf.keras, optax and Theano convert NumPy inputs to the tensors' kind (labels and
sample weights straight from a NumPy data pipeline beside JAX arrays or torch tensors): the
dialect returns the value of the all-tensor call, as a tensor.  torch refuses a NumPy array
beside a tensor with a TypeError: so does its dialect.  Every loss of the catalog is drawn,
so a new loss is covered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness.backends import require
from lossbridge import _catalog, _sample

CONVERTING = ("keras", "tf_keras", "optax", "theano")


def _to(kind: str, x):
    if not isinstance(x, np.ndarray):
        return x
    if kind == "torch":
        import torch

        return torch.as_tensor(x)
    import jax.numpy as jnp

    return jnp.asarray(x)


def _host(x):
    return np.asarray(x.detach() if hasattr(x, "detach") else x, dtype=np.float64)


def _entries(dialects):
    return [e for e in _catalog.all_entries() if e.dialect in dialects]


def _call(entry, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = entry.build({})(*args)
    return out[0] if isinstance(out, tuple) else out  # (loss, extras) of ctc_loss_with_forward_probs


@pytest.mark.parametrize("kind", ["torch", "jax"])
@pytest.mark.parametrize("entry", _entries(CONVERTING), ids=lambda e: e.id)
def test_numpy_inputs_join_the_tensor_kind(entry, kind):
    require(kind)
    arrays = _sample.inputs(entry.resolved_roles({}), _sample.sample())
    if len(arrays) < 2:
        pytest.skip(f"{entry.id} takes one array: nothing to mix")
    reference = _call(entry, [_to(kind, a) for a in arrays])
    for tensor_at in range(len(arrays)):  # one argument a tensor, the others NumPy
        mixed = [_to(kind, a) if i == tensor_at else a for i, a in enumerate(arrays)]
        out = _call(entry, mixed)
        assert lb._backend.array_kind(out) == kind, (entry.id, tensor_at, type(out))
        np.testing.assert_allclose(_host(out), _host(reference), rtol=1e-6, atol=1e-7,
                                   err_msg=f"{entry.id}, tensor at {tensor_at}")


@pytest.mark.parametrize("kind", ["torch", "jax"])
@pytest.mark.parametrize("entry", [e for e in _entries(("keras", "tf_keras")) if e.is_class],
                         ids=lambda e: e.id)
def test_numpy_sample_weight_beside_tensors(entry, kind):
    require(kind)
    arrays = [_to(kind, a) for a in _sample.inputs(entry.resolved_roles({}), _sample.sample())]
    weight = np.array([0.5, 2.0])
    loss = entry.build({})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = loss(*arrays, sample_weight=_to(kind, weight))
        out = loss(*arrays, sample_weight=weight)
    assert lb._backend.array_kind(out) == kind
    np.testing.assert_allclose(_host(out), _host(expected), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("entry", _entries(("torch",)), ids=lambda e: e.id)
def test_torch_refuses_numpy_beside_tensors_as_torch_does(entry):
    require("torch")
    import torch

    arrays = _sample.inputs(entry.resolved_roles({}), _sample.sample())
    if len(arrays) < 2:
        pytest.skip(f"{entry.id} takes one array: nothing to mix")
    mixed = [torch.as_tensor(arrays[0]), *arrays[1:]]
    with pytest.raises(lb.LossBridgeTypeError) as e:
        _call(entry, mixed)
    assert isinstance(e.value, TypeError)
    assert "must be Tensor, not numpy.ndarray" in str(e.value)
    assert "torch.as_tensor" in str(e.value)


def test_torch_itself_refuses_numpy_beside_tensors():
    """The oracle of the rule above: torch's own functional loss raises TypeError."""
    require("torch")
    import torch

    with pytest.raises(TypeError, match=r"must be Tensor, not numpy\.ndarray"):
        torch.nn.functional.cross_entropy(torch.zeros(2, 3), np.array([0, 1]))
