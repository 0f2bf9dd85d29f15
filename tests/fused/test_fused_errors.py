"""Every error path of lossbridge.fused.linear_cross_entropy; import hygiene; doctests."""

from __future__ import annotations

import doctest
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lossbridge
import lossbridge.fused
from lossbridge import (
    LossBridgeError,
    LossBridgeIndexError,
    LossBridgeRuntimeError,
    LossBridgeTypeError,
)
from lossbridge.fused import linear_cross_entropy

H = torch.randn(4, 3)
W = torch.randn(5, 3)
T = torch.tensor([0, 1, 4, -100])


def call(**over):
    kw = dict(input=H, weight=W, target=T)
    kw.update(over)
    return linear_cross_entropy(kw.pop("input"), kw.pop("weight"), kw.pop("target"), **kw)


@pytest.mark.parametrize(
    "over,exc,match",
    [
        (dict(input=np.ones((4, 3))), LossBridgeTypeError, r"`input` must be a torch tensor or a JAX array"),
        (dict(weight=np.ones((5, 3))), LossBridgeTypeError, r"`weight` is a numpy array"),
        (dict(input=torch.ones(4, 3, dtype=torch.long)), LossBridgeTypeError, r"`input` must be a floating.*int64"),
        (dict(input=torch.tensor(1.0)), LossBridgeError, r"at least 1 dimension"),
        (dict(weight=torch.randn(5)), LossBridgeError, r"`weight` must be the \(V, D\) matrix.*\(5,\)"),
        (dict(weight=torch.randn(5, 3, dtype=torch.float64)), LossBridgeTypeError, r"dtype of `input`.*float64"),
        (dict(weight=torch.randn(5, 2)), LossBridgeError, r"last dimension of `input` \(3\).*\(2\)"),
        (dict(weight=torch.randn(0, 3)), LossBridgeError, r"at least one class"),
        (dict(bias=torch.randn(4)), LossBridgeError, r"`bias` must have shape \(5,\).*\(4,\)"),
        (dict(bias=torch.randn(5, dtype=torch.float64)), LossBridgeTypeError, r"`bias` must have the dtype"),
        (dict(class_weight=torch.rand(4)), LossBridgeError, r"`class_weight` must have shape \(5,\)"),
        (dict(class_weight=torch.ones(5, dtype=torch.long)), LossBridgeTypeError, r"`class_weight` must be a floating"),
        (dict(class_weight=torch.rand(5, requires_grad=True)), LossBridgeRuntimeError, r"class_weight.detach\(\)"),
        (dict(target=torch.tensor([0, 1, 2])), LossBridgeError, r"shape \(4,\).*\(3,\)"),
        (dict(target=torch.tensor([0.0, 1, 2, 3])), LossBridgeTypeError, r"integer class indices.*float32"),
        (dict(target=torch.tensor([True, False, True, False])), LossBridgeTypeError, r"integer array.*bool"),
        (dict(reduction="avg"), LossBridgeError, r"`reduction` must be one of .*'avg'"),
        (dict(label_smoothing=-0.1), LossBridgeError, r"`label_smoothing` must lie in \[0, 1\], got -0.1"),
        (dict(label_smoothing=1.5), LossBridgeError, r"`label_smoothing` must lie in \[0, 1\], got 1.5"),
        (dict(label_smoothing="0.1"), LossBridgeTypeError, r"`label_smoothing` must be a real number"),
        (dict(z_loss=-1e-4), LossBridgeError, r"`z_loss` must be a finite number >= 0"),
        (dict(z_loss=float("nan")), LossBridgeError, r"`z_loss` must be a finite number >= 0"),
        (dict(softcap=0.0), LossBridgeError, r"`softcap` must be None or a finite number > 0, got 0.0"),
        (dict(softcap=-3), LossBridgeError, r"`softcap` must be None or a finite number > 0"),
        (dict(softcap=float("inf")), LossBridgeError, r"`softcap`"),
        (dict(chunk_size=0), LossBridgeError, r"`chunk_size` must be None \(automatic\) or a positive int"),
        (dict(chunk_size=2.5), LossBridgeTypeError, r"`chunk_size` must be None or a positive int"),
        (dict(chunk_size=True), LossBridgeTypeError, r"`chunk_size`"),
        (dict(ignore_index=1.5), LossBridgeTypeError, r"`ignore_index` must be a Python int"),
        (dict(return_lse="yes"), LossBridgeTypeError, r"`return_lse` must be True or False"),
        (dict(reduction="none", num_items_in_batch=3), LossBridgeError, r"`num_items_in_batch` was given with reduction='none'"),
        (dict(num_items_in_batch=0), LossBridgeError, r"`num_items_in_batch` must be > 0.*got 0"),
        (dict(num_items_in_batch=-2.0), LossBridgeError, r"`num_items_in_batch` must be > 0"),
        (dict(num_items_in_batch=torch.tensor(0)), LossBridgeError, r"`num_items_in_batch` must be > 0"),
        (dict(num_items_in_batch=torch.tensor([3, 4])), LossBridgeError, r"a number or a 0-d array"),
        (dict(num_items_in_batch="3"), LossBridgeTypeError, r"`num_items_in_batch` must be a positive number"),
    ],
)
def test_error_paths(over, exc, match):
    with pytest.raises(exc, match=match):
        call(**over)


def test_errors_are_lossbridge_errors_and_builtin_types():
    with pytest.raises(TypeError):
        call(input=np.ones((4, 3)))
    with pytest.raises(ValueError):
        call(reduction="avg")
    with pytest.raises(RuntimeError):
        call(class_weight=torch.rand(5, requires_grad=True))


@pytest.mark.parametrize(
    "target,value,pos",
    [
        (torch.tensor([0, 1, 5, -100]), 5, "position 2"),
        (torch.tensor([0, -1, 2, 3]), -1, "position 1"),
        (torch.tensor([0, 1, 2, 3], dtype=torch.int32) * 3, 6, "position 2"),
    ],
)
def test_out_of_range_target_names_value_position_and_range(target, value, pos):
    with pytest.raises(LossBridgeIndexError, match=rf"class index {value} at {pos}, outside the valid range \[0, 5\)") as info:
        call(target=target)
    assert isinstance(info.value, IndexError)
    assert "ignore_index=-100" in str(info.value)


def test_out_of_range_position_in_nd_target():
    h = torch.randn(2, 3, 4)
    t = torch.zeros(2, 3, dtype=torch.long)
    t[1, 2] = 99
    with pytest.raises(LossBridgeIndexError, match=r"class index 99 at position \(1, 2\)"):
        linear_cross_entropy(h, torch.randn(7, 4), t)


def test_ignore_index_inside_the_class_range_is_not_an_error():
    out = call(target=torch.tensor([0, 1, 4, 2]), ignore_index=2, reduction="none")
    assert float(out[3]) == 0.0


def test_import_lossbridge_imports_no_framework():
    code = textwrap.dedent(
        """
        import sys
        import lossbridge, lossbridge.fused
        assert "torch" not in sys.modules, "torch imported"
        assert "jax" not in sys.modules, "jax imported"
        import torch
        from lossbridge.fused import linear_cross_entropy
        linear_cross_entropy(torch.randn(3, 2), torch.randn(4, 2), torch.tensor([0, 1, 3]))
        assert "jax" not in sys.modules, "jax imported by the torch path"
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_docstring_examples_run():
    for mod in (lossbridge.fused, lossbridge.fused._torch):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0
    assert doctest.testmod(lossbridge.fused).attempted >= 10
