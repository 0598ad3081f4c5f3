"""Columns joined in from a second config of the same dataset (a task's ``dataset.join``).

The lmms-lab copy of GQA keeps the questions (config ``testdev_balanced_instructions``) and the
images (``testdev_balanced_images``) apart, linked by the question's ``imageId`` and the image's
``id``; lmms-eval's ``gqa_process_docs`` joins them in memory. :class:`RowJoin` does the same
lazily: it indexes the second config's key column once and, as each row is read, adds that
config's other columns, so images stay encoded and memory-mapped until a batch needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.registry import DatasetJoin


class JoinKeyError(ValueError):
    """Rows whose join value is missing from the joined config; the message names a few."""


@dataclass(frozen=True)
class RowJoin:
    """A lookup from ``key`` values of the joined config's rows to their positions."""

    join: DatasetJoin
    rows: Any  # the joined config's rows: a datasets.Dataset or a list of dicts
    positions: dict[str, int]

    def attach(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` plus the joined row's columns; the key column is left out and the row's own
        columns win over joined ones of the same name."""
        other = dict(self.rows[self.positions[str(row[self.join.column])]])
        other.pop(self.join.key, None)
        return {**other, **row}


def build_row_join(join: DatasetJoin, keys: Sequence[Any], rows: Any, wanted: Sequence[Any]) -> RowJoin:
    """Index ``keys`` (the joined config's ``key`` column; the first of equal keys wins) and
    check that every value in ``wanted`` (the rows' ``column``) has a match."""
    positions: dict[str, int] = {}
    for i, value in enumerate(keys):
        positions.setdefault(str(value), i)
    missing = sorted({str(value) for value in wanted} - positions.keys())
    if missing:
        raise JoinKeyError(
            f"{len(missing)} {join.column!r} value(s) have no {join.key!r} in config {join.name!r} "
            f"(e.g. {missing[:3]}); provide that config's files from the same dataset snapshot"
        )
    return RowJoin(join, rows, positions)
