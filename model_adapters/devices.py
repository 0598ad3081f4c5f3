"""Device and dtype resolution shared by the adapters that run torch models in-process.

Imported only by those adapters (``hf``, ``visionpangu``), so the mock and server paths never
import torch.
"""

from __future__ import annotations

import torch


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; a CUDA name must exist here.

    Checked before any weights load, so a CPU-only machine asked for ``cuda`` (or a rank given a
    GPU index the machine lacks) fails in one line instead of deep inside a loader.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device} asked for, but torch sees no CUDA device; use --device cpu")
        index = device.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ValueError(
                f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                "use cuda:0 .. cuda:N-1 or fewer processes per node"
            )
    return device
