"""Hypothesis strategies for loss inputs.

Hypothesis draws the *structure* (shapes, options, which edge cases to plant) and
a seed; the values come from NumPy's generator with that seed.  Arrays are float64
(cast per dtype by the harness); labels are int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

seeds = st.integers(0, 2**31 - 1)

# Shapes come from small sets: JAX compiles every primitive once per shape, and a
# handful of shapes keeps the compilation caches warm across examples (a new shape
# costs about 0.4 s per loss in lossbridge and again in the keras-jax oracle).
batch_sizes = st.sampled_from([1, 2, 4])
class_counts = st.sampled_from([2, 3, 5])


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def probabilities(r: np.random.Generator, shape: tuple[int, ...], style: str, axis: int = -1) -> np.ndarray:
    """Rows of probabilities along ``axis`` in one of several styles.

    ``normalised``: softmax of normal logits; ``unnormalised``: positive values
    that do not sum to 1; ``edges``: some exact 0s and 1s; ``tiny``: values below
    the 1e-7 clip; ``zero_row``: one row of all zeros (0/0 in Keras' renormalisation).
    """
    logits = r.normal(0.0, 2.0, size=shape)
    p = np.exp(logits - logits.max(axis=axis, keepdims=True))
    p = p / p.sum(axis=axis, keepdims=True)
    if style == "unnormalised":
        p = p * r.uniform(0.2, 3.0, size=shape)
    elif style == "edges":
        mask = r.uniform(size=shape) < 0.3
        p = np.where(mask, r.choice([0.0, 1.0], size=shape), p)
    elif style == "tiny":
        p = np.where(r.uniform(size=shape) < 0.3, r.uniform(0, 2e-7, size=shape), p)
    elif style == "zero_row" and p.size:
        flat = np.moveaxis(p, axis, -1).reshape(-1, p.shape[axis])
        flat[r.integers(0, flat.shape[0])] = 0.0
        p = np.moveaxis(flat.reshape(np.moveaxis(p, axis, -1).shape), -1, axis)
    return p


def logits(r: np.random.Generator, shape: tuple[int, ...], style: str) -> np.ndarray:
    """Logits: normal(0, 3), or with planted +-1e4 (``extreme``)."""
    x = r.normal(0.0, 3.0, size=shape)
    if style == "extreme":
        x = np.where(r.uniform(size=shape) < 0.25, r.choice([-1e4, 1e4], size=shape), x)
    return x


def one_hot(r: np.random.Generator, labels: np.ndarray, num_classes: int, axis: int = -1) -> np.ndarray:
    out = np.eye(num_classes)[labels]
    return np.moveaxis(out, -1, axis)


def soft_targets(r: np.random.Generator, shape: tuple[int, ...], axis: int = -1) -> np.ndarray:
    t = r.uniform(0.0, 1.0, size=shape) ** 3
    return t / np.maximum(t.sum(axis=axis, keepdims=True), 1e-12)


def sample_weight(r: np.random.Generator, kind: str, loss_shape: tuple[int, ...]) -> Any:
    """None, a scalar, one weight per sample (N,) or (N, 1), or one per element."""
    if kind == "none":
        return None
    if kind == "scalar":
        return np.asarray(r.uniform(0.1, 2.0))
    n = loss_shape[0] if loss_shape else 1
    if kind == "per_sample":
        return r.uniform(0.0, 2.0, size=(n,))
    if kind == "per_sample_col":
        return r.uniform(0.0, 2.0, size=(n, 1))
    if kind == "per_element":
        return r.uniform(0.0, 2.0, size=loss_shape)
    raise ValueError(kind)


KERAS_REDUCTIONS = st.sampled_from(
    ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
)
TORCH_REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
