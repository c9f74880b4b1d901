"""Streaming texts through a linker: chunks under a character budget, and forked workers.

Kept apart from :mod:`kgattn.linking.linker` so the facade stays about options and parts. The
workers reach the linker through a module global set just before forking: a forked process
inherits it (and the graph and tables it holds) copy-on-write, and nothing is pickled but the
chunks of text and the mentions that come back.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator

from kgattn.errors import ConfigError
from kgattn.linking.text import budget_end
from kgattn.linking.types import Mention


def chunks(texts: Iterable[str], size: int, max_chars: int | None = None) -> Iterator[list[str]]:
    """Lists of ``size`` texts (each cut to ``max_chars``); a non-string raises TypeError naming its index."""
    chunk: list[str] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        chunk.append(text if max_chars is None else text[:budget_end(text, max_chars)])
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_WORKER_LINKER = None


def link_parallel(linker, chunks: Iterator[list[str]], n_process: int) -> Iterator[list[Mention]]:
    """Mentions of every text of ``chunks``, in order, linked by ``n_process`` forked workers."""
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ConfigError("n_process > 1 needs the 'fork' start method (POSIX); use n_process=1")
    # Build everything lazily held before forking, so workers inherit it instead of rebuilding.
    linker.warm_up()
    linker.disambiguator
    global _WORKER_LINKER
    _WORKER_LINKER = linker
    try:
        with multiprocessing.get_context("fork").Pool(n_process, initializer=_worker_init) as pool:
            for result in pool.imap(_worker_link, chunks):
                yield from result
    finally:
        _WORKER_LINKER = None


def _worker_init() -> None:
    try:
        import torch

        torch.set_num_threads(1)  # one intra-op thread per process; the processes are the parallelism
    except ImportError:  # pragma: no cover
        pass


def _worker_link(chunk: list[str]) -> list[list[Mention]]:
    return _WORKER_LINKER._link_chunk(chunk)
