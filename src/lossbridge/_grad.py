"""Attaching a framework's hand-written gradient to a generic computation.

Some frameworks define a loss' gradient by a formula that is not the derivative
of its value: torch's ``binary_cross_entropy`` clamps each log at -100 but its
gradient is ``(p - y) / max(p (1 - p), 1e-12)``.  To reproduce such a gradient on
every autodiff system with one piece of code, the value is computed on
stop-gradient inputs and a term whose *value is exactly zero* carries the
gradient::

    out = stop_gradient(value) + sum_i (x_i - stop_gradient(x_i)) * stop_gradient(g_i)

``x - stop_gradient(x)`` is exactly 0 for finite ``x`` (IEEE), so the value is
bit-identical to ``value``, and d out / d x_i = g_i elementwise.
"""

from __future__ import annotations

from typing import Any

from ._backend import array_kind
from .ops import stop_gradient


def custom_gradient(value: Any, *pairs: tuple[Any, Any]) -> Any:
    """``value`` with elementwise gradient ``g`` with respect to each ``x`` of ``pairs``.

    ``value`` must have the (broadcast) shape of every ``x``; each ``g`` is the
    elementwise derivative d value / d x.  On NumPy (no autodiff) ``value`` is
    returned as is.
    """
    if array_kind(value) not in ("torch", "jax"):
        return value
    out = stop_gradient(value)
    for x, g in pairs:
        if x is None:
            continue
        out = out + (x - stop_gradient(x)) * stop_gradient(g)
    return out
