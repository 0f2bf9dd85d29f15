"""PyTorch losses with torch 2.13's exact semantics, on NumPy, torch and JAX arrays.

``lossbridge.torch.<Name>`` mirrors ``torch.nn.<Name>``: the same constructor
signature, defaults, attributes and call order ``(input, target)``;
``lossbridge.torch.functional.<name>`` mirrors ``torch.nn.functional.<name>``.
On torch tensors the functions validate their inputs and call torch's own kernels;
on NumPy and JAX arrays they compute the same numbers with lossbridge's generic
code (tests prove the paths equal, values and gradients).

Errors are lossbridge errors that are also torch's built-in types
(``IndexError`` for a target out of bounds, ``RuntimeError``, ``ValueError``,
``NotImplementedError``), with torch's message first, then the shapes and dtypes
seen and the fix; warnings are :class:`lossbridge.LossBridgeWarning`.

Example:
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
    >>> t = np.array([0, 2, 1, 2])
    >>> round(float(lb.torch.CrossEntropyLoss()(x, t)), 6)
    1.26034

Intentional divergences on bad inputs (the table ``lossbridge._divergences.DIVERGENCES``,
which the bad-input suite tests):

* ``masked``: NumPy masked arrays are refused (LossBridgeTypeError): torch.as_tensor drops the mask.
* ``label_out_of_range``: ``ctc_loss`` / ``CTCLoss`` refuse a target label outside
  ``[0, C)`` (LossBridgeIndexError): torch does not check it and reads ``log_probs`` out of
  bounds, an undefined value.
"""

from __future__ import annotations

from .. import _catalog
from . import functional
from ._modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    LinearCrossEntropyLoss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    NLLLoss2d,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)

_CTC = ("ctc_log_probs", "ctc_targets", "ctc_input_lengths", "ctc_target_lengths")
_TRIPLET = ("anchors", "positives", "negatives")

# (class, function, input roles, summary, catalog defaults)
_ENTRIES: list[tuple[str | None, str | None, tuple[str, ...], str, dict]] = [
    ("CrossEntropyLoss", "cross_entropy", ("logits", "labels"),
     "logits and class indices (or probabilities); weighted mean", {}),
    ("NLLLoss", "nll_loss", ("log_probs", "labels"),
     "log-probabilities and class indices; weighted mean", {}),
    ("BCELoss", "binary_cross_entropy", ("probs", "onehot"),
     "probabilities, each log clamped at -100", {}),
    ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits", ("logits", "onehot"),
     "stable sigmoid + BCE, pos_weight", {}),
    ("MSELoss", "mse_loss", ("values", "targets"),
     "mean squared error (broadcasts, with a warning)", {}),
    ("L1Loss", "l1_loss", ("values", "targets"), "mean absolute error", {}),
    ("HuberLoss", "huber_loss", ("values", "targets"),
     "0.5 d^2 below delta, delta (|d| - delta/2) above; reduction comes first", {}),
    ("SmoothL1Loss", "smooth_l1_loss", ("values", "targets"),
     "0.5 d^2 / beta below beta, |d| - beta/2 above (Huber / delta)", {}),
    ("PoissonNLLLoss", "poisson_nll_loss", ("values", "targets"),
     "Poisson NLL: exp(x) - y x with log_input (default); Stirling term with full", {}),
    ("GaussianNLLLoss", "gaussian_nll_loss", ("values", "targets", "variances"),
     "0.5 (log v + d^2 / v), var clamped at eps with a transparent gradient", {}),
    ("KLDivLoss", "kl_div", ("log_probs", "probs"),
     "KL(target || exp(input)); 'mean' divides by numel (warns), use 'batchmean'",
     {"reduction": "batchmean"}),
    ("SoftMarginLoss", "soft_margin_loss", ("values", "signs"),
     "log(1 + exp(-y x)) with y in {1, -1}; not overflow-safe", {}),
    ("MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss", ("logits", "onehot"),
     "per-class sigmoid BCE averaged over classes, then over samples", {}),
    ("MultiMarginLoss", "multi_margin_loss", ("logits", "labels"),
     "multi-class hinge summed over the other classes / C; plain mean", {}),
    ("MultiLabelMarginLoss", "multilabel_margin_loss", ("logits", "multilabels"),
     "hinge between listed (until -1) and unlisted classes / C", {}),
    ("MarginRankingLoss", "margin_ranking_loss", ("scores1", "scores2", "pair_signs"),
     "max(0, -y (x1 - x2) + margin)", {}),
    ("HingeEmbeddingLoss", "hinge_embedding_loss", ("values", "signs"),
     "x for y = 1, max(0, margin - x) for y = -1, both for other labels", {}),
    ("CosineEmbeddingLoss", "cosine_embedding_loss", ("embeddings1", "embeddings2", "pair_signs"),
     "1 - cos for y = 1, max(0, cos - margin) for y = -1", {}),
    ("TripletMarginLoss", "triplet_margin_loss", _TRIPLET,
     "max(0, margin + d(a, p) - d(a, n)), d = ||u - v + eps||_p", {}),
    ("TripletMarginWithDistanceLoss", "triplet_margin_with_distance_loss", _TRIPLET,
     "triplet loss with any distance (default pairwise_distance)", {}),
    ("CTCLoss", "ctc_loss", _CTC,
     "CTC: -log sum over alignments; 'mean' divides by target lengths; logits gradient", {}),
    ("LinearCrossEntropyLoss", None, ("features", "labels"),
     "a linear layer (randomly initialised here) then cross-entropy",
     {"in_features": 4, "num_classes": 3, "dtype": "float64"}),
    (None, "linear_cross_entropy", ("features", "linear_weight", "labels"),
     "cross_entropy(input @ W.T + b, target) (torch 2.13)", {}),
    ("NLLLoss2d", None, ("log_probs", "labels"), "deprecated alias of NLLLoss (FutureWarning)", {}),
]

for _cls, _fn, _roles, _summary, _defaults in _ENTRIES:
    if _cls is not None:
        _catalog.register("torch", _cls, _roles, _summary, module="torch", **_defaults)
    if _fn is not None:
        _fn_summary = _summary if _cls is None else f"functional {_cls}"
        _catalog.register("torch", _fn, _roles, _fn_summary, module="torch.functional", **_defaults)

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LinearCrossEntropyLoss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "functional",
]
