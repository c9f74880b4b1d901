"""The ``evaluate`` stage: the with/without-graph study on the test (or val) split.

Writes ``evaluate/predictions/`` (one JSON per trained run, for resume), ``metrics.json``,
``report.md`` and ``report.html``. What each variant trains and how it is scored comes from the
registry in :mod:`kgattn.evaluation.variants`; this module only hands the study a way to train a
classifier with the spec's settings (:func:`kgattn.pipeline.stages.fit_classifier`).
"""
from __future__ import annotations

import time

from kgattn.errors import CorpusError
from kgattn.evaluation.variants import ClassifierHooks, get_variant, variant_names
from kgattn.linking.types import focus_mentions
from kgattn.pipeline.rundir import barrier, read_json
from kgattn.pipeline.stages import Context, fit_classifier, load_model, load_split


def explanation_dict(explanation, gold: dict | None = None, top_k: int = 8) -> dict:
    """An :class:`~kgattn.explain.Explanation` as the plain dict the report draws: nodes ranked
    by attention averaged over the fusion layers."""
    weights: dict[str, list[float]] = {}
    for layer in explanation.layers:
        for n in layer.top_nodes:
            weights.setdefault(n.label, []).append(n.weight)
    layers = max(len(explanation.layers), 1)
    nodes = sorted(({"label": k, "weight": sum(v) / layers} for k, v in weights.items()),
                    key=lambda n: -n["weight"])[:top_k]
    return {"text": explanation.text, "prediction": {t: str(v) for t, v in explanation.prediction.items()},
            "gold": gold or {},
            "entities": [{"text": m.text, "label": m.label} for m in explanation.mentions],
            "nodes": nodes,
            "layers": [{"layer": l.layer, "gate": l.gate, "null_weight": l.null_weight} for l in explanation.layers]}


def explain_candidates(study, test, seed: int) -> list[int]:
    """Test examples worth explaining, best first: those the full model gets right and the
    no-graph model wrong (where the graph made the difference), then by linked entities."""
    task = study.tasks[0]
    gold = test.labels[task]
    full = study.runs.get(f"full-seed{seed}", {}).get("predictions", {}).get(task)
    base = study.runs.get(f"no_graph-seed{seed}", {}).get("predictions", {}).get(task)

    def score(i: int) -> tuple:
        helped = full is not None and base is not None and full[i] == gold[i] != base[i]
        return (not helped, -sum(m.node is not None for m in test.mentions[i]), i)

    return sorted(range(len(test)), key=score)


def variant_options(ctx: Context) -> tuple[dict, dict]:
    """Per variant: the options its training reads (resolved) and those stored with its
    predictions (only the keys the spec sets, so older runs stay reusable)."""
    es = ctx.spec.evaluate
    resolved = {key: es.text_option(key) for key in es.TEXT_DEFAULTS}
    stored = es.text_settings()
    if ctx.spec.features.focus_marks is not None:   # the texts tell of the marked entity only, as the graph does
        resolved["focus_marks"] = ctx.spec.features.focus_marks
        stored["focus_marks"] = list(ctx.spec.features.focus_marks)   # as the stored JSON reads back
    # Every variant that rewrites its texts (knowledge as text, hybrid) reads the same settings.
    rewriting = [name for name in variant_names() if get_variant(name).augment is not None]
    return {name: resolved for name in rewriting}, {name: stored for name in rewriting}


def pseudonymized_splits(ctx: Context, splits):
    """The splits with their linked entity mentions renamed, one mapping over all of them
    (``evaluate.pseudonymize``), the rewritten graph, and the :class:`Pseudonymized` record."""
    from dataclasses import replace

    from kgattn.evaluation.pseudonymize import pseudonymize_corpus

    es = ctx.spec.evaluate
    texts = [t for split in splits for t in split.texts]
    mentions = [ms for split in splits for ms in split.mentions]
    pseudo = pseudonymize_corpus(texts, ctx.kg, mode=es.pseudonymize, seed=es.pseudonymize_seed or 0,
                                 mentions=mentions)
    out, start = [], 0
    for split in splits:
        end = start + len(split.texts)
        out.append(replace(split, texts=pseudo.texts[start:end], mentions=pseudo.mentions[start:end]))
        start = end
    ctx.log(f"pseudonymised ({es.pseudonymize}): {pseudo.stats['replaced_mentions']} mentions of "
            f"{pseudo.stats['replaced_nodes']} entities renamed")
    return out, pseudo.kg, pseudo


def evaluate_stage(ctx: Context) -> dict:
    # Imported here: scikit-learn, SciPy and matplotlib cost seconds, and every pipeline command
    # (``kgattn check`` first) imports this module.
    from kgattn.evaluation.ablations import Examples, run_study, summarize
    from kgattn.evaluation.report import write_report
    from kgattn.evaluation.slices import study_slices

    es = ctx.spec.evaluate
    folder = ctx.run.stage("evaluate")
    as_examples = lambda d: Examples(d.ids, d.texts, d.labels, d.mentions)  # noqa: E731
    train, val, test = (as_examples(load_split(ctx, s)) for s in ("train", "val", es.split))
    if len(test) == 0:
        raise CorpusError(f"the {es.split} split is empty: nothing to evaluate on")
    # Without a train stage (a pseudonymised evaluation needs none) the classes are train's sorted labels.
    classes = read_json(ctx.run.marker("train"))["classes"] if ctx.run.marker("train").is_file() else None
    main_model = None
    kg, pseudo = ctx.kg, None
    options, settings = variant_options(ctx)
    if es.pseudonymize:
        (train, val, test), kg, pseudo = pseudonymized_splits(ctx, (train, val, test))
        settings = {v: {**settings.get(v, {}), "pseudonymize": es.pseudonymize, "pseudonymize_seed": pseudo.seed}
                    for v in variant_names(selectable=False)}

    def reuse(variant: str, seed: int):
        nonlocal main_model
        if variant == "full" and seed == ctx.spec.train.seed and pseudo is None:  # trained on the plain texts
            main_model = main_model or load_model(ctx)
            return main_model
        return None

    hooks = ClassifierHooks(lambda data, vdata, **overrides: fit_classifier(ctx, data, vdata, kg=kg, **overrides),
                            kg=kg, options=options)
    start = time.perf_counter()
    study = run_study(hooks, train, val if len(val) else None, test, variants=es.variants,
                      seeds=es.seeds, train_sizes=es.train_sizes, curve_variants=es.curve_variants,
                      store=folder / "predictions", classes=classes, reuse=reuse,
                      settings=settings, progress=ctx.log)
    metrics = summarize(study, n_train=len(train), bootstrap=es.bootstrap, permutations=es.permutations,
                        confidence=es.confidence, seed=0)
    metrics["split"] = es.split
    if "knowledge_as_text" in es.variants:   # how far each model reached into the graph (the report compares)
        metrics["knowledge_reach"] = {"text_hops": es.text_option("text_hops"), "graph_hops": ctx.spec.features.hops}
    # With focus_marks the graph holds the marked span's nodes only, so "linked" means that span is linked.
    marks = ctx.spec.features.focus_marks
    focused = lambda d: [focus_mentions(t, ms, marks) for t, ms in zip(d.texts, d.mentions)]  # noqa: E731
    metrics["slices"] = study_slices(study, focused(train), focused(test))
    if marks is not None:
        metrics["slice_marks"] = list(marks)
    if pseudo is not None:
        metrics["pseudonymize"] = {"mode": pseudo.mode, "seed": pseudo.seed, **pseudo.stats,
                                   "leaked_surfaces": sum(pseudo.leaks().values())}
    examples = []
    if es.explain and ctx.rank == 0 and pseudo is None:  # the stage's model knows the plain texts only
        model = main_model or load_model(ctx)
        for i in explain_candidates(study, test, es.seeds[0])[:es.explain]:
            gold = {t: v[i] for t, v in test.labels.items()}
            examples.append(explanation_dict(model.explain(test.texts[i], mentions=test.mentions[i]), gold))
    metrics["run"] = {"run_dir": str(ctx.run.path), "config_hash": ctx.spec.config_hash,
                      "command": ctx.command, "backbone": ctx.spec.model.backbone,
                      "study_seconds": round(time.perf_counter() - start, 1)}
    if ctx.rank == 0:
        paths = write_report(metrics, folder, examples, title=f"kgattn evaluation: {ctx.spec.name}")
        ctx.log(f"report: {paths['html']}")
    barrier()
    return {"report": str(folder / "report.html"), "metrics": str(folder / "metrics.json")}
