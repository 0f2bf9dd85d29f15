"""Process-wide settings: the level of the input checks.

``"cheap"`` (the default) runs the checks that cost one pass over the labels or a
shape comparison, on concrete inputs only (never inside ``jax.jit`` or
``torch.compile`` traces); ``"off"`` runs none of the optional checks (errors that
the framework itself raises are always raised); ``"full"`` adds the checks that
read every value of the predictions (NaN/inf, probabilities passed as logits).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

from ._errors import LossBridgeError

CheckLevel = Literal["off", "cheap", "full"]
_LEVELS = ("off", "cheap", "full")

_state: dict[str, str] = {"level": "cheap"}


def check_level() -> CheckLevel:
    """The current check level (``"off"``, ``"cheap"`` or ``"full"``)."""
    return _state["level"]  # type: ignore[return-value]


def _set_level(level: str) -> None:
    if level not in _LEVELS:
        raise LossBridgeError(
            f"Unknown check level {level!r}. Expected one of {', '.join(map(repr, _LEVELS))}."
        )
    _state["level"] = level


@contextlib.contextmanager
def _level(level: str) -> Iterator[None]:
    previous = check_level()
    _set_level(level)
    try:
        yield
    finally:
        _state["level"] = previous
