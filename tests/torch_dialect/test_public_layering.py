"""How the torch dialect's public functions are layered (issue 12: the fast call pays no wrapper).

A loss with a fast path (plain CPU tensors straight to torch's kernel) is public unwrapped; the
one wrapper (raw errors reworded, bool/complex/float16 NumPy arrays routed through torch's kernel)
sits on its validating twin.  These tests hold both halves: the fast call has no wrapper frame, and
every other call still gets the wrapper's two jobs, under the public name."""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lossbridge as lb  # noqa: E402
from lossbridge._errors import LossBridgeError  # noqa: E402
from lossbridge._validate import BoolDtypeError  # noqa: E402
from lossbridge.torch import functional as F  # noqa: E402

FAST = sorted(F._FAST_PATH_TWINS)


@pytest.mark.parametrize("name", FAST)
def test_fast_path_loss_is_public_unwrapped_and_its_twin_wrapped(name):
    public = getattr(lb.torch.functional, name)
    assert not hasattr(public, "__wrapped__"), "the fast call must not pass through a wrapper"
    module, twin = F._FAST_PATH_TWINS[name]
    wrapped = vars(sys.modules[module])[twin]
    assert wrapped.__lossbridge_wrapped__ and wrapped.__wrapped__.__name__ == twin


def test_losses_without_fast_path_stay_wrapped():
    rest = [n for n in F.__all__ if n not in F._FAST_PATH_TWINS]
    assert rest, "some losses have no fast path"
    for name in rest:
        assert getattr(getattr(F, name), "__wrapped__", None) is not None, name


def test_bool_numpy_target_is_computed_by_torch_kernel_through_the_public_function():
    # torch's mse_loss promotes a bool target; the route must reach torch's kernel (not refuse)
    x = np.array([0.5, 2.0, -1.0])
    t = np.array([True, False, True])
    got = F.mse_loss(x, t)
    want = torch.nn.functional.mse_loss(torch.from_numpy(x), torch.from_numpy(t))
    assert isinstance(got, np.ndarray | np.floating)
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=0)


def test_raw_error_of_a_fast_path_loss_is_reworded_under_the_public_name():
    # torch's l1_loss refuses a bool target with a raw RuntimeError: reworded, named l1_loss
    with pytest.raises(BoolDtypeError, match=r"l1_loss was called with") as info:
        F.l1_loss(np.array([0.5, 2.0]), np.array([True, False]))
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, LossBridgeError)
    with pytest.raises(BoolDtypeError, match=r"l1_loss was called with"):
        F.l1_loss(torch.tensor([0.5, 2.0]), torch.tensor([True, False]))


# The fast paths of these losses call the kernel's binding (torch._C._nn.mse_loss(input, target,
# enum)) as torch.nn.functional does, without its Python layer; where torch.nn.functional would
# hand the call to a __torch_function__ mode, they call torch.nn.functional itself.
BINDING_FAST = {
    "mse_loss": lambda x, y, lab: (x, y), "l1_loss": lambda x, y, lab: (x, y),
    "huber_loss": lambda x, y, lab: (x, y), "smooth_l1_loss": lambda x, y, lab: (x, y),
    "soft_margin_loss": lambda x, y, lab: (x, torch.sign(y - 0.5)),
    "binary_cross_entropy": lambda x, y, lab: (torch.sigmoid(x), y),
    "binary_cross_entropy_with_logits": lambda x, y, lab: (x, y),
    "margin_ranking_loss": lambda x, y, lab: (x[:, 0], x[:, 1], torch.sign(y[:, 0] - 0.5)),
    "cross_entropy": lambda x, y, lab: (x, lab),
    "nll_loss": lambda x, y, lab: (torch.log_softmax(x, 1), lab),
}


def _args(name):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.rand(6, 4, generator=g, dtype=torch.float64)
    lab = torch.randint(0, 4, (6,), generator=g)
    return BINDING_FAST[name](x, y, lab)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(BINDING_FAST))
def test_binding_fast_path_equals_torch_functional(name, reduction):
    args = _args(name)
    ours = getattr(F, name)(*args, reduction=reduction)
    theirs = getattr(torch.nn.functional, name)(*args, reduction=reduction)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(BINDING_FAST))
def test_torch_function_mode_sees_the_functional_call(name):
    from torch.overrides import TorchFunctionMode

    class Record(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.seen.append(func)
            return func(*args, **(kwargs or {}))

    args = _args(name)
    with Record() as mode:
        ours = getattr(F, name)(*args)
    with Record() as native:
        theirs = getattr(torch.nn.functional, name)(*args)
    functional = getattr(torch.nn.functional, name)
    assert native.seen == [functional]
    # the mode is handed torch.nn.functional's function itself (it also sees lossbridge's reads
    # of the tensors' attributes, is_cpu and shape, as __get__)
    assert functional in mode.seen, mode.seen
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_deprecated_reduction_name_goes_through_torch_with_its_warning():
    x, y = _args("mse_loss")
    with pytest.warns(UserWarning, match="elementwise_mean"):
        got = F.mse_loss(x, y, reduction="elementwise_mean")
    torch.testing.assert_close(got, torch.nn.functional.mse_loss(x, y), rtol=0, atol=0)


def test_fast_path_error_is_worded_by_the_validating_twin():
    # multi_margin_loss: torch's CPU kernel raises "target out of range"; the twin words it
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"target out of range.*multi_margin_loss") as info:
        F.multi_margin_loss(x, torch.tensor([0, 4, 1]))
    assert isinstance(info.value, LossBridgeError)
    with pytest.raises(RuntimeError, match=r"out of range.*multilabel_margin_loss") as info:
        F.multilabel_margin_loss(x, torch.tensor([[0, 9, -1, 0]] * 3))
    assert isinstance(info.value, LossBridgeError)


def test_empty_multilabel_margin_input_takes_the_validating_path():
    # torch's kernel returns uninitialised memory for an empty batch: not the fast path
    x = torch.zeros(0, 4)
    t = torch.zeros(0, 4, dtype=torch.long)
    assert torch.isnan(F.multilabel_margin_loss(x, t))  # the mean of nothing
    assert F.multilabel_margin_loss(x, t, reduction="sum") == 0


def test_user_distance_function_runs_once_even_when_it_raises():
    calls = []

    def distance(a, b):
        calls.append(1)
        raise RuntimeError("my distance failed")

    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match="my distance failed"):
        F.triplet_margin_with_distance_loss(x, x, x, distance_function=distance)
    assert len(calls) == 1
