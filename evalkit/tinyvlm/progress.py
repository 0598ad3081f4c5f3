"""Training progress on stderr: a rich bar on a terminal, plus one plain line per logged step."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def format_row(stage: str, row: dict[str, float]) -> str:
    """``[sft] step 120 loss 1.2345 lr 4.8e-04 tok/s 5321 elapsed 61s``."""
    return (
        f"[{stage}] step {int(row['step'])} loss {row['loss']:.4f} lr {row['lr']:.2e} "
        f"tok/s {row['tokens_per_s']:.0f} elapsed {row['elapsed_s']:.0f}s"
    )


class TrainProgress:
    """Context manager: ``advance()`` once per optimizer step, ``log(row)`` when a row is logged."""

    def __init__(self, stage: str, *, total: int, start: int) -> None:
        self.stage = stage
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn(f"[bold]{stage}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task = self.progress.add_task(stage, total=total, completed=start, status="")

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def advance(self) -> None:
        self.progress.advance(self.task)

    def log(self, row: dict[str, float]) -> None:
        status = f"loss {row['loss']:.4f} | {row['tokens_per_s']:.0f} tok/s"
        self.progress.update(self.task, status=status)
        self.console.print(format_row(self.stage, row), markup=False, highlight=False, soft_wrap=True)
