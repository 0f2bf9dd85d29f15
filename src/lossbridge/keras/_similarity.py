"""Keras 3 metric-learning loss: Circle (Sun et al., 2020; Keras 3.7+).

Circle loss is the one Keras loss, with ``SparseCategoricalCrossentropy(ignore_class=...)``,
that produces its own mask: anchors whose loss is exactly 0 (no positive or
no negative pair, or a fully satisfied margin) are masked out, so the default
reduction averages over the anchors with a non-zero loss.
"""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from .._backend import describe
from ._inputs import IncompatibleShapesError, as_float, predictions
from ._loss import Loss, LossFunctionWrapper, convert_to_tensor, namespace_of, with_mask

__all__ = ["Circle", "circle"]


def _labels_column(xp: Any, labels: Any) -> Any:
    return xp.reshape(labels, (-1, 1)) if labels.ndim == 1 else labels


def _circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80,
    margin: float = 0.4,
) -> tuple[Any, Any]:
    ns = namespace_of(
        y_true=y_true, y_pred=y_pred, ref_labels=ref_labels, ref_embeddings=ref_embeddings
    )
    xp = ns.xp
    # Integer or boolean embeddings: Keras' distances 1 - y_pred @ ref.T come out as
    # float32 after its maximum with 0.0 (keras-jax; keras-torch cannot subtract booleans).
    _, y_pred, _ = predictions(ns, None, y_pred, cast_true=False)
    int_dtype = xp.int32
    labels = xp.astype(convert_to_tensor(ns, y_true), int_dtype)
    if labels.ndim == 0 and y_pred.ndim == 2:
        # keras-jax broadcasts a 0-d label: every embedding has it (keras-torch fails in eye())
        labels = xp.broadcast_to(labels, (int(y_pred.shape[0]),))
    ref_emb = y_pred if ref_embeddings is None else as_float(ns, convert_to_tensor(ns, ref_embeddings))
    ref_lab = labels if ref_labels is None else xp.astype(convert_to_tensor(ns, ref_labels), int_dtype)
    if ref_emb.dtype != y_pred.dtype:
        ref_emb = xp.astype(ref_emb, y_pred.dtype)
    if y_pred.ndim != 2 or ref_emb.ndim != 2 or y_pred.shape[1] != ref_emb.shape[1]:
        raise IncompatibleShapesError(
            f"circle: `y_pred` ({describe(y_pred)}) and the reference embeddings "
            f"({describe(ref_emb)}) must be matrices of embeddings (N, D) and (M, D): Keras "
            "computes y_pred @ transpose(ref_embeddings). Flatten each sample's embedding to one "
            "vector (and L2-normalise it, for example with keras.layers.UnitNormalization)."
        )
    q_labels = _labels_column(xp, labels)
    k_labels = _labels_column(xp, ref_lab)
    n, m = int(q_labels.shape[0] * q_labels.shape[1]), int(k_labels.shape[0] * k_labels.shape[1])
    if q_labels.shape[0] != y_pred.shape[0] or k_labels.shape[0] != ref_emb.shape[0]:
        raise IncompatibleShapesError(
            f"circle: one integer label per embedding is needed, but `y_true` is a "
            f"{describe(y_true)} for `y_pred` {describe(y_pred)}"
            + (f" and `ref_labels` a {describe(ref_labels)} for {describe(ref_emb)}" if ref_labels is not None else "")
            + ". Pass labels of shape (N,)."
        )

    distances = 1.0 - xp.matmul(y_pred, xp.matrix_transpose(ref_emb))
    distances = xp.maximum(distances, xp.zeros_like(distances))  # not 0.0: torch.compile
    positive = q_labels == xp.matrix_transpose(k_labels)
    negative = xp.logical_not(positive)
    if remove_diagonal:
        rows = ns.asarray(list(range(n)), dtype=int_dtype)
        cols = ns.asarray(list(range(m)), dtype=int_dtype)
        positive = positive & (xp.reshape(rows, (-1, 1)) != xp.reshape(cols, (1, -1)))
    pos_mask = xp.astype(positive, distances.dtype)
    neg_mask = xp.astype(negative, distances.dtype)

    pos_weights = (margin + distances) * pos_mask
    pos_weights = xp.maximum(pos_weights, xp.zeros_like(pos_weights))  # not 0.0: torch.compile
    neg_weights = (1 + margin - distances) * neg_mask
    neg_weights = xp.maximum(neg_weights, xp.zeros_like(neg_weights))
    pos_wdists = -1 * gamma * pos_weights * (margin - distances)
    neg_wdists = gamma * neg_weights * ((1 - margin) - distances)

    p_loss = ops.logsumexp(xp.where(positive, pos_wdists, -math.inf), axis=1)
    n_loss = ops.logsumexp(xp.where(negative, neg_wdists, -math.inf), axis=1)
    loss = ops.softplus(p_loss + n_loss)
    return loss, loss > 0


@with_mask(_circle)
def circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80,
    margin: float = 0.4,
) -> Any:
    """Keras' Circle loss: one value per anchor embedding.

    Formula, with ``m = margin``, ``g = gamma``, embeddings ``E = y_pred`` (N, D),
    references ``R = ref_embeddings`` (M, D; default ``E``) and their integer
    labels::

        d[i, j]  = max(1 - E[i] . R[j], 0)                     cosine distance
        pos[i, j] = label[i] == ref_label[j]  (and i != j if remove_diagonal)
        neg[i, j] = label[i] != ref_label[j]
        s_p = -g * max((m + d) * pos, 0) * (m - d)
        s_n =  g * max((1 + m - d) * neg, 0) * ((1 - m) - d)
        loss[i] = softplus(logsumexp_j(s_p where pos else -inf)
                           + logsumexp_j(s_n where neg else -inf))

    The embeddings must already be L2-normalised (nothing normalises them here).
    Labels are cast to int32 (floats truncate).  An anchor with no positive (or
    no negative) pair gets ``softplus(-inf) = 0``.  Keras attaches the mask
    ``loss > 0``: the class :class:`Circle` averages over the anchors with a
    non-zero loss only; this function returns the unmasked values.

    Args:
      y_true: integer labels, shape ``(N,)``.
      y_pred: L2-normalised embeddings, shape ``(N, D)``.
      ref_labels: labels of the reference embeddings (default ``y_true``).
      ref_embeddings: reference embeddings ``(M, D)`` (default ``y_pred``).
      remove_diagonal: exclude each anchor's pair with itself from the positives.
      gamma: the scale (default 80).
      margin: the relaxation margin (default 0.4).

    Returns:
      The per-anchor loss, shape ``(N,)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> labels = np.array([1, 1, 2, 2])
        >>> embeddings = np.eye(4)[[0, 0, 1, 2]]
        >>> lb.keras.circle(labels, embeddings).round(3).tolist()
        [0.0, 0.0, 55.093, 55.093]

    See also: :class:`Circle`.
    """
    return _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)[0]


class Circle(LossFunctionWrapper):
    """Keras' ``Circle``: :func:`circle` in the Keras pipeline, with its ``loss > 0`` mask.

    ``y_true``: integer labels ``(N,)``; ``y_pred``: L2-normalised embeddings
    ``(N, D)`` (for example the output of ``keras.layers.UnitNormalization``).
    The mask ``loss > 0`` is merged into the sample weights: with
    ``"sum_over_batch_size"`` (default) and ``"mean"`` the sum is divided by the
    number of anchors with a non-zero loss (0 when there is none); ``"sum"`` and
    ``"mean_with_sample_weight"`` use the mask as a 0/1 weight.

    Args:
      gamma: the scale (default 80.0).
      margin: the relaxation margin (default 0.4).
      remove_diagonal: exclude self-pairs from the positives (default True).
      reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
      name: default ``"circle"``.
      dtype: compute dtype, default float32.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> labels = np.array([1, 1, 2, 2])
        >>> embeddings = np.eye(4)[[0, 0, 1, 2]]
        >>> round(float(lb.keras.Circle()(labels, embeddings)), 3)
        27.547

    See also: :func:`circle`.
    """

    def __init__(
        self,
        gamma: float = 80.0,
        margin: float = 0.4,
        remove_diagonal: bool = True,
        reduction: Any = "sum_over_batch_size",
        name: str = "circle",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            circle, name=name, reduction=reduction, dtype=dtype, gamma=gamma, margin=margin,
            remove_diagonal=remove_diagonal,
        )
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(gamma=self.gamma, margin=self.margin, remove_diagonal=self.remove_diagonal)
        return config


# Raw NumPy/torch/JAX errors of the public functions become lossbridge errors of their type.
from .._validate import wrap_public as _wrap_public  # noqa: E402
from ._loss import RAW_ERROR_FIX as _RAW_ERROR_FIX  # noqa: E402

_wrap_public(globals(), _RAW_ERROR_FIX)
