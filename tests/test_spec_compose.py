"""Specs that extend other specs, and ``--set`` overrides: the merged spec is the one a single file
would give (same values, same run directory), relative paths keep their own file's meaning, and
every error names the file and line, or the ``--set``, that gave the bad value."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import kgattn.cli as cli
from kgattn.errors import ConfigError
from kgattn.pipeline.spec import load_spec
from kgattn.pretraining import load_pretrain_spec
from kgattn.specs.compose import merge, parse_override

BASE = """name: base
kg: {path: graph/kg.ttl}
corpus:
  paths: [data/c.csv]
  labels: {topic: label}
train:
  max_epochs: 4
  seed: 0
evaluate:
  seeds: [0, 1, 2]
  variants: [full, no_graph]
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_merge_mappings_key_by_key_and_replace_everything_else():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    over = {"a": {"y": [3], "z": None}, "c": 2}
    assert merge(base, over) == {"a": {"x": 1, "y": [3], "z": None}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}          # inputs untouched


def test_extends_equals_the_spec_written_out(tmp_path):
    _write(tmp_path / "base.yaml", BASE)
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\ntrain: {seed: 2}\n"
                                            "evaluate: {seeds: [2]}\n")
    flat = _write(tmp_path / "flat.yaml", BASE.replace("name: base", "name: child")
                  .replace("seed: 0", "seed: 2").replace("seeds: [0, 1, 2]", "seeds: [2]"))
    spec, written_out = load_spec(child), load_spec(flat)
    assert spec.train.seed == 2 and spec.train.max_epochs == 4           # set here / kept from the base
    assert spec.evaluate.seeds == [2] and spec.evaluate.variants == ["full", "no_graph"]
    assert spec == written_out
    assert spec.config_hash == written_out.config_hash
    assert all(spec.stage_key(s) == written_out.stage_key(s) for s in ("link", "train", "evaluate"))


def test_relative_paths_keep_the_meaning_of_their_own_file(tmp_path):
    _write(tmp_path / "base.yaml", BASE)
    child = _write(tmp_path / "experiments" / "child.yaml",
                   "extends: ../base.yaml\nname: child\nmodel: {init_from: pretrained}\n")
    spec = load_spec(child)
    assert spec.kg.path.resolve() == tmp_path / "graph" / "kg.ttl"        # the base's folder
    assert [p.resolve() for p in spec.corpus.paths] == [tmp_path / "data" / "c.csv"]
    assert spec.model.init_from == tmp_path / "experiments" / "pretrained"  # the child's folder
    # Spelled as a user would in the child's folder: a spec written out there has the same hash.
    flat = _write(tmp_path / "experiments" / "flat.yaml",
                  BASE.replace("name: base", "name: child").replace("graph/", "../graph/")
                  .replace("data/", "../data/") + "model: {init_from: pretrained}\n")
    assert spec == load_spec(flat) and spec.config_hash == load_spec(flat).config_hash
    override = load_spec(child, ["corpus.paths=[other.csv]"])            # a --set: the working directory
    assert override.corpus.paths == [Path(os.getcwd()) / "other.csv"]


def test_chains_and_null_drops_a_base_key(tmp_path):
    _write(tmp_path / "a.yaml", BASE)
    _write(tmp_path / "b.yaml", "extends: a.yaml\ntrain: {max_epochs: 6}\n")
    c = _write(tmp_path / "c.yaml", "extends: b.yaml\nname: c\nkg: {path: null, importer: wordnet}\n")
    spec = load_spec(c)
    assert (spec.name, spec.train.max_epochs, spec.train.seed) == ("c", 6, 0)
    assert spec.kg.importer == "wordnet" and spec.kg.path is None


def test_extends_errors_name_the_file_and_line(tmp_path):
    missing = _write(tmp_path / "m.yaml", "name: m\nextends: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"m\.yaml: key 'extends' \(line 2\): .*nowhere\.yaml does not exist"):
        load_spec(missing)
    _write(tmp_path / "x.yaml", "extends: y.yaml\nname: x\n")
    _write(tmp_path / "y.yaml", "extends: x.yaml\nname: y\n")
    with pytest.raises(ConfigError, match=r"cycle \(.*x\.yaml -> .*y\.yaml -> .*x\.yaml\)"):
        load_spec(tmp_path / "x.yaml")
    with pytest.raises(ConfigError, match=r"expected the path of one spec file"):
        load_spec(_write(tmp_path / "l.yaml", "extends: [a.yaml, b.yaml]\n"))
    _write(tmp_path / "notmap.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"notmap\.yaml: a pipeline spec must be a mapping"):
        load_spec(_write(tmp_path / "n.yaml", "extends: notmap.yaml\n"))


def test_a_bad_value_is_named_where_it_was_written(tmp_path):
    base = _write(tmp_path / "base.yaml", BASE.replace("max_epochs: 4", "max_epochs: 0"))
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\n")
    with pytest.raises(ConfigError) as err:
        load_spec(child)
    message = str(err.value)
    assert message.startswith(f"{child}: ") and f"key 'train.max_epochs' ({base} line 7)" in message
    _write(tmp_path / "base.yaml", BASE)
    with pytest.raises(ConfigError, match=r"key 'train.max_epochs' \(--set train.max_epochs=0\)"):
        load_spec(child, ["train.max_epochs=0"])
    with pytest.raises(ConfigError, match=r"key 'train.bogus' \(--set train.bogus=1\): unknown key"):
        load_spec(child, ["train.bogus=1"])
    assert base.read_text() == BASE and child.read_text() == "extends: base.yaml\nname: child\n"
    # A mapping given by --set merges: a bad key it did not name is still the file's.
    _write(tmp_path / "base.yaml", BASE.replace("max_epochs: 4", "max_epochs: 0"))
    with pytest.raises(ConfigError, match=rf"key 'train.max_epochs' \({re.escape(str(base))} line 7\)"):
        load_spec(child, ["train={seed: 3}"])


def test_overrides_are_yaml_values_on_dotted_keys(tmp_path):
    spec_path = _write(tmp_path / "s.yaml", BASE)
    spec = load_spec(spec_path, ["train.seed=1", "evaluate.seeds=[1]", "evaluate.variants=[full, no_graph]",
                                 "train.lr=5e-4", "train.seed=3"])   # the last one given wins
    assert (spec.train.seed, spec.evaluate.seeds, spec.train.lr) == (3, [1], 5e-4)
    assert parse_override("corpus.labels={a: b}") == (("corpus", "labels"), {"a": "b"})
    assert parse_override("model.init_from=null") == (("model", "init_from"), None)
    for bad, message in [("train.seed", "expected KEY=VALUE"), ("=1", "expected KEY=VALUE"),
                         ("extends=a.yaml", "'extends' is read from the spec file only"),
                         ("train.seed=[1", "the value is not valid YAML"),
                         ("train.seed.x=1", "'train.seed' is not a mapping of keys in the spec \\(it holds 0\\)")]:
        with pytest.raises(ConfigError, match=rf"^--set {re.escape(bad)}: {message}"):
            load_spec(spec_path, [bad])


def test_cli_set_gives_the_run_directory_of_the_spec_that_says_it(tmp_path):
    runner = CliRunner()
    _write(tmp_path / "graph" / "kg.ttl", "@prefix ex: <http://example.org/> .\nex:a ex:r ex:b .\n")
    _write(tmp_path / "data" / "c.csv", "id,text,label,split\n1,a,x,train\n")
    spec = _write(tmp_path / "s.yaml", BASE)
    seeded = _write(tmp_path / "seeded.yaml", "extends: s.yaml\ntrain: {seed: 5}\n")
    by_set = runner.invoke(cli.app, ["check", str(spec), "--set", "train.seed=5"])
    by_file = runner.invoke(cli.app, ["check", str(seeded)])
    plain = runner.invoke(cli.app, ["check", str(spec)])
    keys = [[line for line in r.output.splitlines() if "key " in line or "run directory" in line]
            for r in (by_set, by_file, plain)]
    assert by_set.exit_code == by_file.exit_code == 0, by_set.output + by_file.output
    assert keys[0] == keys[1] and keys[0] != keys[2]
    shown = runner.invoke(cli.app, ["check", str(seeded), "--show"])
    assert shown.exit_code == 0, shown.output
    written_out = yaml.safe_load(shown.output.split(f"{seeded}: valid")[0])
    assert written_out["train"]["seed"] == 5 and written_out["train"]["max_epochs"] == 4
    assert load_spec(_write(tmp_path / "shown.yaml", yaml.safe_dump(written_out))) == load_spec(seeded)
    bad = runner.invoke(cli.app, ["check", str(spec), "--set", "train.epochs=3"])
    assert bad.exit_code == 2 and "key 'train.epochs' (--set train.epochs=3): unknown key" in bad.output
    assert "Traceback" not in bad.output


def test_pretrain_specs_extend_too(tmp_path):
    _write(tmp_path / "base.yaml", "name: p\nkg: {path: kg.ttl}\ncorpus: {paths: [texts.csv]}\n"
                                   "pretrain: {max_steps: 10, mask_rate: 0.15}\n")
    child = _write(tmp_path / "more" / "mlm_only.yaml",
                   "extends: ../base.yaml\nname: p_mlm\npretrain: {objectives: {mlm: 1.0, link: 0, align: 0}}\n")
    spec = load_pretrain_spec(child, ["pretrain.max_steps=20"])
    assert spec.name == "p_mlm" and spec.pretrain.max_steps == 20 and spec.pretrain.mask_rate == 0.15
    assert [p.resolve() for p in spec.corpus.paths] == [tmp_path / "texts.csv"]
    with pytest.raises(ConfigError, match=r"key 'pretrain.mask_rat' \(--set pretrain.mask_rat=0.2\)"):
        load_pretrain_spec(child, ["pretrain.mask_rat=0.2"])


def test_every_shipped_spec_reads(monkeypatch):
    """The experiment specs extend one another; each chain must still read and validate."""
    monkeypatch.setenv("KGATTN_DATA", "/data")
    repo = Path(__file__).resolve().parent.parent
    specs = sorted(p for p in (repo / "pipelines").rglob("*.yaml") if not p.name.startswith("_"))
    extending = [p for p in specs if p.read_text().count("\nextends: ")]
    assert len(extending) >= 5
    for path in specs:
        if path.name.startswith("pretrain_"):
            load_pretrain_spec(path)
        else:
            load_spec(path)
