"""OCRBench: containment of a ground-truth answer in the reply, summed to a score out of 1000.

The reference is the scoring loop of Yuliang-Liu/MultimodalOCR ``OCRBench/example.py`` (every
``OCRBench/scripts/*.py`` repeats it; lmms-eval's ``tasks/ocrbench/utils.py`` follows it). A
question is right (1) when any of its answers, prepared as below, is a substring of the reply
prepared the same way; else 0.

* ``official``: for rows from the ``HME100k`` dataset (handwritten maths) both sides are
  stripped, newlines become spaces and every space is removed; case is kept. For every other
  row both sides are lower-cased, stripped, and newlines become spaces. Flaws kept: an empty
  answer is inside every reply, and a short answer matches inside longer words and numbers
  ("1" in "10", "no" in "not").
* ``robust``: both sides are NFKC-normalised (full-width letters and digits fold to ASCII, as
  lmms-eval does since July 2026); an answer that is empty after preparation never matches;
  outside HME100k text is case-folded and every whitespace run becomes one space, in HME100k
  every whitespace character is removed (case kept); and an answer that begins (ends) with
  an ASCII letter or digit must not be glued to an ASCII letter or digit of the reply on that
  side, so "1" no longer matches "10" while CJK answers still match inside CJK sentences.

Scores sum per ``question_type`` (10 types); the official report groups them into five:
Text Recognition (6 types, 300 questions), Scene Text-centric VQA (200), Doc-oriented VQA
(200), Key Information Extraction (200) and Handwritten Mathematical Expression Recognition
(100); ``final_score`` is the total (out of 1000 on the full set, out of n on a subset).
``accuracy`` is the share of right questions in percent. ``breakdown`` gives each type, each
group and each source dataset (the official prints per-dataset accuracy for partial runs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, percent
from evalkit.types import ScoreResult

MODES = ("official", "robust")
HME_DATASET = "HME100k"
GROUPS: dict[str, tuple[str, ...]] = {  # metric name -> the question types it sums
    "text_recognition": (
        "Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition",
        "Handwriting Recognition", "Digit String Recognition", "Non-Semantic Text Recognition",
    ),
    "scene_text_vqa": ("Scene Text-centric VQA",),
    "doc_oriented_vqa": ("Doc-oriented VQA",),
    "key_information_extraction": ("Key Information Extraction",),
    "math_expression_recognition": ("Handwritten Mathematical Expression Recognition",),
}  # fmt: skip
GROUP_TITLES = {
    "text_recognition": "Text Recognition",
    "scene_text_vqa": "Scene Text-centric VQA",
    "doc_oriented_vqa": "Doc-oriented VQA",
    "key_information_extraction": "Key Information Extraction",
    "math_expression_recognition": "Handwritten Mathematical Expression Recognition",
}
QUESTION_TYPES = tuple(t for types in GROUPS.values() for t in types)
ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")


def official_form(text: str, hme: bool) -> str:
    """The official preparation of an answer or a reply."""
    if hme:
        return text.strip().replace("\n", " ").replace(" ", "")
    return text.lower().strip().replace("\n", " ")


def robust_form(text: str, hme: bool) -> str:
    """NFKC; HME100k: all whitespace removed, case kept; else case-folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    if hme:
        return "".join(text.split())
    return " ".join(text.casefold().split())


def bounded_pattern(answer: str) -> re.Pattern[str]:
    """``answer`` as a regex that refuses an ASCII letter/digit glued to an ASCII-alnum edge."""
    before = r"(?<![0-9A-Za-z])" if ASCII_ALNUM.match(answer[0]) else ""
    after = r"(?![0-9A-Za-z])" if ASCII_ALNUM.match(answer[-1]) else ""
    return re.compile(before + re.escape(answer) + after)


def is_match(reply: str, answers: Sequence[str], hme: bool, mode: str) -> bool:
    """Whether any answer is contained in the reply (both prepared for ``mode``)."""
    if mode == "official":
        pred = official_form(reply, hme)
        return any(official_form(answer, hme) in pred for answer in answers)
    pred = robust_form(reply, hme)
    golds = [g for g in (robust_form(answer, hme) for answer in answers) if g]
    return any(bounded_pattern(gold).search(pred) for gold in golds)


def row_answers(row: Mapping[str, Any], position: int) -> list[str]:
    """The row's ``answer`` as a list of strings (the hub stores a list; the JSON a string or list)."""
    value = row.get("answer")
    if value is None:
        raise ValueError(
            f"ocrbench: row at position {position} (question {str(row.get('question'))[:40]!r}) "
            "has no 'answer' field; OCRBench needs the ground-truth answers"
        )
    return [str(a) for a in value] if isinstance(value, (list, tuple)) else [str(value)]


def question_type(row: Mapping[str, Any], position: int) -> str:
    """The row's ``question_type``, which must be one of OCRBench's ten."""
    qtype = str(row.get("question_type"))
    if qtype not in QUESTION_TYPES:
        raise ValueError(
            f"ocrbench: row at position {position} has question_type {row.get('question_type')!r}; "
            f"expected one of OCRBench's ten types ({', '.join(QUESTION_TYPES)})"
        )
    return qtype


def _tally(entries: Mapping[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        key: {"score": sum(values), "n": float(len(values)), "accuracy": percent(sum(values), len(values))}
        for key, values in sorted(entries.items())
    }


def ocrbench_metrics(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[float]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Sums per group and in total, accuracy, and the per-type/group/dataset breakdown."""
    by_type: dict[str, list[float]] = {}
    by_dataset: dict[str, list[float]] = {}
    for position, (row, score) in enumerate(zip(rows, per_sample, strict=True)):
        by_type.setdefault(question_type(row, position), []).append(score)
        by_dataset.setdefault(str(row.get("dataset")), []).append(score)
    by_group = {
        GROUP_TITLES[g]: [s for t in types for s in by_type.get(t, [])] for g, types in GROUPS.items()
    }
    metrics = {"final_score": float(sum(per_sample)), "accuracy": percent(sum(per_sample), len(per_sample))}
    metrics |= {g: float(sum(by_group[GROUP_TITLES[g]])) for g in GROUPS}
    breakdown = {
        **{f"question_type/{k}": v for k, v in _tally(by_type).items()},
        **{f"group/{k}": v for k, v in _tally({k: v for k, v in by_group.items() if v}).items()},
        **{f"dataset/{k}": v for k, v in _tally(by_dataset).items()},
    }
    return metrics, breakdown


class OCRBenchScorer:
    """The ``ocrbench`` scorer (see the module docstring for the modes)."""

    name = "ocrbench"
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
            hme = row.get("dataset") == HME_DATASET
            question_type(row, position)
            parsed.append(form(response or "", hme))
            per_sample.append(float(is_match(response or "", row_answers(row, position), hme, ctx.mode)))
        metrics, breakdown = ocrbench_metrics(rows, per_sample)
        info = {"mode": ctx.mode, "max_score": len(rows)}
        return ScoreResult(parsed, per_sample, metrics, breakdown, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return ocrbench_metrics(rows, [float(s) for s in per_sample])

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """Questions are independent: each row is its own resampling unit."""
        return list(range(len(rows)))


SCORER = OCRBenchScorer()
