"""Keras 3 regression losses: the per-sample loss is a mean over the last axis."""

from __future__ import annotations

from typing import Any

from .._backend import Namespace
from ._loss import (
    Loss,
    LossFunctionWrapper,
    convert_to_tensor,
    mean,
    namespace_of,
    squeeze_or_expand_to_same_rank,
)

__all__ = [
    "MeanAbsoluteError",
    "MeanSquaredError",
    "mean_absolute_error",
    "mean_squared_error",
]


def _prepare(y_true: Any, y_pred: Any) -> tuple[Namespace, Any, Any]:
    """Convert, cast ``y_true`` to ``y_pred``'s dtype and rank-align, as Keras does."""
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    y_pred = convert_to_tensor(ns, y_pred)
    y_true = xp.astype(convert_to_tensor(ns, y_true), y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred, xp=xp)
    return ns, y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """Mean squared error over the last axis: ``mean((y_true - y_pred) ** 2, axis=-1)``.

    ``(N,)`` against ``(N, 1)`` is aligned to ``(N, 1)`` first (Keras'
    ``squeeze_or_expand_to_same_rank``); a 1-D input is one sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.mean_squared_error(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                             np.array([[1.0, 1.0], [1.0, 0.0]])).tolist()
        [0.5, 0.5]
    """
    ns, y_true, y_pred = _prepare(y_true, y_pred)
    return mean(ns, (y_true - y_pred) ** 2, axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error over the last axis: ``mean(abs(y_true - y_pred), axis=-1)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.mean_absolute_error(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                              np.array([[1.0, 1.0], [1.0, 0.0]])).tolist()
        [0.5, 0.5]
    """
    ns, y_true, y_pred = _prepare(y_true, y_pred)
    return mean(ns, ns.xp.abs(y_true - y_pred), axis=-1)


class MeanSquaredError(LossFunctionWrapper):
    """Keras' ``MeanSquaredError``: :func:`mean_squared_error` in the Keras pipeline.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.keras.MeanSquaredError()(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.1, 0.8]))), 6)
        0.02
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


class MeanAbsoluteError(LossFunctionWrapper):
    """Keras' ``MeanAbsoluteError``: :func:`mean_absolute_error` in the Keras pipeline.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.keras.MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])))
        0.5
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)
