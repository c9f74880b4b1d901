"""Mention rules: which spans may link an *entity* node, from how the text writes them.

On a broad graph (Freebase, Wikidata) nearly every common word is also the name of some film,
band or town, and a capitalised word is often one piece of a longer name the graph lacks. Hand-
judging 100 CoNLL-2003 sentences linked to FB15k-237 (``benchmarks/RESULTS.md``, "Linking
precision on news text") found these the commonest errors: "saw" -> the film *Saw*, "Munich" of
"Bayern Munich" -> the film *Munich*, "the U" of "the U.N." -> the film *The U*. Scores do not
separate them from right links (a higher NIL threshold costs as much recall as it buys
precision); the spelling does. :class:`MentionRules` holds three switches, each a field of the
linker's ``rules`` option (``EntityLinker(kg, rules={"whole_names": False})``, or the pipeline
spec's ``linker.rules``):

``cased_entities`` (default on)
    A mention written all in lower case ("saw", "lost", "ministry") does not link an entity node
    (:class:`~kgattn.graph.entities.EntityTest`: a person, place, work, organisation); concept
    nodes -- WordNet common nouns, professions, genres -- still link, so a common word keeps its
    concept sense. English writes proper names with a capital, so on cased text this removes
    wrong links and almost no right ones. It does nothing in a text without any capital letter
    (a lower-cased query or tweet), where case says nothing; a sentence's first word counts as
    neither case ("The tourists" is lower case, "Lost" at a sentence start is not).
``whole_names`` (default on)
    A capitalised mention with a capitalised neighbour word -- directly, or across a connector
    such as "of" ("Gulf of Mexico") -- is a piece of a longer name the graph does not know as a
    whole ("Munich" of "Bayern Munich", "Sun" of "Sun Jun"), and does not link an entity node.
    Neighbours that do not make a name: stop words ("The", "In"), a sentence's first word (its
    capital says nothing), titles, days and months ("President Clinton", "On Monday Jordan",
    :data:`TITLES`) and words the graph
    knows as a concept ("Pope"). Off in mostly-upper-case text (headlines, sports tables), where
    every word is capitalised. Known cost: title-case headlines ("Bayern Beat Hamburg") and names
    the graph lacks in a longer form drop links that might have been right.
``whole_initialisms`` (default on)
    An initialism with periods ("U.S.", "U.N.", "A.C.") is one unit: no match may start or end
    inside it ("the U" of "the U.N." is not a mention), and a single initial ("N." of
    "N. Ireland") is a capitalised neighbour for ``whole_names``. It only removes matches that
    cut a word apart, so it cannot remove a right link.

The rules remove candidates before scoring; a span left with none is no mention (a shorter name
inside it may match instead, as with ``node_types``). Linkers saved before the rules existed load
with all three off, so they keep linking as they did.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from kgattn.errors import ConfigError
from kgattn.linking.text import Tokens

#: Capitalised words next to a name that are not part of it: titles ("President Clinton"), days, months.
TITLES = frozenset("""mr mrs ms dr sir lord lady dame president minister premier chancellor king queen prince
princess pope cardinal bishop archbishop father rev senator governor mayor general gen colonel col captain
capt major lieutenant lt sergeant sgt admiral commander judge justice chairman chief secretary ambassador
coach manager leader deputy vice prime foreign finance interior defence defense trade economy state
president-elect sheikh emir sultan ayatollah rabbi imam saint professor prof""".split()) | frozenset(
    # Days and months are capitalised but join no name ("On Monday Jordan said").
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec""".split())
#: Lower-case words that join two parts of one name ("Gulf of Mexico", "Banco de Espana").
CONNECTORS = frozenset("of de del da di van von der la le du y".split())


@dataclass(frozen=True)
class MentionRules:
    """Which spelling rules restrict entity links (see the module docstring for each)."""

    cased_entities: bool = True
    whole_names: bool = True
    whole_initialisms: bool = True

    @classmethod
    def off(cls) -> "MentionRules":
        """No rule: the linker as it was before the rules (how old saved linkers load)."""
        return cls(**{f.name: False for f in fields(cls)})

    @property
    def any_entity_rule(self) -> bool:
        return self.cased_entities or self.whole_names


def mention_rules(value, name: str = "rules") -> MentionRules:
    """``value`` as :class:`MentionRules`: the dataclass, a dict of some of its fields, or None
    (the defaults). Unknown or non-boolean fields raise ConfigError naming the key."""
    if value is None:
        return MentionRules()
    if isinstance(value, MentionRules):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a dict of {[f.name for f in fields(MentionRules)]} "
                          f"or a MentionRules, got {type(value).__name__}")
    known = {f.name for f in fields(MentionRules)}
    for key, v in value.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: no such rule (known: {sorted(known)})")
        if not isinstance(v, bool):
            raise ConfigError(f"{name}.{key} must be true or false, got {v!r}")
    return MentionRules(**value)


class TextRules:
    """The rules applied to the spans of one tokenised text (built once per text).

    Args:
        rules: the switches.
        text, toks: the text and its pieces.
        is_entity: ``node -> bool`` (:class:`~kgattn.graph.entities.EntityTest`).
        stop_words: casefolded words that never make a name.
        concept_word: ``piece -> bool``: the graph knows the word alone as a concept ("pope").
    """

    def __init__(self, rules: MentionRules, text: str, toks: Tokens, is_entity: Callable[[int], bool],
                 stop_words: frozenset[str], concept_word: Callable[[str], bool]):
        self.rules, self.text, self.toks = rules, text, toks
        self.is_entity, self.stop_words, self.concept_word = is_entity, stop_words, concept_word
        # Case says something only in mixed-case text: not all lower, not mostly capitals.
        # (map over str methods: C-speed scans, the text may be long)
        uppers = sum(map(str.isupper, text))
        letters = sum(map(str.isalpha, text)) if uppers else 0
        self.has_capitals = uppers > 0
        self.mostly_upper = letters >= 4 and uppers > 0.6 * letters
        self.run_of = _initialism_runs(toks) if rules.whole_initialisms or rules.whole_names else {}

    # ------------------------------------------------------------------ rule (c)
    def cuts_initialism(self, first: int, stop: int) -> bool:
        """The span [first, stop) starts or ends inside an initialism of two or more letters."""
        if not self.rules.whole_initialisms or not self.run_of:
            return False
        a = self.run_of.get(first)
        if a is not None and a[2] >= 2 and first != a[0]:
            return True
        b = self.run_of.get(stop - 1)
        return b is not None and b[2] >= 2 and stop - 1 < b[1]

    # ------------------------------------------------------------------ rules (a) and (b)
    def filter(self, cands: list, first: int, stop: int) -> list:
        """``cands`` without the entity nodes the rules forbid for the span [first, stop)."""
        if not cands or not self.rules.any_entity_rule or not self._blocks_entities(first, stop):
            return cands
        return [c for c in cands if not self.is_entity(c[0])]

    def _blocks_entities(self, first: int, stop: int) -> bool:
        toks = self.toks
        begin = toks.start[first]
        if toks.sentence_start(first) and stop - first > 1:
            begin = toks.start[first + 1]  # a sentence's first capital says nothing: "The tourists"
        surface = self.text[begin:toks.end[stop - 1]]
        if self.rules.cased_entities and self.has_capitals and surface == surface.lower() \
                and surface != surface.upper():
            return True  # "saw", "lost": lower case in cased text
        return self.piece_of_name(first, stop)

    def piece_of_name(self, first: int, stop: int) -> bool:
        """``whole_names``: the span is a capitalised piece of a longer capitalised name."""
        toks = self.toks
        if self.rules.whole_names and not self.mostly_upper and toks.first_upper(first):
            return self._name_like(first - 1, -1) or self._name_like(stop, 1)
        return False

    def _name_like(self, i: int, step: int, across: bool = True) -> bool:
        """Piece ``i`` (left of a span when ``step`` is -1) continues a capitalised name."""
        toks = self.toks
        if i < 0 or i >= len(toks):
            return False
        run = self.run_of.get(i)
        if run is not None:
            return True  # "N." of "N. Ireland", "U.S." of "U.S. Open"
        word = self.text[toks.start[i]:toks.end[i]]
        if across and word in CONNECTORS:
            return self._name_like(i + step, step, across=False)
        if not word[:1].isupper() or not word.isalpha():
            return False
        norm = toks.norm[i]
        if norm in self.stop_words or norm in TITLES or toks.sentence_start(i):
            return False
        return not self.concept_word(norm)


def _initialism_runs(toks: Tokens) -> dict[int, tuple[int, int, int]]:
    """piece -> (first piece, last letter piece, letters) of each initialism: single letters joined
    by adjacent periods ("U.S.", "U.N.", "e.g."), or a lone capital initial with its period ("N.")."""
    out: dict[int, tuple[int, int, int]] = {}
    text, n = toks.text, len(toks)

    def letter(k: int) -> bool:
        return toks.end[k] - toks.start[k] == 1 and text[toks.start[k]].isalpha()

    def dot_after(k: int) -> bool:
        return k + 1 < n and toks.norm[k + 1] == "." and toks.start[k + 1] == toks.end[k]

    i = 0
    while i < n:
        if not (letter(i) and dot_after(i)):
            i += 1
            continue
        last, j = i, i + 2
        while j < n and letter(j) and toks.start[j] == toks.end[j - 1]:
            last = j
            j += 1
            if not dot_after(last):
                break
            j += 1
        letters = (last - i) // 2 + 1
        # A lone lower-case letter with a period ("a.") is no initial; a lone capital is.
        if letters >= 2 or text[toks.start[i]].isupper():
            for k in range(i, j):
                out[k] = (i, last, letters)
        i = j
    return out


def rules_spec_fields() -> dict[str, tuple[type, bool]]:
    """``name -> (type, default)`` of every rule: what the pipeline spec's ``linker.rules`` is built
    from, so the spec's keys and defaults are the linker's, declared once here."""
    return {f.name: (bool, f.default) for f in fields(MentionRules)}
