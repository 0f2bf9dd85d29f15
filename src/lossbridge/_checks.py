"""Host-side checks shared by every dialect.

They run on concrete inputs only (``_backend.is_concrete``): inside ``jax.jit``,
``jax.vmap`` or a ``torch.compile`` trace the values cannot be read, and the
dialect follows the framework's value instead (documented per loss).
"""

from __future__ import annotations

from typing import Any

from ._backend import Namespace, describe
from ._backend import is_concrete as _backend_is_concrete
from ._errors import LossBridgeIndexError, LossBridgeTypeError
from ._functorch import under_functorch_vmap


def is_concrete(x: Any) -> bool:
    """``_backend.is_concrete``, and False for a tensor batched by ``torch.func.vmap``
    (its values cannot be read either; see :mod:`lossbridge._functorch`)."""
    return _backend_is_concrete(x) and not under_functorch_vmap(x)


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
        # Concrete labels closed over by a jitted function: operations on them would be
        # traced; evaluate them now instead.
        import jax

        with jax.ensure_compile_time_eval():
            return _first_out_of_range(ns, labels, num_classes, ignore)
    return _first_out_of_range(ns, labels, num_classes, ignore)


def _first_out_of_range(
    ns: Namespace, labels: Any, num_classes: int, ignore: int | None
) -> tuple[int, tuple[int, ...], int] | None:
    xp = ns.xp
    bad = (labels < 0) | (labels >= num_classes)
    if ignore is not None:
        bad = bad & (labels != ignore)
    if labels.ndim == 0:
        return (int(labels), (), 1) if bool(bad) else None
    if not bool(xp.any(bad)):
        return None
    where = xp.nonzero(bad)
    position = tuple(int(w[0]) for w in where)
    value = int(labels[position])
    count = int(xp.sum(xp.astype(bad, xp.int32)))
    return value, position, count


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


def require_floating(ns: Namespace, x: Any, *, arg: str, what: str, fix: str) -> None:
    """Raise :class:`LossBridgeTypeError` when ``x`` is not a floating array."""
    if not is_floating(ns, x):
        raise LossBridgeTypeError(
            f"`{arg}` must be a floating-point array of {what}, but it is a {describe(x)}. {fix}"
        )
