"""Train the seeds' classifier with adapted losses on one Keras backend; print a JSON report.

Run by tests/adapters/test_keras_adapter.py as ``python keras_adapter_worker.py OUT_DIR``
with ``KERAS_BACKEND`` set (jax, torch or tensorflow).  For each case, one model is
trained with ``lossbridge.to_keras_loss(source)`` and a twin (same initial weights)
with the native Keras loss that has the same meaning; the report holds both loss
histories, the largest weight difference after training, the two losses at the
same weights (with and without sample weights), the value after
``model.save`` + ``keras.models.load_model`` and after ``get_config``/``from_config``.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
from l1_mse import L1MSE  # examples/ (on PYTHONPATH): the documented custom losses
from rmse import rmse

import lossbridge as lb


def main() -> None:
    out_dir = sys.argv[1]
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 20)).astype("float32")
    y = rng.integers(0, 10, size=(64,))
    y_onehot = np.eye(10, dtype="float32")[y]
    sw = rng.uniform(0.1, 2.0, size=(64,)).astype("float32")
    w = rng.uniform(0.5, 2.0, size=(10,)).astype("float32")

    def model() -> keras.Model:
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                                 keras.layers.Dense(10)])

    scce = keras.losses.SparseCategoricalCrossentropy
    # name: (lossbridge source, native Keras twin, targets, fit sample_weight for the twin,
    #        batch size)
    cases = {
        "keras_scce": (lb.keras.SparseCategoricalCrossentropy(from_logits=True),
                       scce(from_logits=True), y, None, 16),
        "keras_scce_sum": (lb.keras.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"),
                           scce(from_logits=True, reduction="sum"), y, None, 16),
        "keras_mse_function": (lb.keras.mean_squared_error, keras.losses.MeanSquaredError(),
                               y_onehot, None, 16),
        "keras_scce_uneven_batches": (lb.keras.SparseCategoricalCrossentropy(from_logits=True),
                                      scce(from_logits=True), y, None, 24),
        "torch_ce_none": (lb.torch.CrossEntropyLoss(reduction="none"), scce(from_logits=True),
                          y, None, 16),
        # torch's weighted mean = Keras' mean_with_sample_weight with weights w[y]
        "torch_ce_class_weights": (lb.torch.CrossEntropyLoss(weight=w),
                                   scce(from_logits=True, reduction="mean_with_sample_weight"),
                                   y, w[y], 16),
        "optax_ce": (lb.optax.softmax_cross_entropy_with_integer_labels, scce(from_logits=True),
                     y, None, 16),
    }
    # issue 7: custom losses written once, against Keras functions written by hand
    ops = keras.ops
    from keras.src.losses.losses import LossFunctionWrapper  # what compile(loss=fn) builds

    def keras_rmse(y_true, y_pred):
        return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))

    def keras_l1_mse(y_true, y_pred):
        d = y_pred - y_true
        return 0.3 * ops.mean(ops.abs(d), axis=-1) + 0.7 * ops.mean(d * d, axis=-1)

    cases["custom_rmse"] = (rmse, LossFunctionWrapper(keras_rmse), y_onehot, None, 16)
    cases["custom_l1_mse_sum"] = (L1MSE(alpha=0.3).keras(reduction="sum"),
                                  LossFunctionWrapper(keras_l1_mse, reduction="sum"),
                                  y_onehot, None, 16)
    only = os.environ.get("LOSSBRIDGE_WORKER_CASES")
    if only:
        keep = only.split(",")
        cases = {k: v for k, v in cases.items() if k in keep or k.startswith("custom_")}
    report: dict = {"backend": keras.backend.backend(), "cases": {}}
    for name, (source, native, targets, fit_sw, batch) in cases.items():
        adapted = lb.to_keras_loss(source)
        m1, m2 = model(), model()
        m1.compile(optimizer=keras.optimizers.SGD(0.1), loss=adapted)
        m2.compile(optimizer=keras.optimizers.SGD(0.1), loss=native)
        h1 = m1.fit(x, targets, batch_size=batch, epochs=2, shuffle=False, verbose=0)
        h2 = m2.fit(x, targets, sample_weight=fit_sw, batch_size=batch, epochs=2, shuffle=False,
                    verbose=0)
        wdiff = max(float(np.max(np.abs(a - b))) for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True))
        p = keras.ops.convert_to_numpy(m1(x))
        native_sw = None if fit_sw is None else fit_sw
        r = {
            "history": h1.history["loss"],
            "history_native": h2.history["loss"],
            "weights_max_abs_diff": wdiff,
            "value": float(adapted(targets, p)),
            "value_native": float(native(targets, p, sample_weight=native_sw)),
            "value_sw": float(adapted(targets, p, sample_weight=sw)),
        }
        if fit_sw is None:
            r["value_sw_native"] = float(native(targets, p, sample_weight=sw))
        path = os.path.join(out_dir, f"{name}.keras")
        m1.save(path)
        loaded = keras.models.load_model(path)
        r["value_loaded"] = float(loaded.loss(targets, p))
        # the reloaded model's compiled loss, on one batch of everything: the same value
        r["evaluate_loaded"] = float(loaded.evaluate(x, targets, batch_size=len(x), verbose=0))
        config = adapted.get_config()
        json.dumps(config)  # JSON-able
        r["value_from_config"] = float(type(adapted).from_config(config)(targets, p))
        r["value_deserialized"] = float(
            keras.losses.deserialize(keras.losses.serialize(adapted))(targets, p))
        r["loaded_type"] = type(loaded.loss).__name__
        np.save(os.path.join(out_dir, f"{name}.pred.npy"), p)
        np.save(os.path.join(out_dir, f"{name}.targets.npy"), targets)
        report["cases"][name] = r
    # A Keras mask on the predictions (JAX arrays keep it in Keras' table, not as an attribute)
    from keras.src.backend import set_keras_mask

    logits = rng.normal(size=(64, 10)).astype("float32")
    mask = rng.uniform(size=(64,)) > 0.3
    masked = keras.ops.convert_to_tensor(logits)
    set_keras_mask(masked, keras.ops.convert_to_tensor(mask))
    report["mask"] = {}
    for name, source, native, targets in (
        ("keras_scce", lb.keras.SparseCategoricalCrossentropy(from_logits=True), scce(from_logits=True), y),
        ("torch_ce_none", lb.torch.CrossEntropyLoss(reduction="none"), scce(from_logits=True), y),
        ("custom_rmse", rmse, LossFunctionWrapper(keras_rmse), y_onehot),
    ):
        adapted = lb.to_keras_loss(source)
        report["mask"][name] = {
            "adapted": float(adapted(targets, masked, sample_weight=sw)),
            "native": float(native(targets, masked, sample_weight=sw)),
            "unmasked": float(native(targets, logits, sample_weight=sw)),
        }
    # a class and its constructor arguments, reduction included
    from_class = lb.to_keras_loss(lb.keras.SparseCategoricalCrossentropy, from_logits=True,
                                  reduction="sum")
    report["from_class"] = {"reduction": from_class.reduction,
                            "value": float(from_class(y, logits, sample_weight=sw)),
                            "native": float(scce(from_logits=True, reduction="sum")(y, logits, sample_weight=sw))}

    # lossbridge's keras.ops namespace: TensorFlow only, and only the names lossbridge uses
    from lossbridge._keras_xp import keras_namespace

    try:
        xp = keras_namespace()
        xp.linalg  # noqa: B018 - a name lossbridge does not use
        report["xp_error"] = None
    except Exception as e:
        report["xp_error"] = {"mro": [c.__name__ for c in type(e).__mro__], "message": str(e)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
