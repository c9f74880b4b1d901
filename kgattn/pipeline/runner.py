"""Running a pipeline: pick the stages, skip the finished ones, run the rest in order."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kgattn.errors import ConfigError
from kgattn.pipeline.rundir import RunDir, barrier, read_json
from kgattn.pipeline.spec import PipelineSpec, load_spec
from kgattn.pipeline.evaluate import evaluate_stage
from kgattn.pipeline.predict import predict_stage
from kgattn.pipeline.stages import REQUIRES, STAGES, Components, Context, link_stage, requirements, train_stage

STAGE_FUNCS: dict[str, Callable[[Context], dict]] = {
    "link": link_stage, "train": train_stage, "evaluate": evaluate_stage, "predict": predict_stage}


@dataclass(frozen=True)
class RunResult:
    """Where the run lives and what each stage did (``"skipped"`` or its summary)."""

    run_dir: Path
    stages: dict[str, dict | str]


def plan(stages: Sequence[str], requires: dict[str, tuple[str, ...]] = REQUIRES) -> list[str]:
    """The stages asked for plus their prerequisites (``requires``), in pipeline order."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
    wanted: set[str] = set()
    todo = list(stages)
    while todo:
        s = todo.pop()
        if s not in wanted:
            wanted.add(s)
            todo.extend(requires[s])
    return [s for s in STAGES if s in wanted]


def _artifacts_present(run: RunDir, stage: str) -> bool:
    """A stage marker without its main artifact (deleted by hand) does not count as done."""
    marker = read_json(run.marker(stage))
    return all(Path(marker[k]).exists() for k in ("output", "report", "metrics") if k in marker)


def run_pipeline(spec: PipelineSpec | str | Path, stages: Sequence[str] | None = None,
                 run_dir: str | Path | None = None, components=None, progress: bool = True,
                 force: Sequence[str] = (), command: str | None = None, log=None) -> RunResult:
    """Run ``stages`` (default ``spec.stages``) and the prerequisites they lack.

    A stage whose marker holds its current key and the current graph's fingerprint is skipped;
    otherwise it reruns, reusing what is still valid (finished shards of the same input, cached
    evaluation runs). A stage named in ``force`` reruns from scratch; what it replaces is moved to
    ``<stage>.previous/`` in the run directory, not deleted. Prerequisites named only implicitly
    run only when not done. Returns the run directory and per-stage summaries.
    """
    if not isinstance(spec, PipelineSpec):
        spec = load_spec(spec)
    run = RunDir.for_spec(spec, run_dir)
    ctx = Context(spec, run, components or Components(), progress=progress, command=command)
    if log is not None:
        ctx.log = log
    summary: dict[str, dict | str] = {}
    for stage in plan(stages or spec.stages, requirements(spec)):
        key = spec.stage_key(stage)
        if stage not in force and run.is_done(stage, key) and _artifacts_present(run, stage) \
                and read_json(run.marker(stage)).get("kg_fingerprint") == ctx.kg.fingerprint:
            ctx.log(f"[{stage}] done already (key {key}); skipped")
            summary[stage] = "skipped"
            continue
        if stage in force and ctx.rank == 0:
            # Forced: start from scratch, without the finished shards or cached evaluation runs.
            previous = run.set_aside(stage)
            if previous is not None:
                ctx.log(f"[{stage}] forced: the previous outputs are kept in {previous}")
        elif run.marker(stage).is_file() and ctx.rank == 0:
            # Stale marker: the stage reruns. Its reusable pieces stay (finished shards are
            # checked against their own inputs; per-run evaluation predictions by name).
            run.marker(stage).unlink()
        barrier()
        ctx.log(f"[{stage}] running")
        start = time.perf_counter()
        info = STAGE_FUNCS[stage](ctx)
        seconds = round(time.perf_counter() - start, 2)
        if ctx.rank == 0:
            run.mark_done(stage, key, seconds=seconds, command=command, kg_fingerprint=ctx.kg.fingerprint, **info)
        barrier()
        ctx.log(f"[{stage}] finished in {seconds:.1f} s")
        summary[stage] = {"seconds": seconds, **info}
    return RunResult(run.path, summary)
