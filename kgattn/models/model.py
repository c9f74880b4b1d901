"""The KG-augmented classifier: backbone + GNN + gated cross-attention fusion + task heads."""
from __future__ import annotations

import dataclasses
import shutil
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kgattn.backbone import quiet_weight_loading, resolve_backbone
from kgattn.errors import BackboneError, ConfigError, LabelError
from kgattn.models.bag import NodeBag
from kgattn.models.checks import check_graph_batch
from kgattn.models.sync import values_are_free
from kgattn.models.config import KGAugmentedConfig
from kgattn.models.fusion import GatedCrossAttention, ModalityInteraction
from kgattn.models.gnn import GraphEncoder
from kgattn.models.heads import GraphAttentionPooling, TaskHeads
from kgattn.models.inputs import GraphBatch
from kgattn.models.losses import LinkPredictionLoss, LossWeighting, alignment_loss
from kgattn.models.node_encoder import NodeEncoder, RelationEmbedding
from kgattn.models.outputs import KGEncoding, KGOutput

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: Files that make a Hugging Face tokenizer loadable from a directory.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                   "vocab.json", "merges.txt", "added_tokens.json", "spiece.model", "sentencepiece.bpe.model")
#: Where common Hugging Face encoders keep their list of transformer layers.
LAYER_PATHS = ("encoder.layer", "encoder.layers", "transformer.layer", "layers", "layer")


@dataclass
class _FusionState:
    """Per-forward scratch the layer hooks read and write (GreaseLM updates ``nodes``)."""

    nodes: torch.Tensor
    node_mask: torch.Tensor
    token_mask: torch.Tensor | None = None  # [B, T] real tokens; None = all real
    need_weights: bool = True
    attentions: list[torch.Tensor] = field(default_factory=list)
    gates: dict[int, torch.Tensor] = field(default_factory=dict)


def find_layers(backbone: nn.Module) -> nn.ModuleList:
    """The backbone's list of transformer layers (``encoder.layer`` for BERT-like models)."""
    for path in LAYER_PATHS:
        obj = backbone
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList) and len(obj) > 0:
            return obj
    raise BackboneError(f"cannot find the transformer layers of {type(backbone).__name__} "
                        f"(looked for {', '.join(LAYER_PATHS)})")


def build_backbone(config: KGAugmentedConfig, load_weights: bool = True) -> nn.Module:
    """The Hugging Face encoder: pretrained weights, or only the architecture from ``backbone_config``."""
    from transformers import AutoConfig, AutoModel

    kwargs = {"attn_implementation": config.attn_implementation} if config.attn_implementation else {}
    try:
        if load_weights:
            with quiet_weight_loading():
                model = AutoModel.from_pretrained(resolve_backbone(config.backbone), **kwargs)
        else:
            if config.backbone_config is not None:
                bconf = AutoConfig.for_model(**config.backbone_config)
            else:
                bconf = AutoConfig.from_pretrained(resolve_backbone(config.backbone))
            model = AutoModel.from_config(bconf, **kwargs)
    except (OSError, ValueError) as exc:
        raise BackboneError(f"cannot load backbone {config.backbone!r}: {exc}") from exc
    # The pooler's output is never used ([CLS] feeds the heads directly); dropping it keeps every
    # parameter in the loss graph, which DDP requires without find_unused_parameters.
    if isinstance(getattr(model, "pooler", None), nn.Module):
        model.pooler = None
    return model


class KGAugmentedModel(nn.Module):
    r"""A Hugging Face encoder whose tokens attend over the nodes of each example's subgraph.

    Pipeline per batch:

    1. node states :math:`x = \mathrm{NodeEncoder}(f, \mathrm{hop}, \mathrm{seed})` [B, N, d],
       refined by a relational GNN over the batch's (flattened) edges;
    2. the backbone runs unchanged except that after each layer in ``fusion_layers`` a forward
       hook applies :class:`GatedCrossAttention` (tokens -> null node + own nodes), and in
       ``fusion="greaselm"`` mode a :class:`ModalityInteraction` between [CLS] and the nodes;
    3. each task head classifies :math:`[h_{\mathrm{CLS}}; \mathrm{pool}(n \mid h_{\mathrm{CLS}})]`.

    All gates start at 0, so the untrained model's hidden states equal the plain backbone's.
    With ``use_graph=False`` (or ``graph=None``) the same architecture runs with only the null
    node: the no-graph baseline. No text and no files are touched except in save/load.
    """

    def __init__(self, config: KGAugmentedConfig, load_backbone_weights: bool = True):
        super().__init__()
        self.backbone = build_backbone(config, load_weights=load_backbone_weights)
        bconf = self.backbone.config
        self.config = config.replace(backbone_config=bconf.to_dict())
        hidden, d = int(bconf.hidden_size), config.gnn_dim
        layers = find_layers(self.backbone)
        self.fusion_layers: list[int] = config.resolve_fusion_layers(len(layers))
        if hidden % config.fusion_heads:
            raise ConfigError(f"model config key 'fusion_heads': backbone hidden size {hidden} is not "
                              f"divisible by fusion_heads={config.fusion_heads}")

        self.bag = (NodeBag(config.bag_buckets, config.num_relations, d, config.dropout)
                    if config.use_graph and config.fusion == "bag" else None)
        if config.uses_gnn:
            self.node_encoder = NodeEncoder(config.node_feature_dim, d, config.max_hops, config.dropout)
            self.relations = RelationEmbedding(config.num_relations, d, inverse=config.add_inverse_edges)
            self.gnn = GraphEncoder(config.gnn, d, config.gnn_layers, self.relations.num_total,
                                    num_bases=config.num_bases, heads=config.gnn_heads, dropout=config.dropout)
            self.link_loss = (LinkPredictionLoss(config.link_prediction, config.num_negatives, config.transe_margin)
                              if config.link_prediction else None)
        else:
            self.node_encoder = self.relations = self.gnn = self.link_loss = None
        self.fusion = nn.ModuleList(
            GatedCrossAttention(hidden, d, config.fusion_heads, config.attention, config.dropout)
            for _ in self.fusion_layers)
        self.interaction = (nn.ModuleList(ModalityInteraction(hidden, d, config.dropout) for _ in self.fusion_layers)
                            if config.fusion == "greaselm" else None)
        self.pool = GraphAttentionPooling(hidden, d) if self.bag is None else None
        self.heads = TaskHeads(hidden + d, config.tasks, config.dropout)
        terms = config.loss_terms()
        self.loss_weighting = LossWeighting(terms, config.loss_weighting, {t: config.loss_weight(t) for t in terms})

        self._state: _FusionState | None = None
        self._warned_graph_ignored = False
        # A partial of a bound method (not a closure) so copy.deepcopy re-targets the hook.
        for pos, i in enumerate(self.fusion_layers):
            layers[i].register_forward_hook(partial(self._fusion_hook, pos))

    # ------------------------------------------------------------------ parameters
    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the pretrained encoder (for their own, usually lower, learning rate)."""
        return list(self.backbone.parameters())

    def new_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not the backbone's: GNN, fusion, heads, loss weights."""
        backbone = {id(p) for p in self.backbone.parameters()}
        return [p for p in self.parameters() if id(p) not in backbone]

    def gate_parameters(self) -> list[nn.Parameter]:
        """The scalar gates of the fusion blocks (and GreaseLM interactions), all starting at 0."""
        blocks = list(self.fusion) + list(self.interaction or [])
        return [p for block in blocks for name, p in block.named_parameters() if name.startswith("gate")]

    def reset_parameters(self) -> None:
        """Re-initialise every new module (gates back to 0); the backbone keeps its weights."""
        # Each kgattn module resets its own sub-layers; none of them lives inside the backbone.
        for module in self.modules():
            if module is not self and type(module).__module__.startswith("kgattn.models.") \
                    and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    @property
    def hidden_size(self) -> int:
        return int(self.backbone.config.hidden_size)

    # ------------------------------------------------------------------ forward
    def encode_graph(self, graph: GraphBatch, hold_out_edges: bool | torch.Tensor = False
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Node states after the GNN, [B, N, d] (zero at padding), and the link-prediction targets.

        With ``hold_out_edges=True`` a random ``link_edge_fraction`` of the edges is removed from
        message passing and returned as the targets (they are predicted from a graph that does
        not contain them, as in DRAGON); a tensor of edge positions [E'] holds out exactly those
        edges (pretraining picks edges of the linked entities); otherwise every edge is kept and
        every edge is a target. Returns ``(nodes, target_edge_positions [E'])``.
        """
        if not self.config.uses_gnn:
            raise ConfigError("this model has no graph encoder (use_graph=False or fusion='bag')")
        node_mask = graph.node_mask.bool()
        b, n = node_mask.shape
        d = self.config.gnn_dim
        x = self.node_encoder(graph.node_features.to(self.node_encoder.proj.weight.dtype),
                              graph.hop, graph.seed_mask, node_mask)
        edge_index, edge_type = graph.edge_index, graph.edge_type
        targets = torch.arange(edge_type.numel(), device=edge_type.device)
        frac = self.config.link_edge_fraction
        if isinstance(hold_out_edges, torch.Tensor):
            targets = hold_out_edges.to(edge_type.device).long()
            keep = torch.ones(edge_type.numel(), dtype=torch.bool, device=edge_type.device)
            keep[targets] = False
            edge_index, edge_type = edge_index[:, keep], edge_type[keep]
        elif hold_out_edges and frac > 0 and edge_type.numel():
            perm = torch.randperm(edge_type.numel(), device=edge_type.device)
            k = max(1, int(round(frac * edge_type.numel())))
            targets, keep = perm[:k], perm[k:]
            edge_index, edge_type = edge_index[:, keep], edge_type[keep]
        if self.config.add_inverse_edges:
            edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
            edge_type = torch.cat([edge_type, edge_type + self.config.num_relations])
        flat = x.reshape(b * n, d)
        if flat.shape[0]:
            edge_attr = None if self.config.gnn == "rgcn" else self.relations(edge_type)
            flat = self.gnn(flat, edge_index, edge_type, edge_attr=edge_attr)
            flat = flat * node_mask.reshape(-1, 1).to(flat.dtype)
        return flat.view(b, n, d), targets

    def _fusion_hook(self, pos: int, module: nn.Module, args, output):
        state = self._state
        if state is None:  # the backbone called on its own: leave it untouched
            return None
        is_tensor = isinstance(output, torch.Tensor)  # transformers 5 layers return a tensor, 4.x a tuple
        hidden = output if is_tensor else output[0]
        block = self.fusion[pos]
        hidden, attn = block(hidden, state.nodes, state.node_mask, token_mask=state.token_mask,
                             need_weights=state.need_weights)
        if self.interaction is not None:
            hidden, state.nodes = self.interaction[pos](hidden, state.nodes, state.node_mask)
        if attn is not None:
            state.attentions.append(attn)
        state.gates[self.fusion_layers[pos]] = block.gate_value()
        return hidden if is_tensor else (hidden, *output[1:])

    def _drop_graphs(self, graph: GraphBatch) -> GraphBatch:
        """Whole-graph dropout (training only): each example loses its subgraph with probability
        ``config.graph_dropout``, so the backbone alone must still classify it. A model trained
        so can fall back to the language model where the graph has nothing to say."""
        b = graph.node_mask.shape[0]
        keep = torch.rand(b, 1, device=graph.node_mask.device) >= self.config.graph_dropout   # [B, 1]
        mention_nodes = graph.mention_nodes
        if mention_nodes is not None:
            mention_nodes = torch.where(keep, mention_nodes, torch.full_like(mention_nodes, -1))
        return dataclasses.replace(graph, node_mask=graph.node_mask & keep, mention_nodes=mention_nodes)

    def _usable_graph(self, graph: GraphBatch | None, b: int, t: int) -> GraphBatch | None:
        """``graph`` after the contract checks, or None when the config says to ignore it."""
        if self.training and self._backbone_checkpointing():
            # Recomputed layers would run the fusion hooks again after the per-forward state is gone.
            raise ConfigError("gradient checkpointing of the backbone is not supported by the fusion hooks; "
                              "disable it on the backbone")
        if graph is not None and not self.config.use_graph:
            if not self._warned_graph_ignored:
                warnings.warn("config.use_graph is False: the graph input is ignored (no-graph baseline)",
                              stacklevel=3)
                self._warned_graph_ignored = True
            return None
        if graph is not None:
            self._check_graph(graph, b, t)
        return graph

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               graph: GraphBatch | None = None, token_type_ids: torch.Tensor | None = None, *,
               hold_out_edges: bool | torch.Tensor = False, need_weights: bool = False) -> KGEncoding:
        """The fused hidden states and node states, without heads or losses (for pretraining
        objectives and feature extraction). ``hold_out_edges`` as in :meth:`encode_graph`;
        ``need_weights`` materialises the fusion attention weights (for the alignment loss).
        """
        b, t = input_ids.shape
        graph = self._usable_graph(graph, b, t)
        return self._encode(input_ids, attention_mask, graph, token_type_ids, hold_out_edges, need_weights)

    def _encode(self, input_ids, attention_mask, graph, token_type_ids, hold_out_edges, need_weights) -> KGEncoding:
        b, t = input_ids.shape
        if graph is not None and self.bag is None:   # the GNN + fusion path (not the bag baseline)
            nodes, target_edges = self.encode_graph(graph, hold_out_edges=hold_out_edges)
            gnn_node_mask = graph.node_mask.bool()   # the link loss scores the GNN's nodes
            if self.training and self.config.graph_dropout > 0:  # after the GNN: its link loss is kept
                graph = self._drop_graphs(graph)
            node_mask = graph.node_mask.bool()
        else:
            nodes, target_edges = self.heads.heads[0].weight.new_zeros(b, 0, self.config.gnn_dim), None
            node_mask = gnn_node_mask = torch.zeros(b, 0, dtype=torch.bool, device=input_ids.device)
        token_mask = None
        if attention_mask is not None and attention_mask.shape == (b, t) and (
                not values_are_free(attention_mask) or not bool(attention_mask.all())):
            token_mask = attention_mask.bool()  # padding tokens skip the fusion blocks
        state = _FusionState(nodes=nodes, node_mask=node_mask, token_mask=token_mask, need_weights=need_weights)
        self._state = state
        try:
            kwargs = {"attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            out = self.backbone(input_ids=input_ids, return_dict=True, **kwargs)
        finally:
            self._state = None
        if len(state.gates) != len(self.fusion_layers):
            raise RuntimeError(f"{len(state.gates)} of {len(self.fusion_layers)} fusion hooks ran; "
                               "the backbone skipped a hooked layer")
        return KGEncoding(hidden=out.last_hidden_state, nodes=state.nodes, node_mask=node_mask, graph=graph,
                          target_edges=target_edges, attentions=state.attentions, gates=state.gates,
                          gnn_node_mask=gnn_node_mask)

    def graph_losses(self, enc: KGEncoding, align: bool = True) -> dict[str, torch.Tensor]:
        """The auxiliary graph terms of an encoding: ``"link"`` (over ``enc.target_edges``, when
        the model has a link scorer and there is a target) and ``"align"`` (when ``align`` and the
        encoding carries attention weights and a token with a mention node)."""
        losses: dict[str, torch.Tensor] = {}
        graph = enc.graph
        if not enc.encoded_graph:
            return losses
        if self.link_loss is not None and enc.target_edges.numel():
            nodes = enc.nodes
            et = graph.edge_type[enc.target_edges]
            losses["link"] = self.link_loss(nodes.reshape(-1, nodes.shape[-1]), enc.gnn_node_mask.reshape(-1),
                                            graph.edge_index[:, enc.target_edges], self.relations(et))
        if align and enc.attentions and graph.mention_nodes is not None and _any_mention(graph.mention_nodes):
            losses["align"] = alignment_loss(enc.attentions, graph.mention_nodes)
        return losses

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                graph: GraphBatch | None = None, token_type_ids: torch.Tensor | None = None,
                labels: dict[str, torch.Tensor] | None = None, output_attentions: bool = True) -> KGOutput:
        """Shapes: ``input_ids``/``attention_mask``/``token_type_ids`` [B, T]; ``labels`` {task: [B]}
        (class ids, -100 = no label for that example).

        ``output_attentions=False`` skips materialising the fusion attention weights (faster for
        long texts; ``KGOutput.attentions`` is then empty) unless the alignment loss needs them.
        """
        b, t = input_ids.shape
        graph = self._usable_graph(graph, b, t)
        want_loss = labels is not None
        encode = graph is not None and self.bag is None   # the GNN + fusion path (not the bag baseline)
        align = (want_loss and encode and self.config.alignment and graph.mention_nodes is not None
                 and _any_mention(graph.mention_nodes))
        hold_out = want_loss and self.training and self.link_loss is not None
        enc = self._encode(input_ids, attention_mask, graph, token_type_ids, hold_out, output_attentions or align)

        hidden = enc.hidden
        cls = hidden[:, 0]
        if self.bag is not None:  # graph-features-only baseline: the bag replaces the graph pool
            pooled = self.bag(graph) if graph is not None else cls.new_zeros(b, self.config.gnn_dim)
            pool_weights = cls.new_zeros(b, 1)
        else:
            pooled, pool_weights = self.pool(cls, enc.nodes, enc.node_mask)
        logits = self.heads(torch.cat([cls, pooled.to(cls.dtype)], dim=-1))

        losses: dict[str, torch.Tensor] = {}
        loss = None
        if want_loss:
            # A term is present only when this batch has targets for it: a constant 0 would drive
            # its uncertainty weight s_i to -inf.
            losses.update(self._task_losses(logits, labels, b))
            losses.update(self.graph_losses(enc, align=align))
            if losses:
                loss = self.loss_weighting(losses)
            else:  # nothing to learn from in this batch; keep backward() callable
                loss = sum(v.float().sum() for v in logits.values()) * 0.0
        return KGOutput(logits=logits, loss=loss, losses=losses, attentions=enc.attentions, gates=enc.gates,
                        node_states=enc.nodes if encode else None, pooled_graph=pooled,
                        pool_weights=pool_weights, last_hidden_state=hidden,
                        fusion_layers=tuple(self.fusion_layers))

    def _backbone_checkpointing(self) -> bool:
        # transformers 5 renamed the flag (the old name warns); 4.x only has the old one.
        for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
            if hasattr(type(self.backbone), name):
                return bool(getattr(self.backbone, name))
        return False

    def _task_losses(self, logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], b: int
                     ) -> dict[str, torch.Tensor]:
        out = {}
        for task, y in labels.items():
            if task not in logits:
                raise LabelError(f"labels given for unknown task {task!r}; the model's tasks are {list(logits)}")
            y = torch.as_tensor(y, device=logits[task].device)
            if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8) or y.shape != (b,):
                raise LabelError(f"labels of task {task!r} must be integer class ids of shape ({b},), "
                                 f"got {tuple(y.shape)} {y.dtype}")
            y = y.long()
            n_classes = logits[task].shape[-1]
            if not values_are_free(y):
                # Device path: no label check (the collator's labels were checked on the host) and
                # the term is kept even when the batch has no label for the task (a masked mean, 0).
                given = y != -100
                per_example = F.cross_entropy(logits[task].float(), y.clamp_min(0), reduction="none")
                out[f"task:{task}"] = (per_example * given).sum() / given.sum().clamp_min(1)
                continue
            bad = ((y < 0) & (y != -100)) | (y >= n_classes)
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise LabelError(f"label {int(y[i])} of task {task!r} at index {i} is outside 0..{n_classes - 1}")
            if bool((y != -100).any()):
                out[f"task:{task}"] = F.cross_entropy(logits[task].float(), y, ignore_index=-100)
        return out

    def _check_graph(self, g: GraphBatch, b: int, t: int) -> None:
        check_graph_batch(g, b, t, self.config.node_feature_dim, self.config.num_relations,
                          values=values_are_free(g.edge_index))

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (+ the backbone's tokenizer files)."""
        from safetensors.torch import save_model

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            source = Path(resolve_backbone(self.config.backbone))
        except BackboneError:
            source = None
        if source is not None and source.is_dir() and source.resolve() != directory.resolve():
            for name in TOKENIZER_FILES:
                if (source / name).is_file():
                    shutil.copy(source / name, directory / name)
        self.config.save_json(directory / CONFIG_NAME)
        save_model(self, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "KGAugmentedModel":
        """Rebuild a saved model offline (backbone architecture from the stored backbone config).

        Returns the model on CPU in eval mode; move it with ``.to(device)``.
        """
        from safetensors.torch import load_model

        directory = Path(directory)
        if not (directory / CONFIG_NAME).is_file() or not (directory / WEIGHTS_NAME).is_file():
            raise ConfigError(f"{directory}: not a saved KGAugmentedModel (needs {CONFIG_NAME} and {WEIGHTS_NAME})")
        config = KGAugmentedConfig.from_json(directory / CONFIG_NAME)
        model = cls(config, load_backbone_weights=False)
        try:
            load_model(model, str(directory / WEIGHTS_NAME), strict=True)
        except RuntimeError as exc:
            raise ConfigError(f"{directory / WEIGHTS_NAME}: weights do not match {CONFIG_NAME} ({exc})") from exc
        return model.eval()


def _any_mention(mention_nodes: torch.Tensor) -> bool:
    """Whether some token has a mention node; assumed on the device paths, where the alignment
    loss is a masked mean that is 0 without one (reading the answer would synchronise)."""
    return not values_are_free(mention_nodes) or bool((mention_nodes >= 0).any())
