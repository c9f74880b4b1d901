"""Tests of kgattn.models: config, GNN, fusion exactness and isolation, losses, save/load."""
from __future__ import annotations

import copy
import json
import shutil

import pytest
import torch
from torch_geometric.nn import RGCNConv

from kgattn.errors import BackboneError, ConfigError, LabelError, SavedFileError
from kgattn.models import (BasisRGCNConv, GatedCrossAttention, GraphBatch, KGAugmentedConfig, KGAugmentedModel,
                           LinkPredictionLoss, LossWeighting, alignment_loss)
from kgattn.models.losses import distmult_score, transe_score

F_DIM, R, T = 12, 5, 9


def make_graph(num_real: list[int], n: int | None = None, t: int = T, seed: int = 0, edges_per_node: int = 2,
               mentions: bool = True) -> GraphBatch:
    """Random subgraphs: example b has num_real[b] real nodes and edges only among them."""
    gen = torch.Generator().manual_seed(seed)
    b = len(num_real)
    n = max(num_real + [0]) if n is None else n
    node_mask = torch.zeros(b, n, dtype=torch.bool)
    src, dst = [], []
    for i, k in enumerate(num_real):
        node_mask[i, :k] = True
        if k >= 2:
            e = edges_per_node * k
            src.append(torch.randint(0, k, (e,), generator=gen) + i * n)
            dst.append(torch.randint(0, k, (e,), generator=gen) + i * n)
    edge_index = torch.stack([torch.cat(src), torch.cat(dst)]) if src else torch.empty(2, 0, dtype=torch.long)
    features = torch.randn(b, n, F_DIM, generator=gen) * node_mask.unsqueeze(-1)
    seed_mask = node_mask.clone()
    seed_mask[:, 1:] = False
    hop = torch.randint(0, 3, (b, n), generator=gen) * node_mask
    mention_nodes = None
    if mentions:
        mention_nodes = torch.full((b, t), -1, dtype=torch.long)
        for i, k in enumerate(num_real):
            if k:
                mention_nodes[i, 1:3] = 0
    return GraphBatch(node_features=features, node_mask=node_mask, hop=hop, seed_mask=seed_mask,
                      edge_index=edge_index, edge_type=torch.randint(0, R, (edge_index.shape[1],), generator=gen),
                      node_ids=torch.where(node_mask, torch.arange(b * n).view(b, n), -1),
                      mention_nodes=mention_nodes)


def make_config(backbone: str, **kw) -> KGAugmentedConfig:
    # graph_dropout 0: these tests check the graph path's mechanics in training mode, example by example
    base = dict(backbone=backbone, tasks={"coarse": 3, "fine": 4}, node_feature_dim=F_DIM, num_relations=R,
                gnn_dim=16, fusion_heads=4, gnn_heads=2, num_bases=3, link_prediction="distmult", graph_dropout=0.0)
    base.update(kw)
    return KGAugmentedConfig(**base)


def text_inputs(b: int, t: int = T, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 5000, (b, t), generator=gen)
    ids[:, 0] = 101
    mask = torch.ones(b, t, dtype=torch.long)
    mask[-1, t - 3:] = 0  # a padded example
    return ids, mask


def open_gates(model: KGAugmentedModel, value: float = 0.7) -> None:
    """Give every gate a non-zero value so the graph actually changes the hidden states."""
    with torch.no_grad():
        for block in model.fusion:
            block.gate.fill_(value)
        if model.interaction is not None:
            for inter in model.interaction:
                inter.gate_text.fill_(value)
                inter.gate_node.fill_(value)


@pytest.fixture(scope="module")
def model(tiny_backbone):
    torch.manual_seed(0)
    return KGAugmentedModel(make_config(tiny_backbone)).eval()


# ---------------------------------------------------------------- config
def test_config_json_round_trip(tmp_path):
    cfg = make_config("minilm", fusion_layers=[-1, 0], loss_weights={"task:coarse": 2.0, "link": 0.5},
                      link_prediction="transe", loss_weighting="uncertainty")
    path = cfg.save_json(tmp_path / "c.json")
    assert KGAugmentedConfig.from_json(path) == cfg
    assert KGAugmentedConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.loss_terms() == ["task:coarse", "task:fine", "link", "align"]
    assert cfg.loss_weight("task:coarse") == 2.0 and cfg.loss_weight("task:fine") == 1.0
    assert cfg.loss_weight("align") == 0.1
    assert cfg.resolve_fusion_layers(6) == [0, 5]
    assert make_config("x").resolve_fusion_layers(6) == [4, 5]
    assert make_config("x", use_graph=False).loss_terms() == ["task:coarse", "task:fine"]


@pytest.mark.parametrize("changes, key", [
    ({"gnn": "gcn"}, "gnn"), ({"gnn_layers": 4}, "gnn_layers"), ({"fusion": "concat"}, "fusion"),
    ({"attention": "cosine"}, "attention"), ({"tasks": {}}, "tasks"), ({"tasks": {"a": 1}}, "tasks"),
    ({"loss_weights": {"link2": 1.0}}, "loss_weights"), ({"loss_weighting": "gradnorm"}, "loss_weighting"),
    ({"dropout": 1.5}, "dropout"), ({"link_prediction": "complex"}, "link_prediction"),
    ({"num_relations": 0}, "num_relations"), ({"fusion_layers": []}, "fusion_layers"),
    ({"gnn": "gatv2", "gnn_dim": 10, "gnn_heads": 4}, "gnn_heads"),
])
def test_config_rejects_bad_values_naming_the_key(changes, key):
    with pytest.raises(ConfigError, match=repr(key)):
        make_config("minilm", **changes)


def test_config_file_errors_name_file_line_and_key(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "tasks": {"a": 2},\n  "gnn": \n}')
    with pytest.raises(SavedFileError, match=r"bad\.json:4"):
        KGAugmentedConfig.from_json(bad)
    bad.write_text(json.dumps({"tasks": {"a": 2}, "gnn_dims": 3}))
    with pytest.raises(ConfigError, match="gnn_dims"):
        KGAugmentedConfig.from_json(bad)
    bad.write_text(json.dumps({"tasks": {"a": 2}, "gnn": "gcn"}))
    with pytest.raises(ConfigError, match=r"bad\.json.*'gnn'"):
        KGAugmentedConfig.from_json(bad)
    with pytest.raises(SavedFileError, match="missing.json"):
        KGAugmentedConfig.from_json(tmp_path / "missing.json")


def test_fusion_layer_out_of_range_and_bad_backbone(tiny_backbone, tmp_path):
    with pytest.raises(ConfigError, match="fusion_layers"):
        KGAugmentedModel(make_config(tiny_backbone, fusion_layers=[2]))
    with pytest.raises(ConfigError, match="fusion_heads"):
        KGAugmentedModel(make_config(tiny_backbone, fusion_heads=5))
    with pytest.raises(BackboneError):
        KGAugmentedModel(make_config(str(tmp_path / "no-such-backbone")))


# ---------------------------------------------------------------- GNN
def test_basis_rgcn_matches_pyg_rgcnconv():
    torch.manual_seed(0)
    conv = BasisRGCNConv(8, 6, num_relations=7, num_bases=3)
    x = torch.randn(20, 8)
    edge_index = torch.randint(0, 20, (2, 60))
    edge_type = torch.randint(0, 7, (60,))
    fast = conv(x, edge_index, edge_type)
    reference = RGCNConv.forward(conv, x, edge_index, edge_type)  # the parent's per-relation loop
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)
    assert conv(x, edge_index[:, :0], edge_type[:0]).shape == (20, 6)


@pytest.mark.parametrize("aggr", ["mean", "add"])
def test_basis_rgcn_relation_and_basis_paths_agree(aggr):
    """Both orders of the sums give PyG's function and the same gradients; "auto" picks per call."""
    torch.manual_seed(0)
    conv = BasisRGCNConv(8, 6, num_relations=7, num_bases=3, aggr=aggr)
    x = torch.randn(30, 8, requires_grad=True)
    edge_index = torch.randint(0, 30, (2, 90))
    edge_type = torch.randint(0, 7, (90,))
    reference = RGCNConv.forward(conv, x, edge_index, edge_type)
    results = {}
    for path in ("relation", "basis", "auto"):
        conv.path = path
        out = conv(x, edge_index, edge_type)
        torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
        grads = torch.autograd.grad(out.square().sum(), [x, conv.weight, conv.comp, conv.root, conv.bias])
        results[path] = grads
        assert conv(x, edge_index[:, :0], edge_type[:0]).shape == (30, 6)
    for a, b in zip(results["relation"], results["basis"]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    conv.path = "sideways"
    with pytest.raises(ValueError, match="sideways"):
        conv(x, edge_index, edge_type)


@pytest.mark.parametrize("gnn, layers, fusion, attention", [
    ("rgcn", 1, "cross_attention", "additive"), ("gatv2", 2, "greaselm", "dot"),
    ("transformer", 3, "cross_attention", "dot")])
def test_every_gnn_and_fusion_trains(tiny_backbone, gnn, layers, fusion, attention):
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone, gnn=gnn, gnn_layers=layers, fusion=fusion, attention=attention))
    m.train()
    g = make_graph([3, 4, 0])
    ids, am = text_inputs(3)
    out = m(ids, am, g, labels={"coarse": torch.tensor([0, 1, 2]), "fine": torch.tensor([3, -100, 0])})
    assert set(out.losses) == {"task:coarse", "task:fine", "link", "align"}
    assert all(torch.isfinite(v) for v in out.losses.values())
    out.loss.backward()
    # Gates start at 0, yet they receive gradient: the graph path is trainable from step one.
    assert all(b.gate.grad is not None and b.gate.grad.abs() > 0 for b in m.fusion)
    assert m.gnn.convs[0].lin_l.weight.grad.abs().sum() > 0 if gnn == "gatv2" else True
    assert m.node_encoder.proj.weight.grad.abs().sum() > 0
    assert len(m.gnn.convs) == layers


# ---------------------------------------------------------------- fusion: exactness and isolation
@pytest.mark.parametrize("attn_impl, fusion", [("eager", "cross_attention"), ("sdpa", "greaselm")])
def test_untrained_fused_model_equals_plain_backbone(tiny_backbone, attn_impl, fusion):
    from transformers import AutoModel

    plain = AutoModel.from_pretrained(tiny_backbone, attn_implementation=attn_impl).eval()
    m = KGAugmentedModel(make_config(tiny_backbone, fusion=fusion, attn_implementation=attn_impl)).eval()
    ids, am = text_inputs(3)
    with torch.no_grad():
        expected = plain(input_ids=ids, attention_mask=am).last_hidden_state
        out = m(ids, am, make_graph([3, 5, 0]))
    assert torch.equal(out.last_hidden_state, expected)
    assert set(out.gates) == {0, 1} and all(float(v) == 0.0 for v in out.gates.values())
    # The fusion really ran and its attention is a distribution over null + real nodes only.
    assert len(out.attentions) == 2 and out.attentions[0].shape == (3, 4, T, 1 + 5)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(3, 4, T))
    assert float(out.attentions[0][0, :, :, 1 + 3:].abs().max()) == 0.0


def test_backbone_called_alone_is_untouched(model, tiny_backbone):
    from transformers import AutoModel

    plain = AutoModel.from_pretrained(tiny_backbone).eval()
    ids, am = text_inputs(2)
    m = copy.deepcopy(model)
    open_gates(m)
    with torch.no_grad():
        assert torch.equal(m.backbone(input_ids=ids, attention_mask=am).last_hidden_state,
                           plain(input_ids=ids, attention_mask=am).last_hidden_state)


@pytest.mark.parametrize("fusion", ["cross_attention", "greaselm"])
def test_no_example_sees_another_examples_nodes(tiny_backbone, fusion):
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone, fusion=fusion, gnn="gatv2")).eval()
    open_gates(m)
    g = make_graph([3, 4, 2])
    ids, am = text_inputs(3)
    # Perturb example 1 only: its node features, hops, and one extra edge among its nodes.
    feats = g.node_features.clone()
    feats[1] += torch.randn_like(feats[1]) * g.node_mask[1].unsqueeze(-1)
    hop = g.hop.clone()
    hop[1, :4] = 2
    n = g.max_nodes
    extra = torch.tensor([[n + 0], [n + 3]])
    g2 = GraphBatch(node_features=feats, node_mask=g.node_mask, hop=hop, seed_mask=g.seed_mask,
                    edge_index=torch.cat([g.edge_index, extra], 1), edge_type=torch.cat([g.edge_type, torch.tensor([1])]),
                    node_ids=g.node_ids, mention_nodes=g.mention_nodes)
    with torch.no_grad():
        a, b = m(ids, am, g), m(ids, am, g2)
    assert not torch.allclose(a.last_hidden_state[1], b.last_hidden_state[1])  # the perturbation matters
    for i in (0, 2):
        assert torch.equal(a.last_hidden_state[i], b.last_hidden_state[i])
        for k in a.logits:
            assert torch.equal(a.logits[k][i], b.logits[k][i])
        assert torch.equal(a.attentions[1][i], b.attentions[1][i])
        assert torch.equal(a.node_states[i], b.node_states[i])


def test_examples_without_nodes_attend_only_to_the_null_node(model):
    m = copy.deepcopy(model)
    open_gates(m)
    ids, am = text_inputs(3)
    cases = {"mixed": make_graph([0, 3, 0]), "all-empty": make_graph([0, 0, 0], n=4),
             "zero-width": make_graph([0, 0, 0], n=0), "none": None}
    shapes = set()
    for name, g in cases.items():
        with torch.no_grad():
            out = m(ids, am, g, labels={"coarse": torch.tensor([0, 1, 2])})
        for att in out.attentions:
            assert torch.isfinite(att).all(), name
            for i in ([0, 2] if name == "mixed" else [0, 1, 2]):
                assert torch.equal(att[i, ..., 0], torch.ones_like(att[i, ..., 0])), name
        assert all(torch.isfinite(v).all() for v in out.logits.values()), name
        assert torch.isfinite(out.loss) and torch.isfinite(out.pooled_graph).all(), name
        shapes.add(tuple((k, tuple(v.shape)) for k, v in out.logits.items()) + (tuple(out.pooled_graph.shape),))
        assert (out.node_states is None) == (g is None)
    assert len(shapes) == 1  # same head shapes with and without a graph
    # No nodes at all = the pure null-node model: the mixed batch's empty rows match graph=None.
    with torch.no_grad():
        mixed, none = m(ids, am, cases["mixed"]), m(ids, am, None)
    torch.testing.assert_close(mixed.logits["coarse"][0], none.logits["coarse"][0], atol=1e-6, rtol=0)


def test_use_graph_false_is_the_same_architecture_without_graph_modules(tiny_backbone):
    m = KGAugmentedModel(make_config(tiny_backbone, use_graph=False)).eval()
    assert m.gnn is None and m.node_encoder is None and len(m.fusion) == 2
    ids, am = text_inputs(3)
    with pytest.warns(UserWarning, match="use_graph is False"):
        out = m(ids, am, make_graph([2, 2, 2]), labels={"coarse": torch.tensor([0, 1, 2])})
    assert set(out.losses) == {"task:coarse"} and out.node_states is None
    assert out.logits["fine"].shape == (3, 4) and out.pooled_graph.shape == (3, 16)


def test_greaselm_updates_node_states_from_the_text(tiny_backbone):
    g = make_graph([3, 2])
    ids, am = text_inputs(2)
    other = ids.clone()
    other[:, 1:4] += 7
    states = {}
    for fusion in ("cross_attention", "greaselm"):
        torch.manual_seed(0)
        m = KGAugmentedModel(make_config(tiny_backbone, fusion=fusion)).eval()
        open_gates(m)
        with torch.no_grad():
            states[fusion] = (m(ids, am, g).node_states, m(other, am, g).node_states)
    assert torch.equal(*states["cross_attention"])      # nodes only read by the tokens
    assert not torch.allclose(*states["greaselm"])      # nodes updated from [CLS] at each fusion layer
    assert float(states["greaselm"][0][1, 2:].abs().max()) == 0.0  # padding stays zero


def test_padding_never_changes_an_examples_outputs(model):
    """An example gives the same logits alone and batched with a longer one (its padding skips fusion)."""
    m = copy.deepcopy(model)
    open_gates(m)
    g = make_graph([3, 4], t=9)
    ids, _ = text_inputs(2, t=9)
    am = torch.ones(2, 9, dtype=torch.long)
    am[0, 5:] = 0
    alone = GraphBatch(**{k: (v[:1] if k not in ("edge_index", "edge_type") else v) for k, v in g.__dict__.items()})
    keep = g.edge_index[0] < g.max_nodes
    alone = GraphBatch(**{**alone.__dict__, "edge_index": g.edge_index[:, keep], "edge_type": g.edge_type[keep],
                          "mention_nodes": g.mention_nodes[:1, :5]})
    with torch.no_grad():
        batched = m(ids, am, g)
        single = m(ids[:1, :5], am[:1, :5], alone)
    for k in batched.logits:
        torch.testing.assert_close(batched.logits[k][0], single.logits[k][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched.last_hidden_state[0, :5], single.last_hidden_state[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched.attentions[1][0, :, :5], single.attentions[1][0], atol=1e-5, rtol=1e-5)


def test_output_attentions_false_skips_weights_only(tiny_backbone):
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone)).eval()
    open_gates(m)
    ids, am = text_inputs(3)
    g = make_graph([3, 4, 0])
    labels = {"coarse": torch.tensor([0, 1, 2])}
    with torch.no_grad():
        full = m(ids, am, g)
        lean = m(ids, am, g, output_attentions=False)
        # The alignment loss needs the weights: they are computed (and returned) anyway.
        with_loss = m(ids, am, g, labels=labels, output_attentions=False)
    assert len(full.attentions) == 2 and lean.attentions == [] and len(with_loss.attentions) == 2
    assert set(lean.gates) == set(full.gates)
    for k in full.logits:
        torch.testing.assert_close(lean.logits[k], full.logits[k], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lean.last_hidden_state, full.last_hidden_state, atol=1e-5, rtol=1e-5)
    assert "align" in with_loss.losses


def test_tuple_returning_layers_are_supported(model):
    """transformers 4.x layers return (hidden, ...) tuples; the hook keeps the extra items."""
    from kgattn.models.model import _FusionState

    m = copy.deepcopy(model)
    open_gates(m)
    hidden = torch.randn(2, T, 32)
    g = make_graph([2, 3])
    nodes = torch.randn(2, g.max_nodes, 16)
    m._state = _FusionState(nodes=nodes, node_mask=g.node_mask)
    try:
        as_tensor = m._fusion_hook(0, None, (), hidden)
        as_tuple = m._fusion_hook(0, None, (), (hidden, "extra"))
    finally:
        m._state = None
    assert isinstance(as_tuple, tuple) and as_tuple[1] == "extra"
    assert torch.equal(as_tuple[0], as_tensor) and not torch.equal(as_tensor, hidden)


def test_gradient_checkpointing_is_refused_clearly(model):
    m = copy.deepcopy(model).train()
    enable = getattr(m.backbone, "activation_checkpointing_enable", None) or m.backbone.gradient_checkpointing_enable
    enable()
    ids, am = text_inputs(2)
    with pytest.raises(ConfigError, match="gradient checkpointing"):
        m(ids, am, make_graph([2, 3]))


def test_deepcopy_retargets_the_layer_hooks(model):
    ids, am = text_inputs(2)
    g = make_graph([2, 3])
    clone = copy.deepcopy(model)
    open_gates(clone)
    with torch.no_grad():
        base, changed = model(ids, am, g), clone(ids, am, g)
    assert all(float(v) == 0.0 for v in base.gates.values())
    assert all(float(v) > 0.5 for v in changed.gates.values())
    assert not torch.equal(base.last_hidden_state, changed.last_hidden_state)


def test_additive_scoring_block_masks_padding():
    torch.manual_seed(0)
    block = GatedCrossAttention(8, 6, heads=2, attention="additive", dropout=0.0)
    h = torch.randn(2, 5, 8)
    nodes = torch.randn(2, 3, 6)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    out, att = block(h, nodes, mask)
    assert torch.equal(out, h)  # gate 0
    assert att.shape == (2, 2, 5, 4)
    assert float(att[0, ..., 2].detach().abs().max()) == 0.0 and torch.equal(att[1, ..., 0], torch.ones(2, 5))


def _fusion_inputs(seed: int = 0):
    """3 examples: 4 and 0 (of 5) real nodes and 2 real nodes; 7, 4 and 2 (of 7) real tokens."""
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(3, 7, 8, generator=gen)
    nodes = torch.randn(3, 5, 6, generator=gen)
    node_mask = torch.tensor([[True] * 4 + [False], [False] * 5, [True, True, False, False, False]])
    token_mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3, [True] * 2 + [False] * 5])
    return h, nodes, node_mask, token_mask


def test_fusion_fold_project_and_sdpa_paths_agree():
    """The folded and projected orders (and SDPA without weights) compute one function, gradients included."""
    torch.manual_seed(0)
    block = GatedCrossAttention(8, 6, heads=2, dropout=0.0)
    with torch.no_grad():
        block.gate.fill_(0.8)
    h, nodes, node_mask, token_mask = _fusion_inputs()
    results = {}
    for path in ("fold", "project"):
        block.path = path
        for need_weights in (True, False):
            block.zero_grad()
            out, att = block(h, nodes, node_mask, token_mask=token_mask, need_weights=need_weights)
            assert (att is None) == (not need_weights)
            out.square().sum().backward()
            # Every parameter is in the graph (DDP needs it), k's bias included though its gradient is ~0.
            assert all(p.grad is not None for p in block.parameters())
            results[path, need_weights] = (out.detach(), att, {n: p.grad.clone() for n, p in block.named_parameters()})
    ref_out, ref_att, ref_grads = results["project", True]
    assert ref_att.shape == (3, 2, 7, 6) and ref_att.dtype == torch.float32
    for key, (out, att, grads) in results.items():
        torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5, msg=str(key))
        if att is not None:
            torch.testing.assert_close(att, ref_att, atol=1e-5, rtol=1e-5, msg=str(key))
        for name, g in grads.items():
            torch.testing.assert_close(g, ref_grads[name], atol=1e-5, rtol=1e-5, msg=f"{key} {name}")
    # Padding tokens pass through untouched and put all their weight on the null node.
    assert torch.equal(ref_out[~token_mask], h[~token_mask])
    assert torch.equal(ref_att.permute(0, 2, 1, 3)[~token_mask][..., 0], torch.ones(8, 2))
    # Real tokens are computed as without the token mask (the projections just skip padding rows).
    for path in ("fold", "project"):
        block.path = path
        with torch.no_grad():
            full, full_att = block(h, nodes, node_mask)
        torch.testing.assert_close(full[token_mask], ref_out[token_mask], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(full_att.permute(0, 2, 1, 3)[token_mask],
                                   ref_att.permute(0, 2, 1, 3)[token_mask], atol=1e-5, rtol=1e-5)
    block.path = "diagonal"
    with pytest.raises(ValueError, match="diagonal"):
        block(h, nodes, node_mask)


def test_fusion_auto_path_picks_fewer_multiply_adds():
    block = GatedCrossAttention(384, 128, heads=4)
    assert block._folds(real=350, b=32, t=17, keys=33)          # short questions, 32 nodes: fold
    assert not block._folds(real=4096, b=32, t=128, keys=33)    # long texts: project keys and values
    assert not block._folds(real=350, b=32, t=17, keys=1)       # no nodes (the no-graph model)
    assert not GatedCrossAttention(8, 6, heads=2, attention="additive")._folds(1, 1, 1, 1000)


def test_folded_attention_dropout_keeps_the_value_bias_share():
    """With dropped weights that no longer sum to 1 the folded order scales b_v like the projected one."""

    class Halve(torch.nn.Module):  # deterministic stand-in for dropout (same in both layouts)
        p = 0.5

        def forward(self, x):
            return x * 0.5

    torch.manual_seed(0)
    block = GatedCrossAttention(8, 6, heads=2, dropout=0.0).train()
    block.attn_dropout = Halve()
    with torch.no_grad():
        block.gate.fill_(0.8)
        block.v.bias.normal_()
    h, nodes, node_mask, token_mask = _fusion_inputs(1)
    outs = {}
    for path in ("fold", "project"):
        block.path = path
        outs[path] = block(h, nodes, node_mask, token_mask=token_mask)[0]
    torch.testing.assert_close(outs["fold"], outs["project"], atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- losses
def test_alignment_loss_matches_definition():
    att = torch.softmax(torch.randn(2, 2, 3, 4, 5), -1)  # L=2 layers of [B=2, H=3, T=4, 1+N=5]
    target = torch.tensor([[-1, 0, 2, -1], [3, -1, -1, -1]])
    expected = -torch.stack([
        torch.log(att[:, 0, :, 1, 1]).mean(), torch.log(att[:, 0, :, 2, 3]).mean(),
        torch.log(att[:, 1, :, 0, 4]).mean()]).mean()
    torch.testing.assert_close(alignment_loss(list(att), target), expected)


def test_link_prediction_scores_and_negatives():
    h, r, t = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.0]), torch.tensor([2.0, -1.0])
    assert float(distmult_score(h, r, t)) == pytest.approx(1.0 * 0.5 * 2.0 + 2.0 * 1.0 * -1.0)
    assert float(transe_score(h, r, t, margin=3.0)) == pytest.approx(3.0 - float(torch.tensor([-0.5, 4.0]).norm()))
    torch.manual_seed(0)
    nodes = torch.randn(6, 4, requires_grad=True)
    mask = torch.tensor([True, True, True, False, False, False])
    ei = torch.tensor([[0, 1], [1, 2]])
    rel = torch.randn(2, 4)
    for scorer in ("distmult", "transe"):
        loss = LinkPredictionLoss(scorer, num_negatives=16)(nodes, mask, ei, rel)
        loss.backward()
        assert torch.isfinite(loss) and loss > 0
        assert float(nodes.grad[3:].abs().max()) == 0.0  # padding nodes are never drawn as negatives
        nodes.grad = None
    # A single candidate node that is always the true tail leaves no valid negative: positive term only.
    one = torch.tensor([False, True, False, False, False, False])
    loss = LinkPredictionLoss("distmult", 4)(nodes, one, torch.tensor([[1], [1]]), rel[:1])
    torch.testing.assert_close(loss, -torch.nn.functional.logsigmoid(distmult_score(nodes[1], rel[0], nodes[1])))


def test_link_targets_are_held_out_of_message_passing(tiny_backbone):
    torch.manual_seed(0)
    g = make_graph([3, 4])
    no_edges = GraphBatch(**{**g.__dict__, "edge_index": g.edge_index[:, :0], "edge_type": g.edge_type[:0]})
    e = g.edge_type.numel()
    m = KGAugmentedModel(make_config(tiny_backbone, link_edge_fraction=1.0, dropout=0.0)).eval()
    with torch.no_grad():
        held, targets = m.encode_graph(g, hold_out_edges=True)
        assert sorted(targets.tolist()) == list(range(e))
        torch.testing.assert_close(held, m.encode_graph(no_edges)[0])       # predicted edges were not seen
        full, targets = m.encode_graph(g)
        assert targets.tolist() == list(range(e)) and not torch.allclose(full, held)
    m = KGAugmentedModel(make_config(tiny_backbone, link_edge_fraction=0.25))
    assert m.encode_graph(g, hold_out_edges=True)[1].numel() == round(0.25 * e)


def test_loss_weighting_fixed_and_uncertainty():
    losses = {"task:a": torch.tensor(2.0), "link": torch.tensor(0.5)}
    fixed = LossWeighting(["task:a", "link", "align"], "fixed", {"task:a": 1.0, "link": 0.1, "align": 0.1})
    assert float(fixed(losses)) == pytest.approx(2.0 + 0.05)
    unc = LossWeighting(["task:a", "link", "align"], "uncertainty")
    with torch.no_grad():
        unc.log_vars.copy_(torch.tensor([0.5, -1.0, 3.0]))
    expected = torch.exp(torch.tensor(-0.5)) * 2.0 + 0.5 + torch.exp(torch.tensor(1.0)) * 0.5 - 1.0
    assert float(unc(losses).detach()) == pytest.approx(float(expected))
    unc(losses).backward()
    assert unc.log_vars.grad[2] == 0 and unc.log_vars.grad[0] != 0  # absent terms do not move


def test_model_losses_weighting_and_terms(tiny_backbone):
    torch.manual_seed(0)
    weights = {"task:coarse": 1.0, "task:fine": 0.5, "link": 0.3, "align": 0.2}
    m = KGAugmentedModel(make_config(tiny_backbone, loss_weights=weights, link_prediction="transe")).eval()
    ids, am = text_inputs(3)
    labels = {"coarse": torch.tensor([0, 1, 2]), "fine": torch.tensor([3, 2, 1])}
    with torch.no_grad():
        out = m(ids, am, make_graph([3, 4, 2]), labels=labels)
        assert set(out.losses) == set(weights)
        torch.testing.assert_close(out.loss, sum(weights[k] * v for k, v in out.losses.items()))
        ce = torch.nn.functional.cross_entropy(out.logits["fine"], labels["fine"])
        torch.testing.assert_close(out.losses["task:fine"], ce)
        torch.testing.assert_close(out.losses["align"], alignment_loss(out.attentions, make_graph([3, 4, 2]).mention_nodes))
        # Terms without targets are absent; no labels -> no loss.
        out = m(ids, am, make_graph([0, 0, 0], n=2), labels={"coarse": torch.tensor([0, -100, 1])})
        assert set(out.losses) == {"task:coarse"}
        assert m(ids, am, make_graph([2, 2, 2])).loss is None
    u = KGAugmentedModel(make_config(tiny_backbone, loss_weighting="uncertainty"))
    assert any(p is u.loss_weighting.log_vars for p in u.new_parameters())


def test_bad_labels_and_graphs_raise_clear_errors(model):
    ids, am = text_inputs(2)
    g = make_graph([2, 3])
    with pytest.raises(LabelError, match="unknown task 'topic'"):
        model(ids, am, g, labels={"topic": torch.tensor([0, 1])})
    with pytest.raises(LabelError, match="label 7 of task 'coarse' at index 1"):
        model(ids, am, g, labels={"coarse": torch.tensor([0, 7])})
    with pytest.raises(LabelError, match="shape"):
        model(ids, am, g, labels={"coarse": torch.tensor([0.0, 1.0])})
    n = g.max_nodes
    cross = GraphBatch(**{**g.__dict__, "edge_index": torch.tensor([[0], [n + 1]]), "edge_type": torch.tensor([0])})
    with pytest.raises(ValueError, match="joins two examples"):
        model(ids, am, cross)
    bad_rel = GraphBatch(**{**g.__dict__, "edge_type": torch.full_like(g.edge_type, R)})
    with pytest.raises(ValueError, match="edge_type"):
        model(ids, am, bad_rel)
    mention = g.mention_nodes.clone()
    mention[0, 4] = 2  # example 0 has only 2 real nodes
    with pytest.raises(ValueError, match=r"mention_nodes\[0, 4\]"):
        model(ids, am, GraphBatch(**{**g.__dict__, "mention_nodes": mention}))
    with pytest.raises(ValueError, match="node_feature_dim"):
        model(ids, am, g.with_features(torch.zeros(2, n, F_DIM + 1)))


# ---------------------------------------------------------------- parameters, persistence, precision
def test_parameter_groups_partition_the_model(model, tiny_backbone):
    from transformers import AutoModel

    back, new = model.backbone_parameters(), model.new_parameters()
    ids_b, ids_n = {id(p) for p in back}, {id(p) for p in new}
    assert not ids_b & ids_n and ids_b | ids_n == {id(p) for p in model.parameters()}
    plain_keys = {k for k in AutoModel.from_pretrained(tiny_backbone).state_dict() if not k.startswith("pooler.")}
    assert set(model.backbone.state_dict()) == plain_keys
    assert any(p is model.fusion[0].gate for p in new)
    m = copy.deepcopy(model)
    open_gates(m)
    before = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    m.reset_parameters()
    assert all(float(b.gate.detach()) == 0.0 for b in m.fusion)
    assert all(torch.equal(v, before[k]) for k, v in m.backbone.state_dict().items())
    assert not torch.equal(m.heads.heads[0].weight, model.heads.heads[0].weight)


def test_save_and_load_gives_identical_outputs_offline(tiny_backbone, tmp_path):
    from transformers import AutoTokenizer

    backbone_copy = tmp_path / "backbone"
    shutil.copytree(tiny_backbone, backbone_copy)
    torch.manual_seed(0)
    # Tasks out of alphabetical order and of equal size: swapped heads would load without error.
    m = KGAugmentedModel(make_config(str(backbone_copy), fusion="greaselm", gnn="transformer",
                                     tasks={"fine": 4, "coarse": 4}, loss_weighting="uncertainty")).eval()
    open_gates(m, 0.3)
    with torch.no_grad():
        m.loss_weighting.log_vars.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    saved = m.save_pretrained(tmp_path / "saved")
    shutil.rmtree(backbone_copy)  # the saved directory must be self-contained
    cfg = json.loads((saved / "config.json").read_text())
    assert cfg["backbone_config"]["hidden_size"] == 32 and cfg["fusion"] == "greaselm"
    loaded = KGAugmentedModel.from_pretrained(saved)
    assert loaded.heads.task_names == ["fine", "coarse"] and loaded.config == m.config
    ids, am = text_inputs(3)
    g = make_graph([3, 0, 2])
    with torch.no_grad():
        a, b = m(ids, am, g), loaded(ids, am, g)
    for k in a.logits:
        assert torch.equal(a.logits[k], b.logits[k])
    assert torch.equal(a.last_hidden_state, b.last_hidden_state)
    assert torch.equal(loaded.loss_weighting.log_vars, m.loss_weighting.log_vars)
    assert AutoTokenizer.from_pretrained(saved)("a question")["input_ids"][0] == 101
    (saved / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match="model.safetensors"):
        KGAugmentedModel.from_pretrained(saved)


def test_forward_under_bf16_autocast(model):
    m = copy.deepcopy(model).train()
    open_gates(m, 0.2)
    ids, am = text_inputs(3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(ids, am, make_graph([3, 4, 0]), labels={"coarse": torch.tensor([0, 1, 2])})
    assert torch.isfinite(out.loss) and all(torch.isfinite(a).all() for a in out.attentions)
    assert out.loss.dtype == torch.float32
    out.loss.backward()
    assert m.fusion[0].gate.grad is not None and torch.isfinite(m.fusion[0].gate.grad)


def _train_on_identical_texts(m, g, y, check=None, steps: int = 25):
    """Train ``m``'s new layers (Adam, lr 1e-2) on texts that are all the same, so only the graph
    can tell the labels ``y`` apart; ``check(out)`` sees every training output. Returns the texts
    (ids, mask); ``m`` is left in eval mode."""
    opt = torch.optim.Adam(m.new_parameters(), lr=1e-2)
    ids = torch.full((len(y), 6), 2000)
    ids[:, 0] = 101
    am = torch.ones_like(ids)
    for _ in range(steps):
        out = m(ids, am, g, labels={"y": y})
        if check is not None:
            check(out)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    m.eval()
    return ids, am


def test_graph_signal_reaches_the_heads(tiny_backbone):
    """Identical texts, labels decided by the nodes only: the graph model learns, chance otherwise."""
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone, tasks={"y": 2}, link_prediction=None, alignment=False,
                                     dropout=0.0))
    b, n = 8, 3
    y = torch.tensor([0, 1] * (b // 2))
    g = make_graph([n] * b, mentions=False)
    feats = torch.randn(2, F_DIM)[y].unsqueeze(1).expand(b, n, F_DIM).contiguous()
    g = g.with_features(feats)
    ids, am = _train_on_identical_texts(m, g, y)
    with torch.no_grad():
        assert torch.equal(m(ids, am, g).logits["y"].argmax(-1), y)
        no_graph = m(ids, am, None).logits["y"]
    assert torch.allclose(no_graph[0], no_graph[1])  # without the graph the examples are identical


@pytest.mark.integration
def test_minilm_backbone_is_exact_when_untrained(minilm_path):
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(minilm_path)
    enc = tok(["What is the capital of France?", "Who wrote Hamlet?"], padding=True, return_tensors="pt")
    cfg = KGAugmentedConfig(backbone="minilm", tasks={"coarse": 6}, num_relations=R, node_feature_dim=384)
    m = KGAugmentedModel(cfg).eval()
    assert m.fusion_layers == [4, 5]
    plain = AutoModel.from_pretrained(minilm_path).eval()
    g = make_graph([2, 0], t=enc["input_ids"].shape[1])
    g = g.with_features(torch.randn(2, g.max_nodes, 384))
    with torch.no_grad():
        out = m(enc["input_ids"], enc["attention_mask"], g, token_type_ids=enc["token_type_ids"])
        ref = plain(**enc).last_hidden_state
    assert torch.equal(out.last_hidden_state, ref)


# ---------------------------------------------------------------- graph-features-only baseline
def test_node_bag_is_a_linear_layer_over_the_normalised_bag():
    from kgattn.models.bag import NodeBag

    torch.manual_seed(0)
    bag = NodeBag(buckets=7, num_relations=R, out_dim=4).eval()
    g = make_graph([3, 0, 2], n=4)
    out = bag(g)
    assert out.shape == (3, 4)
    assert torch.equal(out[1], torch.zeros(4))  # no nodes, no edges: nothing
    for i in (0, 2):
        ids = g.node_ids[i][g.node_mask[i]]
        rows = (ids * 2654435761) % 7
        multi_hot = torch.zeros(7).index_add_(0, rows, torch.ones(len(rows))) / len(rows)
        mine = (g.edge_index[0] // 4) == i
        counts = torch.bincount(g.edge_type[mine], minlength=R).float()
        expected = multi_hot @ bag.nodes.weight + bag.relations(counts / counts.sum().clamp(min=1))
        assert torch.allclose(out[i], expected, atol=1e-6)
    # A permutation of the nodes inside an example changes nothing (it is a bag).
    perm = torch.tensor([2, 0, 1, 3])
    g2 = GraphBatch(**{**g.__dict__, "node_ids": g.node_ids.clone()})
    g2.node_ids[0] = g.node_ids[0][perm]
    assert torch.allclose(bag(g2)[0], out[0], atol=1e-6)


def test_bag_model_has_no_fusion_and_learns_from_the_nodes(tiny_backbone):
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone, tasks={"y": 2}, fusion="bag", bag_buckets=64, dropout=0.0))
    assert len(m.fusion) == 0 and m.gnn is None and m.pool is None and m.bag is not None
    assert m.config.loss_terms() == ["task:y"] and m.gate_parameters() == []
    b = 8
    y = torch.tensor([0, 1] * (b // 2))
    g = make_graph([2] * b, mentions=False)
    # Label = which of two node ids the example holds; texts are identical.
    g = GraphBatch(**{**g.__dict__, "node_ids": torch.where(g.node_mask, (y * 5 + 1).view(b, 1).expand(b, 2), -1)})
    def check(out):
        assert set(out.losses) == {"task:y"} and out.attentions == [] and out.node_states is None

    ids, am = _train_on_identical_texts(m, g, y, check)
    with torch.no_grad():
        assert torch.equal(m(ids, am, g).logits["y"].argmax(-1), y)
        plain = m(ids, am, None)
    assert torch.allclose(plain.logits["y"][0], plain.logits["y"][1])
    assert torch.equal(plain.pooled_graph, torch.zeros(b, 16))


def test_gate_parameters_are_the_fusion_gates(tiny_backbone):
    m = KGAugmentedModel(make_config(tiny_backbone, fusion="greaselm"))
    gates = m.gate_parameters()
    assert len(gates) == 3 * len(m.fusion) and all(p.ndim == 0 for p in gates)
    assert {id(p) for p in gates} <= {id(p) for p in m.new_parameters()}


def test_graph_dropout_hides_whole_subgraphs_in_training_only(tiny_backbone):
    """With graph_dropout the fusion blocks of a dropped example attend to the null node alone;
    at inference every example keeps its graph."""
    torch.manual_seed(0)
    m = KGAugmentedModel(make_config(tiny_backbone, graph_dropout=0.999)).train()
    ids, am = text_inputs(3)
    g = make_graph([3, 4, 2])
    out = m(ids, am, g, labels={"coarse": torch.tensor([0, 1, 2])})
    assert torch.isfinite(out.loss) and "align" not in out.losses   # no mention target is left
    torch.testing.assert_close(out.attentions[0][..., 0], torch.ones_like(out.attentions[0][..., 0]))
    with torch.no_grad():
        evaluated = m.eval()(ids, am, g)
    assert float(evaluated.attentions[0][0, :, :, 0].mean().detach()) < 0.9   # example 0 attends to its 3 nodes
    with pytest.raises(ConfigError, match="graph_dropout"):
        make_config(tiny_backbone, graph_dropout=1.0)
