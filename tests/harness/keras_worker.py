"""A Keras oracle process: ``KERAS_BACKEND`` is set by the parent before keras loads.

Reads pickled requests ``{"spec", "args", "dtype", "wrt", "cotangent"}`` from stdin
and writes ``{"ok": True, "value", "grads", "warnings"}`` or ``{"ok": False,
"error", "message", "mro"}`` to stdout.  Anything else keras prints goes to stderr.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings

import numpy as np

from harness.backends import make_cotangent, to_numpy


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    backend = os.environ["KERAS_BACKEND"]
    import keras  # after KERAS_BACKEND is set

    from harness.oracle import build

    if backend == "jax":
        import jax

    while True:
        try:
            req = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if "exec" in req:  # a snippet of keras code; its `result` comes back
                    scope = {"keras": keras, "np": np, **req.get("inputs", {})}
                    exec(req["exec"], scope)
                    resp = {"ok": True, "result": scope.get("result")}
                    resp["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
                    pickle.dump(resp, out, protocol=4)
                    out.flush()
                    continue
                dtype = req["dtype"]
                spec = req["spec"]
                x64 = dtype == "float64" or spec.config.get("dtype") == "float64"
                if backend == "jax":
                    with jax.enable_x64(x64):
                        value, grads = _run_jax(build, spec, req, dtype)
                else:
                    value, grads = _run_torch(build, spec, req, dtype)
                resp = {"ok": True, "value": value, "grads": grads}
            except Exception as e:  # the oracle's own errors are data for the tests
                resp = {"ok": False, "error": type(e).__name__, "message": str(e),
                        "mro": [c.__name__ for c in type(e).__mro__]}
        resp["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
        pickle.dump(resp, out, protocol=4)
        out.flush()


def _conv(a, dtype, to):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(dtype)
    return to(a)


def _run_jax(build, spec, req, dtype):
    import jax
    import jax.numpy as jnp
    import keras

    fn = build(keras.losses, spec, "numpy", dtype)
    args = [_conv(a, dtype, jnp.asarray) for a in req["args"]]
    wrt = req["wrt"]
    if not wrt:
        return np.asarray(fn(*args)), []

    def f(*diff):
        merged = list(args)
        for i, d in zip(wrt, diff, strict=False):
            merged[i] = d
        return fn(*merged)

    out, vjp = jax.vjp(f, *[args[i] for i in wrt])
    cot = jnp.asarray(make_cotangent(req["cotangent"], tuple(out.shape)), dtype=out.dtype)
    return np.asarray(out), [np.asarray(g) for g in vjp(cot)]


def _run_torch(build, spec, req, dtype):
    import keras
    import torch

    fn = build(keras.losses, spec, "numpy", dtype)
    args = [_conv(a, dtype, lambda x: torch.from_numpy(x.copy())) for a in req["args"]]
    wrt = req["wrt"]
    for i in wrt:
        args[i].requires_grad_(True)
    out = fn(*args)
    if not wrt:
        return to_numpy(out), []
    cot = torch.as_tensor(make_cotangent(req["cotangent"], tuple(out.shape)), dtype=out.dtype)
    grads = torch.autograd.grad(out, [args[i] for i in wrt], grad_outputs=cot, allow_unused=True)
    return to_numpy(out), [None if g is None else to_numpy(g) for g in grads]


if __name__ == "__main__":
    main()
