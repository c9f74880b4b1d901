"""Device and precision choice: CUDA when present, bf16 autocast where the hardware has it."""
from __future__ import annotations

import contextlib

import torch


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu"


def autocast(device: torch.device, precision: str = "auto"):
    """Autocast context for inference.

    ``"auto"`` uses bf16 on CUDA with bf16 support and fp32 elsewhere; ``"bf16"`` asks for bf16
    autocast on any device that has it (on CPU it is measurably faster for MiniLM inference);
    ``"32"`` never autocasts.
    """
    if precision == "32" or (precision == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    if not bf16_supported(device):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def lightning_precision(device: torch.device, precision: str = "auto") -> str:
    """The ``precision`` argument for ``lightning.Trainer`` matching :func:`autocast`."""
    if precision == "32" or (precision == "auto" and device.type != "cuda"):
        return "32-true"
    return "bf16-mixed" if bf16_supported(device) else "32-true"
