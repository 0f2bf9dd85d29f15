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
