"""Data parallelism through existing launchers (torchrun / accelerate), never a home-made one.

Under a launcher each rank evaluates the shard ``rank::world_size`` of every task and writes
its own record file; after a barrier rank 0 merges the shards and scores, so results equal a
single-process run. Without a launcher these functions are no-ops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def is_launched() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def launcher_shard() -> tuple[int, int] | None:
    """``(rank, world_size)`` under torchrun/accelerate, else None."""
    return (rank(), world_size()) if is_launched() else None


def _process_group() -> Any:
    import torch.distributed as dist

    if not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist


def barrier() -> None:
    if is_launched():
        _process_group().barrier()


def agree_on_run_dir(run_dir: Path) -> Path:
    """Every rank must write to the same folder: rank 0's choice is broadcast."""
    if not is_launched():
        return run_dir
    dist = _process_group()
    box = [str(run_dir)]
    dist.broadcast_object_list(box, src=0)
    return Path(box[0])


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_device() -> str | None:
    """The device this rank should use when launched, else None: ``cuda:<LOCAL_RANK>`` where
    CUDA exists, otherwise the CPU (the process group then runs on gloo)."""
    if not is_launched():
        return None
    import torch

    return f"cuda:{local_rank()}" if torch.cuda.is_available() else "cpu"
