"""The torch dialect's direct-to-kernel path traces under torch.compile(fullgraph=True) with no
graph break and no warning (the dispatch helpers stay out of the compiled region), and gives
torch's values.  The full transform matrix lives in the transform tests; this one keeps the
training-loop fast path honest."""

from __future__ import annotations

import warnings

import pytest

import lossbridge as lb
from harness.backends import require


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "mse_loss"])
def test_fast_path_compiles_fullgraph_without_warnings(name):
    require("torch")
    import torch

    torch._dynamo.reset()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, generator=g, requires_grad=True)
    t = torch.randint(0, 5, (8,), generator=g)
    y = torch.rand(8, 5, generator=g)
    if name == "CrossEntropyLoss":
        ours = lb.torch.CrossEntropyLoss(label_smoothing=0.1)
        theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        args = (t,)
    else:
        ours, theirs, args = lb.torch.functional.mse_loss, torch.nn.functional.mse_loss, (y,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = torch.compile(lambda x: ours(x, *args), fullgraph=True)
        value = compiled(x)
        (grad,) = torch.autograd.grad(value, x)
    ours_or_compat = [str(w.message) for w in caught
                      if "lossbridge" in str(w.filename) or "array_api_compat" in str(w.message)
                      or "lru_cache" in str(w.message)]
    assert ours_or_compat == []
    expected = theirs(x, *args)
    (expected_grad,) = torch.autograd.grad(expected, x)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(grad, expected_grad)
