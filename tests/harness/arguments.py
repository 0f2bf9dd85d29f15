"""How people call losses: every argument of every catalog loss over its domain (issue 17, item 2).

THE argument table of the conformance suite.  For each dialect, :data:`DOMAINS` maps an argument
name to its *domain*: a function ``domain(draw, case)`` that draws a value (or :data:`OMIT`, the
argument left out, so that the default is drawn too) given the :class:`Case` being built (batch
size, class count, layout, the arrays drawn so far).  :data:`OVERRIDES` replaces the domain of an
argument for one loss (``weight`` is a class-weight vector for ``cross_entropy``, an element-wise
weight for ``mse_loss``).  :data:`EXCLUDED` lists, with the reason, every argument that is not
drawn.  ``tests/test_argument_conformance.py`` fails when a catalog loss has an argument (of its
signature, or ``sample_weight`` of a Keras loss object's call) that neither table names, so a new
argument is drawn or excluded on purpose.

Arrays are built from the catalog's input *roles* (:data:`ROLES`), with the values drawn from a
seed (NumPy), the structure by hypothesis: the class axis of the class-carrying roles sits where
the drawn ``axis`` says (torch: always axis 1).  Floating roles are differentiated, except the
ones in :data:`NOT_DIFFERENTIATED` (masks and paddings).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from . import strategies as S

OMIT: Any = type("Omit", (), {"__repr__": lambda self: "OMIT"})()

Domain = Callable[[Any, "Case"], Any]


@dataclass
class Case:
    """The call being drawn: structure first, then arrays, then arguments."""

    dialect: str
    name: str
    r: np.random.Generator
    n: int
    c: int
    rank: int = 2  # of the class-carrying arrays: (N, C) or (N, K, C) before the class axis moves
    axis: int = -1  # where the class axis of the class-carrying roles sits
    arrays: list[Any] = field(default_factory=list)
    roles: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)

    K = 3  # the extra axis of rank-3 layouts

    def role(self, name: str) -> Any:
        return self.arrays[self.roles.index(name)] if name in self.roles else None

    def set_role(self, name: str, value: Any) -> None:
        self.arrays[self.roles.index(name)] = value

    @property
    def class_shape(self) -> tuple[int, ...]:
        shape = (self.n, self.c) if self.rank == 2 else (self.n, self.K, self.c)
        return tuple(np.moveaxis(np.empty(shape), -1, self.axis).shape)

    @property
    def label_shape(self) -> tuple[int, ...]:
        return (self.n,) if self.rank == 2 else (self.n, self.K)


# ------------------------------------------------------------------ domain helpers

def _defaults_last(values: Any) -> list[Any]:
    """Hypothesis' first (simplest) example takes the first value of every list: put OMIT and None
    (the defaults, which the dialects' own conformance tests draw) last, so that example is a
    call with every argument set."""
    values = list(values)
    return [v for v in values if v is not OMIT and v is not None] + [v for v in values if v is None] + (
        [OMIT] if any(v is OMIT for v in values) else [])


def pick(*values: Any) -> Domain:
    """One of ``values`` (:data:`OMIT` among them draws the default)."""
    ordered = _defaults_last(values)
    return lambda draw, case: draw(st.sampled_from(ordered))


def unit_interval(*edges: float) -> Domain:
    """A float in [0, 1]: the edges (0, 1, ...) or uniform inside; or OMIT."""
    def domain(draw: Any, case: Case) -> Any:
        v = draw(st.sampled_from([*edges, "uniform", OMIT]))
        return float(case.r.uniform(0, 1)) if v == "uniform" else v
    return domain


def positive(*edges: float) -> Domain:
    def domain(draw: Any, case: Case) -> Any:
        v = draw(st.sampled_from([*edges, "uniform", OMIT]))
        return float(case.r.uniform(0.1, 3.0)) if v == "uniform" else v
    return domain


def class_vector(low: float = 0.0, high: float = 2.0, optional: bool = True) -> Domain:
    """One weight per class, (C,), some exactly ``low`` (a zero weight is an edge)."""
    def domain(draw: Any, case: Case) -> Any:
        if optional and draw(st.booleans()):
            return draw(st.sampled_from([None, OMIT]))
        w = case.r.uniform(max(low, 0.1), high, size=(case.c,))
        if draw(st.booleans()):
            w[case.r.integers(0, case.c)] = low
        return w
    return domain


def elementwise(role: str, low: float = 0.0, high: float = 2.0) -> Domain:
    """A weight of the shape of the input of ``role``."""
    def domain(draw: Any, case: Case) -> Any:
        if draw(st.booleans()):
            return draw(st.sampled_from([None, OMIT]))
        return case.r.uniform(low, high, size=np.shape(case.role(role)))
    return domain


def broadcast_weight(role: str) -> Domain:
    """torch BCE's weight: broadcastable to the input: (C,) or the input's shape."""
    def domain(draw: Any, case: Case) -> Any:
        shape = np.shape(case.role(role))
        v = draw(st.sampled_from(["last", "full", None, OMIT]))
        if v in ("last", "full"):
            return case.r.uniform(0.0, 2.0, size=shape[-1:] if v == "last" else shape)
        return v
    return domain


def ignore_index(default: Any, role: str = "labels") -> Domain:
    """OMIT, the default, a class present in the targets, or a value outside [0, C) planted in them."""
    def domain(draw: Any, case: Case) -> Any:
        v = draw(st.sampled_from(["present", "planted", "default", OMIT]))
        labels = case.role(role)
        if v == "default":
            return default
        if v == "present" and labels is not None and labels.size:
            return int(labels.flat[case.r.integers(0, labels.size)])
        if v == "planted" and labels is not None:
            value = -100 if default in (-100, None) else -1
            value = draw(st.sampled_from([value, -1]))
            labels = labels.copy()
            labels[case.r.uniform(size=labels.shape) < 0.3] = value
            case.set_role(role, labels)
            return value
        return OMIT
    return domain


def keras_ignore_class(draw: Any, case: Case) -> Any:
    return ignore_index(None)(draw, case)


def class_axis(*values: int) -> Domain:
    """An ``axis`` that says where the class axis is: moves it there (decided before the arrays)."""
    def domain(draw: Any, case: Case) -> Any:
        return draw(st.sampled_from(_defaults_last([OMIT, *values])))
    domain.moves_class_axis = values  # type: ignore[attr-defined]
    return domain


def reduce_axes(draw: Any, case: Case) -> Any:
    """Keras Dice/Tversky, optax dice: the axes reduced per sample (None: all but the batch)."""
    options: list[Any] = [(1,), [1]] + ([(1, 2), (2,)] if case.rank == 3 else [])
    return draw(st.sampled_from([*options, None, OMIT]))


def mask_of(role: str) -> Domain:
    """optax's ``where``: a boolean mask of the input's shape (about 25% False), or OMIT/None."""
    def domain(draw: Any, case: Case) -> Any:
        if draw(st.booleans()):
            return draw(st.sampled_from([None, OMIT]))
        return case.r.uniform(size=np.shape(case.role(role))) > 0.25
    return domain


def sum_of_all(x: Any, where: Any = None) -> Any:
    """A custom ``reduce_fn`` (optax ranking calls ``reduce_fn(loss, where=where)``): the masked
    sum, on any array kind."""
    return x.sum() if where is None else (x * where).sum()


def keras_dtype(draw: Any, case: Case) -> Any:
    return draw(st.sampled_from(["bfloat16", "float64", "float16", "float32", None, OMIT]))


def sample_weight(draw: Any, case: Case) -> Any:
    """A Keras loss object's call argument: None, scalar, per sample (N,)/(N, 1), per element."""
    shape = case.label_shape
    kinds = ["per_sample", "scalar", "per_sample_col"] + (["per_element"] if len(shape) > 1 else []) + ["none"]
    return S.sample_weight(case.r, draw(st.sampled_from(kinds)), shape)


def alpha_per_class(draw: Any, case: Case) -> Any:
    """CategoricalFocalCrossentropy's alpha: a float in [0, 1] or one per class."""
    if draw(st.booleans()):
        return list(case.r.uniform(0, 1, size=case.c))
    return unit_interval(0.0, 0.25, 1.0)(draw, case)


# ------------------------------------------------------------------ the table

TORCH_REDUCTIONS = pick(OMIT, "mean", "sum", "none")
LEGACY = pick(OMIT, None, True, False)
FROM_LOGITS = pick(OMIT, False, True)
KERAS_REDUCTION = pick(OMIT, "sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
TF_KERAS_REDUCTION = pick(OMIT, "auto", "sum_over_batch_size", "sum", "none")

DOMAINS: dict[str, dict[str, Domain]] = {
    "torch": {
        "reduction": TORCH_REDUCTIONS,
        "size_average": LEGACY,
        "reduce": LEGACY,
        "weight": class_vector(),
        "pos_weight": class_vector(0.0, 3.0),
        "ignore_index": ignore_index(-100),
        "label_smoothing": unit_interval(0.0, 0.1, 1.0),
        "delta": positive(0.5, 1.0, 2.0),
        "beta": positive(0.0, 0.5, 1.0, 2.0),
        "margin": pick(OMIT, 0.0, 0.5, 1.0, 2.0, -0.5),
        "log_input": pick(OMIT, True, False),
        "full": pick(OMIT, True, False),
        "eps": pick(OMIT, 1e-8, 1e-6, 1e-3, 0.1),
        "log_target": pick(OMIT, True, False),
        "p": pick(OMIT, 1, 2),
        "swap": pick(OMIT, True, False),
        "blank": pick(OMIT, 0, "last"),
        "zero_infinity": pick(OMIT, True, False),
    },
    "keras": {
        "from_logits": FROM_LOGITS,
        "label_smoothing": unit_interval(0.0, 0.1, 1.0),
        "axis": class_axis(-1, 0, 1, -2),
        "reduction": KERAS_REDUCTION,
        "dtype": keras_dtype,
        "ignore_class": keras_ignore_class,
        "apply_class_balancing": pick(OMIT, True, False),
        "alpha": unit_interval(0.0, 0.25, 1.0),
        "gamma": pick(OMIT, 0.0, 1.0, 2.0, 3.5),
        "q": pick(OMIT, 0.1, 0.5, 0.9, 1.0),
        "delta": positive(0.5, 1.0, 2.0),
        "sample_weight": sample_weight,
    },
    "optax": {
        "axis": class_axis(-1, 0, 1),
        "where": mask_of("logits"),
        "epsilon": pick(OMIT, 0.0, 1e-8, 0.1),
        "delta": positive(0.5, 1.0, 2.0),
        "alpha": unit_interval(0.0, 0.25, 0.5, 1.0),
        "beta": unit_interval(0.0, 0.5, 1.0),
        "gamma": pick(OMIT, 0.0, 1.0, 2.0, 3.5),
        "smooth": pick(OMIT, 0.0, 1e-5, 1.0, 2.0),
        "apply_softmax": pick(OMIT, True, False),
        "apply_sigmoid": pick(OMIT, True, False),
        "ignore_background": pick(OMIT, True, False),
        "reduction": pick(OMIT, "mean", "sum", "none"),
        "class_weights": class_vector(0.0, 2.0),
        "blank_id": pick(OMIT, 0, "last"),
        "log_epsilon": pick(OMIT, -1e5, -1e3, -10.0),
        "temperature": pick(OMIT, 0.07, 0.5, 1.0),
        "weights": elementwise("logits"),
        "reduce_fn": pick(OMIT, None, sum_of_all),
        "norm_degree": pick(OMIT, 1, 2, 3),
        "margin": pick(OMIT, 0.0, 0.5, 1.0, 2.0),
        "eps": pick(OMIT, 1e-6, 1e-3, 0.0),
    },
    "tf_keras": {
        "from_logits": FROM_LOGITS,
        "label_smoothing": unit_interval(0.0, 0.1, 1.0),
        "axis": class_axis(-1, 0, 1, -2),
        "reduction": TF_KERAS_REDUCTION,
        "ignore_class": keras_ignore_class,
        "apply_class_balancing": pick(OMIT, True, False),
        "alpha": unit_interval(0.0, 0.25, 1.0),
        "gamma": pick(OMIT, 0.0, 1.0, 2.0, 3.5),
        "delta": positive(0.5, 1.0, 2.0),
        "sample_weight": sample_weight,
    },
    "theano": {},
}

_TORCH_ELEMENTWISE = {"weight": elementwise("values")}
_KL = {"reduction": pick(OMIT, "mean", "batchmean", "sum", "none")}
OVERRIDES: dict[tuple[str, str], dict[str, Domain]] = {
    **{("torch", n): {"weight": broadcast_weight("probs")} for n in ("BCELoss", "binary_cross_entropy")},
    **{("torch", n): {"weight": broadcast_weight("logits")}
       for n in ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits")},
    **{("torch", n): _TORCH_ELEMENTWISE for n in ("mse_loss", "l1_loss", "huber_loss")},
    **{("torch", n): _KL for n in ("KLDivLoss", "kl_div")},
    **{("torch", n): {"p": pick(OMIT, 1.0, 1.5, 2.0, 3.0)} for n in ("TripletMarginLoss", "triplet_margin_loss")},
    **{("torch", n): {"distance_function": pick(OMIT, None, "l1", "squared")}
       for n in ("TripletMarginWithDistanceLoss", "triplet_margin_with_distance_loss")},
    **{("torch", n): {"ignore_index": ignore_index(None)}
       for n in ("LinearCrossEntropyLoss", "linear_cross_entropy")},
    ("torch", "LinearCrossEntropyLoss"): {
        "ignore_index": ignore_index(None),
        "bias": pick(OMIT, True, False),
        "out_features": pick(OMIT, ()),
    },
    ("torch", "linear_cross_entropy"): {
        "ignore_index": ignore_index(None),
        "linear_bias": lambda draw, case: (case.r.normal(size=(case.c,)) if draw(st.booleans()) else OMIT),
    },
    **{(d, n): {"alpha": alpha_per_class} for d in ("keras", "tf_keras")
       for n in ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy")},
    **{("keras", n): {"axis": reduce_axes} for n in ("Dice", "dice")},
    **{("keras", n): {"axis": reduce_axes, "alpha": unit_interval(0.0, 0.3, 0.5, 1.0),
                      "beta": unit_interval(0.0, 0.5, 0.7, 1.0)} for n in ("Tversky", "tversky")},
    **{(d, n): {"axis": pick(OMIT, -1, 0, 1)} for d in ("keras", "tf_keras")
       for n in ("CosineSimilarity", "cosine_similarity")},
    **{(d, n): {"axis": class_axis(-1, 1)} for d, n in (
        ("keras", "SparseCategoricalCrossentropy"), ("keras", "sparse_categorical_crossentropy"),
        ("tf_keras", "sparse_categorical_crossentropy"))},
    ("keras", "Circle"): {"gamma": pick(OMIT, 1.0, 10.0, 80.0), "margin": pick(OMIT, 0.0, 0.25, 0.4),
                          "remove_diagonal": pick(OMIT, True, False)},
    ("keras", "circle"): {
        "gamma": pick(OMIT, 1.0, 10.0, 80.0), "margin": pick(OMIT, 0.0, 0.25, 0.4),
        "remove_diagonal": pick(OMIT, True, False),
        "ref_labels": lambda draw, case: case.r.integers(0, 3, size=(case.n + 1,)) if draw(st.booleans()) else OMIT,
        "ref_embeddings": lambda draw, case: (case.r.normal(size=(case.n + 1, case.c))
                                              if "ref_labels" in case.config else OMIT),
    },
    **{("optax", n): {"where": mask_of("log_probs")}
       for n in ("kl_divergence", "kl_divergence_with_log_targets", "convex_kl_divergence",
                 "generalized_kl_divergence")},
    **{("optax", n): {"where": mask_of("values"), "axis": class_axis(-1, 0)}
       for n in ("cosine_distance", "cosine_similarity")},
    ("optax", "softmax_cross_entropy_with_integer_labels"): {
        "axis": class_axis(-1, 1), "where": mask_of("labels")},
    ("optax", "poly_loss_cross_entropy"): {"epsilon": pick(OMIT, -1.0, 0.0, 2.0, 5.0)},
    ("optax", "sigmoid_focal_loss"): {"alpha": pick(OMIT, None, 0.0, 0.25, 1.0)},
    ("optax", "smooth_labels"): {"alpha": unit_interval(0.0, 0.1, 1.0), "where": mask_of("onehot")},
    ("optax", "dice_loss"): {"axis": reduce_axes},
    ("optax", "triplet_margin_loss"): {"axis": pick(OMIT, -1, 0)},
}

#: (dialect, loss or "*", argument) -> why the argument is not drawn.
EXCLUDED: dict[tuple[str, str, str], str] = {
    ("keras", "*", "name"): "a label for the loss (metrics, serialisation): no effect on values or gradients",
    ("tf_keras", "*", "name"): "a label for the loss (metrics, serialisation): no effect on values or gradients",
    ("keras", "*", "fixed_label_smoothing"): (
        "lossbridge-only opt-in of the post-3.15.1 Keras fix (keras PR #23333's class count on `axis`): "
        "keras 3.15.1 has no such argument, so there is no oracle; tests/keras_dialect checks it"),
    ("keras", "*", "fixed_alpha_beta"): (
        "lossbridge-only opt-in of keras main's Tversky alpha/beta (after keras PR #23333): keras "
        "3.15.1 has no such argument, so there is no oracle; tests/keras_dialect checks it"),
    ("torch", "*", "options"): (
        "lossbridge's and torch's fused-engine tuning (block sizes, engine): no effect on values; "
        "tests/fused compares every engine with torch"),
    ("torch", "*", "device"): "the CI has CPUs only; the device follows the arrays",
    ("torch", "LinearCrossEntropyLoss", "dtype"): (
        "the parameters' dtype: set to the compared dtype (float32 and float64) by the wrapper on both sides"),
    ("torch", "LinearCrossEntropyLoss", "in_features"): "structural: the features' last axis (F = 4)",
    ("torch", "LinearCrossEntropyLoss", "num_classes"): "structural: the weight's classes (C)",
}

#: roles whose arrays are masks or paddings: floating but not differentiated.
NOT_DIFFERENTIATED = {"seq_paddings", "seq_label_paddings"}

#: (dialect, loss or "*", role) -> why the gradient of that floating input is not compared.
_SOFT_MARGIN_TARGET = (
    "torch has no gradient with respect to soft_margin_loss' target: it raises 'not differentiable "
    "with respect to argument target' when the target requires grad, and the torch dialect on torch "
    "tensors raises the same (a LossBridgeRuntimeError); lossbridge's generic code (torch-generic, "
    "JAX) differentiates it, as its docstring says: no oracle for that gradient")
GRADIENT_EXCLUDED: dict[tuple[str, str, str], str] = {
    ("torch", "SoftMarginLoss", "signs"): _SOFT_MARGIN_TARGET,
    ("torch", "soft_margin_loss", "signs"): _SOFT_MARGIN_TARGET,
}

#: (dialect, loss, role, array kind) -> a gradient that disagrees with the framework today and is
#: not compared on that kind until fixed (remove the entry with the fix).
KNOWN_OPEN_GRADIENTS: dict[tuple[str, str, str, str], str] = {}

_USER_DISTANCE = (
    "with a distance function, torch hands the arrays to that function unchecked, so a NumPy array "
    "next to a tensor fails inside it with whatever it raises (RuntimeError 'Can't call numpy() on "
    "Tensor that requires grad' for `abs(u - v)`); the torch dialect refuses the mix up front with "
    "torch's TypeError of every other loss (tests/test_mixed_kinds.py)")
#: (dialect, loss) -> why the loss is not called by the argument test (its arguments still
#: must be in the table).
ENTRY_EXCLUDED: dict[tuple[str, str], str] = {
    ("optax", "ctc_loss_with_forward_probs"): (
        "returns a tuple (loss, forward probabilities of the labels and of the blanks), which the "
        "harness' value/gradient comparison does not take; its arguments (blank_id, log_epsilon) "
        "are ctc_loss's, drawn there, and tests/optax_dialect/test_optax_conformance.py compares "
        "the three outputs"),
}


def fix_inputs(case: Case) -> None:
    """Inputs that the drawn arguments call for: probabilities where optax's dice losses are told
    the predictions are probabilities (``apply_softmax=False``/``apply_sigmoid=False``; optax checks
    that they sum to 1, with a TypeError of its own under autodiff tracing)."""
    if case.dialect == "optax" and case.config.get("apply_softmax") is False:
        x = case.role("logits")
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        case.set_role("logits", e / e.sum(axis=-1, keepdims=True))
    if case.dialect == "optax" and case.config.get("apply_sigmoid") is False:
        # optax's binary_dice_loss adds a class axis of size 1 and checks that it "sums to 1": the
        # only predictions it takes without apply_sigmoid are ones (the others raise ValueError,
        # a TypeError of optax's message formatting under autodiff)
        case.set_role("logits", np.ones_like(case.role("logits")))


#: (dialect, loss) -> (dtype, value scale, gradient scale, why): tolerances wider than
#: harness/compare.py's for that dtype.
TOLERANCE: dict[tuple[str, str], tuple[str, float, float, str]] = {
    ("tf_keras", "ctc_batch_cost"): (
        "float64", 100.0, 1e4,
        "TensorFlow's CTC kernel is only about float32-accurate in float64 (values within ~1e-8, "
        "gradients ~1e-6 of the exact recursion), as in tests/tf_keras_dialect"),
}

#: (dialect, loss) -> why mixed array kinds are not drawn for it.
MIXED_EXCLUDED: dict[tuple[str, str], str] = {
    ("torch", "TripletMarginWithDistanceLoss"): _USER_DISTANCE,
    ("torch", "triplet_margin_with_distance_loss"): _USER_DISTANCE,
}


def domains(dialect: str, name: str) -> dict[str, Domain]:
    return {**DOMAINS[dialect], **OVERRIDES.get((dialect, name), {})}


def excluded(dialect: str, name: str, arg: str) -> str | None:
    return EXCLUDED.get((dialect, name, arg)) or EXCLUDED.get((dialect, "*", arg))


def arguments(entry: Any) -> list[str]:
    """The arguments of a catalog loss besides its inputs (as ``_catalog.bind`` names them), plus
    ``sample_weight`` for a Keras/tf.keras loss object (an argument of its call)."""
    obj = entry.obj()
    params = list(inspect.signature(obj).parameters.values())
    inputs: list[str] = []
    if not inspect.isclass(obj):
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        inputs = [p.name for p in positional[: len(entry.roles)]]
    names = [p.name for p in params
             if p.name not in inputs and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if entry.dialect in ("keras", "tf_keras") and inspect.isclass(obj):
        names.append("sample_weight")
    return names


# ------------------------------------------------------------------ arrays by role

#: roles that carry the class axis (moved to the drawn ``axis``).
CLASS_ROLES = {"probs", "logits", "log_probs", "onehot", "values", "targets", "soft_targets",
               "log_soft_targets", "signs", "embeddings1", "embeddings2", "anchors", "positives", "negatives"}


def _role(case: Case, role: str, labels: np.ndarray, blank: int) -> np.ndarray:
    r, n, c, T, S_ = case.r, case.n, case.c, 4, 2
    shape = (n, c) if case.rank == 2 else (n, case.K, c)
    nonblank = np.array([k for k in range(c) if k != blank])
    if role == "probs":
        return S.probabilities(r, shape, str(r.choice(["normalised", "unnormalised", "edges", "tiny"])))
    if role == "logits":
        return S.logits(r, shape, "extreme" if r.uniform() < 0.15 else "normal")
    if role == "log_probs":
        x = S.logits(r, shape, "normal")
        return x - np.log(np.exp(x).sum(-1, keepdims=True))
    if role == "onehot":
        return S.one_hot(r, labels, c) if r.uniform() < 0.6 else S.soft_targets(r, shape)
    if role in ("soft_targets", "log_soft_targets"):
        t = 0.9 * S.soft_targets(r, shape) + 0.1 / c
        return np.log(t) if role == "log_soft_targets" else t
    if role == "labels":
        return labels
    if role in ("values", "targets", "variances"):
        return r.uniform(0.05 if role != "targets" else 0.0, 2.0, size=shape)
    if role == "signs":
        return r.choice([-1.0, 1.0], size=shape)
    if role in ("embeddings1", "embeddings2", "anchors", "positives", "negatives", "embeddings"):
        return r.normal(size=(n, c))
    if role in ("scores1", "scores2"):
        return r.normal(size=(n,))
    if role == "pair_signs":
        return r.choice([-1.0, 1.0], size=(n,))
    if role == "multilabels":
        out = np.full((n, c), -1)
        for i in range(n):
            k = int(r.integers(1, c + 1))
            out[i, :k] = r.permutation(c)[:k]
            if k < c and r.uniform() < 0.3:
                out[i, k + 1:] = r.integers(0, c, size=c - k - 1)  # after the -1: ignored by torch
        return out
    if role == "groups":
        return np.repeat(np.arange((n + 1) // 2), 2)[:n]
    if role == "features":
        return r.normal(size=(n, 4))
    if role == "linear_weight":
        return r.normal(0, 0.5, size=(c, 4))
    if role in ("label_sequences",):
        return r.integers(1, c, size=(n, S_))
    if role == "logit_sequences":
        return r.normal(size=(n, T, c))
    if role == "ctc_log_probs":  # logits: the wrapper applies log_softmax (torch's CTC gradient)
        return r.normal(size=(T, n, c))
    if role == "ctc_targets":
        return nonblank[r.integers(0, len(nonblank), size=(n, S_))]
    if role == "ctc_input_lengths":
        return r.integers(S_ + 1, T + 1, size=(n,))
    if role == "ctc_target_lengths":
        return r.integers(1, S_ + 1, size=(n,))
    if role == "ctc_batch_labels":
        return r.integers(0, c - 1, size=(n, S_))
    if role == "ctc_batch_probs":
        return S.probabilities(r, (n, T, c), "normalised")
    if role == "ctc_batch_input_lengths":
        return r.integers(S_ + 1, T + 1, size=(n, 1))
    if role == "ctc_batch_label_lengths":
        return r.integers(1, S_ + 1, size=(n, 1))
    if role == "seq_logits":
        return r.normal(size=(n, T, c))
    if role == "seq_paddings":
        lengths = r.integers(S_ + 1, T + 1, size=(n,))
        return (np.arange(T)[None, :] >= lengths[:, None]).astype(np.float64)
    if role == "seq_labels":
        return nonblank[r.integers(0, len(nonblank), size=(n, S_))]
    if role == "seq_label_paddings":
        lengths = r.integers(1, S_ + 1, size=(n,))
        return (np.arange(S_)[None, :] >= lengths[:, None]).astype(np.float64)
    raise KeyError(f"no generator for the role {role!r}: add it to harness/arguments.py")


def build_arrays(case: Case, roles: tuple[str, ...], blank: int) -> list[np.ndarray]:
    labels = case.r.integers(0, case.c, size=case.label_shape)
    out = []
    for role in roles:
        a = _role(case, role, labels, blank)
        if role in CLASS_ROLES and case.axis != -1 and a.ndim == case.rank:
            a = np.moveaxis(a, -1, case.axis)
        out.append(a)
    return out


# ------------------------------------------------------------------ which oracles judge a call

def _sparse_axis_reason() -> str:
    from upstream.exclusions import _AXIS  # the one statement of this intentional difference

    return _AXIS.reason


#: Calls where the Keras backends themselves differ, and which backend lossbridge follows (why).
KERAS_BACKEND_RULES: tuple[tuple[str, str], ...] = (
    ("sparse CE, class axis not last: keras-torch", "see upstream/exclusions.py _AXIS"),
    ("sparse CE, ignore_class with a sample weight smaller than the labels: keras-jax",
     "keras-torch multiplies the weight by the mask in place and raises "
     "(tests/keras_dialect test_known_keras_torch_bug_weight_with_mask)"),
    ("bfloat16/float16 dtype: the Keras backend of the array kind (NumPy and JAX: keras-jax)",
     "in half precision Keras' epsilon 1e-7 rounds to 0: keras-jax's binary cross-entropy takes "
     "log(0) = -inf, keras-torch's torch kernel clamps the log at -100; lossbridge follows the "
     "backend of the arrays it is given"),
    ("Circle with a scalar (0-d) sample weight: keras-jax",
     "keras-torch raises RuntimeError 'output with shape [] doesn't match the broadcast shape [N]' "
     "(an in-place multiply of the 0-d weight); keras-jax and lossbridge compute the weighted loss"),
)


def keras_oracles(entry: Any, spec: Any, args: list[Any], oracles: list[Any], kind: str) -> list[Any]:
    """The Keras oracles that judge this call (all, except where :data:`KERAS_BACKEND_RULES` say)."""
    cfg = {**spec.config, **spec.kwargs}
    if cfg.get("dtype") in ("bfloat16", "float16"):
        same = "torch" if kind.startswith("torch") else "jax"
        oracles = [o for o in oracles if o.backend == same]
    if entry.name in ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"):
        ndim = np.ndim(args[1])
        if cfg.get("axis", -1) % ndim != ndim - 1:
            _sparse_axis_reason()
            oracles = [o for o in oracles if o.backend == "torch"]
        sw = args[2] if len(args) > 2 else None
        if cfg.get("ignore_class") is not None and sw is not None and np.shape(sw) != np.shape(args[0]):
            oracles = [o for o in oracles if o.backend == "jax"]
    if entry.name == "Circle" and len(args) > 2 and args[2] is not None and np.ndim(args[2]) == 0:
        oracles = [o for o in oracles if o.backend == "jax"]
    return oracles
