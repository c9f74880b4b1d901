"""Bad inputs through the pipeline and the CLI (issue 13): one ``error:`` line, exit 2, no
traceback, nothing the user had deleted or changed. Fixtures are written by the tests.

The graph- and linker-side cases live beside their modules; ``benchmarks/robustness.py`` times
these cases and writes ``benchmarks/robustness.md``.
"""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import kgattn.cli as cli
from doubles import FakeComponents, write_toy_world
from kgattn.errors import ConfigError, CorpusError
from kgattn.pipeline.check import check_resources
from kgattn.pipeline.corpus import CorpusReader
from kgattn.pipeline.runner import run_pipeline
from kgattn.pipeline.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
QUIET = dict(progress=False, log=lambda message: None)
runner = CliRunner()


@pytest.fixture
def fakes(monkeypatch):
    components = FakeComponents()
    monkeypatch.setattr(cli, "COMPONENTS", components)
    return components


def _refused(result, *needles: str) -> str:
    """The single error line of a refused command, checked for the needles."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _trained(tmp_path) -> Path:
    spec = write_toy_world(tmp_path, rows=60)
    run_pipeline(spec, stages=["train"], components=FakeComponents(), **QUIET)
    return spec


# ---------------------------------------------------------------------------------- kgattn check
def test_check_names_every_missing_path_with_its_key_and_line(tmp_path):
    spec = write_toy_world(tmp_path, rows=10)
    spec.write_text(spec.read_text().replace("corpus.csv", "missing.csv").replace("kg.tsv", "nokg.tsv")
                    + "model: {backbone: ./no-such-backbone}\n")
    spec.write_text(spec.read_text().replace("predict: {", "predict: {input: {paths: [new*.jsonl]}, "))
    start = time.perf_counter()
    line = _refused(runner.invoke(cli.app, ["check", str(spec)]), "invalid",
                    "key 'kg.path' (line 3)", "nokg.tsv does not exist",
                    "key 'corpus.paths.0' (line 4)", "missing.csv",
                    "key 'predict.input.paths.0'", "new*.jsonl",
                    "key 'model.backbone'", "no-such-backbone does not exist")
    assert time.perf_counter() - start < 5
    assert line.startswith(f"error: {spec}: invalid: ")


def test_check_data_set_folder_and_valid_spec(tmp_path):
    spec = write_toy_world(tmp_path, rows=10)
    ok = runner.invoke(cli.app, ["check", str(spec)])
    assert ok.exit_code == 0 and f"{spec}: valid" in ok.output
    (tmp_path / "trec").mkdir()
    (tmp_path / "trec" / "TREC_10.label").write_text("NUM:date When ?\n")
    spec.write_text(spec.read_text().replace("corpus: {paths: [corpus.csv],",
                                             "corpus: {dataset: trec, dataset_dir: trec, labels: [coarse],"))
    _refused(runner.invoke(cli.app, ["check", str(spec)]), "key 'corpus.dataset_dir'", "train_5500.label",
             str(tmp_path / "trec"))


def test_run_checks_resources_before_anything_runs(tmp_path, fakes):
    spec = write_toy_world(tmp_path, rows=10)
    (tmp_path / "corpus.csv").unlink()
    _refused(runner.invoke(cli.app, ["run", str(spec), "--no-progress"]), "key 'corpus.paths.0'",
             "corpus.csv: corpus file does not exist")
    assert not (tmp_path / "runs").exists() and fakes.trained == []   # nothing imported, linked or trained


# ---------------------------------------------------------------------------------- predict -o
def test_predict_refuses_an_output_that_is_an_input(tmp_path, fakes):
    spec = _trained(tmp_path)
    new = tmp_path / "new.csv"
    new.write_text("id,text\na,News from milan.\n")
    before = new.read_bytes()
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-i", str(new), "-o", str(new), "--format", "jsonl"]),
             f"error: --output: {new} is the input file {new} (predict.input.paths)")
    assert new.read_bytes() == before
    link = tmp_path / "link.jsonl"
    link.symlink_to(new)
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-i", str(new), "-o", str(link)]), "is the input file")
    corpus = tmp_path / "corpus.csv"
    corpus_bytes = corpus.read_bytes()
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-o", str(corpus), "--format", "jsonl"]),
             "--output", "corpus.paths")
    spec.write_text(spec.read_text().replace("predict: {", "predict: {output: corpus.csv, "))
    _refused(runner.invoke(cli.app, ["check", str(spec)]), "key 'predict.output' (line 5)", "corpus.paths")
    assert corpus.read_bytes() == corpus_bytes and new.read_bytes() == before
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-o", str(tmp_path)]), "is a directory")
    linked = next((tmp_path / "runs").iterdir()) / "link" / "linked.parquet"
    linked_bytes = linked.read_bytes()
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-o", str(linked), "--no-progress"]),
             "lies in the run directory")
    assert linked.read_bytes() == linked_bytes


def test_failed_predict_keeps_the_previous_output_and_foreign_files(tmp_path, fakes):
    spec = _trained(tmp_path)
    out = tmp_path / "preds.jsonl"
    good = tmp_path / "good.csv"
    good.write_text("id,text\na,News from milan.\nb,Rain in lyon.\n")
    ok = runner.invoke(cli.app, ["predict", str(spec), "-i", str(good), "-o", str(out), "--no-progress"])
    assert ok.exit_code == 0, ok.output
    previous = out.read_bytes()
    assert [json.loads(x)["label"] for x in previous.decode().splitlines()] == ["italy", "france"]
    neighbour = tmp_path / ".preds.jsonl.tmp-notes"     # not a temporary of ours: no pid
    neighbour.write_text("mine")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\na,News from rome.\nb,\n")
    _refused(runner.invoke(cli.app, ["predict", str(spec), "-i", str(bad), "-o", str(out), "--no-progress"]),
             "bad.csv row 2: empty text")
    assert out.read_bytes() == previous and neighbour.read_text() == "mine"


def test_stale_temporary_beside_the_output_is_cleaned_up_on_resume(tmp_path, fakes):
    spec = _trained(tmp_path)
    out = tmp_path / "out" / "preds.jsonl"
    out.parent.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = out.parent / f".preds.jsonl.tmp-{int(dead.stdout)}"
    stale.write_text("half a merge")
    alive = out.parent / f".preds.jsonl.tmp-{os.getppid()}"   # a live process: maybe writing it
    alive.write_text("someone else's")
    result = runner.invoke(cli.app, ["predict", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and alive.read_text() == "someone else's"
    assert len(out.read_text().splitlines()) == 12


_MERGE_KILL_SCRIPT = f"""
import os, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import pyarrow.parquet as pq
from doubles import FakeComponents
from kgattn.pipeline.runner import run_pipeline

if os.environ.get("FLAG"):
    # Hang inside the final merge, after its first part is written to the temporary file.
    original = pq.ParquetWriter.write_table
    def slow(self, table, *args, **kwargs):
        original(self, table, *args, **kwargs)
        if ".preds.parquet.tmp-" in str(self.where):     # the merge, not a shard's part file
            open(os.environ["FLAG"], "w").close()
            time.sleep(60)
    pq.ParquetWriter.write_table = slow
run_pipeline(sys.argv[1], stages=["predict"], components=FakeComponents(), progress=False, log=lambda m: None)
"""


def test_kill_during_the_final_merge_then_resume(tmp_path):
    spec = write_toy_world(tmp_path, rows=100, predict_shard_rows=4)
    spec.write_text(spec.read_text().replace("predict: {", "predict: {output: out/preds.parquet, "))
    run_pipeline(spec, stages=["train"], components=FakeComponents(), **QUIET)
    out = tmp_path / "out" / "preds.parquet"
    out.parent.mkdir()
    out.write_bytes(b"the user's previous output")
    script = tmp_path / "predict.py"
    script.write_text(_MERGE_KILL_SCRIPT)
    flag = tmp_path / "in-merge"
    proc = subprocess.Popen([sys.executable, str(script), str(spec)], cwd=REPO, env={**os.environ, "FLAG": str(flag)})
    deadline = time.monotonic() + 120
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flag.exists(), "the merge never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    leftovers = list(out.parent.glob(".preds.parquet.tmp-*"))
    assert [p.name for p in leftovers] == [f".preds.parquet.tmp-{proc.pid}"]
    assert out.read_bytes() == b"the user's previous output"       # untouched by the killed merge
    subprocess.run([sys.executable, str(script), str(spec)], cwd=REPO, check=True)
    assert not list(out.parent.glob(".preds.parquet.tmp-*"))
    ids = pq.read_table(out).column("id").to_pylist()
    assert ids == [f"doc{i:04d}" for i in range(100) if i % 5 == 4]


# ---------------------------------------------------------------------------------- long and bad rows
def test_a_csv_with_a_two_megabyte_text_is_read(tmp_path):
    path = tmp_path / "long.csv"
    long_text = "Paris " + "word " * 420_000            # 2.1 MB in one field
    path.write_text(f"id,text\na,short one\nb,\"{long_text}\"\nc,after it\n")
    assert path.stat().st_size > 2_100_000
    reader = CorpusReader(paths=(path,))
    rows = [r for _, table in reader.shards(2) for r in table.to_pylist()]
    assert [r["id"] for r in rows] == ["a", "b", "c"] and [r["row"] for r in rows] == [0, 1, 2]
    assert rows[1]["text"] == long_text
    jsonl = tmp_path / "long.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                             for i, t in [("a", "x"), ("b", long_text), ("c", "y")]))
    rows = [r for _, table in CorpusReader(paths=(jsonl,)).shards(10) for r in table.to_pylist()]
    assert [r["id"] for r in rows] == ["a", "b", "c"] and rows[1]["text"] == long_text


def test_a_long_text_through_kgattn_predict(tmp_path, fakes):
    spec = _trained(tmp_path)
    new = tmp_path / "long.csv"
    new.write_text("id,text\nshort,News from milan.\nlong,\"News from rome. " + "word " * 420_000 + "\"\n")
    out = tmp_path / "p.jsonl"
    result = runner.invoke(cli.app, ["predict", str(spec), "-i", str(new), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["label"] for x in out.read_text().splitlines()] == ["italy", "italy"]


def test_a_csv_row_with_a_wrong_field_count_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,text,label,split\n" + "".join(f"d{i},text {i},x,train\n" for i in range(5))
                    + "d5,text 5,x\n")
    with pytest.raises(CorpusError, match=r"bad\.csv row 6: has 3 fields, the header has 4"):
        list(CorpusReader(paths=(path,), labels={"label": "label"}).shards(100))


# ---------------------------------------------------------------------------------- damaged files
def _truncated_gzip(path: Path) -> Path:
    data = gzip.compress(("<http://e/a> <http://e/r> <http://e/b> .\n" * 2000).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_gzip_graph_is_an_error_line_not_aborted(tmp_path, fakes):
    graph = _truncated_gzip(tmp_path / "g.nt.gz")
    _refused(runner.invoke(cli.app, ["kg", "info", str(graph)]), str(graph))
    spec = write_toy_world(tmp_path, rows=10)
    spec.write_text(spec.read_text().replace("kg: {path: kg.tsv, format: tsv}", "kg: {path: g.nt.gz}"))
    cli.COMPONENTS = None       # the real graph import
    _refused(runner.invoke(cli.app, ["run", str(spec), "--stages", "link", "--no-progress"]), "g.nt.gz")


def test_a_truncated_gzip_in_a_subprocess_prints_one_line(tmp_path):
    graph = _truncated_gzip(tmp_path / "g.ttl.gz")
    proc = subprocess.run([sys.executable, "-m", "kgattn.cli", "kg", "info", str(graph)], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2 and "Aborted" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"error: {graph}")


def test_an_unknown_model_key_is_an_error_line_before_anything_runs(tmp_path, fakes):
    spec = write_toy_world(tmp_path, rows=20, extra_spec="model: {no_such_argument: 1}\n")
    _refused(runner.invoke(cli.app, ["run", str(spec), "--stages", "train", "--no-progress"]),
             "key 'model.no_such_argument' (line 6): unknown key")
    assert fakes.trained == [] and not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------------- batch_size = 0
@pytest.mark.parametrize("section", ["train", "linker", "predict"])
def test_batch_size_zero_in_a_spec_is_refused_with_its_key(tmp_path, section):
    spec = write_toy_world(tmp_path, rows=10, extra_spec=f"{section}: {{batch_size: 0}}\n" if section != "predict"
                           else "")
    if section == "predict":
        spec.write_text(spec.read_text().replace("batch_size: 4", "batch_size: 0"))
    with pytest.raises(ConfigError, match=rf"'{section}.batch_size'.*(greater than 0|>= 1)"):
        load_spec(spec)
    _refused(runner.invoke(cli.app, ["check", str(spec)]), f"'{section}.batch_size'")


def test_batch_size_zero_in_the_linker_and_the_double(tmp_path):
    from doubles import FakeClassifier, FakeGraph, FakeLinker

    kg = FakeGraph([("paris", "in", "france")])
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        list(FakeLinker(kg).link_batch(["paris"], batch_size=0))
    with pytest.raises(ConfigError, match="batch_size"):
        FakeClassifier(batch_size=0)


def test_batch_size_zero_through_the_api_is_a_config_error():
    """Before the typed trainer config (issue 12) this reached ``len(texts) // batch_size``."""
    from kgattn.api import KGClassifier

    with pytest.raises(ConfigError, match="batch_size"):
        KGClassifier(batch_size=0, use_graph=False, max_epochs=1).fit(["a b", "c d"], ["x", "y"])


def test_check_resources_is_empty_for_a_good_spec(tmp_path):
    assert check_resources(load_spec(write_toy_world(tmp_path, rows=10))) == []
