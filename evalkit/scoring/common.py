"""Arithmetic and checks that several scorers share, so each official algorithm is written once.

Breakdown keys: a breakdown over one dimension uses the bare value (MME subtask, POPE category,
MMMU subject); one over several dimensions names the column, ``"<column>/<value>"`` (MMBench
``category/...`` and ``L2-category/...``, VQAv2 ``answer_type/...`` and ``question_type/...``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence, Sized
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def percent(numerator: float, denominator: float) -> float:
    """100 * numerator / denominator, or 0.0 when the denominator is 0 (every official script's 0-100 scale)."""
    return 100.0 * numerator / denominator if denominator else 0.0


def percent_mean(values: Iterable[float]) -> float:
    """Mean of 0-1 outcomes in percent, summed with ``math.fsum`` (order-free); 0.0 when empty."""
    items = list(values)
    return percent(math.fsum(items), len(items))


def accuracy_entry(values: Sequence[float]) -> dict[str, float]:
    """One breakdown cell: ``{"accuracy": percent mean, "n": count}`` of 0-1 outcomes."""
    return {"accuracy": percent_mean(values), "n": float(len(values))}


def accuracy_breakdown(groups: Mapping[str, Sequence[float]]) -> dict[str, dict[str, float]]:
    """:func:`accuracy_entry` for every group, keys sorted so the breakdown is order-free."""
    return {key: accuracy_entry(values) for key, values in sorted(groups.items())}


def check_inputs(name: str, modes: Sequence[str], mode: str, rows: Sized, responses: Sized) -> None:
    """Fail early on a mode the scorer lacks or on rows and responses of different lengths."""
    if mode not in modes:
        raise ValueError(f"{name}: unknown mode {mode!r}; choose one of {tuple(modes)}")
    if len(rows) != len(responses):
        raise ValueError(f"{name}: {len(rows)} rows but {len(responses)} responses")


def group_by(keys: Iterable[K | None], values: Iterable[V]) -> dict[K, list[V]]:
    """Values listed under their key, keys in first-seen order; a None key leaves its value out."""
    groups: dict[K, list[V]] = {}
    for key, value in zip(keys, values, strict=True):
        if key is not None:
            groups.setdefault(key, []).append(value)
    return groups


def column_value(row: Mapping[str, Any], column: str) -> str | None:
    """The row's ``column`` as a string (a single-dimension breakdown key), None when absent."""
    value = row.get(column)
    return None if value is None else str(value)


def group_by_columns(
    rows: Sequence[Mapping[str, Any]], values: Sequence[V], columns: Sequence[str]
) -> dict[str, list[V]]:
    """Each value under ``"<column>/<row value>"`` for every column the row has (not None)."""
    groups: dict[str, list[V]] = {}
    for row, value in zip(rows, values, strict=True):
        for column in columns:
            if row.get(column) is not None:
                groups.setdefault(f"{column}/{row[column]}", []).append(value)
    return groups


def row_units(rows: Sequence[Mapping[str, Any]], column: str = "question_id") -> list[Hashable]:
    """Each row its own resampling unit, named by ``column`` when present, else by its position."""
    return [row.get(column, i) for i, row in enumerate(rows)]
