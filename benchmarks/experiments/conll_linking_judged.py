"""Linking precision and recall on 100 CoNLL-2003 test sentences with FB15k-237, judged by hand.

Sample: ``random.Random(0).sample(range(3453), 100)`` of the sentences of ``conll2003/test.txt``
(Reuters news, December 1996), linked as whole sentences (no brackets) by ``EntityLinker(fb15k237())``
(the default then: ``disambiguate="context"`` with the static encoder, no spelling rules) and by the same linker with
``disambiguate="prior"``. Every linked (sentence, mention, node) pair of either mode was judged once
by one engineer (the helper session "pseudo"), reading the node's Freebase id, label and the
relations it heads (FB15k-237 has no descriptions); nobody else has reviewed the judgements.

Verdicts (``LINKS``):

* ``right``: the node is the thing the mention names;
* ``right concept``: a common word linked to a concept node of the same meaning ("surgery" ->
  Surgery, "manager" -> Manager, "November" -> November);
* errors, by type: ``common word -> named work`` (a lower-case word linked to a film, TV series,
  band or person that bears it as a title or name: "saw" -> Saw, "lost" -> Lost, "ministry" ->
  Ministry), ``common word, wrong sense`` ("major abuses" -> Major, the job title), ``piece of a
  longer name`` ("Munich" of "Bayern Munich", "Romania" of "Radio Romania", "Sun" of the player
  "Sun Jun"), ``abbreviation split`` ("the U" of "the U.N." -> the film The U, "Ireland" of
  "N. Ireland"), ``city for its team`` (sports results naming a club or franchise by its city:
  "VANCOUVER 14 11 1 84 83 29" is the Vancouver Canucks), ``wrong entity of the same name``
  (the dateline "NEW YORK" -> New York State; Santa Fe Pacific Gold -> the city Santa Fe).

Recall (``GOLD``): every CoNLL gold mention of the sample with the FB15k-237 node it refers to, or
None when the graph has no node for it (searched by name and name variants in entity2text.txt).
Nationality adjectives (MISC "French") refer to their country, as in AIDA-CoNLL; a city name
standing for a sports club refers to the club. A gold mention is found when a link to its node
overlaps its span.

    OMP_NUM_THREADS=1 KGATTN_DATA=../shared/data .venv/bin/python \
        benchmarks/experiments/conll_linking_judged.py benchmarks/results/experiments/conll_linking_judged.json
"""
from __future__ import annotations

import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from kgattn import EntityLinker
from kgattn.datasets import fb15k237
from kgattn.datasets.conll import read_conll, sentence_spans
from kgattn.graph.entities import entity_nodes
from kgattn.graph import normalize_alias
from kgattn.linking import MentionRules
from kgattn.paths import data_dir
from kgattn.persistence import write_json

RIGHT, CONCEPT = "right", "right concept"
WORK, SENSE, PIECE, ABBR, TEAM, SAME = ("common word -> named work", "common word, wrong sense",
                                        "piece of a longer name", "abbreviation split", "city for its team",
                                        "wrong entity of the same name")

# (sentence index in test.txt, mention text, node id) -> verdict
LINKS = {
    (4, "China", "/m/0d05w3"): RIGHT, (4, "Uzbekistan", "/m/07t_x"): RIGHT,
    (4, "crashing", "/m/05sy_5"): WORK, (4, "saw", "/m/0fq7dv_"): WORK,
    (57, "Norway", "/m/05b4w"): RIGHT, (165, "Turkey", "/m/01znc_"): RIGHT,
    (302, "Shane", "/m/0k4bc"): PIECE,  # Shane Warne -> the film Shane
    (302, "captain", "/m/0g686w"): CONCEPT,  # "vice-captain" -> Captain (job title)
    (329, "China", "/m/0d05w3"): RIGHT, (329, "Malaysia", "/m/09pmkv"): RIGHT,
    (329, "Sun", "/m/06m_p"): PIECE,  # the badminton player Sun Jun -> the Sun
    (388, "VANCOUVER", "/m/080h2"): TEAM,  # NHL standings: Vancouver Canucks
    (404, "NEW YORK", "/m/059rby"): SAME,  # dateline: the city (/m/02_286), not the state
    (412, "Phoenix", "/m/0d35y"): TEAM,  # NHL score: Phoenix Coyotes
    (511, "SEATTLE", "/m/0d9jr"): TEAM,  # NFL standings: Seattle Seahawks
    (570, "lost", "/m/0828jw"): WORK,  # "played, won, drawn, lost" -> the TV series Lost
    (572, "PSV Eindhoven", "/m/0kqbh"): RIGHT, (583, "NAC Breda", "/m/02jgm0"): RIGHT,
    (601, "Munich", "/m/072x7s"): PIECE,  # "Bayern Munich" -> the film Munich
    (832, "Milan", "/m/0947l"): PIECE,  # "AC Milan" -> the city
    (837, "Verona", "/m/01n43d"): TEAM,  # Serie A fixture: Hellas Verona
    (894, "forward", "/m/02sdk9v"): SENSE,  # "look forward" -> Forward (position)
    (894, "good", "/m/04nm0n0"): WORK,
    (908, "Radio", "/m/064ndc"): PIECE, (908, "Romania", "/m/06c1y"): PIECE,  # "Radio Romania"
    (908, "news", "/m/05jhg"): CONCEPT,
    (977, "surgery", "/m/0cd25"): CONCEPT,
    (999, "Ireland", "/m/012wgb"): ABBR,  # "N. Ireland" is Northern Ireland
    (1026, "LONDON", "/m/04jpl"): RIGHT,
    (1060, "manager", "/m/047vnfs"): CONCEPT,
    (1066, "Finance", "/m/02_7t"): PIECE,  # "Private Finance Initiative"
    (1066, "Information technology", "/m/03ytc"): CONCEPT, (1066, "traffic", "/m/09cr8"): WORK,
    (1154, "Santa Fe", "/m/0f25y"): SAME,  # Santa Fe Pacific Gold, the takeover target
    (1192, "Kinshasa", "/m/0cf0s"): RIGHT, (1192, "food", "/m/02wbm"): CONCEPT,
    (1192, "government", "/m/036nz"): CONCEPT,
    (1242, "communities", "/m/05pbsry"): WORK, (1242, "major", "/m/01cpkt"): SENSE,
    (1295, "Paul", "/m/065_cjc"): PIECE,  # Pope John Paul -> the film Paul
    (1295, "Poland", "/m/05qhw"): RIGHT, (1295, "Pope", "/m/05rd8"): CONCEPT,
    (1295, "President", "/m/060c4"): CONCEPT, (1295, "Warsaw", "/m/081m_"): RIGHT,
    (1295, "minister", "/m/0377k9"): CONCEPT,
    (1310, "Moscow", "/m/04swd"): RIGHT, (1310, "blue", "/m/01g5v"): SENSE,  # "out of the blue"
    (1310, "bolt", "/m/06fcqw"): WORK, (1310, "economist", "/m/0frz0"): CONCEPT,
    (1332, "November", "/m/05cw8"): CONCEPT, (1352, "December", "/m/028kb"): CONCEPT,
    (1352, "Russia", "/m/06bnz"): RIGHT, (1362, "terrorism", "/m/07jq_"): CONCEPT,
    (1449, "Mexico", "/m/0b90_r"): PIECE,  # "Gulf of Mexico"
    (1466, "Canada", "/m/0d060g"): RIGHT, (1466, "February", "/m/02xx5"): CONCEPT,
    (1466, "January", "/m/03_ly"): CONCEPT, (1466, "Mexico", "/m/0b90_r"): RIGHT,
    (1466, "contacts", "/m/026lgs"): WORK,
    (1577, "interview", "/m/01jdpf"): CONCEPT,
    (1778, "Toledo", "/m/07l5z"): RIGHT,  # CBOT delivery location: Toledo, Ohio
    (1933, "government", "/m/036nz"): CONCEPT,
    (1952, "Ireland", "/m/012wgb"): RIGHT, (1952, "Michigan", "/m/04rrx"): RIGHT,
    (1952, "Newfoundland", "/m/059ss"): RIGHT, (1952, "airport", "/m/0pd57"): WORK,
    (1952, "crashed", "/m/05sy_5"): WORK,
    (1953, "airport", "/m/0pd57"): WORK, (1953, "crash", "/m/05sy_5"): WORK, (1953, "crash", "/m/06kl78"): WORK,
    (1953, "interview", "/m/01jdpf"): CONCEPT, (1953, "manager", "/m/047vnfs"): CONCEPT,
    (1990, "Syria", "/m/06vbd"): RIGHT, (1990, "Turkey", "/m/01znc_"): RIGHT,
    (2004, "AMARILLO", "/m/013n60"): RIGHT, (2021, "good", "/m/04nm0n0"): WORK,
    (2067, "New Mexico", "/m/05fjy"): RIGHT, (2067, "football player", "/m/0gl2ny2"): CONCEPT,
    (2067, "high school", "/m/0bpgx"): CONCEPT, (2067, "slash", "/m/01vv6_6"): WORK,  # the guitarist Slash
    (2094, "Alexander", "/m/049mql"): PIECE,  # Alexander Bavykin -> the film Alexander
    (2094, "Moscow", "/m/04swd"): RIGHT, (2094, "Russia", "/m/06bnz"): RIGHT,
    (2094, "ministry", "/m/01fchy"): WORK,  # the band Ministry
    (2213, "doubt", "/m/03cvvlg"): WORK, (2213, "hanging", "/m/0148xv"): SENSE,  # "hanging over"
    (2224, "house", "/m/04p5cr"): WORK, (2242, "CANBERRA", "/m/0dp90"): RIGHT,
    (2247, "Copenhagen", "/m/01lfy"): RIGHT, (2247, "the U", "/m/05f67hw"): ABBR,  # "the U.N."
    (2257, "police", "/m/05ws7"): CONCEPT,
    (2263, "Ministry", "/m/01fchy"): PIECE,  # "Commerce Ministry" -> the band
    (2292, "China", "/m/0d05w3"): RIGHT, (2292, "airport", "/m/0pd57"): WORK, (2292, "news", "/m/05jhg"): CONCEPT,
    (2324, "construction", "/m/01jnzj"): CONCEPT, (2324, "government", "/m/036nz"): CONCEPT,
    (2406, "Germany", "/m/0345h"): RIGHT,
    (2465, "Florence", "/m/031y2"): PIECE,  # the skier Florence Masnada
    (2465, "France", "/m/0f8l9c"): RIGHT, (2470, "Germany", "/m/0345h"): RIGHT,
    (2502, "Florence", "/m/031y2"): PIECE, (2502, "France", "/m/0f8l9c"): RIGHT,
    (2506, "Germany", "/m/0345h"): RIGHT,
    (2532, "World", "/m/09nm_"): PIECE,  # "World Cup" -> World (music genre)
    (2561, "Italy", "/m/03rjj"): RIGHT, (2736, "Netherlands", "/m/059j2"): RIGHT,
    (2801, "Northern Ireland", "/m/05bcl"): RIGHT, (2801, "premier", "/m/0fkx3"): SENSE,  # premier division
    (2894, "GLASGOW", "/m/0hyxv"): RIGHT,
    (2947, "Premier", "/m/0fkx3"): PIECE,  # "Premier league"
    (2991, "Bradford", "/m/020d8d"): TEAM,  # Bradford City A.F.C.
    (3095, "Ipswich", "/m/01qrcx"): TEAM,  # Ipswich Town F.C. (context mode: Ipswich, Queensland)
    (3095, "Ipswich", "/m/0pfd9"): TEAM, (3095, "Wolverhampton", "/m/0k5p1"): TEAM,
    (3104, "Blackpool", "/m/01hvzr"): TEAM,
    (3274, "TORONTO", "/m/0h7h6"): TEAM,  # NBA standings: Toronto Raptors
    (3289, "PORTLAND", "/m/02frhbc"): TEAM, (3297, "MILWAUKEE", "/m/0dyl9"): TEAM,
    (3297, "WASHINGTON", "/m/081yw"): TEAM,  # NBA schedule; the node is Washington State
    (3318, "NEW YORK", "/m/059rby"): SAME, (3336, "WASHINGTON", "/m/081yw"): TEAM,
    (3378, "COLORADO", "/m/01n4w"): TEAM,  # NHL score: Colorado Avalanche
    (3399, "Barcelona", "/m/01f62"): TEAM,  # "a 2-0 win over Barcelona": FC Barcelona
    (3399, "Madrid", "/m/056_y"): PIECE,  # "Real Madrid"
    (3399, "Spain", "/m/06mkj"): RIGHT,
}

# sentence index -> every gold mention, in order: (text, FB15k-237 node id or None)
GOLD = {
    4: [("China", "/m/0d05w3"), ("Uzbekistan", "/m/07t_x")],
    57: [("Korneilus Hole", None), ("Norway", "/m/05b4w")],
    165: [("Ulker Spor", None), ("Turkey", "/m/01znc_")],
    255: [("B. Lara", None), ("Warne", None), ("Moody", None)],
    257: [("C. Hooper", None)],
    302: [("West Indies", "/m/098knd"), ("Tom Moody", None), ("Shane Warne", None)],
    329: [("Sun Jun", None), ("China", "/m/0d05w3"), ("Rashid Sidek", None), ("Malaysia", "/m/09pmkv")],
    373: [("NY RANGERS", "/m/0hmtk")], 382: [("ST LOUIS", "/m/06x6s")], 388: [("VANCOUVER", "/m/0jnnx")],
    404: [("NEW YORK", "/m/02_286")], 412: [("Phoenix", "/m/0jnr3"), ("ST LOUIS", "/m/06x6s")],
    511: [("SEATTLE", "/m/070xg")], 572: [("PSV Eindhoven", "/m/0kqbh")], 583: [("NAC Breda", "/m/02jgm0")],
    601: [("Bayern Munich", "/m/0175rc")], 782: [("Espanyol", "/m/025txtg")],
    832: [("AC Milan", "/m/011v3"), ("Udinese", "/m/0138mv")],
    837: [("Napoli", "/m/048xg8"), ("Verona", "/m/03n5v")],
    908: [("Radio Romania", None)], 977: [("Havel", None)], 999: [("N. Ireland", "/m/05bcl")],
    1026: [("LONDON", "/m/04jpl")], 1066: [("Electronic Data Systems", None)],
    1154: [("Santa Fe", None), ("Newmont", None)],
    1192: [("Kinshasa", "/m/0cf0s"), ("Zairean", "/m/088xp"), ("Zaire", "/m/088xp")],
    1234: [("Moustapha Niasse", None)], 1242: [("French", "/m/0f8l9c")], 1270: [("Mafikeng", None)],
    1295: [("Poland", "/m/05qhw"), ("Aleksander Kwasniewski", None), ("John Paul", None),
           ("Vatican", "/m/07ytt"), ("Warsaw", "/m/081m_")],
    1310: [("Christopher Granville", None), ("United City Bank", None), ("Moscow", "/m/04swd")],
    1352: [("Russia", "/m/06bnz"), ("Yeltsin", None), ("Kremlin", None)],
    1362: [("TASR", None)], 1449: [("Gulf of Mexico", None)],
    1466: [("Mexico", "/m/0b90_r"), ("Aninat", None), ("Canada", "/m/0d060g")],
    1577: [("Matsushita", None), ("Nihon Keizai Shimbun", None)], 1658: [("U.S. Municipal Desk", None)],
    1778: [("Toledo", "/m/07l5z")], 1933: [("Salomon", None)],
    1952: [("Ireland", "/m/012wgb"), ("Michigan", "/m/04rrx"), ("Stephenville", None), ("Newfoundland", "/m/059ss")],
    1953: [("Learjet 36", None), ("David Snow", None)],
    1990: [("Turkey", "/m/01znc_"), ("Syria", "/m/06vbd"), ("PKK", None), ("Kurdish", None), ("Turkey", "/m/01znc_")],
    2004: [("AMARILLO", "/m/013n60")], 2067: [("New Mexico", "/m/05fjy")],
    2094: [("Alexander Bavykin", None), ("Russia", "/m/06bnz"), ("Moscow", "/m/04swd")],
    2135: [("Denmark", "/m/0k6nt")],  # named "Denmark-GB" in entity2text.txt
    2181: [("Bundesbank", None)], 2213: [("Laurie Brereton", None)], 2224: [("Australian", "/m/0chghy")],
    2241: [("RTRS", None), ("Australian", "/m/0chghy"), ("John Langmore", None)],
    2242: [("CANBERRA", "/m/0dp90")],
    2247: [("U.N.", "/m/07t65"), ("Copenhagen", "/m/01lfy"), ("U.N.", "/m/07t65"), ("Inge Kaul", None)],
    2257: [("Shwe Dagon", None), ("Rangoon", "/m/0fs54")],  # Rangoon is named Yangon in the graph
    2263: [("Thai", "/m/07f1x"), ("Commerce Ministry", None), ("Thai", "/m/07f1x")],
    2292: [("China", "/m/0d05w3"), ("Guilin", None), ("Guangxi", None), ("Xinhua", None)],
    2324: [("Bre-X", None), ("Indonesian", "/m/03ryn"), ("Busang", None)],
    2389: [("Svetlana Gladishiva", None)], 2406: [("Katja Seizinger", None), ("Germany", "/m/0345h")],
    2465: [("Florence", None), ("Masnada", None), ("France", "/m/0f8l9c")],  # "Florence" (tagged LOC) is the skier's first name
    2470: [("Hilde Gerg", None), ("Germany", "/m/0345h")],
    2502: [("Florence Masnada", None), ("France", "/m/0f8l9c")],
    2506: [("Martina Ertl", None), ("Germany", "/m/0345h")],
    2532: [("World Cup", None)], 2561: [("Patrizia Bassis", None), ("Italy", "/m/03rjj")],
    2736: [("Marianne Timmer", None), ("Netherlands", "/m/059j2")], 2801: [("Northern Ireland", "/m/05bcl")],
    2894: [("GLASGOW", "/m/0hyxv")], 2947: [("Premier league", None)], 2989: [("Southend", "/m/02b18l")],
    2991: [("Bradford", "/m/027pwl")], 3095: [("Ipswich", "/m/01zhs3"), ("Wolverhampton", "/m/01fwqn")],
    3104: [("Blackpool", "/m/01kj5h"), ("Hednesford", "/m/02s6tk")],
    3210: [("Hapoel Beit She'an", None), ("Hapoel Beersheba", "/m/0f83g2")], 3215: [("Hapoel Petah Tikva", None)],
    3274: [("TORONTO", "/m/0jmcb")], 3289: [("PORTLAND", "/m/0jmm4")], 3290: [("LA CLIPPERS", "/m/0jmjr")],
    3297: [("MILWAUKEE", "/m/0jmbv"), ("WASHINGTON", "/m/0jm5b")], 3318: [("NEW YORK", "/m/02_286")],
    3336: [("WASHINGTON", "/m/0jnl5")], 3378: [("St Louis", "/m/06x6s"), ("COLORADO", "/m/0jbqf")],
    3391: [("SPANISH", "/m/06mkj")],
    3399: [("Real Madrid", "/m/06l22"), ("Balkan", None), ("Davor Suker", None), ("Predrag Mijatovic", None),
           ("Barcelona", "/m/0hvgt"), ("Spain", "/m/06mkj")],
    3441: [("Extremadura", None)],
}
# Name affixes of clubs and companies dropped by the proposed alias variants (see variants()).
AFFIXES = {"fc", "f.c.", "a.f.c.", "afc", "c.f.", "cf", "calcio", "rcd", "s.s.c.", "ssc"}
CONNECTORS = {"of", "de", "del", "da", "di", "van", "von", "der", "la", "le", "du"}
THRESHOLDS = (0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5)


def gold_spans(sentence) -> list[tuple[int, int]]:
    offsets, pos = [], 0
    for token in sentence.tokens:
        offsets.append(pos)
        pos += len(token) + 1
    return [(offsets[a], offsets[b - 1] + len(sentence.tokens[b - 1])) for a, b, _ in sentence_spans(sentence)]


def chosen_score(m) -> float:
    return next(c.score for c in m.candidates if c.node == m.node)


def evaluate(links: list[dict], gold: list[dict], threshold: float | None = None) -> dict:
    kept = [p for p in links if threshold is None or p["score"] >= threshold]
    ok = [p for p in kept if p["verdict"] in (RIGHT, CONCEPT)]
    ne = [p for p in kept if p["gold_span"]]
    in_graph = [g for g in gold if g["node"] is not None]
    found = [g for g in in_graph if any(p["sentence"] == g["sentence"] and p["node"] == g["node"]
                                        and p["start"] < g["end"] and g["start"] < p["end"] for p in kept)]
    return {"links": len(kept), "right": sum(p["verdict"] == RIGHT for p in kept),
            "right_concept": sum(p["verdict"] == CONCEPT for p in kept),
            "precision": round(len(ok) / len(kept), 4) if kept else None,
            "links_on_gold_entities": len(ne),
            "precision_on_gold_entities": round(sum(p["verdict"] == RIGHT for p in ne) / len(ne), 4) if ne else None,
            "gold_mentions": len(gold), "gold_in_graph": len(in_graph), "gold_found": len(found),
            "recall": round(len(found) / len(in_graph), 4) if in_graph else None,
            "errors": dict(Counter(p["verdict"] for p in kept if p["verdict"] not in (RIGHT, CONCEPT)).most_common())}


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) > 0.6 * len(letters)


def _piece_of_longer_name(text: str, start: int, end: int, stop: frozenset) -> bool:
    """The span has a capitalised neighbour token (not a stop word), directly or across "of"/"de"..."""
    toks, offs, pos = text.split(" "), [], 0
    for t in toks:
        offs.append(pos)
        pos += len(t) + 1
    inside = [k for k, o in enumerate(offs) if o < end and start < o + len(toks[k])]

    def name_like(k: int) -> bool:
        return 0 <= k < len(toks) and toks[k][:1].isupper() and toks[k].lower() not in stop

    for k, step in ((inside[0], -1), (inside[-1], 1)):
        j = k + step
        if name_like(j) or (0 <= j < len(toks) and toks[j] in CONNECTORS and name_like(j + step)):
            return True
    return False


def _initialism_split(text: str, start: int, end: int) -> bool:
    """The span ends inside an initialism ("the U" of "the U.N.") or follows one ("N. Ireland")."""
    before = text[:start].rstrip()
    inside = text[end:end + 1] == "." and text[start:end].split(" ")[-1].isupper() and len(text[start:end].split(" ")[-1]) == 1
    after_initial = len(before) >= 2 and before[-1] == "." and before[-2].isupper() and \
        (len(before) == 2 or not before[-3].isalpha())
    return inside or after_initial


def proposed_rules(links: list[dict], texts: dict[int, str], kg) -> dict:
    """Effect of three NIL rules the judgements suggest, on the same sample (in-sample estimate).

    ``case``: a lower-case mention (text not in capitals) never links an entity node
    (:func:`~kgattn.graph.entities.entity_nodes`); ``piece``: a capitalised mention of an entity
    node with a capitalised non-stop-word neighbour (or one across "of") is a piece of a longer
    name; ``initialism``: a span ending inside or right after an initialism ("U.N.", "N.").
    """
    from spacy.lang.en.stop_words import STOP_WORDS

    stop = frozenset(STOP_WORDS)
    entity = entity_nodes(kg)
    out = {}
    for rules in (("case",), ("piece",), ("initialism",), ("case", "piece", "initialism")):
        kept, removed = [], Counter()
        for p in links:
            text, node = texts[p["sentence"]], kg.node_index(p["node"])
            drop = ("case" in rules and not any(c.isupper() for c in p["text"]) and not _shouting(text)
                    and entity[node])
            drop |= ("piece" in rules and p["text"][:1].isupper() and bool(entity[node]) and not _shouting(text)
                     and _piece_of_longer_name(text, p["start"], p["end"], stop))
            drop |= "initialism" in rules and _initialism_split(text, p["start"], p["end"])
            if drop:
                removed[p["verdict"]] += 1
            else:
                kept.append(p)
        out["+".join(rules)] = {"removed": dict(removed.most_common()), "links": len(kept)}
        out["+".join(rules)].update(evaluate(kept, GOLD_ROWS))
    return out


def variants(label: str) -> set[str]:
    """Proposed extra aliases: the label without a "-GB"/"-US" suffix, without club affixes (FC, C.F.,
    Calcio...), initialisms without dots (A.C. -> AC), and the initials of a multi-word label (UN, U.N.)."""
    base = re.sub(r"-(GB|US)$", "", label)
    words = [w for w in base.split() if w.lower() not in AFFIXES]
    out = {base, " ".join(words), " ".join(w.replace(".", "") if re.fullmatch(r"(?:[A-Z]\.)+", w) else w
                                          for w in words)}
    caps = [w for w in base.split() if w[:1].isupper()]
    if len(caps) >= 2:
        out |= {"".join(w[0] for w in caps), "".join(w[0] + "." for w in caps)}
    return {normalize_alias(v) for v in out if v}


def recoverable(gold: list[dict], found_links: list[dict], kg) -> list[str]:
    """Gold mentions in the graph, not found, whose text is one of their node's proposed variants."""
    out = []
    for g in gold:
        if g["node"] is None or any(p["sentence"] == g["sentence"] and p["node"] == g["node"]
                                    and p["start"] < g["end"] and g["start"] < p["end"] for p in found_links):
            continue
        if normalize_alias(g["text"]) in variants(kg.label(kg.node_index(g["node"]))):
            out.append(f"{g['text']} -> {kg.label(kg.node_index(g['node']))}")
    return out


GOLD_ROWS: list[dict] = []


def main() -> int:
    out = Path(sys.argv[1])
    sentences = read_conll(data_dir() / "conll2003" / "test.txt")
    sample = sorted(random.Random(0).sample(range(len(sentences)), 100))
    texts = [sentences[i].text for i in sample]
    kg = fb15k237()
    gold = []
    for i in sample:
        spans = gold_spans(sentences[i])
        listed = GOLD.get(i, [])
        if [sentences[i].text[a:b] for a, b in spans] != [t for t, _ in listed]:
            raise SystemExit(f"sentence {i}: gold mentions {[sentences[i].text[a:b] for a, b in spans]} "
                             f"but GOLD lists {listed}")
        gold += [{"sentence": i, "text": t, "start": a, "end": b, "node": n} for (a, b), (t, n) in zip(spans, listed)]
    GOLD_ROWS[:] = gold
    result = {"sample": sample, "graph": kg.fingerprint, "modes": {}}
    for mode in ("context", "prior"):
        start = time.perf_counter()
        # Rules off: this measures the linker as it was judged (before kgattn.linking.rules);
        # conll_linking_judged_2.py measures the rules on this sample and a fresh one.
        linked = list(EntityLinker(kg, disambiguate=mode, rules=MentionRules.off()).link_batch(texts))
        seconds = time.perf_counter() - start
        links = []
        for i, ms in zip(sample, linked):
            spans = gold_spans(sentences[i])
            for m in ms:
                if m.node is None:
                    continue
                key = (i, m.text, kg.node_id(m.node))
                links.append({"sentence": i, "start": m.start, "end": m.end, "text": m.text, "node": key[2],
                              "label": kg.label(m.node), "score": round(chosen_score(m), 4),
                              "verdict": LINKS.get(key),
                              "gold_span": any(m.start < b and a < m.end for a, b in spans)})
        unjudged = sorted({(p["sentence"], p["text"], p["node"], p["label"]) for p in links if p["verdict"] is None})
        if unjudged:
            raise SystemExit(f"{mode}: pairs nobody judged: {unjudged}")
        sweep = {str(t): evaluate(links, gold, t) for t in THRESHOLDS}
        result["modes"][mode] = {"seconds": round(seconds, 2), **evaluate(links, gold),
                                 "nil_threshold_sweep": sweep,
                                 "proposed_rules_in_sample": proposed_rules(links, dict(zip(sample, texts)), kg),
                                 "recall_misses_recovered_by_alias_variants": recoverable(gold, links, kg),
                                 "pairs": links}
        r = result["modes"][mode]
        print(f"{mode}: {r['right'] + r['right_concept']}/{r['links']} right (precision {r['precision']:.3f}; "
              f"{r['right_concept']} of them concept links), recall {r['gold_found']}/{r['gold_in_graph']} "
              f"= {r['recall']:.3f} ({r['gold_mentions']} gold mentions); errors {r['errors']}")
        for name, x in r["proposed_rules_in_sample"].items():
            print(f"  rules {name}: precision {x['precision']:.3f}, recall {x['recall']:.3f}, removed {x['removed']}")
        print(f"  misses an alias variant would find: {r['recall_misses_recovered_by_alias_variants']}")
    result["gold"] = gold
    write_json(out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
