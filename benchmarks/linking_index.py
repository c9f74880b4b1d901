"""The ``index`` section of ``benchmarks/linking.py``: the in-RAM automaton against the
memory-mapped disk index (``EntityLinker(index="automaton" | "disk")``), prior mode.

For WordNet (all TREC questions) and FB15k-237 (CoNLL-2003 test sentences), each index is timed
to a ready linker with an empty cache (build) and with the cache that build filled (open), then
links every text ``--repeats`` times. Each run is a fresh process (``--worker``), so its RSS is
its own. Run through ``python benchmarks/linking.py --sections index``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MB = 2 ** 20


def index_section(repeats: int) -> dict:
    out = {}
    for graph in ("wordnet", "fb15k-237"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "KGATTN_CACHE": cache}
            for mode in ("automaton", "disk"):
                for state in ("build", "open"):
                    cmd = [sys.executable, __file__, "--worker", f"{graph},{mode}", "--repeats", str(repeats)]
                    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                    out[f"{graph}_{mode}_{state}"] = json.loads(done.stdout.strip().splitlines()[-1])
            cmd = [sys.executable, __file__, "--worker", f"{graph},interleaved", "--repeats", str(repeats)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            out[f"{graph}_interleaved"] = json.loads(done.stdout.strip().splitlines()[-1])
        same = {out[f"{graph}_{m}_open"].pop("digest") for m in ("automaton", "disk")}
        out[f"{graph}_identical_mentions"] = len(same) == 1
    return out


def worker(spec: str, repeats: int) -> dict:
    """One run in this fresh process: ``spec`` is ``graph,mode``."""
    import hashlib

    import psutil
    from linking import WORDNET_PRIOR, Bench, EntityLinker, data_dir, read_conll, timed

    graph, mode = spec.split(",")
    proc = psutil.Process()
    bench = Bench(argparse.Namespace(repeats=repeats))
    if graph == "wordnet":
        kg, texts, extra = bench.wordnet, bench.trec(), {"alias_counts": bench.counts, "prior": WORDNET_PRIOR}
    else:
        kg, extra = bench.fb, {}
        texts = [s.text for s in read_conll(data_dir() / "conll2003" / "test.txt")]
    if mode == "interleaved":
        return interleaved(kg, texts, extra, repeats)
    rss0 = proc.memory_info()
    t = time.perf_counter()
    lk = EntityLinker(kg, disambiguate="prior", index=mode, **extra).warm_up()
    ready = time.perf_counter() - t
    rss1 = proc.memory_info()
    med, runs, res = timed(lambda: list(lk.link_batch(texts, batch_size=256)), repeats)
    rss2 = proc.memory_info()
    return {"texts": len(texts), "ready_s": ready, "texts_per_s": len(texts) / med, "runs_s": runs,
            "rss_before_mb": rss0.rss / MB, "rss_ready_mb": rss1.rss / MB, "rss_after_linking_mb": rss2.rss / MB,
            "linker_rss_mb": (rss2.rss - rss0.rss) / MB,
            "linker_private_mb": ((rss2.rss - rss2.shared) - (rss0.rss - rss0.shared)) / MB,
            "coverage": sum(any(m.node is not None for m in ms) for ms in res) / len(texts),
            "digest": hashlib.sha256(repr(res).encode()).hexdigest()}


def interleaved(kg, texts, extra, repeats: int) -> dict:
    """Texts/s of both indexes in one process, runs alternating, so a changing machine load hits
    both alike (medians of ``2 * repeats + 1`` runs each)."""
    import statistics

    from linking import EntityLinker

    linkers = {m: EntityLinker(kg, disambiguate="prior", index=m, **extra).warm_up() for m in ("automaton", "disk")}
    runs: dict[str, list[float]] = {m: [] for m in linkers}
    for _ in range(2 * repeats + 1):
        for m, lk in linkers.items():
            t = time.perf_counter()
            list(lk.link_batch(texts, batch_size=256))
            runs[m].append(time.perf_counter() - t)
    return {f"{m}_texts_per_s": len(texts) / statistics.median(r) for m, r in runs.items()} | {"runs_s": runs}


def markdown_lines(x: dict, fmt) -> list[str]:
    lines = ["## Alias index: in-RAM automaton vs memory-mapped disk index (prior mode)", "",
             "| graph | index | build s | open s | linker RSS MB | private MB | texts/s | coverage |",
             "|---|---|---|---|---|---|---|---|"]
    for graph in ("wordnet", "fb15k-237"):
        for mode in ("automaton", "disk"):
            b, o = x[f"{graph}_{mode}_build"], x[f"{graph}_{mode}_open"]
            lines.append(f"| {graph} | {mode} | {b['ready_s']:.2f} | {o['ready_s']:.2f} | "
                         f"{o['linker_rss_mb']:.0f} | {o['linker_private_mb']:.0f} | {fmt(o['texts_per_s'])} | "
                         f"{fmt(o['coverage'], True)} |")
    return lines + ["", "Build: empty cache; open: cache filled by the build. RSS: growth of the process from "
                    "before the linker to after linking every text (private: without file-backed pages). "
                    f"Identical mentions: WordNet {x['wordnet_identical_mentions']}, "
                    f"FB15k-237 {x['fb15k-237_identical_mentions']}.", ""] + [
        f"Interleaved in one process ({g}): automaton {fmt(x[f'{g}_interleaved']['automaton_texts_per_s'])} "
        f"texts/s, disk {fmt(x[f'{g}_interleaved']['disk_texts_per_s'])} texts/s."
        for g in ("wordnet", "fb15k-237") if f"{g}_interleaved" in x] + [""]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--worker", required=True, help="graph,mode (wordnet|fb15k-237, automaton|disk|interleaved)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(worker(args.worker, args.repeats)))
