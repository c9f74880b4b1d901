"""Self-supervised joint pretraining of the backbone, GNN and fusion on unlabelled linked text.

DRAGON-style (Yasunaga et al., NeurIPS 2022): masked language modelling with entity-aware
masking, link prediction over edges of the linked entities hidden from the GNN, and the
text-node alignment loss, each weighted and switchable, trained through Lightning::

    from kgattn.pretraining import load_pretrain_spec, pretrain, init_model_from
    result = pretrain(load_pretrain_spec("pipelines/pretrain_quickstart.yaml"))
    init_model_from(model, result.directory, kg)     # a fresh KGAugmentedModel

or ``kgattn pretrain SPEC``. Layers: this package imports graph, linking, embeddings, models,
training, persistence and errors; only the CLI and the API import it.
"""
from kgattn.pretraining.run import PretrainResult, pretrain
from kgattn.pretraining.saving import (InitReport, PretrainedWeights, init_model_from, load_pretrained,
                                      pretrained_manifest)
from kgattn.pretraining.spec import PretrainSection, PretrainSpec, load_pretrain_spec, parse_pretrain_spec

__all__ = ["InitReport", "PretrainResult", "PretrainSection", "PretrainSpec", "PretrainedWeights", "init_model_from",
           "load_pretrain_spec", "load_pretrained", "parse_pretrain_spec", "pretrain", "pretrained_manifest"]
