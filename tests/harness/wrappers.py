"""Test-only wrapper losses: a loss plus the little glue its conformance test needs.

A :class:`~harness.oracle.Spec` of kind ``"wrapper"`` names one of these; the same
wrapper is built on lossbridge's dialect and on the real framework, so the glue is
identical on both sides.  Each wrapper takes the dialect root (``lossbridge.torch``
or ``torch.nn``, which both have ``.functional``) and its keyword arguments, and
returns the callable under test; ``counts_as`` is the loss its comparisons are
counted for in the conformance report.  Wrappers exist for:

* CTC through a ``log_softmax`` of logits (torch's CTC gradient is the gradient
  with respect to the logits, so that is how it must be compared), optionally with
  the lengths given as tuples of ints;
* ``LinearCrossEntropyLoss`` with its linear layer's parameters given as
  arguments (so that they are the same on both sides and can be differentiated);
* ``triplet_margin_with_distance_loss`` with a named distance function (a
  callable cannot be stored in a golden file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Wrapper:
    counts_as: str
    factory: Callable[..., Callable[..., Any]]

    def __call__(self, root: Any, **kwargs: Any) -> Callable[..., Any]:
        return self.factory(root, _is_torch(root), **kwargs)


def _is_torch(root: Any) -> bool:
    return getattr(root, "__name__", "") == "torch.nn"


def _log_softmax(is_torch: bool) -> Callable[[Any], Any]:
    if is_torch:
        import torch

        return lambda x: torch.log_softmax(x, dim=-1)
    from lossbridge import ops

    return lambda x: ops.log_softmax(x, axis=-1)


def _lengths(x: Any, as_tuple: bool) -> Any:
    return tuple(int(v) for v in x.tolist()) if as_tuple else x


def _ctc(use_class: bool) -> Callable[..., Callable[..., Any]]:
    def factory(root: Any, is_torch: bool, tuple_lengths: bool = False, **kw: Any):
        log_softmax = _log_softmax(is_torch)
        loss = root.CTCLoss(**kw) if use_class else (lambda *a: root.functional.ctc_loss(*a, **kw))

        def fn(logits, targets, input_lengths, target_lengths):
            return loss(log_softmax(logits), targets, _lengths(input_lengths, tuple_lengths),
                        _lengths(target_lengths, tuple_lengths))

        return fn

    return factory


def _linear_ce_module(root: Any, is_torch: bool, **config: Any):
    def fn(input, target, linear_weight, linear_bias=None):
        cfg = dict(config)
        if is_torch:
            import torch

            cfg.setdefault("dtype", linear_weight.dtype)
            module = root.LinearCrossEntropyLoss(**cfg)
            params = {"linear.weight": linear_weight}
            if linear_bias is not None:
                params["linear.bias"] = linear_bias
            return torch.func.functional_call(module, params, (input, target))
        module = root.LinearCrossEntropyLoss(**cfg)
        module.linear.weight = linear_weight
        module.linear.bias = linear_bias
        return module(input, target)

    return fn


DISTANCES: dict[str, Callable[[Any, Any], Any]] = {
    "l1": lambda u, v: abs(u - v).sum(-1),
    "squared": lambda u, v: ((u - v) ** 2).sum(-1),
}


def _triplet_distance(use_class: bool) -> Callable[..., Callable[..., Any]]:
    def factory(root: Any, is_torch: bool, distance: str | None = None, **kw: Any):
        fn = DISTANCES[distance] if distance is not None else None
        if use_class:
            return root.TripletMarginWithDistanceLoss(distance_function=fn, **kw)
        return lambda a, p, n: root.functional.triplet_margin_with_distance_loss(
            a, p, n, distance_function=fn, **kw
        )

    return factory


WRAPPERS: dict[str, Wrapper] = {
    "ctc_loss(log_softmax(logits))": Wrapper("torch.functional.ctc_loss", _ctc(False)),
    "CTCLoss(log_softmax(logits))": Wrapper("torch.CTCLoss", _ctc(True)),
    "LinearCrossEntropyLoss(parameters)": Wrapper("torch.LinearCrossEntropyLoss", _linear_ce_module),
    "triplet_margin_with_distance_loss(named distance)": Wrapper(
        "torch.functional.triplet_margin_with_distance_loss", _triplet_distance(False)
    ),
    "TripletMarginWithDistanceLoss(named distance)": Wrapper(
        "torch.TripletMarginWithDistanceLoss", _triplet_distance(True)
    ),
}
