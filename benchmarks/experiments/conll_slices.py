"""The linked slice of CoNLL mention typing, defined once for the scripts that read it
(``macro_f1_paired.py --slice``, ``graph_ceiling.py``): a test mention is *linked* when its
[bracketed] span overlaps a mention linked to an *entity* node
(:func:`kgattn.evaluation.entities.entity_nodes`): under ``pseudonymize: mentions`` exactly the
mentions whose name was invented."""
from __future__ import annotations


def bracket_entity_node(text: str, mentions, entity) -> int | None:
    """The entity node linked inside (or across) the [bracketed] span of ``text``, the longest
    overlap first; None when no entity mention overlaps it. ``entity``: bool per node."""
    a, b = text.find("["), text.find("]")
    hits = [m for m in mentions or [] if m["node"] is not None and entity[m["node"]]
            and m["start"] < b and a < m["end"]]
    if not hits:
        return None
    return max(hits, key=lambda m: min(b, m["end"]) - max(a, m["start"]))["node"]


#: The slices :func:`mention_slice` names; ``unlinked`` is the union of the last two.
SLICES = ("linked", "unlinked", "unlinked_with_entity", "unlinked_no_entity")


def mention_slice(text: str, mentions, entity) -> str:
    """``"linked"`` (see :func:`bracket_entity_node`), else ``"unlinked_with_entity"`` when another
    mention of the text links an entity node (the subgraph holds some *other* entity, which a
    fused model may take for the bracketed one), else ``"unlinked_no_entity"``."""
    if bracket_entity_node(text, mentions, entity) is not None:
        return "linked"
    if any(m["node"] is not None and entity[m["node"]] for m in mentions or []):
        return "unlinked_with_entity"
    return "unlinked_no_entity"
