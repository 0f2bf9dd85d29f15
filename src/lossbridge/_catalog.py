"""Every loss lossbridge knows, with the inputs it takes, for the command line.

Each dialect registers its losses here with the *roles* of their positional
inputs, in call order (``("onehot", "probs")`` for Keras' categorical
cross-entropy, ``("logits", "labels")`` for torch's ``cross_entropy``).  The
command line builds inputs for any loss from one shared sample by role
(:mod:`lossbridge._sample`), so ``lossbridge compare A B`` can run two losses of
different frameworks on the same data.

Roles of the built-in sample (N = 2 samples, C = 3 classes):

=================  ==========================================================
``probs``          y_pred, probabilities, shape (N, C)
``logits``         log(max(y_pred, 1e-30)): softmax(logits) == y_pred
``log_probs``      the same, as log-probabilities for NLL losses
``onehot``         one-hot targets (N, C), float
``labels``         integer class indices (N,)
``values``         real-valued predictions (N, C) for regression
``targets``        real-valued targets (N, C) for regression
``embeddings``     the rows of y_pred L2-normalised (N, C), for metric learning
``label_sequences`` the labels as sequences of length 1 (N, 1), int, for CTC
``logit_sequences`` the logits as sequences of 1 step (N, 1, C), for CTC (with
                   blank 0 and one step, CTC is the cross-entropy of the label)
``variances``      positive variances (N, C) (Gaussian NLL)
``signs``          +-1 labels (N, C) (soft margin, hinge embedding)
``multilabels``    class indices (N, C), each row ended by -1 (multilabel margin)
``scores1/2``      two real scores per sample (N,) to rank (margin ranking)
``pair_signs``     one +-1 label per pair (N,) (margin ranking, cosine embedding)
``embeddings1/2``  pairs of embeddings (N, C) (cosine embedding)
``anchors``,       triplets of embeddings (N, C) (triplet losses)
``positives``,
``negatives``
``ctc_*``          CTC: ``ctc_log_probs`` (T=4, N, C), ``ctc_targets`` (N, S) padded,
                   ``ctc_input_lengths`` and ``ctc_target_lengths`` (N,)
``features``       inputs (N, F=4) of a linear layer (linear cross-entropy)
``linear_weight``  the linear layer's weight (C, F)
``ctc_batch_*``    tf.keras' ``ctc_batch_cost``: the CTC sample above with the blank moved
                   last: ``ctc_batch_labels`` (N, S) (each label minus 1),
                   ``ctc_batch_probs`` (N, T=4, C) probabilities, and
                   ``ctc_batch_input_lengths`` / ``ctc_batch_label_lengths`` (N, 1)
=================  ==========================================================

Roles for optax's losses (``signs``, ``embeddings``, ``anchors``, ``positives``
and ``negatives`` as in the torch and Keras catalogs):

========================  ===================================================
``signs``                 +-1 labels (N, C): 2 * onehot - 1
``soft_targets``          smoothed targets 0.9 * onehot + 0.1 / C (N, C)
``log_soft_targets``      their logarithm
``embeddings``            unit-norm embeddings (N, C): y_pred / ||y_pred||
``groups``                integer group ids (N,) forming positive pairs
``anchors``, ...          triplets (N, C): y_pred, onehot, onehot rolled by one
``seq_logits``            batch-major CTC logits (N, T=4, C), class 0 blank
``seq_paddings``          (N, T): 1.0 on padded frames (input lengths 4, 3)
``seq_labels``            (N, L=2) integer labels [[1, 2], [2, pad]]
``seq_label_paddings``    (N, L): 1.0 on padded labels (right-padded)
========================  ===================================================

A role followed by ``|logits`` (``"probs|logits"``) switches to logits when the
loss is configured with ``from_logits=True``.
"""

from __future__ import annotations

import ast
import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ._errors import LossBridgeError, LossBridgeTypeError

__all__ = ["Call", "Entry", "all_entries", "bind", "lookup", "parse", "register", "split_call"]


@dataclass(frozen=True)
class Entry:
    """One loss of one dialect."""

    dialect: str
    name: str
    roles: tuple[str, ...]
    summary: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    module: str = ""  # where the object lives, when not lossbridge.<dialect> (torch.functional)

    @property
    def id(self) -> str:
        return f"{self.dialect}:{self.name}"

    def obj(self) -> Any:
        """The dialect's class or function."""
        import lossbridge

        module: Any = lossbridge
        for part in (self.module or self.dialect).split("."):
            module = getattr(module, part)
        return getattr(module, self.name)

    @property
    def is_class(self) -> bool:
        return inspect.isclass(self.obj())

    def resolved_roles(self, kwargs: dict[str, Any]) -> tuple[str, ...]:
        logits = bool({**self.defaults, **kwargs}.get("from_logits", False))
        out = []
        for role in self.roles:
            base, _, alt = role.partition("|")
            out.append(alt if (alt and logits) else base)
        return tuple(out)

    def build(self, kwargs: dict[str, Any]) -> Callable[..., Any]:
        """A callable taking the positional inputs, configured with ``kwargs``."""
        obj = self.obj()
        kwargs = {**self.defaults, **kwargs}
        if inspect.isclass(obj):
            try:
                return cast("Callable[..., Any]", obj(**kwargs))
            except Exception as e:  # the constructor refuses the arguments: a user error
                shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
                error = e if isinstance(e, LossBridgeError) else None
                kind = type(e) if error is not None else (
                    LossBridgeTypeError if isinstance(e, TypeError) else LossBridgeError)
                text = " ".join(str(e).split()) or type(e).__name__
                raise kind(f"{text} (building {self.id}({shown[:200]}))") from None
        return lambda *args, **more: obj(*args, **kwargs, **more)


_CATALOG: dict[str, Entry] = {}


def register(
    dialect: str, name: str, roles: tuple[str, ...], summary: str = "", module: str = "", **defaults: Any
) -> None:
    """Register ``lossbridge.<module or dialect>.<name>`` as ``dialect:name`` with its input roles."""
    entry = Entry(dialect, name, tuple(roles), summary, defaults, module)
    _CATALOG[entry.id] = entry


def _ensure_loaded() -> None:
    """Import every dialect (``import lossbridge`` loads them on first use): each registers
    its losses here when it is imported."""
    import lossbridge

    for name in lossbridge._DIALECTS:
        getattr(lossbridge, name)


def all_entries(dialect: str | None = None) -> list[Entry]:
    _ensure_loaded()
    return [e for e in _CATALOG.values() if dialect is None or e.dialect == dialect]


_INFIXES = ("nn.functional.", "functional.", "nn.", "losses.")


def _normalise(text: str) -> str:
    """``"lossbridge.torch.nn.functional.cross_entropy"`` -> ``"torch:cross_entropy"``."""
    text = text.strip().removeprefix("lossbridge.")
    if text.startswith("F."):
        text = "torch." + text[2:]
    for infix in _INFIXES:
        text = text.replace("." + infix, ".").replace(":" + infix, ":")
    if ":" not in text and "." in text:
        dialect, _, name = text.rpartition(".")
        text = f"{dialect}:{name}"
    return text


def lookup(name: str) -> Entry:
    """The entry for ``"keras:CategoricalCrossentropy"``, ``"torch.nn.functional.cross_entropy"``,
    ``"torch.nn.CrossEntropyLoss"``, ``"F.cross_entropy"`` or an unambiguous bare name."""
    _ensure_loaded()
    key = _normalise(name)
    if key in _CATALOG:
        return _CATALOG[key]
    if ":" not in key:
        matches = [e for e in _CATALOG.values() if e.name == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise LossBridgeError(
                f"{name!r} exists in several dialects: "
                + ", ".join(e.id for e in matches)
                + ". Prefix the dialect, for example "
                + repr(matches[0].id)
                + "."
            )
    close = difflib.get_close_matches(key, list(_CATALOG), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise LossBridgeError(
        f"Unknown loss {name!r}.{hint} `lossbridge list` shows every loss lossbridge knows."
    )


#: The placeholder that stands for the loss name while its arguments are parsed as a Python call.
_CALL = "_lossbridge_call_"
_LITERALS = "numbers, strings, True, False, None, and lists, tuples or dicts of them"


@dataclass(frozen=True)
class Call:
    """A loss string read by :func:`split_call`: the name and the literal arguments."""

    head: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _show(text: str, limit: int = 120) -> str:
    """``repr(text)``, shortened: one line whatever the user typed."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."


def split_call(text: str) -> Call:
    """Read ``"dialect:Name"`` or ``"dialect:Name(args)"`` strictly, without looking the name up.

    Exactly one call and nothing after it; every argument a Python literal
    (``ast.literal_eval``); no ``*``/``**`` unpacking.  Raises :class:`LossBridgeError`.
    """
    if not isinstance(text, str):
        raise LossBridgeError(f"A loss string is expected, not {type(text).__name__}.")
    text = text.strip()
    usage = "write dialect:Name or dialect:Name(key=literal, ...), e.g. 'torch:CrossEntropyLoss(label_smoothing=0.1)'"
    if "(" not in text:
        if not text or ")" in text:
            raise LossBridgeError(f"Cannot read the loss {_show(text)}: {usage}.")
        return Call(text)
    head, _, rest = text.partition("(")
    head = head.strip()
    if not head:
        raise LossBridgeError(f"Cannot read the loss {_show(text)}: no loss name before '('; {usage}.")
    src = f"{_CALL}({rest}"
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise LossBridgeError(f"Cannot read the arguments of {_show(text)}: {e.msg}; {usage}.") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        raise LossBridgeError(f"Cannot read the arguments of {_show(text)}: {type(e).__name__}; {usage}.") from None
    call = next(
        (n for n in ast.walk(tree.body) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
         and n.func.id == _CALL and n.lineno == 1 and n.col_offset == 0),
        None,
    )
    if call is None:  # pragma: no cover - the text starts with the placeholder call
        raise LossBridgeError(f"Cannot read the arguments of {_show(text)}: {usage}.")
    segment = ast.get_source_segment(src, call) or ""
    after = src[len(segment):].strip()
    if call is not tree.body or after:  # an expression around the call, or a comment after it
        raise LossBridgeError(
            f"Cannot read the loss {_show(text)}: text after the call: {_show(after, 60)}. A loss string is "
            f"exactly one call: put every argument inside one pair of parentheses, {head}(key=value, ...)."
        )
    args = []
    for i, node in enumerate(call.args):
        if isinstance(node, ast.Starred):
            raise LossBridgeError(
                f"Cannot read the arguments of {_show(text)}: '*' unpacking is not accepted; write each "
                "argument as a literal, by keyword: key=value."
            )
        args.append(_literal(node, src, f"positional argument {i + 1}", text))
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise LossBridgeError(
                f"Cannot read the arguments of {_show(text)}: '**' unpacking is not accepted; write each "
                "argument as key=value."
            )
        if kw.arg in kwargs:  # Python's compiler refuses it; ast.parse does not
            raise LossBridgeError(f"Cannot read the arguments of {_show(text)}: {kw.arg}= is given twice; give it once.")
        kwargs[kw.arg] = _literal(kw.value, src, f"argument {kw.arg}=", text)
    return Call(head, tuple(args), kwargs)


def _literal(node: ast.AST, src: str, what: str, text: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        seen = ast.get_source_segment(src, node) or ""
        raise LossBridgeError(
            f"The {what} of {_show(text)} is not a Python literal: {_show(seen, 60)}. Arguments are "
            f"literals only ({_LITERALS})."
        ) from None


#: torch arguments that are tensors: written as lists in a loss string
_TORCH_TENSORS = ("weight", "pos_weight")


def bind(entry: Entry, call: Call, text: str = "") -> dict[str, Any]:
    """The keyword arguments of ``call`` for ``entry``, positional ones named as the signature
    of the dialect object takes them; unknown names, inputs and extra positional arguments
    raise :class:`LossBridgeError`."""
    text = text or entry.id
    obj = entry.obj()
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - every dialect object has a signature
        params = []
    inputs: list[str] = []
    if not inspect.isclass(obj):
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        inputs = [p.name for p in positional[: len(entry.roles)]]
    options = [p for p in params if p.name not in inputs and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    names = [p.name for p in options]
    listing = f"its arguments are: {', '.join(names)}" if names else "it takes no arguments besides its inputs"
    kwargs: dict[str, Any] = {}
    if call.args:
        if inputs:
            raise LossBridgeTypeError(
                f"{_show(text)} has a positional argument, but the positional arguments of {entry.id} are its "
                f"inputs ({', '.join(inputs)}), which come from the data: give the options by keyword; {listing}."
            )
        slots = [p.name for p in options if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(call.args) > len(slots):
            takes = (f"at most {len(slots)} positional argument{'s' if len(slots) != 1 else ''} "
                     f"({', '.join(slots)})" if slots else "no positional argument")
            raise LossBridgeTypeError(
                f"{entry.id} takes {takes}, {len(call.args)} given in {_show(text)}: give the others "
                f"by keyword; {listing}."
            )
        kwargs.update(zip(slots, call.args, strict=False))  # slots may outnumber the arguments
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    for name, value in call.kwargs.items():
        if name in kwargs:
            raise LossBridgeTypeError(
                f"{name} is given twice in {_show(text)}, by position ({kwargs[name]!r}) and by keyword "
                f"({name}={value!r}): give it once."
            )
        if name in inputs:
            raise LossBridgeTypeError(
                f"{name}= is an input of {entry.id} (the {entry.roles[inputs.index(name)]} array of the data), "
                f"not an option: remove it from {_show(text)}; {listing}."
            )
        if name not in names and not var_keyword:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]}=?" if close else ""
            raise LossBridgeTypeError(
                f"{entry.id} has no argument {name!r} (in {_show(text)}).{hint} {listing.capitalize()}."
            )
        kwargs[name] = value
    if entry.dialect == "torch":
        for name in _TORCH_TENSORS:
            value = kwargs.get(name)
            if name in names and value is not None and not isinstance(value, (list, tuple)):
                said = (f"cannot assign '{type(value).__name__}' object to buffer '{name}' (torch Tensor or None "
                        "required)" if inspect.isclass(obj) else
                        f"argument '{name}' must be Tensor, not {type(value).__name__}")
                raise LossBridgeTypeError(
                    f"{said}: {name}={value!r} in {_show(text)}. In a loss string a tensor is written as a "
                    f"list: {name}=[1.0, 2.0, 3.0], one weight per class."
                )
            if name in names and value is not None:
                try:
                    np.asarray(value, dtype=np.float64)
                except (TypeError, ValueError, OverflowError) as e:  # torch.tensor refuses it too
                    raise LossBridgeTypeError(
                        f"{name}={_show(repr(value), 80)} in {_show(text)} is not a tensor of numbers "
                        f"({' '.join(str(e).split())}): write {name}=[1.0, 2.0, 3.0], one weight per class."
                    ) from None
    return kwargs


def parse(text: str) -> tuple[Entry, dict[str, Any]]:
    """``"keras:CategoricalCrossentropy(from_logits=True)"`` -> (entry, kwargs).

    The one reader of loss strings (``lossbridge`` commands, ``translate``, ``diagnose``):
    exactly one call, literal arguments, keyword names of the dialect object's
    signature, positional arguments bound as that signature binds them.
    """
    call = split_call(text)
    entry = lookup(call.head)
    return entry, bind(entry, call, text.strip())
