"""The built-in sample of ``lossbridge compare``, and arrays by role (see ``_catalog``).

The sample is the one of the forum question "what is PyTorch's equivalent of
Keras' categorical_crossentropy?": two samples, three classes,

    y_pred = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]      y_true = classes [1, 2]

with the logits ``log(max(y_pred, 1e-30))``: ``softmax(logits)`` is ``y_pred`` to
far below float precision, and a probability of 0 becomes the finite logit -69.
"""

from __future__ import annotations

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
        "embeddings": Y_PRED / np.linalg.norm(Y_PRED, axis=1, keepdims=True),
        "label_sequences": LABELS[:, None].copy(),
        "logit_sequences": logits[:, None, :].copy(),
    }


def load(path: str) -> dict[str, np.ndarray]:
    """Arrays by role from an ``.npz`` file (its keys are role names)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as e:
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
