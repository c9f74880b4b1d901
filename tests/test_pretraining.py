"""kgattn pretrain: objectives, masking, Lightning training with resume, the pretrained directory,
init_from into a fresh model, and clear errors on bad input."""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from kgattn.errors import ConfigError, CorpusError, FingerprintMismatchError, SavedFileError
from kgattn.models import KGAugmentedConfig, KGAugmentedModel
from kgattn.pipeline.spec import parse_spec
from kgattn.pretraining import (init_model_from, load_pretrain_spec, load_pretrained, parse_pretrain_spec, pretrain,
                                pretrained_manifest)
from kgattn.pretraining.heads import CheckpointMLMHead, TiedMLMHead, build_mlm_head
from kgattn.pretraining.masking import IGNORE, hidden_edges, mask_tokens
from test_training_world import TEMPLATES, one_thread, toy_graph

_threads = pytest.fixture(scope="module", autouse=True)(one_thread)

FAST = dict(gnn_dim=16, max_length=32, max_nodes=8, hops=1, batch_size=8, lr=3e-3, backbone_lr=3e-3,
            warmup_ratio=0.0, schedule="constant", progress_bar=False, log_every_n_steps=1, checkpoint_every=5,
            precision="32", accelerator="cpu", devices=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A saved toy graph (companies -> sectors) and an unlabelled CSV corpus naming the companies."""
    root = tmp_path_factory.mktemp("pretrain-world")
    kg, names = toy_graph(16)
    kg.save(root / "kg")
    with open(root / "corpus.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "body"])
        for i, name in enumerate(names):
            for j, template in enumerate(TEMPLATES):
                writer.writerow([f"t{i}-{j}", template.format(name=name)])
    return root, kg


def write_spec(root: Path, name: str, backbone: str, corpus: str = "corpus.csv", kg: str = "kg",
               text_column: str = "body", **pretrain_keys) -> Path:
    settings = {**FAST, "backbone": backbone, "output_dir": str(root / "out" / name), **pretrain_keys}
    spec = {"name": name, "kg": {"path": kg}, "corpus": {"paths": [corpus], "text_column": text_column},
            "linker": {"disambiguate": "prior"}, "pretrain": settings}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def metric_rows(out: Path) -> list[dict]:
    rows = []
    for path in sorted(out.glob("logs/version_*/metrics.csv")):
        rows += list(csv.DictReader(open(path)))
    return rows


def series(rows: list[dict], column: str) -> list[float]:
    return [float(r[column]) for r in rows if r.get(column)]


# ------------------------------------------------------------------------------ masking
def test_entity_tokens_are_masked_more_often_and_special_tokens_never():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 100, (64, 40), generator=g)
    maskable = torch.ones(64, 40, dtype=torch.bool)
    maskable[:, 0] = maskable[:, -1] = False                  # [CLS] / [SEP]
    entity = torch.zeros(64, 40, dtype=torch.bool)
    entity[:, 5:10] = True
    masked, labels = mask_tokens(ids, maskable, entity, rate=0.1, entity_rate=0.6, mask_token_id=3,
                                 vocab_size=100, generator=g)
    chosen = labels != IGNORE
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])
    ent_rate, other_rate = chosen[entity].float().mean(), chosen[maskable & ~entity].float().mean()
    assert 0.5 < ent_rate < 0.7 and 0.07 < other_rate < 0.14, (ent_rate, other_rate)
    assert 0.7 < (masked[chosen] == 3).float().mean() < 0.9     # 80% [MASK]


def test_every_row_gets_a_masked_token_and_hidden_edges_touch_seeds():
    ids = torch.arange(12).view(2, 6) + 10
    maskable = torch.ones(2, 6, dtype=torch.bool)
    entity = torch.zeros(2, 6, dtype=torch.bool)
    entity[1, 3] = True
    _, labels = mask_tokens(ids, maskable, entity, rate=0.0, entity_rate=0.0, mask_token_id=1, vocab_size=30)
    assert not (labels != IGNORE).any()                       # rates 0: nothing at all
    _, labels = mask_tokens(ids, maskable, entity, rate=1e-9, entity_rate=1e-9, mask_token_id=1, vocab_size=30)
    assert ((labels != IGNORE).sum(1) == 1).all() and labels[1, 3] == ids[1, 3]
    edge_index = torch.tensor([[0, 1, 2, 4], [1, 2, 3, 5]])
    seed = torch.tensor([[True, False, False], [False, False, False]])   # B=2, N=3
    for _ in range(5):
        hidden = hidden_edges(edge_index, seed, rate=0.5)
        assert hidden.tolist() == [0]                          # the one edge touching a seed
    assert hidden_edges(edge_index, torch.zeros(2, 3, dtype=torch.bool), rate=0.5).numel() == 2


# ------------------------------------------------------------------------------ MLM head
def test_checkpoint_head_is_used_when_present_else_tied(tiny_backbone, tmp_path):
    from transformers import AutoModel, BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    backbone = AutoModel.from_pretrained(tiny_backbone)
    head = build_mlm_head(tiny_backbone, backbone)
    assert isinstance(head, TiedMLMHead)                       # a BertModel checkpoint has no MLM head
    assert head(torch.zeros(3, 32)).shape == (3, backbone.config.vocab_size)
    assert not any(p is backbone.get_input_embeddings().weight for p in head.parameters())

    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    BertForMaskedLM(config).save_pretrained(tmp_path / "mlm")
    saved = BertForMaskedLM.from_pretrained(tmp_path / "mlm")
    backbone = AutoModel.from_pretrained(tmp_path / "mlm")
    head = build_mlm_head(str(tmp_path / "mlm"), backbone)
    assert isinstance(head, CheckpointMLMHead) and head.name == "cls"
    assert torch.equal(head.head.predictions.transform.dense.weight, saved.cls.predictions.transform.dense.weight)
    assert head.head.predictions.decoder.weight is backbone.get_input_embeddings().weight   # tied to *our* copy
    h = torch.randn(4, 32)
    assert torch.allclose(head(h), saved.cls(h), atol=1e-6)


# ------------------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def pretrained(world, tiny_backbone):
    root, kg = world
    spec = load_pretrain_spec(write_spec(root, "main", tiny_backbone, max_steps=40, max_epochs=20, seed=0))
    result = pretrain(spec, log=lambda m: None)
    return spec, result


def test_every_loss_is_finite_and_decreases(pretrained):
    spec, result = pretrained
    assert result.global_step == 40
    rows = metric_rows(spec.output_dir)
    for term in ("loss", "mlm", "link", "align"):
        values = series(rows, f"train/{term}")
        assert len(values) >= 35, (term, len(values))
        assert all(math.isfinite(v) for v in values), term
        first, last = sum(values[:8]) / 8, sum(values[-8:]) / 8
        assert last < first * 0.9, (term, first, last)
    assert series(rows, "train/mlm_entity_accuracy"), "entity tokens were never masked"
    assert any(c.startswith("train/gate_") for c in rows[0])
    summary = json.loads((spec.output_dir / "summary.json").read_text())
    assert summary["tokens_per_second"] > 0 and set(summary["losses"]) >= {"mlm", "link", "align"}
    # Whole-graph dropout (0.5 by default in fine-tuning) never hides the graph in pretraining.
    assert KGAugmentedConfig(tasks={"t": 2}).graph_dropout == 0.5
    assert json.loads((spec.output_dir / "pretrained" / "config.json").read_text())["graph_dropout"] == 0.0


def test_pretrained_directory_and_init_from_round_trip(pretrained, world, tiny_backbone):
    spec, result = pretrained
    _, kg = world
    weights = load_pretrained(result.directory, kg)
    assert weights.manifest["kind"] == "kgattn-pretrained" and weights.manifest["kg_fingerprint"] == kg.fingerprint
    assert weights.uses_graph and (result.directory / "tokenizer.json").is_file()
    KGAugmentedConfig.from_dict(weights.config)                # a KGAugmentedConfig-compatible dict

    fresh = KGAugmentedModel(KGAugmentedConfig(tasks={"sector": 2}, backbone=tiny_backbone, node_feature_dim=
                                               weights.config["node_feature_dim"], num_relations=kg.num_relations,
                                               max_hops=1, gnn_dim=16))
    heads_before = {k: v.clone() for k, v in fresh.state_dict().items() if k.startswith(("heads.", "pool."))}
    report = init_model_from(fresh, result.directory, kg)
    assert set(report.copied) == {"backbone", "node_encoder", "relations", "gnn", "fusion"}
    state = fresh.state_dict()
    for name, tensor in weights.state_dict.items():
        if not name.startswith("mlm_head."):
            assert torch.equal(state[name], tensor), name
    assert report.num_tensors == sum(1 for k in weights.state_dict if not k.startswith("mlm_head."))
    assert all(torch.equal(state[k], v) for k, v in heads_before.items())     # task heads stay fresh
    gates = [k for k in weights.state_dict if k.startswith("fusion.") and k.endswith("gate")]
    assert gates and any(float(weights.state_dict[k].abs().max()) > 0 for k in gates)   # gates moved

    # a no-graph model takes the backbone alone, without needing the graph
    plain = KGAugmentedModel(KGAugmentedConfig(tasks={"sector": 2}, backbone=tiny_backbone, use_graph=False))
    assert init_model_from(plain, result.directory).copied == ("backbone",)


def test_mismatched_graph_or_architecture_is_refused(pretrained, world, tiny_backbone, tmp_path):
    spec, result = pretrained
    _, kg = world
    other, _ = toy_graph(17)
    with pytest.raises(FingerprintMismatchError, match=r"manifest\.json.*fingerprint"):
        load_pretrained(result.directory, other)
    dim = load_pretrained(result.directory).config["node_feature_dim"]
    make = lambda **kw: KGAugmentedModel(KGAugmentedConfig(**{  # noqa: E731
        "tasks": {"sector": 2}, "backbone": tiny_backbone, "node_feature_dim": dim,
        "num_relations": kg.num_relations, "max_hops": 1, "gnn_dim": 16, **kw}))
    with pytest.raises(FingerprintMismatchError, match="manifest.json"):
        init_model_from(make(), result.directory, other)
    with pytest.raises(ConfigError, match=r"max_hops \(pretrained 1, model 2\); gnn_dim \(pretrained 16, model 32\)"):
        init_model_from(make(gnn_dim=32, max_hops=2), result.directory, kg)
    with pytest.raises(ConfigError, match="gnn"):
        init_model_from(make(gnn="gatv2", gnn_heads=4), result.directory, kg)
    with pytest.raises(ConfigError, match="fusion_layers"):
        init_model_from(make(fusion_layers=[1]), result.directory, kg)
    with pytest.raises(SavedFileError, match="manifest"):
        init_model_from(make(), tmp_path, kg)
    # A pseudonymised copy of the pretraining graph (invented names, same structure) is accepted,
    # a pseudonymised copy of another graph is not.
    from kgattn.evaluation.pseudonymize import pseudonymize

    texts = [f"{kg.label(3)} hired a new chief.", f"{kg.label(5)} sold a unit."]
    _, renamed = pseudonymize(texts, kg, mode="entities", seed=1)
    assert renamed.fingerprint != kg.fingerprint
    assert init_model_from(make(), result.directory, renamed).copied
    _, other_renamed = pseudonymize(texts, other, mode="entities", seed=1)
    with pytest.raises(FingerprintMismatchError, match="manifest.json"):
        init_model_from(make(), result.directory, other_renamed)
    assert pretrained_manifest(result.directory)["global_step"] == 40
    with pytest.raises(SavedFileError, match=r"manifest\.json"):
        pretrained_manifest(tmp_path)


class _Record:
    """A Lightning callback that records the example indices of every trained batch, and can
    crash the run after a given step (what a kill does, as far as the checkpoint can tell)."""

    def __new__(cls, seen: list, crash_at: int | None = None):
        import lightning as L

        class Record(L.Callback):
            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                seen.append(batch.batch.index.tolist())
                if crash_at is not None and trainer.global_step == crash_at:
                    raise RuntimeError("killed")

        return Record()


def _with_callbacks(monkeypatch, *callbacks):
    import kgattn.pretraining.build as build

    original = build.build_trainer

    def patched(*args, **kwargs):
        trainer = original(*args, **kwargs)
        trainer.callbacks.extend(callbacks)
        return trainer

    monkeypatch.setattr(build, "build_trainer", patched)


def test_killed_pretraining_resumes_from_its_checkpoint(world, tiny_backbone, monkeypatch):
    root, kg = world
    # 64 texts, batch 8: 8 steps per epoch; a checkpoint every 3 steps; killed after step 5
    path = write_spec(root, "resume", tiny_backbone, max_epochs=1, checkpoint_every=3)
    killed: list = []
    with monkeypatch.context() as m:
        _with_callbacks(m, _Record(killed, crash_at=5))
        with pytest.raises(RuntimeError, match="killed"):
            pretrain(load_pretrain_spec(path), log=lambda m: None)
    ckpt = torch.load(root / "out/resume/checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3 and ckpt["kgattn_data_position"] == [0, 3]
    assert not (root / "out/resume/pretrained").exists()

    resumed: list = []
    messages: list = []
    with monkeypatch.context() as m:
        _with_callbacks(m, _Record(resumed))
        result = pretrain(load_pretrain_spec(path), log=messages.append)
    assert any("resuming from" in msg for msg in messages)
    assert result.global_step == 8 and len(resumed) == 5
    # the epoch continues where the checkpoint was: every text once, none twice
    epoch = [i for batch in killed[:3] + resumed for i in batch]
    assert sorted(epoch) == list(range(64))
    steps = [int(r["step"]) for r in metric_rows(root / "out/resume") if r.get("train/mlm")]
    assert min(steps) == 0 and max(steps) == 7

    # the same spec again: finished, nothing to do; a longer budget continues from step 8
    assert pretrain(load_pretrain_spec(path), log=lambda m: None).global_step == 8
    path = write_spec(root, "resume", tiny_backbone, max_epochs=2, checkpoint_every=3)
    assert pretrain(load_pretrain_spec(path), log=lambda m: None).global_step == 16
    assert load_pretrained(root / "out/resume/pretrained").manifest["global_step"] == 16
    # another setting is refused (it would mix two trainings), --force starts over
    path = write_spec(root, "resume", tiny_backbone, max_epochs=1, mask_rate=0.3)
    with pytest.raises(ConfigError, match="other settings.*--force"):
        pretrain(load_pretrain_spec(path), log=lambda m: None)
    assert pretrain(load_pretrain_spec(path), force=True, log=lambda m: None).global_step == 8


def test_mlm_only_control_trains_the_backbone_alone(world, tiny_backbone):
    root, kg = world
    path = write_spec(root, "mlm_only", tiny_backbone, max_steps=3, use_graph=False)
    result = pretrain(load_pretrain_spec(path), log=lambda m: None)
    rows = metric_rows(root / "out/mlm_only")
    assert series(rows, "train/mlm") and not series(rows, "train/link") and not series(rows, "train/align")
    weights = load_pretrained(result.directory)
    assert not weights.uses_graph and not any(k.startswith("gnn.") for k in weights.state_dict)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("case, error, message", [
    ("empty", CorpusError, "no text"),
    ("column", CorpusError, r"text column 'body' not found; the file has columns \['id', 'text'\]"),
    ("unlinked", CorpusError, "no text of the corpus .* has a mention linked"),
    ("missing", CorpusError, "does not exist"),
])
def test_bad_corpus_gets_one_clear_message(world, tiny_backbone, case, error, message):
    root, _ = world
    corpus = root / f"{case}.csv"
    if case == "empty":
        corpus.write_text("id,body\n1,\n2,   \n")
    elif case == "column":
        corpus.write_text("id,text\n1,Zorvik opened a new office.\n")
    elif case == "unlinked":
        corpus.write_text("id,body\n1,Nothing here names a company.\n2,Nor here.\n")
    path = write_spec(root, f"bad_{case}", tiny_backbone, corpus=corpus.name, max_steps=1)
    with pytest.raises(error, match=message):
        pretrain(load_pretrain_spec(path), log=lambda m: None)


def test_spec_errors_name_the_key(tmp_path):
    base = {"name": "x", "kg": {"path": "kg"}, "corpus": {"paths": ["c.csv"]}}
    with pytest.raises(ConfigError, match=r"key 'pretrain.options': unknown key"):
        parse_pretrain_spec({**base, "pretrain": {"options": {"lr": 1}}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"key 'pretrain.gnn'.*gatv2"):
        parse_pretrain_spec({**base, "pretrain": {"gnn": "gcn"}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"key 'pretrain.graph_dropout': unknown key"):
        parse_pretrain_spec({**base, "pretrain": {"graph_dropout": 0.5}}, "s.yaml")
    with pytest.raises(ConfigError, match="every objective weight is 0"):
        parse_pretrain_spec({**base, "pretrain": {"objectives": {"mlm": 0, "link": 0, "align": 0}}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"key 'kg'.*importer.*path"):
        parse_pretrain_spec({**base, "kg": {}}, "s.yaml")
    spec = parse_pretrain_spec(base, "s.yaml", base_dir=tmp_path)
    assert spec.corpus.paths == [tmp_path / "c.csv"] and spec.output_dir == Path("runs/pretrain/x")
    longer = parse_pretrain_spec({**base, "pretrain": {"max_steps": 99, "devices": 2}}, "s.yaml", base_dir=tmp_path)
    assert longer.training_key() == spec.training_key()       # how long and where: resumable
    other = parse_pretrain_spec({**base, "pretrain": {"mask_rate": 0.2}}, "s.yaml", base_dir=tmp_path)
    assert other.training_key() != spec.training_key()
    # The linker section is the pipeline's schema: the same keys, checked the same way.
    disk = parse_pretrain_spec({**base, "linker": {"index": "disk", "node_types": ["noun."]}}, "s.yaml", base_dir=tmp_path)
    assert type(disk.linker) is type(parse_spec({**base, "corpus": {"paths": ["c.csv"]}}, tmp_path).linker)
    given = disk.linker.linker_arguments()
    assert {k: given[k] for k in ("disambiguate", "index", "node_types")} == {
        "disambiguate": "context", "index": "disk", "node_types": ["noun."]}
    assert set(given) == {"disambiguate", "index", "node_types", "rules"}   # the spelling rules are always written
    with pytest.raises(ConfigError, match=r"key 'linker.index'"):
        parse_pretrain_spec({**base, "linker": {"index": "ram"}}, "s.yaml")


def test_cli_prints_one_error_line_and_the_directory_last(pretrained, world, tiny_backbone, tmp_path):
    spec, result = pretrained
    root, _ = world
    env_cmd = [sys.executable, "-m", "kgattn.cli", "pretrain"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkg: {path: kg}\ncorpus: {paths: [nope.csv]}\npretrain: {gnn: gcn}\n")
    proc = subprocess.run(env_cmd + [str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # the finished main run: nothing to train, the directory is the last line
    path = write_spec(root, "main", tiny_backbone, max_steps=40, max_epochs=20, seed=0)
    proc = subprocess.run(env_cmd + [str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(result.directory)


def test_kg_sources_are_united_as_the_pipeline_unites_them(world, tmp_path):
    from kgattn.graph import KnowledgeGraph
    from kgattn.pretraining.run import load_graph

    root, kg = world
    other, _ = toy_graph(5, seed=3)
    other.save(tmp_path / "other")
    spec = parse_pretrain_spec({"name": "u", "corpus": {"paths": ["c.csv"]},
                                "kg": {"sources": [{"path": str(root / "kg")}, {"path": str(tmp_path / "other"),
                                                                                 "prefix": "b:"}]}}, "s.yaml")
    united = load_graph(spec)
    assert united.fingerprint == KnowledgeGraph.union([kg, other], ["", "b:"]).fingerprint
    with pytest.raises(ConfigError, match="either 'sources' or 'path'"):
        parse_pretrain_spec({"name": "u", "corpus": {"paths": ["c.csv"]},
                             "kg": {"path": "x", "sources": [{"path": "y"}]}}, "s.yaml")


def test_torchrun_two_processes_link_their_shards_and_train_with_ddp(world, tiny_backbone, tmp_path):
    """Under torchrun each rank links its own shards, Lightning runs DDP over both ranks (CPU,
    gloo), and rank 0 alone writes the pretrained directory and prints it."""
    import os

    root, _ = world
    spec = write_spec(root, "ddp", tiny_backbone, max_steps=2, max_epochs=5, devices="auto")
    data = yaml.safe_load(spec.read_text())
    data["corpus"]["shard_rows"] = 16
    data["pretrain"]["output_dir"] = str(tmp_path / "out")
    spec.write_text(yaml.safe_dump(data))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    for key in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "kgattn.cli", "pretrain", str(spec)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().splitlines() == [str(tmp_path / "out" / "pretrained")]   # printed once
    assert len(list((tmp_path / "out" / "link").glob("shard-*.parquet"))) == 4
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    assert load_pretrained(tmp_path / "out" / "pretrained").manifest["global_step"] == 2


def test_classifier_fine_tunes_from_a_pretrained_directory(pretrained, world, tiny_backbone):
    """KGClassifier(init_from=DIR) starts from the pretrained backbone, GNN and fusion: with the
    backbone frozen, the fitted backbone is the pretrained one; another graph is refused first."""
    from kgattn.api import KGClassifier
    from kgattn.errors import FingerprintMismatchError
    from test_training_world import toy_corpus, toy_graph

    spec, result = pretrained
    _, kg = world
    weights = load_pretrained(result.directory, kg)
    _, names = toy_graph(16)
    texts, labels, mentions = toy_corpus(kg, names, range(16))
    clf = KGClassifier(kg=kg, backbone=tiny_backbone, init_from=result.directory, hops=1, gnn_dim=16,
                       max_epochs=1, batch_size=8, backbone_lr=0.0, progress_bar=False)
    assert clf.get_params()["init_from"] == result.directory
    clf.fit(texts, labels, mentions=mentions)
    assert set(clf.init_report_.copied) == {"backbone", "node_encoder", "relations", "gnn", "fusion"}
    state = clf.model_.state_dict()
    backbone = [k for k in weights.state_dict if k.startswith("backbone.")]
    assert backbone and all(torch.equal(state[k], weights.state_dict[k]) for k in backbone)
    other, _ = toy_graph(10)
    with pytest.raises(FingerprintMismatchError, match=r"manifest\.json: pretrained over the graph"):
        KGClassifier(kg=other, backbone=tiny_backbone, init_from=result.directory).fit(texts[:4], labels[:4])
    # The pseudonymised evaluation fine-tunes on a renamed copy of the pretraining graph: accepted
    # by the classifier's own check too (it once compared fingerprints alone), another graph's copy not.
    from kgattn.evaluation.pseudonymize import pseudonymize

    _, renamed = pseudonymize(texts[:4], kg, mode="entities", seed=1)
    KGClassifier(kg=renamed, backbone=tiny_backbone, init_from=result.directory)._configs()
    _, other_renamed = pseudonymize(texts[:4], other, mode="entities", seed=1)
    with pytest.raises(FingerprintMismatchError, match="manifest.json"):
        KGClassifier(kg=other_renamed, backbone=tiny_backbone, init_from=result.directory)._configs()
