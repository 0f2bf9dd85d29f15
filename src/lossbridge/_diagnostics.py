"""Diagnostics: the common mistakes of a loss call, found on the arrays themselves.

``lossbridge.diagnose(loss, *args, **kwargs)`` inspects one call of ``loss`` (a
lossbridge loss, a catalog name such as ``"torch:cross_entropy"`` or
``"keras:CategoricalCrossentropy(from_logits=True)"``, or a real torch / Keras /
optax loss, read as its lossbridge counterpart) and returns a list of
:class:`Finding` (stable ``code``, ``message`` naming the arrays and what was
seen, ``fix``).  It never calls the loss and never raises for a mistake it finds.

The dialect losses run the same detectors on every concrete call (never inside
``jax.jit``, ``jax.vmap`` or a ``torch.compile`` trace) at the level set by
:func:`checks`, and emit each finding as a warning of its family's
:class:`~lossbridge.LossBridgeWarning` subclass, its code first in the message:

==========  =======================================================================
level       what runs, and what it costs
==========  =======================================================================
``"off"``   nothing (errors that the framework itself raises are still raised)
``"cheap"`` the default: checks of shapes, dtypes and configuration (free) and
            of the *labels* (one reduction over the integer targets, ``N`` values;
            on an accelerator one host sync per check, as the label range check
            that lossbridge already runs for torch's ``IndexError``)
``"full"``  adds the checks that read every value of the predictions (and of
            soft targets): several passes over the arrays (min, max, a float64
            sum over the class axis, NaN/inf) and host syncs - a debugging level
            (``benchmarks/diagnostics_overhead.py``, N=512, C=1000 on CPU: cheap
            x1.24 and full x13 a native torch cross_entropy; x1.03 / x2.2 on NumPy).
==========  =======================================================================

Codes (one registry, :data:`CODES`; the family is the warning class)
--------------------------------------------------------------------

Domain (:class:`LossBridgeDomainWarning`):

* ``LB001`` (full) probabilities where logits are expected: softmax/sigmoid applied
  before a loss that applies it again (``CrossEntropyLoss``, ``from_logits=True``,
  ``BCEWithLogitsLoss``, optax).  Fires when every value is in [0, 1] and every
  row sums to 1 over the class axis (softmax), or, for the binary losses, when at
  least 16 values are all in [0, 1] (sigmoid outputs).
* ``LB002`` (full) logits (or log-probabilities) where probabilities are expected
  (Keras ``from_logits=False``, Theano, torch ``BCELoss``): a value below 0 or above 1.
* ``LB003`` (full) probabilities where log-probabilities are expected
  (``NLLLoss``, ``KLDivLoss``/``kl_div`` input, optax ``kl_divergence``): every
  value in [0, 1] and one above 0.
* ``LB004`` (full) unnormalised scores (logits) where log-probabilities are
  expected: a value above 0 and one outside [0, 1].
* ``LB005`` (full) rows normalised over the wrong axis (channels-first against
  channels-last, ``softmax(dim=0)``): the predictions are probabilities (or
  log-probabilities) over another axis than the loss' class axis.
* ``LB006`` (full) log-probabilities as a KL target without ``log_target=True``:
  negative target values.

Targets (:class:`LossBridgeTargetWarning`):

* ``LB010`` (cheap) one-hot (or probability) targets where class indices are
  expected (``NLLLoss``, Keras' sparse losses, optax's integer-label losses).
* ``LB011`` (cheap) class indices where one-hot targets are expected (Keras'
  ``CategoricalCrossentropy``, optax ``softmax_cross_entropy``, which broadcasts
  an ``(N,)`` label vector against ``(N, N)`` logits without a word).
* ``LB012`` (cheap) an *integer* one-hot target of the input's shape in torch's
  ``cross_entropy`` (torch reads a target of the input's shape as probabilities
  and refuses integers).
* ``LB013`` (full) a *float* one-hot target with class ``weight`` in torch's
  ``cross_entropy``: read as probabilities, its ``"mean"`` divides by ``N``, not by
  the weights of the targets as the index form does.
* ``LB014`` (cheap) labels out of range, ``ignore_index``/``ignore_class`` honoured
  (torch raises, Keras on JAX gives a loss of 0, optax wraps negative labels and
  gives NaN above ``C``).
* ``LB015`` (cheap) non-integer float labels to a sparse loss (Keras truncates 1.7 to 1).
* ``LB016`` (cheap) every target ignored under a mean reduction: torch's ``"mean"`` is
  NaN, Keras' ``"sum_over_batch_size"``/``"mean"`` a silent 0 (a sum or per-element values of a
  fully ignored batch are 0, as they should be, and are not reported).

Shapes (:class:`LossBridgeShapeWarning`):

* ``LB020`` (cheap) an ``(N, 1)`` against an ``(N,)`` array (or any two different
  shapes) in a pointwise loss: torch and optax broadcast to ``(N, N)``.  (Keras
  aligns the ranks of ``y_true``/``y_pred`` and is silent only for other shapes.)
* ``LB021`` (cheap) a Keras ``sample_weight`` of one weight per sample ``(N,)``
  against a per-timestep loss ``(N, T)``: Keras broadcasts it over the *last*
  axis (silently wrong when ``T == N``, an error otherwise).

Reduction (:class:`LossBridgeReductionWarning`):

* ``LB030`` (cheap) ``KLDivLoss``/``kl_div`` with ``reduction='mean'``: divides by
  ``N * C``, not ``N`` (torch warns too; the message starts with torch's text).

Values (:class:`LossBridgeValueWarning`):

* ``LB040`` (full) NaN, +inf (or -inf outside logits and log-probabilities) in an input.

A detector that would only repeat an error the dialect raises anyway (``LB010``,
``LB012``, ``LB014`` on torch) finds it in :func:`diagnose` and stays quiet in the
call, where the error says the same.  Measured false-positive rates over seeded
random clean inputs: ``tools/diagnose_fpr.py``.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    >>> [f.code for f in lb.diagnose("torch:cross_entropy", probs, np.array([0, 2]))]
    ['LB001']
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _deferred
from ._backend import Namespace, _numpy_namespace, array_kind, describe, get_namespace
from ._checks import is_concrete  # also False under torch.func.vmap
from ._config import _LEVELS, _set_level, check_level
from ._errors import LossBridgeError, LossBridgeTypeError, LossBridgeWarning
from ._warnings import warn

__all__ = [
    "CODES",
    "Code",
    "Finding",
    "LossBridgeDomainWarning",
    "LossBridgeReductionWarning",
    "LossBridgeShapeWarning",
    "LossBridgeTargetWarning",
    "LossBridgeValueWarning",
    "checks",
    "diagnose",
]


# ------------------------------------------------------------------ warnings


class LossBridgeDomainWarning(LossBridgeWarning):
    """LB00x: probabilities, logits and log-probabilities mixed up, or the wrong axis."""


class LossBridgeTargetWarning(LossBridgeWarning):
    """LB01x: targets in the wrong encoding, labels out of range, every target ignored."""


class LossBridgeShapeWarning(LossBridgeWarning):
    """LB02x: shapes that broadcast silently into a wrong loss."""


class LossBridgeReductionWarning(LossBridgeWarning):
    """LB03x: a reduction that does not compute what its name suggests."""


class LossBridgeValueWarning(LossBridgeWarning):
    """LB04x: NaN or infinite inputs."""


# ------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Code:
    """One diagnostic code: its family (warning class), level and title."""

    code: str
    category: type[LossBridgeWarning]
    level: str  # "cheap" or "full"
    title: str


def _codes(*rows: tuple[str, type[LossBridgeWarning], str, str]) -> dict[str, Code]:
    return {c: Code(c, cat, level, title) for c, cat, level, title in rows}


#: Every code lossbridge reports (documented in this module's docstring and the README).
CODES: dict[str, Code] = _codes(
    ("LB001", LossBridgeDomainWarning, "full", "probabilities where logits are expected"),
    ("LB002", LossBridgeDomainWarning, "full", "logits where probabilities are expected"),
    ("LB003", LossBridgeDomainWarning, "full", "probabilities where log-probabilities are expected"),
    ("LB004", LossBridgeDomainWarning, "full", "logits where log-probabilities are expected"),
    ("LB005", LossBridgeDomainWarning, "full", "rows normalised over the wrong axis"),
    ("LB006", LossBridgeDomainWarning, "full", "log-probabilities as a KL target without log_target"),
    ("LB010", LossBridgeTargetWarning, "cheap", "one-hot targets where class indices are expected"),
    ("LB011", LossBridgeTargetWarning, "cheap", "class indices where one-hot targets are expected"),
    ("LB012", LossBridgeTargetWarning, "cheap", "integer one-hot target in torch cross_entropy"),
    ("LB013", LossBridgeTargetWarning, "full", "float one-hot target with class weights in torch cross_entropy"),
    ("LB014", LossBridgeTargetWarning, "cheap", "labels out of range"),
    ("LB015", LossBridgeTargetWarning, "cheap", "non-integer float labels to a sparse loss"),
    ("LB016", LossBridgeTargetWarning, "cheap", "every target ignored"),
    ("LB020", LossBridgeShapeWarning, "cheap", "shapes broadcast in a pointwise loss"),
    ("LB021", LossBridgeShapeWarning, "cheap", "per-sample weights against a per-timestep loss"),
    ("LB030", LossBridgeReductionWarning, "cheap", "KL divergence with reduction='mean'"),
    ("LB040", LossBridgeValueWarning, "full", "NaN or infinite values in an input"),
)


@dataclass(frozen=True)
class Finding:
    """One mistake found in a loss call.

    Attributes:
      code: the stable code (``"LB001"``), a key of :data:`CODES`.
      message: what was seen, naming the arrays (shapes, dtypes, values, counts).
      fix: what to change.
    """

    code: str
    message: str
    fix: str

    @property
    def title(self) -> str:
        return CODES[self.code].title

    @property
    def level(self) -> str:
        return CODES[self.code].level

    @property
    def category(self) -> type[LossBridgeWarning]:
        return CODES[self.code].category

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "title": self.title, "level": self.level,
                "message": self.message, "fix": self.fix}

    def __str__(self) -> str:
        return f"{self.code} ({self.title}): {self.message} Fix: {self.fix}"


# ------------------------------------------------------------------ check level


class checks:
    """Set the level of the input checks: ``"off"``, ``"cheap"`` (default) or ``"full"``.

    Takes effect at once, for the whole process; used as a context manager it
    restores the previous level on exit.  See the module docstring for what each
    level runs and costs.

    Example:
        >>> import lossbridge as lb
        >>> with lb.checks("full"):
        ...     lb.checks.level()
        'full'
        >>> lb.checks.level()
        'cheap'
    """

    def __init__(self, level: str) -> None:
        if level not in _LEVELS:
            raise LossBridgeError(
                f"Unknown check level {level!r}. Expected one of "
                f"{', '.join(map(repr, _LEVELS))}: lossbridge.checks('full') checks every value, "
                "'cheap' (the default) shapes and labels, 'off' nothing."
            )
        self.previous = check_level()
        self.current = level
        _set_level(level)

    @staticmethod
    def level() -> str:
        """The current level."""
        return check_level()

    @staticmethod
    def flush() -> None:
        """Run now the checks that earlier calls on accelerator tensors left pending.

        At the default level a loss call on accelerator tensors (CUDA, XPU, MPS, ...) never
        waits for the device: its label checks run on an asynchronous host copy at a later
        call, which raises (labels out of range) or warns then, naming the call that caused
        it.  ``flush()`` waits for those copies and runs their checks at once; it
        synchronises with the device, so call it where a sync is free (after a step, at the
        end of an epoch).  On CPU tensors, NumPy and JAX arrays nothing is ever pending.
        """
        _deferred.flush(wait=True)

    def __enter__(self) -> checks:
        return self

    def __exit__(self, *exc: Any) -> None:
        _set_level(self.previous)

    def __repr__(self) -> str:
        return f"lossbridge.checks({self.current!r})"


# ------------------------------------------------------------------ profiles

# What each loss expects: kind, prediction domain, target form.
#   kind: softmax (class axis), binary (elementwise), kl, pointwise, indexed (labels only)
#   pred: logits | probs | log_probs | from_logits (Keras: probs unless from_logits=True) | None
#   target: indices | onehot | either (indices or onehot/probabilities) | probs | None
_KINDS: dict[tuple[str, str], tuple[str, str | None, str | None]] = {
    ("torch", "cross_entropy"): ("softmax", "logits", "either"),
    ("torch", "nll_loss"): ("softmax", "log_probs", "indices"),
    ("torch", "binary_cross_entropy"): ("binary", "probs", None),
    ("torch", "binary_cross_entropy_with_logits"): ("binary", "logits", None),
    ("torch", "multilabel_soft_margin_loss"): ("binary", "logits", None),
    ("torch", "multi_margin_loss"): ("indexed", None, "indices"),
    ("torch", "kl_div"): ("kl", "log_probs", "probs"),
    ("torch", "mse_loss"): ("pointwise", None, None),
    ("torch", "l1_loss"): ("pointwise", None, None),
    ("torch", "huber_loss"): ("pointwise", None, None),
    ("torch", "smooth_l1_loss"): ("pointwise", None, None),
    ("torch", "poisson_nll_loss"): ("pointwise", None, None),
    ("torch", "soft_margin_loss"): ("pointwise", None, None),
    ("keras", "categorical_crossentropy"): ("softmax", "from_logits", "onehot"),
    ("keras", "categorical_focal_crossentropy"): ("softmax", "from_logits", "onehot"),
    ("keras", "sparse_categorical_crossentropy"): ("softmax", "from_logits", "indices"),
    ("keras", "binary_crossentropy"): ("binary", "from_logits", None),
    ("keras", "binary_focal_crossentropy"): ("binary", "from_logits", None),
    ("keras", "kl_divergence"): ("binary", "probs", None),
    ("keras", "mean_squared_error"): ("pointwise", None, None),
    ("keras", "mean_absolute_error"): ("pointwise", None, None),
    ("keras", "mean_absolute_percentage_error"): ("pointwise", None, None),
    ("keras", "mean_squared_logarithmic_error"): ("pointwise", None, None),
    ("keras", "huber"): ("pointwise", None, None),
    ("keras", "log_cosh"): ("pointwise", None, None),
    ("optax", "softmax_cross_entropy"): ("softmax", "logits", "onehot"),
    ("optax", "safe_softmax_cross_entropy"): ("softmax", "logits", "onehot"),
    ("optax", "poly_loss_cross_entropy"): ("softmax", "logits", "onehot"),
    ("optax", "softmax_cross_entropy_with_integer_labels"): ("softmax", "logits", "indices"),
    ("optax", "multiclass_hinge_loss"): ("indexed", None, "indices"),
    ("optax", "multiclass_perceptron_loss"): ("indexed", None, "indices"),
    ("optax", "multiclass_sparsemax_loss"): ("indexed", None, "indices"),
    ("optax", "sigmoid_binary_cross_entropy"): ("binary", "logits", None),
    ("optax", "sigmoid_focal_loss"): ("binary", "logits", None),
    ("optax", "kl_divergence"): ("kl", "log_probs", "probs"),
    ("optax", "huber_loss"): ("pointwise", None, None),
    ("optax", "log_cosh"): ("pointwise", None, None),
    ("theano", "categorical_crossentropy"): ("softmax", "probs", "either"),
    ("theano", "crossentropy_categorical_1hot"): ("softmax", "probs", "indices"),
    ("theano", "binary_crossentropy"): ("binary", "probs", None),
}

# torch's module classes, by the functional name they call.
_TORCH_CLASSES = {
    "CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "NLLLoss2d": "nll_loss",
    "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss", "MultiMarginLoss": "multi_margin_loss",
    "KLDivLoss": "kl_div", "MSELoss": "mse_loss", "L1Loss": "l1_loss", "HuberLoss": "huber_loss",
    "SmoothL1Loss": "smooth_l1_loss", "PoissonNLLLoss": "poisson_nll_loss",
    "SoftMarginLoss": "soft_margin_loss",
}
_TORCH_ATTRS = ("reduction", "ignore_index", "weight", "label_smoothing", "log_target", "pos_weight")

# Codes that a dialect already emits itself (as the framework does), so its call
# hook does not repeat them; diagnose() reports them all.
_EMITTED_BY_DIALECT = {"torch": {"LB020", "LB030"}, "keras": {"LB014"}}

# Codes whose case the dialect turns into an error anyway: quiet in the call hook.
_RAISED_BY_DIALECT = {"torch": {"LB010", "LB012", "LB014"}, "keras": {"LB010", "LB011"}}


@functools.lru_cache(maxsize=1024)
def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class _Profile:
    dialect: str
    name: str
    kind: str | None = None
    pred_domain: str | None = None
    target_form: str | None = None
    pred: str | None = None  # argument names
    target: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.dialect}:{self.name}"

    def class_axis(self, ndim: int) -> int:
        if self.dialect == "torch":
            return 0 if ndim == 1 else 1
        axis = self.config.get("axis", -1)
        axis = -1 if axis is None else int(axis)
        return axis % ndim if ndim else 0

    @property
    def ignore(self) -> tuple[int | None, str]:
        if "ignore_index" in self.config:
            return self.config["ignore_index"], "ignore_index"
        return self.config.get("ignore_class"), "ignore_class"


def _profile(dialect: str, name: str, config: dict[str, Any], pred: str | None, target: str | None) -> _Profile:
    key = name
    if dialect == "torch":
        key = _TORCH_CLASSES.get(name, name)
    elif dialect == "keras" and name[:1].isupper():
        key = _snake(name)
    kind, domain, target_form = _KINDS.get((dialect, key), (None, None, None))
    if domain == "from_logits":
        domain = "logits" if config.get("from_logits") else "probs"
    if kind == "kl" and config.get("log_target"):
        target_form = "log_probs"
    return _Profile(dialect, key, kind, domain, target_form, pred, target, dict(config))


# ------------------------------------------------------------------ helpers


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _isnan(x: Any) -> bool:
    """NaN test of a 0-d result of any kind, read on the host (one scalar read)."""
    if hasattr(x, "detach"):
        x = x.detach()
    return math.isnan(x.item() if hasattr(x, "item") else float(x))


def _floating(ns: Namespace, x: Any) -> bool:
    try:
        return bool(ns.xp.isdtype(x.dtype, "real floating"))
    except Exception:
        return False


def _integral(ns: Namespace, x: Any) -> bool:
    try:
        return bool(ns.xp.isdtype(x.dtype, "integral"))
    except Exception:
        return False


def _f64(ns: Namespace, x: Any) -> Any:
    """``x`` as float (float32 where float64 is missing, JAX without x64)."""
    xp = ns.xp
    if ns.kind == "jax":
        return xp.astype(x, xp.float32) if not _floating(ns, x) else x
    return xp.astype(x, xp.float64)


def _minmax(ns: Namespace, x: Any) -> tuple[float, float]:
    xp = ns.xp
    return float(xp.min(x)), float(xp.max(x))


def _sums_to_one(ns: Namespace, x: Any, axis: int) -> bool:
    """Every slice along ``axis`` sums to 1 (within the dtype's rounding)."""
    xp = ns.xp
    s = xp.sum(_f64(ns, x), axis=axis)
    n = x.shape[axis]
    eps = float(xp.finfo(x.dtype).eps) if _floating(ns, x) else 0.0
    tol = 1e-3 + 4 * n * eps
    return bool(xp.all(xp.abs(s - 1.0) <= tol))


def _logsumexp_zero(ns: Namespace, x: Any, axis: int) -> bool:
    from . import ops

    xp = ns.xp
    v = _f64(ns, x)
    lse = ops.logsumexp(v, axis=axis)
    return bool(xp.all(xp.abs(lse) <= 1e-3 + 4 * x.shape[axis] * float(xp.finfo(x.dtype).eps)))


def _other_axes(ndim: int, axis: int) -> list[int]:
    return [a for a in range(ndim) if a != axis]


def _count(ns: Namespace, mask: Any) -> int:
    return int(ns.xp.sum(ns.xp.astype(mask, ns.xp.int32)))


def _first(ns: Namespace, mask: Any) -> list[int]:
    if mask.ndim == 0:
        return []
    where = ns.xp.nonzero(mask)
    return [int(w[0]) for w in where]


def _num(v: float) -> str:
    return f"{v:.4g}"


# ------------------------------------------------------------------ detectors

_Detector = Callable[[_Profile, dict[str, Any], Namespace, dict[str, Any]], Iterator[Finding]]
_DETECTORS: list[tuple[str, _Detector]] = []  # (level, detector)


def _detector(level: str) -> Callable[[_Detector], _Detector]:
    def register(fn: _Detector) -> _Detector:
        _DETECTORS.append((level, fn))
        return fn

    return register


def _pt(p: _Profile, a: dict[str, Any]) -> tuple[Any, Any]:
    pred = a.get(p.pred) if p.pred else None
    target = a.get(p.target) if p.target else None
    return (pred if _is_array(pred) else None), (target if _is_array(target) else None)


def _index_shape(p: _Profile, pred: Any) -> tuple[int, ...]:
    """The shape of a class-index target for ``pred`` (the class axis removed)."""
    ax = p.class_axis(pred.ndim)
    return tuple(d for i, d in enumerate(pred.shape) if i != ax)


def _is_index_target(p: _Profile, pred: Any, target: Any, ns: Namespace) -> bool:
    """Is ``target`` laid out as class indices for ``pred``?"""
    shape = tuple(target.shape)
    if shape == _index_shape(p, pred):
        return True
    # Keras: (N, 1) labels are squeezed
    return p.dialect == "keras" and shape == (*_index_shape(p, pred), 1)


@_detector("cheap")
def _encoding(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB010, LB011, LB012: one-hot against indices."""
    pred, target = _pt(p, a)
    if pred is None or target is None or p.kind != "softmax" or pred.ndim == 0:
        return
    ax = p.class_axis(pred.ndim)
    c = pred.shape[ax]
    same = tuple(target.shape) == tuple(pred.shape)
    if p.target_form == "indices" and same and c > 1:
        yield Finding(
            "LB010",
            f"`{p.target}` ({_describe(target)}) has the shape of `{p.pred}` ({_describe(pred)}), "
            f"but {p.id} takes one class index per sample, shape {_index_shape(p, pred)}.",
            f"Pass class indices: `{p.target}.argmax({ax})` of a one-hot target, or use the "
            "loss that takes one-hot targets (categorical_crossentropy, softmax_cross_entropy, "
            "torch's cross_entropy with a float target).",
        )
    if p.target_form == "onehot" and not same and c > 1 and (
        _is_index_target(p, pred, target, ns)
        or (target.ndim == pred.ndim and target.shape[ax] == 1)
        or _integral(ns, target)
    ):
        silent = _broadcasts(tuple(target.shape), tuple(pred.shape))
        yield Finding(
            "LB011",
            f"`{p.target}` ({_describe(target)}) looks like class indices, but {p.id} takes "
            f"one-hot targets of `{p.pred}`'s shape {tuple(pred.shape)}"
            + (": the two broadcast, so the loss multiplies the labels into the log-probabilities "
               "as if they were one-hot weights, without an error." if silent else "."),
            "One-hot encode the labels (`one_hot(labels, C)`), or use the sparse form "
            "(sparse_categorical_crossentropy, softmax_cross_entropy_with_integer_labels).",
        )
    if (p.dialect == "torch" and p.name == "cross_entropy" and same and _integral(ns, target)):
        yield Finding(
            "LB012",
            f"`target` is an integer array of `input`'s shape ({_describe(target)}): torch reads "
            "a target of the input's shape as class probabilities, which must be floating, and "
            "raises 'Expected floating point type for target with class probabilities'.",
            "Pass class indices `target.argmax(1)` (one per sample), or `target.float()` to use "
            "the one-hot rows as probabilities (then the mean ignores class weights and "
            "ignore_index).",
        )


def _labels_of(p: _Profile, pred: Any, target: Any, ns: Namespace) -> Any:
    """The class-index target of a call, or None when the target is not indices."""
    if p.target_form not in ("indices", "either") or target is None or pred is None:
        return None
    if p.kind not in ("softmax", "indexed") or pred.ndim == 0:
        return None
    if tuple(target.shape) == tuple(pred.shape) and p.target_form == "either":
        return None  # probabilities / one-hot
    if not (_integral(ns, target) or (p.dialect == "keras" and _floating(ns, target))):
        return None
    if not _is_index_target(p, pred, target, ns) and not (
        p.kind == "indexed" or (pred.ndim == 1 and target.ndim <= 1)
    ):
        return None
    return target


@_detector("cheap")
def _labels(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB014, LB015, LB016: the values of class-index targets."""
    pred, target = _pt(p, a)
    labels = _labels_of(p, pred, target, ns)
    if labels is None or math.prod(labels.shape) == 0:
        return
    xp = ns.xp
    c = pred.shape[p.class_axis(pred.ndim)]
    ignore, ignore_arg = p.ignore
    if _floating(ns, labels):
        whole = xp.floor(labels) == labels
        finite = xp.isfinite(labels)
        bad = finite & ~whole
        if bool(xp.any(bad)):
            pos = _first(ns, bad)
            yield Finding(
                "LB015",
                f"`{p.target}` ({_describe(labels)}) holds non-integer labels: "
                f"{_num(float(labels[tuple(pos)]))} at position {pos} ({_count(ns, bad)} of "
                f"{math.prod(labels.shape)}). {p.id} truncates them to integers (1.7 -> 1).",
                "Pass integer class indices; if these are probabilities or soft labels, use the "
                "categorical (one-hot) form of the loss.",
            )
        labels = xp.astype(xp.where(finite, labels, xp.zeros_like(labels)), xp.int32)
    ignored = None
    out = None
    if "LB014" not in ctx.get("skip", ()):
        out = (labels < 0) | (labels >= c)
        if ignore is not None:
            ignored = labels == ignore
            out = out & ~ignored
    if out is not None and bool(xp.any(out)):
        pos = _first(ns, out)
        value = int(labels[tuple(pos)])
        consequence = {
            "torch": "torch raises IndexError (on CUDA a device-side assert).",
            "keras": "Keras raises IndexError on torch and NumPy, and gives these samples a loss "
            "of 0 on JAX.",
            "optax": "optax wraps a label in [-C, 0) to label + C and gives NaN above C - 1.",
        }.get(p.dialect, "")
        yield Finding(
            "LB014",
            f"`{p.target}` holds the label {value} at position {pos} ({_count(ns, out)} labels "
            f"outside [0, {c - 1}] for {c} classes"
            + (f", {ignore_arg}={ignore}" if ignore is not None else "")
            + f"); `{p.pred}` is a {_describe(pred)}. " + consequence,
            "If the labels start at 1, subtract 1; if they mark padding or void pixels, pass that "
            f"value as `{ignore_arg}`; if the model has too few outputs, enlarge its last layer.",
        )
    red = p.config.get("reduction", "mean" if p.dialect == "torch" else None)
    means = ("mean",) if p.dialect == "torch" else ("sum_over_batch_size", "mean", "mean_with_sample_weight")
    # only where a mean divides by zero (torch: NaN; Keras: a silent 0); a sum or per-element
    # values of an empty batch are simply 0.  A torch mean that is a number had a target:
    # the labels are read only when the call's result is NaN.
    result = ctx.get("result")
    possible = not (p.dialect == "torch" and result is not None and _is_array(result) and result.ndim == 0
                    and not bool(_isnan(result)))
    if ignore is not None and red in means and possible:
        ignored = labels == ignore if ignored is None else ignored
    if ignored is not None and red in means and possible and bool(xp.all(ignored)):
        effect = (
            "torch's reduction='mean' divides 0 by 0 and returns NaN"
            if p.dialect == "torch" and red == "mean"
            else "the loss is 0 and carries no gradient"
        )
        yield Finding(
            "LB016",
            f"every one of the {math.prod(labels.shape)} labels of `{p.target}` equals "
            f"{ignore_arg}={ignore}: {effect}.",
            f"Check the padding / masking of the batch, or the value of `{ignore_arg}`; skip "
            "batches without a single labelled target.",
        )


@_detector("full")
def _domain(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB001-LB005: what the predictions hold against what the loss expects."""
    pred, _target = _pt(p, a)
    if pred is None or p.pred_domain is None or not _floating(ns, pred) or math.prod(pred.shape) == 0:
        return
    xp = ns.xp
    if not bool(xp.all(xp.isfinite(pred) | (xp.isinf(pred) & (pred < 0)))) or bool(xp.any(xp.isnan(pred))):
        return  # LB040's case
    finite = xp.where(xp.isfinite(pred), pred, xp.zeros_like(pred))
    lo, hi = _minmax(ns, finite)
    tol = 1e-6
    unit = lo >= -tol and hi <= 1 + tol
    softmax = p.kind == "softmax" and pred.ndim >= 1
    ax = p.class_axis(pred.ndim) if softmax else -1  # -1: unused unless softmax
    c = pred.shape[ax] if softmax else 0
    name = f"`{p.pred}` ({_describe(pred)}, values in [{_num(lo)}, {_num(hi)}])"

    def wrong_axis(check: Callable[[int], bool]) -> int | None:
        if not softmax or pred.ndim < 2 or c < 2 or check(ax):
            return None
        for other in _other_axes(pred.ndim, ax):
            if pred.shape[other] >= 2 and check(other):
                return other
        return None

    if p.pred_domain == "logits":
        if unit and softmax and c >= 2 and _sums_to_one(ns, pred, ax):
            yield Finding(
                "LB001",
                f"{name} looks like probabilities: every row sums to 1 over the class axis {ax}, "
                f"but {p.id} takes logits and applies softmax itself, so the softmax is applied "
                "twice (the loss is squashed towards log(C) and the gradients vanish).",
                "Remove the final softmax from the model (or pass from_logits=False / use the "
                "probability form of the loss).",
            )
            return
        other = wrong_axis(lambda axis: unit and _sums_to_one(ns, pred, axis))
        if other is not None:
            yield _wrong_axis_finding(p, name, pred.ndim, ax, other, "softmax was applied")
            return
        if unit and p.kind == "binary" and math.prod(pred.shape) >= 16:
            yield Finding(
                "LB001",
                f"{name} lies entirely in [0, 1], as sigmoid outputs do, but {p.id} takes logits "
                "and applies the sigmoid itself.",
                "Remove the final sigmoid from the model, or use the probability form "
                "(BCELoss, from_logits=False).",
            )
        return
    if p.pred_domain == "probs":
        if not unit:
            what = "log-probabilities" if hi <= tol else "logits"
            yield Finding(
                "LB002",
                f"{name} cannot be probabilities but looks like {what}: {p.id} takes "
                "probabilities"
                + (" and clips them to [1e-7, 1 - 1e-7], so the result is silently wrong."
                   if p.dialect == "keras" else "."),
                "Apply softmax/sigmoid in the model, or tell the loss it gets logits "
                "(from_logits=True, BCEWithLogitsLoss, CrossEntropyLoss).",
            )
            return
        other = wrong_axis(lambda axis: _sums_to_one(ns, pred, axis))
        if other is not None:
            yield _wrong_axis_finding(p, name, pred.ndim, ax, other, "the probabilities were normalised")
        return
    if p.pred_domain == "log_probs":
        if hi > tol:
            if lo >= -tol and hi <= 1 + tol:
                yield Finding(
                    "LB003",
                    f"{name} holds probabilities, but {p.id} takes log-probabilities"
                    + (" as its input" if p.kind == "kl" else "")
                    + ".",
                    "Pass log(p) - better log_softmax of the logits - instead of the "
                    "probabilities.",
                )
            else:
                yield Finding(
                    "LB004",
                    f"{name} has positive values, so it holds logits or scores, not the "
                    f"log-probabilities that {p.id} takes.",
                    "Apply log_softmax over the class axis first (or use CrossEntropyLoss / "
                    "cross_entropy, which does it for you).",
                )
            return
        if p.kind == "softmax":
            other = wrong_axis(lambda axis: _logsumexp_zero(ns, pred, axis))
            if other is not None:
                yield _wrong_axis_finding(p, name, pred.ndim, ax, other, "log_softmax was applied")


def _wrong_axis_finding(p: _Profile, name: str, ndim: int, ax: int, other: int, what: str) -> Finding:
    if other == 0:
        layout = " (over the batch axis 0: softmax(dim=0) instead of the class axis)"
    elif other == ndim - 1 and ax == 1:
        layout = " (channels-last data (N, ..., C) given to a channels-first loss)"
    elif ax == ndim - 1 and other == 1:
        layout = " (channels-first data (N, C, ...) given to a channels-last loss)"
    else:
        layout = ""
    return Finding(
        "LB005",
        f"{name}: {what} over axis {other}, but {p.id} takes the classes on axis {ax}{layout}.",
        f"Normalise over the class axis {ax} (softmax(dim={ax})), or move the classes there "
        f"(`movedim({other}, {ax})`), or give the loss the right axis (Keras/optax `axis=`).",
    )


@_detector("full")
def _kl_target(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB006: log-probabilities as the target of a KL divergence."""
    _, target = _pt(p, a)
    if p.kind != "kl" or p.target_form != "probs" or target is None or not _floating(ns, target):
        return
    xp = ns.xp
    neg = target < -1e-6
    if bool(xp.any(neg)):
        yield Finding(
            "LB006",
            f"`{p.target}` ({_describe(target)}) has {_count(ns, neg)} negative values, so it holds "
            f"log-probabilities, but {p.id} takes probabilities as its target (negative targets "
            "give NaN).",
            "Pass exp(target), or log_target=True (torch) / kl_divergence_with_log_targets (optax).",
        )


@_detector("full")
def _float_onehot_weighted(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB013: a float one-hot target with class weights in torch's cross_entropy."""
    pred, target = _pt(p, a)
    weight = p.config.get("weight") if p.config.get("weight") is not None else a.get("weight")
    if not (p.dialect == "torch" and p.name == "cross_entropy" and pred is not None and target is not None):
        return
    if weight is None or tuple(target.shape) != tuple(pred.shape) or not _floating(ns, target):
        return
    if p.config.get("reduction", "mean") != "mean" or pred.ndim == 0:
        return
    xp = ns.xp
    ax = p.class_axis(pred.ndim)
    binary = bool(xp.all((target == 0) | (target == 1)))
    if binary and _sums_to_one(ns, target, ax):
        yield Finding(
            "LB013",
            f"`target` ({_describe(target)}) is a float one-hot of `input`'s shape and `weight` is "
            "given: torch reads it as class probabilities, whose reduction='mean' divides by the "
            "number of samples N, while class indices divide by the sum of the weights of the "
            "targets - the two forms give different numbers.",
            "Pass class indices (`target.argmax(1)`) for the weighted mean of the index form, or "
            "keep the probabilities knowingly.",
        )


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b), strict=False))


def _keras_align(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shapes after Keras' squeeze_or_expand_to_same_rank."""
    if len(a) == len(b) + 1 and a and a[-1] == 1:
        return (a, (*b, 1)) if len(b) == 1 else (a[:-1], b)
    if len(b) == len(a) + 1 and b and b[-1] == 1:
        return ((*a, 1), b) if len(a) == 1 else (a, b[:-1])
    return a, b


@_detector("cheap")
def _pointwise_shapes(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB020: different prediction and target shapes in a pointwise loss."""
    pred, target = _pt(p, a)
    if p.kind not in ("pointwise", "binary") or pred is None or target is None:
        return
    ps, ts = tuple(pred.shape), tuple(target.shape)
    if p.dialect == "keras":
        ps, ts = _keras_align(ps, ts)
    if ps == ts or not _broadcasts(ps, ts):
        return  # equal, or an error the loss raises anyway
    n = max(len(ps), len(ts))
    out = tuple(max(x, y) for x, y in zip((1,) * (n - len(ps)) + ps, (1,) * (n - len(ts)) + ts, strict=False))
    hint = (
        f"`{p.pred}.squeeze(-1)`" if len(ps) == len(ts) + 1 and ps[-1] == 1
        else f"`{p.target}.squeeze(-1)`" if len(ts) == len(ps) + 1 and ts[-1] == 1
        else "reshaping one of them"
    )
    yield Finding(
        "LB020",
        f"`{p.pred}` has shape {tuple(pred.shape)} and `{p.target}` has shape "
        f"{tuple(target.shape)}: {p.id} broadcasts them to {out}"
        + (", comparing every prediction with every target" if math.prod(out) > max(math.prod(ps), math.prod(ts)) else "")
        + ", so the loss is not the per-sample error.",
        f"Give both the same shape, for example with {hint}.",
    )


@_detector("cheap")
def _sample_weight(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB021: Keras sample_weight (N,) against a per-timestep loss (N, T)."""
    sw = a.get("sample_weight")
    if p.dialect != "keras" or sw is None or not _is_array(sw):
        return
    vs = ctx.get("values_shape")
    if vs is None:
        pred, target = _pt(p, a)
        if pred is None or target is None:
            return
        ps, ts = _keras_align(tuple(pred.shape), tuple(target.shape))
        if not _broadcasts(ps, ts) or len(ps) != len(ts):
            return
        full = tuple(max(x, y) for x, y in zip(ps, ts, strict=False))
        vs = full[:-1]
    vs, ss = tuple(vs), tuple(sw.shape)
    if len(ss) == 0 or len(ss) >= len(vs) or math.prod(ss) == 1:
        return  # a single weight (batch of one) weights every element of its sample either way
    v2, s2 = _keras_align(vs, ss)
    if len(s2) == len(v2) or ss != vs[: len(ss)]:
        return
    silent = _broadcasts(v2, s2)
    if not silent and ctx.get("hook"):
        return  # the pipeline raises next, with the fix
    yield Finding(
        "LB021",
        f"`sample_weight` has shape {ss} (one weight per sample) but the per-sample loss has "
        f"shape {vs} (per timestep): Keras aligns only a trailing size-1 axis, so it "
        + ("broadcasts the weights over the LAST axis - sample i's weight multiplies timestep i "
           "of every sample - without an error." if silent else "cannot broadcast them and raises."),
        f"Pass `sample_weight[:, None]` (shape {ss + (1,) * (len(vs) - len(ss))}) for one weight "
        f"per sample, or weights of shape {vs} for one per timestep.",
    )


@_detector("cheap")
def _kl_mean(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB030: KLDivLoss with reduction='mean'."""
    if p.dialect == "torch" and p.kind == "kl" and p.config.get("reduction", "mean") == "mean":
        pred, _ = _pt(p, a)
        shape = f" (of shape {tuple(pred.shape)})" if pred is not None else ""
        yield Finding(
            "LB030",
            f"{p.id} with reduction='mean' divides the summed KL divergence of `input`{shape} by "
            "the number of elements N * C, not by the batch size N: the value is the KL "
            "divergence divided by the number of classes.",
            "Pass reduction='batchmean' (sum / N), the KL divergence of the batch.",
        )


@_detector("full")
def _nonfinite(p: _Profile, a: dict[str, Any], ns: Namespace, ctx: dict[str, Any]) -> Iterator[Finding]:
    """LB040: NaN and infinities in the inputs."""
    xp = ns.xp
    logit_like = p.pred_domain in ("logits", "log_probs")
    for arg, x in a.items():
        if not _is_array(x) or not _floating(ns, x) or math.prod(x.shape) == 0:
            continue
        nan = xp.isnan(x)
        neg_ok = (logit_like and arg == p.pred) or (p.target_form == "log_probs" and arg == p.target)
        inf = (x == math.inf) | ((x == -math.inf) if not neg_ok else xp.zeros_like(nan))
        n_nan, n_inf = _count(ns, nan), _count(ns, inf)
        if n_nan or n_inf:
            first = _first(ns, nan if n_nan else inf)
            seen = ", ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else "") if s)
            yield Finding(
                "LB040",
                f"`{arg}` ({_describe(x)}) holds {seen} value(s), the first at position {first}: "
                "the loss and its gradients become NaN.",
                "Find where they start (a log of 0, a division by 0, an overflowing exp, a "
                "too-large learning rate); torch.autograd.set_detect_anomaly or "
                "jax.config.update('jax_debug_nans', True) point at the operation.",
            )


# The cheap detectors that read values (the labels): run on the host, at once or deferred on
# accelerators; the others read shapes only, and their findings are cached per shape.
_VALUE_DETECTORS = frozenset({_labels, _kl_target})
_SHAPE_DETECTORS = frozenset(d for level, d in _DETECTORS if level == "cheap") - _VALUE_DETECTORS

# ------------------------------------------------------------------ running


def _run(profile: _Profile, arrays: dict[str, Any], ns: Namespace, levels: tuple[str, ...],
         ctx: dict[str, Any], only: Any = None) -> list[Finding]:
    found: list[Finding] = []
    for level, detector in _DETECTORS:
        if level in levels and (only is None or detector in only):
            found.extend(detector(profile, arrays, ns, ctx))
    return sorted(found, key=lambda f: f.code)


_ABSTRACT = object()


class _HostArray(np.ndarray):
    """A NumPy view of another library's array that keeps its description for messages."""

    _lb_desc = ""


def _describe(x: Any) -> str:
    return getattr(x, "_lb_desc", "") or describe(x)


def _host_view(ns: Namespace, x: Any) -> Any:
    """``x`` without autodiff wrapping: torch tensors detached; JAX arrays (also the
    concrete tracers of ``jax.grad``) read on the host as NumPy (``_ABSTRACT`` if
    they cannot be): eager JAX would compile every check for every new shape."""
    if not _is_array(x):
        return x
    if ns.kind == "torch":
        return x.detach()
    if ns.kind == "jax":
        import jax

        desc = describe(x)
        while isinstance(x, jax.core.Tracer):
            inner = getattr(x, "primal", None)
            if inner is None:
                return _ABSTRACT
            x = inner
        host = np.asarray(x)
        if host.dtype.name == "bfloat16":
            host = host.astype(np.float32)
        view = host.view(_HostArray)
        view._lb_desc = desc
        return view
    return x


def _host_namespace(ns: Namespace) -> Namespace:
    return _numpy_namespace() if ns.kind == "jax" else ns


def check_call(loss_id: str, ns: Namespace, arrays: dict[str, Any], config: dict[str, Any],
               values_shape: tuple[int, ...] | None = None, *, result: Any = None,
               concrete: bool = False) -> None:
    """The dialects' hook: warn about the findings of the current check level.

    ``loss_id`` is ``"dialect:name"``; ``arrays`` the call's arrays by argument
    name (torch: ``input``/``target``/``weight``; Keras: ``y_true``/``y_pred``/
    ``sample_weight``); ``config`` the loss' settings; ``result`` the loss the call
    computed, when the hook runs after it (torch: a NaN mean is how an all-ignored batch
    shows, so the labels are read only then); ``concrete``: the caller knows that the
    arrays are not traced.  Nothing runs at level ``"off"`` or on
    traced (abstract) arrays.

    At the default level the detectors that read only shapes run once per shape and
    configuration (their findings are cached); the ones that read values (the labels) run
    on the host at once, or, on accelerator tensors, on an asynchronous host copy at a
    later call (:mod:`lossbridge._deferred`): no call waits for the device.
    """
    level = check_level()
    if level == "off":
        return
    if _deferred.pending():
        _deferred.flush()
    try:
        _check_call(loss_id, ns, arrays, config, values_shape, result, concrete, level)
    finally:
        _deferred.commit()  # this call's deferred checks run at a later call


def _check_call(loss_id: str, ns: Namespace, arrays: dict[str, Any], config: dict[str, Any],
                values_shape: tuple[int, ...] | None, result: Any, concrete: bool,
                level: str) -> None:
    dialect, _, name = loss_id.partition(":")
    pred, target = ("y_pred", "y_true") if dialect == "keras" else ("input", "target")
    if not concrete and not all(
            is_concrete(arrays[k]) for k in (pred, target) if _is_array(arrays.get(k))):
        return
    skip = _EMITTED_BY_DIALECT.get(dialect, set()) | _RAISED_BY_DIALECT.get(dialect, set())
    ctx: dict[str, Any] = {"values_shape": values_shape, "hook": True, "skip": skip}
    if level == "full":
        _emit(_run(_profile(dialect, name, config, pred, target), _host_arrays(ns, arrays),
                   _host_namespace(ns), ("cheap", "full"), {**ctx, "result": result}), skip)
        return
    # the names of a loss' config and arrays are fixed: their values make the key
    key = (loss_id, values_shape, *map(_freeze, config.values()), *map(_freeze, arrays.values()))
    profile = _PROFILES.get(key)
    if profile is None:
        if len(_PROFILES) > 4096:  # many shapes (variable sequence lengths): start afresh
            _PROFILES.clear()
            _SHAPE_FINDINGS.clear()
        profile = _profile(dialect, name, config, pred, target)
        _PROFILES[key] = profile
        _SHAPE_FINDINGS[key] = [] if profile.kind is None else _run(
            profile, arrays, ns, ("cheap",), ctx, _SHAPE_DETECTORS)
    _emit(_SHAPE_FINDINGS[key], skip)
    if profile.kind is None:
        return
    value_arrays = {k: v for k, v in arrays.items() if k == target and _is_array(v)}
    if not value_arrays:
        return
    if any(_deferred.on_accelerator(ns, v) for v in value_arrays.values()):
        labels = _labels_of(profile, arrays.get(pred), arrays.get(target), ns)
        if labels is None:
            # the one value detector of this level reads class indices: a regression or
            # KL target (LB006 is a "full" detector) has nothing to copy
            return
        if dialect == "torch":
            # torch raises for labels out of range (the dialect's deferred check); what is
            # left is LB016, every target ignored, whose mean is NaN: only the mean goes to
            # the host, and the labels follow (one sync, at a later call) only when it is NaN.
            if (config.get("reduction", "mean") != "mean" or not _is_array(result)
                    or result.ndim != 0):
                return
            _defer_when_nan(profile, arrays, target, result, ns, ctx, skip)
            return
        shapes = {k: (tuple(v.shape), str(v.dtype)) for k, v in arrays.items()
                  if _is_array(v) and k not in value_arrays}
        copies = dict(value_arrays)
        if _is_array(result) and result.ndim == 0:
            copies["__result__"] = result

        def later(host: dict[str, Any], where: str) -> None:
            host_arrays = {k: v.numpy() for k, v in host.items() if k != "__result__"}
            for k, (shape, _) in shapes.items():
                host_arrays[k] = np.broadcast_to(np.zeros((), np.float32), shape)
            res = host["__result__"].numpy() if "__result__" in host else None
            found = _run(profile, host_arrays, _numpy_namespace(), ("cheap",),
                         {**ctx, "result": res}, _VALUE_DETECTORS)
            _emit([Finding(f.code, f"(in the loss call at {where}) {f.message}", f.fix)
                   for f in found], skip)

        _deferred.defer(later, copies)
        return
    if not _reads_values(profile, result):
        return
    host = {**{k: v for k, v in arrays.items() if k not in value_arrays},
            **_host_arrays(ns, value_arrays)}
    if any(v is _ABSTRACT for v in host.values()):
        return
    _emit(_run(profile, host, _host_namespace(ns), ("cheap",), {**ctx, "result": result},
               _VALUE_DETECTORS), skip)


_PROFILES: dict[Any, _Profile] = {}
_SHAPE_FINDINGS: dict[Any, list[Finding]] = {}


def _freeze(v: Any) -> Any:
    """A hashable key of a config value or an array (its type, shape and dtype)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    shape = getattr(v, "shape", None)
    if shape is not None:
        return (type(v), tuple(shape), v.dtype)
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


def _defer_when_nan(profile: _Profile, arrays: dict[str, Any], target: str, result: Any,
                    ns: Namespace, ctx: dict[str, Any], skip: set[str]) -> None:
    """The value detectors of a torch call with class indices on an accelerator: the mean is
    copied to the host without waiting, and :func:`_when_nan` runs at a later call."""
    later = _when_nan(lambda: profile, arrays, target, ctx, skip)
    _deferred.defer(lambda host, where: later(host["__result__"].numpy(), where),
                    {"__result__": result})


def _when_nan(profile: Callable[[], _Profile], arrays: dict[str, Any], target: str,
              ctx: dict[str, Any], skip: set[str]) -> Callable[[Any, str], None]:
    """``later(mean, where)``, with the host copy of a call's mean: only if it is NaN, the
    labels are copied (this waits for the device, once, in a batch whose loss is NaN anyway)
    and the value detectors run, their findings naming the call's file and line."""
    labels = arrays[target]
    shapes = {k: tuple(v.shape) for k, v in arrays.items() if _is_array(v) and k != target}

    def later(res: Any, where: str) -> None:
        if not np.isnan(res):
            return
        host_arrays: dict[str, Any] = {target: labels.detach().cpu().numpy()}
        for k, shape in shapes.items():
            host_arrays[k] = np.broadcast_to(np.zeros((), np.float32), shape)
        found = _run(profile(), host_arrays, _numpy_namespace(), ("cheap",),
                     {**ctx, "result": np.asarray(res)}, _VALUE_DETECTORS)
        _emit([Finding(f.code, f"(in the loss call at {where}) {f.message}", f.fix)
               for f in found], skip)

    return later


def torch_nan_mean_check(name: str, arrays: dict[str, Any], config: dict[str, Any]
                         ) -> Callable[[Any, str], None]:
    """:func:`_when_nan` for the accelerator fast path of the torch dialect's class-index
    losses (``name``: ``"cross_entropy"`` or ``"nll_loss"``; ``arrays``: ``input``,
    ``target``, ``weight``): what :func:`check_call` would defer for the same call at the
    default level, its profile built only when the mean is NaN."""
    skip = _EMITTED_BY_DIALECT.get("torch", set()) | _RAISED_BY_DIALECT.get("torch", set())
    ctx: dict[str, Any] = {"values_shape": None, "hook": True, "skip": skip}
    return _when_nan(lambda: _profile("torch", name, config, "input", "target"), arrays,
                     "target", ctx, skip)


def _reads_values(p: _Profile, result: Any) -> bool:
    """Whether the value detectors can find anything in this call.  torch raises for labels
    out of range (LB014 is its error, not a warning), so a torch call's labels matter only for
    LB016 (every target ignored), whose mean is NaN: a torch mean that is a number needs no
    read of the labels.  KL targets are not read: their detector (LB006) is a "full" one."""
    if p.kind == "kl":
        return False
    if p.dialect != "torch":
        return True
    if p.config.get("reduction", "mean") != "mean":
        return False
    return not (_is_array(result) and result.ndim == 0 and not bool(_isnan(result)))


def _host_arrays(ns: Namespace, arrays: dict[str, Any]) -> dict[str, Any]:
    return {k: _host_view(ns, v) for k, v in arrays.items()}


def _emit(findings: list[Finding], skip: set[str]) -> None:
    for f in findings:
        if f.code not in skip:
            warn(f"{f.code}: {f.message} Fix: {f.fix}", f.category)


def keras_call(loss: Any, y_true: Any, y_pred: Any, sample_weight: Any, values: Any, ns: Namespace) -> None:
    """The Keras pipeline's hook (``Loss.__call__``), between ``call`` and the reduction."""
    if check_level() == "off" or not is_concrete(y_pred):
        return  # traced (torch.compile, jit, vmap): check_call does nothing; _snake's cache untraced
    name = type(loss).__name__
    fn = getattr(loss, "fn", None)
    if (("keras", _snake(name)) not in _KINDS) and fn is not None:
        name = getattr(fn, "__name__", name)
    config = {**getattr(loss, "_fn_kwargs", {}), "reduction": getattr(loss, "reduction", None)}
    if sample_weight is not None and not _is_array(sample_weight):
        sample_weight = ns.asarray(sample_weight)
    arrays = {"y_true": y_true, "y_pred": y_pred, "sample_weight": sample_weight}
    check_call(f"keras:{name}", ns, arrays, config, tuple(getattr(values, "shape", ())) or None)


# ------------------------------------------------------------------ diagnose


def _dialect_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "lossbridge" and len(parts) > 1:
        return parts[1] if parts[1] in ("torch", "keras", "optax", "theano", "tf_keras") else None
    if parts[0] in ("torch", "keras", "optax", "tf_keras"):
        return parts[0]
    if parts[0] == "tensorflow" and "keras" in parts:
        return "keras"
    return None


def _resolve(loss: Any) -> tuple[Any, str, str, dict[str, Any]]:
    """(the lossbridge callable, dialect, name, config) of ``loss``."""
    import lossbridge  # noqa: F401 - registers every dialect

    from . import _catalog

    if isinstance(loss, str):
        entry, kwargs = _catalog.parse(loss)
        obj = entry.obj()
        if inspect.isclass(obj):
            with warnings.catch_warnings():  # a deprecated alias warns when built: not used here
                warnings.simplefilter("ignore")
                built = obj(**{**entry.defaults, **kwargs})
            return _resolve(built)
        return obj, entry.dialect, entry.name, {**entry.defaults, **kwargs}
    is_class_instance = not inspect.isroutine(loss) and not inspect.isclass(loss)
    target_type = type(loss) if is_class_instance else loss
    dialect = _dialect_of_module(getattr(target_type, "__module__", "") or "")
    name = getattr(target_type, "__name__", "")
    if dialect is None or not name:
        raise LossBridgeTypeError(
            f"diagnose() cannot read {type(loss).__name__} {loss!r} as a loss. Pass a lossbridge "
            "loss, a real torch/Keras/optax loss, or a catalog name such as "
            "'torch:cross_entropy' or 'keras:CategoricalCrossentropy(from_logits=True)'."
        )
    if dialect == "tf_keras":
        dialect = "keras"
    if inspect.isclass(loss):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = loss()
        is_class_instance = True
    try:
        found: _catalog.Entry | None = _catalog.lookup(f"{dialect}:{name}")
    except LossBridgeError:
        found = None
    if is_class_instance:
        config: dict[str, Any] = {}
        if dialect == "torch":
            config = {k: getattr(loss, k) for k in _TORCH_ATTRS if hasattr(loss, k)}
        elif dialect == "keras":
            if hasattr(loss, "_fn_kwargs"):
                config = dict(loss._fn_kwargs)
            elif hasattr(loss, "get_config"):
                config = dict(loss.get_config())
            config["reduction"] = getattr(loss, "reduction", config.get("reduction"))
            fn = getattr(loss, "fn", None)
            if ("keras", _snake(name)) not in _KINDS and fn is not None:
                name = getattr(fn, "__name__", name)
        else:
            config = {k: v for k, v in vars(loss).items() if not k.startswith("_")}
        callable_ = loss if type(loss).__module__.startswith("lossbridge") else (
            found.obj() if found is not None else loss
        )
        return callable_, dialect, name, config
    fn = found.obj() if found is not None and not loss.__module__.startswith("lossbridge") else loss
    return fn, dialect, name, {}


def _signature_names(obj: Any, dialect: str) -> inspect.Signature | None:
    target = obj
    if not inspect.isroutine(obj):
        cls = obj if inspect.isclass(obj) else type(obj)
        target = getattr(cls, "forward", None) if dialect == "torch" else None
        target = target or cls.__call__
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    params = [q for q in sig.parameters.values() if q.name != "self"]
    return sig.replace(parameters=params)


def _signature_text(sig: inspect.Signature) -> str:
    return ", ".join(
        q.name if q.default is inspect.Parameter.empty else f"{q.name}={q.default!r}"
        for q in sig.parameters.values()
    )


def argument_names(loss: Any) -> list[str]:
    """The names of the parameters of ``loss``'s call, in order (for ``lossbridge doctor``)."""
    obj, dialect, _, _ = _resolve(loss)
    sig = _signature_names(obj, dialect)
    return [] if sig is None else [
        q.name for q in sig.parameters.values() if q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)
    ]


def diagnose(loss: Any, *args: Any, **kwargs: Any) -> list[Finding]:
    """The mistakes in the call ``loss(*args, **kwargs)``, without calling the loss.

    Args:
      loss: a lossbridge loss (class, object or function), a catalog name
        (``"torch:cross_entropy"``, ``"keras:CategoricalCrossentropy(from_logits=True)"``,
        ``"torch.nn.CrossEntropyLoss"``), or a real torch module, Keras loss or
        torch/Keras/optax function (read as its lossbridge counterpart).
      *args: the call's positional arguments in the loss' own order
        (torch: ``input, target``; Keras: ``y_true, y_pred``).
      **kwargs: the call's keyword arguments (Keras' ``sample_weight=``;
        function options such as ``ignore_index=`` or ``from_logits=``).

    Returns:
      The findings, sorted by code; empty when nothing is wrong.  Every detector
      runs, whatever :func:`checks` level is set.

    Raises:
      LossBridgeError: an unknown loss name, arguments that do not fit the loss'
        signature, or arrays of two kinds (:class:`LossBridgeTypeError`).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> f, = lb.diagnose("torch:mse_loss", np.zeros((4, 1)), np.zeros(4))
        >>> f.code, f.title
        ('LB020', 'shapes broadcast in a pointwise loss')
    """
    obj, dialect, name, config = _resolve(loss)
    sig = _signature_names(obj, dialect)
    if sig is None:
        raise LossBridgeTypeError(f"diagnose() cannot read the signature of {loss!r}.")
    try:
        bound = sig.bind_partial(*args, **kwargs)
    except TypeError as e:
        raise LossBridgeTypeError(
            f"The arguments do not fit {dialect}:{name}({_signature_text(sig)}): {e}. Pass them "
            "as you would to the loss itself."
        ) from None
    values = dict(bound.arguments)
    for key, v in list(values.items()):  # **kwargs of the signature
        if sig.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
            values.pop(key)
            values.update(v)
    positional = [q.name for q in sig.parameters.values()
                  if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
    if dialect == "keras":
        pred_name: str | None
        target_name: str | None
        pred_name, target_name = "y_pred", "y_true"
    elif len(positional) >= 2:
        pred_name, target_name = positional[0], positional[1]
    else:
        pred_name, target_name = ([*positional, None, None])[:2]
    ns_args = {k: v for k, v in values.items() if _is_array(v) or isinstance(v, (list, tuple))}
    ns = get_namespace(ns_args, numpy_joins=dialect != "torch")
    arrays: dict[str, Any] = {}
    for k, v in values.items():
        if _is_array(v) or (isinstance(v, (list, tuple)) and k in (pred_name, target_name, "sample_weight", "weight")):
            arrays[k] = ns.asarray(v) if not _is_array(v) else v
        elif array_kind(v) is None:
            config[k] = v
    for k, q in sig.parameters.items():  # function defaults
        if k not in values and q.default is not inspect.Parameter.empty and not _is_array(q.default):
            config.setdefault(k, q.default)
    if "weight" in arrays:
        config["weight"] = arrays["weight"]
    if not all(is_concrete(v) for v in arrays.values()):
        raise LossBridgeError(
            "diagnose() reads the values of the arrays, which are traced here: call it outside "
            "jax.jit, jax.vmap and torch.compile."
        )
    arrays = {k: _host_view(ns, v) for k, v in arrays.items()}
    if any(v is _ABSTRACT for v in arrays.values()):
        raise LossBridgeError(
            "diagnose() reads the values of the arrays, which are traced here: call it outside "
            "jax.jit, jax.vmap and torch.compile."
        )
    ns = _host_namespace(ns)
    profile = _profile(dialect, name, config, pred_name, target_name)
    return _run(profile, arrays, ns, ("cheap", "full"), {})
