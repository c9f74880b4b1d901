"""Scale benchmark (issue 16): generate, import, load, cut subgraphs and link at N edges.

One command::

    python benchmarks/scale.py --edges 2000000 [--workdir DIR] [--keep] [--skip-memory-import] [--skip-tsv]
    python benchmarks/scale.py --workdir DIR --base RUN.json --only load,subgraphs,index,link   # rerun, kept dir
    python benchmarks/scale.py --workdir DIR --base RUN.json --only import_tsv_stream          # the TSV import too

Steps, each in its own process (wall time, CPU time and peak RSS of that process, from ``os.wait4``):

1. ``generate``: a Wikidata-shaped dump (``benchmarks/scale_gen.py``; N-Triples gzip, and the
   same graph as a TSV of triples + names + relation names);
2. ``import_stream``: the streaming importer (``kgattn.graph.streaming.import_ntriples``, what
   ``kgattn kg import dump.nt.gz --out kg --streaming`` runs), with its stage times;
3. ``import_rdf``: the in-memory importer, ``kgattn kg import dump.nt.gz --out kg_rdf
   --no-streaming`` (``from_rdf`` then ``save``), for the ratio at the same N and to check that
   both write the same graph (fingerprints); ``--skip-memory-import`` leaves it out, and above
   20M edges it is left out unless ``--force-in-memory`` (~800 bytes of RSS per triple);
4. ``import_tsv``: ``KnowledgeGraph.from_triples(triples.tsv.gz, names=..., relation_names=...)``
   then ``save`` (labels only); ``--skip-tsv`` leaves it out (and above 20M edges, as step 3);
   ``import_tsv_stream``: the same files through the bounded-memory TSV import
   (``KnowledgeGraph.import_triples(..., streaming=True)``), checked to write the same fingerprint
   when both ran; ``--skip-tsv-stream`` leaves it out;
5. ``load``: ``KnowledgeGraph.load(kg, mmap=True)`` (time inside the process, and the
   process's RSS right after it; the import checked its output once, so this load skips the
   range checks, which are timed on their own too, as is ``load(check=False)``);
6. ``subgraphs``: 1,000 random single-node seeds, ``kg.subgraph([s], hops=2, max_nodes=64)``
   each timed alone (median, p95, max), after 20 warm-up calls on other seeds;
7. ``texts`` (20,000 short texts for step 8, in a process of their own) and ``index``:
   ``DiskAliasIndex.build(kg)`` into a fresh cache, in bounded memory
   (:mod:`kgattn.linking.alias_index_build`): what ``EntityLinker(kg, index="disk")`` builds once;
8. ``link``: a new process, ``EntityLinker(kg, index="disk", disambiguate="prior")`` opening that
   index (memory-mapped), then ``link_batch`` over the 20,000 short texts of step 7 that name 2-3
   random entities by their label or an alias (the first 2,000, which meet cold pages and empty
   memos, are also timed alone) (texts/s, and how many named entities came out as
   the chosen node of a mention): the linking process's own RSS.

Steps 5-8 use the streaming import. Results are merged into ``benchmarks/results/scale.json``
(``streaming_runs``, keyed by N; the earlier in-memory-only runs stay under ``runs``) and
``scale.md`` is rewritten from it, with the estimate for 100M edges printed too. The workdir
(default: a temporary folder) is deleted unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
N_SEEDS, N_TEXTS, N_COLD = 1000, 20000, 2000
#: Above this many edges the in-memory importers (RDF and TSV) are skipped unless --force-in-memory.
IN_MEMORY_MAX_EDGES = 20_000_000
TEMPLATES = ("{0} met {1} last spring.", "Reports say {0} is close to {1}.", "{0}, {1} and {2} were mentioned.",
             "The story of {0} began in {1}.", "Why did {0} leave {1}?")


# ------------------------------------------------------------------------------ steps (children)
def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def step_import_tsv(work: Path) -> dict:
    from kgattn.graph import KnowledgeGraph
    from kgattn.persistence import atomic_path

    d = work / "dump"
    t0 = time.perf_counter()
    kg = KnowledgeGraph.from_triples(d / "triples.tsv.gz", names=d / "names.tsv.gz",
                                     relation_names=d / "relations.tsv.gz")
    t1 = time.perf_counter()
    with atomic_path(work / "kg_tsv") as tmp:
        kg.save(tmp)
    return {"parse_s": t1 - t0, "save_s": time.perf_counter() - t1, "nodes": kg.num_nodes,
            "edges": kg.num_edges, "relations": kg.num_relations}


def step_import_tsv_stream(work: Path) -> dict:
    from kgattn.graph.stream_triples import import_triples

    d, report = work / "dump", {}
    t0 = time.perf_counter()
    manifest = import_triples(d / "triples.tsv.gz", work / "kg_tsv_stream", names=d / "names.tsv.gz",
                              relation_names=d / "relations.tsv.gz", report=report)
    return {"import_s": time.perf_counter() - t0, "stage_s": report["seconds"], "nodes": manifest["num_nodes"],
            "edges": manifest["num_edges"], "relations": manifest["num_relations"],
            "fingerprint": manifest["fingerprint"]}


def step_load(work: Path, graph: str) -> dict:
    from kgattn.graph import KnowledgeGraph

    before = _rss_now_mb()
    t0 = time.perf_counter()
    kg = KnowledgeGraph.load(work / graph, mmap=True)
    t = time.perf_counter() - t0
    after = _rss_now_mb()
    t0 = time.perf_counter()
    KnowledgeGraph.load(work / graph, mmap=True)  # again: files checked before are not checked again
    again = time.perf_counter() - t0
    t0 = time.perf_counter()
    KnowledgeGraph.load(work / graph, mmap=True, check=False)  # without the range check (trusted directory)
    unchecked = time.perf_counter() - t0
    # What a first load of files never checked pays (the importer checks its output once, so the
    # loads above find its stamp): the range checks alone, timed on the mapped arrays.
    from kgattn.graph.saved import check_arrays, read_graph

    arrays, meta = read_graph(work / graph, mmap=True, check=False)
    t0 = time.perf_counter()
    check_arrays(arrays, meta, work / graph)
    checks = time.perf_counter() - t0
    return {"load_s": t, "load_again_s": again, "load_unchecked_s": unchecked, "range_checks_s": checks,
            "rss_before_mb": before, "rss_after_mb": after,
            "nodes": kg.num_nodes,
            "edges": kg.num_edges, "relations": kg.num_relations, "fingerprint": kg.fingerprint}


def step_subgraphs(work: Path, graph: str) -> dict:
    import numpy as np

    from kgattn.graph import KnowledgeGraph

    kg = KnowledgeGraph.load(work / graph, mmap=True)
    rng = np.random.default_rng(0)
    # distinct seeds, unless the graph is smaller than that (tiny test graphs)
    seeds = rng.choice(kg.num_nodes, size=N_SEEDS + 20, replace=kg.num_nodes < N_SEEDS + 20).tolist()
    t0 = time.perf_counter()
    kg.subgraph([seeds[0]], hops=2, max_nodes=64)
    first = time.perf_counter() - t0
    for s in seeds[1:20]:
        kg.subgraph([s], hops=2, max_nodes=64)
    times, sizes = [], []
    for s in seeds[20:]:
        t0 = time.perf_counter()
        sg = kg.subgraph([s], hops=2, max_nodes=64)
        times.append(time.perf_counter() - t0)
        sizes.append(sg.num_nodes)
    ms = sorted(x * 1e3 for x in times)
    return {"first_call_ms": first * 1e3, "median_ms": statistics.median(ms),
            "p95_ms": ms[int(0.95 * len(ms)) - 1], "max_ms": ms[-1], "mean_nodes": statistics.fmean(sizes),
            "seeds": len(ms)}


def _texts(kg, n: int, seed: int = 1) -> tuple[list[str], list[list[int]]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    texts, gold = [], []
    for k in range(n):
        template = TEMPLATES[k % len(TEMPLATES)]
        nodes = rng.choice(kg.num_nodes, size=template.count("{"), replace=False).tolist()
        names = []
        for v in nodes:
            options = [kg.label(v)] + [a for a in kg.aliases(v) if a != kg.label(v)]
            names.append(options[int(rng.integers(len(options)))])
        texts.append(template.format(*names))
        gold.append(nodes)
    return texts, gold


def step_texts(work: Path, graph: str) -> dict:
    """The link step's texts, made in a process of their own: reading the names of random nodes maps
    pages of the name arrays (and their neighbours), which would count in the linking process's RSS."""
    from kgattn.graph import KnowledgeGraph

    kg = KnowledgeGraph.load(work / graph, mmap=True)
    texts, gold = _texts(kg, N_TEXTS)
    (work / "link_texts.json").write_text(json.dumps({"texts": texts, "gold": gold}))
    return {"texts": len(texts), "names": sum(len(g) for g in gold)}


def step_index(work: Path, graph: str) -> dict:
    """Build the disk alias index into a fresh cache (its own process: the build's time and peak RSS)."""
    os.environ["KGATTN_CACHE"] = str(work / "cache")
    shutil.rmtree(work / "cache" / "alias_indexes", ignore_errors=True)  # measure a build, not a cache hit
    from kgattn.graph import KnowledgeGraph
    from kgattn.linking.alias_index import DiskAliasIndex

    kg = KnowledgeGraph.load(work / graph, mmap=True)
    rss0 = _rss_now_mb()
    t0 = time.perf_counter()
    report: dict = {}
    index = DiskAliasIndex.build(kg, report=report)
    build = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in index.directory.iterdir()) / 2**20
    return {"build_s": build, "rss_before_build_mb": rss0, "rss_after_build_mb": _rss_now_mb(),
            "keys": index.num_keys, "pairs": int(index.ptr[-1]), "names": len(kg.names_table.values),
            "pass_s": report.get("seconds", {}),
            "index_mb": size}


def step_link(work: Path, graph: str) -> dict:
    """A linking process: opens the index ``step_index`` built (memory-mapped) and links short texts."""
    os.environ["KGATTN_CACHE"] = str(work / "cache")
    from kgattn.graph import KnowledgeGraph
    from kgattn.linking import EntityLinker

    kg = KnowledgeGraph.load(work / graph, mmap=True)
    made = json.loads((work / "link_texts.json").read_text())  # written by step_texts
    texts, gold = made["texts"], made["gold"]
    rss0 = _rss_now_mb()
    t0 = time.perf_counter()
    linker = EntityLinker(kg, index="disk", disambiguate="prior").warm_up()
    opened = time.perf_counter() - t0
    rss_built = _rss_now_mb()
    t0 = time.perf_counter()
    out = list(linker.link_batch(texts[:N_COLD], batch_size=256))  # the first texts pay for cold pages and memos
    cold = time.perf_counter() - t0
    out += list(linker.link_batch(texts[N_COLD:], batch_size=256))
    link = time.perf_counter() - t0
    named = sum(len(g) for g in gold)
    found = sum(len(set(g) & {m.node for m in ms}) for g, ms in zip(gold, out))
    in_cands = sum(len(set(g) & {c.node for m in ms for c in m.candidates}) for g, ms in zip(gold, out))
    return {"open_s": opened, "rss_before_open_mb": rss0, "rss_after_open_mb": rss_built,
            "texts": len(texts), "link_s": link, "texts_per_s": len(texts) / link,
            "first_texts": N_COLD, "first_texts_per_s": N_COLD / cold,
            "mentions": sum(len(ms) for ms in out), "named_entities": named,
            "named_entity_chosen": found / named, "named_entity_in_candidates": in_cands / named,
            "example": {"text": texts[0], "mentions": [(m.text, m.node) for m in out[0]], "gold": gold[0]}}


def step_import_stream(work: Path) -> dict:
    from kgattn.graph.streaming import import_ntriples

    report: dict = {}
    t0 = time.perf_counter()
    manifest = import_ntriples(work / "dump" / "dump.nt.gz", work / "kg_stream", report=report)
    return {"import_s": time.perf_counter() - t0, "stage_s": report["seconds"], "spill_bytes": report["spill_bytes"],
            "nodes": manifest["num_nodes"], "edges": manifest["num_edges"], "relations": manifest["num_relations"],
            "fingerprint": manifest["fingerprint"]}


STEPS = {"import_stream": step_import_stream, "import_tsv": step_import_tsv,
         "import_tsv_stream": step_import_tsv_stream, "load": step_load,
         "subgraphs": step_subgraphs, "texts": step_texts, "index": step_index, "link": step_link}


# ------------------------------------------------------------------------------ driver (parent)
def run_step(name: str, argv: list[str], work: Path, shown: str) -> dict:
    """Run ``argv`` in a child process; its wall time, peak RSS and (for our own steps) its JSON."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "KGATTN_CACHE": str(work / "cache")}
    log = work / f"{name}.log"
    print(f"[{name}] {shown}", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    res = {"command": shown, "wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
           "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "returncode": proc.returncode}
    out = work / f"{name}.json"
    if out.exists():
        res["result"] = json.loads(out.read_text())
    if proc.returncode != 0:
        res["error"] = log.read_text()[-2000:]
    print(f"[{name}] {wall:.1f} s, peak RSS {res['peak_rss_mb']:.0f} MB, rc {proc.returncode}", flush=True)
    return res


def child(step: str, work: Path, graph: str) -> None:
    fn = STEPS[step]
    res = fn(work) if step in IMPORT_STEPS else fn(work, graph)
    (work / f"{step}.json").write_text(json.dumps(res, indent=1))


def machine() -> dict:
    mem = next((int(line.split()[1]) / 2**20 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "mem_gb": round(mem, 1),
            "platform": platform.platform(), "loadavg_start": os.getloadavg()}


LATER_STEPS = ("load", "subgraphs", "texts", "index", "link")
IMPORT_STEPS = ("import_stream", "import_tsv", "import_tsv_stream")
TSV_STREAM_COMMAND = ("KnowledgeGraph.import_triples(triples.tsv.gz, KG_TSV_STREAM, streaming=True, names=names.tsv.gz, "
                      "relation_names=relations.tsv.gz)  (= kgattn kg import triples.tsv.gz --streaming, "
                      "with the relation names)")


def later_commands(graph: str) -> dict[str, str]:
    """What each step after the imports runs, as the report shows it."""
    return {"load": f"KnowledgeGraph.load({graph.upper()}, mmap=True)",
            "subgraphs": f"{N_SEEDS} x kg.subgraph([seed], hops=2, max_nodes=64)",
            "texts": f"{N_TEXTS:,} short texts naming random entities (for the link step)",
            "index": "DiskAliasIndex.build(kg)  (what EntityLinker(kg, index='disk') builds once)",
            "link": f"EntityLinker(kg, index='disk', disambiguate='prior').warm_up(); "
                    f"link_batch({N_TEXTS:,} texts)  (opens the index built by the step before)"}


def rerun_later_steps(args) -> dict:
    """``--only``: run some of the steps after the import again on a kept ``--workdir``, keeping the
    other steps (generate, imports) of the run saved as ``--base`` (its JSON)."""
    run = json.loads(Path(args.base).read_text())
    work = Path(args.workdir)
    graph = run["graph_used_for_load_subgraphs_link"]
    me = str(Path(__file__).resolve())
    info = machine()
    for name in args.only.split(","):
        if name not in (*LATER_STEPS, "import_tsv_stream"):
            raise SystemExit(f"--only takes steps among {', '.join(LATER_STEPS)}, import_tsv_stream; got {name!r}")
        shown = TSV_STREAM_COMMAND if name == "import_tsv_stream" else later_commands(graph)[name]
        run["steps"][name] = run_step(name, [sys.executable, me, "--step", name, "--workdir", str(work), "--graph", graph],
                                      work, shown)
    _same_tsv_fingerprint(run["steps"], work)
    run["steps"]["disk"]["alias_index_mb"] = sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file()) / 2**20
    info["loadavg_end"] = os.getloadavg()
    reruns = run.setdefault("reruns", [run.pop("rerun")] if "rerun" in run else [])
    reruns.append({"steps": args.only.split(","), "command": "python benchmarks/scale.py " + shlex.join(sys.argv[1:]),
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": info,
                   "commit": _commit()})
    return run


def _same_tsv_fingerprint(steps: dict, work: Path) -> None:
    """Whether the streamed TSV import wrote the graph the in-memory one did (when both ran)."""
    a, b = work / "kg_tsv" / "meta.json", work / "kg_tsv_stream" / "meta.json"
    if "import_tsv_stream" in steps and a.exists() and b.exists():
        steps["import_tsv_stream"]["same_fingerprint_as_in_memory_tsv"] = (
            json.loads(a.read_text())["fingerprint"] == json.loads(b.read_text())["fingerprint"])


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run_all(args) -> dict:
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kgattn-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    me = str(Path(__file__).resolve())
    dump = work / "dump"
    steps: dict = {}
    info = machine()
    steps["generate"] = run_step("generate", [py, str(ROOT / "benchmarks" / "scale_gen.py"), "--edges", str(args.edges),
                                              "--out", str(dump), "--tsv", "--seed", str(args.seed)], work,
                                 f"python benchmarks/scale_gen.py --edges {args.edges} --out DUMP --tsv --seed {args.seed}")
    steps["generate"]["result"] = json.loads((dump / "counts.json").read_text())
    steps["import_stream"] = run_step("import_stream", [py, me, "--step", "import_stream", "--workdir", str(work)],
                                      work, "import_ntriples(DUMP/dump.nt.gz, KG_STREAM)  "
                                            "(= kgattn kg import DUMP/dump.nt.gz --out KG_STREAM --streaming)")
    if args.edges > IN_MEMORY_MAX_EDGES and not args.force_in_memory:
        # ~800 bytes of RSS per triple in memory (measured at 2M edges): 100M edges would need ~91 GB
        print(f"[import_rdf, import_tsv] skipped above {IN_MEMORY_MAX_EDGES:,} edges (the in-memory importers need "
              f"~{args.edges * 1.44 * 800 / 2**30:,.0f} GB here; --force-in-memory runs them)", flush=True)
        args.skip_memory_import = args.skip_tsv = True
    if not args.skip_memory_import:
        steps["import_rdf"] = run_step("import_rdf", [py, "-m", "kgattn.cli", "kg", "import", str(dump / "dump.nt.gz"),
                                                      "--out", str(work / "kg_rdf"), "--no-streaming"], work,
                                       "kgattn kg import DUMP/dump.nt.gz --out KG_RDF --no-streaming")
    if not args.skip_tsv:
        steps["import_tsv"] = run_step("import_tsv", [py, me, "--step", "import_tsv", "--workdir", str(work)], work,
                                       "KnowledgeGraph.from_triples(triples.tsv.gz, names=names.tsv.gz, "
                                       "relation_names=relations.tsv.gz).save(KG_TSV)")
    if not args.skip_tsv_stream:
        steps["import_tsv_stream"] = run_step("import_tsv_stream", [py, me, "--step", "import_tsv_stream", "--workdir",
                                                                    str(work)], work, TSV_STREAM_COMMAND)
    _same_tsv_fingerprint(steps, work)
    graph = next((g for g, step in (("kg_stream", "import_stream"), ("kg_rdf", "import_rdf"), ("kg_tsv", "import_tsv"))
                  if steps.get(step, {}).get("returncode") == 0), "kg_stream")
    for name, shown in later_commands(graph).items():
        steps[name] = run_step(name, [py, me, "--step", name, "--workdir", str(work), "--graph", graph], work, shown)
    same = None
    if (work / "kg_stream" / "meta.json").exists() and (work / "kg_rdf" / "meta.json").exists():
        same = (json.loads((work / "kg_stream" / "meta.json").read_text())["fingerprint"]
                == json.loads((work / "kg_rdf" / "meta.json").read_text())["fingerprint"])
    def mb(path: Path) -> float:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0

    steps["disk"] = {"dump_nt_gz_mb": (dump / "dump.nt.gz").stat().st_size / 2**20, "saved_graph_mb": mb(work / graph),
                     "dump_dir_mb": mb(dump), "alias_index_mb": mb(work / "cache"),
                     "spill_mb": (steps["import_stream"].get("result") or {}).get("spill_bytes", 0) / 2**20,
                     "same_fingerprint_stream_vs_memory": same}
    info["loadavg_end"] = os.getloadavg()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"edges": args.edges, "graph_used_for_load_subgraphs_link": graph, "machine": info,
            "command": "python benchmarks/scale.py " + shlex.join(sys.argv[1:]), "steps": steps,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main() -> None:
    p = argparse.ArgumentParser(description="Scale benchmark: generate, import, load, subgraphs, link.")
    p.add_argument("--edges", type=int, default=200_000)
    p.add_argument("--workdir", type=Path, default=None, help="where the dump and graphs go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the workdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-memory-import", action="store_true",
                   help="leave out the in-memory importer (kgattn kg import --no-streaming)")
    p.add_argument("--skip-tsv", action="store_true", help="leave out the in-memory TSV import")
    p.add_argument("--skip-tsv-stream", action="store_true", help="leave out the streaming TSV import")
    p.add_argument("--force-in-memory", action="store_true",
                   help=f"run the in-memory importers above {IN_MEMORY_MAX_EDGES:,} edges too (needs ~1.2 KB RAM per edge)")
    p.add_argument("--no-write", action="store_true", help="do not update benchmarks/results/scale.*")
    p.add_argument("--only", help=f"with --workdir and --base: rerun these of {','.join(LATER_STEPS)} on a kept workdir")
    p.add_argument("--base", help="the JSON of the run whose other steps --only keeps (scale.json's entry or --no-write output)")
    p.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    p.add_argument("--graph", default="kg_stream", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.step:
        sys.path.insert(0, str(ROOT))
        child(args.step, args.workdir, args.graph)
        return
    run = rerun_later_steps(args) if args.only else run_all(args)
    if args.no_write:
        print(json.dumps(run, indent=1))
        return
    from scale_report import write_results  # noqa: E402 (benchmarks/ is on sys.path as the script's folder)

    write_results(run, RESULTS)


if __name__ == "__main__":
    main()
