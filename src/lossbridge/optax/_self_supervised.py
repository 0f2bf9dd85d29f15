"""optax's self-supervised losses (``optax/losses/_self_supervised.py``, optax 0.2.8)."""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from .._backend import get_namespace, quiet
from .._errors import LossBridgeError
from ._regression import cosine_similarity_core
from ._utils import (
    broadcast_shapes,
    canonicalize_axes,
    check_subdtype,
    jit_on_jax,
    maximum,
    quiet_numpy,
    scalar,
)

__all__ = ["ntxent", "triplet_margin_loss"]


@quiet_numpy
@jit_on_jax
def ntxent(embeddings: Any, labels: Any, temperature: Any = 0.07) -> Any:
    r"""optax's ``ntxent`` (NT-Xent, SimCLR): one scalar, averaged over the positive pairs.

    With :math:`c_{ij} = \cos(e_i, e_j) / \tau` (squared norms bounded below by the
    dtype's machine epsilon), positives :math:`P = \{(i, j): y_i = y_j, i \ne j\}`
    and negatives :math:`N_i = \{k: y_k \ne y_i\}`:

    .. math::
        \ell = -\frac{1}{|P|} \sum_{(i, j) \in P}
        \log \frac{e^{c_{ij}}}{e^{c_{ij}} + \sum_{k \in N_i} e^{c_{ik}}}

    (computed with the row maximum subtracted, without gradient).  ``embeddings``
    are ``[batch, features]`` floats (``TypeError`` otherwise); ``labels``
    ``[batch]`` group ids (a ``ValueError`` if the batch sizes differ).  With no
    positive pair the result is NaN (0/0), as in optax.  ``temperature`` defaults
    to 0.07.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
        >>> round(float(lb.optax.ntxent(e, np.array([0, 0, 1, 1]), temperature=0.5)), 6)
        0.43019

    See also:
        :func:`lossbridge.optax.cosine_similarity`, :func:`triplet_margin_loss`.
    """
    ns = get_namespace({"embeddings": embeddings, "labels": labels, "temperature": temperature})
    xp = ns.xp
    e, labels = ns.asarray(embeddings), ns.asarray(labels)
    check_subdtype(ns, e, "floating", "embeddings")
    if labels.shape[0] != e.shape[0]:
        raise LossBridgeError(
            "Labels and embeddings must have the same leading dimension, found "
            f"{labels.shape[0]} for labels and {e.shape[0]} for embeddings."
        )
    eps = float(xp.finfo(e.dtype).eps)
    a, b = xp.expand_dims(e, axis=0), xp.expand_dims(e, axis=1)
    xcs = cosine_similarity_core(ns, a, b, eps, (2,), None) / temperature
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(labels, axis=0)
    n = same.shape[0]
    rows = ns.asarray(list(range(n)))
    off_diagonal = xp.expand_dims(rows, axis=1) != xp.expand_dims(rows, axis=0)
    diffs = xp.logical_not(same)
    matches = same & off_diagonal  # no self cosine
    neg_inf = scalar(ns, -math.inf, xcs)
    xcs_diffs = xp.where(diffs, xcs, neg_inf)
    xcs_matches = xp.where(matches, xcs, neg_inf)
    # Shift by the row maximum for numerical stability (no gradient through it).
    xcs_max = ops.stop_gradient(
        xp.max(xp.concat((xcs_diffs, xcs_matches), axis=-1), axis=1, keepdims=True)
    )
    xcs_shift_diffs = xcs_diffs - xcs_max
    xcs_shift_matches = xcs_matches - xcs_max
    with quiet(ns):
        denom = xp.sum(xp.exp(xcs_shift_diffs), axis=1, keepdims=True) + xp.exp(xcs_shift_matches)
        log_softm = xcs_shift_matches - xp.log(denom)
        total = xp.sum(xp.where(matches, log_softm, scalar(ns, 0.0, log_softm)))
        count = xp.sum(xp.astype(matches, total.dtype))
        return -total / count


@quiet_numpy
@jit_on_jax
def triplet_margin_loss(
    anchors: Any,
    positives: Any,
    negatives: Any,
    axis: int = -1,
    norm_degree: Any = 2,
    margin: Any = 1.0,
    eps: Any = 1e-6,
) -> Any:
    r"""optax's ``triplet_margin_loss``, one value per triplet.

    .. math::
        d(a, b) = \Big(\sum_j (a_j - b_j)^{p} + \varepsilon\Big)^{1/p}, \qquad
        \ell = \max\big(d(a, x^+) - d(a, x^-) + m,\ 0\big)

    over ``axis`` (default -1), with ``norm_degree`` :math:`p` = 2, ``margin``
    :math:`m` = 1.0, ``eps`` :math:`\varepsilon` = 1e-6 added *inside* the root.
    There is no absolute value, as in optax: only even ``p`` give a norm (odd
    ``p`` can give NaN).  Inputs broadcast; all three must be floating
    (``TypeError``).

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> a = np.array([[0.0, 0.0], [1.0, 1.0]])
        >>> p = np.array([[0.1, 0.1], [1.1, 1.1]])
        >>> n = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> lb.optax.triplet_margin_loss(a, p, n).round(4).tolist()
        [0.1414, 0.1414]

    See also:
        :func:`lossbridge.torch.functional.triplet_margin_loss` (``|a - b|``, eps
        added to the difference, reduces).
    """
    if isinstance(norm_degree, (int, float)) and norm_degree == 0:
        raise LossBridgeError(
            "division by zero. `norm_degree`=0 is no norm: optax computes "
            "(sum |a - p|**p + eps) ** (1 / p); pass a positive degree (2, the default, or 1)."
        )
    ns = get_namespace(
        {"anchors": anchors, "positives": positives, "negatives": negatives,
         "norm_degree": norm_degree, "margin": margin, "eps": eps}
    )
    xp = ns.xp
    a, p, n = ns.asarray(anchors), ns.asarray(positives), ns.asarray(negatives)
    check_subdtype(ns, a, "floating", "anchors")
    check_subdtype(ns, p, "floating", "positives")
    check_subdtype(ns, n, "floating", "negatives")
    shape = broadcast_shapes(anchors=a, positives=p, negatives=n)
    axes = canonicalize_axes(axis, len(shape))
    with quiet(ns):
        positive_distance = (xp.sum((a - p) ** norm_degree, axis=axes) + eps) ** (1 / norm_degree)
        negative_distance = (xp.sum((a - n) ** norm_degree, axis=axes) + eps) ** (1 / norm_degree)
    loss = positive_distance - negative_distance + margin
    return maximum(ns, loss, 0)
