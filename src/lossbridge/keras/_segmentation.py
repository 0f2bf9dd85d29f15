"""Keras 3 segmentation losses: Dice (Keras 3.2+) and Tversky (Keras 3.3+).

Both sum over ``axis``, and the default ``axis=None`` sums over *everything*,
batch included (keras#19637): the loss is one scalar, which no reduction
changes (``reduction=None`` too).  Pass ``axis=(1, 2, 3)`` for one value per
image.  Neither has a smoothing term in the numerator: ``y = p = 0`` gives 1.
"""

from __future__ import annotations

from typing import Any

from .._backend import Namespace
from .._errors import LossBridgeWarning
from .._warnings import warn
from ._inputs import check_broadcast, prepare
from ._loss import EPSILON, Loss, LossFunctionWrapper

__all__ = ["Dice", "Tversky", "dice", "tversky"]

Axis = int | tuple[int, ...] | list[int] | None

_SHAPE_FIX = "Give y_true (masks) and y_pred (probabilities) the same shape."


def _prepare(
    y_true: Any, y_pred: Any, loss: str, axis: Axis, *, subtracts: bool = True
) -> tuple[Namespace, Any, Any, Any]:
    ns, y_true, y_pred = prepare(y_true, y_pred, subtracts=subtracts)
    check_broadcast(loss, y_true, y_pred, _SHAPE_FIX)
    # A config read back from JSON holds a list where the constructor was given a tuple.
    return ns, y_true, y_pred, tuple(axis) if isinstance(axis, list) else axis


def dice(y_true: Any, y_pred: Any, axis: Axis = None) -> Any:
    """Keras' Dice loss, summed over ``axis`` (default: every axis, batch included).

    Formula, with ``eps = 1e-7``::

        loss = 1 - 2 * sum(y_true * y_pred, axis) / (sum(y_true, axis) + sum(y_pred, axis) + eps)

    ``y_true`` binary masks, ``y_pred`` probabilities of the same shape.  With
    ``axis=None`` the result is a scalar for the whole batch.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> y_pred = np.array([[0.9, 0.2], [0.5, 0.5]])
        >>> round(float(lb.keras.dice(y_true, y_pred)), 6)
        0.254902
        >>> lb.keras.dice(y_true, y_pred, axis=1).round(6).tolist()
        [0.142857, 0.333333]

    See also: :class:`Dice`, :func:`tversky` (``alpha = beta = 0.5`` is Dice up to
    the epsilon).
    """
    # Keras multiplies and sums boolean predictions (no subtraction): they compute.
    ns, y_true, y_pred, axis = _prepare(y_true, y_pred, "dice", axis, subtracts=False)
    xp = ns.xp
    intersection = xp.sum(y_true * y_pred, axis=axis)
    union = xp.sum(y_true, axis=axis) + xp.sum(y_pred, axis=axis) + EPSILON
    return 1 - (2.0 * intersection) / union


def tversky(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.5,
    beta: float = 0.5,
    axis: Axis = None,
    *,
    fixed_alpha_beta: bool | None = None,
) -> Any:
    """Keras' Tversky loss (Salehi et al., 2017), summed over ``axis`` (default: everything).

    Formula of keras 3.15.1 (the release, the default), with ``eps = 1e-7``::

        TP   = sum(y_true * y_pred, axis)
        FP   = sum((1 - y_true) * y_pred, axis)
        FN   = sum(y_true * (1 - y_pred), axis)
        loss = 1 - TP / (TP + alpha * FN + beta * FP + eps)

    keras 3.15.1 puts ``alpha`` on the false *negatives* and ``beta`` on the false
    positives, the opposite of its docstring; Keras after PR #23333 puts ``alpha``
    on FP and ``beta`` on FN, as documented: pass ``fixed_alpha_beta=True`` for
    that.  ``fixed_alpha_beta=None`` (default) follows the release and, when the
    two differ (``alpha != beta``), warns with a ``LossBridgeWarning`` naming
    both; ``False`` follows the release silently.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> y_pred = np.array([[0.9, 0.2], [0.5, 0.5]])
        >>> lb.keras.tversky(y_true, y_pred, alpha=0.7, beta=0.3, axis=1,
        ...                  fixed_alpha_beta=False).round(6).tolist()
        [0.126214, 0.411765]
        >>> lb.keras.tversky(y_true, y_pred, alpha=0.3, beta=0.7, axis=1,
        ...                  fixed_alpha_beta=True).round(6).tolist()
        [0.126214, 0.411765]

    See also: :class:`Tversky`, :func:`dice`.
    """
    ns, y_true, y_pred, axis = _prepare(y_true, y_pred, "tversky", axis)
    if not fixed_alpha_beta:
        if fixed_alpha_beta is None and _differ(alpha, beta):
            warn(
                f"tversky(alpha={alpha}, beta={beta}): keras 3.15.1 (the release, followed "
                "by default) weighs the false negatives by alpha and the false positives by "
                "beta; Keras after PR #23333 weighs the false positives by alpha and the false "
                "negatives by beta, as documented, which gives another loss when alpha != "
                "beta. Pass fixed_alpha_beta=False to keep the release's behaviour without "
                "this warning, or fixed_alpha_beta=True for the fixed one.",
                LossBridgeWarning,
            )
        alpha, beta = beta, alpha
    xp = ns.xp
    true_pos = xp.sum(y_true * y_pred, axis=axis)
    false_pos = xp.sum((1 - y_true) * y_pred, axis=axis)
    false_neg = xp.sum(y_true * (1 - y_pred), axis=axis)
    score = true_pos / (true_pos + false_pos * alpha + false_neg * beta + EPSILON)
    return 1 - score


def _differ(alpha: Any, beta: Any) -> bool:
    try:
        return bool(alpha != beta)
    except Exception:  # an array coefficient under a tracer: assume it may differ
        return True


class Dice(LossFunctionWrapper):
    """Keras' ``Dice``: :func:`dice` in the Keras pipeline.

    With the default ``axis=None`` the loss of the whole batch is one scalar and
    every reduction returns it as is (a scalar ``sample_weight`` multiplies it; a
    per-sample weight broadcasts it to one value per sample, which the reduction
    then averages, as Keras does).  Note the positional order: ``reduction`` and
    ``name`` come before ``axis``.

    Args:
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"dice"``.
      axis: the axes summed over (default None: all of them).
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> y_pred = np.array([[0.9, 0.2], [0.5, 0.5]])
        >>> round(float(lb.keras.Dice(reduction=None)(y_true, y_pred)), 6)
        0.254902
        >>> round(float(lb.keras.Dice(axis=1)(y_true, y_pred)), 6)
        0.238095

    See also: :func:`dice`, :class:`Tversky`.
    """

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "dice",
        axis: Axis = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(axis=self.axis)
        return config


class Tversky(LossFunctionWrapper):
    """Keras' ``Tversky``: :func:`tversky` in the Keras pipeline.

    As keras 3.15.1 (the default), ``alpha`` weighs the false negatives and
    ``beta`` the false positives; ``fixed_alpha_beta=True`` swaps them as Keras did
    after PR #23333 (see :func:`tversky`).  ``alpha = beta = 0.5`` is Dice up to
    the epsilon.  Reductions as in :class:`Dice` (default ``axis=None``: one scalar).

    Args:
      alpha: default 0.5; the false-negative weight in keras 3.15.1, the
        false-positive weight with ``fixed_alpha_beta=True``.
      beta: default 0.5; the other weight.
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"tversky"``.
      axis: the axes summed over (default None: all of them).
      dtype: compute dtype, default float32.
      fixed_alpha_beta: ``None`` (default: keras 3.15.1, warns when ``alpha !=
        beta``), ``False`` (keras 3.15.1, no warning) or ``True`` (Keras after PR
        #23333).  Kept in the config only when ``True`` (keras 3.15.1 cannot load
        that config: it has no such behaviour).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> y_pred = np.array([[0.9, 0.2], [0.5, 0.5]])
        >>> loss = lb.keras.Tversky(alpha=0.3, beta=0.7, axis=1, reduction=None,
        ...                         fixed_alpha_beta=True)
        >>> [round(float(v), 4) for v in loss(y_true, y_pred)]
        [0.1262, 0.4118]

    See also: :func:`tversky`, :class:`Dice`.
    """

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: Any = "sum_over_batch_size",
        name: str = "tversky",
        axis: Axis = None,
        dtype: Any = None,
        *,
        fixed_alpha_beta: bool | None = None,
    ) -> None:
        super().__init__(
            tversky, name=name, reduction=reduction, dtype=dtype, alpha=alpha, beta=beta, axis=axis,
            fixed_alpha_beta=fixed_alpha_beta,
        )
        self.alpha = alpha
        self.beta = beta
        self.axis = axis
        self.fixed_alpha_beta = fixed_alpha_beta

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(alpha=self.alpha, beta=self.beta, axis=self.axis)
        if self.fixed_alpha_beta:
            config.update(fixed_alpha_beta=True)
        return config


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
