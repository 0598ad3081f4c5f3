"""MMBench CircularEval with exact matching (VLMEvalKit ``vlmeval/dataset/utils/multiple_choice.py``).

Rows sharing ``index % 1_000_000`` are rotations of one question (the options shifted); the
row with ``index < 1_000_000`` is the group's main row. A group is right only when every
rotation's reply gives its own right letter; accuracy is over groups, in percent, and the
``category`` / ``L2-category`` breakdowns use the main row's labels. Rows whose group has no
main row among the rows given are left out, as ``mcq_circular_eval`` keeps only main rows'
groups. No judge model is used: a reply whose letter cannot be inferred is wrong.

Parser modes: ``official`` = VLMEvalKit's current ``can_infer`` (see
:data:`evalkit.parsing.choice.VLMEVALKIT_CURRENT`); ``vlmevalkit_2024`` = the rules behind
MMBench numbers published from Dec 2023 to Aug 2025; ``robust`` =
:func:`evalkit.parsing.choice.robust_can_infer`.
"""

from __future__ import annotations

import math
import string
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.parsing.choice import VLMEVALKIT_2024, VLMEVALKIT_CURRENT, robust_can_infer, vlmevalkit_can_infer
from evalkit.scoring.base import ScoringContext
from evalkit.types import ScoreResult

CIRCULAR_BASE = 1_000_000


def percent(numerator: float, denominator: float) -> float:
    """100 * numerator / denominator, or 0.0 when the denominator is 0."""
    return 100.0 * numerator / denominator if denominator else 0.0


def is_missing(value: Any) -> bool:
    """True for an absent option: None or NaN (``pd.isna`` in VLMEvalKit's ``build_choices``)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def build_choices(row: Mapping[str, Any]) -> dict[str, Any]:
    """``build_choices``: every single-capital-letter column whose value is present, in order."""
    return {
        letter: row[letter]
        for letter in string.ascii_uppercase
        if letter in row and not is_missing(row[letter])
    }


def circular_group(row: Mapping[str, Any]) -> int:
    """The circular group of a row: ``index % 1_000_000``."""
    return int(row["index"]) % CIRCULAR_BASE


def is_main_row(row: Mapping[str, Any]) -> bool:
    """The original (unrotated) question of its group: ``index < 1_000_000``."""
    return int(row["index"]) == circular_group(row)


def infer_letter(reply: str, row: Mapping[str, Any], mode: str) -> str | None:
    """The option letter a reply gives under parser ``mode`` (``Z`` = refusal), or None."""
    choices = build_choices(row)
    if mode == "robust":
        return robust_can_infer(reply, choices)
    rules = VLMEVALKIT_2024 if mode == "vlmevalkit_2024" else VLMEVALKIT_CURRENT
    return vlmevalkit_can_infer(reply, choices, rules)


def group_outcomes(rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any]) -> dict[int, bool]:
    """Group -> right, for every group that has its main row among ``rows``."""
    all_right: dict[int, bool] = defaultdict(lambda: True)
    for row, outcome in zip(rows, per_sample, strict=True):
        group = circular_group(row)
        all_right[group] = all_right[group] and float(outcome["score"]) == 1.0
    mains = {circular_group(row) for row in rows if is_main_row(row)}
    return {group: all_right[group] for group in mains}


class MMBenchScorer:
    """MMBench's CircularEval accuracy with VLMEvalKit's exact matching."""

    name = "mmbench"
    modes = ("official", "robust", "vlmevalkit_2024")
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        """Infer each reply's letter, mark rows, and score the circular groups."""
        if ctx.mode not in self.modes:
            raise ValueError(f"mmbench: unknown parser mode {ctx.mode!r}; choose one of {self.modes}")
        if len(rows) != len(responses):
            raise ValueError(f"mmbench: {len(rows)} rows but {len(responses)} responses")
        parsed = [infer_letter(str(reply), row, ctx.mode) for reply, row in zip(responses, rows)]
        per_sample = [
            {"score": float(p is not None and p == str(row["answer"]).strip())}
            for p, row in zip(parsed, rows)
        ]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        mains = {circular_group(row) for row in rows if is_main_row(row)}
        info = {
            "parser": ctx.mode,
            "groups": len(mains),
            "rows_without_main_row": sum(circular_group(row) not in mains for row in rows),
            "unparsed": sum(p is None for p in parsed),
            "judge": None,
        }
        return ScoreResult(
            parsed=list(parsed), per_sample=per_sample, metrics=metrics, breakdown=breakdown, info=info
        )

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Circular accuracy overall and per main-row ``category`` / ``L2-category``."""
        outcomes = group_outcomes(rows, per_sample)
        tallies: dict[str, list[bool]] = defaultdict(list)
        for row in rows:
            if not is_main_row(row):
                continue
            right = outcomes[circular_group(row)]
            for column in ("category", "L2-category"):
                if row.get(column) is not None:
                    tallies[f"{column}/{row[column]}"].append(right)
        breakdown = {
            key: {"accuracy": percent(sum(v), len(v)), "n": float(len(v))}
            for key, v in sorted(tallies.items())
        }
        return {"accuracy": percent(sum(outcomes.values()), len(outcomes))}, breakdown

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """A question's rotations are resampled together: ``index % 1_000_000``."""
        return [circular_group(row) for row in rows]


SCORER = MMBenchScorer()
