"""Reference implementations: the unfused loss, built from torch's own cross_entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reference(
    h, W, t, b=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0,
    class_weight=None, z_loss=0.0, softcap=None, num_items_in_batch=None, return_lse=False,
):
    """``F.cross_entropy(input @ weight.T + bias)`` plus softcap, z-loss and the normaliser.

    The cross-entropy part (weights, ignore_index, smoothing, torch's 'mean') is torch's
    own; only the documented extras are added here.
    """
    v, d = W.shape
    batch = h.shape[:-1]
    z = h.reshape(-1, d) @ W.T
    if b is not None:
        z = z + b
    if softcap is not None:
        z = softcap * torch.tanh(z / softcap)
    lse = torch.logsumexp(z, dim=-1)
    prob = t.dtype.is_floating_point
    tt = t.reshape(-1, v) if prob else t.reshape(-1)
    kw = dict(weight=class_weight, label_smoothing=label_smoothing)
    if not prob:
        kw["ignore_index"] = ignore_index
    per_tok = F.cross_entropy(z, tt, reduction="none", **kw)
    valid = torch.ones_like(lse, dtype=torch.bool) if prob else tt != ignore_index
    zterm = z_loss * lse * lse * valid
    if num_items_in_batch is not None:
        out = (per_tok + zterm).sum() / num_items_in_batch
    elif reduction == "none":
        out = (per_tok + zterm).reshape(batch)
    elif reduction == "sum":
        out = (per_tok + zterm).sum()
    else:
        ce = F.cross_entropy(z, tt, reduction="mean", **kw)
        if prob:
            denom = torch.tensor(float(tt.shape[0]), dtype=z.dtype)
        elif class_weight is None:
            denom = valid.sum().to(z.dtype)
        else:
            denom = (class_weight[torch.where(valid, tt, 0)] * valid).sum()
        out = ce + zterm.sum() / denom if z_loss else ce
    if return_lse:
        return out, lse.reshape(batch)
    return out


def grads(out, params, upstream):
    """Gradients of sum(out * upstream) w.r.t. the tensors in ``params`` (None kept)."""
    if isinstance(out, tuple):
        total = sum((o * u).sum() for o, u in zip(out, upstream, strict=True))
    else:
        total = (out * upstream).sum()
    live = [p for p in params if p is not None]
    g = iter(torch.autograd.grad(total, live, allow_unused=True))
    return [None if p is None else next(g) for p in params]


def assert_close(a, b, rtol, atol, what=""):
    if a is None or b is None:
        assert a is None and b is None, what
        return
    assert a.shape == b.shape, (what, a.shape, b.shape)
    torch.testing.assert_close(a.to(b.dtype), b, rtol=rtol, atol=atol, equal_nan=True, msg=lambda m: f"{what}: {m}")
