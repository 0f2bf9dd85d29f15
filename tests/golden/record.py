"""Record the golden cases: ``python tests/golden/record.py [keras|torch|optax ...]``.

Runs every ``GOLDEN_CASES`` entry of the conformance modules through its real
framework (keras 3 on the jax backend, torch, optax) in float32 and float64 and
writes ``tests/golden/<lib>.json``.  Run it after adding cases or upgrading an
oracle, and commit the result.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from harness import golden  # noqa: E402
from harness.oracle import (  # noqa: E402
    KerasOracle,
    OptaxOracle,
    OracleError,
    TfKerasOracle,
    TorchOracle,
    tf_keras_python,
)

MODULES = {
    "keras": ["keras_dialect.test_keras_conformance", "keras_dialect.test_keras_catalog"],
    "torch": ["torch_dialect.test_torch_conformance", "torch_dialect.test_torch_catalog_conformance",
              "torch_dialect.test_torch_ctc"],
    "tf_keras": ["tf_keras_dialect.test_tf_keras_conformance"],
    "optax": ["optax_dialect.test_optax_conformance"],
}


def _cases(lib: str):
    for modname in MODULES[lib]:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            continue
        yield from getattr(module, "GOLDEN_CASES", {}).items()


def record(lib: str) -> int:
    import importlib.metadata as md

    oracle = {
        "keras": lambda: KerasOracle("jax"), "torch": TorchOracle, "optax": OptaxOracle,
        # tf_keras: this interpreter if it has TensorFlow, else $LOSSBRIDGE_TF_KERAS_PYTHON
        "tf_keras": lambda: TfKerasOracle(tf_keras_python() or sys.exit("tf_keras: no TensorFlow")),
    }[lib]()
    versions = {}
    for pkg in ("keras", "jax", "torch", "optax"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[pkg] = md.version(pkg)
    if lib == "tf_keras":
        versions = oracle.exec(
            "import tensorflow as tf\nresult = {'tensorflow': tf.__version__, 'tf_keras': tf_keras.__version__}")
    out = []
    for name, (spec, args, wrt) in _cases(lib):
        for dtype in ("float32", "float64"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value, grads = oracle.run(spec, list(args), dtype, wrt, 0)
                result = {"value": golden.encode(value), "grads": golden.encode(list(grads))}
            except OracleError as e:
                result = {"error": e.kind, "mro": e.mro}
            out.append({
                "name": name, "dtype": dtype, "spec": golden.spec_to_json(spec),
                "args": golden.encode(list(args)), "wrt": list(wrt), **result,
            })
    if hasattr(oracle, "close"):
        oracle.close()
    golden.save(lib, out, versions)
    return len(out)


if __name__ == "__main__":
    os.chdir(os.path.dirname(HERE))
    for lib in sys.argv[1:] or list(MODULES):
        print(lib, record(lib), "cases ->", golden.path(lib))
