"""Coarse entity types (PER, LOC, ORG, MISC) shared by NER labels and knowledge-graph nodes.

NER models and graphs name types differently (spaCy's OntoNotes ``GPE``, CoNLL's ``LOC``,
WordNet's lexicographer file ``noun.location``, Freebase's ``/location/country``); the
linker compares them through this small common vocabulary.

Node types map by the *first* rule whose keyword occurs in the type string (lower-cased),
so the order of :data:`NODE_TYPE_RULES` is the precedence. A node whose types match no rule
has no coarse type (no evidence either way).
"""
from __future__ import annotations

COARSE_TYPES = ("PER", "LOC", "ORG", "MISC")

#: NER label -> coarse type. Labels not listed (dates, numbers, money, ...) are not entity
#: mentions for linking and are ignored.
NER_TO_COARSE = {
    # CoNLL-2003
    "PER": "PER", "LOC": "LOC", "ORG": "ORG", "MISC": "MISC",
    # OntoNotes (spaCy's English pipelines)
    "PERSON": "PER", "GPE": "LOC", "FAC": "LOC", "NORP": "MISC", "EVENT": "MISC",
    "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC", "PRODUCT": "MISC",
}

#: (keyword, coarse type), tried in order against each lower-cased node type string.
NODE_TYPE_RULES: tuple[tuple[str, str], ...] = (
    # WordNet lexicographer files
    ("noun.person", "PER"), ("noun.location", "LOC"), ("noun.group", "ORG"),
    # Freebase / FB15k-237 type or relation-domain paths
    ("/people/person", "PER"), ("/film/actor", "PER"), ("/music/artist", "PER"),
    ("/music/group_member", "PER"), ("/award/award_winner", "PER"), ("/sports/pro_athlete", "PER"),
    ("/location/", "LOC"), ("/film/film_location", "LOC"),
    ("/organization/", "ORG"), ("/business/", "ORG"), ("/sports/sports_team", "ORG"),
    ("/soccer/football_team", "ORG"), ("/education/educational_institution", "ORG"),
    ("/education/university", "ORG"), ("/music/record_label", "ORG"),
    ("/government/political_party", "ORG"), ("/tv/tv_network", "ORG"),
    ("/film/film", "MISC"), ("/music/genre", "MISC"), ("/award/", "MISC"), ("/tv/tv_program", "MISC"),
    ("/people/ethnicity", "MISC"), ("/language/", "MISC"), ("/time/event", "MISC"),
    ("/sports/sports_league", "ORG"), ("/sports/sport", "MISC"),
    # schema.org / generic ontologies
    ("person", "PER"), ("place", "LOC"), ("location", "LOC"), ("country", "LOC"), ("city", "LOC"),
    ("organization", "ORG"), ("organisation", "ORG"), ("company", "ORG"),
)


#: (relation id prefix, coarse type): the domain of the relations a node is the *head* of
#: (Freebase-style ids such as ``/people/person/nationality``). A node gets the type most of
#: its typed out-edges vote for (ties: PER, LOC, ORG, MISC).
RELATION_RULES: tuple[tuple[str, str], ...] = (
    ("/people/person/", "PER"), ("/film/actor/", "PER"), ("/film/director/", "PER"),
    ("/film/producer/", "PER"), ("/film/writer/", "PER"), ("/music/group_member/", "PER"),
    ("/government/politician/", "PER"), ("/sports/pro_athlete/", "PER"), ("/tv/tv_actor/", "PER"),
    ("/celebrities/celebrity/", "PER"), ("/influence/influence_node/", "PER"),
    ("/location/", "LOC"), ("/base/biblioness/bibs_location/", "LOC"), ("/base/aareas/", "LOC"),
    ("/base/petbreeds/city_with_dogs/", "LOC"), ("/travel/travel_destination/", "LOC"),
    ("/olympics/olympic_participating_country/", "LOC"),
    ("/organization/", "ORG"), ("/business/", "ORG"), ("/sports/sports_team/", "ORG"),
    ("/sports/professional_sports_team/", "ORG"), ("/soccer/football_team/", "ORG"),
    ("/ice_hockey/hockey_team/", "ORG"), ("/american_football/football_team/", "ORG"),
    ("/baseball/baseball_team/", "ORG"), ("/basketball/basketball_team/", "ORG"),
    ("/education/educational_institution/", "ORG"), ("/education/university/", "ORG"),
    ("/music/record_label/", "ORG"), ("/music/musical_group/", "ORG"), ("/tv/tv_network/", "ORG"),
    ("/government/political_party/", "ORG"), ("/sports/sports_league/", "ORG"),
    ("/film/film/", "MISC"), ("/tv/tv_program/", "MISC"), ("/music/genre/", "MISC"),
    ("/award/award_winning_work/", "MISC"), ("/award/award_nominated_work/", "MISC"),
    ("/award/award_category/", "MISC"), ("/award/award_ceremony/", "MISC"),
    ("/media_common/netflix_genre/", "MISC"), ("/people/ethnicity/", "MISC"),
    ("/language/human_language/", "MISC"), ("/sports/sport/", "MISC"), ("/time/event/", "MISC"),
    ("/military/military_conflict/", "MISC"), ("/olympics/olympic_games/", "MISC"),
)


def relation_coarse(relation_ids: list[str], rules: tuple[tuple[str, str], ...] = RELATION_RULES) -> str | None:
    """Coarse type voted by the relations a node is the head of (see :data:`RELATION_RULES`)."""
    votes = dict.fromkeys(COARSE_TYPES, 0)
    for rid in relation_ids:
        for prefix, coarse in rules:
            if rid.startswith(prefix):
                votes[coarse] += 1
                break
    best = max(COARSE_TYPES, key=lambda t: votes[t])  # first of the tied maxima, in COARSE_TYPES order
    return best if votes[best] else None


def graph_node_coarse(kg, node: int) -> str | None:
    """Coarse type of a graph node: from its types (:data:`NODE_TYPE_RULES`), else from the
    relations of its out-edges (:data:`RELATION_RULES`), else None."""
    t = node_coarse(kg.types(node))
    if t is None:
        _, rel = kg.neighbors(node, "out")
        ids = kg.relation_ids
        t = relation_coarse([ids[r] for r in rel.tolist()])
    return t


def ner_coarse(label: str | None) -> str | None:
    """Coarse type of a NER label, or None when the label is not an entity type."""
    return NER_TO_COARSE.get(label) if label else None


def node_coarse(types: list[str], rules: tuple[tuple[str, str], ...] = NODE_TYPE_RULES) -> str | None:
    """Coarse type of a node from its type strings (first matching rule over all types), or None."""
    lowered = [t.lower() for t in types]
    for keyword, coarse in rules:
        for t in lowered:
            if keyword in t:
                return coarse
    return None


def type_compatibility(ner: str | None, node: str | None) -> float:
    """+1 when both coarse types are known and equal, -1 when known and different, else 0."""
    if ner is None or node is None:
        return 0.0
    return 1.0 if ner == node else -1.0
