"""``lossbridge.translate``: a loss of one framework as the equivalent of another.

The translation table :data:`TABLE` is the one place that says which losses of
Keras, PyTorch, optax and Theano compute the same thing.  Each :class:`Row` is one
semantics (for example "softmax cross-entropy of logits against class indices")
with its *forms*: the framework objects that compute it, the framework arguments
that carry the row's canonical parameters (reduction, label smoothing, ignored
label, class weights, delta, ...) and the roles of their inputs in call order.

``translate(loss, to)`` reads the source loss into a row and canonical parameters,
then writes the first form of the target framework that carries every parameter
that is set: that is the *native* translation, exact by construction of the row
(the tests check every row against the real frameworks, both directions).  When no
native form carries the parameters, the translation is the source's lossbridge
dialect loss adapted to the target framework (``to_torch_module``,
``to_keras_loss``; on optax and Theano the dialect runs on JAX / NumPy arrays as
it is): exact, not native.  ``alternatives`` list the familiar native
approximations and what they differ in; each comes with the input and output
transforms under which it equals the source, which the tests check.

Theano does not run on Python 3.11 with NumPy 2: a translation to ``"theano"``
is ``lossbridge.theano``'s mirror of Theano's function (exact, never native).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import LossBridgeError, LossBridgeNotImplementedError, LossBridgeTypeError

__all__ = ["FRAMEWORKS", "TABLE", "Alternative", "Form", "Row", "Translation", "translate"]

FRAMEWORKS = ("keras", "torch", "optax", "theano")

#: What each input role holds; used for the conditions of a translation.
ROLES = {
    "logits": "unnormalised scores (the model without its final softmax/sigmoid)",
    "probs": "probabilities (after softmax)",
    "log_probs": "log-probabilities (log_softmax output, or log(p))",
    "labels": "integer class indices",
    "onehot": "one-hot (or probability) targets",
    "bin_probs": "probabilities (after sigmoid), element-wise",
    "bin_logits": "logits of independent yes/no outputs",
    "bin_targets": "0/1 (or soft) targets, element-wise",
    "values": "predictions",
    "targets": "targets",
    "dist": "target probability distributions",
    "rates": "positive predicted rates",
    "counts": "non-negative counts",
    "signs": "+-1 labels",
}

#: (source role, target role) -> the change the user makes.
_ROLE_CHANGES = {
    ("probs", "logits"): "remove the model's final Softmax and pass the logits",
    ("probs", "log_probs"): "pass log-probabilities: log(p), or log_softmax of the logits instead of softmax",
    ("log_probs", "probs"): "pass probabilities: exp(log_probs)",
    ("logits", "log_probs"): "pass log_softmax(logits)",
    ("labels", "onehot"): "pass one-hot targets: one_hot(labels, C)",
    ("onehot", "labels"): "pass class indices: argmax of the one-hot targets (hard one-hot targets only)",
    ("bin_probs", "bin_logits"): "remove the model's final sigmoid and pass the logits",
    ("bin_logits", "bin_probs"): "pass sigmoid(logits)",
}

_IMPORTS = {
    "keras": "import keras",
    "torch": "import torch",
    "optax": "import optax",
    "theano": "import lossbridge.theano",
}

_DEFAULTS: dict[str, Any] = {
    "label_smoothing": 0.0, "ignore": None, "class_weight": None, "delta": 1.0, "pos_weight": None,
}

#: Canonical reductions: "mean", "sum", "none"; for element-wise losses also "sample_mean"
#: (mean over the last axis, per sample: Keras' "none") and "sample_mean_sum" (Keras' "sum").
_FN_REDUCE = {
    "none": "{}",
    "mean": "{}.mean()",
    "sum": "{}.sum()",
    "sample_mean": "{}.mean(axis=-1)",
    "sample_mean_sum": "{}.mean(axis=-1).sum()",
}
_KERAS_PER_SAMPLE = {"mean": "sum_over_batch_size", "sum": "sum", "none": "none"}
_KERAS_ELEMENTWISE = {"mean": "sum_over_batch_size", "sample_mean_sum": "sum", "sample_mean": "none"}
_TORCH = {"mean": "mean", "sum": "sum", "none": "none"}


@dataclass(frozen=True)
class Form:
    """One framework object computing a row's semantics.

    ``params`` maps canonical parameter -> the framework's argument; ``reductions``
    maps canonical reduction -> the framework's ``reduction`` value (classes) or a
    Python expression template applied to the result (functions, which never reduce);
    ``fixed`` are arguments that select this form (``from_logits=True``); ``extra``
    are arguments always written (torch's ``eps`` chosen to equal Keras').
    """

    framework: str
    name: str
    roles: tuple[str, ...]
    kind: str = "class"
    fixed: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    reductions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()
    #: framework arguments that must hold their default for this form to read a source
    neutral: dict[str, Any] = field(default_factory=dict)
    #: False: a target only (the source reads as another row, e.g. CategoricalCrossentropy
    #: of logits is the one-hot row; it is also how to write the index row's label smoothing)
    reads: bool = True

    @property
    def title(self) -> str:
        fixed = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"{self.framework}:{self.name}" + (f"({fixed})" if fixed else "")


@dataclass(frozen=True)
class Alternative:
    """A familiar native approximation and how it differs.

    ``pre`` maps an input role to a NumPy transform and ``post`` transforms the
    alternative's value: ``source(x) == post(alternative(pre(x)))`` (checked by the tests).
    """

    framework: str
    title: str
    code: str  # builds ``loss`` (called with ``roles``)
    roles: tuple[str, ...]
    differs: str
    pre: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    post: Callable[[Any, dict[str, Any]], Any] | None = None  # (value, canonical params) -> value
    reduction: str = "mean"  # the source reduction this alternative is stated for


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    forms: tuple[Form, ...]
    alternatives: tuple[Alternative, ...] = ()
    notes: tuple[str, ...] = ()
    #: canonical parameter -> condition added when that parameter is set
    if_set: dict[str, str] = field(default_factory=dict)
    family: str = ""  # "categorical" rows take part in `lossbridge compare`'s staged pipeline


@dataclass
class Translation:
    """The result of :func:`translate`.

    ``loss`` is built on first access by running ``code`` (so reading ``code`` or
    ``conditions`` imports no framework).
    """

    source: str
    to: str
    row: str
    exact: bool
    native: bool
    code: str
    call: tuple[str, ...]
    conditions: list[str]
    alternatives: list[dict[str, str]]
    notes: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    _loss: Any = field(default=None, repr=False)

    @property
    def loss(self) -> Any:
        if self._loss is None:
            scope: dict[str, Any] = {}
            exec(compile(self.code, f"<translation to {self.to}>", "exec"), scope)
            self._loss = scope["loss"]
        return self._loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "to": self.to, "row": self.row, "exact": self.exact,
            "native": self.native, "code": self.code, "call": list(self.call),
            "conditions": self.conditions, "alternatives": self.alternatives, "notes": self.notes,
        }


# ------------------------------------------------------------------ the table

_CLASS_AXIS = "for inputs with more than 2 dims, put the class axis at dim 1 (x.movedim(-1, 1)); Keras and optax use the last axis"


def _clip(lo: float, hi: float) -> Callable[[Any], Any]:
    import numpy as np

    return lambda a: np.clip(a, lo, hi)


def _renorm_clip(a: Any) -> Any:
    import numpy as np

    return np.clip(a / a.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)


def _scale(k: float) -> Callable[[Any, dict[str, Any]], Any]:
    return lambda a, params: a * k


TABLE: tuple[Row, ...] = (
    Row(
        "ce_logits_labels", "softmax cross-entropy of logits against class indices",
        (
            Form("keras", "SparseCategoricalCrossentropy", ("labels", "logits"), fixed={"from_logits": True},
                 params={"ignore": "ignore_class"}, reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1}),
            Form("keras", "CategoricalCrossentropy", ("onehot", "logits"), fixed={"from_logits": True},
                 params={"label_smoothing": "label_smoothing"}, reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1},
                 reads=False),
            Form("torch", "CrossEntropyLoss", ("logits", "labels"),
                 params={"ignore": "ignore_index", "label_smoothing": "label_smoothing", "class_weight": "weight"},
                 reductions=_TORCH, conditions=(_CLASS_AXIS,)),
            Form("optax", "softmax_cross_entropy_with_integer_labels", ("logits", "labels"), kind="function",
                 reductions=_FN_REDUCE),
        ),
        if_set={"ignore": "a batch in which every target is ignored gives 0 in Keras (divide_no_nan) and NaN in "
                           "torch ('mean'): keep at least one valid target per batch"},
        notes=(
            "torch's default ignore_index=-100 has no Keras/optax counterpart: a label -100 is out of range there.",
            "Keras computes in float32 whatever the input dtype; torch and optax keep the input's dtype.",
        ),
        family="categorical",
    ),
    Row(
        "ce_logits_onehot", "softmax cross-entropy of logits against one-hot/probability targets",
        (
            Form("keras", "CategoricalCrossentropy", ("onehot", "logits"), fixed={"from_logits": True},
                 params={"label_smoothing": "label_smoothing"}, reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1}),
            Form("torch", "CrossEntropyLoss", ("logits", "onehot"), params={"label_smoothing": "label_smoothing"},
                 reductions=_TORCH, conditions=(_CLASS_AXIS,), reads=False),
            Form("optax", "softmax_cross_entropy", ("logits", "onehot"), kind="function",
                 params={"label_smoothing": "smooth_labels"}, reductions=_FN_REDUCE),
        ),
        notes=("With class weights torch's probability-target mean divides by N, not by the targets' weights.",),
        family="categorical",
    ),
    Row(
        "ce_probs_keras", "Keras' cross-entropy of probabilities: renormalise, clip to [1e-7, 1-1e-7], log",
        (
            Form("keras", "CategoricalCrossentropy", ("onehot", "probs"), fixed={"from_logits": False},
                 params={"label_smoothing": "label_smoothing"}, reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1}),
            Form("keras", "SparseCategoricalCrossentropy", ("labels", "probs"), fixed={"from_logits": False},
                 params={"ignore": "ignore_class"}, reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1}),
        ),
        alternatives=(
            Alternative(
                "torch", "torch.nn.NLLLoss() on log(p)", "import torch\nloss = torch.nn.NLLLoss()",
                ("log_probs", "labels"),
                "no renormalisation and no clip: equal to Keras on log(clip(p / p.sum(-1), 1e-7, 1 - 1e-7)); "
                "a target probability of 0 gives inf instead of 16.118",
                pre={"log_probs": lambda lp: __import__("numpy").log(_renorm_clip(__import__("numpy").exp(lp)))},
            ),
            Alternative(
                "theano", "theano categorical_crossentropy(p, y).mean()",
                "import lossbridge.theano\n"
                "def loss(coding_dist, true_dist):\n"
                "    return lossbridge.theano.categorical_crossentropy(coding_dist, true_dist).mean()",
                ("probs", "onehot"),
                "no renormalisation and no clip, one value per sample: equal to Keras on clip(p / p.sum(-1), 1e-7, 1 - 1e-7)",
                pre={"probs": _renorm_clip},
            ),
            Alternative(
                "optax", "optax.losses.softmax_cross_entropy(log(p), y).mean()",
                "import optax\n"
                "def loss(log_probs, labels):\n"
                "    return optax.losses.softmax_cross_entropy(log_probs, labels).mean()",
                ("log_probs", "onehot"),
                "log_softmax renormalises but does not clip: equal to Keras on log(clip(p / p.sum(-1), 1e-7, 1 - 1e-7)) "
                "when that clip leaves rows summing to 1 (no probability below 1e-7)",
            ),
        ),
        family="categorical",
    ),
    Row(
        "ce_probs_theano", "Theano's cross-entropy of probabilities: -log p[target] per sample, no clip",
        (
            Form("theano", "crossentropy_categorical_1hot", ("probs", "labels"), kind="function",
                 reductions=_FN_REDUCE),
            Form("theano", "categorical_crossentropy", ("probs", "labels"), kind="function", reductions=_FN_REDUCE),
            Form("torch", "NLLLoss", ("log_probs", "labels"), params={"ignore": "ignore_index", "class_weight": "weight"},
                 reductions=_TORCH, conditions=(_CLASS_AXIS,)),
        ),
        notes=("A probability of 0 on the target: Theano gives inf, and so does NLLLoss on log(0) = -inf.",),
        family="categorical",
    ),
    Row(
        "bce_logits", "binary cross-entropy of logits, element-wise",
        (
            Form("keras", "BinaryCrossentropy", ("bin_targets", "bin_logits"), fixed={"from_logits": True},
                 reductions=_KERAS_ELEMENTWISE, neutral={"axis": -1, "label_smoothing": 0.0}),
            Form("torch", "BCEWithLogitsLoss", ("bin_logits", "bin_targets"),
                 params={"class_weight": "weight", "pos_weight": "pos_weight"}, reductions=_TORCH),
            Form("optax", "sigmoid_binary_cross_entropy", ("bin_logits", "bin_targets"), kind="function",
                 reductions=_FN_REDUCE),
        ),
        notes=("Keras' 'none' and 'sum' reduce the last axis by its mean first; torch's act element-wise.",),
    ),
    Row(
        "bce_probs_keras", "Keras' binary cross-entropy of probabilities: clip to [1e-7, 1-1e-7]",
        (
            Form("keras", "BinaryCrossentropy", ("bin_targets", "bin_probs"), fixed={"from_logits": False},
                 params={"label_smoothing": "label_smoothing"}, reductions=_KERAS_ELEMENTWISE, neutral={"axis": -1}),
        ),
        alternatives=(
            Alternative(
                "torch", "torch.nn.BCELoss()", "import torch\nloss = torch.nn.BCELoss()", ("bin_probs", "bin_targets"),
                "clamps each log at -100 instead of clipping p to [1e-7, 1 - 1e-7]: equal to Keras on "
                "clip(p, 1e-7, 1 - 1e-7); p = 0 on a positive gives 100 instead of 16.118",
                pre={"bin_probs": _clip(1e-7, 1 - 1e-7)},
            ),
        ),
    ),
    Row(
        "bce_probs_torch", "torch's binary cross-entropy of probabilities: each log clamped at -100",
        (
            Form("torch", "BCELoss", ("bin_probs", "bin_targets"), params={"class_weight": "weight"}, reductions=_TORCH),
        ),
        alternatives=(
            Alternative(
                "keras", "keras.losses.BinaryCrossentropy()", "import keras\nloss = keras.losses.BinaryCrossentropy()",
                ("bin_targets", "bin_probs"),
                "clips p to [1e-7, 1 - 1e-7] (a log of at most 16.118) instead of clamping each log at -100: "
                "equal to torch on clip(p, 1e-7, 1 - 1e-7)",
                pre={"bin_probs": _clip(1e-7, 1 - 1e-7)},
            ),
        ),
    ),
    Row(
        "mse", "mean squared error",
        (
            Form("keras", "MeanSquaredError", ("targets", "values"), reductions=_KERAS_ELEMENTWISE),
            Form("torch", "MSELoss", ("values", "targets"), reductions=_TORCH),
            Form("optax", "squared_error", ("values", "targets"), kind="function", reductions=_FN_REDUCE),
        ),
        alternatives=(
            Alternative(
                "optax", "optax.losses.l2_loss(p, t).mean()",
                "import optax\ndef loss(predictions, targets):\n    return optax.losses.l2_loss(predictions, targets).mean()",
                ("values", "targets"), "l2_loss is 0.5 * (p - t)**2: half the mean squared error",
                post=_scale(2.0),
            ),
        ),
        notes=("torch broadcasts an (N, 1) prediction against an (N,) target to (N, N) with only a warning.",),
    ),
    Row(
        "mae", "mean absolute error",
        (
            Form("keras", "MeanAbsoluteError", ("targets", "values"), reductions=_KERAS_ELEMENTWISE),
            Form("torch", "L1Loss", ("values", "targets"), reductions=_TORCH),
        ),
        notes=("optax has no absolute-error loss: the optax translation is the dialect loss on JAX arrays.",),
    ),
    Row(
        "huber", "Huber loss: 0.5 e**2 for |e| <= delta, delta (|e| - delta / 2) beyond",
        (
            Form("keras", "Huber", ("targets", "values"), params={"delta": "delta"}, reductions=_KERAS_ELEMENTWISE),
            Form("torch", "HuberLoss", ("values", "targets"), params={"delta": "delta"}, reductions=_TORCH),
            Form("optax", "huber_loss", ("values", "targets"), kind="function", params={"delta": "delta"},
                 reductions=_FN_REDUCE),
        ),
        alternatives=(
            Alternative(
                "torch", "torch.nn.SmoothL1Loss(beta=delta)", "import torch\nloss = torch.nn.SmoothL1Loss(beta={delta!r})",
                ("values", "targets"), "SmoothL1(beta) = Huber(delta=beta) / beta: equal to Huber only for delta = 1",
                post=lambda a, params: a * params.get("delta", 1.0),
            ),
        ),
    ),
    Row(
        "smooth_l1", "smooth L1: 0.5 e**2 / beta for |e| < beta, |e| - beta / 2 beyond",
        (Form("torch", "SmoothL1Loss", ("values", "targets"), params={"delta": "beta"}, reductions=_TORCH),),
        notes=("SmoothL1Loss(beta) = HuberLoss(delta=beta) / beta; the other frameworks only have Huber.",),
    ),
    Row(
        "log_cosh", "log(cosh(p - y))",
        (
            Form("keras", "LogCosh", ("targets", "values"), reductions=_KERAS_ELEMENTWISE),
            Form("optax", "log_cosh", ("values", "targets"), kind="function", reductions=_FN_REDUCE),
        ),
        notes=("torch has no log-cosh loss: the torch translation is the dialect loss adapted.",),
    ),
    Row(
        "kl_div", "KL(P || Q) = sum P log(P / Q) over the last axis, from log Q",
        (
            Form("torch", "KLDivLoss", ("log_probs", "dist"), fixed={"log_target": False},
                 reductions={"mean": "batchmean", "sum": "sum"}),
            Form("optax", "kl_divergence", ("log_probs", "dist"), kind="function", reductions=_FN_REDUCE),
        ),
        alternatives=(
            Alternative(
                "keras", "keras.losses.KLDivergence() on probabilities", "import keras\nloss = keras.losses.KLDivergence()",
                ("dist", "probs"),
                "takes probabilities and clips both P and Q to [1e-7, 1]: equal on clipped inputs",
                pre={"probs": _clip(1e-7, 1.0), "dist": _clip(1e-7, 1.0)},
            ),
        ),
        notes=("torch's KLDivLoss default reduction 'mean' divides by N*C (with a warning); 'batchmean' is the KL mean.",),
    ),
    Row(
        "hinge", "hinge: max(1 - y p, 0) with +-1 labels",
        (
            Form("keras", "Hinge", ("signs", "values"), reductions=_KERAS_ELEMENTWISE,
                 conditions=("labels in {-1, 1}: Keras maps a batch of {0, 1} labels to {-1, 1} itself",)),
            Form("optax", "hinge_loss", ("values", "signs"), kind="function", reductions=_FN_REDUCE,
                 conditions=("labels in {-1, 1}: optax does not map {0, 1} labels (0 * p gives a loss of 1)",)),
        ),
        notes=("torch has no hinge loss of this form (SoftMarginLoss is log(1 + exp(-y p))): the torch "
               "translation is the dialect loss adapted.",),
    ),
    Row(
        "cosine", "negative cosine similarity over the last axis",
        (
            Form("keras", "CosineSimilarity", ("targets", "values"), reductions=_KERAS_PER_SAMPLE, neutral={"axis": -1},
                 conditions=("no all-zero vector: Keras normalises by max(norm, 1e-7)-style epsilons, optax by its "
                             "epsilon argument (0)",)),
            Form("optax", "cosine_similarity", ("values", "targets"), kind="function",
                 reductions={"none": "-{}", "mean": "-{}.mean()", "sum": "-{}.sum()"}),
        ),
        notes=("Keras' CosineSimilarity is the *negative* cosine (-1 for a perfect match); optax's "
               "cosine_similarity is the cosine itself, hence the minus sign.",
               "torch's CosineEmbeddingLoss with target 1 is 1 - cos: Keras' value plus 1."),
    ),
    Row(
        "poisson", "Poisson: p - y log(p + 1e-7)",
        (
            Form("keras", "Poisson", ("counts", "rates"), reductions=_KERAS_ELEMENTWISE),
            Form("torch", "PoissonNLLLoss", ("rates", "counts"), fixed={"log_input": False, "full": False},
                 extra={"eps": 1e-7}, neutral={"eps": 1e-7}, reductions=_TORCH),
        ),
        notes=("torch's default eps is 1e-8 and log_input=True (it takes log-rates): the translation sets both.",),
    ),
)


# ------------------------------------------------------------------- sources


@dataclass
class _Source:
    framework: str  # "keras", "torch", "optax", "theano"
    name: str
    config: dict[str, Any]
    dialect: Any = None  # an equivalent lossbridge dialect object, when one exists
    text: str = ""


def _module_of(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or ""
    if not inspect.isclass(obj) and not inspect.isfunction(obj) and not inspect.isbuiltin(obj):
        mod = type(obj).__module__
    return mod


def _keras_fn_to_class(name: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Keras function form is its class with reduction='none'."""
    aliases = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "bce": "binary_crossentropy",
               "logcosh": "log_cosh", "kld": "kl_divergence", "huber_loss": "huber"}
    name = aliases.get(name.lower(), name) if name.lower() in aliases else name
    classes = {
        "categorical_crossentropy": "CategoricalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
        "binary_crossentropy": "BinaryCrossentropy",
        "mean_squared_error": "MeanSquaredError",
        "mean_absolute_error": "MeanAbsoluteError",
        "huber": "Huber",
        "log_cosh": "LogCosh",
        "kl_divergence": "KLDivergence",
        "poisson": "Poisson",
    }
    if name in classes:
        return classes[name], {**config, "reduction": "none"}
    return name, config


def _torch_config(obj: Any) -> dict[str, Any]:
    import numpy as np

    config = {}
    for key in ("reduction", "ignore_index", "label_smoothing", "delta", "beta", "log_target", "log_input",
                "full", "eps"):
        if hasattr(obj, key):
            config[key] = getattr(obj, key)
    for key in ("weight", "pos_weight"):
        value = getattr(obj, key, None)
        if value is not None:
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            config[key] = np.asarray(value)
        elif hasattr(obj, key):
            config[key] = None
    return config


_TORCH_FUNCTIONAL = {
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss",
    "huber_loss": "HuberLoss", "smooth_l1_loss": "SmoothL1Loss", "kl_div": "KLDivLoss",
    "poisson_nll_loss": "PoissonNLLLoss",
}


def _read(loss: Any) -> _Source:
    """The framework, name and configuration of any accepted loss."""
    import numpy as np

    from . import _catalog

    if isinstance(loss, str):
        text = loss.strip()
        head = text.partition("(")[0]
        if ":" not in head and "." not in head:
            # a bare Keras identifier ("mse", "categorical_crossentropy") reads as model.compile
            # reads it: the function wrapped with Keras' default reduction, i.e. the class
            from .keras._registry import ALL_OBJECTS_DICT

            keras_names = set(ALL_OBJECTS_DICT) | {"mse", "mae", "bce", "logcosh", "kld", "huber_loss"}
            if "(" not in text and (head in keras_names or head.lower() in {"mse", "mae", "bce"}):
                name, config = _keras_fn_to_class(head, {})
                config.pop("reduction", None)
                if name[:1].isupper():
                    return _Source("keras", name, config, text=loss)
                text = "keras:" + text
        try:
            call = _catalog.split_call(text)  # the one strict reader of loss strings
            try:
                entry = _catalog.lookup(call.head)
            except LossBridgeError:
                table_only = _table_only(call, text)
                if table_only is not None:
                    return table_only
                raise
            kwargs = _catalog.bind(entry, call, text)
        except LossBridgeError as e:
            raise type(e)(f"translate(loss={loss!r:.120}): {e}") from None
        obj = entry.obj()
        if entry.dialect == "keras" and not entry.is_class:
            name, config = _keras_fn_to_class(entry.name, kwargs)
            return _Source("keras", name, config, text=text)
        if entry.dialect == "torch" and entry.module == "torch.functional":
            name = _TORCH_FUNCTIONAL.get(entry.name, entry.name)
            return _Source("torch", name, kwargs, text=text)
        if entry.dialect == "torch":
            kwargs = {k: (np.asarray(v, dtype=np.float32) if k in ("weight", "pos_weight") and isinstance(v, list) else v)
                      for k, v in kwargs.items()}
        if entry.is_class:
            try:
                dialect = obj(**kwargs)
            except LossBridgeError as e:
                raise type(e)(f"translate(loss={loss!r:.120}): {e}") from None
            except Exception as e:  # the constructor refuses a value (the names were checked)
                kind = LossBridgeTypeError if isinstance(e, TypeError) else LossBridgeError
                raise kind(
                    f"translate(loss={loss!r:.120}): building {entry.id}"
                    f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items())[:200]}) raises {type(e).__name__}: "
                    f"{' '.join(str(e).split())}. The arguments of {entry.id} are: "
                    f"{', '.join(inspect.signature(obj).parameters)}."
                ) from None
            if entry.dialect not in ("keras", "torch"):
                return _Source(entry.dialect, entry.name, kwargs, text=text)
            source = _read(dialect)
            source.text = text
            return source
        return _Source(entry.dialect, entry.name, kwargs, text=text)

    module = _module_of(loss)
    root = module.split(".")[0]
    if root == "lossbridge":
        dialect = module.split(".")[1] if "." in module else ""
        if dialect == "keras":
            if inspect.isclass(loss):
                return _read(f"keras:{loss.__name__}")
            if inspect.isfunction(loss):
                name, config = _keras_fn_to_class(loss.__name__, {})
                return _Source("keras", name, config)
            config = dict(loss.get_config())
            config.pop("name", None)
            config.pop("dtype", None)
            return _Source("keras", type(loss).__name__, config, dialect=loss)
        if dialect == "torch":
            if inspect.isclass(loss):
                return _Source("torch", loss.__name__, {})
            if inspect.isfunction(loss):
                return _Source("torch", _TORCH_FUNCTIONAL.get(loss.__name__, loss.__name__), {})
            return _Source("torch", type(loss).__name__, _torch_config(loss), dialect=loss)
        if dialect in ("optax", "theano") and callable(loss):
            return _Source(dialect, loss.__name__, {})
        if dialect == "_custom":
            raise LossBridgeTypeError(
                f"translate(loss={loss!r:.80}): a custom loss is already written once for every framework; "
                "it has no framework semantics to translate. Use lossbridge.to_torch_module(loss) or "
                "lossbridge.to_keras_loss(loss)."
            )
    if root == "keras":
        if inspect.isclass(loss):
            return _Source("keras", loss.__name__, {})
        if inspect.isfunction(loss):
            name, config = _keras_fn_to_class(loss.__name__, {})
            return _Source("keras", name, config)
        if hasattr(loss, "get_config"):
            # the wrapped function's keyword arguments are authoritative (3.15.1's get_config
            # drops some, such as SparseCategoricalCrossentropy's axis and Huber's delta)
            config = {**dict(loss.get_config()), **dict(getattr(loss, "_fn_kwargs", None) or {})}
            config.pop("name", None)
            config.pop("dtype", None)
            if type(loss).__name__ == "LossFunctionWrapper":
                fn = config.pop("fn", None) or getattr(loss, "fn", None)
                fn_name = fn if isinstance(fn, str) else getattr(fn, "__name__", str(fn))
                name, extra = _keras_fn_to_class(fn_name, {})
                extra.pop("reduction", None)
                return _Source("keras", name, {**config, **extra})
            return _Source("keras", type(loss).__name__, config)
    if root == "torch":
        if inspect.isclass(loss):
            return _Source("torch", loss.__name__, {})
        if callable(loss) and not hasattr(loss, "forward"):
            return _Source("torch", _TORCH_FUNCTIONAL.get(loss.__name__, loss.__name__), {})
        return _Source("torch", type(loss).__name__, _torch_config(loss))
    if root == "optax" and callable(loss):
        return _Source("optax", loss.__name__, {})
    raise LossBridgeTypeError(
        f"translate(loss=...): cannot read {type(loss).__name__} {loss!r:.80} as a loss. Give a Keras loss "
        "(object, class, function or identifier), a torch loss module or torch.nn.functional function, an "
        "optax.losses function, a lossbridge dialect loss, or a string such as 'keras:categorical_crossentropy', "
        "'torch:CrossEntropyLoss' or 'theano:categorical_crossentropy' (`lossbridge list` shows them all)."
    )


def _table_only(call: Any, text: str) -> _Source | None:
    """``"keras:Huber(delta=2.0)"`` for a loss of the table that no dialect has yet
    (``call``: the string read by ``_catalog.split_call``)."""
    framework, _, name = call.head.partition(":")
    if not any(f.framework == framework and f.name == name for r in TABLE for f in r.forms):
        return None
    if call.args:
        raise LossBridgeError(
            f"{text!r:.120}: lossbridge has no signature for {call.head}: give its arguments by keyword."
        )
    kwargs = dict(call.kwargs)
    if framework == "keras" and name[:1].islower():
        name, kwargs = _keras_fn_to_class(name, kwargs)
    return _Source(framework, name, kwargs, text=text)


def _keras_reduction(value: Any) -> str:
    return "none" if value is None else {"mean": "sum_over_batch_size", "mean_with_sample_weight": "sum_over_batch_size"}.get(value, value)


def _match(src: _Source) -> tuple[Row, Form, dict[str, Any]] | None:
    """The first row and form reading ``src``, with its canonical parameters."""
    for row in TABLE:
        for form in row.forms:
            if form.framework != src.framework or form.name != src.name or not form.reads:
                continue
            config = dict(src.config)
            carried = set(form.params.values()) | set(form.fixed) | set(form.neutral) | {"reduction"}
            if any(k not in carried and not _is_default(form, k, v) for k, v in config.items()):
                continue  # an argument this form cannot carry (class weights, ...)
            if any(config.get(k, _default_of(form, k)) != v for k, v in form.fixed.items()):
                continue
            if any(config.get(k, v) != v for k, v in form.neutral.items()):
                continue
            params: dict[str, Any] = {}
            for canon, arg in form.params.items():
                if arg in config:
                    params[canon] = config[arg]
            if form.framework == "torch" and params.get("ignore") == -100:
                params["ignore"] = None
            if form.kind == "function":  # the function as it is: the reduction written "{}"
                plain = [k for k, v in form.reductions.items() if v == "{}"]
                if not plain or config.get("reduction", "none") != "none":
                    continue
                params["reduction"] = plain[0]
            else:
                raw = config.get("reduction", _default_of(form, "reduction"))
                if form.framework == "keras":
                    raw = _keras_reduction(raw)
                inverse = {v: k for k, v in form.reductions.items()}
                if raw not in inverse:
                    continue
                params["reduction"] = inverse[raw]
            return row, form, params
    return None


def _is_default(form: Form, arg: str, value: Any) -> bool:
    if arg in ("name", "dtype", "fn", "size_average", "reduce") and (value is None or arg in ("name", "dtype", "fn")):
        return True
    if form.framework == "torch" and arg == "ignore_index":
        return value == -100
    return _same(_default_of(form, arg), value) or (value is None and _default_of(form, arg) is None)


def _default_of(form: Form, arg: str) -> Any:
    """The framework's default of ``arg`` for ``form`` (from the lossbridge dialect's signature)."""
    import lossbridge

    if form.framework not in ("keras", "torch"):
        return None
    cls = getattr(getattr(lossbridge, form.framework), form.name, None)
    if cls is None:
        return {"from_logits": False, "reduction": "sum_over_batch_size" if form.framework == "keras" else "mean",
                "log_target": False, "log_input": True, "full": False, "eps": 1e-8}.get(arg)
    p = inspect.signature(cls).parameters.get(arg)
    return None if p is None or p.default is inspect.Parameter.empty else p.default


# ------------------------------------------------------------------- writing


def _literal(value: Any) -> str:
    import numpy as np

    if isinstance(value, _TorchTensor):
        return repr(value)
    if isinstance(value, np.ndarray):
        return f"numpy.array({value.tolist()!r}, dtype='{value.dtype}')"
    return repr(value)


def _is_set(canon: str, value: Any) -> bool:
    if value is None:
        return False
    return not (canon in _DEFAULTS and _DEFAULTS[canon] is not None and value == _DEFAULTS[canon])


def _write_native(form: Form, params: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """Source code building ``loss`` in ``form``'s framework, or None if the form cannot carry ``params``."""
    reduction = params.get("reduction", "mean")
    if reduction not in form.reductions:
        return None
    args: dict[str, Any] = dict(form.fixed)
    for canon, value in params.items():
        if canon == "reduction" or not _is_set(canon, value):
            continue
        if canon not in form.params:
            return None
        args[form.params[canon]] = value
    args.update(form.extra)
    uses_numpy = any(hasattr(v, "dtype") and hasattr(v, "tolist") for v in args.values())
    lines = [_IMPORTS[form.framework]] + (["import numpy"] if uses_numpy else [])
    if form.kind == "class":
        if form.framework == "keras":
            args["reduction"] = form.reductions[reduction]
            if args["reduction"] == "sum_over_batch_size":
                del args["reduction"]
        elif form.reductions[reduction] != "mean":
            args["reduction"] = form.reductions[reduction]
        prefix = {"keras": "keras.losses", "torch": "torch.nn"}[form.framework]
        if form.framework == "torch" and "weight" in args:
            args["weight"] = _TorchTensor(args["weight"])
        if form.framework == "torch" and "pos_weight" in args:
            args["pos_weight"] = _TorchTensor(args["pos_weight"])
        call = ", ".join(f"{k}={_literal(v)}" for k, v in args.items())
        lines.append(f"loss = {prefix}.{form.name}({call})")
        return "\n".join(lines), form.roles
    # a function: the arguments are the roles, the reduction an expression
    names = [_arg_name(r) for r in form.roles]
    inner_args = list(names)
    smoothing = args.pop("smooth_labels", None)
    if smoothing is not None:
        inner_args[1] = f"optax.losses.smooth_labels({names[1]}, {smoothing!r})"
    call = ", ".join(inner_args + [f"{k}={_literal(v)}" for k, v in args.items()])
    module = {"optax": "optax.losses", "theano": "lossbridge.theano"}[form.framework]
    expr = form.reductions[reduction].format(f"{module}.{form.name}({call})")
    lines.append(f"def loss({', '.join(names)}):\n    return {expr}")
    return "\n".join(lines), form.roles


class _TorchTensor:
    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        # an array, or the literal list of a loss string ("weight=[1.0, 2.0]")
        value = self.value.tolist() if hasattr(self.value, "tolist") else list(self.value)
        return f"torch.tensor({value!r})"


def _arg_name(role: str) -> str:
    return {"bin_logits": "logits", "bin_targets": "labels", "bin_probs": "probs", "onehot": "labels",
            "values": "predictions", "dist": "targets", "rates": "predictions", "counts": "targets"}.get(role, role)


def _dialect_expr(src: _Source, adapter: bool = False) -> str:
    """Python source building the lossbridge dialect loss equivalent to ``src``."""
    import lossbridge

    module = getattr(lossbridge, src.framework)
    if src.framework in ("keras", "torch"):
        if getattr(module, src.name, None) is None:
            raise LossBridgeNotImplementedError(
                f"lossbridge.{src.framework} has no {src.name} yet, so a non-native translation of "
                f"{src.framework}:{src.name} cannot be built; the native translations are to "
                f"{_native_targets(src)}."
            )
        args = []
        signature = inspect.signature(getattr(module, src.name)).parameters
        for k, v in src.config.items():
            p = signature.get(k)
            if p is None or (p.default is not inspect.Parameter.empty and _same(p.default, v)):
                continue
            args.append(f"{k}={_literal(v)}")
        return f"lossbridge.{src.framework}.{src.name}({', '.join(args)})"
    kwargs = ", ".join(f"{k}={_literal(v)}" for k, v in src.config.items() if k != "reduction")
    if kwargs and not adapter:
        return f"functools.partial(lossbridge.{src.framework}.{src.name}, {kwargs})"
    if kwargs:  # the adapters bind keyword arguments to a function themselves
        return f"lossbridge.{src.framework}.{src.name}, {kwargs}"
    return f"lossbridge.{src.framework}.{src.name}"


def _same(a: Any, b: Any) -> bool:
    try:
        return (bool(a == b) and type(a) is type(b)) or (a is None and b is None)
    except Exception:
        return False


def _native_targets(src: _Source) -> str:
    match = _match(src)
    if match is None:
        return "none"
    row, _, params = match
    fws = [f.framework for f in row.forms if _write_native(f, params) is not None and f.framework != src.framework]
    return ", ".join(sorted(set(fws))) or "none"


_CONVENTION = {
    "keras": "Keras calls loss(y_true, y_pred)",
    "torch": "torch calls loss(input, target)",
    "optax": "optax calls loss(predictions, targets)",
    "theano": "Theano calls loss(coding_dist, true_dist)",
}


def _write_fallback(src: _Source, to: str, roles: tuple[str, ...] | None) -> tuple[str, tuple[str, ...], str]:
    expr = _dialect_expr(src, adapter=to in ("torch", "keras"))
    expr_import = "import functools\n" if expr.startswith("functools.") else ""
    if "numpy.array(" in expr:
        if to == "optax":  # arrays of the call's kind: JAX
            expr = expr.replace("numpy.array(", "jax.numpy.array(")
            expr_import += "import jax.numpy\n"
        else:
            expr_import += "import numpy\n"
    src_roles = roles or ("y_true", "y_pred")
    if to == "torch":
        code = f"import lossbridge\nloss = lossbridge.to_torch_module({expr})"
        call = _reorder(src.framework, "torch", src_roles)
        how = "lossbridge's exact dialect loss adapted with lossbridge.to_torch_module (call order (input, target))"
    elif to == "keras":
        # Keras reduces what the source returns: a source that does not reduce keeps its values
        unreduced = src.framework != "keras" and (
            src.config.get("reduction", "none" if src.framework in ("optax", "theano") else "mean") == "none")
        extra = ", reduction='none'" if unreduced else ""
        code = f"import lossbridge\nloss = lossbridge.to_keras_loss({expr}{extra})"
        call = _reorder(src.framework, "keras", src_roles)
        how = "lossbridge's exact dialect loss adapted with lossbridge.to_keras_loss (call order (y_true, y_pred))"
    else:
        call = _reorder(src.framework, to, src_roles)
        if call == tuple(src_roles):
            code = f"import lossbridge\nloss = {expr}"
        else:
            names = [_arg_name(r) for r in call]
            inner = ", ".join(_arg_name(r) for r in src_roles)
            code = f"import lossbridge\n_loss = {expr}\ndef loss({', '.join(names)}):\n    return _loss({inner})"
        how = (f"lossbridge's exact dialect loss, which runs on {'JAX' if to == 'optax' else 'NumPy, torch and JAX'} "
               "arrays as it is" + (" (Theano itself does not run on Python 3.11 + NumPy 2)" if to == "theano" else ""))
    return expr_import + code, call, how


def _reorder(src_fw: str, to: str, roles: tuple[str, ...]) -> tuple[str, ...]:
    """Keras puts the target first, the others the prediction first."""
    if len(roles) != 2 or (src_fw == "keras") == (to == "keras"):
        return tuple(roles)
    return (roles[1], roles[0])


def _conditions(src_form: Form | None, src_roles: tuple[str, ...], dst_roles: tuple[str, ...], dst: Form | None) -> list[str]:
    out: list[str] = []
    src_kinds = sorted(src_roles)
    dst_kinds = sorted(dst_roles)
    if src_kinds != dst_kinds:
        unmatched_src = [r for r in src_roles if r not in dst_roles]
        unmatched_dst = [r for r in dst_roles if r not in src_roles]
        for a, b in zip(unmatched_src, unmatched_dst, strict=False):
            out.append(_ROLE_CHANGES.get((a, b), f"pass {ROLES.get(b, b)} instead of {ROLES.get(a, a)}"))
    if dst is not None:
        out.extend(dst.conditions)
    return out


def _unsupported(src: _Source, to: str, row: Row | None) -> LossBridgeNotImplementedError:
    valid = [fw for fw in FRAMEWORKS if fw != "theano"] + (
        ["theano"] if row is not None and any(f.framework == "theano" for f in row.forms) else [])
    theano_rows = ", ".join(f.title for r in TABLE for f in r.forms if f.framework == "theano")
    return LossBridgeNotImplementedError(
        f"translate(loss={src.text or src.framework + ':' + src.name!r}, to={to!r}): unsupported pair: Theano "
        f"only has probability cross-entropies ({theano_rows}), none computes "
        f"{row.title if row else src.framework + ':' + src.name}. Valid targets for this loss: "
        f"{', '.join(map(repr, valid))}."
        + "".join(f" Nearest {to} call (inexact): {a.title}; {a.differs}." for a in (row.alternatives if row else ())
                  if a.framework == to)
    )


def translate(loss: Any, to: str) -> Translation:
    """The equivalent of ``loss`` in the framework ``to``.

    Args:
      loss: a Keras loss (object, class, function or identifier string; an identifier
        reads as ``model.compile(loss="...")`` reads it, with Keras' default reduction,
        while a Keras function object gives one value per sample), a torch
        loss module or ``torch.nn.functional`` function, an ``optax.losses``
        function, a lossbridge dialect loss, or a string such as
        ``"keras:categorical_crossentropy"``, ``"torch:CrossEntropyLoss(label_smoothing=0.1)"``
        or ``"theano:crossentropy_categorical_1hot"``.
      to: ``"keras"``, ``"torch"``, ``"optax"`` or ``"theano"``.

    Returns:
      a :class:`Translation`: ``loss`` (the native object where one is exact, else
      the lossbridge dialect loss adapted), ``exact``, ``native``, ``conditions``
      (what to change in the model or the call), ``alternatives`` (native
      approximations and what they differ in), ``code`` (builds ``loss``), ``notes``.

    Example:
        >>> import lossbridge as lb
        >>> t = lb.translate("keras:SparseCategoricalCrossentropy(from_logits=True)", "torch")
        >>> print(t.code)
        import torch
        loss = torch.nn.CrossEntropyLoss()
        >>> t.exact, t.native
        (True, True)
    """
    if not isinstance(to, str) or to not in FRAMEWORKS:
        raise LossBridgeError(
            f"translate(to={to!r}): unknown target framework; the targets are {', '.join(map(repr, FRAMEWORKS))}."
        )
    src = _read(loss)
    label = src.text or f"{src.framework}:{src.name}"
    match = _match(src)
    if match is None:
        # not in the table: exact through the dialect when lossbridge has it
        if to == "theano" and src.framework != "theano":
            raise _unsupported(src, to, None)
        named = [f for r in TABLE for f in r.forms if f.framework == src.framework and f.name == src.name]
        code, call, how = _write_fallback(src, to, named[0].roles if named else None)
        known = sorted({f"{f.framework}:{f.name}" for r in TABLE for f in r.forms})
        return Translation(
            label, to, "", True, False, code, call,
            [f"call order: {_CONVENTION[to]}"],
            [], [f"{src.framework}:{src.name} with this configuration is not in the translation table "
                 f"(rows cover {', '.join(known)}); the translation is {how}."],
        )
    row, src_form, params = match
    notes = list(row.notes)
    alternatives = [
        {"framework": a.framework, "title": a.title, "code": a.code.format(**{**_DEFAULTS, **params}),
         "differs": a.differs}
        for a in row.alternatives if a.framework == to
    ]
    for form in row.forms:
        if form.framework != to:
            continue
        written = _write_native(form, params)
        if written is None:
            continue
        code, call = written
        native = to != "theano"
        if to == "theano":
            notes.append("Theano does not run on Python 3.11 + NumPy 2: the translation is lossbridge.theano's exact mirror.")
        conditions = _conditions(src_form, src_form.roles, form.roles, form)
        if src.framework == "keras" and to != "keras" and params.get("reduction") == "mean":
            conditions.append("a Keras sample_weight has no argument here: use reduction='none' and average "
                              "loss * sample_weight over the batch yourself (Keras divides by the batch size)")
        if form.framework != src_form.framework:
            conditions += [text for k, text in row.if_set.items() if _is_set(k, params.get(k))
                           and params.get("reduction") == "mean"]
        return Translation(label, to, row.key, True, native, code, call, conditions, alternatives, notes, params)
    if to == "theano":
        raise _unsupported(src, to, row)
    code, call, how = _write_fallback(src, to, src_form.roles)
    unsupported = [k for k, v in params.items() if k != "reduction" and _is_set(k, v)]
    why = (f"no {to} loss computes {row.title}" if not any(f.framework == to for f in row.forms)
           else f"no {to} form carries {', '.join(unsupported) or 'reduction=' + repr(params.get('reduction'))}")
    notes.insert(0, f"Not native: {why}; the translation is {how}.")
    return Translation(label, to, row.key, True, False, code, call,
                       [f"call order: {_CONVENTION[to]}"], alternatives, notes, params)
