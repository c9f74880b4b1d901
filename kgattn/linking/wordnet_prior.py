r"""Alias priors for WordNet: how often a lemma names a synset, from the WordNet database files.

WordNet lists the senses of each lemma in ``index.*`` in decreasing order of their frequency in
sense-tagged text, and ``cntlist.rev`` gives those tag counts. For alias :math:`a` and its
:math:`r`-th sense :math:`v` (1-based) this module gives the count

.. math::
    n_{a,v} = \mathrm{tagcount}(a, v) + 1 / r

(the :math:`1/r` term keeps WordNet's order among senses never seen in tagged text) for
:class:`~kgattn.linking.EntityLinker`'s ``alias_counts``. Synsets are found through the node
ids of :func:`kgattn.datasets.wordnet` (NLTK names ``lemma.pos.NN``).
"""
from __future__ import annotations

from pathlib import Path

from kgattn.errors import GraphFormatError, UnknownNodeError
from kgattn.linking.gazetteer import PriorWeights

#: Alias-prior weights for WordNet: its sense-tagged counts say more than degree or label match
#: (chosen on the odd-numbered sentences of benchmarks/data/disambiguation.jsonl).
WORDNET_PRIOR = PriorWeights(count=0.5, degree=0.0, label=0.0)

_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}  # sense-key digit -> index file


def wordnet_senses(kg, path: str | Path | None = None) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """``(lemma, pos) -> [(node, tag count), ...]`` in WordNet's sense order (``pos`` in n/v/a/r).

    ``lemma`` is as in ``index.*`` (lower case, ``_`` for spaces). Raises
    :class:`~kgattn.errors.GraphFormatError` when ``kg`` does not have the synset ids the
    database implies (not a graph from :func:`kgattn.datasets.wordnet` of these files).
    """
    from kgattn.datasets.wordnet import find_wordnet, read_index

    d = find_wordnet(path)
    index = read_index(d, satellites=False)
    # Node of each (index file, offset), read off the node ids "first.ss.NN".
    node_of: dict[tuple[str, int], int] = {}
    for node in range(kg.num_nodes):
        nid = kg.node_id(node)
        try:
            first, ss, num = nid.rsplit(".", 2)
            pos = "a" if ss == "s" else ss
            node_of[(pos, index[(first, pos)][int(num) - 1])] = node
        except (ValueError, KeyError, IndexError):
            raise GraphFormatError(f"node {node} has id {nid!r}, not a WordNet synset name of {d}") from None
    counts: dict[tuple[str, str, int], float] = {}
    cnt = d / "cntlist.rev"
    if cnt.is_file():
        with open(cnt, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                try:
                    lemma, rest = parts[0].split("%", 1)
                    counts[(lemma, _SS_TYPE[rest[0]], int(parts[1]))] = float(parts[2])
                except (ValueError, KeyError, IndexError):
                    raise GraphFormatError(f"malformed line: {line[:80]!r}", cnt, lineno) from None
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for (lemma, pos), offsets in index.items():
        try:
            out[(lemma, pos)] = [(node_of[(pos, off)], counts.get((lemma, pos, r), 0.0))
                                 for r, off in enumerate(offsets, 1)]
        except KeyError as exc:
            raise UnknownNodeError(f"{d}/index.{_FILES[pos]}: {lemma!r} lists synset offset {exc.args[0][1]} "
                                   "that the graph does not hold") from None
    return out


def wordnet_alias_counts(kg, path: str | Path | None = None) -> dict[str, dict[int, float]]:
    """``alias -> {node: count}`` for :class:`~kgattn.linking.EntityLinker` (see the module docstring)."""
    out: dict[str, dict[int, float]] = {}
    for (lemma, _pos), senses in wordnet_senses(kg, path).items():
        slot = out.setdefault(lemma.replace("_", " "), {})
        for rank, (node, tagged) in enumerate(senses, 1):
            slot[node] = slot.get(node, 0.0) + tagged + 1.0 / rank
    return out
