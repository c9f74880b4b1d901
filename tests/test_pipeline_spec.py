"""Pipeline spec: validation errors name file, key and line; paths expand; hashes key run dirs."""
from __future__ import annotations

from pathlib import Path

import pytest

from kgattn.errors import ConfigError
from kgattn.pipeline.spec import expand_vars, load_spec, parse_spec

REPO = Path(__file__).resolve().parent.parent
MINIMAL = "name: t\nkg: {path: kg.ttl}\ncorpus: {paths: [c.csv]}\n"


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_spec_defaults_and_relative_paths(tmp_path):
    spec = load_spec(_write(tmp_path, MINIMAL))
    assert spec.kg.path == tmp_path / "kg.ttl"          # relative to the YAML file, not the cwd
    assert spec.corpus.paths == [tmp_path / "c.csv"]
    assert spec.corpus.labels == {"label": "label"}
    assert spec.stages == ["link", "train", "evaluate", "predict"]
    assert spec.evaluate.variants == ["full", "no_graph", "shuffled_graph", "graph_removed"]


def test_unknown_key_names_key_file_and_line(tmp_path):
    path = _write(tmp_path, MINIMAL + "model:\n  backbone: minilm\n  gnnn: rgcn\n")
    with pytest.raises(ConfigError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg and "model.gnnn" in msg and "unknown key" in msg and "line 6" in msg


@pytest.mark.parametrize("extra, key", [
    ("train: {max_epochs: 0}", "train.max_epochs"),
    ("evaluate: {variants: [no_graph]}", "evaluate.variants"),
    ("evaluate: {seeds: []}", "evaluate.seeds"),
    ("predict: {format: xml}", "predict.format"),
])
def test_invalid_values_name_their_key(tmp_path, extra, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_spec(_write(tmp_path, MINIMAL + extra + "\n"))


def test_missing_sections_duplicate_keys_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'kg'.*required key is missing"):
        load_spec(_write(tmp_path, "name: t\ncorpus: {paths: [c.csv]}\n"))
    with pytest.raises(ConfigError, match=r"'name' is given twice"):
        load_spec(_write(tmp_path, MINIMAL + "name: u\n"))
    with pytest.raises(ConfigError, match=r"line \d+ invalid YAML"):
        load_spec(_write(tmp_path, MINIMAL + "model: [unclosed\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="split_ratios"):
        load_spec(_write(tmp_path, MINIMAL.replace("[c.csv]}", "[c.csv], split_ratios: {train: 0.5, test: 0.2}}")))
    (tmp_path / "latin.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_spec(tmp_path / "latin.yaml")


def test_environment_variables_expand(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("KGATTN_DATA", "/data/sets")
    spec = load_spec(_write(tmp_path, "name: t\nkg:\n  path: ${MY_DATA}/kg.ttl\n"
                                      "corpus:\n  paths: [$KGATTN_DATA/trec/x.csv]\n"))
    assert spec.kg.path == tmp_path / "d" / "kg.ttl"
    assert spec.corpus.paths == [Path("/data/sets/trec/x.csv")]
    monkeypatch.delenv("KGATTN_DATA")
    assert expand_vars("${KGATTN_DATA}/x").endswith("/x")  # falls back to kgattn.paths.data_dir()
    monkeypatch.delenv("MY_DATA")
    with pytest.raises(ConfigError, match=r"kg\.path.*MY_DATA is not set"):
        load_spec(tmp_path / "spec.yaml")


def test_config_hash_keys_model_but_not_predict_or_evaluate(tmp_path):
    base = parse_spec({"name": "t", "kg": {"path": "kg.ttl"}, "corpus": {"paths": ["c.csv"]}}, tmp_path)
    same = parse_spec({"name": "t", "kg": {"path": "kg.ttl"}, "corpus": {"paths": ["c.csv"]},
                       "predict": {"format": "jsonl"}, "evaluate": {"seeds": [0, 1]}}, tmp_path)
    other = parse_spec({"name": "t", "kg": {"path": "kg.ttl"}, "corpus": {"paths": ["c.csv"]},
                        "train": {"lr": 1e-4}}, tmp_path)
    assert base.config_hash == same.config_hash != other.config_hash
    assert base.stage_key("link") == other.stage_key("link")       # training settings don't relink
    assert base.stage_key("predict") != same.stage_key("predict")
    assert base.stage_key("evaluate") != same.stage_key("evaluate")


@pytest.mark.parametrize("name", ["quickstart", "trec_wordnet", "conll_fb15k237"])
def test_shipped_pipelines_validate(name):
    spec = load_spec(REPO / "pipelines" / f"{name}.yaml")
    assert spec.name == name
    assert "full" in spec.evaluate.variants and "no_graph" in spec.evaluate.variants
    if name == "quickstart":
        assert spec.kg.path.resolve() == (REPO / "data" / "quickstart" / "kg.ttl").resolve()
        assert spec.evaluate.seeds == [0]
    if name == "trec_wordnet":
        assert spec.corpus.labels == {"coarse": "coarse", "fine": "fine"} and spec.corpus.val_fraction > 0
    if name == "conll_fb15k237":
        assert spec.corpus.dataset == "conll2003" and spec.kg.importer == "fb15k237"
