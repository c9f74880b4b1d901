"""``benchmarks/results/scale.json`` + ``scale.md`` from the runs of ``benchmarks/scale.py``.

Runs are merged by edge count, so the 200k and 2M runs live in one file. The section on
100M edges is an *estimate* from the two largest measured runs (a straight line through them
per quantity), labelled as such: nothing at 100M has been run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kgattn.persistence import atomic_write_text, read_json, write_json  # noqa: E402

TARGET_EDGES = 100_000_000
TARGETS = "import <= 30 min with peak RSS <= 12 GB; load <= 1 s; 2-hop subgraph (max 64 nodes) <= 1 ms median; " \
          "linker: build <= 10 min, process <= 3 GB RSS, prior mode >= 2,000 short texts/s"


def write_results(run: dict, results_dir: Path) -> None:
    path = results_dir / "scale.json"
    data = read_json(path, "scale results") if path.exists() else {"runs": {}}
    data["runs"][str(run["edges"])] = run
    write_json(path, data)
    atomic_write_text(results_dir / "scale.md", render(data))
    print(f"wrote {path} and {results_dir / 'scale.md'}")


def _get(run: dict, step: str, *keys, default=None):
    x = run["steps"].get(step)
    for k in keys:
        if not isinstance(x, dict) or k not in x:
            return default
        x = x[k]
    return x


def _fmt(x, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def render(data: dict) -> str:
    runs = [data["runs"][k] for k in sorted(data["runs"], key=int)]
    out = ["# Scale benchmark (issue 16)", "",
           "Synthetic Wikidata-shaped dumps (`benchmarks/scale_gen.py`: power-law degrees, ~1,000 relation "
           "types, a label and 0-3 aliases per entity, descriptions for 40%, 1-2 of 500 types; 10 edges per "
           "entity). Each step runs in its own process; *wall* is that process's wall time (interpreter and "
           "imports included), *peak RSS* its `ru_maxrss`. The dump is never committed.", ""]
    for run in runs:
        gen = _get(run, "generate", "result", default={})
        out += [f"## {run['edges']:,} edges", "",
                f"Command: `{run['command']}` ({run['date']}; {run['machine']['cpus']} CPUs, "
                f"{run['machine']['mem_gb']} GB RAM, load average at start {run['machine']['loadavg_start'][0]:.2f}, "
                f"at end {run['machine'].get('loadavg_end', [float('nan')])[0]:.2f}; shared machine).", "",
                f"Dump: {gen.get('entities', 0):,} entities, {gen.get('edges', 0):,} edges, "
                f"{gen.get('aliases', 0):,} aliases, {gen.get('descriptions', 0):,} descriptions, "
                f"{gen.get('types', 0):,} type triples, {gen.get('relations_used', 0):,} relations used, "
                f"{gen.get('triples', 0):,} triples, {run['steps']['disk']['dump_nt_gz_mb']:.1f} MB gzip. "
                f"Saved graph: {run['steps']['disk']['saved_graph_mb']:.1f} MB "
                f"(`{run['graph_used_for_load_subgraphs_link']}`, used for load, subgraphs and linking).", "",
                "| step | what | wall (s) | CPU (s) | peak RSS (MB) | measured inside the step |",
                "|---|---|---:|---:|---:|---|"]
        for name, step in run["steps"].items():
            if name == "disk":
                continue
            out.append(f"| {name} | `{step['command']}` | {step['wall_s']:.1f} | {step['cpu_s']:.1f} | "
                       f"{step['peak_rss_mb']:.0f} | {_inside(name, step)} |")
        out.append("")
    out += _estimate(runs)
    return "\n".join(out) + "\n"


def _inside(name: str, step: dict) -> str:
    if step.get("returncode"):
        return f"**failed** (rc {step['returncode']}): {step.get('error', '')[-200:]!r}"
    r = step.get("result") or {}
    if name == "import_tsv":
        return f"parse {r['parse_s']:.1f} s, save {r['save_s']:.1f} s; {r['nodes']:,} nodes, {r['edges']:,} edges"
    if name == "load":
        return (f"load {r['load_s'] * 1e3:.0f} ms; RSS {r['rss_before_mb']:.0f} -> {r['rss_after_mb']:.0f} MB; "
                f"{r['nodes']:,} nodes, {r['edges']:,} edges, {r['relations']:,} relations")
    if name == "subgraphs":
        return (f"median {r['median_ms']:.3f} ms, p95 {r['p95_ms']:.3f} ms, max {r['max_ms']:.1f} ms "
                f"(first call {r['first_call_ms']:.0f} ms; {r['mean_nodes']:.1f} nodes on average; {r['seeds']} seeds)")
    if name == "link":
        return (f"alias table + matcher {r['build_s']:.1f} s (RSS {r['rss_before_build_mb']:.0f} -> "
                f"{r['rss_after_build_mb']:.0f} MB); {r['texts']:,} texts in {r['link_s']:.2f} s = "
                f"**{r['texts_per_s']:,.0f} texts/s**; named entity chosen {r['named_entity_chosen']:.1%}, "
                f"among candidates {r['named_entity_in_candidates']:.1%}")
    if name == "generate":
        return f"{r.get('seconds', 0):.1f} s writing"
    return ""


def _line(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    return y1 + (y1 - y0) / (x1 - x0) * (x - x1)


def _estimate(runs: list[dict]) -> list[str]:
    ok = [r for r in runs if all(_get(r, s, "returncode") == 0 for s in ("import_rdf", "import_tsv", "link"))]
    out = ["## 100,000,000 edges: not run", "",
           f"Nothing has been run at 100M edges (the issue's targets there: {TARGETS}).", ""]
    if len(ok) < 2:
        return out + ["(An estimate needs two complete runs; there are fewer.)"]
    a, b = ok[-2], ok[-1]
    xa, xb = a["edges"], b["edges"]
    rows = []
    for label, step, key in (("`kgattn kg import` (from_rdf) wall, s", "import_rdf", "wall_s"),
                             ("`kgattn kg import` (from_rdf) peak RSS, MB", "import_rdf", "peak_rss_mb"),
                             ("TSV import wall, s", "import_tsv", "wall_s"),
                             ("TSV import peak RSS, MB", "import_tsv", "peak_rss_mb"),
                             ("linker process peak RSS, MB", "link", "peak_rss_mb")):
        ya, yb = _get(a, step, key), _get(b, step, key)
        rows.append(f"| {label} | {ya:,.1f} | {yb:,.1f} | {_line(xa, ya, xb, yb, TARGET_EDGES):,.0f} |")
    ba, bb = _get(a, "link", "result", "build_s"), _get(b, "link", "result", "build_s")
    rows.append(f"| alias table build, s | {ba:,.1f} | {bb:,.1f} | {_line(xa, ba, xb, bb, TARGET_EDGES):,.0f} |")
    return out + [
        f"**Estimate, not a measurement**: a straight line through the {xa:,} and {xb:,}-edge runs, "
        f"evaluated at 100M edges. It assumes cost linear in size (no swapping, no super-linear "
        f"sort or hash-table growth), so it is a lower bound for wall time where memory runs out.", "",
        f"| quantity | {xa:,} (measured) | {xb:,} (measured) | 100M (**estimate**) |", "|---|---:|---:|---:|",
        *rows, ""]
