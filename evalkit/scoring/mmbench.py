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

from evalkit.parsing.choice import (
    VLMEVALKIT_2024,
    VLMEVALKIT_CURRENT,
    infer_option_letter,
    robust_can_infer,
    robust_option_letter,
    vlmevalkit_can_infer,
)
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, check_inputs, group_by_columns, percent_mean
from evalkit.types import ScoreResult

CIRCULAR_BASE = 1_000_000


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


def matched_by(reply: str, row: Mapping[str, Any], mode: str) -> str | None:
    """How parser ``mode`` found the reply's letter: ``"letter"`` (the reply names it),
    ``"text"`` (``can_infer_text``: the reply contains that option's text) or None (no letter)."""
    choices = build_choices(row)
    if mode == "robust":
        named = robust_option_letter(reply, choices)
    else:
        named = infer_option_letter(
            reply, choices, VLMEVALKIT_2024 if mode == "vlmevalkit_2024" else VLMEVALKIT_CURRENT
        )
    if named is not None:
        return "letter"
    return "text" if infer_letter(reply, row, mode) is not None else None


def group_outcomes(rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any]) -> dict[int, bool]:
    """Group -> right, for every group that has its main row among ``rows``."""
    all_right: dict[int, bool] = defaultdict(lambda: True)
    for row, outcome in zip(rows, per_sample, strict=True):
        group = circular_group(row)
        all_right[group] = all_right[group] and float(outcome["score"]) == 1.0
    return {group: all_right[group] for group in main_groups(rows)}


def main_groups(rows: Sequence[Mapping[str, Any]]) -> set[int]:
    """The groups whose main row is among ``rows`` (the only ones ``mcq_circular_eval`` scores)."""
    return {circular_group(row) for row in rows if is_main_row(row)}


class MMBenchScorer:
    """MMBench's CircularEval accuracy with VLMEvalKit's exact matching."""

    name = "mmbench"
    modes = ("official", "robust", "vlmevalkit_2024")
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        """Infer each reply's letter, mark rows, and score the circular groups."""
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        parsed = [infer_letter(str(reply), row, ctx.mode) for reply, row in zip(responses, rows)]
        how = [matched_by(str(reply), row, ctx.mode) for reply, row in zip(responses, rows)]
        per_sample = [
            {"score": float(p is not None and p == str(row["answer"]).strip()), "matched_by": m}
            for p, row, m in zip(parsed, rows, how)
        ]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        mains = main_groups(rows)
        info = {
            "parser": ctx.mode,
            "groups": len(mains),
            "rows_without_main_row": sum(circular_group(row) not in mains for row in rows),
            "unparsed": sum(p is None for p in parsed),
            "matched_by_text": how.count("text"),  # replies read through the option text, not a letter
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
        main_rows = [row for row in rows if is_main_row(row)]
        rights = [float(outcomes[circular_group(row)]) for row in main_rows]
        tallies = group_by_columns(main_rows, rights, ("category", "L2-category"))
        return {"accuracy": percent_mean(map(float, outcomes.values()))}, accuracy_breakdown(tallies)

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """A question's rotations are resampled together: ``index % 1_000_000``."""
        return [circular_group(row) for row in rows]


SCORER = MMBenchScorer()
