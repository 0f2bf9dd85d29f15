"""torch dialect behaviour beyond the numbers: legacy arguments, warnings, module
attributes, and the checks made on the host before any device kernel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
from harness.conformance import check
from harness.oracle import Spec

T = lb.torch
F = lb.torch.functional
X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
TARGET = np.array([0, 2, 1, 2])


@pytest.mark.parametrize("size_average,reduce,expected", [
    (None, None, "mean"), (True, None, "mean"), (None, True, "mean"), (False, None, "sum"),
    (False, True, "sum"), (None, False, "none"), (True, False, "none"), (False, False, "none"),
])
def test_legacy_size_average_and_reduce(size_average, reduce, expected, torch_oracle, torch_backends):
    import torch

    for cls in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss"):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            obj = getattr(T, cls)(size_average=size_average, reduce=reduce)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            real = getattr(torch.nn, cls)(size_average=size_average, reduce=reduce)
        assert obj.reduction == real.reduction == expected
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
        assert all(issubclass(w.category, lb.LossBridgeWarning) for w in ours)
    if size_average is None and reduce is None:
        return
    spec = Spec("torch", "cross_entropy", kwargs={"size_average": size_average, "reduce": reduce})
    check(spec, [X, TARGET], [torch_oracle], torch_backends, wrt=(0,))


def test_elementwise_mean_is_a_deprecated_alias_with_a_warning(torch_oracle, torch_backends):
    with pytest.warns(lb.LossBridgeWarning, match="reduction='elementwise_mean' is deprecated"):
        out = F.cross_entropy(X, TARGET, reduction="elementwise_mean")
    assert float(out) == pytest.approx(float(F.cross_entropy(X, TARGET)))
    check(Spec("torch", "mse_loss", kwargs={"reduction": "elementwise_mean"}), [X, X * 0], [torch_oracle],
          torch_backends, wrt=(0,))


def test_size_mismatch_warning_text_is_torchs():
    import torch

    with pytest.warns(lb.LossBridgeWarning) as ours:
        T.MSELoss()(np.ones((3, 1)), np.ones(3))
    with pytest.warns(UserWarning) as theirs:
        torch.nn.MSELoss()(torch.ones(3, 1), torch.ones(3))
    ours_text, theirs_text = str(ours[0].message), str(theirs[0].message)
    assert ours_text.startswith(theirs_text.replace("torch.Size([3])", "[3]").replace("torch.Size([3, 1])", "[3, 1]"))
    assert "use input.squeeze(-1)" in ours_text
    # on torch tensors the message keeps torch's spelling, and torch's own warning is not repeated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        T.MSELoss()(torch.ones(3, 1), torch.ones(3))
    assert len(caught) == 1 and "torch.Size([3])" in str(caught[0].message)


def test_module_attributes_match_torch():
    import torch

    for cls, kwargs in [
        ("CrossEntropyLoss", {"weight": None, "ignore_index": 3, "label_smoothing": 0.2, "reduction": "sum"}),
        ("NLLLoss", {"ignore_index": -1, "reduction": "none"}),
        ("BCEWithLogitsLoss", {"reduction": "sum"}),
        ("BCELoss", {}), ("MSELoss", {"reduction": "sum"}), ("L1Loss", {}),
    ]:
        ours, theirs = getattr(T, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
        for attr in ("reduction", "ignore_index", "label_smoothing", "weight", "pos_weight"):
            assert getattr(ours, attr, "absent") == getattr(theirs, attr, "absent"), (cls, attr)


def test_out_of_range_target_is_checked_before_the_kernel_with_position():
    import torch

    target = torch.tensor([0, 2, 7, 2])
    with pytest.raises(lb.LossBridgeIndexError) as e:
        T.CrossEntropyLoss()(torch.tensor(X), target)
    msg = str(e.value)
    assert msg.startswith("Target 7 is out of bounds.") and "position [2]" in msg and "[0, 2]" in msg
    with pytest.raises(IndexError):  # a ported `except IndexError` still works
        F.nll_loss(X, np.array([0, -5, 1, 2]))
    # ignore_index values are not out of range, wherever they are
    F.cross_entropy(X, np.array([0, 255, 1, 2]), ignore_index=255)


def test_out_of_range_under_jit_gives_nan_not_a_number():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    out = jax.jit(lambda x, t: F.cross_entropy(x, t, reduction="none"))(jnp.asarray(X), jnp.asarray([0, 2, 7, -3]))
    out = np.asarray(out)
    assert np.isnan(out[2]) and np.isnan(out[3]) and np.isfinite(out[:2]).all()


def test_checks_off_skips_the_host_check_on_torch_tensors_only():
    import torch

    with lb._config._level("off"):
        with pytest.raises(IndexError):  # torch's kernel raises by itself on CPU
            T.CrossEntropyLoss()(torch.tensor(X), torch.tensor([0, 2, 7, 2]))
        with pytest.raises(lb.LossBridgeIndexError):  # NumPy has no kernel check: always checked
            T.CrossEntropyLoss()(X, np.array([0, 2, 7, 2]))


def test_probability_targets_and_weights_differ_from_index_targets():
    """Trap 3 of the torch reference: one-hot float targets + weight != index targets + weight."""
    w = np.array([1.0, 2.0, 3.0])
    index = float(F.cross_entropy(X, TARGET, weight=w))
    one_hot = float(F.cross_entropy(X, np.eye(3)[TARGET], weight=w))
    assert index == pytest.approx(1.232970, rel=1e-6) and one_hot == pytest.approx(2.774183, rel=1e-6)
