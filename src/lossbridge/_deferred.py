"""Checks that never stall an accelerator.

On a GPU every host read of a tensor (``bool(t)``, ``t.item()``, ``int(t)``) waits for the
device to finish all the work queued before it: one per loss call removes the CPU's lead over
the device.  So at the default check level, on accelerator tensors, lossbridge reads nothing
during the call:

* the values its cheap checks need (the labels) are copied to the host **asynchronously**
  (``non_blocking=True``) and an event is recorded after the copy;
* out-of-range labels are replaced, on the device, by ``ignore_index`` before the kernel runs,
  so the device never hits torch's device-side assert (which would end the process);
* at a later lossbridge call, once the event says that the copy has completed (a query, not a
  wait), the checks run on the host copy and raise or warn **then**, naming the earlier call
  (its loss and the file and line that made it).  ``lossbridge.checks.flush()`` waits for the
  pending copies and runs their checks now (it synchronises: call it where a sync is free,
  for example at the end of an epoch).

On CPU tensors, NumPy arrays and concrete JAX arrays the checks run immediately, as before.
``lossbridge.checks("full")`` checks immediately on accelerators too (one sync per call).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from ._backend import Namespace

__all__ = [
    "ACCELERATOR_DEVICE_TYPES", "Pending", "begin", "count_check", "defer", "flush",
    "on_accelerator", "pending", "raise_later",
]

#: torch device types whose tensors are checked without a host read.  The CPU is not one;
#: the tests add "cpu" here to run the accelerator path on this machine.
ACCELERATOR_DEVICE_TYPES: set[str] = {"cuda", "xpu", "mps", "hpu", "xla", "privateuseone", "mtia"}


def on_accelerator(ns: Namespace, x: Any) -> bool:
    """True when ``x`` is a torch tensor on an accelerator (see the module docstring)."""
    return ns.kind == "torch" and x.device.type in ACCELERATOR_DEVICE_TYPES


class Pending:
    """One call's checks waiting for their host copies."""

    __slots__ = ("check", "copies", "event", "where")

    def __init__(self, check: Callable[[dict[str, Any], str], None], copies: dict[str, Any],
                 event: Any, where: str) -> None:
        self.check = check
        self.copies = copies
        self.event = event
        self.where = where

    def ready(self) -> bool:
        return self.event is None or bool(self.event.query())


_PENDING: list[Pending] = []  # earlier calls' checks
_STAGED: list[Pending] = []  # this call's: they join _PENDING when the call ends (commit)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def pending() -> int:
    """The number of checks that have not run yet."""
    return len(_PENDING) + len(_STAGED)


def commit() -> None:
    """End of a loss call: its deferred checks wait for the next call (or :func:`flush`)."""
    if _STAGED:
        _PENDING.extend(_STAGED)
        _STAGED.clear()


def begin() -> None:
    """Start of a loss call that defers checks: the checks of earlier calls whose copies have
    completed run now (one may raise).  Whatever is staged at this point was staged by an
    earlier call (a loss defers its checks after this point), also by a call that did not end
    with :func:`commit`.  Nothing happens while ``torch.compile`` traces (see :func:`flush`)."""
    if _compiling():
        return
    commit()
    flush()


def _compiling() -> bool:
    """True while ``torch.compile`` traces: the earlier calls' checks read their host copies
    (data-dependent Python, a graph break), so they wait for the next eager call."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.compiler.is_compiling()


def raise_later(bad: Any, values: Any,
                error: Callable[[str, int, tuple[int, ...], Any], Exception]) -> None:
    """``if bad.any(): raise ...`` for a call on accelerator tensors, without a host read.

    The call has run :func:`begin` before its work: an earlier call's error raised here, after
    the kernel, would drop this call's check.  The number of True entries of the boolean
    device tensor ``bad`` goes to the host without waiting (one count: each extra kernel or
    copy costs the host microseconds on every call); at a later call, when it is not 0,
    ``error(where, count, position, value)`` is raised (see :func:`count_check`)."""
    check = count_check(bad, values, error)
    defer(lambda copies, where: check(copies["count"].numpy(), where), {"count": bad.sum()})


def count_check(bad: Any, values: Any, error: Callable[[str, int, tuple[int, ...], Any], Exception]
                ) -> Callable[[Any, str], None]:
    """The host side of :func:`raise_later`: ``check(count, where)`` with the host copy of
    ``bad``'s count (any number whose truth is "some entry is bad") raises
    ``error(where, count, position, value)``: the call's file and line, the count, the position
    of the first True entry of ``bad`` and the element of ``values`` there, read only then
    (waiting for the device once, before raising)."""
    shape = tuple(bad.shape)

    def check(count: Any, where: str) -> None:
        if not count:
            return
        import numpy as np

        flat = bad.reshape(-1)
        index = int(flat.byte().argmax())  # the first maximum
        position = tuple(int(i) for i in np.unravel_index(index, shape)) if shape else ()
        raise error(where, int(flat.sum()), position, values.reshape(-1)[index].item())

    return check


_INSIDE: dict[str, bool] = {}  # a code object's file name -> it is lossbridge's


def _user_line() -> str:
    """``file:line`` of the innermost frame outside lossbridge (each file name is resolved
    once: ``os.path.abspath`` on every frame of every call cost more than the checks)."""
    frame = sys._getframe(1)
    inside = _INSIDE
    while frame is not None:
        name = frame.f_code.co_filename
        flag = inside.get(name)
        if flag is None:
            flag = inside[name] = os.path.abspath(name).startswith(_PACKAGE_DIR + os.sep)
        if not flag:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


def defer(check: Callable[[dict[str, Any], str], None], arrays: dict[str, Any]) -> None:
    """Copy ``arrays`` (accelerator tensors) to the host without waiting, and run
    ``check(host_copies, where)`` at a later call once the copies have completed."""
    import torch

    copies = {k: v.detach().to("cpu", non_blocking=True) for k, v in arrays.items()}
    device = next(iter(arrays.values())).device
    event = None
    if device.type != "cpu":
        event = torch.Event(device=device)
        event.record()
    _STAGED.append(Pending(check, copies, event, _user_line()))


def flush(wait: bool = False) -> None:
    """Run the checks of earlier calls whose copies have completed (all of them, waiting for
    the device, with ``wait``).  The first failing check raises; the others stay queued.
    Nothing runs while ``torch.compile`` traces (the checks wait for an eager call)."""
    if _compiling():
        return
    if wait:
        commit()
    while _PENDING:
        item = _PENDING[0]
        if not wait and not item.ready():
            return
        if item.event is not None:
            item.event.synchronize()  # a no-op once ready() said so
        _PENDING.pop(0)
        item.check(item.copies, item.where)
