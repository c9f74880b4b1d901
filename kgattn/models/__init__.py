"""KG-augmented models: node encoder, relational GNN, gated cross-attention fusion, task heads."""
from kgattn.models.config import KGAugmentedConfig
from kgattn.models.fusion import GatedCrossAttention, ModalityInteraction
from kgattn.models.gnn import BasisRGCNConv, GraphEncoder
from kgattn.models.heads import GraphAttentionPooling, TaskHeads
from kgattn.models.inputs import GraphBatch
from kgattn.models.losses import LinkPredictionLoss, LossWeighting, alignment_loss
from kgattn.models.model import KGAugmentedModel
from kgattn.models.outputs import KGEncoding, KGOutput
from kgattn.models.node_encoder import NodeEncoder, RelationEmbedding

__all__ = [
    "BasisRGCNConv", "GatedCrossAttention", "GraphAttentionPooling", "GraphBatch", "GraphEncoder",
    "KGAugmentedConfig", "KGAugmentedModel", "KGEncoding", "KGOutput", "LinkPredictionLoss", "LossWeighting",
    "ModalityInteraction", "NodeEncoder", "RelationEmbedding", "TaskHeads", "alignment_loss",
]
