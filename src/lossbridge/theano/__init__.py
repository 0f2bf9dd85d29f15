"""Theano's cross-entropies (``theano.tensor.nnet``), on NumPy, torch and JAX arrays.

Theano 1.0.5 does not run on Python 3.11 with NumPy 2, and PyTensor removed
these functions in 2.9; lossbridge keeps their semantics for code ported from
Theano and Keras-on-Theano:

* prediction first: ``(coding_dist, true_dist)`` and ``(output, target)``;
* one value per sample (per element for the binary form), **no reduction**;
* **no clipping and no epsilon**: a probability of 0 on the target gives ``inf``,
  and ``0 * log(0)`` gives NaN, as in Theano (Keras-on-Theano clipped to
  ``[1e-7, 1 - 1e-7]`` itself before calling these);
* integer targets index with NumPy's rules: ``-1`` wraps to the last class, a
  label ``>= C`` raises ``IndexError``.

Theano's graph optimiser rewrote ``categorical_crossentropy(softmax(x), y)`` into
a stable log-softmax form; a function of arrays cannot see that ``softmax``, so
pass logits to ``lossbridge.optax.softmax_cross_entropy`` for the stable form.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[0.7, 0.3], [0.0, 1.0]])
    >>> lb.theano.categorical_crossentropy(p, np.array([0, 0])).tolist()
    [0.35667494393873245, inf]

Intentional divergences on bad inputs (the table ``lossbridge._divergences.DIVERGENCES``,
which the bad-input suite tests):

* ``masked``: NumPy masked arrays are refused (LossBridgeTypeError): the mask would be dropped.
"""

from __future__ import annotations

from typing import Any

from .. import _catalog, ops
from .._backend import describe, get_namespace, is_concrete, quiet
from .._checks import is_integral
from .._errors import LossBridgeError, LossBridgeIndexError, LossBridgeTypeError

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "crossentropy_categorical_1hot",
]


def crossentropy_categorical_1hot(coding_dist: Any, true_dist: Any) -> Any:
    """``-log(coding_dist[i, true_dist[i]])`` for a matrix of probabilities and integer labels.

    ``coding_dist`` must be 2-D ``(N, C)`` and ``true_dist`` an integer vector
    ``(N,)``.  Labels index with NumPy's rules: ``-C <= t < 0`` wraps, anything
    else outside ``[0, C)`` raises :class:`LossBridgeIndexError`.  The gradient is
    ``-1 / p`` at the target entry and 0 elsewhere.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.theano.crossentropy_categorical_1hot(np.array([[0.5, 0.5], [0.1, 0.9]]), np.array([0, -1])).round(6).tolist()
        [0.693147, 0.105361]
    """
    ns = get_namespace({"coding_dist": coding_dist, "true_dist": true_dist})
    xp = ns.xp
    coding_dist, true_dist = ns.asarray(coding_dist), ns.asarray(true_dist)
    if coding_dist.ndim != 2 or true_dist.ndim != 1:
        raise LossBridgeTypeError(
            "crossentropy_categorical_1hot takes a matrix of probabilities (N, C) and an integer "
            f"vector (N,); received coding_dist, a {describe(coding_dist)}, and true_dist, a "
            f"{describe(true_dist)}."
        )
    if not is_integral(ns, true_dist):
        raise LossBridgeTypeError(
            f"true_dist must be an integer vector of class indices; it is a {describe(true_dist)}. "
            "For one-hot or soft targets of coding_dist's shape use categorical_crossentropy."
        )
    if true_dist.shape[0] != coding_dist.shape[0]:
        raise LossBridgeError(
            f"shape mismatch: coding_dist has {coding_dist.shape[0]} rows but true_dist has "
            f"{true_dist.shape[0]} labels; give one label per row."
        )
    num_classes = coding_dist.shape[1]
    if is_concrete(true_dist):
        bad = (true_dist < -num_classes) | (true_dist >= num_classes)
        if bool(xp.any(bad)):
            i = int(xp.nonzero(bad)[0][0])
            raise LossBridgeIndexError(
                f"index {int(true_dist[i])} is out of bounds for axis 1 with size {num_classes}: "
                f"true_dist[{i}] = {int(true_dist[i])}, and Theano indexes like NumPy (labels in "
                f"[-{num_classes}, {num_classes - 1}], negative ones wrapping). If your labels "
                "start at 1, subtract 1."
            )
    labels = xp.where(true_dist < 0, true_dist + num_classes, true_dist)
    picked = xp.squeeze(ops.take_along_axis(coding_dist, xp.expand_dims(labels, axis=1), axis=1), axis=1)
    with quiet(ns):
        return -xp.log(picked)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Any:
    """Theano's categorical cross-entropy, one value per row, no clipping.

    Formula::

        -sum(true_dist * log(coding_dist), axis=-1)   if true_dist has coding_dist's rank
        -log(coding_dist[i, true_dist[i]])            if true_dist is an integer vector

    Other rank pairs raise ``TypeError("rank mismatch between coding and true
    distributions")`` (a :class:`LossBridgeTypeError`).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> p = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        >>> lb.theano.categorical_crossentropy(p, np.array([1, 2])).round(7).tolist()
        [0.0512933, 2.3025851]
        >>> # one-hot targets: 0 * log(0) is NaN where a probability is 0, as in Theano
        >>> lb.theano.categorical_crossentropy(p, np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])).round(7).tolist()
        [nan, 2.3025851]
    """
    ns = get_namespace({"coding_dist": coding_dist, "true_dist": true_dist})
    xp = ns.xp
    coding_dist, true_dist = ns.asarray(coding_dist), ns.asarray(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        with quiet(ns):
            return -xp.sum(true_dist * xp.log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise LossBridgeTypeError(
        "rank mismatch between coding and true distributions: coding_dist is a "
        f"{describe(coding_dist)} and true_dist a {describe(true_dist)}. Give true_dist the rank "
        "of coding_dist (one-hot) or one less (integer labels)."
    )


def binary_crossentropy(output: Any, target: Any) -> Any:
    """Theano's element-wise binary cross-entropy, no clipping, no reduction.

    Formula: ``-(target * log(output) + (1 - target) * log(1 - output))``.
    ``output = 0`` with ``target = 1`` gives ``inf``; ``output = 0`` with
    ``target = 0`` gives NaN (``0 * log 0``), as in Theano.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.theano.binary_crossentropy(np.array([0.6, 0.0]), np.array([0.0, 1.0])).round(6).tolist()
        [0.916291, inf]
    """
    ns = get_namespace({"output": output, "target": target})
    xp = ns.xp
    output, target = ns.asarray(output), ns.asarray(target)
    with quiet(ns):
        return -(target * xp.log(output) + (1.0 - target) * xp.log(1.0 - output))


_catalog.register("theano", "categorical_crossentropy", ("probs", "onehot"), "per sample, no clipping; one-hot or integer targets")
_catalog.register("theano", "crossentropy_categorical_1hot", ("probs", "labels"), "-log p[target], per sample")
_catalog.register("theano", "binary_crossentropy", ("probs", "onehot"), "element-wise, no clipping")


def _wrap() -> None:
    from .._validate import wrap_public

    wrap_public(globals(), "Pass two floating-point arrays of one shape (N, C), as Theano did.")


_wrap()
