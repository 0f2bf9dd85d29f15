"""Shared fixtures: the backends under test, the oracles, hypothesis profiles,
and the conformance report printed at the end of the run."""

from __future__ import annotations

import collections
import os

import pytest
from hypothesis import HealthCheck, settings

from harness import compare
from harness.backends import available_backends, installed, require
from harness.oracle import (
    KerasOracle,
    OptaxOracle,
    TfKerasOracle,
    TorchOracle,
    keras_backends,
    tf_keras_python,
)

FRAMEWORKS = ("torch", "jax", "keras", "optax", "tensorflow", "tf_keras")

# Data and subprocess entry points, not test modules: --doctest-modules would import (and so run)
# them in the test process (the port corpus' scripts, the distributed workers, which set torch's
# default dtype and JAX's x64 mode for their own process).
collect_ignore_glob = ["port_corpus/*", "distributed/_*_worker.py", "*/conftest.py"]

# "ci" is deterministic (derandomize) so a run is reproducible, and sized so the whole suite stays
# well under 20 minutes on 2 cores (12 examples per property; slow families draw a share of it);
# "dev" explores (LOSSBRIDGE_EXAMPLES overrides either).
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("LOSSBRIDGE_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=int(os.environ.get("LOSSBRIDGE_EXAMPLES", "200")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("LOSSBRIDGE_HYPOTHESIS_PROFILE", "ci"))

# Keras fixes its backend when it is first imported in a process; a test that imports keras in
# the test process (directly, or through a doctest or a README block) would otherwise get
# Keras' default, TensorFlow, for the whole xdist worker, and tests/upstream runs Keras' own
# tests on jax.  The oracles that need another backend start their own processes.
os.environ.setdefault("KERAS_BACKEND", "jax")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-frameworks",
        action="store_true",
        help="fail (instead of skipping) when torch, jax, keras or optax is missing, so that "
        "a green run proves the live comparison with every framework ran",
    )


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if config.getoption("--require-frameworks"):
        missing = [m for m in FRAMEWORKS if not installed(m)]
        if missing:
            raise pytest.UsageError(
                f"--require-frameworks: {', '.join(missing)} not installed; install the test "
                "extra: pip install -c constraints.txt -e '.[test]'"
            )


@pytest.fixture(scope="session")
def backends() -> list[str]:
    return available_backends()


@pytest.fixture(scope="session")
def keras_oracles():
    oracles = [KerasOracle(b) for b in keras_backends()]
    if not oracles:
        pytest.skip("keras (with the jax or torch backend) is not installed")
    yield oracles
    for o in oracles:
        o.close()


@pytest.fixture(scope="session")
def tf_keras_oracle(request):
    """tf_keras 2.21 on TensorFlow in a worker process; the tests skip without TensorFlow
    unless --require-frameworks is given (then they fail)."""
    python = tf_keras_python()
    if python is None:
        if request.config.getoption("--require-frameworks"):
            pytest.fail("--require-frameworks: tensorflow and tf_keras are not installed; install "
                        "the test extra: pip install -c constraints.txt -e '.[test]'")
        pytest.skip("tensorflow and tf_keras are not installed (or set LOSSBRIDGE_TF_KERAS_PYTHON)")
    oracle = TfKerasOracle(python)
    yield oracle
    oracle.close()


@pytest.fixture(scope="session")
def torch_oracle() -> TorchOracle:
    require("torch")
    return TorchOracle()


@pytest.fixture(scope="session")
def optax_oracle() -> OptaxOracle:
    require("optax")
    return OptaxOracle()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under pytest-xdist a worker hands its comparison counts to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["lossbridge_conformance"] = [[*k, n] for k, n in compare.CONFORMANCE.items()]
        workeroutput["lossbridge_arguments"] = [[*k, n] for k, n in compare.ARGUMENTS.items()]
        workeroutput["lossbridge_badinput"] = [[*k, n] for k, n in _badinput_counts().items()]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # pytest-xdist's hook, controller side
    for loss, backend, dtype, n in getattr(node, "workeroutput", {}).get("lossbridge_conformance", []):
        compare.record(loss, backend, dtype, n)
    for loss, argument, dtype, kind, n in getattr(node, "workeroutput", {}).get("lossbridge_arguments", []):
        compare.record_argument(loss, argument, dtype, kind, n)
    for dialect, cls, outcome, n in getattr(node, "workeroutput", {}).get("lossbridge_badinput", []):
        _badinput_counts()[(dialect, cls, outcome)] += n


_CONTROLLER_BADINPUT: collections.Counter = collections.Counter()  # the xdist workers' sums


def _badinput_counts():
    """The bad-input suite's outcome counts (tests/badinput): the module's own where it ran in
    this process, else the counts the xdist workers handed over."""
    import sys
    module = sys.modules.get("badinput.bad_inputs")
    return _CONTROLLER_BADINPUT if module is None else module.COUNTS


def _badinput_summary(terminalreporter) -> None:
    counts = _badinput_counts()
    if not counts:
        return
    from badinput.bad_inputs import OUTCOMES

    terminalreporter.section("bad inputs: outcomes per dialect (tests/badinput)")
    dialects = sorted({k[0] for k in counts})
    terminalreporter.write_line(f"{'dialect':10}" + "".join(f"{o:>18}" for o in OUTCOMES))
    for d in dialects:
        row = [sum(n for (dd, _c, o), n in counts.items() if dd == d and o == out) for out in OUTCOMES]
        terminalreporter.write_line(f"{d:10}" + "".join(f"{n:>18}" for n in row))
    classes = sorted({k[1] for k in counts})
    terminalreporter.write_line(f"input classes exercised ({len(classes)}): {', '.join(classes)}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    _badinput_summary(terminalreporter)
    arguments = compare.argument_summary_lines()
    if arguments:
        terminalreporter.section("conformance: arguments drawn over their domains (tests/test_argument_conformance.py)")
        for line in arguments:
            terminalreporter.write_line(line)
    lines = compare.summary_lines()
    if not lines:
        return
    terminalreporter.section("conformance: cases compared with the real frameworks")
    for line in lines:
        terminalreporter.write_line(line)
    path = os.path.join(str(config.rootpath), "conformance-report.json")
    compare.write_report(path, badinput=_badinput_counts())
    terminalreporter.write_line(f"(per loss, backend and dtype: {path})")
