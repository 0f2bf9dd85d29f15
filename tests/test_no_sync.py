"""No host synchronisation on accelerator tensors at the default check level (issue 12).

No GPU is lent to this project, so the accelerator path runs on the CPU: the tests put "cpu"
into ``lossbridge._deferred.ACCELERATOR_DEVICE_TYPES``, which makes lossbridge treat CPU
tensors exactly as it treats CUDA ones.  A ``TorchDispatchMode`` counts every operation that
reads a tensor's value on the host (``aten._local_scalar_dense``, behind ``.item()``,
``bool()``, ``int()``, ``float()``; ``aten.is_nonzero``; ``aten.equal``) during a loss call.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lossbridge as lb
from harness.backends import require

require("torch")
import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from lossbridge import _deferred  # noqa: E402

HOST_READS = {"_local_scalar_dense", "is_nonzero", "item", "equal"}


class CountHostReads(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.names: list[str] = []
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        self.names.append(func.overloadpacket.__name__)
        if func.overloadpacket.__name__ in HOST_READS:
            self.reads.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.fixture
def accelerator(monkeypatch):
    """CPU tensors treated as accelerator tensors; no check left pending afterwards."""
    monkeypatch.setattr(_deferred, "ACCELERATOR_DEVICE_TYPES", {"cpu"})
    _deferred._PENDING.clear()
    _deferred._STAGED.clear()
    yield
    _deferred._PENDING.clear()
    _deferred._STAGED.clear()


def _reads(fn):
    with CountHostReads() as mode:
        out = fn()
    return out, mode


R = np.random.default_rng(0)
X = torch.tensor(R.normal(size=(16, 5)), dtype=torch.float32, requires_grad=True)
T = torch.tensor(R.integers(0, 5, 16))
SEG_X = torch.tensor(R.normal(size=(2, 5, 4, 4)), dtype=torch.float32)
SEG_T = torch.tensor(R.integers(0, 5, (2, 4, 4)))
F = lb.torch.functional

CALLS = {
    "cross_entropy": lambda: F.cross_entropy(X, T),
    "cross_entropy ignore_index": lambda: F.cross_entropy(X, T, ignore_index=2),
    "cross_entropy weight + smoothing": lambda: F.cross_entropy(
        X, T, weight=torch.arange(1.0, 6.0), label_smoothing=0.1),
    "cross_entropy segmentation": lambda: F.cross_entropy(SEG_X, SEG_T),
    "CrossEntropyLoss": lambda: lb.torch.CrossEntropyLoss()(X, T),
    "nll_loss": lambda: F.nll_loss(torch.log_softmax(X, 1), T),
    "NLLLoss sum": lambda: lb.torch.NLLLoss(reduction="sum")(torch.log_softmax(X, 1), T),
    "mse_loss": lambda: F.mse_loss(X, X.detach() + 1),
    "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(
        X, (X.detach() > 0).float()),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(
        torch.sigmoid(X), (X.detach() > 0).float()),
    "keras SparseCategoricalCrossentropy": lambda: lb.keras.SparseCategoricalCrossentropy(
        from_logits=True)(T, X),
    "keras BinaryCrossentropy": lambda: lb.keras.BinaryCrossentropy()(
        (X.detach() > 0).float(), torch.sigmoid(X)),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_default_level_reads_nothing_on_accelerator_tensors(name, accelerator):
    out, mode = _reads(CALLS[name])
    assert mode.ops > 0  # the mode saw the call's operations
    assert mode.reads == [], f"{name}: host reads {mode.reads}"
    # and the value is torch's
    with lb.checks("off"):
        _deferred.ACCELERATOR_DEVICE_TYPES.clear()
        expected = CALLS[name]()
    torch.testing.assert_close(out, expected)


def _every_loss_inputs(name):
    """Inputs of every torch-dialect functional loss (N=16, C=5), the prediction first."""
    x = X.detach()
    p = torch.softmax(x, 1)
    onehot = torch.nn.functional.one_hot(T, 5).float()
    multilabels = torch.full((16, 5), -1)
    multilabels[:, :2] = torch.stack([T, (T + 1) % 5], 1)
    sign = torch.where(T % 2 == 0, 1.0, -1.0)
    table = {
        "cross_entropy": (x, T), "nll_loss": (torch.log_softmax(x, 1), T),
        "binary_cross_entropy": (torch.sigmoid(x), onehot),
        "binary_cross_entropy_with_logits": (x, onehot),
        "mse_loss": (x, p), "l1_loss": (x, p), "huber_loss": (x, p), "smooth_l1_loss": (x, p),
        "poisson_nll_loss": (x, p), "gaussian_nll_loss": (x, p, p + 0.5),
        "kl_div": (torch.log_softmax(x, 1), p),
        "soft_margin_loss": (x, 2 * onehot - 1), "hinge_embedding_loss": (x, 2 * onehot - 1),
        "multilabel_soft_margin_loss": (x, onehot), "multi_margin_loss": (x, T),
        "multilabel_margin_loss": (x, multilabels),
        "margin_ranking_loss": (x[:, 0], x[:, 1], sign),
        "cosine_embedding_loss": (x, p, sign), "triplet_margin_loss": (x, p, onehot),
        "triplet_margin_with_distance_loss": (x, p, onehot),
    }
    args = table[name]
    return (args[0].clone().requires_grad_(), *args[1:])


#: Not here: ``ctc_loss`` (torch's own kernel takes the lengths on the host, on CUDA too),
#: ``linear_cross_entropy`` (the fused loss: test_fused_loss_reads_nothing_on_accelerator_tensors
#: below), ``pairwise_distance`` (no loss: no check reads anything).
EVERY_LOSS = sorted(set(F.__all__) - {"ctc_loss", "linear_cross_entropy", "pairwise_distance"})
_KWARGS = {"kl_div": {"reduction": "batchmean"}}


def test_every_loss_list_is_complete():
    assert len(EVERY_LOSS) == 20 and all(_every_loss_inputs(n) for n in EVERY_LOSS)


@pytest.mark.parametrize("name", EVERY_LOSS)
def test_every_torch_loss_reads_nothing_on_accelerator_tensors(name, accelerator):
    """Forward and backward of each torch-dialect functional loss at the default level: no
    host read (torch's own gaussian_nll_loss reads the sign of var: lossbridge defers it), and
    torch's value and gradient (on the same tensors, through torch.nn.functional)."""
    args = _every_loss_inputs(name)
    kwargs = _KWARGS.get(name, {})

    def step():
        out = getattr(F, name)(*args, **kwargs)
        out.backward()
        return out.detach(), args[0].grad.clone()

    (value, grad), mode = _reads(step)
    assert mode.reads == [], f"{name}: host reads {mode.reads}"
    args[0].grad = None
    expected = getattr(torch.nn.functional, name)(*args, **kwargs)
    expected.backward()
    torch.testing.assert_close(value, expected.detach())
    torch.testing.assert_close(grad, args[0].grad)


_MM = "target out of range. multi_margin_loss:"
_MLM = "argument #2 'target' is out of range."


@pytest.mark.parametrize("name,bad,read_as,error,kwargs", [
    ("multi_margin_loss", 7, 0, _MM, {}),
    ("multi_margin_loss", -1, 0, _MM,
     {"p": 2, "margin": 0.5, "weight": torch.arange(1.0, 6.0), "reduction": "sum"}),
    ("multilabel_margin_loss", -2, -1, _MLM, {}),
    ("multilabel_margin_loss", 5, -1, _MLM, {"reduction": "none"}),
], ids=["multi_margin", "multi_margin-p2-weight-sum", "multilabel_margin",
        "multilabel_margin-none"])
def test_margin_label_out_of_range_raises_at_the_next_call(name, bad, read_as, error, kwargs,
                                                           accelerator):
    """A class index out of range on an accelerator: torch's kernel would end in a device-side
    assert (the CUDA context is lost); lossbridge computes with the label read as ``read_as``
    and raises torch's RuntimeError at the next call, without a flush (the call commits its
    deferred check even though it runs no diagnostics)."""
    x, target = _every_loss_inputs(name)[:2]
    broken = target.clone()
    broken.reshape(-1)[3] = bad
    out, mode = _reads(lambda: getattr(F, name)(x, broken, **kwargs))
    assert mode.reads == []
    read = broken.clone()
    read.reshape(-1)[3] = read_as
    torch.testing.assert_close(out, getattr(torch.nn.functional, name)(x, read, **kwargs))
    with pytest.raises(lb.LossBridgeRuntimeError) as e:
        getattr(F, name)(x, target, **kwargs)
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError) and msg.startswith(error)
    assert f"holds the label {bad} at position" in msg and "test_no_sync.py" in msg
    assert _deferred.pending() == 0
    with lb.checks("full"), pytest.raises(lb.LossBridgeRuntimeError, match=f"label {bad}"):
        getattr(F, name)(x, broken, **kwargs)


def test_bce_input_outside_unit_interval_raises_at_the_next_call(accelerator):
    """Logits passed to binary_cross_entropy: torch's CUDA kernel asserts on the device (the
    process loses its CUDA context); lossbridge computes those elements as 0.5 and raises
    torch's RuntimeError, with the fix, at a later call."""
    p = torch.sigmoid(X.detach()).clone().requires_grad_()
    y = (X.detach() > 0).float()
    logits = p.detach().clone()
    logits[1, 2] = 2.5
    logits[3, 0] = float("nan")
    out, mode = _reads(lambda: F.binary_cross_entropy(logits, y))
    assert mode.reads == []
    read = logits.clone()
    read[1, 2] = read[3, 0] = 0.5
    torch.testing.assert_close(out, torch.nn.functional.binary_cross_entropy(read, y))
    with pytest.raises(lb.LossBridgeRuntimeError) as e:
        F.binary_cross_entropy(p, y)
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError)
    assert msg.startswith("all elements of input should be between 0 and 1.")
    assert "holds 2.5 at position [1, 2] (2 values outside [0, 1])" in msg
    assert "binary_cross_entropy_with_logits" in msg and "test_no_sync.py" in msg
    assert _deferred.pending() == 0
    with lb.checks("full"), pytest.raises(lb.LossBridgeRuntimeError, match=r"holds 2\.5"):
        F.binary_cross_entropy(logits, y)


def test_gaussian_negative_var_raises_at_the_next_call(accelerator):
    """torch's gaussian_nll_loss tests var's sign with a host read; on accelerators lossbridge
    counts the negative entries on the device, computes with them clamped to eps (torch's
    formula) and raises torch's ValueError at a later call."""
    x, target, var = _every_loss_inputs("gaussian_nll_loss")
    var = var.clone()
    var[2, 1] = -0.5
    var[4, 0] = -1.0
    out, mode = _reads(lambda: F.gaussian_nll_loss(x, target, var))
    assert mode.reads == []
    expected = torch.nn.functional.gaussian_nll_loss(x, target, var.clamp(min=1e-6))
    torch.testing.assert_close(out, expected)
    with pytest.raises(lb.LossBridgeError) as e:
        F.cross_entropy(X, T)  # any later call that checks raises it
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert msg.startswith("var has negative entry/entries.")
    assert "2 negative values, the first -0.5 at position [2, 1]" in msg
    assert "test_no_sync.py" in msg and "clamped them to eps=1e-06" in msg
    with lb.checks("full"), pytest.raises(lb.LossBridgeError, match="var has negative"):
        F.gaussian_nll_loss(x, target, var)
    assert _deferred.pending() == 0


@pytest.mark.parametrize("kwargs", [{}, {"full": True, "reduction": "sum"}, {"reduction": "none",
                                                                           "eps": 1e-3}])
def test_gaussian_accelerator_path_edges_match_torch(kwargs, accelerator):
    """gaussian_nll_loss's accelerator path (torch's own lines without the host read): var at
    0, below eps, infinite, and input/target at inf give torch's values and gradients with
    respect to input and var."""
    x, target, var = (a.detach().clone() for a in _every_loss_inputs("gaussian_nll_loss"))
    var[0, :4] = torch.tensor([0.0, 1e-9, float("inf"), 1e-4])
    x[1, 0] = float("inf")
    grads = []
    for fn in (F.gaussian_nll_loss, torch.nn.functional.gaussian_nll_loss):
        xi, vi = x.clone().requires_grad_(), var.clone().requires_grad_()
        out = fn(xi, target, vi, **kwargs)
        out.sum().backward()
        grads.append((out.detach(), xi.grad, vi.grad))
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs, equal_nan=True)
    assert _deferred.pending() == 1
    lb.checks.flush()


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "mse_loss", "multi_margin_loss",
                                  "gaussian_nll_loss", "binary_cross_entropy"])
def test_deferred_checks_copy_a_few_numbers_not_the_arrays(name, accelerator):
    """Each deferred check copies at most three numbers to the host (a copy of the labels or
    targets on every call would cost the device a transfer per step); a regression loss
    defers nothing (binary_cross_entropy defers its input's range check)."""
    args = _every_loss_inputs(name)
    getattr(F, name)(*args)
    copies = [c for p in _deferred._PENDING + _deferred._STAGED for c in p.copies.values()]
    assert all(c.numel() <= 3 for c in copies), [tuple(c.shape) for c in copies]
    if name == "mse_loss":
        assert copies == []


@pytest.mark.parametrize("device", ["cpu", "accelerator"])
def test_kl_targets_are_neither_read_nor_copied_at_the_default_level(device, monkeypatch):
    """LB006 (log-probabilities as a KL target) is a "full" detector: at the default level a
    KL call reads nothing on the host and copies nothing, on CPU tensors too (torch's and
    Keras' KL).  At "full", LB006 is found."""
    if device == "accelerator":
        monkeypatch.setattr(_deferred, "ACCELERATOR_DEVICE_TYPES", {"cpu"})
    _deferred._PENDING.clear()
    _deferred._STAGED.clear()
    logp = torch.log_softmax(X.detach(), 1)
    p = torch.softmax(X.detach() * 2, 1)
    calls = [lambda: F.kl_div(logp, p, reduction="batchmean"),
             lambda: F.kl_div(logp, logp, reduction="sum"),
             lambda: lb.keras.KLDivergence()(p, torch.softmax(X.detach(), 1))]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _, mode = _reads(call)
        assert mode.reads == []
        assert _deferred.pending() == 0
    with lb.checks("full"), pytest.warns(lb.LossBridgeDomainWarning, match="LB006"):
        F.kl_div(logp, logp, reduction="batchmean")


def test_the_host_reads_are_counted_on_cpu_tensors():
    """The counter counts: on CPU tensors the checks read on the host at once (a NaN test of
    the mean), and torch's own .item() is one read."""
    _, mode = _reads(lambda: torch.ones(3).sum().item())
    assert len(mode.reads) == 1
    _, mode = _reads(lambda: F.cross_entropy(X, T))
    assert mode.reads, "the CPU path reads the result's NaN flag"


def test_out_of_range_label_raises_at_the_next_call(accelerator):
    bad = T.clone()
    bad[3] = 7
    out, mode = _reads(lambda: F.cross_entropy(X, bad))
    assert mode.reads == []
    # the call that had the bad label ignored it (no device-side assert) ...
    with lb.checks("off"):
        _deferred.ACCELERATOR_DEVICE_TYPES.clear()
        keep = torch.ones(16, dtype=torch.bool)
        keep[3] = False
        expected = torch.nn.functional.cross_entropy(X[keep], T[keep])
        _deferred.ACCELERATOR_DEVICE_TYPES.add("cpu")
    torch.testing.assert_close(out, expected)
    # ... and the next call raises torch's IndexError text, the label, and the earlier call's line
    with pytest.raises(lb.LossBridgeIndexError) as e:
        F.cross_entropy(X, T)
    msg = str(e.value)
    assert isinstance(e.value, IndexError)
    assert msg.startswith("Target 7 is out of bounds.")
    assert "test_no_sync.py" in msg and "position [3]" in msg and "[0, 4]" in msg


def test_flush_raises_the_pending_error_now(accelerator):
    bad = T.clone()
    bad[0] = -3
    F.nll_loss(torch.log_softmax(X, 1), bad)
    assert _deferred.pending() >= 1
    with pytest.raises(lb.LossBridgeIndexError, match="Target -3 is out of bounds"):
        lb.checks.flush()
    lb.checks.flush()  # the call's other checks (its labels' warnings) find nothing more
    assert _deferred.pending() == 0


def test_all_ignored_warning_is_deferred_too(accelerator):
    ignored = torch.full((16,), -100)
    _, mode = _reads(lambda: F.cross_entropy(X, ignored))
    assert mode.reads == []
    with pytest.warns(lb.LossBridgeTargetWarning, match=r"LB016: \(in the loss call at .*test_no_sync"):
        lb.checks.flush()


def test_full_level_checks_at_once_on_accelerators(accelerator):
    bad = T.clone()
    bad[1] = 9
    with lb.checks("full"), pytest.raises(lb.LossBridgeIndexError, match="Target 9"):
        F.cross_entropy(X, bad)
    assert _deferred.pending() == 0


def test_cpu_tensors_keep_immediate_errors():
    bad = T.clone()
    bad[5] = 5
    with pytest.raises(lb.LossBridgeIndexError) as e:
        F.cross_entropy(X, bad)
    assert str(e.value).startswith("Target 5 is out of bounds.")
    assert "position [5]" in str(e.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.cross_entropy(X, T)  # no warning on a correct call


def test_index_target_calls_have_no_shape_findings():
    """The fast path of cross_entropy / nll_loss runs the diagnostics hook only when the mean
    is NaN (LB016): that is right only while no other cheap finding exists for an index
    target, which this test keeps true over shapes and options (through the checked path,
    which always runs the hook)."""
    from lossbridge import _diagnostics

    _diagnostics._PROFILES.clear()
    _diagnostics._SHAPE_FINDINGS.clear()
    r = np.random.default_rng(1)
    for shape in [(5,), (4, 5), (2, 5, 3), (2, 5, 3, 2)]:
        x = r.normal(size=shape)
        t = r.integers(0, 5, shape[:1] + shape[2:]) if len(shape) > 1 else np.array(2)
        for kwargs in ({}, {"ignore_index": 1}, {"reduction": "sum"}, {"label_smoothing": 0.2},
                       {"weight": np.arange(1.0, 6.0)}):
            F.cross_entropy(x, t, **kwargs)
            if "label_smoothing" not in kwargs:
                F.nll_loss(x, t, **kwargs)
    keys = [k for k in _diagnostics._SHAPE_FINDINGS if k[0] in ("torch:cross_entropy", "torch:nll_loss")]
    assert len(keys) >= 30
    assert all(_diagnostics._SHAPE_FINDINGS[k] == [] for k in keys)


# ------------------------------------------------------- the class-index fast path on accelerators

_INDEX_OPTIONS = [
    {}, {"ignore_index": 2}, {"reduction": "sum"}, {"reduction": "none"},
    {"weight": torch.arange(1.0, 6.0)}, {"weight": torch.arange(1.0, 6.0), "ignore_index": 0},
    {"label_smoothing": 0.2}, {"label_smoothing": 0.1, "weight": torch.arange(1.0, 6.0),
                               "reduction": "sum"},
]


def _index_inputs(name, shape, dtype):
    r = np.random.default_rng(len(shape))
    x = torch.tensor(r.normal(size=shape), dtype=dtype)
    if name == "nll_loss":
        x = torch.log_softmax(x, 1 if x.dim() > 1 else 0)
    t = torch.tensor(r.integers(0, 5, shape[:1] + shape[2:] if len(shape) > 1 else ()))
    return x.requires_grad_(), t


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(16, 5), (5,), (2, 5, 3, 4)], ids=["2d", "unbatched", "seg"])
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_index_fast_path_values_gradients_and_bad_labels(name, shape, dtype, accelerator):
    """cross_entropy / nll_loss on accelerator tensors take one path (the label pass
    ``_checks.device_label_pass``, the kernel, one deferred copy): over options, shapes and
    dtypes, torch's value and gradient, no host read, a label out of range ignored by that
    call and raised (torch's IndexError text, the label, its position, the call's line) at the
    next call."""
    for kwargs in _INDEX_OPTIONS:
        if name == "nll_loss" and "label_smoothing" in kwargs:
            continue
        x, t = _index_inputs(name, shape, dtype)
        kwargs = {k: v.to(dtype) if torch.is_tensor(v) else v for k, v in kwargs.items()}

        def step(x=x, t=t, kwargs=kwargs):
            out = getattr(F, name)(x, t, **kwargs)
            out.sum().backward()
            return out.detach(), x.grad.clone()

        (value, grad), mode = _reads(step)
        assert mode.reads == [], (kwargs, mode.reads)
        x.grad = None
        expected = getattr(torch.nn.functional, name)(x, t, **kwargs)
        expected.sum().backward()
        torch.testing.assert_close(value, expected.detach())
        torch.testing.assert_close(grad, x.grad)
        assert _deferred.pending() == 1  # one deferred check per call
        lb.checks.flush()

        bad = t.clone()
        bad.reshape(-1)[-1] = 7 if t.dim() == 0 else -3
        value, mode = _reads(lambda bad=bad, x=x, kwargs=kwargs: getattr(F, name)(x, bad, **kwargs))
        assert mode.reads == []
        ignore = kwargs.get("ignore_index", -100)
        read = bad.clone()
        read.reshape(-1)[-1] = ignore
        torch.testing.assert_close(value, getattr(torch.nn.functional, name)(x, read, **kwargs),
                                   equal_nan=True)
        with pytest.raises(lb.LossBridgeIndexError) as e:
            getattr(F, name)(x, t, **kwargs)
        msg = str(e.value)
        label = int(bad.reshape(-1)[-1])
        assert msg.startswith(f"Target {label} is out of bounds.") and "ignored these labels" in msg
        assert "test_no_sync.py" in msg and f"holds the label {label}" in msg
        position = [int(i) for i in np.unravel_index(bad.numel() - 1, tuple(bad.shape))]
        assert (f"position {position}" in msg) == bool(position)
        lb.checks.flush()


#: The operations each accelerator fast path adds to torch's kernels (``detach`` is no
#: launch; on a device each deferred check adds one copy, a no-op on these CPU tensors).
_ADDED_LAUNCHES = {
    "cross_entropy": ["clamp", "ne", "masked_fill", "ne", "sum", "stack"],
    "nll_loss": ["clamp", "ne", "masked_fill", "ne", "sum", "stack"],
    "multi_margin_loss": ["clamp", "ne", "masked_fill", "sum"],
    "multilabel_margin_loss": ["clamp", "ne", "masked_fill", "sum"],
    "binary_cross_entropy": ["clamp", "ne", "masked_fill", "sum"],
    # torch's own function: lt, any and a host read; lossbridge: lt and a sum, deferred
    "gaussian_nll_loss": ["sum", "-any", "-_local_scalar_dense"],
}


@pytest.mark.parametrize("name", sorted(_ADDED_LAUNCHES))
def test_accelerator_fast_paths_add_a_few_launches_and_one_copy(name, accelerator):
    """The losses with a deferred check take a fast path on accelerator tensors: the check's
    few launches beside torch's kernel, one deferred copy of at most two numbers, nothing read.
    A regression to the validating path (cross_entropy: seven more operations and two copies)
    fails here."""
    args = _every_loss_inputs(name)

    def launches(fn):
        with CountHostReads() as mode:
            fn(*args)
        return mode, [op for op in mode.names if op != "detach"]

    mode, ours = launches(getattr(F, name))
    _, native = launches(getattr(torch.nn.functional, name))
    assert mode.reads == []
    expected = list(native)
    for op in _ADDED_LAUNCHES[name]:
        if op.startswith("-"):
            expected.remove(op[1:])
        else:
            expected.append(op)
    assert sorted(ours) == sorted(expected), (ours, native)
    copies = [c for p in _deferred._STAGED + _deferred._PENDING for c in p.copies.values()]
    assert len(copies) == 1 and copies[0].numel() <= 2


@pytest.mark.parametrize("name", sorted(_ADDED_LAUNCHES))
def test_accelerator_fast_paths_under_compile_autocast_and_vmap(name, accelerator):
    """On accelerator tensors: ``torch.compile(fullgraph=True)`` traces (the fast path steps
    aside while compiling: nothing can be deferred from a graph), ``torch.autocast`` gives
    torch's value (the kernel bindings dispatch through autocast), and ``torch.func.vmap``
    (wrapped tensors take the validating path) gives torch's per-sample values."""
    args = _every_loss_inputs(name)
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    ours(*args)  # an eager call leaves its check pending: the trace must not run it
    assert _deferred.pending() == 1
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(*args), theirs(*args))
    assert _deferred.pending() == 1  # nothing deferred from a trace, nothing run in it
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = args[0] * 1.0 if name == "binary_cross_entropy" else args[0]
        torch.testing.assert_close(ours(x, *args[1:]), theirs(x, *args[1:]))
    batched = [a.detach().unsqueeze(0).expand(3, *a.shape) for a in args]
    # (torch's gaussian_nll_loss does not vmap or compile: its sign test of var is
    # data-dependent control flow; lossbridge's traces, against torch's per sample)
    per_sample = torch.stack([theirs(*(a[i] for a in batched)) for i in range(3)])
    torch.testing.assert_close(torch.func.vmap(ours)(*batched), per_sample)
    lb.checks.flush()


def test_a_check_pending_before_a_compiled_call_raises_at_the_next_eager_call(accelerator):
    """An eager call with a bad label, then compiled calls (``fullgraph=True``: the trace and
    the compiled graph run no deferred check), then an eager call: that one raises."""
    bad = T.clone()
    bad[4] = 11
    F.cross_entropy(X, bad)
    torch._dynamo.reset()
    compiled = torch.compile(lambda x, t: F.cross_entropy(x, t), fullgraph=True, backend="eager")
    for _ in range(2):
        compiled(X, T)
    with pytest.raises(lb.LossBridgeIndexError, match="Target 11 is out of bounds"):
        F.cross_entropy(X, T)


@pytest.mark.parametrize("name", sorted(_ADDED_LAUNCHES))
@given(data=st.data())
def test_accelerator_fast_paths_match_torch_on_random_inputs(name, data):
    """Hypothesis: each loss with an accelerator fast path, on random shapes, options, dtypes
    and labels (a few out of range), gives torch's value and gradient on the inputs torch
    would accept (the bad labels read as the path documents), reads nothing on the host, and
    raises torch's error type at the flush exactly when something was out of range."""
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    n = data.draw(st.integers(1, 6), label="N")
    c = data.draw(st.integers(1, 5), label="C")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=dtype)
    kwargs: dict = {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]))}
    bad_frac = data.draw(st.sampled_from([0.0, 0.0, 0.3]), label="bad fraction")
    picks = torch.rand(n, generator=g) < bad_frac
    if name in ("cross_entropy", "nll_loss"):
        if name == "nll_loss":
            x = torch.log_softmax(x, 1)
        ignore = data.draw(st.sampled_from([-100, 0, c - 1]), label="ignore_index")
        kwargs["ignore_index"] = ignore
        if data.draw(st.booleans(), label="weight"):
            kwargs["weight"] = torch.rand(c, generator=g, dtype=dtype) + 0.1
        if name == "cross_entropy" and data.draw(st.booleans(), label="smoothing"):
            kwargs["label_smoothing"] = 0.2
        t = torch.randint(0, c, (n,), generator=g)
        t[torch.rand(n, generator=g) < 0.2] = ignore
        args = [x, t.masked_fill(picks, c + 3)]
        read = [x, args[1].masked_fill(picks, ignore)]
        error = IndexError
    elif name == "multi_margin_loss":
        kwargs["p"] = data.draw(st.sampled_from([1, 2]), label="p")
        t = torch.randint(0, c, (n,), generator=g)
        args = [x, t.masked_fill(picks, -2)]
        read = [x, t.masked_fill(picks, 0)]
        error = RuntimeError
    elif name == "multilabel_margin_loss":
        t = torch.randint(-1, c, (n, c), generator=g)
        args = [x, t.masked_fill(picks[:, None] & (torch.arange(c) == 0), c)]
        read = [x, args[1].masked_fill(args[1] == c, -1)]
        error = RuntimeError
    elif name == "binary_cross_entropy":
        p = torch.rand(n, c, generator=g, dtype=dtype)
        y = torch.rand(n, c, generator=g, dtype=dtype)
        args = [p.masked_fill(picks[:, None], 1.5), y]
        read = [p.masked_fill(picks[:, None], 0.5), y]
        error = RuntimeError
    else:
        var = torch.rand(n, c, generator=g, dtype=dtype)
        kwargs["full"] = data.draw(st.booleans(), label="full")
        args = [x, torch.randn(n, c, generator=g, dtype=dtype), var.masked_fill(picks[:, None], -1.0)]
        read = [args[0], args[1], var.masked_fill(picks[:, None], 1e-6)]
        error = ValueError
    saved = set(_deferred.ACCELERATOR_DEVICE_TYPES)
    _deferred.ACCELERATOR_DEVICE_TYPES.add("cpu")
    try:
        _deferred._PENDING.clear()
        _deferred._STAGED.clear()
        ours_in = args[0].clone().requires_grad_()
        with CountHostReads() as mode:
            out = getattr(F, name)(ours_in, *args[1:], **kwargs)
            out.sum().backward()
        assert mode.reads == []
        theirs_in = read[0].clone().requires_grad_()
        expected = getattr(torch.nn.functional, name)(theirs_in, *read[1:], **kwargs)
        expected.sum().backward()
        tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
        torch.testing.assert_close(out.detach(), expected.detach(), equal_nan=True, **tol)
        if name != "binary_cross_entropy":  # BCE: the replaced elements pass no gradient
            torch.testing.assert_close(ours_in.grad, theirs_in.grad, equal_nan=True, **tol)
        all_ignored = ("ignore_index" in kwargs and kwargs["reduction"] == "mean"
                       and bool((args[1] == kwargs["ignore_index"]).all()))
        if bool(picks.any()):
            with pytest.raises(error):
                lb.checks.flush()
        elif all_ignored:  # LB016, at the flush
            with pytest.warns(lb.LossBridgeTargetWarning, match="LB016"):
                lb.checks.flush()
        else:
            lb.checks.flush()
    finally:
        _deferred.ACCELERATOR_DEVICE_TYPES.clear()
        _deferred.ACCELERATOR_DEVICE_TYPES.update(saved)
        _deferred._PENDING.clear()
        _deferred._STAGED.clear()


class _LateEvent:
    """A CUDA event stand-in that completes after its first query: an earlier call's copy that
    finishes while the next call is running."""

    def __init__(self) -> None:
        self.queries = 0

    def query(self) -> bool:
        self.queries += 1
        return self.queries > 1

    def synchronize(self) -> None:
        pass


@pytest.mark.parametrize("name", sorted(_ADDED_LAUNCHES))
def test_an_earlier_check_completing_mid_call_does_not_drop_this_calls_check(name,
                                                                            accelerator):
    """The earlier calls' checks run once, before a call's work: an earlier copy that completes
    while the call runs waits for the next call, and this call's own check is staged (an
    earlier error raised after the kernel would drop it)."""
    args = list(_every_loss_inputs(name))
    bad_at = {"cross_entropy": (1, 9), "nll_loss": (1, 9), "multi_margin_loss": (1, 9),
              "multilabel_margin_loss": (1, 9), "binary_cross_entropy": (0, 1.5),
              "gaussian_nll_loss": (2, -1.0)}[name]
    broken = args[bad_at[0]].detach().clone()
    broken.reshape(-1)[0] = bad_at[1]
    args[bad_at[0]] = broken

    def earlier(copies, where):
        raise lb.LossBridgeError("the earlier call's error")

    _deferred._PENDING.append(_deferred.Pending(earlier, {}, _LateEvent(), "earlier"))
    getattr(F, name)(*args)  # computes; its own check is staged
    assert _deferred.pending() == 2
    with pytest.raises(lb.LossBridgeError, match="the earlier call's error"):
        lb.checks.flush()
    with pytest.raises(lb.LossBridgeError, match=str(bad_at[1])):
        lb.checks.flush()
    assert _deferred.pending() == 0


#: Not gaussian_nll_loss: torch's own function has no Tensor check there; its arithmetic
#: meets the NumPy array (a RuntimeError when input requires grad, a result otherwise), while
#: lossbridge refuses it with the TypeError below on every path (README, "Labels straight from
#: a NumPy data pipeline").
@pytest.mark.parametrize("name", sorted(set(_ADDED_LAUNCHES) - {"gaussian_nll_loss"}))
def test_numpy_arrays_beside_accelerator_tensors_raise_torchs_type_error(name, accelerator):
    """A NumPy array beside an accelerator tensor (labels straight from a data pipeline): the
    fast path steps aside and torch's own error type follows (a TypeError), nothing deferred."""
    args = list(_every_loss_inputs(name))
    args[1] = args[1].detach().numpy()
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn.functional, name)(*args)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(F, name)(*args)
    assert isinstance(ours.value, lb.LossBridgeError)
    if isinstance(theirs.value, TypeError):  # torch's text varies ("'int' object is not
        # callable" for binary_cross_entropy); lossbridge's names the argument and the fix
        assert "must be Tensor, not numpy.ndarray" in str(ours.value)
        assert "torch.as_tensor" in str(ours.value)
    assert _deferred.pending() == 0


@pytest.mark.parametrize("name,args,kwargs,error", [
    ("multi_margin_loss", "2d", {"p": 3}, "only p == 1 and p == 2 supported"),
    ("multi_margin_loss", "2d", {"weight": torch.ones(4)}, "inconsistent weight size"),
    ("multilabel_margin_loss", "2d", {"reduction": "average"}, "reduction"),
    ("binary_cross_entropy", "float64 target", {}, "Found dtype Double but expected Float"),
    ("cross_entropy", "2d", {"weight": torch.ones(4)}, "weight"),
    ("nll_loss", "2d", {"weight": torch.ones(5, dtype=torch.float64)}, "weight"),
])
def test_accelerator_fast_path_errors_are_immediate_and_leave_no_check(name, args, kwargs,
                                                                     error, accelerator):
    """A call the kernel refuses (on the host) raises at once through the validating path's
    words, and leaves no deferred check behind for the failed call."""
    x, target = _every_loss_inputs(name)[:2]
    if args == "float64 target":
        target = target.double()
    with pytest.raises(lb.LossBridgeError, match=error):
        getattr(F, name)(x, target, **kwargs)
    assert _deferred.pending() == 0


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_index_fast_path_all_ignored_warns_later(name, accelerator):
    ignored = torch.full((16,), 3)
    x = torch.log_softmax(X, 1) if name == "nll_loss" else X
    out, mode = _reads(lambda: getattr(F, name)(x, ignored, ignore_index=3))
    assert mode.reads == [] and torch.isnan(out)
    with pytest.warns(lb.LossBridgeTargetWarning,
                      match=r"LB016: \(in the loss call at .*test_no_sync"):
        lb.checks.flush()
    # a NaN mean from the logits is not LB016, and a sum reduction defers only the count
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, name)(torch.full((16, 5), float("nan")), T)
        getattr(F, name)(x, ignored, ignore_index=3, reduction="sum")
        lb.checks.flush()


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_index_fast_path_bad_shapes_raise_at_once_and_defer_nothing(name, accelerator):
    """A batch-size mismatch raises at once, in lossbridge's words (the kernel's error is
    reworded by the validating path), and leaves no deferred check of the failed call."""
    with pytest.raises(lb.LossBridgeError, match=r"batch|size|shape") as e:
        getattr(F, name)(X, T[:7])
    assert "(16, 5)" in str(e.value) or "16" in str(e.value)
    assert _deferred.pending() == 0


@pytest.mark.parametrize("case", ["uint8 target", "float target", "full", "off", "weight list",
                                  "deprecated reduce", "function mode"])
def test_index_calls_off_the_fast_path_keep_their_semantics(case, accelerator):
    """Calls the accelerator fast path does not take (other label dtypes, probabilities, the
    other levels, Python weights, size_average/reduce, a TorchFunctionMode) compute torch's
    value through the validating path (or torch's Python function), without host reads at
    the default level."""
    kwargs: dict = {}
    target = T
    level = "cheap"
    if case == "uint8 target":
        target = T.to(torch.uint8)
    elif case == "float target":
        target = torch.softmax(X.detach() * 2, 1)
    elif case in ("full", "off"):
        level = case
    elif case == "weight list":
        kwargs = {"weight": [1.0, 2.0, 3.0, 4.0, 5.0]}
    elif case == "deprecated reduce":
        kwargs = {"reduce": False}
    with lb.checks(level), warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.LossBridgeWarning)  # the reduce= deprecation
        if case == "function mode":
            with torch.device("cpu"):
                out, mode = _reads(lambda: F.cross_entropy(X, target, **kwargs))
        else:
            out, mode = _reads(lambda: F.cross_entropy(X, target, **kwargs))
    if level == "cheap":
        assert mode.reads == []
    lb.checks.flush()
    expected_kwargs = dict(kwargs)
    if case == "weight list":
        expected_kwargs["weight"] = torch.tensor(kwargs["weight"])
    if case == "deprecated reduce":
        expected_kwargs = {"reduction": "none"}
    expected = torch.nn.functional.cross_entropy(X, target, **expected_kwargs)
    torch.testing.assert_close(out, expected)


# --------------------------------------------------------------------------- the fused head


def _fused_inputs():
    g = torch.Generator().manual_seed(7)
    h = torch.randn(24, 8, generator=g, requires_grad=True)
    W = torch.randn(30, 8, generator=g, requires_grad=True)
    b = torch.randn(30, generator=g, requires_grad=True)
    y = torch.randint(0, 30, (24,), generator=g)
    y[::5] = -100
    return h, W, b, y


@pytest.mark.parametrize("options", [
    {}, {"label_smoothing": 0.1, "z_loss": 1e-3}, {"reduction": "sum", "softcap": 5.0},
    {"reduction": "none"}, {"probabilities": True},
], ids=["mean", "smoothing", "sum", "none", "prob"])
def test_fused_loss_reads_nothing_on_accelerator_tensors(options, accelerator):
    """Forward and backward of lossbridge.fused.linear_cross_entropy: no host read (the range
    check is deferred, ignored tokens are not counted and dropped on the host, and the
    backward does not test the upstream gradient for 1.0)."""
    from lossbridge.fused import linear_cross_entropy

    h, W, b, y = _fused_inputs()
    kw = dict(options)
    if kw.pop("probabilities", False):
        y = torch.softmax(torch.randn(24, 30), 1)

    def step():
        loss = linear_cross_entropy(h, W, y, b, **kw)
        loss.sum().backward()
        return loss

    loss, mode = _reads(step)
    assert mode.reads == [] and mode.ops > 10
    grads = [t.grad.clone() for t in (h, W, b)]
    _deferred.ACCELERATOR_DEVICE_TYPES.clear()  # the same call on the CPU path
    for t in (h, W, b):
        t.grad = None
    ref, cpu = _reads(step)
    assert cpu.reads, "the CPU path drops ignored tokens after reading their count"
    torch.testing.assert_close(loss, ref)
    for got, t in zip(grads, (h, W, b), strict=True):
        torch.testing.assert_close(got, t.grad)


def test_fused_out_of_range_index_raises_at_the_next_call(accelerator):
    from lossbridge.fused import linear_cross_entropy

    h, W, b, y = _fused_inputs()
    bad = y.clone()
    bad[6] = 30
    fixed = bad.clone()
    fixed[6] = -100
    expected = linear_cross_entropy(h, W, fixed, b)
    out, mode = _reads(lambda: linear_cross_entropy(h, W, bad, b))
    assert mode.reads == []
    torch.testing.assert_close(out, expected)  # the call ignored the bad token (no device-side assert)
    with pytest.raises(lb.LossBridgeIndexError) as e:
        linear_cross_entropy(h, W, y, b)
    msg = str(e.value)
    assert "class index 30 at position 6" in msg and "test_no_sync.py" in msg and "ignored these labels" in msg
    assert _deferred.pending() == 0
    # lossbridge.checks("full") checks at once, with a host read.
    with lb.checks("full"), pytest.raises(lb.LossBridgeIndexError, match="class index 30"):
        linear_cross_entropy(h, W, bad, b)
    assert _deferred.pending() == 0
