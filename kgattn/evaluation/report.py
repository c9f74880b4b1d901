"""Evaluation reports: ``metrics.json``, ``report.md`` (figures beside it) and a self-contained
``report.html`` (figures embedded as base64 PNG), all written atomically.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from kgattn.evaluation import plots
from kgattn.evaluation.variants import knowledge_baselines, ordered_variants, variant_title
from kgattn.graph.verbalize import MAX_HOPS
from kgattn.persistence import atomic_path, write_json


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def _md_escape(text: str) -> str:
    return re.sub(r"([|*_`\[\]<>])", r"\\\1", str(text))


def _side_of_zero(interval: dict) -> int:
    """+1 when the paired interval lies above 0, -1 below, 0 when it spans 0."""
    return 1 if interval["low"] > 0 else -1 if interval["high"] < 0 else 0


def _headline(task: str, tm: dict, reach: dict | None = None) -> str | None:
    paired = tm["paired"].get("full_vs_no_graph")
    if paired is None:
        return None
    b, perm = paired["bootstrap"], paired["permutation"]
    diff, lo, hi = _pct(b["diff"]), _pct(b["low"]), _pct(b["high"])
    verdict = {1: "the graph helps", -1: "the graph hurts", 0: "no difference can be claimed"}[_side_of_zero(b)]
    return (f"**{task}**: full − no-graph accuracy = {diff} points "
            f"({b['confidence']:.0%} CI [{lo}, {hi}], permutation p = {_p(perm['p_value'])}, "
            f"n = {b['n']}): {verdict}." + _fusion_verdict(tm, reach))


def _fusion_verdict(tm: dict, reach: dict | None = None) -> str:
    """Whether the fusion is worth its cost: the full model against each simpler use of the same
    graph that was run (knowledge as text, graph features), by the same paired interval.

    ``reach``: ``{"text_hops", "graph_hops"}``, how far from the linked nodes knowledge as text
    wrote the graph out and how far the fused model's subgraph reached; when the text reached
    less, the verdict says so (the fused model's lead may be only that, session 13 of
    ``benchmarks/RESULTS.md``: on the quickstart 2 hops of text beat the fusion)."""
    rows = [(variant_title(name).split(" (")[0], tm["paired"][f"full_vs_{name}"]["bootstrap"])
            for name in knowledge_baselines() if f"full_vs_{name}" in tm["paired"]]
    if not rows:
        return ""
    diffs = "; ".join(f"{title} {100 * b['diff']:+.1f} [{_pct(b['low'])}, {_pct(b['high'])}]" for title, b in rows)
    better = [title for title, b in rows if _side_of_zero(b) < 0]
    tied = [title for title, b in rows if _side_of_zero(b) == 0]
    if better:
        verdict = f"{' and '.join(better)} did better than the fusion: use it instead"
    elif tied:
        verdict = (f"the fusion did no better than {' or '.join(tied)}: here the simpler model "
                   "suffices")
    else:
        verdict = "the fusion beat every simpler use of the graph that was run"
    note = ""
    like_for_like = min(reach["graph_hops"], MAX_HOPS) if reach else 0   # the most hops a spec may ask for
    if "full_vs_knowledge_as_text" in tm["paired"] and reach and reach["text_hops"] < like_for_like:
        note = (f" Knowledge as text wrote out {reach['text_hops']} hop(s) of the graph where the fused model "
                f"read {reach['graph_hops']}: set `evaluate.text_hops: {like_for_like}` to compare like with like.")
    return f" Full − simpler uses of the graph: {diffs}: {verdict}.{note}"


def _slice_lines(slices: dict | None, marks: list[str] | None = None) -> list[str]:
    """Accuracy per slice (linked entity or none, seen in training or not) and variant; ``marks``:
    the ``focus_marks`` whose span alone counts."""
    if not slices:
        return []
    names = [n for n in ("all", "linked", "unlinked", "seen", "unseen") if n in slices]
    variants = ordered_variants(slices[names[0]])
    where = f" inside the marked span ({marks[0]} … {marks[1]})" if marks else ""
    lines = ["Accuracy by slice (mean over seeds; n = test examples): *linked* examples have at least one "
             f"linked entity{where}, *seen*/*unseen* split them by whether that entity is linked in a training example.",
             "", "| slice | n | " + " | ".join(variants) + " |", "|---|---|" + "---|" * len(variants)]
    for name in names:
        row = slices[name]
        n = row[variants[0]]["n"]
        lines.append(f"| {name} | {n} | " + " | ".join(
            _pct(row[v]["accuracy"]) if row[v]["accuracy"] is not None else "–" for v in variants) + " |")
    return lines + [""]


def render_markdown(metrics: dict, examples: list[dict], title: str) -> tuple[str, dict[str, bytes]]:
    """The report as Markdown plus its figures ``{relative path: PNG bytes}``."""
    figures: dict[str, bytes] = {}
    lines = [f"# {title}", ""]
    info = metrics.get("run", {})
    facts = [f"evaluation split: **{metrics.get('split', 'test')}** ({metrics['n_eval']} examples)",
             f"training examples: {metrics['n_train']}",
             f"seeds: {', '.join(map(str, metrics['seeds']))}"]
    facts += [f"{k}: `{v}`" for k, v in info.items() if v is not None]
    pseudo = metrics.get("pseudonymize")
    if pseudo:
        facts.append(f"**pseudonymised** ({pseudo['mode']}, seed {pseudo['seed']}): {pseudo['replaced_mentions']} "
                     f"linked entity mentions of {pseudo['replaced_nodes']} entities renamed in every split; "
                     f"{pseudo['leaked_surfaces']} original names still written (unlinked occurrences)")
    lines += [f"- {f}" for f in facts] + [""]
    heads = [h for t, tm in metrics["tasks"].items() if (h := _headline(t, tm, metrics.get("knowledge_reach")))]
    if heads:
        lines += ["## Summary", ""] + [f"- {h}" for h in heads] + [""]
    for task, tm in metrics["tasks"].items():
        lines += [f"## Task `{task}` ({len(tm['classes'])} classes)", ""]
        lines += ["| variant | accuracy (mean ± std over seeds) | 95% interval | macro-F1 (mean ± std) |",
                  "|---|---|---|---|"]
        for v in ordered_variants(tm["variants"]):
            vm = tm["variants"][v]
            acc, ci, f1 = vm["accuracy"], vm["accuracy_ci"], vm["macro_f1"]
            lines.append(f"| {vm['title']} | {_pct(acc['mean'])} ± {_pct(acc['std'])} | "
                         f"[{_pct(ci['low'])}, {_pct(ci['high'])}] | {_pct(f1['mean'])} ± {_pct(f1['std'])} |")
        lines.append("")
        name = f"figures/accuracy-{task}.png"
        figures[name] = plots.accuracy_bars(tm, task)
        lines += [f"![accuracy per variant, task {task}]({name})", ""]
        if tm["paired"]:
            lines += ["Paired differences in per-example correctness (seeds averaged per example):", "",
                      "| comparison | difference (points) | bootstrap interval | permutation p | McNemar p per seed "
                      "| t-interval over seeds |",
                      "|---|---|---|---|---|---|"]
            for pm in sorted(tm["paired"].values(), key=lambda pm: ordered_variants(tm["variants"]).index(pm["b"])):
                b = pm["bootstrap"]
                mcn = ", ".join(f"{s}: {_p(m['p_value'])}" for s, m in pm["mcnemar_per_seed"].items())
                st = pm.get("seed_t_interval")   # absent in metrics written before it existed
                seeds = ("–" if st is None else "– (one seed)" if st["low"] is None
                         else f"[{_pct(st['low'])}, {_pct(st['high'])}]")
                lines.append(f"| {pm['a']} − {pm['b']} | {_pct(b['diff'])} | "
                             f"[{_pct(b['low'])}, {_pct(b['high'])}] | {_p(pm['permutation']['p_value'])} | {mcn} "
                             f"| {seeds} |")
            lines += ["", "The bootstrap and permutation test resample test examples with the seeds "
                      "averaged; the t-interval is over the per-seed differences, i.e. how much the "
                      "comparison moves from one training run to the next.", ""]
        if tm.get("learning_curve"):
            name = f"figures/learning-{task}.png"
            figures[name] = plots.learning_curves(tm, task)
            sizes = sorted({int(n) for points in tm["learning_curve"].values() for n in points})
            lines += ["Learning curves (accuracy, mean over seeds, by training examples):", "",
                      "| variant | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
            for v in ordered_variants(tm["learning_curve"]):
                points = tm["learning_curve"][v]
                lines.append(f"| {v} | " + " | ".join(
                    _pct(points[str(n)]["mean"]) if str(n) in points else "–" for n in sizes) + " |")
            lines += ["", f"![learning curves, task {task}]({name})", ""]
        lines += _slice_lines(metrics.get("slices", {}).get(task), metrics.get("slice_marks"))
        full = tm["variants"].get("full")
        if full:
            lines += ["Per-class results of the full model (mean over seeds):", "",
                      "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for c, pc in full["per_class"].items():
                lines.append(f"| {_md_escape(c)} | {_pct(pc['precision'])} | {_pct(pc['recall'])} | "
                             f"{_pct(pc['f1'])} | {pc['support']} |")
            lines.append("")
            first = full["per_seed"][0]
            name = f"figures/confusion-{task}.png"
            figures[name] = plots.confusion(first["confusion"]["labels"], first["confusion"]["matrix"],
                                            f"{task}: full model, seed {first['seed']}")
            lines += [f"![confusion matrix, task {task}]({name})", ""]
    timing = {k: v for k, v in metrics.get("seconds", {}).items() if v}
    if timing:
        lines += ["## Time per run", "", "| run | training s | prediction s |", "|---|---|---|"]
        lines += [f"| {name} | {t.get('train', '–')} | {t.get('predict', '–')} |" for name, t in sorted(timing.items())]
        lines.append("")
    if examples:
        lines += ["## What the model attends to", ""]
        for i, ex in enumerate(examples):
            lines += [f"> {_md_escape(ex.get('text', ''))}", ""]
            if ex.get("prediction"):
                pred = ", ".join(f"{t}: **{_md_escape(v)}**" for t, v in ex["prediction"].items())
                gold = ex.get("gold") or {}
                lines.append(f"- prediction: {pred}" + (
                    " (gold: " + ", ".join(f"{t}: {_md_escape(v)}" for t, v in gold.items()) + ")" if gold else ""))
            if ex.get("entities"):
                ents = "; ".join(f"{_md_escape(e.get('text'))} → {_md_escape(e.get('label') or 'NIL')}"
                                 for e in ex["entities"])
                lines.append(f"- linked entities: {ents}")
            lines.append("")
            name = f"figures/attention-{i}.png"
            figures[name] = plots.attention_example(ex)
            lines += [f"![attended nodes, example {i + 1}]({name})", ""]
    return "\n".join(lines), figures


_CSS = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}img{max-width:100%}blockquote{color:#444;border-left:3px solid #ccc;margin-left:0;padding-left:1em}
code{background:#f3f3f3;padding:0 .2em}"""


def render_html(markdown: str, figures: dict[str, bytes], title: str) -> str:
    """The Markdown as one self-contained HTML page (figures inlined as data URIs)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    for name, png in figures.items():
        uri = "data:image/png;base64," + base64.b64encode(png).decode()
        body = body.replace(f'src="{html.escape(name)}"', f'src="{uri}"')
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}</body></html>\n")


def write_report(metrics: dict, out_dir: str | Path, examples: list[dict] | None = None,
                 title: str = "kgattn evaluation") -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` + ``figures/``, ``report.html`` into ``out_dir``.

    ``metrics.json`` is written last: its presence means the report is complete.
    """
    out = Path(out_dir)
    markdown, figures = render_markdown(metrics, examples or [], title)
    for name, png in figures.items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(png)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(markdown + "\n", encoding="utf-8")
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(render_html(markdown, figures, title), encoding="utf-8")
    payload: dict[str, Any] = dict(metrics)
    payload["examples"] = examples or []
    write_json(out / "metrics.json", payload)
    return {"metrics": out / "metrics.json", "markdown": out / "report.md", "html": out / "report.html"}
