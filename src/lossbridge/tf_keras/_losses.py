"""The tf.keras 2.x loss functions and classes.

Each function is :mod:`lossbridge.keras`' function run with tf.keras 2 rules
(:func:`lossbridge.keras._loss.using_flavor`); the rules that differ live in the
shared code, next to the Keras 3 rule they replace:

* ``mean`` over the last axis in the input dtype (``tf.reduce_mean``), where Keras 3
  accumulates in float32;
* binary cross-entropy: ``-(y log(p + 1e-7) + (1 - y) log(1 - p + 1e-7))`` with
  ``p = clip(y_pred, 1e-7, 1 - 1e-7)`` (epsilon inside the log);
* binary focal cross-entropy ``from_logits=True``: the stable cross-entropy of the
  logits times the focal factor of ``sigmoid(logits)`` (Keras 3 clips ``sigmoid``);
* sparse categorical cross-entropy of probabilities: ``log_softmax(log(clip(p, 1e-7,
  1 - 1e-7)))`` (clip, then renormalise; Keras 3 renormalises, then clips); labels out
  of range raise on every array kind;
* cosine similarity: ``tf.linalg.l2_normalize``, ``x / sqrt(max(sum(x**2), 1e-12))``.

Here: tf.keras' element-wise functions broadcast inputs of different rank (a
``(N,)`` target against ``(N, 1)`` predictions gives an ``(N, N)`` loss before the
mean, as tf.keras computes; the classes squeeze first), and ``huber`` computes in
float32 whatever the input dtype (``backend.floatx()``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from lossbridge.keras import _loss as k  # absolute: "keras" alone would name the framework
from lossbridge.keras._inputs import broadcast_shape
from lossbridge.optax._ctc import ctc_loss as _optax_ctc  # absolute: "optax" names the framework

from .. import keras as _k
from .._backend import describe, is_concrete
from .._checks import check_label_range, first_out_of_range
from .._errors import LossBridgeError, LossBridgeIndexError, LossBridgeTypeError
from .._validate import require as _require
from .._validate import wrap_raw_errors
from ._loss import LossFunctionWrapper, refuse_integer_or_complex

# ------------------------------------------------------------------- functions


def _tf_keras(
    keras_fn: Any, *, broadcast: bool = False, float32: bool = False,
    broadcast_any: bool = False, same_shape: bool = False,
) -> Any:
    """``keras_fn`` under tf.keras 2 rules; ``broadcast``: inputs of different rank are
    broadcast against each other first (``broadcast_any``: any two shapes that broadcast,
    as tf.keras' binary cross-entropies compute element-wise without a shape check);
    ``same_shape``: tf.keras' categorical cross-entropies read ``y_pred.shape[-1]``
    (IndexError for a 0-d ``y_pred``) and then require the shapes to be compatible
    (ValueError, where Keras 3 broadcasts); ``float32``: both inputs cast to float32."""

    def prepare(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        if not (broadcast or float32 or broadcast_any or same_shape):
            return y_true, y_pred
        ns = k.namespace_of(y_true=y_true, y_pred=y_pred)
        xp = ns.xp
        y_true, y_pred = k.convert_to_tensor(ns, y_true), k.convert_to_tensor(ns, y_pred)
        if same_shape:
            _require_same_shape(keras_fn.__name__, y_true, y_pred)
        if float32:
            y_true, y_pred = xp.astype(y_true, xp.float32), xp.astype(y_pred, xp.float32)
        if (
            (broadcast_any and tuple(y_true.shape) != tuple(y_pred.shape))
            or (broadcast and y_true.ndim != y_pred.ndim)
        ) and broadcast_shape(tuple(y_true.shape), tuple(y_pred.shape)) is not None:
            y_true, y_pred = xp.broadcast_arrays(y_true, y_pred)
        return y_true, y_pred

    @functools.wraps(keras_fn)
    def fn(y_true: Any, y_pred: Any, *args: Any, **kwargs: Any) -> Any:
        if "fixed_label_smoothing" in kwargs:  # Keras 3 only: tf_keras 2.21 has one behaviour
            raise TypeError(
                f"{keras_fn.__name__}() got an unexpected keyword argument "
                "'fixed_label_smoothing' (lossbridge.keras only; lossbridge.tf_keras counts "
                "the classes as tf_keras 2.21 does)"
            )
        refuse_integer_or_complex(y_pred, bool_computes=float32)
        with k.using_flavor("tf_keras"):
            y_true, y_pred = prepare(y_true, y_pred)
            return keras_fn(y_true, y_pred, *args, **kwargs)

    masked = getattr(keras_fn, "_lossbridge_with_mask", None)
    if masked is not None:

        def with_mask(y_true: Any, y_pred: Any, *args: Any, **kwargs: Any) -> Any:
            with k.using_flavor("tf_keras"):
                return masked(y_true, y_pred, *args, **kwargs)

        fn._lossbridge_with_mask = with_mask  # type: ignore[attr-defined]
    fn._lossbridge_float32 = float32  # type: ignore[attr-defined]  # (the classes read it)
    fn.__module__ = __name__
    fn.__qualname__ = keras_fn.__name__
    del fn.__wrapped__  # inspect.signature follows __wrapped__; the signature is the same
    signature = __import__("inspect").signature(keras_fn)
    fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for n, p in signature.parameters.items() if n != "fixed_label_smoothing"]
    )
    return wrap_raw_errors(fn, k.RAW_ERROR_FIX)


def _require_same_shape(loss: str, y_true: Any, y_pred: Any) -> None:
    """tf.keras 2's categorical cross-entropies: ``y_pred.shape[-1]`` (IndexError on a 0-d
    ``y_pred``), then ``target.shape.assert_is_compatible_with(output.shape)``."""
    if y_pred.ndim == 0:
        raise LossBridgeIndexError(
            f"tuple index out of range. {loss}: `y_pred` ({describe(y_pred)}) has no class "
            "axis (tf.keras reads y_pred.shape[-1]). Pass one row of class probabilities (or "
            "logits) per sample, shape (N, C)."
        )
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise LossBridgeError(
            f"Shapes {_tf_shape(y_true)} and {_tf_shape(y_pred)} are incompatible. {loss}: "
            f"`y_true` ({describe(y_true)}) and `y_pred` ({describe(y_pred)}) must have the same "
            "shape in tf.keras 2 (it broadcasts nothing here). Pass one-hot targets of y_pred's "
            "shape; for integer class indices use sparse_categorical_crossentropy."
        )


def _tf_shape(x: Any) -> str:
    """A shape as TensorFlow prints it: ``()``, ``(2,)``, ``(2, 3)``."""
    return str(tuple(int(d) for d in x.shape))


def _doc(fn: Any, text: str) -> Any:
    fn.__doc__ = text
    return fn


mean_squared_error = _doc(_tf_keras(_k.mean_squared_error, broadcast=True), """\
tf.keras' mean squared error: ``mean((y_pred - y_true) ** 2, axis=-1)`` in ``y_pred``'s dtype.

No epsilon or clipping; any real inputs.  ``y_true`` is cast to ``y_pred``'s dtype;
inputs of different rank broadcast (``(N,)`` against ``(N, 1)`` gives ``(N, N)``
before the mean, as tf.keras on tensors).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.mean_squared_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).tolist()
    [0.5]
""")
mean_absolute_error = _doc(_tf_keras(_k.mean_absolute_error, broadcast=True), """\
tf.keras' mean absolute error: ``mean(|y_pred - y_true|, axis=-1)`` in ``y_pred``'s dtype.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])).tolist()
    [1.5]
""")
mean_absolute_percentage_error = _doc(_tf_keras(_k.mean_absolute_percentage_error, broadcast=True), """\
tf.keras' MAPE: ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``.

A zero target costs ``1e9 * |y_pred|`` (the 1e-7 floor); in percent.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.mean_absolute_percentage_error(np.array([[1.0, 2.0]]), np.array([[1.5, 2.0]])).tolist()
    [25.0]
""")
mean_squared_logarithmic_error = _doc(_tf_keras(_k.mean_squared_logarithmic_error, broadcast=True), """\
tf.keras' MSLE: ``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2, axis=-1)``.

Inputs below 1e-7 (negative values included) count as 1e-7.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> round(float(lb.tf_keras.mean_squared_logarithmic_error(np.array([[0.0]]), np.array([[np.e - 1]]))[0]), 6)
    1.0
""")
hinge = _doc(_tf_keras(_k.hinge, broadcast=True), """\
tf.keras' hinge: ``mean(max(1 - y_true * y_pred, 0), axis=-1)``.

``y_true`` in {-1, 1}; when every value of the batch is 0 or 1 it is mapped to
``2 y - 1`` first.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.hinge(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])).tolist()
    [1.0]
""")
squared_hinge = _doc(_tf_keras(_k.squared_hinge, broadcast=True), """\
tf.keras' squared hinge: ``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``, labels as :func:`hinge`.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.squared_hinge(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])).tolist()
    [1.25]
""")
categorical_hinge = _doc(_tf_keras(_k.categorical_hinge, broadcast=True), """\
tf.keras' categorical hinge: ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.categorical_hinge(np.array([[0.0, 1.0]]), np.array([[0.3, 0.5]])).tolist()
    [0.8]
""")
poisson = _doc(_tf_keras(_k.poisson, broadcast=True), """\
tf.keras' Poisson loss: ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

``y_pred`` > -1e-7 (rates); ``y_true`` counts.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> round(float(lb.tf_keras.poisson(np.array([[1.0]]), np.array([[1.0]]))[0]), 6)
    1.0
""")
log_cosh = _doc(_tf_keras(_k.log_cosh, broadcast=True), """\
tf.keras' log-cosh: ``mean(x + softplus(-2 x) - log(2), axis=-1)`` with ``x = y_pred - y_true``.

``log(cosh(x))`` without overflow; ``log(2)`` is computed in float32 and cast.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> round(float(lb.tf_keras.log_cosh(np.array([[0.0]]), np.array([[1.0]]))[0]), 6)
    0.433781
""")
kl_divergence = _doc(_tf_keras(_k.kl_divergence, broadcast=True), """\
tf.keras' KL divergence: ``sum(t * log(t / p), axis=-1)`` with ``t = clip(y_true, 1e-7, 1)`` and ``p = clip(y_pred, 1e-7, 1)``.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> round(float(lb.tf_keras.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]]))[0]), 6)
    0.143841
""")
huber = _doc(_tf_keras(_k.huber, broadcast=True, float32=True), """\
tf.keras' Huber loss (default ``delta=1.0``), computed in float32 whatever the input dtype.

``e = y_pred - y_true``; ``0.5 e**2`` where ``|e| <= delta``, else
``delta |e| - 0.5 delta**2``; mean over the last axis.  tf.keras casts both inputs
and ``delta`` to ``floatx()`` (float32): float64 inputs give a float32 loss.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> out = lb.tf_keras.huber(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]]))
    >>> out.tolist(), out.dtype
    ([1.3125], dtype('float32'))
""")
def _cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    # tf.keras' cosine_similarity casts nothing: y_true * y_pred of two dtypes fails in TF.
    # (after NumPy joins the tensor kind: a NumPy float64 array beside JAX arrays is float32)
    ns = k.namespace_of(y_true=y_true, y_pred=y_pred)
    y_true, y_pred = k.convert_to_tensor(ns, y_true), k.convert_to_tensor(ns, y_pred)
    t, p = y_true.dtype, y_pred.dtype
    if t != p:
        raise LossBridgeTypeError(
            f"cannot compute Mul of {t} and {p}: tf.keras' cosine_similarity does not cast "
            f"y_true ({describe(y_true)}) to y_pred's dtype ({describe(y_pred)}), so TensorFlow "
            "refuses the product. Pass both in one float dtype."
        )
    for x in (y_true, y_pred):
        if isinstance(axis, int) and not -x.ndim <= axis < x.ndim:
            # tf.linalg.l2_normalize reduces over `axis` of each input (InvalidArgumentError).
            raise LossBridgeError(
                f"Invalid reduction dimension ({axis} for input with {x.ndim} dimension(s)). "
                f"cosine_similarity: the argument `axis`={axis} must name a dimension of both "
                f"y_true ({describe(y_true)}) and y_pred ({describe(y_pred)}): pass arrays with "
                "that feature axis (-1, the default, is the last one)."
            )
    return _k.cosine_similarity(y_true, y_pred, axis=axis)


_cosine_similarity.__name__ = "cosine_similarity"
cosine_similarity = _doc(_tf_keras(_cosine_similarity), """\
tf.keras' cosine similarity loss: ``-sum(l2n(y_true) * l2n(y_pred), axis)`` (default ``axis=-1``).

``l2n(x) = x / sqrt(max(sum(x**2, axis), 1e-12))`` (``tf.linalg.l2_normalize``): a
zero vector gives 0 with a finite gradient (Keras 3 floors the norm at 1e-7 and its
gradient there is NaN).  In ``[-1, 1]``.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.cosine_similarity(np.array([[1.0, 1.0], [0.0, 0.0]]),
    ...                               np.array([[1.0, 1.0], [1.0, 0.0]])).round(6).tolist()
    [-1.0, -0.0]
""")
binary_crossentropy = _doc(_tf_keras(_k.binary_crossentropy, broadcast_any=True), """\
tf.keras' binary cross-entropy, averaged over ``axis`` (default -1).

Defaults ``from_logits=False, label_smoothing=0.0, axis=-1``.  With
``y = y_true * (1 - ls) + 0.5 ls`` and ``p = clip(y_pred, 1e-7, 1 - 1e-7)``::

    bce = -(y log(p + 1e-7) + (1 - y) log(1 - p + 1e-7))     (epsilon inside the log)
    bce = max(x, 0) - x y + log(1 + exp(-|x|))                from_logits
    loss = mean(bce, axis)

An element costs at most ``-log(2e-7) = 15.42`` (Keras 3: 16.12, no epsilon in the
log).  ``y_true`` and ``y_pred`` of the same shape.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.binary_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.0, 0.0]])).round(5).tolist()
    [7.71247]
""")
binary_focal_crossentropy = _doc(_tf_keras(_k.binary_focal_crossentropy, broadcast_any=True), """\
tf.keras' binary focal cross-entropy, averaged over ``axis``.

Defaults ``apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
label_smoothing=0.0, axis=-1``.  ``p = sigmoid(y_pred)`` for logits, else ``y_pred``;
``p_t = y p + (1 - y)(1 - p)``; ``loss = mean((1 - p_t)**gamma * bce, axis)`` times
``y alpha + (1 - y)(1 - alpha)`` with class balancing, where ``bce`` is
:func:`binary_crossentropy` of ``y_pred`` (the stable logits form with
``from_logits=True``; epsilon inside the log otherwise).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.binary_focal_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.6, 0.4]])).round(5).tolist()
    [0.32986]
""")
categorical_crossentropy = _doc(_tf_keras(_k.categorical_crossentropy, same_shape=True), """\
tf.keras' categorical cross-entropy (the same as Keras 3's, see :func:`lossbridge.keras.categorical_crossentropy`).

Defaults ``from_logits=False, label_smoothing=0.0, axis=-1``; probabilities are
renormalised, clipped to ``[1e-7, 1 - 1e-7]`` and logged; ``log_softmax`` for logits;
``loss = -sum(y log p, axis)``.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.2, 0.8]])).round(6).tolist()
    [0.223144]
""")
categorical_focal_crossentropy = _doc(_tf_keras(_k.categorical_focal_crossentropy, same_shape=True), """\
tf.keras' categorical focal cross-entropy: ``sum(alpha (1 - p)**gamma * (-y log p), axis)``.

Defaults ``alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1``;
``p`` = softmax of logits or ``y_pred``, renormalised and clipped to
``[1e-7, 1 - 1e-7]``.  Label smoothing counts the classes on ``y_true.shape[-1]``
whatever ``axis`` is, as tf_keras 2.21 does (its ``categorical_crossentropy`` counts
them on ``axis``).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.categorical_focal_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.2, 0.8]])).round(6).tolist()
    [0.002231]
""")
def _sparse(y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1,
            ignore_class: int | None = None) -> Any:
    """Keras 3's function with tf.keras 2's argument order (``axis`` before ``ignore_class``)."""
    return _k.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                              ignore_class=ignore_class,
                                              axis=_wrap_axis(axis, y_pred))


def _wrap_axis(axis: int, y_pred: Any) -> int:
    """tf.keras 2's sparse cross-entropy takes ``axis %= rank`` (any int names an axis)."""
    ndim = getattr(y_pred, "ndim", None)
    if ndim is None:
        ndim = np.ndim(y_pred)
    if ndim and isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis) % ndim
    return axis


def _sparse_with_mask(y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1,
                      ignore_class: int | None = None) -> Any:
    return _k.sparse_categorical_crossentropy._lossbridge_with_mask(
        y_true, y_pred, from_logits=from_logits, ignore_class=ignore_class,
        axis=_wrap_axis(axis, y_pred))


_sparse.__name__ = "sparse_categorical_crossentropy"
_sparse._lossbridge_with_mask = _sparse_with_mask  # type: ignore[attr-defined]

sparse_categorical_crossentropy = _doc(_tf_keras(_sparse), """\
tf.keras' sparse categorical cross-entropy: integer labels, ``-log_softmax(z)[t]``.

Defaults ``from_logits=False, axis=-1, ignore_class=None``.  ``z`` is the logits, or
``log(clip(y_pred, 1e-7, 1 - 1e-7))`` for probabilities: clipped, *then* renormalised
by the softmax (Keras 3 renormalises first).  Labels outside ``[0, C)`` raise on every
array kind (TensorFlow's kernel rejects them); ``ignore_class`` gives 0 and a mask.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> lb.tf_keras.sparse_categorical_crossentropy(np.array([1]), np.array([[0.2, 0.8]])).round(6).tolist()
    [0.223144]
""")


def ctc_batch_cost(y_true: Any, y_pred: Any, input_length: Any, label_length: Any) -> Any:
    """``tf.keras.backend.ctc_batch_cost``: CTC of *probabilities*, the blank is the last class.

    Formula, with ``C = y_pred.shape[-1]`` and blank ``C - 1``::

        logp = log_softmax(log(y_pred + 1e-7), -1)     (TensorFlow's ctc_loss softmaxes its inputs)
        loss = -log sum over alignments of exp(sum_t logp[t, a_t])

    computed by :func:`lossbridge.optax.ctc_loss`'s forward recursion (impossible
    transitions get optax's soft log-zero -1e5, which changes no feasible value).

    Args:
      y_true: integer labels ``(N, L)`` in ``[0, C - 1)``; only the first
        ``label_length`` of each row are read (the padding may hold anything).
      y_pred: probabilities ``(N, T, C)`` (the softmax output of a model).
      input_length: ``(N, 1)`` integers in ``[0, T]``.
      label_length: ``(N, 1)`` integers in ``[1, L]`` (0 raises, as TensorFlow does).

    Returns:
      ``(N, 1)``, the negative log-likelihood per sequence.  No reduction.  A label
      sequence too long for its input raises (TensorFlow's error) when the values can be
      read; under ``jax.jit`` it costs about ``1e5`` per missing step (optax's soft zero).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> p = np.array([[[0.6, 0.4], [0.3, 0.7]]])   # class 1 is the blank
        >>> out = lb.tf_keras.ctc_batch_cost(np.array([[0]]), p, np.array([[2]]), np.array([[1]]))
        >>> round(float(out[0, 0]), 5), round(-float(np.log(0.6 * 0.3 + 0.6 * 0.7 + 0.4 * 0.3)), 5)
        (0.3285, 0.3285)
    """
    refuse_integer_or_complex(y_pred)
    _require(input_length=input_length, label_length=label_length)  # all four are required
    ns = k.namespace_of(y_true=y_true, y_pred=y_pred, input_length=input_length, label_length=label_length)
    xp = ns.xp
    y_pred = k.convert_to_tensor(ns, y_pred)
    if y_pred.ndim != 3 or not xp.isdtype(y_pred.dtype, "real floating"):
        raise LossBridgeError(
            f"ctc_batch_cost: `y_pred` must hold float probabilities of shape (batch, time, "
            f"classes), but it is a {k.describe(y_pred)}. The blank is the last class."
        )
    index = xp.int32 if ns.kind == "jax" else xp.int64
    labels = xp.astype(k.convert_to_tensor(ns, y_true), index)
    lengths = [xp.astype(k.convert_to_tensor(ns, a), index) for a in (input_length, label_length)]
    for name, a in zip(("input_length", "label_length"), lengths, strict=False):
        if a.ndim != 2 or a.shape != (y_pred.shape[0], 1):
            raise LossBridgeError(
                f"ctc_batch_cost: `{name}` must have shape (batch, 1) = ({y_pred.shape[0]}, 1), "
                f"but it is a {k.describe(a)}. Give one length per sequence in a column."
            )
    input_len, label_len = (xp.squeeze(a, axis=-1) for a in lengths)
    if labels.ndim != 2 or labels.shape[0] != y_pred.shape[0]:
        raise LossBridgeError(
            f"ctc_batch_cost: `y_true` must hold integer labels of shape (batch, max_label_length) "
            f"with batch {y_pred.shape[0]}, but it is a {k.describe(labels)}."
        )
    # TensorFlow reads at most y_true's L columns: a longer label_length means all of them
    label_len = xp.minimum(label_len, xp.full_like(label_len, labels.shape[1]))
    found = first_out_of_range(ns, label_len - 1, labels.shape[1])
    if found is not None:
        raise LossBridgeError(
            f"ctc_batch_cost: Labels length is zero in batch {found[1][0]}. `label_length` must "
            f"be at least 1 (TensorFlow's CTC rejects empty label sequences; it reads at most "
            f"y_true's {labels.shape[1]} columns). Drop empty sequences from the batch."
        )
    num_classes = y_pred.shape[-1]
    positions = xp.arange(labels.shape[1], dtype=index)[None, :]
    used = xp.where(positions < label_len[:, None], labels, xp.zeros_like(labels))
    check_label_range(
        ns, used, num_classes - 1, arg="y_true",
        framework_message="Saw a non-null label (index >= num_classes - 1) or a negative label: {value}.",
    )
    if all(is_concrete(a) for a in (used, label_len, input_len)):
        steps = y_pred.shape[1]
        longer = input_len > steps
        if bool(xp.any(longer)):
            b = int(xp.argmax(xp.astype(longer, xp.int32)))
            raise LossBridgeError(
                f"sequence_length({b}) <= {steps}: ctc_batch_cost: input_length {int(input_len[b])} "
                f"of batch {b} exceeds y_pred's {steps} time steps. Give each sequence its "
                "number of valid frames, at most the time axis of y_pred."
            )
        # TensorFlow's kernel rejects a sequence that cannot be aligned (a blank is needed
        # between repeated labels) instead of returning inf.
        in_label = positions[:, 1:] < label_len[:, None]
        repeats = xp.sum(xp.astype((used[:, 1:] == used[:, :-1]) & in_label, index), axis=1)
        bad = (label_len + repeats) > input_len
        if bool(xp.any(bad)):
            b = int(xp.argmax(xp.astype(bad, xp.int32)))
            raise LossBridgeError(
                f"Not enough time for target transition sequence (required: "
                f"{int((label_len + repeats)[b])}, available: {int(input_len[b])}) in batch {b}: "
                "CTC needs one step per label plus one blank between repeated labels. Give that "
                "sequence a longer input_length or a shorter label."
            )
    # TensorFlow's kernel softmaxes its inputs log(p + eps); the forward recursion is
    # optax's (lossbridge.optax.ctc_loss), with paddings from the lengths.
    dtype = y_pred.dtype
    frames = xp.arange(y_pred.shape[1], dtype=index)[None, :]
    padded = frames >= input_len[:, None]
    # TensorFlow's kernel never reads the frames past input_length: whatever they hold (a
    # negative or NaN probability) must not reach the recursion through 0 * NaN
    logp = xp.log(xp.where(padded[:, :, None], xp.ones_like(y_pred), y_pred) + k.EPSILON)
    nll = _optax_ctc(
        logp,
        xp.astype(padded, dtype),
        used,
        xp.astype(positions >= label_len[:, None], dtype),
        blank_id=num_classes - 1,
    )
    return xp.expand_dims(nll, axis=-1)


# -------------------------------------------------------------------- classes

ctc_batch_cost = wrap_raw_errors(ctc_batch_cost, k.RAW_ERROR_FIX)


class MeanSquaredError(LossFunctionWrapper):
    """``tf.keras.losses.MeanSquaredError``: :func:`mean_squared_error` per sample in the tf.keras 2 pipeline.

    Defaults ``reduction="auto"`` (sum over the per-sample losses divided by their
    number), ``name="mean_squared_error"``; inputs keep their dtype.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.MeanSquaredError()(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                                      np.array([[1.0, 1.0], [1.0, 0.0]])))
        0.5
    """

    def __init__(self, reduction: Any = "auto", name: str = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    """``tf.keras.losses.MeanAbsoluteError``: :func:`mean_absolute_error` in the tf.keras 2 pipeline.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])))
        1.5
    """

    def __init__(self, reduction: Any = "auto", name: str = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """``tf.keras.losses.MeanAbsolutePercentageError``: :func:`mean_absolute_percentage_error` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.MeanAbsolutePercentageError()(np.array([[1.0, 2.0]]), np.array([[1.5, 2.0]])))
        25.0
    """

    def __init__(self, reduction: Any = "auto", name: str = "mean_absolute_percentage_error") -> None:
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """``tf.keras.losses.MeanSquaredLogarithmicError``: :func:`mean_squared_logarithmic_error` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.MeanSquaredLogarithmicError()(np.array([[0.0]]), np.array([[np.e - 1]]))), 6)
        1.0
    """

    def __init__(self, reduction: Any = "auto", name: str = "mean_squared_logarithmic_error") -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction)


class BinaryCrossentropy(LossFunctionWrapper):
    """``tf.keras.losses.BinaryCrossentropy``: :func:`binary_crossentropy` (epsilon inside the log).

    Defaults ``from_logits=False, label_smoothing=0.0, axis=-1, reduction="auto",
    name="binary_crossentropy"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.BinaryCrossentropy()(np.array([[0.0, 1.0], [0.0, 0.0]]),
        ...                                              np.array([[0.6, 0.4], [0.4, 0.6]]))), 5)
        0.81492
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "auto", name: str = "binary_crossentropy") -> None:
        super().__init__(binary_crossentropy, name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """``tf.keras.losses.BinaryFocalCrossentropy``: :func:`binary_focal_crossentropy` per sample.

    Defaults ``apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1, reduction="auto", name="binary_focal_crossentropy"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.BinaryFocalCrossentropy(gamma=2.0)(np.array([[0.0, 1.0]]),
        ...                                                            np.array([[0.6, 0.4]]))), 5)
        0.32986
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "auto", name: str = "binary_focal_crossentropy") -> None:
        super().__init__(binary_focal_crossentropy, name=name, reduction=reduction,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma


class CategoricalCrossentropy(LossFunctionWrapper):
    """``tf.keras.losses.CategoricalCrossentropy``: :func:`categorical_crossentropy` per sample.

    Defaults ``from_logits=False, label_smoothing=0.0, axis=-1, reduction="auto",
    name="categorical_crossentropy"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.CategoricalCrossentropy()(np.array([[0.0, 1.0]]), np.array([[0.2, 0.8]]))), 6)
        0.223144
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "auto", name: str = "categorical_crossentropy") -> None:
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """``tf.keras.losses.CategoricalFocalCrossentropy``: :func:`categorical_focal_crossentropy` per sample.

    Defaults ``alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
    reduction="auto", name="categorical_focal_crossentropy"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.CategoricalFocalCrossentropy()(np.array([[0.0, 1.0]]), np.array([[0.2, 0.8]]))), 6)
        0.002231
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: Any = "auto",
                 name: str = "categorical_focal_crossentropy") -> None:
        super().__init__(categorical_focal_crossentropy, name=name, reduction=reduction, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """``tf.keras.losses.SparseCategoricalCrossentropy``: :func:`sparse_categorical_crossentropy` per sample.

    Defaults ``from_logits=False, ignore_class=None, reduction="auto",
    name="sparse_categorical_crossentropy"`` (no ``axis`` in tf.keras 2's class).
    With ``ignore_class`` the mean is over the other samples.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> y_pred = np.array([[0.2, 0.8], [0.5, 0.5]])
        >>> round(float(lb.tf_keras.SparseCategoricalCrossentropy(ignore_class=0)(np.array([1, 0]), y_pred)), 6)
        0.223144
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: Any = "auto", name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits


class CosineSimilarity(LossFunctionWrapper):
    """``tf.keras.losses.CosineSimilarity``: :func:`cosine_similarity` (``tf.linalg.l2_normalize``) per sample.

    Defaults ``axis=-1, reduction="auto", name="cosine_similarity"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.CosineSimilarity()(np.array([[1.0, 1.0], [1.0, 0.0]]),
        ...                                             np.array([[1.0, 1.0], [0.0, 1.0]]))), 6)
        -0.5
    """

    def __init__(self, axis: int = -1, reduction: Any = "auto", name: str = "cosine_similarity") -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)


class Hinge(LossFunctionWrapper):
    """``tf.keras.losses.Hinge``: :func:`hinge` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.Hinge()(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])))
        1.0
    """

    def __init__(self, reduction: Any = "auto", name: str = "hinge") -> None:
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    """``tf.keras.losses.SquaredHinge``: :func:`squared_hinge` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.SquaredHinge()(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])))
        1.25
    """

    def __init__(self, reduction: Any = "auto", name: str = "squared_hinge") -> None:
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    """``tf.keras.losses.CategoricalHinge``: :func:`categorical_hinge` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.CategoricalHinge()(np.array([[0.0, 1.0]]), np.array([[0.3, 0.5]]))), 6)
        0.8
    """

    def __init__(self, reduction: Any = "auto", name: str = "categorical_hinge") -> None:
        super().__init__(categorical_hinge, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    """``tf.keras.losses.Poisson``: :func:`poisson` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.Poisson()(np.array([[1.0]]), np.array([[1.0]]))), 6)
        1.0
    """

    def __init__(self, reduction: Any = "auto", name: str = "poisson") -> None:
        super().__init__(poisson, name=name, reduction=reduction)


class LogCosh(LossFunctionWrapper):
    """``tf.keras.losses.LogCosh``: :func:`log_cosh` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.LogCosh()(np.array([[0.0]]), np.array([[1.0]]))), 6)
        0.433781
    """

    def __init__(self, reduction: Any = "auto", name: str = "log_cosh") -> None:
        super().__init__(log_cosh, name=name, reduction=reduction)


class KLDivergence(LossFunctionWrapper):
    """``tf.keras.losses.KLDivergence``: :func:`kl_divergence` per sample.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.tf_keras.KLDivergence()(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]]))), 6)
        0.143841
    """

    def __init__(self, reduction: Any = "auto", name: str = "kl_divergence") -> None:
        super().__init__(kl_divergence, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """``tf.keras.losses.Huber``: :func:`huber` per sample (computed in float32).

    Defaults ``delta=1.0, reduction="auto", name="huber_loss"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.tf_keras.Huber()(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])))
        1.3125
    """

    def __init__(self, delta: float = 1.0, reduction: Any = "auto", name: str = "huber_loss") -> None:
        super().__init__(huber, name=name, reduction=reduction, delta=delta)
