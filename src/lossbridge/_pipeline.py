"""The staged cross-entropy pipeline behind ``lossbridge compare A B``.

Every categorical cross-entropy of the translation table (``family="categorical"``)
is the same six steps with different settings, read from the table row and the
loss' canonical parameters (:mod:`lossbridge._translate`):

1. ``renormalise`` - the distribution q the loss reads: softmax of logits,
   ``p / sum(p)`` (Keras on probabilities), ``p`` as given (Theano), ``exp(log_probs)``
   (torch's NLLLoss);
2. ``clip`` - Keras clips q to ``[1e-7, 1 - 1e-7]``; the others do not;
3. ``log`` - ``log q`` (``log_softmax`` for logits);
4. ``smoothing`` - the target distribution ``y * (1 - ls) + ls / C``;
5. ``weighting`` - the per-sample loss ``-sum_c w_c y'_c log q_c``, 0 on ignored targets;
6. ``reduce`` - the framework's denominator (Keras: N or the valid count; torch:
   the sum of the targets' class weights; optax and Theano: none).

:func:`stages` runs them in float64 NumPy on the arrays a loss receives and
:func:`first_divergence` compares two losses step by step.  Steps 1-3 are compared
on the entries the losses read (non-zero smoothed target), so a clipped probability
of a class that no target uses does not count.  Each pipeline is checked against the
loss itself: when the two disagree, no step is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

STEPS = ("renormalise", "clip", "log", "smoothing", "weighting", "reduce")
EPSILON = 1e-7


@dataclass
class Pipeline:
    loss: str
    settings: dict[str, Any]
    outputs: dict[str, np.ndarray]


def settings_of(text: str) -> dict[str, Any] | None:
    """The pipeline settings of a loss (catalog text), or None if it is not a categorical cross-entropy."""
    from . import _translate

    src = _translate._read(text)
    match = _translate._match(src)
    if match is None:
        return None
    row, form, params = match
    if row.family != "categorical":
        return None
    if row.key == "ce_probs_keras":
        source = "renorm"
    elif row.key == "ce_probs_theano":
        source = "exp" if form.roles[0] == "log_probs" else "identity"
    else:
        source = "softmax"
    ignore = params.get("ignore")
    return {
        "framework": form.framework, "q": source, "clip": row.key == "ce_probs_keras",
        "label_smoothing": float(params.get("label_smoothing") or 0.0),
        "class_weight": None if params.get("class_weight") is None else np.asarray(params["class_weight"], float),
        "ignore": ignore, "reduction": params.get("reduction", "mean"),
    }


def stages(settings: dict[str, Any], prediction: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """The output of each step for one loss on its own inputs (prediction, target by role)."""
    x = np.asarray(prediction, dtype=np.float64)
    t = np.asarray(target)
    c = x.shape[-1]
    with np.errstate(all="ignore"):
        if settings["q"] == "softmax":
            log_q = x - x.max(-1, keepdims=True)
            log_q = log_q - np.log(np.exp(log_q).sum(-1, keepdims=True))
            q = np.exp(log_q)
        elif settings["q"] == "renorm":
            q = x / x.sum(-1, keepdims=True)
        elif settings["q"] == "exp":
            q = np.exp(x)
        else:
            q = x
        out = {"renormalise": q}
        if settings["clip"]:
            q = np.clip(q, EPSILON, 1 - EPSILON)
        out["clip"] = q
        out["log"] = log_q if settings["q"] == "softmax" else (x if settings["q"] == "exp" else np.log(q))
        index = t.ndim == x.ndim - 1
        if index:
            valid = np.ones(t.shape, bool) if settings["ignore"] is None else t != settings["ignore"]
            onehot = np.eye(c)[np.where(valid, t, 0).astype(int)] * valid[..., None]
        else:
            valid = np.ones(t.shape[:-1], bool)
            onehot = t.astype(np.float64)
        ls = settings["label_smoothing"]
        smoothed = onehot * (1 - ls) + ls / c if ls else onehot
        if index and ls:
            smoothed = smoothed * valid[..., None]
        out["smoothing"] = smoothed
        w = np.ones(c) if settings["class_weight"] is None else settings["class_weight"]
        if settings["q"] == "identity" and not index:
            per_sample = -(w * smoothed * out["log"]).sum(-1)  # Theano: 0 * log(0) is NaN
        else:
            per_sample = -(w * smoothed * np.where(smoothed != 0, out["log"], 0.0)).sum(-1)
        out["weighting"] = per_sample
        reduction = settings["reduction"]
        if reduction == "none":
            out["reduce"] = per_sample
        elif reduction == "sum":
            out["reduce"] = np.asarray(per_sample.sum())
        elif settings["framework"] == "torch" and index:
            denominator = (w[np.where(valid, t, 0).astype(int)] * valid).sum()
            out["reduce"] = np.asarray(per_sample.sum() / denominator)
        elif settings["framework"] == "keras" and settings["ignore"] is not None:
            n_valid = valid.sum()
            out["reduce"] = np.asarray(per_sample.sum() / n_valid if n_valid else 0.0)
        else:
            out["reduce"] = np.asarray(per_sample.mean())
    return out


def first_divergence(a: Pipeline, b: Pipeline, rtol: float = 1e-6, atol: float = 1e-9) -> dict[str, Any]:
    """The first step whose outputs differ, with every step's verdict."""
    read = (a.outputs["smoothing"] != 0) | (b.outputs["smoothing"] != 0)
    verdicts = []
    first = None
    for step in STEPS:
        x, y = a.outputs[step], b.outputs[step]
        shown = (_show(x), _show(y))
        if step in ("renormalise", "clip", "log") and x.shape == y.shape == read.shape:
            x, y = np.where(read, x, 0.0), np.where(read, y, 0.0)
        same = x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))
        verdicts.append({"step": step, "same": same, "a": shown[0], "b": shown[1]})
        if not same and first is None:
            first = step
    return {"first": first, "steps": verdicts}


def _show(x: np.ndarray) -> str:
    """Compact: a scalar, a vector, or the first rows of a matrix."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return f"{float(x):.7g}"

    def vec(v: np.ndarray) -> str:
        return "[" + ", ".join(f"{e:.4g}" for e in v[:6]) + (", ..." if v.size > 6 else "") + "]"

    if x.ndim == 1:
        return vec(x)
    rows = x.reshape(-1, x.shape[-1])
    return "[" + ", ".join(vec(r) for r in rows[:3]) + (", ..." if len(rows) > 3 else "") + "]"
