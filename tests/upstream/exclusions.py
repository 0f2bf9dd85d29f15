"""THE table of tests/upstream: every upstream test that does not run as a plain pass, and why.

Keys are test ids relative to ``tests/upstream/`` (``file::Class::test`` or a torch OpInfo id
``test_upstream_torch_opinfo.py::test_opinfo[op-dtype-sample-kind]``); a key may contain ``*``
(fnmatch) to name a family of ids.  Kinds:

* ``skip`` - a permanent exclusion: lossbridge differs on purpose (each one documented), or the
  test cannot say anything about lossbridge (it reads Keras' global state, needs CUDA, ...).
* ``xfail`` - a known failure of today's code that issue 17 fixes; applied as
  ``pytest.mark.xfail(strict=True)`` (with ``raises`` where given), so when a fix lands the
  XPASS fails the run and the entry must be removed.

``conftest.py`` applies the table; an upstream skip that is not listed here fails the run;
``test_upstream_exclusions.py`` checks that every entry names tests that exist.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Exclusion:
    kind: Literal["skip", "xfail"]
    reason: str
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None


def skip(reason: str) -> Exclusion:
    return Exclusion("skip", reason)


def xfail(reason: str, raises: type[BaseException] | tuple[type[BaseException], ...] | None = None) -> Exclusion:
    return Exclusion("xfail", reason, raises)


_KL = "test_upstream_keras_losses.py::"
_KB = "test_upstream_keras_loss.py::"

#: issue 17 item 3: where Keras differs by backend or drops an argument, lossbridge's choice stands.
_AXIS = skip(
    "intentional (issue 17 item 3): SparseCategoricalCrossentropy(axis=0) on a non-last class axis "
    "computes in lossbridge as on keras-torch; keras-jax and keras-tensorflow raise the shape error "
    "this test expects on the jax backend (documented in lossbridge.keras' module docstring)"
)
_CONFIG = (
    "intentional (issue 17 item 3): lossbridge's get_config() keeps `{arg}`, which Keras 3.15.1 "
    "drops (a Keras model saved with {example} reloads with the default); lossbridge's config "
    "loads in Keras unchanged (keras PR #23286)"
)

EXCLUSIONS: dict[str, Exclusion] = {
    # ---- Keras: permanent -------------------------------------------------------------------
    _KL + "SparseCategoricalCrossentropyTest::test_binary_segmentation_different_axis": _AXIS,
    _KL + "SparseCategoricalCrossentropyTest::test_multi_class_segmentation_different_axis": _AXIS,
    _KL + "HuberLossTest::test_config": skip(_CONFIG.format(arg="delta", example="Huber(delta=2)")),
    _KL + "CosineSimilarityTest::test_config": skip(
        _CONFIG.format(arg="axis", example="CosineSimilarity(axis=1)")),
    _KL + "SparseCategoricalCrossentropyTest::test_squeezes_singleton_class_dim_on_user_axis": skip(
        "upstream's own skipif: runs on keras-torch only ('Channels-first axis only supported on "
        "Torch'); these tests run on keras-jax"),
    _KB + "LossTest::test_default_dtype": skip(
        "reads Keras' global state: keras.config.set_floatx('float16') changes the default dtype "
        "of Keras' losses; lossbridge.keras' default comes from lossbridge.keras.floatx(), not "
        "from Keras' global floatx"),
}


def lookup(key: str) -> Exclusion | None:
    """The entry for the test id ``key`` (exact key first, then the first matching pattern)."""
    if key in EXCLUSIONS:
        return EXCLUSIONS[key]
    for pattern, entry in EXCLUSIONS.items():
        if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
            return entry
    return None
