"""The ``kgattn`` command line (typer).

Errors a user can cause (:mod:`kgattn.errors`) print one ``error: ...`` line without a
traceback and exit with code 2; Ctrl-C exits with 130 and the run resumes when the same
command is given again.
"""
from __future__ import annotations

import functools
import gzip
import lzma
import os
import shlex
import sys
import warnings
import zlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from kgattn.errors import KGAttnError

app = typer.Typer(name="kgattn", help="Transformer language models that attend over a knowledge graph.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
kg_app = typer.Typer(help="Inspect and import knowledge graphs.", no_args_is_help=True)
corpus_app = typer.Typer(help="Prepare corpora from public data sets.", no_args_is_help=True)
app.add_typer(kg_app, name="kg")
app.add_typer(corpus_app, name="corpus")

#: Components used by the pipeline commands; tests swap in fakes.
COMPONENTS = None


#: Low-level errors of reading a damaged or truncated compressed file. click would take an
#: ``EOFError`` for Ctrl-D and print only "Aborted!"; these are user-caused (a damaged input).
_DAMAGED_FILE_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


def _file_in_traceback(exc: BaseException) -> str | None:
    """The file being read where ``exc`` was raised: the innermost frame whose ``self`` is an open
    file object with a name, or that holds a ``path``/``filename`` variable naming a file."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        frame_locals = tb.tb_frame.f_locals
        owner = frame_locals.get("self")
        with warnings.catch_warnings():   # GzipFile.filename is deprecated (for .name)
            warnings.simplefilter("ignore", DeprecationWarning)
            candidates = [getattr(owner, "name", None), getattr(owner, "filename", None),
                          frame_locals.get("path"), frame_locals.get("filename")]
        for value in candidates:
            if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
                found = os.fspath(value)
                break
        tb = tb.tb_next
    return found


def _user_errors(func):
    """Print user-caused errors as one ``error:`` line (exit 2) instead of a traceback: kgattn's
    own errors, and the low-level errors of a truncated or damaged compressed input file."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KGAttnError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except _DAMAGED_FILE_ERRORS as exc:
            where = _file_in_traceback(exc)
            typer.echo(f"error: {where + ': ' if where else ''}the file is truncated or damaged "
                       f"({type(exc).__name__}: {exc})", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; run the same command again to resume", err=True)
            raise typer.Exit(130) from None
        except SystemExit as exc:
            if exc.code == 143:   # SIGTERM during training (kgattn.training.trainer.fit)
                typer.echo("terminated (SIGTERM); run the same command again to resume", err=True)
            raise
    return wrapper


PipelineArg = Annotated[Path, typer.Argument(help="Pipeline spec (YAML), e.g. pipelines/quickstart.yaml.",
                                             show_default=False)]
RunDirOpt = Annotated[Optional[Path], typer.Option(
    "--run-dir", help="Run directory to use instead of <run_root>/<name>-<config hash>.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override one spec key, e.g. --set train.seed=1 --set 'evaluate.seeds=[1]' "
                  "(repeatable; the value is read as YAML; same run directory as a spec that says it).",
    show_default=False)]


def _load(pipeline: Path, overrides: list[str] | None):
    """The spec with its ``extends`` chain and ``--set`` overrides, and where each key came from."""
    from kgattn.pipeline.spec import read_spec

    return read_spec(pipeline, overrides or ())


def _command() -> str:
    return "kgattn " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _run(pipeline: Path, stages: list[str] | None, run_dir: Path | None, progress: bool,
         force: list[str] = (), overrides: list[str] | None = None, loaded=None) -> None:
    from kgattn.pipeline.check import require_resources
    from kgattn.pipeline.runner import run_pipeline

    spec, sources = loaded or _load(pipeline, overrides)
    # Missing files, an unresolvable backbone, an output over an input: refused in a second,
    # before the graph is imported or a text linked.
    require_resources(spec, pipeline, sources)
    result = run_pipeline(spec, stages=stages, run_dir=run_dir, components=COMPONENTS, progress=progress,
                          force=force, command=_command())
    from kgattn.pipeline.rundir import dist_info

    if dist_info()[0] != 0:
        return
    typer.echo(f"run directory: {result.run_dir}")
    for stage, info in result.stages.items():
        if isinstance(info, dict):
            where = info.get("report") or info.get("output") or ""
            typer.echo(f"  {stage:<9} done in {info['seconds']:.1f} s  {where}")
        else:
            typer.echo(f"  {stage:<9} {info} (finished earlier)")
    report = result.run_dir / "evaluate" / "report.html"
    metrics = report.parent / "metrics.json"
    if "evaluate" in result.stages and report.is_file() and metrics.is_file():
        from kgattn.evaluation.headline import headline_table
        from kgattn.persistence import read_json

        typer.echo("")
        typer.echo(headline_table(read_json(metrics, "evaluation metrics")))
        typer.echo("")
    if report.is_file():
        typer.echo(f"report: {report}")


def _stage_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [s.strip() for s in value.split(",") if s.strip()]


@app.command()
@_user_errors
def run(pipeline: PipelineArg,
        stages: Annotated[Optional[str], typer.Option(
            "--stages", "-s", help="Comma-separated stages among link,train,evaluate,predict "
                                   "(default: the spec's 'stages'). Missing prerequisites run first.")] = None,
        run_dir: RunDirOpt = None,
        force: Annotated[Optional[str], typer.Option(
            "--force", help="Comma-separated stages to rerun from scratch even if finished; "
                            "what they replace is moved to <stage>.previous/ in the run directory.")] = None,
        overrides: SetOpt = None, progress: ProgressOpt = True) -> None:
    """Run a pipeline: link -> train -> evaluate -> predict.

    Artifacts go to runs/<name>-<config hash>/; a rerun skips finished stages and an
    interrupted one resumes at the last finished shard. Scale out with
    `torchrun --nproc_per_node N $(which kgattn) run SPEC` (DDP training; link and predict
    shards split across ranks).
    """
    _run(pipeline, _stage_list(stages), run_dir, progress, _stage_list(force) or (), overrides)


@app.command()
@_user_errors
def link(pipeline: PipelineArg, run_dir: RunDirOpt = None, overrides: SetOpt = None,
         progress: ProgressOpt = True) -> None:
    """Link the corpus to the graph: writes link/linked.parquet and link/stats.json."""
    _run(pipeline, ["link"], run_dir, progress, overrides=overrides)


@app.command()
@_user_errors
def train(pipeline: PipelineArg, run_dir: RunDirOpt = None, overrides: SetOpt = None,
          progress: ProgressOpt = True) -> None:
    """Train the classifier on the train split (links first if needed): writes train/model/."""
    _run(pipeline, ["train"], run_dir, progress, overrides=overrides)


@app.command()
@_user_errors
def evaluate(pipeline: PipelineArg, run_dir: RunDirOpt = None, overrides: SetOpt = None,
             progress: ProgressOpt = True) -> None:
    """Evaluate with and without the graph: writes evaluate/metrics.json, report.md, report.html.

    Trains per seed the full model, a no-graph model and a shuffled-graph control, and also
    evaluates the full model with the graph removed at inference; paired bootstrap intervals
    and p-values compare them, learning curves cover the configured training sizes.
    """
    _run(pipeline, ["evaluate"], run_dir, progress, overrides=overrides)


@app.command()
@_user_errors
def predict(pipeline: PipelineArg,
            input: Annotated[Optional[list[Path]], typer.Option(
                "--input", "-i", help="Texts to predict (CSV, TSV, JSONL, Parquet; repeatable; globs). "
                                      "Default: the spec's predict.input, else the test split.")] = None,
            output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file.")] = None,
            format: Annotated[Optional[str], typer.Option(
                "--format", help="parquet or jsonl (default: from the output's extension).")] = None,
            text_column: Annotated[str, typer.Option(help="Text column of --input.")] = "text",
            id_column: Annotated[Optional[str], typer.Option(
                help="Id column of --input (empty: number the rows).")] = "id",
            run_dir: RunDirOpt = None, overrides: SetOpt = None, progress: ProgressOpt = True) -> None:
    """Predict with the trained model (trains first if needed), streaming in shards.

    One output row per input row: id, label per task, probabilities, linked entities, top
    attended nodes. Interrupted runs resume at the last finished shard.
    """
    from kgattn.pipeline.spec import PredictInputSpec

    spec, sources = _load(pipeline, overrides)
    update = {}
    if input:
        update["input"] = PredictInputSpec(paths=[p.resolve() for p in input], text_column=text_column,
                                           id_column=id_column or None)
    if output is not None:
        update["output"] = output.resolve()
    if format is not None:
        if format not in ("parquet", "jsonl"):
            raise typer.BadParameter("--format must be parquet or jsonl")
        update["format"] = format
    if update:
        spec = spec.model_copy(update={"predict": spec.predict.model_copy(update=update)})
    if output is not None:
        from kgattn.errors import ConfigError
        from kgattn.pipeline.predict import output_conflicts

        conflicts = output_conflicts(spec)
        if conflicts:   # named by the option the user typed, not by a line of the spec
            raise ConfigError("--output: " + conflicts[0].split(": ", 1)[1])
    _run(pipeline, ["predict"], run_dir, progress, loaded=(spec, sources))


@app.command()
@_user_errors
def check(pipeline: PipelineArg, overrides: SetOpt = None,
          show: Annotated[bool, typer.Option(
              "--show", help="Also print the whole spec as validated: its bases and --set merged in, "
                             "every default and resolved path written out.")] = False) -> None:
    """Validate a pipeline spec and what a run needs, and print its run directory and stage keys.

    Checks in a second, before any linking: the keys and values, the graph source, the corpus
    and prediction files, the data set folder, the backbone, the spaCy pipeline, and that the
    prediction output is not an input. Exit 2 with one error line naming each problem's key.
    """
    from kgattn.pipeline.check import require_resources

    spec, sources = _load(pipeline, overrides)
    require_resources(spec, pipeline, sources)
    if show:
        import yaml

        typer.echo(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False).rstrip())
    typer.echo(f"{pipeline}: valid")
    typer.echo(f"run directory: {Path(spec.run_root) / f'{spec.name}-{spec.config_hash}'}")
    for stage in ("link", "train", "evaluate", "predict"):
        typer.echo(f"  {stage:<9} key {spec.stage_key(stage)}")


# ------------------------------------------------------------------------------------------ kg
def _open_graph(path: Path, format: str | None, names: Path | None):
    from kgattn.pipeline.spec import KGSpec
    from kgattn.pipeline.stages import Components

    if path.name in ("wordnet", "fb15k237") and not path.exists():
        return Components().import_kg(KGSpec(importer=path.name))
    if not path.exists():
        from kgattn.errors import GraphFormatError

        raise GraphFormatError("no such file or directory", path)
    return Components().import_kg(KGSpec(path=path, format=format, names=names))


def describe_graph(kg, top: int = 10, example_nodes: int = 12) -> str:
    """Counts, the most frequent relations and one small example subgraph, as text."""
    import numpy as np

    lines = [f"nodes      {kg.num_nodes:,}", f"edges      {kg.num_edges:,}",
             f"relations  {kg.num_relations:,}", f"fingerprint {kg.fingerprint[:16]}", ""]
    rel = np.asarray(kg.rel)
    counts = np.bincount(rel, minlength=kg.num_relations)
    order = np.argsort(-counts, kind="stable")[:top]
    width = max((len(kg.relation_names[r]) for r in order), default=8)
    lines.append(f"top relations ({min(top, kg.num_relations)} of {kg.num_relations}):")
    for r in order:
        lines.append(f"  {kg.relation_names[r]:<{width}}  {counts[r]:>10,}  {counts[r] / max(kg.num_edges, 1):6.1%}")
    if kg.num_edges:
        # The example: the node whose outgoing edges use the most distinct relations (ties: lowest
        # index), so the example shows the graph's variety rather than one hub relation.
        src = np.asarray(kg.src)
        pairs = np.unique(np.stack([src, rel]), axis=1)
        variety = np.bincount(pairs[0], minlength=kg.num_nodes)
        seed = int(np.argmax(variety))
        sg = kg.subgraph([seed], hops=1, max_nodes=example_nodes)
        nodes = [int(n) for n in sg.nodes]
        lines += ["", f"example subgraph around \"{kg.label(seed)}\" ({kg.node_id(seed)}): "
                      f"{sg.num_nodes} nodes, {sg.num_edges} edges (1 hop)"]
        for (s, d), r in zip(sg.edge_index.t().tolist(), sg.edge_type.tolist()):
            lines.append(f"  {kg.label(nodes[s])} --{kg.relation_names[r]}--> {kg.label(nodes[d])}")
    return "\n".join(lines)


@kg_app.command("info")
@_user_errors
def kg_info(path: Annotated[Path, typer.Argument(
                help="Turtle/RDF file, TSV of triples, a directory saved by KnowledgeGraph.save, "
                     "or 'wordnet' / 'fb15k237'.", show_default=False)],
            format: Annotated[Optional[str], typer.Option(
                help="rdflib format (turtle, nt, xml, ...) or tsv; default: from the extension.")] = None,
            names: Annotated[Optional[Path], typer.Option(help="id<TAB>name file for a TSV graph.")] = None,
            top: Annotated[int, typer.Option(help="Relations to list.")] = 10) -> None:
    """Print node/edge/relation counts, the top relations and an example subgraph."""
    kg = _open_graph(path, format, names)
    typer.echo(f"knowledge graph {path}")
    typer.echo(describe_graph(kg, top=top))


@kg_app.command("import")
@_user_errors
def kg_import(source: Annotated[str, typer.Argument(
                  help="'wordnet', 'fb15k237', or a graph file (Turtle/RDF/TSV).", show_default=False)],
              out: Annotated[Path, typer.Option("--out", "-o", help="Directory to save the graph to.")],
              path: Annotated[Optional[Path], typer.Option(
                  help="Data location for wordnet/fb15k237 (default: /usr/share/wordnet, "
                       "$KGATTN_DATA/fb15k-237).")] = None,
              format: Annotated[Optional[str], typer.Option(help="Format of a graph file.")] = None,
              names: Annotated[Optional[Path], typer.Option(help="id<TAB>name file for a TSV graph.")] = None,
              streaming: Annotated[Optional[bool], typer.Option(
                  "--streaming/--no-streaming",
                  help="Stream N-Triples (.nt/.nt.gz) or a TSV of triples to disk in bounded memory "
                       "(same saved graph). Default: stream such inputs of 64 MiB or more.")] = None,
              progress: ProgressOpt = True) -> None:
    """Import a graph and save it (arrays + JSON) for fast loading with KnowledgeGraph.load.

    N-Triples and TSV files of 64 MiB or more (or any, with --streaming) are imported by streaming:
    parsed in chunks and sorted on disk, so memory stays bounded (kgattn.graph.streaming,
    kgattn.graph.stream_triples).
    """
    from kgattn.pipeline.rundir import atomic_path
    from kgattn.pipeline.spec import KGSpec
    from kgattn.pipeline.stages import Components

    if source not in ("wordnet", "fb15k237") and Path(source).is_file():
        from kgattn.graph.stream_triples import import_triples, use_streaming_triples
        from kgattn.graph.streaming import import_ntriples, use_streaming

        when = "auto" if streaming is None else streaming
        if KGSpec(path=Path(source), format=format).kind == "tsv":
            m = import_triples(Path(source), out, names=names, progress=progress) \
                if use_streaming_triples(Path(source), when) else None
        else:
            m = import_ntriples(Path(source), out, progress=progress) if use_streaming(Path(source), format, when) \
                else None
        if m is not None:
            typer.echo(f"saved {m['num_nodes']:,} nodes, {m['num_edges']:,} edges, {m['num_relations']} relations "
                       f"to {out} (streaming import)")
            return
    if source in ("wordnet", "fb15k237"):
        kg = Components().import_kg(KGSpec(importer=source, path=path))
    else:
        kg = _open_graph(Path(source), format, names)
    with atomic_path(out) as tmp:
        kg.save(tmp)
    typer.echo(f"saved {kg.num_nodes:,} nodes, {kg.num_edges:,} edges, {kg.num_relations} relations to {out}")


# ------------------------------------------------------------------------------------------ corpus
@corpus_app.command("prepare")
@_user_errors
def corpus_prepare(dataset: Annotated[str, typer.Argument(help="trec or conll2003.", show_default=False)],
                   out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
                   data_dir: Annotated[Optional[Path], typer.Option(
                       help="Folder of the raw files (default: $KGATTN_DATA/<dataset>).")] = None) -> None:
    """Write a public data set as a Parquet corpus (id, text, label columns, split).

    trec: tasks coarse (6) and fine (50), official train/test split. conll2003: one row per
    gold mention, marked with [brackets] in its sentence, label PER/LOC/ORG/MISC.
    """
    from kgattn.pipeline.prepare import DATASETS, prepare_corpus

    if dataset not in DATASETS:
        raise typer.BadParameter(f"dataset must be one of {', '.join(DATASETS)}")
    path = prepare_corpus(dataset, out, data_dir)
    import pyarrow.parquet as pq

    typer.echo(f"wrote {pq.ParquetFile(path).metadata.num_rows:,} rows to {path}")


# ------------------------------------------------------------------------------------------ pretrain
@app.command("pretrain")
@_user_errors
def pretrain(spec: Annotated[Path, typer.Argument(help="Pretrain spec (YAML).", show_default=False)],
             force: Annotated[bool, typer.Option("--force", help="Start over (keeps still-valid linked shards).")]
             = False, overrides: SetOpt = None) -> None:
    """Pretrain the backbone, GNN and fusion on unlabelled linked text; prints the pretrained directory."""
    from kgattn.pretraining.cli import pretrain_command

    pretrain_command(spec, force=force, overrides=overrides or ())


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
