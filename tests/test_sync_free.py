"""The device paths (taken on a GPU) dispatch no operator that synchronises the host with the
device, and compute what the CPU paths compute."""
from __future__ import annotations

import pytest
import torch

from kgattn.models import KGAugmentedModel
from kgattn.models.sync import SyncRecorder, device_paths
from test_models import make_config, make_graph, open_gates, text_inputs


def _inputs(b: int = 3):
    ids, mask = text_inputs(b)
    graph = make_graph([4, 0, 6][:b] if b <= 3 else [4] * b)
    labels = {"coarse": torch.tensor([0, 2, 1][:b]), "fine": torch.tensor([3, -100, 1][:b])}
    return ids, mask, graph, labels


@pytest.mark.parametrize("fusion", ["cross_attention", "greaselm"])
def test_fused_forward_and_losses_dispatch_no_synchronising_op(tiny_backbone, fusion):
    torch.manual_seed(0)
    model = KGAugmentedModel(make_config(tiny_backbone, fusion=fusion)).train()
    open_gates(model)
    ids, mask, graph, labels = _inputs()
    recorder = SyncRecorder()
    with device_paths(), recorder:
        out = model(ids, mask, graph=graph, labels=labels)
    assert recorder.kgattn_sites() == [], recorder.kgattn_sites()
    assert {"task:coarse", "task:fine", "link", "align"} <= set(out.losses) and torch.isfinite(out.loss)
    # The host paths do synchronise (they pack tokens, group edges, check the batch): the recorder sees them.
    recorder = SyncRecorder()
    with recorder:
        model(ids, mask, graph=graph, labels=labels)
    assert recorder.kgattn_sites()


def test_device_paths_compute_what_the_host_paths_compute(tiny_backbone):
    torch.manual_seed(0)
    model = KGAugmentedModel(make_config(tiny_backbone, link_prediction=None)).eval()
    open_gates(model)
    ids, mask, graph, labels = _inputs()
    with torch.no_grad():
        host = model(ids, mask, graph=graph, labels=labels)
        with device_paths():
            device = model(ids, mask, graph=graph, labels=labels)
    for task in host.logits:
        torch.testing.assert_close(device.logits[task], host.logits[task], rtol=1e-4, atol=1e-5)
    assert set(device.losses) == set(host.losses) == {"task:coarse", "task:fine", "align"}
    for name in host.losses:
        torch.testing.assert_close(device.losses[name], host.losses[name], rtol=1e-4, atol=1e-5)
    # Real tokens are unchanged by where the padding went; padding rows are left as the backbone made them.
    real = mask.bool()
    torch.testing.assert_close(device.last_hidden_state[real], host.last_hidden_state[real], rtol=1e-4, atol=1e-5)
