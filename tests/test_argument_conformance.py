"""Conformance draws how people call losses (issue 17, item 2): every catalog loss of every
dialect, every argument over its domain (``harness/arguments.py``), mixed array kinds, and the
gradients of every floating input, against the real framework: torch 2.13, keras 3.15.1 on the
jax and torch backends, optax 0.2.8, tf_keras 2.21; float32 and float64 (tolerances per dtype in
``harness/compare.py``; ``dtype="bfloat16"``/``"float16"`` of a Keras loss compares at that
precision).

Per loss, hypothesis draws ``EXAMPLES`` calls (``LOSSBRIDGE_EXAMPLES`` / 4, at least 2; 2 in CI: the CI budget):
the structure (batch size, classes, rank, the class axis), a seed for the values, every argument
of the table (or its default), the array kind (NumPy, torch, torch tensors through lossbridge's
generic code, JAX) and, on tensors, whether the integer inputs and Keras' sample weight come as
NumPy arrays (mixed kinds: Keras, tf.keras and optax convert them; torch refuses them with a
TypeError, and so must the torch dialect).
"""

from __future__ import annotations

import inspect
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import arguments as A
from harness.backends import installed
from harness.compare import record_argument
from harness.conformance import check
from harness.oracle import Spec
from lossbridge import _catalog

_EXAMPLES = os.environ.get("LOSSBRIDGE_EXAMPLES")
EXAMPLES = max(2, math.ceil(int(_EXAMPLES) / 4)) if _EXAMPLES else 2
FRAMEWORK = {"torch": "torch", "keras": "keras", "optax": "optax", "tf_keras": "tf_keras"}


def _entries(dialects=("torch", "keras", "optax", "tf_keras", "theano")):
    import lossbridge  # noqa: F401  (registers every dialect's catalog)

    return sorted((e for e in _catalog.all_entries() if e.dialect in dialects), key=lambda e: e.id)


# ------------------------------------------------------------------ the table covers every argument


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e.id)
def test_every_argument_is_drawn_or_excluded(entry):
    """A new argument of a catalog loss fails here until the table draws it or excludes it."""
    doms = A.domains(entry.dialect, entry.name)
    missing = [a for a in A.arguments(entry) if a not in doms and A.excluded(entry.dialect, entry.name, a) is None]
    assert not missing, (
        f"{entry.id} has arguments that tests/harness/arguments.py neither draws (DOMAINS/OVERRIDES) "
        f"nor excludes (EXCLUDED, with the reason): {missing}")


def test_the_table_names_only_arguments_that_exist():
    entries = {(e.dialect, e.name): e for e in _entries()}
    for (dialect, name), table in A.OVERRIDES.items():
        assert (dialect, name) in entries, f"OVERRIDES names {dialect}:{name}, which the catalog lacks"
        unknown = set(table) - set(A.arguments(entries[(dialect, name)]))
        assert not unknown, f"OVERRIDES[{dialect}:{name}] names arguments it does not have: {unknown}"
    for (dialect, name, arg), reason in A.EXCLUDED.items():
        assert reason
        having = [e for (d, n), e in entries.items() if d == dialect and name in ("*", n)
                  and arg in A.arguments(e)]
        assert having, f"EXCLUDED names {dialect}:{name}.{arg}, which no catalog loss has"
        assert arg not in A.domains(dialect, having[0].name), f"{dialect}:{name}.{arg} is drawn and excluded"
    for dialect, table in A.DOMAINS.items():
        for arg in table:
            assert any(arg in A.arguments(e) and A.domains(dialect, e.name)[arg] is table[arg]
                       for (d, _), e in entries.items() if d == dialect), (
                f"DOMAINS[{dialect!r}][{arg!r}] is drawn for no {dialect} loss: remove it")


def test_an_undrawn_argument_fails_the_coverage_test(monkeypatch):
    """The coverage test can fail: a loss with an argument the table does not know."""
    entry = next(e for e in _entries(("torch",)) if e.name == "cross_entropy")
    monkeypatch.setitem(A.DOMAINS, "torch", {k: v for k, v in A.DOMAINS["torch"].items() if k != "label_smoothing"})
    with pytest.raises(AssertionError, match="label_smoothing"):
        test_every_argument_is_drawn_or_excluded(entry)


# ------------------------------------------------------------------ drawing a call

#: catalog losses called through a test-only wrapper (harness/wrappers.py) on both sides.
WRAPPED = {
    ("torch", "CTCLoss"): "CTCLoss(log_softmax(logits))",
    ("torch", "ctc_loss"): "ctc_loss(log_softmax(logits))",
    ("torch", "TripletMarginWithDistanceLoss"): "TripletMarginWithDistanceLoss(named distance)",
    ("torch", "triplet_margin_with_distance_loss"): "triplet_margin_with_distance_loss(named distance)",
    ("torch", "LinearCrossEntropyLoss"): "LinearCrossEntropyLoss(parameters)",
}
#: torch losses with the class axis at 1 that take (N, C, d) inputs.
TORCH_SPATIAL = {"CrossEntropyLoss", "cross_entropy", "NLLLoss", "nll_loss", "NLLLoss2d"}
INTEGER_ROLES = {"labels", "multilabels", "groups", "label_sequences", "ctc_targets", "ctc_input_lengths",
                 "ctc_target_lengths", "ctc_batch_labels", "ctc_batch_input_lengths",
                 "ctc_batch_label_lengths", "seq_labels"}


def draw_call(data, entry, kinds):
    """(spec, args, wrt, host, kind, given arguments) for one call of ``entry``."""
    doms = A.domains(entry.dialect, entry.name)
    names = [a for a in A.arguments(entry) if a in doms]
    r = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    case = A.Case(entry.dialect, entry.name, r, n=data.draw(st.sampled_from([2, 4]), label="n"),
                  c=data.draw(st.sampled_from([3, 5]), label="classes"))
    config: dict = {}
    case.config = config
    axis_dom = doms.get("axis") if "axis" in names else None
    moves = getattr(axis_dom, "moves_class_axis", None)
    if moves is not None or (entry.dialect == "torch" and entry.name in TORCH_SPATIAL):
        case.rank = data.draw(st.sampled_from([2, 3]), label="rank")
    if entry.dialect == "torch" and case.rank == 3:
        case.axis = 1
    if moves is not None:
        axis = data.draw(st.sampled_from([A.OMIT, *moves]), label="axis")
        if axis is not A.OMIT:
            config["axis"] = axis
            if -case.rank <= axis < case.rank:
                case.axis = axis
    blank = 0
    for b in ("blank", "blank_id"):
        if b in names:
            v = doms[b](data.draw, case)
            if v is not A.OMIT:
                config[b] = case.c - 1 if v == "last" else v
                blank = config[b]
    roles = entry.resolved_roles({})
    from_logits = False
    if "from_logits" in names:
        v = doms["from_logits"](data.draw, case)
        if v is not A.OMIT:
            config["from_logits"] = v
            from_logits = bool(v)
        roles = entry.resolved_roles({"from_logits": from_logits})
    case.roles = roles
    case.arrays = A.build_arrays(case, roles, blank)
    sample_weight = None
    for name in names:
        if name in ("axis", "blank", "blank_id", "from_logits") and (name != "axis" or moves is not None):
            continue
        v = doms[name](data.draw, case)
        if name == "sample_weight":
            sample_weight = v
        elif v is not A.OMIT:
            config[name] = v
    A.fix_inputs(case)
    # required arguments without a drawn value: the catalog's (smooth_labels' alpha, GCE's q)
    params = inspect.signature(entry.obj()).parameters
    for k, v in entry.defaults.items():
        if k in params and params[k].default is inspect.Parameter.empty and k not in config:
            config[k] = v
    args = list(case.arrays)
    wrt = [i for i, (role, a) in enumerate(zip(roles, args, strict=True))
           if role not in INTEGER_ROLES and role not in A.NOT_DIFFERENTIATED and np.asarray(a).dtype.kind == "f"
           and (entry.dialect, entry.name, role) not in A.GRADIENT_EXCLUDED]
    wrapper = WRAPPED.get((entry.dialect, entry.name))
    if entry.name == "LinearCrossEntropyLoss":
        config.update(in_features=4, num_classes=case.c)
        weight = r.normal(0, 0.5, size=(case.c, 4))
        args = [args[0], args[1], weight] + ([r.normal(size=(case.c,))] if config.get("bias") else [])
        wrt = [0, 2] + ([3] if config.get("bias") else [])
    if wrapper is not None:
        wrapped = dict(config)
        if "distance_function" in wrapped:  # a named distance (harness/wrappers.py DISTANCES)
            wrapped["distance"] = wrapped.pop("distance_function")
        spec = Spec(entry.dialect, wrapper, "wrapper", wrapped)
    elif entry.is_class:
        spec = Spec(entry.dialect, entry.name, "class", config)
    else:
        spec = Spec(entry.dialect, entry.name, "function", kwargs=config)
    if entry.dialect in ("keras", "tf_keras") and entry.is_class:
        args.append(sample_weight)
    kind = data.draw(st.sampled_from(kinds), label="kind")
    wrt = [i for i in wrt if i >= len(roles)
           or (entry.dialect, entry.name, roles[i], kind) not in A.KNOWN_OPEN_GRADIENTS]
    host: list[int] = []
    candidates = [i for i, a in enumerate(args) if i > 0 and a is not None and i not in wrt[:1]]
    mixable = (entry.dialect, entry.name) not in A.MIXED_EXCLUDED
    if kind != "numpy" and candidates and mixable and data.draw(st.sampled_from([True, False]), label="mixed"):
        host = [i for i in candidates if i not in wrt or data.draw(st.booleans())]
        wrt = [i for i in wrt if i not in host]
    given = dict(config)
    if sample_weight is not None:
        given["sample_weight"] = sample_weight
    return spec, args, wrt, host, kind, given


def _oracles(entry, spec, args, request, kind):
    if entry.dialect == "torch":
        return [request.getfixturevalue("torch_oracle")]
    if entry.dialect == "optax":
        return [request.getfixturevalue("optax_oracle")]
    if entry.dialect == "tf_keras":
        return [request.getfixturevalue("tf_keras_oracle")]
    oracles = request.getfixturevalue("keras_oracles")
    return A.keras_oracles(entry, spec, args, oracles, kind)


@pytest.mark.parametrize("entry", _entries(("torch", "keras", "optax", "tf_keras")), ids=lambda e: e.id)
def test_arguments_over_their_domains(entry, request, backends):
    if (entry.dialect, entry.name) in A.ENTRY_EXCLUDED:
        pytest.skip(A.ENTRY_EXCLUDED[(entry.dialect, entry.name)])
    if not installed(FRAMEWORK[entry.dialect]):
        pytest.skip(f"{FRAMEWORK[entry.dialect]} is not installed: {entry.id} has no oracle here")
    kinds = list(backends)
    if entry.dialect == "torch" and "torch" in kinds:
        kinds.insert(kinds.index("torch") + 1, "torch-generic")
    # hypothesis' first example takes the first kind: start each loss' list elsewhere, so that
    # across the catalog every kind comes first (the catalog order is fixed: deterministic)
    start = _entries().index(entry) % len(kinds)
    kinds = kinds[start:] + kinds[:start]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def call(data):
        spec, args, wrt, host, kind, given_args = draw_call(data, entry, kinds)
        oracles = _oracles(entry, spec, args, request, kind)
        wide = A.TOLERANCE.get((entry.dialect, entry.name))
        if wide is None:
            check(spec, args, oracles, [kind], wrt=wrt, host=host)
        else:
            for dtype in ("float32", "float64"):
                scale = (wide[1], wide[2]) if wide[0] == dtype else (1.0, None)
                check(spec, args, oracles, [kind], wrt=wrt, host=host, dtypes=(dtype,), scale=scale[0],
                      grad_scale=scale[1])
        label = f"{kind}+numpy" if host else kind
        for name in given_args:
            for dtype in ("float32", "float64"):
                record_argument(entry.id, name, dtype, label)

    call()
