"""optax losses with optax's semantics, on NumPy, torch and JAX arrays.

optax conventions: every function returns **per-example** values and never
reduces (call ``.mean()`` yourself); predictions are **logits** (there is no
``from_logits``); the argument order is ``(logits, labels)``; ``axis=`` names the
class axis and ``where=`` masks entries out of the softmax and the sums (a row
with nothing selected gives 0).  Integer labels index like ``jnp.take_along_axis``:
``-1`` wraps to the last class and a label ``>= C`` or ``< -C`` gives NaN, never
an error (optax runs under ``jit``, where no error can be raised).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> logits = np.array([[2.0, 1.0, 0.0]])
    >>> lb.optax.softmax_cross_entropy_with_integer_labels(logits, np.array([0])).round(6).tolist()
    [0.407606]
"""

from __future__ import annotations

from .. import _catalog
from ._classification import (
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)

_catalog.register("optax", "softmax_cross_entropy", ("logits", "onehot"), "per example, logits and probabilities")
_catalog.register("optax", "softmax_cross_entropy_with_integer_labels", ("logits", "labels"), "per example, integer labels (-1 wraps)")
_catalog.register("optax", "sigmoid_binary_cross_entropy", ("logits", "onehot"), "element-wise, logits")

__all__ = [
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]
