"""A tf.keras 2 oracle process (tf_keras + TensorFlow), protocol as :mod:`harness.keras_worker`.

Inputs become TensorFlow tensors (float arrays in the request's dtype, integers kept),
gradients come from ``tf.GradientTape`` with the request's upstream gradient.  Specs
named ``ctc_batch_cost`` are looked up in ``tf_keras.backend``, the rest in
``tf_keras.losses``.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings

import numpy as np

from harness.backends import make_cotangent


class _Backend:
    """``tf_keras.losses`` plus ``ctc_batch_cost`` from ``tf_keras.backend``."""

    def __init__(self, losses, backend):
        self._losses, self._backend = losses, backend

    def __getattr__(self, name):
        if name == "ctc_batch_cost":
            return self._backend.ctc_batch_cost
        return getattr(self._losses, name)


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import tensorflow as tf
    import tf_keras

    from harness.oracle import build

    module = _Backend(tf_keras.losses, tf_keras.backend)
    while True:
        try:
            req = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if "exec" in req:
                    scope = {"tf_keras": tf_keras, "tf": tf, "np": np, **req.get("inputs", {})}
                    exec(req["exec"], scope)
                    resp = {"ok": True, "result": scope.get("result")}
                else:
                    value, grads = _run(tf, build, module, req)
                    resp = {"ok": True, "value": value, "grads": grads}
            except Exception as e:  # the oracle's own errors are data for the tests
                resp = {"ok": False, "error": type(e).__name__, "message": str(e),
                        "mro": [c.__name__ for c in type(e).__mro__]}
        resp["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
        pickle.dump(resp, out, protocol=4)
        out.flush()


def _run(tf, build, module, req):
    dtype = req["dtype"]
    fn = build(module, req["spec"], "numpy", dtype)
    args = []
    for a in req["args"]:
        if a is None:
            args.append(None)
            continue
        a = np.asarray(a)
        args.append(tf.constant(a.astype(dtype) if a.dtype.kind == "f" else a))
    wrt = req["wrt"]
    with tf.GradientTape() as tape:
        for i in wrt:
            tape.watch(args[i])
        value = fn(*args)
    if not wrt:
        return value.numpy(), []
    cot = tf.constant(make_cotangent(req["cotangent"], tuple(value.shape)), dtype=value.dtype)
    grads = tape.gradient(value, [args[i] for i in wrt], output_gradients=cot)
    return value.numpy(), [None if g is None else tf.convert_to_tensor(g).numpy() for g in grads]


if __name__ == "__main__":
    main()
