"""Custom losses written once: ``@lossbridge.loss`` and ``lossbridge.Loss``.

A custom loss is a **per-sample** function of ``(predictions, targets)`` written
against the array namespace (``xp = lossbridge.ops.namespace(...)``, plus
:mod:`lossbridge.ops`): it reduces the last axis (the features or classes of one
sample) and returns one value per sample, as a Keras loss function does.  It runs
on NumPy arrays, torch tensors (autograd) and JAX arrays (``jax.jit``,
``jax.grad``).  On top of it:

* ``.keras(reduction="sum_over_batch_size", name=None, dtype=None)``: a Keras-dialect
  loss (``lossbridge.keras.LossFunctionWrapper``): Keras' call order
  ``(y_true, y_pred, sample_weight=None)``, dtype cast, rank alignment, masks,
  sample weights and every Keras reduction, exactly as ``model.compile(loss=fn)``;
* ``.torch(reduction="mean")``: a torch-dialect loss called ``(input, target)``
  with torch's ``"mean" | "sum" | "none"`` (mean over every value the function
  returns);
* ``lossbridge.to_torch_module(custom)`` / ``lossbridge.to_keras_loss(custom)``:
  the same through the adapters (the ``.torch()`` / ``.keras()`` face), as a
  ``torch.nn.Module`` and as a ``keras.losses.Loss`` that survives ``model.save`` /
  ``keras.models.load_model`` (the module defining the loss must be imported
  before loading, as for any Keras custom object).

Without weights, masks or ignored entries, ``.keras()`` with
``"sum_over_batch_size"`` and ``.torch()`` with ``"mean"`` give the same number:
the mean of the per-sample values (Keras casts inputs to float32 first).

Predictions come first (torch's and optax's order; Keras' order is swapped by
``.keras()``).  A definition whose first parameter is named like a target
(``y_true``, ``target``, ``labels``) is rejected, so a Keras habit cannot swap them
silently.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> @lb.loss
    ... def rmse(y_pred, y_true):
    ...     xp = lb.ops.namespace(y_pred, y_true)
    ...     return xp.sqrt(xp.mean((y_pred - y_true) ** 2, axis=-1))
    >>> p, t = np.array([[1.0, 3.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> rmse(p, t).round(4).tolist()
    [1.4142, 0.7071]
    >>> round(float(rmse.torch()(p, t)), 4), round(float(rmse.keras()(t, p)), 4)
    (1.0607, 1.0607)
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, cast

# Absolute imports for the dialects: a relative `from .torch...` is the import name
# "torch._modules", which tests/test_import.py's framework guard blocks.
from lossbridge._backend import array_kind, describe, get_namespace
from lossbridge._errors import LossBridgeError, LossBridgeNotImplementedError, LossBridgeTypeError
from lossbridge.keras._loss import LossFunctionWrapper, _to_snake_case
from lossbridge.torch._modules import _Loss as _TorchLoss
from lossbridge.torch._reduction import reduce, resolve_reduction

__all__ = ["FunctionLoss", "KerasFace", "Loss", "TorchFace", "from_config", "loss"]

#: custom losses by "module.qualname", for from_config
_REGISTRY: dict[str, Any] = {}
_TARGET_NAMES = ("y_true", "target", "targets", "label", "labels", "true", "truth")
_NUMPY_DIR = None


def _key(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _check_order(fn: Callable[..., Any], what: str) -> None:
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if what == "method":
        params = params[1:]
    if len(params) < 2:
        raise LossBridgeTypeError(
            f"The custom loss {fn.__qualname__} takes {len(params)} positional argument(s); a "
            "custom loss takes (predictions, targets, ...). Define it as "
            f"{'call(self, y_pred, y_true)' if what == 'method' else 'f(y_pred, y_true)'}."
        )
    if params[0].name in _TARGET_NAMES:
        fix = "call(self, y_pred, y_true)" if what == "method" else f"{fn.__name__}(y_pred, y_true)"
        raise LossBridgeTypeError(
            f"The custom loss {fn.__qualname__} takes ({params[0].name}, {params[1].name}, ...): "
            "lossbridge custom losses take predictions first (torch's order), and .keras() swaps "
            f"them into Keras' order. Define it as {fix}, with the body unchanged."
        )


def _numpy_dir() -> str:
    global _NUMPY_DIR
    if _NUMPY_DIR is None:
        import numpy

        _NUMPY_DIR = os.path.dirname(os.path.abspath(numpy.__file__))
    return _NUMPY_DIR


def _numpy_failure(exc: BaseException) -> bool:
    """True when the exception comes from NumPy code or from converting to NumPy."""
    text = str(exc)
    if "numpy" in text or "__array__" in text:
        return True
    tb = exc.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_numpy_dir() + os.sep):
            return True
        tb = tb.tb_next
    return False


def _run(name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a custom loss' definition; NumPy-only code on torch/JAX arrays gets a clear error."""
    kinds = {k for a in args if (k := array_kind(a)) is not None}
    foreign = sorted(k for k in kinds if k != "numpy")
    try:
        values = fn(*args, **kwargs)
    except LossBridgeError:
        raise
    except Exception as e:
        if foreign and _numpy_failure(e):
            raise LossBridgeTypeError(
                f"The custom loss {name} failed on {' and '.join(foreign)} arrays "
                f"({', '.join(describe(a) for a in args if array_kind(a))}) in NumPy code: "
                f"{type(e).__name__}: {e}. A custom loss must compute with the arrays' own "
                "namespace: write `xp = lossbridge.ops.namespace(y_pred, y_true)` and use "
                "xp.mean / xp.sqrt / ... and lossbridge.ops (log_softmax, logsumexp, ...) instead "
                "of np.* (NumPy functions cannot trace, differentiate or run on a GPU)."
            ) from e
        raise
    got = array_kind(values)
    if foreign and got != foreign[0]:
        raise LossBridgeTypeError(
            f"The custom loss {name} was given {foreign[0]} arrays but returned "
            f"{describe(values)}: it computed with NumPy, so no gradient can flow. Write it "
            "with `xp = lossbridge.ops.namespace(y_pred, y_true)` and xp.* functions instead "
            "of np.*."
        )
    if got is None:
        raise LossBridgeTypeError(
            f"The custom loss {name} returned {describe(values)}; it must return an array of "
            "per-sample values (use xp.* functions of `xp = lossbridge.ops.namespace(...)`)."
        )
    return values


class _Custom:
    """Shared by function and class custom losses: the framework faces and the config."""

    def _values(self, y_pred: Any, y_true: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def _loss_name(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def keras(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
              dtype: Any = None) -> Any:
        """This loss with Keras semantics: a ``lossbridge.keras`` loss called ``(y_true, y_pred,
        sample_weight=None)``, per-sample values inside Keras' pipeline."""
        return KerasFace(self, reduction=reduction, name=name, dtype=dtype)

    def torch(self, reduction: str = "mean") -> Any:
        """This loss with PyTorch semantics: called ``(input, target)``, reduced by
        ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``)."""
        return TorchFace(self, reduction=reduction)

    def _lossbridge_adapt(self, framework: str, **kwargs: Any) -> Any:
        return self.keras(**kwargs) if framework == "keras" else self.torch(**kwargs)

    def _lossbridge_arrays(self) -> dict[str, Any]:
        return {}

    def _lossbridge_with_arrays(self, arrays: dict[str, Any]) -> Any:
        return self


# --------------------------------------------------------------------- functions


class FunctionLoss(_Custom):
    """A per-sample function made a lossbridge loss by :func:`loss`.

    Calling it calls the function (per-sample values on any array);
    ``.keras()``/``.torch()`` give the framework conventions.  Keyword arguments
    bound with :meth:`bind` are part of the configuration.
    """

    def __init__(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        self.fn = fn
        self.kwargs = dict(kwargs)
        functools.update_wrapper(self, fn)

    @property
    def _loss_name(self) -> str:
        return self.fn.__name__

    def __call__(self, y_pred: Any, y_true: Any, **kwargs: Any) -> Any:
        return _run(self._loss_name, self.fn, (y_pred, y_true), {**self.kwargs, **kwargs})

    _values = __call__

    def bind(self, **kwargs: Any) -> FunctionLoss:
        """The same loss with keyword arguments fixed (``huber.bind(delta=0.5)``)."""
        return FunctionLoss(self.fn, **{**self.kwargs, **kwargs})

    def get_config(self) -> dict[str, Any]:
        """``{"function": "module.name", "kwargs": {...}}`` (JSON-able)."""
        from .adapters import _encode

        return {"function": _key(self.fn),
                "kwargs": _encode(self.kwargs, f"{self._loss_name} keyword arguments")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FunctionLoss:
        """The loss ``get_config`` describes (its function must be defined in this process)."""
        from .adapters import _decode

        return cls(_lookup(config["function"]), **_decode(config.get("kwargs", {})))

    def _lossbridge_arrays(self) -> dict[str, Any]:
        return {k: v for k, v in self.kwargs.items() if array_kind(v) is not None}

    def _lossbridge_with_arrays(self, arrays: dict[str, Any]) -> Any:
        return FunctionLoss(self.fn, **{**self.kwargs, **arrays})

    def __repr__(self) -> str:
        return f"lossbridge.loss({self._loss_name})"


def loss(fn: Callable[..., Any]) -> FunctionLoss:
    """Decorator: a per-sample function ``fn(y_pred, y_true, **options)`` as a lossbridge loss.

    ``fn`` reduces the last axis only and returns one value per sample, computed
    with ``xp = lossbridge.ops.namespace(y_pred, y_true)`` (see the module
    docstring).  The result runs on NumPy, torch and JAX arrays and has
    ``.keras()``, ``.torch()``, ``.bind(**options)`` and ``get_config()``; the
    adapters take it.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> @lb.loss
        ... def mae(y_pred, y_true):
        ...     xp = lb.ops.namespace(y_pred, y_true)
        ...     return xp.mean(xp.abs(y_pred - y_true), axis=-1)
        >>> mae(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])).tolist()
        [1.5]
    """
    if not callable(fn) or inspect.isclass(fn):
        raise LossBridgeTypeError(
            f"@lossbridge.loss decorates a function, not {fn!r}; for a class, subclass "
            "lossbridge.Loss."
        )
    _check_order(fn, "function")
    _REGISTRY[_key(fn)] = fn
    return FunctionLoss(fn)


# ----------------------------------------------------------------------- classes


class Loss(_Custom):
    """Base class of parameterised custom losses.

    Implement ``call(self, y_pred, y_true)`` returning per-sample values (see the
    module docstring).  The constructor's arguments are captured as the
    configuration (``get_config()``; ``from_config(config)`` rebuilds the loss):
    they must be numbers, strings, booleans, None, lists, dicts or arrays.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> class L1MSE(lb.Loss):
        ...     def __init__(self, alpha=0.5):
        ...         super().__init__()
        ...         self.alpha = alpha
        ...     def call(self, y_pred, y_true):
        ...         xp = lb.ops.namespace(y_pred, y_true)
        ...         d = y_pred - y_true
        ...         return self.alpha * xp.mean(xp.abs(d), axis=-1) + (1 - self.alpha) * xp.mean(d**2, axis=-1)
        >>> loss = L1MSE(alpha=0.25)
        >>> loss.get_config()
        {'alpha': 0.25}
        >>> loss(np.array([[2.0, 0.0]]), np.array([[0.0, 0.0]])).tolist()
        [1.75]
    """

    _lossbridge_config: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__:
            _check_order(cls.__dict__["call"], "method")
        if "__init__" in cls.__dict__:
            init = cls.__dict__["__init__"]
            signature = inspect.signature(init)

            @functools.wraps(init)
            def captured(self: Any, *args: Any, **kw: Any) -> None:
                if "_lossbridge_config" not in self.__dict__:
                    bound = signature.bind(self, *args, **kw)
                    bound.apply_defaults()
                    config = dict(list(bound.arguments.items())[1:])
                    for p in signature.parameters.values():
                        if p.kind == p.VAR_KEYWORD:
                            config.update(config.pop(p.name, {}))
                        elif p.kind == p.VAR_POSITIONAL and config.pop(p.name, ()):
                            raise LossBridgeTypeError(
                                f"{cls.__name__} was given extra positional arguments; a custom "
                                "loss' configuration is its named constructor arguments."
                            )
                    self.__dict__["_lossbridge_config"] = config
                init(self, *args, **kw)

            cls.__init__ = captured  # type: ignore[method-assign]
        _REGISTRY[_key(cls)] = cls

    def __init__(self) -> None:
        self.__dict__.setdefault("_lossbridge_config", {})

    @property
    def _loss_name(self) -> str:
        return type(self).__name__

    def call(self, y_pred: Any, y_true: Any) -> Any:
        """The per-sample loss (implement it)."""
        raise LossBridgeNotImplementedError(
            f"{type(self).__name__} must implement call(self, y_pred, y_true), returning one "
            "value per sample."
        )

    def __call__(self, y_pred: Any, y_true: Any) -> Any:
        return _run(self._loss_name, self.call, (y_pred, y_true), {})

    _values = __call__

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (JSON-able: arrays become lists)."""
        from .adapters import _encode

        config = self.__dict__.get("_lossbridge_config", {})
        return {k: _encode(v, f"{type(self).__name__}(..., {k}=...)") for k, v in config.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """``cls(**config)`` (arrays decoded)."""
        from .adapters import _decode

        return cls(**{k: _decode(v) for k, v in config.items()})

    def _lossbridge_arrays(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if array_kind(v) is not None}

    def _lossbridge_with_arrays(self, arrays: dict[str, Any]) -> Any:
        new = copy.copy(self)
        new.__dict__.update(arrays)
        return new

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.get("_lossbridge_config", {}).items())
        return f"{type(self).__name__}({args})"


def custom_config(custom: _Custom) -> dict[str, Any]:
    """The registry key and configuration of a custom loss."""
    if isinstance(custom, FunctionLoss):
        return custom.get_config()
    return {"class": _key(type(custom)), "config": cast(Any, custom).get_config()}


def _lookup(key: str) -> Any:
    if key not in _REGISTRY:
        raise LossBridgeError(
            f"The custom loss {key!r} is not defined in this process. Import the module that "
            "defines it (its @lossbridge.loss function or lossbridge.Loss subclass) before "
            "loading the configuration or the model."
        )
    return _REGISTRY[key]


def custom_from_config(config: dict[str, Any]) -> _Custom:
    """Rebuild a custom loss from :func:`custom_config`."""
    if "function" in config:
        return FunctionLoss.from_config(config)
    return _lookup(config["class"]).from_config(config["config"])


def from_config(config: dict[str, Any]) -> Any:
    """A custom loss' framework face from the adapters' configuration."""
    custom = custom_from_config(config["loss"])
    return getattr(custom, config["face"])(**config.get("options", {}))


# ------------------------------------------------------------------------- faces


def _check_keras_shape(name: str, values: Any, y_pred: Any) -> None:
    want = tuple(y_pred.shape[:-1])
    got = tuple(values.shape)
    if len(got) == len(want) and all(g is None or w is None or g == w for g, w in zip(got, want, strict=True)):
        return
    hint = "it returned a scalar: do not reduce over the batch, " if got == () else ""
    raise LossBridgeError(
        f"The custom loss {name} returned values of shape {got} for predictions of shape "
        f"{tuple(y_pred.shape)}; in Keras' pipeline a loss function returns one value per "
        f"sample, shape {want} (the predictions' shape without the last axis), so that "
        f"sample_weight, masks and the reduction apply per sample. Fix it: {hint}reduce the "
        "last axis only, e.g. xp.mean(..., axis=-1)."
    )


class _KerasCall:
    """The per-sample function of a Keras face: Keras order in, shape checked."""

    def __init__(self, custom: _Custom) -> None:
        self.custom = custom
        self.__name__ = custom._loss_name

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        values = self.custom._values(y_pred, y_true)
        _check_keras_shape(self.custom._loss_name, values, y_pred)
        return values


class KerasFace(LossFunctionWrapper):
    """A custom loss with Keras semantics (see :meth:`lossbridge.Loss.keras`)."""

    def __init__(self, custom: _Custom, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(_KerasCall(custom), reduction=reduction,
                         name=name or _to_snake_case(custom._loss_name), dtype=dtype)
        self.custom = custom
        self._options = {"reduction": reduction, "name": self.name}
        if dtype is not None:
            self._options["dtype"] = self.dtype

    def get_config(self) -> dict[str, Any]:
        return {**self._options, "loss": custom_config(self.custom)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        config = dict(config)
        return cls(custom_from_config(config.pop("loss")), **config)

    def _lossbridge_custom_config(self) -> dict[str, Any]:
        return {"loss": custom_config(self.custom), "face": "keras", "options": self._options}

    def _lossbridge_arrays(self) -> dict[str, Any]:
        return self.custom._lossbridge_arrays()

    def _lossbridge_with_arrays(self, arrays: dict[str, Any]) -> Any:
        new = copy.copy(self)
        new.custom = self.custom._lossbridge_with_arrays(arrays)
        new.fn = _KerasCall(new.custom)
        return new

    def __repr__(self) -> str:
        return f"{self.custom!r}.keras(reduction={self.reduction!r})"


class TorchFace(_TorchLoss):
    """A custom loss with PyTorch semantics (see :meth:`lossbridge.Loss.torch`)."""

    def __init__(self, custom: _Custom, reduction: str = "mean") -> None:
        super().__init__(reduction=resolve_reduction(None, None, reduction, aten=False))
        self.custom = custom

    def forward(self, input: Any, target: Any) -> Any:
        ns = get_namespace({"input": input, "target": target})
        return reduce(ns, self.custom._values(input, target), self.reduction)

    def _lossbridge_custom_config(self) -> dict[str, Any]:
        return {"loss": custom_config(self.custom), "face": "torch",
                "options": {"reduction": self.reduction}}

    def _lossbridge_arrays(self) -> dict[str, Any]:
        return self.custom._lossbridge_arrays()

    def _lossbridge_with_arrays(self, arrays: dict[str, Any]) -> Any:
        new = copy.copy(self)
        new.custom = self.custom._lossbridge_with_arrays(arrays)
        return new

    def __repr__(self) -> str:
        return f"{self.custom!r}.torch(reduction={self.reduction!r})"

