"""Labels, collation, data module, optimiser set-up and the Lightning module (tiny backbone)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from kgattn.errors import ConfigError, InputTextError, LabelError
from kgattn.linking.types import Mention
from kgattn.training.collate import Collator, Featurizer, check_texts, shuffle_graphs
from kgattn.training.labels import LabelEncoder, fit_encoders, normalize_labels
from test_training_world import one_thread, toy_corpus, toy_graph


_threads = pytest.fixture(scope="module", autouse=True)(one_thread)

# ---------------------------------------------------------------- labels
def test_normalize_labels_list_and_dict():
    assert normalize_labels(["a", "b"], 2) == {"label": ["a", "b"]}
    assert normalize_labels({"coarse": [1, 2], "fine": ["x", "y"]}, 2) == {"coarse": [1, 2], "fine": ["x", "y"]}
    assert normalize_labels(np.array([3, 4]), 2) == {"label": [3, 4]}  # numpy scalars become python ints


@pytest.mark.parametrize("labels, n, match", [
    (["a", "b", "c"], 2, "3 labels for 2 texts"),
    ({"t": ["a"]}, 2, "task 't': 1 labels for 2 texts"),
    ("ab", 2, "not str"),
    (["a", 1.5], 2, "index 1: label 1.5 has type float"),
    (["a", None], 2, "index 1"),
    (["a", 1], 2, "index 1: label 1 is int"),
    ({}, 2, "empty mapping"),
    (5, 2, "not int"),
])
def test_normalize_labels_errors_name_the_problem(labels, n, match):
    with pytest.raises(LabelError, match=match):
        normalize_labels(labels, n)


def test_label_encoder_round_trip_and_unseen_label():
    enc = LabelEncoder.fit("label", ["b", "a", "b", "c"])
    assert enc.classes == ("a", "b", "c")
    codes = enc.encode(["c", "a"])
    assert codes.tolist() == [2, 0] and enc.decode(codes) == ["c", "a"]
    with pytest.raises(LabelError, match=r"index 1: label 'zzz' was not seen"):
        enc.encode(["a", "zzz"])
    ints = LabelEncoder.fit("t", [0, 1])
    with pytest.raises(LabelError, match="True"):  # bool is not silently class 1
        ints.encode([True])
    with pytest.raises(LabelError, match="at least 2 classes"):
        fit_encoders({"t": ["only"]})


# ---------------------------------------------------------------- collation
@pytest.fixture(scope="module")
def world():
    kg, names = toy_graph(8)
    return kg, names


@pytest.fixture(scope="module")
def tokenizer(tiny_backbone):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_backbone)


def test_check_texts_refuses_empty_and_non_strings():
    assert check_texts(("a", "b")) == ["a", "b"]
    with pytest.raises(InputTextError, match="index 1: text is empty"):
        check_texts(["ok", "  "])
    with pytest.raises(InputTextError, match="index 0: text must be a str"):
        check_texts([3])
    with pytest.raises(InputTextError, match="single string"):
        check_texts("abc")


def test_featurizer_maps_mentions_to_tokens_and_cuts_subgraphs(world, tokenizer):
    kg, names = world
    texts, _, mentions = toy_corpus(kg, names, [0, 1], templates=("Shares of {name} rose.",))
    feat = Featurizer(tokenizer, kg, hops=2, max_nodes=8, max_length=32)
    examples = feat.prepare(texts, mentions)
    assert len(examples) == 2
    for text, ms, ex in zip(texts, mentions, examples):
        node = ms[0].node
        assert ex.subgraph.nodes[0].item() == node  # the seed comes first
        assert ex.subgraph.seed_mask.tolist()[0] and ex.subgraph.num_nodes > 1
        tokens = torch.nonzero(ex.mention_nodes == 0).flatten().tolist()
        assert tokens, "the mention's tokens point at the seed"
        covered = tokenizer.decode(ex.input_ids[tokens]).replace(" ", "")
        assert covered.lower() == ms[0].text.lower()
        assert (ex.mention_nodes[: tokens[0]] == -1).all() and not ex.truncated


def test_unlinked_mentions_and_no_graph(world, tokenizer):
    kg, names = world
    feat = Featurizer(tokenizer, kg, max_length=16)
    ex = feat.prepare(["Nothing to see here."], [[Mention(0, 7, "Nothing", node=None)]])[0]
    assert ex.subgraph.num_nodes == 0 and (ex.mention_nodes == -1).all()
    plain = Featurizer(tokenizer, None, max_length=16).prepare(["Nothing here."])[0]
    assert plain.subgraph.num_nodes == 0 and plain.mentions == ()
    with pytest.raises(ConfigError, match="no linker"):
        feat.prepare(["needs linking"])


def test_truncation_warns_once_and_counts(world, tokenizer):
    kg, _ = world
    feat = Featurizer(tokenizer, None, max_length=8)
    long = "word " * 50
    with pytest.warns(UserWarning, match="2 of 3 texts are longer than 8 tokens"):
        examples = feat.prepare([long, "short.", long])
    assert [e.truncated for e in examples] == [True, False, True]
    assert all(e.input_ids.numel() <= 8 for e in examples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call stays quiet
        feat.prepare([long])
    assert feat.num_truncated == 3


def test_collator_pads_and_offsets_edges(world, tokenizer):
    kg, names = world
    texts, _, mentions = toy_corpus(kg, names, [0, 1, 2], templates=("{name} rose.",))
    texts.append("No entity at all in this longer sentence here.")
    mentions.append([])
    examples = Featurizer(tokenizer, kg, max_nodes=8).prepare(texts, mentions)
    dim = 4
    calls = []

    def features(nodes):
        calls.append(nodes.clone())
        return nodes.float()[:, None].repeat(1, dim)

    batch = Collator(tokenizer.pad_token_id, features, dim)([(10 + i, ex, {"label": i % 2}) for i, ex in enumerate(examples)])
    g = batch.graph
    n = max(ex.subgraph.num_nodes for ex in examples)
    assert batch.index.tolist() == [10, 11, 12, 13]
    assert batch.input_ids.shape == batch.attention_mask.shape == g.mention_nodes.shape
    assert g.node_features.shape == (4, n, dim) and g.node_mask.shape == (4, n)
    assert batch.labels["label"].tolist() == [0, 1, 0, 1]
    assert len(calls) == 1 and calls[0].unique().numel() == calls[0].numel()  # one lookup of unique nodes
    for r, ex in enumerate(examples):
        k = ex.subgraph.num_nodes
        assert g.node_mask[r].sum() == k and (g.node_ids[r, k:] == -1).all()
        assert torch.equal(g.node_features[r, :k, 0], ex.subgraph.nodes.float())
        assert (g.node_features[r, k:] == 0).all()
    # every edge stays inside its example's block of N positions
    assert ((g.edge_index[0] // n) == (g.edge_index[1] // n)).all()
    assert g.edge_index.shape[1] == sum(ex.subgraph.num_edges for ex in examples)
    assert not g.node_mask[3].any()  # the text without entity


def test_collator_without_any_node_and_without_graph(tokenizer):
    ex = Featurizer(tokenizer, None).prepare(["plain text"])
    batch = Collator(tokenizer.pad_token_id, lambda nodes: torch.zeros(len(nodes), 6), 6)([(0, ex[0], None)])
    assert batch.graph.node_features.shape == (1, 1, 6) and not batch.graph.node_mask.any()
    assert batch.labels is None
    assert Collator(tokenizer.pad_token_id)([(0, ex[0], None)]).graph is None


def test_shuffle_graphs_is_a_fixed_derangement(world, tokenizer):
    kg, names = world
    texts, _, mentions = toy_corpus(kg, names, range(6), templates=("{name} rose.",))
    examples = Featurizer(tokenizer, kg).prepare(texts, mentions)
    a, b = shuffle_graphs(examples, seed=3), shuffle_graphs(examples, seed=3)
    seeds = [ex.subgraph.nodes[0].item() for ex in examples]
    moved = [ex.subgraph.nodes[0].item() for ex in a]
    assert moved == [ex.subgraph.nodes[0].item() for ex in b]
    assert sorted(moved) == sorted(seeds) and all(m != s for m, s in zip(moved, seeds))
    assert all((ex.mention_nodes == -1).all() for ex in a)


# ---------------------------------------------------------------- module, optimiser, trainer
@pytest.fixture(scope="module")
def tiny_model(tiny_backbone):
    from kgattn.models import KGAugmentedConfig, KGAugmentedModel

    torch.manual_seed(0)
    return KGAugmentedModel(KGAugmentedConfig(tasks={"label": 2}, backbone=tiny_backbone, node_feature_dim=4,
                                              num_relations=2, gnn_dim=8))


def _module(model, **optim):
    from kgattn.training.module import KGClassifierModule, OptimConfig

    return KGClassifierModule(model, {"label": 2}, OptimConfig(**optim))


def test_param_groups_split_backbone_and_new_layers(tiny_model):
    import copy

    module = _module(copy.deepcopy(tiny_model), lr=1e-3, backbone_lr=2e-5, weight_decay=0.1)
    groups = module._param_groups()
    by_lr = {}
    for g in groups:
        by_lr.setdefault(g["lr"], []).extend(g["params"])
        assert g["weight_decay"] == (0.1 if all(p.ndim >= 2 for p in g["params"]) else 0.0)
    backbone = {id(p) for p in module.model.backbone_parameters()}
    assert {id(p) for p in by_lr[2e-5]} == backbone
    assert {id(p) for p in by_lr[1e-3]} == {id(p) for p in module.model.new_parameters()}
    frozen = _module(copy.deepcopy(tiny_model), backbone_lr=0.0)
    groups = frozen._param_groups()
    assert {g["lr"] for g in groups} == {1e-3}
    assert not any(p.requires_grad for p in frozen.model.backbone_parameters())
    # gate_lr: the scalar fusion gates get their own rate (and no weight decay); the rest keeps lr.
    gated = _module(copy.deepcopy(tiny_model), lr=1e-3, backbone_lr=2e-5, gate_lr=5e-2)
    by_lr = {}
    for g in gated._param_groups():
        by_lr.setdefault(g["lr"], []).extend(g["params"])
    gates = {id(p) for p in gated.model.gate_parameters()}
    assert len(gates) == 2 and {id(p) for p in by_lr[5e-2]} == gates
    assert {id(p) for p in by_lr[1e-3]} == {id(p) for p in gated.model.new_parameters()} - gates


@pytest.mark.parametrize("schedule", ["linear", "cosine", "constant"])
def test_warmup_then_decay(tiny_model, schedule):
    from types import SimpleNamespace

    module = _module(tiny_model, lr=1.0, backbone_lr=0.5, warmup_ratio=0.1, schedule=schedule)
    module.trainer = SimpleNamespace(estimated_stepping_batches=100)
    conf = module.configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    assert conf["lr_scheduler"]["interval"] == "step"
    lrs = []
    for _ in range(100):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    new = [row[-1] for row in lrs]
    assert new[0] == 0.0 and new[5] == pytest.approx(0.5) and new[10] == pytest.approx(1.0)
    assert all(row[0] == pytest.approx(row[-1] * 0.5) for row in lrs)  # backbone keeps its ratio
    if schedule == "constant":
        assert new[99] == pytest.approx(1.0)
    else:
        assert new[99] < 0.02 and all(a >= b for a, b in zip(new[10:], new[11:]))
        mid = new[55]  # linear: 0.5 half-way through decay; cosine: also 0.5 there
        assert mid == pytest.approx(0.5, abs=0.02)
    module.trainer = None


def test_optim_config_rejects_bad_values():
    from kgattn.training.module import OptimConfig
    from kgattn.training.config import TrainerConfig

    with pytest.raises(ConfigError, match="schedule"):
        OptimConfig(schedule="step")
    with pytest.raises(ConfigError, match="warmup_ratio"):
        OptimConfig(warmup_ratio=1.5)
    with pytest.raises(ConfigError, match="gate_lr"):
        OptimConfig(gate_lr=0.0)
    with pytest.raises(ConfigError, match="accumulate"):
        TrainerConfig(accumulate=0)
    with pytest.raises(ConfigError, match="patience"):
        TrainerConfig(patience=0)


def test_build_trainer_wires_options(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from kgattn.training.config import TrainerConfig
    from kgattn.training.trainer import build_trainer

    opts = TrainerConfig(max_epochs=2, grad_clip=0.5, accumulate=3, patience=2, precision="32",
                          accelerator="cpu", progress_bar=False)
    trainer, ckpt = build_trainer(opts, tmp_path, has_val=True)
    assert trainer.accumulate_grad_batches == 3 and trainer.gradient_clip_val == 0.5
    assert trainer.precision == "32-true" and trainer.max_epochs == 2
    assert isinstance(ckpt, ModelCheckpoint) and ckpt.monitor == "val/macro_f1" and ckpt.save_weights_only
    assert any(isinstance(c, EarlyStopping) and c.patience == 2 for c in trainer.callbacks)
    assert isinstance(trainer.loggers[0], CSVLogger)
    assert TrainerConfig(precision="bf16", accelerator="cpu").lightning_precision() == "bf16-mixed"
    with pytest.raises(ConfigError, match="needs validation data"):
        build_trainer(opts, tmp_path, has_val=False)


def test_training_step_logs_and_predict_step_shapes(tiny_model, tokenizer, world):
    """One manual step through the module's hooks (what Lightning calls), without a Trainer."""
    import copy

    kg, names = world
    texts, labels, mentions = toy_corpus(kg, names, [0, 1], templates=("{name} rose.", "Shares of {name}."))
    examples = Featurizer(tokenizer, kg, max_nodes=6).prepare(texts, mentions)
    collate = Collator(tokenizer.pad_token_id, lambda n: torch.randn(len(n), 4), 4)
    batch = collate([(i, ex, {"label": i % 2}) for i, ex in enumerate(examples)])
    module = _module(copy.deepcopy(tiny_model))
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, value)
    loss = module.training_step(batch, 0)
    loss.backward()
    assert torch.isfinite(loss) and {"train/loss", "train/task:label", "train/align"} <= set(logged)
    assert {"train/gate_0", "train/gate_1"} <= set(logged)
    module.eval()
    out = module.predict_step(batch, 0)
    assert out["index"].tolist() == [0, 1, 2, 3]
    assert out["probs/label"].shape == (4, 2) and torch.allclose(out["probs/label"].sum(1), torch.ones(4))
    n = batch.graph.max_nodes
    assert out["attention"].shape == (4, 2, 1 + n) and out["node_ids"].shape == (4, n)
    assert torch.allclose(out["attention"].sum(-1), torch.ones(4, 2), atol=1e-5)


def test_labels_accept_sized_iterables_but_not_sets():
    class Series:  # the parts of a pandas Series that matter here
        def __init__(self, values):
            self.values = values

        def __len__(self):
            return len(self.values)

        def __iter__(self):
            return iter(self.values)

    assert normalize_labels(Series(["a", "b"]), 2) == {"label": ["a", "b"]}
    assert normalize_labels({"t": Series([1, 2])}, 2) == {"t": [1, 2]}
    with pytest.raises(LabelError, match="not set"):
        normalize_labels({"a", "b"}, 2)


@pytest.mark.parametrize("task", ["type", "train", "a.b"])
def test_any_task_name_gets_validation_metrics(tiny_backbone, task):
    """Task names are the user's: one that is an nn.Module attribute or holds a dot still works."""
    from kgattn.models import KGAugmentedConfig, KGAugmentedModel
    from kgattn.training.module import KGClassifierModule

    model = KGAugmentedModel(KGAugmentedConfig(tasks={task: 3, "other": 2}, backbone=tiny_backbone,
                                               use_graph=False, gnn_dim=8))
    module = KGClassifierModule(model, {task: 3, "other": 2})
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    logits = {task: torch.tensor([[5.0, 0, 0], [0, 5.0, 0]]), "other": torch.tensor([[5.0, 0], [5.0, 0]])}
    labels = {task: torch.tensor([0, 2]), "other": torch.tensor([0, 1])}
    for name, metrics in zip(module.num_classes, module.val_metrics):
        metrics.update(logits[name], labels[name])
    module.on_validation_epoch_end()
    assert logged[f"val/{task}/accuracy"] == pytest.approx(0.5) and logged["val/other/accuracy"] == pytest.approx(0.5)


# ---------------------------------------------------------------- focus on a marked span
def test_focus_mentions_keeps_the_marked_span():
    from kgattn.linking.types import focus_mentions

    text = "Acme met [Bolt] and Corvo."
    ms = [Mention(0, 4, "Acme", node=1), Mention(10, 14, "Bolt", node=2), Mention(20, 25, "Corvo", node=3)]
    assert [m.node for m in focus_mentions(text, ms, ("[", "]"))] == [2]
    assert [m.node for m in focus_mentions(text, ms, None)] == [1, 2, 3]
    # without both marks every mention counts; multi-character marks work alike
    assert len(focus_mentions("Acme met Bolt.", ms[:1], ("[", "]"))) == 1
    assert len(focus_mentions("Acme met [Bolt.", ms[:1], ("[", "]"))) == 1
    tagged = "Acme met <e>Bolt</e> and Corvo."
    bolt = Mention(tagged.index("Bolt"), tagged.index("Bolt") + 4, "Bolt", node=2)
    assert focus_mentions(tagged, [ms[0], bolt], ("<e>", "</e>")) == (bolt,)
    assert focus_mentions("Acme met [] and Corvo.", ms[:1], ("[", "]")) == ()


def test_featurizer_focus_marks_seed_only_the_marked_entity(world, tokenizer):
    kg, names = world
    a, b = names[0], names[1]
    text = f"{a} met [{b}] today."
    ms = [Mention(0, len(a), a, node=kg.node_index("company_0")),
          Mention(text.index(b), text.index(b) + len(b), b, node=kg.node_index("company_1"))]
    unmarked = f"{a} met nobody today."
    plain, focused = (Featurizer(tokenizer, kg, hops=0, max_nodes=8, focus_marks=marks).prepare(
        [text, f"[Nobody] met {a}.", unmarked], [ms, [Mention(len("[Nobody] met "), len(f"[Nobody] met {a}"), a,
                                                            node=ms[0].node)], ms[:1]])
        for marks in (None, ("[", "]")))
    assert sorted(plain[0].subgraph.nodes.tolist()) == sorted([ms[0].node, ms[1].node])
    assert focused[0].subgraph.nodes.tolist() == [ms[1].node]
    assert focused[1].subgraph.num_nodes == 0          # the marked span links nothing: no graph
    assert focused[2].subgraph.nodes.tolist() == [ms[0].node]   # no marks: every mention
    assert focused[0].mentions == plain[0].mentions    # the links themselves are kept
    # the token of the unfocused mention points at no node (it is not in the subgraph)
    assert (focused[0].mention_nodes >= 0).sum() < (plain[0].mention_nodes >= 0).sum()


@pytest.mark.parametrize("marks", ["[]", ["["], ["[", ""], [1, 2]])
def test_focus_marks_must_be_two_strings(marks):
    from kgattn.preprocessing.config import FeatureConfig

    with pytest.raises(ConfigError, match="focus_marks"):
        FeatureConfig(focus_marks=marks)
    assert FeatureConfig(focus_marks=["[", "]"]).focus_marks == ("[", "]")
