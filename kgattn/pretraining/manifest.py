"""The manifest of a pretrained directory (light: no torch), for checks before any work."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kgattn.errors import FingerprintMismatchError
from kgattn.persistence import read_manifest

KIND, VERSION = "kgattn-pretrained", 1
MANIFEST, CONFIG, WEIGHTS = "manifest.json", "config.json", "model.safetensors"


def pretrained_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a pretrained directory alone (cheap: for validating a spec or a parameter
    before any work); SavedFileError naming the file when it is not a pretrained directory."""
    return read_manifest(Path(directory) / MANIFEST, KIND, VERSION)


def check_fingerprint(manifest: dict, directory: str | Path, kg) -> None:
    """The graph given is the one pretrained over, or a pseudonymised copy of it (same nodes,
    edges and relations, invented names: :mod:`kgattn.evaluation.pseudonymize` records the source)."""
    expected = manifest.get("kg_fingerprint")
    source = (kg.metadata.get("pseudonymized") or {}).get("source_fingerprint")
    if expected != kg.fingerprint and not (source is not None and expected == source):
        raise FingerprintMismatchError(
            f"{Path(directory) / MANIFEST}: pretrained over the graph with fingerprint {str(expected)[:16]}, but the "
            f"graph given has fingerprint {kg.fingerprint[:16]}; fine-tune with the graph it was pretrained on "
            "(or pretrain again over this one)")
