"""Per-block elementwise passes of the torch engine: compiled (inductor) or eager.

Each logits block ``z`` (class-major, ``(width, k)``) goes through two elementwise passes
besides the GEMMs:

* statistics: ``m = max_c z`` (clamped to the dtype's minimum), ``s = Σ_c exp(z - m)`` and,
  with label smoothing, ``Σ_c w_c (z - m)``;
* gradient scale: ``z <- exp(z - m) * c`` (``c`` per token), in place.

The compiled path runs each pass as one ``torch.compile``-d (inductor, C++ on CPU) kernel:
the statistics read the block twice (max, then exp/sum, in one generated loop nest) and
never write it; the scale pass reads and writes it once.  The eager path does the same
with torch's kernels in place (``amax``, ``sub_``, ``exp_``, ``sum``, ``mul_``: 5 reads and
3 writes of the block).

The compiled path is used when all of these hold: a CPU tensor of float32/float64; the
block has at least ``_MIN_COMPILE_ELEMS`` elements (compiling pays off only on large
blocks); a C++ compiler is found (``$CXX``, ``g++``, ``c++`` or ``clang++``); no
``torch.compile`` is tracing the caller (the user's compiled graph then holds the eager
ops, which dynamo traces itself); and ``LOSSBRIDGE_FUSED_COMPILE`` is not ``0``.
``LOSSBRIDGE_FUSED_COMPILE=1`` forces it on every block size (used by the tests).  The
kernels are compiled with ``dynamic=True`` (one compilation per dtype and kernel, whatever
the block shape).  If compiling or running a compiled kernel fails, one
:class:`~lossbridge.LossBridgeWarning` says so and the eager path is used from then on.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import torch

from .._errors import LossBridgeWarning

_MIN_COMPILE_ELEMS = 1 << 20
# Compilations per kernel: dtypes x the shapes dynamo specialises (sizes 0 and 1).  The
# limit is raised only around these calls (torch's default, 8, is per code object).
_RECOMPILE_LIMIT = 64

_state: dict[str, Any] = {"failed": False, "cxx": None, "kernels": None}


def _has_cxx() -> bool:
    if _state["cxx"] is None:
        names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
        _state["cxx"] = any(n and shutil.which(n) for n in names)
    return bool(_state["cxx"])


def mode() -> str:
    """'off', 'force' or 'auto', from ``LOSSBRIDGE_FUSED_COMPILE`` (read on every call)."""
    v = os.environ.get("LOSSBRIDGE_FUSED_COMPILE", "").strip().lower()
    if v in ("0", "false", "off", "no"):
        return "off"
    if v in ("1", "true", "on", "yes", "force"):
        return "force"
    return "auto"


def use_compiled(z: torch.Tensor) -> bool:
    """Whether the compiled kernels run on block ``z`` (see the module docstring)."""
    m = mode()
    if m == "off" or _state["failed"]:
        return False
    if z.device.type != "cpu" or z.dtype not in (torch.float32, torch.float64):
        return False
    if m == "auto" and z.numel() < _MIN_COMPILE_ELEMS:
        return False
    if torch.compiler.is_compiling():
        return False
    return _has_cxx()


def _stats_fn(z: torch.Tensor, fmin: float):
    m = torch.clamp(z.amax(0), min=fmin)
    zr = z - m
    return m, torch.exp(zr).sum(0), zr.sum(0)


def _wstats_fn(z: torch.Tensor, w: torch.Tensor, fmin: float):
    m = torch.clamp(z.amax(0), min=fmin)
    zr = z - m
    return m, torch.exp(zr).sum(0), (zr * w[:, None]).sum(0)


def _scale_fn(z: torch.Tensor, m: torch.Tensor, c: torch.Tensor) -> None:
    z.copy_(torch.exp(z - m) * c)


def _kernels() -> dict[str, Any]:
    if _state["kernels"] is None:
        _state["kernels"] = {
            "stats": torch.compile(_stats_fn, dynamic=True, fullgraph=True),
            "wstats": torch.compile(_wstats_fn, dynamic=True, fullgraph=True),
            "scale": torch.compile(_scale_fn, dynamic=True, fullgraph=True),
        }
    return _state["kernels"]


def _call(name: str, *args: Any):
    k = _kernels()[name]
    with torch._dynamo.config.patch(recompile_limit=_RECOMPILE_LIMIT):
        return k(*args)


def _warn(message: str) -> None:
    """Warn at the user's line: the first frame outside lossbridge and torch (the kernels
    run inside an autograd.Function, whose ``apply`` is torch's frame)."""
    import sys
    import warnings

    skip = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
            os.path.dirname(os.path.abspath(torch.__file__)) + os.sep)
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(skip):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, LossBridgeWarning, stacklevel=level + 1)


def _fail(err: BaseException) -> None:
    _state["failed"] = True
    _warn(
        f"lossbridge.fused: the compiled block kernels failed ({type(err).__name__}: {err}); "
        "the eager torch kernels are used from now on (same results, slower). Set "
        "LOSSBRIDGE_FUSED_COMPILE=0 to skip compiling."
    )


def stats(z: torch.Tensor, w: torch.Tensor | None, want_zsum: bool):
    """Compiled ``(m, s, zsum)`` of a block (``z`` unchanged); None if the kernel failed.

    ``zsum`` = Σ_c w_c (z - m) (w = 1 if None), or None unless ``want_zsum``.
    """
    fmin = float(torch.finfo(z.dtype).min)
    try:
        if w is not None and want_zsum:
            m, s, zs = _call("wstats", z, w, fmin)
        else:
            m, s, zs = _call("stats", z, fmin)
    except Exception as err:  # any compiler/runtime failure falls back
        _fail(err)
        return None
    return m, s, (zs if want_zsum else None)


def scale(z: torch.Tensor, m: torch.Tensor, c: torch.Tensor) -> bool:
    """``z <- exp(z - m) * c`` (m, c per token) with the compiled kernel; False if it failed."""
    try:
        _call("scale", z, m, c)
    except Exception as err:  # any compiler/runtime failure falls back
        _fail(err)
        return False
    return True


__all__ = ["mode", "scale", "stats", "use_compiled"]
