"""``lossbridge.port``: rewrite a script's loss sites for the other framework.

A concrete-syntax-tree rewrite (LibCST, imported only here, so comments and
formatting survive) of the loss sites of a Keras script into PyTorch and of a
PyTorch script into Keras.  Every loss site goes through :func:`lossbridge.translate`
(the translation table): the report says per site what was rewritten, whether it is
exact and native, the conditions the user must still meet, and what was left alone
and why.  Dynamic code (a loss name in a variable, losses built in a loop) is
reported, never guessed.

Choices:

* Keras -> torch, a probability loss after a final ``Dense(..., activation="softmax"|"sigmoid")``
  or ``Softmax()`` layer of the same file: the activation is removed and the logits loss
  (``from_logits=True``, native in torch) is used; the report says so.
* torch -> Keras, ``softmax``/``sigmoid`` applied to the input of ``CrossEntropyLoss`` /
  ``BCEWithLogitsLoss``: flagged (the original applies it twice) and removed.
* A loss site becomes ``criterion = <translated loss>`` (Keras -> torch; the model and
  training loop are the user's to port) or has its constructor replaced and its calls'
  arguments swapped to Keras' ``(y_true, y_pred)`` order (torch -> Keras).
* Keras -> torch, ``fit(class_weight={literal})`` / ``fit(sample_weight=w)``: ``criterion`` becomes a
  function over the ``reduction='none'`` criterion reduced to Keras' per-sample loss, weighted by
  ``class_weight_table[label]`` (Keras' conversion: argmax of one-hot targets, rounded binary
  targets, 1.0 for a missing class) or ``w``, summed and divided by the number of per-sample values
  (Keras' ``sum_over_batch_size``; torch's ``weight=`` would divide by the sum of the weights).
  A class_weight that is not a literal dict (or a name bound once to one) is reported.
* Keras -> torch, a multi-output ``compile(loss=[...]/{...}, loss_weights=...)``: one criterion per
  output and ``total_loss(outputs, targets)``, the sum of ``loss_weights[k] * criterion_k`` (1.0
  where no weight is given); non-literal loss_weights are reported.
* torch -> Keras, ``torch.nn.functional`` losses (``F.cross_entropy(input, target, **literals)``):
  the translated Keras loss object called on ``(target, input)``: its reduced value is torch's.
  Class ``weight=`` (denominator ``sum(w[target])``, which no native Keras loss has) goes through
  lossbridge's torch loss adapted to Keras, exactly.
* ``emit_test()`` uses the script's sizes (the last ``Dense(C)`` / ``Linear(_, C)`` /
  ``.view(-1, C)``, the length of literal class weights, ``batch_size=N``) or ``port(shapes=...)``
  (``--batch``/``--classes``); a size in a variable is reported as data dependent.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ._errors import LossBridgeError

__all__ = ["PortResult", "Site", "port"]

_KERAS_ROOTS = {"keras", "tf", "tensorflow", "losses"}
_TORCH_LOSS_ROOTS = {"nn", "torch"}
_ACCURACY = {
    "BinaryCrossentropy": "binary_accuracy", "SparseCategoricalCrossentropy": "sparse_categorical_accuracy",
    "CategoricalCrossentropy": "categorical_accuracy",
}


@dataclass
class Site:
    """One loss site of the script and what port did with it."""

    line: int
    kind: str  # "loss", "call", "activation", "metrics", "fit", "custom", "dynamic", "softmax"
    original: str
    status: str  # "ported" | "ported_with_conditions" | "left"
    rewritten: str = ""
    exact: bool | None = None
    native: bool | None = None
    conditions: list[str] = field(default_factory=list)
    reason: str = ""
    spec: str = ""  # the source loss as translate reads it
    pre: str = ""  # activation the original applies to the logits before this loss ("softmax"/"sigmoid")
    target_spec: str = ""  # the loss translated (differs from spec when the final activation was removed)
    snippet: str = ""  # the torch code written for fit(class_weight/sample_weight) and loss_weights sites
    weights: Any = None  # the class_weight dict, "sample_weight", or the loss_weights of a total loss


@dataclass
class PortResult:
    """The ported source, the sites and the unified diff."""

    source: str
    code: str
    to: str
    sites: list[Site]
    #: "batch"/"classes" -> (size the emitted test uses, where it comes from)
    shapes: dict[str, tuple[int, str]] = field(default_factory=dict)

    def diff(self, path: str = "script.py") -> str:
        return "".join(difflib.unified_diff(
            self.source.splitlines(keepends=True), self.code.splitlines(keepends=True),
            f"a/{path}", f"b/{path}"))

    def to_dict(self) -> dict[str, Any]:
        return {"to": self.to, "sites": [asdict(s) for s in self.sites],
                "shapes": {k: {"size": v[0], "from": v[1]} for k, v in self.shapes.items()}}

    def report(self) -> str:
        lines = []
        for s in self.sites:
            head = f"line {s.line}: {s.kind}: {s.status}"
            if s.exact is not None:
                head += f" (exact={s.exact}, native={s.native})"
            lines.append(head)
            lines.append(f"    was: {s.original}")
            if s.rewritten:
                now = "\n".join(ln for ln in s.rewritten.strip().splitlines() if ln.strip())
                lines.append("    now: " + now.replace("\n", "\n         "))
            if s.reason:
                lines.append(f"    why: {s.reason}")
            lines.extend(f"    condition: {c}" for c in s.conditions)
        for key, (size, where) in self.shapes.items():
            if not where.startswith("default"):
                lines.append(f"shape for --emit-test: {key} = {size} ({where})")
        return "\n".join(lines) + ("\n" if lines else "no loss site found\n")

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def emit_test(self) -> str:
        """A pytest file asserting that every ported loss site equals the original (values and gradients)."""
        cases = [(s.spec, s.target_spec, self.to) for s in self.sites if s.kind == "loss" and s.target_spec]
        body = "".join(f"    {c!r},\n" for c in cases)
        n, c = self.shapes["batch"][0], self.shapes["classes"][0]
        notes = "".join(f"# {k}: {v[0]} ({v[1]})\n" for k, v in self.shapes.items())
        text = (
            '"""Equivalence test emitted by `lossbridge port`: each ported loss against the original,\n'
            "values and gradients on random data.  A framework that is not installed (or Keras on a\n"
            'backend other than torch) is replaced by its lossbridge dialect, which mirrors it exactly."""\n'
            "import pytest\n\n"
            "from lossbridge._port import check_site, check_weighted\n\n"
            f"{notes}N, C = {n}, {c}\n"
            f"SITES = [\n{body}]\n\n\n"
            '@pytest.mark.parametrize("original, ported, to", SITES)\n'
            "def test_ported_loss_equals_original(original, ported, to):\n"
            "    check_site(original, ported, to, n=N, n_classes=C)\n"
        )
        weighted = [(s.spec, s.target_spec, s.snippet, s.weights) for s in self.sites if s.kind == "fit" and s.snippet]
        totals = [(s.spec, s.target_spec, s.snippet, s.weights) for s in self.sites if s.kind == "loss_weights" and s.snippet]
        if totals:
            text = text.replace("check_site, check_weighted", "check_site, check_total, check_weighted")
            text += ("\n\nTOTALS = [\n" + "".join(f"    {w!r},\n" for w in totals) + "]\n\n\n"
                     '@pytest.mark.parametrize("originals, ported, snippet, weights", TOTALS)\n'
                     "def test_ported_total_loss_equals_keras(originals, ported, snippet, weights):\n"
                     "    check_total(originals, ported, snippet, weights, n=N, n_classes=C)\n")
        if weighted:
            text += ("\n\nWEIGHTED = [\n" + "".join(f"    {w!r},\n" for w in weighted) + "]\n\n\n"
                     '@pytest.mark.parametrize("original, ported, snippet, weights", WEIGHTED)\n'
                     "def test_ported_weighting_equals_keras(original, ported, snippet, weights):\n"
                     "    check_weighted(original, ported, snippet, weights, n=N, n_classes=C)\n")
        return text


def _use_real_keras() -> bool:
    import os
    import sys

    if os.environ.get("LOSSBRIDGE_PORT_ORACLE", "auto") == "dialect":
        return False
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend()) == "torch"
    if os.environ.get("KERAS_BACKEND") != "torch":
        return False
    import importlib.util

    return importlib.util.find_spec("keras") is not None


def _build(code: str, roles: tuple[str, ...], real_keras: bool) -> tuple[Any, tuple[str, ...]]:
    if not real_keras and "keras" in code:
        code = code.replace("import keras\n", "import lossbridge.keras\n").replace("keras.losses.", "lossbridge.keras.")
        code = code.replace("import lossbridge.lossbridge.keras", "import lossbridge.keras")
        code = code.replace("lossbridge.lossbridge.keras.", "lossbridge.keras.")
        if "lossbridge.to_keras_loss(lossbridge.keras." in code:
            code = code.replace("lossbridge.to_keras_loss(", "(")  # the Keras dialect itself, Keras order
        elif "lossbridge.to_keras_loss(" in code:
            # a torch dialect loss holding NumPy arrays: the torch adapter, in torch's order
            code = code.replace("lossbridge.to_keras_loss(", "lossbridge.to_torch_module(")
            roles = tuple(reversed(roles))
    scope: dict[str, Any] = {}
    exec(compile(code, "<port check>", "exec"), scope)
    return scope["loss"], roles


def _role_values(roles: tuple[str, ...], z: Any, y: Any, t: Any) -> list[Any]:
    import torch

    n_classes = z.shape[-1]
    make = {
        "logits": lambda: z, "bin_logits": lambda: z, "values": lambda: z,
        "probs": lambda: torch.softmax(z, -1), "log_probs": lambda: torch.log_softmax(z, -1),
        "bin_probs": lambda: torch.sigmoid(z), "labels": lambda: y,
        "onehot": lambda: torch.nn.functional.one_hot(y, n_classes).float(),
        "bin_targets": lambda: t, "targets": lambda: t, "dist": lambda: torch.softmax(t, -1),
        "y_true": lambda: torch.softmax(t, -1), "y_pred": lambda: torch.softmax(z, -1),
    }
    return [make[r]() for r in roles]


def check_site(original: str, ported: str, to: str, n: int = 6, n_classes: int = 4, seed: int = 0) -> None:
    """Assert that the loss ``original`` (a translate spec) and its port to ``to`` agree.

    The original gets the roles of its framework form computed from the same logits
    ``z`` and labels as the ported one (probabilities are ``softmax(z)``: a removed final
    activation is part of the original); values and ``d loss / d z`` must agree to rtol 1e-5
    (float32).  Keras is real Keras on the torch backend when that is what is imported
    (or ``KERAS_BACKEND=torch``), else ``lossbridge.keras``.  Needs torch.
    """
    import torch

    from ._translate import _match, _read, translate

    real_keras = _use_real_keras()
    src = _read(original)
    match = _match(src)
    own = translate(original, src.framework)
    if match is None and not own.call:
        raise LossBridgeError(f"check_site: {original!r} has no known input roles")
    src_roles = match[1].roles if match is not None else own.call
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, n_classes, generator=gen, dtype=torch.float32)
    y = torch.randint(0, n_classes, (n,), generator=gen)
    t = (torch.rand(n, n_classes, generator=gen, dtype=torch.float32) > 0.5).float()
    if "targets" in src_roles and "bin_targets" not in src_roles:
        t = torch.randn(n, n_classes, generator=gen, dtype=torch.float32)
    original_loss, o_roles = _build(own.code, own.call, real_keras)
    t_to = translate(ported, to)
    ported_loss, p_roles = _build(t_to.code, t_to.call, real_keras)
    results = []
    for loss, roles in ((original_loss, o_roles), (ported_loss, p_roles)):
        z = z0.clone().requires_grad_(True)
        value = torch.as_tensor(loss(*_role_values(roles, z, y, t)))
        (grad,) = torch.autograd.grad(value.sum(), z)
        results.append((value.detach(), grad))
    (v0, g0), (v1, g1) = results
    assert v0.shape == v1.shape, (original, ported, v0.shape, v1.shape)
    assert torch.allclose(v0.double(), v1.double(), rtol=1e-5, atol=1e-6), (original, ported, v0, v1)
    assert torch.allclose(g0.double(), g1.double(), rtol=1e-5, atol=1e-6), (original, ported, g0, g1)


def _keras_class_weights(y: Any, class_weight: dict[int, float], real_keras: bool) -> Any:
    """The sample weights ``fit(class_weight=...)`` gives a batch: Keras' own conversion when Keras runs."""
    import numpy as np
    import torch

    if real_keras:
        from keras.src.trainers.data_adapters.data_adapter_utils import (
            class_weight_to_sample_weights,
        )

        return torch.as_tensor(class_weight_to_sample_weights(y, class_weight))
    labels = y.detach().numpy()  # the same steps as Keras 3.15.1's class_weight_to_sample_weights
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else np.squeeze(labels, axis=-1)
    labels = np.round(labels).astype("int32")
    return torch.tensor([class_weight.get(int(c), 1.0) for c in labels], dtype=torch.float32)


def check_weighted(original: str, ported: str, snippet: str, weights: Any, n: int = 6, n_classes: int = 4,
                   seed: int = 0) -> None:
    """Assert that the Keras loss ``original`` under ``fit(class_weight=weights)`` (a dict) or
    ``fit(sample_weight=...)`` (``weights == "sample_weight"``) equals the torch ``criterion`` that
    ``snippet`` defines (the code port wrote), values and ``d loss / d z`` (rtol 1e-5).  Keras is
    real Keras on the torch backend (its own class-weight conversion) when available, else
    ``lossbridge.keras``.  Needs torch.
    """
    import torch

    from ._translate import _read, translate

    real_keras = _use_real_keras()
    own = translate(original, _read(original).framework)
    original_loss, o_roles = _build(own.code, own.call, real_keras)
    t_to = translate(ported, "torch")
    scope: dict[str, Any] = {"torch": torch}
    exec(compile(snippet, "<port snippet>", "exec"), scope)
    criterion = scope["criterion"]
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, n_classes, generator=gen, dtype=torch.float32)
    y = torch.randint(0, n_classes, (n,), generator=gen)
    t = (torch.rand(n, n_classes, generator=gen, dtype=torch.float32) > 0.5).float()
    if "targets" in o_roles and "bin_targets" not in o_roles:
        t = torch.randn(n, n_classes, generator=gen, dtype=torch.float32)
    sw = torch.rand(n, generator=gen, dtype=torch.float32) * 3
    results = []
    for side in ("keras", "torch"):
        z = z0.clone().requires_grad_(True)
        if side == "keras":
            args = _role_values(o_roles, z, y, t)
            w = sw if weights == "sample_weight" else _keras_class_weights(args[0].detach(), weights, real_keras)
            value = torch.as_tensor(original_loss(*args, sample_weight=w))
        else:
            args = _role_values(t_to.call, z, y, t)
            value = criterion(*args, sw) if weights == "sample_weight" else criterion(*args)
        (grad,) = torch.autograd.grad(value.sum(), z)
        results.append((value.detach(), grad))
    (v0, g0), (v1, g1) = results
    assert v0.shape == v1.shape, (original, v0.shape, v1.shape)
    assert torch.allclose(v0.double(), v1.double(), rtol=1e-5, atol=1e-6), (original, weights, v0, v1)
    assert torch.allclose(g0.double(), g1.double(), rtol=1e-5, atol=1e-6), (original, weights, g0, g1)


def check_total(originals: str, ported: str, snippet: str, weights: Any, n: int = 6, n_classes: int = 4,
                seed: int = 0) -> None:
    """Assert that Keras' total loss of a multi-output ``compile(loss=[...]/{...}, loss_weights=weights)``
    (``originals``: the JSON list of the outputs' loss specs; real Keras' ``CompileLoss`` when Keras
    runs on torch, else the sum of ``weights[k] * loss_k`` of ``lossbridge.keras``) equals
    ``total_loss(outputs, targets)`` of the torch ``snippet`` port wrote, values and gradients."""
    import torch

    import lossbridge

    from ._translate import _read, translate

    real_keras = _use_real_keras()
    specs, targets = json.loads(originals), json.loads(ported)
    keys = list(weights) if isinstance(weights, dict) else list(range(len(weights)))
    scope: dict[str, Any] = {"torch": torch, "lossbridge": lossbridge}
    exec(compile(snippet, "<port snippet>", "exec"), scope)
    gen = torch.Generator().manual_seed(seed)
    zs = [torch.randn(n, n_classes, generator=gen, dtype=torch.float32) for _ in keys]
    y = torch.randint(0, n_classes, (n,), generator=gen)
    t = (torch.rand(n, n_classes, generator=gen, dtype=torch.float32) > 0.5).float()
    tr = torch.randn(n, n_classes, generator=gen, dtype=torch.float32)
    results = []
    for side in ("keras", "torch"):
        z = [x.clone().requires_grad_(True) for x in zs]
        y_true: Any = {} if isinstance(weights, dict) else [None] * len(keys)
        y_pred: Any = {} if isinstance(weights, dict) else [None] * len(keys)
        losses: Any = {} if isinstance(weights, dict) else [None] * len(keys)
        for i, k in enumerate(keys):
            spec = specs[i] if side == "keras" else targets[i]
            own = translate(spec, _read(spec).framework if side == "keras" else "torch")
            roles = own.call
            kind = set(translate(specs[i], _read(specs[i]).framework).call)
            tt = tr if "targets" in kind and "bin_targets" not in kind else t
            args = _role_values(roles, z[i], y, tt)
            (y_true[k], y_pred[k]) = (args[0], args[1]) if side == "keras" else (args[1], args[0])
            if side == "keras":
                losses[k] = _build(own.code, roles, real_keras)[0]
        if side == "torch":
            value = scope["total_loss"](y_pred, y_true)
        elif real_keras:
            from keras.src.trainers.compile_utils import CompileLoss

            compiled = CompileLoss(losses, loss_weights=weights,
                                   output_names=keys if isinstance(weights, dict) else None)
            compiled.build(y_true, y_pred)
            value = torch.as_tensor(compiled(y_true, y_pred))
        else:
            value = sum(weights[k] * torch.as_tensor(losses[k](y_true[k], y_pred[k])) for k in keys)
        grads = torch.autograd.grad(value.sum(), z)
        results.append((value.detach(), grads))
    (v0, g0), (v1, g1) = results
    assert torch.allclose(v0.double(), v1.double(), rtol=1e-5, atol=1e-6), (originals, weights, v0, v1)
    for a, b in zip(g0, g1, strict=True):
        assert torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-6), (originals, weights, a, b)


def _literal_kwargs(cst: Any, call: Any, module: Any) -> dict[str, Any] | None:
    """The call's keyword arguments as Python literals, or None when one is not literal."""
    out: dict[str, Any] = {}
    for arg in call.args:
        if arg.keyword is None:
            return None
        text = module.code_for_node(arg.value)
        for prefix in ("torch.tensor(", "torch.Tensor(", "torch.FloatTensor(", "np.array(", "numpy.array("):
            if text.startswith(prefix) and text.endswith(")"):
                text = text[len(prefix):-1].split(", dtype")[0]
        try:
            out[arg.keyword.value] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
    return out


def _dotted(cst: Any, node: Any) -> str:
    if isinstance(node, cst.Name):
        return str(node.value)
    if isinstance(node, cst.Attribute):
        head = _dotted(cst, node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


def _spec(framework: str, name: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{framework}:{name}({args})" if args else f"{framework}:{name}"


def _code_expr(code: str) -> tuple[list[str], str]:
    """(import lines, the expression bound to ``loss``) of a Translation's code."""
    lines = code.strip().splitlines()
    imports = [ln for ln in lines if ln.startswith("import ")]
    expr = next(ln for ln in lines if ln.startswith("loss = "))[len("loss = "):]
    return imports, expr


def _shapes(cst: Any, module: Any, given: dict[str, int]) -> dict[str, tuple[int, str]]:
    """The batch size and class count the emitted test uses: given on the command line, else literals of
    the script (the last ``Dense(units)`` / ``Linear(_, out_features)`` / ``.view(-1, C)``; a
    ``batch_size=`` keyword), else defaults; a size held in a variable is reported as data dependent."""
    found: dict[str, tuple[int | None, str]] = {}
    weights_seen = False
    for node in _walk(cst, module):
        if not isinstance(node, cst.Call):
            continue
        name = _dotted(cst, node.func).rsplit(".", 1)[-1]
        line = _line_of(module, node)
        pos = [a.value for a in node.args if a.keyword is None]
        kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        size = None
        if name == "Dense":
            size = kw.get("units", pos[0] if pos else None)
        elif name == "Linear":
            size = kw.get("out_features", pos[1] if len(pos) > 1 else None)
        elif name in ("view", "reshape") and len(pos) == 2 and module.code_for_node(pos[0]).strip() == "-1":
            size = pos[1]
        if size is not None and not weights_seen:
            text = " ".join(module.code_for_node(node).split())
            literal = int(size.value) if isinstance(size, cst.Integer) else None
            found["classes"] = (literal, f"line {line}: {text}")
        weight = kw.get("weight")
        if weight is not None and (name.endswith("Loss") or name in _FUNCTIONAL_CLASS):
            if isinstance(weight, cst.Call) and weight.args:  # torch.tensor([...])
                weight = weight.args[0].value
            if isinstance(weight, cst.List):  # the class weights fix the class count
                found["classes"] = (len(weight.elements), f"line {line}: {len(weight.elements)} class weights")
                weights_seen = True
        if "batch_size" in kw:
            size = kw["batch_size"]
            found["batch"] = (int(size.value) if isinstance(size, cst.Integer) else None,
                              f"line {line}: batch_size={module.code_for_node(size)}")
    out: dict[str, tuple[int, str]] = {}
    for key, default in (("batch", 6), ("classes", 4)):
        if key in given:
            out[key] = (given[key], "given on the command line")
        elif key in found and found[key][0] is not None:
            out[key] = (int(found[key][0] or 0), found[key][1])
        elif key in found:
            out[key] = (default, f"data dependent: {found[key][1]}; the test uses {default}, give the size with "
                        f"--{key} if it matters")
        else:
            out[key] = (default, "default: not found in the script")
    return out


def _line_of(module: Any, node: Any) -> int:
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = _POSITIONS.get(id(module))
    if positions is None:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
        _POSITIONS.clear()
        _POSITIONS[id(module)] = positions
    return int(positions[node].start.line)


_POSITIONS: dict[int, Any] = {}


def port(source: str, to: str, shapes: dict[str, int] | None = None) -> PortResult:
    """Rewrite the loss sites of a Keras script for PyTorch (``to="torch"``) or of a
    PyTorch script for Keras (``to="keras"``).

    Each site is translated with :func:`lossbridge.translate`; the result carries the
    new source (``code``), the ``sites`` report and ``diff()``.  ``shapes`` (``{"batch": N,
    "classes": C}``) sets the sizes ``emit_test()`` uses; otherwise they are read from the
    script's literals (``Dense(C)``, ``Linear(_, C)``, ``.view(-1, C)``, ``batch_size=N``).  Needs ``libcst``
    (``pip install lossbridge[port]``).

    Example:
        >>> import lossbridge as lb
        >>> r = lb.port('criterion = nn.BCEWithLogitsLoss()\\nl = criterion(out, y)\\n', "keras")
        >>> print(r.code, end="")
        import keras
        criterion = keras.losses.BinaryCrossentropy(from_logits=True)
        l = criterion(y, out)
        >>> r.sites[0].exact, r.sites[0].native
        (True, True)
    """
    if to not in ("torch", "keras"):
        raise LossBridgeError(f"port(to={to!r}): unknown target; port writes 'torch' (from Keras) or 'keras' (from PyTorch).")
    for key, size in (shapes or {}).items():
        if key not in ("batch", "classes") or isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise LossBridgeError(f"port(shapes={shapes!r}): {key}={size!r}; give 'batch' and 'classes' as positive "
                                  "integers (--batch N --classes C on the command line).")
    try:
        import libcst as cst
    except ImportError as e:  # pragma: no cover - libcst is in the test extra
        raise LossBridgeError("lossbridge port needs libcst: pip install 'lossbridge[port]'.") from e
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        raise LossBridgeError(f"port: syntax error at line {e.raw_line}, column {e.raw_column}: {e.message}") from None
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(module)
    klass = _make_transformer(_KerasToTorchImpl if to == "torch" else _TorchToKerasImpl)
    # two passes: the first finds the final activations the losses imply (they come before compile)
    first: Any = klass(cst, wrapper.module, PositionProvider)
    wrapper.visit(first)
    tr: Any = klass(cst, wrapper.module, PositionProvider)
    tr.drop = first.drop
    tr.port_fns = first.port_fns
    new = wrapper.visit(tr)
    code = new.code
    if tr.imports:
        code = _add_imports(source, code, sorted(tr.imports))
    tr.sites.sort(key=lambda s: s.line)
    found = _shapes(cst, wrapper.module, dict(shapes or {}))
    _POSITIONS.clear()
    return PortResult(source, code, to, tr.sites, found)


def _add_imports(source: str, code: str, imports: list[str]) -> str:
    present = {ln.strip() for ln in code.splitlines()}
    missing = [i for i in imports if i not in present]
    if not missing:
        return code
    lines = code.splitlines(keepends=True)
    last = -1
    for i, ln in enumerate(lines):
        if ln.startswith(("import ", "from ")):
            last = i
    at = last + 1
    return "".join(lines[:at] + [m + "\n" for m in missing] + lines[at:])


class _Base:
    def __init__(self, cst: Any, module: Any, pos: Any):
        self.cst = cst
        self.module = module
        self.pos = pos
        self.sites: list[Site] = []
        self.imports: set[str] = set()

    def line(self, node: Any) -> int:
        return int(self.get_metadata(self.pos, node).start.line)  # type: ignore[attr-defined]

    def text(self, node: Any) -> str:
        return " ".join(str(self.module.code_for_node(node)).split())


def _make_transformer(base: type) -> type:
    import libcst as cst
    from libcst.metadata import PositionProvider

    return type(base.__name__ + "T", (base, cst.CSTTransformer), {"METADATA_DEPENDENCIES": (PositionProvider,)})


class _KerasToTorchImpl(_Base):
    """Keras script -> torch: compile(loss=...) sites become ``criterion = ...``."""

    def __init__(self, cst: Any, module: Any, pos: Any):
        _Base.__init__(self, cst, module, pos)
        cst.CSTTransformer.__init__(self)  # type: ignore[call-arg]
        self.activations: list[tuple[Any, str]] = []  # (node, "softmax"/"sigmoid")
        self.fit_weights: list[tuple[str, Any]] = []  # fit(class_weight=... / sample_weight=...) arguments
        self.weighted: str = ""  # the criterion that carries the fit weights ("" when none was written)
        self.n_compiles = 0
        self.to_categorical = "to_categorical" in module.code
        self.functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
        self.pending: list[str] = []
        self.loss_names: list[str] = []
        for node in _walk(cst, module):
            if isinstance(node, cst.Call):
                name = _dotted(cst, node.func).rsplit(".", 1)[-1]
                for arg in node.args:
                    if (arg.keyword is not None and arg.keyword.value == "activation"
                            and isinstance(arg.value, cst.SimpleString)
                            and arg.value.evaluated_value in ("softmax", "sigmoid")):
                        self.activations.append((node, str(arg.value.evaluated_value)))
                if name == "Softmax":
                    self.activations.append((node, "softmax"))
                if name == "compile" and any(a.keyword is not None and a.keyword.value == "loss" for a in node.args):
                    self.n_compiles += 1
                if name == "fit":
                    for arg in node.args:
                        if arg.keyword is not None and arg.keyword.value in ("class_weight", "sample_weight"):
                            self.fit_weights.append((arg.keyword.value, arg.value))
        self.drop: set[int] = set()
        self.port_fns: set[str] = set()

    # ---- the loss expression of compile
    def _one(self, node: Any, line: int, out_name: str) -> tuple[str | None, Site]:
        cst = self.cst
        text = self.text(node)
        spec = None
        if isinstance(node, cst.SimpleString):
            spec = str(node.evaluated_value)
        elif isinstance(node, cst.Call):
            dotted = _dotted(cst, node.func)
            name = dotted.rsplit(".", 1)[-1]
            root = dotted.split(".")[0]
            if root in _KERAS_ROOTS or dotted == name:
                kwargs = _literal_kwargs(cst, node, self.module)
                if kwargs is None:
                    return None, Site(line, "dynamic", text, "left", reason="an argument is not a literal; port does not guess its value")
                spec = _spec("keras", name, kwargs)
        elif isinstance(node, (cst.Name, cst.Attribute)):
            dotted = _dotted(cst, node)
            name = dotted.rsplit(".", 1)[-1]
            if isinstance(node, cst.Name) and name in self.functions:
                why = _unportable(cst, self.functions[name])
                if why:
                    return None, Site(line, "custom", text, "left", reason=(
                        f"custom loss function {name}: {why}; rewrite it with @lossbridge.loss (array operations "
                        "through lossbridge.ops.namespace) to run it unchanged in torch"))
                self.port_fns.add(name)
                self.imports.add("import lossbridge")
                stmt = f"{out_name} = lossbridge.to_torch_module({name})"
                return stmt, Site(line, "custom", text, "ported_with_conditions", stmt, True, False, [
                    f"{name} now takes (y_pred, y_true) and runs through @lossbridge.loss: its mean over the "
                    "batch is Keras' sum_over_batch_size (Keras also casts the inputs to float32 first)",
                    "a Keras sample_weight has no argument here: weight the per-sample values yourself"],
                    reason="keras.ops calls became the array namespace's (xp) functions of the same name")
            if dotted.split(".")[0] in _KERAS_ROOTS and "." in dotted:
                spec = name
            else:
                return None, Site(line, "dynamic", text, "left", reason=f"{dotted} is a variable; port does not guess which loss it holds")
        if spec is None:
            return None, Site(line, "dynamic", text, "left", reason="not a loss port can read statically")
        from ._translate import translate

        pre = ""
        try:
            t0 = translate(spec, "keras")
        except LossBridgeError as e:
            return None, Site(line, "loss", text, "left", reason=str(e))
        use = spec
        if t0.params.get("from_logits") is None and t0.call and t0.call[-1] in ("probs", "bin_probs") and self.activations:
            want = "softmax" if t0.call[-1] == "probs" else "sigmoid"
            acts = [a for a in self.activations if a[1] == want]
            if len(acts) == 1:
                pre = want
                from ._translate import _read

                src = _read(spec)
                klass, cfg = src.name, {k: v for k, v in src.config.items() if k != "from_logits"}
                cfg["from_logits"] = True
                use = _spec("keras", klass, cfg)
                self.drop.add(id(acts[0][0]))
        try:
            t = translate(use, "torch")
        except LossBridgeError as e:
            return None, Site(line, "loss", text, "left", reason=str(e))
        imports, expr = _code_expr(t.code)
        self.imports.update(imports)
        conditions = list(t.conditions)
        if pre:
            conditions.insert(0, f"the final {pre} layer was removed: the model outputs logits; "
                                 f"apply {pre} yourself where you need probabilities")
        if self.to_categorical and t0.call and "onehot" in t0.call:
            conditions.append("targets are one-hot (to_categorical): torch's CrossEntropyLoss takes them as class probabilities")
        status = "ported_with_conditions" if conditions else "ported"
        stmt = f"{out_name} = {expr}"
        if out_name == "criterion" and self.fit_weights:
            weighted = self._weighted(expr, t, use)
            if weighted:
                conditions = [c for c in conditions if not c.startswith("a Keras sample_weight has no argument")]
                conditions.append(self.weight_condition)
                self.weighted = weighted
                self.weighted_spec = (spec, pre, use)
                return weighted, Site(line, "loss", text, "ported_with_conditions", weighted, t.exact, t.native,
                                      conditions, "", spec, pre, use)
        return stmt, Site(line, "loss", text, status, stmt, t.exact, t.native, conditions, "", spec, pre, use)

    def _total(self, kw: dict[str, Any], elements: Any, names: list[str], stmts: list[str], line: int) -> str:
        """``def total_loss(outputs, targets)``: Keras' total loss of a multi-output compile (the sum of
        loss_weights[k] * loss_k; a missing weight is 1.0), when every output's loss was ported."""
        cst = self.cst
        keys: list[Any] = []
        for i, el in enumerate(elements):
            key = el.key if isinstance(el, cst.DictElement) else None
            keys.append(str(key.evaluated_value) if isinstance(key, cst.SimpleString) else i)
        text = self.text(kw["loss_weights"].value) if "loss_weights" in kw else "(none: each weight is 1.0)"
        if len(names) != len(elements):
            self.sites.append(Site(line, "loss_weights", text, "left", reason=(
                "an output's loss was left alone: total loss = sum of loss_weights[k] * criterion_k(output_k, y_k) "
                f"over the outputs ({', '.join(names)} and the one left)")))
            return ""
        weights: Any = [1.0] * len(keys) if isinstance(keys[0], int) else dict.fromkeys(keys, 1.0)
        if "loss_weights" in kw:
            try:
                given = ast.literal_eval(self.module.code_for_node(kw["loss_weights"].value))
            except (ValueError, SyntaxError):
                given = None
            ok = (isinstance(given, list) and isinstance(weights, list) and len(given) == len(weights)) or (
                isinstance(given, dict) and isinstance(weights, dict) and set(given) <= set(weights))
            if not ok or not all(isinstance(v, (int, float)) for v in (given.values() if isinstance(given, dict) else given)):
                self.sites.append(Site(line, "loss_weights", text, "left", reason=(
                    "loss_weights is not a literal list/dict matching the losses: total loss = sum of "
                    f"loss_weights[k] * criterion_k(output_k, y_k) over the outputs ({', '.join(names)})")))
                return ""
            if isinstance(given, dict):
                weights.update({k: float(v) for k, v in given.items()})
            else:
                weights = [float(v) for v in given]
        terms = [f"{float(weights[k])!r} * {nm}(outputs[{k!r}], targets[{k!r}])" for k, nm in zip(keys, names, strict=True)]
        code = ("\n\ndef total_loss(outputs, targets):  # compile(loss_weights=...): Keras' total, sum of weighted losses\n"
                "    return " + " + ".join(terms) + "\n")
        snippet = "\n".join(stmts) + "\n" + code
        specs = [s.spec for s in self.sites[-len(names):]]
        targets = [s.target_spec for s in self.sites[-len(names):]]
        self.sites.append(Site(line, "loss_weights", text, "ported", code.strip(), reason=(
            "Keras' total loss of the outputs (loss_weights[k] * loss_k summed; a missing weight is 1.0): "
            "call total_loss(outputs, targets) with the model's outputs and targets indexed as in compile()"),
            spec=json.dumps(specs), target_spec=json.dumps(targets), snippet=snippet, weights=weights))
        return code.strip("\n")

    def _resolve(self, node: Any) -> Any:
        """A name bound exactly once, at module level, to a dict literal -> that literal; else the node."""
        cst = self.cst
        if not isinstance(node, cst.Name):
            return node
        bound = [st.body[0] for st in self.module.body if isinstance(st, cst.SimpleStatementLine)
                 and isinstance(st.body[0], (cst.Assign, cst.AnnAssign, cst.AugAssign))
                 and any(isinstance(n, cst.Name) and n.value == node.value for n in _walk(cst, st.body[0])
                         if not isinstance(n, cst.Call))]
        targets = [b for b in bound if isinstance(b, cst.Assign) and len(b.targets) == 1
                   and isinstance(b.targets[0].target, cst.Name) and b.targets[0].target.value == node.value]
        others = [n for n in _walk(cst, self.module) if isinstance(n, (cst.AugAssign, cst.Subscript, cst.For, cst.Del))
                  and any(isinstance(m, cst.Name) and m.value == node.value for m in _walk(cst, n))]
        if len(targets) == 1 and not others and isinstance(targets[0].value, cst.Dict):
            return targets[0].value
        return node

    def _weighted(self, expr: str, t: Any, use: str) -> str:
        """The torch code of a criterion carrying fit()'s class_weight or sample_weight, Keras' denominator
        (the weighted sum over the number of per-sample values); '' when it cannot be written (self.why)."""
        kinds = {k for k, _ in self.fit_weights}
        self.why = ""
        if len(self.fit_weights) != 1:
            self.why = ("fit() is called with " + " and ".join(sorted(kinds)) + " more than once or both: "
                        "port writes one weighting")
            return ""
        if self.n_compiles != 1:
            self.why = (f"the script compiles {self.n_compiles} losses: port does not guess which model this fit() "
                        "trains; weight that criterion yourself (reduction='none', weighted sum / batch size)")
            return ""
        kind, value = self.fit_weights[0]
        klass = expr.split("(", 1)[0].rsplit(".", 1)[-1]
        per_sample = _PER_SAMPLE.get(klass)
        if not t.native or per_sample is None or "reduction=" in expr or not expr.endswith(")"):
            self.why = (f"{kind}: no per-sample form of {expr} is known to port; build it with reduction='none', "
                        "reduce it to one value per sample as Keras does and divide the weighted sum by the batch size")
            return ""
        none = expr[:-1] + (", " if not expr.endswith("()") else "") + "reduction='none')"
        if kind == "sample_weight":
            self.weight_condition = (
                "fit(sample_weight=...): call criterion(input, target, sample_weight) with the batch's weights "
                "(shape (N,)); Keras divides the weighted sum by the number of samples, not by the sum of the weights")
            return (f"criterion_none = {none}\n\n\n"
                    "def criterion(input, target, sample_weight):  # Keras' sample_weight: sum(loss * w) / batch size\n"
                    f"    per_sample = criterion_none(input, target){per_sample}\n"
                    "    return (per_sample * sample_weight).sum() / per_sample.numel()\n")
        cw = _class_weight_literal(self.module, self._resolve(value))
        if cw is None:
            self.why = ("class_weight is not a literal dict {class: weight} (computed at run time?): port does not guess "
                        "its values; w = class_weight[target] per sample, (criterion(reduction='none') * w).sum() / N")
            return ""
        classes = _shapes(self.cst, self.module, {})["classes"]
        known = 0 if classes[1].startswith(("default", "data dependent")) else classes[0]
        size = max(max(cw) + 1, known)  # the model's class count (its last Dense) when the script has it
        table = [float(cw.get(i, 1.0)) for i in range(size)]
        index = {"": "target", ".mean(-1)": "target.round().long().squeeze(-1)"}[per_sample]
        if self.to_categorical and klass == "CrossEntropyLoss":
            index = "target.argmax(-1)"
        self.weight_condition = (
            f"fit(class_weight=...): per-sample weights class_weight[label] (labels 0..{size - 1}; a class missing "
            "from the dict weighs 1.0), summed and divided by the number of samples as Keras does "
            "(torch's weight= would divide by the sum of the weights)")
        if index.endswith("squeeze(-1)"):
            self.weight_condition += "; binary targets of shape (N, 1)"
        return (f"criterion_none = {none}\n"
                f"class_weight_table = torch.tensor({table!r})  # fit(class_weight=...)\n\n\n"
                "def criterion(input, target):  # Keras' class_weight: sum(loss * class_weight[label]) / batch size\n"
                f"    per_sample = criterion_none(input, target){per_sample}\n"
                f"    weight = class_weight_table.to(per_sample.device)[{index}]\n"
                "    return (per_sample * weight).sum() / per_sample.numel()\n")

    def leave_FunctionDef(self, original: Any, updated: Any) -> Any:
        cst = self.cst
        if original.name.value not in self.port_fns:
            return updated
        params = list(updated.params.params)
        first, second = params
        params = [second.with_changes(comma=first.comma), first.with_changes(comma=second.comma)]

        class Rename(cst.CSTTransformer):  # type: ignore[misc,name-defined]
            def leave_Attribute(self, o: Any, u: Any) -> Any:
                if _dotted(cst, o).rsplit(".", 1)[0] in _OPS_ROOTS and isinstance(o.value, (cst.Name, cst.Attribute)):
                    return cst.Attribute(value=cst.Name("xp"), attr=u.attr)
                return u

        body = updated.body.visit(Rename())
        xp = cst.parse_statement(f"xp = lossbridge.ops.namespace({params[0].name.value}, {params[1].name.value})\n")
        stmts = list(body.body)
        at = 1 if stmts and _is_docstring(cst, stmts[0]) else 0
        body = body.with_changes(body=[*stmts[:at], xp, *stmts[at:]])
        return updated.with_changes(
            params=updated.params.with_changes(params=params), body=body,
            decorators=[cst.Decorator(decorator=cst.parse_expression("lossbridge.loss")), *updated.decorators])

    def leave_Call(self, original: Any, updated: Any) -> Any:
        cst = self.cst
        if id(original) in self.drop:
            name = _dotted(cst, original.func).rsplit(".", 1)[-1]
            line = self.line(original)
            if name == "Softmax":
                self.sites.append(Site(line, "activation", self.text(original), "ported",
                                       "nn.Identity()  # was Softmax: the loss takes logits", reason="final activation removed"))
                self.imports.add("from torch import nn")
                return cst.parse_expression("nn.Identity()")
            args = [a for a in updated.args if not (a.keyword is not None and a.keyword.value == "activation")]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            new = updated.with_changes(args=args)
            self.sites.append(Site(line, "activation", self.text(original), "ported", self.text(new),
                                   reason="final activation removed: the ported loss takes logits (from_logits=True)"))
            return new
        return updated

    def leave_SimpleStatementLine(self, original: Any, updated: Any) -> Any:
        cst = self.cst
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return updated
        call = original.body[0].value
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return updated
        method = call.func.attr.value
        line = self.line(original)
        if method == "fit":
            for a in call.args:
                if a.keyword is not None and a.keyword.value in ("class_weight", "sample_weight"):
                    if self.weighted:
                        cw = _class_weight_literal(self.module, self._resolve(a.value))
                        self.sites.append(Site(
                            line, "fit", self.text(a), "ported", "criterion (above) carries the weights",
                            reason=f"{a.keyword.value} is in the ported criterion, with Keras' denominator (the number of samples)",
                            spec=self.weighted_spec[0], pre=self.weighted_spec[1], target_spec=self.weighted_spec[2],
                            snippet=self.weighted, weights=cw if cw is not None else "sample_weight"))
                        continue
                    self.sites.append(Site(line, "fit", self.text(a), "left", reason=getattr(self, "why", "") or (
                        f"{a.keyword.value}: build the criterion with reduction='none' and use "
                        "(criterion(logits, y) * w).sum() / len(y), where w = "
                        + ("class_weight[y] per sample " if a.keyword.value == "class_weight" else "the sample weights ")
                        +
                        "(Keras divides by the batch size, torch's weight= by the sum of the weights)")))
            return updated
        if method != "compile":
            return updated
        kw = {a.keyword.value: a for a in call.args if a.keyword is not None}
        if "loss" not in kw:
            return updated
        value = kw["loss"].value
        new_lines: list[str] = []
        loss_class = ""
        if isinstance(value, (cst.Dict, cst.List)):
            elements = value.elements
            names = []
            for i, el in enumerate(elements):
                key = el.key if isinstance(el, cst.DictElement) else None
                label = str(key.evaluated_value) if isinstance(key, cst.SimpleString) else str(i)
                out = f"criterion_{''.join(c if c.isalnum() else '_' for c in label)}"
                stmt, site = self._one(el.value, line, out)
                self.sites.append(site)
                if stmt:
                    new_lines.append(stmt)
                    names.append(out)
            total = self._total(kw, elements, names, new_lines, line)
            if total:
                new_lines.append(total)
        else:
            stmt, site = self._one(value, line, "criterion")
            self.sites.append(site)
            if stmt:
                new_lines.append(stmt)
                loss_class = _source_class(site.spec)
        if "metrics" in kw:
            m = kw["metrics"].value
            if isinstance(m, cst.List) and any(isinstance(e.value, cst.SimpleString) and e.value.evaluated_value in ("accuracy", "acc") for e in m.elements):
                resolved = _ACCURACY.get(loss_class.replace("Crossentropy", "Crossentropy"), "") or (
                    "binary_accuracy if the output has 1 unit, else categorical_accuracy")
                self.sites.append(Site(line, "metrics", self.text(m), "left", reason=(
                    f"Keras resolves 'accuracy' for this loss to {resolved}; in torch compute it yourself "
                    + {"sparse_categorical_accuracy": "(logits.argmax(-1) == y).float().mean()",
                       "categorical_accuracy": "(logits.argmax(-1) == y.argmax(-1)).float().mean()",
                       "binary_accuracy": "((logits > 0).float() == y).float().mean()"}.get(resolved, ""))))
        if not new_lines:
            return updated
        comment = "# lossbridge port: the loss of the compile() below"
        stmts = [st for s in new_lines for st in cst.parse_module(s + "\n").body]
        blank = [cst.EmptyLine(indent=False), cst.EmptyLine(indent=False)]  # no trailing spaces in an indented block
        stmts = [st.with_changes(leading_lines=blank) if i and isinstance(st, cst.FunctionDef) else st
                 for i, st in enumerate(stmts)]
        stmts[0] = stmts[0].with_changes(leading_lines=[*original.leading_lines, cst.EmptyLine(comment=cst.Comment(comment.strip()))])
        after = blank if isinstance(stmts[-1], cst.FunctionDef) else []
        return cst.FlattenSentinel([*stmts, updated.with_changes(leading_lines=after)])


_OPS_ROOTS = {"ops", "keras.ops", "K", "keras.backend"}
#: torch.nn.functional losses port ports (name -> its criterion class, for the activation-before check)
_FUNCTIONAL_ROOTS = {"F", "torch.nn.functional", "nn.functional", "functional"}
_FUNCTIONAL_CLASS = {
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss",
    "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss", "kl_div": "KLDivLoss",
    "poisson_nll_loss": "PoissonNLLLoss", "soft_margin_loss": "SoftMarginLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss", "hinge_embedding_loss": "HingeEmbeddingLoss",
}
#: keras.ops functions whose Array API namesake (xp.<name>) computes the same thing
_ARRAY_OPS = {"abs", "mean", "sum", "sqrt", "square", "log", "log1p", "exp", "maximum", "minimum", "clip",
              "where", "tanh", "max", "min", "sign", "cos", "sin"}


#: how Keras reduces a torch criterion's reduction='none' values to one per sample (Keras' per-sample loss)
_PER_SAMPLE = {"CrossEntropyLoss": "", "BCEWithLogitsLoss": ".mean(-1)", "BCELoss": ".mean(-1)",
               "MSELoss": ".mean(-1)", "L1Loss": ".mean(-1)", "HuberLoss": ".mean(-1)", "SmoothL1Loss": ".mean(-1)"}


def _weight_reason(name: str, kwargs: dict[str, Any], t: Any) -> str:
    """What the port of torch's class ``weight=`` does (its denominator), '' for other losses."""
    if "weight" not in kwargs or name not in ("CrossEntropyLoss", "NLLLoss", "cross_entropy", "nll_loss"):
        return ""
    how = ("lossbridge's torch loss adapted to Keras (lossbridge.to_keras_loss), which keeps it" if not t.native
           else "kept by the Keras form")
    return ("torch's weight= divides sum(w[target] * loss) by sum(w[target]) (the targets' class weights), not by "
            "the batch size as a Keras sample_weight would (Keras' class_weight / sample_weight): no native Keras "
            f"loss has that denominator, so the port is {how} exactly")


def _class_weight_literal(module: Any, node: Any) -> dict[int, float] | None:
    """A literal ``{class: weight}`` dict (int keys >= 0, number values), else None."""
    try:
        value = ast.literal_eval(module.code_for_node(node))
    except (ValueError, SyntaxError):
        return None
    if not isinstance(value, dict) or not value:
        return None
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in value):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        return None
    return {int(k): float(v) for k, v in value.items()}


def _is_docstring(cst: Any, stmt: Any) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.SimpleString))


def _unportable(cst: Any, fn: Any) -> str:
    """Why a custom loss function cannot go through @lossbridge.loss unchanged ('' when it can)."""
    p = fn.params
    if len(p.params) != 2 or p.star_arg is not cst.MaybeSentinel.DEFAULT or p.kwonly_params or p.star_kwarg \
            or any(x.default is not None for x in p.params) or fn.decorators:
        return "it does not take exactly (y_true, y_pred)"
    for node in _walk(cst, fn.body):
        if isinstance(node, cst.Call):
            dotted = _dotted(cst, node.func)
            root, _, name = dotted.rpartition(".")
            if root not in _OPS_ROOTS or name not in _ARRAY_OPS:
                return f"it calls {dotted or cst.Module([]).code_for_node(node.func)}, not only keras.ops array operations"
            if name in ("mean", "sum", "max", "min") and any(a.keyword and a.keyword.value == "keepdims" for a in node.args):
                continue
        if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.Global, cst.Nonlocal)) and node is not fn:
            return "it defines nested functions or uses global state"
    return ""


def _source_class(spec: str) -> str:
    from ._translate import _read

    try:
        return _read(spec).name
    except LossBridgeError:  # pragma: no cover - the spec was translated already
        return ""


def _walk(cst: Any, node: Any) -> list[Any]:
    out: list[Any] = []

    class V(cst.CSTVisitor):  # type: ignore[misc]
        def on_visit(self, n: Any) -> bool:
            out.append(n)
            return True

    node.visit(V())
    return out


class _TorchToKerasImpl(_Base):
    """torch script -> Keras: criterion constructors replaced, calls swapped to (y_true, y_pred)."""

    def __init__(self, cst: Any, module: Any, pos: Any):
        _Base.__init__(self, cst, module, pos)
        cst.CSTTransformer.__init__(self)  # type: ignore[call-arg]
        self.criteria: dict[str, str] = {}  # variable -> torch class name (ported)
        self.drop: set[int] = set()
        self.port_fns: set[str] = set()
        self.in_loop = 0

    def visit_For(self, node: Any) -> None:
        self.in_loop += 1

    def leave_For(self, original: Any, updated: Any) -> Any:
        self.in_loop -= 1
        return updated

    def _loss_call(self, node: Any) -> str:
        dotted = _dotted(self.cst, node.func)
        name = dotted.rsplit(".", 1)[-1]
        if dotted.split(".")[0] in _TORCH_LOSS_ROOTS and name.endswith("Loss"):
            return name
        return ""

    def leave_Assign(self, original: Any, updated: Any) -> Any:
        cst = self.cst
        value = original.value
        if not isinstance(value, cst.Call) or len(original.targets) != 1:
            if any(isinstance(n, cst.Call) and self._loss_call(n) for n in _walk(cst, value)):
                self.sites.append(Site(self.line(original), "dynamic", self.text(original), "left",
                                       reason="a loss chosen at run time or stored in a container: port does not guess which one each call uses"))
            return updated
        name = self._loss_call(value)
        if not name:
            return updated
        target = original.targets[0].target
        line = self.line(original)
        text = self.text(value)
        if self.in_loop or not isinstance(target, cst.Name):
            self.sites.append(Site(line, "dynamic", self.text(original), "left",
                                   reason="a loss built in a loop or stored in a container: port does not guess which one each call uses"))
            return updated
        kwargs = _literal_kwargs(cst, value, self.module)
        if kwargs is None:
            self.sites.append(Site(line, "dynamic", text, "left", reason="an argument is not a literal; port does not guess its value"))
            return updated
        from ._translate import translate

        spec = _spec("torch", name, kwargs)
        try:
            t = translate(spec, "keras")
        except LossBridgeError as e:
            self.sites.append(Site(line, "loss", text, "left", reason=str(e)))
            return updated
        imports, expr = _code_expr(t.code)
        self.imports.update(imports)
        self.criteria[target.value] = name
        conditions = [c for c in t.conditions if not c.startswith("call order")]
        conditions += [n for n in t.notes if n.startswith("torch's default ignore_index")]
        site = Site(line, "loss", text, "ported_with_conditions" if conditions else "ported", expr,
                    t.exact, t.native, conditions, _weight_reason(name, kwargs, t), spec, "", spec)
        self.sites.append(site)
        return updated.with_changes(value=cst.parse_expression(expr))

    def _functional(self, original: Any, updated: Any) -> Any:
        """``F.cross_entropy(input, target, **literals)`` -> ``keras.losses.X(...)(target, input)``."""
        cst = self.cst
        dotted = _dotted(cst, original.func)
        fn = dotted.rpartition(".")[2]
        line = self.line(original)
        text = self.text(original)
        positional = [a for a in updated.args if a.keyword is None]
        by_kw = {a.keyword.value: a for a in updated.args if a.keyword is not None}
        pair = positional[:2] + [by_kw[k] for k in ("input", "target") if k in by_kw]
        if len(pair) != 2 or len(positional) > 2 or any(a.star for a in updated.args):
            self.sites.append(Site(line, "dynamic", text, "left", reason=(
                f"{fn}: port reads (input, target) and keyword arguments only; pass the others by keyword")))
            return updated
        rest = original.with_changes(args=[a for a in original.args if a.keyword is not None
                                           and a.keyword.value not in ("input", "target")])
        kwargs = _literal_kwargs(cst, rest, self.module)
        if kwargs is None:
            self.sites.append(Site(line, "dynamic", text, "left", reason="an argument is not a literal; port does not guess its value"))
            return updated
        from ._translate import translate

        spec = _spec("torch", _FUNCTIONAL_CLASS[fn], kwargs)  # the criterion's reduced value is the function's
        try:
            t = translate(spec, "keras")
        except LossBridgeError as e:
            self.sites.append(Site(line, "loss", text, "left", reason=str(e)))
            return updated
        imports, expr = _code_expr(t.code)
        self.imports.update(imports)
        inp, tgt = pair
        pred, fixed = self._strip_activation(inp.value, _FUNCTIONAL_CLASS.get(fn, ""))
        target = tgt.value
        conditions = [c for c in t.conditions if not c.startswith("call order")]
        if any(c.startswith("pass one-hot targets") for c in conditions):  # label_smoothing: Keras' categorical form
            conditions = [c for c in conditions if not c.startswith("pass one-hot targets")]
            self.imports.add("import keras")
            target = cst.parse_expression("keras.ops.one_hot(y, keras.ops.shape(p)[-1])").with_changes()
            target = target.with_changes(args=[target.args[0].with_changes(value=tgt.value),
                                               target.args[1].with_changes(value=target.args[1].value.with_changes(
                                                   value=target.args[1].value.value.with_changes(
                                                       args=[target.args[1].value.value.args[0].with_changes(value=pred)])))])
        new = cst.parse_expression(f"{expr}(y_true, y_pred)")
        new = new.with_changes(args=[new.args[0].with_changes(value=target), new.args[1].with_changes(value=pred)])
        conditions += [n for n in t.notes if n.startswith("torch's default ignore_index")]
        reason = (f"torch.nn.functional.{fn} with its reduction: the Keras loss object computes the same reduced "
                  "value; arguments in Keras' (y_true, y_pred) order")
        if fixed:
            reason += (f"; {fixed} before {fn} removed: {fn} applies it itself, so the original applied it twice "
                       "(a bug in the original script, fixed)")
        if _weight_reason(fn, kwargs, t):
            reason += "; " + _weight_reason(fn, kwargs, t)
        if any(isinstance(x, cst.Call) and isinstance(x.func, cst.Attribute) and x.func.attr.value in ("view", "reshape")
               for x in (inp.value, tgt.value)):
            reason += "; the .view/.reshape flattening to (N, C) is kept: Keras takes the class axis last, as it is there"
        self.sites.append(Site(line, "loss", text, "ported_with_conditions" if conditions else "ported",
                               self.text(new), t.exact, t.native, conditions, reason, spec, "", spec))
        return new

    def _strip_activation(self, pred: Any, klass: str) -> tuple[Any, str]:
        """(the input without a softmax/sigmoid the loss applies itself, the activation's name or '')."""
        cst = self.cst
        if not isinstance(pred, cst.Call):
            return pred, ""
        fn = _dotted(cst, pred.func)
        act = fn.rsplit(".", 1)[-1]
        wants = {"CrossEntropyLoss": "softmax", "BCEWithLogitsLoss": "sigmoid"}.get(klass)
        if act not in ("softmax", "sigmoid", "log_softmax") or act != wants:
            return pred, ""
        inner = None
        if isinstance(pred.func, cst.Attribute) and fn.split(".")[0] not in ("F", "torch", "nn", "functional"):
            inner = pred.func.value  # x.softmax(dim=1)
        elif pred.args:
            inner = pred.args[0].value
        return (inner, act) if inner is not None else (pred, "")

    def leave_Call(self, original: Any, updated: Any) -> Any:
        cst = self.cst
        dotted = _dotted(cst, original.func)
        if dotted.rpartition(".")[0] in _FUNCTIONAL_ROOTS and dotted.rpartition(".")[2] in _FUNCTIONAL_CLASS:
            return self._functional(original, updated)
        if not isinstance(original.func, cst.Name) or original.func.value not in self.criteria:
            return updated
        if len(updated.args) != 2 or any(a.keyword is not None for a in updated.args):
            return updated
        a, b = updated.args
        line = self.line(original)
        klass = self.criteria[original.func.value]
        pred, fixed = self._strip_activation(a.value, klass)
        new = updated.with_changes(args=[a.with_changes(value=b.value), b.with_changes(value=pred)])
        reason = "arguments swapped to Keras' (y_true, y_pred) order"
        if fixed:
            reason += (f"; {fixed} before {klass} removed: {klass} applies it itself, so the original applied "
                       "it twice (a bug in the original script, fixed)")
        view = [x for x in (a.value, b.value) if isinstance(x, cst.Call) and isinstance(x.func, cst.Attribute)
                and x.func.attr.value in ("view", "reshape")]
        if view:
            reason += "; the .view/.reshape flattening to (N, C) is kept: Keras takes the class axis last, as it is there"
        self.sites.append(Site(line, "softmax" if fixed else "call", self.text(original), "ported", self.text(new), reason=reason))
        return new

