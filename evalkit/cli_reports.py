"""``evalkit leaderboard | compare | report``: reading and comparing run folders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli import app, fail, known_errors


@app.command()
def leaderboard(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Run folders, or folders searched for them")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, csv or html")] = "md",
    out: Annotated[Path | None, typer.Option(help="Also write the table to this file")] = None,
) -> None:
    """One row per run, one column per task's headline metric."""
    from evalkit.report.leaderboard import render_leaderboard
    from evalkit.store import write_text_atomic

    try:
        text = render_leaderboard(paths or [Path("results")], fmt)
    except known_errors() as exc:
        fail(str(exc))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if out is not None:
        write_text_atomic(out, text)


@app.command()
def compare(
    baseline: Annotated[Path, typer.Argument(help="Baseline run folder")],
    new: Annotated[Path, typer.Argument(help="New run folder")],
    max_drop: Annotated[
        float,
        typer.Option(
            help="Fail (exit 1) when a metric drops more than this many points with its 95% CI below zero"
        ),
    ] = 1.0,
    md: Annotated[Path | None, typer.Option(help="Write the markdown report here")] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed (recorded)")] = 0,
) -> None:
    """Paired comparison of two runs: deltas with bootstrap CIs, McNemar, flipped samples."""
    from evalkit.report.compare import CompareInputError, compare_runs
    from evalkit.store import write_text_atomic

    try:
        report = compare_runs(baseline, new, max_drop=max_drop, seed=seed)
    except CompareInputError as exc:
        fail(str(exc), code=2)
    sys.stdout.write(report.markdown if report.markdown.endswith("\n") else report.markdown + "\n")
    if md is not None:
        write_text_atomic(md, report.markdown)
    raise typer.Exit(report.exit_code)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run folder")],
    out: Annotated[Path | None, typer.Option(help="HTML file (default RUN/report.html)")] = None,
) -> None:
    """A self-contained HTML report with tables, plots and a sample browser."""
    from evalkit.report.html import write_html_report

    try:
        path = write_html_report(run_dir, out or run_dir / "report.html")
    except known_errors() as exc:
        fail(str(exc))
    typer.echo(str(path))
