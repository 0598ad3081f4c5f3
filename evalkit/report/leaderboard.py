"""Leaderboards: one row per run, one column per task's headline metric (markdown, CSV, HTML).

An average column appears only when at least two columns are on the percent scale (accuracy-like
metrics); it averages those columns only, and only for runs that have all of them. A task a run
did not do is shown as "—", never as zero.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.report.runs import MISSING, ReportInputError, Run, find_run_dirs, format_number, load_run

FORMATS = ("md", "csv", "html")
DEFAULT_PATH = Path("results")
_PERCENT = re.compile(r"^(acc.*|.*accuracy.*|f1|precision|recall|exact_match|em|yes_ratio)$")


def is_percent_metric(task: dict[str, Any], metric: str) -> bool:
    """True when ``metric`` is on the 0-100 scale: the task says so in ``info.percent_metrics``,
    else accuracy-like names (accuracy, acc*, f1, precision, recall, exact_match)."""
    declared = (task.get("info") or {}).get("percent_metrics")
    if isinstance(declared, list):
        return metric in declared
    return bool(_PERCENT.match(metric.lower()))


def headline_metric(task: dict[str, Any]) -> str | None:
    """The task's headline metric: ``headline`` (or ``info.headline``), else its first metric."""
    name = task.get("headline") or (task.get("info") or {}).get("headline")
    metrics = task.get("metrics") or {}
    return str(name) if name else next(iter(metrics), None)


@dataclass(frozen=True)
class Column:
    task: str
    metric: str
    percent: bool
    n: int | None  # the dataset size when every run agrees on it


@dataclass(frozen=True)
class Cell:
    value: float | None
    stderr: float | None
    n: int | None
    n_errors: int


@dataclass(frozen=True)
class Entry:
    run: Run
    cells: tuple[Cell, ...]
    parser: str
    average: float | None


@dataclass(frozen=True)
class Leaderboard:
    columns: tuple[Column, ...]
    entries: tuple[Entry, ...]
    average_over: tuple[str, ...]  # tasks whose columns the average covers (empty: no average)


def _columns(runs: Sequence[Run]) -> list[Column]:
    tasks = sorted({t for r in runs for t in r.tasks})
    columns = []
    for task in tasks:
        entries = [r.tasks[task] for r in runs if task in r.tasks]
        metric = Counter(headline_metric(e) for e in entries).most_common(1)[0][0] or "?"
        sizes = {e.get("n") for e in entries}
        n = sizes.pop() if len(sizes) == 1 else None
        columns.append(Column(task, metric, all(is_percent_metric(e, metric) for e in entries), n))
    return columns


def _cell(run: Run, column: Column) -> Cell:
    task = run.tasks.get(column.task)
    if task is None:
        return Cell(None, None, None, 0)
    value = (task.get("metrics") or {}).get(column.metric)
    stderr = (task.get("stderr") or {}).get(column.metric)
    return Cell(value, stderr, task.get("n"), int(task.get("n_errors") or 0))


def _is_value(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def build_leaderboard(runs: Sequence[Run]) -> Leaderboard:
    """Columns, cells and averages of ``runs``; sorted by average, then model and run name."""
    columns = _columns(runs)
    percent = [i for i, c in enumerate(columns) if c.percent]
    averaged = percent if len(percent) >= 2 else []
    entries = []
    for run in runs:
        cells = tuple(_cell(run, c) for c in columns)
        values = [v for v in (cells[i].value for i in averaged) if v is not None and _is_value(v)]
        average = sum(values) / len(values) if averaged and len(values) == len(averaged) else None
        parsers = sorted({str(t.get("parser", "?")) for t in run.tasks.values()})
        entries.append(Entry(run, cells, ",".join(parsers) or MISSING, average))
    entries.sort(key=lambda e: (e.average is None, -(e.average or 0.0), e.run.model, e.run.name))
    return Leaderboard(tuple(columns), tuple(entries), tuple(columns[i].task for i in averaged))


def _header(column: Column) -> str:
    size = f", n={column.n}" if column.n is not None else ""
    return f"{column.task} ({column.metric}{size})"


def _cell_text(cell: Cell, column: Column) -> str:
    if not _is_value(cell.value):
        return MISSING
    text = format_number(cell.value)
    if _is_value(cell.stderr):
        text += f" ± {format_number(cell.stderr)}"
    notes = [f"n={cell.n}"] if column.n is None and cell.n is not None else []
    notes += [f"{cell.n_errors} errors"] if cell.n_errors else []
    return text + (f" ({', '.join(notes)})" if notes else "")


def _table(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    header = ["model", "run", "parser"] + [_header(c) for c in board.columns]
    header += ["average"] if board.average_over else []
    body = []
    for e in board.entries:
        row = [e.run.model, e.run.name, e.parser] + [_cell_text(x, c) for x, c in zip(e.cells, board.columns)]
        row += [format_number(e.average)] if board.average_over else []
        body.append(row)
    return header, body


def _footnote(board: Leaderboard) -> str:
    text = "Headline metric per task, ± its bootstrap standard error; — means the run lacks the task."
    if board.average_over:
        text += f" Average: mean of the percent-scale columns ({', '.join(board.average_over)})."
    return text


def leaderboard_markdown(board: Leaderboard) -> str:
    header, body = _table(board)
    escape = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(escape, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in body]
    return "\n".join(lines) + "\n\n" + _footnote(board) + "\n"


def leaderboard_csv(board: Leaderboard) -> str:
    """Machine-readable: raw numbers, one value / stderr / n column per task; empty = missing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f"{c.task}/{c.metric}" for c in board.columns]
    writer.writerow(
        ["model", "run", "parser"] + [f"{n}{s}" for n in names for s in ("", ":stderr", ":n")] + ["average"]
    )
    for e in board.entries:
        cells = [v if _is_value(v) else "" for x in e.cells for v in (x.value, x.stderr, x.n)]
        writer.writerow(
            [e.run.model, e.run.name, e.parser, *cells, e.average if e.average is not None else ""]
        )
    return out.getvalue()


def leaderboard_html(board: Leaderboard) -> str:
    from evalkit.report.html import html_page

    header, body = _table(board)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return html_page(
        "evalkit leaderboard", f"<h1>Leaderboard</h1>{table}<p>{html.escape(_footnote(board))}</p>"
    )


def render_leaderboard(paths: Sequence[Path], fmt: str = "md") -> str:
    """The leaderboard of the run folders found under ``paths`` (default ``results/``)."""
    if fmt not in FORMATS:
        raise ReportInputError(f"unknown leaderboard format {fmt!r}: choose one of {', '.join(FORMATS)}")
    roots = list(paths) or [DEFAULT_PATH]
    runs = [load_run(p) for p in find_run_dirs(roots)]
    if not runs:
        raise ReportInputError(
            f"no results.json found under {', '.join(map(str, roots))}: run `evalkit run` first"
        )
    board = build_leaderboard(runs)
    render = {"md": leaderboard_markdown, "csv": leaderboard_csv, "html": leaderboard_html}[fmt]
    return render(board)
