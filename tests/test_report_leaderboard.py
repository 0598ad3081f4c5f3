"""Specification of `evalkit leaderboard`: one row per run, one column per task's headline metric,
an average only over same-scale (percent) columns, missing cells as "—" (never zero)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.report import ReportInputError, render_leaderboard
from evalkit.report.leaderboard import is_percent_metric


def task(
    headline: str,
    value: float,
    *,
    n: int = 300,
    stderr: float | None = 1.5,
    parser: str = "official",
) -> dict:
    entry: dict[str, Any] = {"version": 1, "metrics": {headline: value, "other": 1.0}, "n": n, "n_errors": 0,
                             "parser": parser, "headline": headline, "stderr": {}}  # fmt: skip
    if stderr is not None:
        entry["stderr"][headline] = stderr
    return entry


def write_results(folder: Path, model: str, tasks: dict[str, dict]) -> Path:
    folder.mkdir(parents=True)
    doc = {"run_name": folder.name, "model": {"name": model}, "seed": 1234, "tasks": tasks}
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


def markdown_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines if not line.startswith("|---")]


def test_one_row_per_run_and_missing_cells_are_dashes(tmp_path: Path) -> None:
    # | model      | pope f1 | mmbench accuracy |
    # | mock:good  | 80.0    | 60.0             |
    # | mock:half  | 70.0    | (not run)        |
    write_results(tmp_path / "a", "mock:good", {"pope": task("f1", 80.0), "mmbench": task("accuracy", 60.0)})
    write_results(tmp_path / "b", "mock:half", {"pope": task("f1", 70.0)})
    header, *rows = markdown_rows(render_leaderboard([tmp_path], "md"))
    assert header == [
        "model",
        "run",
        "parser",
        "mmbench (accuracy, n=300)",
        "pope (f1, n=300)",
        "average",
    ]
    assert rows[0] == ["mock:good", "a", "official", "60.00 ± 1.50", "80.00 ± 1.50", "70.00"]
    assert rows[1] == ["mock:half", "b", "official", "—", "70.00 ± 1.50", "—"]
    assert "0.00" not in rows[1][3]


def test_rows_are_sorted_by_average(tmp_path: Path) -> None:
    write_results(tmp_path / "weak", "mock:weak", {"pope": task("f1", 10.0), "mmmu": task("accuracy", 20.0)})
    write_results(
        tmp_path / "strong",
        "mock:strong",
        {"pope": task("f1", 90.0), "mmmu": task("accuracy", 50.0)},
    )
    rows = markdown_rows(render_leaderboard([tmp_path], "md"))[1:]
    assert [r[0] for r in rows] == ["mock:strong", "mock:weak"]


def test_no_average_when_the_scales_differ(tmp_path: Path) -> None:
    # MME perception is a sum of subtask scores (0-2000): averaging it with an F1 means nothing
    write_results(tmp_path / "a", "mock:x", {"mme": task("perception", 1200.0), "pope": task("f1", 80.0)})
    text = render_leaderboard([tmp_path], "md")
    assert "average" not in markdown_rows(text)[0]


def test_average_covers_only_the_percent_columns(tmp_path: Path) -> None:
    tasks = {
        "mme": task("perception", 1200.0),
        "pope": task("f1", 80.0),
        "mmmu": task("accuracy", 40.0),
    }
    write_results(tmp_path / "a", "mock:x", tasks)
    text = render_leaderboard([tmp_path], "md")
    assert markdown_rows(text)[1][-1] == "60.00"
    assert "mean of the percent-scale columns (mmmu, pope)" in text


def test_sizes_and_parser_modes_are_noted(tmp_path: Path) -> None:
    write_results(tmp_path / "a", "mock:a", {"pope": task("f1", 80.0, n=300, stderr=None)})
    write_results(tmp_path / "b", "mock:b", {"pope": task("f1", 70.0, n=100, stderr=None, parser="robust")})
    header, *rows = markdown_rows(render_leaderboard([tmp_path], "md"))
    assert header[3] == "pope (f1)"  # sizes differ, so each cell says its own
    assert rows[0][2:] == ["official", "80.00 (n=300)"]
    assert rows[1][2:] == ["robust", "70.00 (n=100)"]


def test_csv_keeps_raw_numbers_and_leaves_missing_cells_empty(tmp_path: Path) -> None:
    write_results(tmp_path / "a", "mock:a", {"pope": task("f1", 80.123456), "mmmu": task("accuracy", 40.0)})
    write_results(tmp_path / "b", "mock:b", {"pope": task("f1", 70.0)})
    rows = list(csv.DictReader(io.StringIO(render_leaderboard([tmp_path], "csv"))))
    assert rows[0]["pope/f1"] == "80.123456" and rows[0]["pope/f1:stderr"] == "1.5"
    assert rows[0]["average"] == str((80.123456 + 40.0) / 2)
    assert rows[1]["mmmu/accuracy"] == "" and rows[1]["average"] == ""


def test_html_is_a_standalone_table(tmp_path: Path) -> None:
    write_results(tmp_path / "a", "mock:<b>", {"pope": task("f1", 80.0)})
    write_results(tmp_path / "b", "mock:b", {"mmmu": task("accuracy", 40.0)})
    page = render_leaderboard([tmp_path], "html")
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page
    assert "mock:&lt;b&gt;" in page and "<td>—</td>" in page


def test_paths_are_run_folders_or_searched_recursively(tmp_path: Path) -> None:
    write_results(tmp_path / "results" / "deep" / "a", "mock:a", {"pope": task("f1", 80.0)})
    write_results(tmp_path / "elsewhere", "mock:b", {"pope": task("f1", 70.0)})
    both = markdown_rows(render_leaderboard([tmp_path / "results", tmp_path / "elsewhere"], "md"))
    assert [r[0] for r in both[1:]] == ["mock:a", "mock:b"]


def test_default_path_is_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_results(tmp_path / "results" / "a", "mock:a", {"pope": task("f1", 80.0)})
    monkeypatch.chdir(tmp_path)
    assert "mock:a" in render_leaderboard([], "md")


def test_bad_input_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="no results.json found"):
        render_leaderboard([tmp_path], "md")
    with pytest.raises(ReportInputError, match="neither a run folder"):
        render_leaderboard([tmp_path / "missing"], "md")
    with pytest.raises(ReportInputError, match="unknown leaderboard format 'xlsx'"):
        render_leaderboard([tmp_path], "xlsx")


@pytest.mark.parametrize(
    ("metric", "percent"),
    [("accuracy", True), ("acc_plus", True), ("f1", True), ("perception", False), ("CIDEr", False)],
)
def test_percent_scale_by_metric_name(metric: str, percent: bool) -> None:
    assert is_percent_metric({}, metric) is percent
