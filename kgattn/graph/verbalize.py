"""Knowledge as text: the linked nodes' labels and their neighbours' labels, appended to a text.

The input of the knowledge-as-text baseline (the ``knowledge_as_text`` evaluation variant): a
plain language model fine-tuned on ``"<text> | <node>: <neighbour>, <neighbour>; ..."``, which
tests whether the graph's knowledge helps without any fusion.

With ``hops=2`` each neighbour is followed by its own neighbours in brackets,
``"<node>: <neighbour> (<neighbour's neighbour>, ...), ..."``, so a fact two hops from the linked
node (a person's company's industry) is written out too; every level keeps ``max_neighbours``.
"""
from __future__ import annotations

from collections.abc import Sequence

from kgattn.graph.store import KnowledgeGraph

#: Between the original text and the appended knowledge.
SEPARATOR = " | "


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


def node_neighbourhood(kg: KnowledgeGraph, node: int, max_neighbours: int = 8, hops: int = 1) -> list[str]:
    """Labels of up to ``max_neighbours`` distinct 1-hop neighbours of ``node``.

    Out-neighbours come first (a WordNet synset's hypernyms, a Freebase entity's types and
    attributes), then in-neighbours, each in the store's edge order; the node's own label and
    repeats are skipped. With ``hops`` > 1 each label is followed by ``" (...)"`` holding that
    neighbour's own neighbourhood one hop shorter (labels already written are not repeated).
    """
    if hops < 1:
        raise ValueError(f"hops must be at least 1, got {hops}")
    return _describe(kg, node, max_neighbours, hops, {kg.label(node)})


def _describe(kg: KnowledgeGraph, node: int, max_neighbours: int, hops: int, skip: set[str]) -> list[str]:
    nbrs = _neighbours(kg, node, max_neighbours, skip)
    if hops == 1:
        return [label for _, label in nbrs]
    out = []
    for j, label in nbrs:   # breadth first: this level's labels are all in ``skip`` before any deeper one
        inner = _describe(kg, j, max_neighbours, hops - 1, skip)
        out.append(f"{label} ({', '.join(inner)})" if inner else label)
    return out


def verbalize(kg: KnowledgeGraph, mentions: Sequence, max_neighbours: int = 8, glosses: bool = False,
              hops: int = 1) -> str:
    """``"<node>: <nbr>, <nbr>; <node>: ..."`` for the linked mentions (NIL and repeats skipped).

    With ``glosses`` each linked node is written ``"<node> (<description>)"`` when it has a
    description (a WordNet synset's gloss): the text the fused model's node features encode.
    ``hops`` as :func:`node_neighbourhood`.
    """
    parts, done = [], set()
    for m in mentions:
        if m.node is None or m.node in done:
            continue
        done.add(m.node)
        name = kg.label(m.node)
        description = kg.description(m.node) if glosses else None
        if description:
            name = f"{name} ({description})"
        nbrs = node_neighbourhood(kg, m.node, max_neighbours, hops)
        parts.append(f"{name}: {', '.join(nbrs)}" if nbrs else name)
    return "; ".join(parts)


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
