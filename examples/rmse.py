"""RMSE, written once, trained in PyTorch and in Keras with the same numbers.

Run ``python examples/rmse.py`` (``--json`` for the numbers as JSON).

The function is written against the array namespace of its inputs, so it runs on
NumPy arrays, torch tensors and JAX arrays.  It returns one value per sample (the
root mean squared error over the sample's outputs), as a Keras loss function does:
``rmse.torch()`` averages those values as ``reduction="mean"`` does, ``rmse.keras()``
puts them through Keras' pipeline (sample weights, masks, reduction).
"""

from __future__ import annotations

import json
import sys

import train_both

import lossbridge as lb


@lb.loss
def rmse(y_pred, y_true):
    """Root mean squared error of each sample: ``sqrt(mean((y_pred - y_true)**2, axis=-1))``."""
    xp = lb.ops.namespace(y_pred, y_true)
    return xp.sqrt(xp.mean((y_pred - y_true) ** 2, axis=-1))


if __name__ == "__main__":
    result = train_both.compare(rmse)
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        train_both.report("rmse", result)
