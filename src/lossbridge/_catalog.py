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
from typing import Any

from ._errors import LossBridgeError

__all__ = ["Entry", "all_entries", "lookup", "parse", "register"]


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
            return obj(**kwargs)
        return lambda *args: obj(*args, **kwargs)


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


def parse(text: str) -> tuple[Entry, dict[str, Any]]:
    """``"keras:CategoricalCrossentropy(from_logits=True)"`` -> (entry, kwargs).

    The arguments must be Python literals.
    """
    text = text.strip()
    if "(" not in text:
        return lookup(text), {}
    if not text.endswith(")"):
        raise LossBridgeError(f"Cannot read {text!r}: write NAME or NAME(key=literal, ...).")
    head, _, args = text.partition("(")
    try:
        call = ast.parse(f"f({args}", mode="eval").body
    except SyntaxError as e:
        raise LossBridgeError(f"Cannot read the arguments of {text!r}: {e.msg}.") from None
    assert isinstance(call, ast.Call)
    if call.args:
        raise LossBridgeError(f"Give the arguments of {text!r} by keyword (key=value).")
    kwargs = {}
    for kw in call.keywords:
        try:
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            raise LossBridgeError(
                f"The argument {kw.arg}= of {text!r} is not a Python literal."
            ) from None
    return lookup(head), kwargs
