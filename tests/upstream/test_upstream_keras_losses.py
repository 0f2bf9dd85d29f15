"""Keras 3's own ``keras/src/losses/losses_test.py`` (from the installed wheel) against
``lossbridge.keras``: ``from keras.src.losses import losses`` becomes ``lossbridge.keras``.
Exclusions and known failures: ``exclusions.py``."""

from __future__ import annotations

import _keras  # first: sets KERAS_BACKEND=jax before keras is imported
import _upstream

_module = _upstream.load("keras", "src/losses/losses_test.py", "upstream_keras_losses_test",
                         _keras.IMPORTS, _keras.GUARDED)
globals().update(_upstream.test_cases(_module))
