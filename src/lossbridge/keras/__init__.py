"""Keras 3 losses with Keras' exact semantics, on NumPy, torch and JAX arrays.

``lossbridge.keras.<Name>`` mirrors ``keras.losses.<Name>``: the same constructor
signature, defaults, names, call order ``(y_true, y_pred, sample_weight=None)``,
epsilon (1e-7), clipping, renormalisation, rank alignment, masks and reductions
(oracle: keras 3.15.1 on the jax and torch backends).  Results come back as the
kind of array given; gradients flow through torch autograd and ``jax.grad``.

Bugs that Keras fixed after 3.15.1: lossbridge follows the release by default, the
fix is one explicit argument away, and a ``LossBridgeWarning`` names both behaviours
when they differ for the arguments given (pass the argument, ``True`` or ``False``,
to silence it):

* ``tversky``/``Tversky``: keras 3.15.1 weighs the false *negatives* by ``alpha``
  and the false positives by ``beta``; ``fixed_alpha_beta=True`` weighs the false
  positives by ``alpha``, as documented (keras PR #23333).  Differs when
  ``alpha != beta``;
* label smoothing of ``categorical_crossentropy`` and
  ``categorical_focal_crossentropy`` (and their classes): keras 3.15.1 counts the
  classes on ``y_true.shape[-1]`` whatever ``axis`` is;
  ``fixed_label_smoothing=True`` counts them on ``y_pred.shape[axis]`` (keras PR
  #23437).  Differs when ``label_smoothing > 0`` and ``axis`` is not the last axis.

The configs of those classes hold the argument only when it is ``True``.

Divergences from keras 3.15.1:

* ``SparseCategoricalCrossentropy.get_config()`` and ``CosineSimilarity.get_config()``
  include ``axis``, and ``Huber.get_config()`` includes ``delta`` (3.15.1 drops
  them, so a reloaded model changes its loss; keras PR #23286);
* ``sparse_categorical_crossentropy`` accepts any class ``axis`` on every array kind
  (Keras' torch backend semantics; its JAX and NumPy backends fail the shape check);
* ``deserialize`` raises on an unknown name (3.15.1 returns the string) and
  accepts the aliases (``"mse"``), which 3.15.1's ``deserialize`` rejects;
* integer and boolean ``y_pred`` in the function forms compute as Keras computes
  them (``y_true`` cast to their dtype, 0.5 -> 0; constants such as epsilon or
  Huber's ``0.5`` cast likewise; then float32), or raise Keras' error where it fails
  (boolean predictions that Keras subtracts or negates); binary cross-entropy, binary
  focal and generalized cross-entropy still refuse them with an error that suggests
  swapped arguments (keras-torch raises there too); the classes cast to float32 first,
  as Keras does.  Unsigned integer predictions: see the divergences on bad inputs
  below;
* shapes that cannot be broadcast raise :class:`lossbridge.LossBridgeError` that is
  also a ``TypeError`` and a ``RuntimeError`` (keras-jax raises ``TypeError`` or
  ``ValueError``, keras-torch ``RuntimeError``), with both shapes in the message;
  shapes that Keras silently broadcasts into a larger loss (``(N,)`` against
  ``(N, 1)`` in ``poisson``, ``hinge``, ``kl_divergence``, ``(N, 1)`` labels in
  generalized cross-entropy) give Keras' value and a ``LossBridgeWarning``;
* an empty batch gives an empty loss on every array kind for ``categorical_hinge``
  and ``ctc`` (keras-jax does so; keras-torch raises);
* ``ctc``: labels outside ``[0, C)`` raise ``IndexError`` on torch tensors and
  NumPy arrays (keras-torch reads out of bounds);
* ``deserialize`` of a ``CategoricalGeneralizedCrossEntropy`` config raises and says
  how to rebuild it (keras 3.15.1 returns the bare class name: Keras does not
  register that loss).

Where keras' JAX and torch backends disagree, lossbridge follows the backend
that shares the array's kind (NumPy arrays follow keras-jax's values, except
that out-of-range labels raise):

* out-of-range sparse labels: ``IndexError`` on NumPy arrays and torch tensors,
  a loss of 0 on JAX arrays (with a :class:`lossbridge.LossBridgeWarning` when the
  labels are concrete); generalized cross-entropy likewise (``RuntimeError`` on
  NumPy and torch, a predicted probability of 0 on JAX);
* ``ctc`` of a label sequence that cannot be aligned: ``inf`` on torch tensors,
  about ``1e5`` per violation on JAX and NumPy arrays (keras-jax's soft log-zero);
* integer and boolean ``y_pred`` in the function forms: keras-jax's value on every
  array kind where keras-torch fails on them (boolean ``poisson`` and ``circle``,
  integer logits with ``from_logits=True``: torch kernels without integer support), and
  a 0-d ``y_true`` in ``circle``/``Circle`` (one label for every embedding; keras-torch
  fails in ``eye()``).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> round(float(lb.keras.CategoricalCrossentropy()(y_true, y_pred)), 6)
    1.176939

Intentional divergences on bad inputs (the table ``lossbridge._divergences.DIVERGENCES``,
which the bad-input suite tests):

* ``masked``: NumPy masked arrays are refused (LossBridgeTypeError): Keras drops the mask.
* ``big_endian``: big-endian NumPy arrays (``'>f4'``) are refused (LossBridgeTypeError), as torch and JAX refuse them; Keras converts them. Convert with ``x.astype(x.dtype.newbyteorder('='))``.
* ``complex``: complex predictions (``y_pred``) are refused (LossBridgeTypeError) by every function form; Keras computes ``mean_squared_error``, ``mean_absolute_error``, ``poisson``, ``dice`` and ``tversky`` in complex arithmetic (and fails on the other losses). Pass real predictions.
* ``label_out_of_range``: ``ctc`` / ``CTC`` refuse a label outside ``[0, num_classes)`` (LossBridgeIndexError): Keras does not check it; on torch it reads ``y_pred`` out of bounds, on JAX the label drops out of the one-hot encoding.
* ``uint8``: unsigned integer predictions (``y_pred``) are refused (LossBridgeTypeError) by the functions that subtract or negate in y_pred's dtype (``mean_squared_error``, ``mean_absolute_error``, ``mean_absolute_percentage_error``, ``huber``, ``log_cosh``, ``categorical_hinge``, ``categorical_focal_crossentropy``, ``tversky``): Keras casts y_true to that dtype and wraps around (0 - 1 = 255). Pass float predictions.
"""

from __future__ import annotations

from typing import Any

from .. import _catalog
from ._focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from ._hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from ._loss import (
    EPSILON,
    Loss,
    LossFunctionWrapper,
    floatx,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
)
from ._probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_generalized_cross_entropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from ._registry import ALL_OBJECTS_DICT, deserialize, get, serialize
from ._registry import register as _register
from ._regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from ._segmentation import Dice, Tversky, dice, tversky
from ._sequence import CTC, ctc
from ._similarity import Circle, circle

# Aliases, as keras.losses.get accepts them.
bce = BCE = binary_crossentropy
kld = KLD = kl_divergence
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
mse = MSE = mean_squared_error
msle = MSLE = mean_squared_logarithmic_error

# keras.losses.ALL_OBJECTS: every class and function except
# CategoricalGeneralizedCrossEntropy and its function, which Keras does not register.
_register(
    Loss,
    LossFunctionWrapper,
    # Probabilistic
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
    # Regression
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCosh,
    Huber,
    # Hinge
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    # Image segmentation
    Dice,
    Tversky,
    # Similarity
    Circle,
    # Sequence
    CTC,
    # Functions
    kl_divergence,
    poisson,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    sparse_categorical_crossentropy,
    mean_squared_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    cosine_similarity,
    log_cosh,
    huber,
    hinge,
    squared_hinge,
    categorical_hinge,
    dice,
    tversky,
    circle,
    ctc,
    aliases={
        "bce": "binary_crossentropy",
        "BCE": "binary_crossentropy",
        "kld": "kl_divergence",
        "KLD": "kl_divergence",
        "mae": "mean_absolute_error",
        "MAE": "mean_absolute_error",
        "mse": "mean_squared_error",
        "MSE": "mean_squared_error",
        "mape": "mean_absolute_percentage_error",
        "MAPE": "mean_absolute_percentage_error",
        "msle": "mean_squared_logarithmic_error",
        "MSLE": "mean_squared_logarithmic_error",
    },
)

_CATALOG: list[tuple[str, tuple[str, ...], str]] = [
    ("CategoricalCrossentropy", ("onehot", "probs|logits"), "one-hot targets; renormalise, clip 1e-7, log; mean over the batch"),
    ("SparseCategoricalCrossentropy", ("labels", "probs|logits"), "integer labels; ignore_class masks; mean over valid samples"),
    ("BinaryCrossentropy", ("onehot", "probs|logits"), "element-wise, clip 1e-7, mean over the last axis"),
    ("BinaryFocalCrossentropy", ("onehot", "probs|logits"), "BCE times (1 - p_t)**gamma; alpha only with apply_class_balancing"),
    ("CategoricalFocalCrossentropy", ("onehot", "probs|logits"), "CCE times alpha * (1 - p)**gamma, summed over classes"),
    ("CategoricalGeneralizedCrossEntropy", ("labels", "probs"), "(1 - p_label**q) / q; integer labels; not in Keras' registry"),
    ("KLDivergence", ("onehot", "probs"), "sum y log(y / p), both clipped to [1e-7, 1]"),
    ("Poisson", ("targets", "values"), "mean of p - y log(p + 1e-7) over the last axis"),
    ("MeanSquaredError", ("targets", "values"), "mean of (y - p)**2 over the last axis"),
    ("MeanAbsoluteError", ("targets", "values"), "mean of |y - p| over the last axis"),
    ("MeanAbsolutePercentageError", ("targets", "values"), "100 * mean |y - p| / max(|y|, 1e-7); y = 0 costs 1e9 * |p|"),
    ("MeanSquaredLogarithmicError", ("targets", "values"), "mean of (log1p(max(p, 1e-7)) - log1p(max(y, 1e-7)))**2"),
    ("Huber", ("targets", "values"), "0.5 e**2 within delta, linear beyond; mean over the last axis"),
    ("LogCosh", ("targets", "values"), "mean of log(cosh(p - y)) over the last axis"),
    ("CosineSimilarity", ("targets", "values"), "-cos(y, p) along axis, in [-1, 1]; 0 for a zero vector"),
    ("Hinge", ("onehot", "values"), "mean max(1 - y p, 0); {0, 1} labels become -1/1 if the whole batch is binary"),
    ("SquaredHinge", ("onehot", "values"), "mean max(1 - y p, 0)**2, labels as Hinge"),
    ("CategoricalHinge", ("onehot", "values"), "max(max_neg - pos + 1, 0) per sample"),
    ("Dice", ("onehot", "probs"), "1 - 2 sum(y p) / (sum y + sum p + 1e-7); axis=None: one scalar for the batch"),
    ("Tversky", ("onehot", "probs"), "1 - TP / (TP + alpha FN + beta FP + 1e-7) (keras 3.15.1); axis=None: one scalar"),
    ("Circle", ("labels", "embeddings"), "metric learning on L2-normalised embeddings; mean over anchors with loss > 0"),
    ("CTC", ("label_sequences", "logit_sequences"), "CTC from logits, blank = padding = 0; -log p(labels) per sequence"),
    ("categorical_crossentropy", ("onehot", "probs|logits"), "per-sample categorical cross-entropy"),
    ("sparse_categorical_crossentropy", ("labels", "probs|logits"), "per-sample, integer labels"),
    ("binary_crossentropy", ("onehot", "probs|logits"), "per-sample, mean over the last axis"),
    ("binary_focal_crossentropy", ("onehot", "probs|logits"), "per-sample binary focal cross-entropy"),
    ("categorical_focal_crossentropy", ("onehot", "probs|logits"), "per-sample categorical focal cross-entropy"),
    ("categorical_generalized_cross_entropy", ("labels", "probs"), "per-sample (1 - p_label**q) / q (q=0.5 unless given)"),
    ("kl_divergence", ("onehot", "probs"), "per-sample KL divergence, clipped to [1e-7, 1]"),
    ("poisson", ("targets", "values"), "per-sample Poisson loss"),
    ("mean_squared_error", ("targets", "values"), "per-sample mean squared error"),
    ("mean_absolute_error", ("targets", "values"), "per-sample mean absolute error"),
    ("mean_absolute_percentage_error", ("targets", "values"), "per-sample MAPE (in percent)"),
    ("mean_squared_logarithmic_error", ("targets", "values"), "per-sample MSLE"),
    ("huber", ("targets", "values"), "per-sample Huber loss (delta=1)"),
    ("log_cosh", ("targets", "values"), "per-sample log-cosh"),
    ("cosine_similarity", ("targets", "values"), "per-sample negative cosine similarity"),
    ("hinge", ("onehot", "values"), "per-sample hinge"),
    ("squared_hinge", ("onehot", "values"), "per-sample squared hinge"),
    ("categorical_hinge", ("onehot", "values"), "per-sample categorical hinge"),
    ("dice", ("onehot", "probs"), "Dice loss, one scalar (axis=None)"),
    ("tversky", ("onehot", "probs"), "Tversky loss, one scalar (axis=None)"),
    ("circle", ("labels", "embeddings"), "per-anchor circle loss (unmasked)"),
    ("ctc", ("label_sequences", "logit_sequences"), "per-sequence CTC negative log-likelihood"),
]
for _name, _roles, _summary in _CATALOG:
    # The function form of GCE has no default q: the CLI uses Keras' class default.
    _defaults: dict[str, Any] = {"q": 0.5} if _name == "categorical_generalized_cross_entropy" else {}
    _catalog.register("keras", _name, _roles, _summary, **_defaults)

__all__ = [
    "ALL_OBJECTS_DICT",
    "BCE",
    "CTC",
    "EPSILON",
    "KLD",
    "MAE",
    "MAPE",
    "MSE",
    "MSLE",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "bce",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "ctc",
    "deserialize",
    "dice",
    "floatx",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "reduce_weighted_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "squeeze_or_expand_to_same_rank",
    "tversky",
]
