"""Pipeline runs with fast fake components: stages, skipping, run dirs, resume, exactly-once output."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kgattn.errors import CorpusError
from kgattn.graph import KnowledgeGraph
from kgattn.pipeline.runner import run_pipeline
from kgattn.pipeline.spec import load_spec
from doubles import FakeComponents, write_toy_world

REPO = Path(__file__).resolve().parent.parent
QUIET = dict(progress=False, log=lambda message: None)


def _test_ids(rows: int) -> list[str]:
    return [f"doc{i:04d}" for i in range(rows) if i % 5 == 4]


def test_full_run_artifacts_skip_and_run_dir_keys(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=120,
                                extra_spec="evaluate: {seeds: [0, 1], train_sizes: [0.5], bootstrap: 300, "
                                           "permutations: 300}\n")
    components = FakeComponents()
    result = run_pipeline(spec_path, components=components, **QUIET)
    run = result.run_dir
    assert run.parent == tmp_path / "runs" and run.name.startswith("toy-")
    assert list(result.stages) == ["link", "train", "evaluate", "predict"]

    linked = pq.read_table(run / "link" / "linked.parquet")
    assert linked.column("row").to_pylist() == list(range(120))
    assert all(len(m) == 1 and m[0]["node_id"] for m in linked.column("mentions").to_pylist())
    stats = json.loads((run / "link" / "stats.json").read_text())
    assert stats["splits"] == {"train": 72, "val": 24, "test": 24} and stats["texts_with_entity"] == 1.0

    metrics = json.loads((run / "evaluate" / "metrics.json").read_text())
    task = metrics["tasks"]["label"]
    assert task["variants"]["full"]["accuracy"]["mean"] == 1.0       # the graph holds the answer
    assert task["variants"]["no_graph"]["accuracy"]["mean"] < 0.7
    assert task["paired"]["full_vs_no_graph"]["bootstrap"]["low"] > 0
    assert metrics["examples"] and metrics["run"]["config_hash"] in run.name
    assert (run / "evaluate" / "report.html").stat().st_size > 10_000

    predictions = pq.read_table(run / "predict" / "predictions.parquet").to_pylist()
    assert [p["id"] for p in predictions] == _test_ids(120)
    first = predictions[0]
    assert first["label"] == max(first["label_proba"], key=first["label_proba"].get)
    assert first["entities"][0]["node_id"] and first["top_nodes"][0]["label"]

    # A rerun skips everything; nothing is trained again.
    trained = len(components.trained)
    again = run_pipeline(spec_path, components=components, **QUIET)
    assert set(again.stages.values()) == {"skipped"} and len(components.trained) == trained

    # A changed prediction format reruns only predict, in the same run directory.
    spec = load_spec(spec_path)
    jsonl = spec.model_copy(update={"predict": spec.predict.model_copy(update={"format": "jsonl"})})
    third = run_pipeline(jsonl, components=components, **QUIET)
    assert third.run_dir == run and [s for s, v in third.stages.items() if v != "skipped"] == ["predict"]
    rows = [json.loads(line) for line in (run / "predict" / "predictions.jsonl").read_text().splitlines()]
    assert rows == predictions

    # --force reruns a stage from scratch: evaluation trains every variant again.
    before = len(components.trained)
    forced = run_pipeline(jsonl, stages=["evaluate"], force=["evaluate"], components=components, **QUIET)
    assert forced.stages["evaluate"] != "skipped" and len(components.trained) - before == trained - 1
    # ... and what it replaced (hours of trained runs on real data) is set aside, not deleted.
    kept = sorted(p.name for p in (run / "evaluate.previous" / "predictions").glob("*.json"))
    assert kept == sorted(p.name for p in (run / "evaluate" / "predictions").glob("*.json")) and kept

    # A changed model setting starts a new run directory.
    changed = spec.model_copy(update={"train": spec.train.model_copy(update={"lr": 0.5})})
    assert run_pipeline(changed, stages=["link"], components=components, **QUIET).run_dir != run


def test_predict_on_new_files_runs_prerequisites(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=60)
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"key": f"n{i}", "body": f"Something about {c}."}) + "\n"
                           for i, c in enumerate(["rome", "berlin", "nowhere", "lyon"] * 5)))
    spec_path.write_text(spec_path.read_text().replace(
        "predict: {", "predict: {input: {paths: [new.jsonl], id_column: key, text_column: body}, "
                      "output: out/preds.jsonl, "))
    result = run_pipeline(spec_path, stages=["predict"], components=FakeComponents(), **QUIET)
    assert list(result.stages) == ["link", "train", "predict"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "preds.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"n{i}" for i in range(20)]
    assert [r["label"] for r in rows[:4]][:2] == ["italy", "germany"] and rows[3]["label"] == "france"
    assert rows[2]["entities"] == [] and rows[2]["top_nodes"] == []


def test_bad_row_fails_cleanly_and_nothing_looks_complete(tmp_path, monkeypatch):
    import kgattn.pipeline.corpus as corpus_module

    monkeypatch.setattr(corpus_module, "_BLOCK_BYTES", 512)   # small blocks: the bad row comes late
    spec_path = write_toy_world(tmp_path, rows=60, shard_rows=16)
    corpus = tmp_path / "corpus.csv"
    lines = corpus.read_text().splitlines()
    lines[41] = "doc0040,,france,train"      # data row 41 is in the third shard
    corpus.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"corpus\.csv row 41: empty text"):
        run_pipeline(spec_path, components=FakeComponents(), **QUIET)
    run = next((tmp_path / "runs").iterdir())
    assert not (run / "link" / "linked.parquet").exists() and not (run / "link" / "stage.json").exists()
    assert sorted(p.name for p in (run / "link" / "done").iterdir()) == ["000000.json", "000001.json"]
    assert not (run / "link" / "parts" / "part-000002.parquet").exists()
    assert not list(run.rglob(".*.tmp-*"))
    # Fixing the row (a changed input) discards the old shards and completes the run.
    lines[41] = "doc0040,Report 40 from lyon,france,train"
    corpus.write_text("\n".join(lines) + "\n")
    result = run_pipeline(spec_path, stages=["link"], components=FakeComponents(), **QUIET)
    assert pq.read_metadata(result.run_dir / "link" / "linked.parquet").num_rows == 60


_PREDICT_SCRIPT = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from kgattn.pipeline.runner import run_pipeline
from doubles import FakeComponents
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
run_pipeline(sys.argv[1], stages=["predict"], run_dir=sys.argv[2], components=FakeComponents(delay=delay),
             progress=False, log=lambda m: None)
"""


def test_sigkilled_predict_resumes_to_identical_output(tmp_path):
    rows = 400
    spec_path = write_toy_world(tmp_path, rows=rows, shard_rows=100, predict_shard_rows=4,
                                extra_spec="train: {batch_size: 2}\n")
    reference = run_pipeline(spec_path, stages=["predict"], run_dir=tmp_path / "reference",
                             components=FakeComponents(delay=0.04), **QUIET)
    expected = pq.read_table(reference.run_dir / "predict" / "predictions.parquet")
    assert expected.column("id").to_pylist() == _test_ids(rows)

    run_dir = tmp_path / "killed"
    run_pipeline(spec_path, stages=["train"], run_dir=run_dir, components=FakeComponents(delay=0.04), **QUIET)
    script = tmp_path / "predict.py"
    script.write_text(_PREDICT_SCRIPT)
    cmd = [sys.executable, str(script), str(spec_path), str(run_dir), "0.04"]
    done_dir = run_dir / "predict" / "done"
    rng = random.Random(5)
    partial_kills = 0
    for attempt in range(4):
        proc = subprocess.Popen(cmd, cwd=REPO)
        before = len(list(done_dir.glob("*.json"))) if done_dir.exists() else 0
        # Wait until this attempt has finished at least one more shard, then kill at a random moment.
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if done_dir.exists() and len(list(done_dir.glob("*.json"))) > before:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            finished = len(list(done_dir.glob("*.json")))
            partial_kills += 0 < finished < 20
            assert not (run_dir / "predict" / "predictions.parquet").exists()
        else:
            assert proc.returncode == 0
            break
    assert partial_kills >= 2                     # the test really interrupted the stage midway
    subprocess.run(cmd, cwd=REPO, check=True)     # the final, uninterrupted resume
    assert json.loads((run_dir / "predict" / "stage.json").read_text())["rows"] == 80
    resumed = pq.read_table(run_dir / "predict" / "predictions.parquet")
    assert resumed.equals(expected)               # every input row exactly once, same content
    assert not list(run_dir.rglob(".*.tmp-*"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_predict_splits_shards(tmp_path):
    pytest.importorskip("torch.distributed")
    spec_path = write_toy_world(tmp_path, rows=150, predict_shard_rows=4)
    single = run_pipeline(spec_path, stages=["predict"], run_dir=tmp_path / "single",
                          components=FakeComponents(), **QUIET)
    run_dir = tmp_path / "ddp"
    run_pipeline(spec_path, stages=["train"], run_dir=run_dir, components=FakeComponents(delay=0.04), **QUIET)
    script = tmp_path / "predict.py"
    script.write_text(_PREDICT_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                    "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
                    str(script), str(spec_path), str(run_dir)], cwd=REPO, env=env, check=True, timeout=120)
    marker = json.loads((run_dir / "predict" / "stage.json").read_text())
    assert marker["shards"] == 8 and marker["shards_per_rank"] == {"0": 4, "1": 4}   # 30 rows, shards of 4
    expected = pq.read_table(single.run_dir / "predict" / "predictions.parquet")
    assert pq.read_table(run_dir / "predict" / "predictions.parquet").equals(expected)


def test_knowledge_baselines_are_trained_and_compared_with_the_full_model(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=60,
                                extra_spec="evaluate: {seeds: [0], variants: [full, no_graph, knowledge_as_text, "
                                           "graph_features], bootstrap: 200, permutations: 200, "
                                           "text_neighbours: 4, text_max_length: 96}\n")
    components = FakeComponents()
    result = run_pipeline(spec_path, stages=["link", "train", "evaluate"], components=components, **QUIET)
    metrics = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())
    task = metrics["tasks"]["label"]
    assert set(task["variants"]) == {"full", "no_graph", "knowledge_as_text", "graph_features"}
    assert {"full_vs_knowledge_as_text", "full_vs_graph_features"} <= set(task["paired"])
    # The report compares how far each model reached: 1 hop written out, the features' default 2 read.
    assert metrics["knowledge_reach"] == {"text_hops": 1, "graph_hops": 2}
    text_run = [p for p in components.trained if p.get("max_length") == 96]
    assert len(text_run) == 1 and text_run[0]["use_graph"] is False
    assert [p for p in components.trained if p.get("fusion") == "bag"][0]["use_graph"] is True
    # The toy label is the city's country, which only the graph knows: appended as text (the
    # city's neighbours), the no-graph word-count model reads it too.
    assert task["variants"]["knowledge_as_text"]["accuracy"]["mean"] == 1.0
    assert task["variants"]["no_graph"]["accuracy"]["mean"] < 0.7

    # A changed knowledge-as-text option is not in the run dir's hash: the stored predictions of
    # that variant (made with other settings) are not reused, the others are.
    spec_path.write_text(spec_path.read_text().replace("text_max_length: 96", "text_max_length: 96, "
                                                       "text_glosses: true, text_hops: 2"))
    before = len(components.trained)
    again = run_pipeline(spec_path, stages=["evaluate"], components=components, **QUIET)
    assert again.run_dir == result.run_dir and len(components.trained) - before == 1
    stored = json.loads((result.run_dir / "evaluate" / "predictions" / "knowledge_as_text-seed0.json").read_text())
    assert stored["settings"] == {"text_neighbours": 4, "text_max_length": 96, "text_glosses": True, "text_hops": 2}


def test_focus_marks_reach_knowledge_as_text_and_the_report_slices(tmp_path):
    # With features.focus_marks the fused model's subgraph holds the marked mention's nodes only;
    # knowledge as text verbalises the same mentions, and its stored predictions say so (a copy made
    # unfocused is not reused: the study compares the stored settings).
    spec_path = write_toy_world(tmp_path, rows=60, extra_spec="evaluate: {seeds: [0], variants: [full, "
                                "knowledge_as_text], bootstrap: 200, permutations: 200}\n")
    components = FakeComponents()
    result = run_pipeline(spec_path, stages=["link", "train", "evaluate"], components=components, **QUIET)
    stored_path = result.run_dir / "evaluate" / "predictions" / "knowledge_as_text-seed0.json"
    assert "settings" not in json.loads(stored_path.read_text())
    metrics = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())
    assert metrics["slices"]["label"]["linked"]["full"]["n"] == 12 and "slice_marks" not in metrics
    # Mark a word that links nothing: the report's slices count the marked span's links only.
    corpus = tmp_path / "corpus.csv"
    corpus.write_text(corpus.read_text().replace("Report ", "[Report] "))
    spec_path.write_text(spec_path.read_text() + "features: {focus_marks: ['[', ']']}\n")
    focused = run_pipeline(spec_path, stages=["link", "train", "evaluate"], components=components, **QUIET)
    stored = json.loads((focused.run_dir / "evaluate" / "predictions" / "knowledge_as_text-seed0.json").read_text())
    assert stored["settings"] == {"focus_marks": ["[", "]"]}
    metrics = json.loads((focused.run_dir / "evaluate" / "metrics.json").read_text())
    assert metrics["slice_marks"] == ["[", "]"]
    assert metrics["slices"]["label"]["linked"]["full"]["n"] == 0
    assert metrics["slices"]["label"]["unlinked"]["full"]["n"] == 12
    assert "linked entity inside the marked span ([ … ])" in (focused.run_dir / "evaluate" / "report.md").read_text()


def test_max_train_rows_caps_the_training_split_only(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=60)
    spec_path.write_text(spec_path.read_text().replace("shard_rows: 16}", "shard_rows: 16, max_train_rows: 10}"))
    first = run_pipeline(spec_path, stages=["train"], components=FakeComponents(), **QUIET)
    assert first.stages["train"]["n_train"] == 10 and first.stages["train"]["n_val"] == 12
    again = run_pipeline(spec_path, stages=["train"], components=FakeComponents(), run_dir=tmp_path / "again",
                         **QUIET)
    ids = [pq.read_table(r.run_dir / "link" / "linked.parquet").num_rows for r in (first, again)]
    assert ids == [60, 60]   # linking keeps every row; the cap is a seeded sample of the train split
    keys = ("n_train", "n_val", "classes")
    assert {k: again.stages["train"][k] for k in keys} == {k: first.stages["train"][k] for k in keys}


def test_hybrid_variant_appends_the_knowledge_and_keeps_the_graph(tmp_path):
    spec_path = write_toy_world(tmp_path, rows=60,
                                extra_spec="evaluate: {seeds: [0], variants: [full, no_graph, hybrid, graph_removed], "
                                           "bootstrap: 200, permutations: 200, text_max_length: 96}\n")
    components = FakeComponents()
    result = run_pipeline(spec_path, stages=["link", "train", "evaluate"], components=components, **QUIET)
    task = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())["tasks"]["label"]
    assert {"full", "no_graph", "hybrid", "graph_removed"} <= set(task["variants"])
    assert "full_vs_hybrid" in task["paired"]
    hybrid_runs = [p for p in components.trained if p.get("max_length") == 96]
    assert len(hybrid_runs) == 1 and hybrid_runs[0]["use_graph"] is True
    stored = json.loads((result.run_dir / "evaluate" / "predictions" / "hybrid-seed0.json").read_text())
    assert stored["settings"] == {"text_max_length": 96}
    slices = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())["slices"]["label"]
    assert slices["linked"]["full"]["n"] + slices["unlinked"]["full"]["n"] == slices["all"]["full"]["n"] == 12
    assert slices["all"]["full"]["accuracy"] == task["variants"]["full"]["accuracy"]["mean"]


def test_pseudonymised_evaluation_trains_no_model_on_the_plain_texts(tmp_path):
    # Every compared model is fitted on the renamed texts, so the train stage (the plain-text model)
    # is not a prerequisite: asking for evaluate links and evaluates, and trains one model per variant.
    spec_path = write_toy_world(tmp_path, rows=60, extra_spec="evaluate: {seeds: [0], variants: [full, no_graph], "
                                                             "pseudonymize: mentions, explain: 0}\n")
    class RealGraph(FakeComponents):   # pseudonymisation reads the real store's arrays
        import_kg = staticmethod(lambda spec: KnowledgeGraph.from_triples(spec.path))
        load_kg = staticmethod(KnowledgeGraph.load)

    components = RealGraph()
    result = run_pipeline(spec_path, stages=["evaluate"], components=components, **QUIET)
    assert list(result.stages) == ["link", "evaluate"]
    assert not (result.run_dir / "train").exists() and len(components.trained) == 2
    metrics = json.loads((result.run_dir / "evaluate" / "metrics.json").read_text())
    assert metrics["pseudonymize"]["mode"] == "mentions"
    assert metrics["tasks"]["label"]["classes"] == sorted(set(metrics["tasks"]["label"]["classes"]))
