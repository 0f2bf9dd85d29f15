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
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

#: LOSSBRIDGE_UPSTREAM_FULL=1: every torch sample, and the tests that are over the CI budget.
FULL = os.environ.get("LOSSBRIDGE_UPSTREAM_FULL", "") not in ("", "0")


class ValueMismatch(AssertionError):
    """torch OpInfo case: lossbridge's value differs from torch's, or it raises where torch computes."""


class GradientMismatch(AssertionError):
    """torch OpInfo case: the gradient of a differentiable input differs (or is missing)."""


class KindMismatch(AssertionError):
    """torch OpInfo case: the result is of another array kind or dtype than torch's."""


class ErrorMismatch(AssertionError):
    """torch OpInfo case: torch raises; lossbridge returns, or raises another type."""


@dataclass(frozen=True)
class Exclusion:
    kind: Literal["skip", "xfail"]
    reason: str
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    #: for a pattern key: the entry applies to the tests whose parameter ``case`` satisfies it
    when: Callable[[Any], bool] | None = None


def skip(reason: str) -> Exclusion:
    return Exclusion("skip", reason)


def xfail(reason: str, raises: type[BaseException] | tuple[type[BaseException], ...] | None = None,
          when: Callable[[Any], bool] | None = None) -> Exclusion:
    return Exclusion("xfail", reason, raises, when)


_KL = "test_upstream_keras_losses.py::"
_KB = "test_upstream_keras_loss.py::"
_OX = "test_upstream_optax.py::"
_TO = "test_upstream_torch_opinfo.py::test_opinfo["


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
    # ---- optax: over the CI budget (runs with LOSSBRIDGE_UPSTREAM_FULL=1) ---------------------
    **({} if FULL else {_OX + "CTCTest::test_with_one_to_one_alignment": skip(
        "CI budget: jax.jit of lossbridge.optax.ctc_loss_with_forward_probs at T=50 compiles for "
        "about 60 s (the Python loop over time steps is unrolled under jit; optax's lax.scan: "
        "0.5 s); passes with LOSSBRIDGE_UPSTREAM_FULL=1")}),
}


#: Upstream test material that pytest does not collect at all (so it cannot be marked above).
NOT_COLLECTED: dict[str, str] = {
    "optax/losses/_ranking_test.py::load_tests": (
        "a unittest load_tests hook that adds the doctests of optax.losses._ranking (optax's own "
        "docstring examples, written against optax, not a test of lossbridge); pytest ignores "
        "load_tests, in optax's own pytest runs too"),
}


def lookup(key: str, case: Any = None) -> Exclusion | None:
    """The entry for the test id ``key`` (exact key first, then the first matching pattern whose
    ``when`` accepts the test's ``case`` parameter)."""
    if key in EXCLUSIONS:
        return EXCLUSIONS[key]
    for pattern, entry in EXCLUSIONS.items():
        if "*" in pattern and fnmatch.fnmatchcase(key, pattern) and (
                entry.when is None or (case is not None and entry.when(case))):
            return entry
    return None
