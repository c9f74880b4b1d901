"""GPU benchmark (issue 16, part 5): the fused model with and without the graph on one device.

One command::

    python benchmarks/gpu.py                              # CUDA when present, MiniLM, full sizes
    python benchmarks/gpu.py --device cpu --small         # CI size (seconds on a CPU)
    python benchmarks/gpu.py --device cpu --small --backbone DIR --out results.json

Reports, for the graph model (R-GCN + gated cross-attention) and the same architecture without
the graph (``use_graph=False``), on the same batches:

* training-step time (forward + backward + AdamW step; median over ``--train-steps`` after
  warm-up), inference throughput (texts/s, ``inference_mode``), under bf16 autocast where the
  device supports it (CUDA with bf16; fp32 on CPU, as :func:`kgattn.device.autocast` does);
* peak GPU memory of each phase (``torch.cuda.max_memory_allocated``; ``None`` on CPU) and the
  process's peak RSS;
* node-feature throughput: :class:`~kgattn.embeddings.NodeEmbeddings` over a
  :class:`~kgattn.embeddings.TextEncoder` of the backbone, nodes/s, fresh cache;
* the with/without ratios;
* two checks of the data path, in an untimed pass: graph tensors are moved to the device once
  per batch (cross-device copies counted by a ``TorchDispatchMode``: during ``batch.to(device)``
  and, expected zero, inside the forward); and no host-device synchronisation inside the fused
  forward (on CUDA: ``torch.cuda.set_sync_debug_mode("error")`` around it; whether it fires and
  where, then every synchronising call site found with mode ``"warn"``). On a CPU both checks
  are not applicable (there is no device copy nor synchronisation) and are reported as such.

The graph is a synthetic Wikidata-shaped one (``benchmarks/scale_gen.py``, read with
``KnowledgeGraph.from_rdf``); texts name 1-3 random entities and come pre-linked, so linking is
not timed (``benchmarks/scale.py`` times it). Writes JSON (``--out``, default
``benchmarks/results/gpu_<device>[_small].json``) with the exact command.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgattn.backbone import load_backbone  # noqa: E402
from kgattn.device import autocast, pick_device  # noqa: E402
from kgattn.embeddings import NodeEmbeddings, TextEncoder  # noqa: E402
from kgattn.graph import KnowledgeGraph  # noqa: E402
from kgattn.linking import Mention  # noqa: E402
from kgattn.models import KGAugmentedConfig, KGAugmentedModel  # noqa: E402
from kgattn.training.collate import Collator, Featurizer  # noqa: E402

SIZES = {  # full: <= 8 minutes on one GPU; small: CI on a CPU
    "full": dict(edges=200_000, texts=2048, batch_size=32, max_nodes=64, train_steps=30, warmup=5,
                 infer_batches=40, node_feature_nodes=8192, gnn_dim=128),
    "small": dict(edges=3_000, texts=48, batch_size=8, max_nodes=16, train_steps=3, warmup=1,
                  infer_batches=3, node_feature_nodes=64, gnn_dim=16),
}
TEMPLATES = ("{0} met {1} last spring.", "Reports say {0} is close to {1} and {2}.", "Why did {0} leave?")
FIELDS = ("command", "device", "device_name", "precision", "sizes", "train_step_ms", "infer_texts_per_s",
          "peak_gpu_memory_mb", "peak_rss_mb", "node_features", "ratios", "transfer_check", "sync_check",
          "batch_shapes", "versions")


# ------------------------------------------------------------------------------ data
def make_graph(edges: int, work: Path) -> KnowledgeGraph:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale_gen import DumpWriter

    DumpWriter(edges, work / "dump", seed=0).write(progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # entities without edges: expected in a random graph
        return KnowledgeGraph.from_rdf(work / "dump" / "dump.nt.gz")


def make_texts(kg: KnowledgeGraph, n: int, seed: int = 0) -> tuple[list[str], list[list[Mention]], list[int]]:
    """Texts naming 1-3 random entities by label, their mentions (pre-linked) and a 2-class label."""
    rng = np.random.default_rng(seed)
    texts, mentions, labels = [], [], []
    for k in range(n):
        template = TEMPLATES[k % len(TEMPLATES)]
        nodes = rng.choice(kg.num_nodes, size=template.count("{"), replace=False).tolist()
        text, ms = template, []
        for j, v in enumerate(nodes):
            text = text.replace("{%d}" % j, kg.label(v), 1)
        pos = 0
        for v in nodes:
            start = text.index(kg.label(v), pos)
            ms.append(Mention(start, start + len(kg.label(v)), kg.label(v), node=v))
            pos = start + len(kg.label(v))
        texts.append(text)
        mentions.append(ms)
        labels.append(int(nodes[0] % 2))
    return texts, mentions, labels


def make_batches(kg, tokenizer, node_features, texts, mentions, labels, batch_size, max_nodes, dim):
    feat = Featurizer(tokenizer, kg=kg, hops=2, max_nodes=max_nodes)
    examples = feat.prepare(texts, mentions)
    collate = Collator(tokenizer.pad_token_id, node_features=node_features, feature_dim=dim)
    return [collate([(i, examples[i], {"label": labels[i]}) for i in range(a, min(a + batch_size, len(texts)))])
            for a in range(0, len(texts) - batch_size + 1, batch_size)]


# ------------------------------------------------------------------------------ checks
class DeviceCopyCounter(TorchDispatchMode):
    """Counts ops whose output lives on a device none of their tensor inputs is on (H2D/D2H copies)."""

    def __init__(self):
        super().__init__()
        self.copies: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        ins = {a.device for a in args if isinstance(a, torch.Tensor)}
        outs = {o.device for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, torch.Tensor)}
        # a copy puts a result on a device none of the inputs is on (a CPU scalar tensor in a CUDA
        # op is not a copy: its output stays on the CUDA input's device)
        if ins and outs - ins:
            self.copies.append(f"{func}: {sorted(map(str, ins))} -> {sorted(map(str, outs))}")
        return out


def batch_tensors(batch) -> int:
    g = batch.graph
    n = sum(isinstance(x, torch.Tensor) for x in (batch.index, batch.input_ids, batch.attention_mask,
                                                  batch.token_type_ids))
    n += len(batch.labels or {})
    if g is not None:
        n += sum(isinstance(getattr(g, f), torch.Tensor) for f in ("node_features", "node_mask", "hop", "seed_mask",
                                                                    "edge_index", "edge_type", "node_ids",
                                                                    "mention_nodes"))
    return n


def forward(model, batch, device, labels: bool):
    with autocast(device, "auto"):  # bf16 on CUDA with bf16 support, fp32 elsewhere
        return model(batch.input_ids, batch.attention_mask, graph=batch.graph, token_type_ids=batch.token_type_ids,
                     labels=batch.labels if labels else None, output_attentions=False)


def transfer_check(model, batch, device) -> dict:
    counter = DeviceCopyCounter()
    with counter:
        moved = batch.to(device)
    in_move = len(counter.copies)
    counter = DeviceCopyCounter()
    model.eval()
    with torch.inference_mode(), counter:
        forward(model, moved, device, labels=False)
    applicable = device.type != "cpu"
    n = batch_tensors(batch)
    return {"applicable": applicable, "batch_tensors": n, "copies_in_batch_move": in_move,
            "copies_in_forward": len(counter.copies), "forward_copy_ops": counter.copies[:20],
            "moved_once": (in_move == n and not counter.copies) if applicable else None,
            "note": None if applicable else "CPU: no device copies exist; counts shown for the mechanism only"}


def dispatched_syncs(model, batch, device) -> dict:
    """Synchronising operators dispatched by kgattn code in one training forward on the device
    paths (forced on a CPU: :func:`kgattn.models.sync.device_paths`), found by a dispatch mode,
    so this check means the same thing on a CPU as on a GPU."""
    from kgattn.models.sync import SyncRecorder, device_paths

    moved = batch.to(device)
    model.train()
    recorder = SyncRecorder()
    with device_paths(), recorder:
        forward(model, moved, device, labels=True)
    ours = sorted(set(recorder.kgattn_sites()))
    return {"kgattn_sites": ours, "other_sites": sorted(set(recorder.sites) - set(ours))[:20], "sync_free": not ours}


def sync_check(model, batch, device) -> dict:
    if device.type != "cuda":
        return {"applicable": False, "fired": None, "note": "no host-device synchronisation exists on a CPU",
                "dispatched": dispatched_syncs(model, batch, device)}
    moved = batch.to(device)
    torch.cuda.synchronize()
    model.eval()
    res: dict = {"applicable": True, "fired": False, "message": None, "where": None, "sites": []}
    try:
        torch.cuda.set_sync_debug_mode("error")
        with torch.inference_mode():
            forward(model, moved, device, labels=False)
    except RuntimeError as e:
        res.update(fired=True, message=str(e).splitlines()[0][:300], where=_kgattn_frames(e.__traceback__))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    try:  # every synchronising call site, not only the first
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught, torch.inference_mode():
            warnings.simplefilter("always")
            forward(model, moved, device, labels=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    sites = sorted({f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message)})
    res["sites"] = sites
    res["dispatched"] = dispatched_syncs(model, batch, device)
    return res


def _kgattn_frames(tb) -> list[str]:
    frames = traceback.extract_tb(tb)
    return [f"{Path(f.filename).name}:{f.lineno} {f.line}" for f in frames if "kgattn" in f.filename][-3:]


# ------------------------------------------------------------------------------ timing
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mb(device):
    return torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None


def time_training(model, batches, device, steps, warmup) -> tuple[float, float | None]:
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    _reset_peak(device)
    times = []
    for k in range(warmup + steps):
        batch = batches[k % len(batches)]
        _sync(device)
        t0 = time.perf_counter()
        moved = batch.to(device)  # once per batch: every tensor, graph included, in one call
        out = forward(model, moved, device, labels=True)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync(device)
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, _peak_mb(device)


def time_inference(model, batches, device, n_batches, warmup) -> tuple[float, float | None]:
    model.eval()
    _reset_peak(device)
    with torch.inference_mode():
        for k in range(warmup):
            forward(model, batches[k % len(batches)].to(device), device, labels=False)
        _sync(device)
        t0 = time.perf_counter()
        n = 0
        for k in range(n_batches):
            batch = batches[k % len(batches)]
            forward(model, batch.to(device), device, labels=False)
            n += len(batch)
        _sync(device)
    return n / (time.perf_counter() - t0), _peak_mb(device)


def node_feature_throughput(kg, backbone, device, n_nodes, work: Path) -> dict:
    encoder = TextEncoder(backbone, device=str(device), precision="auto", batch_size=256)
    emb = NodeEmbeddings(kg, encoder, directory=work / "node_features")
    nodes = np.random.default_rng(1).choice(kg.num_nodes, size=min(n_nodes, kg.num_nodes), replace=False)
    emb(nodes[:8])  # load the backbone, open the cache
    _sync(device)
    t0 = time.perf_counter()
    out = emb(nodes[8:])
    _sync(device)
    dt = time.perf_counter() - t0
    return {"nodes": int(len(nodes) - 8), "seconds": dt, "nodes_per_s": (len(nodes) - 8) / dt,
            "dim": int(out.shape[1])}


# ------------------------------------------------------------------------------ main
def run(args) -> dict:
    device = pick_device(args.device)
    size = dict(SIZES["small" if args.small else "full"])
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="kgattn-gpu-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("KGATTN_CACHE", str(work / "cache"))
        kg = make_graph(size["edges"], work)
        _, tokenizer = load_backbone(args.backbone)
        encoder = TextEncoder(args.backbone, device=str(device), precision="auto")
        node_features = NodeEmbeddings(kg, encoder, directory=work / "features")
        texts, mentions, labels = make_texts(kg, size["texts"])
        batches = make_batches(kg, tokenizer, node_features, texts, mentions, labels, size["batch_size"],
                               size["max_nodes"], encoder.dim)
        results: dict = {}
        models = {}
        for name, use_graph in (("graph", True), ("no_graph", False)):
            torch.manual_seed(0)
            config = KGAugmentedConfig(tasks={"label": 2}, backbone=args.backbone, use_graph=use_graph,
                                       node_feature_dim=encoder.dim, num_relations=kg.num_relations,
                                       max_hops=2, gnn_dim=size["gnn_dim"])
            models[name] = KGAugmentedModel(config).to(device)
        data = {"graph": batches, "no_graph": [b.without_graph() for b in batches]}
        train, infer, mem = {}, {}, {}
        for name, model in models.items():
            train[name], mem[f"train_{name}"] = time_training(model, data[name], device, size["train_steps"],
                                                              size["warmup"])
            infer[name], mem[f"infer_{name}"] = time_inference(model, data[name], device, size["infer_batches"],
                                                               size["warmup"])
        results["train_step_ms"] = train
        results["infer_texts_per_s"] = infer
        results["peak_gpu_memory_mb"] = mem if device.type == "cuda" else None
        results["transfer_check"] = transfer_check(models["graph"], batches[0], device)
        results["sync_check"] = sync_check(models["graph"], batches[0], device)
        results["node_features"] = node_feature_throughput(kg, args.backbone, device, size["node_feature_nodes"],
                                                           work)
        g = batches[0].graph
        results["batch_shapes"] = {"input_ids": list(batches[0].input_ids.shape),
                                   "node_features": list(g.node_features.shape), "edges": int(g.edge_type.numel()),
                                   "graph_nodes": kg.num_nodes, "graph_edges": kg.num_edges}
    ratio = {"train_step_time_graph_over_no_graph": train["graph"] / train["no_graph"],
             "infer_throughput_no_graph_over_graph": infer["no_graph"] / infer["graph"]}
    if device.type == "cuda":
        ratio["peak_memory_train_graph_over_no_graph"] = mem["train_graph"] / mem["train_no_graph"]
        ratio["peak_memory_infer_graph_over_no_graph"] = mem["infer_graph"] / mem["infer_no_graph"]
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    results.update(
        command="python benchmarks/gpu.py " + shlex.join(sys.argv[1:]), device=str(device),
        device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        precision="bf16 autocast" if bf16 else "fp32", sizes={**size, "small": args.small, "backbone": args.backbone},
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, ratios=ratio,
        versions={"torch": torch.__version__, "python": platform.python_version(),
                  "cuda": torch.version.cuda, "threads": torch.get_num_threads()},
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    missing = [f for f in FIELDS if f not in results]
    assert not missing, missing
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Fused model with/without the graph: step time, throughput, memory.")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cuda:1, cpu")
    p.add_argument("--small", action="store_true", help="CI sizes (a CPU runs it in seconds with a tiny backbone)")
    p.add_argument("--backbone", default="minilm", help="backbone name or path (default: MiniLM, offline)")
    p.add_argument("--out", type=Path, default=None, help="JSON to write")
    args = p.parse_args(argv)
    results = run(args)
    out = args.out or ROOT / "benchmarks" / "results" / \
        f"gpu_{pick_device(args.device).type}{'_small' if args.small else ''}.json"
    from kgattn.persistence import write_json

    write_json(out, results)
    t, i = results["train_step_ms"], results["infer_texts_per_s"]
    print(f"train step ms: graph {t['graph']:.1f}, no graph {t['no_graph']:.1f}; infer texts/s: graph "
          f"{i['graph']:.0f}, no graph {i['no_graph']:.0f}; node features "
          f"{results['node_features']['nodes_per_s']:.0f} nodes/s; sync check: {results['sync_check']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
