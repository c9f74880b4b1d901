"""The pretrained directory, and starting a fresh :class:`KGAugmentedModel` from it.

A pretrained directory holds::

    manifest.json        kind "kgattn-pretrained", version 1, kg_fingerprint, backbone, ...
    config.json          the KGAugmentedConfig of the pretraining model (its task is a placeholder)
    model.safetensors    backbone.*, node_encoder.*, relations.*, gnn.*, fusion.*, interaction.*
                         and mlm_head.* (the MLM head, kept for further pretraining)
    tokenizer files      the backbone's tokenizer

:func:`init_model_from` copies the backbone, the GNN side (node encoder, relation embeddings,
GNN), the fusion blocks and their gates into a model built for fine-tuning; the task heads and
the graph pool stay fresh. The graph's fingerprint must match (the relation embeddings and the
node states are those of one graph), and so must the architecture.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kgattn.errors import ConfigError, SavedFileError
from kgattn.persistence import atomic_path, read_json, read_manifest, reading, write_manifest
from kgattn.pretraining.manifest import CONFIG, KIND, MANIFEST, VERSION, WEIGHTS, check_fingerprint

BACKBONE_PREFIXES = ("backbone.",)
GRAPH_PREFIXES = ("node_encoder.", "relations.", "gnn.", "fusion.", "interaction.")
HEAD_PREFIX = "mlm_head."
#: Model config keys that fix the shapes or the meaning of the copied graph-side weights.
GRAPH_KEYS = ("node_feature_dim", "num_relations", "add_inverse_edges", "max_hops", "gnn", "gnn_layers", "gnn_dim",
              "gnn_heads", "num_bases", "fusion", "fusion_heads", "attention")
#: Backbone config keys that must agree for the backbone weights to be copied.
BACKBONE_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "vocab_size", "max_position_embeddings")


def _state(module: torch.nn.Module, prefix: str, seen: set[int]) -> dict[str, torch.Tensor]:
    out = {}
    for name, tensor in module.state_dict(prefix=prefix, keep_vars=True).items():
        if id(tensor) in seen:   # a tied weight (the MLM decoder is the input embedding): once
            continue
        seen.add(id(tensor))
        out[name] = tensor.detach().cpu().contiguous().clone()
    return out


def save_pretrained(directory: str | Path, model: torch.nn.Module, mlm_head: torch.nn.Module, *, kg_fingerprint: str,
                    tokenizer=None, **fields: Any) -> Path:
    """Write the pretrained directory atomically (a crash leaves the old one or the new one).

    ``fields`` go into the manifest (objectives, steps, corpus size, ...).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    seen: set[int] = set()
    tensors: dict[str, torch.Tensor] = {}
    for prefix in BACKBONE_PREFIXES + GRAPH_PREFIXES:
        sub = getattr(model, prefix[:-1], None)
        if isinstance(sub, torch.nn.Module):
            tensors.update(_state(sub, prefix, seen))
    tensors.update(_state(mlm_head, HEAD_PREFIX, seen))
    with atomic_path(directory) as tmp:
        tmp.mkdir(parents=True)
        model.config.save_json(tmp / CONFIG)
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt"})
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        write_manifest(tmp / MANIFEST, KIND, VERSION, kg_fingerprint=kg_fingerprint, backbone=model.config.backbone,
                       uses_graph=model.config.uses_gnn, fusion_layers=list(getattr(model, "fusion_layers", [])),
                       mlm_head=type(mlm_head).__name__, **fields)
    return directory


@dataclass(frozen=True)
class PretrainedWeights:
    """What :func:`load_pretrained` returns: the manifest, the pretraining model's config (a dict
    accepted by ``KGAugmentedConfig.from_dict``) and the saved tensors ``{name: tensor}``."""

    directory: Path
    manifest: dict[str, Any]
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]

    @property
    def uses_graph(self) -> bool:
        return bool(self.manifest.get("uses_graph"))


def load_pretrained(directory: str | Path, kg=None) -> PretrainedWeights:
    """Read a pretrained directory; with ``kg``, a graph of another fingerprint is refused
    (:class:`FingerprintMismatchError` naming the manifest). Damaged files raise SavedFileError."""
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise SavedFileError("not a pretrained directory (it does not exist)", directory)
    manifest = read_manifest(directory / MANIFEST, KIND, VERSION)
    if kg is not None:
        check_fingerprint(manifest, directory, kg)
    config = read_json(directory / CONFIG, "pretrained model config")
    if not isinstance(config, dict):
        raise SavedFileError("not a model config (a JSON object was expected)", directory / CONFIG)
    with reading(directory / WEIGHTS, "pretrained weights"):
        state = load_file(str(directory / WEIGHTS))
    return PretrainedWeights(directory, manifest, config, state)


def _mismatches(pretrained: dict, model: dict, keys) -> list[str]:
    return [f"{k} (pretrained {pretrained.get(k)!r}, model {model.get(k)!r})"
            for k in keys if pretrained.get(k) != model.get(k)]


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_model_from` copied: module prefixes and the number of tensors."""

    directory: Path
    copied: tuple[str, ...]
    num_tensors: int


def init_model_from(model: torch.nn.Module, directory: str | Path, kg=None) -> InitReport:
    """Copy the pretrained backbone, GNN side, fusion blocks and gates into ``model`` (in place).

    ``model`` is a freshly built :class:`KGAugmentedModel` (any tasks). When both the pretrained
    model and ``model`` encode the graph, ``kg`` is required and must have the fingerprint the
    pretraining used, and the graph-side architecture must agree; otherwise (a no-graph model,
    or an MLM-only pretrained directory) only the backbone is copied.

    Raises:
        FingerprintMismatchError: ``kg`` is another graph (names the manifest file).
        ConfigError: the architectures differ (names every mismatching key).
        SavedFileError: the directory is not a pretrained directory or a file is damaged.
    """
    directory = Path(directory)
    weights = load_pretrained(directory)
    mine = model.config.to_dict()
    theirs = weights.config
    copy_graph = bool(model.config.uses_gnn and weights.uses_graph)
    problems = _mismatches(theirs.get("backbone_config") or {}, mine.get("backbone_config") or {}, BACKBONE_KEYS)
    if copy_graph:
        if kg is None:
            raise ConfigError(f"{directory}: starting a graph model from pretrained graph weights needs the graph "
                              "(pass kg=)")
        check_fingerprint(weights.manifest, directory, kg)
        # R-GCN has bases and no heads; the other GNNs the reverse (shapes are checked below too).
        keys = [k for k in GRAPH_KEYS if not (k == "gnn_heads" and mine.get("gnn") == "rgcn")
                and not (k == "num_bases" and mine.get("gnn") != "rgcn")]
        problems += _mismatches(theirs, mine, keys)
        layers = weights.manifest.get("fusion_layers")
        if layers != list(model.fusion_layers):
            problems.append(f"fusion_layers (pretrained {layers}, model {list(model.fusion_layers)})")
    if problems:
        raise ConfigError(f"{directory / CONFIG}: the pretrained architecture does not match the model: "
                          + "; ".join(problems))
    prefixes = BACKBONE_PREFIXES + (GRAPH_PREFIXES if copy_graph else ())
    target = {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}
    absent = sorted(k for k in target if k not in weights.state_dict)
    wrong = sorted(k for k in target if k in weights.state_dict and weights.state_dict[k].shape != target[k].shape)
    if absent or wrong:
        detail = [f"missing {absent[:5]}"] if absent else []
        detail += [f"{k}: pretrained {tuple(weights.state_dict[k].shape)}, model {tuple(target[k].shape)}"
                   for k in wrong[:5]]
        raise ConfigError(f"{directory / WEIGHTS}: weights do not fit the model ({'; '.join(detail)})")
    with torch.no_grad():
        for name, tensor in target.items():
            tensor.copy_(weights.state_dict[name].to(tensor.dtype))
    copied = tuple(p[:-1] for p in prefixes if any(k.startswith(p) for k in target))
    return InitReport(directory, copied, len(target))
