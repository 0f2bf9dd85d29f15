"""The ``lossbridge`` command.

    lossbridge compare                 the cross-entropy family of every framework on one sample
    lossbridge compare LOSS [LOSS...]  the given losses on the sample (or --data FILE.npz)
    lossbridge compare A B             ... and the first step of the cross-entropy pipeline where A and B differ
    lossbridge explain LOSS [--to FW]  exact semantics and the equivalents in the other frameworks
    lossbridge list [DIALECT]          every loss lossbridge knows
    lossbridge port SCRIPT.py --to torch|keras [--write] [--json] [--emit-test PATH] [--batch N] [--classes C]
                                       rewrite a script's loss sites, with a diff and a report
    lossbridge doctor --loss LOSS --data FILE.npz [--json]
                                       the diagnostics (LB001...) of one loss call on saved arrays

Exit status 0 on success, 2 with a one-line reason on stderr (``lossbridge: error: ...``)
on bad arguments or files: a loss string that is not exactly one call with literal
arguments the loss takes (``_catalog.parse``), a loss whose constructor or call (on
the data) refuses its arguments, an unreadable ``.npz``; ``doctor`` exits 0 when
it finds nothing, 1 when it reports findings.
Tables use ``rich`` when it is installed and plain text otherwise; ``--json``
prints machine-readable output.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import shutil
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from . import _catalog, _sample
from ._errors import LossBridgeError

# ----------------------------------------------------------------- formatting


def _fmt(value: Any) -> str:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return _num(float(arr))
    return "[" + ", ".join(_num(float(v)) for v in arr.ravel()) + "]"


def _num(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.7g}"


def _mean(value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    with np.errstate(all="ignore"):
        return float(arr.mean()) if arr.size else math.nan


def render(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], stream: Any = None) -> None:
    """A table with ``rich`` when installed, plain wrapped text otherwise."""
    stream = stream or sys.stdout
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        have_rich = False
    else:
        have_rich = True
    width = max(140, shutil.get_terminal_size((140, 20)).columns)
    if have_rich:

        table = Table(title=title, show_lines=False, expand=False)
        for i, col in enumerate(columns):
            last = i == len(columns) - 1
            table.add_column(col, overflow="fold", no_wrap=not last, ratio=1 if last else None)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: no markup in the cells
        Console(file=stream, width=width).print(table)
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    fixed = sum(widths[:-1]) + 3 * (len(columns) - 1)
    room = max(30, width - fixed)
    widths[-1] = min(widths[-1], room)
    print(title, file=stream)
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)), file=stream)
    print("-+-".join("-" * w for w in widths), file=stream)
    for row in rows:
        wrapped = textwrap.wrap(row[-1], widths[-1]) or [""]
        head = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=False)]
        print(" | ".join([*head, wrapped[0]]), file=stream)
        for more in wrapped[1:]:
            print(" | ".join([*(" " * w for w in widths[:-1]), more]), file=stream)


# ------------------------------------------------------- the family comparison


def _family_rows() -> list[tuple[str, Callable[[dict[str, Any]], Any], str]]:
    import lossbridge as lb

    K, T, OX, TH = lb.keras, lb.torch, lb.optax, lb.theano
    return [
        ("keras CategoricalCrossentropy()", lambda s: K.CategoricalCrossentropy()(s["onehot"], s["probs"]),
         "Keras' default: renormalises each row to sum 1, clips to [1e-7, 1-1e-7], logs, and "
         "averages over the batch (in float32)."),
        ("keras categorical_crossentropy(y, p)", lambda s: K.categorical_crossentropy(s["onehot"], s["probs"]),
         "The function form returns one value per sample; the class reduces."),
        ("keras SparseCategoricalCrossentropy()", lambda s: K.SparseCategoricalCrossentropy()(s["labels"], s["probs"]),
         "Integer labels instead of one-hot: the same math."),
        ("keras CategoricalCrossentropy(from_logits=True)", lambda s: K.CategoricalCrossentropy(from_logits=True)(s["onehot"], s["logits"]),
         "log_softmax of the logits: equal to the probability form here because the rows sum to 1 "
         "and no target probability is below the 1e-7 clip."),
        ("keras CategoricalCrossentropy(label_smoothing=0.1)", lambda s: K.CategoricalCrossentropy(label_smoothing=0.1)(s["onehot"], s["probs"]),
         "Targets smoothed to y*0.9 + 0.1/3: the zero-probability class now costs -log(1e-7)."),
        ("keras BinaryCrossentropy()", lambda s: K.BinaryCrossentropy()(s["onehot"], s["probs"]),
         "Not a categorical loss: each class is an independent yes/no, averaged over the classes."),
        ("torch nn.CrossEntropyLoss()(logits, labels)", lambda s: T.CrossEntropyLoss()(s["logits"], s["labels"]),
         "PyTorch's equivalent of Keras' categorical cross-entropy: logits and class indices, mean "
         "over the batch."),
        ("torch nn.CrossEntropyLoss()(probs, labels)", lambda s: T.CrossEntropyLoss()(s["probs"], s["labels"]),
         "WRONG: probabilities passed as logits, so softmax is applied twice (remove the model's "
         "final softmax)."),
        ("torch nn.CrossEntropyLoss()(logits, onehot)", lambda s: T.CrossEntropyLoss()(s["logits"], s["onehot"]),
         "A float target of the input's shape is read as class probabilities: the same value here; "
         "with class weights its mean divides by N, not by the weights of the targets."),
        ("torch nn.NLLLoss()(log(p), labels)", lambda s: T.NLLLoss()(s["log_probs"], s["labels"]),
         "The usual hand port of Keras' probability form: no renormalisation and no clip, so a "
         "target probability of 0 would give inf."),
        ("torch nn.BCELoss()(probs, onehot)", lambda s: T.BCELoss()(s["probs"], s["onehot"]),
         "Binary, each log clamped at -100, averaged over all N*C elements: Keras' BCE without the "
         "1e-7 clip (equal here, no probability is 0 on a positive)."),
        ("torch nn.BCEWithLogitsLoss()(logits, onehot)", lambda s: T.BCEWithLogitsLoss()(s["logits"], s["onehot"]),
         "Binary from logits: sigmoid(log p) is p / (1 + p), not p, so this is not BCELoss on p."),
        ("-(y * log(p)).sum(1).mean()", lambda s: _by_hand(s, 0.0),
         "Hand-written: 0 * log(0) is NaN where a probability is exactly 0."),
        ("-(y * log(p + 1e-5)).sum(1).mean()", lambda s: _by_hand(s, 1e-5),
         "Hand-written with an epsilon: no NaN, but every term is shifted a little."),
        ("theano categorical_crossentropy(p, onehot)", lambda s: TH.categorical_crossentropy(s["probs"], s["onehot"]),
         "One value per sample, no clipping: 0 * log(0) gives NaN in the first row."),
        ("theano categorical_crossentropy(p, labels)", lambda s: TH.categorical_crossentropy(s["probs"], s["labels"]),
         "Integer labels pick the target probability: no 0 * log(0), per-sample values."),
        ("optax softmax_cross_entropy(logits, onehot)", lambda s: OX.softmax_cross_entropy(s["logits"], s["onehot"]),
         "optax never reduces: call .mean() yourself; logits only."),
        ("optax softmax_cross_entropy_with_integer_labels", lambda s: OX.softmax_cross_entropy_with_integer_labels(s["logits"], s["labels"]),
         "The integer-label form; a label of -1 would wrap to the last class."),
    ]


def _by_hand(s: dict[str, Any], eps: float) -> Any:
    with np.errstate(all="ignore"):
        return -(s["onehot"] * np.log(s["probs"] + eps)).sum(1).mean()


def _run(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(), None
        except Exception as e:  # shown in the table, not raised
            return None, f"{type(e).__name__}: {e}"


def _compare_family(as_json: bool) -> int:
    data = _sample.sample()
    results: list[dict[str, Any]] = []
    for call, fn, why in _family_rows():
        value, error = _run(functools.partial(fn, data))
        results.append({
            "call": call,
            "returns": None if value is None else np.asarray(value, dtype=float).tolist(),
            "mean": None if value is None else _mean(value),
            "why": why if error is None else f"{error}",
        })
    if as_json:
        print(json.dumps({"sample": {k: v.tolist() for k, v in data.items() if k in ("probs", "labels")},
                          "results": results}, indent=1, default=_json_default))
        return 0
    print("y_pred = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]   y_true = classes [1, 2] "
          "(one-hot [[0, 1, 0], [0, 0, 1]])   logits = log(max(y_pred, 1e-30))\n")
    rows = [
        (r["call"], "error" if r["returns"] is None else _fmt(r["returns"]),
         "" if r["mean"] is None else _num(r["mean"]), r["why"])
        for r in results
    ]
    render("The cross-entropy family on one sample", ["call", "returns", "batch mean", "why it differs"], rows)
    return 0


def _build(entry: _catalog.Entry, kwargs: dict[str, Any]) -> Callable[..., Any]:
    """The configured loss (a class is constructed, so that it refuses bad arguments here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # building a deprecated alias warns
        return entry.build(kwargs)


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    raise TypeError(type(o).__name__)


def _compare_losses(names: Sequence[str], data_path: str | None, as_json: bool) -> int:
    data = _sample.load(data_path) if data_path else _sample.sample()
    results: list[dict[str, Any]] = []
    for name in names:
        entry, kwargs = _catalog.parse(name)
        roles = entry.resolved_roles(kwargs)
        args = _sample.inputs(roles, data)
        loss = _build(entry, kwargs)  # a constructor that refuses its arguments: exit 2
        # what the call raises on this data is shown in the table
        value, error = _run(functools.partial(loss, *args))
        if isinstance(value, tuple):  # (loss, auxiliary outputs...): the loss is shown
            value = value[0]
        results.append({
            "loss": name, "id": entry.id, "inputs": list(roles),
            "returns": None if value is None else np.asarray(value, dtype=float).tolist(),
            "mean": None if value is None else _mean(value), "error": error,
        })
    divergence = _divergence(names, results, data) if len(names) == 2 else None
    if as_json:
        out: dict[str, Any] = {"results": results}
        if divergence is not None:
            out["divergence"] = divergence
        print(json.dumps(out, indent=1, default=_json_default))
        return _compare_status(results, data_path)
    rows = [
        (r["loss"], ", ".join(r["inputs"]), r["error"] or _fmt(r["returns"]),
         "" if r["mean"] is None else _num(r["mean"]))
        for r in results
    ]
    render("lossbridge compare" + (f" on {data_path}" if data_path else " on the built-in sample"),
           ["loss", "inputs", "returns", "batch mean"], rows)
    if divergence is not None:
        _print_divergence(names, divergence)
    return _compare_status(results, data_path)


def _compare_status(results: list[dict[str, Any]], data_path: str | None) -> int:
    """0, or (after the table) the first loss that raised as a one-line error: exit status 2."""
    failed = [r for r in results if r["error"] is not None]
    if failed:
        on = data_path or "the built-in sample"
        raise LossBridgeError(f"{failed[0]['error']} (calling {failed[0]['loss']} on {on} raises this)")
    return 0


_STEP_MEANING = {
    "renormalise": "the distribution read: softmax of logits, p / sum(p), p as given or exp(log p)",
    "clip": "Keras clips to [1e-7, 1 - 1e-7]; the others do not",
    "log": "log of the distribution (log_softmax for logits)",
    "smoothing": "the target distribution: one-hot of the labels, y * (1 - ls) + ls / C",
    "weighting": "per-sample loss -sum w_c y_c log q_c, 0 on ignored targets",
    "reduce": "the reduction and its denominator",
}


def _divergence(names: Sequence[str], results: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any] | None:
    """The staged pipeline of two categorical cross-entropies, step by step (None otherwise)."""
    from . import _pipeline

    pipes = []
    for name, result in zip(names, results, strict=False):
        try:
            settings = _pipeline.settings_of(name)
        except LossBridgeError:
            settings = None
        if settings is None or result["returns"] is None:
            return {"first": None, "reason": f"{name} is not a categorical cross-entropy of the translation "
                    "table (or failed): no staged comparison", "steps": []}
        roles = result["inputs"]
        predictions = [r for r in roles if r in ("logits", "probs", "log_probs")]
        targets = [r for r in roles if r in ("labels", "onehot")]
        if len(predictions) != 1 or len(targets) != 1:
            return {"first": None, "reason": f"cannot tell the prediction from the target of {name}", "steps": []}
        outputs = _pipeline.stages(settings, data[predictions[0]], data[targets[0]])
        actual = np.asarray(result["returns"], dtype=float)
        model = outputs["reduce"]
        if model.shape != actual.shape or not np.allclose(model, actual, rtol=1e-5, atol=1e-6, equal_nan=True):
            return {"first": None, "steps": [], "reason": f"the staged pipeline does not reproduce {name} "
                    f"({_pipeline._show(model)} vs {_pipeline._show(actual)}): no step reported"}
        pipes.append(_pipeline.Pipeline(name, settings, outputs))
    verdict = _pipeline.first_divergence(pipes[0], pipes[1])
    values_equal = bool(np.allclose(np.asarray(results[0]["returns"], float), np.asarray(results[1]["returns"], float),
                                    rtol=1e-6, atol=1e-9, equal_nan=True)) if (
        np.shape(results[0]["returns"]) == np.shape(results[1]["returns"])) else False
    return {**verdict, "values_equal": values_equal, "reproduced": True}


def _print_divergence(names: Sequence[str], divergence: dict[str, Any]) -> None:
    if not divergence["steps"]:
        print(f"\nstaged comparison: {divergence['reason']}")
        return
    rows = [(v["step"], "same" if v["same"] else "DIFFERENT", v["a"], v["b"]) for v in divergence["steps"]]
    render(f"Step by step: A = {names[0]}, B = {names[1]}", ["step", "A vs B", "A", "B"], rows)
    print("(each staged pipeline reproduces its loss's value; steps 1-3 are compared on the entries a target reads)")
    first = divergence["first"]
    if first is None:
        print("On this data the two losses agree at every step.")
    else:
        tail = "" if not divergence["values_equal"] else " (the values agree on this data all the same)"
        print(f"First divergence: {first}: {_STEP_MEANING[first]}{tail}.")


# -------------------------------------------------------------------- explain


def _explain(name: str, to: str | None, as_json: bool) -> int:
    import inspect

    from . import _translate

    if to is not None and to not in _translate.FRAMEWORKS:
        raise LossBridgeError(f"--to {to!r}: unknown framework; choose one of {', '.join(_translate.FRAMEWORKS)}.")
    src = _translate._read(name)
    dialect = _dialect_object(src)
    match = _translate._match(src)
    doc = _docstring(dialect)
    signature: dict[str, Any] = {}
    if dialect is not None:
        try:
            params = inspect.signature(dialect).parameters
            signature = {k: (None if p.default is inspect.Parameter.empty else p.default) for k, p in params.items()
                         if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        except (TypeError, ValueError):
            signature = {}
    targets = [to] if to else [fw for fw in _translate.FRAMEWORKS if fw != src.framework]
    translations: dict[str, Any] = {}
    for fw in targets:
        try:
            translations[fw] = _translate.translate(name, fw).to_dict()
        except LossBridgeError as e:
            translations[fw] = {"error": str(e)}
    out = {
        "loss": name, "framework": src.framework, "name": src.name,
        "config": {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in src.config.items()},
        "row": None if match is None else {"key": match[0].key, "title": match[0].title, "notes": list(match[0].notes)},
        "signature": signature, "doc": doc, "translations": translations,
    }
    if as_json:
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(f"{name}: {src.framework} {src.name}" + (f" ({match[0].title})" if match else ""))
    if doc:
        print()
        print(doc)
    elif match is None:
        print("(lossbridge has no dialect object for it yet)")
    if signature:
        render("Defaults", ["argument", "default", "this loss"],
               [(k, repr(v), repr(src.config.get(k, v)) if k in src.config else "") for k, v in signature.items()])
    rows = []
    for fw, t in translations.items():
        if "error" in t:
            rows.append((fw, "-", "-", t["error"]))
            continue
        what = [line for line in t["code"].splitlines() if not line.startswith("import ")]
        what += [f"call: loss({', '.join(t['call'])})"]
        what += [f"condition: {c}" for c in t["conditions"]]
        what += [f"alternative: {a['title']} ({a['differs']})" for a in t["alternatives"]]
        what += [f"note: {n}" for n in t["notes"]]
        rows.append((fw, "yes" if t["exact"] else "no", "yes" if t["native"] else "no", "\n".join(what)))
    render("Equivalents", ["framework", "exact", "native", "translation"], rows)
    return 0


def _dialect_object(src: Any) -> Any:
    import lossbridge

    module = getattr(lossbridge, src.framework, None)
    return getattr(module, src.name, None) if module is not None else None


def _docstring(obj: Any) -> str:
    """The dialect's docstring, with the docstring of the function it defers to (``:func:`name```)."""
    import inspect
    import re

    if obj is None or not obj.__doc__:
        return ""
    text = _without_examples(inspect.cleandoc(obj.__doc__))
    ref = re.search(r":func:`([\w.]+)`", text)
    if ref:
        import lossbridge

        target: Any = None
        path = ref.group(1).removeprefix("lossbridge.")
        for root in (lossbridge, inspect.getmodule(obj)):
            target = root
            for part in path.split("."):
                target = getattr(target, part, None)
                if target is None:
                    break
            if target is not None:
                break
        if target is not None and target.__doc__ and target is not obj:
            text += "\n\n" + f"{ref.group(1)}:\n" + _without_examples(inspect.cleandoc(target.__doc__))
    return text


def _without_examples(text: str) -> str:
    """A docstring without its ``Example:`` section (the formula, arguments and notes stay)."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.strip() in ("Example:", "Examples:"):
            skipping = True
            continue
        if skipping and line and not line.startswith(" "):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out).strip()


def _list(dialect: str | None, as_json: bool) -> int:
    import lossbridge  # noqa: F401 - registers every dialect

    entries = _catalog.all_entries(dialect)
    if dialect and not entries:
        dialects = sorted({e.dialect for e in _catalog.all_entries()})
        raise LossBridgeError(f"Unknown dialect {dialect!r}; the dialects are {', '.join(dialects)}.")
    if as_json:
        print(json.dumps([{"id": e.id, "inputs": list(e.roles), "summary": e.summary} for e in entries], indent=1))
        return 0
    render(f"{len(entries)} losses", ["loss", "inputs", "summary"],
           [(e.id, ", ".join(e.roles), e.summary) for e in entries])
    return 0


# --------------------------------------------------------------------- doctor

_DOCTOR_HELP = """\
Runs lossbridge's diagnostics (lossbridge.diagnose) on one call of LOSS with the
arrays of FILE.npz.  Each positional input of the loss is the array named like
the loss' argument (torch: input, target; Keras: y_true, y_pred; optax: logits,
labels, ...) or, failing that, like its catalog role (logits, probs, labels,
onehot, ...; see `lossbridge list`); `sample_weight` and `weight` arrays are
passed when the loss takes them.  The loss is then built and called on the
arrays: what the call raises (a class weight of the wrong length, an argument
out of its domain) is reported as an error.

exit status: 0 no findings, 1 findings reported, 2 bad arguments (a loss string
the loss does not take, or a call that raises) or an unreadable file (one-line
reason on stderr)."""


def _doctor(loss: str, data_path: str, as_json: bool) -> int:
    import lossbridge  # noqa: F401 - registers every dialect

    from ._diagnostics import argument_names, diagnose

    data = _sample.load(data_path)
    entry, kwargs = _catalog.parse(loss)
    built = _build(entry, kwargs)  # a constructor that refuses its arguments: exit 2
    roles = entry.resolved_roles(kwargs)
    names = argument_names(loss)
    args, used = [], {}
    for i, role in enumerate(roles):
        name = names[i] if i < len(names) else role
        key = name if name in data else role if role in data else None
        if key is None:
            raise LossBridgeError(
                f"{data_path} has no array {name!r} (or {role!r}) for input {i + 1} of {entry.id}; "
                f"it has {', '.join(sorted(data)) or 'no arrays'}."
            )
        args.append(data[key])
        used[name] = key
    extra: dict[str, Any] = {k: data[k] for k in ("sample_weight", "weight") if k in data and k in names}
    twice = sorted(set(extra) & set(kwargs))
    if twice:
        raise LossBridgeError(
            f"{twice[0]} is given twice, in the loss string {loss!r} and as an array of {data_path}: keep one."
        )
    used.update({k: k for k in extra})
    value, raised = _call(built, args, extra)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # building a deprecated alias may warn
            findings = diagnose(loss, *args, **extra)
    except LossBridgeError:
        raise
    except Exception:  # the diagnostics cannot read a call that fails: its error is the report
        if raised is None:
            raise
        findings = []
    seen = ", ".join(f"{n}={k}{tuple(data[k].shape)}" if n != k else f"{n}{tuple(data[k].shape)}"
                     for n, k in used.items())
    if as_json:
        print(json.dumps({
            "loss": loss, "id": entry.id, "data": data_path,
            "inputs": {n: {"array": k, "shape": list(data[k].shape), "dtype": str(data[k].dtype)}
                       for n, k in used.items()},
            "findings": [f.as_dict() for f in findings],
            "call": ({"raises": type(raised).__name__, "message": str(raised)} if raised is not None else
                     {"shape": list(value.shape), "mean": _mean(value)}),
        }, indent=1, default=_json_default))
    elif findings:
        render(f"lossbridge doctor: {len(findings)} finding(s) in {entry.id}({seen})",
               ["code", "problem", "what was seen, and the fix"],
               [(f.code, f.title, f"{f.message}\nFix: {f.fix}") for f in findings])
    if raised is not None:  # what calling the loss raises: a bad argument or array, exit 2
        raise LossBridgeError(
            f"{type(raised).__name__}: {raised} (calling {loss}({seen}) on {data_path} raises this)"
        )
    if findings:
        return 1
    if not as_json:
        returns = _fmt(value) if value.size <= 8 else f"an array of shape {value.shape}, mean {_num(_mean(value))}"
        print(f"lossbridge doctor: no problems found in {entry.id}({seen}) on {data_path}; it returns {returns}.")
    return 0


def _call(loss: Callable[..., Any], args: Sequence[Any], extra: dict[str, Any]) -> tuple[Any, Exception | None]:
    """(the loss value as a float64 NumPy array, None) or (None, what the call raises)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the findings are reported by diagnose
        try:
            value = loss(*args, **extra)
        except Exception as e:  # reported to the user: the call fails on these arrays
            return None, e
    if isinstance(value, tuple):  # (loss, auxiliary outputs...)
        value = value[0]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64), None


# ----------------------------------------------------------------------- main


def _port(path: str, to: str, write: bool, as_json: bool, emit_test: str | None,
          shapes: dict[str, int | None] | None = None) -> int:
    from ._port import port

    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise LossBridgeError(f"cannot read {path}: {e}") from None
    result = port(source, to, {k: v for k, v in (shapes or {}).items() if v is not None})
    if as_json:
        print(result.json())
    else:
        print(result.diff(path), end="")
        print(result.report(), end="")
    if write and result.code != source:
        with open(path, "w", encoding="utf-8") as f:
            f.write(result.code)
    if emit_test:
        with open(emit_test, "w", encoding="utf-8") as f:
            f.write(result.emit_test())
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit status 2
        self.exit(2, f"lossbridge: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lossbridge", description="Every framework's losses, exactly, on any array.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    compare = sub.add_parser(
        "compare", help="run losses side by side on one sample",
        description="With no LOSS, the cross-entropy family of Keras, PyTorch, Theano and optax "
        "on the built-in sample; with LOSS names (dialect:Name or dialect:Name(key=value)), those "
        "losses on the sample or on --data.",
    )
    compare.add_argument("losses", nargs="*", metavar="LOSS")
    compare.add_argument("--data", metavar="FILE.npz", help="arrays by role (probs, logits, labels, onehot, ...)")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    doctor = sub.add_parser(
        "doctor", help="diagnose one loss call on saved arrays (exit 1 on findings)",
        description=_DOCTOR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--loss", required=True, metavar="LOSS",
                        help="dialect:Name or dialect:Name(key=value), e.g. torch:CrossEntropyLoss")
    doctor.add_argument("--data", required=True, metavar="FILE.npz", help="the call's arrays")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    explain = sub.add_parser(
        "explain", help="a loss' exact semantics and its equivalents in the other frameworks",
        description="The exact formula, defaults, input domain, epsilon and clipping, reduction denominators "
        "(the dialect's documentation), and the translation to each other framework with its exactness, "
        "conditions and alternatives (the translation table).",
    )
    explain.add_argument("loss", metavar="LOSS")
    explain.add_argument("--to", metavar="FRAMEWORK", help="only this framework (keras, torch, optax, theano)")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    prt = sub.add_parser(
        "port", help="rewrite a script's loss sites for the other framework (diff + report)",
        description="Keras -> PyTorch (--to torch) or PyTorch -> Keras (--to keras): prints a unified diff "
        "and a report per loss site (exact or not, conditions, what was left alone and why).",
    )
    prt.add_argument("script", metavar="SCRIPT.py")
    prt.add_argument("--to", required=True, metavar="FRAMEWORK", help="torch or keras")
    prt.add_argument("--write", action="store_true", help="apply the diff to SCRIPT.py")
    prt.add_argument("--json", action="store_true", help="machine-readable report")
    prt.add_argument("--emit-test", metavar="PATH", help="write a pytest file checking each ported loss")
    prt.add_argument("--batch", type=int, metavar="N",
                     help="batch size of the emitted test (default: the script's batch_size= literal, else 6)")
    prt.add_argument("--classes", type=int, metavar="C", help="classes (last-axis size) of the emitted test "
                     "(default: the script's last Dense(C) / Linear(_, C) / .view(-1, C) literal, else 4)")
    lst = sub.add_parser("list", help="every loss lossbridge knows")
    lst.add_argument("dialect", nargs="?")
    lst.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lossbridge`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:  # the one error root: every user error is a LossBridgeError, one line, exit status 2
        if args.command == "compare":
            if args.losses:
                return _compare_losses(args.losses, args.data, args.json)
            if args.data:
                raise LossBridgeError("--data needs LOSS names to run on it.")
            return _compare_family(args.json)
        if args.command == "list":
            return _list(args.dialect, args.json)
        if args.command == "doctor":
            return _doctor(args.loss, args.data, args.json)
        if args.command == "explain":
            return _explain(args.loss, args.to, args.json)
        if args.command == "port":
            return _port(args.script, args.to, args.write, args.json, args.emit_test,
                         {"batch": args.batch, "classes": args.classes})
    except LossBridgeError as e:
        print(f"lossbridge: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
