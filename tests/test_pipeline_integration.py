"""The pipeline with kgattn's real graph, linker and KGClassifier (tiny backbone) on quickstart data,
and the quickstart itself with the real MiniLM (slow)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kgattn.pipeline.runner import run_pipeline
from kgattn.pipeline.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "data" / "quickstart"


def _subset(tmp_path: Path, train: int, test: int) -> Path:
    lines = (QUICKSTART / "corpus.csv").read_text().splitlines()
    rows = [l for l in lines[1:] if l.endswith(",train")][:train] + [l for l in lines[1:] if l.endswith(",test")][:test]
    path = tmp_path / "corpus.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def test_real_components_end_to_end_tiny_backbone(tmp_path, tiny_backbone):
    corpus = _subset(tmp_path, train=48, test=16)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
name: tiny
run_root: {tmp_path / 'runs'}
kg: {{path: {QUICKSTART / 'kg.ttl'}}}
corpus: {{paths: [{corpus}], labels: {{sector: label}}, shard_rows: 20}}
linker: {{disambiguate: prior}}
model: {{backbone: {tiny_backbone}}}
features: {{max_nodes: 8, hops: 1}}
train: {{max_epochs: 1, batch_size: 16}}
evaluate: {{variants: [full, no_graph, graph_removed], explain: 1, bootstrap: 200, permutations: 200}}
predict: {{shard_rows: 6, format: jsonl}}
""")
    result = run_pipeline(spec, progress=False, log=lambda m: None)
    run = result.run_dir
    linked = pq.read_table(run / "link" / "linked.parquet")
    assert linked.num_rows == 64 and (run / "kg" / "graph" / "meta.json").is_file()
    assert sum(len(m) > 0 for m in linked.column("mentions").to_pylist()) > 48   # the graph's names are found
    assert (run / "train" / "model" / "classifier.json").is_file()
    metrics = json.loads((run / "evaluate" / "metrics.json").read_text())
    task = metrics["tasks"]["sector"]
    assert set(task["variants"]) == {"full", "no_graph", "graph_removed"}
    assert task["variants"]["full"]["per_seed"][0]["n"] == 16
    assert metrics["examples"][0]["entities"] and metrics["examples"][0]["nodes"]
    rows = [json.loads(line) for line in (run / "predict" / "predictions.jsonl").read_text().splitlines()]
    test_ids = [i for i, s in zip(linked.column("id").to_pylist(), linked.column("split").to_pylist()) if s == "test"]
    assert [r["id"] for r in rows] == test_ids
    assert all(abs(sum(r["sector_proba"].values()) - 1) < 1e-4 and r["sector"] in r["sector_proba"] for r in rows)
    assert any(r["top_nodes"] for r in rows) and any(r["entities"] for r in rows)


@pytest.mark.slow
@pytest.mark.integration
def test_quickstart_pipeline_with_minilm(tmp_path):
    """The README's main command (its 5-minute budget is timed by benchmarks/pipeline.py)."""
    spec = load_spec(REPO / "pipelines" / "quickstart.yaml")
    result = run_pipeline(spec, run_dir=tmp_path / "run", progress=False)
    metrics = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())
    acc = {v: m["accuracy"]["mean"] for v, m in metrics["tasks"]["sector"]["variants"].items()}
    assert acc["full"] > acc["no_graph"]


def test_torchrun_two_ranks_train_ddp_and_split_predict(tmp_path, tiny_backbone):
    """`torchrun --nproc_per_node 2 -m kgattn.cli run SPEC`: DDP training, predict shards split."""
    import os
    import socket
    import subprocess
    import sys

    corpus = _subset(tmp_path, train=32, test=20)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
name: ddp
run_root: {tmp_path / 'runs'}
stages: [link, train, predict]
kg: {{path: {QUICKSTART / 'kg.ttl'}}}
corpus: {{paths: [{corpus}], labels: {{sector: label}}, shard_rows: 10}}
linker: {{disambiguate: prior}}
model: {{backbone: {tiny_backbone}}}
features: {{max_nodes: 8, hops: 1}}
train: {{max_epochs: 1, batch_size: 8, accelerator: cpu}}
predict: {{shard_rows: 4}}
""")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_addr", "127.0.0.1", "--master_port", str(port),
                           "-m", "kgattn.cli", "run", str(spec), "--no-progress"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    run = next((tmp_path / "runs").iterdir())
    marker = json.loads((run / "predict" / "stage.json").read_text())
    assert marker["rows"] == 20 and marker["shards_per_rank"] == {"0": 3, "1": 2}
    ids = pq.read_table(run / "predict" / "predictions.parquet").column("id").to_pylist()
    linked = pq.read_table(run / "link" / "linked.parquet")
    assert ids == [i for i, s in zip(linked.column("id").to_pylist(), linked.column("split").to_pylist())
                   if s == "test"]
    assert json.loads((run / "link" / "stage.json").read_text())["shards_per_rank"] == {"0": 3, "1": 3}
