"""The kgattn command: help texts, user errors without tracebacks, pipeline and kg subcommands."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import kgattn.cli as cli
from doubles import FakeComponents, write_toy_world

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

TURTLE = """@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:paris rdfs:label "Paris"@en ; ex:locatedIn ex:france ; ex:twinnedWith ex:rome .
ex:rome rdfs:label "Rome"@en ; ex:locatedIn ex:italy .
ex:france rdfs:label "France"@en .
ex:italy rdfs:label "Italy"@en .
"""


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(cli, "COMPONENTS", FakeComponents())


@pytest.mark.parametrize("command", [[], ["run"], ["link"], ["train"], ["evaluate"], ["predict"], ["check"],
                                     ["kg", "info"], ["kg", "import"], ["corpus", "prepare"]])
def test_every_command_has_help(command):
    result = runner.invoke(cli.app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output) > 200


def test_user_errors_print_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nkg: {path: kg.ttl}\ncorpus: {paths: [c.csv]}\ntrain: {epochs: 3}\n")
    proc = subprocess.run([sys.executable, "-m", "kgattn.cli", "run", str(bad)], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {bad}: invalid pipeline spec: key 'train.epochs' (line 4): unknown key"
    result = runner.invoke(cli.app, ["kg", "info", str(tmp_path / "missing.ttl")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_run_predict_and_check_with_fake_components(tmp_path, fakes):
    spec = write_toy_world(tmp_path, rows=60, extra_spec="evaluate: {bootstrap: 200, permutations: 200}\n")
    result = runner.invoke(cli.app, ["run", str(spec), "--stages", "link,train", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "link      done" in result.output and "train     done" in result.output
    result = runner.invoke(cli.app, ["evaluate", str(spec), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "link      skipped" in result.output and "report: " in result.output
    report = Path(result.output.split("report: ")[1].split()[0])
    assert report.name == "report.html" and (report.parent / "metrics.json").is_file()

    new = tmp_path / "new.csv"
    new.write_text("doc,text\na,News from milan.\nb,Nothing here.\n")
    out = tmp_path / "p.jsonl"
    result = runner.invoke(cli.app, ["predict", str(spec), "-i", str(new), "--id-column", "doc",
                                     "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["label"] == "italy"

    result = runner.invoke(cli.app, ["check", str(spec)])
    assert result.exit_code == 0 and "valid" in result.output and "run directory: " in result.output
    result = runner.invoke(cli.app, ["run", str(spec), "--stages", "link,deploy"])
    assert result.exit_code == 2 and "unknown stage 'deploy'" in result.output


def test_kg_info_and_import(tmp_path):
    ttl = tmp_path / "g.ttl"
    ttl.write_text(TURTLE)
    result = runner.invoke(cli.app, ["kg", "info", str(ttl)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "nodes      4" in out and "edges      3" in out and "relations  2" in out
    assert "example subgraph around \"Paris\"" in out and "Paris --" in out and "--> France" in out
    saved = tmp_path / "saved"
    result = runner.invoke(cli.app, ["kg", "import", str(ttl), "--out", str(saved)])
    assert result.exit_code == 0 and "saved 4 nodes, 3 edges" in result.output
    again = runner.invoke(cli.app, ["kg", "info", str(saved)])
    assert again.exit_code == 0 and again.output.split("\n", 1)[1] == out.split("\n", 1)[1]


def test_corpus_prepare_trec_and_conll(tmp_path):
    trec = tmp_path / "trec"
    trec.mkdir()
    (trec / "train_5500.label").write_bytes("LOC:city What city is the capital of France ?\n"
                                            "HUM:ind Who wrote Caf\xe9 Society ?\n".encode("latin-1"))
    (trec / "TREC_10.label").write_text("NUM:date When did Rome fall ?\n")
    out = tmp_path / "trec.parquet"
    result = runner.invoke(cli.app, ["corpus", "prepare", "trec", "--out", str(out), "--data-dir", str(trec)])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [(r["split"], r["coarse"], r["fine"]) for r in rows] == [
        ("train", "LOC", "LOC:city"), ("train", "HUM", "HUM:ind"), ("test", "NUM", "NUM:date")]
    assert rows[1]["text"] == "Who wrote Café Society ?"

    conll = tmp_path / "conll"
    conll.mkdir()
    sentence = "EU B-ORG 0\nrejects O 0\nGerman B-MISC 0\ncall O 0\n\n"
    for name in ("train.txt", "valid.txt", "test.txt"):
        (conll / name).write_text("-DOCSTART- O 0\n\n" + sentence)
    out = tmp_path / "conll.parquet"
    result = runner.invoke(cli.app, ["corpus", "prepare", "conll2003", "-o", str(out), "--data-dir", str(conll)])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 6 and [r["split"] for r in rows[::2]] == ["train", "val", "test"]
    assert rows[1]["text"] == "EU rejects [German] call" and rows[1]["label"] == "MISC"
    assert rows[1]["text"][rows[1]["mention_start"]:rows[1]["mention_end"]] == "German"
    missing = runner.invoke(cli.app, ["corpus", "prepare", "trec", "-o", str(out), "--data-dir", str(conll)])
    assert missing.exit_code == 2 and "TREC file not found" in missing.output


def test_run_ends_with_the_headline_table_and_the_report_path(tmp_path, fakes):
    spec = write_toy_world(tmp_path, rows=60, extra_spec="evaluate: {seeds: [0, 1], bootstrap: 200, "
                                                         "permutations: 200}\n")
    result = runner.invoke(cli.app, ["run", str(spec), "--no-progress"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    report = Path(out.split("report: ")[1].split()[0])
    metrics = json.loads((report.parent / "metrics.json").read_text())
    tm = metrics["tasks"]["label"]
    lines = out.splitlines()
    title = lines.index("task label: 12 test examples, seeds 0, 1; accuracy and differences in points")
    assert lines[title + 1].split() == ["variant", "accuracy", "95%", "interval", "macro-F1", "full", "−",
                                        "variant", "95%", "interval"]
    rows = {line.split()[0]: line.split() for line in lines[title + 2:title + 6]}
    assert list(rows) == ["full", "no_graph", "shuffled_graph", "graph_removed"]
    for variant, cells in rows.items():
        vm = tm["variants"][variant]
        assert cells[1] == f"{100 * vm['accuracy']['mean']:.1f}"
        assert " ".join(cells[2:4]) == f"[{100 * vm['accuracy_ci']['low']:.1f}, {100 * vm['accuracy_ci']['high']:.1f}]"
        assert cells[4] == f"{100 * vm['macro_f1']['mean']:.1f}"
        if variant != "full":
            b = tm["paired"][f"full_vs_{variant}"]["bootstrap"]
            assert cells[5:] == [f"{100 * b['diff']:+.1f}", f"[{100 * b['low']:.1f},", f"{100 * b['high']:.1f}]"]
    assert len(rows["full"]) == 5                  # no difference of full with itself
    assert lines.index(f"report: {report}") > title
    # A rerun where everything is finished still ends with the table.
    again = runner.invoke(cli.app, ["run", str(spec), "--no-progress"])
    assert again.exit_code == 0 and "task label: 12 test examples" in again.stdout
