"""Keras 3 hinge losses: hinge, squared hinge, categorical hinge.

``hinge`` and ``squared_hinge`` convert {0, 1} labels to {-1, 1}, but only when
*every* label of the batch is 0 or 1: Keras decides with one global
``ops.cond``, so a batch that mixes 0, 1 and -1 uses its labels raw (0 then acts
as a label).  lossbridge makes the same decision with ``where`` on the whole
tensor, so it runs under ``jax.jit`` without a Python branch on values.
"""

from __future__ import annotations

from typing import Any

from .._backend import Namespace
from ._inputs import check_broadcast, prepare
from ._loss import Loss, LossFunctionWrapper, mean

__all__ = [
    "CategoricalHinge",
    "Hinge",
    "SquaredHinge",
    "categorical_hinge",
    "hinge",
    "squared_hinge",
]

_SHAPE_FIX = "Give y_true and y_pred the same shape (the classes align (N,) with (N, 1))."


def convert_binary_labels_to_hinge(ns: Namespace, y_true: Any) -> Any:
    """``2 y - 1`` if every entry of ``y_true`` is 0 or 1, else ``y_true`` unchanged.

    One decision for the whole tensor (Keras' ``ops.cond``), taken with ``where``.
    """
    xp = ns.xp
    is_binary = xp.all((y_true == 0) | (y_true == 1))
    return xp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def _margins(y_true: Any, y_pred: Any, loss: str) -> tuple[Namespace, Any]:
    ns, y_true, y_pred = prepare(y_true, y_pred)
    check_broadcast(loss, y_true, y_pred, _SHAPE_FIX)
    y_true = convert_binary_labels_to_hinge(ns, y_true)
    margin = 1.0 - y_true * y_pred
    # zeros_like, not the scalar 0.0: array-api-compat's scalar promotion (result_type)
    # cannot be traced by torch.compile (a graph break); the same torch.maximum kernel
    return ns, ns.xp.maximum(margin, ns.xp.zeros_like(margin))


def hinge(y_true: Any, y_pred: Any) -> Any:
    """Keras' hinge loss, averaged over the last axis.

    Formula::

        y    = 2 * y_true - 1   if every entry of y_true is 0 or 1, else y_true
        loss = mean(max(1 - y * y_pred, 0), axis=-1)

    ``y_true`` in {-1, 1} (or {0, 1} for the whole batch), ``y_pred`` real-valued
    scores.  No rank alignment in this function (``(N,)`` against ``(N, 1)``
    broadcasts to ``(N, N)``, with a warning); the class aligns them.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> lb.keras.hinge(y_true, y_pred).round(6).tolist()
        [1.1, 1.5]

    See also: :class:`Hinge`, :func:`squared_hinge`, :func:`categorical_hinge`,
    ``lossbridge.torch.functional.hinge_embedding_loss``.
    """
    ns, margins = _margins(y_true, y_pred, "hinge")
    return mean(ns, margins, axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Any:
    """Keras' squared hinge loss, averaged over the last axis.

    Formula (labels converted as in :func:`hinge`)::

        loss = mean(max(1 - y * y_pred, 0) ** 2, axis=-1)

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> lb.keras.squared_hinge(y_true, y_pred).round(6).tolist()
        [1.46, 2.26]

    See also: :class:`SquaredHinge`, :func:`hinge`.
    """
    ns, margins = _margins(y_true, y_pred, "squared_hinge")
    return mean(ns, margins**2, axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Any:
    """Keras' categorical hinge loss, one value per sample.

    Formula::

        pos  = sum(y_true * y_pred, axis=-1)
        neg  = max((1 - y_true) * y_pred, axis=-1)
        loss = max(neg - pos + 1, 0)

    ``y_true`` one-hot (no label conversion here), ``y_pred`` scores.  An empty
    batch gives an empty loss (keras-jax; keras-torch raises, see the
    conformance tests).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> lb.keras.categorical_hinge(y_true, y_pred).round(6).tolist()
        [1.2, 1.6]

    See also: :class:`CategoricalHinge`, ``lossbridge.torch.functional.multi_margin_loss``.
    """
    ns, y_true, y_pred = prepare(y_true, y_pred)
    check_broadcast("categorical_hinge", y_true, y_pred, _SHAPE_FIX)
    xp = ns.xp
    pos = xp.sum(y_true * y_pred, axis=-1)
    neg = xp.max((1.0 - y_true) * y_pred, axis=-1)
    margin = neg - pos + 1.0
    return xp.maximum(margin, xp.zeros_like(margin))  # not 0.0: traceable by torch.compile


class Hinge(LossFunctionWrapper):
    """Keras' ``Hinge``: :func:`hinge` in the Keras pipeline.

    ``mean(max(1 - y * y_pred, 0))`` per sample, {0, 1} labels converted to
    {-1, 1} when the whole batch is binary; inputs cast to ``dtype`` (float32),
    ``(N,)`` aligned with ``(N, 1)``, weighted and reduced (default: sum divided by
    the number of elements of the per-sample loss).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(lb.keras.Hinge()(y_true, y_pred)), 6)
        1.3

    See also: :func:`hinge`, :class:`SquaredHinge`, :class:`CategoricalHinge`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "hinge", dtype: Any = None
    ) -> None:
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Keras' ``SquaredHinge``: :func:`squared_hinge` in the Keras pipeline.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(lb.keras.SquaredHinge()(y_true, y_pred)), 6)
        1.86

    See also: :func:`squared_hinge`, :class:`Hinge`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "squared_hinge", dtype: Any = None
    ) -> None:
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Keras' ``CategoricalHinge``: :func:`categorical_hinge` in the Keras pipeline.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(lb.keras.CategoricalHinge()(y_true, y_pred)), 6)
        1.4

    See also: :func:`categorical_hinge`, :class:`Hinge`.
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
