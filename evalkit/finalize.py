"""Scoring a task's finished records and writing results.json (also for merged shards)."""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.registry import TaskSpec, default_registry
from evalkit.scoring import ScoringContext, get_scorer
from evalkit.store import (
    LogEntry,
    RunStore,
    SampleLog,
    dumps_line,
    iter_entries,
    write_json_atomic,
    write_lines_atomic,
)
from evalkit.types import TaskResult

LIBRARIES = ("torch", "transformers", "datasets", "pycocoevalcap", "numpy", "pyarrow", "pillow")


def task_stderr(
    scorer: Any, rows: list[dict[str, Any]], per_sample: list[Any], ctx: ScoringContext, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Bootstrap standard errors of every metric, and how they were made (seed, replicates,
    method and 95% interval per metric) for results.json."""
    from evalkit.stats import bootstrap_metrics

    summary = bootstrap_metrics(scorer, rows, per_sample, ctx, seed=seed)
    info = summary.to_info()
    info["ci95"] = {name: [iv.low, iv.high] for name, iv in summary.intervals.items()}
    return summary.stderr, info


def finalize_task(
    spec: TaskSpec,
    log: SampleLog,
    doc_ids: Sequence[int] | None,
    ctx: ScoringContext,
    dataset_info: Mapping[str, Any],
    timing: Mapping[str, float],
    seed: int,
    index: Mapping[int, LogEntry] | None = None,
) -> TaskResult | None:
    """Score the selected records of a task at once (the official algorithms are corpus-level)
    and rewrite its record file in doc_id order with the final parsed answers and outcomes.

    A sample whose generation failed is scored as an empty reply: it counts, as whatever the
    official script makes of an empty answer. Records are streamed from the file by offset, so
    only the rows the scorer needs are held in memory.
    """
    index = log.scan() if index is None else index
    wanted = sorted(index) if doc_ids is None else list(doc_ids)
    if any(d not in index for d in wanted):
        return None  # stopped early (e.g. --max-errors): records stay, nothing is scored
    rows: list[dict[str, Any]] = []
    responses: list[str] = []
    n_errors = 0
    for _, obj in iter_entries(index, wanted):
        rows.append(obj.get("fields") or {})
        responses.append(obj.get("response") or "")
        n_errors += obj.get("error") is not None
    scorer = get_scorer(spec.scorer)
    result = scorer.score(rows, responses, ctx)
    write_lines_atomic(log.path, _final_lines(index, wanted, result))
    stderr, bootstrap = task_stderr(scorer, rows, result.per_sample, ctx, seed)
    info = {**result.info, "scorer": spec.scorer, "headline": spec.headline, "box_format": ctx.box_format,
            "bootstrap": bootstrap}  # fmt: skip
    return TaskResult(
        task=spec.name,
        version=spec.version,
        metrics=result.metrics,
        stderr=stderr,
        breakdown=result.breakdown,
        n=len(rows),
        n_errors=n_errors,
        parser=ctx.mode,
        dataset={**dataset_info, "n": len(rows)},
        generation=dict(spec.generation),
        timing=dict(timing),
        info=info,
    )


def _final_lines(index: Mapping[int, LogEntry], wanted: Sequence[int], result: Any) -> Iterator[str]:
    """Each record again, in doc_id order, with the scorer's parsed answer and outcome."""
    for i, (_, obj) in enumerate(iter_entries(index, wanted)):
        obj["parsed"] = result.parsed[i]
        obj["score"] = result.per_sample[i]
        yield dumps_line(obj)


def git_commit() -> str | None:
    """The evalkit checkout's commit, when it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def results_document(
    store: RunStore, model: Mapping[str, Any], seed: int, tasks: Mapping[str, TaskResult]
) -> dict[str, Any]:
    previous = {}
    path = store.run_dir / "results.json"
    if path.exists():
        import json

        previous = json.loads(path.read_text(encoding="utf-8")).get("tasks", {})
    merged = {**previous, **{name: _task_entry(r) for name, r in tasks.items()}}
    return {
        "evalkit_version": __version__,
        "run_name": store.run_dir.name,
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": dict(model),
        "seed": seed,
        "libraries": library_versions(),
        "tasks": merged,
    }


def _task_entry(result: TaskResult) -> dict[str, Any]:
    entry = result.to_dict()
    entry["headline"] = result.info.get("headline")
    entry["scorer"] = result.info.get("scorer")
    return entry


def write_results(store: RunStore, cfg: Any, adapter: Any, tasks: Mapping[str, TaskResult]) -> Path:
    """Write (atomically) results.json holding every finished task of the run."""
    model: dict[str, Any] = {"name": cfg.model, "dtype": cfg.dtype, "device": cfg.device}
    if adapter.loaded:
        model.update(adapter.get().describe())
    else:
        model.update(store.manifest().get("model_info", {}))
    manifest = store.manifest()
    manifest["model_info"] = model
    store.save_manifest(manifest)
    path = store.run_dir / "results.json"
    write_json_atomic(path, results_document(store, model, cfg.seed, tasks))
    return path


def merge_run(run_dir: Path, cfg_seed: int | None = None) -> dict[str, TaskResult]:
    """Merge the shard record files of every task in a run and score them (``evalkit merge``)."""
    store = RunStore(run_dir)
    manifest = store.manifest()
    if not manifest.get("tasks"):
        raise FileNotFoundError(f"{run_dir} has no run.json with tasks: is it an evalkit run folder?")
    registry = default_registry()
    seed = cfg_seed if cfg_seed is not None else int(manifest.get("seed", 1234))
    results: dict[str, TaskResult] = {}
    for task, entry in manifest["tasks"].items():
        shards = sorted(run_dir.glob(f"{task}.samples.shard-*-of-*.jsonl"))
        log = store.sample_log(task)
        index = dict(log.scan())
        for shard_path in shards:
            index.update(SampleLog(shard_path).scan())
        config = entry.get("config", {})
        ctx = ScoringContext(
            mode=config.get("parser", "official"), seed=42, box_format=entry.get("box_format")
        )
        spec = registry.get(task)
        dataset_info = entry.get("dataset_info") or {
            "source": config.get("dataset"),
            "split": config.get("split"),
        }
        result = finalize_task(spec, log, None, ctx, dataset_info, {}, seed, index)
        if result is not None:
            results[task] = result
        for shard_path in shards:
            shard_path.unlink()
    model = manifest.get("model_info") or {"name": manifest.get("model")}
    write_json_atomic(run_dir / "results.json", results_document(store, model, seed, results))
    manifest["status"] = "finished"
    store.save_manifest(manifest)
    return results
