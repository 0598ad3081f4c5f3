"""Quick quality check of a checkpoint on the held-out synthetic suite (a development aid).

Builds each task's prompts with the evaluation pipeline's own ``prepare_sample``, decodes with
the ``visionpangu`` adapter and scores with the task's official scorer. ``evalkit run`` is the
authoritative measurement; this script is for watching a training run.

    python -m evalkit.tinyvlm.quick_eval runs/tiny/sft --scenes 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from evalkit.types import GenerationRequest, GenerationSettings

SUITE = ("shapes_pope", "shapes_mme", "shapes_mmbench", "shapes_refcoco", "shapes_caption", "shapes_vqa")


def task_rows(task: str, scenes: int, seed: int) -> list[dict[str, Any]]:
    """Eval-split rows of a synthetic task."""
    from evalkit.synthetic import generate_rows

    return generate_rows(task, n=scenes, seed=seed, split="eval")


def score_task(adapter: Any, task: str, scenes: int, seed: int) -> dict[str, float]:
    """Prompt, generate and score one task; returns its metrics plus rows/s."""
    from evalkit.pipeline import prepare_sample
    from evalkit.registry import default_registry
    from evalkit.scoring.base import ScoringContext, get_scorer

    spec = default_registry().get(task)
    settings = GenerationSettings(
        **{k: v for k, v in spec.generation.items() if k in ("max_new_tokens", "temperature")}
    )
    samples = [
        prepare_sample(spec, i, dict(row), None) for i, row in enumerate(task_rows(task, scenes, seed))
    ]
    bad = [s.error for s in samples if s.error]
    if bad:
        raise RuntimeError(f"{task}: {len(bad)} rows failed to prepare, e.g. {bad[0]}")
    t0 = time.perf_counter()
    replies = adapter.generate([GenerationRequest(s.doc_id, s.prompt, s.images, settings) for s in samples])
    elapsed = time.perf_counter() - t0
    rows = [dict(s.fields) for s in samples]
    result = get_scorer(spec.scorer).score(rows, replies, ScoringContext(box_format=adapter.box_format))
    return {**result.metrics, "rows": len(rows), "rows_per_s": len(rows) / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    from model_adapters.base import AdapterOptions, load_adapter

    p = argparse.ArgumentParser(prog="python -m evalkit.tinyvlm.quick_eval", description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--scenes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tasks", default=",".join(SUITE))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    adapter = load_adapter(f"visionpangu:{args.checkpoint}", AdapterOptions(device="cpu"))
    report = {task: score_task(adapter, task, args.scenes, args.seed) for task in args.tasks.split(",")}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
