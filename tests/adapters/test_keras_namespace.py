"""The keras.ops namespace (TensorFlow tensors) provides every ``xp.<name>`` the package calls."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import lossbridge
from harness.backends import require

SRC = os.path.dirname(lossbridge.__file__)


def _names_used() -> set[str]:
    names: set[str] = set()
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".py") and f != "_keras_xp.py":
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    names.update(re.findall(r"\bxp\.([A-Za-z_][A-Za-z_0-9]*)", fh.read()))
    return names


def test_every_name_the_package_calls_is_provided():
    require("keras")
    require("jax")
    names = sorted(_names_used())
    assert len(names) > 30  # the scan found the package's generic code
    code = (
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'\n"
        "from lossbridge._keras_xp import KerasOpsNamespace\n"
        "ns = KerasOpsNamespace()\n"
        "missing = []\n"
        "for n in sys.argv[1:]:\n"
        "    try:\n"
        "        getattr(ns, n)\n"
        "    except Exception:\n"
        "        missing.append(n)\n"
        "print(' '.join(missing))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == []


def test_a_missing_name_is_a_clear_error():
    require("keras")
    require("jax")
    code = (
        "import os; os.environ['KERAS_BACKEND'] = 'jax'\n"
        "from lossbridge._keras_xp import KerasOpsNamespace\n"
        "from lossbridge import LossBridgeError\n"
        "try:\n"
        "    KerasOpsNamespace().fft\n"
        "except LossBridgeError as e:\n"
        "    print(e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "has no `xp.fft`" in proc.stdout and "KERAS_BACKEND" in proc.stdout, proc.stdout + proc.stderr[-2000:]
