"""The ``torch.nn`` loss classes, as plain Python objects.

Each class has torch's constructor signature, defaults and attributes
(``reduction``, ``weight``, ``ignore_index``, ...), and ``forward`` / ``__call__``
with torch's call order ``(input, target)``; the math is
:mod:`lossbridge.torch.functional`.  They are not ``torch.nn.Module``s and import
no framework: ``lossbridge.to_torch_module`` adapts one into a module whose
tensors are buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._backend import array_kind, torch_namespace
from .._errors import (
    LossBridgeError,
    LossBridgeFutureWarning,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from .._warnings import warn
from . import functional as F
from ._reduction import legacy_get_string

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
]


class _Loss:
    """Base of the torch dialect's losses (``torch.nn.modules.loss._Loss``)."""

    reduction: str
    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        if size_average is not None or reduce is not None:
            self.reduction = legacy_get_string(size_average, reduce)
        else:
            self.reduction = reduction

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def _repr_args(self) -> dict[str, Any]:
        return {"reduction": self.reduction} if self.reduction != "mean" else {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"


class _WeightedLoss(_Loss):
    """Base of the losses with a class ``weight`` (``_WeightedLoss``)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.weight = weight


class L1Loss(_Loss):
    """torch's ``L1Loss``: mean absolute error, :func:`~lossbridge.torch.functional.l1_loss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.L1Loss()(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        1.5
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """torch's ``MSELoss``: mean squared error, :func:`~lossbridge.torch.functional.mse_loss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.MSELoss()(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        2.5
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """torch's ``NLLLoss`` over log-probabilities, :func:`~lossbridge.torch.functional.nll_loss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logp = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
        >>> round(float(lb.torch.NLLLoss()(logp, np.array([1, 0]))), 6)
        0.490415
    """

    __constants__: ClassVar[list[str]] = ["ignore_index", "reduction"]

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Any:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """torch's ``CrossEntropyLoss``: logits and class indices (or class probabilities).

    See :func:`lossbridge.torch.functional.cross_entropy` for the formula: the
    weighted ``"mean"`` divides by the sum of the targets' class weights, every
    target ignored gives NaN, label smoothing mixes in ``eps / C`` of the uniform
    distribution weighted per class.

    Args:
      weight: a 1-D array of C class weights, or None.
      size_average, reduce: deprecated; override ``reduction`` (with a warning).
      ignore_index: a target value that contributes neither to the loss nor to
        the ``"mean"`` denominator (default -100).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      label_smoothing: in ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
        >>> t = np.array([0, 2, 1, 2])
        >>> round(float(lb.torch.CrossEntropyLoss(label_smoothing=0.1)(x, t)), 6)
        1.288674
    """

    __constants__: ClassVar[list[str]] = ["ignore_index", "reduction", "label_smoothing"]

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Any:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def _repr_args(self) -> dict[str, Any]:
        args = super()._repr_args()
        if self.ignore_index != -100:
            args["ignore_index"] = self.ignore_index
        if self.label_smoothing:
            args["label_smoothing"] = self.label_smoothing
        return args


class BCELoss(_WeightedLoss):
    """torch's ``BCELoss`` of probabilities, each log clamped at -100.

    See :func:`lossbridge.torch.functional.binary_cross_entropy`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.BCELoss()(np.array([0.0]), np.array([1.0])))
        100.0
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """torch's ``BCEWithLogitsLoss``: sigmoid + BCE, stable, with ``pos_weight``.

    See :func:`lossbridge.torch.functional.binary_cross_entropy_with_logits`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.BCEWithLogitsLoss()(np.array([-200.0]), np.array([1.0])))
        200.0
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def forward(self, input: Any, target: Any) -> Any:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


def _ndim(x: Any) -> int:
    return int(x.ndim) if hasattr(x, "ndim") else int(np.ndim(x))


class NLLLoss2d(NLLLoss):
    """torch's deprecated ``NLLLoss2d``: :class:`NLLLoss` under its old name.

    Constructing one emits torch's ``FutureWarning`` (a
    :class:`lossbridge.LossBridgeFutureWarning`).

    See also: :class:`NLLLoss`, :func:`lossbridge.torch.functional.nll_loss`.

    Example:
        >>> import warnings
        >>> import lossbridge as lb
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     loss = lb.torch.NLLLoss2d()
        >>> w[0].category.__name__
        'LossBridgeFutureWarning'
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more "
            "details.",
            LossBridgeFutureWarning,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class PoissonNLLLoss(_Loss):
    """torch's ``PoissonNLLLoss``, :func:`~lossbridge.torch.functional.poisson_nll_loss`.

    Args (torch's order): ``log_input=True``, ``full=False``, ``size_average``,
    ``eps=1e-8``, ``reduce``, ``reduction="mean"``.  ``forward(log_input, target)``:
    the first argument is named ``log_input`` as in torch.

    See also: :func:`lossbridge.torch.functional.poisson_nll_loss`, :class:`GaussianNLLLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.torch.PoissonNLLLoss(reduction="none")
        >>> loss(np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 3.0])).round(6).tolist()
        [1.648721, 1.367879, 1.389056]
    """

    __constants__: ClassVar[list[str]] = ["log_input", "full", "eps", "reduction"]

    def __init__(self, log_input: bool = True, full: bool = False,
                 size_average: bool | None = None, eps: float = 1e-8,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Any, target: Any) -> Any:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """torch's ``GaussianNLLLoss``, :func:`~lossbridge.torch.functional.gaussian_nll_loss`.

    Keyword-only options ``full=False``, ``eps=1e-6``, ``reduction="mean"``;
    ``forward(input, target, var)``.

    See also: :func:`lossbridge.torch.functional.gaussian_nll_loss`, :class:`PoissonNLLLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.torch.GaussianNLLLoss(reduction="sum")
        >>> round(float(loss(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([1.0, 2.0]))), 6)
        0.846574
    """

    __constants__: ClassVar[list[str]] = ["full", "eps", "reduction"]

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Any, target: Any, var: Any) -> Any:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class KLDivLoss(_Loss):
    """torch's ``KLDivLoss``: ``KL(target || model)`` from log-probabilities, :func:`~lossbridge.torch.functional.kl_div`.

    Args: ``size_average``, ``reduce``, ``reduction="mean"`` (warns on every call:
    use ``"batchmean"`` for the KL divergence), ``log_target=False``.

    See also: :func:`lossbridge.torch.functional.kl_div`, ``lossbridge.optax.kl_divergence``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logq = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
        >>> p = np.array([[0.5, 0.5], [0.9, 0.1]])
        >>> round(float(lb.torch.KLDivLoss(reduction="batchmean")(logq, p)), 6)
        0.255953
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Any, target: Any) -> Any:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class HuberLoss(_Loss):
    """torch's ``HuberLoss(reduction="mean", delta=1.0)``, :func:`~lossbridge.torch.functional.huber_loss`.

    Note the order: ``reduction`` comes first; there are no legacy arguments.
    ``delta`` must be a float or an int (a ``TypeError`` otherwise, as torch).

    See also: :func:`lossbridge.torch.functional.huber_loss`, :class:`SmoothL1Loss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.HuberLoss(delta=2.0)(np.array([0.0, 5.0]), np.array([0.0, 0.0])))
        4.0
    """

    __constants__: ClassVar[list[str]] = ["reduction", "delta"]

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)):
            raise LossBridgeTypeError(
                f"delta must be a float or int, got: {type(delta)}. Pass a Python number, e.g. "
                "HuberLoss(delta=1.0)."
            )
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Any, target: Any) -> Any:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """torch's ``SmoothL1Loss``, :func:`~lossbridge.torch.functional.smooth_l1_loss`.

    Args: ``size_average``, ``reduce``, ``reduction="mean"``, ``beta=1.0``.

    See also: :func:`lossbridge.torch.functional.smooth_l1_loss`, :class:`HuberLoss`, :class:`L1Loss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.SmoothL1Loss(beta=2.0)(np.array([0.0, 5.0]), np.array([0.0, 0.0])))
        2.0
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Any, target: Any) -> Any:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class SoftMarginLoss(_Loss):
    """torch's ``SoftMarginLoss``: ``log(1 + exp(-y x))``, :func:`~lossbridge.torch.functional.soft_margin_loss`.

    See also: :func:`lossbridge.torch.functional.soft_margin_loss`, :class:`BCEWithLogitsLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.torch.SoftMarginLoss()(np.array([0.0]), np.array([1.0]))), 6)
        0.693147
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """torch's ``MultiLabelSoftMarginLoss``, :func:`~lossbridge.torch.functional.multilabel_soft_margin_loss`.

    Args: ``weight=None`` (per class), ``size_average``, ``reduce``, ``reduction="mean"``.

    See also: :func:`lossbridge.torch.functional.multilabel_soft_margin_loss`, :class:`BCEWithLogitsLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.torch.MultiLabelSoftMarginLoss()(np.array([[2.0, -1.0, 0.0]]), np.array([[1.0, 0.0, 1.0]]))), 6)
        0.377779
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, weight: Any = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """torch's ``MultiMarginLoss``: multi-class hinge, :func:`~lossbridge.torch.functional.multi_margin_loss`.

    Args (torch's order): ``p=1`` (1 or 2), ``margin=1.0``, ``weight=None`` (1-D,
    per class), ``size_average``, ``reduce``, ``reduction="mean"``; ``p`` and the
    weight's rank are checked here (``ValueError``), as torch does.

    See also: :func:`lossbridge.torch.functional.multi_margin_loss`, :class:`MultiLabelMarginLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> round(float(lb.torch.MultiMarginLoss()(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))), 6)
        0.325
    """

    __constants__: ClassVar[list[str]] = ["p", "margin", "reduction"]

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None,
                 size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise LossBridgeError(f"only p == 1 and p == 2 supported. Got p={p!r}.")
        if weight is not None and _ndim(weight) != 1:
            raise LossBridgeError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{_ndim(weight)}D instead. Give one weight per class, shape (C,)."
            )
        self.p = p
        self.margin = margin

    def forward(self, input: Any, target: Any) -> Any:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """torch's ``MultiLabelMarginLoss``, :func:`~lossbridge.torch.functional.multilabel_margin_loss`.

    See also: :func:`lossbridge.torch.functional.multilabel_margin_loss`, :class:`MultiLabelSoftMarginLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x, y = np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]])
        >>> round(float(lb.torch.MultiLabelMarginLoss()(x, y)), 6)
        0.85
    """

    __constants__: ClassVar[list[str]] = ["reduction"]

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """torch's ``MarginRankingLoss(margin=0.0, ...)``, :func:`~lossbridge.torch.functional.margin_ranking_loss`.

    ``forward(input1, input2, target)``.

    See also: :func:`lossbridge.torch.functional.margin_ranking_loss`, :class:`HingeEmbeddingLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.MarginRankingLoss(margin=0.5)(np.array([1.0]), np.array([2.0]), np.array([1.0])))
        1.5
    """

    __constants__: ClassVar[list[str]] = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Any, input2: Any, target: Any) -> Any:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """torch's ``HingeEmbeddingLoss(margin=1.0, ...)``, :func:`~lossbridge.torch.functional.hinge_embedding_loss`.

    See also: :func:`lossbridge.torch.functional.hinge_embedding_loss`, :class:`CosineEmbeddingLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> float(lb.torch.HingeEmbeddingLoss()(np.array([0.25]), np.array([-1.0])))
        0.75
    """

    __constants__: ClassVar[list[str]] = ["margin", "reduction"]

    def __init__(self, margin: float = 1.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Any, target: Any) -> Any:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """torch's ``CosineEmbeddingLoss(margin=0.0, ...)``, :func:`~lossbridge.torch.functional.cosine_embedding_loss`.

    ``forward(input1, input2, target)``.

    See also: :func:`lossbridge.torch.functional.cosine_embedding_loss`, :class:`HingeEmbeddingLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> x1, x2 = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
        >>> float(lb.torch.CosineEmbeddingLoss()(x1, x2, np.array([1.0])))
        1.0
    """

    __constants__: ClassVar[list[str]] = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Any, input2: Any, target: Any) -> Any:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """torch's ``TripletMarginLoss``, :func:`~lossbridge.torch.functional.triplet_margin_loss`.

    Args (torch's order): ``margin=1.0`` (must be > 0, checked here), ``p=2.0``,
    ``eps=1e-6``, ``swap=False``, ``size_average``, ``reduce``, ``reduction="mean"``.
    ``forward(anchor, positive, negative)``.

    See also: :func:`lossbridge.torch.functional.triplet_margin_loss`, :class:`TripletMarginWithDistanceLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> a, pos, neg = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.5]])
        >>> round(float(lb.torch.TripletMarginLoss(eps=0.0)(a, pos, neg)), 6)
        0.5
    """

    __constants__: ClassVar[list[str]] = ["margin", "p", "eps", "swap", "reduction"]

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise LossBridgeError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead."
            )
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Any:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """torch's ``TripletMarginWithDistanceLoss``, :func:`~lossbridge.torch.functional.triplet_margin_with_distance_loss`.

    Keyword-only: ``distance_function=None`` (then
    :func:`~lossbridge.torch.functional.pairwise_distance`, stored in the
    attribute, where torch stores a ``PairwiseDistance()``), ``margin=1.0`` (must
    be > 0, checked here), ``swap=False``, ``reduction="mean"``.

    See also: :func:`lossbridge.torch.functional.triplet_margin_with_distance_loss`, :class:`TripletMarginLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> a, pos, neg = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.5]])
        >>> loss = lb.torch.TripletMarginWithDistanceLoss(distance_function=lambda u, v: np.abs(u - v).sum(-1))
        >>> float(loss(a, pos, neg))
        0.5
    """

    __constants__: ClassVar[list[str]] = ["margin", "swap", "reduction"]

    def __init__(self, *, distance_function: Callable[[Any, Any], Any] | None = None,
                 margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise LossBridgeError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead."
            )
        self.distance_function: Callable[[Any, Any], Any] | None = (
            distance_function if distance_function is not None else F.pairwise_distance
        )
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Any:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction,
        )


class CTCLoss(_Loss):
    """torch's ``CTCLoss(blank=0, reduction="mean", zero_infinity=False)``, :func:`~lossbridge.torch.functional.ctc_loss`.

    ``forward(log_probs, targets, input_lengths, target_lengths)``; see the
    function for the shapes, the ``"mean"`` (each loss divided by its target
    length, then averaged) and torch's gradient (with respect to the logits
    before a ``log_softmax``).

    See also: :func:`lossbridge.torch.functional.ctc_loss`, ``lossbridge.optax.ctc_loss``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> lp = np.log(np.full((3, 1, 2), 0.5))
        >>> round(float(lb.torch.CTCLoss()(lp, np.array([[1]]), np.array([3]), np.array([1]))), 6)
        0.287682
    """

    __constants__: ClassVar[list[str]] = ["blank", "reduction"]

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any) -> Any:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


def _dtype_name(dtype: Any) -> str:
    return "float32" if dtype is None else str(getattr(dtype, "name", dtype)).replace("torch.", "")


class _Linear:
    """The parameters of torch's ``nn.Linear``, as plain arrays (``weight``, ``bias``).

    Initialised as torch does (``U(-1/sqrt(in_features), 1/sqrt(in_features))``
    for both) with NumPy's generator; assign framework arrays to train them.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool, dtype: Any,
                 rng: np.random.Generator) -> None:
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight: Any = rng.uniform(-bound, bound, size=(out_features, in_features)).astype(dtype)
        self.bias: Any = (
            rng.uniform(-bound, bound, size=(out_features,)).astype(dtype) if bias else None
        )

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class LinearCrossEntropyLoss(_WeightedLoss):
    """torch 2.13's ``LinearCrossEntropyLoss``: a linear layer owned by the loss, then cross-entropy.

    Signature (torch's): ``LinearCrossEntropyLoss(in_features, num_classes, *,
    out_features=(), bias=False, device=None, dtype=None, reduction="mean",
    weight=None, ignore_index=None, label_smoothing=0.0, options=None)``.

    ``self.linear`` holds ``weight`` of shape ``(num_classes * prod(out_features),
    in_features)`` and ``bias`` (or None), initialised like torch's ``nn.Linear``
    (``U(-1/sqrt(in_features), 1/sqrt(in_features))``, NumPy's generator, dtype
    ``dtype`` or float32).  Being a plain object it holds no framework
    parameters: NumPy parameters are converted to the input's array kind at each
    call (no gradient reaches them); to train, assign your own arrays
    (``loss.linear.weight = torch.nn.Parameter(...)``).  ``device`` is used for
    that conversion on torch.

    ``forward(input, target)`` is :func:`~lossbridge.torch.functional.linear_cross_entropy`
    with the weight reshaped to ``(num_classes, *out_features, in_features)``.
    A ``weight`` of another shape than ``(num_classes,)`` and a
    ``label_smoothing`` outside ``[0, 1]`` are refused here (``RuntimeError``).

    See also: :func:`lossbridge.torch.functional.linear_cross_entropy`, :class:`CrossEntropyLoss`.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> loss = lb.torch.LinearCrossEntropyLoss(2, 3)
        >>> loss.linear.weight = np.array([[1.0, 2.0], [2.0, -1.0], [0.5, 0.0]])
        >>> round(float(loss(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 0]))), 6)
        0.317107
    """

    __constants__: ClassVar[list[str]] = ["num_classes", "out_features", "reduction", "ignore_index", "label_smoothing"]

    def __init__(self, in_features: int, num_classes: int, *, out_features: tuple[int, ...] = (),
                 bias: bool = False, device: Any = None, dtype: Any = None,
                 reduction: str = "mean", weight: Any = None, ignore_index: int | None = None,
                 label_smoothing: float = 0.0, options: Any = None) -> None:
        shape = None if weight is None else tuple(getattr(weight, "shape", np.shape(weight)))
        if shape is not None and shape != (num_classes,):
            raise LossBridgeRuntimeError(
                f"expected weight shape to be {(num_classes,)}, got {shape}. Give one weight per "
                "class."
            )
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise LossBridgeRuntimeError(
                f"expected label_smoothing to be in range [0, 1], got {label_smoothing}. It is the "
                "share of the uniform distribution mixed into the targets."
            )
        super().__init__(weight, None, None, reduction)
        self.num_classes = num_classes
        self.out_features = tuple(out_features)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.device = device
        self.linear = _Linear(in_features, math.prod(self.out_features) * num_classes, bias,
                              np.dtype(_dtype_name(dtype)), np.random.default_rng())
        self.options = options

    def _param(self, value: Any, like: Any) -> Any:
        """A NumPy parameter as an array of ``like``'s kind (other kinds unchanged)."""
        if value is None or array_kind(value) != "numpy" or array_kind(like) in (None, "numpy"):
            return value
        if array_kind(like) == "torch":
            import torch

            return torch.as_tensor(value, device=self.device if self.device is not None else like.device)
        return torch_namespace({"like": like}).xp.asarray(value)

    def forward(self, input: Any, target: Any) -> Any:
        lin = self.linear
        weight = self._param(lin.weight, input)
        bias = self._param(lin.bias, input)
        shape = (self.num_classes, *self.out_features)
        xp = torch_namespace({"input": input, "weight": weight}).xp
        weight = xp.reshape(weight, (*shape, lin.in_features))
        if bias is not None:
            bias = xp.reshape(bias, shape)
        return F.linear_cross_entropy(
            input, weight, target, linear_bias=bias, weight=self._param(self.weight, input),
            reduction=self.reduction, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, options=self.options,
        )

    def __repr__(self) -> str:
        return (
            f"LinearCrossEntropyLoss(in_features={self.linear.in_features}, num_classes="
            f"{self.num_classes}, out_features={self.out_features}, bias="
            f"{self.linear.bias is not None}, reduction={self.reduction}, ignore_index="
            f"{self.ignore_index}, label_smoothing={self.label_smoothing}, options={self.options})"
        )
