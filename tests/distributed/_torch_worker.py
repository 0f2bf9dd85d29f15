"""torch.distributed (gloo, CPU) cases of lossbridge.distributed; run by test_torch_distributed.py.

Usage: python _torch_worker.py WORLD_SIZE OUT.json
Spawns WORLD_SIZE processes once; every process runs every case against the single-process
full-batch float64 reference (computed on each rank from the same seeds) and rank 0 writes
{case: max over ranks of the largest absolute difference} (or an error string) to OUT.json.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import time
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

import lossbridge.distributed as lbd
from lossbridge.fused import linear_cross_entropy

torch.set_default_dtype(torch.float64)
D, H, V = 6, 8, 23  # V = 23 divides by neither 2 nor 4


def _maxdiff(a, b) -> float:
    return float((a.detach() - b.detach()).abs().max()) if a.numel() else 0.0


def _data(world, seed, n_of_rank, ignore_p):
    """Per-rank inputs and targets, identical on every rank (seeded); uneven sizes and ignores."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for r in range(world):
        n = n_of_rank(r)
        x = torch.randn(n, D, generator=g)
        y = torch.randint(0, V, (n,), generator=g)
        y[torch.rand(n, generator=g) < ignore_p(r)] = -100
        xs.append(x)
        ys.append(y)
    return xs, ys


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(D, H)
        self.head = torch.nn.Linear(H, V)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))


class FusedModel(Model):
    """forward returns (numerator, denominator) of the fused head loss (DDP sees every parameter)."""

    def forward(self, x, y, cw):
        h = torch.tanh(self.body(x))
        return lbd.sum_and_count(linear_cross_entropy, h, self.head.weight, y, self.head.bias,
                                 class_weight=cw, label_smoothing=0.1)


def _twins(seed, cls=None, wrap=True):
    """(reference model, model with the same parameters, the model wrapped in DDP or None)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.manual_seed(seed)
    ref = (cls or Model)()
    model = (cls or Model)()
    model.load_state_dict(ref.state_dict())
    return ref, model, (DDP(model) if wrap else None)


def _grads(model):
    return [p.grad.detach().clone() for p in model.parameters()]


def case_ddp(rank, world):
    """Two SGD steps of a DDP model, uneven tokens per rank: global_mean vs naive per-rank mean."""

    cw = torch.rand(V, generator=torch.Generator().manual_seed(5)) + 0.5
    out = {}
    for mode in ("global", "naive"):
        ref, model, ddp = _twins(0)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.5)
        ropt = torch.optim.SGD(ref.parameters(), lr=0.5)
        diff_g = diff_v = 0.0
        for step in range(2):
            xs, ys = _data(world, 100 + step, lambda r: 3 + 4 * r, lambda r: 0.15 * r)
            x, y = xs[rank], ys[rank]
            opt.zero_grad()
            ropt.zero_grad()
            kw = dict(weight=cw, label_smoothing=0.1)
            if mode == "global":
                loss = lbd.global_mean(*lbd.sum_and_count(F.cross_entropy, ddp(x), y, **kw))
            else:
                loss = F.cross_entropy(ddp(x), y, **kw)
            loss.backward()
            rloss = F.cross_entropy(ref(torch.cat(xs)), torch.cat(ys), **kw)
            rloss.backward()
            diff_v = max(diff_v, _maxdiff(loss, rloss))
            diff_g = max(diff_g, max(_maxdiff(a, b) for a, b in zip(_grads(model), _grads(ref), strict=True)))
            opt.step()
            ropt.step()
        diff_p = max(_maxdiff(a, b) for a, b in zip(model.parameters(), ref.parameters(), strict=True))
        out[f"ddp_{mode}_grad"] = diff_g
        out[f"ddp_{mode}_params"] = diff_p
        if mode == "global":
            out["ddp_global_value"] = diff_v
    return out


def case_accum(rank, world):
    """DDP + no_sync gradient accumulation over 3 uneven micro-batches of the fused loss."""

    cw = torch.rand(V, generator=torch.Generator().manual_seed(6)) + 0.5
    k_micro = 3
    xs, ys = _data(world * k_micro, 200, lambda i: 2 + (i * 5) % 7, lambda i: 0.1 * (i % 4))
    mine = list(range(rank * k_micro, (rank + 1) * k_micro))
    out = {}
    for mode in ("exact", "exact_tensor", "naive"):
        ref, model, ddp = _twins(1, FusedModel)
        # Plain floats: the accumulator finds the initialised process group by itself.
        # Tensors: the total is all-reduced on their device, never read on the host.
        dens = [lbd.ce_denominator(ys[i], cw) for i in mine]
        acc = lbd.GradientAccumulator(dens if mode == "exact_tensor" else [float(d) for d in dens])
        for j, i in enumerate(mine):
            ctx = ddp.no_sync() if j < k_micro - 1 else contextlib.nullcontext()
            with ctx:
                num, den = ddp(xs[i], ys[i], cw)
                loss = acc.scale(num, den) if mode != "naive" else (num / den) / k_micro
                loss.backward()
        if mode != "naive":
            acc.finish()
        h = torch.tanh(ref.body(torch.cat(xs)))
        rl = F.cross_entropy(ref.head(h), torch.cat(ys), weight=cw, label_smoothing=0.1)
        rl.backward()
        out[f"accum_{mode}_grad"] = max(_maxdiff(a, b) for a, b in zip(_grads(model), _grads(ref), strict=True))
    return out


def case_fsdp(rank, world):
    """FSDP2 (fully_shard) on CPU/gloo: one step, gradients (full tensors) vs the reference."""
    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError as exc:  # pragma: no cover - depends on the torch build
        return {"fsdp_error": f"import: {exc!r}"}
    try:
        ref, model, _ = _twins(2, wrap=False)
        fully_shard(model.body)
        fully_shard(model)
        xs, ys = _data(world, 300, lambda r: 2 + 3 * r, lambda r: 0.2 * r)
        loss = lbd.global_mean(*lbd.sum_and_count(F.cross_entropy, model(xs[rank]), ys[rank]))
        loss.backward()
        F.cross_entropy(ref(torch.cat(xs)), torch.cat(ys)).backward()
        diffs = []
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            g = p.grad.full_tensor() if hasattr(p.grad, "full_tensor") else p.grad
            diffs.append(_maxdiff(g, q.grad))
        return {"fsdp_grad": max(diffs), "fsdp_value": _maxdiff(loss, F.cross_entropy(ref(torch.cat(xs)), torch.cat(ys)))}
    except Exception as exc:
        return {"fsdp_error": f"{type(exc).__name__}: {exc}"[:500]}


VOCAB_OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.1, "class_weight": True},
    {"label_smoothing": 0.2, "z_loss": 1e-3, "softcap": 3.0, "bias": True},
    {"class_weight": True, "num_items_in_batch": 7.0, "chunk_size": 4},
    {"reduction": "none", "label_smoothing": 0.1, "class_weight": True, "bias": True, "softcap": 2.0},
    {"ignore_all": True, "reduction": "sum", "bias": True},
]


def _head(g, n):
    """Hidden states (n, D), head weight (V, D), bias and class weights of one vocab case."""
    return (torch.randn(n, D, generator=g) * 2, torch.randn(V, D, generator=g), torch.randn(V, generator=g),
            torch.rand(V, generator=g) + 0.5)


def case_vocab(rank, world):
    """Vocabulary-parallel fused CE (uneven shards of V=23) vs the single-device fused loss."""
    g = torch.Generator().manual_seed(400)
    n = 11
    h0, W0, b0, cw0 = _head(g, n)
    y0 = torch.randint(0, V, (n,), generator=g)
    y0[[1, 6]] = -100
    up = torch.randn(n, generator=g)
    sizes = [t.numel() for t in torch.tensor_split(torch.arange(V), world)]
    v0 = sum(sizes[:rank])
    v1 = v0 + sizes[rank]
    out = {"vocab_cases": float(len(VOCAB_OPTIONS))}
    for i, opt in enumerate(VOCAB_OPTIONS):
        kw = {k: v for k, v in opt.items() if k not in ("class_weight", "bias", "ignore_all")}
        y = torch.full_like(y0, -100) if opt.get("ignore_all") else y0
        res = {}
        for which in ("ref", "vp"):
            h = h0.clone().requires_grad_()
            W = (W0 if which == "ref" else W0[v0:v1]).clone().requires_grad_()
            b = (b0 if which == "ref" else b0[v0:v1]).clone().requires_grad_() if opt.get("bias") else None
            cw = (cw0 if which == "ref" else cw0[v0:v1]) if opt.get("class_weight") else None
            if which == "ref":
                loss = linear_cross_entropy(h, W, y, b, class_weight=cw, **kw)
            else:
                loss = lbd.vocab_parallel_linear_cross_entropy(h, W, y, b, class_weight=cw, **kw)
            (loss * up).sum().backward() if loss.ndim else loss.backward()
            res[which] = (loss, h.grad, W.grad, None if b is None else b.grad)
        (l_r, gh_r, gw_r, gb_r), (l_v, gh_v, gw_v, gb_v) = res["ref"], res["vp"]
        out[f"vocab_{i}_value"] = _maxdiff(l_r, l_v)
        gd = max(_maxdiff(gh_r, gh_v), _maxdiff(gw_r[v0:v1], gw_v))
        if gb_r is not None:
            gd = max(gd, _maxdiff(gb_r[v0:v1], gb_v))
        out[f"vocab_{i}_grad"] = gd
        if not opt.get("z_loss") and not opt.get("softcap") and not opt.get("num_items_in_batch"):
            # The framework itself: torch's cross_entropy on the full logits.
            logits = h0 @ W0.T + (b0 if opt.get("bias") else 0)
            ref = F.cross_entropy(logits, y, weight=cw0 if opt.get("class_weight") else None,
                                  label_smoothing=opt.get("label_smoothing", 0.0),
                                  reduction=opt.get("reduction", "mean"))
            out[f"vocab_{i}_vs_torch"] = _maxdiff(ref, l_v)
    return out


VOCAB_PROB_OPTIONS = [
    {},
    {"reduction": "sum", "class_weight": True},
    {"reduction": "none", "label_smoothing": 0.1, "bias": True},
    {"label_smoothing": 0.2, "class_weight": True, "bias": True},
    {"label_smoothing": 0.1, "z_loss": 1e-3, "softcap": 3.0, "class_weight": True, "bias": True},
    {"reduction": "sum", "num_items_in_batch": 7.0, "z_loss": 1e-3, "chunk_size": 4},
]
PROB_QUANTITIES = ("value", "gh", "gw", "gb", "gy")


def case_vocab_prob(rank, world):
    """Probability targets split by vocabulary columns (uneven shards of V=23) vs the
    single-device fused loss on the full head and full (N, V) target: value and the
    gradients of h, W, b and the target; and vs torch's cross_entropy where it applies."""
    g = torch.Generator().manual_seed(410)
    n = 11
    h0, W0, b0, cw0 = _head(g, n)
    # Soft targets with some exact zeros (a distillation teacher's top-k) and one one-hot row.
    y0 = (torch.randn(n, V, generator=g) * 2).softmax(-1)
    y0[y0 < 0.02] = 0.0
    y0 = y0 / y0.sum(-1, keepdim=True)
    y0[3] = F.one_hot(torch.tensor(V - 1), V).to(y0.dtype)
    up = torch.randn(n, generator=g)
    sizes = [t.numel() for t in torch.tensor_split(torch.arange(V), world)]
    v0 = sum(sizes[:rank])
    v1 = v0 + sizes[rank]
    out = {"vocabp_cases": float(len(VOCAB_PROB_OPTIONS))}
    for i, opt in enumerate(VOCAB_PROB_OPTIONS):
        kw = {k: v for k, v in opt.items() if k not in ("class_weight", "bias")}
        res = {}
        for which in ("ref", "vp", "torch"):
            if which == "torch" and (opt.get("z_loss") or opt.get("softcap") or opt.get("num_items_in_batch")):
                continue
            sl = slice(v0, v1) if which == "vp" else slice(None)
            h = h0.clone().requires_grad_()
            W = W0[sl].clone().requires_grad_()
            b = b0[sl].clone().requires_grad_() if opt.get("bias") else None
            cw = cw0[sl] if opt.get("class_weight") else None
            y = y0[:, sl].clone().requires_grad_()
            if which == "ref":
                loss = linear_cross_entropy(h, W, y, b, class_weight=cw, **kw)
            elif which == "vp":
                loss = lbd.vocab_parallel_linear_cross_entropy(h, W, y, b, class_weight=cw, **kw)
            else:  # the framework itself on the full logits
                loss = F.cross_entropy(h @ W.T + (0 if b is None else b), y, weight=cw,
                                       label_smoothing=opt.get("label_smoothing", 0.0),
                                       reduction=opt.get("reduction", "mean"))
            (loss * up).sum().backward() if loss.ndim else loss.backward()
            res[which] = (loss, h.grad, W.grad, None if b is None else b.grad, y.grad)
        # This rank's part of each reference quantity: all of the value and of grad h.
        mine = ((), slice(None), slice(v0, v1), slice(v0, v1), (slice(None), slice(v0, v1)))
        got = res["vp"]
        for ref_name, suffix in (("ref", ""), ("torch", "_vs_torch")):
            if ref_name not in res:
                continue
            for q, a, b_, sl in zip(PROB_QUANTITIES, res[ref_name], got, mine, strict=True):
                if a is None:
                    continue
                assert a[sl].shape == b_.shape, (q, a[sl].shape, b_.shape)
                out[f"vocabp_{i}_{q}{suffix}"] = _maxdiff(a[sl], b_)
    return out


def case_naive_rank_mean(rank, world):
    """The value the naive recipe reports: mean over ranks of per-rank means vs the true mean."""
    xs, ys = _data(world, 500, lambda r: 3 + 4 * r, lambda r: 0.2 * r)
    torch.manual_seed(3)
    model = Model()
    with torch.no_grad():
        logits = model(xs[rank])
        naive = F.cross_entropy(logits, ys[rank]).reshape(1)
        dist.all_reduce(naive)
        naive = naive / world
        exact = lbd.global_mean(*lbd.sum_and_count(F.cross_entropy, logits, ys[rank]))
        ref = F.cross_entropy(model(torch.cat(xs)), torch.cat(ys))
    return {"naive_value": _maxdiff(naive[0], ref), "exact_value": _maxdiff(exact, ref)}


def _dialect_losses():
    """(name, loss, makes (y_true, y_pred, sample_weight) from (labels, logits, weights)) of the
    Keras, tf.keras, optax and Theano dialects, on torch tensors."""
    import lossbridge as lb

    def probs(y, z, w):
        return F.one_hot(y.clamp(min=0), V).double(), z.softmax(-1), w

    def masked(y, z, w):  # Keras' ignore_class: a mask on the per-sample loss
        return y.clamp(min=0) * (y >= 0) + (V - 1) * (y < 0), z, None

    def tf_mask(y, z, w):  # tf.keras: an input mask (_keras_mask) on y_pred
        p = z.softmax(-1)
        p._keras_mask = y >= 0
        return F.one_hot(y.clamp(min=0), V).double(), p, None

    return [
        ("keras_cce_sw", lb.keras.CategoricalCrossentropy(label_smoothing=0.1, dtype="float64"), probs),
        ("keras_cce_mean_sw", lb.keras.CategoricalCrossentropy(
            reduction="mean_with_sample_weight", dtype="float64"), probs),
        ("keras_scce_ignore", lb.keras.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=V - 1, dtype="float64"), masked),
        ("tf_keras_cce_mask", lb.tf_keras.CategoricalCrossentropy(), tf_mask),
        ("optax_sce", lb.optax.softmax_cross_entropy_with_integer_labels, lambda y, z, w: (z, y.clamp(min=0), None)),
        ("theano_cce", lb.theano.categorical_crossentropy, lambda y, z, w: (z.softmax(-1), y.clamp(min=0), None)),
    ]


def case_dialects(rank, world):
    """Keras, tf.keras, optax and Theano semantics over the global batch: DDP step with
    global_loss vs the dialect's loss on the full batch (and the naive per-replica mean)."""

    g = torch.Generator().manual_seed(700)
    xs, ys = _data(world, 700, lambda r: 2 + 3 * r, lambda r: 0.2 * r)
    ws = [torch.rand(x.shape[0], generator=g) * (torch.rand(x.shape[0], generator=g) > 0.3) for x in xs]
    out = {}
    for name, loss, make in _dialect_losses():
        def call(loss, z, y, w, make=make):
            a, b, sw = make(y, z, w)
            return loss, (a, b), ({} if sw is None else {"sample_weight": sw})

        for mode in ("global", "naive"):
            ref, model, ddp = _twins(4)
            fn, args, kw = call(loss, ddp(xs[rank]), ys[rank], ws[rank])
            if mode == "global":
                value = lbd.global_loss(fn, *args, **kw)
            elif name.startswith(("optax", "theano")):
                value = fn(*args, **kw).mean()
            else:
                value = fn(*args, **kw)
            value.backward()
            rfn, rargs, rkw = call(loss, ref(torch.cat(xs)), torch.cat(ys), torch.cat(ws))
            rvalue = rfn(*rargs, **rkw)
            rvalue = rvalue.mean() if rvalue.ndim else rvalue
            rvalue.backward()
            if mode == "global":
                out[f"dialect_{name}_value"] = _maxdiff(value, rvalue)
            out[f"dialect_{name}_{mode}_grad"] = max(
                _maxdiff(a, b) for a, b in zip(_grads(model), _grads(ref), strict=True))
    return out


CASES = [case_ddp, case_accum, case_fsdp, case_vocab, case_vocab_prob, case_naive_rank_mean, case_dialects]


def _worker(rank, world, init_file, path):
    t0 = time.perf_counter()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    # A file:// rendezvous in the test's fresh tmp dir: no TCP port to choose, so no race between
    # picking a free port and binding it (another process could take it in between).
    # A rank that fails leaves the others waiting in a collective: time out (and fail) fast.
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=90))
    results = {"seconds_init": time.perf_counter() - t0}
    for case in CASES:
        t0 = time.perf_counter()
        try:
            results.update(case(rank, world))
            results[f"seconds_{case.__name__}"] = time.perf_counter() - t0
        except Exception:
            results[case.__name__ + "_error"] = traceback.format_exc()[-2000:]
    gathered = [None] * world
    dist.all_gather_object(gathered, results)
    if rank == 0:
        merged = {}
        for res in gathered:
            for k, v in res.items():
                if isinstance(v, float):
                    merged[k] = max(merged.get(k, 0.0), v)
                else:
                    merged.setdefault(k, v)
        with open(path, "w") as f:
            json.dump(merged, f, indent=1, sort_keys=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    world, path = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    init_file = os.path.abspath(path) + ".rendezvous"
    if os.path.exists(init_file):  # a stale store file would hang the rendezvous
        os.remove(init_file)
    mp.spawn(_worker, args=(world, init_file, path), nprocs=world, join=True)
