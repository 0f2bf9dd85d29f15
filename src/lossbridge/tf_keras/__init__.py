"""tf.keras 2.x losses (``tf.keras.losses`` of TensorFlow < 2.16, the ``tf_keras`` package),
with their exact semantics, on NumPy, torch and JAX arrays.

``lossbridge.tf_keras.<Name>`` mirrors ``tf_keras.losses.<Name>`` (oracle: tf_keras 2.21
on tensorflow 2.21): signatures, defaults, names, configs and identifiers.  It shares
every piece of math with :mod:`lossbridge.keras` and holds only what tf.keras 2 does
differently from Keras 3:

* ``reduction="auto"`` (the default; ``"sum_over_batch_size"``), and only ``"auto"``,
  ``"none"``, ``"sum"``, ``"sum_over_batch_size"`` (no ``"mean"``/``"mean_with_sample_weight"``);
* no ``dtype``: the inputs keep their dtype (float64 in, float64 out; Keras 3 casts
  to float32), means are taken in that dtype; ``huber`` computes in float32;
* rank alignment of the classes: the size-1 last axis of the higher-rank input is
  squeezed (Keras 3 expands a rank-1 partner); the functions broadcast;
* sample weights whose rank differs by one from the per-sample loss are squeezed or
  expanded whatever their last dimension;
* binary cross-entropy has an epsilon inside the log (``log(p + 1e-7)``);
* label smoothing counts the classes on ``axis`` in ``categorical_crossentropy`` and on
  the last axis in ``categorical_focal_crossentropy``, as tf_keras 2.21 does (Keras 3's
  ``fixed_label_smoothing`` does not exist here);
* binary focal cross-entropy ``from_logits=True`` uses the stable logits cross-entropy;
* sparse categorical cross-entropy clips probabilities before renormalising, and
  raises on labels out of range on every array kind;
* cosine similarity normalises with ``tf.linalg.l2_normalize`` (``sum(x**2)`` floored
  at 1e-12, a finite gradient at a zero vector);
* :func:`ctc_batch_cost` (``tf.keras.backend.ctc_batch_cost``): probabilities, blank =
  the last class, lengths as ``(N, 1)`` columns;
* identifiers ``huber_loss``, ``logcosh``, ``kullback_leibler_divergence``; no Dice,
  Tversky, Circle, CTC or generalized cross-entropy (Keras 3 only).

Intentional divergences from tf_keras 2.21:

* inputs are treated as TensorFlow tensors: tf.keras' classes skip their rank
  alignment when given NumPy arrays (``MeanSquaredError()(np (N,), np (N, 1))``
  broadcasts to ``(N, N)`` there); lossbridge always aligns, as tf.keras does on the
  tensors of a model;
* integer ``y_pred`` is computed in float32 (tf.keras computes in integers, truncating
  means) and cross-entropies reject it;
* gradients at ties follow the array library, as in :mod:`lossbridge.keras`: TensorFlow's
  ``maximum`` sends a tie's gradient to its first argument (torch splits it), and its
  ``pow`` gives ``0 * 0**-1 = NaN`` for ``(1 - p_t)**0`` at ``p_t == 1`` (binary focal
  cross-entropy with ``gamma=0``), where torch and JAX give 0;
* ``deserialize`` of an unknown name raises :class:`lossbridge.LossBridgeError` (a
  ``ValueError``, as tf.keras) with the known identifiers; the ragged tensors,
  ``tf.distribute`` checks and the ``_keras_logits`` shortcut of tf.keras do not exist here.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y_true, y_pred = np.array([[0.0, 1.0]]), np.array([[0.0, 0.0]])
    >>> round(float(lb.tf_keras.BinaryCrossentropy()(y_true, y_pred)), 6)   # log(p + 1e-7)
    7.712474
    >>> round(float(lb.keras.BinaryCrossentropy()(y_true, y_pred)), 6)   # Keras 3, float32
    8.059048

Intentional divergences on bad inputs (the table ``lossbridge._divergences.DIVERGENCES``,
which the bad-input suite tests):

* ``masked``: NumPy masked arrays are refused (LossBridgeTypeError): tf.keras drops the mask.
* ``big_endian``: big-endian NumPy arrays (``'>f4'``) are refused (LossBridgeTypeError); tf.keras converts them. Convert with ``x.astype(x.dtype.newbyteorder('='))``.
* ``int``: integer predictions ``y_pred`` are refused (LossBridgeTypeError): tf.keras 2 runs the formula in y_pred's integer dtype (truncated means, epsilon cast to 0) where its kernels accept it. Pass float predictions.
* ``complex``: complex predictions ``y_pred`` are refused (LossBridgeTypeError): most tf.keras 2 kernels refuse them, the others return complex values.
"""

from __future__ import annotations

from .. import _catalog
from ._loss import Loss, LossFunctionWrapper
from ._losses import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    ctc_batch_cost,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from ._registry import ALL_OBJECTS_DICT, deserialize, get, serialize

# Aliases, as tf.keras.losses defines them.
bce = BCE = binary_crossentropy
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber

_CLASSES = (
    Loss, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, BinaryCrossentropy, BinaryFocalCrossentropy,
    CategoricalCrossentropy, CategoricalFocalCrossentropy, SparseCategoricalCrossentropy,
    CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge, Poisson, LogCosh, KLDivergence, Huber,
)
_FUNCTIONS = (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, categorical_focal_crossentropy, sparse_categorical_crossentropy,
    cosine_similarity, hinge, squared_hinge, categorical_hinge, poisson, log_cosh, kl_divergence, huber,
)
for _obj in (*_CLASSES, *_FUNCTIONS):
    ALL_OBJECTS_DICT[_obj.__name__] = _obj
ALL_OBJECTS_DICT.update(
    bce=bce, BCE=BCE, mse=mse, MSE=MSE, mae=mae, MAE=MAE, mape=mape, MAPE=MAPE, msle=msle,
    MSLE=MSLE, kld=kld, KLD=KLD, kullback_leibler_divergence=kl_divergence, logcosh=log_cosh,
    huber_loss=huber,
)

_CATALOG: list[tuple[str, tuple[str, ...], str]] = [
    ("CategoricalCrossentropy", ("onehot", "probs|logits"), "as Keras 3; reduction 'auto'; input dtype kept"),
    ("SparseCategoricalCrossentropy", ("labels", "probs|logits"), "clip, then renormalise; labels out of range raise"),
    ("BinaryCrossentropy", ("onehot", "probs|logits"), "clip 1e-7 and log(p + 1e-7): epsilon inside the log"),
    ("BinaryFocalCrossentropy", ("onehot", "probs|logits"), "focal BCE; from logits with the stable logits BCE"),
    ("CategoricalFocalCrossentropy", ("onehot", "probs|logits"), "CCE times alpha * (1 - p)**gamma"),
    ("KLDivergence", ("onehot", "probs"), "sum y log(y / p), both clipped to [1e-7, 1]"),
    ("Poisson", ("targets", "values"), "mean of p - y log(p + 1e-7)"),
    ("MeanSquaredError", ("targets", "values"), "mean of (y - p)**2; input dtype kept"),
    ("MeanAbsoluteError", ("targets", "values"), "mean of |y - p|"),
    ("MeanAbsolutePercentageError", ("targets", "values"), "100 * mean |y - p| / max(|y|, 1e-7)"),
    ("MeanSquaredLogarithmicError", ("targets", "values"), "mean of (log(max(p, 1e-7) + 1) - log(max(y, 1e-7) + 1))**2"),
    ("Huber", ("targets", "values"), "Huber in float32 (delta=1); name 'huber_loss'"),
    ("LogCosh", ("targets", "values"), "mean of log(cosh(p - y))"),
    ("CosineSimilarity", ("targets", "values"), "-cos(y, p) with tf.linalg.l2_normalize (norm floor 1e-6)"),
    ("Hinge", ("onehot", "values"), "mean max(1 - y p, 0); {0, 1} labels become -1/1"),
    ("SquaredHinge", ("onehot", "values"), "mean max(1 - y p, 0)**2"),
    ("CategoricalHinge", ("onehot", "values"), "max(max_neg - pos + 1, 0) per sample"),
]
_CATALOG += [(f.__name__, r, s) for f, (_, r, s) in zip(
    (categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy,
     binary_focal_crossentropy, categorical_focal_crossentropy, kl_divergence, poisson,
     mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
     mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity, hinge, squared_hinge,
     categorical_hinge),
    _CATALOG, strict=False,
)]
for _name, _roles, _summary in _CATALOG:
    _catalog.register("tf_keras", _name, _roles, _summary)
_catalog.register(
    "tf_keras", "ctc_batch_cost",
    ("ctc_batch_labels", "ctc_batch_probs", "ctc_batch_input_lengths", "ctc_batch_label_lengths"),
    "tf.keras.backend.ctc_batch_cost: probabilities, blank = last class, (N, 1) lengths",
)

__all__ = [
    "ALL_OBJECTS_DICT", "BCE", "KLD", "MAE", "MAPE", "MSE", "MSLE",
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber",
    "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson",
    "SparseCategoricalCrossentropy", "SquaredHinge", "bce", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "cosine_similarity", "ctc_batch_cost", "deserialize", "get", "hinge",
    "huber", "huber_loss", "kl_divergence", "kld", "kullback_leibler_divergence", "log_cosh",
    "logcosh", "mae", "mape", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle", "poisson", "serialize",
    "sparse_categorical_crossentropy", "squared_hinge",
]
