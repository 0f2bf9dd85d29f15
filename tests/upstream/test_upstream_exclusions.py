"""The exclusion table names tests that exist (a renamed or removed upstream test must not leave
a stale entry that hides nothing), and every entry has a reason."""

from __future__ import annotations

import fnmatch
import importlib.util

import pytest
from exclusions import EXCLUSIONS, NOT_COLLECTED, lookup


def _unittest_ids() -> set[str]:
    ids: set[str] = set()
    for path, module in (("test_upstream_keras_losses.py", "test_upstream_keras_losses"),
                         ("test_upstream_keras_loss.py", "test_upstream_keras_loss"),
                         ("test_upstream_optax.py", "test_upstream_optax")):
        if importlib.util.find_spec("keras" if "keras" in path else "optax") is None:
            continue
        mod = importlib.import_module(module)
        for name, cls in vars(mod).items():
            if isinstance(cls, type) and name.endswith("Test"):
                ids.update(f"{path}::{name}::{m}" for m in dir(cls) if m.startswith("test"))
    return ids


def test_every_exclusion_names_an_existing_test() -> None:
    ids: dict[str, object] = dict.fromkeys(_unittest_ids())
    if importlib.util.find_spec("torch") is not None and importlib.util.find_spec("expecttest"):
        import _torch_opinfo

        ids.update((f"test_upstream_torch_opinfo.py::test_opinfo[{c.id}]", c)
                   for c in _torch_opinfo.cases(full=True))
    if not ids:
        pytest.skip("keras, optax and torch are not installed")
    stale = []
    for key, entry in EXCLUSIONS.items():
        if "*" not in key:
            found = key in ids
        else:
            found = any(fnmatch.fnmatchcase(i, key) and (entry.when is None or entry.when(c))
                        for i, c in ids.items())
        if not found:
            stale.append(key)
    assert not stale, f"exclusions.py names tests that do not exist: {stale}"


def test_every_entry_has_a_reason() -> None:
    for key, entry in EXCLUSIONS.items():
        assert entry.kind in ("skip", "xfail") and len(entry.reason) > 20, key
        if entry.kind == "xfail":
            assert entry.reason.startswith("issue "), f"{key}: a known failure names its issue"
    assert all(len(r) > 20 for r in NOT_COLLECTED.values())


def test_lookup_prefers_the_exact_key() -> None:
    key = next(k for k in EXCLUSIONS if "*" not in k)
    assert lookup(key) is EXCLUSIONS[key]
    assert lookup("test_upstream_nothing.py::Nothing::test_nothing") is None
