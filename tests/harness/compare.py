"""Comparisons with tolerances stated per dtype, and the conformance counter.

Tolerances (``|actual - expected| <= atol + rtol * |expected|``, element-wise,
NaN equal to NaN and infinities equal to themselves):

=========  ========  ========  =============================================
dtype      rtol      atol      why
=========  ========  ========  =============================================
float64    1e-9      1e-12     same formula, different summation order
float32    2e-5      2e-6      a few ulps of float32 (eps = 1.2e-7) through
                               log/exp and renormalisation
float16    2e-2      2e-3      half precision
=========  ========  ========  =============================================

Gradients use the same rtol with ``atol`` scaled by the largest expected
magnitude (a gradient entry next to a large one is only as precise as the sum).
"""

from __future__ import annotations

import collections
import json
from typing import Any

import numpy as np

TOLERANCES = {
    "float64": (1e-9, 1e-12),
    "float32": (2e-5, 2e-6),
    "float16": (2e-2, 2e-3),
    "bfloat16": (2e-2, 2e-2),
}

#: (dialect.loss, backend, dtype) -> number of randomised or edge cases compared.
CONFORMANCE: collections.Counter[tuple[str, str, str]] = collections.Counter()


def record(loss: str, backend: str, dtype: str, n: int = 1) -> None:
    CONFORMANCE[(loss, backend, dtype)] += n


def assert_close(
    actual: Any, expected: Any, dtype: str, what: str, *, grad: bool = False, scale: float = 1.0
) -> None:
    rtol, atol = TOLERANCES[dtype]
    rtol, atol = rtol * scale, atol * scale
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape} != expected {expected.shape}")
    if grad and expected.size:
        finite = expected[np.isfinite(expected)]
        if finite.size:
            atol = atol * max(1.0, float(np.max(np.abs(finite))))
    ok = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(ok):
        bad = np.argwhere(~ok)[:5]
        rows = ", ".join(
            f"{tuple(int(i) for i in b)}: {actual[tuple(b)]!r} vs {expected[tuple(b)]!r}" for b in bad
        ) if actual.ndim else f"{actual!r} vs {expected!r}"
        raise AssertionError(
            f"{what} differs (dtype {dtype}, rtol={rtol:g}, atol={atol:g}; "
            f"{int((~ok).sum())} of {ok.size} entries): {rows}"
        )


def write_report(path: str) -> None:
    rows = [
        {"loss": k[0], "backend": k[1], "dtype": k[2], "cases": v}
        for k, v in sorted(CONFORMANCE.items())
    ]
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)


def summary_lines() -> list[str]:
    """A table: one line per loss, cases per backend (all dtypes together)."""
    per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (loss, backend, _dtype), n in CONFORMANCE.items():
        per[loss][backend] += n
    if not per:
        return []
    backends = sorted({b for c in per.values() for b in c})
    width = max(len(k) for k in per) + 2
    cols = [max(8, len(b) + 2) for b in backends]  # a column never runs into its neighbour
    lines = [f"{'loss':<{width}}" + "".join(f"{b:>{w}}" for b, w in zip(backends, cols, strict=False))]
    for loss in sorted(per):
        lines.append(f"{loss:<{width}}"
                     + "".join(f"{per[loss][b]:>{w}}" for b, w in zip(backends, cols, strict=False)))
    total = sum(CONFORMANCE.values())
    lines.append(f"total comparisons against the real frameworks: {total}")
    return lines
