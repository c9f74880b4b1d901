"""Knowledge as text: the linked nodes' labels and their neighbours' labels, appended to a text.

The input of the knowledge-as-text baseline (the ``knowledge_as_text`` evaluation variant): a
plain language model fine-tuned on ``"<text> | <node>: <neighbour>, <neighbour>; ..."``, which
tests whether the graph's knowledge helps without any fusion.

With ``hops`` > 1 the neighbours are described in turn, breadth first, in the same form:
``"<node>: <nbr>, <nbr>; <nbr>: <nbr's nbr>, ...; ..."``, so a fact two hops from the linked
node (a person's company's industry) is written out too, and the nearest facts come first,
where a token limit does not cut them off.
"""
from __future__ import annotations

from collections.abc import Sequence

from kgattn.graph.store import KnowledgeGraph

#: Between the original text and the appended knowledge.
SEPARATOR = " | "
#: The most hops written out: each hop multiplies the text by up to ``max_neighbours``.
MAX_HOPS = 3


def _neighbours(kg: KnowledgeGraph, node: int, max_neighbours: int, skip: set[str]) -> list[tuple[int, str]]:
    """Up to ``max_neighbours`` (node, label) pairs of distinct 1-hop neighbours whose label is
    not in ``skip`` (added to it): out-neighbours first, then in-neighbours, in edge order."""
    out: list[tuple[int, str]] = []
    if max_neighbours <= 0:
        return out
    for direction in ("out", "in"):
        nbrs, _ = kg.neighbors(node, direction)
        for j in nbrs.tolist():
            label = kg.label(j)
            if label and label not in skip:
                skip.add(label)
                out.append((j, label))
                if len(out) >= max_neighbours:
                    return out
    return out


def node_neighbourhood(kg: KnowledgeGraph, node: int, max_neighbours: int = 8) -> list[str]:
    """Labels of up to ``max_neighbours`` distinct 1-hop neighbours of ``node``.

    Out-neighbours come first (a WordNet synset's hypernyms, a Freebase entity's types and
    attributes), then in-neighbours, each in the store's edge order; the node's own label and
    repeats are skipped.
    """
    return [label for _, label in _neighbours(kg, node, max_neighbours, {kg.label(node)})]


def verbalize(kg: KnowledgeGraph, mentions: Sequence, max_neighbours: int = 8, glosses: bool = False,
              hops: int = 1) -> str:
    """``"<node>: <nbr>, <nbr>; <node>: ..."`` for the linked mentions (NIL and repeats skipped).

    With ``glosses`` each linked node is written ``"<node> (<description>)"`` when it has a
    description (a WordNet synset's gloss): the text the fused model's node features encode.
    With ``hops`` > 1 each neighbour written at one hop is then described the same way, up to
    ``hops`` from the linked nodes, breadth first; a label is written once, so deeper levels
    add only what is new.
    """
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {MAX_HOPS}, got {hops}")
    parts, done, frontier = [], set(), []
    for m in mentions:
        if m.node is None or m.node in done:
            continue
        done.add(m.node)
        name = kg.label(m.node)
        description = kg.description(m.node) if glosses else None
        if description:
            name = f"{name} ({description})"
        nbrs = _neighbours(kg, m.node, max_neighbours, {kg.label(m.node)})
        parts.append(f"{name}: {_joined(nbrs)}" if nbrs else name)
        frontier += nbrs
    if hops == 1:
        return "; ".join(parts)
    written = {kg.label(n) for n in done} | {label for _, label in frontier}
    for _ in range(hops - 1):
        deeper = []
        for node, name in frontier:
            nbrs = _neighbours(kg, node, max_neighbours, written)
            if nbrs:
                parts.append(f"{name}: {_joined(nbrs)}")
                deeper += nbrs
        frontier = deeper
    return "; ".join(parts)


def _joined(nbrs: list[tuple[int, str]]) -> str:
    return ", ".join(label for _, label in nbrs)


def knowledge_as_text(texts: Sequence[str], mentions: Sequence[Sequence], kg: KnowledgeGraph,
                      max_neighbours: int = 8, glosses: bool = False, hops: int = 1) -> list[str]:
    """Each text with its verbalised linked knowledge appended (unchanged when nothing is linked)."""
    if len(texts) != len(mentions):
        raise ValueError(f"{len(texts)} texts but {len(mentions)} mention lists")
    out = []
    for text, ms in zip(texts, mentions):
        knowledge = verbalize(kg, ms, max_neighbours, glosses, hops)
        out.append(f"{text}{SEPARATOR}{knowledge}" if knowledge else text)
    return out
