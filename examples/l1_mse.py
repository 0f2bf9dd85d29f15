"""A parameterised loss, ``alpha * L1 + (1 - alpha) * MSE``, written once.

Run ``python examples/l1_mse.py`` (``--json`` for the numbers as JSON).

``lossbridge.Loss`` captures the constructor's arguments (``alpha``) as the
configuration, so the loss serialises with a Keras model (``model.save`` /
``keras.models.load_model``) and ``get_config`` / ``from_config`` round-trip.
"""

from __future__ import annotations

import json
import sys

import train_both

import lossbridge as lb


class L1MSE(lb.Loss):
    """``alpha * mean(|d|) + (1 - alpha) * mean(d**2)`` per sample, ``d = y_pred - y_true``."""

    def __init__(self, alpha=0.5):
        super().__init__()
        self.alpha = alpha

    def call(self, y_pred, y_true):
        xp = lb.ops.namespace(y_pred, y_true)
        d = y_pred - y_true
        return self.alpha * xp.mean(xp.abs(d), axis=-1) + (1 - self.alpha) * xp.mean(d * d, axis=-1)


if __name__ == "__main__":
    result = train_both.compare(L1MSE(alpha=0.3))
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        train_both.report("0.3 * L1 + 0.7 * MSE", result)
