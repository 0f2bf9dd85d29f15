"""torch's own loss samples and error inputs (``op_db`` and ``module_db`` of the installed torch)
against ``lossbridge.torch`` on torch, NumPy and JAX arrays: values, dtypes, kinds, gradients of
every differentiable input, errors.  How: ``_torch_opinfo.py``; exclusions: ``exclusions.py``."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None:
    pytest.skip("torch is not installed", allow_module_level=True)
if importlib.util.find_spec("expecttest") is None:  # an incomplete test install: fail, never skip
    raise ImportError("torch.testing._internal (torch's OpInfo samples) needs expecttest: install "
                      "the test extra: pip install -c constraints.txt -e '.[test]'")

import _torch_opinfo

from harness.compare import record

CASES = list(_torch_opinfo.cases())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_opinfo(case: _torch_opinfo.Case) -> None:
    if case.kind == "jax":
        pytest.importorskip("jax", reason="the JAX cases need jax")

    def count(what: str, n: int) -> None:
        record(f"torch-upstream.{case.name}", case.kind, case.dtype, n)
        _torch_opinfo.CHECKS[(what, case.kind)] += n

    _torch_opinfo.run(case, count)
