r"""Losses that stay exact across micro-batches and ranks.

A mean over each micro-batch or each rank, averaged again, is not the mean over the
whole batch when the number of valid elements differs:
:math:`\tfrac12(x_1/n_1 + x_2/n_2) \ne (x_1 + x_2)/(n_1 + n_2)`.  This module splits a
loss into its **numerator** (the sum) and its **denominator** (the dialect's exact
normaliser), and adds them up across micro-batches and ranks before dividing:

* :func:`sum_and_count` -- ``(numerator, denominator)`` of a torch, Keras, tf.keras, optax, Theano or fused loss.
* :func:`global_loss` -- ``global_mean(*sum_and_count(loss, ...))`` in one call.
* :func:`global_mean` -- the full-batch mean on a ``torch.distributed`` group (with
  DDP/FSDP's gradient averaging undone) or under a JAX ``shard_map``/``pmap`` axis.
* :class:`GradientAccumulator` -- the weights that make accumulated micro-batch
  gradients equal to the full-batch gradient.
* :func:`vocab_parallel_linear_cross_entropy` -- the fused LM-head loss with the head
  sharded by vocabulary rows (torch.distributed group or JAX mesh axis).

Nothing here imports a framework until its arrays arrive.

Example:
    >>> import torch
    >>> import lossbridge.distributed as lbd
    >>> logits = torch.randn(5, 3)
    >>> y = torch.tensor([0, 2, -100, 1, 1])
    >>> num, den = lbd.sum_and_count(torch.nn.functional.cross_entropy, logits, y)
    >>> float(den)
    4.0
    >>> bool(torch.allclose(num / den, torch.nn.functional.cross_entropy(logits, y)))
    True
"""

from __future__ import annotations

from ._core import (
    GradientAccumulator,
    LossBridgeAccumulationWarning,
    ce_denominator,
    global_loss,
    global_mean,
    sum_and_count,
)
from ._vocab import vocab_parallel_linear_cross_entropy

__all__ = [
    "GradientAccumulator",
    "LossBridgeAccumulationWarning",
    "ce_denominator",
    "global_loss",
    "global_mean",
    "sum_and_count",
    "vocab_parallel_linear_cross_entropy",
]
