"""Pretraining throughput (issue 15): tokens/s of a joint pretraining step with the graph
(MLM + link prediction + alignment through the GNN and fusion) and of the MLM-only control
without the graph, measured in one run on the same masked batches.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/pretrain.py            # CPU, one torch thread
    python benchmarks/pretrain.py --device cuda                 # bf16 autocast on a GPU

writes ``benchmarks/results/pretrain.json`` and ``pretrain.md`` (``--out`` changes the stem).

Data: the quickstart corpus's texts (labels unused) linked to the quickstart graph with the prior
linker; MiniLM-L6; ``--batches`` masked batches of ``--batch-size`` texts are collated once (with
the pretraining collator: entity-aware masking, node features) and both arms train on exactly
those batches. A step is forward, backward and an AdamW update of every trained parameter, the
two arms alternating step by step (so a busy machine slows both alike); the first ``--warmup``
steps of each arm are not timed. Tokens are real (non-padding) tokens of the batch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(args):
    from transformers import AutoTokenizer

    from kgattn.backbone import resolve_backbone
    from kgattn.linking import EntityLinker
    from kgattn.pretraining.build import build_model, node_features
    from kgattn.pretraining.corpus import iter_text_shards
    from kgattn.pretraining.module import KGPretrainModule, MaskingCollator
    from kgattn.pretraining.run import load_graph
    from kgattn.pretraining.spec import load_pretrain_spec
    from kgattn.training.collate import Collator, Featurizer
    from kgattn.training.config import OptimConfig

    spec = load_pretrain_spec(ROOT / "pipelines" / "pretrain_quickstart.yaml")
    p = spec.pretrain
    kg = load_graph(spec)
    texts = [t for shard in iter_text_shards(spec.corpus.paths, spec.corpus.text_column) for t in shard]
    texts = texts[: args.batches * args.batch_size]
    mentions = [list(ms) for ms in EntityLinker(kg, disambiguate="prior").link_batch(texts)]
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(p.backbone))
    examples = Featurizer(tokenizer, kg, None, p.hops, p.max_nodes, p.max_length).prepare(texts, mentions)
    feats = node_features(spec, kg, examples)
    torch.manual_seed(0)
    arms = {}
    for name, use_graph in (("graph", True), ("no_graph", False)):
        arm_spec = spec.model_copy(update={"pretrain": p.model_copy(update={"use_graph": use_graph})})
        torch.manual_seed(0)
        model, head = build_model(arm_spec, kg, feats.dim)
        weights = p.objectives.model_dump() if use_graph else {"mlm": p.objectives.mlm}
        module = KGPretrainModule(model, head, weights, OptimConfig(lr=p.lr, backbone_lr=p.backbone_lr),
                                  use_graph=use_graph, link_hide_rate=p.link_hide_rate).to(args.device).train()
        arms[name] = (module, torch.optim.AdamW(module._param_groups()))
    collate = MaskingCollator(Collator(tokenizer.pad_token_id, feats, feats.dim), tokenizer.all_special_ids,
                              tokenizer.mask_token_id, len(tokenizer), p.mask_rate, p.entity_mask_rate)
    torch.manual_seed(0)
    items = [(i, ex, None) for i, ex in enumerate(examples)]
    batches = [collate(items[i:i + args.batch_size]) for i in range(0, len(items), args.batch_size)]
    return spec, kg, batches, arms


def step(module, optimizer, batch, device) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        total, _, _ = module.compute_losses(batch)
    total.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="passes over the batches")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pretrain"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    spec, kg, batches, arms = build(args)
    setup_s = time.perf_counter() - t0
    times = {name: [] for name in arms}
    tokens = {name: [] for name in arms}
    n = 0
    for _ in range(args.rounds):
        for batch in batches:
            moved = batch.to(args.device)
            for name, (module, optimizer) in arms.items():
                seconds = step(module, optimizer, moved, args.device)
                if n >= args.warmup:
                    times[name].append(seconds)
                    tokens[name].append(int(batch.batch.attention_mask.sum()))
            n += 1
    command = f"OMP_NUM_THREADS={args.threads} python benchmarks/pretrain.py {' '.join(sys.argv[1:])}".rstrip()
    result = {"command": command,
              "device": args.device, "threads": args.threads, "batch_size": args.batch_size,
              "timed_steps_per_arm": len(times["graph"]), "setup_seconds": setup_s,
              "load_average": os.getloadavg(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "graph": {"nodes": kg.num_nodes, "edges": kg.num_edges},
              "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                           text=True, cwd=ROOT).stdout.strip(), "arms": {}}
    for name in arms:
        rates = [t / s for t, s in zip(tokens[name], times[name])]
        result["arms"][name] = {"median_step_s": statistics.median(times[name]),
                                "median_tokens_per_s": statistics.median(rates),
                                "total_tokens_per_s": sum(tokens[name]) / sum(times[name]),
                                "params": sum(p.numel() for p in arms[name][0].parameters())}
    g, b = result["arms"]["graph"], result["arms"]["no_graph"]
    result["graph_over_no_graph_step_time"] = g["median_step_s"] / b["median_step_s"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["# Pretraining throughput", "",
             f"Command: `{result['command']}` (commit {result['git_commit']}); device {args.device}, "
             f"{args.threads} torch thread(s), batch {args.batch_size} quickstart texts, MiniLM-L6, "
             f"{result['timed_steps_per_arm']} timed steps per arm, alternating; load average during the run "
             f"{', '.join(f'{x:.1f}' for x in result['load_average'])} on {os.cpu_count()} cores.", "",
             "| arm | objectives | median step (s) | tokens/s (median) | tokens/s (total) | parameters |",
             "|---|---|---:|---:|---:|---:|"]
    for name, objectives in (("graph", "MLM + link + align (GNN + fusion)"), ("no_graph", "MLM only (control)")):
        a = result["arms"][name]
        lines.append(f"| {name} | {objectives} | {a['median_step_s']:.3f} | {a['median_tokens_per_s']:.0f} | "
                     f"{a['total_tokens_per_s']:.0f} | {a['params']:,} |")
    lines += ["", f"Step time with the graph / without: {result['graph_over_no_graph_step_time']:.2f}.", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
