"""JAX (4 host devices) cases of lossbridge.distributed; run by test_jax_distributed.py.

Usage: XLA_FLAGS=--xla_force_host_platform_device_count=4 python _jax_worker.py OUT.json
Writes {case: largest absolute difference against the single-device float64 reference}.
"""

from __future__ import annotations

import json
import sys
import traceback

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import lossbridge.distributed as lbd  # noqa: E402
from lossbridge.fused import linear_cross_entropy  # noqa: E402

try:
    from jax import shard_map  # jax >= 0.6
except ImportError:  # pragma: no cover
    from jax.experimental.shard_map import shard_map

D, H, V = 6, 8, 23


def _maxdiff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _tree_diff(a, b) -> float:
    return max(_maxdiff(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _params(seed):
    r = np.random.default_rng(seed)
    return {"w1": jnp.asarray(r.normal(size=(D, H))), "W": jnp.asarray(r.normal(size=(V, H))),
            "b": jnp.asarray(r.normal(size=(V,)))}


def _local_sum_count(params, x, y, cw):
    h = jnp.tanh(x @ params["w1"])
    return lbd.sum_and_count(linear_cross_entropy, h, params["W"], y, params["b"], class_weight=cw,
                             label_smoothing=0.1)


def _full_mean(params, x, y, cw):
    num, den = _local_sum_count(params, x, y, cw)
    return num / den


def case_data_parallel():
    """shard_map over 4 devices, equal shapes, uneven valid tokens per shard (ignore_index)."""
    ndev = 4
    mesh = Mesh(np.array(jax.devices()[:ndev]), ("dp",))
    r = np.random.default_rng(1)
    n = 4 * ndev
    x = jnp.asarray(r.normal(size=(n, D)))
    y = r.integers(0, V, n)
    for dev in range(ndev):  # shard d keeps 4 - d valid tokens (the last keeps 1)
        y[dev * 4 + (4 - dev):(dev + 1) * 4] = -100
    y = jnp.asarray(y)
    cw = jnp.asarray(r.uniform(0.5, 1.5, V))
    params = _params(2)
    ref_v, ref_g = jax.value_and_grad(_full_mean)(params, x, y, cw)
    out = {}

    def exact(params, x, y):
        def local(params, x, y):
            return lbd.global_mean(*_local_sum_count(params, x, y, cw), axis_name="dp")
        return jax.value_and_grad(local)(params, x, y)

    def naive(params, x, y):  # the mean of the per-shard means (and of their gradients)
        def local(params, x, y):
            return jax.lax.pmean(_full_mean(params, x, y, cw), "dp")
        return jax.value_and_grad(local)(params, x, y)

    for name, fn in (("exact", exact), ("naive", naive)):
        f = jax.jit(shard_map(fn, mesh=mesh, in_specs=(P(), P("dp"), P("dp")), out_specs=(P(), P())))
        v, g = f(params, x, y)
        out[f"dp_{name}_value"] = _maxdiff(v, ref_v)
        out[f"dp_{name}_grad"] = _tree_diff(g, ref_g)
    # pmap: each device's gradient of psum / psum is P x its share, so the usual data-parallel
    # recipe (lax.pmean of the gradients) gives the full-batch gradient.
    def pmapped(params, x, y):
        v, g = jax.value_and_grad(lambda p, x, y: lbd.global_mean(*_local_sum_count(p, x, y, cw),
                                                                  axis_name="dp"))(params, x, y)
        return v, jax.lax.pmean(g, "dp")

    f = jax.pmap(pmapped, axis_name="dp", in_axes=(None, 0, 0))
    v, g = f(params, x.reshape(ndev, 4, D), y.reshape(ndev, 4))
    out["pmap_value"] = max(_maxdiff(v[i], ref_v) for i in range(ndev))
    out["pmap_grad"] = max(_tree_diff(jax.tree.map(lambda t, i=i: t[i], g), ref_g) for i in range(ndev))
    # Plain jit with sharded inputs: the arrays are global, global_mean is num / den.
    xs = jax.device_put(x, NamedSharding(mesh, P("dp")))
    ys = jax.device_put(y, NamedSharding(mesh, P("dp")))
    f = jax.jit(jax.value_and_grad(lambda p, x, y: lbd.global_mean(*_local_sum_count(p, x, y, cw))))
    v, g = f(params, xs, ys)
    out["jit_sharded_value"] = _maxdiff(v, ref_v)
    out["jit_sharded_grad"] = _tree_diff(g, ref_g)
    return out


def case_dialects():
    """Keras (sample weights; ignore_class), tf.keras and optax over the global batch under
    shard_map: global_loss(..., axis_name) vs the dialect's loss on the full batch."""
    import lossbridge as lb

    ndev = 4
    mesh = Mesh(np.array(jax.devices()[:ndev]), ("dp",))
    r = np.random.default_rng(11)
    n = 3 * ndev
    x = jnp.asarray(r.normal(size=(n, D)))
    y = r.integers(0, V - 1, n)
    y[[3, 6, 7, 9, 10, 11]] = V - 1  # ignore_class: shard d keeps 3, 2, 1, 0 of its 3 samples
    y = jnp.asarray(y)
    sw = jnp.asarray(r.uniform(0, 2, n) * (np.arange(n) % 5 != 0))
    params = _params(12)

    def logits(p, x):
        return jnp.tanh(x @ p["w1"]) @ p["W"].T + p["b"]

    losses = {
        "keras_cce_sw": (lb.keras.CategoricalCrossentropy(from_logits=True, dtype="float64"),
                         lambda p, x, y, w: ((jax.nn.one_hot(y, V), logits(p, x)), {"sample_weight": w})),
        "keras_cce_mean_sw": (lb.keras.CategoricalCrossentropy(from_logits=True, dtype="float64",
                                                               reduction="mean_with_sample_weight"),
                              lambda p, x, y, w: ((jax.nn.one_hot(y, V), logits(p, x)), {"sample_weight": w})),
        "keras_scce_ignore": (lb.keras.SparseCategoricalCrossentropy(from_logits=True, ignore_class=V - 1,
                                                                     dtype="float64"),
                              lambda p, x, y, w: ((y, logits(p, x)), {})),
        "tf_keras_mse_sw": (lb.tf_keras.MeanSquaredError(),
                            lambda p, x, y, w: ((jax.nn.one_hot(y, V), jax.nn.softmax(logits(p, x))),
                                                {"sample_weight": w})),
        "optax_sce": (lb.optax.softmax_cross_entropy_with_integer_labels,
                      lambda p, x, y, w: ((logits(p, x), y), {})),
    }
    out = {}
    for name, (loss, make) in losses.items():
        def full(p, x, y, w, loss=loss, make=make):
            args, kw = make(p, x, y, w)
            v = loss(*args, **kw)
            return jnp.mean(v) if v.ndim else v

        def local(p, x, y, w, loss=loss, make=make):
            args, kw = make(p, x, y, w)
            return lbd.global_loss(loss, *args, axis_name="dp", **kw)

        def naive(p, x, y, w, full=full):
            return jax.lax.pmean(full(p, x, y, w), "dp")

        rv, rg = jax.value_and_grad(full)(params, x, y, sw)
        for mode, fn in (("global", local), ("naive", naive)):
            sm = shard_map(jax.value_and_grad(fn), mesh=mesh, in_specs=(P(), P("dp"), P("dp"), P("dp")),
                           out_specs=(P(), P()))
            v, g = jax.jit(sm)(params, x, y, sw)
            out[f"dialect_{name}_{mode}_value"] = _maxdiff(v, rv)
            out[f"dialect_{name}_{mode}_grad"] = _tree_diff(g, rg)
    return out


VOCAB_OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.1, "class_weight": True},
    {"label_smoothing": 0.2, "z_loss": 1e-3, "softcap": 3.0, "bias": True},
    {"class_weight": True, "num_items_in_batch": 7.0, "bias": True},
]


def _head(r, n):
    """Hidden states (n, D), head weight (V, D), bias and class weights of one vocab case."""
    return (jnp.asarray(r.normal(size=(n, D)) * 2), jnp.asarray(r.normal(size=(V, D))),
            jnp.asarray(r.normal(size=(V,))), jnp.asarray(r.uniform(0.5, 1.5, V)))


def case_vocab():
    """Vocabulary-parallel loss over 2 and 4 devices, V = 23 padded to a multiple of the axis."""
    r = np.random.default_rng(3)
    n = 9
    h, W, b, cw = _head(r, n)
    y = r.integers(0, V, n)
    y[[2, 5]] = -100
    y = jnp.asarray(y)
    up = jnp.asarray(r.normal(size=n))
    out = {}
    for ndev in (2, 4):
        mesh = Mesh(np.array(jax.devices()[:ndev]), ("v",))
        vp = -(-V // ndev) * ndev
        pad = ((0, vp - V), (0, 0))
        for i, opt in enumerate(VOCAB_OPTIONS):
            if ndev == 2 and i not in (0, 4, 5):  # every option at 4 devices; CI time
                continue
            kw = {k: v for k, v in opt.items() if k not in ("class_weight", "bias")}
            use_b, use_cw = opt.get("bias", False), opt.get("class_weight", False)

            def ref(h, W, b, use_b=use_b, use_cw=use_cw, kw=kw):
                loss = linear_cross_entropy(h, W, y, b if use_b else None, class_weight=cw if use_cw else None, **kw)
                return jnp.sum(loss * up) if loss.ndim else loss

            def local(h, W, b, cwp, use_b=use_b, use_cw=use_cw, kw=kw):
                loss = lbd.vocab_parallel_linear_cross_entropy(
                    h, W, y, b if use_b else None, class_weight=cwp if use_cw else None,
                    axis_name="v", vocab_size=V, **kw)
                return jnp.sum(loss * up) if loss.ndim else loss

            sm = shard_map(local, mesh=mesh, in_specs=(P(), P("v"), P("v"), P("v")), out_specs=P())
            rv, rg = jax.value_and_grad(ref, argnums=(0, 1, 2))(h, W, b)
            f = jax.jit(jax.value_and_grad(sm, argnums=(0, 1, 2)))
            v, (gh, gW, gb) = f(h, jnp.pad(W, pad), jnp.pad(b, (0, vp - V)), jnp.pad(cw, (0, vp - V)))
            out[f"vocab{ndev}_{i}_value"] = _maxdiff(v, rv)
            g = max(_maxdiff(gh, rg[0]), _maxdiff(gW[:V], rg[1]))
            if use_b:
                g = max(g, _maxdiff(gb[:V], rg[2]))
            out[f"vocab{ndev}_{i}_grad"] = g
            out[f"vocab{ndev}_{i}_padgrad"] = float(np.abs(np.asarray(gW[V:])).max(initial=0.0))
    return out


VOCAB_PROB_OPTIONS = [
    {},
    {"reduction": "sum", "class_weight": True},
    {"reduction": "none", "label_smoothing": 0.1, "bias": True},
    {"label_smoothing": 0.1, "z_loss": 1e-3, "softcap": 3.0, "class_weight": True, "bias": True},
    {"reduction": "sum", "num_items_in_batch": 7.0, "z_loss": 1e-3},
]


def case_vocab_prob():
    """Probability targets split by vocabulary columns over 2 and 4 devices (V = 23 padded
    to a multiple of the axis; the padded target columns hold junk, which must be ignored)."""
    r = np.random.default_rng(4)
    n = 9
    h, W, b, cw = _head(r, n)
    y = np.exp(r.normal(size=(n, V)) * 2)
    y[y < 0.3] = 0.0
    y[4] = np.eye(V)[V - 1]
    y = jnp.asarray(y / y.sum(1, keepdims=True))
    up = jnp.asarray(r.normal(size=n))
    out = {}
    for ndev in (2, 4):
        mesh = Mesh(np.array(jax.devices()[:ndev]), ("v",))
        vp = -(-V // ndev) * ndev
        pad = ((0, vp - V), (0, 0))
        ypad = jnp.concatenate([y, jnp.full((n, vp - V), 0.7)], axis=1)  # junk in the padding
        for i, opt in enumerate(VOCAB_PROB_OPTIONS):
            if ndev == 2 and i not in (0, 3, 4):  # every option at 4 devices; CI time
                continue
            kw = {k: v for k, v in opt.items() if k not in ("class_weight", "bias")}
            use_b, use_cw = opt.get("bias", False), opt.get("class_weight", False)

            def ref(h, W, b, y, use_b=use_b, use_cw=use_cw, kw=kw):
                loss = linear_cross_entropy(h, W, y, b if use_b else None, class_weight=cw if use_cw else None, **kw)
                return jnp.sum(loss * up) if loss.ndim else loss

            def local(h, W, b, y, cwp, use_b=use_b, use_cw=use_cw, kw=kw):
                loss = lbd.vocab_parallel_linear_cross_entropy(
                    h, W, y, b if use_b else None, class_weight=cwp if use_cw else None,
                    axis_name="v", vocab_size=V, **kw)
                return jnp.sum(loss * up) if loss.ndim else loss

            sm = shard_map(local, mesh=mesh, in_specs=(P(), P("v"), P("v"), P(None, "v"), P("v")), out_specs=P())
            rv, rg = jax.value_and_grad(ref, argnums=(0, 1, 2, 3))(h, W, b, y)
            f = jax.jit(jax.value_and_grad(sm, argnums=(0, 1, 2, 3)))
            v, (gh, gW, gb, gy) = f(h, jnp.pad(W, pad), jnp.pad(b, (0, vp - V)), ypad, jnp.pad(cw, (0, vp - V)))
            key = f"vocabp{ndev}_{i}"
            out[f"{key}_value"] = _maxdiff(v, rv)
            out[f"{key}_gh"] = _maxdiff(gh, rg[0])
            out[f"{key}_gw"] = _maxdiff(gW[:V], rg[1])
            if use_b:
                out[f"{key}_gb"] = _maxdiff(gb[:V], rg[2])
            out[f"{key}_gy"] = _maxdiff(gy[:, :V], rg[3])
            out[f"{key}_padgrad"] = max(float(np.abs(np.asarray(gW[V:])).max(initial=0.0)),
                                        float(np.abs(np.asarray(gy[:, V:])).max(initial=0.0)))
    return out


if __name__ == "__main__":
    assert len(jax.devices()) >= 4, jax.devices()
    results = {}
    for case in (case_data_parallel, case_dialects, case_vocab, case_vocab_prob):
        try:
            results.update(case())
        except Exception:
            results[case.__name__ + "_error"] = traceback.format_exc()[-3000:]
    with open(sys.argv[1], "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
