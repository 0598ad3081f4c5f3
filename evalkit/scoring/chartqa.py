"""ChartQA relaxed accuracy, as lmms-eval scores ``chartqa`` (``lmms_eval/tasks/chartqa/utils.py``,
``relaxed_correctness``, unchanged from 2024 to lmms-eval 75571cf).

A reply is right when both sides read as numbers and the reply is within 5% of the target
(``|reply - target| / |target| <= 0.05``), else when the two strings are equal ignoring case.
Modes:

* ``official`` (lmms-eval; the same arithmetic as google-research/pix2struct ``metrics.py``
  ``relaxed_correctness`` at 945f27e, whose arguments come in the other order): a side "reads
  as a number" when Python's ``float()`` accepts it, after dividing by 100 when it ends in
  "%" (every trailing "%" is dropped). So "5%" equals a target "0.05" but not "5"; "1,000",
  "45 million", "$3" and "−3" (a unicode minus) are no numbers, and a word answer with a
  trailing period ("Yes.") is wrong; ``float()`` does accept "45.", surrounding whitespace,
  "1_000", "1e3", "nan" and "inf". A target that reads as 0 is compared as text
  ("0.0" is wrong against "0"). A target read as nan or inf can never be matched (the
  relative change is nan). Malformed targets such as "1.2.3" are strings: only that exact
  reply is right. The reply is not stripped, which matters for text answers only (lmms-eval's
  model wrappers strip it first; evalkit's adapters do too).
* ``official-qwen``: QwenLM/Qwen-VL ``eval_mm/evaluate_vqa.py`` (``evaluate_relaxed_accuracy``),
  which strips the reply and then passes it where pix2struct expects the target: the 5% are
  taken relative to the *reply*, and a reply of 0 is compared as text.
* ``robust`` fixes the official flaws: the reply is whitespace-normalised and unwrapped
  (quotes, ``**``, a trailing period); after an "answer is" / "Answer:" cue the first number
  counts, else the last number of the reply (a reply that explains itself ends with its answer);
  numbers may carry thousands separators ("1,000"), a unicode minus, a currency sign or a unit
  ("45 million"); a "%" (or "percent") allows both readings, so "45%" matches "45" and "0.45",
  and a target "5%" matches "5" and "0.05"; a whole-reply number word ("five") is its number;
  a target of 0 needs a reply equal to 0; a four-digit target of a "which year" / "when"
  question must be matched exactly (5% would accept any year within a century). Only finite
  decimal numbers are numbers: "nan", "inf" and "1.2.3" targets are strings, compared after
  the same normalisation (case-folded).

``per_sample`` is ``{"score": 0 or 1, "rule": "numeric" | "string" | "year"}``; ``accuracy``
is the mean in percent; ``breakdown`` has ``human`` (type ``human_test``) and ``augmented``
(any other type, as lmms-eval splits them; rows without a type are only in the overall).
A row whose ``answer`` is missing or not a string is bad input: scoring fails with a one-line
error naming the row by its question (ChartQA rows have no id), in every mode.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, check_inputs, group_by, percent_mean, row_units
from evalkit.types import ScoreResult

MODES = ("official", "official-qwen", "robust")
MAX_RELATIVE_CHANGE = 0.05
TARGET_FIELD = "answer"

Judgement = tuple[str, bool, str]  # (the reply as compared, right?, rule)


# ------------------------------------------------------------------------------- official
def official_number(text: str) -> float | None:
    """What the official ``_to_float`` reads: ``float(text)``, a trailing "%" meaning / 100."""
    is_percent = text.endswith("%")
    try:
        value = float(text.rstrip("%") if is_percent else text)
    except ValueError:
        return None
    return value / 100.0 if is_percent else value


def official_relaxed(reply: str, target: str) -> tuple[bool, str]:
    """Official relaxed correctness and the rule used; a target reading 0 is compared as text."""
    reply_value, target_value = official_number(reply), official_number(target)
    if reply_value is not None and target_value:
        return abs(reply_value - target_value) / abs(target_value) <= MAX_RELATIVE_CHANGE, "numeric"
    return reply.lower() == target.lower(), "string"


def official_judgement(reply: str, target: str, mode: str) -> Judgement:
    """``official`` as lmms-eval; ``official-qwen`` strips the reply and swaps the two roles."""
    if mode == "official-qwen":
        stripped = reply.strip()
        right, rule = official_relaxed(target, stripped)
        return stripped, right, rule
    right, rule = official_relaxed(reply, target)
    return reply, right, rule


# --------------------------------------------------------------------------------- robust
NUMBER = re.compile(
    r"(?<![\w.,])(?P<sign>[-+\u2212]?)[$€£¥]?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?P<exponent>e[-+]?\d+)?(?![.,]?\d)"
    r"(?P<percent>\s*(?:%|per\s?cent\b))?",
    re.IGNORECASE,
)
ANSWER_CUE = re.compile(r"\banswer\s*(?:is\b\s*:?|:)", re.IGNORECASE)
YEAR_QUESTION = re.compile(r"\b(?:which|what)\s+year\b|\bwhen\b", re.IGNORECASE)
SMALL_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
TENS_WORDS = "thirty forty fifty sixty seventy eighty ninety".split()
NUMBER_WORDS = {w: float(n) for n, w in enumerate(SMALL_NUMBER_WORDS)} | {
    w: 10.0 * n for n, w in enumerate(TENS_WORDS, start=3)
}
WRAPPERS = "\"'`*“”‘’ "


def clean_answer(text: str) -> str:
    """Whitespace collapsed; quotes, ``**`` and trailing sentence punctuation removed."""
    text = " ".join(text.split()).strip(WRAPPERS)
    return text.rstrip(".!。").strip(WRAPPERS)


def answer_part(reply: str) -> tuple[str, bool]:
    """The text after the last "answer is" / "Answer:" cue (and True), else the whole reply."""
    cues = list(ANSWER_CUE.finditer(reply))
    if not cues:
        return clean_answer(reply), False
    return clean_answer(reply[cues[-1].end() :]), True


def readings(match: re.Match[str]) -> tuple[float, ...]:
    """A number's value, and its value / 100 too when a percent sign follows it."""
    value = float(match["digits"].replace(",", "") + (match["exponent"] or ""))
    if match["sign"] in ("-", "\u2212"):
        value = -value
    return (value, value / 100.0) if match["percent"] else (value,)


def target_readings(target: str) -> tuple[float, ...] | None:
    """The target's possible values when the whole (cleaned) target is one number, else None."""
    match = NUMBER.fullmatch(clean_answer(target))
    return readings(match) if match else None


def reply_readings(answer: str, after_cue: bool) -> tuple[str, tuple[float, ...]] | None:
    """The number a reply gives: a whole-reply number word, else the first number after a cue
    or the last number of the reply; None when it has none."""
    word = NUMBER_WORDS.get(answer.casefold())
    if word is not None:
        return answer, (word,)
    matches = list(NUMBER.finditer(answer))
    if not matches:
        return None
    chosen = matches[0] if after_cue else matches[-1]
    return chosen.group(0).strip(), readings(chosen)


def within_tolerance(reply: float, target: float) -> bool:
    """5% of a non-zero target; a target of 0 needs exactly 0."""
    if target == 0:
        return reply == 0
    return abs(reply - target) / abs(target) <= MAX_RELATIVE_CHANGE


def asks_for_year(question: str, target: str) -> bool:
    """A "which year" / "when" question whose target is a four-digit integer."""
    return bool(re.fullmatch(r"\d{4}", clean_answer(target))) and bool(YEAR_QUESTION.search(question))


def robust_judgement(reply: str, target: str, question: str = "") -> Judgement:
    """Robust relaxed correctness (see the module docstring)."""
    answer, after_cue = answer_part(reply)
    if answer.casefold() == clean_answer(target).casefold():
        return answer, True, "string"
    wanted = target_readings(target)
    given = reply_readings(answer, after_cue)
    if wanted is None or given is None:
        return answer, False, "string"
    text, values = given
    if asks_for_year(question, target):
        return text, any(v == w for v in values for w in wanted), "year"
    return text, any(within_tolerance(v, w) for v in values for w in wanted), "numeric"


# --------------------------------------------------------------------------------- scorer
def describe_row(row: Mapping[str, Any]) -> str:
    """A row named by its question (ChartQA rows have no id) and its type."""
    question = str(row.get("question", "?"))
    short = question if len(question) <= 60 else question[:57] + "..."
    return f"row with question {short!r} (type {row.get('type')!r})"


def target_text(row: Mapping[str, Any]) -> str:
    """The row's ground truth; a missing or non-string ``answer`` fails, naming the row."""
    value = row.get(TARGET_FIELD)
    if isinstance(value, str):
        return value
    problem = f"no {TARGET_FIELD!r} field" if value is None else f"a {type(value).__name__} {TARGET_FIELD!r}"
    hint = " (the raw ChartQA JSON calls it 'label')" if "label" in row else ""
    raise ValueError(
        f"chartqa: {describe_row(row)} has {problem}; every row needs its ground-truth answer "
        f"as a string in {TARGET_FIELD!r}{hint}: fix the data or prediction file"
    )


def judge(row: Mapping[str, Any], response: str, mode: str) -> Judgement:
    """One row's judgement in ``mode``."""
    target = target_text(row)
    if mode == "robust":
        return robust_judgement(response, target, str(row.get("question") or ""))
    return official_judgement(response, target, mode)


def split_name(row: Mapping[str, Any]) -> str | None:
    """``human`` for type human_test, ``augmented`` for any other type (as lmms-eval), None without one."""
    kind = row.get("type")
    if kind is None:
        return None
    return "human" if kind == "human_test" else "augmented"


def chartqa_metrics(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Relaxed accuracy overall and per split, in percent."""
    scores = [float(sample["score"]) for sample in per_sample]
    splits = group_by((split_name(row) for row in rows), scores)
    return {"accuracy": percent_mean(scores)}, accuracy_breakdown(splits)


def unmatchable(target: str) -> bool:
    """A target that official ``float()`` reads as nan or inf: no reply matches it officially."""
    value = official_number(target)
    return value is not None and not math.isfinite(value)


class ChartQAScorer:
    """The ``chartqa`` scorer (see the module docstring for the modes)."""

    name = "chartqa"
    modes = MODES
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        judgements = [judge(row, response or "", ctx.mode) for row, response in zip(rows, responses)]
        per_sample = [{"score": float(right), "rule": rule} for _, right, rule in judgements]
        metrics, breakdown = chartqa_metrics(rows, per_sample)
        info = {
            "mode": ctx.mode,
            "numeric_comparisons": sum(rule != "string" for _, _, rule in judgements),
            "nonfinite_targets": sum(unmatchable(target_text(row)) for row in rows),
        }
        return ScoreResult([text for text, _, _ in judgements], per_sample, metrics, breakdown, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return chartqa_metrics(rows, per_sample)

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """ChartQA questions are independent: each row is its own unit."""
        return row_units(rows)


SCORER = ChartQAScorer()
