"""``get``, ``serialize`` and ``deserialize``: Keras' identifiers and configs.

The configs are Keras' own format, so a config written by ``keras.losses.serialize``
deserialises here and the reverse::

    {"module": "keras.losses", "class_name": "CategoricalCrossentropy",
     "config": {"name": ..., "reduction": ..., "from_logits": ..., ...},
     "registered_name": None}

    {"module": "builtins", "class_name": "function",
     "config": "categorical_crossentropy", "registered_name": "function"}
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any, cast

from .._errors import LossBridgeError
from ._loss import Loss, LossFunctionWrapper

__all__ = ["ALL_OBJECTS_DICT", "deserialize", "get", "register", "serialize"]

#: Every class and function name that ``keras.losses.get`` accepts, plus aliases.
ALL_OBJECTS_DICT: dict[str, Any] = {}
_ALIASES: dict[str, str] = {}


def register(*objects: Any, aliases: Mapping[str, str] | None = None) -> None:
    """Add classes and functions (by ``__name__``) and aliases to the registry."""
    for obj in objects:
        ALL_OBJECTS_DICT[obj.__name__] = obj
    for alias, target in (aliases or {}).items():
        ALL_OBJECTS_DICT[alias] = ALL_OBJECTS_DICT[target]
        _ALIASES[alias] = target


def serialize(loss: Any) -> Any:
    """The Keras config of a loss object or loss function (``keras.losses.serialize``).

    Example:
        >>> import lossbridge as lb
        >>> lb.keras.serialize(lb.keras.CategoricalCrossentropy(from_logits=True))["config"]
        {'name': 'categorical_crossentropy', 'reduction': 'sum_over_batch_size', 'from_logits': True, 'label_smoothing': 0.0, 'axis': -1}
        >>> lb.keras.serialize(lb.keras.mse)["config"]
        'mean_squared_error'
    """
    if loss is None or isinstance(loss, (str, int, float, bool)):
        return loss
    if isinstance(loss, Loss):
        cls = type(loss)
        if cls is Loss:
            module, registered = "keras", None
        elif cls is LossFunctionWrapper:
            module, registered = "keras.src.losses.losses", "LossFunctionWrapper"
        elif ALL_OBJECTS_DICT.get(cls.__name__) is cls or _is_keras_export(cls):
            module, registered = "keras.losses", None
        else:
            module, registered = cls.__module__, f"Custom>{cls.__name__}"
        return {
            "module": module,
            "class_name": cls.__name__,
            "config": loss.get_config(),
            "registered_name": registered,
        }
    if callable(loss) and hasattr(loss, "__name__"):
        if ALL_OBJECTS_DICT.get(loss.__name__) is loss or _is_keras_export(loss):
            return {
                "module": "builtins",
                "class_name": "function",
                "config": loss.__name__,
                "registered_name": "function",
            }
        return {
            "module": getattr(loss, "__module__", None),
            "class_name": "function",
            "config": loss.__name__,
            "registered_name": f"Custom>{loss.__name__}",
        }
    raise LossBridgeError(
        f"Cannot serialize {loss!r}: lossbridge.keras.serialize takes a lossbridge Keras loss "
        "object or a loss function."
    )


def _is_keras_export(obj: Any) -> bool:
    """A public loss of ``lossbridge.keras`` that Keras does not register by name
    (``CategoricalGeneralizedCrossEntropy``): Keras serialises it like the others."""
    module = sys.modules.get("lossbridge.keras")
    return module is not None and getattr(module, getattr(obj, "__name__", ""), None) is obj


def _lookup(name: str, custom_objects: Mapping[str, Any] | None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    short = name.split(">")[-1]
    if custom_objects and short in custom_objects:
        return custom_objects[short]
    if name in ALL_OBJECTS_DICT:
        return ALL_OBJECTS_DICT[name]
    known = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k not in _ALIASES))
    hint = ""
    if name in _TF_KERAS_ONLY:
        hint = f" {name!r} is a tf.keras 2 identifier: use {_TF_KERAS_ONLY[name]!r}."
    elif name in _UNREGISTERED:
        hint = (
            f" Keras 3 does not register {name!r} by name (keras.losses.get rejects it too, and "
            "keras.losses.deserialize returns the bare string): pass the object, for example "
            "lossbridge.keras.CategoricalGeneralizedCrossEntropy(q=0.5), or rebuild a saved config "
            "with CategoricalGeneralizedCrossEntropy.from_config(config['config'])."
        )
    elif name.lower() in ("crossentropy", "ce"):
        hint = (
            f" {name!r} is understood by Keras' compile() only, which picks binary, sparse or "
            "categorical cross-entropy from the shapes: name one of those instead."
        )
    raise LossBridgeError(
        f"Could not interpret loss identifier: {name!r}.{hint} Known identifiers: {known}, "
        f"and the aliases {', '.join(sorted(_ALIASES))}."
    )


#: Losses that keras.losses exports but does not register by name.
_UNREGISTERED = ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy")

#: tf.keras 2 identifiers that Keras 3 rejects, with their Keras 3 names.
_TF_KERAS_ONLY = {
    "huber_loss": "huber",
    "logcosh": "log_cosh",
    "kullback_leibler_divergence": "kl_divergence",
}


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """A loss object or function from its Keras config or name (``keras.losses.deserialize``).

    A function config or name gives the function; a class config gives an
    instance built with ``from_config``; a class name gives a default instance.
    Unlike keras 3.15.1, an unknown name raises instead of being returned as a
    string, and the aliases (``"mse"``) work.

    Example:
        >>> import lossbridge as lb
        >>> lb.keras.deserialize({"class_name": "CategoricalCrossentropy",
        ...                       "config": {"from_logits": True}}).from_logits
        True
    """
    return deserialize_with(config, lambda name: _lookup(name, custom_objects), Loss, "Keras")


def deserialize_with(config: Any, lookup: Callable[[str], Any], base: type, dialect: str) -> Any:
    """``deserialize`` for a Keras dialect: its name ``lookup``, its ``base`` loss class, its name."""
    if config is None:
        return None
    if isinstance(config, str):
        obj = lookup(config)
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, Mapping):
        class_name = config.get("class_name")
        inner = config.get("config")
        if class_name == "function":
            return lookup(str(inner))
        if class_name is None:
            raise LossBridgeError(
                f"A serialized loss is a dict with 'class_name' and 'config'; received {config!r}."
            )
        cls = lookup(str(class_name))
        if not (inspect.isclass(cls) and issubclass(cls, base)):
            raise LossBridgeError(
                f"{class_name!r} does not name a lossbridge {dialect} loss class (it is {cls!r})."
            )
        return cast(Any, cls).from_config(dict(inner or {}))
    if callable(config):
        return config
    raise LossBridgeError(f"Could not interpret serialized loss: {config!r}.")


def get(identifier: Any) -> Callable[..., Any] | Loss | None:
    """A loss from an identifier, as ``keras.losses.get``.

    A function name (``"categorical_crossentropy"``, ``"mse"``) gives the function;
    a class name gives a default instance; a config dict is deserialised; a
    callable is returned as is (a class is instantiated); None gives None.

    Example:
        >>> import lossbridge as lb
        >>> lb.keras.get("mse").__name__
        'mean_squared_error'
        >>> type(lb.keras.get("CategoricalCrossentropy")).__name__
        'CategoricalCrossentropy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Mapping):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _lookup(identifier, None)
    else:
        obj = identifier
    if callable(obj):
        if inspect.isclass(obj):
            obj = obj()
        return obj
    raise LossBridgeError(f"Could not interpret loss identifier: {identifier!r}")
