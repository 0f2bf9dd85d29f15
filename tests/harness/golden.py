"""Golden cases: the real frameworks' answers, recorded, so that the suite still
checks values where a framework is not installed.

Each conformance module exposes ``GOLDEN_CASES``: ``{name: (Spec, args, wrt)}``.
``python tests/golden/record.py`` runs every case through its oracle (keras-jax
for Keras, torch for torch, optax for optax) in float32 and float64 and writes
``tests/golden/<lib>.json``; ``tests/test_golden.py`` replays them on every
installed backend.  Arrays are stored as ``{"dtype", "shape", "data"}`` with
non-finite numbers as strings.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from .oracle import Spec

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden")


def encode(x: Any) -> Any:
    if isinstance(x, (np.ndarray, np.generic)):
        x = np.asarray(x)
        data = [v if isinstance(v, (int, bool)) or math.isfinite(v) else repr(float(v)) for v in x.ravel().tolist()]
        return {"__array__": True, "dtype": x.dtype.name, "shape": list(x.shape), "data": data}
    if isinstance(x, dict):
        return {k: encode(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [encode(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return {"__float__": repr(x)}
    return x


def decode(x: Any) -> Any:
    if isinstance(x, dict) and x.get("__array__"):
        data = [float(v) if isinstance(v, str) else v for v in x["data"]]
        return np.asarray(data, dtype=x["dtype"]).reshape(x["shape"])
    if isinstance(x, dict) and "__float__" in x:
        return float(x["__float__"])
    if isinstance(x, dict):
        return {k: decode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [decode(v) for v in x]
    return x


def spec_to_json(spec: Spec) -> dict[str, Any]:
    return {"lib": spec.lib, "name": spec.name, "kind": spec.kind,
            "config": encode(spec.config), "kwargs": encode(spec.kwargs)}


def _tuples(x: Any) -> Any:
    """JSON has no tuples: options recorded as tuples (``axis=(1, 2)``) come back as tuples."""
    if isinstance(x, dict):
        return {k: _tuples(v) for k, v in x.items()}
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    return x


def spec_from_json(d: dict[str, Any]) -> Spec:
    return Spec(d["lib"], d["name"], d["kind"], _tuples(decode(d["config"])), _tuples(decode(d["kwargs"])))


def path(lib: str) -> str:
    return os.path.join(GOLDEN_DIR, f"{lib}.json")


def load(lib: str) -> list[dict[str, Any]]:
    if not os.path.exists(path(lib)):
        return []
    with open(path(lib)) as f:
        return json.load(f)["cases"]


def save(lib: str, cases: list[dict[str, Any]], versions: dict[str, str]) -> None:
    with open(path(lib), "w") as f:
        json.dump({"recorded_with": versions, "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
