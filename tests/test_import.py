"""`import lossbridge` imports NumPy and array-api-compat only, never a framework."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "jax", "jaxlib", "keras", "tensorflow", "optax", "flax", "rich")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout
    return {line.split(".")[0] for line in out.splitlines()}


def test_import_lossbridge_imports_no_framework():
    loaded = _modules_after("import lossbridge")
    assert "lossbridge" in loaded
    assert not loaded & set(FRAMEWORKS), sorted(loaded & set(FRAMEWORKS))


def test_dialects_load_on_first_use():
    """PEP 562: `import lossbridge` loads no dialect; attribute access, `from lossbridge import
    keras` and `import lossbridge.torch` all load it, and the catalog sees every dialect."""
    out = subprocess.run(
        [sys.executable, "-c",
         "import sys, lossbridge as lb\n"
         "print(sorted(m for m in sys.modules if m.startswith('lossbridge.')))\n"
         "from lossbridge import keras\n"
         "import lossbridge.torch\n"
         "assert keras is lb.keras and lb.keras.CategoricalCrossentropy\n"
         "assert lb.torch.CrossEntropyLoss and lb.optax.l2_loss and lb.checks and lb.diagnose\n"
         "from lossbridge import _catalog\n"
         "print(sorted({e.dialect for e in _catalog.all_entries()}))\n"
         "assert 'translate' in dir(lb) and 'keras' in dir(lb)\n"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert eval(out[0]) == ["lossbridge._errors"], out[0]
    assert eval(out[1]) == ["keras", "optax", "tf_keras", "theano", "torch"], out[1]


def test_numpy_computation_imports_no_framework():
    code = (
        "import numpy as np, lossbridge as lb\n"
        "y = np.array([[0., 1.]]); p = np.array([[0.3, 0.7]])\n"
        "lb.keras.CategoricalCrossentropy()(y, p)\n"
        "lb.torch.CrossEntropyLoss()(p, np.array([1]))\n"
        "lb.optax.softmax_cross_entropy(p, y)\n"
        "lb.theano.categorical_crossentropy(p, y)\n"
        "lb.keras.serialize(lb.keras.get('mse'))\n"
        "assert callable(lb.to_torch_module) and callable(lb.to_keras_loss)\n"
        "import lossbridge.adapters\n"
    )
    loaded = _modules_after(code)
    assert not loaded & set(FRAMEWORKS), sorted(loaded & set(FRAMEWORKS))


def test_cli_compare_runs_without_frameworks():
    """`lossbridge compare` needs only the required dependencies (rich is optional)."""
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    # only absolute imports can reach a framework; 'from ..keras import x' is lossbridge's own\n"
        f"    if level == 0 and name.split('.')[0] in {FRAMEWORKS!r}: raise ImportError('blocked ' + name)\n"
        "    return real(name, globals, locals, fromlist, level)\n"
        "builtins.__import__ = guard\n"
        "from lossbridge.cli import main\n"
        "rc = main(['compare'])\n"
        "assert rc == 0, rc\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "torch nn.CrossEntropyLoss()(logits, labels)" in out.stdout
    assert "1.176939" in out.stdout
