"""Pass 1 of the streaming import: N-Triples -> term ids and spill files, in bounded memory.

pyoxigraph's Rust N-Triples parser reads the file (plain or ``.gz``) as a stream; every triple is
classified exactly as :func:`kgattn.graph.rdf.map_triples` classifies it, but instead of being
kept as Python objects it becomes a row of integers in a spill file (:class:`SpillFile`,
flushed every ``chunk_triples`` triples):

* every IRI used as a subject or a non-literal object gets a *term id* in order of first
  appearance (``terms``, a dict IRI -> id: the only structure that grows with the graph, about
  150-250 bytes per distinct IRI); predicates get *predicate ids* in a small dict of their own;
* ``edges`` int32 [E, 3]: ``(subject term, predicate, object term)`` of every triple between two
  resources that is not ``rdf:type`` (with ``type_edges``: also the ``rdf:type`` ones);
* ``types`` int32 [T, 2]: ``(subject term, class term)`` of every ``rdf:type`` triple;
* ``literals`` int32 [L, 2]: ``(subject term, code)`` with ``code = 2 * predicate + untagged``,
  or ``-1`` for a literal dropped by the language filter (kept so that its subject counts as
  described); ``literal_lengths`` int64 [L] and ``literal_blob`` uint8: the UTF-8 values.

Blank nodes need the whole file's triples that mention them to get content-derived labels
(rdflib's canonical labelling, as the in-memory reader does): their triples are kept in memory
(rdflib terms) and labelled when the file ends, then classified like the others. Bad input
raises the same :class:`~kgattn.errors.GraphFormatError` (file and line) as the in-memory reader.
"""
from __future__ import annotations

import contextlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgattn.errors import GraphFormatError
from kgattn.graph.npy_files import SpillFile
from kgattn.graph.rdf_parse import (_GZIP_ERRORS, MAX_LITERAL_LENGTH, Lit, _canonical_bnode_triples, _checked,
                                    _gzip_error, _ox_line, _ox_to_rdflib, _plain, _too_long)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def lang_ok(lang: str | None, language: str | None) -> bool:
    """``lang`` is ``language`` or a sub-tag of it (``en-GB`` for ``en``); untagged always passes."""
    if lang is None or language is None:
        return True
    lang, language = lang.lower(), language.lower()
    return lang == language or lang.startswith(language + "-")


@dataclass
class Spills:
    """What pass 1 leaves: term and predicate vocabularies, spill files and counts."""

    terms: dict[str, int]
    predicates: dict[str, int]
    edges: SpillFile
    types: SpillFile
    literals: SpillFile
    literal_lengths: SpillFile
    literal_blob: SpillFile
    triples: int = 0
    lang_filtered: int = 0
    engine: dict = field(default_factory=dict)

    def remove(self) -> None:
        for spill in (self.edges, self.types, self.literals, self.literal_lengths, self.literal_blob):
            spill.remove()


class _Progress:
    """A readable file object that reports the bytes read to a tqdm bar (or to nothing)."""

    def __init__(self, raw, bar):
        self._raw, self._bar = raw, bar

    def read(self, n=-1):
        data = self._raw.read(n)
        if self._bar is not None:
            self._bar.update(len(data))
        return data

    def readinto(self, b):
        n = self._raw.readinto(b)
        if self._bar is not None and n:
            self._bar.update(n)
        return n

    def readable(self):
        return True

    def close(self):
        self._raw.close()


class NTriplesSpiller:
    """Classify triples into spill files (see the module docstring); one instance per import."""

    def __init__(self, scratch: Path, language: str | None, type_edges: bool, chunk_triples: int,
                 max_literal_length: int = MAX_LITERAL_LENGTH):
        self.language, self.type_edges = language, type_edges
        self.chunk_triples = max(1, int(chunk_triples))
        self.max_literal_length = max_literal_length
        self.spills = Spills(terms={}, predicates={}, edges=SpillFile(scratch / "edges.i32", np.int32, 3),
                             types=SpillFile(scratch / "types.i32", np.int32, 2),
                             literals=SpillFile(scratch / "literals.i32", np.int32, 2),
                             literal_lengths=SpillFile(scratch / "literal_lengths.i64", np.int64),
                             literal_blob=SpillFile(scratch / "literal_blob.u8", np.uint8))
        self._lang_cache: dict = {}
        self._edges, self._types, self._lits = array("i"), array("i"), array("i")
        self._values: list[str] = []
        self._pending = 0

    def _reset_buffers(self) -> None:
        """Empty the buffers in place (the hot loop holds their bound methods)."""
        for buffer in (self._edges, self._types, self._lits):
            del buffer[:]
        self._values.clear()
        self._pending = 0

    # ------------------------------------------------------------------ one file
    def read_file(self, path: Path, bar=None) -> None:
        """Stream one N-Triples file (``.gz`` ok) into the spills."""
        import gzip

        import pyoxigraph as ox

        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        bnode_triples: list = []
        raw = _Progress(open(path, "rb"), bar)
        try:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if path.suffix.lower() == ".gz" else raw
            self._parse(ox.parse(stream, ox.RdfFormat.N_TRIPLES, base_iri=path.resolve().as_uri()),
                        path, bnode_triples)
        except SyntaxError as e:
            text = str(e.msg if hasattr(e, "msg") else e)
            if "escape sequence" in text and "not a valid unicode character" in text:
                raise GraphFormatError("pyoxigraph refuses a UTF-16 surrogate-pair escape (\\uD8xx\\uDCxx) "
                                       "in this file; import it with streaming=False (--no-streaming), "
                                       "whose rdflib fallback decodes it", path, _ox_line(e)) from None
            raise GraphFormatError(f"malformed nt: {text}", path, _ox_line(e)) from None
        except _GZIP_ERRORS as e:
            raise _gzip_error(e, path) from None
        finally:
            raw.close()
        if bnode_triples:
            # Blank node labels are file-local: canonicalise each file's share separately.
            for s, p, o in _checked(_plain(_canonical_bnode_triples(bnode_triples)), path,
                                    self.max_literal_length, False):
                self.add(s, p, o)
        self.flush()
        self.spills.engine[str(path)] = "oxigraph"

    def _parse(self, quads, path: Path, bnode_triples: list) -> None:
        """The hot loop. Measured at 2M edges (2.88M triples, gzip): 27 s on the shared machine,
        ~9.5 us per triple, about a third of it pyoxigraph's parsing alone (raw iteration ~4.4 us)
        and the rest the term objects, the dict lookups and the buffer appends."""
        import pyoxigraph as ox

        NamedNode, BlankNode, Literal = ox.NamedNode, ox.BlankNode, ox.Literal
        terms, preds = self.spills.terms, self.spills.predicates
        edges_extend, types_extend, lits_extend = self._edges.extend, self._types.extend, self._lits.extend
        values_append = self._values.append
        lang_cache, language, limit = self._lang_cache, self.language, self.max_literal_length
        type_edges, chunk = self.type_edges, self.chunk_triples
        rdf_type_id = preds.setdefault(RDF_TYPE, len(preds))
        n = 0
        for q in quads:
            s, o = q.subject, q.object
            ts, to = type(s), type(o)
            if ts is not NamedNode or (to is not NamedNode and to is not Literal):
                if ts is BlankNode or to is BlankNode:
                    bnode_triples.append(_ox_to_rdflib(s, q.predicate, o))
                    continue
                raise GraphFormatError(f"unsupported RDF term (RDF-star triple term?): {q}", path)
            sv = s.value
            sid = terms.get(sv)
            if sid is None:
                sid = terms[sv] = len(terms)
            pv = q.predicate.value
            pid = preds.get(pv)
            if pid is None:
                pid = preds[pv] = len(preds)
            if to is Literal:
                lang = o.language
                ok = True
                if lang is not None and language is not None:
                    ok = lang_cache.get(lang)
                    if ok is None:
                        ok = lang_cache[lang] = lang_ok(lang, language)
                if ok:
                    value = o.value
                    if len(value) > limit:
                        _too_long(value, sv, pv, path, limit)
                    lits_extend((sid, 2 * pid + (lang is None)))
                    values_append(value)
                else:
                    lits_extend((sid, -1))
                    values_append("")
            else:
                ov = o.value
                oid = terms.get(ov)
                if oid is None:
                    oid = terms[ov] = len(terms)
                if pid == rdf_type_id:
                    types_extend((sid, oid))
                    if type_edges:
                        edges_extend((sid, pid, oid))
                else:
                    edges_extend((sid, pid, oid))
            n += 1
            if n == chunk:
                self.spills.triples += n
                n = 0
                self.flush()
        self.spills.triples += n

    # ------------------------------------------------------------------ slow path (blank nodes)
    def add(self, s: str, p: str, o) -> None:
        """Classify one plain triple ``(subject, predicate, object str | Lit)`` (blank-node triples)."""
        terms, preds = self.spills.terms, self.spills.predicates
        sid = terms.setdefault(s, len(terms))
        pid = preds.setdefault(p, len(preds))
        self.spills.triples += 1
        if isinstance(o, Lit):
            if lang_ok(o.lang, self.language):
                self._lits.extend((sid, 2 * pid + (o.lang is None)))
                self._values.append(o.value)
            else:
                self._lits.extend((sid, -1))
                self._values.append("")
        else:
            oid = terms.setdefault(o, len(terms))
            if p == RDF_TYPE:
                self._types.extend((sid, oid))
            if p != RDF_TYPE or self.type_edges:
                self._edges.extend((sid, pid, oid))
        self._pending += 1
        if self._pending >= self.chunk_triples:
            self.flush()

    def flush(self) -> None:
        """Append the buffered rows to the spill files."""
        sp = self.spills
        if self._edges:
            sp.edges.append(np.array(self._edges, dtype=np.int32))
        if self._types:
            sp.types.append(np.array(self._types, dtype=np.int32))
        if self._lits:
            lits = np.array(self._lits, dtype=np.int32)
            sp.literals.append(lits)
            sp.lang_filtered += int(np.count_nonzero(lits[1::2] == -1))
            encoded = [v.encode("utf-8") for v in self._values]
            sp.literal_lengths.append(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
            sp.literal_blob.append_bytes(b"".join(encoded))
        self._reset_buffers()


def spill_ntriples(paths: list[Path], scratch: Path, language: str | None, type_edges: bool,
                   chunk_triples: int, max_literal_length: int, progress: bool) -> Spills:
    """Pass 1 over every file (a tqdm bar of compressed bytes read when ``progress``)."""
    spiller = NTriplesSpiller(scratch, language, type_edges, chunk_triples, max_literal_length)
    total = sum(p.stat().st_size for p in paths if p.is_file())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, desc="parse", dynamic_ncols=True)
    try:
        for path in paths:
            spiller.read_file(path, bar)
    except BaseException:
        spiller.spills.remove()  # closes the spill files (their folder goes with the import)
        raise
    finally:
        if bar is not None:
            with contextlib.suppress(Exception):
                bar.close()
    for spill in (spiller.spills.edges, spiller.spills.types, spiller.spills.literals,
                  spiller.spills.literal_lengths, spiller.spills.literal_blob):
        spill.finish()
    return spiller.spills
