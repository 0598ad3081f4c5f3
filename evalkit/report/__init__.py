"""Reading run folders: leaderboards, run-to-run comparison (CI regressions) and HTML reports.

The CLI wires these as ``evalkit leaderboard``, ``evalkit compare`` and ``evalkit report``; each
raises :class:`ReportInputError` (exit code 2, one-line message) on bad input.
"""

from evalkit.report.compare import CompareReport, TaskComparison, compare_runs
from evalkit.report.html import render_html_report, write_html_report
from evalkit.report.leaderboard import FORMATS, build_leaderboard, render_leaderboard
from evalkit.report.runs import ReportInputError, Run, find_run_dirs, load_run, load_samples

__all__ = [
    "FORMATS",
    "CompareReport",
    "ReportInputError",
    "Run",
    "TaskComparison",
    "build_leaderboard",
    "compare_runs",
    "find_run_dirs",
    "load_run",
    "load_samples",
    "render_html_report",
    "render_leaderboard",
    "write_html_report",
]
