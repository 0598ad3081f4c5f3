"""CPU benchmark of one ``tiny`` sft training step on a recipe stage's real data mix: the padded
batch, the same batch run in length groups (the trainer's default), and length groups with
``--compile``. Prints one JSON object.

    python benchmarks/train_tiny.py                         # stage gB of visionpangu-tiny, batch 64
    python benchmarks/train_tiny.py --stage cC --steps 20   # another stage's mix and batch size

Every mode starts from the same checkpoint and takes the same pre-rendered batches, so the
ratios compare model work alone; rendering one batch is timed apart (``data_s_per_batch``), as
the trainer pays it too (in the trainer's process, or overlapped with ``--data-workers``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from evalkit.tinyvlm.data import Batch
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.recipe import find_recipe, load_recipe, plan
from evalkit.tinyvlm.tokenizer import VLMTokenizer
from evalkit.tinyvlm.train import (
    TrainConfig,
    build_optimizer,
    compile_blocks,
    set_trainable,
    step_loss,
    training_batches,
)

SHIPPED = Path(__file__).resolve().parents[1] / "model_adapters" / "checkpoints" / "visionpangu-tiny"
PADDED = 10**12  # a group overhead no split can beat: the one padded pass


def stage_config(recipe: str, stage: str) -> TrainConfig:
    """The training config of one recipe stage (its data mix, batch size, learning rates)."""
    path = find_recipe(recipe)
    with tempfile.TemporaryDirectory() as out:
        stages = plan(load_recipe(path), path, out=Path(out), variables={}, smoke=False, overrides={})
    for planned in stages:
        if planned.name == stage:
            return planned.config
    raise SystemExit(f"error: recipe {recipe} has no stage {stage!r}; it has {[s.name for s in stages]}")


def time_mode(mode: str, init: Path, cfg: TrainConfig, batches: list[Batch], warmup: int) -> dict[str, Any]:
    """Seconds per optimizer step over ``batches[warmup:]`` (after ``warmup`` untimed steps)."""
    torch.manual_seed(0)
    model = VisionPangu.from_pretrained(init).train()
    model.group_overhead = PADDED if mode == "padded" else model.group_overhead
    if mode == "compiled":
        compile_blocks(model)
    params = set_trainable(model, cfg.stage)
    optimizer = build_optimizer(params, cfg, list(model.vision.parameters()))
    times, losses = [], []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        loss = step_loss(model, batch, cfg.stage)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return {"s_per_step_median": statistics.median(times), "s_per_step_min": min(times),
            "s_per_step_max": max(times), "first_losses": losses[:3]}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="visionpangu-tiny")
    p.add_argument("--stage", default="gB", help="the recipe stage whose data mix and batch size to use")
    p.add_argument("--init", type=Path, default=SHIPPED, help="checkpoint to start from")
    p.add_argument("--steps", type=int, default=10, help="timed steps per mode")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compiling, caches)")
    p.add_argument("--modes", default="padded,grouped,compiled")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = stage_config(args.recipe, args.stage)
    tokenizer = VLMTokenizer.from_pretrained(args.init)
    probe = VisionPangu.from_pretrained(args.init)
    stream = training_batches(cfg, probe, tokenizer, seed=cfg.seed * 1_000_003)
    start = time.perf_counter()
    batches = [next(stream) for _ in range(args.warmup + args.steps)]
    data_s = (time.perf_counter() - start) / len(batches)
    real = sum(int(b.attention_mask.sum()) for b in batches)
    padded = sum(b.attention_mask.numel() for b in batches)
    result: dict[str, Any] = {
        "recipe": args.recipe, "stage": args.stage, "batch_size": cfg.batch_size, "init": str(args.init),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": args.steps,
        "data_s_per_batch": data_s, "lm_tokens_real_share_of_padded": real / padded, "modes": {},
    }  # fmt: skip
    for mode in args.modes.split(","):
        result["modes"][mode] = time_mode(mode, args.init, cfg, batches, args.warmup)
    base = result["modes"].get("padded", {}).get("s_per_step_median")
    if base:
        for timing in result["modes"].values():
            timing["speedup_vs_padded"] = base / timing["s_per_step_median"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
