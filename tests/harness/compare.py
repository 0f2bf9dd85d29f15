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


#: (dialect:loss, argument, dtype, array kind) -> number of compared calls that gave the argument
#: explicitly (tests/test_argument_conformance.py: how people call losses, issue 17 item 2).
ARGUMENTS: collections.Counter[tuple[str, str, str, str]] = collections.Counter()


def record(loss: str, backend: str, dtype: str, n: int = 1) -> None:
    CONFORMANCE[(loss, backend, dtype)] += n


def record_argument(loss: str, argument: str, dtype: str, kind: str, n: int = 1) -> None:
    ARGUMENTS[(loss, argument, dtype, kind)] += n


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


def write_report(path: str, badinput: dict | None = None) -> None:
    rows: list[dict[str, Any]] = [
        {"loss": k[0], "backend": k[1], "dtype": k[2], "cases": v}
        for k, v in sorted(CONFORMANCE.items())
    ]
    rows += [
        {"loss": k[0], "argument": k[1], "dtype": k[2], "backend": k[3], "cases": v}
        for k, v in sorted(ARGUMENTS.items())
    ]
    rows += [  # the bad-input suite (tests/badinput): trials per dialect, input class, outcome
        {"dialect": k[0], "input_class": k[1], "outcome": k[2], "trials": v}
        for k, v in sorted((badinput or {}).items())
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


def argument_summary_lines() -> list[str]:
    """Arguments drawn and compared: per dialect, losses x arguments x dtypes x kinds, and totals."""
    if not ARGUMENTS:
        return []
    lines = [f"{'dialect':10}{'losses':>8}{'arguments':>11}{'dtypes':>8}{'kinds':>8}{'loss x arg x dtype x kind':>27}"
             f"{'comparisons':>13}"]
    dialects = sorted({k[0].split(":")[0] for k in ARGUMENTS})
    for d in dialects:
        keys = [k for k in ARGUMENTS if k[0].split(":")[0] == d]
        lines.append(
            f"{d:10}{len({k[0] for k in keys}):>8}{len({k[:2] for k in keys}):>11}"
            f"{len({k[2] for k in keys}):>8}{len({k[3] for k in keys}):>8}{len(keys):>27}"
            f"{sum(ARGUMENTS[k] for k in keys):>13}")
    lines.append(f"kinds: {', '.join(sorted({k[3] for k in ARGUMENTS}))}; "
                 f"total (loss, argument) pairs drawn: {len({k[:2] for k in ARGUMENTS})}; "
                 f"argument comparisons: {sum(ARGUMENTS.values())}")
    return lines
