"""Rich tables for the terminal: results, scores, task and model lists."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return "—" if value is None else str(value)


def print_results(tasks: Mapping[str, Mapping[str, Any]], run_dir: Path | None = None) -> None:
    """One row per task and metric, with the parser mode, n and errors."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"evalkit results — {run_dir}" if run_dir else "evalkit results")
    for col in ("task", "metric", "value", "± stderr", "parser", "n", "errors"):
        table.add_column(col, justify="right" if col in ("value", "± stderr", "n", "errors") else "left")
    for name, entry in tasks.items():
        stderr = entry.get("stderr") or {}
        for i, (metric, value) in enumerate(entry.get("metrics", {}).items()):
            first = i == 0
            table.add_row(
                name if first else "", metric, _fmt(value), _fmt(stderr.get(metric)),
                entry.get("parser", "") if first else "", str(entry.get("n", "")) if first else "",
                str(entry.get("n_errors", 0)) if first else "",
            )  # fmt: skip
    Console().print(table)
    if run_dir is not None:
        Console(stderr=True).print(f"records and results.json in {run_dir}")


def print_score_table(document: Mapping[str, Any]) -> None:
    print_results({document["task"]: {**document, "n_errors": 0}})


def print_task_list() -> None:
    from rich.console import Console
    from rich.table import Table

    from evalkit.registry import default_registry

    registry = default_registry()
    table = Table(title="tasks")
    table.add_column("task")
    table.add_column("description")
    table.add_column("scorer")
    for name in sorted(registry.tasks):
        spec = registry.tasks[name]
        table.add_row(name, spec.description, spec.scorer)
    for group, members in sorted(registry.groups.items()):
        table.add_row(group, "group: " + ", ".join(members), "")
    Console().print(table)


def print_model_list() -> None:
    from rich.console import Console
    from rich.table import Table

    from model_adapters.base import model_descriptions

    table = Table(title="models")
    table.add_column("name")
    table.add_column("description")
    for name, text in model_descriptions().items():
        table.add_row(name, text)
    Console().print(table)
