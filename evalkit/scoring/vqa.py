"""VQAv2 accuracy, as in GT-Vision-Lab/VQA ``vqaEval.py`` (``VQAEval.evaluate``).

A reply earns ``min(1, matches / 3)`` against each leave-one-out subset of the ten human
answers, averaged over the ten subsets. Modes:

* ``official`` (commit c4e6a0e, the 2015-2021 code that Qwen-VL's ``eval_mm/vqa_eval.py``
  copies): the reply is always whitespace-cleaned and normalised (punctuation pass, then
  digit/article pass); the ten answers are left raw, except that when they are not all
  identical they get the punctuation pass only (so a GT "Two" is never turned into "2", while
  a reply "Two" always is). "Yes" against ten "yes" scores 1.
* ``official-2021`` (master a013f00): both sides are whitespace-cleaned; both get both passes,
  but only when the ten answers differ, so "Yes" against ten "yes" scores 0.
* ``robust``: both sides whitespace-cleaned and fully normalised, always.

Leave-one-out removes every answer *dict equal* to the held-out one. VQAv2 answers carry a
distinct ``answer_id``, so exactly one is removed and a reply matching three annotators
scores (3 * 2/3 + 7 * 1) / 10 = 0.9, not 1. We count this arithmetically (the held-out
match is taken off the total) instead of rebuilding lists. Answers
given as plain strings are treated as distinct annotators, as if numbered by position; dicts
without distinct ``answer_id`` fall back to the official whole-dict equality. ``robust``
always treats the ten answers as distinct annotators.

``per_sample`` is the question's accuracy in 0-1 (None when the row has no answers, e.g.
test-dev); ``accuracy`` is its mean in percent, unrounded (the official prints 2 decimals).
Means use ``math.fsum`` so they do not depend on row order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, check_inputs, group_by_columns, percent_mean, row_units
from evalkit.scoring.vqa_normalize import AnswerNormalizer, clean_whitespace
from evalkit.types import ScoreResult

MODES = ("official", "official-2021", "robust")


def answer_texts_and_keys(value: Any) -> tuple[list[str], list[Hashable] | None]:
    """Split a row's ``answers`` into texts and per-answer identity keys (None: all distinct)."""
    if isinstance(value, str):
        value = json.loads(value) if value.lstrip().startswith("[") else [value]
    if not value:
        return [], None
    if not isinstance(value[0], Mapping):
        return [str(item) for item in value], None
    texts = [str(item["answer"]) for item in value]
    ids = [item.get("answer_id") for item in value]
    if None not in ids and len(set(ids)) == len(ids):
        return texts, None
    keys: list[Hashable] = [
        json.dumps(
            {k: v for k, v in item.items() if k != "answer"},
            sort_keys=True,
            default=str,
        )
        for item in value
    ]
    return texts, keys


def leave_one_out_accuracy(matches: Sequence[bool], multiplicity: Sequence[int] | None) -> float:
    """Mean over held-out answers of ``min(1, other matching answers / 3)``, summed in order."""
    total = sum(matches)
    if total == 0:
        return 0.0
    acc = 0.0
    for i, matched in enumerate(matches):
        removed = (multiplicity[i] if multiplicity else 1) if matched else 0
        acc += min(1.0, (total - removed) / 3)
    return acc / len(matches)


def _multiplicity(texts: Sequence[str], keys: Sequence[Hashable] | None) -> list[int] | None:
    """How many answer dicts equal each one (processed text and all other fields alike)."""
    if keys is None:
        return None
    pairs = list(zip(texts, keys, strict=True))
    counts = Counter(pairs)
    return [counts[pair] for pair in pairs]


def compare_forms(
    response: str, texts: Sequence[str], mode: str, norm: AnswerNormalizer
) -> tuple[str, list[str]]:
    """The reply and answers in the form each mode compares them."""
    if mode == "official":
        reply = norm.full(clean_whitespace(response))
        if len(set(texts)) > 1:
            return reply, [norm.punctuation(t) for t in texts]
        return reply, list(texts)
    reply = clean_whitespace(response)
    answers = [clean_whitespace(t) for t in texts]
    if mode == "robust" or len(set(answers)) > 1:
        return norm.full(reply), [norm.full(a) for a in answers]
    return reply, answers


def required_answers(row: Mapping[str, Any], index: int, task: str) -> list[str]:
    """The row's answer texts, for tasks whose every row must carry them (not VQAv2's test-dev,
    which has none): a row without an ``answers`` column is an input error naming the row."""
    if "answers" not in row:
        ident = row.get("question_id", f"at position {index}")
        raise ValueError(
            f"{task}: row {ident} has no 'answers' column; score rows that keep the dataset's "
            "'answers' (the ten annotator answers)"
        )
    texts, _ = answer_texts_and_keys(row["answers"] if row["answers"] is not None else [])
    return texts


def question_accuracy(
    response: str,
    answers: Any,
    mode: str = "official",
    norm: AnswerNormalizer | None = None,
) -> tuple[str, float | None]:
    """Score one reply against a row's ``answers``; returns (compared reply, accuracy 0-1)."""
    norm = norm or AnswerNormalizer()
    texts, keys = answer_texts_and_keys(answers)
    if not texts:
        return norm.full(clean_whitespace(response)), None
    reply, gts = compare_forms(response, texts, mode, norm)
    multiplicity = None if mode == "robust" else _multiplicity(gts, keys)
    return reply, leave_one_out_accuracy([g == reply for g in gts], multiplicity)


def vqa_metrics(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[float | None]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Overall accuracy plus ``answer_type/<t>`` and ``question_type/<t>`` breakdowns (percent)."""
    pairs = [(row, acc) for row, acc in zip(rows, per_sample, strict=True) if acc is not None]
    if not pairs:
        return {}, {}
    scored = [acc for _, acc in pairs]
    groups = group_by_columns([row for row, _ in pairs], scored, ("answer_type", "question_type"))
    return {"accuracy": percent_mean(scored)}, accuracy_breakdown(groups)


class VQAv2Scorer:
    """The ``vqav2`` scorer (see the module docstring for the modes)."""

    name = "vqav2"
    modes = MODES
    streaming = True

    def score(
        self,
        rows: Sequence[Mapping[str, Any]],
        responses: Sequence[str],
        ctx: ScoringContext,
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        norm = AnswerNormalizer()
        parsed: list[str] = []
        per_sample: list[float | None] = []
        for row, response in zip(rows, responses, strict=True):
            reply, acc = question_accuracy(response or "", row.get("answers"), ctx.mode, norm)
            parsed.append(reply)
            per_sample.append(acc)
        metrics, breakdown = vqa_metrics(rows, per_sample)
        info = {
            "mode": ctx.mode,
            "n_scored": sum(acc is not None for acc in per_sample),
        }
        return ScoreResult(parsed, per_sample, metrics, breakdown, info)

    def aggregate(
        self,
        rows: Sequence[Mapping[str, Any]],
        per_sample: Sequence[Any],
        ctx: ScoringContext,
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return vqa_metrics(rows, per_sample)

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return row_units(rows)


def write_submission(
    rows: Sequence[Mapping[str, Any]],
    responses: Sequence[str],
    path: str | Path,
    processed: bool = False,
) -> Path:
    """Write the EvalAI test-dev/test file ``[{"question_id": int, "answer": str}, ...]``.

    By default answers are the whitespace-cleaned replies, as Qwen-VL submits them (the server
    normalises them itself); ``processed=True`` submits the official normalisation instead,
    as lmms-eval does. Either way the server's score is the same.
    """
    norm = AnswerNormalizer()
    entries = []
    for row, response in zip(rows, responses, strict=True):
        answer = clean_whitespace(response or "")
        entries.append(
            {
                "question_id": int(row["question_id"]),
                "answer": norm.full(answer) if processed else answer,
            }
        )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)
    return out


SCORER = VQAv2Scorer()
