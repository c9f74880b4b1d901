"""The linker's spelling rules (kgattn.linking.rules) on the numbers of ``benchmarks/linking.py``:
TREC + WordNet coverage, the hand-checked disambiguation set, and CoNLL-2003 span agreement with
FB15k-237 (and FB15k-237 + WordNet), each with every rule off (the linker before the rules) and
with the defaults (all on), in one process. The linkers are built as ``benchmarks/linking.py``
builds them (no spaCy NER; static context encoder).

The rules act before scoring (on spans and candidate lists), so coverage is measured in prior
mode only. Context mode was started and stopped, not measured: on all TREC questions it first
encodes the WordNet candidate nodes missing from this machine's node-encoding cache (more than
20 minutes on the shared, loaded 2-CPU machine), and even the 104-sentence set ran over 10 minutes.

    OMP_NUM_THREADS=1 KGATTN_DATA=../shared/data .venv/bin/python \\
        benchmarks/experiments/linking_rules_regression.py benchmarks/results/experiments/linking_rules_regression.json
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kgattn.datasets.conll import conll_mentions, read_conll
from kgattn.datasets.fb15k237 import fb15k237
from kgattn.datasets.trec import read_trec
from kgattn.datasets.wordnet import wordnet
from kgattn.linking import EntityLinker, MentionRules
from kgattn.linking.wordnet_prior import WORDNET_PRIOR, wordnet_alias_counts
from kgattn.paths import data_dir
from kgattn.persistence import write_json

ROOT = Path(__file__).resolve().parents[2]
RULES = {"rules_off": MentionRules.off(), "rules_default": MentionRules()}


def main() -> int:
    wn, fb = wordnet(), fb15k237()
    counts = wordnet_alias_counts(wn)

    def linker(graph: str, mode: str, rules: MentionRules) -> EntityLinker:
        if graph == "wordnet":
            return EntityLinker(wn, disambiguate=mode, context="static", alias_counts=counts, prior=WORDNET_PRIOR,
                                rules=rules)
        return EntityLinker(fb, disambiguate=mode, context="static", rules=rules)

    out: dict = {"trec_wordnet": {}, "disambiguation": {}, "conll_test": {}}
    # TREC, every question (train + test), WordNet: coverage as in benchmarks/linking.py.
    qs = [q.text for f in ("train_5500.label", "TREC_10.label") for q in read_trec(data_dir() / "trec" / f)]
    for mode in ("prior",):
        linked = {}
        for name, rules in RULES.items():
            lk = linker("wordnet", mode, rules)
            lk.warm_up(qs)
            t = time.perf_counter()
            res = list(lk.link_batch(qs, batch_size=256))
            seconds = time.perf_counter() - t
            linked[name] = [{(m.start, m.end, m.node) for m in ms if m.node is not None} for ms in res]
            out["trec_wordnet"][f"{mode}/{name}"] = {
                "questions": len(qs), "seconds": round(seconds, 2),
                "coverage": round(sum(any(m.node is not None for m in ms) for ms in res) / len(qs), 4),
                "mentions_per_question": round(sum(len(ms) for ms in res) / len(qs), 4),
                "linked_per_question": round(sum(sum(m.node is not None for m in ms) for ms in res) / len(qs), 4)}
        diff = [i for i, (a, b) in enumerate(zip(linked["rules_off"], linked["rules_default"])) if a != b]
        out["trec_wordnet"][f"{mode}/questions_whose_links_changed"] = len(diff)
        out["trec_wordnet"][f"{mode}/changed_examples"] = [
            {"question": qs[i], "lost": sorted(f"{qs[i][s:e]} -> {wn.node_id(n)}" for s, e, n in
                                                 linked["rules_off"][i] - linked["rules_default"][i]),
             "gained": sorted(f"{qs[i][s:e]} -> {wn.node_id(n)}" for s, e, n in
                              linked["rules_default"][i] - linked["rules_off"][i])} for i in diff]
        print(mode, {k: v for k, v in out["trec_wordnet"].items() if k.startswith(mode) and "examples" not in k})
    # The hand-checked disambiguation set (benchmarks/data/disambiguation.jsonl).
    rows = [json.loads(line) for line in (ROOT / "benchmarks/data/disambiguation.jsonl").read_text().splitlines() if line]
    graphs = {"wordnet": wn, "fb15k-237": fb}
    for mode in ("prior",):
        for name, rules in RULES.items():
            lks = {"wordnet": linker("wordnet", mode, rules), "fb15k-237": linker("fb", mode, rules)}
            right = {"wordnet": 0, "fb15k-237": 0}
            for row in rows:
                kg = graphs[row["kg"]]
                hit = [m for m in lks[row["kg"]].link(row["text"]) if m.start == row["start"] and m.end == row["end"]]
                right[row["kg"]] += bool(hit) and hit[0].node == kg.node_index(row["gold"])
            n = {g: sum(r["kg"] == g for r in rows) for g in graphs}
            out["disambiguation"][f"{mode}/{name}"] = {
                "all": round(sum(right.values()) / len(rows), 4), **{g: round(right[g] / n[g], 4) for g in graphs},
                "n": {"all": len(rows), **n}}
            print("disamb", mode, name, out["disambiguation"][f"{mode}/{name}"])
    # CoNLL-2003 test: span agreement with the gold mentions (exact, overlapping), as benchmarks/linking.py.
    sents = read_conll(data_dir() / "conll2003" / "test.txt")
    texts = [s.text for s in sents]
    gold = [conll_mentions([s]) for s in sents]
    n_gold = sum(len(g) for g in gold)
    for config, parts in {"fb15k237_prior": [("fb", "prior")],
                          "fb15k237+wordnet_prior": [("fb", "prior"), ("wordnet", "prior")]}.items():
        for name, rules in RULES.items():
            per_graph = []
            for graph, mode in parts:
                lk = linker(graph, mode, rules)
                lk.warm_up(texts)
                per_graph.append(list(lk.link_batch(texts, batch_size=256)))
            exact = overlap = links = 0
            for i, g in enumerate(gold):
                found = []
                for res in per_graph:  # union: a later graph adds links where no earlier one linked
                    for m in res[i]:
                        if m.node is not None and not any(m.start < e and s < m.end for s, e in found):
                            found.append((m.start, m.end))
                links += len(found)
                exact += sum(any(s == gm.start and e == gm.end for s, e in found) for gm in g)
                overlap += sum(any(s < gm.end and gm.start < e for s, e in found) for gm in g)
            out["conll_test"][f"{config}/{name}"] = {"gold_mentions": n_gold, "links": links,
                                                     "exact_span": round(exact / n_gold, 4),
                                                     "overlapping_span": round(overlap / n_gold, 4)}
            print("conll", config, name, out["conll_test"][f"{config}/{name}"])
    write_json(Path(sys.argv[1]), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
