r"""Which nodes of a knowledge graph are *entities* (individuals) and which are *concepts* (kinds).

It lives in the graph layer because two layers above it need it: the entity linker
(:mod:`kgattn.linking.rules`: a lower-case word or a piece of a longer name does not link an
*entity*) and pseudonymised evaluation. Pseudonymised evaluation
(:mod:`kgattn.evaluation.pseudonymize`) hides the names of entities -- a person, a city, a
company, a film -- and never touches concepts: a WordNet common-noun synset,
a class, an industry, a profession, a genre. A language model knows "guitarist" and "software"
whatever graph it is given; what a graph can add is knowledge about *individuals* the model has
never heard of, so those are the names a pseudonymised benchmark invents.

:func:`entity_nodes` decides node by node, with the first rule that has evidence:

1. **WordNet synsets** (a type naming a lexicographer file: ``noun.person``, ``verb.motion``...,
   as :mod:`kgattn.datasets.wordnet` stores them): an entity exactly when it is an *instance*
   synset, i.e. the source of an ``instance hypernym`` edge (WordNet pointer ``@i``:
   ``einstein.n.01 -instance hypernym-> physicist.n.01``) or the target of an
   ``instance hyponym`` edge (``~i``). Every other synset, ``Christianity`` and ``American``
   included, is a concept: 7,730 of WordNet 3.0's 117,659 synsets are entities.
2. **Freebase-style nodes** (incident to relations whose id is a Freebase property path
   ``/domain/type/property``, possibly through a mediator ``/d/t/p./d2/t2/p2``, as in
   FB15k-237): every node is a Freebase topic, so kinds are told apart by *where* they occur.
   A node is a concept when it is the head of a relation of a kind type (:data:`FREEBASE_KIND_TYPES`:
   ``/people/profession/...``, ``/music/genre/...``) or the tail of a kind-valued property
   (:data:`FREEBASE_KIND_PROPERTIES`: ``.../profession``, ``.../industry``, ``.../genre``,
   ``.../contact_category``...) or occurs only as the head of a topic list
   (:data:`FREEBASE_TOPIC_TYPES`: "Prison" and "Death" as film subjects), unless it also heads a
   relation of an individual type
   (:data:`FREEBASE_INDIVIDUAL_TYPES`: a location, an organisation, an event -- Freebase lists
   "Germany" as the tail of ``.../language`` and churches as religions). On FB15k-237 this
   makes 1,699 of 14,541 nodes concepts ("Sales", "End", "Software", "Guitarist-GB", "Prison",
   "Bluegrass", "Bachelor of Arts") and the other 12,842 entities.
3. **RDF nodes with types** (``rdf:type`` objects, :mod:`kgattn.graph.rdf`): classes are concepts
   -- a node typed ``rdfs:Class``, ``owl:Class``, ``skos:Concept`` (and the other
   :data:`CLASS_TYPES`), a node that is itself some node's type, or a node with an
   ``rdfs:subClassOf`` edge; a node with any other type is an entity.
4. **Nodes with none of these signals** (a plain TSV graph): entities.

Across rules 2-4, a node whose label (its first name) begins with a lower-case letter is a
concept: English writes proper names with a capital and kinds ("software", "oil and gas", "goblet
drum") without one. The label alone decides, because kinds often have capitalised abbreviations
("O&G"). Nodes without any name (their id is their label) are decided by the rules alone.
"""
from __future__ import annotations

import re

import numpy as np

#: Types that make a node a class (rule 3), by IRI.
CLASS_TYPES = frozenset({
    "http://www.w3.org/2000/01/rdf-schema#Class", "http://www.w3.org/2002/07/owl#Class",
    "http://www.w3.org/2000/01/rdf-schema#Datatype", "http://www.w3.org/2004/02/skos/core#Concept",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme", "http://www.w3.org/2004/02/skos/core#Collection",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property", "http://www.w3.org/2002/07/owl#ObjectProperty",
    "http://www.w3.org/2002/07/owl#DatatypeProperty",
})
SUBCLASS_OF = frozenset({"http://www.w3.org/2000/01/rdf-schema#subClassOf", "subClassOf", "sub class of"})
INSTANCE_HYPERNYM, INSTANCE_HYPONYM = "instance hypernym", "instance hyponym"
#: WordNet lexicographer-file types, as :mod:`kgattn.datasets.wordnet` stores them.
WORDNET_TYPE = re.compile(r"^(?:noun|verb|adj|adv)\.[a-zA-Z]+$")
#: A Freebase property path, optionally behind a union prefix (``fb:``) without spaces.
FREEBASE_RELATION = re.compile(r"^(?:[^\s/]*:)?(/[a-z0-9_]+/[a-z0-9_]+/[a-z0-9_./]+)$")

#: Freebase types whose instances are kinds, not individuals (rule 2, head side).
FREEBASE_KIND_TYPES = frozenset({
    "/people/profession", "/business/job_title", "/business/industry", "/music/genre", "/film/film_genre",
    "/tv/tv_genre", "/media_common/media_genre", "/music/instrument", "/music/performance_role",
    "/education/field_of_study", "/education/educational_degree", "/education/school_type",
    "/people/cause_of_death", "/medicine/disease", "/medicine/symptom", "/medicine/risk_factor",
    "/olympics/olympic_sport", "/sports/sport", "/sports/sports_position", "/people/ethnicity",
    "/people/gender", "/people/marriage_union_type", "/government/government_office_category",
    "/government/form_of_government", "/film/film_job", "/film/film_format",
    "/film/film_distribution_medium", "/food/food", "/food/nutrient", "/religion/religion",
    "/language/human_language", "/finance/currency", "/visual_art/color",
})
#: Last step of a Freebase property whose values are kinds (rule 2, tail side).
FREEBASE_KIND_PROPERTIES = frozenset({
    "profession", "specialization_of", "genre", "parent_genre", "industry", "school_type", "film_crew_role",
    "religion", "colors", "nutrient", "form_of_government", "sport", "medal", "film_format",
    "film_distribution_medium", "film_release_distribution_medium", "gender", "type_of_union", "role",
    "performance_role", "major_field_of_study", "position", "position_s", "currency", "adjustment_currency",
    "language", "languages", "official_language", "languages_spoken", "service_language", "category",
    "contact_category", "basic_title", "disciplines_or_subjects", "risk_factors", "symptom_of", "dog_breed",
    "diet", "mode_of_transportation", "special_performance_type", "type_of_appearance", "producer_type",
    "administrative_area_type", "interests", "month", "seasonal_months",
})
#: Freebase types that list *topics*, kinds and individuals alike (rule 2): a node known only as
#: the head of these ("Prison", "Death", "Chess" as film subjects) is a concept.
FREEBASE_TOPIC_TYPES = frozenset({"/film/film_subject"})
#: Freebase types whose instances are individuals even when listed as a kind's value.
FREEBASE_INDIVIDUAL_TYPES = frozenset({
    "/location/location", "/location/country", "/organization/organization", "/time/event",
    "/military/military_conflict",
})


def _freebase_path(relation_id: str) -> str | None:
    m = FREEBASE_RELATION.match(relation_id)
    return m.group(1) if m else None


def _head_type(path: str) -> str:
    return "/".join(path.split("/")[:3])


def _relation_flags(kg) -> tuple[np.ndarray, ...]:
    """Per relation: Freebase-style, head is a kind, tail is a kind, head is an individual, head is
    a topic, instance hypernym, instance hyponym, subclass-of."""
    ids, names = kg.relation_ids, kg.relation_names
    r = len(ids)
    fb, head_kind, tail_kind, head_indiv, head_topic = (np.zeros(r, dtype=bool) for _ in range(5))
    inst_hyper, inst_hypo, subclass = (np.zeros(r, dtype=bool) for _ in range(3))
    for k, (rid, name) in enumerate(zip(ids, names)):
        path = _freebase_path(rid)
        if path is not None:
            fb[k] = True
            head_kind[k] = _head_type(path) in FREEBASE_KIND_TYPES
            head_indiv[k] = _head_type(path) in FREEBASE_INDIVIDUAL_TYPES
            head_topic[k] = _head_type(path) in FREEBASE_TOPIC_TYPES
            tail_kind[k] = path.rsplit("/", 1)[1] in FREEBASE_KIND_PROPERTIES
        inst_hyper[k] = name == INSTANCE_HYPERNYM
        inst_hypo[k] = name == INSTANCE_HYPONYM
        subclass[k] = rid in SUBCLASS_OF or name in SUBCLASS_OF
    return fb, head_kind, tail_kind, head_indiv, head_topic, inst_hyper, inst_hypo, subclass


def _any_edge(n: int, nodes: np.ndarray, rel: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """bool [n]: the node occurs (at this end) in an edge whose relation has ``flag``."""
    out = np.zeros(n, dtype=bool)
    if flag.any():  # else nothing to find: the edge arrays (GBs of a large graph) stay unread
        out[nodes[flag[rel]]] = True
    return out


class EntityTest:
    """``test(i)``: whether node ``i`` is an entity, decided lazily node by node (memoised).

    The edge signals are gathered once (O(E), vectorised); each node costs one look at its types
    and first name when first asked. The entity linker asks only about the candidates of its
    mentions, so a large graph pays for the nodes the texts touch, not for all of them.
    """

    def __init__(self, kg):
        self.kg = kg
        n = kg.num_nodes
        src, dst, rel = (np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in (kg.src, kg.dst, kg.rel))
        fb, head_kind, tail_kind, head_indiv, head_topic, inst_hyper, inst_hypo, subclass = _relation_flags(kg)
        self.type_vocab = set(kg.type_vocabulary)
        self.instance = _any_edge(n, src, rel, inst_hyper) | _any_edge(n, dst, rel, inst_hypo)
        self.freebase = _any_edge(n, src, rel, fb) | _any_edge(n, dst, rel, fb)
        topic_only = _any_edge(n, src, rel, head_topic) & ~_any_edge(n, src, rel, fb & ~head_topic) & \
            ~_any_edge(n, dst, rel, fb)
        self.fb_kind = (_any_edge(n, src, rel, head_kind) | _any_edge(n, dst, rel, tail_kind) | topic_only) & \
            ~_any_edge(n, src, rel, head_indiv)
        self.in_subclass = _any_edge(n, src, rel, subclass) | _any_edge(n, dst, rel, subclass)
        self._memo: dict[int, bool] = {}

    def __call__(self, i: int) -> bool:
        hit = self._memo.get(i)
        if hit is None:
            hit = self._memo[i] = self._decide(i)
        return hit

    def _decide(self, i: int) -> bool:
        kg = self.kg
        types = kg.types(i)
        if types and any(WORDNET_TYPE.match(t) for t in types):
            return bool(self.instance[i])
        if self.freebase[i]:
            entity = not self.fb_kind[i]
        elif types:
            entity = not (any(t in CLASS_TYPES for t in types) or self.in_subclass[i])
        else:
            entity = not self.in_subclass[i]
        if entity and self.type_vocab and kg.node_id(i) in self.type_vocab:
            entity = False  # some node's rdf:type: a class
        if entity:
            names = kg.aliases(i)
            if names and _lower_initial(names[0]):
                entity = False
        return bool(entity)


def entity_nodes(kg) -> np.ndarray:
    """bool [N]: ``True`` for the nodes that are entities (individuals), ``False`` for concepts.

    The rules, in order (see the module docstring for the reasons):

    1. WordNet synsets (a ``noun.*``/``verb.*``/``adj.*``/``adv.*`` type): entity iff an instance
       synset (source of ``instance hypernym``, target of ``instance hyponym``).
    2. Freebase topics (incident to a ``/domain/type/property`` relation): concept iff it heads a
       relation of a kind type, is the tail of a kind-valued property or occurs only as the head of
       a topic list (film subjects), and heads no relation of
       an individual type (location, country, organisation, event, conflict); else entity.
    3. Typed nodes (RDF ``rdf:type``): concept iff typed as a class (:data:`CLASS_TYPES`), used as
       another node's type, or in an ``rdfs:subClassOf`` edge; else entity.
    4. Other nodes: entity.

    In rules 2-4 a node whose label starts with a lower-case letter is a concept.
    Uses public :class:`~kgattn.graph.KnowledgeGraph` accessors only; O(N + E).
    :class:`EntityTest` gives the same answer one node at a time.
    """
    test = EntityTest(kg)
    return np.fromiter((test(i) for i in range(kg.num_nodes)), dtype=bool, count=kg.num_nodes)


def _lower_initial(name: str) -> bool:
    """``name`` begins with a lower-case letter ("73rd Academy Awards" and "'t Hooft" do not)."""
    return name[:1].islower()
