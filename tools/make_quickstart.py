#!/usr/bin/env python3
"""Generate the kgattn quickstart data set (``data/quickstart/``).

Writes three files, deterministically (fixed seeds, stdlib only)::

    data/quickstart/kg.ttl       small invented knowledge graph (Turtle)
    data/quickstart/corpus.csv   labelled business-news-like texts (id,text,label,split)
    data/quickstart/README.md    description of the files

The corpus label is the *sector* of the company a text is about.  The texts are
written from sector-neutral templates and invented company names, so the label
can (mostly) only be recovered through the graph:

    company --ex:industry--> industry --ex:sector--> sector
    person  --ex:ceoOf-----> company --ex:industry--> ... (CEO-only texts)

Run ``python tools/make_quickstart.py`` from the repository root (or anywhere);
``--out DIR`` writes somewhere else, ``--check`` only verifies that the files on
disk are identical to what the generator would write.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20240611
EX = "http://example.org/kgattn/"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "quickstart"

# --------------------------------------------------------------------------
# Fixed vocabularies
# --------------------------------------------------------------------------

SECTORS = {
    # key: (label, altLabels, comment)
    "technology": ("technology", ["tech", "information technology"],
                   "The technology sector."),
    "finance": ("finance", ["financials", "financial services"],
                "The finance sector."),
    "energy": ("energy", ["energy sector"], "The energy sector."),
    "health": ("health", ["healthcare", "health care"], "The health sector."),
}
SECTOR_ORDER = ["technology", "finance", "energy", "health"]

# key: (sector, label, altLabels, hint phrase used in weak-hint templates, comment)
INDUSTRIES = [
    ("software", "technology", "software", ["software publishing"], "software",
     "Companies that develop and sell software."),
    ("semiconductors", "technology", "semiconductors", ["chipmaking", "chips"], "semiconductor",
     "Companies that design or manufacture semiconductors."),
    ("telecommunications", "technology", "telecommunications", ["telecoms", "telco"], "telecoms",
     "Companies that operate telecommunications networks."),
    ("consumer_electronics", "technology", "consumer electronics", ["electronics"],
     "consumer electronics", "Companies that make consumer electronics."),
    ("banking", "finance", "banking", ["banks", "retail banking"], "banking",
     "Companies that take deposits and make loans."),
    ("insurance", "finance", "insurance", ["insurers"], "insurance",
     "Companies that underwrite insurance policies."),
    ("asset_management", "finance", "asset management",
     ["fund management", "investment management"], "asset management",
     "Companies that manage investment funds."),
    ("payments", "finance", "payments", ["payment processing"], "payments",
     "Companies that process payments."),
    ("oil_and_gas", "energy", "oil and gas", ["petroleum", "O&G"], "oil and gas",
     "Companies that explore for and produce oil and natural gas."),
    ("renewable_energy", "energy", "renewable energy", ["renewables", "clean energy"],
     "renewable energy", "Companies that generate electricity from wind, solar and water."),
    ("electric_utilities", "energy", "electric utilities", ["utilities", "power utilities"],
     "utility", "Companies that generate and distribute electricity."),
    ("oilfield_services", "energy", "oilfield services", ["energy services"],
     "oilfield services", "Companies that provide drilling and well services."),
    ("pharmaceuticals", "health", "pharmaceuticals", ["pharma", "drugmakers"],
     "pharmaceutical", "Companies that develop and sell medicines."),
    ("medical_devices", "health", "medical devices", ["medtech", "medical equipment"],
     "medical device", "Companies that make medical equipment."),
    ("hospitals", "health", "hospitals", ["healthcare providers", "hospital operators"],
     "hospital", "Companies that run hospitals and clinics."),
    ("biotechnology", "health", "biotechnology", ["biotech"], "biotech",
     "Companies that develop biological therapies."),
]

CONTINENTS = ["Europe", "Asia", "Africa", "North America", "South America", "Oceania"]

# Invented countries: (label, continent, altLabels)
COUNTRIES = [
    ("Veloria", "Europe", ["Republic of Veloria", "VLR"]),
    ("Carvania", "Europe", ["CRV"]),
    ("Istrelle", "Europe", []),
    ("Brenmark", "Europe", ["Kingdom of Brenmark"]),
    ("Norhavn", "Asia", ["NHV"]),
    ("Quessland", "Asia", []),
    ("Taldoria", "Asia", ["Taldorian Republic"]),
    ("Oskaria", "North America", ["OSK"]),
    ("Merovel", "North America", []),
    ("Zantria", "South America", ["Federal Republic of Zantria"]),
    ("Luthany", "South America", []),
    ("Arkesh", "Africa", ["ARK"]),
    ("Dovrane", "Africa", []),
    ("Pellucia", "Oceania", ["Commonwealth of Pellucia"]),
    ("Hestmoor", "Oceania", []),
]

# Words/fragments that must not appear inside invented names (they would leak
# the industry or sector).  Checked case-insensitively on every invented name.
BANNED_FRAGMENTS = [
    "tech", "bank", "pharm", "energ", "oil", "soft", "bio", "med", "power", "capit",
    "petro", "volt", "solar", "sun", "wind", "chip", "data", "net", "cyber", "care",
    "health", "cure", "gas", "insur", "fund", "coin", "pay", "cash", "gen", "lab",
    "sys", "cell", "life", "vita", "thera", "nano", "electr", "grid", "fuel", "carb",
    "nuc", "therm", "lend", "trust", "credit", "loan", "invest", "asset", "byte",
    "code", "cloud", "digi", "pill", "dose", "clinic", "drill", "coal", "watt",
    "telco", "telecom", "financ", "money", "gold", "mine", "mining", "drug",
]
# Invented-looking strings that happen to be real, well-known companies/brands.
REAL_NAME_DENYLIST = {
    "orix", "orica", "toray", "caltex", "selex", "norton", "morton", "evora", "aviva",
    "corona", "nova", "altria", "avanta", "vantara", "allianz", "dalton", "ashford",
    "kellogg", "halliburton", "tesla", "oracle", "verizon", "enel", "eni", "elara",
}

COMPANY_ROOTS = [
    "Or", "Kel", "Tess", "Ash", "Bran", "Cor", "Dal", "Eld", "Fen", "Gar", "Hal", "Istr",
    "Jar", "Kor", "Lun", "Mor", "Nor", "Ost", "Pel", "Quen", "Ros", "Sel", "Tor", "Ul",
    "Var", "Wen", "Yar", "Zel", "Ard", "Bel", "Cal", "Dun", "Ev", "Fal", "Hed", "Ivr",
    "Lor", "Mav", "Nev", "Pra", "Rav", "Sor", "Tal", "Vor", "Wyl", "Ald", "Brev", "Cran",
    "Del", "Ferr", "Grel", "Harv", "Isl", "Kast", "Lenn", "Mird", "Oss", "Pard", "Quor",
    "Bast", "Cend", "Dov", "Esk", "Frey", "Hob", "Jun", "Kin", "Lis", "Mall", "Nav",
    "Ot", "Pim", "Rund", "Sab", "Trev", "Umb", "Vask", "Wes", "Zar", "Ambr", "Caer", "Hald",
]
COMPANY_SUFFIXES = [
    "vanta", "brook", "aly", "ridge", "more", "wick", "ara", "enza", "mere", "holt",
    "dane", "ley", "ova", "ith", "ster", "wyn", "ora", "ane", "iva", "ell", "avia",
    "orn", "esse", "ant", "umbra", "oss", "ven", "ett", "ano", "ella", "ance", "isto",
]
CORP_SUFFIXES = ["Group", "Holdings", "Partners", "& Co.", "Corporation", "Ltd", "AG", "SA",
                 "Industries", "International", "Associates", "& Sons"]
FIRM_SURNAMES = [
    "Finch", "Rye", "Harrow", "Pell", "Ashdown", "Crane", "Wren", "Vance", "Lisle",
    "Thorne", "Keel", "Marsh", "Holloway", "Burke", "Quarry", "Lytton", "Fairley",
    "Dunmore", "Gale", "Royce", "Hobb", "Sayer", "Tallis", "Brandt", "Osler",
]
EVOCATIVE_A = ["Amber", "Silver", "Granite", "Cedar", "Grey", "North", "Red", "White",
               "Blue", "High", "Old", "Hollow", "Far", "Long"]
EVOCATIVE_B = ["Heron", "Lark", "Willow", "Fern", "Quay", "Harbour", "Meadow", "Stone",
               "Vale", "Crest", "Gate", "Arch", "Field", "Pier", "Row"]

CITY_ROOTS = ["Ald", "Brack", "Cael", "Dorn", "Elm", "Frey", "Glen", "Hollin", "Ivor", "Kirr",
              "Lind", "Mael", "Nesh", "Oak", "Pryn", "Rook", "Stell", "Thorn", "Ulver", "Wex",
              "Yarn", "Zeph", "Aster", "Bryn", "Cairn", "Dray", "Esk", "Farr", "Gorse", "Hask",
              "Ketter", "Lox", "Morrow", "Nairn", "Orr", "Quill", "Ridd", "Skel", "Tarn", "Vell",
              "Amble", "Bell", "Cold", "Emer", "Fallow", "Garron", "Hex", "Ink", "Jess", "Lam",
              "Mill", "Penn", "Rush", "Saxon", "Tew", "Umber", "Wold", "Cobb", "Hurst", "Ley"]
CITY_SUFFIXES = ["haven", "mouth", "gate", "burgh", "stead", "field", "wick", "ham", "sby",
                 "vale", "minster", "ria", "ovo", "ence", "holm", "by", "dale", "crest"]
CITY_PORT_ROOTS = ["Aldric", "Vessan", "Orlay", "Brisk", "Kestrel", "Carrow", "Lumen", "Dace"]

FIRST_NAMES = [
    "Edwin", "Mara", "Tobias", "Ilse", "Rafael", "Noor", "Henrik", "Aiko", "Samuel", "Priya",
    "Lucian", "Greta", "Omar", "Selin", "Matteo", "Ilona", "Dario", "Yara", "Felix", "Odile",
    "Kofi", "Lena", "Anton", "Mirela", "Jonas", "Zofia", "Pieter", "Amara", "Idris", "Clara",
    "Teodor", "Nadia", "Ruben", "Elif", "Caspar", "Signe", "Laszlo", "Imke", "Bruno", "Farah",
    "Milan", "Astrid", "Hugo", "Leila", "Viktor", "Wanda", "Emil", "Rosa", "Tarek", "Hanne",
]
SURNAME_ROOTS = ["Ald", "Bram", "Cas", "Dov", "Ess", "Fair", "Gil", "Hart", "Ivers", "Kes",
                 "Lang", "Mer", "Nash", "Orm", "Prel", "Quill", "Rad", "Stav", "Thal", "Ulm",
                 "Vask", "Wend", "Yor", "Zan", "Bex", "Corr", "Drum", "Est", "Hol", "Lev"]
SURNAME_SUFFIXES = ["ane", "wick", "ley", "ington", "orne", "sby", "mar", "etti", "ova",
                    "sen", "ard", "holm", "ero", "isk", "ow", "quist", "ling", "ani"]

# --------------------------------------------------------------------------
# Corpus templates.  Slots:
#   {c} subject company surface form     {c2} another company (same sector)
#   {p} CEO of the subject company       {f} a founder of the subject company
#   {hint} weak lexical hint (industry word); {a_hint} the same with "a"/"an"
#   {city} {hq} {country} {pct} {money} {n} {day} {q} {qadj} {year} {ord}
# None of the neutral templates contains a sector- or industry-revealing word.
# --------------------------------------------------------------------------

T_COMPANY = [  # subject company only
    "Shares of {c} rose {pct}% after the quarterly report.",
    "Shares of {c} fell {pct}% in early trading on {day}.",
    "{c} reported {qadj} revenue of {money}, ahead of analyst expectations.",
    "{c} will open a new office in {city} next year, the company said.",
    "{c} plans to hire {n} people in {city} over the next two years.",
    "Analysts upgraded {c} to buy, citing steady demand and lower costs.",
    "{c} cut its full-year outlook on {day}, sending its shares lower.",
    "{c} announced a {pct}% increase in its quarterly dividend.",
    "{c} said it would cut about {n} jobs as part of a restructuring plan.",
    "{c} opened a regional hub in {city} this spring.",
    "Regulators in {country} opened an inquiry into {c} on {day}.",
    "{c} agreed to pay {money} to settle a long-running lawsuit.",
    "{c} completed the sale of a minority stake for {money}.",
    "The board of {c} approved a share buyback worth {money}.",
    "{c} postponed its annual investor day until later in the year.",
    "{c}, based in {hq}, reported a {pct}% rise in {qadj} profit.",
    "{c} said demand in {country} remained strong during the {q}.",
    "{c} named a new chair of its board after a year-long search.",
    "Employees of {c} in {city} voted to accept a new wage agreement.",
    "{c} is weighing a listing in {city}, people familiar with the matter said.",
    "{c} issued bonds worth {money} to refinance existing debt.",
    "{c} beat profit forecasts for the {ord} consecutive quarter.",
    "{c} delayed the opening of its new site in {city} until {year}.",
    "{c} expects margins to improve in the second half, a spokesperson said.",
    "A court in {country} ruled in favour of {c} in a contract dispute.",
    "{c} said its chief operating officer would leave at the end of {year}.",
    "Revenue at {c} grew {pct}% in the {q} as new contracts came through.",
]
T_PAIR = [  # subject company + a second company from the same sector
    "{c} announced a partnership with {c2} covering {country} and nearby markets.",
    "{c} agreed to acquire {c2} for {money} in cash and shares.",
    "{c} and {c2} ended merger talks on {day} without reaching a deal.",
    "{c} hired a senior executive from rival {c2}.",
    "{c} overtook {c2} in annual sales for the first time.",
    "{c} sued {c2} in {country}, alleging breach of a supply contract.",
]
T_WITH_CEO = [  # subject company + its own CEO
    "{p}, chief executive of {c}, said the company will open a new office in {city}.",
    "{c} said {p} will step down as chief executive at the end of the year.",
    "{p} told shareholders that {c} expects growth to continue in {year}.",
    "{c} extended the contract of its chief executive {p} by three years.",
]
T_WITH_FOUNDER = [  # subject company + one of its founders
    "{f}, who founded {c}, sold shares worth {money} on {day}.",
    "{c} said its founder {f} would return to the board next year.",
]
T_CEO_ONLY = [  # only the CEO is named; the company must be found via ex:ceoOf
    "{p} said the company will open a new office in {city} next year.",
    "{p} was reappointed chief executive for another five years on {day}.",
    "In an interview, {p} said the company would not raise prices this year.",
    "{p} announced plans to cut costs by {pct}% over the next two years.",
    "Shareholders backed {p} at the annual meeting despite a weak {q}.",
    "{p} said the firm is looking at acquisitions in {country}.",
    "Chief executive {p} said quarterly results would be published on {day}.",
    "{p} told analysts that the company expects to hire {n} people in {city}.",
]
T_HINT = [  # weak lexical hint: the industry word appears in the text
    "The {hint} firm {c} reported a {pct}% rise in quarterly profit.",
    "{c}, {a_hint} company based in {hq}, plans to hire {n} people.",
    "Shares in {hint} group {c} fell {pct}% on {day}.",
    "{c} said conditions in the {hint} market improved during the {q}.",
    "{p}, who runs the {hint} company {c}, said growth would continue.",
    "Analysts expect the {hint} company {c} to announce job cuts in {city}.",
]
T_HINT_CEO_ONLY = [
    "{p}, head of {a_hint} firm, said costs would fall next year.",
    "{p} said the {hint} company would expand into {country} in {year}.",
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
QUARTERS = [("first quarter", "first-quarter"), ("second quarter", "second-quarter"),
            ("third quarter", "third-quarter"), ("fourth quarter", "fourth-quarter")]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth"]

COMPANY_DESCRIPTIONS = [
    "A company founded in {year}.",
    "Listed on the {city} exchange.",
    "A privately held company established in {year}.",
    "A family-controlled business founded in {year}.",
    "Employs about {emp} people across {k} countries.",
    "Founded in {year} and publicly listed since {year2}.",
    "A publicly traded company with operations in {k} countries.",
    "Headquartered in {hq}, {country}.",
]


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------

@dataclass
class Entity:
    iri: str                       # local name inside ex:
    kind: str                      # Company, Industry, Sector, City, Country, Continent, Person
    label: str | None              # None -> no rdfs:label at all
    alt: list[str] = field(default_factory=list)
    comment: str | None = None
    label_lang: str | None = "en"  # None -> untagged literal
    extra_labels: list[tuple[str, str]] = field(default_factory=list)  # (text, lang)
    props: list[tuple[str, str]] = field(default_factory=list)         # (predicate, object local)
    literals: list[tuple[str, str]] = field(default_factory=list)      # (predicate, turtle literal)


def slug(text: str) -> str:
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    t = re.sub(r"[^A-Za-z0-9]+", "_", t.lower()).strip("_")
    return t


def is_clean(name: str) -> bool:
    low = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    if any(b in low for b in BANNED_FRAGMENTS):
        return False
    if any(tok in REAL_NAME_DENYLIST for tok in re.findall(r"[a-z]+", low)):
        return False
    return True


def looks_ugly(name: str) -> bool:
    """Reject generated names with triple letters or a repeated 3-letter chunk."""
    low = name.lower().replace(" ", "")
    if re.search(r"(.)\1\1", low) or re.search(r"shs|ssb|yby|ee|aa|ii|uu|vv|mm|vav|rvv", low):
        return True
    grams = [low[i:i + 3] for i in range(len(low) - 2)]
    return len(grams) != len(set(grams))


def ticker_for(core: str) -> str:
    core = re.sub(r"[^A-Za-z]", "", unicodedata.normalize("NFKD", core)).upper()
    cons = [ch for ch in core[1:] if ch not in "AEIOU"]
    t = core[0] + "".join(cons[:2])
    if len(t) < 3:
        t = (core + "XX")[:3]
    return t


class Builder:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.entities: dict[str, Entity] = {}
        self.used_surfaces: set[str] = set()  # lower-cased labels + aliases already taken
        self.planted_ambiguities: list[tuple[str, list[str]]] = []

    # -- helpers -----------------------------------------------------------
    def add(self, e: Entity) -> Entity:
        assert e.iri not in self.entities, e.iri
        self.entities[e.iri] = e
        for s in ([e.label] if e.label else []) + e.alt:
            self.used_surfaces.add(s.lower())
        return e

    def free(self, *names: str) -> bool:
        return all(n.lower() not in self.used_surfaces for n in names)

    def of_kind(self, kind: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.kind == kind]

    # -- build ---------------------------------------------------------------
    def build(self):
        rng = self.rng
        # sectors / industries / continents / countries ------------------------
        for key in SECTOR_ORDER:
            lab, alt, com = SECTORS[key]
            self.add(Entity(f"sector_{key}", "Sector", lab, list(alt), com))
        self.industry_sector = {}
        self.industry_hint = {}
        for key, sec, lab, alt, hint, com in INDUSTRIES:
            e = self.add(Entity(f"industry_{key}", "Industry", lab, list(alt), com))
            e.props.append(("sector", f"sector_{sec}"))
            self.industry_sector[e.iri] = sec
            self.industry_hint[e.iri] = hint
        for c in CONTINENTS:
            self.add(Entity(f"continent_{slug(c)}", "Continent", c))
        countries = []
        for lab, cont, alt in COUNTRIES:
            assert is_clean(lab), lab
            e = self.add(Entity(f"country_{slug(lab)}", "Country", lab, list(alt),
                                f"A country in {cont}."))
            e.props.append(("partOf", f"continent_{slug(cont)}"))
            countries.append(e)

        # cities -----------------------------------------------------------------
        cities: list[Entity] = []
        # planted cities first
        planted_cities = [
            ("Marlow", []),                       # shares "Marlow" with Marlow Holdings
            ("Port Tessaly", ["Tessaly"]),        # alias shared with company "Tessaly"
            ("Port Aldric", ["Aldric"]),
            ("Velmonté", ["Velmonte"]),           # non-ASCII label
        ]
        for lab, alt in planted_cities:
            cities.append(Entity(f"city_{slug(lab)}", "City", lab, list(alt)))
        # the label-less node: its IRI local name must act as its label
        nolabel_city = Entity("city_brackwater", "City", None)
        cities.append(nolabel_city)
        names = []
        for r in CITY_ROOTS:  # one city per root
            opts = [r + s for s in CITY_SUFFIXES if not looks_ugly(r + s)]
            names.append(rng.choice(opts))
        for r in CITY_PORT_ROOTS:
            names.append(rng.choice(["Port ", "Saint "]) + r)
        rng.shuffle(names)
        taken = {c.label.lower() for c in cities if c.label} | {"brackwater"}
        for n in names:
            if len(cities) >= 62:
                break
            core = n.split()[-1].lower()
            if n.lower() in taken or not is_clean(n) or any(
                    core in t or t.split()[-1] in core for t in taken):
                continue
            alt = []
            if n.startswith("Saint "):
                alt = ["St. " + n[6:]]
            elif n.startswith("Port ") and rng.random() < 0.5:
                alt = [n[5:]]
            cities.append(Entity(f"city_{slug(n)}", "City", n, alt))
            taken.add(n.lower())
        # assign countries: every country at least 2 cities (planted ones fixed)
        order = list(range(len(cities)))
        country_of = {}
        fixed = {"city_marlow": "country_brenmark", "city_port_tessaly": "country_veloria",
                 "city_port_aldric": "country_carvania", "city_velmonte": "country_zantria",
                 "city_brackwater": "country_istrelle"}
        pool = [c.iri for c in countries] * 2
        rest = [i for i in order if cities[i].iri not in fixed]
        rng.shuffle(rest)
        for i, idx in enumerate(rest):
            cty = pool[i] if i < len(pool) else rng.choice(countries).iri
            country_of[cities[idx].iri] = cty
        country_of.update(fixed)
        capitals = set()
        for c in cities:
            c.props.append(("locatedIn", country_of[c.iri]))
            cname = self.entities[country_of[c.iri]].label
            if c.label is None:
                continue
            r = rng.random()
            if r < 0.15 and country_of[c.iri] not in capitals:
                capitals.add(country_of[c.iri])
                c.comment = f"The capital of {cname}."
            elif r < 0.3:
                c.comment = f"A port city in {cname}."
            elif r < 0.4:
                c.comment = f"A city in the north of {cname}."
        for c in cities:
            self.add(c)
        self.cities = cities
        self.corpus_cities = [c for c in cities if c.label is not None]

        # companies ----------------------------------------------------------------
        self._build_companies()
        self._build_people()
        self._build_company_edges()
        return self

    def _build_companies(self):
        rng = self.rng
        industries = self.of_kind("Industry")
        by_sector = defaultdict(list)
        for ind in industries:
            by_sector[self.industry_sector[ind.iri]].append(ind.iri)

        # planted companies: (label, alt, sector, industry key or None, special)
        planted = [
            ("Marlow Holdings", ["Marlow"], "finance", "industry_insurance", None),
            ("Veloria Partners", ["Veloria"], "technology", "industry_software", None),
            ("Orvanta", ["ORV"], "health", "industry_pharmaceuticals", None),
            ("Orvell Group", ["Orvell", "ORV"], "energy", "industry_renewable_energy", None),
            ("Castell & Rye", ["Castell"], "technology", "industry_semiconductors", None),
            ("Tessaly", ["TSY"], "energy", "industry_oil_and_gas", None),
            ("Kelbrook Group", ["Kelbrook", "KLB"], "finance", "industry_banking", "de"),
            ("Quillon", [], "health", "industry_medical_devices", "untagged"),
            ("Brünnhaus AG", ["Brunnhaus", "Brünnhaus"], "technology",
             "industry_consumer_electronics", None),
        ]
        companies: list[Entity] = []
        per_sector_target = 39
        sector_of = {}
        planted_labels = set()
        for lab, alt, sec, ind, special in planted:
            e = Entity(f"company_{slug(lab)}", "Company", lab, list(alt))
            if special == "de":
                e.extra_labels.append(("Kelbrook Gruppe", "de"))
            if special == "untagged":
                e.label_lang = None
            e.props.append(("industry", ind))
            if any(a.isupper() and len(a) <= 4 for a in alt):
                e.literals.append(("schema:tickerSymbol",
                                   turtle_str(next(a for a in alt if a.isupper() and len(a) <= 4))))
            sector_of[e.iri] = sec
            companies.append(e)
            planted_labels.add(lab.lower())
            for a in alt:
                planted_labels.add(a.lower())

        # candidate invented names
        singles = [(r, r + s) for r in COMPANY_ROOTS for s in COMPANY_SUFFIXES]
        singles = [(r, s) for r, s in singles if not looks_ugly(s)]
        rng.shuffle(singles)
        cand_iter = iter(singles)
        root_uses = Counter()
        tickers = {a for e in companies for a in e.alt if a.isupper() and len(a) <= 4}
        used_cores = {re.split(r"[ &]", e.label)[0].lower() for e in companies}
        surname_pairs = [(a, b) for a in FIRM_SURNAMES for b in FIRM_SURNAMES if a != b]
        rng.shuffle(surname_pairs)
        evoc = [(a, b) for a in EVOCATIVE_A for b in EVOCATIVE_B]
        rng.shuffle(evoc)
        used_firm_surnames = {"Castell", "Rye"}
        used_evoc = set()

        def new_name():
            form = rng.random()
            if form < 0.12:
                while surname_pairs:
                    a, b = surname_pairs.pop()
                    if a in used_firm_surnames or b in used_firm_surnames:
                        continue
                    used_firm_surnames.update((a, b))
                    return f"{a} & {b}", a, [a]
            if form < 0.22:
                while evoc:
                    a, b = evoc.pop()
                    name = f"{a} {b}"
                    if name.lower() in self.used_surfaces or name.lower() in planted_labels \
                            or a in used_evoc or b in used_evoc:
                        continue
                    used_evoc.update((a, b))
                    return name, name.replace(" ", ""), []
            for root, core in cand_iter:
                if core.lower() in used_cores or core.lower() in planted_labels:
                    continue
                if root_uses[root] >= 2:  # at most two companies per name root
                    continue
                # avoid near-duplicates sharing the first 5 letters
                if any(core.lower()[:5] == u[:5] or u in core.lower() or core.lower() in u
                       for u in used_cores):
                    continue
                if not is_clean(core):
                    continue
                used_cores.add(core.lower())
                root_uses[root] += 1
                if form < 0.62:
                    return core, core, []
                suffix = rng.choice(CORP_SUFFIXES)
                return f"{core} {suffix}", core, [core]
            raise RuntimeError("ran out of company names")

        sector_counts = Counter(sector_of.values())
        sector_slots = []
        for sec in SECTOR_ORDER:
            sector_slots += [sec] * (per_sector_target - sector_counts[sec])
        rng.shuffle(sector_slots)
        for sec in sector_slots:
            while True:
                lab, core, alt = new_name()
                if is_clean(lab) and self.free(lab, *alt) and lab.lower() not in planted_labels \
                        and not any(a.lower() in planted_labels for a in alt) \
                        and lab.lower() not in {c.label.lower() for c in companies}:
                    break
            alt = list(alt)
            # ticker-like abbreviation for about half of the companies
            if rng.random() < 0.5:
                t = ticker_for(core)
                if t not in tickers and t.lower() not in self.used_surfaces and is_clean(t):
                    alt.append(t)
                    tickers.add(t)
            e = Entity(f"company_{slug(lab)}", "Company", lab, alt)
            sector_of[e.iri] = sec
            companies.append(e)
            for s in [lab] + alt:
                self.used_surfaces.add(s.lower())
        # industries: balanced within sector (planted first)
        for sec in SECTOR_ORDER:
            inds = sorted(by_sector[sec])
            members = [c for c in companies if sector_of[c.iri] == sec]
            counts = Counter(p[1] for c in members for p in c.props if p[0] == "industry")
            for c in members:
                if any(p[0] == "industry" for p in c.props):
                    continue
                ind = min(inds, key=lambda i: (counts[i], inds.index(i)))
                counts[ind] += 1
                c.props.append(("industry", ind))
        # make sure alias collisions are only the planted ones (checked later)
        for c in companies:
            self.add(c)
        self.companies = companies
        self.sector_of = sector_of

    def _build_people(self):
        rng = self.rng
        surnames = [r + s for r in SURNAME_ROOTS for s in SURNAME_SUFFIXES]
        rng.shuffle(surnames)
        firsts = list(FIRST_NAMES)
        people: list[Entity] = []
        # planted person: alias "Castell" shared with company "Castell & Rye"
        people.append(Entity("person_edwin_castell", "Person", "Edwin Castell",
                             ["E. Castell", "Castell"]))
        used_sur = {"castell"}
        used_full = {"edwin castell"}
        si = 0
        while len(people) < 100:
            first = firsts[len(people) % len(firsts)]  # every first name used twice
            while True:
                sur = surnames[si]
                si += 1
                low = sur.lower()
                if low in used_sur or not is_clean(sur) or not self.free(sur) or looks_ugly(sur) \
                        or any(low[:5] == u[:5] for u in used_sur):
                    continue
                if any(low in c.label.lower() for c in self.companies):
                    continue
                break
            used_sur.add(low)
            full = f"{first} {sur}"
            used_full.add(full.lower())
            alt = [f"{first[0]}. {sur}"] if rng.random() < 0.35 else []
            people.append(Entity(f"person_{slug(full)}", "Person", full, alt))
        for p in people:
            self.add(p)
        self.people = people

    def _build_company_edges(self):
        rng = self.rng
        companies = self.companies
        sector_of = self.sector_of
        industry_of = {c.iri: next(o for p, o in c.props if p == "industry") for c in companies}
        self.industry_of = industry_of
        # HQ city: uniform, independent of sector (so cities carry no signal)
        hq_cities = [c for c in self.cities if c.label is not None]
        self.hq_of = {}
        fixed_hq = {"company_marlow_holdings": "city_port_aldric",  # not in Marlow on purpose
                    "company_tessaly": "city_port_tessaly"}
        for c in companies:
            city = fixed_hq.get(c.iri) or rng.choice(hq_cities).iri
            self.hq_of[c.iri] = city
            c.props.append(("headquarteredIn", city))

        # splits of companies per sector (for the corpus):
        #   train 24, val_unseen 4, test_unseen 6, kg_only 5
        self.company_role = {}
        forced = {  # planted companies get fixed roles so the edge cases are exercised
            "company_orvanta": "train", "company_orvell_group": "test_unseen",
            "company_marlow_holdings": "train", "company_veloria_partners": "train",
            "company_castell_rye": "train", "company_tessaly": "train",
            "company_kelbrook_group": "train", "company_quillon": "test_unseen",
            "company_brunnhaus_ag": "val_unseen",
        }
        for sec in SECTOR_ORDER:
            members = [c.iri for c in companies if sector_of[c.iri] == sec]
            rng.shuffle(members)
            roles = ["train"] * 24 + ["val_unseen"] * 4 + ["test_unseen"] * 6 + ["kg_only"] * 5
            for iri in members:
                if iri in forced:
                    roles.remove(forced[iri])
                    self.company_role[iri] = forced[iri]
            for iri, role in zip([m for m in members if m not in forced], roles):
                self.company_role[iri] = role
        # CEOs: per sector 14 train, 3 val_unseen, 4 test_unseen, 1 kg_only -> 88 CEOs
        ceo_quota = {"train": 14, "val_unseen": 3, "test_unseen": 4, "kg_only": 1}
        ceo_companies = []
        for sec in SECTOR_ORDER:
            for role, k in ceo_quota.items():
                pool = sorted(i for i in self.company_role
                              if self.company_role[i] == role and sector_of[i] == sec)
                ceo_companies += rng.sample(pool, k)
        # Edwin Castell runs a health company (his alias "Castell" also names a
        # technology company -> deliberate cross-sector ambiguity).
        people = list(self.people)
        castell = people[0]
        health_train = sorted(i for i in ceo_companies
                              if sector_of[i] == "health" and self.company_role[i] == "train")
        castell_company = health_train[0]
        ceo_companies.remove(castell_company)
        rng.shuffle(ceo_companies)
        others = people[1:]
        self.ceo_of_company = {castell_company: castell.iri}
        for comp, person in zip(ceo_companies, others):
            self.ceo_of_company[comp] = person.iri
        ceo_people = set(self.ceo_of_company.values())
        non_ceo = [p for p in people if p.iri not in ceo_people]
        assert len(non_ceo) == 100 - 88, len(non_ceo)
        for comp, person in sorted(self.ceo_of_company.items()):
            self.entities[person].props.append(("ceoOf", comp))
        # founders: ~half of the companies; 40% of those founded by the CEO
        self.founders_of = defaultdict(list)
        for c in companies:
            if rng.random() < 0.5:
                if c.iri in self.ceo_of_company and rng.random() < 0.4:
                    f = self.ceo_of_company[c.iri]
                else:
                    f = rng.choice(non_ceo).iri
                self.founders_of[c.iri].append(f)
                if rng.random() < 0.15:
                    f2 = rng.choice(non_ceo).iri
                    if f2 not in self.founders_of[c.iri]:
                        self.founders_of[c.iri].append(f2)
        for c in companies:
            for f in self.founders_of.get(c.iri, []):
                c.props.append(("foundedBy", f))
        # subsidiaries: 20 pairs, same industry; parents never subsidiaries
        by_ind = defaultdict(list)
        for c in companies:
            by_ind[industry_of[c.iri]].append(c.iri)
        parents, children = set(), set()
        n_sub = 0
        inds = sorted(by_ind)
        while n_sub < 20:
            ind = rng.choice(inds)
            a, b = rng.sample(by_ind[ind], 2)
            if b in children or a in children or b in parents or b == a:
                continue
            self.entities[b].props.append(("subsidiaryOf", a))
            parents.add(a)
            children.add(b)
            n_sub += 1
        # competitors: 70 unordered pairs within the same industry
        pairs = set()
        while len(pairs) < 70:
            ind = rng.choice(inds)
            a, b = sorted(rng.sample(by_ind[ind], 2))
            pairs.add((a, b))
        for a, b in sorted(pairs):
            self.entities[a].props.append(("competitorOf", b))
        # descriptions: exactly half the companies, industry-neutral
        desc_companies = rng.sample(sorted(c.iri for c in companies), len(companies) // 2)
        for iri in sorted(desc_companies):
            hq = self.entities[self.hq_of[iri]]
            country = self.entities[next(o for p, o in hq.props if p == "locatedIn")]
            tmpl = rng.choice(COMPANY_DESCRIPTIONS)
            year = rng.randint(1890, 2015)
            self.entities[iri].comment = tmpl.format(
                year=year, year2=min(2023, year + rng.randint(3, 40)),
                city=rng.choice(self.corpus_cities).label, emp=rng.choice(
                    ["800", "2,500", "6,000", "14,000", "40,000", "95,000"]),
                k=rng.randint(3, 60), hq=hq.label, country=country.label)
        # schema.org extras for some companies (independent of sector)
        for c in companies:
            tick = [a for a in c.alt if a.isupper() and 3 <= len(a) <= 4]
            if tick and not any(k == "schema:tickerSymbol" for k, _ in c.literals):
                c.literals.append(("schema:tickerSymbol", turtle_str(tick[0])))
            if rng.random() < 0.3:
                c.literals.append(("schema:numberOfEmployees",
                                   str(rng.choice([450, 1200, 3800, 9000, 21000, 56000]))))
        # people descriptions
        for p in self.people:
            r = rng.random()
            if r < 0.25:
                p.comment = f"Business executive born in {rng.randint(1948, 1985)}."
            elif r < 0.4 and p.iri in ceo_people:
                p.comment = f"Chief executive since {rng.randint(2005, 2023)}."
            elif r < 0.5:
                p.comment = "Entrepreneur and board member."


def turtle_str(s: str) -> str:
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


# --------------------------------------------------------------------------
# Turtle writer
# --------------------------------------------------------------------------

CLASS_ORDER = ["Sector", "Industry", "Continent", "Country", "City", "Company", "Person"]
PROPERTIES = [
    # local, label, domain, range, comment
    ("industry", "industry", "Company", "Industry", None),
    ("sector", "sector", "Industry", "Sector", None),
    ("headquarteredIn", "headquartered in", "Company", "City", None),
    ("locatedIn", "located in", "City", "Country", None),
    ("partOf", "part of", "Country", "Continent", None),
    ("ceoOf", "chief executive of", "Person", "Company", None),
    ("foundedBy", "founded by", "Company", "Person", None),
    ("subsidiaryOf", "subsidiary of", "Company", "Company", None),
    ("competitorOf", "competitor of", "Company", "Company",
     "symmetric; each pair is stated once"),
]


def write_turtle(b: Builder) -> str:
    out = io.StringIO()
    w = out.write
    w("# kgattn quickstart knowledge graph -- generated by tools/make_quickstart.py; "
      "do not edit by hand.\n")
    w("# All companies, people, cities and countries are invented. Licence: CC0 1.0.\n\n")
    w(f"@prefix ex: <{EX}> .\n")
    w("@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n")
    w("@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n")
    w("@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n")
    w("@prefix schema: <http://schema.org/> .\n\n")
    w("# ---- schema ----\n")
    for cls in CLASS_ORDER:
        w(f"ex:{cls} a rdfs:Class ; rdfs:label {turtle_str(cls.lower())}@en .\n")
    w("\n")
    for local, lab, dom, rng_, com in PROPERTIES:
        w(f"ex:{local} a rdf:Property ;\n    rdfs:label {turtle_str(lab)}@en ;\n"
          f"    rdfs:domain ex:{dom} ;\n    rdfs:range ex:{rng_}")
        if com:
            w(f" ;\n    rdfs:comment {turtle_str(com)}@en")
        w(" .\n")
    for cls in CLASS_ORDER:
        w(f"\n# ---- {cls} ----\n")
        for e in b.of_kind(cls):
            lines = [f"rdf:type ex:{e.kind}"]
            if e.label is not None:
                tag = f"@{e.label_lang}" if e.label_lang else ""
                lines.append(f"rdfs:label {turtle_str(e.label)}{tag}")
            for text, lang in e.extra_labels:
                lines.append(f"rdfs:label {turtle_str(text)}@{lang}")
            if e.alt:
                lines.append("skos:altLabel " + ", ".join(f"{turtle_str(a)}@en" for a in e.alt))
            if e.comment:
                lines.append(f"rdfs:comment {turtle_str(e.comment)}@en")
            grouped = defaultdict(list)
            for p, o in e.props:
                grouped[p].append(o)
            for p in [x[0] for x in PROPERTIES]:
                if grouped.get(p):
                    lines.append(f"ex:{p} " + ", ".join(f"ex:{o}" for o in grouped[p]))
            for p, lit in e.literals:
                lines.append(f"{p} {lit}")
            if e.label is None:
                w("# deliberately unlabelled node: its IRI local name acts as its label\n")
            w(f"ex:{e.iri}\n    " + " ;\n    ".join(lines) + " .\n")
    return out.getvalue()


# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------

N_PER_CLASS = {"train": 96, "val": 24, "test": 40}
UNSEEN_PER_CLASS = {"val": 7, "test": 12}
CEO_FRACTION = 0.20
HINT_FRACTION = 0.15


def money(rng):
    if rng.random() < 0.5:
        return f"${rng.choice([12, 45, 80, 120, 250, 310, 640, 900])} million"
    return f"€{rng.choice([1.1, 1.4, 2.3, 3.8, 5.2])} billion"


def build_corpus(b: Builder, seed: int = SEED + 1):
    rng = random.Random(seed)
    E = b.entities
    role = b.company_role

    def surface_company(iri):
        e = E[iri]
        if e.alt and rng.random() < 0.25:
            return rng.choice(e.alt)
        return e.label

    def surface_person(iri):
        e = E[iri]
        if e.alt and rng.random() < 0.15:
            return rng.choice(e.alt)
        return e.label

    # slots: (split, sector, company, unseen?)
    slots = []
    for sec in SECTOR_ORDER:
        train_cos = sorted(i for i in role if role[i] == "train" and b.sector_of[i] == sec)
        for split in ["train", "val", "test"]:
            n = N_PER_CLASS[split]
            n_unseen = UNSEEN_PER_CLASS.get(split, 0)
            seen_list = []
            while len(seen_list) < n - n_unseen:
                batch = list(train_cos)
                rng.shuffle(batch)
                seen_list += batch
            seen_list = seen_list[: n - n_unseen]
            unseen_list = []
            if n_unseen:
                pool = sorted(i for i in role
                              if role[i] == f"{split}_unseen" and b.sector_of[i] == sec)
                while len(unseen_list) < n_unseen:
                    batch = list(pool)
                    rng.shuffle(batch)
                    unseen_list += batch
                unseen_list = unseen_list[:n_unseen]
            group = [(split, sec, c, False) for c in seen_list] + \
                    [(split, sec, c, True) for c in unseen_list]
            # assign modes with exact quotas inside this (split, sector) group
            n_ceo = round(CEO_FRACTION * n)
            n_hint = round(HINT_FRACTION * n)
            idx = list(range(len(group)))
            rng.shuffle(idx)
            modes = ["plain"] * len(group)
            # CEO-only texts need a company with a CEO; keep the unseen share
            ceo_ok = [i for i in idx if group[i][2] in b.ceo_of_company]
            ceo_ok.sort(key=lambda i: (not group[i][3],))  # unseen ones first -> fair share
            n_unseen_ceo = round(CEO_FRACTION * n_unseen)
            chosen = [i for i in ceo_ok if group[i][3]][:n_unseen_ceo]
            left = Counter(g[2] for g in group)  # keep >=1 direct mention per company
            for i in ceo_ok:
                if len(chosen) >= n_ceo:
                    break
                if not group[i][3] and (split != "train" or left[group[i][2]] > 1):
                    chosen.append(i)
                    left[group[i][2]] -= 1
            for i in chosen:
                modes[i] = "ceo"
            rest = [i for i in idx if modes[i] == "plain"]
            for i in rest[:n_hint]:
                modes[i] = "hint"
            for i, g in enumerate(group):
                slots.append((*g, modes[i]))

    # make sure every train company is named directly in at least one train text
    named = {s[2] for s in slots if s[0] == "train" and s[4] != "ceo"}
    assert all(i in named for i in role if role[i] == "train"), "train company never named"

    rows = []
    seen_texts = set()
    for split, sec, comp, unseen, mode in slots:
        ceo = b.ceo_of_company.get(comp)
        founders = b.founders_of.get(comp, [])
        hq = E[b.hq_of[comp]].label
        pair_pool = sorted(
            i for i in role
            if b.sector_of[i] == sec and i != comp
            and role[i] == (f"{split}_unseen" if unseen else "train"))
        for _attempt in range(200):
            if mode == "ceo":
                tmpl = rng.choice(T_CEO_ONLY)
            elif mode == "hint":
                cands = [t for t in T_HINT if "{p}" not in t or ceo]
                tmpl = rng.choice(cands) if rng.random() > 0.15 or not ceo \
                    else rng.choice(T_HINT_CEO_ONLY)
            else:
                r = rng.random()
                if r < 0.14 and pair_pool:
                    tmpl = rng.choice(T_PAIR)
                elif r < 0.24 and ceo:
                    tmpl = rng.choice(T_WITH_CEO)
                elif r < 0.29 and founders and not unseen:
                    tmpl = rng.choice(T_WITH_FOUNDER)
                else:
                    tmpl = rng.choice(T_COMPANY)
            q = rng.choice(QUARTERS)
            text = tmpl.format(
                c=surface_company(comp),
                c2=surface_company(rng.choice(pair_pool)) if pair_pool else "",
                p=surface_person(ceo) if ceo else "",
                f=E[rng.choice(founders)].label if founders else "",
                hint=b.industry_hint[b.industry_of[comp]],
                a_hint=("an " if b.industry_hint[b.industry_of[comp]][0] in "aeiou" else "a ")
                + b.industry_hint[b.industry_of[comp]],
                city=rng.choice(b.corpus_cities).label, hq=hq,
                country=rng.choice(b.of_kind("Country")).label,
                pct=rng.choice([2, 3, 4, 5, 6, 7, 9, 12, 14, 15, 17, 19]),
                money=money(rng), n=rng.choice([40, 120, 200, 350, 500, 800, "1,200", "2,000"]),
                day=rng.choice(DAYS), q=q[0], qadj=q[1],
                year=rng.choice([2024, 2025, 2026]), ord=rng.choice(ORDINALS))
            text = text[0].upper() + text[1:]
            nw = len(text.split())
            if 8 <= nw <= 25 and text not in seen_texts:
                break
        else:
            raise RuntimeError("could not generate a valid text")
        seen_texts.add(text)
        rows.append({"split": split, "label": sec, "text": text, "_company": comp,
                     "_mode": mode, "_unseen": unseen,
                     "_ceo_only": "{p}" in tmpl and "{c}" not in tmpl})
    # order: train, val, test; shuffled inside each split; sequential ids
    out = []
    for split in ["train", "val", "test"]:
        part = [r for r in rows if r["split"] == split]
        rng.shuffle(part)
        out += part
    for i, r in enumerate(out, 1):
        r["id"] = f"qs{i:04d}"
    return out


def write_corpus(rows) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    wr.writerow(["id", "text", "label", "split"])
    for r in rows:
        wr.writerow([r["id"], r["text"], r["label"], r["split"]])
    return buf.getvalue()


# --------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------

def write_readme(b: Builder, rows, ttl: str) -> str:
    kinds = Counter(e.kind for e in b.entities.values())
    per = Counter((r["split"], r["label"]) for r in rows)
    test = [r for r in rows if r["split"] == "test"]
    unseen_frac = sum(r["_unseen"] for r in test) / len(test)
    n_ceo = sum(r["_mode"] == "ceo" for r in rows)
    n_hint = sum(r["_mode"] == "hint" for r in rows)
    n_hint_ceo = sum(r["_mode"] == "hint" and r["_ceo_only"] for r in rows)
    lines = []
    a = lines.append
    a("# kgattn quickstart data")
    a("")
    a("A small, fully invented knowledge graph plus a labelled text corpus, used by the")
    a("quickstart demo and the unit tests. **Generated** by `tools/make_quickstart.py`")
    a("(stdlib only, fixed seeds); do not edit these files by hand, rerun the script:")
    a("")
    a("```bash")
    a("python tools/make_quickstart.py          # rewrites data/quickstart/")
    a("python tools/make_quickstart.py --check  # exits 1 if the files are out of date")
    a("```")
    a("")
    a("| file | content |")
    a("|---|---|")
    a(f"| `kg.ttl` | knowledge graph in Turtle ({len(b.entities)} entities) |")
    a(f"| `corpus.csv` | {len(rows)} labelled short texts, columns `id,text,label,split` |")
    a("| `README.md` | this file |")
    a("")
    a("## Knowledge graph (`kg.ttl`)")
    a("")
    a("Prefixes:")
    a("")
    a("```turtle")
    for line in ttl.splitlines():
        if line.startswith("@prefix"):
            a(line)
    a("```")
    a("")
    a("Entity IRIs are `ex:<type>_<slug>`, e.g. `ex:company_kelbrook_group`,")
    a("`ex:industry_oil_and_gas`, `ex:person_edwin_castell`. Every entity has exactly one")
    a("`rdf:type`:")
    a("")
    a("| class | count |")
    a("|---|---|")
    for cls in CLASS_ORDER:
        a(f"| `ex:{cls}` | {kinds[cls]} |")
    a("")
    a("Literals: `rdfs:label \"...\"@en` (preferred name), `skos:altLabel \"...\"@en`")
    a("(aliases: short forms, ticker-like abbreviations, initials), `rdfs:comment \"...\"@en`")
    a("(short description), and on some companies `schema:tickerSymbol` and")
    a("`schema:numberOfEmployees`. The classes and properties themselves are declared at the")
    a("top of the file (`rdfs:Class` / `rdf:Property` with `rdfs:label`, domain and range).")
    a("")
    a("Relations (object properties, all in `ex:`):")
    a("")
    a("| property | from → to | meaning |")
    a("|---|---|---|")
    for local, lab, dom, rng_, com in PROPERTIES:
        a(f"| `ex:{local}` | {dom} → {rng_} | {lab}{'; ' + com if com else ''} |")
    a("")
    a("The sector of a company is known **only** through `ex:industry` → `ex:sector`.")
    a("Only half of the companies have an `rdfs:comment`, and no company description")
    a("mentions its industry or sector. Company names are invented and chosen so that they")
    a("do not reveal the industry.")
    a("")
    a("Deliberate edge cases (for loader/linker tests):")
    a("")
    for s, ents in b.planted_ambiguities:
        a(f"- alias `{s}` is shared by " + " and ".join(f"`ex:{e}`" for e in ents))
    a("- `ex:company_kelbrook_group` has a second label `\"Kelbrook Gruppe\"@de` that an")
    a("  English-only loader should ignore")
    a("- `ex:city_brackwater` has no label at all (its IRI local name acts as its label)")
    a("- `ex:company_quillon` has an untagged label literal `\"Quillon\"` (no language tag)")
    a("- `ex:company_brunnhaus_ag` (`\"Brünnhaus AG\"`) and `ex:city_velmonte` (`\"Velmonté\"`)")
    a("  have non-ASCII labels")
    a("")
    a("## Corpus (`corpus.csv`)")
    a("")
    a("UTF-8, comma-separated, RFC 4180 quoting, header `id,text,label,split`. `label` is the")
    a("sector of the company the text is about: `technology`, `finance`, `energy`, `health`.")
    a("")
    a("| split | technology | finance | energy | health | total |")
    a("|---|---|---|---|---|---|")
    for split in ["train", "val", "test"]:
        cnt = [per[(split, s)] for s in SECTOR_ORDER]
        a(f"| {split} | " + " | ".join(map(str, cnt)) + f" | {sum(cnt)} |")
    a("")
    a("How it was generated:")
    a("")
    a(f"- {len(T_COMPANY) + len(T_PAIR) + len(T_WITH_CEO) + len(T_WITH_FOUNDER) + len(T_CEO_ONLY)}"
      " sector-neutral business-news templates (share moves, earnings, hiring, offices,")
    a("  lawsuits, partnerships, acquisitions, CEO news) filled with invented names, cities,")
    a("  countries and random numbers. Templates, numbers and cities are drawn independently")
    a("  of the label, so the words carry no information about the sector.")
    a(f"- {n_ceo} texts ({n_ceo / len(rows):.0%}) name only the company's CEO, not the company: the")
    a("  label is then reachable via `ex:ceoOf` → `ex:industry` → `ex:sector`")
    a(f"  (plus {n_hint_ceo} of the hint texts below that also name only the CEO).")
    a(f"- {n_hint} texts ({n_hint / len(rows):.0%}) contain a weak lexical hint (the industry word,")
    a("  e.g. \"the insurance firm ...\"), so a text-only model is not at chance level.")
    a("- About a quarter of company mentions use an alias (`skos:altLabel`) instead of the label.")
    a("- Texts that mention a second company always pick one from the same sector.")
    a("- Companies are split per sector into 24 *train* companies, 4 *val-only*, 6 *test-only*")
    a("  and 5 that appear in no text. Train texts use only train companies; val/test texts")
    a("  mostly reuse train companies (new sentences), but "
      f"{unseen_frac:.0%} of the test texts")
    a("  (and 7 of 24 val texts per class) are about companies never mentioned in any train")
    a("  text — there only the graph can help.")
    a("")
    a("## Licence")
    a("")
    a("Written for the kgattn project and dedicated to the public domain under")
    a("[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/). All names are invented;")
    a("any resemblance to real companies or people is coincidental.")
    a("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Checks that run on every generation
# --------------------------------------------------------------------------

def find_ambiguities(b: Builder):
    surf = defaultdict(set)
    for e in b.entities.values():
        for s in ([e.label] if e.label else []) + e.alt:
            surf[s.lower()].add(e.iri)
    amb = sorted((s, sorted(v)) for s, v in surf.items() if len(v) > 1)
    return amb


def self_check(b: Builder, rows):
    expected = {"marlow", "veloria", "orv", "castell", "tessaly"}
    amb = find_ambiguities(b)
    got = {s for s, _ in amb}
    assert got == expected, f"unexpected shared aliases: {sorted(got ^ expected)}"
    for s, ents in amb:
        assert len(ents) == 2, (s, ents)
    # names are clean
    for e in b.entities.values():
        if e.kind in ("Company", "City", "Country", "Person") and e.label:
            assert is_clean(e.label), e.label
    # descriptions never mention industry/sector words
    words = set()
    for key, sec, lab, alt, hint, com in INDUSTRIES:
        words |= {lab.lower(), hint.lower(), *[a.lower() for a in alt]}
    for s in SECTOR_ORDER:
        words |= {SECTORS[s][0], *SECTORS[s][1]}
    for e in b.of_kind("Company"):
        if e.comment:
            low = e.comment.lower()
            assert not any(re.search(r"\b" + re.escape(w) + r"\b", low) for w in words), e.comment
    n_desc = sum(1 for e in b.of_kind("Company") if e.comment)
    assert n_desc <= len(b.of_kind("Company")) // 2 + 1
    # neutral templates contain no industry / sector words
    for t in T_COMPANY + T_PAIR + T_WITH_CEO + T_WITH_FOUNDER + T_CEO_ONLY:
        low = t.lower()
        assert not any(re.search(r"\b" + re.escape(w) + r"\b", low) for w in words), t
    # every text 8..25 words, unique
    assert len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert 8 <= len(r["text"].split()) <= 25, r["text"]
    # train texts never mention unseen companies (as subject, partner or via CEO)
    for r in rows:
        if r["split"] == "train":
            assert b.company_role[r["_company"]] == "train"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the files on disk differ")
    args = ap.parse_args(argv)

    b = Builder(SEED).build()
    b.planted_ambiguities = [(s, ents) for s, ents in find_ambiguities(b)]
    rows = build_corpus(b)
    self_check(b, rows)
    ttl = write_turtle(b)
    files = {
        "kg.ttl": ttl,
        "corpus.csv": write_corpus(rows),
        "README.md": write_readme(b, rows, ttl),
    }
    if args.check:
        bad = [n for n, txt in files.items()
               if not (args.out / n).exists()
               or (args.out / n).read_text(encoding="utf-8") != txt]
        if bad:
            print("out of date: " + ", ".join(bad), file=sys.stderr)
            return 1
        print("data/quickstart is up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, txt in files.items():
        with open(args.out / name, "w", encoding="utf-8", newline="") as fh:
            fh.write(txt)
    kinds = Counter(e.kind for e in b.entities.values())
    print(f"wrote {args.out}: {len(b.entities)} entities "
          f"({', '.join(f'{k}={kinds[k]}' for k in CLASS_ORDER)}), {len(rows)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
