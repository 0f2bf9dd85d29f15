"""optax's Fenchel-Young losses (``optax/losses/_fenchel_young.py``, optax 0.2.8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backend import get_namespace
from .._errors import LossBridgeTypeError

__all__ = ["make_fenchel_young_loss"]


def _vectorize_last_dim(fun: Callable[..., Any], ns: Any) -> Callable[..., Any]:
    """``fun`` (one 1-D vector -> a scalar) mapped over the leading axes of its first argument.

    JAX: ``jnp.vectorize(fun, signature="(n)->()")``, exactly as optax.  torch:
    ``torch.vmap`` over the flattened leading axes.  NumPy (and other arrays): a
    Python loop over the rows (``numpy.vectorize`` semantics).
    """
    xp = ns.xp

    def mapped(x: Any, *args: Any, **kwargs: Any) -> Any:
        # jnp.vectorize maps every positional argument with the one-input signature (so
        # an extra one is a TypeError) and drops keyword arguments without a word.
        if args:
            raise LossBridgeTypeError(
                f"wrong number of positional arguments: expected 1, got {1 + len(args)} on "
                "vectorized function with excluded=frozenset() and signature='(n)->()': optax's "
                "Fenchel-Young loss passes no extra argument to max_fun (bind it with "
                "functools.partial)."
            )
        if ns.kind == "jax":
            import jax.numpy as jnp

            return jnp.vectorize(fun, signature="(n)->()")(x)
        lead = tuple(x.shape[:-1])
        rows = xp.reshape(x, (-1, x.shape[-1]))
        if ns.kind == "torch":
            import torch

            flat = torch.vmap(fun)(rows)
        elif rows.shape[0]:
            flat = xp.stack([xp.asarray(fun(rows[i, ...])) for i in range(rows.shape[0])])
        else:
            flat = xp.zeros((0,), dtype=x.dtype)
        return xp.reshape(flat, lead)

    return mapped


def make_fenchel_young_loss(max_fun: Callable[..., Any]) -> Callable[..., Any]:
    r"""optax's ``make_fenchel_young_loss``: the Fenchel-Young loss of a max function.

    .. math::
        \ell(s, y) = \Omega^*(s) - \langle y, s \rangle

    where ``max_fun`` is :math:`\Omega^*`, mapping one score vector (1-D) to a
    scalar; the loss maps it over the leading axes (the last axis is the vector)
    and returns ``fenchel_young_loss(scores, targets)`` of the broadcast leading
    shape.  ``logsumexp`` gives the softmax cross-entropy, ``max`` the
    perceptron loss.

    ``max_fun`` must work on the arrays it is given: on JAX inputs a JAX function
    (``jax.scipy.special.logsumexp``) or one written against the array namespace;
    on torch tensors a torch-traceable function (it runs under ``torch.vmap``: no
    ``.item()``, no Python branching on values); on NumPy arrays anything taking a
    1-D array (it is called once per row).  Functions written with
    :mod:`lossbridge.ops` or ``array_api_compat.array_namespace(x)`` work
    everywhere.  As in optax 0.2.8, keyword arguments of the loss are accepted and
    **ignored** (``jnp.vectorize`` drops them: bind options into ``max_fun`` with
    ``functools.partial``) and an extra positional argument is a ``TypeError``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> fy = lb.optax.make_fenchel_young_loss(lambda s: lb.ops.logsumexp(s, axis=-1))
        >>> fy(np.array([[1.0, 2.0]]), np.array([[0.0, 1.0]])).round(6).tolist()
        [0.313262]

    See also:
        :func:`lossbridge.optax.softmax_cross_entropy` (the logsumexp case),
        :func:`lossbridge.optax.multiclass_perceptron_loss` (the max case).
    """

    def fenchel_young_loss(scores: Any, targets: Any, *args: Any, **kwargs: Any) -> Any:
        ns = get_namespace({"scores": scores, "targets": targets})
        xp = ns.xp
        scores, targets = ns.asarray(scores), ns.asarray(targets)
        max_value = _vectorize_last_dim(max_fun, ns)(scores, *args, **kwargs)
        return max_value - xp.sum(targets * scores, axis=-1)

    return fenchel_young_loss
