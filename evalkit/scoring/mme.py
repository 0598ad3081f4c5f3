"""MME: perception and cognition scores (BradyFU ``tools/eval_tool.zip`` -> ``calculation.py``).

Each subtask scores acc + acc+ in percent: acc over its questions, acc+ over its images, an
image counting only when all its questions (two in MME) are right. Perception sums the 10
perception subtasks (max 2000), cognition the 4 cognition ones (max 800). The questions of one
image share ``question_id`` (the image file name); they are grouped by (category, question_id),
so row order does not matter (the official tool pairs consecutive lines). A category outside
the 14 is scored as its own subtask in ``breakdown`` and enters neither total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.parsing.yes_no import parse_mme_yes_no
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, percent, percent_mean
from evalkit.types import ScoreResult

PERCEPTION = (
    "existence", "count", "position", "color", "posters",
    "celebrity", "scene", "landmark", "artwork", "OCR",
)  # fmt: skip
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")


def gold_label(row: Mapping[str, Any]) -> str:
    """The row's answer lower-cased, as the official tool does; it must be yes or no."""
    gold = str(row["answer"]).lower()
    if gold not in ("yes", "no"):
        raise ValueError(f"MME row {row.get('question_id')!r}: answer must be yes/no, got {row['answer']!r}")
    return gold


def subtask_scores(image_outcomes: Mapping[Hashable, Sequence[float]]) -> dict[str, float]:
    """acc, acc_plus and score (= acc + acc_plus) of one subtask from its images' outcomes."""
    outcomes = [s for scores in image_outcomes.values() for s in scores]
    acc = percent_mean(outcomes)
    all_right = sum(1 for scores in image_outcomes.values() if all(s == 1.0 for s in scores))
    acc_plus = percent(all_right, len(image_outcomes))
    return {"acc": acc, "acc_plus": acc_plus, "score": acc + acc_plus, "n": float(len(outcomes))}


def _images_by_subtask(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any]
) -> dict[str, dict[Hashable, list[float]]]:
    """category -> question_id -> outcomes of that image's questions."""
    grouped: dict[str, dict[Hashable, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row, outcome in zip(rows, per_sample, strict=True):
        grouped[str(row["category"])][row["question_id"]].append(float(outcome["score"]))
    return grouped


class MMEScorer:
    """MME's official scoring: yes/no parse, acc + acc+ per subtask, two sums."""

    name = "mme"
    modes = ("official", "robust")
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        """Parse every reply, mark it right or wrong, and compute the MME scores."""
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        parsed = [parse_mme_yes_no(str(r), ctx.mode) for r in responses]
        per_sample = [{"score": float(p == gold_label(row))} for p, row in zip(parsed, rows)]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        sizes = [len(v) for images in _images_by_subtask(rows, per_sample).values() for v in images.values()]
        unknown = sorted({str(r["category"]) for r in rows} - set(PERCEPTION) - set(COGNITION))
        info = {
            "parser": ctx.mode,
            "other_answers": sum(p == "other" for p in parsed),
            "images_without_two_questions": sum(n != 2 for n in sizes),
            "unknown_categories": unknown,
        }
        return ScoreResult(
            parsed=list(parsed), per_sample=per_sample, metrics=metrics, breakdown=breakdown, info=info
        )

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """perception / cognition sums and per-subtask acc, acc_plus, score from per-row outcomes."""
        grouped = _images_by_subtask(rows, per_sample)
        breakdown = {category: subtask_scores(grouped[category]) for category in sorted(grouped)}
        metrics = {
            "perception": sum(breakdown[c]["score"] for c in PERCEPTION if c in breakdown),
            "cognition": sum(breakdown[c]["score"] for c in COGNITION if c in breakdown),
        }
        return metrics, breakdown

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """An image's questions are resampled together: (category, question_id)."""
        return [(str(row["category"]), row["question_id"]) for row in rows]


SCORER = MMEScorer()
