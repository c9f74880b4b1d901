"""``pretrain(spec)``: graph -> linked corpus -> masked batches -> Lightning -> pretrained directory.

The output directory (``spec.output_dir``) holds::

    link/           linked shards (resumable; reused while corpus, graph and linker are unchanged)
    checkpoints/    last.ckpt, the resumable Lightning checkpoint (every ``checkpoint_every`` steps)
    logs/           CSVLogger metrics (every loss term, MLM accuracy, gates, learning rates)
    pretrained/     the result (see :mod:`kgattn.pretraining.saving`)
    state.json      the training key of the run (settings that shape the weights)
    summary.json    tokens/s and the first/last value of each loss

A killed run resumes from ``checkpoints/last.ckpt`` when given the same spec again; raising
``max_steps``/``max_epochs`` trains a finished run further. Other changed settings are refused
unless ``force`` (which starts over, keeping the linked shards when they still apply).
"""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgattn.errors import ConfigError, CorpusError
from kgattn.persistence import read_json, remove_path, write_json
from kgattn.pretraining.corpus import LinkedCorpus, dist_info, iter_text_shards
from kgattn.pretraining.spec import PretrainSpec

LOSS_TERMS = ("loss", "mlm", "link", "align", "mlm_accuracy", "mlm_entity_accuracy")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PretrainResult:
    """The pretrained directory and what the run measured (this session's steps and tokens/s)."""

    directory: Path
    global_step: int
    tokens_per_second: float | None
    summary: dict[str, Any]


def load_graph(spec: PretrainSpec):
    """The graph of the ``kg`` section, imported as the pipeline imports it."""
    from kgattn.specs.graph import import_graph

    return import_graph(spec.kg)


def make_linker(spec: PretrainSpec, kg):
    from kgattn.linking import EntityLinker

    ls = spec.linker
    given = {k: v for k, v in (("top_k", ls.top_k), ("nil_threshold", ls.nil_threshold), ("context", ls.context))
             if v is not None}
    return EntityLinker(kg, nlp=ls.spacy_model, disambiguate=ls.disambiguate,
                        backbone=ls.backbone or spec.pretrain.backbone, rules=ls.rules.model_dump(), **given)


class _LazyLinker:
    """Builds the linker only when a shard needs linking (a resumed run may need none)."""

    def __init__(self, factory):
        self.factory, self.linker = factory, None

    def link_batch(self, texts, **kwargs):
        if self.linker is None:
            self.linker = self.factory()
        return self.linker.link_batch(texts, **kwargs)


def linked_corpus(spec: PretrainSpec, kg, rank: int = 0, world: int = 1):
    """``(texts, mentions)`` of the corpus, linked in shards under ``output_dir/link``."""
    cs = spec.corpus
    shards = iter_text_shards(cs.paths, cs.text_column, cs.format, cs.shard_rows, cs.max_rows)
    store = LinkedCorpus(spec.output_dir / "link", f"{spec.link_key()}-{kg.fingerprint[:16]}")
    texts, mentions = store.link(shards, _LazyLinker(lambda: make_linker(spec, kg)),
                                 batch_size=spec.linker.batch_size, n_process=spec.linker.n_process,
                                 rank=rank, world=world, log=_log if rank == 0 else None)
    where = ", ".join(str(p) for p in cs.paths)
    if not texts:
        raise CorpusError(f"the corpus has no text (column '{cs.text_column}' is empty in every row)", where)
    linked = sum(any(m.node is not None for m in ms) for ms in mentions)
    if linked == 0:
        raise CorpusError(f"no text of the corpus ({len(texts)} texts) has a mention linked to the graph: "
                          "pretraining with the graph needs linked entities; check the graph (labels, aliases) "
                          "and the linker settings", where)
    return texts, mentions


def _prepare_output(spec: PretrainSpec, force: bool, rank: int) -> Path:
    out = spec.output_dir
    state_path = out / "state.json"
    key = spec.training_key()
    if rank == 0:
        if force:
            for name in ("checkpoints", "logs", "pretrained", "summary.json", "state.json"):
                remove_path(out / name)   # our own outputs; the linked shards are reused when valid
        elif state_path.is_file() and read_json(state_path, "pretraining state").get("key") != key:
            raise ConfigError(f"{out} holds a pretraining with other settings (training key "
                              f"{read_json(state_path).get('key')} != {key}); give another pretrain.output_dir, "
                              "or --force to start over")
        write_json(state_path, {"key": key, "name": spec.name})
    return out


def _finished(spec: PretrainSpec) -> bool:
    manifest = spec.output_dir / "pretrained" / "manifest.json"
    if not manifest.is_file():
        return False
    data = read_json(manifest, "pretrained manifest")
    p = spec.pretrain
    return data.get("training_key") == spec.training_key() and data.get("target") == [p.max_epochs, p.max_steps]


def loss_curves(log_dir: Path) -> dict[str, dict[str, float]]:
    """First and last logged value (and the number of rows) of every loss term in the CSV logs."""
    files = sorted(log_dir.glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1]))
    series: dict[str, list[tuple[int, float]]] = {}
    for path in files:
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                for term in LOSS_TERMS:
                    value = row.get(f"train/{term}")
                    if value:
                        series.setdefault(term, []).append((int(row.get("step") or 0), float(value)))
    return {term: {"first": vals[0][1], "last": vals[-1][1], "first_step": vals[0][0], "last_step": vals[-1][0],
                   "points": len(vals)} for term, vals in series.items()}


def pretrain(spec: PretrainSpec, force: bool = False, log=_log) -> PretrainResult:
    """Run (or resume) the pretraining of ``spec``; returns the pretrained directory."""
    import lightning as L  # noqa: F401  (fail early if the training stack is missing)
    from transformers import AutoTokenizer

    from kgattn.backbone import resolve_backbone
    from kgattn.pretraining.build import build_model, build_trainer, node_features, trainer_options
    from kgattn.pretraining.module import KGPretrainModule, MaskingCollator
    from kgattn.pretraining.saving import save_pretrained
    from kgattn.pretraining.data import PretrainDataModule
    from kgattn.training.collate import Collator, Featurizer
    from kgattn.schemas import build
    from kgattn.training.trainer import seed_everything

    p = spec.pretrain
    rank, world = dist_info()
    options = trainer_options(p, world)   # validates precision/devices before any heavy work
    optim = build("optim", p.model_dump())   # gate_lr included, as for a classifier
    out = _prepare_output(spec, force, rank)
    final = out / "pretrained"
    if _finished(spec):
        log(f"{final} is already pretrained with these settings (--force to start over)")
        summary = read_json(out / "summary.json") if (out / "summary.json").is_file() else {}
        return PretrainResult(final, int(summary.get("global_step", 0)), summary.get("tokens_per_second"), summary)

    kg = load_graph(spec)
    texts, mentions = linked_corpus(spec, kg, rank, world)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(p.backbone))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"pretrain.backbone: cannot load the tokenizer of {p.backbone!r}: {exc}") from None
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"pretrain.backbone: the tokenizer of {p.backbone!r} has no mask token; MLM needs one")
    featurizer = Featurizer(tokenizer, kg, None, hops=p.hops, max_nodes=p.max_nodes, max_length=p.max_length)
    examples = featurizer.prepare(texts, mentions)
    feats = node_features(spec, kg, examples)
    seed_everything(options)  # before the model, so its initialisation is seeded
    model, head = build_model(spec, kg, feats.dim)
    weights = p.objectives.model_dump() if p.use_graph else {"mlm": p.objectives.mlm}
    module = KGPretrainModule(model, head, weights, optim, use_graph=p.use_graph, link_hide_rate=p.link_hide_rate)
    pad = tokenizer.pad_token_id or 0
    collator = MaskingCollator(Collator(pad, feats, feats.dim) if p.use_graph else Collator(pad),
                               tokenizer.all_special_ids, tokenizer.mask_token_id,
                               min(len(tokenizer), model.backbone.config.vocab_size),
                               rate=p.mask_rate, entity_rate=p.entity_mask_rate)
    data = PretrainDataModule(examples, collator, p.batch_size, seed=p.seed, rank=rank, world=world)
    module.train()  # from_pretrained leaves the backbone in eval mode, and Lightning keeps submodule modes
    trainer = build_trainer(options, out, p.checkpoint_every)
    last = out / "checkpoints" / "last.ckpt"
    resume = last if last.is_file() else None
    if resume is not None:
        log(f"resuming from {resume}")
    trainer.fit(module, datamodule=data, ckpt_path=str(resume) if resume else None)
    if trainer.interrupted:
        raise KeyboardInterrupt
    tokens_per_s = (module.session_tokens * world / module.session_seconds) if module.session_seconds > 0 else None
    summary = {"global_step": int(trainer.global_step), "tokens_seen": module.tokens_seen * world,
               "session_tokens": module.session_tokens * world, "session_seconds": module.session_seconds,
               "tokens_per_second": tokens_per_s, "texts": len(texts),
               "texts_with_entity": sum(any(m.node is not None for m in ms) for ms in mentions),
               "device": str(next(model.parameters()).device), "world_size": world,
               "losses": loss_curves(out / "logs") if rank == 0 else {}}
    if rank == 0:
        save_pretrained(final, model, head, kg_fingerprint=kg.fingerprint, tokenizer=tokenizer,
                        training_key=spec.training_key(), target=[p.max_epochs, p.max_steps],
                        objectives=weights, mask_rate=p.mask_rate, entity_mask_rate=p.entity_mask_rate,
                        link_hide_rate=p.link_hide_rate, node_template=p.node_template, hops=p.hops,
                        max_nodes=p.max_nodes, max_length=p.max_length, global_step=int(trainer.global_step),
                        tokens_seen=summary["tokens_seen"], texts=len(texts), spec_name=spec.name)
        write_json(out / "summary.json", summary)
    return PretrainResult(final, int(trainer.global_step), tokens_per_s, summary)
