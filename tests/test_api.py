"""KGClassifier: learning with the graph, prediction, explanation, persistence and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kgattn.api import KGClassifier
from kgattn.errors import BackboneError, ConfigError, FingerprintMismatchError, InputTextError, LabelError
from kgattn.explain import Explanation, PredictionBatch
from test_training_world import one_thread, SECTORS, toy_corpus, toy_graph

_threads = pytest.fixture(scope="module", autouse=True)(one_thread)

FAST = dict(batch_size=16, lr=3e-3, backbone_lr=1e-3, gnn_dim=32, warmup_ratio=0.0, progress_bar=False)


@pytest.fixture(scope="module")
def world():
    kg, names = toy_graph(40)
    train = toy_corpus(kg, names, range(30))
    test = toy_corpus(kg, names, range(30, 40))  # companies never seen in training
    return kg, names, train, test


@pytest.fixture(scope="module")
def fitted(world, tiny_backbone, tmp_path_factory):
    """The graph model and the no-graph baseline, same architecture and settings."""
    kg, _, train, test = world
    out = tmp_path_factory.mktemp("fit-logs")
    graph = KGClassifier(kg=kg, backbone=tiny_backbone, max_epochs=5, output_dir=str(out), **FAST)
    graph.fit(train[0], train[1], val=(test[0], test[1], test[2]), mentions=train[2])
    plain = KGClassifier(kg=kg, backbone=tiny_backbone, use_graph=False, max_epochs=5, **FAST)
    plain.fit(train[0], train[1])
    return graph, plain, out


def test_no_work_in_init():
    clf = KGClassifier(kg=None, backbone="/does/not/exist", gnn_dim=8, node_template="{nope}")
    assert clf.get_params()["gnn_dim"] == 8 and clf.backbone == "/does/not/exist"
    with pytest.raises(ConfigError, match="not fitted"):
        clf.predict(["text"])


def test_bad_node_template_is_named_at_fit(world, tiny_backbone):
    kg, _, train, _ = world
    clf = KGClassifier(kg=kg, backbone=tiny_backbone, node_template="{label} ({gloss})", **FAST)
    with pytest.raises(ConfigError, match=r"node_template.*unknown field\(s\): gloss"):
        clf.fit(train[0][:8], train[1][:8], mentions=train[2][:8])


def test_graph_beats_no_graph_on_unseen_companies(world, fitted):
    """The sector of an unseen company is only in the graph: text alone is at chance."""
    _, _, _, test = world
    graph, plain, _ = fitted
    with_graph = graph.evaluate(test[0], test[1], mentions=test[2])["label"]
    without = plain.evaluate(test[0], test[1])["label"]
    removed = graph.evaluate(test[0], test[1], use_graph=False)["label"]
    assert with_graph["accuracy"] >= 0.9, with_graph
    assert with_graph["accuracy"] >= without["accuracy"] + 0.25, (with_graph, without)
    assert removed["accuracy"] < with_graph["accuracy"]  # the model relies on its graph input
    assert with_graph["n"] == len(test[0]) and set(with_graph) >= {"accuracy", "macro_f1", "weighted_f1"}


def test_logs_every_loss_term_and_keeps_best_checkpoint(fitted):
    import csv

    graph, _, out = fitted
    rows = list(csv.DictReader(open(next(out.glob("logs/version_*/metrics.csv")))))
    columns = set(rows[0])
    assert {"train/loss", "train/task:label", "train/align", "val/loss", "val/label/accuracy",
            "val/label/macro_f1", "val/macro_f1"} <= columns
    assert any(c.startswith("train/gate_") for c in columns)
    # two learning rates (backbone, new layers), warmup 0 then linear decay
    lr_cols = sorted(c for c in columns if c.startswith("lr-AdamW"))
    assert len(lr_cols) == 4, lr_cols
    first = next(r for r in rows if r.get(lr_cols[0]))
    first = {c: float(first[c]) for c in lr_cols}
    assert sorted(set(first.values())) == pytest.approx(sorted({FAST["lr"], FAST["backbone_lr"]}), rel=0.2)
    ckpts = list(out.glob("checkpoints/best-*.ckpt"))
    assert len(ckpts) == 1 and graph.best_from_checkpoint_
    torch.load(ckpts[0], weights_only=True)  # tensors and plain data only


def test_early_stopping_on_validation_macro_f1(world, tiny_backbone, tmp_path):
    import csv

    kg, _, train, test = world
    # learning rates so small that validation macro-F1 cannot improve: patience 1 stops at epoch 2 of 6
    clf = KGClassifier(kg=kg, backbone=tiny_backbone, max_epochs=6, patience=1, output_dir=str(tmp_path),
                       **{**FAST, "lr": 1e-12, "backbone_lr": 0.0})
    clf.fit(train[0][:16], train[1][:16], val=(test[0][:8], test[1][:8], test[2][:8]), mentions=train[2][:16])
    rows = list(csv.DictReader(open(next(tmp_path.glob("logs/version_*/metrics.csv")))))
    val_epochs = sorted({int(r["epoch"]) for r in rows if r.get("val/macro_f1")})
    assert val_epochs == [0, 1]


def test_predict_outputs_and_streaming(world, fitted):
    kg, names, _, test = world
    graph, _, _ = fitted
    texts, mentions = test[0][:10], test[2][:10]
    proba = graph.predict_proba(texts, mentions=mentions)
    assert proba.shape == (10, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert graph.classes_ == {"label": list(SECTORS)}
    labels = graph.predict(texts, mentions=mentions)
    assert labels == [SECTORS[i] for i in proba.argmax(1)]
    # a generator, read in chunks of 4, batches of 16 -> every input once, in order
    batches = list(graph.predict_batches((t for t in texts), iter(mentions), chunk_size=4, top_k=3))
    assert all(isinstance(b, PredictionBatch) for b in batches)
    assert np.concatenate([b.index for b in batches]).tolist() == list(range(10))
    assert np.allclose(np.concatenate([b.probabilities["label"] for b in batches]), proba, atol=1e-5)
    top = batches[0].top_nodes[0]
    assert 1 <= len(top) <= 3 and top[0].weight >= top[-1].weight
    assert {n.label for n in top} <= {kg.label(i) for i in range(kg.num_nodes)}
    assert batches[0].mentions[0] == tuple(mentions[0])
    assert graph.predict([], mentions=[]) == [] and graph.predict_proba([]).shape == (0, 2)


def test_explain(world, fitted):
    kg, names, _, test = world
    graph, plain, _ = fitted
    text, mention = test[0][0], test[2][0]
    ex = graph.explain(text, mentions=mention, top_k=2)
    assert isinstance(ex, Explanation) and ex.text == text
    assert ex.mentions[0].node == mention[0].node and ex.mentions[0].label == kg.label(mention[0].node)
    assert [la.layer for la in ex.layers] == [0, 1]  # default fusion: the last two of 2 layers
    for la in ex.layers:
        assert la.gate is not None and -1 <= la.gate <= 1
        assert 0 <= la.null_weight <= 1 and len(la.top_nodes) == 2
        assert la.null_weight + sum(n.weight for n in la.top_nodes) <= 1 + 1e-5
    assert ex.prediction["label"] in SECTORS
    assert sum(ex.probabilities["label"].values()) == pytest.approx(1, abs=1e-5)
    json.dumps(ex.to_dict())
    assert plain.explain(text).layers == ()  # no graph, nothing attended


def test_save_load_round_trip_without_pickle(world, fitted, tmp_path):
    kg, names, _, test = world
    graph, _, _ = fitted
    directory = graph.save(tmp_path / "clf")
    suffixes = {p.suffix for p in directory.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors", ".txt"}, suffixes
    loaded = KGClassifier.load(directory, kg=kg)
    a = graph.predict_proba(test[0][:8], mentions=test[2][:8])
    b = loaded.predict_proba(test[0][:8], mentions=test[2][:8])
    assert np.allclose(a, b, atol=1e-6) and loaded.classes_ == graph.classes_
    # without the graph only graph-free inference works
    blind = KGClassifier.load(directory)
    with pytest.raises(ConfigError, match="needs the knowledge graph"):
        blind.predict(test[0][:2])
    assert np.allclose(blind.predict_proba(test[0][:4], use_graph=False),
                       graph.predict_proba(test[0][:4], use_graph=False), atol=1e-6)
    other, _ = toy_graph(12, seed=5)
    with pytest.raises(FingerprintMismatchError, match="fingerprint"):
        KGClassifier.load(directory, kg=other)


def test_save_load_keeps_the_linker_and_node_template(world, tiny_backbone, tmp_path):
    """Texts without pre-linked mentions are linked after loading exactly as before saving, and
    node features are encoded from the same node text."""
    from kgattn.linking import EntityLinker

    kg, _, train, test = world
    linker = EntityLinker(kg, disambiguate="prior", top_k=2, nil_threshold=0.05)
    clf = KGClassifier(kg=kg, linker=linker, backbone=tiny_backbone, max_epochs=1, node_template="{label}",
                       focus_marks=["[", "]"], **FAST)   # texts without marks: every mention seeds, as before
    clf.fit(train[0][:24], train[1][:24])
    directory = clf.save(tmp_path / "clf")
    assert (directory / "preprocessor" / "linker").is_dir()
    assert {p.suffix for p in directory.rglob("*") if p.is_file()} <= {".json", ".safetensors", ".txt"}
    loaded = KGClassifier.load(directory, kg=kg)
    assert loaded.linker is not None and loaded.linker.get_config() == linker.get_config()
    assert loaded.preprocessor_.node_features.template == clf.preprocessor_.node_features.template == "{label}"
    assert loaded.preprocessor_.features.focus_marks == clf.preprocessor_.features.focus_marks == ("[", "]")
    assert tuple(loaded.get_params()["focus_marks"]) == ("[", "]")
    assert np.allclose(loaded.predict_proba(test[0][:8]), clf.predict_proba(test[0][:8]), atol=1e-6)


def test_multitask_labels_and_determinism(world, tiny_backbone):
    kg, names, train, _ = world
    texts, mentions = train[0][:32], train[2][:32]
    labels = {"sector": train[1][:32], "template": [i % 4 for i in range(32)]}
    kwargs = dict(kg=kg, backbone=tiny_backbone, max_epochs=1, seed=7, **FAST)
    a = KGClassifier(**kwargs).fit(texts, labels, mentions=mentions)
    b = KGClassifier(**kwargs).fit(texts, labels, mentions=mentions)
    assert a.classes_ == {"sector": list(SECTORS), "template": [0, 1, 2, 3]}
    pa, pb = a.predict_proba(texts[:6], mentions=mentions[:6]), b.predict_proba(texts[:6], mentions=mentions[:6])
    assert set(pa) == {"sector", "template"} and pa["template"].shape == (6, 4)
    for task in pa:  # same seed, same data -> same model
        assert np.array_equal(pa[task], pb[task])
    assert set(a.predict(texts[:3], mentions=mentions[:3])) == {"sector", "template"}
    with pytest.raises(LabelError, match="unknown task 'nope'"):
        a.evaluate(texts[:2], {"nope": ["x", "y"]}, mentions=mentions[:2])


def test_shuffled_graph_control(world, tiny_backbone):
    kg, names, train, test = world
    # subgraph = {company, its sector}: each example should see another example's company
    clf = KGClassifier(kg=kg, backbone=tiny_backbone, max_epochs=1, shuffle_graph=True, max_nodes=2, hops=1, **FAST)
    clf.fit(train[0][:32], train[1][:32], mentions=train[2][:32])
    texts, mentions = test[0][::4][:6], test[2][::4][:6]  # six different companies
    batch = next(clf.predict_batches(texts, mentions, top_k=100))
    seeds = [m[0].node for m in mentions]
    seen = [[n.node for n in tops if n.label not in ("alpha sector", "beta sector")] for tops in batch.top_nodes]
    assert all(len(s) == 1 for s in seen)
    seen = [s[0] for s in seen]
    assert sorted(seen) == sorted(seeds) and all(a != b for a, b in zip(seen, seeds))
    assert batch.mentions == [tuple(m) for m in mentions]  # the text side is untouched
    again = next(clf.predict_batches(texts, mentions, top_k=100))  # fixed seed: same permutation
    assert [[n.node for n in t] for t in again.top_nodes] == [[n.node for n in t] for t in batch.top_nodes]


# ---------------------------------------------------------------- bad input
def test_bad_labels_and_texts(world, fitted, tiny_backbone):
    kg, names, train, test = world
    graph, _, _ = fitted
    clf = KGClassifier(kg=kg, backbone=tiny_backbone, **FAST)
    with pytest.raises(LabelError, match="3 labels for 2 texts"):
        clf.fit(["a b", "c d"], ["x", "y", "z"])
    with pytest.raises(LabelError, match="index 1: label 2.5 has type float"):
        clf.fit(["a b", "c d"], ["x", 2.5])
    with pytest.raises(InputTextError, match="index 1: text is empty"):
        clf.fit(["a b", ""], ["x", "y"])
    with pytest.raises(InputTextError, match="no texts"):
        clf.fit([], [])
    with pytest.raises(LabelError, match="index 1: label 'gamma' was not seen in training"):
        graph.evaluate(test[0][:2], ["alpha", "gamma"], mentions=test[2][:2])
    with pytest.raises(InputTextError, match="index 3: text is empty"):
        list(graph.predict_batches(["a", "b", "c", " "], chunk_size=2, use_graph=False))
    with pytest.raises(ConfigError, match="needs the knowledge graph"):
        KGClassifier(kg=None, backbone=tiny_backbone, **FAST).fit(["a b", "c d"], ["x", "y"])
    with pytest.raises(ConfigError, match="patience"):
        KGClassifier(kg=kg, backbone=tiny_backbone, patience=2, **FAST).fit(
            train[0][:8], train[1][:8], mentions=train[2][:8])


def test_bad_model_options(world, tiny_backbone):
    """Unknown names are refused at construction (scikit-learn's contract), bad values at the
    start of fit, before any linking."""
    kg, _, train, _ = world
    with pytest.raises(ConfigError, match="unknown parameter 'gnn_dimm'; did you mean 'gnn_dim'"):
        KGClassifier(kg=kg, backbone=tiny_backbone, gnn_dimm=8)
    with pytest.raises(ConfigError, match="unknown parameter 'num_relations' \\(it is set from the graph"):
        KGClassifier(kg=kg, backbone=tiny_backbone, num_relations=3)
    with pytest.raises(ConfigError, match="'gnn': must be one of"):
        KGClassifier(kg=kg, backbone=tiny_backbone, gnn="gcn").fit(train[0][:8], train[1][:8])


def test_bad_backbone_path(world):
    kg, _, train, _ = world
    with pytest.raises(BackboneError, match="does not exist"):
        KGClassifier(kg=kg, backbone="/no/such/backbone").fit(train[0][:8], train[1][:8], mentions=train[2][:8])


def test_long_texts_truncated_with_one_warning(world, fitted):
    _, _, _, test = world
    _, plain, _ = fitted
    long = "Shares rose sharply. " * 100
    with pytest.warns(UserWarning, match="truncated") as record:
        plain.predict([long, long])
        plain.predict([long])
    assert sum("truncated" in str(w.message) for w in record) == 1


def test_damaged_saved_classifier_names_the_file(fitted, tmp_path):
    from kgattn.errors import SavedFileError

    graph, plain, _ = fitted
    directory = plain.save(tmp_path / "plain")
    weights = directory / "model" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3])
    with pytest.raises(SavedFileError, match="model"):
        KGClassifier.load(directory)
    weights.write_bytes(b"")
    with pytest.raises(SavedFileError, match="model"):
        KGClassifier.load(directory)
    (directory / "classifier.json").write_text('{"kind": "kgattn.KGClassifier", "version": 2, "params": ')
    with pytest.raises(SavedFileError, match=r"classifier\.json:1"):
        KGClassifier.load(directory)
    (directory / "classifier.json").unlink()
    with pytest.raises(SavedFileError, match=r"classifier\.json.*not found"):
        KGClassifier.load(directory)


def test_blank_labels_and_zero_batch_size_are_refused(world, tiny_backbone):
    kg, _, train, _ = world
    with pytest.raises(LabelError, match="index 1: label is an empty string"):
        KGClassifier(kg=kg, backbone=tiny_backbone, **FAST).fit(train[0][:3], ["a", " ", "b"], mentions=train[2][:3])
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        KGClassifier(kg=kg, backbone=tiny_backbone, batch_size=0).fit(train[0][:3], train[1][:3])
