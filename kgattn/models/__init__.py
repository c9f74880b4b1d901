"""KG-augmented models: node encoder, relational GNN, gated cross-attention fusion, task heads.

Names load lazily (:mod:`kgattn.lazy`): ``kgattn.models.config`` is a light schema module that the
pipeline spec reads without importing torch.
"""
from kgattn.lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["KGAugmentedConfig"], "kgattn.models.config"),
    **dict.fromkeys(["GatedCrossAttention", "ModalityInteraction"], "kgattn.models.fusion"),
    **dict.fromkeys(["BasisRGCNConv", "GraphEncoder"], "kgattn.models.gnn"),
    **dict.fromkeys(["GNN_CONVS", "register_gnn"], "kgattn.models.registry"),
    **dict.fromkeys(["GraphAttentionPooling", "TaskHeads"], "kgattn.models.heads"),
    **dict.fromkeys(["GraphBatch"], "kgattn.models.inputs"),
    **dict.fromkeys(["LinkPredictionLoss", "LossWeighting", "alignment_loss"], "kgattn.models.losses"),
    **dict.fromkeys(["KGAugmentedModel"], "kgattn.models.model"),
    **dict.fromkeys(["KGEncoding", "KGOutput"], "kgattn.models.outputs"),
    **dict.fromkeys(["NodeEncoder", "RelationEmbedding"], "kgattn.models.node_encoder"),
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
