"""Finding and reading run folders (``results.json`` + ``<task>.samples.jsonl`` + ``images/``).

Layout read here (written by :mod:`evalkit.store` / :mod:`evalkit.finalize`)::

    <run>/results.json                  the results document
    <run>/<task>.samples.jsonl          one record per sample (doc_id, prompt, response, parsed,
                                        score, error, target, timing, fields)
    <run>/images/<task>/<doc_id>.jpg    optional small JPEG thumbnails (first image of a sample)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.config import safe_name

MISSING = "—"
"""How a cell without a value is shown (never as zero)."""


class ReportInputError(ValueError):
    """Bad input to a report command; ``str(err)`` is one line naming the problem and the fix.

    The CLI prints it and exits with :attr:`exit_code` (2)."""

    exit_code = 2


@dataclass(frozen=True)
class Run:
    """A run folder and its parsed results document."""

    path: Path
    results: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.results.get("run_name") or self.path.name)

    @property
    def model(self) -> str:
        model = self.results.get("model") or {}
        return str(model.get("name") or model.get("id") or "?")

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return dict(self.results.get("tasks") or {})


def find_run_dirs(paths: Sequence[Path]) -> list[Path]:
    """Each path is a run folder (holding results.json) or a folder searched recursively."""
    found: list[Path] = []
    for path in paths:
        if (path / "results.json").is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p.parent for p in path.rglob("results.json")))
        else:
            raise ReportInputError(f"{path} is neither a run folder nor a directory of runs")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def load_run(path: Path) -> Run:
    """Read ``<path>/results.json``; a missing or broken file is a :class:`ReportInputError`."""
    file = path / "results.json" if path.is_dir() or not path.name.endswith(".json") else path
    if not file.is_file():
        raise ReportInputError(f"{path} has no results.json: pass a run folder written by `evalkit run`")
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ReportInputError(f"{file} is not valid JSON ({exc})") from exc
    if not isinstance(results, dict) or not isinstance(results.get("tasks"), dict):
        raise ReportInputError(f"{file} has no 'tasks' object: is it an evalkit results file?")
    return Run(file.parent, results)


def samples_path(run: Run, task: str) -> Path:
    return run.path / f"{task}.samples.jsonl"


def load_samples(run: Run, task: str) -> list[dict[str, Any]]:
    """A task's per-sample records sorted by doc_id (for a doc_id written twice, the last wins)."""
    path = samples_path(run, task)
    if not path.is_file():
        raise ReportInputError(f"{run.path} has no {path.name}: per-sample records are needed")
    records: dict[int, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records[int(record["doc_id"])] = record
            except (ValueError, KeyError, TypeError) as exc:
                raise ReportInputError(f"{path}:{number} is not a sample record ({exc})") from exc
    return [records[d] for d in sorted(records)]


def thumbnail_data_uri(run: Run, task: str, doc_id: int) -> str | None:
    """``data:`` URI of ``images/<task>/<doc_id>.jpg`` (or .png) when the run saved one."""
    for folder in dict.fromkeys((task, safe_name(task))):
        for ext, mime in (("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("png", "image/png")):
            file = run.path / "images" / folder / f"{doc_id}.{ext}"
            if file.is_file():
                return f"data:{mime};base64," + base64.b64encode(file.read_bytes()).decode("ascii")
    return None


def format_number(value: Any, digits: int = 2) -> str:
    """A metric as text: fixed decimals, MISSING for None / NaN / non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return MISSING
    return f"{value:.{digits}f}"
