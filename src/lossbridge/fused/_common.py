"""Framework-independent argument checks of the fused linear + cross-entropy.

The torch and JAX implementations share these checks so both raise the same
lossbridge errors with the same messages.  Nothing here imports a framework: the
caller passes small predicates for the dtype questions (``is_int``,
``is_float``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._backend import describe
from .._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeTypeError,
)

__all__ = [
    "REDUCTIONS",
    "Spec",
    "check_arrays",
    "check_num_items",
    "check_options",
    "out_of_range_message",
    "raise_out_of_range",
]

REDUCTIONS = ("mean", "sum", "none")


@dataclass(frozen=True)
class Spec:
    """Static description of one call, after validation.

    Attributes:
      batch_shape: ``input.shape[:-1]`` (the shape of the per-token outputs).
      n: number of tokens (product of ``batch_shape``).
      d: hidden size (``input.shape[-1]``).
      v: number of classes (``weight.shape[0]``).
      prob: True when ``target`` holds class probabilities of shape
        ``batch_shape + (v,)`` instead of class indices of shape ``batch_shape``.
    """

    batch_shape: tuple[int, ...]
    n: int
    d: int
    v: int
    prob: bool


def check_options(
    *,
    ignore_index: Any,
    reduction: Any,
    label_smoothing: Any,
    z_loss: Any,
    softcap: Any,
    chunk_size: Any,
    return_lse: Any,
) -> tuple[int, str, float, float, float | None, int | None]:
    """Validate the scalar options; return them normalised.

    Returns ``(ignore_index, reduction, label_smoothing, z_loss, softcap, chunk_size)``.
    """
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise LossBridgeTypeError(
            f"`ignore_index` must be a Python int (a class index that is skipped), got "
            f"{describe(ignore_index)}. Pass an int such as -100."
        )
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise LossBridgeError(
            f"`reduction` must be one of {REDUCTIONS!r}, got {reduction!r}. "
            "Use 'mean' (weighted mean over non-ignored tokens), 'sum', or 'none' (one loss per token)."
        )
    eps = _real("label_smoothing", label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise LossBridgeError(
            f"`label_smoothing` must lie in [0, 1], got {eps!r}. It is the weight ε of the uniform "
            "distribution mixed into the target; use 0.0 to turn smoothing off."
        )
    zl = _real("z_loss", z_loss)
    if not (zl >= 0.0 and math.isfinite(zl)):
        raise LossBridgeError(
            f"`z_loss` must be a finite number >= 0, got {zl!r}. It is the coefficient of the "
            "z_loss * logsumexp(logits)**2 term per token (PaLM uses 1e-4); use 0.0 to turn it off."
        )
    cap: float | None = None
    if softcap is not None:
        cap = _real("softcap", softcap)
        if not (cap > 0.0 and math.isfinite(cap)):
            raise LossBridgeError(
                f"`softcap` must be None or a finite number > 0, got {cap!r}. Logits are replaced "
                "by softcap * tanh(logits / softcap) (Gemma 2 uses 30.0); pass None to turn it off."
            )
    chunk: int | None = None
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
            raise LossBridgeTypeError(
                f"`chunk_size` must be None or a positive int (rows per chunk), got "
                f"{describe(chunk_size)}."
            )
        chunk = int(chunk_size)
        if chunk < 1:
            raise LossBridgeError(
                f"`chunk_size` must be None (automatic) or a positive int of rows per chunk, got {chunk}."
            )
    if not isinstance(return_lse, bool):
        raise LossBridgeTypeError(f"`return_lse` must be True or False, got {describe(return_lse)}.")
    return int(ignore_index), reduction, eps, zl, cap, chunk


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # 0-d arrays of any kind (torch.tensor(0.1), np.float32(0.1)) are accepted.
        if getattr(value, "shape", None) == () and hasattr(value, "item"):
            item = value.item()
            if isinstance(item, numbers.Real) and not isinstance(item, bool):
                return float(item)
        raise LossBridgeTypeError(f"`{name}` must be a real number, got {describe(value)}.")
    return float(value)


def check_num_items(num_items_in_batch: Any, reduction: str, *, concrete: bool) -> None:
    """``num_items_in_batch`` is a positive count used with 'sum' or 'mean' only."""
    if num_items_in_batch is None:
        return
    if reduction == "none":
        raise LossBridgeError(
            "`num_items_in_batch` was given with reduction='none'. It is the global normaliser of a "
            "reduced loss (sum of per-token losses / num_items_in_batch); per-token losses are not "
            "reduced. Pass reduction='sum' (or 'mean') with it, or divide the per-token losses yourself."
        )
    shape = getattr(num_items_in_batch, "shape", None)
    if shape is not None:
        if tuple(shape) != ():
            raise LossBridgeError(
                f"`num_items_in_batch` must be a number or a 0-d array, got {describe(num_items_in_batch)}."
            )
        if not concrete:
            return
        value = num_items_in_batch.item()
    else:
        value = num_items_in_batch
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LossBridgeTypeError(
            f"`num_items_in_batch` must be a positive number (the global count of target tokens), "
            f"got {describe(num_items_in_batch)}."
        )
    if not (float(value) > 0 and math.isfinite(value)):
        raise LossBridgeError(
            f"`num_items_in_batch` must be > 0 (the number of non-ignored target tokens across all "
            f"micro-batches and ranks), got {value!r}. Count the tokens whose target != ignore_index."
        )


def check_arrays(
    input: Any,
    weight: Any,
    target: Any,
    bias: Any,
    class_weight: Any,
    *,
    is_int: Callable[[Any], bool],
    is_float: Callable[[Any], bool],
) -> Spec:
    """Check shapes and dtypes of the array arguments; return the call's :class:`Spec`."""
    if not is_float(input):
        raise LossBridgeTypeError(
            f"`input` must be a floating-point array of hidden states (..., D), got {describe(input)}. "
            "Cast it with .float() / .astype(float32)."
        )
    if input.ndim < 1:
        raise LossBridgeError(
            f"`input` must have at least 1 dimension (..., D), got {describe(input)}."
        )
    if getattr(weight, "ndim", None) != 2:
        raise LossBridgeError(
            f"`weight` must be the (V, D) matrix of the output projection (rows are classes), got "
            f"{describe(weight)}. For an nn.Linear head pass head.weight, whose shape is (V, D)."
        )
    if not is_float(weight) or weight.dtype != input.dtype:
        raise LossBridgeTypeError(
            f"`weight` must have the dtype of `input`: `input` is a {describe(input)} and `weight` "
            f"is a {describe(weight)}. Cast one of them so both match."
        )
    d = int(input.shape[-1])
    v, dw = int(weight.shape[0]), int(weight.shape[1])
    if dw != d:
        raise LossBridgeError(
            f"The last dimension of `input` ({d}) must equal the second dimension of `weight` ({dw}): "
            f"`input` is a {describe(input)} and `weight` is a {describe(weight)}. `weight` must be "
            "(V, D) with D the hidden size; if you hold it as (D, V), pass its transpose."
        )
    if v < 1:
        raise LossBridgeError(f"`weight` must have at least one class (row), got {describe(weight)}.")
    if bias is not None:
        if tuple(getattr(bias, "shape", ())) != (v,):
            raise LossBridgeError(
                f"`bias` must have shape ({v},), one value per class (row of `weight`), got {describe(bias)}."
            )
        if bias.dtype != input.dtype:
            raise LossBridgeTypeError(
                f"`bias` must have the dtype of `input` ({describe(input)}), got {describe(bias)}."
            )
    if class_weight is not None:
        if tuple(getattr(class_weight, "shape", ())) != (v,):
            raise LossBridgeError(
                f"`class_weight` must have shape ({v},), one weight per class, got {describe(class_weight)}."
            )
        if not is_float(class_weight):
            raise LossBridgeTypeError(
                f"`class_weight` must be a floating-point array, got {describe(class_weight)}."
            )
    batch_shape = tuple(int(s) for s in input.shape[:-1])
    n = math.prod(batch_shape)
    tshape = tuple(int(s) for s in target.shape)
    if is_int(target):
        if tshape != batch_shape:
            raise LossBridgeError(
                f"`target` must hold one class index per token, with shape {batch_shape} "
                f"(= input.shape[:-1]), got {describe(target)} for `input` {describe(input)}."
            )
        prob = False
    elif is_float(target) and tshape == (*batch_shape, v):
        prob = True
    elif is_float(target):
        raise LossBridgeTypeError(
            f"`target` must be integer class indices of shape {batch_shape} (or class probabilities "
            f"of shape {(*batch_shape, v)}), got {describe(target)}. Cast class indices with "
            ".long() / .astype(int32)."
        )
    else:
        raise LossBridgeTypeError(
            f"`target` must be an integer array of class indices of shape {batch_shape}, got "
            f"{describe(target)}."
        )
    return Spec(batch_shape=batch_shape, n=n, d=d, v=v, prob=prob)


def out_of_range_message(value: int, position: tuple[int, ...], v: int, ignore_index: int, target: Any) -> str:
    """The message of the error raised for a class index outside ``[0, V)``."""
    pos = position[0] if len(position) == 1 else position
    return (
        f"`target` contains the class index {value} at position {pos}, outside the valid range "
        f"[0, {v}) given by the {v} rows of `weight` (ignore_index={ignore_index} is also allowed); "
        f"`target` is a {describe(target)}. Fix the labels, or mark padding with ignore_index."
    )


def raise_out_of_range(
    value: int, position: tuple[int, ...], v: int, ignore_index: int, target: Any, prefix: str = ""
) -> None:
    raise LossBridgeIndexError(prefix + out_of_range_message(value, position, v, ignore_index, target))
