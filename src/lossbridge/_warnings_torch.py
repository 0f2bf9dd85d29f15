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
import warnings

import torch

from ._warnings import _user_stacklevel

_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))


@torch._dynamo.assume_constant_result
def warn_when_compiled(message: str, category: type[Warning]) -> int:
    """Emit ``message`` as ``category`` now (dynamo runs this while tracing)."""
    warnings.warn(message, category, stacklevel=_user_stacklevel((_TORCH_DIR,)))
    return 0
