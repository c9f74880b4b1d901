"""Batch pipelines: a YAML spec -> link -> train -> evaluate -> predict, resumable, in shards.

    from kgattn.pipeline import load_spec, run_pipeline
    result = run_pipeline(load_spec("pipelines/quickstart.yaml"))
    result.run_dir / "evaluate" / "report.html"

See :mod:`kgattn.pipeline.spec` (the YAML schema), :mod:`kgattn.pipeline.check` (what a run
needs, checked before it starts), :mod:`kgattn.pipeline.corpus` (streaming readers),
:mod:`kgattn.pipeline.rundir` (run directories, atomic writes, shard resume),
:mod:`kgattn.pipeline.stages` (components, link and train), :mod:`kgattn.pipeline.evaluate` and
:mod:`kgattn.pipeline.predict` (the other two stages) and :mod:`kgattn.pipeline.protocols` (what
the stages need of the graph, linker and classifier).

Layers: ``cli`` -> ``pipeline`` -> ``evaluation`` / ``api`` -> core; the evaluation imports
neither the pipeline nor the classifier (it trains through a callable).
"""
from kgattn.pipeline.corpus import CorpusReader, SplitRule
from kgattn.pipeline.runner import RunResult, plan, run_pipeline
from kgattn.pipeline.check import check_resources
from kgattn.pipeline.spec import PipelineSpec, load_spec, parse_spec
from kgattn.pipeline.stages import STAGES, Components

__all__ = ["STAGES", "Components", "CorpusReader", "check_resources", "PipelineSpec", "RunResult", "SplitRule", "load_spec",
           "parse_spec", "plan", "run_pipeline"]
