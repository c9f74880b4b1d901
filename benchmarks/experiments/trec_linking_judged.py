"""Linking precision of several TREC-500 run dirs on the same 30 test questions, by hand.

The 30 questions are ``random.seed(1); random.sample(sorted(test ids), 30)`` of the TREC-500
test split (the sample of RESULTS.md "Why" item 1). Every linked (mention, synset) pair that
appears in any of the runs was judged once by one engineer, reading the synset's WordNet gloss;
WRONG below lists those judged wrong (wrong sense or part of speech, or a piece of a longer name
whose own synset exists or that names something else: "foot" and "mouth" of "foot and mouth
disease", "Holland" of "Holland Tunnel"). Every other linked pair of the sample was judged right.
Nobody else has reviewed the judgements.

    .venv/bin/python benchmarks/experiments/trec_linking_judged.py OUT.json RUN_DIR [RUN_DIR ...]
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pyarrow.parquet as pq

# (mention text, synset) pairs judged wrong.
WRONG = {
    ("die", "die.n.01"), ("foot", "foot.n.01"), ("mouth", "mouth.v.03"), ("mouth", "mouth.n.01"),
    ("first person", "first_person.n.01"), ("reach", "reach.n.03"), ("president", "president.n.01"),
    ("appeared", "look.v.02"), ("Laugh", "laugh.n.01"), ("buy", "bargain.n.02"),
    ("Valentine", "valentine.n.02"), ("Day", "day.n.03"), ("stand for", "typify.v.02"),
    ("stand", "stand.n.02"), ("state", "state.v.01"), ("blind", "blind.n.03"),
    ("roller coaster", "roller_coaster.n.02"), ("Mona", "anglesey.n.01"), ("painted", "painted.a.03"),
    ("instant", "blink_of_an_eye.n.01"), ("baby", "baby.n.06"), ("lion", "lion.n.02"),
    ("Holland", "netherlands.n.01"), ("Tunnel", "tunnel.v.02"), ("Tunnel", "tunnel.n.01"),
}
# Every pair that any judged run linked in the sample; a pair outside WRONG and outside this set
# was never looked at, and the script refuses to count it.
RIGHT = {
    ("day", "day.n.01"), ("month", "calendar_month.n.01"), ("John Lennon", "lennon.n.01"), ("die", "die.v.01"),
    ("disease", "disease.n.01"), ("reach", "reach.v.01"), ("North Pole", "north_pole.n.01"),
    ("U.S.A.", "united_states.n.01"), ("carcinogen", "carcinogen.n.01"), ("invertebrates", "invertebrate.n.01"),
    ("far", "far.s.02"), ("nautical mile", "nautical_mile.n.01"), ("city", "city.n.01"),
    ("United States", "united_states.n.01"), ("statue of liberty", "statue_of_liberty.n.01"),
    ("panic disorder", "panic_disorder.n.01"), ("year", "year.n.01"), ("U.S.", "united_states_government.n.01"),
    ("buy", "buy.v.01"), ("Alaska", "alaska.n.01"), ("William Penn", "penn.n.01"), ("ship", "ship.n.01"),
    ("relative humidity", "relative_humidity.n.01"), ("acronym", "acronym.n.01"),
    ("NASA", "national_aeronautics_and_space_administration.n.01"), ("Ohio", "ohio.n.01"), ("state", "state.n.01"),
    ("bird", "bird.n.01"), ("liters", "liter.n.01"), ("gallon", "gallon.n.01"), ("criterion", "criterion.n.02"),
    ("legally", "legally.r.01"), ("blind", "blind.a.01"), ("Idaho", "idaho.n.01"), ("golf course", "golf_course.n.01"),
    ("located", "located.s.01"), ("pastrami", "pastrami.n.01"), ("Eiffel Tower", "eiffel_tower.n.01"),
    ("invented", "invent.v.01"), ("Polaroid camera", "polaroid_camera.n.01"), ("county", "county.n.01"),
    ("California", "california.n.01"), ("speed of light", "speed_of_light.n.01"), ("Grand Canyon", "grand_canyon.n.01"),
}


def sample_ids(run: Path) -> list[str]:
    ids = pq.read_table(run / "link/linked.parquet", columns=["id"], filters=[("split", "=", "test")])["id"]
    random.seed(1)
    return random.sample(sorted(ids.to_pylist()), 30)


def judge(run: Path, ids: list[str]) -> dict:
    rows = {r["id"]: r for r in pq.read_table(run / "link/linked.parquet", filters=[("split", "=", "test")]).to_pylist()}
    linked = [(m["text"], m["node_id"]) for i in ids for m in rows[i]["mentions"] if m["node"] is not None]
    unjudged = sorted({p for p in linked if p not in WRONG and p not in RIGHT})
    if unjudged:
        raise SystemExit(f"{run}: pairs nobody judged: {unjudged}")
    right = sum(p in RIGHT for p in linked)
    return {"linked_mentions": len(linked), "right": right, "precision": right / len(linked) if linked else None,
            "questions_with_a_link": sum(any(m["node"] is not None for m in rows[i]["mentions"]) for i in ids),
            "wrong": sorted({p for p in linked if p in WRONG})}


def main() -> int:
    out, runs = Path(sys.argv[1]), [Path(r) for r in sys.argv[2:]]
    ids = sample_ids(runs[0])
    result = {"questions": ids, "runs": {}}
    for run in runs:
        if sample_ids(run) != ids:
            raise SystemExit(f"{run}: a different test split from {runs[0]}")
        result["runs"][str(run)] = r = judge(run, ids)
        print(f"{run}: {r['right']}/{r['linked_mentions']} right ({100 * r['precision']:.0f}%), "
              f"{r['questions_with_a_link']}/30 questions with a link")
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
