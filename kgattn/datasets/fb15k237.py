"""FB15k-237 (Toutanova & Chen, 2015) as a :class:`~kgattn.graph.KnowledgeGraph`.

Nodes are the 14,541 Freebase entities of the three splits (ids ``/m/...``) named from
``entity2text.txt``; edges are the 310,116 triples of ``train/valid/test.txt.gz`` over 237
relations, read as ``relation2text.txt`` words (ids kept in ``kg.relation_ids``).
``kg.metadata["splits"]`` gives the triple count of each split.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from kgattn.errors import DatasetNotFoundError
from kgattn.paths import data_dir

SPLITS = ("train", "valid", "test")


def _split_file(root: Path, split: str) -> Path:
    for name in (f"{split}.txt.gz", f"{split}.txt"):
        if (root / name).is_file():
            return root / name
    raise DatasetNotFoundError(f"{root}: FB15k-237 split {split!r} not found ({split}.txt.gz or {split}.txt); "
                               "set $KGATTN_DATA or pass root= to the folder holding the data set")


def fb15k237(root: str | Path | None = None, splits=SPLITS, add_inverse: bool = False, cache: bool = True):
    """The FB15k-237 graph from ``root`` (default ``kgattn.paths.data_dir() / "fb15k-237"``).

    ``entity2text.txt`` names a superset of the entities; the surplus count is recorded in
    ``kg.metadata["names_not_in_graph"]`` rather than warned about. With ``cache=True`` the
    graph is saved under ``$KGATTN_CACHE/graphs`` keyed by the files' stats and reloaded by
    memory-mapping.
    """
    from kgattn.graph import GraphWarning, KnowledgeGraph

    root = Path(root) if root is not None else data_dir() / "fb15k-237"
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: FB15k-237 folder not found; set $KGATTN_DATA or pass root=")
    splits = tuple(splits)
    bad = set(splits) - set(SPLITS)
    if bad or not splits:
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {splits}")
    files = [_split_file(root, s) for s in splits]
    names = root / "entity2text.txt"
    relations = root / "relation2text.txt"
    names = names if names.is_file() else None
    relations = relations if relations.is_file() else None

    def build():
        from kgattn.graph.triples import iter_fields

        # Non-blank lines per split; a damaged .gz is a GraphFormatError naming the file.
        counts = {s: sum(1 for _ in iter_fields(f, "\t", 3, 3)) for s, f in zip(splits, files)}
        with warnings.catch_warnings():
            # The names file is a documented superset of the graph's entities.
            warnings.filterwarnings("ignore", message=".*occur in no triple.*", category=GraphWarning)
            kg = KnowledgeGraph.from_triples(files, names=names, relation_names=relations,
                                             add_inverse=add_inverse)
        kg.metadata.update(dataset="fb15k-237", splits=counts)
        return kg

    if not cache:
        return build()
    from kgattn.graph.cache import cached_graph

    sources = files + [p for p in (names, relations) if p is not None]
    return cached_graph("fb15k237", sources, {"splits": list(splits), "add_inverse": add_inverse}, build)
