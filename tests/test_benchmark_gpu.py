"""``benchmarks/gpu.py`` runs on a CPU in small mode and writes every field it promises."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_benchmark_cpu_small(tiny_backbone, tmp_path):
    out = tmp_path / "gpu.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "KGATTN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--device", "cpu", "--small",
                           "--backbone", tiny_backbone, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = json.loads(out.read_text())

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu import FIELDS

    assert set(FIELDS) <= set(res), sorted(set(FIELDS) - set(res))
    assert res["device"] == "cpu" and res["precision"] == "fp32" and res["sizes"]["small"] is True
    for key in ("train_step_ms", "infer_texts_per_s"):
        assert set(res[key]) == {"graph", "no_graph"}
        assert all(math.isfinite(v) and v > 0 for v in res[key].values()), res[key]
    ratios = res["ratios"]
    assert math.isclose(ratios["train_step_time_graph_over_no_graph"],
                        res["train_step_ms"]["graph"] / res["train_step_ms"]["no_graph"])
    assert math.isclose(ratios["infer_throughput_no_graph_over_graph"],
                        res["infer_texts_per_s"]["no_graph"] / res["infer_texts_per_s"]["graph"])
    assert res["peak_gpu_memory_mb"] is None and res["peak_rss_mb"] > 0
    nf = res["node_features"]
    assert nf["nodes"] > 0 and nf["nodes_per_s"] > 0 and nf["dim"] == 32  # the tiny backbone's hidden size
    # on a CPU the data-path checks report themselves as not applicable, and nothing was copied
    assert res["transfer_check"]["applicable"] is False and res["transfer_check"]["copies_in_forward"] == 0
    assert res["transfer_check"]["batch_tensors"] >= 10
    sync = res["sync_check"]
    assert sync["applicable"] is False and sync["fired"] is None
    # ... but the device paths, forced on the CPU, dispatch no synchronising operator from kgattn code
    assert sync["dispatched"]["sync_free"] is True and sync["dispatched"]["kgattn_sites"] == []
    shapes = res["batch_shapes"]
    assert shapes["node_features"][0] == res["sizes"]["batch_size"] and shapes["node_features"][2] == 32
    assert shapes["edges"] > 0 and res["command"].startswith("python benchmarks/gpu.py --device cpu --small")
