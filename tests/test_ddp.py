"""Two-process DDP (CPU, gloo): training runs, and a 2-process prediction covers every input once.

Lightning's "ddp" strategy re-runs the launching script for rank 1, so the work runs in a
subprocess executing this file as a script (``python tests/test_ddp.py BACKBONE OUT``), never
inside pytest itself.

The multi-node test (issue 16, part 4) starts two ``torchrun --nnodes 2 --nproc_per_node 1``
processes on localhost, ``--node_rank 0`` and ``1``, rendezvous'd on 127.0.0.1 at a free port;
each runs ``python tests/test_ddp.py BACKBONE OUT multinode``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


NUM_PREDICT = 23  # odd: a padding DistributedSampler would predict one input twice


def test_ddp_two_cpu_processes(tiny_backbone, tmp_path):
    import torch
    from safetensors.torch import load_file

    from kgattn.training.trainer import merge_prediction_files

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("LOCAL_RANK", None)
    proc = subprocess.run([sys.executable, __file__, tiny_backbone, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    # training ran in both processes and DDP kept their weights identical
    w0, w1 = (load_file(tmp_path / f"weights-rank{r}.safetensors") for r in (0, 1))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    initial = load_file(tmp_path / "weights-initial.safetensors")
    assert any(not torch.equal(initial[k], w0[k]) for k in initial), "no parameter changed: nothing trained"
    assert (tmp_path / "fit" / "logs").is_dir()

    # prediction: two disjoint shares that together cover each input exactly once
    shares = [load_file(tmp_path / "pred" / f"predictions-rank{r}.safetensors")["index"] for r in (0, 1)]
    assert all(s.numel() > 0 for s in shares)
    both = torch.cat(shares)
    assert both.numel() == NUM_PREDICT and sorted(both.tolist()) == list(range(NUM_PREDICT))
    merged = merge_prediction_files(tmp_path / "pred", NUM_PREDICT)
    assert merged["probs/label"].shape == (NUM_PREDICT, 2)
    # and the distributed result equals a single-process prediction with the same weights
    single = load_file(tmp_path / "single.safetensors")["probs"]
    assert torch.allclose(merged["probs/label"], single, atol=1e-5)


def main(backbone: str, out: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_training_world import toy_corpus, toy_graph

    from kgattn.api import KGClassifier

    out = Path(out)
    kg, names = toy_graph(12)
    texts, labels, mentions = toy_corpus(kg, names, range(12), templates=("{name} rose.", "Shares of {name} fell."))
    clf = KGClassifier(kg=kg, backbone=backbone, max_epochs=2, batch_size=4, gnn_dim=8, strategy="ddp",
                       devices=2, accelerator="cpu", output_dir=str(out / "fit"), progress_bar=False)
    _fit_save_predict(clf, kg, backbone, out, texts, labels, mentions, int(os.environ.get("LOCAL_RANK", "0")))


def _fit_save_predict(clf, kg, backbone, out, texts, labels, mentions, rank: int) -> None:
    """Every rank: train (rank 0 first saves the initial weights), save its weights, predict its
    share with predict_distributed; rank 0 also predicts everything in one process."""
    import torch
    from safetensors.torch import save_file

    if rank == 0:
        _save_initial_weights(clf, kg, backbone, out)
    clf.fit(texts, labels, val=(texts[:8], labels[:8], mentions[:8]), mentions=mentions)
    save_file({k: v.contiguous() for k, v in clf.model_.state_dict().items()}, out / f"weights-rank{rank}.safetensors")
    probs = clf.predict_distributed(texts[:NUM_PREDICT], out / "pred", mentions=mentions[:NUM_PREDICT])
    if rank == 0:
        single = clf.predict_proba(texts[:NUM_PREDICT], mentions=mentions[:NUM_PREDICT])
        assert probs.shape == single.shape
        save_file({"probs": torch.from_numpy(single).contiguous()}, out / "single.safetensors")


def _save_initial_weights(clf, kg, backbone, out: Path) -> None:
    """The same seeded initialisation fit() builds, to check that training changed weights."""
    from safetensors.torch import save_file

    from kgattn.models import KGAugmentedModel
    from kgattn.training.config import TrainerConfig
    from kgattn.training.trainer import seed_everything

    seed_everything(TrainerConfig(seed=clf.seed))
    init = KGAugmentedModel(_config(clf, kg, backbone))
    save_file({k: v.contiguous() for k, v in init.state_dict().items()}, out / "weights-initial.safetensors")


def _config(clf, kg, backbone):
    from kgattn.models import KGAugmentedConfig
    from kgattn.embeddings import NodeEmbeddings, TextEncoder

    dim = NodeEmbeddings(kg, TextEncoder(backbone)).dim
    return KGAugmentedConfig(tasks={"label": 2}, backbone=backbone, node_feature_dim=dim,
                             num_relations=kg.num_relations, max_hops=clf.hops, gnn_dim=8, link_prediction=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_nodes_torchrun(tiny_backbone, tmp_path):
    """Two rendezvous'd torchrun "nodes" (one CPU process each, gloo): DDP training keeps the
    replicas equal, and sharded prediction covers every input row exactly once."""
    import torch
    from safetensors.torch import load_file

    from kgattn.training.trainer import merge_prediction_files

    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    for var in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK", "NODE_RANK"):
        env.pop(var, None)
    root = Path(__file__).parent.parent
    procs = []
    for node_rank in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
               "--node_rank", str(node_rank), "--master_addr", "127.0.0.1", "--master_port", str(port),
               __file__, tiny_backbone, str(tmp_path), "multinode"]
        log = open(tmp_path / f"node{node_rank}.log", "w")
        procs.append((subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT), log))
    deadline = time.monotonic() + 300
    for proc, log in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p, _ in procs:
                p.kill()
            raise
        finally:
            log.close()
    logs = "\n".join((tmp_path / f"node{r}.log").read_text()[-3000:] for r in (0, 1))
    assert all(p.returncode == 0 for p, _ in procs), logs

    # each node saw a world of 2 with its own global rank, through the gloo backend
    for rank in (0, 1):
        info = (tmp_path / f"dist-rank{rank}.txt").read_text().split()
        assert info == [str(rank), "2", "gloo"], info
    w0, w1 = (load_file(tmp_path / f"weights-rank{r}.safetensors") for r in (0, 1))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    initial = load_file(tmp_path / "weights-initial.safetensors")
    assert any(not torch.equal(initial[k], w0[k]) for k in initial), "no parameter changed: nothing trained"

    shares = [load_file(tmp_path / "pred" / f"predictions-rank{r}.safetensors")["index"] for r in (0, 1)]
    assert all(s.numel() > 0 for s in shares)
    both = torch.cat(shares)
    assert both.numel() == NUM_PREDICT and sorted(both.tolist()) == list(range(NUM_PREDICT))
    merged = merge_prediction_files(tmp_path / "pred", NUM_PREDICT)
    single = load_file(tmp_path / "single.safetensors")["probs"]
    assert torch.allclose(merged["probs/label"], single, atol=1e-5)


def main_multinode(backbone: str, out: str) -> None:
    """One torchrun "node": its global rank comes from ``RANK`` (``LOCAL_RANK`` is 0 on both)."""
    import torch.distributed as dist

    sys.path.insert(0, str(Path(__file__).parent))
    from test_training_world import toy_corpus, toy_graph

    from kgattn.api import KGClassifier

    out = Path(out)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    kg, names = toy_graph(12)
    texts, labels, mentions = toy_corpus(kg, names, range(12), templates=("{name} rose.", "Shares of {name} fell."))
    # Lightning checks devices * num_nodes == WORLD_SIZE under torchrun: one CPU process per node.
    clf = KGClassifier(kg=kg, backbone=backbone, max_epochs=2, batch_size=4, gnn_dim=8, strategy="ddp",
                       devices=1, num_nodes=world, accelerator="cpu", output_dir=str(out / "fit"),
                       progress_bar=False)
    _fit_save_predict(clf, kg, backbone, out, texts, labels, mentions, rank)
    (out / f"dist-rank{rank}.txt").write_text(f"{dist.get_rank()} {dist.get_world_size()} {dist.get_backend()}")


if __name__ == "__main__":
    if sys.argv[3:4] == ["multinode"]:
        main_multinode(*sys.argv[1:3])
    else:
        main(*sys.argv[1:3])
