"""Intentional divergences from the frameworks, as one machine-readable table.

Each entry says where lossbridge deliberately does not do what the framework does
on a class of bad input, and what it does instead.  The differential bad-input
suite (``tests/badinput``) reads this table: a trial that matches an entry must
behave exactly as the entry says (it is tested as documented), and any other
difference from the framework fails.  Every entry is also stated in the docstring
of its dialect's package (``lossbridge.<dialect>``), under "Intentional divergences".

Fields of an entry:

* ``dialect``: ``"torch"``, ``"keras"``, ``"optax"``, ``"tf_keras"``, ``"theano"`` or ``"*"``.
* ``loss``: the catalog name (``"CrossEntropyLoss"``) or ``"*"``.
* ``input_class``: the bad-input class of ``tests/badinput`` (``"masked"``, ...).
* ``behaviour``: ``"raises LossBridgeTypeError"`` etc.: the lossbridge error class.
* ``why``: the reason, as the docstring says it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DIVERGENCES", "Divergence", "lookup"]


class Divergence(NamedTuple):
    dialect: str
    loss: str
    input_class: str
    error: str  # the lossbridge error class raised instead of the framework's answer
    why: str


DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        "*", "*", "masked", "LossBridgeTypeError",
        "NumPy masked arrays are refused: the frameworks read the raw data and drop the mask, "
        "so their answer is neither the masked nor the unmasked one.",
    ),
    Divergence(
        "optax", "*", "big_endian", "LossBridgeTypeError",
        "Big-endian NumPy arrays (dtype '>f4') are refused on every optax loss; optax refuses them "
        "(TypeError, not a valid JAX array type) except where its first operation happens to be "
        "a NumPy one. Convert first: x.astype(x.dtype.newbyteorder('=')).",
    ),
    Divergence(
        "optax", "*", "object", "LossBridgeTypeError",
        "NumPy object arrays are refused on every optax loss; optax refuses them (TypeError) except "
        "where its first operation happens to be a NumPy one. Convert first: x.astype(float).",
    ),
    Divergence(
        "keras", "*", "big_endian", "LossBridgeTypeError",
        "Big-endian NumPy arrays (dtype '>f4') are refused, as torch and JAX refuse them; Keras "
        "converts them to native order. Convert first: x.astype(x.dtype.newbyteorder('=')).",
    ),
    Divergence(
        "tf_keras", "*", "big_endian", "LossBridgeTypeError",
        "Big-endian NumPy arrays (dtype '>f4') are refused, as torch and JAX refuse them; tf.keras "
        "converts them to native order. Convert first: x.astype(x.dtype.newbyteorder('=')).",
    ),
)


def lookup(dialect: str, loss: str, input_class: str) -> Divergence | None:
    """The entry covering ``dialect:loss`` on ``input_class``, or None."""
    for d in DIVERGENCES:
        if d.dialect in ("*", dialect) and d.loss in ("*", loss) and d.input_class == input_class:
            return d
    return None
