"""The manifest of a pretrained directory (light: no torch), for checks before any work."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kgattn.persistence import read_manifest

KIND, VERSION = "kgattn-pretrained", 1
MANIFEST, CONFIG, WEIGHTS = "manifest.json", "config.json", "model.safetensors"


def pretrained_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of a pretrained directory alone (cheap: for validating a spec or a parameter
    before any work); SavedFileError naming the file when it is not a pretrained directory."""
    return read_manifest(Path(directory) / MANIFEST, KIND, VERSION)
