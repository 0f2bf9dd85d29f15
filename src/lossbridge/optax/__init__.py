"""optax losses with optax's semantics, on NumPy, torch and JAX arrays.

``lossbridge.optax.<name>`` is ``optax.losses.<name>`` (optax 0.2.8) for every
public name, with optax's signatures (argument names, defaults, keyword-only
markers), values, gradients, dtype checks and errors, on any array.

optax conventions: every function returns **per-example** values and never
reduces (call ``.mean()`` yourself; the exceptions are ``ranking_softmax_loss``
(``reduce_fn=mean``), ``ntxent`` and the Dice losses, which reduce as in optax);
predictions are **logits** (there is no ``from_logits``); the argument order is
``(logits, labels)``; ``axis=`` names the class axis and ``where=`` masks entries
out of the softmax and the sums (a row with nothing selected gives 0).  Integer
labels index like ``jnp.take_along_axis``: ``-1`` wraps to the last class and a
label ``>= C`` or ``< -C`` gives NaN, never an error (optax runs under ``jit``,
where no error can be raised).  Inputs that optax requires to be floating raise a
``TypeError`` (a :class:`~lossbridge.LossBridgeTypeError`) otherwise.

Everything runs under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` on JAX arrays,
and under torch autograd on tensors.  Called eagerly on JAX arrays, a loss runs
compiled (``jax.jit`` of the same code, as optax is used), except the Dice losses
(they read values on the host) and the losses ``make_fenchel_young_loss`` builds.  The known limits: ``dice_loss`` checks
``apply_softmax=False`` probabilities only where their values can be read (not
under ``jax.jit``); ``multiclass_sparsemax_loss`` takes ``(batch, classes)``
scores only; ``make_fenchel_young_loss`` needs a ``max_fun`` that runs on the
arrays it is given (see there).

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> logits = np.array([[2.0, 1.0, 0.0]])
    >>> lb.optax.softmax_cross_entropy_with_integer_labels(logits, np.array([0])).round(6).tolist()
    [0.407606]

Intentional divergences on bad inputs (the table ``lossbridge._divergences.DIVERGENCES``,
which the bad-input suite tests):

* ``masked``: NumPy masked arrays are refused (LossBridgeTypeError): JAX drops the mask.
* ``big_endian``: big-endian NumPy arrays are refused on every loss (LossBridgeTypeError); optax refuses them except where its first operation is a NumPy one.
* ``object``: NumPy object arrays are refused on every loss (LossBridgeTypeError); optax refuses them except where its first operation is a NumPy one.
* ``complex``: complex arrays are refused on every loss (LossBridgeTypeError); optax computes some losses on complex numbers (JAX's complex orderings in max/sort/clip) and fails in others.
"""

from __future__ import annotations

from .. import _catalog
from ._classification import (
    convex_kl_divergence,
    generalized_kl_divergence,
    hinge_loss,
    kl_divergence,
    kl_divergence_with_log_targets,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    multiclass_sparsemax_loss,
    perceptron_loss,
    poly_loss_cross_entropy,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    sparsemax_loss,
)
from ._ctc import ctc_loss, ctc_loss_with_forward_probs
from ._fenchel_young import make_fenchel_young_loss
from ._ranking import ranking_softmax_loss
from ._regression import (
    cosine_distance,
    cosine_similarity,
    huber_loss,
    l2_loss,
    log_cosh,
    squared_error,
)
from ._segmentation import binary_dice_loss, dice_loss, multiclass_generalized_dice_loss
from ._self_supervised import ntxent, triplet_margin_loss
from ._smoothing import smooth_labels

_CTC = ("seq_logits", "seq_paddings", "seq_labels", "seq_label_paddings")
for _name, _roles, _summary in [
    ("binary_dice_loss", ("logits", "onehot"), "Dice of sigmoid(logits) over spatial axes, mean over classes"),
    ("convex_kl_divergence", ("log_probs", "soft_targets"), "deprecated alias of generalized_kl_divergence"),
    ("cosine_distance", ("values", "targets"), "1 - cosine similarity over the last axis"),
    ("cosine_similarity", ("values", "targets"), "cosine similarity over the last axis (epsilon bounds squared norms)"),
    ("ctc_loss", _CTC, "CTC negative log-likelihood per sequence, batch-major logits, paddings"),
    ("ctc_loss_with_forward_probs", _CTC, "CTC loss and forward variables (compare shows the loss)"),
    ("dice_loss", ("logits", "onehot"), "soft Dice/Tversky per class from logits, mean over classes"),
    ("generalized_kl_divergence", ("log_probs", "soft_targets"), "KL + sum(q - y): unnormalised distributions"),
    ("hinge_loss", ("values", "signs"), "max(0, 1 - x*y), element-wise, y in {-1, 1}"),
    ("huber_loss", ("values", "targets"), "element-wise Huber, delta=1"),
    ("kl_divergence", ("log_probs", "soft_targets"), "KL(targets || predictions), predictions in log space"),
    ("kl_divergence_with_log_targets", ("log_probs", "log_soft_targets"), "KL with log-space targets"),
    ("l2_loss", ("values", "targets"), "0.5 * (p - t)^2, element-wise (half of MSE)"),
    ("log_cosh", ("values", "targets"), "log(cosh(p - t)), element-wise"),
    ("multiclass_generalized_dice_loss", ("logits", "onehot"), "generalised Dice, inverse squared class frequencies, one scalar"),
    ("multiclass_hinge_loss", ("logits", "labels"), "Crammer-Singer hinge, integer labels"),
    ("multiclass_perceptron_loss", ("logits", "labels"), "max(s) - s[label], integer labels"),
    ("multiclass_sparsemax_loss", ("logits", "labels"), "sparsemax loss, integer labels, (batch, classes)"),
    ("ntxent", ("embeddings", "groups"), "NT-Xent contrastive loss, one scalar"),
    ("perceptron_loss", ("values", "signs"), "max(0, -x*y), element-wise, y in {-1, 1}"),
    ("poly_loss_cross_entropy", ("logits", "onehot"), "Poly-1: cross-entropy + 2 * (1 - p_t)"),
    ("ranking_softmax_loss", ("logits", "onehot"), "listwise softmax cross-entropy, mean over lists"),
    ("safe_softmax_cross_entropy", ("logits", "onehot"), "softmax cross-entropy with 0 * log 0 = 0"),
    ("sigmoid_binary_cross_entropy", ("logits", "onehot"), "element-wise, logits"),
    ("sigmoid_focal_loss", ("logits", "onehot"), "focal loss (gamma=2), element-wise, logits"),
    ("softmax_cross_entropy", ("logits", "onehot"), "per example, logits and probabilities"),
    ("softmax_cross_entropy_with_integer_labels", ("logits", "labels"), "per example, integer labels (-1 wraps)"),
    ("sparsemax_loss", ("logits", "onehot"), "binary sparsemax loss, element-wise"),
    ("squared_error", ("values", "targets"), "(p - t)^2, element-wise (shapes must match)"),
    ("triplet_margin_loss", ("anchors", "positives", "negatives"), "max(d(a,p) - d(a,n) + 1, 0) per triplet"),
]:
    _catalog.register("optax", _name, _roles, _summary)
_catalog.register("optax", "smooth_labels", ("onehot",), "label smoothing (alpha=0.1): not a loss", alpha=0.1)
del _name, _roles, _summary

__all__ = [
    "binary_dice_loss",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "dice_loss",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "l2_loss",
    "log_cosh",
    "make_fenchel_young_loss",
    "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "ntxent",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
    "squared_error",
    "triplet_margin_loss",
]

import functools as _functools  # noqa: E402
from typing import Any as _Any  # noqa: E402

from .._backend import describe as _describe  # noqa: E402
from .._errors import LossBridgeTypeError as _LossBridgeTypeError  # noqa: E402
from .._validate import wrap_public as _wrap_public  # noqa: E402  (after __all__: it reads it)


def _refuse_complex(fn: _Any) -> _Any:
    """``fn``, refusing complex arrays (the documented divergence ``complex``) and ``None`` for
    an argument without a default (optax fails inside, with a TypeError or ValueError)."""
    import inspect

    params = inspect.signature(fn).parameters
    names = list(params)
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}

    @_functools.wraps(fn)
    def wrapper(*args: _Any, **kwargs: _Any) -> _Any:
        for name, a in (*zip(names, args, strict=False), *kwargs.items()):
            if a is None and name in required:
                raise _LossBridgeTypeError(
                    f"`{name}` of {fn.__name__} is None, but optax needs an array for it. Pass "
                    "a NumPy array, a JAX array, a torch tensor, or a Python number or list."
                )
            dtype = getattr(a, "dtype", None)
            if dtype is not None and "complex" in str(dtype):
                raise _LossBridgeTypeError(
                    f"`{name}` of {fn.__name__} is a {_describe(a)}: lossbridge.optax "
                    "refuses complex arrays (optax's losses are real-valued; JAX computes some "
                    "on complex numbers with its own orderings, torch's kernels refuse most). "
                    "Pass real arrays."
                )
        return fn(*args, **kwargs)

    return wrapper


for _name in __all__:
    if _name != "make_fenchel_young_loss":
        globals()[_name] = _refuse_complex(globals()[_name])
del _name

# A raw error of NumPy, torch or JAX from inside a loss ("operands could not be broadcast", a
# kernel without a dtype) becomes the lossbridge error of the same built-in type.
_wrap_public(
    globals(),
    "Pass floating-point arrays of the shapes the optax function documents (integer labels "
    "where it takes labels), as optax takes them.",
)
