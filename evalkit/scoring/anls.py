"""ANLS, the DocVQA challenge metric (Average Normalized Levenshtein Similarity, threshold 0.5).

The reference is the Robust Reading Competition evaluation script that the DocVQA and
InfographicVQA challenges distribute (copied as ``eval_mm/infographicsvqa_eval.py`` in
QwenLM/Qwen-VL; ``lmms_eval/api/metrics.py::anls`` re-implements it line for line). For each
ground-truth answer it lower-cases, strips and collapses the whitespace of both the answer and
the reply, takes their character edit distance, and divides it by the longer of the *raw*
strings' lengths, measured after ``.upper()``. The question scores ``1 - min`` of those ratios,
or 0 when that is below the threshold (exactly 0.5 is kept). A zero denominator (empty answer
and empty reply) gives a ratio of 0, i.e. a full score.

Modes:

* ``official``: the script as described, flaws included. Because the denominator counts the
  raw strings, whitespace the distance ignores still lengthens it: a reply of spaces alone
  scores 1 - 1/3 against the answer "a", and padding a wrong reply pushes it over 0.5.
* ``robust``: both sides are NFKC-normalised (full-width digits, ligatures), case-folded,
  whitespace-collapsed and lose one trailing period; the distance is divided by the longer of
  these *normalised* strings (the ANLS definition of Biten et al. 2019), so an empty or
  whitespace-only reply scores 0.

A row's answers are read from ``answers`` (a list, as DocVQA stores them) or, failing that, a
single-string ``answer``. A row with neither, or with an empty list, raises a one-line
``ValueError`` naming the row: the official script would crash on ``min([])``, and a silent 0
would hide broken data. ``per_sample`` is the question's ANLS in 0-1; ``anls`` is its mean in
percent; ``breakdown`` repeats it per entry of ``question_types`` (DocVQA's question types, e.g.
``form``, ``table/list``; a row counts under each of its types).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, percent_mean
from evalkit.types import ScoreResult

MODES = ("official", "robust")
THRESHOLD = 0.5
ANSWER_COLUMNS = ("answers", "answer")
ID_COLUMNS = ("questionId", "question_id", "id")


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insert, delete, substitute all cost 1), one row at a time."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def official_form(text: str) -> str:
    """The challenge script's preprocessing: strip, lower-case, collapse whitespace."""
    return " ".join(text.strip().lower().split())


def robust_form(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed, one trailing period dropped."""
    flat = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return flat[:-1].rstrip() if flat.endswith(".") else flat


def official_distance_ratio(reply: str, answer: str) -> float:
    """Edit distance of the preprocessed strings over the longer raw string, upper-cased."""
    length = max(len(answer.upper()), len(reply.upper()))
    if length == 0:
        return 0.0
    return float(levenshtein(official_form(answer), official_form(reply))) / float(length)


def robust_distance_ratio(reply: str, answer: str) -> float:
    """Edit distance over the longer of the two normalised strings (0 when both are empty)."""
    gold, pred = robust_form(answer), robust_form(reply)
    length = max(len(gold), len(pred))
    return levenshtein(gold, pred) / length if length else 0.0


def anls_score(
    reply: str, answers: Sequence[str], mode: str = "official", threshold: float = THRESHOLD
) -> float:
    """One question's ANLS in 0-1: ``1 - min`` distance ratio over ``answers``, 0 below ``threshold``."""
    ratio = official_distance_ratio if mode == "official" else robust_distance_ratio
    score = 1 - min(ratio(reply, str(answer)) for answer in answers)
    return 0.0 if score < threshold else score


def row_label(row: Mapping[str, Any], position: int) -> str:
    """How an error names a row: its question id when it has one, else its position."""
    for column in ID_COLUMNS:
        if row.get(column) is not None:
            return f"{column}={row[column]!r}"
    return f"at position {position}"


def ground_truths(row: Mapping[str, Any], position: int, task: str = "anls") -> list[str]:
    """The row's answers as a non-empty list of strings; a clear error when there are none."""
    column = next((c for c in ANSWER_COLUMNS if row.get(c) is not None), None)
    if column is None:
        raise ValueError(
            f"{task}: row {row_label(row, position)} has no 'answers' field (nor 'answer'); "
            "ANLS needs the ground-truth answers (a test split without answers cannot be scored)"
        )
    value = row[column]
    answers = [str(a) for a in value] if isinstance(value, (list, tuple)) else [str(value)]
    if not answers:
        raise ValueError(
            f"{task}: row {row_label(row, position)} has an empty {column!r} list; "
            "ANLS needs at least one ground-truth answer: fix or drop the row"
        )
    return answers


def question_types(row: Mapping[str, Any]) -> list[str]:
    """The row's DocVQA question types (a list; a lone string counts as one type)."""
    value = row.get("question_types") or []
    return [value] if isinstance(value, str) else [str(t) for t in value]


def anls_metrics(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[float]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean ANLS in percent, overall and per question type (a row counts under each of its types)."""
    groups: dict[str, list[float]] = {}
    for row, score in zip(rows, per_sample, strict=True):
        for qtype in question_types(row):
            groups.setdefault(qtype, []).append(score)
    breakdown = {
        key: {"anls": percent_mean(values), "n": float(len(values))} for key, values in sorted(groups.items())
    }
    return {"anls": percent_mean(per_sample)}, breakdown


class ANLSScorer:
    """The ``anls`` scorer (see the module docstring for the modes)."""

    name = "anls"
    modes = MODES
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        form = official_form if ctx.mode == "official" else robust_form
        parsed: list[str] = []
        per_sample: list[float] = []
        for position, (row, response) in enumerate(zip(rows, responses, strict=True)):
            answers = ground_truths(row, position)
            parsed.append(form(response or ""))
            per_sample.append(anls_score(response or "", answers, ctx.mode))
        metrics, breakdown = anls_metrics(rows, per_sample)
        info = {"mode": ctx.mode, "threshold": THRESHOLD}
        return ScoreResult(parsed, per_sample, metrics, breakdown, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return anls_metrics(rows, [float(s) for s in per_sample])

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """Questions are independent: each row is its own resampling unit."""
        return list(range(len(rows)))


SCORER = ANLSScorer()
