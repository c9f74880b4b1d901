"""Benchmark of ``KnowledgeGraph.union`` on FB15k-237 + WordNet 3.0 (132k nodes, 552k edges).

Compares, in the same process, the vectorised union with the plain-Python way of combining two
graphs (decode every node's names/types/description/attributes and every edge, merge dicts,
rebuild with ``KnowledgeGraph.from_arrays``), and checks that both give the same fingerprint.
Also times the union of WordNet with itself (every node merged: the Python merge path).

Writes ``benchmarks/results/graph_union.json`` with the exact command; the machine is shared,
so wall times come with process CPU times and the load average.

Usage: ``python benchmarks/graph_union.py [--repeats 5] [--baseline-repeats 3]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgattn.datasets.fb15k237 import fb15k237  # noqa: E402
from kgattn.datasets.wordnet import wordnet  # noqa: E402
from kgattn.graph import KnowledgeGraph  # noqa: E402


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def python_union(graphs):
    """The baseline: per-node Python dicts, then ``from_arrays`` (same semantics as ``union``)."""
    nodes: dict[str, dict] = {}
    rel_index: dict[str, int] = {}
    rel_names: list[str] = []
    triples = set()
    for kg in graphs:
        ids = [kg.node_id(i) for i in range(kg.num_nodes)]
        for i, node in enumerate(ids):
            entry = nodes.setdefault(node, {"names": [], "types": [], "desc": "", "attrs": {}})
            entry["names"] += [a for a in kg.aliases(i) if a not in entry["names"]]
            entry["types"] += [t for t in kg.types(i) if t not in entry["types"]]
            entry["desc"] = entry["desc"] or kg.description(i)
            for k, vs in kg.attributes(i).items():
                have = entry["attrs"].setdefault(k, [])
                have += [v for v in vs if v not in have]
        local = []
        for rid, name in zip(kg.relation_ids, kg.relation_names):
            if rid not in rel_index:
                rel_index[rid] = len(rel_names)
                rel_names.append(name)
            local.append(rel_index[rid])
        for s, d, r in zip(kg.src.tolist(), kg.dst.tolist(), kg.rel.tolist()):
            triples.add((ids[s], local[r], ids[d]))
    order = sorted(nodes)
    pos = {n: i for i, n in enumerate(order)}
    src, rel, dst = zip(*((pos[s], r, pos[d]) for s, r, d in triples))
    entries = [nodes[n] for n in order]
    return KnowledgeGraph.from_arrays(
        order, np.array(src), np.array(dst), np.array(rel), rel_names,
        aliases=[e["names"] for e in entries], types=[e["types"] for e in entries],
        descriptions=[e["desc"] for e in entries], attributes=[e["attrs"] for e in entries],
        relation_ids=list(rel_index))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT)] + sys.argv[1:])
    results = {"command": command, "cwd": str(ROOT), "python": platform.python_version(), "numpy": np.__version__,
               "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    (fb, wn), load_s, _ = timed(lambda: (fb15k237(), wordnet()))
    results["inputs"] = {name: {"nodes": kg.num_nodes, "edges": kg.num_edges, "relations": kg.num_relations,
                                "fingerprint": kg.fingerprint} for name, kg in (("fb15k237", fb), ("wordnet", wn))}
    results["inputs_load_s"] = load_s
    KnowledgeGraph.union([fb, wn])  # warm the memory-mapped pages of both inputs

    walls, cpus = [], []
    for _ in range(args.repeats):
        u, w, c = timed(lambda: KnowledgeGraph.union([fb, wn]))
        walls.append(w)
        cpus.append(c)
        print(f"union {w:.2f}s wall ({c:.2f}s cpu): {u}", flush=True)
    base_walls = []
    for _ in range(args.baseline_repeats):
        b, w, _ = timed(lambda: python_union([fb, wn]))
        base_walls.append(w)
        print(f"python baseline {w:.2f}s wall: {b}", flush=True)
    assert b.fingerprint == u.fingerprint, "the baseline and union disagree"
    self_walls = []
    for _ in range(args.repeats):
        s, w, _ = timed(lambda: KnowledgeGraph.union([wn, wn]))
        self_walls.append(w)
    assert s.fingerprint == wn.fingerprint
    results["union"] = {"nodes": u.num_nodes, "edges": u.num_edges, "relations": u.num_relations,
                        "fingerprint": u.fingerprint, "nodes_merged": u.metadata["nodes_merged"],
                        "edges_merged": u.metadata["edges_merged"], "counts_add_up":
                        (u.num_nodes, u.num_edges) == (fb.num_nodes + wn.num_nodes, fb.num_edges + wn.num_edges),
                        "wall_s_median": statistics.median(walls), "wall_s_all": walls,
                        "cpu_s_median": statistics.median(cpus)}
    results["python_baseline"] = {"wall_s_median": statistics.median(base_walls), "wall_s_all": base_walls,
                                  "same_fingerprint_as_union": True}
    results["speedup_vs_python_baseline"] = statistics.median(base_walls) / statistics.median(walls)
    results["wordnet_with_itself"] = {"wall_s_median": statistics.median(self_walls), "wall_s_all": self_walls,
                                      "nodes_merged": s.metadata["nodes_merged"],
                                      "same_fingerprint_as_wordnet": True}
    results["loadavg_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "graph_union.json").write_text(json.dumps(results, indent=1))
    print(f"union median {results['union']['wall_s_median']:.2f}s, python baseline "
          f"{results['python_baseline']['wall_s_median']:.2f}s "
          f"({results['speedup_vs_python_baseline']:.1f}x); -> {args.out / 'graph_union.json'}")


if __name__ == "__main__":
    main()
