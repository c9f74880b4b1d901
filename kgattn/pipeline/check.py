"""What a run needs, checked in a second before any graph is imported or text linked.

:func:`check_resources` looks at the outside world a valid spec points to: the graph sources,
the corpus and prediction input files, the data set folders, the backbone and the spaCy
pipeline, and that the prediction output would not overwrite an input. ``kgattn check`` prints
its problems ("invalid", exit 2) and ``kgattn run`` (and every pipeline command) calls it
first, so a wrong path fails in a second rather than after minutes of linking.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from kgattn.errors import ConfigError, KGAttnError
from kgattn.pipeline.corpus import resolve_paths
from kgattn.pipeline.predict import output_conflicts
from kgattn.specs.yamlio import located


def _where(key: str, source) -> str:
    """``key 'a.b.0'`` and, when ``source`` (YAML text or SpecSources) holds it, where it was written."""
    loc = tuple(int(p) if p.isdigit() else p for p in key.split("."))
    return f"key '{key}'" + located(source, loc)


def _graph_problems(spec) -> list[tuple[str, str]]:
    out = []
    for i, source in enumerate(spec.kg.source_list):
        prefix = "kg" if spec.kg.sources is None else f"kg.sources.{i}"
        if source.importer == "wordnet":
            from kgattn.datasets.wordnet import find_wordnet

            try:
                find_wordnet(source.path)
            except KGAttnError as exc:
                out.append((f"{prefix}.path" if source.path else f"{prefix}.importer", str(exc)))
        elif source.importer == "fb15k237":
            from kgattn.paths import data_dir

            root = Path(source.path) if source.path is not None else data_dir() / "fb15k-237"
            if not root.is_dir():
                out.append((f"{prefix}.path" if source.path else f"{prefix}.importer",
                            f"FB15k-237 folder {root} does not exist (set $KGATTN_DATA or kg.path)"))
        elif source.path is not None and not Path(source.path).exists():
            out.append((f"{prefix}.path", f"graph file {source.path} does not exist"))
        elif source.oxigraph is not None and not Path(source.oxigraph).is_dir():
            out.append((f"{prefix}.oxigraph", f"Oxigraph store {source.oxigraph} is not a directory"))
        # A SPARQL endpoint is not contacted here: check stays offline and fast.
        if source.names is not None and not Path(source.names).is_file():
            out.append((f"{prefix}.names", f"names file {source.names} does not exist"))
    return out


def _file_problems(key: str, patterns) -> list[tuple[str, str]]:
    out = []
    for i, pattern in enumerate(patterns):
        try:
            resolve_paths([pattern])
        except KGAttnError as exc:
            out.append((f"{key}.{i}", str(exc)))
    return out


def _dataset_problems(spec) -> list[tuple[str, str]]:
    from kgattn.pipeline.prepare import DATASET_FILES, default_dir

    name = spec.corpus.dataset
    folder = Path(spec.corpus.dataset_dir) if spec.corpus.dataset_dir is not None else default_dir(name)
    missing = [f for f in DATASET_FILES[name] if not (folder / f).is_file()]
    if not missing:
        return []
    key = "corpus.dataset_dir" if spec.corpus.dataset_dir is not None else "corpus.dataset"
    return [(key, f"the {name} files {', '.join(missing)} are not in {folder} "
                  "(put the data set under $KGATTN_DATA or give corpus.dataset_dir)")]


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _backbone_problems(key: str, name: str) -> list[tuple[str, str]]:
    from kgattn.backbone import resolve_backbone

    try:
        resolved = resolve_backbone(name)
    except KGAttnError as exc:
        return [(key, str(exc))]
    if not Path(resolved).is_dir() and _offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(resolved, "config.json"), str):
            return [(key, f"backbone {name!r} is neither a local directory nor in the Hugging Face cache, "
                          "and the hub is switched off (HF_HUB_OFFLINE)")]
    return []


def check_resources(spec, source: str | None = None) -> list[str]:
    """Problems that would stop a run of the (already validated) ``spec``, one string each,
    naming the dotted key (and its line, given the YAML ``source``) and the path. Empty: fine.

    Cheap by design (file tests, no graph import, no model load): it runs before every run.
    """
    problems: list[tuple[str, str]] = _graph_problems(spec)
    if spec.corpus.dataset is not None:
        problems += _dataset_problems(spec)
    else:
        problems += _file_problems("corpus.paths", spec.corpus.paths)
    if spec.predict.input is not None:
        problems += _file_problems("predict.input.paths", spec.predict.input.paths)
    problems += [("predict.output", p.split(": ", 1)[1]) for p in output_conflicts(spec)]
    problems += _backbone_problems("model.backbone", spec.model.backbone)
    if spec.model.init_from is not None:
        from kgattn.errors import SavedFileError
        from kgattn.pretraining import pretrained_manifest

        try:
            pretrained_manifest(spec.model.init_from)
        except SavedFileError as exc:
            problems.append(("model.init_from", f"not a directory written by kgattn pretrain ({exc})"))
    if spec.linker.backbone is not None:
        problems += _backbone_problems("linker.backbone", spec.linker.backbone)
    if spec.linker.spacy_model is not None and importlib.util.find_spec(spec.linker.spacy_model) is None:
        problems.append(("linker.spacy_model", f"spaCy pipeline {spec.linker.spacy_model!r} is not installed"))
    return [f"{_where(key, source)}: {message}" for key, message in problems]


def require_resources(spec, path: str | Path | None = None, source: str | None = None) -> None:
    """Raise one :class:`~kgattn.errors.ConfigError` listing every problem of :func:`check_resources`."""
    problems = check_resources(spec, source)
    if problems:
        head = f"{path}: " if path is not None else ""
        raise ConfigError(head + "invalid: " + "; ".join(problems))
