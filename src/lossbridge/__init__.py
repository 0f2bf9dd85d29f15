"""lossbridge: every framework's loss functions, with their exact semantics, on any array.

Dialects mirror each framework one to one::

    import lossbridge as lb
    lb.keras.CategoricalCrossentropy()(y_true, y_pred)      # Keras 3 semantics
    lb.tf_keras.CategoricalCrossentropy()(y_true, y_pred)   # tf.keras 2.x semantics
    lb.torch.CrossEntropyLoss()(input, target)              # PyTorch semantics
    lb.optax.softmax_cross_entropy(logits, labels)          # optax semantics
    lb.theano.categorical_crossentropy(coding_dist, true_dist)

Diagnostics: ``lb.diagnose(loss, *args)`` lists the mistakes of a loss call
(codes ``LB001``...), and ``lb.checks("off" | "cheap" | "full")`` sets how much the
losses check on every call (see :mod:`lossbridge._diagnostics`).

Every loss runs on NumPy arrays, torch tensors and JAX arrays and returns the
kind of array it was given.  ``import lossbridge`` imports NumPy and
array-api-compat only; a framework is touched only when its arrays arrive.
"""

from __future__ import annotations

from . import keras, ops, optax, tf_keras, theano, torch
from ._diagnostics import (
    CODES,
    Finding,
    LossBridgeDomainWarning,
    LossBridgeReductionWarning,
    LossBridgeShapeWarning,
    LossBridgeTargetWarning,
    LossBridgeValueWarning,
    checks,
    diagnose,
)
from ._custom import Loss, loss
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

# The adapters import torch / keras when called, so they are loaded on first use.
_LAZY = {
    "to_torch_module": "adapters",
    "to_keras_loss": "adapters",
    "adapters": None,
    "translate": "_translate",  # translate imports no framework until it builds a loss
    "Translation": "_translate",
    "distributed": None,  # sum_and_count, global_mean, vocab-parallel fused loss (issue 13)
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
        return module if _LAZY[name] is None else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _register_with_keras() -> None:
    """Register the Keras adapter classes when Keras is already imported (for load_model)."""
    import sys

    if "keras" in sys.modules:
        from .adapters import _register_if_keras_loaded

        _register_if_keras_loaded()


__all__ = [
    "CODES",
    "Finding",
    "Loss",
    "LossBridgeDeprecationWarning",
    "LossBridgeDomainWarning",
    "LossBridgeError",
    "LossBridgeFutureWarning",
    "LossBridgeIndexError",
    "LossBridgeNotImplementedError",
    "LossBridgeReductionWarning",
    "LossBridgeRuntimeError",
    "LossBridgeShapeWarning",
    "LossBridgeSyntaxWarning",
    "LossBridgeTargetWarning",
    "LossBridgeTypeError",
    "LossBridgeValueWarning",
    "LossBridgeWarning",
    "Translation",
    "__version__",
    "adapters",
    "checks",
    "diagnose",
    "distributed",
    "keras",
    "loss",
    "ops",
    "optax",
    "tf_keras",
    "theano",
    "to_keras_loss",
    "to_torch_module",
    "torch",
    "translate",
]

_register_with_keras()
