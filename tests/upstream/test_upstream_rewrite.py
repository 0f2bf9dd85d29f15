"""The import rewrite of tests/upstream: upstream's loss imports become lossbridge's, and a loss
import that the table does not map fails loudly (never runs a framework's tests against itself)."""

from __future__ import annotations

import importlib.util
import sys

import _upstream
import pytest


def _write_package(tmp_path, monkeypatch, source: str) -> None:
    pkg = tmp_path / "fakefw"
    (pkg / "losses").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "losses" / "__init__.py").write_text("")
    (pkg / "losses" / "impl.py").write_text("def mse(a, b):\n    return 'framework'\n")
    (pkg / "losses" / "impl_test.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()


def test_mapped_import_is_lossbridge(tmp_path, monkeypatch) -> None:
    _write_package(tmp_path, monkeypatch,
                   "import unittest\nfrom fakefw.losses import impl\n"
                   "from fakefw.losses import impl as other\n"
                   "class T(unittest.TestCase):\n    def test_x(self):\n        pass\n")
    module = _upstream.load("fakefw", "losses/impl_test.py", "upstream_fake_test",
                            {("fakefw.losses", "impl"): "lossbridge.keras"}, ("fakefw.losses",))
    import lossbridge.keras

    assert module.impl is lossbridge.keras and module.other is lossbridge.keras
    assert list(_upstream.test_cases(module)) == ["T"]
    sys.modules.pop("upstream_fake_test", None)


def test_attribute_target(tmp_path, monkeypatch) -> None:
    _write_package(tmp_path, monkeypatch, "from fakefw.losses.impl import mse\n")
    module = _upstream.load("fakefw", "losses/impl_test.py", "upstream_fake_test2",
                            {("fakefw.losses.impl", "mse"): "lossbridge.keras:mean_squared_error"},
                            ("fakefw.losses",))
    import lossbridge.keras

    assert module.mse is lossbridge.keras.mean_squared_error
    sys.modules.pop("upstream_fake_test2", None)


@pytest.mark.parametrize("line", ["from fakefw.losses import impl\n", "import fakefw.losses.impl\n"])
def test_unmapped_loss_import_fails(tmp_path, monkeypatch, line: str) -> None:
    _write_package(tmp_path, monkeypatch, line)
    with pytest.raises(_upstream.UpstreamImportError, match="does not map"):
        _upstream.load("fakefw", "losses/impl_test.py", "upstream_fake_test3", {}, ("fakefw.losses",))


def test_missing_file_and_package() -> None:
    with pytest.raises(FileNotFoundError, match="not in the installed"):
        _upstream.source_path("pytest", "no/such_test.py")
    with pytest.raises(ModuleNotFoundError, match="not installed"):
        _upstream.source_path("no_such_package_lossbridge", "x.py")


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_keras_suite_tests_lossbridge_not_keras() -> None:
    import test_upstream_keras_losses as t

    import lossbridge.keras

    assert sys.modules["upstream_keras_losses_test"].losses is lossbridge.keras
    assert t.MeanSquaredErrorTest.__module__ == "upstream_keras_losses_test"
