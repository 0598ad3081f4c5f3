"""OK-VQA accuracy: VQAv2's ``vqaEval.py`` unchanged (OK-VQA's official evaluation is the VQA
tools), so this is :class:`evalkit.scoring.vqa.VQAv2Scorer` with one difference in *input
checking*: every OK-VQA row must carry its ``answers`` (there is no answer-less test split), so
a row without them is an error naming the row instead of VQAv2 test-dev's "not scored".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.vqa import VQAv2Scorer, required_answers
from evalkit.types import ScoreResult


class OKVQAScorer(VQAv2Scorer):
    """The ``okvqa`` scorer: ``vqav2``'s modes and arithmetic, answers required."""

    name = "okvqa"

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        for index, row in enumerate(rows):
            if not required_answers(row, index, self.name):
                ident = row.get("question_id", f"at position {index}")
                raise ValueError(f"okvqa: row {ident} has an empty 'answers' list; fix or drop the row")
        return super().score(rows, responses, ctx)


SCORER = OKVQAScorer()
