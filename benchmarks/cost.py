"""What the graph costs (issue 6, item 4): one table, each figure beside the no-graph baseline
measured in the same run.

Run from the repository root (TREC under ``kgattn.paths.data_dir()``, WordNet 3.0 installed)::

    python benchmarks/cost.py                 # writes benchmarks/results/cost.json and cost.md

Rows (MiniLM-L6, fp32, batch 32, one torch thread as in ``benchmarks/model.py``; graph = WordNet):

* start-up, in a fresh child process: loading the backbone (both arms), then the graph
  (memory-mapped from the cache), then the alias index + prior linker and the static-context
  linker (its distilled vectors come from the cache), with the resident memory after each step;
* entity linking of the 500 TREC test questions, prior and static-context linkers (medians);
* end-to-end inference on the 500 test questions (texts in, labels out): no graph, graph with the
  prior linker, graph with the static-context linker (the experiments' linker), alternating;
* training step (forward, backward, AdamW) of the graph model and of the no-graph model on the
  same batches, alternating step by step (``model.py``'s paired steps);
* peak resident memory of a fresh process that trains each model for one epoch on TREC's
  training questions (``model.py``'s RSS child, with and without the graph);
* parameters of each model.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import model as mb  # noqa: E402  (benchmarks/model.py: fits, paired steps, RSS child)
import torch  # noqa: E402

STARTUP_STEPS = ("backbone", "graph", "prior_linker", "context_linker")


def vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def startup_child() -> None:
    """Load the components one after the other; print seconds and resident GB after each."""
    torch.set_num_threads(1)
    out = {"python_and_torch": {"s": 0.0, "rss_gb": vm("VmRSS")}}

    def step(name, fn):
        t = time.perf_counter()
        value = fn()
        out[name] = {"s": time.perf_counter() - t, "rss_gb": vm("VmRSS")}
        return value

    def backbone():
        from transformers import AutoModel, AutoTokenizer

        from kgattn.backbone import quiet_weight_loading, resolve_backbone

        path = resolve_backbone("minilm")
        with quiet_weight_loading():
            return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)

    from kgattn.datasets.wordnet import wordnet
    from kgattn.linking import EntityLinker, PriorWeights
    from kgattn.linking.wordnet_prior import wordnet_alias_counts

    step("backbone", backbone)
    kg = step("graph", wordnet)
    prior = step("prior_linker", lambda: EntityLinker(kg, disambiguate="prior", alias_counts=wordnet_alias_counts(kg),
                                                       prior=PriorWeights(count=0.5, degree=0.0, label=0.0)).link("warm up"))
    del prior
    step("context_linker", lambda: EntityLinker(kg, disambiguate="context").link("warm up"))
    out["peak_rss_gb"] = vm("VmHWM")
    print(json.dumps(out))


class Cost(mb.Bench):
    def __init__(self, args):
        super().__init__(args)
        self.results["settings"]["linker"] = "prior (sense counts) and context (static), see rows"
        self._context = None

    @property
    def context_linker(self):
        if self._context is None:
            from kgattn.linking import EntityLinker

            self._context = EntityLinker(self.kg, disambiguate="context")
        return self._context

    def startup(self):
        out = subprocess.run([sys.executable, __file__, "--startup-child"], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"start-up child failed:\n{out.stderr[-3000:]}")
        self.results["startup"] = json.loads(out.stdout.strip().splitlines()[-1])

    def linking(self):
        texts, _ = mb.trec("test")
        linkers = {"prior": self.linker, "context_static": self.context_linker}
        for linker in linkers.values():
            list(linker.link_batch(texts))  # warm-up
        times = {name: [] for name in linkers}
        for _ in range(self.args.repeats):
            for name, linker in linkers.items():
                t = time.perf_counter()
                list(linker.link_batch(texts))
                times[name].append(time.perf_counter() - t)
        self.results["linking"] = {"questions": len(texts),
                                   "q_per_s": {k: len(texts) / mb.median(v) for k, v in times.items()}}

    def infer(self):
        texts, _ = mb.trec("test")
        graph, _, _ = self.fitted("graph")
        plain, _, _ = self.fitted("no_graph")
        context = copy.copy(graph)  # shares the trained module; its own featurizer and linker
        context.__dict__ = dict(graph.__dict__)
        context.set_params(linker=self.context_linker)
        runs = {"no_graph": lambda: list(plain.predict_batches(texts, top_k=0)),
                "graph_prior": lambda: list(graph.predict_batches(texts, top_k=0)),
                "graph_context": lambda: list(context.predict_batches(texts, top_k=0))}
        for run in runs.values():
            run()
        times = {name: [] for name in runs}
        names = list(runs)
        for i in range(self.args.repeats):
            for name in names[i % len(names):] + names[: i % len(names)]:
                t = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - t)
        n = len(texts)
        self.results["infer"] = {
            "questions": n, "seconds": times, "q_per_s": {k: n / mb.median(v) for k, v in times.items()},
            "paired_ratios": {k: mb.median([b / g for b, g in zip(times["no_graph"], v)])
                              for k, v in times.items() if k != "no_graph"}}

    def params(self):
        out = {}
        for name in ("no_graph", "graph"):
            module = self.fitted(name)[0].module_.model
            out[name] = {"total": sum(p.numel() for p in module.parameters()),
                         "backbone": sum(p.numel() for p in module.backbone_parameters())}
        self.results["params"] = out

    def rss_both(self):
        self.rss(use_graph=False, key="rss_no_graph")
        self.rss(use_graph=True, key="rss_graph")


def _gb(x):
    return f"{x:.2f} GB"


def write(results: dict) -> None:
    mb.RESULTS.mkdir(parents=True, exist_ok=True)
    (mb.RESULTS / "cost.json").write_text(json.dumps(results, indent=1) + "\n")
    st, li, inf, tr, p = (results.get(k, {}) for k in ("startup", "linking", "infer", "train", "params"))
    rows = []
    if st:
        rows.append(("start-up: Python + torch + kgattn imports", f"{st['python_and_torch']['rss_gb']:.2f} GB resident",
                     "same", ""))
        rows.append(("start-up: load MiniLM-L6 + tokenizer", f"{st['backbone']['s']:.2f} s, {_gb(st['backbone']['rss_gb'])}",
                     "same", ""))
        g, lp, lc = st["graph"], st["prior_linker"], st["context_linker"]
        rows.append(("start-up: WordNet graph (117,659 nodes, memory-mapped from the cache)", "—",
                     f"+{g['s']:.2f} s, {_gb(g['rss_gb'])}", ""))
        rows.append(("start-up: alias index + prior linker", "—", f"+{lp['s']:.2f} s, {_gb(lp['rss_gb'])}", ""))
        rows.append(("start-up: static-context linker (vectors from the cache)", "—",
                     f"+{lc['s']:.2f} s, {_gb(lc['rss_gb'])}", ""))
    if li:
        q = li["q_per_s"]
        rows.append((f"entity linking, {li['questions']} TREC questions (prior / static context)", "—",
                     f"{q['prior']:,.0f} / {q['context_static']:,.0f} q/s", ""))
    if inf:
        q, r = inf["q_per_s"], inf["paired_ratios"]
        rows.append(("inference end to end, texts in, labels out (prior linker)", f"{q['no_graph']:.1f} q/s",
                     f"{q['graph_prior']:.1f} q/s", f"{r['graph_prior']:.3f}x throughput"))
        rows.append(("inference end to end (static-context linker, as in the experiments)", f"{q['no_graph']:.1f} q/s",
                     f"{q['graph_context']:.1f} q/s", f"{r['graph_context']:.3f}x throughput"))
    if tr:
        pr = tr["paired"]
        rows.append(("training step, batch 32 (forward + backward + AdamW), paired",
                     f"{pr['no_graph']['median_step_s']:.3f} s", f"{pr['graph']['median_step_s']:.3f} s",
                     f"{pr['step_ratio_graph']:.3f}x time"))
        rows.append(("training step with DistMult link prediction too", f"{pr['no_graph']['median_step_s']:.3f} s",
                     f"{pr['graph_link']['median_step_s']:.3f} s", f"{pr['step_ratio_graph_link']:.3f}x time"))
    if "rss_no_graph" in results and "rss_graph" in results:
        a, b = results["rss_no_graph"], results["rss_graph"]
        rows.append((f"peak resident memory, training 1 epoch on {a['train_questions']:,} questions (fresh process)",
                     _gb(a["peak_rss_gb"]), _gb(b["peak_rss_gb"]), f"{b['peak_rss_gb'] / a['peak_rss_gb']:.2f}x"))
    if p:
        a, b = p["no_graph"]["total"], p["graph"]["total"]
        rows.append(("parameters (backbone 22.7M included)", f"{a / 1e6:.2f} M", f"{b / 1e6:.2f} M", f"+{(b - a) / 1e6:.2f} M"))
    lines = ["# What the graph costs (issue 6, item 4)", "", "Command (from the repository root):", "",
             "```", results["command"], "```", "",
             f"Machine: {results['machine']['cpus']} CPUs, torch threads {results['machine']['torch_threads']}, "
             f"load average at start {results['machine']['load_average_at_start'][0]:.1f}; MiniLM-L6, fp32, batch 32, "
             "WordNet 3.0. Each figure with the graph was measured in the same run as the no-graph figure beside it "
             "(start-up in one fresh child process, step by step; timings alternate the models; peak memory in two "
             "fresh child processes). Medians of "
             f"{results['settings']['repeats']} repeats; ratios are medians of per-round ratios.", "",
             "| what | no graph | with the graph | cost |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "Wall time of each section (s): " + ", ".join(f"{k} {v:.0f}" for k, v in results.get("section_wall_s", {}).items())]
    (mb.RESULTS / "cost.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default="startup,linking,train,infer,params,rss_both")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-size", type=int, default=640, help="TREC training questions for the timed fits")
    p.add_argument("--paired-steps", type=int, default=16)
    p.add_argument("--rss-train-size", type=int, default=5452)
    p.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.startup_child:
        startup_child()
        return
    bench = Cost(args)
    bench.results["command"] = "python " + " ".join(["benchmarks/cost.py", *sys.argv[1:]])
    for section in args.sections.split(","):
        t = time.perf_counter()
        getattr(bench, section.strip())()
        bench.results.setdefault("section_wall_s", {})[section] = time.perf_counter() - t
        print(f"{section}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
        write(bench.results)
    print((mb.RESULTS / "cost.md").read_text())


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
