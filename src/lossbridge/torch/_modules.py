"""The ``torch.nn`` loss classes, as plain Python objects.

Each class has torch's constructor signature, defaults and attributes
(``reduction``, ``weight``, ``ignore_index``, ...), and ``forward`` / ``__call__``
with torch's call order ``(input, target)``; the math is
:mod:`lossbridge.torch.functional`.  They are not ``torch.nn.Module``s and import
no framework: ``lossbridge.to_torch_module`` adapts one into a module whose
tensors are buffers.
"""

from __future__ import annotations

from typing import Any

from . import functional as F
from ._reduction import legacy_get_string

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
]


class _Loss:
    """Base of the torch dialect's losses (``torch.nn.modules.loss._Loss``)."""

    reduction: str
    __constants__ = ["reduction"]

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

    __constants__ = ["reduction"]

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

    __constants__ = ["reduction"]

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

    __constants__ = ["ignore_index", "reduction"]

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

    __constants__ = ["ignore_index", "reduction", "label_smoothing"]

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

    __constants__ = ["reduction"]

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
