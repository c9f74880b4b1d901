"""Run directories, atomic writes, stage markers and shard-level resume.

Layout of ``runs/<name>-<config hash>/``::

    spec.json                 the validated spec (paths resolved) and its hash
    kg/graph/                 the knowledge graph, imported once (fast memory-mapped reload)
    link/                     linked.parquet (corpus + mentions), stats.json, stage.json
    train/model/              the trained classifier, stage.json
    evaluate/                 predictions/ (one JSON per trained run, for resume), figures/,
                              metrics.json, report.md, report.html, stage.json
    predict/                  predictions.(parquet|jsonl) unless predict.output says otherwise
    <stage>.previous/         what the last ``--force`` of that stage replaced (delete at will)

While a sharded stage runs, its folder also holds parts/ and done/ (one file and one marker
per finished shard); they are deleted once merged into the final file.

Every file a later step trusts is written to a temporary name in the same folder, flushed,
fsynced and renamed (``os.replace`` is atomic on POSIX), so a crash at any moment leaves either
the old state or the new one, never half a file under the final name. A stage counts as done
only when its ``stage.json`` (written last) holds the stage's current key and graph fingerprint.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kgattn.persistence import atomic_path, fsync_dir, write_json
from kgattn.persistence import remove_path as _remove


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def clean_temporaries(folder: Path) -> None:
    """Remove temporaries left by killed writers (``.name.tmp-PID``)."""
    if folder.is_dir():
        for path in folder.rglob(".*.tmp-*"):
            _remove(path)


def clean_stale_temporaries(final: Path) -> list[Path]:
    """Remove the temporaries of ``final`` (``.<name>.tmp-<pid>``, see
    :func:`kgattn.persistence.atomic_path`) whose writing process is gone: what a kill during an
    earlier write left behind. A live writer's temporary, and every other file, stays."""
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    prefix = f".{final.name}.tmp-"
    for path in final.parent.iterdir():
        pid = path.name[len(prefix):]
        if path.name.startswith(prefix) and pid.isdigit() and not _process_alive(int(pid)):
            _remove(path)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False    # this process is not writing it yet: a leftover of an earlier process with our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True     # exists, owned by someone else
    return True


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: torch.distributed when initialised, else the
    ``RANK``/``WORLD_SIZE`` variables that torchrun sets, else ``(0, 1)``."""
    import sys

    if "torch" in sys.modules:
        dist = sys.modules["torch"].distributed
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def barrier() -> None:
    """Wait until every rank got here (no-op for one process).

    Under torchrun without a process group yet, one is created (NCCL with CUDA, else gloo) so
    Lightning later reuses it instead of starting a second rendezvous.
    """
    _, world = dist_info()
    if world == 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    dist.barrier()


@dataclass(frozen=True)
class RunDir:
    """The run directory of one spec; ``stage(name)`` gives a stage folder."""

    path: Path

    @classmethod
    def for_spec(cls, spec, run_dir: str | Path | None = None) -> "RunDir":
        path = Path(run_dir) if run_dir is not None else Path(spec.run_root) / f"{spec.name}-{spec.config_hash}"
        run = cls(path.resolve())
        run.path.mkdir(parents=True, exist_ok=True)
        rank, _ = dist_info()
        if rank == 0:
            write_json(run.path / "spec.json", {
                "config_hash": spec.config_hash,
                "spec": spec.model_dump(mode="json")})
        return run

    def stage(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def marker(self, stage: str) -> Path:
        return self.path / stage / "stage.json"

    def is_done(self, stage: str, key: str) -> bool:
        marker = self.marker(stage)
        if not marker.is_file():
            return False
        try:
            return read_json(marker).get("key") == key
        except (OSError, ValueError):
            return False

    def set_aside(self, stage: str) -> Path | None:
        """Move a stage folder to ``<stage>.previous/`` (replacing an older one) and return it.

        A forced rerun starts from an empty folder, but the outputs it replaces (trained
        evaluation runs take hours) stay recoverable until the user deletes them or the next
        forced rerun of the same stage replaces them.
        """
        current = self.path / stage
        if not current.exists():
            return None
        previous = self.path / f"{stage}.previous"
        _remove(previous)
        os.replace(current, previous)
        fsync_dir(self.path)
        return previous

    def mark_done(self, stage: str, key: str, **info: Any) -> None:
        write_json(self.marker(stage), {"stage": stage, "key": key,
                                        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info})


class ShardedOutput:
    """Exactly-once output of a stage that processes input shards independently.

    Shard ``i``'s rows go to ``parts/part-<i>.parquet`` (atomic rename), then a marker
    ``done/<i>.json`` records ``first_row`` and ``num_rows`` (atomic too). A shard counts as
    finished only when its marker exists, so a kill between the two writes just redoes that
    shard. ``inputs`` (the stage key plus input fingerprints) is stored in ``inputs.json``;
    when it differs, old parts are discarded. :meth:`merge` checks that the finished shards
    tile the rows ``0..N-1`` with no gap or overlap before writing the final file.
    """

    def __init__(self, folder: Path, inputs: dict):
        self.folder = folder
        self.parts = folder / "parts"
        self.done = folder / "done"
        rank, _ = dist_info()
        inputs_file = folder / "inputs.json"
        if rank == 0:
            old = read_json(inputs_file) if inputs_file.is_file() else None
            if old != json.loads(json.dumps(inputs, sort_keys=True, default=str)):
                _remove(self.parts)
                _remove(self.done)
                write_json(inputs_file, inputs)
            clean_temporaries(folder)
            self.parts.mkdir(parents=True, exist_ok=True)
            self.done.mkdir(parents=True, exist_ok=True)
        # No rank writes a part before rank 0 has discarded stale ones.
        barrier()

    def is_done(self, index: int) -> bool:
        return (self.done / f"{index:06d}.json").is_file() and self.part(index).is_file()

    def part(self, index: int) -> Path:
        return self.parts / f"part-{index:06d}.parquet"

    def write(self, index: int, first_row: int, table: pa.Table) -> None:
        with atomic_path(self.part(index)) as tmp:
            pq.write_table(table, tmp)
        write_json(self.done / f"{index:06d}.json",
                   {"shard": index, "first_row": first_row, "num_rows": table.num_rows, "rank": dist_info()[0]})

    def finished(self) -> list[dict]:
        out = []
        for marker in sorted(self.done.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                out.append(read_json(marker))
        return sorted(out, key=lambda m: m["shard"])

    def check_complete(self, num_shards: int, total_rows: int) -> list[dict]:
        """The shard markers if they tile rows 0..total_rows-1 exactly; else raise RuntimeError."""
        shards = self.finished()
        expected_row = 0
        indices = [m["shard"] for m in shards]
        if indices != list(range(num_shards)):
            missing = sorted(set(range(num_shards)) - set(indices))
            raise RuntimeError(f"{self.folder}: shards {missing[:10]} are not finished")
        for m in shards:
            if m["first_row"] != expected_row:
                raise RuntimeError(f"{self.folder}: shard {m['shard']} starts at row {m['first_row']}, "
                                   f"expected {expected_row}")
            expected_row += m["num_rows"]
        if expected_row != total_rows:
            raise RuntimeError(f"{self.folder}: shards hold {expected_row} rows, the input {total_rows}")
        return shards

    def merge(self, final: Path, fmt: str, num_shards: int, total_rows: int,
              to_json: Callable[[dict], dict] | None = None) -> dict[int, int]:
        """Concatenate the parts in order into ``final`` (Parquet or JSONL), atomically, then
        delete the parts (the final file holds them). Returns shards processed per rank."""
        shards = self.check_complete(num_shards, total_rows)
        written = 0
        with atomic_path(final) as tmp:
            if fmt == "parquet":
                writer = None
                try:
                    for i in range(num_shards):
                        table = pq.read_table(self.part(i))
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema)
                        writer.write_table(table)
                        written += table.num_rows
                    if writer is None:  # an empty input still gives a valid, empty file
                        pq.write_table(pa.table({}), tmp)
                finally:
                    if writer is not None:
                        writer.close()
            else:
                with open(tmp, "w", encoding="utf-8") as fh:
                    for i in range(num_shards):
                        for row in pq.read_table(self.part(i)).to_pylist():
                            row = to_json(row) if to_json else row
                            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                            written += 1
        if written != total_rows:  # pragma: no cover - check_complete makes this unreachable
            raise RuntimeError(f"{final}: wrote {written} rows, expected {total_rows}")
        # Markers first: a part without a marker is never trusted, a marker without a part neither.
        _remove(self.done)
        _remove(self.parts)
        per_rank: dict[int, int] = {}
        for m in shards:
            per_rank[m.get("rank", 0)] = per_rank.get(m.get("rank", 0), 0) + 1
        return per_rank
