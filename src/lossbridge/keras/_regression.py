"""Keras 3 regression losses.

The per-sample loss is a mean over the last axis (``mean_squared_error``,
``mean_absolute_error``, ``mean_absolute_percentage_error``,
``mean_squared_logarithmic_error``, ``huber``, ``log_cosh``), or a sum of the
normalised products over ``axis`` (``cosine_similarity``).  Every functional form
here rank-aligns ``y_true`` with ``y_pred`` first (``(N,)`` against ``(N, 1)``),
as Keras' do, and keeps ``y_pred``'s dtype; the classes cast to ``dtype``
(float32 by default), weight and reduce.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._backend import Namespace, quiet
from ._inputs import check_broadcast, constant, param, prepare_typed
from ._loss import EPSILON, Loss, LossFunctionWrapper, flavor, mean, squeeze_or_expand_to_same_rank

__all__ = [
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "cosine_similarity",
    "huber",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
]

#: ``keras.ops.log(2.0)``: Keras computes log 2 in float32 and casts it to the loss dtype.
_LOG2_F32 = float(np.log(np.float32(2.0)))


def _prepare(
    y_true: Any, y_pred: Any, loss: str, *, subtracts: bool = True
) -> tuple[Namespace, Any, Any, Any]:
    """Convert, cast ``y_true`` to ``y_pred``'s dtype and rank-align, as Keras does;
    ``(ns, y_true, y_pred, given)`` as :func:`~._inputs.prepare_typed` returns them.

    Shapes that still differ after the alignment broadcast (with a warning) or
    raise when they cannot.
    """
    ns, y_true, y_pred, given = prepare_typed(y_true, y_pred, subtracts=subtracts)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred, xp=ns.xp)
    check_broadcast(
        loss, y_true, y_pred,
        "Give y_true and y_pred the same shape ((N,) against (N, 1) is aligned for you).",
    )
    return ns, y_true, y_pred, given


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
    ns, y_true, y_pred, _ = _prepare(y_true, y_pred, "mean_squared_error")
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
    ns, y_true, y_pred, _ = _prepare(y_true, y_pred, "mean_absolute_error")
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


# ------------------------------------------------------------------- percentage


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute percentage error over the last axis.

    Formula, with ``eps = 1e-7``::

        loss = 100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)

    A target of 0 divides by ``eps``: ``y_true = 0, y_pred = 1`` costs ``1e9``.
    ``(N,)`` against ``(N, 1)`` is aligned to ``(N, 1)`` first; a 1-D input is one
    sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.mean_absolute_percentage_error(np.array([[2.0, 1.0], [2.0, 3.0]]),
        ...                                         np.array([[1.0, 1.0], [1.0, 0.0]])).tolist()
        [25.0, 75.0]

    See also: :class:`MeanAbsolutePercentageError` (registered as ``"mape"``),
    :func:`mean_absolute_error`.
    """
    ns, y_true, y_pred, given = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    xp = ns.xp
    denominator = xp.maximum(xp.abs(y_true), constant(ns, EPSILON, given))
    return 100.0 * mean(ns, xp.abs((y_true - y_pred) / denominator), axis=-1)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Keras' ``MeanAbsolutePercentageError``: :func:`mean_absolute_percentage_error` in the pipeline.

    ``100 * mean(|y - p| / max(|y|, 1e-7))`` per sample; inputs cast to ``dtype``
    (float32), weighted and reduced (default: sum divided by the number of
    elements of the per-sample loss).  Registered as ``"mape"`` and ``"MAPE"`` too.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.MeanAbsolutePercentageError()
        >>> round(float(loss(np.array([100.0, 200.0, 300.0]), np.array([90.0, 210.0, 310.0]))), 5)
        6.11111

    See also: :func:`mean_absolute_percentage_error`, :class:`MeanAbsoluteError`.
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype
        )

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# ------------------------------------------------------------------ logarithmic


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Any:
    """Mean squared logarithmic error over the last axis.

    Formula, with ``eps = 1e-7``::

        loss = mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)

    Values below ``eps`` (zero and negative values) are replaced by ``eps``: a
    negative prediction costs as much as 0 and gets no gradient.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.mean_squared_logarithmic_error(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                                         np.array([[1.0, 1.0], [1.0, 0.0]])).round(5).tolist()
        [0.24023, 0.24023]

    See also: :class:`MeanSquaredLogarithmicError` (registered as ``"msle"``),
    :func:`mean_squared_error`.
    """
    # Keras' epsilon here is float32 whatever y_pred is, and nothing is subtracted before the
    # log: boolean predictions compute.
    ns, y_true, y_pred, _ = _prepare(y_true, y_pred, "mean_squared_logarithmic_error",
                                     subtracts=False)
    xp = ns.xp
    eps = constant(ns, EPSILON, y_pred)
    first_log = xp.log(xp.maximum(y_pred, eps) + 1.0)
    second_log = xp.log(xp.maximum(y_true, eps) + 1.0)
    return mean(ns, (first_log - second_log) ** 2, axis=-1)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Keras' ``MeanSquaredLogarithmicError``: :func:`mean_squared_logarithmic_error` in the pipeline.

    ``mean((log1p(max(p, 1e-7)) - log1p(max(y, 1e-7)))**2)`` per sample; inputs cast
    to ``dtype`` (float32), weighted and reduced (default: sum divided by the
    number of elements of the per-sample loss).  Registered as ``"msle"`` and
    ``"MSLE"`` too.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.MeanSquaredLogarithmicError()
        >>> round(float(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]]))), 6)
        0.240226

    See also: :func:`mean_squared_logarithmic_error`, :class:`MeanSquaredError`.
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype
        )

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# ------------------------------------------------------------------------ Huber


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Any:
    """Huber loss averaged over the last axis.

    Formula, with ``e = y_pred - y_true``::

        h    = 0.5 * e ** 2                    where |e| <= delta
             = delta * |e| - 0.5 * delta ** 2  elsewhere
        loss = mean(h, axis=-1)

    Quadratic near 0, linear beyond ``delta`` (default 1.0); no epsilon.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.huber(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                np.array([[0.6, 0.4], [0.4, 0.6]])).round(5).tolist()
        [0.18, 0.13]

    See also: :class:`Huber`, ``lossbridge.torch.functional.huber_loss`` (the same
    element-wise formula, reduced over every element),
    ``lossbridge.torch.functional.smooth_l1_loss`` (Huber divided by ``beta``).
    """
    ns, y_true, y_pred, given = _prepare(y_true, y_pred, "huber")
    xp = ns.xp
    d = constant(ns, delta, given)
    error = y_pred - y_true
    abs_error = xp.abs(error)
    half = constant(ns, 0.5, given)
    return mean(
        ns,
        xp.where(abs_error <= d, half * error**2, d * abs_error - half * d**2),
        axis=-1,
    )


class Huber(LossFunctionWrapper):
    """Keras' ``Huber``: :func:`huber` in the Keras pipeline.

    Per sample the mean over the last axis of ``0.5 e**2`` (``|e| <= delta``) or
    ``delta |e| - 0.5 delta**2``; inputs cast to ``dtype`` (float32), weighted and
    reduced (default: sum divided by the number of elements of the per-sample
    loss).  Its default name is ``"huber_loss"``, but the registry knows it as
    ``"Huber"`` and the function as ``"huber"`` (Keras 3 rejects ``"huber_loss"``).

    ``get_config()`` includes ``delta`` (Keras main, PR #23286; keras 3.15.1 drops
    it, so a reloaded loss silently returns to ``delta=1.0``).

    Args:
      delta: where the loss turns from quadratic to linear (default 1.0).
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"huber_loss"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.Huber()
        >>> round(float(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]]))), 5)
        0.155
        >>> lb.keras.Huber(delta=0.5).get_config()["delta"]
        0.5

    See also: :func:`huber`, :class:`LogCosh`, :class:`MeanSquaredError`.
    """

    def __init__(
        self,
        delta: float = 1.0,
        reduction: Any = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ) -> None:
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self) -> dict[str, Any]:
        # Keras main (PR #23286) keeps `delta`; keras <= 3.15.1 drops it.
        config = Loss.get_config(self)
        config.update(delta=self.delta)
        return config


# --------------------------------------------------------------------- log-cosh


def log_cosh(y_true: Any, y_pred: Any) -> Any:
    """Logarithm of the hyperbolic cosine of the error, averaged over the last axis.

    Formula, with ``x = y_pred - y_true``::

        loss = mean(x + softplus(-2 x) - log(2), axis=-1)        # = mean(log(cosh(x)))

    computed without overflow for large ``|x|``; ``log(2)`` is Keras' float32 value
    cast to the input dtype.  About ``x**2 / 2`` near 0 and ``|x| - log 2`` far away.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.log_cosh(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                   np.array([[1.0, 1.0], [1.0, 0.0]])).round(5).tolist()
        [0.21689, 0.21689]

    See also: :class:`LogCosh`, :func:`huber`.
    """
    # Keras casts log(2) to y_pred's dtype: 0 for integer predictions.
    ns, y_true, y_pred, given = _prepare(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return mean(ns, x + ops.softplus(x * -2.0) - constant(ns, _LOG2_F32, given), axis=-1)


class LogCosh(LossFunctionWrapper):
    """Keras' ``LogCosh``: :func:`log_cosh` in the Keras pipeline.

    Inputs cast to ``dtype`` (float32), weighted and reduced (default: sum divided
    by the number of elements of the per-sample loss).  Keras 3 registers it as
    ``"LogCosh"`` and ``"log_cosh"`` (tf.keras 2's ``"logcosh"`` is rejected).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.LogCosh()
        >>> round(float(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]]))), 6)
        0.108445

    See also: :func:`log_cosh`, :class:`Huber`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "log_cosh", dtype: Any = None
    ) -> None:
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# ------------------------------------------------------------------------ cosine


def _l2_normalize(ns: Namespace, x: Any, axis: Any) -> Any:
    """Keras' ``normalize``: ``x * min(1 / sqrt(sum(x**2, axis)), 1 / eps)``.

    Equal to ``x / max(||x||, eps)``; written as Keras writes it (``x * rsqrt``) so
    that the gradients agree too, including at a zero vector.
    """
    xp = ns.xp
    # a 0-d input is its own sum (NumPy and torch accept axis -1 there, JAX does not; Keras
    # computes it on both backends)
    square_sum = x * x if x.ndim == 0 else xp.sum(x * x, axis=axis, keepdims=True)
    if flavor() == "tf_keras":
        # tf.linalg.l2_normalize: x * rsqrt(max(sum(x**2), 1e-12)), finite gradient at 0.
        return x * (1.0 / xp.sqrt(xp.maximum(square_sum, param(ns, 1e-12, x))))
    with quiet(ns):  # 1 / sqrt(0) = inf, then capped at 1 / eps
        inv_norm = 1.0 / xp.sqrt(square_sum)
    return x * xp.minimum(inv_norm, param(ns, 1.0 / EPSILON, x))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Keras' cosine similarity loss: minus the cosine of the angle, along ``axis``.

    Formula, with ``l2n(x) = x / max(||x||_2, 1e-7)`` along ``axis``::

        loss = -sum(l2n(y_true) * l2n(y_pred), axis)

    The result lies in ``[-1, 1]``: -1 when the vectors point the same way, 0 when
    they are orthogonal *or either is a zero vector*; the gradient with respect to
    a zero vector is NaN, as in Keras on both backends (``x * rsqrt(0)`` capped at
    ``1/eps``: the cap has no derivative path that avoids ``0 * inf``).  No extra
    mean: the axis is summed.  ``(N,)`` against ``(N, 1)`` is aligned first.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.keras.cosine_similarity(np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
        ...                            np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])).round(6).tolist()
        [-0.0, -1.0, 1.0]

    See also: :class:`CosineSimilarity`, ``lossbridge.torch.functional.cosine_embedding_loss``.
    """
    ns, y_true, y_pred, _ = _prepare(y_true, y_pred, "cosine_similarity")
    axis = tuple(axis) if isinstance(axis, list) else axis
    y_pred = _l2_normalize(ns, y_pred, axis)
    y_true = _l2_normalize(ns, y_true, axis)
    return -ns.xp.sum(y_true * y_pred, axis=axis)


class CosineSimilarity(LossFunctionWrapper):
    """Keras' ``CosineSimilarity``: :func:`cosine_similarity` in the Keras pipeline.

    One value per sample in ``[-1, 1]`` (-1 for a perfect match); inputs cast to
    ``dtype`` (float32), weighted and reduced (default: sum divided by the number
    of samples).  ``get_config()`` includes ``axis`` (Keras main, PR #23286; keras
    3.15.1 drops it, so a reloaded loss silently returns to ``axis=-1``).

    Args:
      axis: the feature axis (default -1).
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"cosine_similarity"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.keras.CosineSimilarity()
        >>> round(float(loss(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]))), 6)
        -0.5

    See also: :func:`cosine_similarity`.
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ) -> None:
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        # Keras main (PR #23286) keeps `axis`; keras <= 3.15.1 drops it.
        config = Loss.get_config(self)
        config.update(axis=self.axis)
        return config


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
