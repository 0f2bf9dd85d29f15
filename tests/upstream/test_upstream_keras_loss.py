"""Keras 3's own ``keras/src/losses/loss_test.py`` (from the installed wheel) against
``lossbridge.keras``: the ``Loss`` base class, ``squeeze_or_expand_to_same_rank`` and
``losses.get`` are lossbridge's.  Exclusions and known failures: ``exclusions.py``."""

from __future__ import annotations

import _keras  # first: sets KERAS_BACKEND=jax before keras is imported
import _upstream

_module = _upstream.load("keras", "src/losses/loss_test.py", "upstream_keras_loss_test",
                         _keras.IMPORTS, _keras.GUARDED)
globals().update(_upstream.test_cases(_module))
