"""A rich progress bar per task on stderr (samples/s, ETA, errors)."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class TaskProgress:
    """Context manager around a rich progress bar; a no-op when disabled."""

    def __init__(self, task: str, total: int, *, enabled: bool = True) -> None:
        self.task = task
        self.total = total
        self.enabled = enabled
        self._progress: Any = None
        self._id: Any = None

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,  # fmt: skip
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>8} samples/s"), TextColumn("errors {task.fields[errors]}"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self._progress.start()
            self._id = self._progress.add_task(self.task, total=self.total, rate="-", errors=0)
        return self

    def advance(self, n: int, *, errors: int) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._id, n)
        task = self._progress.tasks[0]
        rate = f"{task.speed:.1f}" if task.speed else "-"
        self._progress.update(self._id, rate=rate, errors=errors)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
