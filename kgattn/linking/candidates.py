r"""Candidate generation: matched alias keys -> candidate nodes with their prior.

A *candidate generator* is the swappable part between mention detection and disambiguation
(spaCy's entity linker has the same seam, ``get_candidates``). Generators live in a small
registry, :data:`candidate_generators` (a ``catalogue`` registry, as spaCy's ``registry.misc``);
the linker names one with ``EntityLinker(kg, candidates="alias_prior")``, so a saved linker's
configuration says which one it uses. A factory is called as::

    factory(kg, table, *, candidate_pool, node_types) -> generator

with the graph, the :class:`~kgattn.linking.gazetteer.AliasTable` and the linker's options, and
returns a callable ``generator(keys) -> [(node, prior, cased), ...]`` (best first, at most
``candidate_pool`` of them): ``keys`` are the alias-table keys a span matched (more than one
when the text form and its lemma name different keys); ``prior`` is :math:`p(v \mid a)`, the
base of the final score; ``cased`` says whether the node's name behind the key starts with a
capital (the case feature of the disambiguator). An empty list means the span is no mention.

Registering one::

    from kgattn.linking.candidates import candidate_generators

    @candidate_generators.register("labels_only")
    def labels_only(kg, table, *, candidate_pool, node_types):
        base = AliasPrior(kg, table, candidate_pool=candidate_pool, node_types=node_types)
        return lambda keys: [c for c in base(keys) if kg.label(c[0]).lower() == table.keys[keys[0]]]

    EntityLinker(kg, candidates="labels_only")
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import catalogue

from kgattn.errors import ConfigError

#: One candidate before scoring: (node index, prior p(node | alias), the node's name is capitalised).
RawCandidate = tuple[int, float, bool]
CandidateGenerator = Callable[[Sequence[int]], list[RawCandidate]]

#: name -> factory ``(kg, table, *, candidate_pool, node_types) -> CandidateGenerator``.
candidate_generators = catalogue.create("kgattn", "candidate_generators", entry_points=False)

DEFAULT_CANDIDATES = "alias_prior"


def check_candidate_generator(name: str) -> None:
    """Raise ConfigError, listing the registered names, when ``name`` is not registered."""
    known = candidate_generators.get_all()
    if not isinstance(name, str) or name not in known:
        raise ConfigError(f"candidates={name!r}: no candidate generator of this name (registered: {sorted(known)})")


def make_candidate_generator(name: str, kg, table, *, candidate_pool: int,
                             node_types: Sequence[str] | None) -> CandidateGenerator:
    """Build the generator registered as ``name`` (unknown names raise ConfigError listing the known)."""
    check_candidate_generator(name)
    return candidate_generators.get(name)(kg, table, candidate_pool=candidate_pool, node_types=node_types)


class AliasPrior:
    """The default generator: the nodes of the matched keys with the highest alias prior.

    With several keys a node keeps its best prior over them; ties break by node index.
    ``node_types``: only nodes with a type starting with one of these prefixes are candidates;
    the pool is cut *after* this filter, so allowed nodes ranked below excluded ones still make it in.
    """

    def __init__(self, kg, table, *, candidate_pool: int, node_types: Sequence[str] | None = None):
        self.kg, self.table = kg, table
        self.candidate_pool = candidate_pool
        self.node_types = None if node_types is None else list(node_types)
        self._type_ok: dict[int, bool] = {}

    def allowed(self, node: int) -> bool:
        """Whether ``node`` passes ``node_types`` (a type starting with one of its prefixes)."""
        if self.node_types is None:
            return True
        ok = self._type_ok.get(node)
        if ok is None:
            ok = self._type_ok[node] = any(t.startswith(p) for t in self.kg.types(node) for p in self.node_types)
        return ok

    def __call__(self, keys: Sequence[int]) -> list[RawCandidate]:
        table, k = self.table, self.candidate_pool
        pool = k if self.node_types is None else self.kg.num_nodes
        if len(keys) == 1:
            return [c for c in table.candidates(keys[0], pool) if self.allowed(c[0])][:k]
        best: dict[int, RawCandidate] = {}
        for key in keys:
            for c in table.candidates(key, pool):
                if self.allowed(c[0]) and (c[0] not in best or c[1] > best[c[0]][1]):
                    best[c[0]] = c
        return sorted(best.values(), key=lambda c: (-c[1], c[0]))[:k]


@candidate_generators.register(DEFAULT_CANDIDATES)
def alias_prior(kg, table, *, candidate_pool: int, node_types: Sequence[str] | None = None) -> AliasPrior:
    """:class:`AliasPrior` (the default)."""
    return AliasPrior(kg, table, candidate_pool=candidate_pool, node_types=node_types)
