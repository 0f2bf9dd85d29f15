"""Custom losses written once (@lossbridge.loss, lossbridge.Loss): every array kind, autodiff,
Keras semantics against real Keras, torch semantics against torch, config, adapters, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from l1_mse import L1MSE  # examples/: the documented losses are the ones tested
from rmse import rmse

import lossbridge as lb
from harness.backends import (
    available_backends,
    installed,
    jax_context,
    to_backend,
    to_numpy,
    value_and_grad,
)
from harness.compare import assert_close

BACKENDS = available_backends()


class WeightedSquares(lb.Loss):
    """A loss holding an array: per-output weights."""

    def __init__(self, weights, scale=1.0):
        super().__init__()
        self.weights = weights
        self.scale = scale

    def call(self, y_pred, y_true):
        xp = lb.ops.namespace(y_pred, y_true)
        return self.scale * xp.sum(self.weights * (y_pred - y_true) ** 2, axis=-1)


@lb.loss
def softmax_ce(logits, labels, smoothing=0.0):
    """Cross-entropy with one-hot labels, through lossbridge.ops."""
    xp = lb.ops.namespace(logits, labels)
    n = logits.shape[-1]
    labels = labels * (1 - smoothing) + smoothing / n
    return -xp.sum(labels * lb.ops.log_softmax(logits, axis=-1), axis=-1)


def _data(seed=0, shape=(6, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.normal(size=shape)


def _reference(name, p, t):
    d = p - t
    if name == "rmse":
        return np.sqrt((d**2).mean(-1))
    if name == "l1mse":
        return 0.3 * np.abs(d).mean(-1) + 0.7 * (d**2).mean(-1)
    return (np.array([0.5, 1.0, 2.0, 0.0]) * d**2).sum(-1) * 2.0


LOSSES = {
    "rmse": rmse,
    "l1mse": L1MSE(alpha=0.3),
    "weighted": WeightedSquares(np.array([0.5, 1.0, 2.0, 0.0]), scale=2.0),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_runs_on_every_array_kind_with_gradients(name, dtype, backend):
    p, t = _data()
    custom = LOSSES[name]
    if name == "weighted":  # the held array must be of the call's kind
        custom = WeightedSquares(to_backend(np.array([0.5, 1.0, 2.0, 0.0]), backend, dtype), scale=2.0)
    value, (grad,) = value_and_grad(lambda a, b: custom(a, b), [p, t], backend, wrt=(0,),
                                    cotangent=3, dtype=dtype)
    assert_close(value, _reference(name, p, t), dtype, name)
    if backend != "numpy":
        # the VJP against central differences of the float64 reference
        from harness.backends import make_cotangent

        cot = make_cotangent(3, value.shape)
        eps = 1e-6
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            hi, lo = p.copy(), p.copy()
            hi[idx] += eps
            lo[idx] -= eps
            num[idx] = ((_reference(name, hi, t) - _reference(name, lo, t)) * cot).sum() / (2 * eps)
        assert_close(grad, num, dtype, f"{name} gradient", grad=True, scale=10)


def test_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    p, t = (jax.numpy.asarray(a, dtype="float32") for a in _data())
    for custom in (rmse, L1MSE(0.3), rmse.torch(), L1MSE(0.3).keras()):
        if isinstance(custom, lb.keras.Loss):
            def f(a, b, c=custom):
                return c(b, a)
        else:
            def f(a, b, c=custom):
                return c(a, b).sum()
        eager = f(p, t)
        np.testing.assert_allclose(jax.jit(f)(p, t), eager, rtol=1e-6)
        g = jax.jit(jax.grad(f))(p, t)
        np.testing.assert_allclose(g, jax.grad(f)(p, t), rtol=1e-5, atol=1e-7)
        assert g.shape == p.shape and np.all(np.isfinite(g))


def test_ops_inside_custom_losses_are_stable():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    labels = np.eye(3)[[0, 2]]
    np.testing.assert_allclose(softmax_ce(logits, labels), [0.0, np.log(3.0)], atol=1e-12)
    smoothed = softmax_ce.bind(smoothing=0.1)
    assert smoothed.get_config()["kwargs"] == {"smoothing": 0.1}
    assert np.isfinite(smoothed(logits, labels)).all()


# ------------------------------------------------------------------- Keras semantics

KERAS_NATIVE = """
import numpy as np
from keras import ops
from keras.src.losses.losses import LossFunctionWrapper
def rmse(y_true, y_pred):
    return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))
yp = ops.convert_to_tensor(y_pred)
if mask is not None:
    from keras.src.backend import set_keras_mask
    set_keras_mask(yp, ops.convert_to_tensor(mask))
loss = LossFunctionWrapper(rmse, reduction=reduction)
result = np.asarray(ops.convert_to_numpy(loss(y_true, yp, sample_weight=sample_weight)))
"""

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_keras_face_equals_real_keras(reduction, keras_oracles):
    """Every Keras reduction, with and without sample weights, with rank alignment
    ((N,) targets against (N, 1) predictions) and a mask, against keras 3 itself."""
    rng = np.random.default_rng(1)
    cases = [
        (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), None, None),
        (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.uniform(0, 2, size=(5,)), None),
        (rng.normal(size=(5,)), rng.normal(size=(5, 1)), rng.uniform(0, 2, size=(5, 1)), None),
        (rng.normal(size=(4, 6, 3)), rng.normal(size=(4, 6, 3)), rng.uniform(0, 2, size=(4, 6)),
         rng.uniform(size=(4, 6)) > 0.3),
    ]
    face = rmse.keras(reduction=reduction)
    for oracle in keras_oracles:
        for y_true, y_pred, sw, mask in cases:
            want = oracle.exec(KERAS_NATIVE, y_true=y_true.astype("float32"),
                               y_pred=y_pred.astype("float32"), sample_weight=sw, mask=mask,
                               reduction=reduction)
            if mask is not None:
                if not installed("torch"):
                    continue
                import torch

                yp = torch.tensor(y_pred, dtype=torch.float32)
                yp._keras_mask = torch.tensor(mask)
                got = face(torch.tensor(y_true), yp, sample_weight=torch.tensor(sw))
            else:
                got = face(y_true, y_pred, sample_weight=sw)
            assert_close(to_numpy(got), want, "float32", f"{oracle.name} {reduction}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_face_reductions(backend):
    p, t = _data(2)
    values = _reference("rmse", p, t)
    for reduction, want in (("mean", values.mean()), ("sum", values.sum()), ("none", values)):
        with jax_context("float64"):
            got = rmse.torch(reduction=reduction)(to_backend(p, backend), to_backend(t, backend))
            assert_close(to_numpy(got), want, "float64", reduction)
    assert float(rmse.torch()(p, t)) == pytest.approx(float(rmse.keras()(t, p)), rel=1e-6)
    with pytest.raises(lb.LossBridgeError, match="not a valid value for reduction"):
        rmse.torch(reduction="batchmean")


# ---------------------------------------------------------------------- configuration


def test_config_round_trips():
    from lossbridge._custom import custom_config, custom_from_config

    loss = L1MSE(alpha=0.3)
    assert loss.get_config() == {"alpha": 0.3}
    assert L1MSE.from_config(loss.get_config()).alpha == 0.3
    assert L1MSE().get_config() == {"alpha": 0.5}  # defaults are captured
    w = WeightedSquares(np.array([1.0, 2.0]), scale=3.0)
    config = json.loads(json.dumps(custom_config(w)))
    again = custom_from_config(config)
    assert isinstance(again, WeightedSquares) and again.scale == 3.0
    np.testing.assert_array_equal(again.weights, [1.0, 2.0])
    bound = json.loads(json.dumps(custom_config(softmax_ce.bind(smoothing=0.2))))
    assert custom_from_config(bound).kwargs == {"smoothing": 0.2}
    again = type(rmse).from_config(json.loads(json.dumps(rmse.get_config())))
    assert again.fn is rmse.fn and again.get_config() == rmse.get_config()
    face = L1MSE(alpha=0.3).keras(reduction="sum", name="l1mse")
    rebuilt = type(face).from_config(json.loads(json.dumps(face.get_config())))
    p, t = _data(3)
    assert float(rebuilt(t, p)) == float(face(t, p))
    assert rebuilt.reduction == "sum" and rebuilt.name == "l1mse"


def test_adapter_configs_round_trip():
    pytest.importorskip("torch")
    from lossbridge.adapters import source_from_config

    for custom in (rmse, L1MSE(alpha=0.3), WeightedSquares(np.array([1.0, 2.0]))):
        module = lb.to_torch_module(custom, reduction="sum")
        config = json.loads(json.dumps(module.get_config()))
        obj, _ = source_from_config(config)
        assert lb.to_torch_module(obj).get_config() == config


# ---------------------------------------------------------------------------- adapters


def test_torch_module_trains_like_the_torch_formula():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x, y = torch.randn(32, 8), torch.randn(32, 4)

    def train(loss_fn):
        torch.manual_seed(1)
        model = torch.nn.Linear(8, 4)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        out = []
        for _ in range(4):
            opt.zero_grad()
            value = loss_fn(model(x), y)
            value.backward()
            opt.step()
            out.append(value.item())
        return out

    def native(p, t):
        d = p - t
        return (0.3 * d.abs().mean(-1) + 0.7 * (d**2).mean(-1)).mean()

    np.testing.assert_allclose(train(lb.to_torch_module(L1MSE(alpha=0.3))), train(native), rtol=1e-6)


def test_held_arrays_become_buffers():
    torch = pytest.importorskip("torch")
    module = lb.to_torch_module(WeightedSquares(np.array([0.5, 1.0, 2.0, 0.0]), scale=2.0))
    assert list(module.state_dict()) == ["weights"]
    p, t = _data(4)
    want = _reference("weighted", p, t).mean()
    assert float(module(torch.tensor(p, dtype=torch.float32), torch.tensor(t, dtype=torch.float32))) == \
        pytest.approx(want, rel=1e-5)
    module.double()
    value = module(torch.tensor(p), torch.tensor(t))
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------------------ errors


def test_wrong_output_shape_for_the_keras_pipeline():
    @lb.loss
    def batch_rmse(y_pred, y_true):  # reduces over the batch: not per sample
        xp = lb.ops.namespace(y_pred, y_true)
        return xp.sqrt(xp.mean((y_pred - y_true) ** 2))

    @lb.loss
    def elementwise(y_pred, y_true):  # forgets to reduce the last axis
        return (y_pred - y_true) ** 2

    p, t = _data()
    with pytest.raises(lb.LossBridgeError, match=r"returned values of shape \(\).*do not reduce over the batch"):
        batch_rmse.keras()(t, p)
    with pytest.raises(lb.LossBridgeError, match=r"shape \(6, 4\).*shape \(6,\).*axis=-1"):
        elementwise.keras()(t, p)
    # the torch face accepts any shape and reduces it as torch does
    assert float(elementwise.torch()(p, t)) == pytest.approx(((p - t) ** 2).mean())


def test_numpy_only_code_on_framework_arrays():
    @lb.loss
    def numpy_rmse(y_pred, y_true):
        return np.sqrt(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2, axis=-1))

    p, t = _data()
    assert numpy_rmse(p, t).shape == (6,)  # fine on NumPy arrays
    if installed("torch"):
        import torch

        tp = torch.tensor(p, requires_grad=True)
        with pytest.raises(lb.LossBridgeTypeError, match=r"NumPy code.*xp = lossbridge.ops.namespace"):
            numpy_rmse(tp, torch.tensor(t))
        # without requires_grad NumPy converts silently: the result has no gradient
        with pytest.raises(lb.LossBridgeTypeError, match=r"returned numpy array.*no gradient"):
            numpy_rmse(torch.tensor(p), torch.tensor(t))
    if installed("jax"):
        import jax

        jp, jt = jax.numpy.asarray(p), jax.numpy.asarray(t)
        with pytest.raises(lb.LossBridgeTypeError, match=r"jax arrays.*NumPy code"):
            jax.jit(numpy_rmse)(jp, jt)
        with pytest.raises(lb.LossBridgeTypeError, match="returned numpy array"):
            numpy_rmse(jp, jt)


def test_returning_something_that_is_not_an_array():
    @lb.loss
    def python_float(y_pred, y_true):
        return 1.0

    with pytest.raises(lb.LossBridgeTypeError, match="must return an array of per-sample values"):
        python_float(*_data())


def test_not_serialisable_config():
    loss = L1MSE(alpha=object())
    with pytest.raises(lb.LossBridgeTypeError, match=r"L1MSE\(\.\.\., alpha=\.\.\.\) = <object.*cannot be serialised.*numbers, strings"):
        loss.get_config()
    with pytest.raises(lb.LossBridgeTypeError, match="cannot be serialised"):
        softmax_ce.bind(smoothing=lambda: 0.1).get_config()


def test_bad_definitions():
    with pytest.raises(lb.LossBridgeTypeError, match="predictions first"):
        @lb.loss
        def keras_order(y_true, y_pred):
            return y_pred

    with pytest.raises(lb.LossBridgeTypeError, match=r"call\(self, y_pred, y_true\)"):
        class KerasOrder(lb.Loss):
            def call(self, y_true, y_pred):
                return y_pred

    with pytest.raises(lb.LossBridgeTypeError, match="takes 1 positional"):
        @lb.loss
        def one(y_pred):
            return y_pred

    with pytest.raises(lb.LossBridgeTypeError, match=r"subclass lossbridge.Loss"):
        lb.loss(L1MSE)


def test_missing_call_and_extra_positional_arguments():
    class NoCall(lb.Loss):
        pass

    with pytest.raises(lb.LossBridgeNotImplementedError, match=r"must implement call\(self, y_pred, y_true\)"):
        NoCall()(*_data())

    class Star(lb.Loss):
        def __init__(self, *scales, alpha=1.0):
            super().__init__()
            self.alpha = alpha

        def call(self, y_pred, y_true):
            return self.alpha * (y_pred - y_true)[..., 0]

    assert Star(alpha=2.0).get_config() == {"alpha": 2.0}
    with pytest.raises(lb.LossBridgeTypeError, match="extra positional arguments"):
        Star(1.0, 2.0)


def test_unknown_custom_loss_in_a_config():
    from lossbridge._custom import custom_from_config

    with pytest.raises(lb.LossBridgeError, match="Import the module that defines it"):
        custom_from_config({"function": "nowhere.rmse", "kwargs": {}})


@pytest.mark.filterwarnings("ignore:Dynamo detected a call")
def test_torch_module_under_torch_compile():
    torch = pytest.importorskip("torch")
    module = lb.to_torch_module(L1MSE(alpha=0.3))
    compiled = torch.compile(module, backend="aot_eager")  # dynamo traces the custom loss
    p = torch.randn(8, 4, requires_grad=True)
    t = torch.randn(8, 4)
    eager = module(p, t)
    (g_eager,) = torch.autograd.grad(eager, p)
    value = compiled(p, t)
    (g,) = torch.autograd.grad(value, p)
    torch.testing.assert_close(value, eager)
    torch.testing.assert_close(g, g_eager)
