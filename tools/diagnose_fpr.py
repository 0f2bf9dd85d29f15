"""Measure each diagnostic's false-positive rate (and detection rate) on seeded random draws.

For every code of ``lossbridge.CODES`` this draws ``--draws`` random *clean* calls
of the losses the detector applies to (random shapes, scales and dtypes; every
input a correct one), runs ``lossbridge.diagnose`` and counts the draws where the
code fires (false positives) and where *any* code fires.  It also draws the same
number of calls with the mistake made (softmax before a logits loss, one-hot
where indices go, ...) and counts the draws where the code fires (detection rate).

    python tools/diagnose_fpr.py                     # 2000 draws per code, NumPy
    python tools/diagnose_fpr.py --backend torch --draws 300
    python tools/diagnose_fpr.py --json

``tests/test_diagnostics.py`` imports :func:`case` and runs fewer draws of the
same generators, on NumPy, torch and JAX.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Call = tuple[Any, tuple[Any, ...], dict[str, Any]]  # (loss, args, kwargs)


# ----------------------------------------------------------------- random inputs


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _shape(r: np.random.Generator) -> tuple[int, int]:
    return int(r.integers(1, 65)), int(r.integers(2, 21))


def _logits(r: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    scale = float(np.exp(r.uniform(np.log(0.05), np.log(20.0))))
    kind = r.integers(3)
    if kind == 0:
        x = r.normal(0.0, scale, shape)
    elif kind == 1:
        x = r.uniform(-scale, scale, shape)
    else:  # shifted logits, as a model's raw outputs often are
        x = r.normal(r.uniform(-5, 5), scale, shape)
    return x


def _float(r: np.random.Generator, x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if r.integers(2) else x


def _labels(r: np.random.Generator, n: int, c: int) -> np.ndarray:
    return r.integers(0, c, n)


def _spatial(r: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(d) for d in r.integers(1, 6, int(r.integers(0, 3))))


# ----------------------------------------------------------------- cases per code


def _lb001(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    form = r.integers(5)
    if form == 0:  # torch cross_entropy, (N, C, d...)
        sp = _spatial(r)
        x = _logits(r, (n, c, *sp))
        x = _softmax(x, 1) if bad else x
        return "torch:cross_entropy", (_float(r, x), r.integers(0, c, (n, *sp))), {}
    if form == 1:
        x = _logits(r, (n, c))
        return "keras:CategoricalCrossentropy(from_logits=True)", (
            np.eye(c)[_labels(r, n, c)], _float(r, _softmax(x, -1) if bad else x)), {}
    if form == 2:
        x = _logits(r, (n, c))
        return "optax:softmax_cross_entropy", (_float(r, _softmax(x, -1) if bad else x),
                                               np.eye(c)[_labels(r, n, c)]), {}
    x = _logits(r, (n, c))
    p = 1 / (1 + np.exp(-x))
    y = (r.uniform(size=(n, c)) < 0.5).astype(float)
    name = "torch:BCEWithLogitsLoss" if form == 3 else "optax:sigmoid_binary_cross_entropy"
    if bad and p.size < 16:  # the sigmoid case needs 16 values to be told from logits
        return _lb001(r, bad)
    return name, (_float(r, p if bad else x), y), {}


def _lb002(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    form = r.integers(3)
    if form == 0:
        p = x if bad else _softmax(x, -1)
        if bad and p.min() >= 0 and p.max() <= 1:
            return _lb002(r, bad)
        return "keras:CategoricalCrossentropy()", (np.eye(c)[_labels(r, n, c)], _float(r, p)), {}
    if form == 1:
        p = x if bad else 1 / (1 + np.exp(-x))
        if bad and p.min() >= 0 and p.max() <= 1:
            return _lb002(r, bad)
        y = (r.uniform(size=(n, c)) < 0.5).astype(float)
        return "keras:BinaryCrossentropy()", (y, _float(r, p)), {}
    p = _log_softmax(x, -1) if bad else _softmax(x, -1)
    return "theano:categorical_crossentropy", (_float(r, p), _labels(r, n, c)), {}


def _lb003(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    lp = _softmax(x, 1) if bad else _log_softmax(x, 1)
    if r.integers(2):
        return "torch:NLLLoss", (_float(r, lp), _labels(r, n, c)), {}
    return "torch:KLDivLoss(reduction='batchmean')", (_float(r, lp), _softmax(_logits(r, (n, c)), 1)), {}


def _lb004(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    if (bad and x.max() <= 0) or (bad and (x.min() >= 0 and x.max() <= 1)):
        x = x + 2.0 - x.min()  # raw scores with positive values, not probabilities
        x[0, 0] = -1.0
    lp = x if bad else _log_softmax(x, 1)
    return "torch:nll_loss", (_float(r, lp), _labels(r, n, c)), {}


def _lb005(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    sp = tuple(int(d) for d in r.integers(2, 6, int(r.integers(1, 3))))
    form = r.integers(3)
    if form == 0:  # torch NLL, channels-first (N, C, H, ...) with log_softmax over the last axis
        x = _logits(r, (n, c, *sp))
        lp = _log_softmax(x, -1 if bad else 1)
        return "torch:NLLLoss", (_float(r, lp), r.integers(0, c, (n, *sp))), {}
    if form == 1:  # keras, channels-last (N, H, ..., C) normalised over axis 1
        x = _logits(r, (n, *sp, c))
        p = _softmax(x, 1 if bad else -1)
        y = np.eye(c)[r.integers(0, c, (n, *sp))]
        return "keras:CategoricalCrossentropy()", (y, _float(r, p)), {}
    x = _logits(r, (max(n, 2), c))  # softmax(dim=0) given to CrossEntropyLoss
    p = _softmax(x, 0) if bad else x
    return "torch:CrossEntropyLoss", (_float(r, p), _labels(r, max(n, 2), c)), {}


def _lb006(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    lp = _log_softmax(_logits(r, (n, c)), 1)
    t = _softmax(_logits(r, (n, c)), 1)
    return "torch:kl_div", (_float(r, lp), np.log(t) if bad else t), {"reduction": "batchmean"}


def _lb010(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    t = _labels(r, n, c)
    form = r.integers(3)
    target = np.eye(c)[t] if bad else t
    if form == 0:
        return "torch:NLLLoss", (_log_softmax(x, 1), target), {}
    if form == 1:
        return "keras:SparseCategoricalCrossentropy(from_logits=True)", (target, x), {}
    return "optax:softmax_cross_entropy_with_integer_labels", (x, target), {}


def _lb011(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    t = _labels(r, n, c)
    target = t if bad else (np.eye(c)[t] if r.integers(2) else _softmax(_logits(r, (n, c)), -1))
    if r.integers(2):
        return "optax:softmax_cross_entropy", (x, target), {}
    return "keras:CategoricalCrossentropy(from_logits=True)", (target, x), {}


def _lb012(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    t = _labels(r, n, c)
    target = np.eye(c, dtype=np.int64)[t] if bad else (np.eye(c)[t] if r.integers(2) else t)
    return "torch:CrossEntropyLoss", (_logits(r, (n, c)), target), {}


def _lb013(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    t = _labels(r, n, c)
    w = r.uniform(0.1, 3.0, c)
    target = np.eye(c)[t] if bad else (t if r.integers(2) else _softmax(_logits(r, (n, c)), 1))
    return "torch:cross_entropy", (_logits(r, (n, c)), target), {"weight": w}


def _lb014(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    t = _labels(r, n, c)
    form = r.integers(3)
    if form == 0:
        ignore = int(r.choice([-100, -1, c, 255]))
        t = np.where(r.uniform(size=n) < 0.3, ignore, t)
        t[r.integers(n)] = r.integers(0, c)  # at least one labelled target (else LB016)
        if bad:
            t[r.integers(n)] = c if ignore != c else c + 1
        return f"torch:CrossEntropyLoss(ignore_index={ignore})", (_logits(r, (n, c)), t), {}
    if form == 1:
        if bad:
            t[r.integers(n)] = -1
        return "optax:softmax_cross_entropy_with_integer_labels", (_logits(r, (n, c)), t), {}
    if bad:
        t[r.integers(n)] = c
    return "keras:SparseCategoricalCrossentropy()", (t, _softmax(_logits(r, (n, c)), -1)), {}


def _lb015(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    t = _labels(r, n, c).astype(np.float32 if r.integers(2) else np.float64)
    if bad:
        t[r.integers(n)] += 0.5
    return "keras:SparseCategoricalCrossentropy(from_logits=True)", (t, _logits(r, (n, c))), {}


def _lb016(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    if r.integers(2):
        ignore = int(r.choice([-100, -1]))
        t = np.where(r.uniform(size=n) < 0.5, ignore, _labels(r, n, c))
        t[r.integers(n)] = r.integers(0, c)  # clean: at least one labelled target
        if bad:
            t[:] = ignore
        return f"torch:CrossEntropyLoss(ignore_index={ignore})", (_logits(r, (n, c)), t), {}
    cls = int(r.integers(0, c))
    t = _labels(r, n, c)
    t[r.integers(n)] = (cls + 1) % c
    if bad:
        t[:] = cls
    return (f"keras:SparseCategoricalCrossentropy(ignore_class={cls})",
            (t, _softmax(_logits(r, (n, c)), -1)), {})


def _lb020(r: np.random.Generator, bad: bool) -> Call:
    n = int(r.integers(2, 65))
    y = r.normal(size=n)
    p = r.normal(size=(n, 1))
    form = r.integers(3)
    if form == 0:
        return "torch:MSELoss", ((p if bad else p[:, 0]), y), {}
    if form == 1:
        return "optax:huber_loss", (p if bad else p[:, 0], y), {}
    # Keras aligns (N,) with (N, 1): clean either way; the mistake is (N,) against (1, N)
    return "keras:MeanSquaredError()", (y, (p.T if bad else p)), {}


def _lb021(r: np.random.Generator, bad: bool) -> Call:
    n, t = int(r.integers(1, 33)), int(r.integers(2, 9))
    if bad:
        n = t = max(n, 2)  # the silent case (a batch of one is weighted right either way)
    y = r.normal(size=(n, t, 3))
    form = r.integers(3)
    sw = r.uniform(size=n) if bad else (
        r.uniform(size=(n, 1)) if form == 0 else r.uniform(size=(n, t)) if form == 1 else None
    )
    if not bad and form == 2:  # (N,) weights against a per-sample (N,) loss
        return "keras:MeanSquaredError()", (y[:, 0], r.normal(size=(n, 3))), {"sample_weight": r.uniform(size=n)}
    return "keras:MeanSquaredError()", (y, r.normal(size=(n, t, 3))), {"sample_weight": sw}


def _lb030(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    red = "mean" if bad else str(r.choice(["batchmean", "sum", "none"]))
    return f"torch:KLDivLoss(reduction='{red}')", (_log_softmax(_logits(r, (n, c)), 1),
                                                    _softmax(_logits(r, (n, c)), 1)), {}


def _lb040(r: np.random.Generator, bad: bool) -> Call:
    n, c = _shape(r)
    x = _logits(r, (n, c))
    if not bad and r.integers(2):  # masking with -inf is legitimate in logits
        x[:, -1] = -np.inf
    if bad:
        x[r.integers(n), r.integers(c)] = np.nan if r.integers(2) else np.inf
    return "torch:cross_entropy", (_float(r, x), _labels(r, n, c)), {}


CASES: dict[str, Callable[[np.random.Generator, bool], Call]] = {
    "LB001": _lb001, "LB002": _lb002, "LB003": _lb003, "LB004": _lb004, "LB005": _lb005,
    "LB006": _lb006, "LB010": _lb010, "LB011": _lb011, "LB012": _lb012, "LB013": _lb013,
    "LB014": _lb014, "LB015": _lb015, "LB016": _lb016, "LB020": _lb020, "LB021": _lb021,
    "LB030": _lb030, "LB040": _lb040,
}


def convert(x: Any, backend: str) -> Any:
    if not isinstance(x, np.ndarray):
        return x
    if backend == "torch":
        import torch

        return torch.as_tensor(x)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(x)
    return x


def case(code: str, seed: int, bad: bool, backend: str = "numpy") -> Call:
    """The random call number ``seed`` for ``code`` (clean, or with the mistake when ``bad``)."""
    r = np.random.default_rng([seed, int(code[2:]), int(bad)])
    loss, args, kwargs = CASES[code](r, bad)
    return loss, tuple(convert(a, backend) for a in args), {k: convert(v, backend) for k, v in kwargs.items()}


def measure(code: str, draws: int, backend: str = "numpy") -> dict[str, Any]:
    import lossbridge as lb

    fp = any_fp = tp = 0
    others: dict[str, int] = {}
    for seed in range(draws):
        loss, args, kwargs = case(code, seed, False, backend)
        codes = {f.code for f in lb.diagnose(loss, *args, **kwargs)}
        fp += code in codes
        any_fp += bool(codes)
        for c in codes:
            others[c] = others.get(c, 0) + 1
        loss, args, kwargs = case(code, seed, True, backend)
        tp += code in {f.code for f in lb.diagnose(loss, *args, **kwargs)}
    return {"code": code, "draws": draws, "backend": backend, "false_positives": fp,
            "fpr": fp / draws, "clean_draws_with_any_finding": any_fp, "codes_on_clean": others,
            "detected": tp, "detection_rate": tp / draws}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "torch", "jax"))
    parser.add_argument("--codes", nargs="*", default=list(CASES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for code in args.codes:
        t0 = time.perf_counter()
        row = measure(code, args.draws, args.backend)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        if not args.json:
            print(f"{code}  clean draws {row['draws']:5d}  false positives {row['false_positives']:4d} "
                  f"(rate {row['fpr']:.4f}; any code on clean: {row['clean_draws_with_any_finding']})  "
                  f"detected {row['detected']:5d}/{row['draws']} ({row['detection_rate']:.3f})  "
                  f"[{row['seconds']} s]", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
