"""Pseudonymised CoNLL-2003 mention typing: how much ``pseudonymize(mode="mentions")`` replaces.

Corpus: every row of the CoNLL-2003 mention-typing corpus (``kgattn.pipeline.prepare.conll_table``:
one row per gold mention, the mention bracketed in its sentence; train, val and test, 35,089 rows),
pseudonymised in one call so the mapping is shared by the splits. Linker: ``EntityLinker(kg,
disambiguate="prior")`` (the default "context" mode needed ~100 s per 1,000 rows on this shared
CPU while encoding candidate nodes, too slow for 35k rows here). Graphs: FB15k-237, and
FB15k-237 + WordNet united as in ``pipelines/experiments/conll_1000.yaml``.

Reported per graph: link and pseudonymise times; test rows whose bracketed gold mention was
replaced (the slice the issue's targets are about) and all replaced test mentions; distinct
replaced nodes; original surfaces still written in the new test texts ("leaks", with the reason
they survive: a lower-case mention of the entity kept by ``cased_only``, or an occurrence the
linker left unlinked or linked elsewhere); and whether a linker built on the returned graph links every
replaced test span to the same node again.

    OMP_NUM_THREADS=1 KGATTN_DATA=../shared/data .venv/bin/python \
        benchmarks/experiments/conll_pseudonymize.py benchmarks/results/experiments/conll_pseudonymize.json
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from kgattn import EntityLinker, KnowledgeGraph
from kgattn.datasets import fb15k237, wordnet
from kgattn.graph.entities import entity_nodes
from kgattn.evaluation.pseudonymize import pseudonymize_corpus, surface_counts
from kgattn.paths import data_dir
from kgattn.persistence import write_json
from kgattn.pipeline.prepare import conll_table


def measure(name: str, kg: KnowledgeGraph, table) -> dict:
    texts = table.column("text").to_pylist()
    split = table.column("split").to_pylist()
    spans = list(zip(table.column("mention_start").to_pylist(), table.column("mention_end").to_pylist()))
    t0 = time.perf_counter()
    linker = EntityLinker(kg, disambiguate="prior")
    linker.warm_up()
    t1 = time.perf_counter()
    mentions = list(linker.link_batch(texts))
    t2 = time.perf_counter()
    entities = entity_nodes(kg)
    t3 = time.perf_counter()
    out = pseudonymize_corpus(texts, kg, mode="mentions", seed=0, mentions=mentions, entities=entities)
    t4 = time.perf_counter()
    test = [i for i, s in enumerate(split) if s == "test"]
    gold_replaced, replaced_nodes, replaced_test = 0, set(), 0
    gold_linked_entity, gold_whole, partial_examples = 0, 0, []
    for i in test:
        ms = out.mentions[i]
        a, b = spans[i]
        # the bracketed mention's offsets in the new text: shift by the replacements before it
        old = mentions[i]
        under = [k for k, m in enumerate(old) if m.start < b and a < m.end]
        if any(old[k].node is not None and entities[old[k].node] for k in under):
            gold_linked_entity += 1
        if any(k in out.replaced[i] for k in under):
            gold_replaced += 1
            # whole: one replaced mention is exactly the gold span; else only a piece of it was renamed
            if any(k in out.replaced[i] and (old[k].start, old[k].end) == (a, b) for k in under):
                gold_whole += 1
            elif len(partial_examples) < 12:
                partial_examples.append(f"{texts[i][a:b]} -> " + " + ".join(
                    f"{old[k].text} ({kg.label(old[k].node)})" for k in under if k in out.replaced[i]))
        replaced_test += len(out.replaced[i])
        replaced_nodes |= {ms[k].node for k in out.replaced[i]}
    test_surfaces = {s for n in replaced_nodes for s in out.surfaces[n]}
    leaks = surface_counts([out.texts[i] for i in test], test_surfaces)
    # Why each leaked surface survives, from the original links at the same place.
    reasons: Counter = Counter()
    for i in test:
        for m in mentions[i]:
            if m.text in leaks and not any(mentions[i][k] is m for k in out.replaced[i]):
                if m.node is None:
                    reasons["linked NIL"] += 1
                elif not entities[m.node]:
                    reasons["linked to a concept node"] += 1
                elif m.node not in out.names or m.text not in out.surfaces.get(m.node, ()):
                    reasons["linked to another entity"] += 1
    unlinked = sum(leaks.values()) - sum(reasons.values())
    if unlinked:
        reasons["not a linked mention (inside another span or unmatched)"] = unlinked
    # Linking still exact: a linker on the returned graph links each replaced span to its node.
    t5 = time.perf_counter()
    relinker = EntityLinker(out.kg, disambiguate="prior")
    relinked = list(relinker.link_batch([out.texts[i] for i in test]))
    t6 = time.perf_counter()
    same = total = 0
    for i, found in zip(test, relinked):
        at = {(m.start, m.end): m.node for m in found}
        for k in out.replaced[i]:
            m = out.mentions[i][k]
            total += 1
            same += at.get((m.start, m.end)) == m.node
    changed = [i for i in test if out.replaced[i]]
    examples = [{"before": texts[i], "after": out.texts[i]} for i in changed[:400:50]]
    return {
        "graph": name, "nodes": kg.num_nodes, "entity_nodes": int(entities.sum()),
        "rows": len(texts), "test_rows": len(test),
        "seconds": {"linker_build": round(t1 - t0, 2), "link_all_rows": round(t2 - t1, 2),
                    "entity_nodes": round(t3 - t2, 2), "pseudonymize": round(t4 - t3, 2),
                    "relink_test_rows_on_new_graph": round(t6 - t5, 2)},
        "all_splits": out.stats,
        "test": {"rows_whose_gold_mention_links_an_entity": gold_linked_entity,
                 "rows_whose_gold_mention_was_replaced": gold_replaced,
                 "share_of_rows_replaced": round(gold_replaced / len(test), 4),
                 "rows_whose_whole_gold_mention_was_replaced": gold_whole,
                 "partial_replacement_examples": partial_examples,
                 "replaced_mentions": replaced_test, "distinct_replaced_nodes": len(replaced_nodes),
                 "leaked_surface_occurrences": sum(leaks.values()), "leaked_surfaces": len(leaks),
                 "leak_reasons": dict(reasons), "top_leaks": Counter(leaks).most_common(15),
                 "replaced_mentions_relinked_to_the_same_node": same, "replaced_mentions_relinked_of": total},
        "examples": examples,
    }


def main() -> int:
    out = Path(sys.argv[1])
    table = conll_table(data_dir() / "conll2003")
    fb = fb15k237()
    results = [measure("fb15k-237", fb, table)]
    print(json.dumps(results[-1], indent=1)[:3000], flush=True)
    results.append(measure("fb15k-237 + wordnet", KnowledgeGraph.union([fb, wordnet()]), table))
    print(json.dumps(results[-1], indent=1)[:3000], flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"command": "benchmarks/experiments/conll_pseudonymize.py", "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
