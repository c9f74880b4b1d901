"""The spaCy pipeline component ``kg_linker``: puts linked mentions on ``doc._.kg_mentions``.

Two ways to configure it (the config must be JSON-able, so no objects in it)::

    # 1. from disk: a linker saved with EntityLinker.save and the graph saved with KnowledgeGraph.save
    nlp.add_pipe("kg_linker", config={"linker_dir": "out/linker", "kg_dir": "out/kg"})

    # 2. an EntityLinker already in memory, registered under a name first
    from kgattn.linking.spacy_component import register_linker
    register_linker("wordnet", linker)
    nlp.add_pipe("kg_linker", config={"linker_name": "wordnet"})

The component links ``doc.text``; when the pipeline has NER before it (and ``use_ner`` is true),
``doc.ents`` are the NER spans (type hints), so the linker's own ``nlp`` is never run.
``doc._.kg_mentions`` is a list of :class:`kgattn.linking.Mention` with character offsets into
``doc.text``.

This module is imported by spaCy whenever it builds a pipeline (entry point
``spacy_factories``), so it imports nothing heavy until the component is created.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc

from kgattn.errors import ConfigError

if not Doc.has_extension("kg_mentions"):
    Doc.set_extension("kg_mentions", default=None)

_REGISTERED: dict = {}


def register_linker(name: str, linker) -> None:
    """Make an in-memory :class:`~kgattn.linking.EntityLinker` available as ``{"linker_name": name}``."""
    _REGISTERED[name] = linker


class KGLinkerComponent:
    """Callable pipe: ``doc -> doc`` with ``doc._.kg_mentions`` set; ``pipe`` links in batches."""

    def __init__(self, linker, use_ner: bool = True):
        self.linker = linker
        self.use_ner = use_ner

    def _ents(self, doc: Doc) -> list[tuple[int, int, str]]:
        if not self.use_ner:
            return []
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    def __call__(self, doc: Doc) -> Doc:
        doc._.kg_mentions = self.linker.link_with_ner([doc.text], [self._ents(doc)])[0]
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == batch_size:
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, docs: list[Doc]) -> list[Doc]:
        mentions = self.linker.link_with_ner([d.text for d in docs], [self._ents(d) for d in docs])
        for doc, m in zip(docs, mentions):
            doc._.kg_mentions = m
        return docs


@Language.factory("kg_linker", default_config={"linker_dir": None, "kg_dir": None, "linker_name": None,
                                               "use_ner": True})
def make_kg_linker(nlp: Language, name: str, linker_dir: str | None, kg_dir: str | None,
                   linker_name: str | None, use_ner: bool) -> KGLinkerComponent:
    """Create the ``kg_linker`` component (see the module docstring for the config)."""
    if linker_name is not None:
        if linker_dir is not None or kg_dir is not None:
            raise ConfigError("kg_linker: give either linker_name or linker_dir + kg_dir, not both")
        if linker_name not in _REGISTERED:
            raise ConfigError(f"kg_linker: no linker registered as {linker_name!r} "
                              f"(registered: {sorted(_REGISTERED)}); call register_linker first")
        return KGLinkerComponent(_REGISTERED[linker_name], use_ner)
    if linker_dir is None or kg_dir is None:
        raise ConfigError("kg_linker: config needs linker_dir and kg_dir (saved linker and graph), "
                          "or linker_name (see kgattn.linking.spacy_component.register_linker)")
    from kgattn.graph.store import KnowledgeGraph
    from kgattn.linking.linker import EntityLinker

    kg = KnowledgeGraph.load(kg_dir)
    return KGLinkerComponent(EntityLinker.load(linker_dir, kg, with_nlp=False), use_ner)
