"""Keras 3 losses with Keras' exact semantics, on NumPy, torch and JAX arrays.

``lossbridge.keras.<Name>`` mirrors ``keras.losses.<Name>``: the same constructor
signature, defaults, names, call order ``(y_true, y_pred, sample_weight=None)``,
epsilon (1e-7), clipping, renormalisation, rank alignment, masks and reductions
(oracle: keras 3.15.1 on the jax and torch backends).  Results come back as the
kind of array given; gradients flow through torch autograd and ``jax.grad``.

Divergences from keras 3.15.1 (lossbridge follows Keras' main branch):

* label smoothing of ``categorical_crossentropy`` counts the classes on the class
  axis ``y_pred.shape[axis]`` (3.15.1 reads ``y_true.shape[-1]``, wrong when
  ``axis != -1``; keras PR #23437);
* ``SparseCategoricalCrossentropy.get_config()`` includes ``axis`` (3.15.1 drops it,
  so a reloaded model changes its loss; keras PR #23286);
* ``sparse_categorical_crossentropy`` accepts any class ``axis`` on every array kind
  (Keras' torch backend semantics; its JAX and NumPy backends fail the shape check);
* ``deserialize`` raises on an unknown name (3.15.1 returns the string) and
  accepts the aliases (``"mse"``), which 3.15.1's ``deserialize`` rejects;
* cross-entropy losses reject integer ``y_pred`` with an error that suggests
  swapped arguments (Keras silently casts them).

Out-of-range sparse labels follow the backend that shares the array's kind:
``IndexError`` on NumPy arrays and torch tensors, a loss of 0 on JAX arrays (with
a :class:`lossbridge.LossBridgeWarning` when the labels are concrete).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> round(float(lb.keras.CategoricalCrossentropy()(y_true, y_pred)), 6)
    1.176939
"""

from __future__ import annotations

from .. import _catalog
from ._loss import EPSILON, Loss, LossFunctionWrapper, floatx, reduce_weighted_values, squeeze_or_expand_to_same_rank
from ._probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from ._registry import ALL_OBJECTS_DICT, deserialize, get, serialize
from ._registry import register as _register
from ._regression import MeanAbsoluteError, MeanSquaredError, mean_absolute_error, mean_squared_error

# Aliases, as keras.losses exports them.
bce = BCE = binary_crossentropy
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_register(
    Loss,
    LossFunctionWrapper,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanSquaredError,
    MeanAbsoluteError,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
    mean_squared_error,
    mean_absolute_error,
    aliases={
        "bce": "binary_crossentropy",
        "BCE": "binary_crossentropy",
        "mse": "mean_squared_error",
        "MSE": "mean_squared_error",
        "mae": "mean_absolute_error",
        "MAE": "mean_absolute_error",
    },
)

for _name, _roles, _summary in [
    ("CategoricalCrossentropy", ("onehot", "probs|logits"), "one-hot targets; renormalise, clip 1e-7, log; mean over the batch"),
    ("SparseCategoricalCrossentropy", ("labels", "probs|logits"), "integer labels; ignore_class masks; mean over valid samples"),
    ("BinaryCrossentropy", ("onehot", "probs|logits"), "element-wise, clip 1e-7, mean over the last axis"),
    ("MeanSquaredError", ("targets", "values"), "mean of (y - p)**2 over the last axis"),
    ("MeanAbsoluteError", ("targets", "values"), "mean of |y - p| over the last axis"),
    ("categorical_crossentropy", ("onehot", "probs|logits"), "per-sample categorical cross-entropy"),
    ("sparse_categorical_crossentropy", ("labels", "probs|logits"), "per-sample, integer labels"),
    ("binary_crossentropy", ("onehot", "probs|logits"), "per-sample, mean over the last axis"),
    ("mean_squared_error", ("targets", "values"), "per-sample mean squared error"),
    ("mean_absolute_error", ("targets", "values"), "per-sample mean absolute error"),
]:
    _catalog.register("keras", _name, _roles, _summary)

__all__ = [
    "ALL_OBJECTS_DICT",
    "BCE",
    "EPSILON",
    "MAE",
    "MSE",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "bce",
    "binary_crossentropy",
    "categorical_crossentropy",
    "deserialize",
    "floatx",
    "get",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "reduce_weighted_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squeeze_or_expand_to_same_rank",
]
