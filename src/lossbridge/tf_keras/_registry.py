"""``get``, ``serialize`` and ``deserialize`` with tf.keras 2's identifiers and config format.

tf.keras 2 accepts the names of its classes and functions and the aliases ``bce``/``BCE``,
``mse``/``MSE``, ``mae``/``MAE``, ``mape``/``MAPE``, ``msle``/``MSLE``, ``kld``/``KLD``,
``kullback_leibler_divergence``, ``logcosh`` and ``huber_loss`` (the last three are tf.keras
2 only: Keras 3 rejects them).  Configs are tf.keras' own::

    {"module": "keras.losses", "class_name": "Huber",
     "config": {"reduction": "auto", "name": "huber_loss", "delta": 1.0, "fn": "huber"},
     "registered_name": None}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._errors import LossBridgeError
from ..keras._registry import deserialize_with
from ._loss import Loss

__all__ = ["ALL_OBJECTS_DICT", "deserialize", "get", "serialize"]

#: Every name tf.keras 2's ``get``/``deserialize`` accepts (filled by the package).
ALL_OBJECTS_DICT: dict[str, Any] = {}

_KERAS3_ONLY = ("Dice", "dice", "Tversky", "tversky", "Circle", "circle", "CTC", "ctc",
                "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy")


def serialize(loss: Any) -> Any:
    """``tf.keras.losses.serialize``: the config of a loss object, or a function's name.

    Example:
        >>> import lossbridge as lb
        >>> lb.tf_keras.serialize(lb.tf_keras.Huber())["config"]
        {'reduction': 'auto', 'name': 'huber_loss', 'delta': 1.0, 'fn': 'huber'}
        >>> lb.tf_keras.serialize(lb.tf_keras.mse)["config"]
        'mean_squared_error'
    """
    if loss is None:
        return None
    if isinstance(loss, Loss):
        cls = type(loss)
        registered = ALL_OBJECTS_DICT.get(cls.__name__) is cls
        return {
            "module": "keras.losses" if registered else cls.__module__,
            "class_name": cls.__name__,
            "config": loss.get_config(),
            "registered_name": None if registered else cls.__name__,
        }
    if callable(loss) and hasattr(loss, "__name__"):
        return {"module": "builtins", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    raise LossBridgeError(
        f"Cannot serialize {loss!r}: lossbridge.tf_keras.serialize takes a lossbridge tf.keras "
        "loss object or a loss function."
    )


def _lookup(name: str, custom_objects: Mapping[str, Any] | None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in ALL_OBJECTS_DICT:
        return ALL_OBJECTS_DICT[name]
    hint = ""
    if name in _KERAS3_ONLY:
        hint = f" {name!r} is a Keras 3 loss that tf.keras 2 does not have: use lossbridge.keras.{name}."
    raise LossBridgeError(
        f"Unknown loss function: {name!r}. Please ensure you are using a "
        f"`keras.utils.custom_object_scope` and that this object is included in the scope.{hint} "
        f"Known identifiers: {', '.join(sorted(ALL_OBJECTS_DICT))}."
    )


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """``tf.keras.losses.deserialize``: a function from its name or function config, an
    instance from a class name or class config (``fn`` in a class config is ignored).

    Example:
        >>> import lossbridge as lb
        >>> lb.tf_keras.deserialize({"class_name": "Huber", "config": {"delta": 3.0}}).get_config()
        {'reduction': 'auto', 'name': 'huber_loss', 'delta': 3.0, 'fn': 'huber'}
    """
    return deserialize_with(config, lambda name: _lookup(name, custom_objects), Loss, "tf.keras")


def get(identifier: Any) -> Callable[..., Any] | Loss | None:
    """``tf.keras.losses.get``: a name, a config dict or a callable (returned as is).

    Example:
        >>> import lossbridge as lb
        >>> lb.tf_keras.get("huber_loss").__name__, lb.tf_keras.get("logcosh").__name__
        ('huber', 'log_cosh')
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, Mapping)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise LossBridgeError(f"Could not interpret loss function identifier: {identifier!r}")
