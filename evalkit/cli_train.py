"""``evalkit train``: train the built-in visionpangu model stage by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli import app, fail, known_errors


@app.command()
def train(
    stage: Annotated[str, typer.Option(help="vision, align or sft")],
    out: Annotated[Path, typer.Option(help="Checkpoint folder to write")],
    preset: Annotated[str, typer.Option(help="tiny, small or 1.7b")] = "tiny",
    init: Annotated[Path | None, typer.Option(help="Checkpoint to start from (previous stage)")] = None,
    steps: Annotated[int, typer.Option(help="Optimizer steps")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Examples per micro-batch")] = 32,
    grad_accum: Annotated[int, typer.Option(help="Micro-batches per optimizer step")] = 1,
    lr: Annotated[float, typer.Option(help="Peak learning rate")] = 1e-3,
    warmup: Annotated[int, typer.Option(help="Warm-up steps")] = 100,
    seed: Annotated[int, typer.Option(help="Seed (recorded in the checkpoint)")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda")] = "auto",
    save_every: Annotated[int, typer.Option(help="Checkpoint every N steps")] = 500,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --out")] = False,
    data: Annotated[Path | None, typer.Option(help="LLaVA-style conversation JSON (images beside it) instead of the synthetic generator")] = None,
) -> None:
    """Train one stage; the default data is the offline synthetic shapes generator."""
    from evalkit.tinyvlm.train import TrainConfig
    from evalkit.tinyvlm.train import train as run_training

    try:
        config = TrainConfig(
            stage=stage, out=out, preset=preset, init=init, steps=steps, batch_size=batch_size,
            grad_accum=grad_accum, lr=lr, warmup=warmup, seed=seed, device=device,
            save_every=save_every, resume=resume, data=data,
        )  # fmt: skip
        run_training(config)
    except known_errors() as exc:
        fail(str(exc))
