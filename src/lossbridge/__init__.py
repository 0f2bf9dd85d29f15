"""lossbridge: every framework's loss functions, with their exact semantics, on any array.

Dialects mirror each framework one to one::

    import lossbridge as lb
    lb.keras.CategoricalCrossentropy()(y_true, y_pred)      # Keras 3 semantics
    lb.tf_keras.CategoricalCrossentropy()(y_true, y_pred)   # tf.keras 2.x semantics
    lb.torch.CrossEntropyLoss()(input, target)              # PyTorch semantics
    lb.optax.softmax_cross_entropy(logits, labels)          # optax semantics
    lb.theano.categorical_crossentropy(coding_dist, true_dist)

Every loss runs on NumPy arrays, torch tensors and JAX arrays and returns the
kind of array it was given.  ``import lossbridge`` imports NumPy and
array-api-compat only; a framework is touched only when its arrays arrive.
"""

from __future__ import annotations

from . import keras, ops, optax, tf_keras, theano, torch
from ._errors import (
    LossBridgeDeprecationWarning,
    LossBridgeError,
    LossBridgeFutureWarning,
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeSyntaxWarning,
    LossBridgeTypeError,
    LossBridgeWarning,
)

__version__ = "0.1.0"

__all__ = [
    "LossBridgeDeprecationWarning",
    "LossBridgeError",
    "LossBridgeFutureWarning",
    "LossBridgeIndexError",
    "LossBridgeNotImplementedError",
    "LossBridgeRuntimeError",
    "LossBridgeSyntaxWarning",
    "LossBridgeTypeError",
    "LossBridgeWarning",
    "__version__",
    "keras",
    "ops",
    "optax",
    "tf_keras",
    "theano",
    "torch",
]
