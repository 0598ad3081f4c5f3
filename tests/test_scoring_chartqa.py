"""ChartQA relaxed accuracy: hand-worked tables in every mode, splits, bad input.

Official outcomes follow lmms-eval's ``relaxed_correctness(prediction, target)``: both sides
through ``float()`` (a trailing "%" divides by 100), 5% of a non-zero target, else
case-insensitive string equality. ``official-qwen`` is Qwen-VL's call with the roles swapped
(5% of the stripped reply). Robust rules are in the module docstring of
``evalkit/scoring/chartqa.py``.
"""

from __future__ import annotations

import random

import pytest

from evalkit.scoring import ScoringContext, get_scorer
from evalkit.scoring.chartqa import official_judgement, official_number, robust_judgement

TABLE = [  # reply, target, official, official-qwen, robust
    ("", "5", 0, 0, 0),  # float("") fails: text "" != "5"
    ("45.", "45", 1, 1, 1),  # float("45.") is 45
    ("Yes.", "Yes", 0, 0, 1),  # a word with its period is other text
    ("five", "5", 0, 0, 1),  # number word: robust only
    ("Five", "five", 1, 1, 1),  # text, case ignored
    ("\u22123", "-3", 0, 0, 1),  # unicode minus: float() refuses it
    ("-3", "-3.1", 1, 1, 1),  # 0.1/3.1 = 3.2% (Qwen-VL: 0.1/3 = 3.3%)
    ("3", "-3", 0, 0, 0),  # the sign counts: 6/3 = 200%
    ("5%", "0.05", 1, 1, 1),  # officially 5/100
    ("5%", "5", 0, 0, 1),  # officially 0.05 against 5; robust reads "5%" as 5 or 0.05
    ("0.05", "5%", 1, 1, 1),  # the target "5%" is 0.05
    ("5", "0.05", 0, 0, 0),  # a bare number is taken at face value in every mode
    ("45%", "45", 0, 0, 1),
    ("5%%", "0.05", 1, 1, 1),  # every trailing "%" is dropped, divided once
    ("1,000", "1000", 0, 0, 1),  # thousands separator: float() refuses it
    ("1000", "1,000", 0, 0, 1),  # the target "1,000" is text officially
    ("1_000", "1000", 1, 1, 0),  # float() reads Python's digit underscores; robust reads "1"
    ("1e3", "1000", 1, 1, 1),
    ("\uff15", "5", 1, 1, 1),  # a full-width digit: float() and robust read it
    ("0", "0", 1, 1, 1),  # a zero target is compared as text: equal
    ("0.0", "0", 0, 0, 1),  # ... so "0.0" is wrong officially; robust: equal to 0
    ("0.01", "0", 0, 0, 0),  # Qwen-VL: 0.01/0.01 = 100%; robust: 0 needs exactly 0
    ("95", "100", 1, 0, 1),  # 5/100 = 5% of the target; Qwen-VL: 5/95 = 5.3% of the reply
    ("105", "100", 1, 1, 1),  # 5% (Qwen-VL: 5/105 = 4.8%)
    ("94.9", "100", 0, 0, 0),  # 5.1%
    ("YES", "Yes", 1, 1, 1),
    (" Yes ", "Yes", 0, 1, 1),  # lmms-eval does not strip, Qwen-VL does
    (" 5 ", "5", 1, 1, 1),  # float() ignores surrounding whitespace
    ("The answer is 45.", "45", 0, 0, 1),  # explanation: robust takes the text after the cue
    ("It rose from 20 in 2010 to 35", "35", 0, 0, 1),  # robust: the last number
    ("35 in 2015", "35", 0, 0, 0),  # robust: the last number is 2015 (a known limit)
    ("Answer: 35 (2015)", "35", 0, 0, 1),  # robust: the first number after the cue
    ("45 million", "45", 0, 0, 1),  # a unit after the number
    ("$3.5", "3.5", 0, 0, 1),
    ("**Brazil**", "Brazil", 0, 0, 1),  # markdown
    ("The answer is Brazil.", "Brazil", 0, 0, 1),
    ("Brazil and Peru", "Brazil", 0, 0, 0),  # robust does not search free text for words
    ("nan", "nan", 0, 0, 1),  # officially nan: never within 5%; robust: the text "nan"
    ("inf", "inf", 0, 0, 1),  # officially inf - inf is nan: never right
    ("1e308", "inf", 0, 0, 0),
    ("1.2.3", "1.2.3", 1, 1, 1),  # a malformed number is text: only the same text is right
    ("1.2", "1.2.3", 0, 0, 0),
    ("1.2.3", "1.2", 0, 0, 0),  # robust: "1.2.3" holds no well-formed number
]


@pytest.mark.parametrize(("column", "mode"), [(2, "official"), (3, "official-qwen"), (4, "robust")])
def test_chartqa_relaxed_correctness_table(column: int, mode: str) -> None:
    outcomes = [
        robust_judgement(reply, target, "How much?")[1]
        if mode == "robust"
        else official_judgement(reply, target, mode)[1]
        for reply, target, *_ in TABLE
    ]
    assert outcomes == [bool(row[column]) for row in TABLE]


def test_chartqa_robust_needs_an_exact_year_only_for_year_questions() -> None:
    assert official_judgement("2018", "2019", "official")[1]  # 1/2019 is within 5%
    assert robust_judgement("2018", "2019", "In which year was the rate highest?")[1:] == (False, "year")
    assert robust_judgement("2019.", "2019", "When did sales peak?")[1]
    assert robust_judgement("2018", "2019", "How many units were sold?")[1:] == (True, "numeric")


def test_chartqa_official_number_reads_as_float_does() -> None:
    assert official_number("12%") == pytest.approx(0.12) and official_number("%") is None
    assert official_number(" -7 ") == -7.0 and official_number("1,000") is None
    assert official_number("Infinity") == float("inf") and official_number("\u22121") is None


def score(rows: list[dict], replies: list[str], mode: str = "official"):
    return get_scorer("chartqa").score(rows, replies, ScoringContext(mode=mode))


ROWS = [
    {"type": "human_test", "question": "How many?", "answer": "12"},
    {"type": "human_test", "question": "Which one?", "answer": "Asia"},
    {"type": "augmented_test", "question": "What share?", "answer": "0.3"},
    {"type": "augmented_test", "question": "What value?", "answer": "nan"},
    {"question": "No type here?", "answer": "5"},
]
REPLIES = ["12.4", "asia", "30%", "nan", "5"]


def test_chartqa_metrics_split_by_type_rows_without_type_only_overall() -> None:
    result = score(ROWS, REPLIES)
    # right: 12.4 (3.3%), "asia", 30% = 0.3, 5; "nan" never matches officially -> 4/5
    assert [s["score"] for s in result.per_sample] == [1.0, 1.0, 1.0, 0.0, 1.0]
    assert result.metrics == {"accuracy": 80.0}
    assert result.breakdown == {
        "augmented": {"accuracy": 50.0, "n": 2.0},
        "human": {"accuracy": 100.0, "n": 2.0},
    }
    assert result.info == {"mode": "official", "numeric_comparisons": 4, "nonfinite_targets": 1}
    assert result.parsed == REPLIES  # official compares the reply as given


def test_chartqa_score_is_order_free_and_aggregate_recomputes_it() -> None:
    order = list(range(len(ROWS)))
    random.Random(3).shuffle(order)
    for mode in ("official", "official-qwen", "robust"):
        result = score(ROWS, REPLIES, mode)
        shuffled = score([ROWS[i] for i in order], [REPLIES[i] for i in order], mode)
        assert (shuffled.metrics, shuffled.breakdown) == (result.metrics, result.breakdown)
        scorer = get_scorer("chartqa")
        assert scorer.aggregate(ROWS, result.per_sample, ScoringContext(mode=mode)) == (
            result.metrics,
            result.breakdown,
        )
    assert get_scorer("chartqa").group_keys(ROWS) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"type": "human_test", "question": "How many bars?"}, "has no 'answer' field"),
        ({"question": "How many bars?", "answer": None, "label": "3"}, "calls it 'label'"),
        ({"question": "How many bars?", "answer": 3}, "has a int 'answer'"),
        ({"question": "How many bars?", "answer": ["3"]}, "has a list 'answer'"),
    ],
)
def test_chartqa_row_without_a_string_answer_is_named(row: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        score([ROWS[0], row], ["12", "3"])
    assert "question 'How many bars?'" in str(info.value) and "\n" not in str(info.value)


def test_chartqa_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown mode 'lenient'"):
        score(ROWS, REPLIES, "lenient")
