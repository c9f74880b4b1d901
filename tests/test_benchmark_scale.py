"""The Wikidata-shaped dump generator and the one-command scale benchmark, at tiny sizes."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale_gen import ALT_LABEL, DESCRIPTION, RDF_TYPE, DumpWriter, zipf_ranks  # noqa: E402


def test_generated_dump_reads_as_designed(tmp_path):
    from kgattn.graph import KnowledgeGraph

    counts = DumpWriter(5000, tmp_path, seed=3, block=120, tsv=True).write(progress=False)
    assert counts["edges"] == 5000 and counts["entities"] == 500
    lines = gzip.open(tmp_path / "dump.nt.gz", "rt", encoding="utf-8").read().splitlines()
    assert len(lines) == counts["triples"]
    edges = [ln for ln in lines if "/prop/direct/P" in ln.split()[1]]
    assert len(edges) == len(set(edges)) == 5000  # no duplicate triple
    assert sum(ALT_LABEL in ln for ln in lines) == counts["aliases"]
    assert sum(DESCRIPTION in ln for ln in lines) == counts["descriptions"]
    assert sum(RDF_TYPE in ln for ln in lines) == counts["types"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # entities without any edge
        kg = KnowledgeGraph.from_rdf(tmp_path / "dump.nt.gz")
        tsv = KnowledgeGraph.from_triples(tmp_path / "triples.tsv.gz", names=tmp_path / "names.tsv.gz",
                                          relation_names=tmp_path / "relations.tsv.gz")
    # every entity is a node (named relations are relations, not nodes), every edge is read
    assert kg.num_nodes == 500 and kg.num_edges == 5000 and kg.num_relations == counts["relations_used"]
    assert tsv.num_edges == 5000 and sorted(tsv.relation_names) == sorted(kg.relation_names)
    src, dst = np.asarray(kg.src), np.asarray(kg.dst)
    assert not (src == dst).any()
    n_alias = sum(len(kg.aliases(i)) - 1 for i in range(kg.num_nodes))  # aliases() lists the label first
    assert n_alias == counts["aliases"]
    assert sum(bool(kg.description(i)) for i in range(kg.num_nodes)) == counts["descriptions"]
    assert all(len(kg.types(i)) in (1, 2) for i in range(kg.num_nodes))
    i = kg.node_index("http://www.wikidata.org/entity/Q7")
    assert kg.label(i) == tsv.label(tsv.node_index("Q7")) and kg.label(i)[0].isupper()
    # power-law in-degrees: the largest is far above the mean
    indeg = np.bincount(dst, minlength=kg.num_nodes)
    assert indeg.max() > 10 * indeg.mean()


def test_zipf_ranks_are_in_range_and_skewed():
    rng = np.random.default_rng(0)
    for exponent in (0.9, 1.0, 1.1):
        r = zipf_ranks(rng, 1000, exponent, 20000)
        assert r.min() >= 0 and r.max() < 1000
        counts = np.bincount(r, minlength=1000)
        assert counts[0] > counts[10] > counts[500]


def test_scale_command_runs_every_step(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--edges", "2000", "--workdir",
                           str(tmp_path / "work"), "--no-write"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = json.loads(proc.stdout[proc.stdout.index("\n{") + 1:])
    steps = run["steps"]
    assert {"generate", "import_stream", "import_rdf", "import_tsv", "import_tsv_stream", "load", "subgraphs", "index",
            "link"} <= set(steps)
    assert steps["import_tsv_stream"]["same_fingerprint_as_in_memory_tsv"] is True
    assert run["graph_used_for_load_subgraphs_link"] == "kg_stream"
    assert steps["disk"]["same_fingerprint_stream_vs_memory"] is True
    assert all(steps[s]["returncode"] == 0 and steps[s]["peak_rss_mb"] > 0 for s in steps if s != "disk")
    assert steps["load"]["result"]["edges"] == 2000
    assert steps["subgraphs"]["result"]["seeds"] == 1000
    assert steps["link"]["result"]["texts"] == 20000 and steps["link"]["result"]["texts_per_s"] > 0
    assert steps["link"]["result"]["first_texts_per_s"] > 0 and steps["texts"]["result"]["texts"] == 20000
    index = steps["index"]["result"]
    assert 0 < index["keys"] <= index["pairs"] <= index["names"] and index["build_s"] > 0
    assert steps["link"]["result"]["named_entity_chosen"] > 0.9  # the linking process used the built index
    assert steps["load"]["result"]["range_checks_s"] > 0 and "load_again_s" in steps["load"]["result"]
    assert not (tmp_path / "work").exists()  # deleted without --keep

    # the report of a run at the targets' size: every target row, measured values only
    from scale_streaming_report import targets_measured

    big = json.loads(json.dumps(run))
    big["edges"] = 100_000_000
    table = "\n".join(targets_measured(big))
    for row in ("streaming import wall", "streaming import peak RSS", "first load", "a later load", "2-hop subgraph",
                "disk alias index build", "linking process peak RSS", "prior-mode linking"):
        assert f"| {row}" in table
    assert "n/a" not in table and "| yes |" in table
