"""The run configuration: one dataclass, filled from CLI flags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class RunConfig:
    """Everything ``evalkit run`` needs to know."""

    model: str
    tasks: tuple[str, ...]
    output_dir: Path = Path("results")
    run_name: str | None = None
    limit: int | None = None
    batch_size: int | str = 8  # an int, or "auto" (largest that fits, halving on OOM)
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 1234
    parser: str = "official"
    max_errors: int | None = None
    data_dir: Path | None = None
    dataset_revision: str | None = None
    synthetic_size: int | None = None
    shard: tuple[int, int] | None = None  # (index, count) for --shard i/n
    thumbnails: bool = True
    adapter_extra: dict[str, str] = field(default_factory=dict)


def default_run_name(model: str, now: datetime | None = None) -> str:
    """``<model>_<UTC timestamp>`` with characters unsafe in folder names replaced."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"{safe_name(model)}_{stamp}"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def parse_shard(text: str) -> tuple[int, int]:
    """``"1/4"`` -> ``(1, 4)``, checking ``0 <= i < n``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise ValueError(f"--shard must look like i/n with 0 <= i < n, got {text!r}")
    return int(match.group(1)), int(match.group(2))
