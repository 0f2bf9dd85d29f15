"""Helpers shared by the torch dialect's loss families (private).

Validation that several families repeat in torch's own words: dtype names as
torch prints them, torch's broadcasting message, its size-mismatch warning, the
choice between torch's kernel and the generic Array API code, and the
``clamp_min(u, 0)`` that torch's composite losses use (its gradient passes at 0).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from .. import _config, _deferred, ops
from .._backend import Namespace, describe
from .._checks import is_floating
from .._diagnostics import LossBridgeShapeWarning
from .._errors import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeNotImplementedError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from .._warnings import warn
from ._reduction import torch_size

__all__ = [
    "accelerator_index_call",
    "accelerator_tensors",
    "broadcast_shape",
    "broadcast_weight",
    "check_floating_input",
    "clamp_min0",
    "convert",
    "native",
    "native_failed",
    "plain_cpu_tensors",
    "readable_now",
    "same_shape_fast",
    "shape_hint",
    "size_warning",
    "torch_dtype_name",
    "torch_size_warning_silenced",
    "wrap_torch_error",
]


def plain_cpu_tensors(a: Any, b: Any = None, c: Any = None) -> bool:
    """True when every array of a call (``a``, and ``b``, ``c`` unless None) is a plain host
    ``torch.Tensor`` and native kernels are on:
    such a call goes straight to torch's kernel, whose own checks raise first (lossbridge's
    checks then run only to word the error; see :func:`native_failed`).  Flat, as
    :func:`same_shape_fast`."""
    if not ops._NATIVE:
        return False
    torch = sys.modules.get("torch")
    if torch is None or "cpu" in _deferred.ACCELERATOR_DEVICE_TYPES:  # the tests' accelerator
        return False
    tensor = torch.Tensor
    return (type(a) is tensor and a.is_cpu
            and (b is None or (type(b) is tensor and b.is_cpu))
            and (c is None or (type(c) is tensor and c.is_cpu)))


def accelerator_tensors(a: Any, b: Any, c: Any = None) -> bool:
    """True for a call that takes an accelerator fast path: plain tensors ``a``, ``b`` (and
    ``c`` unless None) on one accelerator device
    (:data:`lossbridge._deferred.ACCELERATOR_DEVICE_TYPES`), native kernels on, the default
    check level ("cheap"), outside ``torch.compile`` traces and ``torch.func`` transforms.
    Such a path runs its checks on the device and defers them (nothing is read on the host);
    everything else (the "full" and "off" levels, traces, other array kinds) takes the
    validating path.  Flat, as :func:`plain_cpu_tensors`."""
    if not ops._NATIVE or _config._state["level"] != "cheap":
        return False
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    tensor = torch.Tensor
    if type(a) is not tensor or type(b) is not tensor or (c is not None and type(c) is not tensor):
        return False
    device = a.device
    if device.type not in _deferred.ACCELERATOR_DEVICE_TYPES or b.device != device:
        return False
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    return not (torch.compiler.is_compiling() or wrapped(a) or wrapped(b))


def accelerator_index_call(input: Any, target: Any, weight: Any) -> bool:
    """:func:`accelerator_tensors` for a class-index call (cross_entropy, nll_loss): ``input``
    with at least one class and an int64 ``target`` of one dimension less (other dtypes and
    shapes take the validating path)."""
    return (accelerator_tensors(input, target, weight) and target.dim() + 1 == input.dim()
            and target.dtype is sys.modules["torch"].int64
            and input.shape[1 if input.dim() > 1 else 0] > 0)


def readable_now(out: Any) -> bool:
    """For the result of a call on :func:`plain_cpu_tensors`: its value can be read on the host
    now (not while ``torch.compile`` traces, not under a ``torch.func`` transform).  The cheap
    form of ``_checks.is_concrete`` for the fast paths (which read the value at most once)."""
    torch = sys.modules["torch"]
    return not (torch.compiler.is_compiling()
                or torch._C._functorch.is_functorch_wrapped_tensor(out))


def same_shape_fast(a: Any, b: Any, c: Any = None) -> bool:
    """A call that goes straight to torch's kernel: plain tensors ``a``, ``b`` (and ``c``
    unless None) of one shape, on any device, the default or "off" check level (the "full"
    level reads values first).  lossbridge's cheap checks of such a call can find nothing that
    torch's kernel does not raise itself (a pointwise loss warns only about shapes that
    differ), so they run only to word torch's error.  The losses that call it have no
    device-side assert and read nothing on the host; a loss that does (a class-index target,
    a NaN test of the result) adds :func:`plain_cpu_tensors`.  Tensors on different devices
    make torch raise, on the host, and the checked path words it.

    It runs before every fast call, where its cost is mostly cache misses (the caches are cold
    after a large kernel): one flat function, no generator, no argument tuple."""
    if _config._state["level"] == "full" or not ops._NATIVE:
        return False
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    tensor = torch.Tensor
    if type(a) is not tensor or type(b) is not tensor:
        return False
    shape = a.shape
    if b.shape != shape:
        return False
    return c is None or (type(c) is tensor and c.shape == shape)


def native_failed(error: Exception, checked: Any) -> NoReturn:
    """The ``except`` branch of a fast path's ``try: return torch_kernel(...)`` (inline, so the
    call that succeeds makes no closure and no extra frame): ``checked()`` (the dialect's
    validating path) runs to raise lossbridge's error for the same input (torch's message first,
    then the arguments and the fix); if it finds nothing to say, torch's error is raised as a
    lossbridge error of torch's type."""
    if isinstance(error, LossBridgeError) or sys.modules["torch"].compiler.is_compiling():
        raise error
    checked()
    raise wrap_torch_error(error) from None


def wrap_torch_error(e: Exception) -> Exception:
    """torch's exception as the lossbridge error of the same built-in type."""
    for base, ours in ((IndexError, LossBridgeIndexError), (TypeError, LossBridgeTypeError),
                       (NotImplementedError, LossBridgeNotImplementedError),
                       (RuntimeError, LossBridgeRuntimeError)):
        if isinstance(e, base):
            return ours(str(e))
    return LossBridgeError(str(e))


def native(ns: Namespace) -> bool:
    """True when the call should use torch's own kernel (torch tensors, native ops on)."""
    return ns.kind == "torch" and ops._NATIVE


def torch_dtype_name(x: Any) -> str:
    """The dtype as torch names it in messages (Long, Float, Double, Int, Byte, Bool, Half)."""
    names = {
        "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
        "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
        "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    }
    name = str(x.dtype).replace("torch.", "")
    return names.get(name, name)


def convert(ns: Namespace, x: Any, like: Any = None) -> Any:
    """Python scalars/lists to the call's array kind (float ones to ``like``'s dtype)."""
    if x is None:
        return None
    arr = ns.asarray(x)
    if like is not None and not hasattr(x, "shape") and is_floating(ns, arr):
        arr = ns.xp.astype(arr, like.dtype)
    return arr


def shape_hint(input: Any, target: Any) -> str:
    """A fix for the usual shape mistakes: a trailing size-1 dimension on one side."""
    if input.ndim == target.ndim + 1 and input.shape[-1] == 1:
        return "The input has a trailing size-1 dimension: use input.squeeze(-1)."
    if target.ndim == input.ndim + 1 and target.shape[-1] == 1:
        return "The target has a trailing size-1 dimension: use target.squeeze(-1)."
    return f"input is a {describe(input)}, target a {describe(target)}."


def broadcast_shape(who: str, arrays: Sequence[tuple[str, Any]]) -> tuple[int, ...]:
    """The broadcast shape of ``arrays`` (name, array or shape), with torch's message when none exists.

    torch compares two shapes from the right and names the first mismatch it
    meets: ``The size of tensor a (3) must match the size of tensor b (4) at
    non-singleton dimension 0``; this raises that message (a RuntimeError), then
    the names and shapes of the arguments.
    """
    shape: tuple[int, ...] = ()
    first = ""
    for i, (name, x) in enumerate(arrays):
        other = tuple(x.shape) if hasattr(x, "shape") else tuple(x)
        if i == 0:
            shape, first = other, name
            continue
        n = max(len(shape), len(other))
        a = (1,) * (n - len(shape)) + shape
        b = (1,) * (n - len(other)) + other
        out = []
        for dim in range(n - 1, -1, -1):
            if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
                raise LossBridgeRuntimeError(
                    f"The size of tensor a ({a[dim]}) must match the size of tensor b ({b[dim]}) "
                    f"at non-singleton dimension {dim}. {who}: `{first}` has shape {shape} and "
                    f"`{name}` has shape {other}; they must have one shape (or broadcast to one)."
                )
            out.append(a[dim] if b[dim] == 1 else b[dim])
        shape = tuple(reversed(out))
        first = f"{first}` and `{name}" if first else name
    return shape


def size_warning(input: Any, target: Any) -> None:
    """torch's warning when a pointwise loss's target and input sizes differ."""
    if tuple(target.shape) != tuple(input.shape):
        warn(
            f"Using a target size ({torch_size(target)}) that is different to the input size "
            f"({torch_size(input)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size. " + shape_hint(input, target)
            + " (LB020)",
            LossBridgeShapeWarning,
        )


@contextlib.contextmanager
def torch_size_warning_silenced(input: Any, target: Any) -> Iterator[None]:
    """Silence torch's size-mismatch warning: lossbridge has already given its own."""
    if tuple(input.shape) == tuple(target.shape):
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using a target size")
        yield


def broadcast_weight(ns: Namespace, weight: Any, target: Any, arg: str) -> Any:
    """``weight`` broadcast to ``target``'s shape, or a clear error."""
    xp = ns.xp
    try:
        return xp.broadcast_to(weight, tuple(target.shape))
    except (ValueError, RuntimeError):
        raise LossBridgeRuntimeError(
            f"`{arg}` of shape {tuple(weight.shape)} cannot be broadcast to the target's shape "
            f"{tuple(target.shape)}. Give one weight per element, or a shape that broadcasts "
            "(for example one weight per class on the last dimension)."
        ) from None


def check_floating_input(ns: Namespace, input: Any, kernel: str, arg: str = "input") -> None:
    """torch's ``"<kernel>" not implemented for 'Long'`` for integer predictions."""
    if not is_floating(ns, input):
        raise LossBridgeNotImplementedError(
            f'"{kernel}" not implemented for \'{torch_dtype_name(input)}\'. `{arg}` is a '
            f"{describe(input)}; losses need floating-point predictions: convert it with "
            ".float(). If you passed the target first, torch's order is (input, target)."
        )


def clamp_min0(ns: Namespace, u: Any) -> Any:
    """torch's ``clamp_min(u, 0)``: ``max(u, 0)``, NaN kept, gradient 1 where ``u >= 0``.

    (``maximum`` would split the gradient at 0 in JAX; torch passes it whole.)
    """
    xp = ns.xp
    return xp.where(u < 0, xp.zeros_like(u), u)

