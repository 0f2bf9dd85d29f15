"""optax's own ``optax/losses/*_test.py`` (from the installed wheel) against ``lossbridge.optax``:
``from optax.losses import _classification`` (and the other loss modules) becomes
``lossbridge.optax``.  Exclusions and known failures: ``exclusions.py``."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("optax") is None or importlib.util.find_spec("jax") is None:
    pytest.skip("optax's own loss tests come from the installed optax wheel", allow_module_level=True)

import _upstream

#: optax 0.2.8's loss test files, in optax/losses/.
FILES = ("classification", "fenchel_young", "ranking", "regression", "segmentation",
         "self_supervised", "smoothing")

#: `from optax.losses import _x` -> lossbridge.optax (one namespace for every loss module).
IMPORTS = {("optax.losses", f"_{name}"): "lossbridge.optax" for name in FILES}

for _name in FILES:
    _module = _upstream.load("optax", f"losses/_{_name}_test.py", f"upstream_optax_{_name}_test",
                             IMPORTS, ("optax.losses", "optax._src.loss"))
    globals().update(_upstream.test_cases(_module))
