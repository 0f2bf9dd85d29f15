"""Adapters: any lossbridge loss as a ``torch.nn.Module`` or a ``keras.losses.Loss``.

The dialect objects are plain Python (they import no framework).  The adapters
wrap one so that it plugs into a training loop:

* :func:`to_torch_module` gives a ``torch.nn.Module`` called as torch calls
  losses, ``(input, target, ...)`` (predictions first), with ``sample_weight=``
  where the source takes one (Keras losses).  Arrays held by the loss (class
  ``weight``, ``pos_weight``, array arguments bound to a function) become
  **buffers**: they follow ``.to(device)``, ``.double()`` and appear in
  ``state_dict()``.  It works under ``torch.compile``.
* :func:`to_keras_loss` gives a ``keras.losses.Loss`` for ``model.compile(loss=...)``
  on every Keras 3 backend (JAX, torch and TensorFlow; on TensorFlow the generic
  math runs through ``keras.ops``), serialisable (``get_config``/``from_config``,
  ``model.save`` and ``keras.models.load_model``).

What the result computes, per source:

=====================  ==============================  ===================================
source                 ``to_torch_module(loss)``       ``to_keras_loss(loss)``
=====================  ==============================  ===================================
Keras object           ``loss(target, input,           exactly ``loss`` (its reduction,
(``lb.keras.X()``)     sample_weight)``: Keras'        name, dtype; sample_weight and
                       semantics, arguments swapped    masks applied once, by the dialect)
Keras function         ``fn(target, input, **kw)``     ``LossFunctionWrapper(fn, **kw)``,
(``lb.keras.mse``)     per-sample values               as ``model.compile(loss=fn)``
torch object/function  the source, torch semantics     the source's value in Keras' pipeline
optax / theano fn      the source (per-example)        (``(y_pred, y_true)`` order, then
                                                       Keras' sample_weight, mask and
                                                       ``reduction``, default
                                                       ``"sum_over_batch_size"``)
custom loss            ``loss.torch()``                ``loss.keras()``
=====================  ==============================  ===================================

A torch loss with ``reduction="mean"`` returns a scalar: in Keras a sample weight
then scales it by ``mean(sample_weight)``, as for any Keras loss function that
returns a scalar.  For per-sample weighting adapt it with ``reduction="none"``.

Saving: the Keras class is registered with Keras (``"lossbridge>KerasLoss"``)
when the first adapter is built, and on ``import lossbridge`` if Keras is
already imported.  In a new process, ``import keras`` then ``import lossbridge``
(or call :func:`register_keras_serializables`) before
``keras.models.load_model``; no ``custom_objects`` are needed.

Example:
    >>> import torch
    >>> import lossbridge as lb
    >>> module = lb.to_torch_module(lb.torch.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0])))
    >>> sorted(module.state_dict())
    ['weight']
    >>> round(float(module(torch.tensor([[0.0, 1.0]]), torch.tensor([1]))), 6)
    0.313262
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import sys
from typing import Any

import numpy as np

from . import _backend
from ._backend import array_kind, describe
from ._errors import LossBridgeError, LossBridgeNotImplementedError, LossBridgeTypeError

__all__ = ["register_keras_serializables", "source_config", "source_from_config", "to_keras_loss",
           "to_torch_module"]

_DIALECTS = ("keras", "torch", "optax", "theano")


# ------------------------------------------------------------------------ sources


class _Source:
    """A lossbridge loss with its calling convention and the arrays it holds.

    ``convention``: ``"keras"`` (``(y_true, y_pred)`` order) or ``"torch"`` (predictions
    first: the torch, optax and theano dialects).  ``obj`` is the loss object or
    function; ``kwargs`` the arguments bound to a function; ``arrays`` the names of
    the array attributes (objects) or array kwargs (functions).
    """

    def __init__(self, obj: Any, dialect: str, is_object: bool, kwargs: dict[str, Any]) -> None:
        self.obj = obj
        self.dialect = dialect
        self.is_object = is_object
        self.kwargs = dict(kwargs)
        self.convention = "keras" if dialect == "keras" else "torch"
        self.arrays = tuple(k for k, v in self._held().items() if array_kind(v) is not None)

    def _held(self) -> dict[str, Any]:
        if not self.is_object:
            return self.kwargs
        hook = getattr(self.obj, "_lossbridge_arrays", None)  # custom losses keep theirs inside
        return hook() if hook is not None else vars(self.obj)

    def with_arrays(self, arrays: dict[str, Any]) -> Any:
        """A copy of the source object holding ``arrays`` (the source keeps its own)."""
        if not arrays:
            return self.obj
        hook = getattr(self.obj, "_lossbridge_with_arrays", None)
        if hook is not None:
            return hook(arrays)
        obj = copy.copy(self.obj)
        obj.__dict__.update(arrays)
        return obj

    @property
    def name(self) -> str:
        return str(getattr(self.obj, "name", None) or getattr(self.obj, "__name__", None)
                   or type(self.obj).__name__)

    def array_values(self) -> dict[str, Any]:
        held = self._held()
        return {k: held[k] for k in self.arrays}

    def call(self, prediction: Any, target: Any, *rest: Any, arrays: dict[str, Any] | None = None,
             sample_weight: Any = None, **kwargs: Any) -> Any:
        """Call the source with predictions first; ``arrays`` replace the held arrays."""
        arrays = arrays or {}
        if self.is_object:
            obj = self.with_arrays(arrays)
            if self.convention == "keras":
                if rest or kwargs:
                    raise LossBridgeTypeError(
                        f"{self.name} (a Keras loss) takes (input, target, sample_weight=None), "
                        f"but {len(rest)} more positional and {sorted(kwargs)} keyword arguments "
                        "were given."
                    )
                return obj(target, prediction, sample_weight=sample_weight)
            self._no_sample_weight(sample_weight)
            return obj(prediction, target, *rest, **kwargs)
        self._no_sample_weight(sample_weight)
        bound = {**self.kwargs, **arrays, **kwargs}
        if self.convention == "keras":
            return self.obj(target, prediction, *rest, **bound)
        return self.obj(prediction, target, *rest, **bound)

    def _no_sample_weight(self, sample_weight: Any) -> None:
        if sample_weight is not None:
            raise LossBridgeTypeError(
                f"sample_weight={describe(sample_weight)} was given, but {self.name} "
                f"({self.dialect} dialect) takes no sample_weight. Use a Keras loss "
                "(lossbridge.keras.*), or weight the per-sample values of reduction='none' "
                "yourself."
            )


def _dialect_of_function(fn: Any) -> str | None:
    module = getattr(fn, "__module__", None) or ""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "lossbridge" and parts[1] in _DIALECTS:
        return parts[1]
    return None


def _function_home(dialect: str) -> Any:
    import lossbridge

    return lossbridge.torch.functional if dialect == "torch" else getattr(lossbridge, dialect)


def _source(loss: Any, kwargs: dict[str, Any], framework: str) -> _Source:
    """Classify ``loss`` (copying objects, so the adapter does not share state)."""
    from .keras._loss import Loss as KerasDialectLoss
    from .torch._modules import _Loss as TorchDialectLoss

    if isinstance(loss, _Source):
        return loss
    adapt = getattr(loss, "_lossbridge_adapt", None)
    if adapt is not None and not inspect.isclass(loss):  # a custom loss (lossbridge.Loss, @loss)
        return _source(adapt(framework, **kwargs), {}, framework)
    if inspect.isclass(loss) and issubclass(loss, (KerasDialectLoss, TorchDialectLoss)):
        loss = loss(**kwargs)
        kwargs = {}
    if isinstance(loss, (KerasDialectLoss, TorchDialectLoss)):
        if kwargs:
            raise LossBridgeTypeError(
                f"Keyword arguments {sorted(kwargs)} were given with the loss object {loss!r}; "
                "they are for loss functions only. Set them on the object's constructor."
            )
        if type(loss).__name__ == "LinearCrossEntropyLoss":
            raise LossBridgeNotImplementedError(
                "LinearCrossEntropyLoss holds trainable parameters, which the adapters do not "
                "turn into torch/Keras parameters. Use torch.nn.LinearCrossEntropyLoss in torch, "
                "or a Dense layer followed by an adapted CrossEntropyLoss."
            )
        return _Source(copy.copy(loss), "keras" if isinstance(loss, KerasDialectLoss) else "torch",
                       True, {})
    dialect = _dialect_of_function(loss) if callable(loss) else None
    if dialect is None:
        raise LossBridgeTypeError(
            f"Cannot adapt {loss!r}: the adapters take a lossbridge loss — a dialect object "
            "(lossbridge.keras.CategoricalCrossentropy(), lossbridge.torch.CrossEntropyLoss()), "
            "a dialect function (lossbridge.optax.softmax_cross_entropy) or a custom loss "
            "(@lossbridge.loss / lossbridge.Loss). For a framework's own loss use "
            "lossbridge.translate."
        )
    return _Source(loss, dialect, False, kwargs)


# ------------------------------------------------------------------ configuration


def _encode(value: Any, where: str) -> Any:
    """A JSON-able form of a constructor argument (arrays become nested lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    kind = array_kind(value)
    if kind is not None:
        arr = _to_numpy(value)
        return {"__array__": arr.tolist(), "dtype": str(arr.dtype)}
    dialect = _dialect_of_function(value) if callable(value) else None
    if dialect is not None:
        name = getattr(value, "__name__", "")
        if getattr(_function_home(dialect), name, None) is value:
            return {"__function__": f"{dialect}:{name}"}
    raise LossBridgeTypeError(
        f"{where} = {value!r} cannot be serialised: a loss configuration holds numbers, strings, "
        "booleans, None, lists, dicts, arrays and lossbridge functions only. Pass one of those "
        "(for a function, pass its name and look it up inside the loss)."
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        if "__function__" in value:
            dialect, name = value["__function__"].split(":")
            return getattr(_function_home(dialect), name)
        return {k: _decode(v) for k, v in value.items()}
    return value


def _to_numpy(x: Any) -> np.ndarray:
    kind = array_kind(x)
    if kind == "torch":
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _torch_object_config(obj: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for p in list(inspect.signature(type(obj).__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if hasattr(obj, p.name):
            config[p.name] = _encode(getattr(obj, p.name), f"{type(obj).__name__}.{p.name}")
        elif p.default is not None:  # size_average/reduce are folded into `reduction`
            raise LossBridgeTypeError(
                f"{type(obj).__name__}'s argument `{p.name}` is not kept as an attribute, so "
                "the loss cannot be serialised."
            )
    return config


def source_config(source: _Source) -> dict[str, Any]:
    """The JSON-able configuration of an adapted loss (see :func:`source_from_config`)."""
    custom = getattr(source.obj, "_lossbridge_custom_config", None)
    if custom is not None:  # a custom loss' Keras/torch face: the custom loss' own config
        return {"custom": custom()}
    if source.is_object and source.dialect == "keras":
        from .keras import serialize

        return {"dialect": "keras", "object": _encode(serialize(source.obj), source.name)}
    if source.is_object:
        return {"dialect": "torch", "class": type(source.obj).__name__,
                "config": _torch_object_config(source.obj)}
    name = source.obj.__name__
    if getattr(_function_home(source.dialect), name, None) is not source.obj:
        raise LossBridgeTypeError(
            f"{source.obj!r} is not a public function of lossbridge.{source.dialect}, so it "
            "cannot be serialised by name."
        )
    return {"dialect": source.dialect, "function": name,
            "kwargs": _encode(source.kwargs, f"{name} keyword arguments")}


def source_from_config(config: dict[str, Any]) -> Any:
    """The loss object or ``(function, kwargs)`` that :func:`source_config` describes."""
    if "custom" in config:
        from . import _custom

        return _custom.from_config(config["custom"]), {}
    dialect = config.get("dialect")
    if dialect == "keras" and "object" in config:
        from .keras import deserialize

        return deserialize(_decode(config["object"])), {}
    if dialect == "torch" and "class" in config:
        import lossbridge

        cls = getattr(lossbridge.torch, config["class"])
        return cls(**_decode(config["config"])), {}
    if dialect in _DIALECTS and "function" in config:
        return getattr(_function_home(dialect), config["function"]), _decode(config.get("kwargs", {}))
    raise LossBridgeError(f"Not a lossbridge adapter configuration: {config!r}.")


# -------------------------------------------------------------------------- torch


def _buffer(value: Any) -> Any:
    """An array as a torch buffer: torch tensors as they are, NumPy/JAX floats in torch's
    default float dtype (as ``torch.tensor`` of a list), integers kept."""
    import torch

    if array_kind(value) == "torch":
        return value.detach().clone()
    arr = _to_numpy(value)
    t = torch.as_tensor(np.array(arr))
    return t.to(torch.get_default_dtype()) if t.is_floating_point() else t


@functools.cache
def _torch_class() -> type:
    import torch

    class TorchLoss(torch.nn.Module):
        """A lossbridge loss as a ``torch.nn.Module`` (see :func:`lossbridge.to_torch_module`)."""

        def __init__(self, loss: Any, **kwargs: Any) -> None:
            super().__init__()
            self._lb_source = _source(loss, kwargs, "torch")
            for name, value in self._lb_source.array_values().items():
                self.register_buffer(name, _buffer(value))

        def forward(self, input: Any, target: Any, *args: Any, sample_weight: Any = None,
                    **kwargs: Any) -> Any:
            src = self._lb_source
            arrays = {name: getattr(self, name) for name in src.arrays}
            return src.call(input, target, *args, arrays=arrays, sample_weight=sample_weight,
                            **kwargs)

        def get_config(self) -> dict[str, Any]:
            """The source's configuration with the buffers' current values
            (:func:`lossbridge.adapters.source_config`)."""
            src = self._lb_source
            arrays = {name: getattr(self, name) for name in src.arrays}
            if src.is_object:
                return source_config(_Source(src.with_arrays(arrays), src.dialect, True, {}))
            return source_config(_Source(src.obj, src.dialect, False, {**src.kwargs, **arrays}))

        def extra_repr(self) -> str:
            return repr(self._lb_source.obj) if self._lb_source.is_object else (
                f"{self._lb_source.dialect}.{self._lb_source.name}"
            )

    TorchLoss.__module__ = __name__
    TorchLoss.__qualname__ = "TorchLoss"
    return TorchLoss


def to_torch_module(loss: Any, **kwargs: Any) -> Any:
    """A lossbridge loss as a ``torch.nn.Module``.

    Args:
      loss: a dialect object (``lb.keras.SparseCategoricalCrossentropy(from_logits=True)``,
        ``lb.torch.CrossEntropyLoss(weight=w)``) or class, a dialect function
        (``lb.torch.functional.cross_entropy``, ``lb.optax.softmax_cross_entropy``,
        ``lb.theano.categorical_crossentropy``, ``lb.keras.mse``) or a custom loss.
      **kwargs: keyword arguments bound to a function (arrays become buffers), or
        constructor arguments of a class.

    The module is called ``module(input, target, *more, sample_weight=None)``:
    predictions first, as torch.  A Keras loss gets ``(target, input)`` in Keras'
    order, with ``sample_weight``; Keras semantics are kept (its inputs are cast to
    the loss' dtype, float32 by default, and the value is float32).  Arrays the loss
    holds are buffers (``state_dict``, ``.to``, ``.double()``); a NumPy float array
    becomes a buffer of torch's default dtype.

    Example:
        >>> import torch
        >>> import lossbridge as lb
        >>> loss = lb.to_torch_module(lb.keras.SparseCategoricalCrossentropy(from_logits=True))
        >>> round(float(loss(torch.tensor([[2.0, 0.0]]), torch.tensor([0]))), 6)
        0.126928
    """
    return _torch_class()(loss, **kwargs)


# -------------------------------------------------------------------------- keras


@functools.cache
def _keras_class() -> type:
    import keras
    from keras.src.backend import get_keras_mask  # masks of JAX arrays live in a table

    convert = keras.ops.convert_to_tensor

    from .keras._loss import convert_to_tensor, reduce_weighted_values

    @keras.saving.register_keras_serializable(package="lossbridge", name="KerasLoss")
    class KerasLoss(keras.losses.Loss):
        """A lossbridge loss as a ``keras.losses.Loss`` (see :func:`lossbridge.to_keras_loss`)."""

        def __init__(self, loss: Any, reduction: Any = "sum_over_batch_size",
                     name: str | None = None, dtype: Any = None) -> None:
            if isinstance(loss, dict):
                obj, kwargs = source_from_config(loss)
                source = _source(obj, kwargs, "keras")
            else:
                source = _source(loss, {}, "keras")
            if source.dialect == "keras" and not source.is_object:
                # model.compile(loss=fn) wraps a function so: Keras' semantics of a function.
                from .keras import LossFunctionWrapper

                source = _Source(LossFunctionWrapper(source.obj, **source.kwargs), "keras", True, {})
            keras_object = source.dialect == "keras"
            if keras_object:  # the Keras loss' own reduction, name and dtype
                reduction, name, dtype = source.obj.reduction, source.obj.name, source.obj.dtype
            super().__init__(name=name or source.name, reduction=reduction, dtype=dtype)
            self._lb_source = source
            self._lb_arrays = {k: _to_numpy(v) for k, v in source.array_values().items()}

        def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
            src = self._lb_source
            in_mask = get_keras_mask(y_pred)
            # As Keras' Loss.__call__: every input becomes a tensor of the backend (NumPy
            # targets beside JAX predictions are fine); dtypes are the pipeline's business.
            y_true, y_pred = convert(y_true), convert(y_pred)
            sample_weight = None if sample_weight is None else convert(sample_weight)
            if src.dialect == "keras":  # the dialect runs Keras' pipeline itself: once
                obj = src.obj
                if self._lb_arrays:
                    ns = _backend.get_namespace({"y_true": y_true, "y_pred": y_pred})
                    obj = src.with_arrays(self._arrays_for(ns, y_pred))
                return obj._pipeline(y_true, y_pred, sample_weight, in_mask)
            ns = _backend.get_namespace({"y_true": y_true, "y_pred": y_pred,
                                         "sample_weight": sample_weight})
            y_pred = convert_to_tensor(ns, y_pred, self.dtype)
            y_true = convert_to_tensor(ns, y_true)
            if ns.xp.isdtype(y_true.dtype, "real floating"):  # class indices stay integers
                y_true = ns.xp.astype(y_true, y_pred.dtype)
            values = src.call(y_pred, y_true, arrays=self._arrays_for(ns, y_pred))
            return reduce_weighted_values(ns, values, sample_weight=sample_weight, mask=in_mask,
                                          reduction=self.reduction, dtype=self.dtype)

        def call(self, y_true: Any, y_pred: Any) -> Any:
            """The source's values without Keras' weighting and reduction."""
            src = self._lb_source
            y_true, y_pred = convert(y_true), convert(y_pred)
            if src.dialect == "keras":
                ns = _backend.get_namespace({"y_true": y_true, "y_pred": y_pred})
                return src.with_arrays(self._arrays_for(ns, y_pred)).call(y_true, y_pred)
            ns = _backend.get_namespace({"y_true": y_true, "y_pred": y_pred})
            return src.call(y_pred, y_true, arrays=self._arrays_for(ns, y_pred))

        def _arrays_for(self, ns: Any, like: Any) -> dict[str, Any]:
            out = {}
            for k, v in self._lb_arrays.items():
                if np.issubdtype(v.dtype, np.floating):
                    v = v.astype(_to_numpy_dtype(like.dtype))
                if ns.kind == "torch":
                    out[k] = ns.xp.asarray(v, device=ns.device)
                else:
                    out[k] = ns.xp.asarray(v)
            return out

        @property
        def lossbridge_loss(self) -> Any:
            """The adapted lossbridge loss object (or function)."""
            return self._lb_source.obj

        def get_config(self) -> dict[str, Any]:
            config = {"loss": source_config(self._lb_source), "name": self.name,
                      "reduction": self.reduction}
            if self.dtype != "float32":
                config["dtype"] = self.dtype
            return config

        @classmethod
        def from_config(cls, config: dict[str, Any]) -> Any:
            return cls(**config)

    KerasLoss.__module__ = __name__
    KerasLoss.__qualname__ = "KerasLoss"
    return KerasLoss


def _to_numpy_dtype(dtype: Any) -> Any:
    name = str(getattr(dtype, "name", dtype)).replace("torch.", "")
    return np.dtype(name) if name != "bfloat16" else np.float32


def register_keras_serializables() -> None:
    """Register lossbridge's Keras classes with Keras (for ``keras.models.load_model``).

    Done by every :func:`to_keras_loss` call, and by ``import lossbridge`` when Keras
    is already imported; call it in a process that loads a saved model before
    building any adapter, if lossbridge was imported before Keras.
    """
    _keras_class()


def to_keras_loss(loss: Any, **kwargs: Any) -> Any:
    """A lossbridge loss as a ``keras.losses.Loss`` for ``model.compile(loss=...)``.

    Args:
      loss: a dialect object or class, a dialect function, or a custom loss (see
        :func:`to_torch_module`).
      **kwargs: ``reduction``, ``name`` and ``dtype`` of the Keras loss (not for a
        Keras-dialect object, which keeps its own); other keywords are bound to a
        function.

    A Keras-dialect loss keeps Keras' semantics exactly (it *is* Keras' pipeline,
    applied once).  Other losses are called ``loss(y_pred, y_true)`` (predictions
    first; float targets are cast to the loss dtype, integer class indices kept) and
    their values go through Keras' pipeline: mask, ``sample_weight`` and
    ``reduction`` (default ``"sum_over_batch_size"``).  Runs on the JAX, torch and
    TensorFlow backends; ``get_config``/``from_config`` round-trip and a compiled
    model survives ``model.save`` / ``keras.models.load_model``.  Inputs are first
    made tensors of the backend and the mask Keras keeps for ``y_pred`` is applied,
    as in ``keras.losses.Loss.__call__``.  On TensorFlow the math runs through
    ``keras.ops`` (:mod:`lossbridge._keras_xp`); a loss whose code needs static shapes
    (optax's checks) needs a batch size that divides the data, since Keras'
    TensorFlow trainer may retrace with an unknown batch dimension.

    Example:
        >>> import os
        >>> _ = os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.to_keras_loss(lb.torch.CrossEntropyLoss(reduction="none"))
        >>> round(float(loss(np.array([0]), np.array([[2.0, 0.0]]))), 6)
        0.126928
    """
    if getattr(loss, "_lossbridge_adapt", None) is not None and not inspect.isclass(loss):
        loss = loss._lossbridge_adapt("keras", **kwargs)  # a custom loss: its .keras() face
        kwargs = {}
    if inspect.isclass(loss):  # every keyword is the constructor's
        loss, kwargs = _source(loss, kwargs, "keras").obj, {}
    keras_args = {k: kwargs.pop(k) for k in ("reduction", "name", "dtype") if k in kwargs}
    source = _source(loss, kwargs, "keras")
    if source.dialect == "keras" and source.is_object and keras_args:
        raise LossBridgeTypeError(
            f"{sorted(keras_args)} given with the Keras loss {source.obj!r}, which has its own: "
            "set them on the Keras loss' constructor."
        )
    if source.dialect == "keras" and not source.is_object:
        from .keras import LossFunctionWrapper

        source = _Source(LossFunctionWrapper(source.obj, **keras_args, **source.kwargs), "keras",
                         True, {})
        keras_args = {}
    return _keras_class()(source, **keras_args)


def _register_if_keras_loaded() -> None:
    if "keras" in sys.modules:
        with contextlib.suppress(Exception):  # a partly imported Keras: register on first use
            _keras_class()
