"""The oracles: the real frameworks, called on the same inputs as lossbridge.

A :class:`Spec` names a loss the same way in both worlds: ``Spec("keras",
"CategoricalCrossentropy", "class", config={...})`` is
``keras.losses.CategoricalCrossentropy(**config)`` for the oracle and
``lossbridge.keras.CategoricalCrossentropy(**config)`` for lossbridge.

* Keras runs in worker processes, one per Keras backend (``jax`` and ``torch``),
  because ``KERAS_BACKEND`` is fixed when keras is imported; the workers answer
  pickled requests on their stdin/stdout (:mod:`harness.keras_worker`).
* torch and optax run in this process.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import installed, to_backend, to_numpy, value_and_grad

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Spec:
    """A loss named identically in lossbridge and in its framework."""

    lib: str  # "keras", "torch", "optax", "theano"
    name: str  # class or function name
    kind: str = "function"  # "function", "class" or "wrapper" (harness/wrappers.py)
    config: dict[str, Any] = field(default_factory=dict)  # constructor arguments
    kwargs: dict[str, Any] = field(default_factory=dict)  # call keyword arguments

    @property
    def id(self) -> str:
        if self.kind == "wrapper":  # a test-only wrapper (harness/wrappers.py)
            from .wrappers import WRAPPERS

            return WRAPPERS[self.name].counts_as
        prefix = {"torch": "torch", "keras": "keras", "optax": "optax", "theano": "theano",
                  "tf_keras": "tf_keras"}[self.lib]
        if self.lib == "torch" and self.kind == "function":
            return f"torch.functional.{self.name}"
        return f"{prefix}.{self.name}"


def _convert_tree(value: Any, backend: str, dtype: str) -> Any:
    if isinstance(value, np.ndarray):
        return to_backend(value, backend, dtype)
    if isinstance(value, dict):
        return {k: _convert_tree(v, backend, dtype) for k, v in value.items()}
    return value


def build(module: Any, spec: Spec, backend: str, dtype: str) -> Any:
    """The callable ``spec`` names in ``module`` (lossbridge's dialect or the framework)."""
    config = _convert_tree(spec.config, backend, dtype)
    kwargs = _convert_tree(spec.kwargs, backend, dtype)
    if spec.kind == "wrapper":  # ``module`` is the dialect root: lossbridge.torch or torch.nn
        from .wrappers import WRAPPERS

        return WRAPPERS[spec.name](module, **config, **kwargs)
    target = getattr(module, spec.name)
    if spec.kind == "class":
        obj = target(**config)
        if kwargs:
            return lambda *a: obj(*a, **kwargs)
        return obj
    return lambda *a: target(*a, **kwargs)


def lossbridge_module(spec: Spec) -> Any:
    import lossbridge as lb

    if spec.lib == "torch" and spec.kind == "function":
        return lb.torch.functional
    return getattr(lb, spec.lib)


def run_lossbridge(spec: Spec, args: list[Any], backend: str, dtype: str, wrt=(), cotangent=None,
                   host=()):
    """Value and VJPs of the lossbridge loss on ``backend`` arrays (trailing None args dropped;
    the arguments at positions ``host`` stay NumPy, see :func:`~harness.backends.value_and_grad`).

    The pseudo-backend ``"torch-generic"`` runs torch tensors through lossbridge's
    generic Array API code instead of torch's kernels (``ops._NATIVE = False``),
    to prove the two paths equal.
    """
    import lossbridge.ops

    args = _trim(args)
    kind = "torch" if backend == "torch-generic" else backend

    def fn(*a):
        return build(lossbridge_module(spec), spec, kind, dtype)(*a)

    x64 = spec.config.get("dtype") == "float64"
    previous = lossbridge.ops._NATIVE
    lossbridge.ops._NATIVE = backend != "torch-generic"
    try:
        return value_and_grad(fn, args, kind, wrt, cotangent, dtype, x64=x64, host=host)
    finally:
        lossbridge.ops._NATIVE = previous


def _trim(args: list[Any]) -> list[Any]:
    args = list(args)
    while args and args[-1] is None:
        args.pop()
    return args


# ------------------------------------------------------------------ in-process


def _as_oracle_error(e: Exception) -> OracleError:
    return OracleError(type(e).__name__, str(e), [c.__name__ for c in type(e).__mro__])


class TorchOracle:
    """The real ``torch.nn`` / ``torch.nn.functional`` (torch 2.13); its exceptions
    come back as :class:`OracleError`."""

    name = "torch"

    def run(self, spec: Spec, args, dtype: str, wrt=(), cotangent=None, host=()):
        """``host``: positions handed to torch as NumPy arrays (torch refuses them: TypeError)."""
        import torch

        module = torch.nn.functional if spec.kind == "function" else torch.nn
        args = _trim(args)

        def fn(*a):
            return build(module, spec, "torch", dtype)(*a)

        try:
            return value_and_grad(fn, args, "torch", wrt, cotangent, dtype, host=host)
        except Exception as e:
            raise _as_oracle_error(e) from e


class OptaxOracle:
    """The real ``optax.losses`` (on JAX); its exceptions come back as :class:`OracleError`."""

    name = "optax"

    def run(self, spec: Spec, args, dtype: str, wrt=(), cotangent=None, host=()):
        """``host``: positions handed to optax as NumPy arrays (optax converts them)."""
        import optax

        args = _trim(args)

        def fn(*a):
            return build(optax.losses, spec, "jax", dtype)(*a)

        try:
            return value_and_grad(fn, args, "jax", wrt, cotangent, dtype, host=host)
        except Exception as e:
            raise _as_oracle_error(e) from e


# ---------------------------------------------------------------- keras workers


class OracleError(Exception):
    """The oracle raised: ``kind`` is the exception's class name, ``mro`` its bases."""

    def __init__(self, kind: str, message: str, mro: list[str]):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.mro = kind, message, mro


class KerasOracle:
    """keras 3 on one backend, in a worker process started on first use."""

    def __init__(self, backend: str):
        self.backend = backend
        self.name = f"keras-{backend}"
        self._proc: subprocess.Popen[bytes] | None = None
        # Requests are answered in order; tickets let several be in flight (see submit).
        self._sent = self._received = 0
        self._answers: dict[int, dict[str, Any]] = {}

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["KERAS_BACKEND"] = self.backend
        env["PYTHONPATH"] = os.pathsep.join([HERE, env.get("PYTHONPATH", "")])
        env.setdefault("KERAS_HOME", os.path.join(tempfile.gettempdir(), "lossbridge-keras-home"))
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.keras_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        atexit.register(self.close)
        return proc

    def _send(self, req: dict[str, Any]) -> int:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
            self._sent = self._received = 0
            self._answers = {}
        assert self._proc.stdin is not None
        pickle.dump(req, self._proc.stdin, protocol=4)
        self._proc.stdin.flush()
        self._sent += 1
        return self._sent - 1

    def _answer(self, ticket: int) -> dict[str, Any]:
        while ticket not in self._answers:
            if self._proc is None or ticket < self._received:
                raise RuntimeError(f"the {self.name} oracle worker restarted; request {ticket} is lost")
            assert self._proc.stdout is not None
            try:
                self._answers[self._received] = pickle.load(self._proc.stdout)
            except EOFError:
                self._proc = None
                raise RuntimeError(f"the {self.name} oracle worker died; see stderr") from None
            self._received += 1
        return self._answers.pop(ticket)

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._answer(self._send(req))

    @staticmethod
    def _run_request(spec: Spec, args, dtype: str, wrt=(), cotangent=None) -> dict[str, Any]:
        return {
            "spec": spec, "args": _trim(args), "dtype": dtype, "wrt": list(wrt),
            "cotangent": cotangent if cotangent is None or isinstance(cotangent, int) else np.asarray(cotangent),
        }

    @staticmethod
    def _result(resp: dict[str, Any]):
        if not resp["ok"]:
            raise OracleError(resp["error"], resp["message"], resp["mro"])
        return resp["value"], resp["grads"]

    def run(self, spec: Spec, args, dtype: str, wrt=(), cotangent=None):
        return self._result(self.request(self._run_request(spec, args, dtype, wrt, cotangent)))

    def submit(self, spec: Spec, args, dtype: str, wrt=(), cotangent=None):
        """Send the request of :meth:`run` now; return a function that waits for its result.

        The worker computes while the caller runs lossbridge, so the two use two cores.
        """
        ticket = self._send(self._run_request(spec, args, dtype, wrt, cotangent))
        return lambda: self._result(self._answer(ticket))

    def exec(self, code: str, **inputs: Any) -> Any:
        """Run ``code`` in the worker (``keras``, ``np`` and ``inputs`` in scope); return ``result``."""
        resp = self.request({"exec": code, "inputs": inputs})
        if not resp["ok"]:
            raise OracleError(resp["error"], resp["message"], resp["mro"])
        return resp["result"]

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.stdin.close()  # type: ignore[union-attr]
                self._proc.wait(timeout=10)
            except Exception:
                self._proc.kill()
        self._proc = None


def tf_keras_python() -> str | None:
    """The interpreter that can import tf_keras and TensorFlow: ``$LOSSBRIDGE_TF_KERAS_PYTHON``
    (a separate environment), else this one when both are installed, else None."""
    python = os.environ.get("LOSSBRIDGE_TF_KERAS_PYTHON")
    if python:
        return python
    if installed("tf_keras") and installed("tensorflow"):
        return sys.executable
    return None


class TfKerasOracle(KerasOracle):
    """tf_keras 2 (TensorFlow) in a worker process (:mod:`harness.tf_keras_worker`), run by
    :func:`tf_keras_python`'s interpreter."""

    def __init__(self, python: str):
        super().__init__("tensorflow")
        self.name = "tf_keras"
        # TensorFlow computes the gradients for every array kind: compare them with all.
        self.backend = None
        self.python = python

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = HERE
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["TF_ENABLE_ONEDNN_OPTS"] = "0"
        proc = subprocess.Popen(
            [self.python, "-W", "ignore", "-m", "harness.tf_keras_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        atexit.register(self.close)
        return proc


def keras_backends() -> list[str]:
    """The Keras backends the oracle can run here (jax and torch when installed)."""
    if not installed("keras"):
        return []
    return [b for b in ("jax", "torch") if installed(b)]


__all__ = [
    "KerasOracle", "OptaxOracle", "OracleError", "Spec", "TfKerasOracle", "TorchOracle", "build",
    "keras_backends", "run_lossbridge", "tf_keras_python", "to_numpy",
]
