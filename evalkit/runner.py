"""The run loop: load -> prompt -> batch -> generate -> parse -> score -> aggregate -> store.

Each finished batch is appended to the task's record file before the next one starts, so a
killed run loses at most the batch in flight, and re-running the same command resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit import distributed
from evalkit.batching import prefetch
from evalkit.config import RunConfig, default_run_name, safe_name
from evalkit.data import load_task_dataset
from evalkit.finalize import finalize_task, write_results
from evalkit.images import thumbnail_jpeg
from evalkit.pipeline import BatchSizer, Prepared, describe_error, generate_batch, prepared_batches
from evalkit.progress import TaskProgress
from evalkit.registry import TaskSpec, default_registry
from evalkit.scoring import ScoringContext, get_scorer
from evalkit.store import RunStore, SampleLog
from evalkit.types import GenerationSettings, SampleRecord, TaskResult

THUMBNAILS_PER_TASK = 300
# Seed of scorers' random fallbacks: 42, as MMMU's official evaluation seeds its stream, so
# `evalkit run` and `evalkit score` agree. `--seed` drives generation and the bootstrap.
SCORING_SEED = 42


class TooManyErrorsError(RuntimeError):
    """More samples failed than ``--max-errors`` allows (finished records are kept)."""


@dataclass
class TaskStats:
    generated: int = 0
    errors: int = 0
    adapter_calls: int = 0
    adapter_busy_s: float = 0.0
    loop_s: float = 0.0


class LazyAdapter:
    """Loads the model only when some sample actually needs generating."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._adapter: Any = None

    def get(self) -> Any:
        if self._adapter is None:
            self._adapter = self._factory()
        return self._adapter

    @property
    def loaded(self) -> bool:
        return self._adapter is not None

    def close(self) -> None:
        if self._adapter is not None:
            self._adapter.close()


def resolve_run_dir(cfg: RunConfig) -> Path:
    """``--run-name`` if given; else the newest unfinished run of this model (resume), else new."""
    if cfg.run_name:
        return cfg.output_dir / cfg.run_name
    prefix = safe_name(cfg.model) + "_"
    if cfg.output_dir.is_dir():
        candidates = sorted(p for p in cfg.output_dir.iterdir() if p.name.startswith(prefix))
        for run_dir in reversed(candidates):
            manifest = RunStore(run_dir).manifest()
            if manifest.get("status") == "running" and manifest.get("tasks_requested") == list(cfg.tasks):
                return run_dir
    return cfg.output_dir / default_run_name(cfg.model)


def task_config(spec: TaskSpec, cfg: RunConfig) -> dict[str, Any]:
    """What must match for records to be reused on resume (the config hash input)."""
    return {
        "model": cfg.model,
        "task": spec.name,
        "task_version": spec.version,
        "prompt": spec.prompt,
        "hooks": spec.hooks,
        "generation": dict(spec.generation),
        "parser": cfg.parser,
        "dataset": spec.dataset.label,
        "split": spec.dataset.split,
        "dataset_revision": cfg.dataset_revision or spec.dataset.revision,
        "data_dir": str(cfg.data_dir) if cfg.data_dir else None,
        "synthetic_size": cfg.synthetic_size,
        "dtype": cfg.dtype,
        "seed": cfg.seed,
    }


def run(
    cfg: RunConfig,
    adapter_factory: Callable[[], Any],
    *,
    progress: bool = True,
) -> tuple[Path, dict[str, TaskResult]]:
    """Run every task of ``cfg``; returns the run folder and the finished tasks' results."""
    specs = default_registry().expand(cfg.tasks)
    shard = cfg.shard or distributed.launcher_shard()
    run_dir = distributed.agree_on_run_dir(resolve_run_dir(cfg))
    store = RunStore(run_dir)
    manifest = store.manifest()
    manifest.update(
        {"run_name": run_dir.name, "model": cfg.model, "status": "running",
         "tasks_requested": list(cfg.tasks), "seed": cfg.seed}
    )  # fmt: skip
    store.save_manifest(manifest)
    adapter = LazyAdapter(adapter_factory)
    results: dict[str, TaskResult] = {}
    try:
        for spec in specs:
            outcome = run_task(spec, cfg, store, adapter, shard=shard, progress=progress)
            if outcome is not None:
                results[spec.name] = outcome
                write_results(store, cfg, adapter, results)
        if shard is not None and distributed.is_launched():
            distributed.barrier()
            if distributed.rank() == 0:
                from evalkit.finalize import merge_run

                results = merge_run(run_dir, cfg_seed=cfg.seed)
        final = shard is None or (distributed.is_launched() and distributed.rank() == 0)
        if final:
            manifest = store.manifest()
            manifest["status"] = "finished"
            store.save_manifest(manifest)
    finally:
        adapter.close()
    return run_dir, results


def run_task(
    spec: TaskSpec,
    cfg: RunConfig,
    store: RunStore,
    adapter: LazyAdapter,
    *,
    shard: tuple[int, int] | None,
    progress: bool,
) -> TaskResult | None:
    """Generate every pending sample of ``spec`` then, unless sharded, score the task."""
    t0 = time.perf_counter()
    dataset = load_task_dataset(
        spec, data_dir=cfg.data_dir, revision=cfg.dataset_revision, synthetic_size=cfg.synthetic_size
    )
    doc_ids = dataset.select_doc_ids(spec.filter, cfg.limit, spec.subset, cfg.seed)
    if shard is not None:
        doc_ids = doc_ids[shard[0] :: shard[1]]
    config = task_config(spec, cfg)
    store.claim_task(spec.name, config)
    log = store.sample_log(spec.name, shard)
    done = log.scan()
    # samples whose generation failed are tried again; everything with a response is kept
    pending = [d for d in doc_ids if d not in done or not done[d].has_response]
    stats = TaskStats()
    if pending:
        generate_pending(spec, cfg, store, adapter.get(), dataset, pending, log, stats, progress)
    box_format = _remember_task_facts(store, spec.name, adapter, dataset.info)
    if shard is not None:
        return None
    ctx = ScoringContext(mode=cfg.parser, seed=SCORING_SEED, box_format=box_format)
    timing = _timing(stats, time.perf_counter() - t0)
    return finalize_task(spec, log, doc_ids, ctx, dataset.info, timing, cfg.seed)


def _remember_task_facts(
    store: RunStore, task: str, adapter: LazyAdapter, dataset_info: dict[str, Any]
) -> str | None:
    """Keep the adapter's box convention and the dataset's provenance in run.json, so a resumed
    run need not load the model and `evalkit merge` can report where the data came from."""
    manifest = store.manifest()
    entry = manifest.setdefault("tasks", {}).setdefault(task, {})
    entry["dataset_info"] = dataset_info
    if adapter.loaded:
        entry["box_format"] = adapter.get().box_format
    store.save_manifest(manifest)
    return entry.get("box_format")


def _timing(stats: TaskStats, wall_s: float) -> dict[str, float]:
    loop = stats.loop_s or 1e-9
    return {
        "wall_s": round(wall_s, 3),
        "generated": stats.generated,
        "samples_per_s": round(stats.generated / loop, 3) if stats.generated else 0.0,
        "adapter_busy_fraction": round(stats.adapter_busy_s / loop, 4) if stats.generated else 0.0,
        "adapter_calls": stats.adapter_calls,
    }


def generate_pending(
    spec: TaskSpec,
    cfg: RunConfig,
    store: RunStore,
    adapter: Any,
    dataset: Any,
    pending: list[int],
    log: SampleLog,
    stats: TaskStats,
    progress: bool,
) -> None:
    """The batch loop: each batch is generated, scored (when the scorer streams) and stored."""
    settings = GenerationSettings(**spec.generation)
    size = (
        adapter.max_batch_size
        if cfg.batch_size == "auto"
        else min(int(cfg.batch_size), adapter.max_batch_size)
    )
    sizer = BatchSizer(size)
    scorer = get_scorer(spec.scorer)
    ctx = ScoringContext(mode=cfg.parser, seed=SCORING_SEED, box_format=adapter.box_format)
    thumbs_dir = store.run_dir / "images" / safe_name(spec.name)
    t_loop = time.perf_counter()
    with TaskProgress(spec.name, len(pending), enabled=progress) as bar:
        for batch in prefetch(prepared_batches(spec, dataset, pending, sizer.size)):
            t_gen = time.perf_counter()
            stats.adapter_calls += generate_batch(adapter, batch, settings, sizer)
            stats.adapter_busy_s += time.perf_counter() - t_gen
            records = score_batch(
                scorer, batch, ctx, spec.target, streaming=getattr(scorer, "streaming", False)
            )
            if cfg.thumbnails:
                _save_thumbnails(thumbs_dir, batch)
            log.append(records)
            stats.generated += len(batch)
            stats.errors += sum(r.error is not None for r in records)
            bar.advance(len(batch), errors=stats.errors)
            if cfg.max_errors is not None and stats.errors > cfg.max_errors:
                raise TooManyErrorsError(
                    f"{spec.name}: {stats.errors} samples failed (> --max-errors {cfg.max_errors}); "
                    f"the {stats.generated} finished samples are saved in {log.path}"
                )
    stats.loop_s = time.perf_counter() - t_loop


def score_batch(
    scorer: Any, batch: list[Prepared], ctx: ScoringContext, target: str | None, *, streaming: bool
) -> list[SampleRecord]:
    """Records for a finished batch; parsed answers and outcomes when the scorer streams."""
    parsed: list[Any] = [None] * len(batch)
    outcome: list[Any] = [None] * len(batch)
    ok = [i for i, s in enumerate(batch) if s.error is None]
    if streaming and ok:
        try:
            result = scorer.score([batch[i].fields for i in ok], [batch[i].response or "" for i in ok], ctx)
            for j, i in enumerate(ok):
                parsed[i], outcome[i] = result.parsed[j], result.per_sample[j]
        except Exception as exc:  # per-sample scoring must not lose the generated text
            for i in ok:
                batch[i].error = f"scoring failed: {describe_error(exc)}"
    return [
        SampleRecord(
            doc_id=s.doc_id,
            prompt=s.prompt,
            response=s.response,
            parsed=parsed[i],
            score=outcome[i],
            error=s.error,
            target=s.fields.get(target) if target else None,
            timing={"generate_s": round(s.generate_s, 6)},
            fields=s.fields,
        )  # fmt: skip
        for i, s in enumerate(batch)
    ]


def _save_thumbnails(folder: Path, batch: list[Prepared]) -> None:
    for sample in batch:
        if not sample.images or sample.doc_id >= THUMBNAILS_PER_TASK:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        try:
            (folder / f"{sample.doc_id}.jpg").write_bytes(thumbnail_jpeg(sample.images[0]))
        except OSError:
            pass  # thumbnails are a convenience for the report, never a reason to fail
