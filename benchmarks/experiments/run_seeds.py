"""Run one pipeline spec as one process per seed, sharing one link stage, at most N at a time.

Usage: .venv/bin/python benchmarks/experiments/run_seeds.py SPEC RUN_PREFIX [--seeds 0 1 2]
       [--parallel 2] [--set KEY=VALUE ...]

Links once into RUN_PREFIX_link (``kgattn run SPEC --stages link``), copies its ``kg/`` and
``link/`` into RUN_PREFIX_s<N> for each seed, then runs ``kgattn run SPEC --run-dir RUN_PREFIX_s<N>
--set evaluate.seeds=[N] --set train.seed=N`` (the train stage's model is then that seed's full
model, which evaluate reuses), each with OMP_NUM_THREADS=1 and its log in RUN_PREFIX_s<N>.log.
A finished stage is skipped on a rerun, so the command resumes. Pair the seeds' predictions with
``compare_runs.py`` / ``seed_level.py`` (RUN:VARIANT arguments, one per run directory).

Why: on a 2-core machine one process per seed lets two trainings share the cores, and a killed
seed costs only itself; the --set overrides keep the spec file the record of the experiment.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

KGATTN = [sys.executable, "-m", "kgattn.cli"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def _run(command: list[str], log: Path) -> int:
    start = time.time()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
    print(f"{'done' if code == 0 else f'FAILED ({code})'} in {time.time() - start:.0f} s: {log}", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("prefix", help="run directories are PREFIX_link and PREFIX_s<seed>")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    sets = [arg for given in args.overrides for arg in ("--set", given)]

    link_dir = Path(f"{args.prefix}_link")
    if _run([*KGATTN, "run", str(args.spec), "--stages", "link", "--run-dir", str(link_dir), "--no-progress", *sets],
            Path(f"{link_dir}.log")) != 0:
        return 1

    def seed_run(seed: int) -> int:
        run_dir = Path(f"{args.prefix}_s{seed}")
        for stage in ("kg", "link"):
            if (link_dir / stage).is_dir() and not (run_dir / stage).exists():
                shutil.copytree(link_dir / stage, run_dir / stage)
        return _run([*KGATTN, "run", str(args.spec), "--run-dir", str(run_dir), "--no-progress", *sets,
                     "--set", f"evaluate.seeds=[{seed}]", "--set", f"train.seed={seed}"], Path(f"{run_dir}.log"))

    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        codes = list(pool.map(seed_run, args.seeds))
    return 0 if not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main())
