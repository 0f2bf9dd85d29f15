"""The built-in sample of ``lossbridge compare``, and arrays by role (see ``_catalog``).

The sample is the one of the forum question "what is PyTorch's equivalent of
Keras' categorical_crossentropy?": two samples, three classes,

    y_pred = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]      y_true = classes [1, 2]

with the logits ``log(max(y_pred, 1e-30))``: ``softmax(logits)`` is ``y_pred`` to
far below float precision, and a probability of 0 becomes the finite logit -69.
"""

from __future__ import annotations

import math
import zipfile
import zlib
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


#: The most bytes ``--data`` may declare in all (a file declaring more is refused before reading).
MAX_BYTES = 2**31
_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex


def load(path: str, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Arrays by role from an ``.npz`` file (its keys are role names).

    Never unpickles: each member's ``.npy`` header is read first (its dtype must be
    numeric and its declared size, in all, at most ``max_bytes``, default
    :data:`MAX_BYTES`), then the arrays.  Every problem is a one-line
    :class:`LossBridgeError` naming the file.
    """
    limit = MAX_BYTES if max_bytes is None else max_bytes
    where = f"Cannot read {path!r}"
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise LossBridgeError(f"{where}: {e.strerror or e}.") from None
    if magic.startswith(b"\x93NUMPY"):
        raise LossBridgeError(
            f"{where}: it is a single .npy array; --data takes an .npz archive of arrays named by role "
            "or argument, e.g. np.savez('batch.npz', logits=logits, labels=labels)."
        )
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise LossBridgeError(
            f"{where}: not a NumPy .npz file (it does not start like a zip archive). Save the arrays with "
            "np.savez('batch.npz', logits=logits, labels=labels)."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            total = 0
            headers = {}
            for member in members:
                key = member.filename.removesuffix(".npy")
                if not member.filename.endswith(".npy"):
                    raise LossBridgeError(
                        f"{where}: its member {member.filename!r} is not a .npy array; an .npz file written by "
                        "np.savez holds only .npy arrays."
                    )
                with archive.open(member) as fp:
                    shape, dtype = _header(fp)
                if dtype.hasobject or dtype.kind not in _NUMERIC_KINDS:
                    raise LossBridgeError(
                        f"{where}: the array {key!r} has dtype {dtype}; losses take numeric arrays (bool, "
                        "integer, float or complex): save it as numbers."
                    )
                total += math.prod(shape) * dtype.itemsize
                if total > limit:
                    raise LossBridgeError(
                        f"{where}: the array {key!r} declares shape {shape} of {dtype} ({_size(math.prod(shape) * dtype.itemsize)}); "
                        f"the arrays may hold at most {_size(limit)} in all."
                    )
                headers[key] = member
            out = {}
            for key, member in headers.items():
                with archive.open(member) as fp:
                    out[key] = np.lib.format.read_array(fp, allow_pickle=False)
            return out
    except LossBridgeError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as e:
        # a truncated or corrupt archive, an unsupported compression
        text = " ".join(str(e).split()) or type(e).__name__
        if "pickle" in text:  # numpy's advice to unpickle is never ours: lossbridge reads plain arrays only
            text = "a member is not a plain NumPy array (its .npy header is oversized or holds Python objects)"
        raise LossBridgeError(f"{where} as an .npz file of arrays: {text}.") from None


def _header(fp: Any) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the ``.npy`` header at ``fp``, read without reading the data."""
    fmt = np.lib.format
    version = fmt.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(fp)
    elif version == (3, 0) and hasattr(fmt, "_read_array_header"):
        shape, _, dtype = fmt._read_array_header(fp, version)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if any(d < 0 for d in shape):
        raise ValueError(f"a negative dimension in the declared shape {shape}")
    return tuple(shape), dtype


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def inputs(roles: tuple[str, ...], arrays: dict[str, Any]) -> list[Any]:
    """The positional inputs for ``roles`` from ``arrays``."""
    missing = [r for r in roles if r not in arrays]
    if missing:
        raise LossBridgeError(
            f"The data has no {', '.join(map(repr, missing))} array (it has "
            f"{', '.join(sorted(arrays))}); this loss takes {', '.join(roles)}."
        )
    return [arrays[r] for r in roles]
