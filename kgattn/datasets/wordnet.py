"""WordNet 3.0 as a :class:`~kgattn.graph.KnowledgeGraph`, read from the database files.

Nodes are the synsets, with NLTK's names (``dog.n.01``: the synset's first lemma, its part of
speech with ``s`` for adjective satellites, and that lemma's sense number from ``index.*``).
Names are the lemma names with ``_`` read as a space (``Canis familiaris``), the type is the
lexicographer file (``noun.animal``), the description the gloss. Edges are the pointers
listed in :data:`DEFAULT_RELATIONS`; lemma-level pointers (antonym, derivationally related,
also-see, verb group) are lifted to their synsets, merged when two lemma pairs give the same
synset edge. Hyponyms (the inverse of hypernyms) and the domain pointers are available
through ``relations=`` (see :data:`POINTERS`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from kgattn.errors import DatasetNotFoundError, GraphFormatError

#: pointer symbol -> relation name (wndb(5WN))
POINTERS = {
    "!": "antonym", "@": "hypernym", "@i": "instance hypernym", "~": "hyponym", "~i": "instance hyponym",
    "#m": "member holonym", "#s": "substance holonym", "#p": "part holonym",
    "%m": "member meronym", "%s": "substance meronym", "%p": "part meronym",
    "=": "attribute", "+": "derivationally related", "&": "similar to", "^": "also see",
    "*": "entailment", ">": "cause", "$": "verb group", "<": "participle of verb", "\\": "pertainym",
    ";c": "domain topic", "-c": "member of domain topic", ";r": "domain region",
    "-r": "member of domain region", ";u": "domain usage", "-u": "member of domain usage",
}
#: the relations imported by default (the issue's list)
DEFAULT_RELATIONS = ("hypernym", "instance hypernym", "member holonym", "part holonym", "substance holonym",
                     "member meronym", "part meronym", "substance meronym", "similar to", "also see",
                     "attribute", "entailment", "cause", "verb group", "derivationally related", "antonym")
#: lexicographer file numbers -> names (lexnames(5WN)); used when the directory has no ``lexnames`` file
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather "
    "adj.ppl").split()
_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_INSTALL = ("install it with `apt-get install -y wordnet-base` (files in /usr/share/wordnet) or with NLTK: "
            "`python -c \"import nltk; nltk.download('wordnet')\"`, or pass path=")


def candidate_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("WNHOME"):
        dirs += [Path(os.environ["WNHOME"]) / "dict", Path(os.environ["WNHOME"])]
    dirs += [Path("/usr/share/wordnet"), Path("/usr/local/share/wordnet"), Path("/usr/share/wordnet/dict")]
    nltk_roots = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    nltk_roots += [str(Path.home() / "nltk_data"), "/usr/share/nltk_data", "/usr/local/share/nltk_data",
                   "/usr/lib/nltk_data", "/usr/local/lib/nltk_data"]
    dirs += [Path(r) / "corpora" / "wordnet" for r in nltk_roots]
    return dirs


def _is_wordnet_dir(d: Path) -> bool:
    return all((d / f"{kind}.{name}").is_file() for name in _FILES.values() for kind in ("data", "index"))


def find_wordnet(path: str | Path | None = None) -> Path:
    """The WordNet database directory: ``path``, or the first standard location that has one."""
    if path is not None:
        d = Path(path).expanduser()
        if _is_wordnet_dir(d):
            return d
        missing = [f"{k}.{n}" for n in _FILES.values() for k in ("data", "index") if not (d / f"{k}.{n}").is_file()]
        raise DatasetNotFoundError(f"{d}: not a WordNet database directory (missing {', '.join(missing)}); "
                                   + _INSTALL)
    for d in candidate_dirs():
        if _is_wordnet_dir(d):
            return d
    raise DatasetNotFoundError("WordNet not found in " + ", ".join(str(d) for d in candidate_dirs()[:4])
                               + " or an NLTK data directory; " + _INSTALL)


def _lexnames(d: Path) -> list[str]:
    f = d / "lexnames"
    if f.is_file():
        names = {}
        for line in f.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                names[int(parts[0])] = parts[1]
        return [names.get(i, f"lexfile.{i}") for i in range(max(names) + 1)]
    return list(LEXNAMES)


def read_index(d: Path, satellites: bool = True) -> dict[tuple[str, str], list[int]]:
    """(lemma, pos) -> synset offsets in sense order, from ``index.*`` (pos in n/v/a/r).

    With ``satellites``, adjectives are also listed under pos ``s`` (as NLTK names them).
    """
    senses: dict[tuple[str, str], list[int]] = {}
    for pos, name in _FILES.items():
        path = d / f"index.{name}"
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.startswith(" "):  # licence header
                    continue
                tok = line.split()
                try:
                    lemma, n_synsets, n_ptrs = tok[0], int(tok[2]), int(tok[3])
                    offsets = [int(x) for x in tok[6 + n_ptrs:6 + n_ptrs + n_synsets]]
                except (IndexError, ValueError):
                    raise GraphFormatError(f"malformed index line: {line[:80]!r}", path, lineno) from None
                if len(offsets) != n_synsets:
                    raise GraphFormatError(f"expected {n_synsets} synset offsets: {line[:80]!r}", path, lineno)
                senses[(lemma, pos)] = offsets
                if pos == "a" and satellites:
                    senses[(lemma, "s")] = offsets
    return senses


_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def read_wordnet(d: Path, relations=DEFAULT_RELATIONS, add_inverse: bool = False):
    from kgattn.graph import KnowledgeGraph

    wanted = {sym: name for sym, name in POINTERS.items() if name in set(relations)}
    unknown = set(relations) - set(POINTERS.values())
    if unknown:
        raise ValueError(f"unknown WordNet relations {sorted(unknown)}; known: {sorted(set(POINTERS.values()))}")
    rel_names = sorted(set(wanted.values()))
    rel_id = {sym: rel_names.index(name) for sym, name in wanted.items()}
    lexnames = _lexnames(d)
    senses = read_index(d)

    keys: list[tuple[str, int]] = []  # (file pos, offset) of each synset in reading order
    ids, names, types, glosses = [], [], [], []
    ptr_src, ptr_pos, ptr_off, ptr_rel = [], [], [], []
    for fpos, fname in _FILES.items():
        path = d / f"data.{fname}"
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.startswith(" "):
                    continue
                try:
                    fields, _, gloss = line.partition(" | ")
                    tok = fields.split()
                    offset, lexnum, ss_type, n_words = int(tok[0]), int(tok[1]), tok[2], int(tok[3], 16)
                    lemmas = [_MARKER.sub("", tok[4 + 2 * k]) for k in range(n_words)]
                    k = 4 + 2 * n_words
                    n_ptrs = int(tok[k])
                    me = len(keys)
                    for j in range(k + 1, k + 1 + 4 * n_ptrs, 4):
                        sym = tok[j]
                        if sym in rel_id:
                            ptr_src.append(me)
                            ptr_pos.append("a" if tok[j + 2] == "s" else tok[j + 2])
                            ptr_off.append(int(tok[j + 1]))
                            ptr_rel.append(rel_id[sym])
                    first = lemmas[0].lower()
                    sense = senses[(first, ss_type)].index(offset) + 1
                except (IndexError, ValueError, KeyError) as e:
                    raise GraphFormatError(f"malformed synset line ({type(e).__name__}: {e}): {line[:80]!r}",
                                           path, lineno) from None
                keys.append((fpos, offset))
                ids.append(f"{first}.{ss_type}.{sense:02d}")
                names.append([w.replace("_", " ") for w in lemmas])
                types.append([lexnames[lexnum]])
                glosses.append(gloss.strip())
    n = len(keys)
    where = {key: i for i, key in enumerate(keys)}
    try:
        dst = np.fromiter((where[(p, o)] for p, o in zip(ptr_pos, ptr_off)), dtype=np.int64, count=len(ptr_off))
    except KeyError as e:
        raise GraphFormatError(f"pointer to a synset that no data file holds: {e.args[0]}", d) from None
    src = np.asarray(ptr_src, dtype=np.int64)
    rel = np.asarray(ptr_rel, dtype=np.int64)
    # Lifting lemma pointers to synsets repeats edges; merging them is expected, not an input error.
    packed = np.unique(np.stack([src, dst, rel], axis=1), axis=0)
    merged = src.size - packed.shape[0]
    # Canonical node order: sorted by id.
    order = sorted(range(n), key=ids.__getitem__)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n)
    return KnowledgeGraph.from_arrays(
        [ids[i] for i in order], rank[packed[:, 0]], rank[packed[:, 1]], packed[:, 2], rel_names,
        aliases=[names[i] for i in order], types=[types[i] for i in order],
        descriptions=[glosses[i] for i in order], add_inverse=add_inverse, source=str(d),
        metadata={"source": str(d), "dataset": "wordnet", "pointers_read": int(src.size),
                  "lemma_pointer_repeats_merged": int(merged)})


def wordnet(path: str | Path | None = None, relations=DEFAULT_RELATIONS, add_inverse: bool = False,
            cache: bool = True):
    """WordNet 3.0 (117,659 synsets) from ``path``, ``/usr/share/wordnet`` or an NLTK data directory.

    With ``cache=True`` the imported graph is saved under ``$KGATTN_CACHE/graphs`` keyed by the
    database files' paths, sizes and mtimes and the options; later calls memory-map it.
    Raises :class:`~kgattn.errors.DatasetNotFoundError` (saying how to install it) when absent.
    """
    d = find_wordnet(path)
    relations = tuple(relations)
    build = lambda: read_wordnet(d, relations, add_inverse)  # noqa: E731
    if not cache:
        return build()
    from kgattn.graph.cache import cached_graph

    sources = [d / f"{k}.{n}" for n in _FILES.values() for k in ("data", "index")]
    if (d / "lexnames").is_file():
        sources.append(d / "lexnames")
    return cached_graph("wordnet", sources, {"relations": sorted(relations), "add_inverse": add_inverse}, build)
