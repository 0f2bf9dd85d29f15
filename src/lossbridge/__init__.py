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

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # the names below are loaded on first use (PEP 562)
    from . import adapters, distributed, keras, ops, optax, tf_keras, theano, torch
    from ._custom import Loss, loss
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
    from ._port import port
    from ._translate import Translation, translate
    from .adapters import to_keras_loss, to_torch_module

__version__ = "0.1.0"

_DIALECTS = ("keras", "optax", "tf_keras", "theano", "torch")

# ``import lossbridge`` imports NumPy and array-api-compat's helpers only: each dialect,
# the diagnostics, the adapters (which import torch / keras when called) and the
# translation table are imported on first use of their name.  name -> (module, attribute);
# attribute None: the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    **{name: (name, None) for name in (*_DIALECTS, "ops", "adapters", "fused", "distributed")},
    **{name: ("_diagnostics", name) for name in (
        "CODES", "Finding", "LossBridgeDomainWarning", "LossBridgeReductionWarning",
        "LossBridgeShapeWarning", "LossBridgeTargetWarning", "LossBridgeValueWarning",
        "checks", "diagnose",
    )},
    "Loss": ("_custom", "Loss"),
    "loss": ("_custom", "loss"),
    "to_torch_module": ("adapters", "to_torch_module"),
    "to_keras_loss": ("adapters", "to_keras_loss"),
    "translate": ("_translate", "translate"),
    "Translation": ("_translate", "Translation"),
    "port": ("_port", "port"),  # imports libcst when it runs
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        if name.startswith("_") and not name.startswith("__"):  # lossbridge._backend & co
            try:
                return importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError:
                pass
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


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
    "port",
    "tf_keras",
    "theano",
    "to_keras_loss",
    "to_torch_module",
    "torch",
    "translate",
]

_register_with_keras()
