"""optax's label smoothing (``optax/losses/_smoothing.py``, optax 0.2.8)."""

from __future__ import annotations

import math
from typing import Any

from .._backend import describe, get_namespace, quiet
from .._errors import LossBridgeError
from ._utils import Axis, canonicalize_axes, check_subdtype, jit_on_jax, masked_sum, quiet_numpy

__all__ = ["smooth_labels"]


@quiet_numpy
@jit_on_jax
def smooth_labels(
    labels: Any, alpha: Any, *, axis: Axis = -1, where: Any = None
) -> Any:
    r"""optax's ``smooth_labels``: mix one-hot labels with the uniform distribution.

    .. math::
        \tilde y = (1 - \alpha)\, y + \alpha / K

    where :math:`K` is the number of classes along ``axis`` (default -1; a tuple
    counts every entry of those axes, None every entry), or, with ``where``, the
    number of selected entries along ``axis`` (per row; masked entries are
    smoothed too, they only leave the count; a row with nothing selected divides
    by 0).  ``labels`` must be floating (``TypeError``).  Not a loss: feed the
    result to :func:`lossbridge.optax.softmax_cross_entropy`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.smooth_labels(np.array([[0.0, 1.0, 0.0, 0.0]]), 0.2).round(6).tolist()
        [[0.05, 0.85, 0.05, 0.05]]

    See also:
        ``label_smoothing=`` of :func:`lossbridge.torch.functional.cross_entropy`
        and :func:`lossbridge.keras.categorical_crossentropy` (the same mix).
    """
    ns = get_namespace({"labels": labels, "alpha": alpha, "where": where})
    xp = ns.xp
    labels, where = ns.asarray(labels), ns.asarray(where)
    check_subdtype(ns, labels, "floating", "labels")
    axes = canonicalize_axes(axis, labels.ndim)
    if where is None:
        num_categories: Any = float(math.prod([labels.shape[a] for a in axes]))  # a list: dynamo traces no generator here
        if num_categories == 0:
            raise LossBridgeError(  # optax: ZeroDivisionError (alpha / 0 categories)
                f"float division by zero: `labels` ({describe(labels)}) has no category on "
                f"`axis`={axis!r}, and smoothing divides alpha by the number of categories. "
                "Pass labels with at least one class."
            )
    else:
        num_categories = masked_sum(ns, xp.astype(where, labels.dtype), axes, keepdims=True)
    with quiet(ns):
        return (1.0 - alpha) * labels + alpha / num_categories
