"""Keras in this process, on the JAX backend, for upstream's Keras loss tests.

lossbridge follows keras-jax's values on NumPy and JAX arrays, and upstream's tests branch on
``backend.backend()``, so they run on the JAX backend (JAX is installed wherever Keras' tests
can run against lossbridge).  ``KERAS_BACKEND`` is fixed when keras is first imported: if
something imported keras with another backend before this module, collection fails and says so
(the rest of the suite imports keras in this process only with ``KERAS_BACKEND=jax``).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

for _needed in ("jax", "keras"):
    if importlib.util.find_spec(_needed) is None:
        pytest.skip(f"{_needed} is not installed: Keras' own loss tests run on keras-jax",
                    allow_module_level=True)
os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

if keras.backend.backend() != "jax":
    raise RuntimeError(
        f"tests/upstream runs Keras' own tests on the jax backend, but keras was imported with "
        f"KERAS_BACKEND={keras.backend.backend()!r} before it; run tests/upstream in a process "
        "with KERAS_BACKEND=jax"
    )

#: `from M import N` in Keras' loss test files -> the lossbridge object it becomes.
IMPORTS = {
    ("keras.src.losses", "losses"): "lossbridge.keras",
    ("keras.src", "losses"): "lossbridge.keras",
    ("keras.src.losses.loss", "Loss"): "lossbridge.keras:Loss",
    ("keras.src.losses.loss", "squeeze_or_expand_to_same_rank"):
        "lossbridge.keras:squeeze_or_expand_to_same_rank",
}
#: Imports from these modules must be in IMPORTS (anything else from keras stays Keras': its
#: testing.TestCase, backend, ops and dtype policies).
GUARDED = ("keras.src.losses", "keras.losses")
