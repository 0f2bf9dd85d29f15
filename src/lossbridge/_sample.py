"""The built-in sample of ``lossbridge compare``, and arrays by role (see ``_catalog``).

The sample is the one of the forum question "what is PyTorch's equivalent of
Keras' categorical_crossentropy?": two samples, three classes,

    y_pred = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]      y_true = classes [1, 2]

with the logits ``log(max(y_pred, 1e-30))``: ``softmax(logits)`` is ``y_pred`` to
far below float precision, and a probability of 0 becomes the finite logit -69.
"""

from __future__ import annotations

import zipfile
from typing import Any

import numpy as np

from ._errors import LossBridgeError

Y_PRED = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
LABELS = np.array([1, 2])


def sample() -> dict[str, np.ndarray]:
    """Every role of the built-in sample (float64 arrays, int64 labels)."""
    onehot = np.eye(Y_PRED.shape[1])[LABELS]
    logits = np.log(np.maximum(Y_PRED, 1e-30))
    return {
        "probs": Y_PRED.copy(),
        "logits": logits,
        "log_probs": logits.copy(),
        "onehot": onehot,
        "labels": LABELS.copy(),
        "values": Y_PRED.copy(),
        "targets": onehot.copy(),
        "label_sequences": LABELS[:, None].copy(),
        "logit_sequences": logits[:, None, :].copy(),
        **_special_roles(onehot),
        **_more_roles(onehot),
        **_tf_keras_roles(),
    }


def _tf_keras_roles() -> dict[str, np.ndarray]:
    """tf.keras' ``ctc_batch_cost`` on the torch sample's CTC, with the blank moved from
    class 0 to the last class (so the three CTCs give the same value)."""
    c = Y_PRED.shape[1]
    steps = np.stack([np.roll(0.9 * Y_PRED + 0.1 / c, t, axis=1) for t in range(4)])
    probs = np.transpose(steps / steps.sum(axis=2, keepdims=True), (1, 0, 2))
    return {
        "ctc_batch_labels": np.array([[0, 1], [1, 0]]),
        "ctc_batch_probs": np.roll(probs, -1, axis=2),
        "ctc_batch_input_lengths": np.array([[4], [3]]),
        "ctc_batch_label_lengths": np.array([[2], [1]]),
    }


def _special_roles(onehot: np.ndarray) -> dict[str, np.ndarray]:
    """Roles of losses that take more than predictions and targets (see ``_catalog``)."""
    n, c = Y_PRED.shape
    multilabels = np.full((n, c), -1)
    multilabels[:, 0] = LABELS
    # CTC: T = 4 steps of distributions over the C classes (class 0 is the blank),
    # padded targets [[1, 2], [2, pad]] of lengths [2, 1], input lengths [4, 3].
    steps = np.stack([np.roll(0.9 * Y_PRED + 0.1 / c, t, axis=1) for t in range(4)])
    return {
        "variances": Y_PRED + 0.5,
        "signs": 2.0 * onehot - 1.0,
        "multilabels": multilabels,
        "scores1": Y_PRED[:, 1].copy(),
        "scores2": Y_PRED[:, 0].copy(),
        "pair_signs": np.array([1.0, -1.0]),
        "embeddings1": Y_PRED.copy(),
        "embeddings2": onehot.copy(),
        "anchors": Y_PRED.copy(),
        "positives": onehot.copy(),
        "negatives": np.roll(onehot, 1, axis=1),
        "ctc_log_probs": np.log(steps / steps.sum(axis=2, keepdims=True)),
        "ctc_targets": np.array([[1, 2], [2, 0]]),
        "ctc_input_lengths": np.array([4, 3]),
        "ctc_target_lengths": np.array([2, 1]),
        "features": np.array([[1.0, 0.0, 0.5, -1.0], [0.0, 1.0, -0.5, 2.0]]),
        "linear_weight": np.array([[0.5, -1.0, 0.0, 0.25], [1.0, 0.5, -0.5, 0.0], [0.0, 0.0, 1.0, -0.5]]),
    }


def _more_roles(onehot: np.ndarray) -> dict[str, np.ndarray]:
    """Roles for optax's margin, divergence, contrastive and sequence losses.

    ``signs``, ``embeddings``, ``anchors``/``positives``/``negatives`` are defined as
    in the torch and Keras catalogs; the ``seq_*`` CTC roles are the torch sample's
    CTC (``ctc_log_probs`` of T = 4 steps, targets [[1, 2], [2, pad]], input lengths
    [4, 3]) in optax's batch-major layout with paddings.
    """
    n, c = Y_PRED.shape
    soft = 0.9 * onehot + 0.1 / c
    steps = np.stack([np.roll(0.9 * Y_PRED + 0.1 / c, t, axis=1) for t in range(4)])
    return {
        "soft_targets": soft,
        "log_soft_targets": np.log(soft),
        "embeddings": Y_PRED / np.linalg.norm(Y_PRED, axis=1, keepdims=True),
        "groups": np.zeros(n, dtype=LABELS.dtype),
        "seq_logits": np.log(np.transpose(steps / steps.sum(axis=2, keepdims=True), (1, 0, 2))),
        "seq_paddings": np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]),
        "seq_labels": np.array([[1, 2], [2, 0]]),
        "seq_label_paddings": np.array([[0.0, 0.0], [0.0, 1.0]]),
    }


def load(path: str) -> dict[str, np.ndarray]:
    """Arrays by role from an ``.npz`` file (its keys are role names)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # a truncated or corrupt archive
        raise LossBridgeError(f"Cannot read {path!r} as an .npz file of arrays: {e}") from None


def inputs(roles: tuple[str, ...], arrays: dict[str, Any]) -> list[Any]:
    """The positional inputs for ``roles`` from ``arrays``."""
    missing = [r for r in roles if r not in arrays]
    if missing:
        raise LossBridgeError(
            f"The data has no {', '.join(map(repr, missing))} array (it has "
            f"{', '.join(sorted(arrays))}); this loss takes {', '.join(roles)}."
        )
    return [arrays[r] for r in roles]
