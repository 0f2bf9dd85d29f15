"""torch's own loss test material (``torch.testing._internal``) run through ``lossbridge.torch``.

Cases come from the installed torch: the loss entries of ``common_methods_invocations.op_db``
(their ``sample_inputs`` and ``error_inputs``) and of ``common_modules.module_db`` (their module
inputs and module error inputs).  For each sample, dtype (float32, float64) and array kind
(torch tensors, NumPy arrays, JAX arrays) one case compares ``lossbridge.torch`` with torch's op
on the same values, torch being the oracle:

* value (tolerances of ``harness.compare``), result dtype and result kind;
* the gradient of every differentiable input (every floating tensor of the sample that requires
  grad; for ``LinearCrossEntropyLoss`` also the module's linear weight and bias), with a random
  upstream gradient: on torch tensors with ``torch.autograd.grad`` (an input that torch's graph
  does not reach must not be reached by lossbridge's either, and the reverse), on JAX arrays with
  ``jax.vjp`` (float64 under ``jax.enable_x64``; an unreached input has a zero gradient).  NumPy
  has no autodiff: NumPy cases check values, dtypes and kinds;
* when torch raises on a sample, lossbridge must raise a ``LossBridgeError`` that is also torch's
  exception type; the same for every error input, on every array kind.

Sample values are drawn by torch's own generators with ``torch.manual_seed(0)`` per op and dtype,
so a case id names the same input in every run.  The CI runs every torch and NumPy case and the
first ``LIMIT`` JAX cases per op and dtype (``LOSSBRIDGE_UPSTREAM_FULL=1``: all of them).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from exclusions import (
    ErrorMismatch,
    GradientMismatch,
    KindMismatch,
    ValueMismatch,
)

#: The losses of op_db: name (and variant) -> the lossbridge.torch.functional function name.
OPS = (
    "nn.functional.binary_cross_entropy", "nn.functional.binary_cross_entropy_with_logits",
    "nn.functional.cosine_embedding_loss", "nn.functional.cross_entropy", "nn.functional.ctc_loss",
    "nn.functional.gaussian_nll_loss", "nn.functional.hinge_embedding_loss",
    "nn.functional.huber_loss", "nn.functional.kl_div", "nn.functional.l1_loss",
    "nn.functional.linear_cross_entropy", "nn.functional.margin_ranking_loss",
    "nn.functional.mse_loss", "nn.functional.multi_margin_loss",
    "nn.functional.multilabel_margin_loss", "nn.functional.multilabel_soft_margin_loss",
    "nn.functional.nll_loss", "nn.functional.poisson_nll_loss", "nn.functional.smooth_l1_loss",
    "nn.functional.soft_margin_loss", "nn.functional.triplet_margin_loss",
    "nn.functional.triplet_margin_with_distance_loss",
)
DTYPES = ("float32", "float64")
#: (check, kind) -> checks passed in this process (conftest.py reports them)
CHECKS: collections.Counter[tuple[str, str]] = collections.Counter()
KINDS = ("torch", "numpy", "jax")
FULL = os.environ.get("LOSSBRIDGE_UPSTREAM_FULL", "") not in ("", "0")
#: JAX cases per op (or module) and dtype in the CI run (the first ones): eager JAX compiles every
#: primitive per new shape (0.3 s a case; the fused linear cross-entropy 2-12 s, issue 17 class 7),
#: while torch and NumPy cases cost milliseconds and all of them run.  LOSSBRIDGE_UPSTREAM_FULL=1
#: runs every JAX case too; LOSSBRIDGE_UPSTREAM_LIMIT=n sets the JAX limit.
LIMIT = int(os.environ.get("LOSSBRIDGE_UPSTREAM_LIMIT", "3"))
LIMIT_FUSED = 1  # linear_cross_entropy / LinearCrossEntropyLoss on JAX arrays
#: float32 gradient tolerance factor of CTC: torch's own float32 CTC gradient is 7.6e-5 (of the
#: largest entry) away from its float64 one at T=50 (op_db's ctc_loss sample 0), and so is
#: lossbridge's; the two float32 results differ by 2.4e-5, above the default rtol 2e-5.
GRAD_SCALE = {("nn.functional.ctc_loss", "float32"): 10.0, ("CTCLoss", "float32"): 10.0}


def _count(name: str, kind: str, n: int, full: bool) -> int:
    if full or kind != "jax":
        return n
    return min(n, LIMIT_FUSED if "inear" in name else LIMIT)


@dataclasses.dataclass(frozen=True)
class Case:
    source: str  # "op" | "op-error" | "module" | "module-error"
    name: str  # "nn.functional.cross_entropy", "nn.functional.linear_cross_entropy.chunked", "CrossEntropyLoss"
    dtype: str  # "float32" | "float64"; error inputs: torch's dtype of the error input
    index: int
    kind: str  # "torch" | "numpy" | "jax"
    count: int  # samples of this op and dtype (the case is one of them)

    @property
    def id(self) -> str:
        tag = "error-" if self.source.endswith("error") else ""
        return f"{self.name}-{self.dtype}-{tag}{self.index}-{self.kind}"

    def sample(self) -> Any:
        return _samples(self.source, self.name, self.dtype)[self.index]

    def __str__(self) -> str:
        return self.id


# ---------------------------------------------------------------------------------------------
# torch's material


@functools.cache
def _op_db() -> dict[str, Any]:
    from torch.testing._internal.common_methods_invocations import op_db

    out = {}
    for op in op_db:
        if op.name in OPS:
            out[op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")] = op
    missing = set(OPS) - {op.name for op in out.values()}
    if missing:
        raise RuntimeError(f"torch's op_db has no entry for {sorted(missing)}")
    return out


@functools.cache
def _module_db() -> dict[str, Any]:
    from torch.testing._internal.common_modules import module_db

    return {m.module_cls.__name__: m for m in module_db if m.module_cls.__name__.endswith("Loss")}


@functools.cache
def _samples(source: str, name: str, dtype: str) -> list[Any]:
    """torch's samples of one op or module (seeded: the same values in every process)."""
    import torch

    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    with warnings.catch_warnings(), _no_test_fn_lookup():
        warnings.simplefilter("ignore")
        if source == "op":
            return list(_op_db()[name].sample_inputs("cpu", tdtype, requires_grad=True))
        if source == "op-error":
            return list(_op_db()[name].error_inputs("cpu"))
        info = _module_db()[name]
        if source == "module":
            return list(info.module_inputs_func(info, device="cpu", dtype=tdtype, requires_grad=True,
                                                training=True))
        return list(info.module_error_inputs_func(info, device="cpu", dtype=tdtype,
                                                  requires_grad=True, training=True))


@contextlib.contextmanager
def _no_test_fn_lookup() -> Iterator[None]:
    """torch's sample iterators look for the running torch test case by ``inspect.stack()`` for
    their debugging records (``extract_test_fn``); there is none here, and under pytest the
    stack walk reads source files for every frame (40 s for the loss samples): skip it."""
    from unittest import mock

    from torch.testing._internal import common_utils
    from torch.testing._internal.opinfo import core

    with mock.patch.object(common_utils, "extract_test_fn", lambda: None), \
            mock.patch.object(core, "extract_test_fn", lambda: None):
        yield


def cases(full: bool = FULL) -> Iterator[Case]:
    """Every case, in a fixed order (the first LIMIT samples per op/module and dtype unless full)."""
    for name, op in _op_db().items():
        for dtype in DTYPES:
            n = len(_samples("op", name, dtype))
            for i in range(n):
                for kind in KINDS:
                    if i < _count(name, kind, n, full):
                        yield Case("op", name, dtype, i, kind, n)
        if op.error_inputs_func is not None:
            n = len(_samples("op-error", name, "float32"))
            for i in range(n):
                for kind in KINDS:
                    yield Case("op-error", name, "float32", i, kind, n)
    for name, info in _module_db().items():
        for dtype in DTYPES:
            n = len(_samples("module", name, dtype))
            for i in range(n):
                for kind in KINDS:
                    if i < _count(name, kind, n, full):
                        yield Case("module", name, dtype, i, kind, n)
        if info.module_error_inputs_func is not None:
            n = len(_samples("module-error", name, "float32"))
            for i in range(n):
                for kind in KINDS:
                    yield Case("module-error", name, "float32", i, kind, n)


# ---------------------------------------------------------------------------------------------
# conversion of a sample to an array kind


def _convert(obj: Any, kind: str, leaves: dict[int, Any] | None = None) -> Any:
    """``obj`` (a tensor, or a structure of them) as ``kind``; ``leaves`` maps ``id(tensor)`` to
    the array that replaces it (the differentiable inputs under jax.vjp)."""
    import torch

    if isinstance(obj, torch.Tensor):
        if leaves is not None and id(obj) in leaves:
            return leaves[id(obj)]
        if kind == "torch":
            return obj
        value = obj.detach().numpy()
        if kind == "numpy":
            return value
        import jax.numpy as jnp

        return jnp.asarray(value)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_convert(o, kind, leaves) for o in obj)
    if isinstance(obj, dict):
        return {k: _convert(v, kind, leaves) for k, v in obj.items()}
    if isinstance(obj, torch.nn.PairwiseDistance):  # a distance function given as torch's module
        import lossbridge.torch.functional as lf

        return functools.partial(lf.pairwise_distance, p=obj.norm, eps=obj.eps, keepdim=obj.keepdim)
    return obj


def _differentiable(sample_args: tuple[Any, dict[str, Any]]) -> list[tuple[str, Any]]:
    """The floating tensors of ``(args, kwargs)`` that require grad, with a name each (``arg0``
    is the first positional argument, torch's ``input``; keyword arguments by name)."""
    import torch

    out: list[tuple[str, Any]] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, torch.Tensor):
            if obj.requires_grad and obj.is_floating_point() and id(obj) not in seen:
                seen.add(id(obj))
                out.append((path, obj))
        elif isinstance(obj, (list, tuple)):
            for i, o in enumerate(obj):
                walk(o, f"{path}[{i}]")
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else k)

    args, kwargs = sample_args
    seen: set[int] = set()  # a tensor passed twice (KLDivLoss' input is its target) is one input
    for i, a in enumerate(args):
        walk(a, f"arg{i}")
    for k, v in kwargs.items():
        walk(v, k)
    return out


# ---------------------------------------------------------------------------------------------
# the call of one case


@dataclasses.dataclass
class Call:
    """One case as two callables over the same tensors: torch's and lossbridge's."""

    args: tuple[Any, ...]  # positional arguments (torch tensors)
    kwargs: dict[str, Any]
    torch_fn: Callable[..., Any]
    lossbridge_fn: Callable[[str, dict[int, Any] | None], Any]  # (kind, leaves) -> result
    extra: list[tuple[str, Any]]  # differentiable parameters that are not arguments (module weights)
    describe: str


def _op_call(case: Case, sample: Any) -> Call:
    import lossbridge.torch.functional as lf

    op = _op_db()[case.name]
    fname = case.name.split(".")[2]
    lb_fn = getattr(lf, fname)
    args = (sample.input, *sample.args)
    kwargs = dict(sample.kwargs)

    def run_lossbridge(kind: str, leaves: dict[int, Any] | None) -> Any:
        return lb_fn(*_convert(args, kind, leaves), **_convert(kwargs, kind, leaves))

    return Call(args, kwargs, lambda *a, **k: op.op(*a, **k), run_lossbridge, [], _describe(args, kwargs))


def _module_call(case: Case, module_input: Any) -> Call:

    import lossbridge.torch as lt

    info = _module_db()[case.name]
    cargs, ckwargs = module_input.constructor_input.args, module_input.constructor_input.kwargs
    fargs, fkwargs = module_input.forward_input.args, module_input.forward_input.kwargs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_module = info.module_cls(*cargs, **ckwargs)
    lb_cls = getattr(lt, case.name)
    extra: list[tuple[str, Any]] = []
    if case.name == "LinearCrossEntropyLoss":
        extra = [(f"linear.{n}", p) for n, p in torch_module.linear.named_parameters()]

    def run_lossbridge(kind: str, leaves: dict[int, Any] | None) -> Any:
        ck = {k: v for k, v in _convert(ckwargs, kind, leaves).items()}
        if case.name == "LinearCrossEntropyLoss" and kind != "torch":
            ck["device"] = None  # a torch device is meaningless for other kinds
            ck["dtype"] = None
        module = lb_cls(*_convert(cargs, kind, leaves), **ck)
        for name, p in extra:
            setattr(module.linear, name.split(".")[1], _convert(p, kind, leaves))
        return module(*_convert(fargs, kind, leaves), **_convert(fkwargs, kind, leaves))

    desc = f"{case.name}({_describe(cargs, ckwargs)}) forward({_describe(fargs, fkwargs)})"
    return Call(tuple(fargs), dict(fkwargs), lambda *a, **k: torch_module(*a, **k), run_lossbridge,
                extra, desc)


def _describe(args: Any, kwargs: dict[str, Any]) -> str:
    import torch

    def one(x: Any) -> str:
        if isinstance(x, torch.Tensor):
            return f"{str(x.dtype)[6:]}{list(x.shape)}" + ("*" if x.requires_grad else "")
        if isinstance(x, (list, tuple)):
            return "(" + ", ".join(one(o) for o in x) + ")"
        return repr(x)

    return ", ".join([one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()])


# ---------------------------------------------------------------------------------------------
# the checks


def _kind_of(x: Any) -> str:
    import torch

    if isinstance(x, torch.Tensor):
        return "torch"
    if isinstance(x, (np.ndarray, np.generic)):
        return "numpy"
    with contextlib.suppress(ImportError):
        import jax

        if isinstance(x, jax.Array):
            return "jax"
    return type(x).__name__


def _jax_context(dtype: str) -> Any:
    if dtype == "float64":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def run(case: Case, record: Callable[[str, int], None]) -> None:
    """Run one case; ``record(what, n)`` counts the checks that passed."""
    sample = case.sample()
    if case.source.endswith("error"):
        return _run_error(case, sample, record)
    call = _op_call(case, sample) if case.source == "op" else _module_call(case, sample)
    import lossbridge as lb
    from harness.compare import assert_close

    # torch, the oracle
    expected_error: BaseException | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = call.torch_fn(*call.args, **call.kwargs)
        except Exception as e:
            expected_error = e
    if expected_error is not None:
        _expect_error(case, call, type(expected_error), str(expected_error), record)
        return

    diff = _differentiable((call.args, call.kwargs)) + call.extra
    want_grads = bool(diff) and expected.requires_grad and case.kind != "numpy"
    rng = np.random.default_rng(case.index)
    cot = torch_cot = None
    if want_grads:
        import torch

        cot = rng.uniform(0.5, 1.5, size=tuple(expected.shape)).astype(case.dtype)
        torch_cot = torch.as_tensor(cot)
        expected_grads = torch.autograd.grad(expected, [t for _, t in diff], torch_cot,
                                             allow_unused=True, retain_graph=False)

    # lossbridge on the case's array kind
    with warnings.catch_warnings(), _jax_context(case.dtype):
        warnings.simplefilter("ignore")
        try:
            if case.kind == "jax" and want_grads:
                import jax

                leaves_in = [_convert(t, "jax") for _, t in diff]

                def f(*xs: Any) -> Any:
                    return call.lossbridge_fn("jax", {id(t): x for (_, t), x in zip(diff, xs, strict=True)})

                actual, vjp = jax.vjp(f, *leaves_in)
                actual_grads: Any = vjp(jax.numpy.asarray(cot, dtype=actual.dtype))
            else:
                actual = call.lossbridge_fn(case.kind, None)
                actual_grads = None
                if case.kind == "torch" and want_grads:
                    import torch

                    if not getattr(actual, "requires_grad", False):
                        raise GradientMismatch(
                            f"{case.id}: torch's result requires grad, lossbridge's does not "
                            f"(no gradient reaches {[n for n, _ in diff]}); call: {call.describe}")
                    actual_grads = torch.autograd.grad(actual, [t for _, t in diff], torch_cot,
                                                       allow_unused=True)
        except lb.LossBridgeError as e:
            raise ValueMismatch(f"{case.id}: torch computes, lossbridge raises {type(e).__name__}: "
                                f"{str(e)[:300]}; call: {call.describe}") from e
        except (AssertionError, GradientMismatch):
            raise
        except Exception as e:
            raise ValueMismatch(f"{case.id}: torch computes, lossbridge raises a non-lossbridge "
                                f"{type(e).__name__}: {str(e)[:300]}; call: {call.describe}") from e

    # kind and dtype
    if _kind_of(actual) != case.kind:
        raise KindMismatch(f"{case.id}: result is a {_kind_of(actual)} array for {case.kind} "
                           f"inputs; call: {call.describe}")
    want_dtype = str(expected.dtype).replace("torch.", "")
    got_dtype = str(np.dtype(actual.dtype) if case.kind != "torch" else actual.dtype).replace("torch.", "")
    if got_dtype != want_dtype:
        raise KindMismatch(f"{case.id}: result dtype {got_dtype}, torch's {want_dtype}; "
                           f"call: {call.describe}")
    record("kind+dtype", 1)
    # value
    try:
        assert_close(_numpy(actual), _numpy(expected), case.dtype, f"{case.id} value")
    except AssertionError as e:
        raise ValueMismatch(f"{e}; call: {call.describe}") from None
    record("value", 1)
    if not want_grads:
        return
    # gradients, input by input
    for (name, _), g_want, g_got in zip(diff, expected_grads, actual_grads, strict=True):
        if case.kind == "torch" and (g_want is None) != (g_got is None):
            raise GradientMismatch(
                f"{case.id}: gradient of `{name}`: torch's is "
                f"{'None (not reached)' if g_want is None else 'a tensor'}, lossbridge's is "
                f"{'None (not reached)' if g_got is None else 'a tensor'}; call: {call.describe}")
        if g_want is None and g_got is None:
            record("gradient", 1)
            continue
        want = np.zeros(np.shape(g_got)) if g_want is None else _numpy(g_want)
        try:
            assert_close(_numpy(g_got), want, case.dtype, f"{case.id} gradient of `{name}`", grad=True,
                         scale=GRAD_SCALE.get((case.name, case.dtype), 1.0))
        except AssertionError as e:
            raise GradientMismatch(f"{e}; call: {call.describe}") from None
        record("gradient", 1)


def _numpy(x: Any) -> Any:
    if hasattr(x, "detach"):
        x = x.detach().numpy()
    return np.asarray(x, dtype=np.float64)


def _expect_error(case: Case, call: Call, error_type: type[BaseException], message: str,
                  record: Callable[[str, int], None]) -> None:
    import lossbridge as lb

    with warnings.catch_warnings(), _jax_context(case.dtype):
        warnings.simplefilter("ignore")
        try:
            call.lossbridge_fn(case.kind, None)
        except lb.LossBridgeError as e:
            if not isinstance(e, error_type):
                raise ErrorMismatch(
                    f"{case.id}: torch raises {error_type.__name__} ({message[:200]}), lossbridge "
                    f"{type(e).__name__}, not a {error_type.__name__}: {str(e)[:200]}; "
                    f"call: {call.describe}") from None
            record("error", 1)
            return
        except Exception as e:
            raise ErrorMismatch(
                f"{case.id}: torch raises {error_type.__name__} ({message[:200]}), lossbridge a "
                f"non-lossbridge {type(e).__name__}: {str(e)[:200]}; call: {call.describe}") from None
    raise ErrorMismatch(f"{case.id}: torch raises {error_type.__name__} ({message[:200]}), "
                        f"lossbridge returns; call: {call.describe}")


def _run_error(case: Case, error_input: Any, record: Callable[[str, int], None]) -> None:
    if case.source == "op-error":
        call = _op_call(case, error_input.sample_input)
        _expect_error(case, call, error_input.error_type, error_input.error_regex, record)
        return
    from torch.testing._internal.common_modules import ModuleErrorEnum

    module_input = error_input.module_error_input
    if error_input.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
        import lossbridge.torch as lt

        ci = module_input.constructor_input
        call = Call((), {}, lambda: None,
                    lambda kind, leaves: getattr(lt, case.name)(*_convert(ci.args, kind),
                                                                **_convert(ci.kwargs, kind)),
                    [], f"{case.name}({_describe(ci.args, ci.kwargs)})")
    else:
        call = _module_call(case, module_input)
    _expect_error(case, call, error_input.error_type, error_input.error_regex, record)
