"""``lossbridge.ops.ctc_loss`` against torch's ``ctc_loss`` (exact) and optax's
``ctc_loss`` (soft log-zero), values and gradients, on every array kind."""

from __future__ import annotations

import numpy as np
import pytest

from harness.backends import available_backends, installed
from lossbridge import ops


def require(module: str) -> None:
    # (conftest.require, without importing `conftest`: that name is ambiguous when a
    # dialect directory's conftest was imported first)
    if not installed(module):
        pytest.skip(f"{module} is not installed")

B, T, C, L = 3, 6, 5, 4


def _case(seed: int, blank: int = 0):
    r = np.random.default_rng(seed)
    logits = r.normal(0.0, 2.0, size=(B, T, C))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    non_blank = [c for c in range(C) if c != blank]
    labels = r.choice(non_blank, size=(B, L))
    labels[0, 1] = labels[0, 0]  # a repeat
    label_lengths = np.array([4, 2, 0])
    input_lengths = np.array([6, 5, 3])
    return logits, log_probs, labels, label_lengths, input_lengths


def _torch_reference(logits, labels, label_lengths, input_lengths, blank=0):
    """torch's loss and its gradient with respect to the logits (torch's kernel returns a
    gradient meant to flow through log_softmax, not the partial derivative in log_probs)."""
    import torch

    x = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(
        torch.log_softmax(x, -1).transpose(0, 1), torch.tensor(labels), torch.tensor(input_lengths),
        torch.tensor(label_lengths), blank=blank, reduction="none",
    )
    cot = torch.tensor([0.7, -1.3, 2.0], dtype=loss.dtype)
    (grad,) = torch.autograd.grad(loss, x, cot)
    return loss.detach().numpy(), grad.numpy()


@pytest.mark.parametrize("blank", [0, C - 1])
@pytest.mark.parametrize("seed", range(4))
def test_exact_ctc_equals_torch_ctc_loss(seed, blank):
    require("torch")
    import torch

    logits, log_probs, labels, label_lengths, input_lengths = _case(seed, blank)
    expected, expected_grad = _torch_reference(logits, labels, label_lengths, input_lengths, blank)
    x = torch.tensor(logits, requires_grad=True)
    out = ops.ctc_loss(torch.log_softmax(x, -1), torch.tensor(labels), torch.tensor(label_lengths),
                       torch.tensor(input_lengths), blank=blank)
    (grad,) = torch.autograd.grad(out, x, torch.tensor([0.7, -1.3, 2.0], dtype=out.dtype))
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-8, atol=1e-10)
    numpy_out = ops.ctc_loss(log_probs, labels, label_lengths, input_lengths, blank=blank)
    np.testing.assert_allclose(numpy_out, expected, rtol=1e-10)


def test_impossible_alignment_is_inf_with_zero_gradient():
    require("torch")
    import torch

    log_probs = np.log(np.full((2, 2, 3), 1 / 3))
    labels = np.array([[1, 1], [1, 2]])  # "1 1" needs three steps, "1 2" two
    expected, expected_grad = (
        torch.nn.functional.ctc_loss(torch.tensor(log_probs).transpose(0, 1), torch.tensor(labels),
                                     torch.tensor([2, 2]), torch.tensor([2, 2]), reduction="none").numpy(),
        None,
    )
    assert np.isinf(expected[0]) and np.isfinite(expected[1])
    x = torch.tensor(log_probs, requires_grad=True)
    out = ops.ctc_loss(x, torch.tensor(labels), torch.tensor([2, 2]))
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    (grad,) = torch.autograd.grad(out, x, torch.tensor([1.0, 1.0], dtype=out.dtype))
    assert torch.all(grad[0] == 0) and torch.all(torch.isfinite(grad))
    soft = ops.ctc_loss(log_probs, labels, np.array([2, 2]), log_epsilon=-1e5)
    assert 1e5 <= soft[0] < 1e5 + 10 and soft[1] == pytest.approx(expected[1], rel=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_soft_ctc_equals_optax_ctc_loss(seed):
    require("optax")
    import jax
    import jax.numpy as jnp
    import optax

    logits, _, labels, label_lengths, input_lengths = _case(seed)
    logit_paddings = (np.arange(T)[None, :] >= input_lengths[:, None]).astype(np.float64)
    label_paddings = (np.arange(L)[None, :] >= label_lengths[:, None]).astype(np.float64)
    with jax.enable_x64(True):
        cot = jnp.asarray([0.7, -1.3, 2.0], dtype=jnp.float64)
        def theirs(z):
            return optax.ctc_loss(z, jnp.asarray(logit_paddings), jnp.asarray(labels), jnp.asarray(label_paddings))

        def ours(z):
            return ops.ctc_loss(jax.nn.log_softmax(z), jnp.asarray(labels), jnp.asarray(label_lengths),
                                jnp.asarray(input_lengths), log_epsilon=-1e5)

        z = jnp.asarray(logits)
        expected, vjp_theirs = jax.vjp(theirs, z)
        out, vjp_ours = jax.vjp(ours, z)
        np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(vjp_ours(cot)[0]), np.asarray(vjp_theirs(cot)[0]), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(np.asarray(jax.jit(ours)(z)), np.asarray(expected), rtol=1e-10)
        if seed == 0:  # the generic code run op by op (slow to compile: once)
            previous, ops._NATIVE = ops._NATIVE, False
            try:
                np.testing.assert_allclose(np.asarray(ours(z)), np.asarray(expected), rtol=1e-10)
            finally:
                ops._NATIVE = previous


def test_every_array_kind_gives_one_answer():
    _, log_probs, labels, label_lengths, input_lengths = _case(7)
    expected = ops.ctc_loss(log_probs, labels, label_lengths, input_lengths)
    for backend in available_backends():
        if backend == "torch":
            import torch

            out = ops.ctc_loss(*(torch.tensor(a) for a in (log_probs, labels, label_lengths, input_lengths)))
        elif backend == "jax":
            import jax
            import jax.numpy as jnp

            with jax.enable_x64(True):
                out = ops.ctc_loss(*(jnp.asarray(a) for a in (log_probs, labels, label_lengths, input_lengths)))
        else:
            continue
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-10)
        assert type(out).__module__.split(".")[0] in ("torch", "jax", "jaxlib")
