"""Keras 3 sequence loss: CTC (connectionist temporal classification, Keras 3.0.2+).

Keras' two backends compute CTC differently, and lossbridge follows the one that
shares the array's kind:

* torch tensors: keras-torch calls ``torch.nn.functional.ctc_loss``, the exact
  forward algorithm: a label sequence that cannot be aligned with the input
  (too long, counting a blank between repeated labels) costs ``inf``;
* JAX and NumPy arrays: keras-jax (and keras' NumPy backend) run optax's
  algorithm with a soft log-zero of ``-1e5``: the same value for every
  alignable sequence, and a finite value of about ``1e5`` per violation for an
  impossible one.

lossbridge computes them with the same code as those frameworks' dialects:
:func:`lossbridge.torch.functional.ctc_loss` (torch's own kernel on torch tensors)
and :func:`lossbridge.optax.ctc_loss` (``log_epsilon=-1e5``).
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._backend import describe
from .._checks import check_label_range, first_out_of_range, label_range_message
from .._config import check_level
from .._errors import LossBridgeError, LossBridgeWarning
from .._warnings import warn
from ._inputs import IncompatibleShapesError, predictions
from ._loss import Loss, LossFunctionWrapper, namespace_of

__all__ = ["CTC", "ctc"]

#: The soft log-zero of keras-jax / keras-numpy (optax's ``log_epsilon``).
KERAS_JAX_LOG_EPSILON = -1e5


def ctc(y_true: Any, y_pred: Any) -> Any:
    """Keras' CTC loss: the negative log-likelihood of each label sequence.

    Formula::

        log_probs    = log_softmax(y_pred, axis=-1)           # y_pred holds logits
        label_length = count(y_true != 0, axis=-1)            # 0 is padding
        input_length = T                                      # every step is used
        loss[b]      = -log sum over alignments of y_true[b, :label_length[b]]

    Index 0 is both the padding of ``y_true`` and the CTC blank, so real labels
    are ``1 .. C-1``; ``label_length`` counts the non-zero entries and takes that
    many from the start of each row (a 0 inside the labels therefore counts as a
    blank label, as in Keras).  For variable input lengths Keras has no option
    here; use :func:`lossbridge.optax.ctc_loss` or ``lossbridge.torch.functional.ctc_loss``.

    Impossible alignments: ``inf`` on torch tensors (keras-torch, with torch's NaN
    gradient), about ``1e5`` per violation on JAX and NumPy arrays (keras-jax, a
    finite gradient).  On torch tensors the gradient is keras-torch's (torch's CTC
    kernel), which departs from the derivative of the value when a label equals the
    blank (a 0 inside the labels).  Labels outside ``[0, C)``:
    keras-jax lets them emit with probability 1 (lossbridge too on JAX arrays,
    with a warning); keras-torch reads out of bounds, so lossbridge raises
    ``IndexError`` on torch tensors and NumPy arrays.  The computation runs in
    float32, or float64 for float64 logits.

    Args:
      y_true: integer labels, shape ``(B, L)``, padded with 0.
      y_pred: logits (not probabilities), shape ``(B, T, C)``.

    Returns:
      The per-sequence loss, shape ``(B,)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.log(np.array([[[0.05, 0.95, 0.0 + 1e-30], [0.1, 0.8, 0.1]]]))
        >>> # The label sequence "1" in two steps: "1 1", "1 -" or "- 1" (-log 0.895).
        >>> round(float(lb.keras.ctc(np.array([[1, 0]]), y_pred)[0]), 5)
        0.11093

    See also: :class:`CTC`, :func:`lossbridge.optax.ctc_loss`,
    ``lossbridge.torch.functional.ctc_loss``.
    """
    ns = namespace_of(y_true=y_true, y_pred=y_pred)
    xp = ns.xp
    # Integer or boolean logits: Keras' ctc_loss computes in result_type(dtype, float32).
    y_true, y_pred, _ = predictions(ns, y_true, y_pred, cast_true=False)
    if y_true.ndim != 2:
        raise LossBridgeError(
            "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
            f"integer format. Received: y_true.shape={tuple(y_true.shape)}. Pad each label "
            "sequence with 0 (the blank) to a common length and stack them."
        )
    if y_pred.ndim != 3:
        raise LossBridgeError(
            "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
            f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}. CTC takes one row "
            "of logits (with class 0 the blank) per time step."
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise IncompatibleShapesError(
            f"ctc: `y_true` ({describe(y_true)}) and `y_pred` ({describe(y_pred)}) have "
            "different batch sizes. Give one label row per sequence of logits."
        )
    batch, _, classes = (int(d) for d in y_pred.shape)
    if classes == 0:
        from lossbridge.optax._ctc import _NoClassesError

        raise _NoClassesError(
            f"ctc: `y_pred` ({describe(y_pred)}) has no class (its last axis is empty); Keras "
            "fails on it (TypeError on JAX: the blank's empty slice cannot be added). Pass "
            "logits with the blank (class 0) and the label classes on the last axis."
        )
    label_lengths = xp.sum(xp.astype(y_true != 0, xp.int32), axis=-1)
    labels = xp.astype(y_true, xp.int64 if ns.kind == "torch" else xp.int32)
    _check_labels(ns, labels, classes)
    # Keras: result_type(dtype, "float32"), i.e. float32 unless the logits are float64.
    if y_pred.dtype != xp.float64 and y_pred.dtype != xp.float32:
        y_pred = xp.astype(y_pred, xp.float32)
    if batch == 0:  # keras-jax: an empty loss (torch's kernel rejects an empty batch)
        return xp.sum(y_pred, axis=(1, 2))  # shape (0,), connected to y_pred for autodiff
    if ns.kind == "torch":
        # keras-torch: torch's ctc_loss on time-major log-probabilities, every step used.
        from lossbridge.torch._ctc import ctc_loss as torch_ctc_loss

        log_probs = xp.permute_dims(ops.log_softmax(y_pred, axis=-1), (1, 0, 2))
        input_lengths = xp.full((batch,), y_pred.shape[1], dtype=xp.int64, device=ns.device)
        return torch_ctc_loss(log_probs, labels, input_lengths, xp.astype(label_lengths, xp.int64),
                              blank=0, reduction="none")
    # keras-jax: optax's recursion (log_softmax inside) with the soft log-zero -1e5.
    from lossbridge.optax._ctc import ctc_loss as optax_ctc_loss

    positions = xp.arange(labels.shape[1], dtype=label_lengths.dtype)[None, :]
    label_paddings = xp.astype(positions >= label_lengths[:, None], y_pred.dtype)
    logit_paddings = xp.zeros(tuple(y_pred.shape[:2]), dtype=y_pred.dtype)
    return optax_ctc_loss(y_pred, logit_paddings, labels, label_paddings, blank_id=0,
                          log_epsilon=KERAS_JAX_LOG_EPSILON)


def _check_labels(ns: Any, labels: Any, classes: int) -> None:
    if ns.kind == "jax":
        found = first_out_of_range(ns, labels, classes) if check_level() != "off" else None
        if found is not None:
            warn(
                "ctc: " + label_range_message("y_true", labels, classes, found)
                + " keras-jax lets such a label emit with probability 1 (as lossbridge does "
                "here on JAX arrays); keras-torch reads out of bounds. Labels are 1 .. C-1, "
                "0 is the blank and the padding.",
                LossBridgeWarning,
            )
        return
    check_label_range(
        ns, labels, classes, arg="y_true",
        framework_message="ctc: labels must be in [0, num_classes) (0 is the blank and the "
        "padding); keras-torch reads out of bounds for label {value}.",
    )


class CTC(LossFunctionWrapper):
    """Keras' ``CTC``: :func:`ctc` in the Keras pipeline.

    ``y_true`` (B, L) integer labels padded with 0, ``y_pred`` (B, T, C) logits,
    class 0 the blank; every time step is used.  Inputs are cast to ``dtype``
    (float32), the per-sequence losses weighted and reduced (default: the sum
    divided by the batch size).

    Args:
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"ctc"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.log(np.array([[[0.05, 0.95, 1e-30], [0.1, 0.8, 0.1]]] * 2))
        >>> # "1 1" needs three steps (a blank between repeats): impossible in two.
        >>> [round(float(v), 2) for v in lb.keras.CTC(reduction=None)(np.array([[1, 0], [1, 1]]), y_pred)]
        [0.11, 99999.07]

    See also: :func:`ctc`, :func:`lossbridge.optax.ctc_loss`.
    """

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "ctc", dtype: Any = None
    ) -> None:
        super().__init__(ctc, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
