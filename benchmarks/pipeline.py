"""Benchmark of the batch pipeline (issue 5).

Measures:

* streaming corpus reading: a synthetic 1M-row CSV read as exact 10k-row shards by
  :class:`kgattn.pipeline.corpus.CorpusReader` (validation, ids, splits) against the baseline
  ``pyarrow.csv.read_csv`` of the whole file, in the same process: throughput and peak RSS
  growth (sampled every 5 ms with psutil);
* the sharded predict stage (atomic part files, done markers, final merge) on 100k rows with the
  fast fake classifier, against the same classifier's ``predict_batches`` over an in-memory list:
  the pipeline's overhead;
* the quickstart, ``kgattn run pipelines/quickstart.yaml`` with the real MiniLM, end to end in a
  fresh process: wall time per stage (target: <= 5 minutes on 2 CPU cores) and accuracies.

Writes ``benchmarks/results/pipeline.json`` and ``pipeline.md`` with the exact command. The machine
is shared, so wall times come with CPU times and the load average.

Usage: ``python benchmarks/pipeline.py [--rows 1000000] [--predict-rows 100000] [--skip-quickstart]``
"""
from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test doubles (tests/doubles.py)

from kgattn.pipeline.corpus import CorpusReader, SplitRule  # noqa: E402
from kgattn.pipeline.runner import run_pipeline  # noqa: E402
from doubles import TOY_CITIES, FakeClassifier, FakeComponents, write_toy_world  # noqa: E402

QUICKSTART_TARGET_S = 300


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 5 ms in a thread."""

    def __enter__(self):
        gc.collect()
        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.growth_mb = (self.peak - self.base) / 2**20


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def write_corpus(path: Path, rows: int) -> None:
    cities = list(TOY_CITIES)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "label", "split"])
        for i in range(rows):
            city = cities[i % len(cities)]
            w.writerow([f"doc{i:08d}", f"Report {i} from {city}: markets, weather and a short note {i % 97}.",
                        TOY_CITIES[city], ("train", "train", "train", "val", "test")[i % 5]])


def rss_child(method: str, path: str) -> None:
    """Fresh-process memory probe: peak RSS growth of one full pass over ``path``."""
    import pyarrow.csv as pa_csv

    with PeakRSS() as m:
        if method == "stream":
            reader = CorpusReader(paths=(Path(path),), labels={"label": "label"}, split=SplitRule(column="split"))
            n = sum(t.num_rows for _, t in reader.shards(10_000))
        else:
            n = pa_csv.read_csv(path).num_rows
    print(json.dumps({"rows": n, "peak_rss_growth_mb": m.growth_mb}))


def fresh_rss(method: str, path: Path) -> float:
    out = subprocess.run([sys.executable, __file__, "--rss-child", method, str(path)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_growth_mb"]


def bench_reading(tmp: Path, rows: int, repeats: int) -> dict:
    import pyarrow.csv as pa_csv

    path = tmp / "big.csv"
    write_corpus(path, rows)
    reader = CorpusReader(paths=(path,), labels={"label": "label"}, split=SplitRule(column="split"))

    def stream():
        n = shards = 0
        for _, table in reader.shards(10_000):
            n += table.num_rows
            shards += 1
        return n, shards

    def whole():
        return pa_csv.read_csv(path).num_rows

    out = {"rows": rows, "file_mb": round(path.stat().st_size / 2**20, 1), "shard_rows": 10_000}
    stream_w, stream_mem, whole_w, whole_mem = [], [], [], []
    for _ in range(repeats):
        with PeakRSS() as m:
            (n, shards), w, c = timed(stream)
        assert n == rows
        stream_w.append(w)
        stream_mem.append(m.growth_mb)
        with PeakRSS() as m:
            n2, w2, c2 = timed(whole)
        assert n2 == rows
        whole_w.append(w2)
        whole_mem.append(m.growth_mb)
    # Memory: the first repeat is the honest one (the streaming pass runs first, on a cold
    # allocator); later repeats reuse memory the allocator kept. Max over repeats is reported.
    out.update(
        shards=shards,
        stream_s=statistics.median(stream_w), stream_rows_per_s=rows / statistics.median(stream_w),
        stream_peak_rss_growth_mb=max(stream_mem), stream_peak_rss_growth_mb_per_repeat=stream_mem,
        baseline_read_csv_s=statistics.median(whole_w),
        baseline_peak_rss_growth_mb=max(whole_mem), baseline_peak_rss_growth_mb_per_repeat=whole_mem,
        memory_ratio_baseline_over_stream=max(whole_mem) / max(max(stream_mem), 1e-9),
        time_ratio_stream_over_baseline=statistics.median(stream_w) / statistics.median(whole_w),
        repeats=repeats)
    # Memory in fresh processes, at two corpus sizes: streaming stays flat, a whole read grows.
    big = tmp / "big3.csv"
    write_corpus(big, 3 * rows)
    out["fresh_process_rss_growth_mb"] = {
        f"{n:,} rows": {"stream": fresh_rss("stream", p), "read_csv": fresh_rss("read_csv", p)}
        for n, p in ((rows, path), (3 * rows, big))}
    big.unlink()
    return out


def bench_predict(tmp: Path, rows: int) -> dict:
    spec_path = write_toy_world(tmp / "world", rows=200, predict_shard_rows=5000)
    inp = tmp / "predict.csv"
    write_corpus(inp, rows)
    spec_path.write_text(spec_path.read_text().replace(
        "predict: {", f"predict: {{input: {{paths: [{inp}]}}, "))
    components = FakeComponents()
    run_pipeline(spec_path, stages=["train"], components=components, progress=False, log=lambda m: None)
    with PeakRSS() as m:
        result, w, c = timed(lambda: run_pipeline(spec_path, stages=["predict"], components=components,
                                                  progress=False, log=lambda m: None))
    out_rows = result.stages["predict"]["rows"]
    assert out_rows == rows
    # Baseline: the same model and linker over the same texts held in memory, no shards or files.
    import pyarrow.csv as pa_csv

    run = result.run_dir
    kg = components.load_kg(run / "kg" / "graph")
    model = FakeClassifier.load(run / "train" / "model", kg=kg, linker=components.make_linker(kg, None))

    def baseline():
        texts = pa_csv.read_csv(inp).column("text").to_pylist()
        return sum(len(b) for b in model.predict_batches(texts, None))

    with PeakRSS() as mb:
        n, wb, cb = timed(baseline)
    assert n == rows
    return {"rows": rows, "shard_rows": 5000, "pipeline_s": w, "pipeline_cpu_s": c,
            "pipeline_rows_per_s": rows / w, "pipeline_peak_rss_growth_mb": m.growth_mb,
            "baseline_in_memory_s": wb, "baseline": "read_csv of the whole file + predict_batches over the list", "baseline_peak_rss_growth_mb": mb.growth_mb,
            "overhead_ratio": w / wb}


def bench_quickstart(tmp: Path) -> dict:
    run_dir = tmp / "quickstart-run"
    cmd = [str(Path(sys.executable).parent / "kgattn"), "run", "pipelines/quickstart.yaml", "--run-dir",
           str(run_dir), "--no-progress"]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"command": " ".join(shlex.quote(c) for c in cmd), "returncode": proc.returncode,
           "wall_s": wall, "children_cpu_s": child.ru_utime + child.ru_stime,
           "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
           "target_s": QUICKSTART_TARGET_S}
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-3000:]
        return out
    out["stages_s"] = {s: json.loads((run_dir / s / "stage.json").read_text())["seconds"]
                       for s in ("link", "train", "evaluate")}
    metrics = json.loads((run_dir / "evaluate" / "metrics.json").read_text())
    task = metrics["tasks"]["sector"]
    out["accuracy"] = {v: m["accuracy"]["mean"] for v, m in task["variants"].items()}
    out["macro_f1"] = {v: m["macro_f1"]["mean"] for v, m in task["variants"].items()}
    paired = task["paired"]["full_vs_no_graph"]
    out["full_minus_no_graph"] = {"diff": paired["bootstrap"]["diff"], "low": paired["bootstrap"]["low"],
                                  "high": paired["bootstrap"]["high"],
                                  "permutation_p": paired["permutation"]["p_value"]}
    out["n_test"] = metrics["n_eval"]
    return out


def write_results(results: dict, command: str) -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=1) + "\n")
    r, p, q = results.get("reading"), results.get("predict"), results.get("quickstart")
    lines = ["# Batch pipeline benchmark", "",
             f"Command: `{command}` ({results['machine']}). Load average {results['load_average_start']:.1f} "
             f"at start, {results['load_average_end']:.1f} at end: the machine is shared, timings are upper "
             "bounds.", ""]
    if r:
        lines += ["## Streaming corpus reading", "",
                  f"{r['rows']:,}-row CSV ({r['file_mb']} MiB), {r['shards']} shards of {r['shard_rows']:,}; "
                  f"{r['repeats']} runs each, alternating, in one process: wall time is the median, "
                  "peak RSS growth the maximum over runs.", "",
                  "| reader | wall s | rows/s | peak RSS growth MiB |", "|---|---|---|---|",
                  f"| CorpusReader.shards (validated, normalised) | {r['stream_s']:.2f} | "
                  f"{r['stream_rows_per_s']:,.0f} | {r['stream_peak_rss_growth_mb']:.0f} |",
                  f"| baseline pyarrow.csv.read_csv (whole file) | {r['baseline_read_csv_s']:.2f} | "
                  f"{r['rows'] / r['baseline_read_csv_s']:,.0f} | {r['baseline_peak_rss_growth_mb']:.0f} |", "",
                  f"Memory: baseline / streaming = {r['memory_ratio_baseline_over_stream']:.1f}x; "
                  f"time: streaming / baseline = {r['time_ratio_stream_over_baseline']:.1f}x.", "",
                  "Peak RSS growth of one pass in a fresh process (MiB), at two corpus sizes:", "",
                  "| corpus | CorpusReader.shards | pyarrow.csv.read_csv |", "|---|---|---|",
                  *[f"| {k} | {v['stream']:.0f} | {v['read_csv']:.0f} |"
                    for k, v in r["fresh_process_rss_growth_mb"].items()], ""]
    if p:
        lines += ["## Sharded predict stage (fake classifier)", "",
                  f"{p['rows']:,} rows, shards of {p['shard_rows']:,}: pipeline {p['pipeline_s']:.2f} s "
                  f"({p['pipeline_rows_per_s']:,.0f} rows/s, peak RSS growth {p['pipeline_peak_rss_growth_mb']:.0f} MiB) "
                  f"vs. in-memory predict_batches {p['baseline_in_memory_s']:.2f} s (peak RSS growth "
                  f"{p['baseline_peak_rss_growth_mb']:.0f} MiB): overhead ratio {p['overhead_ratio']:.2f}x.", ""]
    if q:
        lines += ["## Quickstart (real MiniLM, CPU)", "", f"Command: `{q['command']}`", ""]
        if q["returncode"] != 0:
            lines += [f"FAILED (exit {q['returncode']}).", ""]
        else:
            ok = "yes" if q["wall_s"] <= q["target_s"] else "no"
            lines += ["| measure | value |", "|---|---|",
                      f"| wall time, whole run | {q['wall_s']:.0f} s (target <= {q['target_s']} s: {ok}) |",
                      f"| CPU time (all threads) | {q['children_cpu_s']:.0f} s |",
                      *[f"| stage {s} | {v:.0f} s |" for s, v in q["stages_s"].items()],
                      *[f"| test accuracy, {v} | {a:.3f} |" for v, a in q["accuracy"].items()],
                      f"| full − no-graph (95% CI), permutation p | {q['full_minus_no_graph']['diff']:+.3f} "
                      f"[{q['full_minus_no_graph']['low']:+.3f}, {q['full_minus_no_graph']['high']:+.3f}], "
                      f"p = {q['full_minus_no_graph']['permutation_p']:.2g} (n = {q['n_test']}) |", ""]
    (out / "pipeline.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--predict-rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-quickstart", action="store_true")
    ap.add_argument("--rss-child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/pipeline.py", *sys.argv[1:]])
    results = {"command": command, "load_average_start": os.getloadavg()[0],
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory(prefix="kgattn-bench-") as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("KGATTN_CACHE", str(tmp / "cache"))
        results["reading"] = bench_reading(tmp, args.rows, args.repeats)
        print(json.dumps(results["reading"], indent=1), flush=True)
        results["predict"] = bench_predict(tmp, args.predict_rows)
        print(json.dumps(results["predict"], indent=1), flush=True)
        if not args.skip_quickstart:
            results["quickstart"] = bench_quickstart(tmp)
            print(json.dumps(results["quickstart"], indent=1), flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    write_results(results, command)


if __name__ == "__main__":
    main()
