"""POPE: accuracy, precision, recall, F1 and yes-ratio (RUCAIBox/POPE ``evaluate.py``).

"yes" is the positive class. Metrics are pooled over all rows given, in percent; ``breakdown``
repeats them per ``category`` (random / popular / adversarial). The yes-ratio is the share of
*predictions* that are yes, as in POPE (lmms-eval's ``pope_yes_ratio`` counts ground truths).
In robust mode a reply may parse to ``other``: it is wrong, a false negative when the truth is
yes, and not a yes prediction. Every ratio with an empty denominator is 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.parsing.yes_no import NO, YES, parse_pope_yes_no
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, column_value, group_by, percent
from evalkit.types import ScoreResult


@dataclass(frozen=True)
class Confusion:
    """Counts of predictions against truths, "yes" being positive; ``other`` preds are wrong."""

    tp: int
    fp: int
    tn: int
    fn: int
    n: int

    def metrics(self) -> dict[str, float]:
        """POPE's five numbers in percent (F1 from the percent precision and recall)."""
        precision = percent(self.tp, self.tp + self.fp)
        recall = percent(self.tp, self.tp + self.fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "accuracy": percent(self.tp + self.tn, self.n),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "yes_ratio": percent(self.tp + self.fp, self.n),
        }


def gold_label(row: Mapping[str, Any]) -> str:
    """The row's answer, stripped and lower-cased; it must be yes or no."""
    gold = str(row["answer"]).strip().lower()
    if gold not in (YES, NO):
        raise ValueError(f"POPE row {row.get('question_id')!r}: answer must be yes/no, got {row['answer']!r}")
    return gold


def confusion(pairs: Sequence[tuple[str, str]]) -> Confusion:
    """Count (prediction, truth) pairs; a non-yes prediction with truth yes is a false negative."""
    tp = sum(p == YES and g == YES for p, g in pairs)
    fp = sum(p == YES and g == NO for p, g in pairs)
    tn = sum(p == NO and g == NO for p, g in pairs)
    fn = sum(p != YES and g == YES for p, g in pairs)
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn, n=len(pairs))


class POPEScorer:
    """POPE's official scoring: first-sentence negation parse, binary metrics."""

    name = "pope"
    modes = ("official", "robust")
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        """Parse every reply to yes/no and compute the pooled and per-category metrics."""
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        parsed = [parse_pope_yes_no(str(r), ctx.mode) for r in responses]
        per_sample = [{"pred": p, "score": float(p == gold_label(row))} for p, row in zip(parsed, rows)]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        pooled = confusion([(str(s["pred"]), gold_label(row)) for s, row in zip(per_sample, rows)])
        info = {
            "parser": ctx.mode,
            "confusion": {"tp": pooled.tp, "fp": pooled.fp, "tn": pooled.tn, "fn": pooled.fn},
            "other_answers": sum(p not in (YES, NO) for p in parsed),
        }
        return ScoreResult(
            parsed=list(parsed), per_sample=per_sample, metrics=metrics, breakdown=breakdown, info=info
        )

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Pooled metrics and the same metrics per ``category`` (rows without one are pooled only)."""
        pairs = [(str(s["pred"]), gold_label(row)) for s, row in zip(per_sample, rows, strict=True)]
        by_category = group_by((column_value(row, "category") for row in rows), pairs)
        breakdown = {
            c: {**confusion(p).metrics(), "n": float(len(p))} for c, p in sorted(by_category.items())
        }
        return confusion(pairs).metrics(), breakdown

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """POPE questions are independent: each row is its own unit."""
        return list(range(len(rows)))


SCORER = POPEScorer()
