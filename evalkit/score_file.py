"""``evalkit score``: score a JSONL file of responses produced elsewhere.

Each line is one dataset row (its columns as named in the task's dataset, images left out)
plus ``"response"``. The file is read with orjson and scored by the task's scorer in one call;
nothing here imports torch.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalkit.registry import default_registry
from evalkit.scoring import ScoringContext, get_scorer


class PredictionFileError(ValueError):
    """A prediction file that cannot be read; the message names the file and line."""


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL prediction file; every row must be an object with a ``response``."""
    import orjson

    if not path.is_file():
        raise PredictionFileError(f"prediction file not found: {path}")
    rows: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise PredictionFileError(f"{path}:{number}: not valid JSON ({exc})") from None
            if not isinstance(row, dict) or "response" not in row:
                raise PredictionFileError(
                    f"{path}:{number}: each line must be a JSON object with the row's fields and a 'response'"
                )
            rows.append(row)
    if not rows:
        raise PredictionFileError(f"{path}: no predictions in the file")
    return rows


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small acyclic objects are made.

    Each generation-2 pass rescans every dict and list built so far; on a 214k-row VQAv2 file
    that tripled the parse time. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def keep_filtered(
    rows: list[dict[str, Any]], filt: Mapping[str, Any], path: Path | str = "predictions"
) -> list[dict[str, Any]]:
    """Rows matching the task's filter (``pope_random`` keeps category == random); a row without
    a filter column is an error, not silently dropped (else a file lacking ``data_type`` would
    score 0 rows of ``seedbench`` and say nothing)."""
    for number, row in enumerate(rows, start=1):
        missing = [column for column in filt if column not in row]
        if missing:
            raise PredictionFileError(
                f"{path}: prediction {number} has no {missing[0]!r}; the task keeps only rows whose "
                f"{missing[0]!r} is {filt[missing[0]]!r}: copy that column from the dataset into every row"
            )
    return [r for r in rows if all(r.get(k) == v for k, v in filt.items())]


def score_predictions_file(
    path: Path,
    task: str,
    *,
    parser: str = "official",
    seed: int = 42,
    box_format: str | None = None,
    samples_out: Path | None = None,
    submission: Path | None = None,
) -> dict[str, Any]:
    """Score ``path`` with ``task``'s official algorithm; returns the JSON document."""
    spec = default_registry().get(task)
    scorer = get_scorer(spec.scorer)
    if parser not in scorer.modes:
        raise ValueError(f"task {task!r} has parser modes {list(scorer.modes)}, not {parser!r}")
    ctx = ScoringContext(mode=parser, seed=seed, box_format=box_format)
    try:
        with cyclic_gc_paused():
            rows = keep_filtered(read_predictions(path), spec.filter, path)
            responses = [str(r.pop("response") or "") for r in rows]
            result = scorer.score(rows, responses, ctx)
    except KeyError as exc:
        raise PredictionFileError(
            f"{path}: rows lack column {exc.args[0]!r} that task {task!r} needs"
        ) from None
    if samples_out is not None:
        _write_samples(samples_out, rows, responses, result)
    if submission is not None:
        writer = getattr(importlib.import_module(type(scorer).__module__), "write_submission", None)
        if writer is None:
            raise ValueError(f"task {task!r} has no submission format")
        writer(rows, responses, submission)
    return {
        "task": task,
        "parser": parser,
        "n": len(rows),
        "metrics": result.metrics,
        "breakdown": result.breakdown,
        "info": result.info,
    }


def _write_samples(path: Path, rows: list[dict[str, Any]], responses: list[str], result: Any) -> None:
    from evalkit.store import dumps_line, write_lines_atomic

    write_lines_atomic(
        path,
        (
            dumps_line({**row, "response": resp, "parsed": parsed, "score": outcome})
            for row, resp, parsed, outcome in zip(rows, responses, result.parsed, result.per_sample)
        ),
    )
