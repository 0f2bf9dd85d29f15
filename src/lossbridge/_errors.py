"""The one error root and the one warning root of lossbridge.

Every error lossbridge raises is a :class:`LossBridgeError`, which is a
:class:`ValueError`.  Where the framework being mirrored raises another built-in
type (``IndexError`` for a target out of bounds, ``RuntimeError`` for a failed
check inside a kernel, ``TypeError``, ``NotImplementedError``), lossbridge raises
a subclass that is *also* that type, so an ``except IndexError:`` clause written
for the framework keeps working on lossbridge.

Every warning is a :class:`LossBridgeWarning`, a :class:`UserWarning`; where the
framework warns with another category (Keras' ``SyntaxWarning``, torch's
``FutureWarning``, optax's ``DeprecationWarning``) the lossbridge warning is also that
category.
"""

from __future__ import annotations

__all__ = [
    "LossBridgeDeprecationWarning",
    "LossBridgeError",
    "LossBridgeFutureWarning",
    "LossBridgeIndexError",
    "LossBridgeNotImplementedError",
    "LossBridgeRuntimeError",
    "LossBridgeSyntaxWarning",
    "LossBridgeTypeError",
    "LossBridgeWarning",
]


class LossBridgeError(ValueError):
    """Root of every lossbridge error (a ``ValueError``)."""


class LossBridgeIndexError(LossBridgeError, IndexError):
    """A label or index out of range (also an ``IndexError``, like torch's)."""


class LossBridgeRuntimeError(LossBridgeError, RuntimeError):
    """A check the framework performs inside its kernel (also a ``RuntimeError``)."""


class LossBridgeTypeError(LossBridgeError, TypeError):
    """An argument of the wrong kind or dtype (also a ``TypeError``)."""


class LossBridgeNotImplementedError(LossBridgeError, NotImplementedError):
    """A dtype or feature the framework does not implement (also ``NotImplementedError``)."""


class LossBridgeWarning(UserWarning):
    """Root of every lossbridge warning (a ``UserWarning``)."""


class LossBridgeSyntaxWarning(LossBridgeWarning, SyntaxWarning):
    """A warning that Keras emits as ``SyntaxWarning``."""


class LossBridgeFutureWarning(LossBridgeWarning, FutureWarning):
    """A warning that torch emits as ``FutureWarning``."""


class LossBridgeDeprecationWarning(LossBridgeWarning, DeprecationWarning):
    """A deprecated name that the framework itself deprecates with ``DeprecationWarning``
    (optax's ``convex_kl_divergence``); hidden by Python's default filters, as there."""
