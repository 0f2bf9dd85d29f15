"""Train the seeds' small network with one lossbridge loss in PyTorch and in Keras.

The network is ``Dense(64, relu) + Dense(10)`` on random data, both frameworks
start from the same weights and take the same SGD steps on the same batches, so
the loss values must agree step by step.  Used by ``rmse.py`` and ``l1_mse.py``.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")  # any Keras 3 backend; set before keras loads

import numpy as np

import lossbridge as lb

STEPS, BATCH, LR = 4, 16, 0.05


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 20)).astype("float32")
    y = rng.normal(size=(STEPS * BATCH, 10)).astype("float32")  # a 10-output regression
    return x, y


def initial_weights() -> list[np.ndarray]:
    """Kernels as Keras stores them: (inputs, outputs)."""
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(20, 64)) * 0.2).astype("float32"), np.zeros(64, "float32"),
            (rng.normal(size=(64, 10)) * 0.2).astype("float32"), np.zeros(10, "float32")]


def train_torch(loss: object) -> dict:
    """A plain PyTorch loop: optimizer.zero_grad / loss.backward / optimizer.step."""
    import torch

    w1, b1, w2, b2 = (torch.from_numpy(w) for w in initial_weights())
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        for layer, w, b in ((model[0], w1, b1), (model[2], w2, b2)):
            layer.weight.copy_(w.T)  # torch stores (outputs, inputs)
            layer.bias.copy_(b)
    loss_fn = lb.to_torch_module(loss)  # a torch.nn.Module
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in data())
    losses = []
    for step in range(STEPS):
        xb, yb = x[step * BATCH:(step + 1) * BATCH], y[step * BATCH:(step + 1) * BATCH]
        optimizer.zero_grad()
        value = loss_fn(model(xb), yb)
        value.backward()
        optimizer.step()
        losses.append(value.item())
    weights = [model[0].weight.T, model[0].bias, model[2].weight.T, model[2].bias]
    return {"losses": losses, "weights": [w.detach().numpy() for w in weights]}


def train_keras(loss: object) -> dict:
    """model.compile(loss=lossbridge.to_keras_loss(loss)) + model.fit, then save and reload."""
    import keras

    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10)])
    model.set_weights(initial_weights())
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=lb.to_keras_loss(loss))
    batches: list[float] = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(float(logs["loss"])))
    x, y = data()
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    # Keras logs the running mean of the batch losses: undo it to get each step's loss.
    losses = [batches[0]] + [(i + 1) * batches[i] - i * batches[i - 1] for i in range(1, len(batches))]
    pred = model.predict(x, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)  # no custom_objects needed
        reloaded_value = float(loaded.loss(y, pred))
    return {"losses": losses, "weights": model.get_weights(), "value": float(model.loss(y, pred)),
            "reloaded_value": reloaded_value, "backend": keras.backend.backend()}


def compare(loss: object) -> dict:
    """Both trainings, and the largest differences between them."""
    t, k = train_torch(loss), train_keras(loss)
    return {
        "torch_losses": t["losses"],
        "keras_losses": k["losses"],
        "max_loss_diff": float(np.max(np.abs(np.subtract(t["losses"], k["losses"])))),
        "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(t["weights"], k["weights"], strict=True)),
        "keras_value": k["value"],
        "keras_reloaded_value": k["reloaded_value"],
        "keras_backend": k["backend"],
    }


def report(name: str, result: dict) -> None:
    print(f"{name} on PyTorch and Keras ({result['keras_backend']} backend), same initial weights:")
    for step, (a, b) in enumerate(zip(result["torch_losses"], result["keras_losses"], strict=True)):
        print(f"  step {step}: torch {a:.6f}   keras {b:.6f}")
    print(f"  largest weight difference after training: {result['max_weight_diff']:.2e}")
    print(f"  Keras loss after model.save / load_model: {result['keras_reloaded_value']:.6f} "
          f"(before: {result['keras_value']:.6f})")
