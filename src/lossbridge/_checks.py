"""Host-side checks shared by every dialect.

They run on concrete inputs only (``_backend.is_concrete``): inside ``jax.jit``,
``jax.vmap`` or a ``torch.compile`` trace the values cannot be read, and the
dialect follows the framework's value instead (documented per loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _deferred
from ._backend import Namespace, describe
from ._backend import is_concrete as _backend_is_concrete
from ._config import check_level
from ._errors import LossBridgeError, LossBridgeIndexError, LossBridgeTypeError


def is_concrete(x: Any) -> bool:
    """``_backend.is_concrete``: False for traced arrays and for a tensor batched by
    ``torch.func.vmap`` (its values cannot be read either; see :mod:`lossbridge._functorch`).
    ``_backend.is_concrete`` tests the batching itself (testing it again here cost a walk of
    the functorch wrappers on every call)."""
    return _backend_is_concrete(x)


def is_floating(ns: Namespace, x: Any) -> bool:
    """True for real floating dtypes (float16, bfloat16, float32, float64)."""
    return bool(ns.xp.isdtype(x.dtype, "real floating"))


def is_integral(ns: Namespace, x: Any) -> bool:
    """True for signed and unsigned integer dtypes (not bool)."""
    return bool(ns.xp.isdtype(x.dtype, "integral"))


def first_out_of_range(
    ns: Namespace, labels: Any, num_classes: int, ignore: int | None = None
) -> tuple[int, tuple[int, ...], int] | None:
    """``(value, position, count)`` of the first label outside ``[0, num_classes)``.

    Labels equal to ``ignore`` are skipped.  Returns None when every label is in
    range, or when the labels cannot be read on the host (traced).
    """
    if not is_concrete(labels):
        return None
    if ns.kind == "jax":
        # Read on the host with NumPy: JAX operations here would compile for every new shape
        # (the first call's cost) or be traced inside a jitted function.
        import jax

        try:
            host = np.asarray(labels)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            with jax.ensure_compile_time_eval():
                return _first_out_of_range(ns.xp, labels, num_classes, ignore)
        return _first_out_of_range(np, host, num_classes, ignore)
    return _first_out_of_range(ns.xp, labels, num_classes, ignore)


def _first_out_of_range(
    xp: Any, labels: Any, num_classes: int, ignore: int | None
) -> tuple[int, tuple[int, ...], int] | None:
    # ``xp``: an array-api namespace, or the plain ``numpy`` module for host copies (the
    # array-api-compat wrapper of NumPy costs ~0.1 s to import: not on a JAX or torch call).
    # A Python int outside the labels' dtype (num_classes 300 beside uint8 labels) is an
    # OverflowError in NumPy 2 and JAX: compare only with bounds the dtype can hold.
    low, high = _dtype_bounds(labels)
    bad = labels < 0  # 0 fits every dtype; all False for unsigned labels
    if num_classes <= high:
        bad = bad | (labels >= num_classes)
    if ignore is not None and low <= ignore <= high:
        bad = bad & (labels != ignore)
    if labels.ndim == 0:
        return (int(labels), (), 1) if bool(bad) else None
    if not bool(xp.any(bad)):
        return None
    where = xp.nonzero(bad)
    position = tuple(int(w[0]) for w in where)
    value = int(labels[position])
    count = int(xp.sum(bad))
    return value, position, count


def _dtype_bounds(labels: Any) -> tuple[float, float]:
    """The smallest and largest value the labels' dtype holds (infinite for floats)."""
    # NumPy's iinfo by the dtype's name: every library names its integer dtypes alike
    # (torch.int64, jnp.int32, tf.uint8), and not every namespace has iinfo (keras.ops)
    name = getattr(labels.dtype, "name", None) or str(labels.dtype).replace("torch.", "")
    try:
        integral = np.issubdtype(np.dtype(name), np.integer)
    except TypeError:  # a dtype NumPy does not know (bfloat16 without ml_dtypes): floating
        integral = False
    if integral:
        info = np.iinfo(name)
        return int(info.min), int(info.max)
    return float("-inf"), float("inf")


def label_range_message(
    arg: str,
    labels: Any,
    num_classes: int,
    found: tuple[int, tuple[int, ...], int],
    ignore: int | None = None,
    ignore_arg: str = "ignore_index",
) -> str:
    value, position, count = found
    where = f" at position {list(position)}" if position else ""
    more = f" ({count} labels are out of range)" if count > 1 else ""
    hint = (
        f" Labels must be class indices in [0, {num_classes - 1}] for {num_classes} classes"
        + (f", or equal to {ignore_arg}={ignore}" if ignore is not None else "")
        + "."
    )
    fix = (
        " If your labels start at 1, subtract 1; if they mark padding or void pixels, pass "
        f"that value as `{ignore_arg}`; if the model has too few outputs, enlarge its last layer."
    )
    return (
        f"`{arg}` holds the label {value}{where}{more}; {arg} is a {describe(labels)}."
        + hint
        + fix
    )


def check_label_range(
    ns: Namespace,
    labels: Any,
    num_classes: int,
    *,
    arg: str,
    ignore: int | None = None,
    ignore_arg: str = "ignore_index",
    framework_message: str = "",
) -> None:
    """Raise :class:`LossBridgeIndexError` for a label outside ``[0, num_classes)``.

    ``framework_message`` (for example torch's ``"Target 3 is out of bounds."``,
    with ``{value}`` filled in) starts the message, so users searching for the
    framework's text find it.  Traced labels are not checked.
    """
    found = first_out_of_range(ns, labels, num_classes, ignore)
    if found is not None:
        head = framework_message.format(value=found[0]) + " " if framework_message else ""
        raise LossBridgeIndexError(
            head + label_range_message(arg, labels, num_classes, found, ignore, ignore_arg)
        )


def checked_labels(
    ns: Namespace,
    labels: Any,
    num_classes: int,
    *,
    arg: str,
    ignore: int | None = None,
    ignore_arg: str = "ignore_index",
    framework_message: str = "",
    low: int = 0,
    error: type[LossBridgeError] | None = None,
) -> Any:
    """:func:`check_label_range` that never stalls an accelerator; returns the labels to use.

    On CPU tensors, NumPy and JAX arrays it is :func:`check_label_range` (an immediate
    :class:`LossBridgeIndexError`) and returns ``labels``.  On accelerator tensors at the
    default level it reads nothing: the labels are copied to the host without waiting, the
    labels out of range are replaced on the device by ``ignore`` (``low`` without one) so that
    the kernel cannot hit a device-side assert, and the same error is raised at a later call
    once the copy has completed (:mod:`lossbridge._deferred`); ``lossbridge.checks("full")``
    checks immediately there too.

    ``low``: the smallest valid label (-1 where it ends a list of labels, as in
    ``multilabel_margin_loss``); ``error``: the class of the deferred error
    (:class:`LossBridgeIndexError` by default).  Only the deferred path takes them: callers
    with ``low != 0`` check CPU tensors themselves.
    """
    if not _deferred.on_accelerator(ns, labels) or check_level() == "full":
        _deferred.begin()  # earlier calls' checks (device_label_pass runs them otherwise)
        check_label_range(ns, labels, num_classes, arg=arg, ignore=ignore, ignore_arg=ignore_arg,
                          framework_message=framework_message)
        return labels
    if not is_concrete(labels):
        return labels

    safe, bad = device_label_pass(labels, low, num_classes, ignore)
    _deferred.raise_later(bad, labels, deferred_label_error(
        labels, num_classes, arg=arg, ignore=ignore, ignore_arg=ignore_arg,
        framework_message=framework_message, low=low, error=error))
    return safe


def device_label_pass(labels: Any, low: int, high: int, ignore: int | None = None
                      ) -> tuple[Any, Any]:
    """The label pass of a check deferred on an accelerator, after the checks of earlier calls
    (:func:`lossbridge._deferred.begin`): three or four kernels, nothing read on the host::

        out  = clamp(t, low, high - 1) != t         # NaN labels too
        safe = masked_fill(t, out, ignore)          # (low without an ignore value)
        bad  = safe != t                            # with an ignore value; else out

    Returns ``(safe, bad)``: ``safe`` are the labels the kernel reads (no device-side assert),
    ``bad`` the labels out of ``[low, high)`` that are not ``ignore``, for
    :func:`lossbridge._deferred.raise_later`."""
    _deferred.begin()
    out = labels.clamp(low, high - 1) != labels
    if ignore is None:
        return labels.masked_fill(out, low), out
    safe = labels.masked_fill(out, ignore)
    return safe, safe != labels


def deferred_label_error(
    labels: Any,
    num_classes: int,
    *,
    arg: str,
    ignore: int | None = None,
    ignore_arg: str = "ignore_index",
    framework_message: str = "",
    low: int = 0,
    error: type[LossBridgeError] | None = None,
) -> Any:
    """The error of :func:`checked_labels`' deferred check: ``fail(where, count, position,
    value)`` (for :func:`lossbridge._deferred.count_check`) builds it, saying what the call
    that computed with the bad labels did with them (ignored them, or read them as ``low``)."""
    replacement = low if ignore is None else ignore
    did = ("ignored these labels" if ignore is not None
           else f"read them as {replacement}, the end of the sample's list" if low < 0
           else f"computed them as class {replacement}")

    def fail(where: str, count: int, position: tuple[int, ...], value: Any) -> Exception:
        head = framework_message.format(value=int(value)) + " " if framework_message else ""
        return (error or LossBridgeIndexError)(
            head + f"(In the loss call at {where}, checked after the device computed it: "
            f"that call {did}.) "
            + label_range_message(arg, labels, num_classes, (int(value), position, count),
                                  ignore, ignore_arg)
            + (" (-1 ends a sample's list of labels.)" if low == -1 else "")
        )

    return fail


def require_floating(ns: Namespace, x: Any, *, arg: str, what: str, fix: str) -> None:
    """Raise :class:`LossBridgeTypeError` when ``x`` is not a floating array."""
    if not is_floating(ns, x):
        raise LossBridgeTypeError(
            f"`{arg}` must be a floating-point array of {what}, but it is a {describe(x)}. {fix}"
        )
