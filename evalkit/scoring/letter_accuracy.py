"""Letter accuracy for multiple-choice benchmarks whose model answers with an option letter.

One scorer class serves ScienceQA (``scienceqa``), AI2D (``ai2d``) and SEED-Bench
(``seedbench``); each benchmark's module gives it how to read a row (its options and gold
letter, :class:`ChoiceRow`), the official letter rule of each parser mode (see
:mod:`evalkit.parsing.letters`) and the breakdown keys of a row. ``robust`` is always
:func:`evalkit.parsing.robust_letter.robust_choice_letter`.

A row is right when the letter read from its reply is its gold letter: per-sample outcomes are
0/1, ``accuracy`` is their mean in percent over the rows given, and each breakdown key gets the
same mean over its rows. Rows are independent (each its own bootstrap unit), so the result does
not depend on row order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.parsing.robust_letter import robust_choice_letter
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, check_inputs, group_by, percent_mean
from evalkit.types import ScoreResult

Row = Mapping[str, Any]


@dataclass(frozen=True)
class ChoiceRow:
    """What scoring needs from a dataset row: the option texts (in letter order) and the gold letter."""

    options: tuple[str, ...]
    gold: str


LetterRule = Callable[[str], str | None]


def required(row: Row, column: str, task: str) -> Any:
    """``row[column]``, or a ValueError naming the column, the row and the fix."""
    value = row.get(column)
    if value is None:
        start = ", ".join(f"{k}={str(v)[:30]!r}" for k, v in list(row.items())[:3])
        raise ValueError(
            f"{task}: a row has no {column!r} ({start}, ...); every row needs the dataset's {column!r} "
            "column: use a split that has answers and keep all its columns"
        )
    return value


@dataclass(frozen=True)
class LetterAccuracyScorer:
    """Letter accuracy with one official letter rule per parser mode, plus ``robust``."""

    name: str
    official_rules: Mapping[str, LetterRule]  # mode -> rule; must contain "official"
    read_row: Callable[[Row], ChoiceRow]
    breakdown_keys: Callable[[Row], list[str]]
    sources: Mapping[str, str]  # mode -> the official file the rule reproduces
    streaming: bool = True

    @property
    def modes(self) -> tuple[str, ...]:
        """``official`` first, then ``robust``, then any named variant."""
        variants = [m for m in self.official_rules if m != "official"]
        return ("official", "robust", *variants)

    def parse(self, reply: str, choice: ChoiceRow, mode: str) -> str | None:
        """The letter ``reply`` gives under parser ``mode``, or None."""
        if mode == "robust":
            return robust_choice_letter(reply, choice.options)
        return self.official_rules[mode](reply)

    def score(self, rows: Sequence[Row], responses: Sequence[str], ctx: ScoringContext) -> ScoreResult:
        """Read every reply's letter and compare it with the row's gold letter."""
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        choices = [self.read_row(row) for row in rows]
        parsed = [self.parse(str(reply), choice, ctx.mode) for reply, choice in zip(responses, choices)]
        per_sample = [{"score": float(p is not None and p == c.gold)} for p, c in zip(parsed, choices)]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        info = {
            "parser": ctx.mode,
            "official_source": self.sources.get(ctx.mode, "evalkit robust letter reading"),
            "unparsed": sum(p is None for p in parsed),
        }
        return ScoreResult(
            parsed=list(parsed), per_sample=per_sample, metrics=metrics, breakdown=breakdown, info=info
        )

    def aggregate(
        self, rows: Sequence[Row], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Accuracy in percent over all rows, and per breakdown key."""
        scores = [float(s["score"]) for s in per_sample]
        keyed = [
            (key, score) for row, score in zip(rows, scores, strict=True) for key in self.breakdown_keys(row)
        ]
        groups = group_by((key for key, _ in keyed), (score for _, score in keyed))
        return {"accuracy": percent_mean(scores)}, accuracy_breakdown(groups)

    def group_keys(self, rows: Sequence[Row]) -> list[Hashable]:
        """Questions are independent: each row is its own resampling unit."""
        return list(range(len(rows)))
