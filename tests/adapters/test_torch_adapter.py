"""lossbridge.to_torch_module: a real torch training loop, buffers, dtypes, torch.compile."""

from __future__ import annotations

import numpy as np
import pytest

import lossbridge as lb

torch = pytest.importorskip("torch")


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def _data():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(64, 20)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, 10, size=(64,)))
    return x, y


def _train(loss_fn, steps=5, sample_weight=None):
    """The seeds' loop: zero_grad / backward / step; returns the losses and final weights."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data()
    losses = []
    for i in range(steps):
        xb, yb = x[16 * (i % 4): 16 * (i % 4 + 1)], y[16 * (i % 4): 16 * (i % 4 + 1)]
        opt.zero_grad()
        if sample_weight is None:
            loss = loss_fn(model(xb), yb)
        else:
            loss = loss_fn(model(xb), yb, sample_weight=sample_weight[16 * (i % 4): 16 * (i % 4 + 1)])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), [p.detach().clone() for p in model.parameters()]


def _assert_same_training(a, b, rtol=1e-5):
    np.testing.assert_allclose(a[0], b[0], rtol=rtol, atol=1e-6)
    for p, q in zip(a[1], b[1], strict=True):
        torch.testing.assert_close(p, q, rtol=rtol, atol=1e-5)
    assert a[0][-1] < a[0][0]  # it trains


@pytest.mark.parametrize("source", [
    lb.keras.SparseCategoricalCrossentropy(from_logits=True),
    lb.torch.CrossEntropyLoss(),
    lb.torch.functional.cross_entropy,
])
def test_training_loop_matches_torch_cross_entropy(source):
    module = lb.to_torch_module(source)
    assert isinstance(module, torch.nn.Module)
    _assert_same_training(_train(module), _train(torch.nn.CrossEntropyLoss()))


def test_optax_function_as_module_trains_like_torch():
    module = lb.to_torch_module(lb.optax.softmax_cross_entropy_with_integer_labels)
    _assert_same_training(_train(lambda p, t: module(p, t).mean()), _train(torch.nn.CrossEntropyLoss()))


def test_keras_sample_weight_is_keras_weighting():
    """Keras' sum_over_batch_size: sum(w * ce) / N (torch has no per-sample weight)."""
    sw = torch.from_numpy(np.random.default_rng(1).uniform(0.1, 2.0, size=64).astype("float32"))
    module = lb.to_torch_module(lb.keras.SparseCategoricalCrossentropy(from_logits=True))
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    # the batch weights are passed by the loop through the `sw` closure
    batches = iter(sw.split(16) * 2)

    def native(p, t):
        return (ce(p, t) * next(batches)).sum() / p.shape[0]

    _assert_same_training(_train(module, sample_weight=sw), _train(native))


def test_class_weights_are_buffers_that_follow_dtype_and_state_dict():
    w = np.array([1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0, 1.0, 0.2, 1.0])  # float64 NumPy
    module = lb.to_torch_module(lb.torch.CrossEntropyLoss(weight=w, label_smoothing=0.1))
    assert list(module.state_dict()) == ["weight"]
    assert module.weight.dtype == torch.float32  # torch's default dtype, as torch.tensor(list)
    native = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32), label_smoothing=0.1)
    _assert_same_training(_train(module), _train(native))
    x, y = _data()
    logits = _model()(x)
    module = module.to(torch.float64)
    assert module.weight.dtype == torch.float64
    native = native.to(torch.float64)
    torch.testing.assert_close(module(logits.double(), y), native(logits.double(), y))
    # state_dict round trip into a fresh adapter and a native module
    fresh = lb.to_torch_module(lb.torch.CrossEntropyLoss(weight=np.ones(10), label_smoothing=0.1))
    fresh.load_state_dict({"weight": torch.tensor(w, dtype=torch.float32)})
    torch.testing.assert_close(fresh(logits, y), native.float()(logits, y))
    assert fresh.get_config()["config"]["weight"]["__array__"] == pytest.approx(w.tolist())


def test_bound_function_arrays_are_buffers():
    w = torch.tensor([1.0, 2.0, 3.0])
    module = lb.to_torch_module(lb.torch.functional.cross_entropy, weight=w, reduction="sum")
    assert list(module.state_dict()) == ["weight"]
    x, t = torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    torch.testing.assert_close(module(x, t), torch.nn.functional.cross_entropy(x, t, weight=w, reduction="sum"))
    module.double()
    torch.testing.assert_close(module(x.double(), t),
                               torch.nn.functional.cross_entropy(x.double(), t, weight=w.double(), reduction="sum"))


def test_more_arguments_and_functions_pass_through():
    x1, x2 = torch.randn(6), torch.randn(6)
    t = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    module = lb.to_torch_module(lb.torch.MarginRankingLoss(margin=0.3))
    torch.testing.assert_close(module(x1, x2, t), torch.nn.MarginRankingLoss(margin=0.3)(x1, x2, t))
    p = torch.rand(4, 3) * 0.8 + 0.1
    y = torch.eye(3)[torch.tensor([0, 2, 1, 1])]
    per_sample = lb.to_torch_module(lb.keras.categorical_crossentropy)(p, y)  # Keras order inside
    torch.testing.assert_close(per_sample, -(y * torch.log(p / p.sum(-1, keepdim=True))).sum(-1))
    theano = lb.to_torch_module(lb.theano.categorical_crossentropy)(p, torch.tensor([0, 2, 1, 1]))
    assert theano.shape == (4,)
    assert lb.to_torch_module(lb.torch.HuberLoss, delta=0.5)(x1, x2) == torch.nn.HuberLoss(delta=0.5)(x1, x2)


@pytest.mark.filterwarnings("ignore:Dynamo detected a call")
def test_torch_compile():
    module = lb.to_torch_module(lb.torch.CrossEntropyLoss(weight=np.linspace(0.5, 2.0, 10)))
    compiled = torch.compile(module)
    x, y = _data()
    logits = _model()(x)
    eager = module(logits, y)
    (g_eager,) = torch.autograd.grad(eager, logits, retain_graph=True)
    value = compiled(logits, y)
    (g,) = torch.autograd.grad(value, logits)
    torch.testing.assert_close(value, eager)
    torch.testing.assert_close(g, g_eager)


def test_errors():
    module = lb.to_torch_module(lb.torch.CrossEntropyLoss())
    x, t = torch.randn(2, 3), torch.tensor([0, 1])
    with pytest.raises(lb.LossBridgeTypeError, match="takes no sample_weight"):
        module(x, t, sample_weight=torch.ones(2))
    with pytest.raises(lb.LossBridgeTypeError, match=r"lossbridge.translate"):
        lb.to_torch_module(torch.nn.CrossEntropyLoss())
    with pytest.raises(lb.LossBridgeTypeError, match="Set them on the object's constructor"):
        lb.to_torch_module(lb.torch.CrossEntropyLoss(), reduction="sum")
    with pytest.raises(lb.LossBridgeNotImplementedError, match="trainable parameters"):
        lb.to_torch_module(lb.torch.LinearCrossEntropyLoss(4, 3))
    keras_module = lb.to_torch_module(lb.keras.MeanSquaredError())
    with pytest.raises(lb.LossBridgeTypeError, match=r"takes \(input, target, sample_weight=None\)"):
        keras_module(x, x, x)
    with pytest.raises(lb.LossBridgeTypeError, match="cannot be serialised"):
        lb.to_torch_module(lb.torch.functional.cross_entropy, weight=torch.ones(3),
                           reduction=object()).get_config()


def test_config_round_trip():
    from lossbridge.adapters import source_from_config

    for source, kwargs in [
        (lb.torch.CrossEntropyLoss(weight=np.array([1.0, 2.0]), ignore_index=1), {}),
        (lb.keras.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"), {}),
        (lb.optax.sigmoid_binary_cross_entropy, {}),
        (lb.torch.functional.huber_loss, {"delta": 0.5}),
        (lb.torch.TripletMarginWithDistanceLoss(distance_function=lb.torch.functional.pairwise_distance), {}),
    ]:
        config = lb.to_torch_module(source, **kwargs).get_config()
        obj, bound = source_from_config(config)
        again = lb.to_torch_module(obj, **bound).get_config()
        assert again == config


def test_configuration_errors():
    from lossbridge.adapters import _source, source_config, source_from_config

    class Extra(lb.torch.MSELoss):
        def __init__(self, scale=2.0):
            super().__init__()

    with pytest.raises(lb.LossBridgeTypeError, match="`scale` is not kept as an attribute"):
        source_config(_source(Extra(), {}, "torch"))
    from lossbridge.torch._reduction import reduce

    with pytest.raises(lb.LossBridgeTypeError, match=r"not a public function of lossbridge.torch"):
        source_config(_source(reduce, {}, "torch"))
    with pytest.raises(lb.LossBridgeError, match="Not a lossbridge adapter configuration"):
        source_from_config({"dialect": "caffe"})
    with pytest.raises(lb.LossBridgeTypeError, match="has its own: set them on the Keras loss"):
        lb.to_keras_loss(lb.keras.MeanSquaredError(), reduction="sum")  # raises before keras loads


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_buffers_follow_the_module_to_cuda():
    w = np.linspace(0.5, 2.0, 10)
    module = lb.to_torch_module(lb.torch.CrossEntropyLoss(weight=w)).to("cuda")
    assert module.weight.device.type == "cuda"
    x, y = torch.randn(16, 10, device="cuda"), torch.randint(0, 10, (16,), device="cuda")
    native = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32, device="cuda"))
    torch.testing.assert_close(module(x, y), native(x, y))


def test_classes_take_their_constructor_arguments():
    module = lb.to_torch_module(lb.torch.CrossEntropyLoss, reduction="sum", label_smoothing=0.1)
    x, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(module(x, t), torch.nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)(x, t))
    # to_keras_loss passes reduction to a Keras class' constructor (checked before keras loads)
    from lossbridge.adapters import _source

    obj = _source(lb.keras.CategoricalCrossentropy, {"reduction": "sum", "from_logits": True}, "keras").obj
    assert obj.reduction == "sum" and obj.from_logits
