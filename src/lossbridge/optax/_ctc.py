"""optax's CTC losses (in ``optax/losses/_classification.py`` in optax 0.2.8).

A log-space forward algorithm written against ``xp``: vectorised over the batch,
looping in Python over the (static) number of frames ``T``, with optax's
``log_epsilon`` standing for ``log(0)``, operation for operation, so the values,
the forward variables and the gradients are optax's.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._backend import describe, get_namespace
from .._errors import LossBridgeError, LossBridgeIndexError, LossBridgeTypeError
from ._utils import check_rank, check_shapes_equal, jit_on_jax, logaddexp, quiet_numpy

__all__ = ["ctc_loss", "ctc_loss_with_forward_probs"]


class _NoClassesError(LossBridgeTypeError, LossBridgeIndexError):
    """CTC logits with an empty class axis: optax fails indexing the blank (IndexError), or
    adding the empty blank slice (TypeError, on Keras' JAX backend); this error is both."""


@quiet_numpy
@jit_on_jax
def ctc_loss_with_forward_probs(
    logits: Any,
    logit_paddings: Any,
    labels: Any,
    label_paddings: Any,
    *,
    blank_id: int = 0,
    log_epsilon: Any = -1e5,
) -> tuple[Any, Any, Any]:
    r"""optax's ``ctc_loss_with_forward_probs``: CTC loss and its forward variables.

    Connectionist temporal classification (Graves et al. 2006) on batch-major
    inputs:

    * ``logits`` ``(B, T, K)``: unnormalised scores (``log_softmax`` is applied
      over K inside), K including the blank class ``blank_id`` (default 0);
    * ``logit_paddings`` ``(B, T)``: 1.0 where a frame is padding, 0.0 otherwise;
    * ``labels`` ``(B, N)``: integer label sequences; ``label_paddings``
      ``(B, N)``: 1.0 on padded labels, which must be right-padded (the label
      length is ``N - sum(label_paddings)``).

    The forward variables, in log space, are
    :math:`\alpha_\phi(t, n)` (after ``n`` labels, last emission a blank) and
    :math:`\alpha_L(t, n)` (last emission the ``n``-th label), with
    ``log_epsilon`` (default -1e5) standing for :math:`\log 0` (a transition that
    is impossible, such as repeating a label without a blank in between, adds
    ``log_epsilon`` rather than ``-inf``, so every value stays finite).  Padded
    frames copy the previous variables.  The loss per sequence is
    :math:`-\alpha_\phi(T, \text{len})` after the final label-to-blank transition:
    the negative log-likelihood of the labels, not normalised by any length.  An
    impossible alignment (more labels than frames allow) gives a large finite loss
    of the order of ``-log_epsilon``, not ``inf``.  Labels outside ``[0, K)`` emit
    with probability 1 (their one-hot row is zero), as in optax.

    Returns:
        ``(loss, logalpha_blank, logalpha_nonblank)`` of shapes ``(B,)``,
        ``(T, B, N + 1)`` and ``(T, B, N)``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logits = np.zeros((1, 3, 3))  # uniform over {blank, 1, 2}
        >>> loss, phi, emit = lb.optax.ctc_loss_with_forward_probs(
        ...     logits, np.zeros((1, 3)), np.array([[1, 2]]), np.zeros((1, 2)))
        >>> round(float(loss[0]), 6), phi.shape, emit.shape   # -log(5/27)
        (1.686399, (3, 1, 3), (3, 1, 2))

    See also:
        :func:`ctc_loss`; :func:`lossbridge.torch.functional.ctc_loss` (time-major
        log-probabilities, lengths instead of paddings).
    """
    if isinstance(blank_id, float):  # optax: range(blank_id) -> "cannot be interpreted as an integer"
        raise LossBridgeTypeError(
            f"'{type(blank_id).__name__}' object cannot be interpreted as an integer. "
            f"`blank_id`={blank_id!r} must be the integer index of the blank class (optax "
            "slices logits[..., blank_id:blank_id + 1]); pass an int such as 0."
        )
    ns = get_namespace(
        {"logits": logits, "logit_paddings": logit_paddings, "labels": labels,
         "label_paddings": label_paddings}
    )
    xp = ns.xp
    logits, logit_paddings = ns.asarray(logits), ns.asarray(logit_paddings)
    labels, label_paddings = ns.asarray(labels), ns.asarray(label_paddings)
    for name, a in (("logits", logits), ("logit_paddings", logit_paddings)):
        if xp.isdtype(a.dtype, "complex floating"):
            # optax: the scan's carry turns complex ("carry input and carry output must have
            # equal types"), a TypeError
            raise LossBridgeTypeError(
                f"scan body function carry input and carry output must have equal types: "
                f"`{name}` is a {describe(a)}, and a complex {name} makes the CTC recursion "
                "complex. Pass real arrays (paddings are 0/1 floats)."
            )
    check_rank(logits, 3, "logits")
    check_rank(labels, 2, "labels")
    if logits.shape[-1] == 0:
        raise _NoClassesError(
            f"index 0 is out of bounds for axis 2 with size 0: `logits` is a {describe(logits)} "
            "with no class (optax reads the blank's column). Pass logits of shape (batch, time, "
            "num_classes) with the blank among the classes."
        )
    if ns.xp.isdtype(labels.dtype, "bool"):
        raise LossBridgeTypeError(
            "iota does not accept dtype bool. ctc_loss: `labels` is a "
            f"{describe(labels)}; optax compares the labels with class indices built in their "
            "dtype. Pass integer labels: labels.astype('int32')."
        )
    check_shapes_equal(labels, label_paddings, "labels", "label_paddings")
    if tuple(logits.shape[:2]) != tuple(logit_paddings.shape):
        raise LossBridgeError(
            f"Shape mismatch: got {tuple(logits.shape[:2])} and {tuple(logit_paddings.shape)}. "
            f"`logit_paddings` must be (B, T) for `logits` (B, T, K), but the logits are a "
            f"{describe(logits)} and the paddings a {describe(logit_paddings)}."
        )
    batchsize, maxinputlen, num_classes = (int(d) for d in logits.shape)
    batchsize_of_labels, maxlabellen = (int(d) for d in labels.shape)
    if batchsize_of_labels != batchsize:
        raise LossBridgeError(
            f"Expected `labels` to have batch size {batchsize}, got {batchsize_of_labels}."
        )
    if maxinputlen == 0:
        raise LossBridgeIndexError(
            "index is out of bounds for axis 0 with size 0: the logits have no frames (T = 0)."
        )
    if ns.kind == "torch" and xp.isdtype(logits.dtype, "integral"):
        # optax's log_softmax of integer scores computes in JAX's default float; torch's
        # log_softmax has no integer kernel
        logits = xp.astype(logits, xp.float32)
    logprobs = ops.log_softmax(logits, axis=-1)
    # optax builds the recursion's state from jnp.ones(...) * log_epsilon and its one-hot
    # rows in JAX's default float (float32): half-precision log-probabilities are promoted,
    # so the state and the result are float32 (and -1e5 fits).
    dtype = xp.result_type(logits.dtype, xp.float32)
    if logprobs.dtype != dtype:
        logprobs = xp.astype(logprobs, dtype)
    padded = xp.sum(label_paddings, axis=1)
    if ns.kind != "jax" and xp.isdtype(padded.dtype, "real floating"):
        # JAX's float -> int32 conversion (XLA): NaN gives 0, out of range saturates; torch
        # and NumPy give INT_MIN (a NaN padding made another loss)
        padded = xp.astype(padded, xp.float64)
        padded = xp.clip(xp.where(xp.isnan(padded), xp.zeros_like(padded), padded),
                         -2147483648.0, 2147483647.0)
    labellens = maxlabellen - xp.astype(padded, xp.int32)

    def zeros(*shape: int) -> Any:
        if ns.kind == "torch":
            return xp.zeros(shape, dtype=dtype, device=ns.device)
        return xp.zeros(shape, dtype=dtype)

    # repeat[b, n] == 1.0 when label[b, n] == label[b, n + 1] (padded with a 0 column;
    # (B, 1) when N == 0, as jnp.pad makes it).
    repeat = xp.astype(labels[:, :-1] == labels[:, 1:], dtype)
    repeat = xp.concat((repeat, zeros(batchsize, 1)), axis=1)

    logprobs_phi = logprobs[:, :, blank_id : blank_id + 1]  # (B, T, 1)
    if logprobs_phi.shape[-1] != 1:
        # optax fails indexing it (IndexError) or adding the empty slice (TypeError)
        raise _NoClassesError(
            f"`blank_id`={blank_id} selects no class of the {num_classes} classes: optax slices "
            f"logits[..., blank_id:blank_id + 1]; use 0 <= blank_id < {num_classes}."
        )
    logprobs_phi = xp.permute_dims(logprobs_phi, (1, 0, 2))  # (T, B, 1)

    one_hot = ops.one_hot(labels, num_classes, dtype=dtype)  # (B, N, K)
    # einsum('btk,bnk->btn'): a product with the one-hot rows (a label outside [0, K)
    # emits log-probability 0, as in optax).
    logprobs_emit = xp.matmul(logprobs, xp.permute_dims(one_hot, (0, 2, 1)))  # (B, T, N)
    logprobs_emit = xp.permute_dims(logprobs_emit, (1, 0, 2))  # (T, B, N)

    eps = ns.asarray(log_epsilon, dtype=dtype)
    logalpha_phi = xp.concat((zeros(batchsize, 1), zeros(batchsize, maxlabellen) + eps), axis=1)
    logalpha_emit = zeros(batchsize, maxlabellen) + eps
    paddings = xp.astype(logit_paddings, dtype)

    def update_phi_score(phi: Any, added_score: Any) -> Any:
        # phi[:, 1:] += added_score, in log space.
        return xp.concat((phi[:, :1], logaddexp(ns, phi[:, 1:], added_score)), axis=1)

    prev_phi, prev_emit = logalpha_phi, logalpha_emit
    phis, emits = [], []
    for t in range(maxinputlen):
        logprob_emit, logprob_phi = logprobs_emit[t, ...], logprobs_phi[t, ...]
        pad = paddings[:, t : t + 1]
        prev_phi_orig = prev_phi
        # emit-to-phi epsilon transition, except if the next label is a repetition
        prev_phi = update_phi_score(prev_phi, prev_emit + eps * repeat)
        # phi-to-emit transition
        next_emit = logaddexp(ns, prev_phi[:, :-1] + logprob_emit, prev_emit + logprob_emit)
        # self-loop transition
        next_phi = prev_phi + logprob_phi
        # emit-to-phi blank transition only when the next label is a repetition
        next_phi = update_phi_score(next_phi, prev_emit + logprob_phi + eps * (1.0 - repeat))
        next_emit = pad * prev_emit + (1.0 - pad) * next_emit
        next_phi = pad * prev_phi_orig + (1.0 - pad) * next_phi
        phis.append(next_phi)
        emits.append(next_emit)
        prev_phi, prev_emit = next_phi, next_emit

    # The last row needs the final epsilon transition.
    logalpha_phi_last = update_phi_score(phis[-1], emits[-1])
    logalpha_phi_all = xp.stack([*phis[:-1], logalpha_phi_last], axis=0)
    logalpha_emit_all = xp.stack(emits, axis=0)

    length_one_hot = ops.one_hot(labellens, maxlabellen + 1, dtype=dtype)  # (B, N + 1)
    per_seq_loss = -xp.sum(logalpha_phi_last * length_one_hot, axis=1)
    return per_seq_loss, logalpha_phi_all, logalpha_emit_all


@quiet_numpy
def ctc_loss(
    logits: Any,
    logit_paddings: Any,
    labels: Any,
    label_paddings: Any,
    *,
    blank_id: int = 0,
    log_epsilon: Any = -1e5,
) -> Any:
    r"""optax's ``ctc_loss``: the per-sequence CTC loss, shape ``(B,)``.

    ``ctc_loss_with_forward_probs(...)[0]``; see :func:`ctc_loss_with_forward_probs`
    for the inputs (batch-major logits ``(B, T, K)``, paddings 1.0 where padded,
    ``blank_id=0``, ``log_epsilon=-1e5``).  Not normalised by the label length:
    divide yourself for torch's ``reduction="mean"``.

    Example:
        >>> import numpy as np
        >>> import lossbridge as lb
        >>> logits = np.zeros((2, 3, 3))
        >>> paddings = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        >>> labels, label_paddings = np.array([[1, 2], [1, 1]]), np.array([[0.0, 0.0], [0.0, 1.0]])
        >>> lb.optax.ctc_loss(logits, paddings, labels, label_paddings).round(6).tolist()
        [1.686399, 1.098612]

    See also:
        :func:`lossbridge.torch.functional.ctc_loss` with ``reduction="none"``
        (the same values for time-major log-probabilities and lengths).
    """
    per_seq_loss, _, _ = ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, blank_id=blank_id, log_epsilon=log_epsilon
    )
    return per_seq_loss
