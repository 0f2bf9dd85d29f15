"""The divergence table (``lossbridge._divergences``) and the dialects' docstrings agree:
every entry is stated in the docstring of each dialect it covers, and every statement there
has its entry (so an undocumented divergence cannot hide in either place)."""

from __future__ import annotations

import re

import lossbridge
from lossbridge._divergences import DIVERGENCES, lookup

from .bad_inputs import CLASS_NAMES

DIALECTS = ("torch", "keras", "optax", "tf_keras", "theano")
_SECTION = "Intentional divergences on bad inputs"


def _stated(dialect: str) -> set[str]:
    doc = getattr(lossbridge, dialect).__doc__ or ""
    if _SECTION not in doc:
        return set()
    section = doc.split(_SECTION, 1)[1]
    return set(re.findall(r"^\* ``(\w+)``:", section, flags=re.M))


def test_every_entry_is_in_the_docstrings() -> None:
    for d in DIVERGENCES:
        assert d.input_class in CLASS_NAMES, f"{d}: no such input class in tests/badinput"
        for dialect in DIALECTS if d.dialect == "*" else (d.dialect,):
            assert d.input_class in _stated(dialect), (
                f"lossbridge.{dialect}'s docstring does not state the divergence {d}"
            )


def test_every_docstring_statement_is_in_the_table() -> None:
    for dialect in DIALECTS:
        for cls in _stated(dialect):
            listed = lookup(dialect, "AnyLoss", cls) is not None or any(
                d.dialect == dialect and d.input_class == cls for d in DIVERGENCES
            )
            assert listed, (
                f"lossbridge.{dialect}'s docstring states a divergence on {cls!r} that "
                "lossbridge._divergences.DIVERGENCES does not list"
            )
