r"""The alias table of a knowledge graph: match keys, candidate nodes with priors, a matcher.

Every name of every node becomes a *key*: its normalised pieces joined by spaces (see
:mod:`kgattn.linking.text`). A key holds the nodes it names, each with a prior

.. math::
    p(v \mid a) = \mathrm{softmax}_{v \in C(a)}\big(\alpha \log(1 + n_{a,v})
                  + \beta \log(1 + \deg v) + \gamma\,[a \text{ is the label of } v]\big)

where :math:`n_{a,v}` is how often alias :math:`a` names node :math:`v` when counts are given
(e.g. WordNet's sense-tagged frequencies), :math:`\deg v` the node degree, and the last term
prefers nodes whose *main* name the alias is.

Mention detection is Aho-Corasick (pyahocorasick) over the normalised pieces joined by spaces,
with every key stored as ``" key "``: matches are token-aligned by construction, one pass is
linear in the text length, and the longest match wins. Measured against spaCy's ``PhraseMatcher`` in
``benchmarks/linking.py`` (see ``benchmarks/results/linking.md``).
:class:`~kgattn.linking.alias_index.DiskAliasIndex` holds the same table memory-mapped on disk and
matches through a trie instead of the automaton (``EntityLinker(index="disk")``), with identical
results.

Keys that are too short, have no letter, or consist only of stop words are kept for exact
look-ups (NER spans) but never matched free in text.

A table is built once per graph and options and cached on disk (``$KGATTN_CACHE/alias_tables``)
keyed by the graph fingerprint, so building a linker over WordNet again costs a file read.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import ahocorasick
import numpy as np
from safetensors.numpy import load_file, save_file

from kgattn.errors import ConfigError, FingerprintMismatchError, SavedFileError
from kgattn.linking.text import split_normalized
from kgattn.paths import cache_dir
from kgattn.persistence import atomic_path, read_manifest, reading, write_manifest

TABLE_KIND = "kgattn-alias-table"
TABLE_FORMAT = 1


def default_stop_words() -> frozenset[str]:
    """spaCy's English stop words (casefolded)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(w.casefold() for w in STOP_WORDS)


@dataclass(frozen=True)
class PriorWeights:
    """Weights of the alias prior: ``count`` (log alias-node count), ``degree`` (log degree),
    ``label`` (alias is the node's label)."""

    count: float = 1.0
    degree: float = 0.5
    label: float = 1.0


@dataclass(frozen=True)
class TableOptions:
    """What goes into the table. ``min_length``: fewest characters (spaces excluded) of a key
    matched free in text; ``max_pieces``: longest key, in pieces, matched free in text."""

    min_length: int = 2
    max_pieces: int = 16
    stop_words_hash: str = ""
    counts_hash: str = ""
    prior: PriorWeights = PriorWeights()


def _hash_strings(items: Iterable[str]) -> str:
    h = hashlib.sha256()
    for s in items:
        h.update(s.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


class MatchableKeys:
    """``test(key)``: whether a key is matched free in text. Not when it has more than
    ``max_pieces`` pieces or fewer than ``min_length`` characters (spaces excluded), nor when no
    piece has a letter, nor when every piece is a stop word or punctuation (those carry no name on
    their own). A key whose first piece is all letters and not a stop word passes at once; the
    other keys ask per piece, memoised (one instance per table or per block of a disk build)."""

    def __init__(self, options: TableOptions, stop: frozenset[str]):
        self.options, self.stop = options, stop
        self.seen: dict[str, tuple[bool, bool]] = {}  # piece -> (has a letter, can carry a name)

    def _facts(self, piece: str) -> tuple[bool, bool]:
        facts = self.seen[piece] = (any(c.isalpha() for c in piece),
                                    piece not in self.stop and any(c.isalnum() for c in piece))
        return facts

    def __call__(self, key: str) -> bool:
        n = key.count(" ") + 1
        if n > self.options.max_pieces or len(key) - n + 1 < self.options.min_length:
            return False
        first = key.split(" ", 1)[0]
        if first.isalpha() and first not in self.stop:
            return True
        seen = self.seen
        facts = [seen.get(p) or self._facts(p) for p in key.split(" ")]
        return any(f[0] for f in facts) and any(f[1] for f in facts)


def prior_arrays(pairs: dict[str, np.ndarray], num_keys: int, degree, w: PriorWeights) -> dict:
    """``ptr``, ``nodes``, ``prior``, ``cased`` of a table from its ``(key, node)`` pairs and the
    graph's node degrees (``kg.degree``: a tensor or an array).

    ``pairs``: ``key`` and ``node`` int [P], ``label`` and ``cased`` bool [P], optional ``count``
    float64 [P] (absent: every count 0). Repeated ``(key, node)`` pairs merge (label and cased OR'd);
    the prior is the softmax of the module docstring's logit within each key (every key must have
    a pair); candidates come best first, ties by node index, so the order is deterministic.
    """
    degree = np.asarray(degree, dtype=np.float64)
    key, node = pairs["key"].astype(np.int64), pairs["node"].astype(np.int64)
    span = int(node.max()) + 1 if node.size else 1
    if node.size and (int(key.max()) + 1) * span < 2**62:
        order = np.argsort(key * span + node)  # one int64 sort, ~3x faster than lexsort (repeats merge below)
    else:
        order = np.lexsort((node, key))
    key, node = key[order], node[order]
    new = np.ones(len(key), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (node[1:] != node[:-1])
    starts = np.flatnonzero(new)
    is_label = np.maximum.reduceat(pairs["label"][order], starts) if len(starts) else np.zeros(0, bool)
    cased = np.maximum.reduceat(pairs["cased"][order], starts) if len(starts) else np.zeros(0, bool)
    key, node = key[starts], node[starts]
    # Without counts their term would be w.count * log1p(0) = 0.0 for every pair: no bit changes.
    if "count" in pairs:
        logit = w.count * np.log1p(pairs["count"][order][starts]) + w.degree * np.log1p(degree[node]) + w.label * is_label
    else:
        logit = w.degree * np.log1p(degree[node]) + w.label * is_label
    ptr = np.zeros(num_keys + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=num_keys), out=ptr[1:])
    seg_max = np.maximum.reduceat(logit, ptr[:-1]) if len(key) else logit  # a numerically stable softmax
    e = np.exp(logit - np.repeat(seg_max, np.diff(ptr)))
    seg_sum = np.add.reduceat(e, ptr[:-1]) if len(key) else e
    prior = (e / np.repeat(seg_sum, np.diff(ptr))).astype(np.float32)
    # Best first within each key: only keys with several candidates need sorting (most have one).
    order = np.arange(len(key))
    rows = np.flatnonzero(np.repeat(np.diff(ptr) > 1, np.diff(ptr)))
    order[rows] = rows[np.lexsort((node[rows], -prior[rows], key[rows]))]
    return {"ptr": ptr, "nodes": node[order], "prior": prior[order], "cased": cased[order]}


class AliasTable:
    """Keys, candidates and the matcher of one graph (build with :meth:`build` or :meth:`load`).

    Arrays (``K`` keys, ``P`` key-node pairs, pairs of a key sorted by prior, best first)::

        ptr      int64   [K+1]  pairs of key k are ptr[k]:ptr[k+1]
        nodes    int64   [P]    candidate node indices
        prior    float32 [P]    p(node | key), sums to 1 per key
        cased    bool    [P]    the node's name behind this key starts with an upper-case letter
        matchable bool   [K]    key is matched free in text (length / stop-word filters)
    """

    def __init__(self, keys: list[str], ptr: np.ndarray, nodes: np.ndarray, prior: np.ndarray,
                 cased: np.ndarray, matchable: np.ndarray, fingerprint: str, options: TableOptions):
        self.keys = keys
        self.ptr, self.nodes, self.prior, self.cased, self.matchable = ptr, nodes, prior, cased, matchable
        self.fingerprint = fingerprint
        self.options = options
        self.key_index = {k: i for i, k in enumerate(keys)}
        # Per key: characters from its first piece to the closing space (exclusive), and pieces.
        self._key_chars = [len(k) for k in keys]
        self._key_pieces = [k.count(" ") + 1 for k in keys]
        self._automaton = None
        self._cands: dict[int, tuple] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, kg, *, min_length: int = 2, max_pieces: int = 16, stop_words: Iterable[str] | None = None,
              counts: Mapping[str, Mapping[int, float]] | None = None, prior: PriorWeights | None = None,
              cache: bool = True) -> "AliasTable":
        """The table of ``kg``, read from the disk cache when an identical one was built before.

        Args:
            kg: a :class:`kgattn.KnowledgeGraph`.
            min_length, max_pieces: see :class:`TableOptions`.
            stop_words: keys made only of these words are not matched free (default: spaCy's).
            counts: optional ``alias -> {node: count}``, how often an alias names a node (aliases
                are normalised here); unknown node indices raise ConfigError naming the alias.
            prior: the prior weights.
            cache: read/write the on-disk cache.
        """
        options, stop, counts_norm, key = cls.plan(kg, min_length=min_length, max_pieces=max_pieces,
                                                   stop_words=stop_words, counts=counts, prior=prior)
        if cache:
            directory = cache_dir("alias_tables", key)
            if (directory / "table.json").is_file():
                try:
                    return cls.load(directory, kg)
                except SavedFileError:
                    pass  # a damaged cache entry (ours, not the user's) is built again below
        table = cls._build(kg, options, stop, counts_norm)
        if cache:
            table.save(cache_dir("alias_tables", key))
        return table

    @staticmethod
    def plan(kg, *, min_length: int = 2, max_pieces: int = 16, stop_words: Iterable[str] | None = None,
             counts: Mapping[str, Mapping[int, float]] | None = None, prior: PriorWeights | None = None):
        """``(options, stop words, normalised counts, cache key)`` of a table (see :meth:`build`)."""
        stop = frozenset(s.casefold() for s in (default_stop_words() if stop_words is None else stop_words))
        prior = prior or PriorWeights()
        counts_norm: dict[str, dict[int, float]] = {}
        if counts:
            for alias, per_node in counts.items():
                key = " ".join(split_normalized(alias))
                slot = counts_norm.setdefault(key, {})
                for node, c in per_node.items():
                    node = int(node)
                    if not 0 <= node < kg.num_nodes:
                        raise ConfigError(f"counts[{alias!r}] names node {node}, outside [0, {kg.num_nodes})")
                    slot[node] = slot.get(node, 0.0) + float(c)
        counts_hash = _hash_strings(f"{k}\t{n}\t{c!r}" for k in sorted(counts_norm)
                                    for n, c in sorted(counts_norm[k].items())) if counts_norm else ""
        options = TableOptions(min_length, max_pieces, _hash_strings(sorted(stop)), counts_hash, prior)
        key = hashlib.sha256(json.dumps([TABLE_FORMAT, kg.fingerprint, asdict(options)],
                                        sort_keys=True).encode()).hexdigest()[:24]
        return options, stop, counts_norm, key

    @classmethod
    def _build(cls, kg, options: TableOptions, stop: frozenset[str],
               counts: dict[str, dict[int, float]]) -> "AliasTable":
        # One pass over every name of every node: (key, node) pairs, with whether the name is
        # the label and whether it is written with a capital (kept for the case feature).
        pair_label: dict[tuple[str, int], bool] = {}
        pair_cased: dict[tuple[str, int], bool] = {}
        key_of: dict[str, str] = {}
        for node in range(kg.num_nodes):
            for j, name in enumerate(kg.aliases(node)):
                k = key_of.get(name)
                if k is None:
                    k = key_of[name] = " ".join(split_normalized(name))
                if not k:
                    continue
                pk = (k, node)
                pair_label[pk] = pair_label.get(pk, False) or j == 0
                pair_cased[pk] = pair_cased.get(pk, False) or name[:1].isupper()
        keys = sorted({k for k, _ in pair_label})
        kid = {k: i for i, k in enumerate(keys)}
        P = len(pair_label)
        pairs = {"key": np.empty(P, dtype=np.int64), "node": np.empty(P, dtype=np.int64),
                 "label": np.empty(P, dtype=bool), "cased": np.empty(P, dtype=bool)}
        if counts:
            pairs["count"] = np.zeros(P, dtype=np.float64)
        for p, ((k, node), lab) in enumerate(pair_label.items()):
            pairs["key"][p], pairs["node"][p], pairs["label"][p], pairs["cased"][p] = kid[k], node, lab, pair_cased[(k, node)]
            c = counts.get(k)
            if c:
                pairs["count"][p] = c.get(node, 0.0)
        arrays = prior_arrays(pairs, len(keys), kg.degree, options.prior)
        ptr, nodes, prior, cased = arrays["ptr"], arrays["nodes"], arrays["prior"], arrays["cased"]
        matchable = np.fromiter(map(MatchableKeys(options, stop), keys), dtype=bool, count=len(keys))
        return cls(keys, ptr, nodes, prior, cased, matchable, kg.fingerprint, options)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """``arrays.safetensors``, then the manifest ``table.json`` (kind ``kgattn-alias-table``:
        keys, options, fingerprint), both written atomically; the manifest last, so a torn save
        is never read as a table."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with atomic_path(d / "arrays.safetensors") as tmp:
            save_file({"ptr": self.ptr, "nodes": self.nodes, "prior": self.prior,
                       "cased": self.cased, "matchable": self.matchable}, str(tmp))
        write_manifest(d / "table.json", TABLE_KIND, TABLE_FORMAT, kg_fingerprint=self.fingerprint,
                       options=asdict(self.options), keys=self.keys)
        return d

    @classmethod
    def load(cls, directory: str | Path, kg=None) -> "AliasTable":
        """Read a table written by :meth:`save` (also the format before :mod:`kgattn.persistence`).

        Raises:
            SavedFileError: a missing or damaged manifest or arrays file (names the file).
            FingerprintMismatchError: ``kg`` is not the graph the table was built from.
        """
        d = Path(directory)
        path = d / "table.json"
        meta = read_manifest(path, TABLE_KIND, TABLE_FORMAT)
        if kg is not None and meta.get("kg_fingerprint") != kg.fingerprint:
            raise FingerprintMismatchError(
                f"{path}: alias table of graph {str(meta.get('kg_fingerprint'))[:16]}, given graph {kg.fingerprint[:16]}")
        arrays = d / "arrays.safetensors"
        with reading(arrays, "alias table arrays"):
            a = load_file(str(arrays))
            missing = {"ptr", "nodes", "prior", "cased", "matchable"} - set(a)
            if missing:
                raise SavedFileError(f"alias table arrays lack {sorted(missing)}; the file is damaged", arrays)
        try:
            opts = dict(meta["options"])
            opts["prior"] = PriorWeights(**opts["prior"])
            options = TableOptions(**opts)
            keys = meta["keys"]
        except (KeyError, TypeError) as exc:
            raise SavedFileError(f"alias table manifest lacks or garbles {exc}; the file is damaged", path) from None
        if len(keys) + 1 != len(a["ptr"]) or len(a["matchable"]) != len(keys):
            raise SavedFileError(f"{len(keys)} keys but arrays for {len(a['ptr']) - 1}; the files do not belong "
                                 "together", arrays)
        return cls(keys, a["ptr"], a["nodes"], a["prior"], a["cased"], a["matchable"],
                   meta["kg_fingerprint"], options)

    # ------------------------------------------------------------------ look-ups
    @property
    def num_keys(self) -> int:
        return len(self.keys)

    def prepare(self) -> "AliasTable":
        """Build the matcher now (what the first :meth:`find` would do)."""
        self.automaton
        return self

    @property
    def automaton(self):
        """Aho-Corasick automaton over ``" " + key + " "`` strings (built on first use, ~0.5 s for WordNet)."""
        if self._automaton is None:
            a = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
            keys = self.keys
            for k in np.flatnonzero(self.matchable).tolist():
                a.add_word(f" {keys[k]} ", k)
            a.make_automaton()
            self._automaton = a
        return self._automaton

    def find(self, pieces: Sequence[str]) -> list[tuple[int, int, int]]:
        """All matches ``(first piece, stop piece, key)`` of matchable keys in a piece sequence.

        The pieces are joined as ``" p0 p1 ... "`` and keys are stored as ``" key "``, so every
        match starts and ends on piece boundaries (pieces never contain spaces).
        """
        if not pieces:
            return []
        start_of: dict[int, int] = {}
        pos = 1
        for i, p in enumerate(pieces):
            start_of[pos] = i
            pos += len(p) + 1
        key_chars, key_pieces = self._key_chars, self._key_pieces
        out = []
        for end, k in self.automaton.iter(" " + " ".join(pieces) + " "):
            first = start_of[end - key_chars[k]]
            out.append((first, first + key_pieces[k], k))
        return out

    def lookup(self, pieces: Iterable[str]) -> int | None:
        """Key index of an exact piece sequence (any key, matchable or not), or None."""
        return self.key_index.get(" ".join(pieces))

    def candidates(self, key: int, top_k: int) -> tuple[tuple[int, float, bool], ...]:
        """Up to ``top_k`` ``(node, prior, cased)`` of a key, best prior first (memoised)."""
        hit = self._cands.get((key, top_k))
        if hit is None:
            a = int(self.ptr[key])
            b = min(int(self.ptr[key + 1]), a + top_k)
            hit = tuple(zip(self.nodes[a:b].tolist(), self.prior[a:b].tolist(), self.cased[a:b].tolist()))
            self._cands[(key, top_k)] = hit
        return hit

    def vocabulary(self) -> set[str]:
        """All pieces of all keys (the lemmatiser keeps a form only when it is here)."""
        return {p for k in self.keys for p in k.split(" ")}

