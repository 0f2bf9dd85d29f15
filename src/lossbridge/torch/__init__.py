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
"""

from __future__ import annotations

from .. import _catalog
from . import functional
from ._modules import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss

for _name, _roles, _summary in [
    ("CrossEntropyLoss", ("logits", "labels"), "logits and class indices (or probabilities); weighted mean"),
    ("NLLLoss", ("log_probs", "labels"), "log-probabilities and class indices; weighted mean"),
    ("BCELoss", ("probs", "onehot"), "probabilities, each log clamped at -100"),
    ("BCEWithLogitsLoss", ("logits", "onehot"), "stable sigmoid + BCE, pos_weight"),
    ("MSELoss", ("values", "targets"), "mean squared error (broadcasts, with a warning)"),
    ("L1Loss", ("values", "targets"), "mean absolute error"),
    ("cross_entropy", ("logits", "labels"), "functional CrossEntropyLoss"),
    ("nll_loss", ("log_probs", "labels"), "functional NLLLoss"),
    ("binary_cross_entropy", ("probs", "onehot"), "functional BCELoss"),
    ("binary_cross_entropy_with_logits", ("logits", "onehot"), "functional BCEWithLogitsLoss"),
    ("mse_loss", ("values", "targets"), "functional MSELoss"),
    ("l1_loss", ("values", "targets"), "functional L1Loss"),
]:
    _catalog.register("torch", _name, _roles, _summary, module="torch" if _name[0].isupper() else "torch.functional")

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "functional",
]
