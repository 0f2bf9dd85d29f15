"""optax's segmentation losses (``optax/losses/_segmentation.py``, optax 0.2.8).

Soft Dice / Tversky losses over spatial axes, with the class axis last.  Unlike
most of optax these reduce over the classes (``reduction="mean"`` by default),
and :func:`multiclass_generalized_dice_loss` returns one scalar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import ops
from .._backend import Namespace, describe, get_namespace, is_concrete, quiet
from .._errors import LossBridgeError, LossBridgeTypeError
from ._utils import (
    broadcast_shapes,
    canonicalize_axes,
    check_rank,
    check_shapes_equal,
    masked_sum,
    quiet_numpy,
    softmax,
)

__all__ = ["binary_dice_loss", "dice_loss", "multiclass_generalized_dice_loss"]


def _reduce_loss(ns: Namespace, loss: Any, reduction: str) -> Any:
    xp = ns.xp
    if reduction == "mean":
        return xp.mean(loss, axis=-1)
    if reduction == "sum":
        return xp.sum(loss, axis=-1)
    if reduction == "none":
        return loss
    raise LossBridgeError(
        f"Unsupported reduction: {reduction}. `reduction` must be 'mean', 'sum' or 'none'."
    )


def _check_probabilities(ns: Namespace, predictions: Any) -> None:
    """optax's check for ``apply_softmax=False``: rows sum to 1 (``jnp.allclose``, rtol 1e-5).

    A value check: it runs where the values can be read (not under ``jax.jit``, where
    optax itself fails to trace it).
    """
    if not is_concrete(predictions):
        return
    xp = ns.xp
    sums = xp.sum(ops.stop_gradient(predictions), axis=-1)
    close = xp.abs(sums - 1.0) <= 1e-8 + 1e-5
    if not bool(xp.all(close)):
        low, high = float(xp.min(sums)), float(xp.max(sums))
        raise LossBridgeError(
            "When apply_softmax=False, predictions must be valid probability distributions that "
            f"sum to 1 along the class axis. Found sum range: [{low:.6f}, {high:.6f}]"
        )


def _dice(
    ns: Namespace,
    predictions: Any,
    targets: Any,
    *,
    class_weights: Any,
    smooth: Any,
    alpha: Any,
    beta: Any,
    apply_softmax: bool,
    reduction: str,
    ignore_background: bool,
    axis: Any,
) -> Any:
    xp = ns.xp
    if predictions.ndim == targets.ndim - 1:
        predictions = xp.expand_dims(predictions, axis=-1)
    if targets.ndim == predictions.ndim - 1:
        targets = xp.expand_dims(targets, axis=-1)
    check_shapes_equal(predictions, targets, "predictions", "targets")
    if not apply_softmax:
        _check_probabilities(ns, predictions)
    probs = predictions
    if apply_softmax:
        probs = ops.sigmoid(predictions) if predictions.shape[-1] == 1 else softmax(ns, predictions, (predictions.ndim - 1,))
    # Default: every axis but the first (batch) and the last (classes).
    axes = tuple(range(1, probs.ndim - 1)) if axis is None else canonicalize_axes(_axis(axis), probs.ndim)
    intersection = masked_sum(ns, probs * targets, axes)
    pred_sum = masked_sum(ns, probs, axes)
    target_sum = masked_sum(ns, targets, axes)
    numerator = intersection + smooth
    denominator = (
        intersection
        + alpha * (pred_sum - intersection)
        + beta * (target_sum - intersection)
        + smooth
    )
    dice_l = 1.0 - numerator / denominator  # [..., classes]
    if class_weights is not None:
        check_rank(class_weights, 1, "class_weights")
        # optax multiplies: one weight per entry of the last axis left after the sums over `axis`
        # (JAX's TypeError for arrays of one rank, not NumPy's or torch's own error)
        broadcast_shapes(per_class_loss=dice_l, class_weights=class_weights)
        dice_l = dice_l * class_weights
    if ignore_background and probs.shape[-1] > 1:
        dice_l = dice_l[..., 1:]
    return _reduce_loss(ns, dice_l, reduction)


def _axis(axis: Any) -> Any:
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        return tuple(int(a) for a in axis)
    return axis


@quiet_numpy
def dice_loss(
    predictions: Any,
    targets: Any,
    *,
    class_weights: Any | None = None,
    smooth: Any = 1.0,
    alpha: Any = 0.5,
    beta: Any = 0.5,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
    axis: Any | None = None,
) -> Any:
    r"""optax's ``dice_loss``: soft Dice (Tversky with ``alpha``, ``beta``) per class, then reduced.

    With :math:`p` the probabilities (``softmax`` over the last axis, or
    ``sigmoid`` when that axis has size 1; the inputs themselves with
    ``apply_softmax=False``) and :math:`t` the targets, per class :math:`c`:

    .. math::
        I_c = \sum_i p_{ic} t_{ic}, \quad
        \ell_c = 1 - \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s}

    with :math:`P_c = \sum_i p_{ic}`, :math:`T_c = \sum_i t_{ic}`, sums over
    ``axis`` (default: every axis but the first and the last; none for 2-D
    inputs), ``smooth`` :math:`s` = 1, ``alpha = beta = 0.5`` (the Dice
    coefficient).  Then ``class_weights`` (rank 1, ``ValueError`` otherwise)
    multiply, ``ignore_background`` drops class 0 (when there are several), and
    ``reduction`` (``"mean"`` default, ``"sum"``, ``"none"``; ``ValueError`` for
    another) reduces the class axis.  An input one rank short gets a class axis
    of size 1; the shapes must then be equal (``ValueError``).  With
    ``apply_softmax=False`` the rows must sum to 1 within ``rtol=1e-5``
    (``ValueError``; checked where values can be read, not under ``jax.jit``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logits = np.array([[[2.0, -1.0], [0.0, 1.0]]])  # (batch 1, 2 pixels, 2 classes)
        >>> targets = np.array([[[1.0, 0.0], [0.0, 1.0]]])
        >>> lb.optax.dice_loss(logits, targets).round(6).tolist()
        [0.079335]

    See also:
        :func:`binary_dice_loss`, :func:`multiclass_generalized_dice_loss`.
    """
    ns = get_namespace(
        {"predictions": predictions, "targets": targets, "class_weights": class_weights}
    )
    p, t, w = ns.asarray(predictions), ns.asarray(targets), ns.asarray(class_weights)
    sigmoid = p.ndim >= 1 and p.shape[-1] == 1  # optax's sigmoid (jax.nn.logistic) branch
    if apply_softmax and (ns.xp.isdtype(p.dtype, "bool") or (
            sigmoid and ns.xp.isdtype(p.dtype, "integral"))):
        raise LossBridgeTypeError(
            f"logistic does not accept dtype {str(p.dtype).replace('torch.', '')}. dice_loss: "
            f"`predictions` is a "
            f"{describe(p)}; optax applies a sigmoid or softmax to them (apply_softmax=True), and "
            "its sigmoid takes floating inputs only. Pass float logits, or probabilities with "
            "apply_softmax=False."
        )
    if ns.xp.isdtype(t.dtype, "bool") and ns.xp.isdtype(p.dtype, "real floating"):
        t = ns.xp.astype(t, p.dtype)  # JAX promotes boolean targets (torch cannot subtract them)
    with quiet(ns):
        return _dice(
            ns, p, t, class_weights=w, smooth=smooth, alpha=alpha, beta=beta,
            apply_softmax=apply_softmax, reduction=reduction,
            ignore_background=ignore_background, axis=axis,
        )


@quiet_numpy
def multiclass_generalized_dice_loss(
    predictions: Any,
    targets: Any,
    *,
    smooth: Any = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
) -> Any:
    r"""optax's ``multiclass_generalized_dice_loss`` (Sudre et al. 2017): one scalar.

    Class weights are the inverse squared class frequencies of the targets,
    normalised to sum to the number of classes:

    .. math::
        f_c = \sum_{i} t_{ic}, \quad w_c = \frac{1 / (f_c^2 + 10^{-7})}
        {\sum_k 1 / (f_k^2 + 10^{-7})}\, C

    then :func:`dice_loss` with those weights and ``reduction="none"``, averaged
    over every remaining entry (batch and classes).  ``predictions`` and
    ``targets`` must have one shape ``[..., C]`` (``ValueError``).  The weights
    depend on the targets, and so does the gradient with respect to them.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logits = np.array([[[2.0, -1.0], [0.0, 1.0]]])
        >>> targets = np.array([[[1.0, 0.0], [0.0, 1.0]]])
        >>> round(float(lb.optax.multiclass_generalized_dice_loss(logits, targets)), 6)
        0.079335

    See also:
        :func:`dice_loss`.
    """
    ns = get_namespace({"predictions": predictions, "targets": targets})
    xp = ns.xp
    p, t = ns.asarray(predictions), ns.asarray(targets)
    check_shapes_equal(p, t, "predictions", "targets")
    if xp.isdtype(t.dtype, "bool"):  # JAX's arithmetic promotes booleans (torch's refuses 1 - t)
        t = xp.astype(t, p.dtype)
    class_frequencies = masked_sum(ns, t, tuple(range(t.ndim - 1)))
    class_weights = 1.0 / (class_frequencies**2 + 1e-7)
    class_weights = class_weights / xp.sum(class_weights) * class_weights.shape[0]
    with quiet(ns):
        losses = _dice(
            ns, p, t, class_weights=class_weights, smooth=smooth, alpha=0.5, beta=0.5,
            apply_softmax=apply_softmax, reduction="none",
            ignore_background=ignore_background, axis=None,
        )
    return xp.mean(losses)


@quiet_numpy
def binary_dice_loss(
    predictions: Any, targets: Any, *, smooth: Any = 1.0, apply_sigmoid: bool = True
) -> Any:
    r"""optax's ``binary_dice_loss``: :func:`dice_loss` for one foreground class.

    Inputs of one rank whose last axis is not 1 get a class axis of size 1; then
    ``dice_loss(predictions, targets, smooth=smooth, apply_softmax=apply_sigmoid,
    reduction="mean")``, i.e. a sigmoid and the Dice loss over the spatial axes.
    As in optax, ``apply_sigmoid=False`` makes :func:`dice_loss` require every
    probability to be 1 (its one-class rows must "sum to 1"), so it raises
    ``ValueError`` for any other input.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lb.optax.binary_dice_loss(np.array([[3.0, -3.0, 0.0]]), np.array([[1.0, 0.0, 1.0]])).round(6).tolist()
        [0.108155]

    See also:
        :func:`dice_loss`; :func:`lossbridge.optax.sigmoid_binary_cross_entropy`.
    """
    ns = get_namespace({"predictions": predictions, "targets": targets})
    xp = ns.xp
    p, t = ns.asarray(predictions), ns.asarray(targets)
    if p.ndim == t.ndim and p.ndim and p.shape[-1] != 1:
        p, t = xp.expand_dims(p, axis=-1), xp.expand_dims(t, axis=-1)
    return dice_loss(p, t, smooth=smooth, apply_softmax=apply_sigmoid, reduction="mean")
