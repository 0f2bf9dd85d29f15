"""Sphinx extension: the pages of the documentation site generated from lossbridge itself.

At ``builder-inited`` it writes, under ``docs/generated/`` (not tracked):

* one page per loss of every dialect, from the catalog (:mod:`lossbridge._catalog`: input
  roles), ``inspect`` (signature and defaults), the docstring (autodoc: formula, documented
  example), :func:`lossbridge.translate` (equivalents and their conditions), a generated example
  whose printed output is recorded in ``docs/examples.json`` (``tests/test_docs.py`` runs every
  one and compares) and a plot drawn with matplotlib from lossbridge's dialects;
* one index per dialect, the equivalence matrix, the diagnostic codes, and the output of
  ``lossbridge compare`` / ``explain`` for "Why is my loss different?".

``python docs/_ext/lossbridge_pages.py --record`` re-records ``docs/examples.json``.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import numpy as np

DOCS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(DOCS)
OUT = os.path.join(DOCS, "generated")
EXAMPLES_JSON = os.path.join(DOCS, "examples.json")

DIALECTS = {
    "keras": "Keras 3 (keras.losses)",
    "tf_keras": "tf.keras 2 (tf_keras.losses)",
    "torch": "PyTorch (torch.nn and torch.nn.functional)",
    "optax": "optax (optax.losses)",
    "theano": "Theano (theano.tensor.nnet)",
}

#: What an input of each catalog role must hold (see lossbridge._catalog's docstring).
ROLE_TEXT = {
    "probs": "probabilities (after softmax), shape (N, C)",
    "logits": "logits: unnormalised scores, shape (N, C) (no softmax)",
    "log_probs": "log-probabilities (log_softmax output), shape (N, C)",
    "onehot": "one-hot (or probability) targets, shape (N, C), float",
    "labels": "integer class indices, shape (N,)",
    "values": "real-valued predictions",
    "targets": "real-valued targets",
    "embeddings": "embeddings (rows of unit norm), shape (N, D)",
    "label_sequences": "integer label sequences, shape (N, S)",
    "logit_sequences": "logit sequences, shape (N, T, C)",
    "variances": "positive variances",
    "signs": "labels of -1 or +1",
    "multilabels": "class indices per sample, shape (N, C), each row ended by -1",
    "scores1": "first score of each pair, shape (N,)",
    "scores2": "second score of each pair, shape (N,)",
    "pair_signs": "one label of -1 or +1 per pair, shape (N,)",
    "embeddings1": "first embedding of each pair, shape (N, D)",
    "embeddings2": "second embedding of each pair, shape (N, D)",
    "anchors": "anchor embeddings, shape (N, D)",
    "positives": "positive embeddings, shape (N, D)",
    "negatives": "negative embeddings, shape (N, D)",
    "ctc_log_probs": "log-probabilities over time, shape (T, N, C), blank = class 0",
    "ctc_targets": "padded target sequences, shape (N, S)",
    "ctc_input_lengths": "input lengths, shape (N,)",
    "ctc_target_lengths": "target lengths, shape (N,)",
    "features": "inputs of the linear layer, shape (N, F)",
    "linear_weight": "weight of the linear layer, shape (C, F)",
    "ctc_batch_labels": "padded label sequences, shape (N, S), blank = last class",
    "ctc_batch_probs": "probabilities over time, shape (N, T, C)",
    "ctc_batch_input_lengths": "input lengths, shape (N, 1)",
    "ctc_batch_label_lengths": "label lengths, shape (N, 1)",
    "soft_targets": "target probability distributions, shape (N, C)",
    "log_soft_targets": "log of target probability distributions, shape (N, C)",
    "groups": "integer group ids, shape (N,) (equal ids form positive pairs)",
    "seq_logits": "logits over time, batch-major, shape (N, T, C), blank = class 0",
    "seq_paddings": "1.0 on padded frames, shape (N, T)",
    "seq_labels": "integer label sequences, shape (N, L)",
    "seq_label_paddings": "1.0 on padded labels, shape (N, L)",
}

#: One formula per translation row (the row *is* one semantics), in LaTeX.
ROW_MATH = {
    "ce_logits_labels": r"\ell_i = -\log \operatorname{softmax}(z_i)_{y_i} = \log\sum_c e^{z_{ic}} - z_{i y_i}",
    "ce_logits_onehot": r"\ell_i = -\sum_c y_{ic} \log \operatorname{softmax}(z_i)_c",
    "ce_probs_keras": r"\ell_i = -\sum_c y_{ic} \log \operatorname{clip}\!\Big(\frac{p_{ic}}{\sum_k p_{ik}},\ 10^{-7},\ 1-10^{-7}\Big)",
    "ce_probs_theano": r"\ell_i = -\log p_{i y_i} \quad\text{(no clip: } p=0 \Rightarrow \infty\text{)}",
    "bce_logits": r"\ell = \max(z, 0) - z\,y + \log\big(1 + e^{-|z|}\big)",
    "bce_probs_keras": r"\ell = -\big(y \log \hat p + (1-y)\log(1-\hat p)\big),\quad \hat p = \operatorname{clip}(p, 10^{-7}, 1-10^{-7})",
    "bce_probs_torch": r"\ell = -\big(y \max(\log p, -100) + (1-y)\max(\log(1-p), -100)\big)",
    "mse": r"\ell = (p - t)^2",
    "mae": r"\ell = |p - t|",
    "huber": r"\ell = \begin{cases} \tfrac12 e^2 & |e| \le \delta \\ \delta\,(|e| - \tfrac12\delta) & |e| > \delta \end{cases},\quad e = p - t",
    "smooth_l1": r"\ell = \begin{cases} \tfrac12 e^2 / \beta & |e| < \beta \\ |e| - \tfrac12\beta & |e| \ge \beta \end{cases},\quad e = p - t",
    "log_cosh": r"\ell = \log\cosh(p - t)",
    "kl_div": r"\ell_i = \sum_c P_{ic}\,\big(\log P_{ic} - \log Q_{ic}\big)\quad\text{(input: }\log Q\text{)}",
    "hinge": r"\ell = \max(1 - y\,p,\ 0),\quad y \in \{-1, +1\}",
    "cosine": r"\ell_i = -\frac{p_i \cdot t_i}{\lVert p_i\rVert\,\lVert t_i\rVert}",
    "poisson": r"\ell = p - y \log(p + 10^{-7})",
}

#: Formulas of losses outside the translation table, by normalised name (``_norm``), as the
#: frameworks' documentation states them (per element or per sample, before the reduction).
NAME_MATH = {
    "binarycrossentropy": r"\ell = -\frac1C\sum_c \big(y_c \log \hat p_c + (1-y_c)\log(1-\hat p_c)\big),\quad \hat p = \operatorname{clip}(p, 10^{-7}, 1-10^{-7})",
    "binaryfocalcrossentropy": r"\ell = -\frac1C\sum_c \Big(\alpha\,y_c (1-\hat p_c)^{\gamma}\log \hat p_c + (1-\alpha)(1-y_c)\,\hat p_c^{\gamma}\log(1-\hat p_c)\Big)\quad(\alpha\text{-weights only with apply\_class\_balancing})",
    "categoricalfocalcrossentropy": r"\ell_i = -\sum_c \alpha\,(1-\hat p_{ic})^{\gamma}\,y_{ic}\log \hat p_{ic},\quad \hat p = \operatorname{clip}\big(p / \textstyle\sum_k p_k,\ 10^{-7},\ 1-10^{-7}\big)",
    "categoricalgeneralizedcrossentropy": r"\ell_i = \frac{1 - p_{i y_i}^{\,q}}{q}",
    "categoricalhinge": r"\ell_i = \max\Big(0,\ 1 + \max_c (1-y_{ic})\,p_{ic} - \sum_c y_{ic}\,p_{ic}\Big)",
    "cosineembedding": r"\ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\ \max(0, \cos(x_1, x_2) - \text{margin}) & y = -1 \end{cases}",
    "cosinesimilarity": r"\ell_i = -\frac{p_i \cdot t_i}{\lVert p_i\rVert\,\lVert t_i\rVert}",
    "ctc": r"\ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_{t} p_t(\pi_t)\quad(\mathcal{B}\text{: merge repeats, drop blanks})",
    "ctcbatchcost": r"\ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_{t} p_t(\pi_t)\quad(\mathcal{B}\text{: merge repeats, drop blanks})",
    "ctclosswithforwardprobs": r"\ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_{t} p_t(\pi_t)\quad(\mathcal{B}\text{: merge repeats, drop blanks})",
    "gaussiannll": r"\ell = \tfrac12\Big(\log \max(\sigma^2, \epsilon) + \frac{(x - y)^2}{\max(\sigma^2, \epsilon)}\Big)\ \big(+\tfrac12\log 2\pi \text{ if full}\big)",
    "hinge": r"\ell = \max(1 - y\,p,\ 0),\quad y \in \{-1, +1\}",
    "hingeembedding": r"\ell = \begin{cases} x & y = 1 \\ \max(0, \text{margin} - x) & y = -1 \end{cases}",
    "kldiv": r"\ell = y\,(\log y - x)\quad(x = \log q;\ \text{with log\_target: } e^{y}(y - x))",
    "kldivergence": r"\ell_i = \sum_c \hat y_{ic} \log\frac{\hat y_{ic}}{\hat p_{ic}},\quad \hat y, \hat p \text{ clipped to } [10^{-7}, 1]",
    "l2": r"\ell = \tfrac12 (p - t)^2",
    "linearcrossentropy": r"\ell_i = \log\sum_c e^{(h_i W^\top)_c} - (h_i W^\top)_{y_i}",
    "marginranking": r"\ell = \max\big(0,\ -y\,(x_1 - x_2) + \text{margin}\big)",
    "meanabsolutepercentageerror": r"\ell_i = \frac{100}{C}\sum_c \frac{|t_{ic} - p_{ic}|}{\max(|t_{ic}|, \epsilon)}",
    "meansquaredlogarithmicerror": r"\ell_i = \frac1C\sum_c \big(\log(\max(p_{ic}, \epsilon) + 1) - \log(\max(t_{ic}, \epsilon) + 1)\big)^2",
    "multilabelmargin": r"\ell_i = \frac1C \sum_{j \in y_i} \sum_{k \notin y_i} \max\big(0,\ 1 - (x_{i j} - x_{i k})\big)",
    "multilabelsoftmargin": r"\ell_i = -\frac1C\sum_c \big(y_{ic}\log\sigma(x_{ic}) + (1-y_{ic})\log\sigma(-x_{ic})\big)",
    "multimargin": r"\ell_i = \frac1C\sum_{c \ne y_i} \max\big(0,\ w_{y_i}(\text{margin} - x_{i y_i} + x_{ic})\big)^{p}",
    "nllloss2d": r"\ell_n = -w_{y_n}\, x_{n, y_n}",
    "poissonnll": r"\ell = \begin{cases} e^{x} - y\,x & \text{log\_input} \\ x - y \log(x + \epsilon) & \text{otherwise} \end{cases}\ \big(+\ y\log y - y + \tfrac12\log(2\pi y) \text{ if full}\big)",
    "softmargin": r"\ell = \log\big(1 + e^{-y\,x}\big)",
    "squaredhinge": r"\ell_i = \frac1C\sum_c \max(1 - y_{ic}\,p_{ic},\ 0)^2,\quad y \in \{-1, +1\}\ (0/1 \text{ labels mapped to } \pm 1)",
    "dice": r"\ell = 1 - \frac{2\sum y\,p}{\sum y + \sum p + 10^{-7}}\quad(\text{sums over axis; default every axis})",
    "tversky": r"\ell = 1 - \frac{TP}{TP + \alpha\,FP + \beta\,FN + 10^{-7}},\quad TP = \sum y p,\ FP = \sum (1-y) p,\ FN = \sum y (1-p)",
    "circle": r"\ell_i = \operatorname{softplus}\Big(\operatorname{logsumexp}_{j \in P_i} s^p_{ij} + \operatorname{logsumexp}_{j \in N_i} s^n_{ij}\Big),\ s^p = -\gamma\max(m + d, 0)(m - d),\ s^n = \gamma\max(1 + m - d, 0)(1 - m - d),\ d_{ij} = \max(1 - E_i \cdot R_j, 0)",
    "tripletmargin": r"\ell = \max\big(d(a, p) - d(a, n) + \text{margin},\ 0\big),\quad d(x, y) = \lVert x - y + \epsilon\rVert_p",
    "tripletmarginwithdistance": r"\ell = \max\big(d(a, p) - d(a, n) + \text{margin},\ 0\big),\quad d = \text{distance\_function (pairwise distance by default)}",
}

_ALIASES = {"bce": "binarycrossentropy", "bcewithlogits": "binarycrossentropywithlogits"}


def _norm(name: str) -> str:
    n = name.lower().replace("_", "")
    if n.endswith("loss") and len(n) > 4:
        n = n[:-4]
    return _ALIASES.get(n, n)


def _framework(dialect: str) -> str:
    return "keras" if dialect == "tf_keras" else dialect


def entries() -> list[Any]:
    import lossbridge
    import lossbridge.cli  # registers every dialect's catalog
    from lossbridge import _catalog

    del lossbridge
    return sorted(_catalog.all_entries(), key=lambda e: (list(DIALECTS).index(e.dialect), e.module, e.name.lower()))


def qualname(e: Any) -> str:
    return f"lossbridge.{e.module or e.dialect}.{e.name}"


def slug(e: Any) -> str:
    return (e.module or e.dialect).replace(".", "_") + "." + e.name


def rows_of(e: Any) -> list[Any]:
    """The translation row that :func:`lossbridge.translate` reads this loss (default arguments) as."""
    from lossbridge._translate import FRAMEWORKS, TABLE, translate

    # tf.keras 2 is not in the table: its losses are plotted against the Keras 3 row of the same name
    source = f"keras:{e.name}" if e.dialect == "tf_keras" else f"{e.dialect}:{e.name}"
    for fw in FRAMEWORKS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                key = translate(source, fw).row
        except Exception:  # outside the table, or no translation to this framework
            continue
        return [r for r in TABLE if r.key == key]
    return []


# ------------------------------------------------------------------ examples

def _literal(a: np.ndarray) -> str:
    if a.dtype.kind == "f":
        a = np.round(a, 4)
    return f"np.array({a.tolist()!r})"


def example_code(e: Any) -> str:
    """A short runnable example on the built-in sample: the inputs by role, the call, the value."""
    from lossbridge import _sample

    arrays = _sample.sample()
    roles = e.resolved_roles({})
    names = []
    lines = ["import numpy as np", "import lossbridge as lb", ""]
    for i, role in enumerate(roles):
        var = re.sub(r"\W", "_", role)
        if var in names:
            var = f"{var}_{i}"
        names.append(var)
        lines.append(f"{var} = {_literal(np.asarray(arrays[role]))}")
    defaults = ", ".join(f"{k}={v!r}" for k, v in e.defaults.items())
    target = f"lb.{e.module or e.dialect}.{e.name}"
    call = f"{target}({defaults})({', '.join(names)})" if e.is_class else (
        f"{target}({', '.join(names)}{', ' + defaults if defaults else ''})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = getattr(e.build({}), "linear", None) if e.is_class else None
    if linear is not None:  # a loss with its own randomly initialised layer: fixed weights instead
        lines.append(f"loss = {target}({defaults})")
        lines.append(f"loss.linear.weight = {_literal(np.asarray(arrays['linear_weight']))}")
        if getattr(linear, "bias", None) is not None:
            lines.append(f"loss.linear.bias = np.zeros({np.asarray(arrays['linear_weight']).shape[0]})")
        call = f"loss({', '.join(names)})"
    lines.append(f"value = {call}")
    scope: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec("\n".join(lines), scope)
    if isinstance(scope["value"], tuple):
        lines += ["for part in value:", "    print(np.round(np.asarray(part, dtype=float), 6))"]
    else:
        lines.append("print(np.round(np.asarray(value, dtype=float), 6))")
    return "\n".join(lines) + "\n"


def run_example(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})
    return out.getvalue()


def record() -> dict[str, dict[str, str]]:
    recorded = {}
    for e in entries():
        code = example_code(e)
        recorded[e.id + ("@" + e.module if e.module else "")] = {"code": code, "output": run_example(code)}
    with open(EXAMPLES_JSON, "w") as f:
        json.dump(recorded, f, indent=1, sort_keys=True)
        f.write("\n")
    return recorded


def example_key(e: Any) -> str:
    return e.id + ("@" + e.module if e.module else "")


# ------------------------------------------------------------------ plots

Z = np.linspace(-120.0, 12.0, 177)
V = np.linspace(-3.0, 3.0, 81)
RATES = np.linspace(1e-3, 4.0, 81)


def _torch_roles(kind: str, x: Any) -> dict[str, Any]:
    """Every table role at sweep position ``x`` (a float64 torch scalar that requires grad)."""
    import torch

    zero = torch.zeros((), dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)
    if kind == "class":
        logits = torch.stack([zero, x, zero])[None]
        logp = torch.log_softmax(logits, dim=-1)
        onehot = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
        return {"logits": logits, "probs": torch.softmax(logits, dim=-1), "log_probs": logp, "onehot": onehot,
                "labels": torch.tensor([1]), "dist": torch.tensor([[0.1, 0.8, 0.1]], dtype=torch.float64)}
    if kind == "binary":
        z = x[None, None]
        return {"bin_logits": z, "bin_probs": torch.sigmoid(z), "bin_targets": torch.ones((1, 1), dtype=torch.float64)}
    if kind == "cosine":
        return {"values": torch.stack([one, x])[None], "targets": torch.tensor([[1.0, 0.0]], dtype=torch.float64)}
    return {"values": x[None, None], "targets": torch.zeros((1, 1), dtype=torch.float64), "rates": x[None, None],
            "counts": torch.ones((1, 1), dtype=torch.float64), "signs": torch.ones((1, 1), dtype=torch.float64)}


def _row_kind(row: Any) -> str:
    roles = {r for f in row.forms for r in f.roles}
    if roles & {"bin_logits", "bin_probs"}:
        return "binary"
    if roles & {"logits", "probs", "log_probs"}:
        return "class"
    if row.key == "cosine":
        return "cosine"
    return "regression"


def _curve(fn: Any, roles: tuple[str, ...], kind: str, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import torch

    ys, gs = [], []
    for xv in xs:
        x = torch.tensor(float(xv), dtype=torch.float64, requires_grad=True)
        arrays = _torch_roles(kind, x)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = fn(*[arrays[r] for r in roles])
                value = value.sum() if hasattr(value, "sum") else value
                (g,) = torch.autograd.grad(value, x, allow_unused=True)
            ys.append(float(value.detach()) if hasattr(value, 'detach') else float(value))
            gs.append(float(g) if g is not None else 0.0)
        except Exception:  # a domain error at this point (log of 0 ...): leave a gap
            ys.append(np.nan)
            gs.append(np.nan)
    return np.array(ys), np.array(gs)


def _form_fn(framework: str, name: str, kwargs: dict[str, Any], kind: str = "class") -> Any:
    import lossbridge as lb

    module = getattr(lb, framework)
    obj = getattr(module, name, None)
    if obj is None and framework == "torch":
        obj = getattr(lb.torch.functional, name)
    if inspect.isclass(obj):
        return obj(**kwargs)
    return lambda *a: obj(*a, **kwargs)


_ALT_NAME = re.compile(r"([A-Za-z_][\w]*)\(")


def _alternative_form(alt: Any) -> tuple[str, str] | None:
    """(framework, name) of the lossbridge mirror of an alternative's native loss."""
    from lossbridge import _catalog

    head = alt.title.split(" on ")[0]
    m = _ALT_NAME.search(head)
    name = m.group(1) if m else head.split()[-1].split(".")[-1].rstrip("()")
    if alt.framework == "theano":
        name = head.split()[1].split("(")[0]
    try:
        e = _catalog.lookup(f"{alt.framework}:{name}")
    except Exception:
        return None
    return e.dialect, e.name


def plot_row(row: Any, path: str, extra: list[tuple[str, Any, tuple[str, ...]]] = ()) -> None:
    """Loss and gradient vs the sweep for every form of the row, its alternatives and the
    classic mistake (probabilities passed as logits)."""
    kind = _row_kind(row)
    xs = {"class": Z, "binary": Z, "cosine": V}.get(kind, RATES if row.key == "poisson" else V)
    curves = []
    for f in row.forms:
        if not f.reads and any(c[0].startswith(f.framework + ":" + f.name) for c in curves):
            continue
        kwargs = {**f.fixed, **f.extra}
        label = f"{f.title}" + (f" {f.extra}" if f.extra else "")
        curves.append((label, _form_fn(f.framework, f.name, kwargs), f.roles, "-"))
    for alt in row.alternatives:
        found = _alternative_form(alt)
        if found:
            curves.append((f"≈ {alt.title}", _form_fn(found[0], found[1], {}), alt.roles, "--"))
    if {"logits", "bin_logits"} & {r for f in row.forms for r in f.roles}:
        f = next((f for f in row.forms if f.reads and f.framework == "torch"), None) or next(
            f for f in row.forms if f.reads)
        mistake = tuple("probs" if r == "logits" else "bin_probs" if r == "bin_logits" else r for r in f.roles)
        twice = "sigmoid" if kind == "binary" else "softmax"
        curves.append((f"mistake: {f.title} fed probabilities ({twice} twice)", _form_fn(
            f.framework, f.name, {**f.fixed, **f.extra}), mistake, ":"))
    for label, fn, roles in extra:
        curves.append((label, fn, roles, "-."))
    xlabel = {"class": "logit z of the true class (other logits 0; p = e^z / (e^z + 2))",
              "binary": "logit z (target 1; p = sigmoid(z))",
              "cosine": "second coordinate of the prediction [1, x] (target [1, 0])"}.get(
        kind, "prediction (target 0)" if row.key != "poisson" else "predicted rate (count 1)")
    if row.key == "hinge":
        xlabel = "prediction (label +1)"
    _draw(path, row.title, xlabel, [(label, *_curve(fn, roles, kind, xs), style) for label, fn, roles, style in curves], xs)


def _draw(path: str, title: str, xlabel: str, curves: list[tuple[str, np.ndarray, np.ndarray, str]], xs: np.ndarray,
          note: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, ys, gs, style in curves:
        a1.plot(xs, ys, style, label=label, linewidth=1.6)
        a2.plot(xs, gs, style, label=label, linewidth=1.6)
    a1.set_title("loss")
    a2.set_title("gradient d loss / d x")
    for ax in (a1, a2):
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
    finite = np.concatenate([ys[np.isfinite(ys)] for _, ys, _, _ in curves] or [np.zeros(1)])
    if finite.size and np.nanmax(np.abs(finite)) > 50:
        a1.set_yscale("symlog")
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=10)
    handles, labels = a1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.035 * ((len(curves) + 1) // 2), 1, 1))
    fig.savefig(path, dpi=72)
    plt.close(fig)


_SWEEP_ROLES = ("logits", "probs", "log_probs", "values", "embeddings", "anchors", "scores1", "embeddings1",
                "features", "variances", "seq_logits", "ctc_log_probs", "logit_sequences", "ctc_batch_probs")


def plot_entry(e: Any, path: str) -> str:
    """A 1-D sweep of one input of a loss outside the translation table; returns a caption."""
    import torch

    from lossbridge import _sample

    arrays = _sample.sample()
    roles = e.resolved_roles({})
    role = next((r for r in _SWEEP_ROLES if r in roles), None)
    if role is None:
        role = next((r for r in roles if np.asarray(arrays[r]).dtype.kind == "f"), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLLLoss2d's deprecation
        fn = e.build({})
    if role is None:
        _draw_note(path, e, "every input is integer: no continuous input to sweep")
        return "no curve: every input of this loss is an integer array"
    base = np.asarray(arrays[role], dtype=float)
    probs = role in ("probs", "ctc_batch_probs")
    xs = Z[Z > -40] if role in ("probs", "logits", "log_probs") else V
    flat = 1 if base.size > 1 else 0

    def inputs(x: Any) -> list[Any]:
        out = []
        for r in roles:
            a = torch.tensor(np.asarray(arrays[r]))
            if r == role:
                if role in ("probs", "logits", "log_probs"):
                    row = torch.stack([torch.zeros((), dtype=torch.float64), x, torch.zeros((), dtype=torch.float64)])
                    row = {"probs": torch.softmax(row, 0), "logits": row, "log_probs": torch.log_softmax(row, 0)}[r]
                    a = torch.cat([row[None], a[1:]])
                else:
                    shift = torch.zeros(a.numel(), dtype=torch.float64)
                    shift = shift + torch.nn.functional.one_hot(torch.tensor(flat), a.numel()).double() * x
                    a = a + shift.reshape(a.shape)
                    if probs:
                        a = a.clamp_min(0)
            out.append(a)
        return out

    ys, gs = [], []
    for xv in xs:
        x = torch.tensor(float(xv), dtype=torch.float64, requires_grad=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = fn(*inputs(x))
                value = (value[0] if isinstance(value, tuple) else value).sum()
                (g,) = torch.autograd.grad(value, x, allow_unused=True)
            ys.append(float(value.detach()) if hasattr(value, 'detach') else float(value))
            gs.append(float(g) if g is not None else np.nan)
        except Exception:
            ys.append(np.nan)
            gs.append(np.nan)
    ys_a, gs_a = np.array(ys), np.array(gs)
    if not np.isfinite(ys_a).any():
        _draw_note(path, e, f"the loss is not defined along a sweep of `{role}` on the built-in sample")
        return f"no curve: the loss is not defined along a sweep of `{role}` on the built-in sample"
    if role in ("probs", "logits", "log_probs"):
        what = f"`{role}` of sample 0 from the logits [0, z, 0] (true class 1), z on the x axis"
        xlabel = "logit z of the true class of sample 0"
    else:
        index = [int(i) for i in np.unravel_index(flat, base.shape)]
        what = f"entry {index} of `{role}` of the built-in sample, shifted by x"
        xlabel = f"shift x added to {role}{index}"
    _draw(path, f"{qualname(e)} (default arguments)", xlabel, [(e.name, ys_a, gs_a, "-")], xs)
    return f"The loss (summed) and its gradient as {what}; the other inputs are the built-in sample's."


def _draw_note(path: str, e: Any, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{qualname(e)}: no curve\n{note}", ha="center", va="center", fontsize=11)
    fig.savefig(path, dpi=72)
    plt.close(fig)


# ------------------------------------------------------------------ pages

def _signature(e: Any) -> str:
    obj = e.obj()
    try:
        return f"{e.name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return e.name


def _call_params(e: Any) -> list[str]:
    obj = e.obj()
    target = obj
    if inspect.isclass(obj):
        target = getattr(obj, "forward", None) or obj.__call__
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params]
    return names


def _math_of(e: Any) -> str | None:
    """The ``.. math::`` block of the docstring, or of the function its docstring refers to."""
    docs = [inspect.getdoc(e.obj()) or ""]
    ref = re.search(r":func:`~?([\w.]+)`", docs[0])
    if ref:
        name = ref.group(1)
        import lossbridge

        target: Any = None
        for base in (name, f"lossbridge.{e.module or e.dialect}.{name}"):
            obj: Any = lossbridge
            try:
                for part in base.removeprefix("lossbridge.").split("."):
                    obj = getattr(obj, part)
                target = obj
                break
            except AttributeError:
                continue
        if target is not None:
            docs.append(inspect.getdoc(target) or "")
    for doc in docs:
        m = re.search(r"\.\. math::\n((?:\n|    .*\n)+)", doc + "\n")
        if m:
            return textwrap.dedent(m.group(1)).strip()
    return None


def _cell(t: Any) -> tuple[str, str]:
    if t is None:
        return "none", ""
    if t.exact and t.native and not t.conditions:
        return "exact", ""
    if t.exact and t.native:
        return "exact under a condition", "; ".join(t.conditions)
    if t.alternatives:
        return "approximate (exact through lossbridge)", "; ".join(
            f"{a['title']}: {a['differs']}" for a in t.alternatives)
    return "exact through lossbridge only", ""


def _translations(e: Any) -> dict[str, Any]:
    from lossbridge import LossBridgeError
    from lossbridge._translate import FRAMEWORKS, translate

    out: dict[str, Any] = {}
    src = e.id if not e.module else f"{e.dialect}:{e.name}"
    for fw in FRAMEWORKS:
        if fw == _framework(e.dialect) and e.dialect != "tf_keras":
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # NLLLoss2d's deprecation
                out[fw] = translate(src, fw)
        except (LossBridgeError, NotImplementedError, TypeError):
            out[fw] = None
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def loss_page(e: Any, recorded: dict[str, Any], image: str, caption: str) -> str:
    q = qualname(e)
    params = _call_params(e)
    roles = e.roles
    lines = [f"# {e.name}", "", f"`{q}`" + (f" — {e.summary}" if e.summary else ""), ""]
    lines += ["## Signature and defaults", "", "```python", _signature(e), "```", ""]
    lines += ["## Inputs", "", "| argument | must be |", "|---|---|"]
    for i, role in enumerate(roles):
        base, _, alt = role.partition("|")
        name = params[i] if i < len(params) else f"input {i + 1}"
        what = ROLE_TEXT.get(base, base)
        if alt:
            what += f"; {ROLE_TEXT.get(alt, alt)} with `from_logits=True`"
        lines.append(f"| `{name}` | {_md_escape(what)} |")
    lines.append("")
    rows = rows_of(e)
    lines += ["## Formula", ""]
    math = _math_of(e)
    if e.dialect == "tf_keras":
        lines += ["tf.keras 2 computes the Keras 3 formula below except where the documentation at the end of "
                  "this page says otherwise (for example an epsilon inside binary cross-entropy's log).", ""]
    if rows:
        for r in rows:
            lines += [f"Translation row *{r.title}*:", "", "```{math}", ROW_MATH[r.key], "```", ""]
    if math:
        lines += ["From the docstring:", "", "```{math}", math, "```", ""]
    if not rows and not math and _norm(e.name) in NAME_MATH:
        lines += ["As the framework's documentation states it (per element or per sample, before the reduction; "
                  "the docstring below has the epsilons and the reduction):", "", "```{math}",
                  NAME_MATH[_norm(e.name)], "```", ""]
    elif not rows and not math:
        lines += ["The exact formula, with its epsilons and reduction, is written out in the docstring "
                  "below (plain text, as `help()` shows it).", ""]
    lines += ["## Equivalents in other frameworks", "",
              "From {func}`lossbridge.translate` (see the [equivalence matrix](../../matrix.md)):", "",
              "| framework | result | translation | conditions and notes |", "|---|---|---|---|"]
    for fw, t in _translations(e).items():
        cell, why = _cell(t)
        code = "" if t is None else "<br>".join(
            f"`{line}`" for line in t.code.splitlines() if not line.startswith("import "))
        notes = why if t is None else "; ".join([*t.conditions, *t.notes] + ([why] if t.alternatives else []))
        lines.append(f"| {fw} | {cell} | {_md_escape(code)} | {_md_escape(notes)} |")
    lines.append("")
    ex = recorded[example_key(e)]
    lines += ["## Example", "", "On the built-in sample of `lossbridge compare` (the printed output is checked by "
              "`tests/test_docs.py`):", "", "```python", ex["code"].rstrip(), "```", "", "prints", "", "```text",
              ex["output"].rstrip(), "```", ""]
    lines += ["## Plot", "", caption, "", f"![{e.name}: loss and gradient]({image})", ""]
    directive = "autoclass" if e.is_class else "autofunction"
    lines += ["## Documentation", "", "```{eval-rst}", f".. {directive}:: {q}", "   :no-index:", "```", ""]
    return "\n".join(lines)


def dialect_index(dialect: str, es: list[Any]) -> str:
    lines = [f"# {DIALECTS[dialect]}", "", f"Every loss of `lossbridge.{dialect}` ({len(es)}), one page each.", "",
             "| loss | inputs | summary |", "|---|---|---|"]
    for e in es:
        lines.append(f"| [{(e.module + '.' if e.module and e.module != e.dialect else '')}{e.name}]({slug(e)}.md) | "
                     f"{', '.join(e.roles)} | {_md_escape(e.summary)} |")
    lines += ["", "```{toctree}", ":hidden:", ""] + [slug(e) for e in es] + ["```", ""]
    return "\n".join(lines)


def matrix_page(es: list[Any]) -> str:
    from lossbridge._translate import FRAMEWORKS

    symbol = {"exact": "exact", "exact under a condition": "exact if …", "none": "—",
              "approximate (exact through lossbridge)": "≈ (lossbridge exact)",
              "exact through lossbridge only": "lossbridge"}
    lines = ["# Equivalence matrix", "",
             "For every loss (rows) and framework (columns), what {func}`lossbridge.translate` gives, "
             "generated at build time:", "",
             "* **exact** — a native loss of that framework computes the same numbers;",
             "* **exact if …** — native and exact under the conditions on the loss' page (hover the cell);",
             "* **≈ (lossbridge exact)** — the familiar native loss is an approximation (its page says where "
             "it differs); lossbridge's dialect loss, adapted, is exact;",
             "* **lossbridge** — no native loss: lossbridge's dialect loss adapted to that framework is exact;",
             "* **—** — the loss is outside the translation table.", "",
             "| loss | " + " | ".join(FRAMEWORKS) + " |", "|---|" + "---|" * len(FRAMEWORKS)]
    for e in es:
        ts = _translations(e)
        cells = []
        for fw in FRAMEWORKS:
            if fw not in ts:
                cells.append("(itself)")
                continue
            cell, why = _cell(ts[fw])
            cells.append(symbol[cell] if not why else f'<span title="{_md_escape(why).replace(chr(34), "")}">'
                         f"{symbol[cell]}</span>")
        link = f"[{e.dialect}:{(e.module.split('.')[-1] + '.') if e.module else ''}{e.name}](losses/{e.dialect}/{slug(e)}.md)"
        lines.append(f"| {link} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


DIAGNOSTIC_TRIGGERS = {
    "LB001": 'lb.diagnose("torch:CrossEntropyLoss", P, labels)',
    "LB002": 'lb.diagnose("keras:CategoricalCrossentropy", onehot, LOGITS)',
    "LB003": 'lb.diagnose("optax:kl_divergence", P, P)',
    "LB004": 'lb.diagnose("torch:nll_loss", LOGITS, labels)',
    "LB005": 'lb.diagnose("torch:cross_entropy", P.T / P.T.sum(0), np.array([0, 1, 1]))',
    "LB006": 'lb.diagnose(lb.torch.KLDivLoss(reduction="batchmean"), np.log(P), np.log(P))',
    "LB010": 'lb.diagnose("keras:SparseCategoricalCrossentropy", onehot, P)',
    "LB011": 'lb.diagnose("optax:softmax_cross_entropy", LOGITS, labels)',
    "LB012": 'lb.diagnose("torch:CrossEntropyLoss", LOGITS, onehot.astype(int))',
    "LB013": 'lb.diagnose(lb.torch.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0])), LOGITS, onehot)',
    "LB014": 'lb.diagnose("torch:nll_loss", np.log(P), np.array([0, 5]))',
    "LB015": 'lb.diagnose(lb.keras.SparseCategoricalCrossentropy(), np.array([0.5, 2.0]), P)',
    "LB016": 'lb.diagnose("torch:cross_entropy", LOGITS, np.array([1, 1]), ignore_index=1)',
    "LB020": 'lb.diagnose("torch:mse_loss", np.zeros((8, 1)), np.zeros(8))',
    "LB021": 'lb.diagnose("keras:MeanSquaredError", np.zeros((4, 4, 2)), np.zeros((4, 4, 2)), sample_weight=np.ones(4))',
    "LB030": "lb.diagnose(lb.torch.KLDivLoss(), np.log(P), P)",
    "LB040": 'lb.diagnose("keras:CategoricalCrossentropy", onehot, np.where(P > 0.5, -np.inf, P))',
}

DIAGNOSTIC_SETUP = """import numpy as np
import lossbridge as lb

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])   # probabilities (softmax applied)
LOGITS = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0]])
labels = np.array([0, 2])
onehot = np.eye(3)[labels]
"""


def diagnostics_page() -> str:
    import lossbridge as lb
    from lossbridge._diagnostics import CODES

    scope: dict[str, Any] = {}
    exec(DIAGNOSTIC_SETUP, scope)
    lines = ["# Diagnostic codes", "",
             "`lb.diagnose(loss, *args)` inspects a call without running it; the losses run the same checks "
             "on every concrete call and warn (level `\"cheap\"` by default, `\"full\"` with `lb.checks(\"full\")`). "
             "Each code below with the mistake that triggers it and the message lossbridge gives, produced at "
             "build time (the build fails if a mistake no longer triggers its code).", "",
             "All examples start from:", "", "```python", DIAGNOSTIC_SETUP.rstrip(), "```", "",
             "| code | level | warning | finds |", "|---|---|---|---|"]
    for c in CODES.values():
        lines.append(f"| [{c.code}](#{c.code.lower()}) | {c.level} | `{c.category.__name__}` | {c.title} |")
    lines.append("")
    for c in CODES.values():
        call = DIAGNOSTIC_TRIGGERS[c.code]
        findings = [f for f in eval(call, scope) if f.code == c.code]
        if not findings:
            raise RuntimeError(f"{call} no longer reports {c.code}")
        f = findings[0]
        lines += [f"## {c.code}", "", f"**{c.title}** — level `{c.level}`, `{c.category.__name__}`.", "",
                  "```python", call, "```", "", "```text", f"{f.code} {f.title}", "", textwrap.fill(f.message, 100),
                  "", "fix: " + textwrap.fill(f.fix, 95), "```", ""]
    del lb
    return "\n".join(lines)


def _cli(*args: str, cwd: str | None = None) -> str:
    env = {**os.environ, "COLUMNS": "140", "PYTHONPATH": os.path.join(ROOT, "src") + os.pathsep
           + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "lossbridge", *args], capture_output=True, text=True, env=env,
                         cwd=cwd, check=True)
    return out.stdout.rstrip()


def why_page(tmp: str) -> str:
    p = np.array([[0.0, 0.3, 0.7], [0.1, 0.8, 0.1]])
    np.savez(os.path.join(tmp, "batch.npz"), probs=p,
             log_probs=np.log(p, where=p > 0, out=np.full_like(p, -np.inf)), onehot=np.eye(3)[[0, 1]],
             labels=np.array([0, 1]))
    with open(os.path.join(DOCS, "why.md.in")) as f:
        template = f.read()
    return (template
            .replace("@COMPARE@", _cli("compare"))
            .replace("@COMPARE_DATA@", _cli("compare", "keras:CategoricalCrossentropy", "torch:NLLLoss",
                                            "--data", "batch.npz", cwd=tmp))
            .replace("@EXPLAIN@", _cli("explain", "keras:CategoricalCrossentropy(from_logits=True)", "--to", "torch"))
            .replace("@DOCTOR@", _cli_status("doctor", "--loss", "torch:CrossEntropyLoss", "--data", "batch.npz",
                                             cwd=tmp)))


def _cli_status(*args: str, cwd: str) -> str:
    env = {**os.environ, "COLUMNS": "140", "PYTHONPATH": os.path.join(ROOT, "src") + os.pathsep
           + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "lossbridge", *args], capture_output=True, text=True, env=env, cwd=cwd)
    return out.stdout.rstrip()


def fused_plot(path: str) -> None:
    """benchmarks/RESULTS.md's float32 rows: time and peak memory of fused vs naive vs native."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(os.path.join(ROOT, "benchmarks", "RESULTS.md")) as f:
        text = f.read()
    data: dict[tuple[int, int], dict[str, tuple[float, float]]] = {}
    layout = False  # rows count only under the driver's own header (time in column 4, MiB in 8)
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 9 and cells[0] == "N":
            layout = cells[4] == "median s" and cells[8] == "peak MiB above inputs"
            continue
        if not layout or len(cells) < 9 or not cells[0].isdigit() or cells[2] != "float32":
            continue
        data.setdefault((int(cells[0]), int(cells[1])), {})[cells[3]] = (float(cells[4].split()[0]), float(cells[8]))
    shapes = sorted(data, key=lambda s: s[0] * s[1])
    methods = ["naive", "native", "fused"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.27
    for k, m in enumerate(methods):
        xs = [i + (k - 1) * width for i, s in enumerate(shapes) if m in data[s]]
        a1.bar(xs, [data[s][m][0] for s in shapes if m in data[s]], width, label=m)
        a2.bar(xs, [data[s][m][1] for s in shapes if m in data[s]], width, label=m)
    for ax, title in ((a1, "median time, s (forward + backward)"), (a2, "peak MiB above the inputs")):
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels([f"N={n}\nV={v}" for n, v in shapes], fontsize=8)
        ax.set_title(title)
        ax.set_yscale("log")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
    fig.suptitle("linear + cross-entropy, float32, 2-core CPU (benchmarks/RESULTS.md; last run of each shape)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def generate(app: Any = None) -> None:
    import tempfile

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    es = entries()
    with open(EXAMPLES_JSON) as f:
        recorded = json.load(f)
    missing = [example_key(e) for e in es if example_key(e) not in recorded]
    if missing:
        raise RuntimeError(f"docs/examples.json has no example for {missing}: run "
                           "`python docs/_ext/lossbridge_pages.py --record`")
    stale = [example_key(e) for e in es if recorded[example_key(e)]["code"] != example_code(e)]
    if stale:
        raise RuntimeError(f"docs/examples.json is stale for {stale}: re-record it")
    os.makedirs(os.path.join(OUT, "img"), exist_ok=True)
    row_images: dict[str, str] = {}
    for e in es:
        os.makedirs(os.path.join(OUT, "losses", e.dialect), exist_ok=True)
    for e in es:
        rows = rows_of(e)
        if rows:
            row = rows[0]
            extra, key = [], row.key
            form = next((f for f in row.forms if f.framework == "keras" and _norm(f.name) == _norm(e.name)), None)
            if e.dialect == "tf_keras" and form is not None:
                key = f"{row.key}.tf_keras"
                extra = [(f"{qualname(e)} (this page)", e.build({}), form.roles)]
            if key not in row_images:
                plot_row(row, os.path.join(OUT, "img", f"{key}.png"), extra)
                row_images[key] = key
            image, caption = f"../../img/{key}.png", (
                f"Loss and gradient of every form of the translation row *{row.title}* on the same axes "
                "(solid: exact equivalents, which overlap; dashed: native approximations; dotted: the classic "
                "mistake), computed with lossbridge's dialects in float64 torch autograd (Keras computes in "
                "float32).")
        else:
            name = slug(e)
            caption = plot_entry(e, os.path.join(OUT, "img", f"{name}.png"))
            image = f"../../img/{name}.png"
        with open(os.path.join(OUT, "losses", e.dialect, slug(e) + ".md"), "w") as f:
            f.write(loss_page(e, recorded, image, caption))
    for d in DIALECTS:
        with open(os.path.join(OUT, "losses", d, "index.md"), "w") as f:
            f.write(dialect_index(d, [e for e in es if e.dialect == d]))
    with open(os.path.join(OUT, "matrix.md"), "w") as f:
        f.write(matrix_page(es))
    with open(os.path.join(OUT, "diagnostics.md"), "w") as f:
        f.write(diagnostics_page())
    with tempfile.TemporaryDirectory() as tmp, open(os.path.join(OUT, "why.md"), "w") as f:
        f.write(why_page(tmp))
    fused_plot(os.path.join(OUT, "img", "fused_benchmark.png"))


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "src"))
    if "--record" in sys.argv:
        print(f"recorded {len(record())} examples in {EXAMPLES_JSON}")
