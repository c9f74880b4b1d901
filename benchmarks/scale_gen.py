"""A synthetic, Wikidata-shaped knowledge graph dump (N-Triples, gzip), streamed to disk.

Shape (``E = edges // 10`` entities, as Wikidata has ~10 statements per item):

* entities ``wd:Q<i>``; each has an ``rdfs:label`` (``@en``), 0-3 ``skos:altLabel`` aliases
  (probabilities 0.1/0.2/0.3/0.4, mean 2 aliases per entity), a ``schema:description`` for a
  fraction (default 0.4) and 1-2 ``rdf:type`` classes out of ~500 (Zipf-distributed);
* ~1,000 relation types ``wdt:P<k>``, each named by an ``rdfs:label`` triple (schema: it names
  the relation and adds no edge); relation frequencies are Zipf-distributed (exponent 1.1);
* out-degrees: a Pareto weight per entity (shape 1.5), edges of a block of entities shared
  multinomially by those weights; in-degrees: Zipf-like, ``P(rank r) \u221d r^-0.9`` over a
  fixed pseudo-random permutation of the entities, so hubs are scattered over ids;
* no duplicate triple and no self-loop, so every reader sees exactly ``edges`` edges.

These predicates are the ones :mod:`kgattn.graph.rdf` reads: ``rdfs:label`` ranks before
``skos:altLabel`` (so the label is the label and the alt labels are the aliases),
``schema:description`` is a description predicate and ``rdf:type`` objects are node types.

Memory is bounded: entities are produced in blocks of ``block`` (default 50,000) and nothing
grows with the number of edges or entities except the output file. With ``tsv=True`` the same
graph is also written as ``triples.tsv.gz`` (head, relation IRI, tail) + ``names.tsv.gz``
(id, label) + ``relations.tsv.gz`` (relation IRI, name) for :meth:`KnowledgeGraph.from_triples` (which reads labels only: no aliases,
descriptions or types).

Usage: ``python benchmarks/scale_gen.py --edges 200000 --out DIR [--seed 0] [--tsv]``
"""
from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

WD = "http://www.wikidata.org/entity/Q"
WDT = "http://www.wikidata.org/prop/direct/P"
CLASS = "http://kgattn.example/scale/class/"
RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ALT_LABEL = "<http://www.w3.org/2004/02/skos/core#altLabel>"
DESCRIPTION = "<http://schema.org/description>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"

ONSETS = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
          "br", "dr", "gr", "kr", "tr", "st", "sh", "ch", "th", "bl", "kl", "pl", ""]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia", "y"]
CODAS = ["", "", "", "", "n", "r", "l", "s", "m", "k", "th", "nd"]
ALIAS_P = (0.1, 0.2, 0.3, 0.4)
DESCRIPTION_FORMS = ("{cls} in {place}", "{cls} of {place}", "{cls} founded by {person}",
                     "{cls} near {place}", "{cls} named after {person}")


class NameGenerator:
    """Pronounceable words from onset-vowel-coda syllables (28*10*12 = 3,360 syllables)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def words(self, n: int, min_syl: int = 2, max_syl: int = 3) -> list[str]:
        syl = self.rng.integers(min_syl, max_syl + 1, size=n)
        total = int(syl.sum())
        on = self.rng.integers(0, len(ONSETS), total)
        vo = self.rng.integers(0, len(VOWELS), total)
        co = self.rng.integers(0, len(CODAS), total)
        parts = [ONSETS[a] + VOWELS[b] + CODAS[c] for a, b, c in zip(on.tolist(), vo.tolist(), co.tolist())]
        out, k = [], 0
        for s in syl.tolist():
            out.append("".join(parts[k:k + s]).capitalize())
            k += s
        return out

    def names(self, n: int) -> list[str]:
        """1-3 words (probabilities 0.35/0.5/0.15), like place, person and work titles."""
        n_words = self.rng.choice([1, 2, 3], size=n, p=[0.35, 0.5, 0.15])
        pool = self.words(int(n_words.sum()))
        out, k = [], 0
        for w in n_words.tolist():
            out.append(" ".join(pool[k:k + w]))
            k += w
        return out


def zipf_ranks(rng: np.random.Generator, n_items: int, exponent: float, size: int) -> np.ndarray:
    """Ranks in ``[0, n_items)`` with ``P(r) \u221d (r + 1)^-exponent`` (continuous inverse CDF)."""
    u = rng.random(size)
    a = 1.0 - exponent
    if abs(a) < 1e-9:  # exponent 1: the CDF is log(1 + r) / log(1 + n)
        r = (n_items + 1.0) ** u - 1.0
    else:
        r = (u * ((n_items + 1.0) ** a - 1.0) + 1.0) ** (1.0 / a) - 1.0
    return np.minimum(r.astype(np.int64), n_items - 1)


def _coprime_multiplier(n: int) -> int:
    """A multiplier ``a`` with gcd(a, n) = 1 near ``0.618 n``: ``r -> (a r + b) mod n`` is a permutation."""
    a = max(1, int(n * 0.6180339887)) | 1
    while np.gcd(a, n) != 1:
        a += 2
    return a


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@en'


class DumpWriter:
    """Writes the dump block by block; see the module docstring for the shape."""

    def __init__(self, edges: int, out: Path, seed: int = 0, relations: int = 1000, classes: int = 500,
                 description_fraction: float = 0.4, block: int = 50_000, tsv: bool = False):
        if edges < 100:
            raise ValueError("edges must be >= 100")
        self.edges = int(edges)
        self.entities = max(self.edges // 10, 20)
        self.relations, self.classes = relations, classes
        self.description_fraction = description_fraction
        self.block, self.tsv = block, tsv
        self.out = Path(out)
        self.rng = np.random.default_rng(seed)
        self.names = NameGenerator(self.rng)
        self.perm_a = _coprime_multiplier(self.entities)
        self.perm_b = int(self.rng.integers(0, self.entities))
        self.class_names = self.names.words(classes, 2, 3)
        self._rel_used = np.zeros(relations, dtype=bool)
        self.counts = {"entities": self.entities, "edges": 0, "aliases": 0, "descriptions": 0, "types": 0,
                       "relations": relations, "classes": classes, "triples": 0}

    def _tail_ids(self, size: int) -> np.ndarray:
        ranks = zipf_ranks(self.rng, self.entities, 0.9, size)
        return (self.perm_a * ranks + self.perm_b) % self.entities

    def _block_edges(self, lo: int, hi: int, n_edges: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n_edges`` distinct (head, relation, tail) triples with heads in ``[lo, hi)``, sorted by head."""
        weight = self.rng.pareto(1.5, hi - lo) + 1.0
        heads = np.empty(0, np.int64)
        rels = np.empty(0, np.int64)
        tails = np.empty(0, np.int64)
        need = n_edges
        while need > 0:
            k = int(need * 1.05) + 16
            h = lo + self.rng.choice(hi - lo, size=k, p=weight / weight.sum())
            r = zipf_ranks(self.rng, self.relations, 1.1, k)
            t = self._tail_ids(k)
            keep = h != t
            heads = np.concatenate([heads, h[keep]])
            rels = np.concatenate([rels, r[keep]])
            tails = np.concatenate([tails, t[keep]])
            key = (heads * self.relations + rels) * self.entities + tails  # < 2^63 up to 10^8 entities
            _, first = np.unique(key, return_index=True)
            first.sort()
            heads, rels, tails = heads[first], rels[first], tails[first]
            need = n_edges - len(heads)
        pick = np.sort(self.rng.choice(len(heads), size=n_edges, replace=False))
        heads, rels, tails = heads[pick], rels[pick], tails[pick]
        order = np.argsort(heads, kind="stable")
        return heads[order], rels[order], tails[order]

    def _descriptions(self, n: int) -> list[str]:
        forms = self.rng.integers(0, len(DESCRIPTION_FORMS), n).tolist()
        classes = zipf_ranks(self.rng, self.classes, 1.0, n).tolist()
        others = self.names.names(n)
        return [DESCRIPTION_FORMS[f].format(cls=self.class_names[c].lower(), place=o, person=o)
                for f, c, o in zip(forms, classes, others)]

    def _aliases(self, labels: list[str], counts: np.ndarray) -> list[list[str]]:
        """Other names (new words), initials forms (``K. Borava``) and last words of the label."""
        fresh = iter(self.names.names(int(counts.sum())))
        kinds = iter(self.rng.integers(0, 3, int(counts.sum())).tolist())
        out = []
        for label, c in zip(labels, counts.tolist()):
            words = label.split()
            mine: list[str] = []
            for _ in range(c):
                kind = next(kinds)
                name = next(fresh)
                if kind == 1 and len(words) > 1:
                    name = f"{words[0][0]}. {' '.join(words[1:])}"
                elif kind == 2 and len(words) > 1:
                    name = words[-1]
                if name != label and name not in mine:
                    mine.append(name)
            out.append(mine)
        return out

    def write(self, progress: bool = True) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        nt = gzip.open(self.out / "dump.nt.gz", "wt", encoding="utf-8", compresslevel=1)
        tsv = gzip.open(self.out / "triples.tsv.gz", "wt", encoding="utf-8", compresslevel=1) if self.tsv else None
        names = gzip.open(self.out / "names.tsv.gz", "wt", encoding="utf-8", compresslevel=1) if self.tsv else None
        try:
            blocks = range(0, self.entities, self.block)
            done = 0
            for lo in blocks:
                hi = min(lo + self.block, self.entities)
                # edges of this block: its share of the total, the last block takes the rest
                n_edges = (self.edges - done if hi == self.entities
                           else round(self.edges * hi / self.entities) - done)
                done += n_edges
                self._write_block(nt, tsv, names, lo, hi, n_edges)
                if progress:
                    print(f"\r  generated {hi:,}/{self.entities:,} entities, {done:,} edges "
                          f"({time.perf_counter() - t0:.0f} s)", end="", flush=True)
            if progress:
                print()
            # Relation names last, for used relations only: a named but unused predicate would be a node.
            rel_names = [" ".join(w.lower() for w in n.split()) for n in self.names.names(self.relations)]
            used = np.flatnonzero(self._rel_used).tolist()
            nt.write("".join(f"<{WDT}{k}> {RDFS_LABEL} {_lit(rel_names[k])} .\n" for k in used))
            if self.tsv:
                with gzip.open(self.out / "relations.tsv.gz", "wt", encoding="utf-8") as f:
                    f.write("".join(f"{WDT}{k}\t{rel_names[k]}\n" for k in used))
            self.counts["triples"] += len(used)
            self.counts["relations_used"] = len(used)
        finally:
            for f in (nt, tsv, names):
                if f is not None:
                    f.close()
        self.counts["seconds"] = round(time.perf_counter() - t0, 2)
        self.counts["bytes"] = (self.out / "dump.nt.gz").stat().st_size
        (self.out / "counts.json").write_text(json.dumps(self.counts, indent=1))
        return self.counts

    def _write_block(self, nt, tsv, names, lo: int, hi: int, n_edges: int) -> None:
        n = hi - lo
        labels = self.names.names(n)
        alias_counts = self.rng.choice(4, size=n, p=ALIAS_P)
        aliases = self._aliases(labels, alias_counts)
        has_desc = self.rng.random(n) < self.description_fraction
        descriptions = iter(self._descriptions(int(has_desc.sum())))
        n_types = self.rng.choice([1, 2], size=n, p=[0.8, 0.2])
        type_ids = iter(zipf_ranks(self.rng, self.classes, 1.0, int(n_types.sum())).tolist())
        heads, rels, tails = self._block_edges(lo, hi, n_edges)
        self._rel_used[rels] = True
        starts = np.searchsorted(heads, np.arange(lo, hi + 1))
        lines: list[str] = []
        c = self.counts
        for j in range(n):
            s = f"<{WD}{lo + j}>"
            lines.append(f"{s} {RDFS_LABEL} {_lit(labels[j])} .\n")
            for a in aliases[j]:
                lines.append(f"{s} {ALT_LABEL} {_lit(a)} .\n")
            if has_desc[j]:
                lines.append(f"{s} {DESCRIPTION} {_lit(next(descriptions))} .\n")
            for t in sorted({next(type_ids) for _ in range(n_types[j])}):
                lines.append(f"{s} {RDF_TYPE} <{CLASS}{self.class_names[t]}> .\n")
                c["types"] += 1
            a, b = starts[j], starts[j + 1]
            for r, t in zip(rels[a:b].tolist(), tails[a:b].tolist()):
                lines.append(f"{s} <{WDT}{r}> <{WD}{t}> .\n")
            c["aliases"] += len(aliases[j])
        c["descriptions"] += int(has_desc.sum())
        c["edges"] += n_edges
        c["triples"] += len(lines)
        nt.write("".join(lines))
        if tsv is not None:
            tsv.write("".join(f"Q{h}\t{WDT}{r}\tQ{t}\n"
                              for h, r, t in zip(heads.tolist(), rels.tolist(), tails.tolist())))
            names.write("".join(f"Q{lo + j}\t{labels[j]}\n" for j in range(n)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edges", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tsv", action="store_true", help="also write triples.tsv.gz + names.tsv.gz")
    args = p.parse_args(argv)
    print(json.dumps(DumpWriter(args.edges, args.out, seed=args.seed, tsv=args.tsv).write()))


if __name__ == "__main__":
    main()
