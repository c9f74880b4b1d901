r"""Pseudonymised evaluation: entities renamed to invented names the language model cannot know.

A benchmark whose entities a pretrained model already knows ("Clinton", "Reuters") cannot show
what a graph adds. :func:`pseudonymize` rewrites a corpus and its graph so that every linked
mention of an *entity* node (:func:`~kgattn.graph.entities.entity_nodes`) is written with an
invented, pronounceable name instead; only the graph can then tell what the name stands for.

Modes:

* ``"mentions"``: each replaced mention's span becomes the node's invented name, the same name
  for the same node in every text of the call (pass train, validation and test texts in one
  list, so that one mapping covers the splits). The name is added to the node's aliases (after
  its label), so a linker built on the returned graph links it to that node and nothing else.
* ``"entities"``: as ``"mentions"``, and the replaced nodes lose their own names: the invented
  name becomes their only name, and every case-sensitive, word-bounded occurrence of their old
  names (and of the surfaces of their replaced mentions) in *any* node's description or literal
  attribute is replaced by the invented name. Only the relations and descriptions then carry
  what the graph knows about them (the quickstart's regime). Node ids are kept: they are keys,
  never text the model reads.

A mention is replaced when it is linked to an entity node and, with ``cased_only`` (default),
written with an upper-case letter: a lower-case span linked to an entity ("ends" -> End) is a
linking error, not a name to hide. A mention written in capitals (a headline's "JAPAN", an acronym
"FIFA") gets the name in capitals, except an initialism with dots in ordinary text ("U.S." ->
"Velorin"). Concept nodes are never replaced.

Invented names (:class:`NameGenerator`) are two or three syllables (consonant cluster + vowel +
optional coda, e.g. "Velorin", "Brakotum"), a function of ``(seed, node id)`` alone: they
differ between seeds, and for a node they are the same in every call unless a collision forces
a retry. A name is never a word of any of the graph's names (so no existing alias, nor a longer
name containing it, can match it), never a word of the corpus, never another node's name, and
never ends in ``s``, ``ed`` or ``ing`` (so the linker's lemmatiser leaves it whole).

The returned graph is a new :class:`~kgattn.graph.KnowledgeGraph` (same node order and indices,
edges, types and relations; new names) with a new fingerprint, built through public accessors
and :meth:`~kgattn.graph.KnowledgeGraph.from_arrays`; ``metadata["pseudonymized"]`` records
the mode, seed and counts, and the fingerprint of the graph it was made from (a model pretrained
over that graph may be fine-tuned on the pseudonymised copy: ``init_from`` accepts it).
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ahocorasick
import numpy as np

from kgattn.errors import ConfigError, InputTextError
from kgattn.graph.entities import entity_nodes
from kgattn.graph import KnowledgeGraph
from kgattn.linking import Mention

MODES = ("mentions", "entities")
_WORD = re.compile(r"[^\W_]+")
_SINGLE = "b d f g h j k l m n p r s t v z".split()
_CLUSTERS = "br dr fr gr kr pr tr bl fl gl kl pl st sk ch sh th".split()
_VOWELS = "a e i o u a e i o a o ai ei ou".split()
_CODAS = "n r l m".split()
_BAD_ENDINGS = ("s", "ed", "ing")


class NameGenerator:
    """Pronounceable invented names, deterministic for ``(seed, key)``.

    ``forbidden``: casefolded words a name must not be. Names handed out are remembered, so two
    keys never get the same name; a collision or forbidden word draws again (attempt 1, 2, ...).
    """

    def __init__(self, seed: int = 0, forbidden: Iterable[str] = ()):
        self.seed = int(seed)
        self.forbidden = {w.casefold() for w in forbidden}
        self.taken: set[str] = set()

    def _draw(self, key: str, attempt: int) -> str:
        digest = hashlib.sha256(f"{self.seed}\0{key}\0{attempt}".encode("utf-8")).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        n = 2 if rng.random() < 0.6 else 3
        parts, closed = [], False
        for k in range(n):
            # A cluster only opens the name or follows a vowel: no "rpst" runs.
            onset = rng.choice(_CLUSTERS) if not closed and rng.random() < 0.3 else rng.choice(_SINGLE)
            coda = rng.choice(_CODAS) if rng.random() < (0.45 if k == n - 1 else 0.25) else ""
            parts.append(onset + rng.choice(_VOWELS) + coda)
            closed = bool(coda)
        return "".join(parts).capitalize()

    def ok(self, name: str) -> bool:
        low = name.casefold()
        return (len(low) >= 4 and low not in self.forbidden and low not in self.taken
                and not low.endswith(_BAD_ENDINGS))

    def __call__(self, key: str) -> str:
        for attempt in range(1000):
            name = self._draw(key, attempt)
            if self.ok(name):
                self.taken.add(name.casefold())
                return name
        raise RuntimeError(f"no free invented name for {key!r} after 1000 draws")  # pragma: no cover


@dataclass(frozen=True)
class Pseudonymized:
    """The result of :func:`pseudonymize_corpus`.

    ``texts``/``mentions``: the rewritten texts and every mention (replaced or not) with offsets
    into them (``texts[i][m.start:m.end] == m.text``); ``names``: node -> invented name;
    ``surfaces``: node -> the original surfaces of its replaced mentions; ``replaced``: per
    text, the indices (into ``mentions[i]``) of the replaced mentions.
    """

    texts: list[str]
    kg: KnowledgeGraph
    mentions: list[list[Mention]]
    names: dict[int, str]
    surfaces: dict[int, list[str]]
    replaced: list[list[int]]
    mode: str
    seed: int
    stats: dict = field(default_factory=dict)

    def leaks(self) -> dict[str, int]:
        """Original surfaces still written (word-bounded, case-sensitive) in the new texts:
        ``{surface: count}``; non-empty when an entity was mentioned somewhere the linker did
        not link it, or in lower case (``cased_only``)."""
        return surface_counts(self.texts, {s for ss in self.surfaces.values() for s in ss})


def pseudonymize(texts: Sequence[str], kg: KnowledgeGraph, linker=None, mode: str = "mentions", seed: int = 0,
                 mentions: Sequence[Sequence] | None = None) -> tuple[list[str], KnowledgeGraph]:
    """``(texts, kg)`` with the linked entity mentions renamed; see :func:`pseudonymize_corpus`."""
    out = pseudonymize_corpus(texts, kg, linker=linker, mode=mode, seed=seed, mentions=mentions)
    return out.texts, out.kg


def pseudonymize_corpus(texts: Sequence[str], kg: KnowledgeGraph, linker=None, mode: str = "mentions",
                        seed: int = 0, mentions: Sequence[Sequence] | None = None, *, cased_only: bool = True,
                        entities: np.ndarray | None = None) -> Pseudonymized:
    """Rename every linked mention of an entity node with an invented name (module docstring).

    Args:
        texts: every text of the corpus (all splits in one list: one mapping for all).
        kg: the graph the mentions link into.
        linker: links ``texts`` when ``mentions`` is None (default ``EntityLinker(kg)``); must be
            built on ``kg``.
        mode: ``"mentions"`` or ``"entities"``.
        seed: the invented names are a function of ``(seed, node id)``.
        mentions: per text, its mentions (:class:`~kgattn.linking.Mention` or mappings with
            ``start``, ``end``, ``node`` and optionally ``text``), instead of linking.
        cased_only: replace only mentions written with an upper-case letter.
        entities: bool [N] overriding :func:`~kgattn.graph.entities.entity_nodes`.

    Raises:
        ConfigError: unknown mode, a linker of another graph, ``entities`` of the wrong length.
        InputTextError: a text that is not a string, mentions of the wrong count, or a mention
            whose offsets or text disagree with its text (text and mention named).
    """
    if mode not in MODES:
        raise ConfigError(f"pseudonymize mode must be one of {MODES}, got {mode!r}")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputTextError(f"text {i} is a {type(t).__name__}, not a string")
    if mentions is None:
        if linker is None:
            from kgattn.linking.linker import EntityLinker

            linker = EntityLinker(kg)
        elif getattr(linker, "kg", kg).fingerprint != kg.fingerprint:
            raise ConfigError("the linker was built on another graph than the one to pseudonymise")
        mentions = list(linker.link_batch(texts))
    if len(mentions) != len(texts):
        raise InputTextError(f"{len(mentions)} mention lists for {len(texts)} texts")
    is_entity = entity_nodes(kg) if entities is None else np.asarray(entities, dtype=bool)
    if is_entity.shape != (kg.num_nodes,):
        raise ConfigError(f"entities has shape {is_entity.shape}, the graph has {kg.num_nodes} nodes")
    parsed = [_checked_mentions(t, ms, i, kg.num_nodes) for i, (t, ms) in enumerate(zip(texts, mentions))]

    def wanted(m: Mention) -> bool:
        return (m.node is not None and bool(is_entity[m.node])
                and (not cased_only or any(c.isupper() for c in m.text)))

    nodes = sorted({m.node for ms in parsed for m in ms if wanted(m)})
    gen = NameGenerator(seed, forbidden=_graph_words(kg) | {w for t in texts for w in _WORD.findall(t)})
    names = {node: gen(kg.node_id(node)) for node in nodes}
    new_texts, new_mentions, replaced = [], [], []
    surfaces: dict[int, set[str]] = {}
    for text, ms in zip(texts, parsed):
        pieces, out, idx, pos, shift = [], [], [], 0, 0
        for k, m in enumerate(ms):
            if wanted(m):
                name = names[m.node].upper() if _capitals(m.text, text) else names[m.node]
                surfaces.setdefault(m.node, set()).add(m.text)
                pieces += [text[pos:m.start], name]
                pos = m.end
                out.append(dataclasses.replace(m, start=m.start + shift, end=m.start + shift + len(name), text=name))
                shift += len(name) - (m.end - m.start)
                idx.append(k)
            else:
                out.append(dataclasses.replace(m, start=m.start + shift, end=m.end + shift))
        pieces.append(text[pos:])
        new_texts.append("".join(pieces))
        new_mentions.append(out)
        replaced.append(idx)
    surfaces_sorted = {n: sorted(s) for n, s in surfaces.items()}
    stats = {"texts": len(texts), "mentions": sum(map(len, parsed)),
             "linked_mentions": sum(m.node is not None for ms in parsed for m in ms),
             "replaced_mentions": sum(map(len, replaced)), "replaced_nodes": len(names),
             "texts_changed": sum(a != b for a, b in zip(texts, new_texts))}
    new_kg = _rebuild(kg, names, surfaces_sorted, mode, {"mode": mode, "seed": int(seed), **stats})
    return Pseudonymized(new_texts, new_kg, new_mentions, names, surfaces_sorted, replaced, mode, int(seed), stats)


# ---------------------------------------------------------------------------------- helpers
def _field(m, name: str):
    return m[name] if isinstance(m, Mapping) else getattr(m, name)


def _checked_mentions(text: str, ms: Sequence, i: int, n: int) -> list[Mention]:
    """The mentions of text ``i`` as :class:`Mention`, sorted, checked against the text."""
    out = []
    for m in ms or ():
        try:
            start, end, node = int(_field(m, "start")), int(_field(m, "end")), _field(m, "node")
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise InputTextError(f"text {i}: a mention without start/end/node ({exc!r})") from None
        surface = m.get("text") if isinstance(m, Mapping) else getattr(m, "text", None)
        if not 0 <= start < end <= len(text) or (surface is not None and text[start:end] != surface):
            raise InputTextError(f"text {i}: mention {surface!r} at [{start}, {end}) does not match the text "
                                 f"{text[max(0, start - 10):end + 10]!r}")
        if node is not None and not 0 <= int(node) < n:
            raise InputTextError(f"text {i}: mention {surface!r} links node {node}, outside [0, {n})")
        out.append(m if isinstance(m, Mention) else
                   Mention(start, end, text[start:end], node=None if node is None else int(node),
                           ner_label=m.get("ner_label") if isinstance(m, Mapping) else None))
    out.sort(key=lambda m: m.start)
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise InputTextError(f"text {i}: mentions {a.text!r} and {b.text!r} overlap")
    return out


def _capitals(surface: str, text: str) -> bool:
    """Write the invented name in capitals: the mention is in capitals and is an acronym without
    dots ("FIFA") or stands in a text written in capitals (a headline's "JAPAN"); "U.S." in a
    normal sentence gets a capitalised name."""
    letters = [c for c in surface if c.isalpha()]
    if len(letters) < 2 or not all(c.isupper() for c in letters):
        return False
    if "." not in surface:
        return True
    cased = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in cased) > 0.6 * len(cased)


def _graph_words(kg: KnowledgeGraph) -> set[str]:
    """Every word (run of letters/digits) of every name in the graph, casefolded."""
    return {w for key in kg.alias_index() for w in _WORD.findall(key)}


class _Finder:
    """Word-bounded, case-sensitive occurrences of fixed strings (Aho-Corasick, leftmost-longest)."""

    def __init__(self, strings: Iterable[str]):
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        self.empty = True
        for s in strings:
            if s and any(c.isalpha() for c in s):
                self.automaton.add_word(s, s)
                self.empty = False
        if not self.empty:
            self.automaton.make_automaton()

    def find(self, text: str) -> list[tuple[int, int, str]]:
        if self.empty or not text:
            return []
        hits = []
        for last, s in self.automaton.iter(text):
            a, b = last - len(s) + 1, last + 1
            if (s[0].isalnum() and a > 0 and text[a - 1].isalnum()) or \
                    (s[-1].isalnum() and b < len(text) and text[b].isalnum()):
                continue
            hits.append((a, b, s))
        hits.sort(key=lambda h: (h[0], h[0] - h[1]))
        out, end = [], 0
        for a, b, s in hits:
            if a >= end:
                out.append((a, b, s))
                end = b
        return out

    def replace(self, text: str, to: Mapping[str, str]) -> str:
        hits = self.find(text)
        if not hits:
            return text
        pieces, pos = [], 0
        for a, b, s in hits:
            pieces += [text[pos:a], to[s]]
            pos = b
        pieces.append(text[pos:])
        return "".join(pieces)


def surface_counts(texts: Iterable[str], surfaces: Iterable[str]) -> dict[str, int]:
    """``{surface: occurrences}`` of the given strings in ``texts`` (word-bounded, case-sensitive;
    surfaces that never occur are left out)."""
    finder = _Finder(set(surfaces))
    counts: dict[str, int] = {}
    for t in texts:
        for _, _, s in finder.find(t):
            counts[s] = counts.get(s, 0) + 1
    return dict(sorted(counts.items()))


def _rebuild(kg: KnowledgeGraph, names: Mapping[int, str], surfaces: Mapping[int, Sequence[str]], mode: str,
             record: dict) -> KnowledgeGraph:
    """A copy of ``kg`` (same node order) with the invented names added or substituted."""
    n = kg.num_nodes
    rows = [kg.aliases(i) for i in range(n)]
    descriptions = [kg.description(i) for i in range(n)]
    attributes = [kg.attributes(i) for i in range(n)]
    if mode == "mentions":
        for node, name in names.items():
            rows[node] = rows[node] + [name]
    else:
        to: dict[str, str] = {}
        for node in sorted(names):  # a name shared by two replaced nodes goes to the lower index
            for s in [*rows[node], *surfaces.get(node, ())]:
                to.setdefault(s, names[node])
            rows[node] = [names[node]]
        finder = _Finder(to)
        descriptions = [finder.replace(d, to) for d in descriptions]
        attributes = [{k: [finder.replace(v, to) for v in vs] for k, vs in a.items()} for a in attributes]
    # source_fingerprint: a model pretrained over ``kg`` may start on this copy (same nodes, edges
    # and relations; only names differ): kgattn.pretraining.saving.check_fingerprint reads it.
    metadata = {**kg.metadata, "pseudonymized": {**record, "source_fingerprint": kg.fingerprint}}
    out = KnowledgeGraph.from_arrays(
        [kg.node_id(i) for i in range(n)], kg.src, kg.dst, kg.rel, kg.relation_names,
        aliases=rows, types=[kg.types(i) for i in range(n)], descriptions=descriptions, attributes=attributes,
        relation_ids=kg.relation_ids, metadata=metadata)
    return out
