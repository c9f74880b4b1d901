"""Model benchmark: the KG-augmented classifier against the same model without a graph.

Run from the repository root (reads TREC under ``kgattn.paths.data_dir()`` and WordNet 3.0)::

    python benchmarks/model.py                                # every section
    python benchmarks/model.py --sections infer,train         # some of: infer,train,curve,rss

Sections (same process, same MiniLM backbone, same batches of 32, graph = WordNet):

* ``train``: median wall time of a training step (forward, backward, optimiser step; timed by
  a Lightning callback) of the graph model and of the no-graph model, fitted one after the
  other on the same TREC training questions in the same order; also with link prediction.
* ``infer``: throughput on the 500 TREC test questions, the graph model *including* entity
  linking, subgraph cutting and node-feature lookup (node features cached by a warm-up pass),
  against the no-graph model; the two are timed alternately, ``--repeats`` times each.
* ``curve``: time per batch of 32 (inference with pre-linked mentions, and a training step)
  for ``max_nodes`` in 8, 16, 32, 64, 128, with the mean number of nodes per question.
* ``rss``: peak resident memory of a fresh process that links TREC's training questions,
  cuts their WordNet subgraphs, computes their node features and trains the graph model.

Writes ``benchmarks/results/model.json`` and ``model.md`` (with the command line; ``--out`` changes
the file stem).

Threads: ``--threads 1`` by default. The benchmark machine has 2 CPUs shared by several users;
with 2 intra-op threads each parallel region waits for a core that another process holds, and
runs under that load were several times slower and erratic (``results/model_threads2.md``), so
one thread is the setting that measures the code rather than the neighbours. The thread count actually in
force is recorded at the start of every section.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from lightning.pytorch.callbacks import Callback  # noqa: E402

from kgattn.datasets.trec import read_trec  # noqa: E402
from kgattn.paths import data_dir  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MAX_NODES = (8, 16, 32, 64, 128)
BATCH = 32
TARGETS = {"inference_throughput_ratio_min": 0.85, "train_step_ratio_max": 1.25, "peak_rss_gb_max": 4.0}


class StepTimer(Callback):
    """Wall time of every training step (batch start to batch end, optimiser step included)."""

    def __init__(self):
        self.times: list[float] = []
        self._t = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.times.append(time.perf_counter() - self._t)


def wordnet_linker():
    from kgattn.datasets.wordnet import wordnet
    from kgattn.linking import EntityLinker, PriorWeights
    from kgattn.linking.wordnet_prior import wordnet_alias_counts

    kg = wordnet()
    # the same settings as benchmarks/linking.py: sense-count priors, no context model
    linker = EntityLinker(kg, disambiguate="prior", alias_counts=wordnet_alias_counts(kg),
                          prior=PriorWeights(count=0.5, degree=0.0, label=0.0))
    return kg, linker


def trec(split: str):
    name = {"train": "train_5500.label", "test": "TREC_10.label"}[split]
    qs = read_trec(data_dir() / "trec" / name)
    return [q.text for q in qs], [q.coarse for q in qs]


def classifier(kg, linker, use_graph: bool, **kw):
    from kgattn.api import KGClassifier

    return KGClassifier(kg=kg, linker=linker, backbone="minilm", use_graph=use_graph, batch_size=BATCH,
                        max_epochs=1, progress_bar=False, precision="32", accelerator="cpu", **kw)


def median(xs):
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self, args):
        self.args = args
        torch.set_num_threads(args.threads)
        self.results: dict = {
            "command": "python " + " ".join(sys.argv),
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "torch": torch.__version__,
                        "load_average_at_start": list(os.getloadavg())},
            "settings": {"batch_size": BATCH, "backbone": "minilm", "graph": "WordNet 3.0",
                         "linker": "prior (sense counts)", "precision": "fp32",
                         "train_questions": args.train_size, "repeats": args.repeats},
            "targets": TARGETS,
        }
        self._kg = self._linker = None
        self._models: dict = {}

    @property
    def kg(self):
        if self._kg is None:
            self._kg, self._linker = wordnet_linker()
        return self._kg

    @property
    def linker(self):
        _ = self.kg
        return self._linker

    def fitted(self, name: str):
        """Fit (once) the graph / no-graph / graph+link model on the same questions; record step times."""
        if name not in self._models:
            texts, labels = trec("train")
            texts, labels = texts[: self.args.train_size], labels[: self.args.train_size]
            if "mentions" not in self._models:
                t = time.perf_counter()
                self._models["mentions"] = list(self.linker.link_batch(texts))
                self.results.setdefault("timings", {})["link_fit_questions_s"] = time.perf_counter() - t
            timer = StepTimer()
            kw = {"graph_link": {"link_prediction": "distmult"}, "graph_fusion1": {"fusion_layers": [-1]}}.get(name, {})
            clf = classifier(self.kg, self.linker, use_graph=name != "no_graph", callbacks=[timer], **kw)
            t = time.perf_counter()
            clf.fit(texts, labels, mentions=self._models["mentions"])
            self._models[name] = (clf, timer.times, time.perf_counter() - t)
        return self._models[name]

    # ------------------------------------------------------------------ sections
    def train(self):
        """Step times inside Lightning fits, then paired steps on identical batches, alternating models."""
        r = self.results.setdefault("train", {})
        skip = 3  # first steps pay for lazy initialisation and allocator warm-up
        fit = r["lightning_fit"] = {}
        for name in ("no_graph", "graph", "graph_link"):
            _, times, fit_s = self.fitted(name)
            fit[name] = {"median_step_s": median(times[skip:]), "steps_timed": len(times[skip:]), "fit_wall_s": fit_s}
        fit["step_ratio_graph"] = fit["graph"]["median_step_s"] / fit["no_graph"]["median_step_s"]
        fit["step_ratio_graph_link"] = fit["graph_link"]["median_step_s"] / fit["no_graph"]["median_step_s"]
        # The fits run minutes apart on a shared machine; pairing steps cancels load drift.
        texts, labels = trec("train")
        n = self.args.paired_steps * BATCH
        texts, labels = texts[-n:], labels[-n:]  # questions the fits did not see
        mentions = list(self.linker.link_batch(texts))
        steppers = {name: _Stepper(self.fitted(name)[0], texts, labels, mentions) for name in
                    ("no_graph", "graph", "graph_link")}
        times = {name: [] for name in steppers}
        for i in range(self.args.paired_steps):
            for name, stepper in steppers.items():
                times[name].append(stepper.step(i))
        for stepper in steppers.values():
            stepper.close()
        paired = r["paired"] = {name: {"median_step_s": median(ts[1:]), "steps": len(ts[1:])} for name, ts in times.items()}
        for name in ("graph", "graph_link"):
            ratios = [g / b for g, b in zip(times[name][1:], times["no_graph"][1:])]
            paired[f"step_ratio_{name}"] = median(ratios)
        r["step_ratio_graph"] = paired["step_ratio_graph"]
        r["meets_target"] = r["step_ratio_graph"] <= TARGETS["train_step_ratio_max"]

    def infer(self):
        """Texts in, predictions out; the variants alternate so all see the same machine load."""
        texts, _ = trec("test")
        graph, _, _ = self.fitted("graph")
        plain, _, _ = self.fitted("no_graph")
        one_layer, _, _ = self.fitted("graph_fusion1")
        runs = {
            "no_graph": lambda: list(plain.predict_batches(texts, top_k=0)),
            "graph": lambda: list(graph.predict_batches(texts, top_k=0)),
            "graph_top5": lambda: list(graph.predict_batches(texts, top_k=5)),
            "graph_fusion1": lambda: list(one_layer.predict_batches(texts, top_k=0)),
            "linking_only": lambda: list(self.linker.link_batch(texts)),
        }
        for run in runs.values():  # warm-up: linker table, node-feature cache for these questions
            run()
        times = {name: [] for name in runs}
        names = list(runs)
        for i in range(self.args.repeats):
            for name in names[i % len(names):] + names[: i % len(names)]:  # rotate who goes first
                t = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - t)
        n = len(texts)
        r = self.results["infer"] = {"questions": n, "seconds": times,
                                     "q_per_s": {name: n / median(ts) for name, ts in times.items()}}
        base = r["q_per_s"]["no_graph"]
        r["ratios"] = {name: q / base for name, q in r["q_per_s"].items() if name.startswith("graph")}
        # Each round runs every variant once, seconds apart: the per-round ratio cancels the slow
        # load drift of a shared machine that the ratio of medians only averages out.
        r["paired_ratios"] = {name: median([b / g for b, g in zip(times["no_graph"], ts)])
                              for name, ts in times.items() if name.startswith("graph")}
        r["throughput_ratio"] = r["ratios"]["graph"]
        r["meets_target"] = r["throughput_ratio"] >= TARGETS["inference_throughput_ratio_min"]

    def curve(self):
        texts, labels = trec("test")
        mentions = list(self.linker.link_batch(texts))
        graph, _, _ = self.fitted("graph")
        plain, _, _ = self.fitted("no_graph")
        module = graph.module_
        rows = []
        for m in MAX_NODES:
            graph.set_params(max_nodes=m)
            # warm-up (fills the feature cache); top_nodes lists every node an example has
            batches = list(graph.predict_batches(texts, mentions, top_k=10**6))
            nodes = [len(t) for b in batches for t in b.top_nodes]
            times = []
            for _ in range(self.args.repeats):
                t = time.perf_counter()
                list(graph.predict_batches(texts, mentions, top_k=0))
                times.append((time.perf_counter() - t) / len(batches))
            rows.append({"max_nodes": m, "infer_s_per_batch": median(times),
                         "mean_nodes": sum(nodes) / len(nodes), "train_step_s": self._train_steps(graph, texts, labels, mentions)})
        graph.set_params(max_nodes=32)
        base = []
        for _ in range(self.args.repeats):
            t = time.perf_counter()
            batches = list(plain.predict_batches(texts))
            base.append((time.perf_counter() - t) / len(batches))
        self.results["curve"] = {"rows": rows, "no_graph_infer_s_per_batch": median(base),
                                 "no_graph_train_step_s": self._train_steps(plain, texts, labels, None),
                                 "note": "inference with pre-linked mentions: subgraph cutting, collation, "
                                         "forward; train step: forward + backward + AdamW, median of 6 batches"}
        module.cpu()

    @staticmethod
    def _train_steps(clf, texts, labels, mentions, n: int = 6) -> float:
        """Median time of n training steps (forward, backward, AdamW) on batches of these texts."""
        stepper = _Stepper(clf, texts[: n * BATCH], labels[: n * BATCH], mentions[: n * BATCH] if mentions else None)
        times = [stepper.step(i) for i in range(n)]
        stepper.close()
        return median(times[1:])

    def rss(self, use_graph: bool = True, key: str = "rss"):
        cmd = [sys.executable, __file__, "--rss-child", "--threads", str(self.args.threads),
               "--rss-train-size", str(self.args.rss_train_size)] + ([] if use_graph else ["--rss-no-graph"])
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"rss child failed:\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["wall_s"] = time.perf_counter() - t
        r["meets_target"] = r["peak_rss_gb"] <= TARGETS["peak_rss_gb_max"]
        self.results[key] = r


class _Stepper:
    """Training steps of a fitted classifier's module on pre-collated batches (forward, backward, AdamW).

    The same computation as a Lightning training step without the loop around it; used where
    two models must alternate step by step. The learning rate is tiny so the weights barely move.
    """

    def __init__(self, clf, texts, labels, mentions):
        use_graph = clf.use_graph
        examples = clf._prepare(texts, mentions if use_graph else None, use_graph)
        collate = clf._collator(use_graph)
        codes = clf.encoders_["label"].encode(labels)
        self.batches = [collate([(j, examples[j], {"label": int(codes[j])})
                                 for j in range(i, min(i + BATCH, len(examples)))])
                        for i in range(0, len(examples), BATCH)]
        self.module = clf.module_.train()
        self.opt = torch.optim.AdamW([p for p in self.module.parameters() if p.requires_grad], lr=1e-9)

    def step(self, i: int) -> float:
        batch = self.batches[i % len(self.batches)]
        t = time.perf_counter()
        out = self.module(batch, labels=True)
        out.loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return time.perf_counter() - t

    def close(self):
        self.module.eval()
        self.opt = None


def rss_child(args) -> None:
    """Train the graph model on TREC + WordNet in this fresh process; print peak RSS as JSON."""
    import psutil

    torch.set_num_threads(args.threads)
    proc, peak = psutil.Process(), [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.05)

    threading.Thread(target=sample, daemon=True).start()

    def maxrss_gb() -> float:
        # VmHWM: the peak RSS of this process's own address space. (ru_maxrss is not usable here:
        # Linux carries the launching process's peak into a child over fork/vfork + exec.)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9

    phases = {}

    class Phase(Callback):
        def on_train_start(self, trainer, pl_module):
            phases["before_training_max_rss_gb"] = maxrss_gb()

        def on_train_end(self, trainer, pl_module):
            phases["after_training_max_rss_gb"] = maxrss_gb()

    use_graph = not args.rss_no_graph
    kg, linker = wordnet_linker() if use_graph else (None, None)
    phases["graph_and_linker_max_rss_gb"] = maxrss_gb()
    texts, labels = trec("train")
    texts, labels = texts[: args.rss_train_size], labels[: args.rss_train_size]
    t = time.perf_counter()
    classifier(kg, linker, use_graph=use_graph, callbacks=[Phase()]).fit(texts, labels)
    fit_s = time.perf_counter() - t
    stop.set()
    print(json.dumps({"use_graph": use_graph, "train_questions": len(texts), "epochs": 1, "fit_wall_s": fit_s,
                      "peak_rss_gb": max(maxrss_gb(), peak[0] / 1e9), "vm_hwm_gb": maxrss_gb(),
                      "sampled_peak_rss_gb": peak[0] / 1e9, "phases": phases}))


def write(results: dict, stem: str = "model") -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Model benchmark", "", "Command (from the repository root):", "", "```",
             results["command"], "```", "",
             f"Machine: {results['machine']['cpus']} CPUs, torch threads {results['machine']['torch_threads']} "
             f"(in force at the start of each section: {_threads_line(results)}), "
             f"load average at start {results['machine']['load_average_at_start'][0]:.1f} (shared machine). "
             f"Backbone MiniLM-L6, fp32, batch {BATCH}, graph WordNet 3.0, prior linker. One thread because "
             "the machine is shared (2 threads under other users' load: `model_threads2.md`).", ""]
    if "infer" in results:
        r = results["infer"]
        q, ratio = r["q_per_s"], r["ratios"]
        lines += ["## Inference throughput, 500 TREC test questions (`predict_batches`, batch 32)", "",
                  "| model | questions/s (median) | / no graph |", "|---|---|---|",
                  f"| no graph (tokenization + model) | {q['no_graph']:.1f} | 1 |",
                  f"| graph: linking + subgraphs + node features + model | {q['graph']:.1f} | **{ratio['graph']:.3f}** |",
                  f"| graph, also returning the 5 most attended nodes | {q['graph_top5']:.1f} | {ratio['graph_top5']:.3f} |",
                  f"| graph, one fusion layer (`fusion_layers=[-1]`) | {q['graph_fusion1']:.1f} | "
                  f"{ratio['graph_fusion1']:.3f} |",
                  f"| linking alone | {q['linking_only']:.1f} | |", "",
                  f"Target graph / no graph >= {TARGETS['inference_throughput_ratio_min']} (default model, two "
                  f"fusion layers): {'met' if r['meets_target'] else 'NOT met'}. Medians of {len(r['seconds']['graph'])} "
                  "alternating runs after a warm-up run."]
        if "paired_ratios" in r:
            pr = r["paired_ratios"]
            lines += ["", f"Median of the per-round ratios (no graph s / variant s, same round): graph "
                      f"{pr['graph']:.3f}, with top 5 nodes {pr['graph_top5']:.3f}, one fusion layer "
                      f"{pr['graph_fusion1']:.3f}."]
        lines.append("")
    if "train" in results:
        r = results["train"]
        fit, paired = r["lightning_fit"], r["paired"]
        lines += ["## Training step time (forward + backward + AdamW, batch 32)", "",
                  "| model | paired: median step (s) | Lightning fit: median step (s) (steps) |", "|---|---|---|"]
        for name in ("no_graph", "graph", "graph_link"):
            lines.append(f"| {name} | {paired[name]['median_step_s']:.4f} | {fit[name]['median_step_s']:.4f} "
                         f"({fit[name]['steps_timed']}) |")
        lines += ["", f"Ratio graph / no graph, median of paired steps: **{r['step_ratio_graph']:.3f}** (target <= "
                  f"{TARGETS['train_step_ratio_max']}: {'met' if r['meets_target'] else 'NOT met'}); with link "
                  f"prediction: {paired['step_ratio_graph_link']:.3f}. From the separate Lightning fits: "
                  f"{fit['step_ratio_graph']:.3f} and {fit['step_ratio_graph_link']:.3f}.",
                  "", "graph = alignment loss on, no link prediction (the KGClassifier defaults); graph_link adds "
                  "DistMult link prediction. Paired steps alternate the three models batch by batch on the "
                  "same collated batches; the fits run one after the other.", ""]
    if "curve" in results:
        r = results["curve"]
        lines += ["## Cost curve (batch of 32)", "",
                  "| max_nodes | mean nodes | inference s/batch | train step s |", "|---|---|---|---|"]
        for row in r["rows"]:
            lines.append(f"| {row['max_nodes']} | {row['mean_nodes']:.1f} | {row['infer_s_per_batch']:.4f} | "
                         f"{row['train_step_s']:.4f} |")
        lines += [f"| no graph | 0 | {r['no_graph_infer_s_per_batch']:.4f} | {r['no_graph_train_step_s']:.4f} |",
                  "", r["note"], ""]
    if "rss" in results:
        r = results["rss"]
        lines += ["## Peak RSS while training on TREC + WordNet", "",
                  f"{r['peak_rss_gb']:.2f} GB (target <= {TARGETS['peak_rss_gb_max']} GB: "
                  f"{'met' if r['meets_target'] else 'NOT met'}); {r['train_questions']} questions, 1 epoch, "
                  f"fit {r['fit_wall_s']:.0f} s in a fresh process (linking, subgraphs, node features, training). "
                  "Peak = the kernel's high-water mark of the process's RSS (`VmHWM`); running peak by phase: "
                  + ", ".join(f"{k.replace('_max_rss_gb', '')} {v:.2f} GB" for k, v in r.get("phases", {}).items())
                  + f"; RSS sampled every 50 ms peaked at {r['sampled_peak_rss_gb']:.2f} GB.", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))


def _threads_line(results: dict) -> str:
    threads = results.get("section_threads", {})
    return ", ".join(f"{k} {v}" for k, v in threads.items()) or "not recorded"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default="train,infer,curve,rss")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (1: the 2-CPU machine is shared; see the module docstring)")
    p.add_argument("--out", default="model", help="file stem of the results in benchmarks/results/")
    p.add_argument("--train-size", type=int, default=640, help="TREC training questions for the timed fits")
    p.add_argument("--paired-steps", type=int, default=16, help="alternating training steps per model")
    p.add_argument("--rss-train-size", type=int, default=5452, help="TREC training questions for the RSS run")
    p.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rss-no-graph", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rss_child:
        rss_child(args)
        return
    bench = Bench(args)
    for section in args.sections.split(","):
        t = time.perf_counter()
        bench.results.setdefault("section_threads", {})[section] = torch.get_num_threads()
        getattr(bench, section.strip())()
        bench.results.setdefault("section_wall_s", {})[section] = time.perf_counter() - t
        print(f"{section}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
        write(bench.results, args.out)
    print(json.dumps({k: v for k, v in bench.results.items() if k not in ("machine",)}, indent=1))


if __name__ == "__main__":
    main()
