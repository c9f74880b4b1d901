"""Knowledge as text: the linked nodes' labels and their neighbours' labels, appended to a text.

The input of the knowledge-as-text baseline (the ``knowledge_as_text`` evaluation variant): a
plain language model fine-tuned on ``"<text> | <node>: <neighbour>, <neighbour>; ..."``, which
tests whether the graph's knowledge helps without any fusion.
"""
from __future__ import annotations

from collections.abc import Sequence

from kgattn.graph.store import KnowledgeGraph

#: Between the original text and the appended knowledge.
SEPARATOR = " | "


def node_neighbourhood(kg: KnowledgeGraph, node: int, max_neighbours: int = 8) -> list[str]:
    """Labels of up to ``max_neighbours`` distinct 1-hop neighbours of ``node``.

    Out-neighbours come first (a WordNet synset's hypernyms, a Freebase entity's types and
    attributes), then in-neighbours, each in the store's edge order; the node's own label and
    repeats are skipped.
    """
    own = kg.label(node)
    seen, out = {own}, []
    if max_neighbours <= 0:
        return out
    for direction in ("out", "in"):
        nbrs, _ = kg.neighbors(node, direction)
        for j in nbrs.tolist():
            label = kg.label(j)
            if label and label not in seen:
                seen.add(label)
                out.append(label)
                if len(out) >= max_neighbours:
                    return out
    return out


def verbalize(kg: KnowledgeGraph, mentions: Sequence, max_neighbours: int = 8, glosses: bool = False) -> str:
    """``"<node>: <nbr>, <nbr>; <node>: ..."`` for the linked mentions (NIL and repeats skipped).

    With ``glosses`` each linked node is written ``"<node> (<description>)"`` when it has a
    description (a WordNet synset's gloss): the text the fused model's node features encode.
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
        nbrs = node_neighbourhood(kg, m.node, max_neighbours)
        parts.append(f"{name}: {', '.join(nbrs)}" if nbrs else name)
    return "; ".join(parts)


def knowledge_as_text(texts: Sequence[str], mentions: Sequence[Sequence], kg: KnowledgeGraph,
                      max_neighbours: int = 8, glosses: bool = False) -> list[str]:
    """Each text with its verbalised linked knowledge appended (unchanged when nothing is linked)."""
    if len(texts) != len(mentions):
        raise ValueError(f"{len(texts)} texts but {len(mentions)} mention lists")
    out = []
    for text, ms in zip(texts, mentions):
        knowledge = verbalize(kg, ms, max_neighbours, glosses)
        out.append(f"{text}{SEPARATOR}{knowledge}" if knowledge else text)
    return out
