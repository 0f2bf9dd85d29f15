"""lossbridge's warnings inside code that torch.compile traces (imported by ``_warnings.warn``
only then: this module imports torch).

dynamo traces neither ``sys._getframe`` (the stack walk that points a warning at user code)
nor ``warnings.warn``: either is a graph break, an error under ``fullgraph=True``.  A
function marked ``assume_constant_result`` is run by dynamo itself, eagerly, while it traces:
the warning is emitted then, once per compilation (a compiled graph replays no Python side
effect; dynamo's replay of logging functions drops calls from inlined code, and its
``leaf_function`` does not compile with inductor in torch 2.13), pointed at the first frame
outside lossbridge and torch: the user's line that calls the compiled function.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch

from ._warnings import _PACKAGE_DIR

_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))


@torch._dynamo.assume_constant_result
def warn_when_compiled(message: str, category: type[Warning]) -> int:
    """Emit ``message`` as ``category`` now (dynamo runs this while tracing)."""
    inside = (_PACKAGE_DIR + os.sep, _TORCH_DIR + os.sep)
    frame = sys._getframe(1)
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(inside):
        frame = frame.f_back
    # warn_explicit with no registry: warnings.warn would add ``__warningregistry__`` to the
    # user module's globals, a dict that dynamo is tracing ("dict mutation detected": a
    # graph break); the warning comes once per compilation anyway
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__"), registry=None,
                           module_globals=frame.f_globals)
    return 0
