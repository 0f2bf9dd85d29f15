"""Intentional divergences from the frameworks, as one machine-readable table.

Each entry says where lossbridge deliberately does not do what the framework does
on a class of bad input, and what it does instead.  The differential bad-input
suite (``tests/badinput``) reads this table: a trial that matches an entry must
behave exactly as the entry says (it is tested as documented) or, where lossbridge
computes a value (the bad value sits where neither reads it), give the framework's
value; any other difference from the framework fails.  Every entry is also stated in the docstring
of its dialect's package (``lossbridge.<dialect>``), under "Intentional divergences".

Fields of an entry:

* ``dialect``: ``"torch"``, ``"keras"``, ``"optax"``, ``"tf_keras"``, ``"theano"`` or ``"*"``.
* ``loss``: the catalog name (``"CrossEntropyLoss"``) or ``"*"``.
* ``input_class``: the bad-input class of ``tests/badinput`` (``"masked"``, ...).
* ``behaviour``: ``"raises LossBridgeTypeError"`` etc.: the lossbridge error class.
* ``why``: the reason, as the docstring says it.
* ``position``: the argument it concerns (0-based, in the loss' call order), or None for any.
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
    position: int | None = None  # the argument concerned (None: any)


_CTC_LABELS = (
    "torch's ctc_loss does not check the target labels: a label outside [0, C) reads log_probs "
    "out of bounds (memory beside the row on the CPU), so its value is undefined; lossbridge "
    "raises IndexError naming the label, its sample and position."
)

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
        "optax", "*", "complex", "LossBridgeTypeError",
        "Complex arrays are refused on every optax loss: optax computes some losses on complex "
        "numbers (JAX's complex orderings in max, sort and clip), and fails in others; torch's "
        "kernels refuse most. Pass real arrays.",
    ),
    Divergence(
        "keras", "*", "big_endian", "LossBridgeTypeError",
        "Big-endian NumPy arrays (dtype '>f4') are refused, as torch and JAX refuse them; Keras "
        "converts them to native order. Convert first: x.astype(x.dtype.newbyteorder('=')).",
    ),
    Divergence(
        "tf_keras", "*", "int", "LossBridgeTypeError",
        "Integer predictions (y_pred) are refused: tf.keras 2 casts y_true to y_pred's integer "
        "dtype and runs the formula in integer arithmetic where its kernels accept it (truncated "
        "means, epsilon cast to 0) and raises where they do not. Pass float predictions: "
        "y_pred.astype('float32').",
        position=1,
    ),
    Divergence(
        "tf_keras", "*", "complex", "LossBridgeTypeError",
        "Complex predictions (y_pred) are refused: most tf.keras 2 kernels refuse them "
        "(InvalidArgumentError) and the others return complex numbers no loss means. Pass real "
        "predictions.",
        position=1,
    ),
    Divergence(
        "tf_keras", "*", "big_endian", "LossBridgeTypeError",
        "Big-endian NumPy arrays (dtype '>f4') are refused, as torch and JAX refuse them; tf.keras "
        "converts them to native order. Convert first: x.astype(x.dtype.newbyteorder('=')).",
    ),
    *(
        Divergence(
            "keras", loss, "uint8", "LossBridgeTypeError",
            "Unsigned integer predictions (y_pred) are refused by the functions that subtract or "
            "negate in y_pred's dtype: Keras 3 casts y_true to that dtype and wraps around "
            "(0 - 1 = 255), so its number is no loss. Pass float predictions: "
            "y_pred.astype('float32') (the classes cast to float32 first, as Keras does).",
            position=1,
        )
        for loss in ("categorical_focal_crossentropy", "categorical_hinge", "huber", "log_cosh",
                     "mean_absolute_error", "mean_absolute_percentage_error",
                     "mean_squared_error", "tversky")
    ),
    *(
        Divergence(
            "keras", loss, "complex", "LossBridgeTypeError",
            "Complex predictions (y_pred) are refused by every Keras function: Keras computes a "
            "few in complex arithmetic (a complex 'loss') and fails on the others. Pass real "
            "predictions (the classes cast to float32 first, as Keras does).",
            position=1,
        )
        for loss in ("dice", "mean_absolute_error", "mean_squared_error", "poisson", "tversky")
    ),
    *(
        Divergence(
            "keras", loss, "label_out_of_range", "LossBridgeIndexError",
            "Keras' CTC does not check the labels: on the torch backend a label outside "
            "[0, num_classes) reads y_pred out of bounds, on JAX it drops out of the one-hot "
            "encoding (another loss, silently); lossbridge raises IndexError naming the label.",
            position=0,
        )
        for loss in ("ctc", "CTC")
    ),
    Divergence(
        "torch", "ctc_loss", "label_out_of_range", "LossBridgeIndexError", _CTC_LABELS, position=1,
    ),
    Divergence(
        "torch", "CTCLoss", "label_out_of_range", "LossBridgeIndexError", _CTC_LABELS, position=1,
    ),
)


def lookup(
    dialect: str, loss: str, input_class: str, position: int | None = None
) -> Divergence | None:
    """The entry covering ``dialect:loss`` on ``input_class`` in argument ``position`` (None:
    any argument), or None."""
    for d in DIVERGENCES:
        if (
            d.dialect in ("*", dialect)
            and d.loss in ("*", loss)
            and d.input_class == input_class
            and (d.position is None or position is None or d.position == position)
        ):
            return d
    return None
