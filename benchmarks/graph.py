"""Benchmark of the knowledge-graph store (issue 2).

Measures, on the real data sets and a synthetic graph:

* WordNet 3.0 import (first time, no cache) and ``load`` of the saved graph;
* FB15k-237 import and ``load``;
* ``subgraphs`` for 1,000 seed lists (1-3 seeds, 2 hops, max 64 nodes) on both, against a
  networkx baseline (same semantics: BFS on the undirected view + induced edges) in the same process;
* a synthetic 10M-triple, 2M-node graph: ``load`` time and peak RSS in a fresh process;
* rdflib vs pyoxigraph parse throughput on FB15k-237 written as N-Triples and as Turtle.

Writes ``benchmarks/results/graph.json`` and ``graph.md`` with the exact command. The machine
is shared, so wall times come with process CPU times and the load average.

Usage: ``python benchmarks/graph.py [--skip-synthetic] [--repeats 7]``
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgattn.datasets.fb15k237 import fb15k237  # noqa: E402
from kgattn.datasets.wordnet import find_wordnet, wordnet  # noqa: E402
from kgattn.graph import KnowledgeGraph  # noqa: E402
from kgattn.paths import data_dir  # noqa: E402

TARGETS = {"wordnet_import_s": 60, "wordnet_load_s": 1.0, "fb15k237_import_s": 15, "fb15k237_load_s": 0.5,
           "subgraphs_ms_per_list": 0.5, "synthetic_load_s": 10, "synthetic_peak_rss_gb": 3.0}


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def seed_lists(kg, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.choice(kg.num_nodes, size=int(rng.integers(1, 4)), replace=False).tolist() for _ in range(n)]


def networkx_subgraph(G, U, degree, seeds, hops, max_nodes):
    """Baseline with the same semantics as KnowledgeGraph.subgraph (no hub capping)."""
    import networkx as nx

    dist = {}
    for s in seeds:
        for v, d in nx.single_source_shortest_path_length(U, s, cutoff=hops).items():
            if d < dist.get(v, hops + 1):
                dist[v] = d
    cand = sorted((v for v in dist if v not in seeds), key=lambda v: (dist[v], degree[v], v))
    kept = list(seeds) + cand[:max(0, max_nodes - len(seeds))]
    return G.subgraph(kept).edges(keys=True)


def bench_subgraphs(kg, repeats, baseline_lists=100):
    import networkx as nx

    lists = seed_lists(kg)
    kg.subgraphs(lists[:50])  # warm caches (hub threshold, scratch arrays, pages)
    walls, cpus = [], []
    for _ in range(repeats):
        _, w, c = timed(lambda: kg.subgraphs(lists, hops=2, max_nodes=64))
        walls.append(w / len(lists) * 1e3)
        cpus.append(c / len(lists) * 1e3)
    sgs = kg.subgraphs(lists, hops=2, max_nodes=64)
    # networkx baseline on the same lists, same process
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(kg.num_nodes))
    G.add_edges_from(zip(kg.src.tolist(), kg.dst.tolist()))
    U = G.to_undirected(as_view=True)
    degree = kg.degree.tolist()
    base = []
    for _ in range(3):
        _, w, _ = timed(lambda: [list(networkx_subgraph(G, U, degree, s, 2, 64)) for s in lists[:baseline_lists]])
        base.append(w / baseline_lists * 1e3)
    med = statistics.median(walls)
    return {"lists": len(lists), "repeats": repeats, "ms_per_list_median": med,
            "ms_per_list_all": walls, "cpu_ms_per_list_median": statistics.median(cpus),
            "mean_nodes": float(np.mean([s.num_nodes for s in sgs])),
            "mean_edges": float(np.mean([s.num_edges for s in sgs])),
            "networkx_baseline_ms_per_list_median": statistics.median(base),
            "speedup_vs_networkx": statistics.median(base) / med}


def bench_load(directory, repeats):
    walls = []
    for _ in range(repeats):
        kg, w, _ = timed(lambda: KnowledgeGraph.load(directory, mmap=True))
        walls.append(w)
    _, full, _ = timed(lambda: KnowledgeGraph.load(directory, mmap=False))
    return {"load_s_median": statistics.median(walls), "load_s_all": walls, "load_no_mmap_s": full}


def bench_dataset(name, build, tmp, repeats):
    kg, w, c = timed(build)
    print(f"[{name}] import {w:.2f}s wall ({c:.2f}s cpu): {kg}", flush=True)
    d = tmp / name
    _, save_s, _ = timed(lambda: kg.save(d))
    res = {"nodes": kg.num_nodes, "edges": kg.num_edges, "relations": kg.num_relations,
           "fingerprint": kg.fingerprint, "import_s": w, "import_cpu_s": c, "save_s": save_s}
    res.update(bench_load(d, repeats))
    back = KnowledgeGraph.load(d)
    assert back.fingerprint == kg.fingerprint
    _, res["alias_index_s"], _ = timed(back.alias_index)
    res["subgraphs"] = bench_subgraphs(back, repeats)
    print(f"[{name}] load {res['load_s_median'] * 1e3:.1f} ms; subgraphs "
          f"{res['subgraphs']['ms_per_list_median']:.3f} ms/list "
          f"({res['subgraphs']['speedup_vs_networkx']:.0f}x networkx)", flush=True)
    return res


# ---------------------------------------------------------------------- RDF parsers
def write_fb15k_rdf(root: Path, tmp: Path) -> tuple[Path, Path, int]:
    import pyoxigraph as ox

    nt = tmp / "fb15k237.nt"
    n = 0
    ns = "http://rdf.freebase.com/ns"
    with open(nt, "w", encoding="utf-8") as out:
        for split in ("train", "valid", "test"):
            with gzip.open(root / f"{split}.txt.gz", "rt", encoding="utf-8") as f:
                for line in f:
                    h, r, t = line.strip().split("\t")
                    out.write(f"<{ns}{h}> <{ns}{r}> <{ns}{t}> .\n")
                    n += 1
    ttl = tmp / "fb15k237.ttl"
    with open(ttl, "wb") as out:
        ox.serialize(ox.parse(path=str(nt), format=ox.RdfFormat.N_TRIPLES), out, ox.RdfFormat.TURTLE,
                     prefixes={"fb": ns + "/"})
    return nt, ttl, n


def bench_parsers(root: Path, tmp: Path):
    import pyoxigraph as ox
    import rdflib

    nt, ttl, n = write_fb15k_rdf(root, tmp)
    out = {"triples": n, "nt_bytes": nt.stat().st_size, "ttl_bytes": ttl.stat().st_size}
    for label, path, rfmt, oformat in (("ntriples", nt, "nt", ox.RdfFormat.N_TRIPLES),
                                       ("turtle", ttl, "turtle", ox.RdfFormat.TURTLE)):
        g = rdflib.Graph()
        _, r_w, _ = timed(lambda: g.parse(str(path), format=rfmt))
        assert len(g) == n, (len(g), n)
        del g
        o_walls = []
        for _ in range(3):
            cnt, o_w, _ = timed(lambda: sum(1 for _ in ox.parse(path=str(path), format=oformat)))
            assert cnt == n
            o_walls.append(o_w)
        o_w = statistics.median(o_walls)
        out[label] = {"rdflib_s": r_w, "rdflib_triples_per_s": n / r_w, "oxigraph_s_median": o_w,
                      "oxigraph_triples_per_s": n / o_w, "speedup": r_w / o_w}
        print(f"[rdf {label}] rdflib {n / r_w:,.0f} triples/s, pyoxigraph {n / o_w:,.0f} triples/s "
              f"({r_w / o_w:.1f}x)", flush=True)
    kg, w, _ = timed(lambda: KnowledgeGraph.from_rdf(nt, engine="oxigraph"))
    out["from_rdf_oxigraph_s"] = w
    out["from_rdf_nodes_edges"] = [kg.num_nodes, kg.num_edges]
    return out


# ---------------------------------------------------------------------- synthetic graph
# Peak RSS from /proc/self/status VmHWM: unlike getrusage's ru_maxrss it is not carried over
# from the parent process across fork/exec.
PEAK_RSS = "def peak_rss_gb():\n    for line in open('/proc/self/status'):\n        if line.startswith('VmHWM:'):\n" \
           "            return int(line.split()[1]) / 2**20\n"

SYNTH_BUILD = PEAK_RSS + r"""
import sys, time, json, numpy as np
sys.path.insert(0, sys.argv[2])
from kgattn.graph import KnowledgeGraph
n, e, out = 2_000_000, 10_000_000, sys.argv[1]
rng = np.random.default_rng(0)
t = time.perf_counter()
src = rng.integers(0, n, e)
# skewed targets: node k is hit with density ~ k^(-2/3), so a few nodes are hubs
dst = np.minimum((n * rng.random(e) ** 3).astype(np.int64), n - 1)
rel = rng.integers(0, 500, e)
ids = [f"n{i:07d}" for i in range(n)]
labels = [f"node {i}" for i in range(n)]
import warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    kg = KnowledgeGraph.from_arrays(ids, src, dst, rel, [f"relation {r}" for r in range(500)], labels=labels)
del ids, labels, src, dst, rel
build = time.perf_counter() - t
t = time.perf_counter(); kg.save(out); save = time.perf_counter() - t
print(json.dumps({"build_s": build, "save_s": save, "nodes": kg.num_nodes, "edges": kg.num_edges,
                  "duplicates_removed": kg.metadata["duplicates_removed"], "max_degree": int(kg.degree.max()),
                  "hub_threshold": kg.hub_threshold,
                  "build_peak_rss_gb": peak_rss_gb()}))
"""

SYNTH_LOAD = PEAK_RSS + r"""
import sys, time, json, numpy as np
sys.path.insert(0, sys.argv[2])
from kgattn.graph import KnowledgeGraph
import torch  # imported before timing: the interpreter baseline is reported separately
base = peak_rss_gb()
walls = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); kg = KnowledgeGraph.load(sys.argv[1], mmap=True); walls.append(time.perf_counter() - t)
rng = np.random.default_rng(0)
lists = [rng.choice(kg.num_nodes, size=int(rng.integers(1, 4)), replace=False).tolist() for _ in range(1000)]
kg.subgraphs(lists[:50])
t = time.perf_counter(); sgs = kg.subgraphs(lists); sub = (time.perf_counter() - t) / len(lists) * 1e3
t = time.perf_counter(); i = kg.node_index("n1234567"); lookup = time.perf_counter() - t
print(json.dumps({"load_s_median": sorted(walls)[len(walls) // 2], "load_s_all": walls,
                  "interpreter_rss_gb": base, "subgraphs_ms_per_list": sub, "node_index_s": lookup,
                  "label_check": kg.label(i),
                  "mean_nodes": float(np.mean([s.num_nodes for s in sgs])),
                  "peak_rss_gb": peak_rss_gb()}))
"""


def bench_synthetic(tmp: Path, repeats: int):
    d = tmp / "synthetic"
    py = sys.executable
    r = subprocess.run([py, "-c", SYNTH_BUILD, str(d), str(ROOT)], capture_output=True, text=True, check=True)
    build = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"[synthetic] built {build}", flush=True)
    size = sum(p.stat().st_size for p in d.iterdir())
    r = subprocess.run([py, "-c", SYNTH_LOAD, str(d), str(ROOT), str(repeats)], capture_output=True, text=True,
                       check=True)
    load = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"[synthetic] load {load}", flush=True)
    return {"build": build, "disk_bytes": size, "load": load}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-rdf", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT)] + sys.argv[1:])
    results = {"command": command, "cwd": str(ROOT), "python": platform.python_version(),
               "numpy": np.__version__, "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
               "note": "shared machine: wall times include contention; *_cpu_* are this process's CPU times",
               "targets": TARGETS}
    try:
        results["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                               text=True).stdout.strip()
    except OSError:
        pass
    fb_root = data_dir() / "fb15k-237"
    if not fb_root.is_absolute():
        fb_root = (ROOT / fb_root).resolve()
    with tempfile.TemporaryDirectory(prefix="kgattn-bench-") as tmpdir:
        tmp = Path(tmpdir)
        os.environ["KGATTN_CACHE"] = str(tmp / "cache")  # never reuse a cached import
        results["wordnet"] = bench_dataset("wordnet", lambda: wordnet(find_wordnet(), cache=False), tmp, args.repeats)
        results["fb15k237"] = bench_dataset("fb15k237", lambda: fb15k237(fb_root, cache=False), tmp, args.repeats)
        if not args.skip_rdf:
            results["rdf_parsers"] = bench_parsers(fb_root, tmp)
        if not args.skip_synthetic:
            results["synthetic_10m"] = bench_synthetic(tmp, args.repeats)
    results["loadavg_end"] = os.getloadavg()
    results["peak_rss_gb_main"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    checks = {
        "wordnet_import_s": results["wordnet"]["import_s"],
        "wordnet_load_s": results["wordnet"]["load_s_median"],
        "fb15k237_import_s": results["fb15k237"]["import_s"],
        "fb15k237_load_s": results["fb15k237"]["load_s_median"],
        "subgraphs_ms_per_list": max(results["wordnet"]["subgraphs"]["ms_per_list_median"],
                                     results["fb15k237"]["subgraphs"]["ms_per_list_median"]),
    }
    if "synthetic_10m" in results:
        checks["synthetic_load_s"] = results["synthetic_10m"]["load"]["load_s_median"]
        checks["synthetic_peak_rss_gb"] = results["synthetic_10m"]["load"]["peak_rss_gb"]
    results["checks"] = {k: {"measured": v, "target": TARGETS[k], "ok": v <= TARGETS[k]} for k, v in checks.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "graph.json").write_text(json.dumps(results, indent=1))
    (args.out / "graph.md").write_text(markdown(results))
    print((args.out / "graph.md").read_text())


def markdown(r) -> str:
    commit = r.get("git_commit", "?")[:10]
    lines = ["# Knowledge-graph store benchmark", "", f"Command: `{r['command']}` (commit {commit}, "
             f"{r['cpus']} CPUs shared, load average {r['loadavg_start'][0]:.1f} at start, "
             f"{r['loadavg_end'][0]:.1f} at end). Medians over repeats; wall time unless marked CPU.", "",
             "| measure | measured | target | ok |", "|---|---|---|---|"]
    for k, v in r["checks"].items():
        lines.append(f"| {k} | {v['measured']:.4g} | <= {v['target']} | {'yes' if v['ok'] else 'NO'} |")
    lines += ["", "| graph | nodes | edges | import s | load ms (mmap) | load ms (no mmap) | subgraphs ms/list "
              "(CPU) | networkx ms/list | speed-up |", "|---|---|---|---|---|---|---|---|---|"]
    for name in ("wordnet", "fb15k237"):
        d = r[name]
        s = d["subgraphs"]
        lines.append(f"| {name} | {d['nodes']:,} | {d['edges']:,} | {d['import_s']:.2f} | "
                     f"{d['load_s_median'] * 1e3:.1f} | {d['load_no_mmap_s'] * 1e3:.1f} | "
                     f"{s['ms_per_list_median']:.3f} ({s['cpu_ms_per_list_median']:.3f}) | "
                     f"{s['networkx_baseline_ms_per_list_median']:.2f} | {s['speedup_vs_networkx']:.0f}x |")
    if "synthetic_10m" in r:
        b, lo = r["synthetic_10m"]["build"], r["synthetic_10m"]["load"]
        lines += ["", f"Synthetic graph: {b['nodes']:,} nodes, {b['edges']:,} edges ({b['duplicates_removed']:,} "
                  f"duplicate draws removed), {r['synthetic_10m']['disk_bytes'] / 2**30:.2f} GiB on disk; build "
                  f"{b['build_s']:.1f} s (peak RSS {b['build_peak_rss_gb']:.2f} GB), save {b['save_s']:.1f} s; "
                  f"load {lo['load_s_median'] * 1e3:.1f} ms, peak RSS {lo['peak_rss_gb']:.2f} GB "
                  f"(interpreter with torch: {lo['interpreter_rss_gb']:.2f} GB) after 1,000 subgraphs at "
                  f"{lo['subgraphs_ms_per_list']:.3f} ms/list."]
    if "rdf_parsers" in r:
        p = r["rdf_parsers"]
        lines += ["", f"RDF parse throughput, FB15k-237 ({p['triples']:,} triples):", "",
                  "| format | rdflib triples/s | pyoxigraph triples/s | speed-up |", "|---|---|---|---|"]
        for f in ("ntriples", "turtle"):
            lines.append(f"| {f} | {p[f]['rdflib_triples_per_s']:,.0f} | {p[f]['oxigraph_triples_per_s']:,.0f} | "
                         f"{p[f]['speedup']:.1f}x |")
        lines += ["", f"`KnowledgeGraph.from_rdf` end to end through pyoxigraph: {p['from_rdf_oxigraph_s']:.2f} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
