"""TextVQA accuracy, as in ``TextVQAAccuracyEvaluator`` + ``EvalAIAnswerProcessor`` (MMF's
``m4c_evaluator.py``, copied as ``llava/eval/m4c_evaluator.py`` in haotian-liu/LLaVA and run by
``llava/eval/eval_textvqa.py``; lmms-eval's ``tasks/textvqa/utils.py`` computes the same).

The averaging is VQA's leave-one-out, the one :mod:`evalkit.scoring.vqa` implements: for each of
the ten answers held out in turn, ``min(1, matching other answers / 3)``, averaged over the ten
(m4c enumerates the answers, so exactly one is held out; a reply matching three annotators
scores 0.9). It is *not* ``min(1, matches / 3)``: m4c's per-unique-answer table is keyed by
each unique answer, but every score in it is still that leave-one-out mean.

What differs from VQAv2's ``vqaEval.py`` is the normalisation. EvalAI's processor runs on the
reply **and on every ground-truth answer, always**: lower-case, delete every ``,`` and ``?``,
split off ``'s`` (``"joe's"`` -> ``"joe 's"``), strip, then vqaEval's punctuation pass (its
digit-comma-digit rule can no longer fire: the commas are gone) and digit/article pass. vqaEval
instead leaves the answers raw unless the ten differ, and never splits ``'s``. The passes are
the shared ones in :mod:`evalkit.scoring.vqa_normalize`; only the tokenising step is here.

Modes:

* ``official``: the above. m4c asserts ten answers per question; any number is scored here.
* ``robust``: the reply *and* its short answer (:mod:`evalkit.parsing.short_answer`: text after
  "the answer is", first clause of the first line) are each processed and the better accuracy
  is kept, so "The answer is Coca Cola." matches "coca cola"; reply and answers are first made
  NFKC with straight quotes (full-width "ＹＥＳ" is "yes", "Joe’s" is "joe 's").

``per_sample`` is the question's accuracy in 0-1 (None when its ``answers`` are empty, as on
the test split); ``accuracy`` is the mean in percent, unrounded. A row with no ``answers``
column at all is an input error, raised naming the row.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.parsing.short_answer import comparable_text, reply_candidates
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, row_units
from evalkit.scoring.vqa import leave_one_out_accuracy, required_answers, vqa_metrics
from evalkit.scoring.vqa_normalize import AnswerNormalizer, clean_whitespace
from evalkit.types import ScoreResult

MODES = ("official", "robust")


def evalai_tokenize(text: str) -> str:
    """``EvalAIAnswerProcessor.word_tokenize``: lower-case, drop "," and "?", split off "'s"."""
    return text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()


def evalai_answer(text: str, norm: AnswerNormalizer) -> str:
    """``EvalAIAnswerProcessor.__call__``: tokenise, clean whitespace, then vqaEval's two passes."""
    return norm.full(clean_whitespace(evalai_tokenize(text)))


def textvqa_accuracy(
    response: str, answers: Sequence[str], mode: str, norm: AnswerNormalizer
) -> tuple[str, float | None]:
    """(processed reply, accuracy 0-1 or None without answers) for one question."""
    robust = mode == "robust"
    gts = [evalai_answer(comparable_text(a) if robust else a, norm) for a in answers]
    candidates = reply_candidates(response) if robust else [response]
    scored = []
    for candidate in candidates:
        reply = evalai_answer(candidate, norm)
        acc = leave_one_out_accuracy([g == reply for g in gts], None) if gts else None
        scored.append((reply, acc))
    return max(scored, key=lambda pair: pair[1] or 0.0)


class TextVQAScorer:
    """The ``textvqa`` scorer (see the module docstring for the modes)."""

    name = "textvqa"
    modes = MODES
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        norm = AnswerNormalizer()
        outcomes = [
            textvqa_accuracy(response or "", required_answers(row, i, "textvqa"), ctx.mode, norm)
            for i, (row, response) in enumerate(zip(rows, responses, strict=True))
        ]
        per_sample = [acc for _, acc in outcomes]
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        info = {"mode": ctx.mode, "n_scored": sum(acc is not None for acc in per_sample)}
        return ScoreResult([reply for reply, _ in outcomes], per_sample, metrics, breakdown, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Mean accuracy in percent (``answer_type``/``question_type`` breakdowns when present)."""
        return vqa_metrics(rows, per_sample)

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return row_units(rows)


SCORER = TextVQAScorer()
