"""Precision and coverage of the WordNet linker as the NIL threshold rises, with and without the
nouns-only candidate filter, on the WordNet sentences of benchmarks/data/disambiguation.jsonl
(odd ids: the half the score weights were tuned on, where a threshold may be chosen; even ids:
held out). The linker is the one the TREC experiment specs build (context disambiguation,
static context encoder, MiniLM node encodings).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/experiments/linking_threshold.py \
        runs/trec_500_baselines-2dd4b63abbc0/kg/graph \
        --out benchmarks/results/experiments/linking_threshold.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kgattn.graph import KnowledgeGraph
from kgattn.linking import EntityLinker

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = [0.2, 0.6, 0.8, 1.0, 1.1, 1.2, 1.3, 1.4, 1.6]


def gold_span_scores(linker: EntityLinker, rows: list[dict], kg) -> list[tuple[float | None, bool]]:
    """Per row: the top score of the mention at the gold span (None: no such mention) and
    whether its best candidate is the gold node."""
    out = []
    for row, mentions in zip(rows, linker.link_batch([r["text"] for r in rows])):
        hit = [m for m in mentions if m.start == row["start"] and m.end == row["end"] and m.candidates]
        if not hit:
            out.append((None, False))
            continue
        best = hit[0].candidates[0]
        out.append((float(best.score), kg.node_id(best.node) == row["gold"]))
    return out


def curve(scored: list[tuple[float | None, bool]]) -> list[dict]:
    n = len(scored)
    rows = []
    for th in THRESHOLDS:
        kept = [ok for s, ok in scored if s is not None and s >= th]
        rows.append({"threshold": th, "coverage": len(kept) / n, "precision": sum(kept) / len(kept) if kept else None,
                     "correct_links": sum(kept), "n": n})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("graph", type=Path, help="a saved WordNet KnowledgeGraph directory")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    kg = KnowledgeGraph.load(args.graph)
    rows = [json.loads(line) for line in
            (ROOT / "benchmarks/data/disambiguation.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r["kg"] == "wordnet"]
    result = {"sentences": len(rows), "command": " ".join(["benchmarks/experiments/linking_threshold.py", *(argv or sys.argv[1:])]),
              "filters": {}}
    for name, types in (("all_nodes", None), ("nouns_only", ["noun."])):
        linker = EntityLinker(kg, disambiguate="context", node_types=types)
        scored = gold_span_scores(linker, rows, kg)
        result["filters"][name] = {
            half: curve([s for s, r in zip(scored, rows) if r["id"] % 2 == parity])
            for half, parity in (("tuning_odd_ids", 1), ("held_out_even_ids", 0))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    for name, halves in result["filters"].items():
        for half, rows_ in halves.items():
            print(name, half)
            for r in rows_:
                p = "-" if r["precision"] is None else f"{r['precision']:.3f}"
                print(f"  th {r['threshold']:.1f}  coverage {r['coverage']:.3f}  precision {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
