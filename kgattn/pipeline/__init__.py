"""Batch pipelines: a YAML spec -> link -> train -> evaluate -> predict, resumable, in shards.

    from kgattn.pipeline import load_spec, run_pipeline
    result = run_pipeline(load_spec("pipelines/quickstart.yaml"))
    result.run_dir / "evaluate" / "report.html"

See :mod:`kgattn.pipeline.spec` (the YAML schema), :mod:`kgattn.pipeline.corpus` (streaming
readers), :mod:`kgattn.pipeline.rundir` (run directories, atomic writes, shard resume) and
:mod:`kgattn.pipeline.stages` (what each stage writes).
"""
from kgattn.pipeline.corpus import CorpusReader, SplitRule
from kgattn.pipeline.runner import RunResult, plan, run_pipeline
from kgattn.pipeline.spec import PipelineSpec, load_spec, parse_spec
from kgattn.pipeline.stages import STAGES, Components

__all__ = ["STAGES", "Components", "CorpusReader", "PipelineSpec", "RunResult", "SplitRule", "load_spec",
           "parse_spec", "plan", "run_pipeline"]
