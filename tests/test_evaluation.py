"""Evaluation: metrics against hand-computed values, paired statistics, the study and the report."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from scipy.stats import binomtest

from kgattn.evaluation.ablations import Examples, run_study, summarize, training_size
from kgattn.evaluation.metrics import classification_metrics, mean_std
from kgattn.evaluation.report import render_markdown, write_report
from kgattn.evaluation.stats import mcnemar_exact, paired_bootstrap_ci, permutation_test


def test_classification_metrics_by_hand():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c"]
    m = classification_metrics(y_true, y_pred)
    assert m["n"] == 6 and m["accuracy"] == pytest.approx(4 / 6)
    # a: P=1, R=2/3; b: P=1/2, R=1/2; c: P=1/2, R=1
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]]}
    # A class never in the gold labels does not drag macro-F1 down; it still gets a row.
    m2 = classification_metrics(["a", "b"], ["a", "b"], labels=["a", "b", "z"])
    assert m2["macro_f1"] == 1.0 and m2["per_class"]["z"]["support"] == 0
    ms = mean_std([0.5, 0.7])
    assert ms["mean"] == pytest.approx(0.6) and ms["std"] == pytest.approx(np.sqrt(0.02))
    assert ms["n"] == 2 and ms["values"] == [0.5, 0.7]
    assert mean_std([0.4])["std"] == 0.0


def test_mcnemar_matches_binomial_and_edge_cases():
    a = np.array([1] * 10 + [0] * 2 + [1] * 5)
    b = np.array([0] * 10 + [1] * 2 + [1] * 5)
    res = mcnemar_exact(a, b)
    assert (res["only_a"], res["only_b"]) == (10, 2)
    assert res["p_value"] == pytest.approx(binomtest(10, 12, 0.5).pvalue)
    assert res["p_value"] == pytest.approx(2 * sum(__import__("math").comb(12, k) for k in range(3)) / 2**12)
    assert mcnemar_exact(a, a)["p_value"] == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([0.5], [1])


def test_bootstrap_ci_and_permutation_test():
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.8).astype(float)
    b = (rng.random(400) < 0.6).astype(float)
    ci = paired_bootstrap_ci(a, b, n_boot=2000, seed=1)
    assert ci["low"] < ci["diff"] < ci["high"] and ci["diff"] == pytest.approx((a - b).mean())
    assert 0 < ci["low"]          # a true 20-point difference on 400 examples is clearly positive
    # The interval width matches the normal approximation of the paired mean.
    se = (a - b).std(ddof=1) / np.sqrt(a.size)
    assert ci["high"] - ci["low"] == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert paired_bootstrap_ci(a, b, n_boot=500, seed=1) == paired_bootstrap_ci(a, b, n_boot=500, seed=1)
    assert permutation_test(a, b, n_perm=2000)["p_value"] == pytest.approx(1 / 2001)
    same = permutation_test(a, a, n_perm=500)
    assert same["p_value"] == 1.0 and same["diff"] == 0.0
    null = permutation_test(a, rng.permutation(a), n_perm=2000, seed=3)["p_value"]
    assert null > 0.01


class _Hooks:
    """A fake learner: 'full' is right on 90% of examples, the others on 60%, deterministically."""

    def __init__(self):
        self.trained = []

    def train(self, variant, seed, train, val):
        self.trained.append((variant, seed, len(train)))
        return {"variant": variant, "seed": seed, "n": len(train)}

    def predict(self, model, data, use_graph):
        rng = np.random.default_rng(model["seed"] * 100 + model["n"] + (7 if not use_graph else 0))
        good = 0.9 if model["variant"] == "full" and use_graph else 0.6
        ok = rng.random(len(data)) < good
        return {"t": [y if k else ("x" if y != "x" else "y") for y, k in zip(data.labels["t"], ok)]}


def _examples(n, prefix):
    labels = ["x", "y", "z"]
    return Examples([f"{prefix}{i}" for i in range(n)], [f"text {i}" for i in range(n)],
                    {"t": [labels[i % 3] for i in range(n)]})


def test_study_trains_each_variant_once_resumes_and_summarizes(tmp_path):
    hooks = _Hooks()
    train, test = _examples(60, "tr"), _examples(200, "te")
    kwargs = dict(variants=["full", "no_graph", "shuffled_graph", "graph_removed"], seeds=[0, 1],
                  train_sizes=[0.5, 60], store=tmp_path)
    study = run_study(hooks, train, None, test, **kwargs)
    # graph_removed is evaluated, not trained; size 60 is the full set and reuses the main runs.
    assert sorted(hooks.trained) == sorted(
        [(v, s, 60) for v in ("full", "no_graph", "shuffled_graph") for s in (0, 1)]
        + [(v, s, 30) for v in ("full", "no_graph") for s in (0, 1)])
    assert set(study.runs) >= {"graph_removed-seed0", "full-seed1-n30"}
    again = _Hooks()
    resumed = run_study(again, train, None, test, **kwargs)
    assert again.trained == [] and resumed.runs == study.runs          # everything came from the store
    assert set(study.runs["full-seed0"]["seconds"]) == {"train", "predict"}

    metrics = summarize(study, n_train=60, bootstrap=500, permutations=500)
    tm = metrics["tasks"]["t"]
    assert list(tm["variants"]) == ["full", "no_graph", "shuffled_graph", "graph_removed"]
    full = tm["variants"]["full"]
    assert full["accuracy"]["n"] == 2 and 0.8 < full["accuracy"]["mean"] < 0.97
    assert full["accuracy_ci"]["low"] <= full["accuracy"]["mean"] <= full["accuracy_ci"]["high"]
    paired = tm["paired"]["full_vs_no_graph"]
    assert paired["bootstrap"]["low"] > 0 and paired["permutation"]["p_value"] < 0.01
    assert set(paired["mcnemar_per_seed"]) == {"0", "1"}
    per_seed = [full["per_seed"][i]["accuracy"] - tm["variants"]["no_graph"]["per_seed"][i]["accuracy"] for i in (0, 1)]
    st = paired["seed_t_interval"]
    assert st["seeds"] == 2 and st["diff"] == pytest.approx(np.mean(per_seed))
    assert st["low"] < st["diff"] < st["high"]
    assert set(tm["learning_curve"]) == {"full", "no_graph"}
    assert list(tm["learning_curve"]["full"]) == ["30", "60"]
    assert training_size(0.5, 61) == 30 and training_size(1000, 60) == 60 and training_size(5, 60) == 5


def test_graph_features_removed_control(tmp_path):
    """With graph_removed listed, the graph-features model is also scored with its bag emptied,
    from the same trained model (not a second training)."""
    hooks = _Hooks()
    study = run_study(hooks, _examples(30, "tr"), None, _examples(90, "te"),
                      variants=["full", "graph_removed", "graph_features"], seeds=[0], store=tmp_path)
    assert sorted(hooks.trained) == [("full", 0, 30), ("graph_features", 0, 30)]
    run = study.runs["graph_features_removed-seed0"]
    assert run["variant"] == "graph_features_removed"
    assert run["predictions"] == hooks.predict({"variant": "graph_features", "seed": 0, "n": 30},
                                               _examples(90, "te"), use_graph=False)
    assert (tmp_path / "graph_features_removed-seed0.json").is_file()
    tm = summarize(study, n_train=30, bootstrap=100, permutations=100)["tasks"]["t"]
    assert list(tm["variants"]) == ["full", "graph_removed", "graph_features", "graph_features_removed"]
    without = run_study(_Hooks(), _examples(30, "tr"), None, _examples(90, "te"),
                        variants=["full", "graph_features"], seeds=[0])
    assert "graph_features_removed-seed0" not in without.runs


def test_seed_t_interval():
    from kgattn.evaluation.stats import seed_t_interval

    st = seed_t_interval([0.01, 0.02, 0.03])
    # mean 0.02, sd 0.01, t(2, 0.975) = 4.303: half-width 0.01 * 4.303 / sqrt(3)
    assert st["diff"] == pytest.approx(0.02) and st["high"] - st["diff"] == pytest.approx(0.024841, abs=1e-5)
    assert seed_t_interval([0.05])["low"] is None
    with pytest.raises(ValueError, match="non-empty"):
        seed_t_interval([])


def test_report_files_with_embedded_figures(tmp_path):
    study = run_study(_Hooks(), _examples(30, "tr"), None, _examples(90, "te"),
                      variants=["full", "no_graph", "graph_removed"], seeds=[0], train_sizes=[0.5])
    metrics = summarize(study, n_train=30, bootstrap=200, permutations=200)
    metrics["split"] = "test"
    example = {"text": "Kelbrook shares fell.", "prediction": {"t": "x"}, "gold": {"t": "x"},
               "entities": [{"text": "Kelbrook", "label": "Kelbrook Group"}],
               "nodes": [{"label": "Kelbrook Group", "weight": 0.6}, {"label": "mining", "weight": 0.3}]}
    paths = write_report(metrics, tmp_path, [example], title="unit")
    md = paths["markdown"].read_text()
    assert "full − no-graph accuracy" in md and "| full − no_graph |" in md
    assert "Kelbrook" in md and "figures/attention-0.png" in md
    html = paths["html"].read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 4          # accuracy bars, learning curve, confusion matrix, attention
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert "<table>" in html and "figures/" not in html
    saved = json.loads(paths["metrics"].read_text())
    assert saved["tasks"]["t"]["paired"]["full_vs_no_graph"]["bootstrap"]["n"] == 90
    assert saved["examples"][0]["nodes"][0]["label"] == "Kelbrook Group"
    # The report can be redrawn from the JSON alone (whose keys come back sorted as strings).
    again, figures = render_markdown(saved, saved["examples"], "unit")
    assert again.rstrip("\n") == md.rstrip("\n") and len(figures) == 4
    assert "| variant | 15 | 30 |" in md
    assert not list(tmp_path.rglob(".*.tmp-*"))
    assert (tmp_path / "figures" / "confusion-t.png").stat().st_size > 1000


class _AccuracyHooks(_Hooks):
    """A fake learner whose accuracy per variant is given (same draws for every variant)."""

    def __init__(self, accuracy):
        super().__init__()
        self.accuracy = accuracy

    def predict(self, model, data, use_graph):
        ok = np.random.default_rng(model["seed"]).random(len(data)) < self.accuracy[model["variant"]]
        return {"t": [y if k else ("x" if y != "x" else "y") for y, k in zip(data.labels["t"], ok)]}


@pytest.mark.parametrize("kat, verdict", [
    (0.9, "the fusion did no better than knowledge as text"),
    (0.6, "the fusion beat every simpler use of the graph that was run"),
    (0.97, "knowledge as text did better than the fusion: use it instead"),
])
def test_report_summary_says_whether_the_fusion_beats_the_simpler_uses_of_the_graph(kat, verdict):
    hooks = _AccuracyHooks({"full": 0.9, "no_graph": 0.5, "knowledge_as_text": kat, "graph_features": 0.6})
    study = run_study(hooks, _examples(30, "tr"), None, _examples(600, "te"),
                      variants=["full", "no_graph", "knowledge_as_text", "graph_features"], seeds=[0])
    md, _ = render_markdown(summarize(study, n_train=30, bootstrap=300, permutations=100), [], "unit")
    summary = md.split("## Summary")[1].split("##")[0]
    assert "the graph helps" in summary and verdict in summary
    assert "graph features only" in summary and "knowledge as text" in summary
    assert "hop(s)" not in summary   # the reach of each is unknown here: no advice about it
    # Knowledge as text that wrote out fewer hops than the fused model read: the summary says so.
    metrics = {**summarize(study, n_train=30, bootstrap=300, permutations=100),
               "knowledge_reach": {"text_hops": 1, "graph_hops": 2}}
    md, _ = render_markdown(metrics, [], "unit")
    assert "wrote out 1 hop(s) of the graph where the fused model read 2: set `evaluate.text_hops: 2`" in md
    metrics["knowledge_reach"] = {"text_hops": 2, "graph_hops": 2}
    assert "hop(s)" not in render_markdown(metrics, [], "unit")[0]
    metrics["knowledge_reach"] = {"text_hops": 1, "graph_hops": 5}   # advice within what a spec accepts
    assert "set `evaluate.text_hops: 3`" in render_markdown(metrics, [], "unit")[0]
    # Without a knowledge baseline the summary says nothing about the fusion's cost.
    plain = run_study(hooks, _examples(30, "tr"), None, _examples(600, "te"), variants=["full", "no_graph"], seeds=[0])
    md, _ = render_markdown(summarize(plain, n_train=30, bootstrap=300, permutations=100), [], "unit")
    assert "simpler uses" not in md and "the graph helps" in md
