"""How a knowledge-graph node becomes the text whose encoding is its feature vector (light: no torch)."""
from __future__ import annotations

import re
import string
from collections import Counter

from kgattn.errors import ConfigError

#: How a node becomes text; ``{description}`` may be empty, in which case the separator goes too.
DEFAULT_TEMPLATE = "{label}: {description}"
#: The fields a template may use.
FIELDS = ("label", "description", "relations")
#: ``{relations}`` names at most this many relations, the node's most frequent first.
MAX_RELATIONS = 8


def check_template(template: str) -> str:
    """Return ``template`` if it names only :data:`FIELDS` (at least one)."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"node_template {template!r} is not a valid format string: {exc}") from exc
    unknown = sorted(fields - set(FIELDS))
    if unknown or not fields:
        raise ConfigError(f"node_template {template!r} may use only "
                          + ", ".join(f"{{{f}}}" for f in FIELDS) + " (at least one)"
                          + (f"; unknown field(s): {', '.join(unknown)}" if unknown else ""))
    return template


def node_relations(kg, node: int, limit: int = MAX_RELATIONS) -> str:
    """The readable names of the relations on ``node``'s edges, most frequent first, ``"; "``-joined.

    Edges into the node count as ``inverse of <name>`` (the :func:`~kgattn.graph.csr.inverse_name`
    convention), so "Paris" reads ``capital of`` and ``inverse of born in`` differently. This is the
    knowledge a node carries whatever subgraph cap cuts its neighbours away, and all a rare entity
    (a name the language model has never seen, no description) carries at all.
    """
    counts: Counter = Counter()
    for direction, prefix in (("out", ""), ("in", "inverse of ")):
        _, rels = kg.neighbors(node, direction)
        counts.update(prefix + kg.relation_names[int(r)] for r in rels.tolist())
    return "; ".join(name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def node_text(kg, node: int, template: str = DEFAULT_TEMPLATE) -> str:
    """The text encoded for ``node``: the template filled with its label, description and (when the
    template names them) relations."""
    description = kg.description(node) or ""
    if "{relations}" not in template:   # the default's text, unchanged (cached encodings stay valid)
        text = template.format(label=kg.label(node), description=description)
        return text.rstrip(": ").strip() if not description else text
    text = template.format(label=kg.label(node), description=description, relations=node_relations(kg, node))
    # Empty fields leave their brackets and separators behind: "Acme:  ()" -> "Acme", "Acme: (x)" -> "Acme (x)".
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r":\s+(?=[(\[])", " ", text) if not description else text
    text = re.sub(r"\s+([:;,.])", r"\1", re.sub(r"\s{2,}", " ", text))
    return re.sub(r"([:;,.])(?:\s*[:;,.])+", r"\1", text).strip(" :;,")
