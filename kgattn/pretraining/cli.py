"""The ``kgattn pretrain SPEC`` command (registered in :mod:`kgattn.cli`)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence


def pretrain_command(spec_path: str | Path, force: bool = False, overrides: Sequence[str] = ()) -> Path:
    """Pretrain as ``spec_path`` says (resuming a killed run); print a short summary on stderr
    and the pretrained directory as the last line on stdout. Returns the directory."""
    from kgattn.pretraining.corpus import dist_info
    from kgattn.pretraining.run import pretrain
    from kgattn.pretraining.spec import load_pretrain_spec

    spec = load_pretrain_spec(spec_path, overrides)
    result = pretrain(spec, force=force)
    if dist_info()[0] != 0:
        return result.directory
    rate = result.tokens_per_second
    print(f"pretrained {spec.name}: {result.global_step} steps"
          + (f", {rate:,.0f} tokens/s this session" if rate else ""), file=sys.stderr)
    for term, curve in (result.summary.get("losses") or {}).items():
        print(f"  {term:<20} first {curve['first']:.4f} (step {curve['first_step']})  "
              f"last {curve['last']:.4f} (step {curve['last_step']})", file=sys.stderr)
    print(result.directory, flush=True)
    return result.directory
