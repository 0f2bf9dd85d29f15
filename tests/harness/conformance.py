"""The conformance driver: one case, every backend, every oracle, values and gradients."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .compare import assert_close, record
from .oracle import OracleError, Spec, run_lossbridge


def _result_dtype(value: Any) -> str:
    name = np.asarray(value).dtype.name
    return name if name in ("bfloat16", "float16", "float32", "float64") else "float64"


def check(
    spec: Spec,
    args: Sequence[Any],
    oracles: Sequence[Any],
    backends: Sequence[str],
    *,
    dtypes: Sequence[str] = ("float32", "float64"),
    wrt: Sequence[int] = (),
    cotangent: int | None = 0,
    scale: float = 1.0,
    grad_scale: float | None = None,
    host: Sequence[int] = (),
) -> None:
    """Compare lossbridge with every oracle on ``args``, for every backend and dtype.

    * The arguments at positions ``host`` reach lossbridge as NumPy arrays next to the
      backend's tensors (mixed array kinds; the oracles get one kind, as the framework
      converts them); the comparisons count for the backend ``<backend>+numpy``.

    * When an oracle raises, lossbridge must raise a :class:`lossbridge.LossBridgeError`
      that is also the oracle's built-in exception type.
    * Otherwise values agree within the tolerance of the oracle's output dtype, and
      for torch and JAX inputs so do the VJPs of the arguments at ``wrt`` (with a
      random non-uniform upstream gradient seeded by ``cotangent``).  A Keras
      oracle's gradients are compared with lossbridge on the same array kind
      (keras-jax with JAX arrays, keras-torch with torch tensors), because the two
      backends differ at ties (the derivative of ``|x|`` at 0 is 1 in JAX, 0 in torch).
    """
    import lossbridge as lb

    args = list(args)
    oracle_by_name = {o.name: o for o in oracles}
    # Oracles in worker processes (keras) get every request first and compute while
    # lossbridge runs here: on two cores the oracle and lossbridge overlap.
    pending = {
        (dtype, oracle.name): oracle.submit(spec, args, dtype, wrt, cotangent)
        for dtype in dtypes for oracle in oracles if hasattr(oracle, "submit")
    }
    try:
        for dtype in dtypes:
            _check_dtype(spec, args, oracles, backends, dtype, wrt, cotangent, scale, grad_scale,
                         oracle_by_name, pending, lb, tuple(host))
    finally:
        for waiting in pending.values():  # collect every answer, even after a failure
            with contextlib.suppress(Exception):
                waiting()


def _check_dtype(
    spec: Spec, args: list[Any], oracles: Sequence[Any], backends: Sequence[str], dtype: str,
    wrt: Sequence[int], cotangent: int | None, scale: float, grad_scale: float | None,
    oracle_by_name: dict[str, Any], pending: dict[tuple[str, str], Any], lb: Any,
    host: tuple[int, ...] = (),
) -> None:
    """One dtype of :func:`check`: lossbridge on every backend, then the oracles' answers."""
    outcomes = []
    for backend in backends:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lb.LossBridgeWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            try:
                value, grads = run_lossbridge(
                    spec, args, backend, dtype, wrt if backend != "numpy" else (), cotangent,
                    host=host if backend != "numpy" else (),
                )
                error = None
            except Exception as e:  # compared with the oracles' behaviour below
                value, grads, error = None, None, e
        outcomes.append((backend, value, grads, error))
    expected = []
    for oracle in oracles:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the framework's own warnings
                waiting = pending.pop((dtype, oracle.name), None)
                if waiting is not None:  # keras workers: Keras converts NumPy inputs, one kind is the same
                    result = waiting()
                elif host:
                    result = oracle.run(spec, args, dtype, [i for i in wrt if i not in host], cotangent,
                                        host=host)
                else:
                    result = oracle.run(spec, args, dtype, wrt, cotangent)
                expected.append((oracle.name, *result))
        except OracleError as e:
            expected.append((oracle.name, e, None))
    for backend, value, grads, error in outcomes:
        for name, exp_value, exp_grads in expected:
            where = f"{spec.id} {spec.config or ''}{spec.kwargs or ''} on {backend} {dtype} vs {name}"
            if isinstance(exp_value, OracleError):
                if error is None:
                    raise AssertionError(
                        f"{where}: the oracle raised {exp_value} but lossbridge returned {value!r}"
                    )
                _check_error_type(error, exp_value, where)
                continue
            if error is not None:
                raise AssertionError(f"{where}: lossbridge raised {error!r}") from error
            out_dtype = _result_dtype(exp_value)
            if spec.lib == "keras" and out_dtype == "float64":
                # keras.ops.mean computes in float32 even for float64 losses (its type
                # promotion maps float64 with float32 to float32); XLA and NumPy then
                # round that float32 mean differently by an ulp: compare at float32.
                out_dtype = "float32"
            assert_close(value, exp_value, out_dtype, f"{where}: value", scale=scale)
            # A Keras oracle runs on one backend; gradients at ties (|x| at 0, clip at
            # its bounds) are the backend's own: compare them with the same array kind.
            kind = "torch" if backend == "torch-generic" else backend
            paired = getattr(oracle_by_name[name], "backend", kind) in (kind, None)
            if backend != "numpy" and exp_grads and paired:
                for i, g, eg in zip(wrt, grads, exp_grads, strict=False):
                    if eg is None:
                        continue
                    if g is None and spec.lib != "torch" and not np.any(np.asarray(eg)):
                        # torch's "unused input" (None) against a JAX/TensorFlow oracle, which has
                        # no such thing and returns zeros: the same gradient
                        continue
                    assert g is not None, f"{where}: no gradient for argument {i}"
                    assert_close(
                        g, eg, out_dtype if out_dtype != "float64" else _result_dtype(eg),
                        f"{where}: gradient of argument {i}", grad=True,
                        scale=grad_scale if grad_scale is not None else scale,
                    )
        record(spec.id, f"{backend}+numpy" if host and backend != "numpy" else backend, dtype)


_BUILTIN = {"IndexError", "RuntimeError", "TypeError", "NotImplementedError", "ValueError"}


def _check_error_type(error: Exception, expected: OracleError, where: str) -> None:
    import lossbridge as lb

    if not isinstance(error, lb.LossBridgeError):
        raise AssertionError(
            f"{where}: the oracle raised {expected}; lossbridge raised {error!r}, which is not a "
            "LossBridgeError"
        ) from error
    builtin = next((b for b in expected.mro if b in _BUILTIN), None)
    if builtin is not None and builtin not in {c.__name__ for c in type(error).__mro__}:
        raise AssertionError(
            f"{where}: the oracle raised {expected} ({builtin}); lossbridge raised {error!r}"
        ) from error
