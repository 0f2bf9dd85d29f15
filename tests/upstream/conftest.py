"""tests/upstream: the frameworks' own loss tests against the dialects.

* Every exclusion and known failure is in ``exclusions.py`` (one table); this file applies it:
  ``skip`` entries become ``pytest.mark.skip(reason)``, ``xfail`` entries
  ``pytest.mark.xfail(strict=True, reason, raises)``, so a fix that makes a known failure pass
  fails the run (XPASS(strict)) until its entry is removed.
* A skip that the table does not list (one of upstream's own ``skipif`` decorators, or a
  ``pytest.skip`` inside an upstream test) is turned into a failure: nothing is skipped silently.
* Keras finds its own classes by their module when it deserializes; lossbridge's classes are
  found the way a Keras user finds any class from outside Keras, as custom objects (every public
  ``lossbridge.keras`` class, for the duration of each Keras test).
* At the end, a summary per upstream suite: passed / failed / known failures / excluded.
"""

from __future__ import annotations

import collections
import os
from typing import Any

import pytest
from exclusions import EXCLUSIONS, Exclusion, lookup

_HERE = os.path.dirname(os.path.abspath(__file__))
_PREFIX = "tests/upstream/"

#: suite -> outcome -> count (the controller sees every report, also under pytest-xdist)
_TALLY: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
_SUITES = {
    "test_upstream_keras_losses.py": "keras losses_test.py",
    "test_upstream_keras_loss.py": "keras loss_test.py",
    "test_upstream_optax.py": "optax losses/*_test.py",
    "test_upstream_torch_opinfo.py": "torch op_db/module_db loss samples",
}


def _key(item_or_nodeid: Any) -> str:
    nodeid = item_or_nodeid if isinstance(item_or_nodeid, str) else item_or_nodeid.nodeid
    return nodeid.split(_PREFIX, 1)[-1]


def _case(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("case") if callspec is not None else None


def _mark(entry: Exclusion) -> pytest.MarkDecorator:
    if entry.kind == "skip":
        return pytest.mark.skip(reason=f"excluded (tests/upstream/exclusions.py): {entry.reason}")
    return pytest.mark.xfail(strict=True, reason=entry.reason, raises=entry.raises)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _PREFIX not in item.nodeid and not item.nodeid.startswith("test_upstream_"):
            continue
        if "keras" in item.nodeid:
            # Keras' own tests call the losses as Keras users do; lossbridge's advice warnings
            # (e.g. Tversky's alpha != beta, where the release and keras main differ) are not
            # errors there, as the project's own tests make them
            item.add_marker(pytest.mark.filterwarnings("ignore::lossbridge.LossBridgeWarning"))
        entry = lookup(_key(item), _case(item))
        if entry is not None:
            item.add_marker(_mark(entry))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report = outcome.get_result()
    if _PREFIX not in item.nodeid or not report.skipped or hasattr(report, "wasxfail"):
        return
    entry = lookup(_key(item), _case(item))
    if entry is None or entry.kind != "skip":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} was skipped ({reason}) but tests/upstream/exclusions.py does not list "
            "it: add it to EXCLUSIONS with its reason (nothing in tests/upstream is skipped silently)"
        )


@pytest.fixture(autouse=True)
def _lossbridge_keras_objects(request: pytest.FixtureRequest) -> Any:
    """Keras' serialization round trip finds lossbridge.keras' classes as custom objects, as
    Keras finds its own through their module.  (Keras' global custom objects, not a
    ``custom_object_scope``: the test case's ``setUp`` calls ``clear_session``, which clears
    the scope.)"""
    if "test_upstream_keras" not in request.node.nodeid:
        yield
        return
    import inspect

    import keras

    import lossbridge.keras as lbk

    objects = {name: obj for name, obj in vars(lbk).items()
               if inspect.isclass(obj) and issubclass(obj, lbk.Loss) and not name.startswith("_")}
    registry = keras.saving.get_custom_objects()
    saved = dict(registry)
    registry.update(objects)
    try:
        yield
    finally:
        registry.clear()
        registry.update(saved)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _PREFIX not in report.nodeid:
        return
    suite = _SUITES.get(_key(report.nodeid).split("::", 1)[0])
    if suite is None:
        return
    if type(report).__name__ == "SubtestReport":  # unittest subTest: its test is counted
        if report.failed:
            _TALLY[suite]["failed subtests"] += 1
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed (known, exclusions.py)" if report.skipped else "XPASS(strict)"
        elif report.skipped:
            outcome = "excluded (exclusions.py)"
        else:
            outcome = report.outcome
        _TALLY[suite][outcome] += 1


def _checks() -> collections.Counter[tuple[str, str]]:
    import sys

    module = sys.modules.get("_torch_opinfo")
    return module.CHECKS if module is not None else collections.Counter()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under pytest-xdist a worker hands its torch OpInfo check counts to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["lossbridge_upstream_checks"] = [[*k, n] for k, n in _checks().items()]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    for what, kind, n in getattr(node, "workeroutput", {}).get("lossbridge_upstream_checks", []):
        _CONTROLLER_CHECKS[(what, kind)] += n


_CONTROLLER_CHECKS: collections.Counter[tuple[str, str]] = collections.Counter()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _TALLY:
        return
    from exclusions import NOT_COLLECTED

    terminalreporter.section("upstream suites: the frameworks' own loss tests against lossbridge")
    for suite in sorted(_TALLY):
        counts = _TALLY[suite]
        total = sum(counts.values())
        parts = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
        terminalreporter.write_line(f"{suite}: {counts['passed']}/{total} passed ({parts})")
    checks = _checks() + _CONTROLLER_CHECKS
    if checks:
        kinds = sorted({k for _, k in checks})
        line = ", ".join(f"{what} " + "/".join(f"{checks[(what, k)]}" for k in kinds)
                         for what in sorted({w for w, _ in checks}))
        terminalreporter.write_line(
            f"torch OpInfo checks passed ({'/'.join(kinds)}): {line}; total {sum(checks.values())}")
    for what, reason in NOT_COLLECTED.items():
        terminalreporter.write_line(f"not collected: {what}: {reason}")


__all__ = ["EXCLUSIONS"]
