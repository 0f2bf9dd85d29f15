"""Every JAX path compiles once per static configuration and shapes (issue 17, class 7).

An eager call (a notebook, a ``value_and_grad`` without ``jit``) must not trace and
compile its scans again on the next call with the same shapes: lossbridge keeps one
module-level ``jax.jit`` per configuration.  The oracle is JAX itself: the backend
compile events that ``jax.monitoring`` reports during the second call.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

import lossbridge as lb  # noqa: E402
from lossbridge.fused import linear_cross_entropy  # noqa: E402

_COMPILE = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compiles():
    """Yield a list that receives one entry per XLA compilation inside the block."""
    seen: list[float] = []

    def listener(event: str, duration: float, **_: object) -> None:
        if event == _COMPILE:
            seen.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _data(seed=0, n=24, d=8, v=50):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.standard_normal((n, d)), jnp.float32),
            jnp.asarray(rng.standard_normal((v, d)), jnp.float32),
            jnp.asarray(rng.integers(0, v, n)))


def _fused_vg(h, W, t):
    return jax.value_and_grad(lambda a, b: linear_cross_entropy(a, b, t, chunk_size=8), argnums=(0, 1))(h, W)


def _fused_prob(h, W, t):
    y = jax.nn.one_hot(t, W.shape[0]) * 0.9 + 0.1 / W.shape[0]
    return jax.grad(lambda a, b: linear_cross_entropy(a, W, b, reduction="sum"), argnums=(0, 1))(h, y)


def _torch_dialect_lce(h, W, t):
    return jax.value_and_grad(lambda a: lb.torch.functional.linear_cross_entropy(a, W, t, label_smoothing=0.1))(h)


def _optax_ctc(h, W, t):
    # T = 4: lossbridge's optax CTC unrolls its loop over time under jit (slow to compile).
    logits = jnp.reshape(h[:8, :6], (2, 4, 6))
    labels = jnp.reshape(t[:4] % 5 + 1, (2, 2))
    return jax.grad(lambda x: lb.optax.ctc_loss(x, jnp.zeros((2, 4)), labels, jnp.zeros((2, 2))).sum())(logits)


def _torch_ctc(h, W, t):
    lp = jax.nn.log_softmax(jnp.reshape(h[:, :6], (12, 2, 6)), axis=-1)
    targets = jnp.reshape(t[:8] % 5 + 1, (2, 4))
    lengths = jnp.asarray([12, 10]), jnp.asarray([4, 3])
    return jax.grad(lambda x: lb.torch.functional.ctc_loss(x, targets, *lengths))(lp)


CALLS = {"fused value_and_grad": _fused_vg, "fused probability targets": _fused_prob,
         "torch dialect linear_cross_entropy": _torch_dialect_lce, "optax ctc_loss": _optax_ctc,
         "torch dialect ctc_loss": _torch_ctc}


@pytest.mark.parametrize("name", list(CALLS))
def test_second_eager_call_compiles_nothing(name):
    call = CALLS[name]
    jax.block_until_ready(call(*_data(0)))
    with count_compiles() as first_again:
        jax.block_until_ready(call(*_data(1)))  # same shapes, other values
    assert first_again == [], f"{name}: {len(first_again)} compilation(s) on the second eager call"


def test_the_counter_sees_compilations():
    """The listener is live: a new shape (or a fresh jit) does compile."""
    with count_compiles() as seen:
        jax.block_until_ready(_fused_vg(*_data(2, n=31)))
        jax.block_until_ready(jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(7)))
    assert len(seen) >= 2
