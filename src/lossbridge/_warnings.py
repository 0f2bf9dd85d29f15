"""Warnings that point at the user's line, however deep inside lossbridge they start."""

from __future__ import annotations

import os
import sys
import warnings

from ._errors import LossBridgeWarning

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside the lossbridge package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn(message: str, category: type[Warning] = LossBridgeWarning) -> None:
    """Emit ``message`` as ``category`` (a :class:`LossBridgeWarning` subclass) at user code.

    While torch.compile traces the caller (dynamo traces neither ``sys._getframe`` nor
    ``warnings.warn``: a graph break), the warning is emitted once, when the call is
    compiled (``_warnings_torch``), at the user's line that calls the compiled function."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.compiler.is_compiling():
        from . import _warnings_torch

        _warnings_torch.warn_when_compiled(message, category)
        return
    warnings.warn(message, category, stacklevel=_user_stacklevel())
