"""POPE scorer: RUCAIBox/POPE evaluate.py metrics, pooled and per category."""

from __future__ import annotations

import random

import pytest

from evalkit.scoring import ScoringContext, get_scorer

OFFICIAL, ROBUST = ScoringContext(mode="official"), ScoringContext(mode="robust")

# category, truth, reply, official parse, robust parse
TABLE = [
    ("random", "yes", "Yes", "yes", "yes"),  # TP
    ("random", "yes", "Yes, there is no cat", "no", "no"),  # FN
    ("random", "no", "No", "no", "no"),  # TN
    ("random", "no", "No!", "yes", "no"),  # official FP, robust TN
    ("adversarial", "Yes", "There is a dog.", "yes", "yes"),  # TP (truth in any case)
    ("adversarial", "yes", "not sure", "no", "no"),  # FN
    ("adversarial", "no", "No, it is not.", "no", "no"),  # TN
    ("adversarial", "no", "There is no dog. Yes.", "no", "no"),  # TN
]
ROWS = [
    {"question_id": i, "category": c, "answer": a, "question": "Is there a cat?"}
    for i, (c, a, *_) in enumerate(TABLE)
]
REPLIES = [row[2] for row in TABLE]


def test_pope_parses_each_reply_as_the_official_code() -> None:
    scorer = get_scorer("pope")
    assert scorer.score(ROWS, REPLIES, OFFICIAL).parsed == [row[3] for row in TABLE]
    assert scorer.score(ROWS, REPLIES, ROBUST).parsed == [row[4] for row in TABLE]


def test_pope_golden_metrics_official() -> None:
    # TP = rows 0, 4; FN = rows 1, 5; TN = rows 2, 6, 7; FP = row 3.
    # accuracy 5/8 = 62.5; precision 2/3; recall 2/4; F1 = 2 (2/3)(1/2) / (7/6) = 4/7;
    # yes-ratio = predicted yes (rows 0, 3, 4) / 8 = 37.5.
    result = get_scorer("pope").score(ROWS, REPLIES, OFFICIAL)
    assert result.metrics == pytest.approx(
        {"accuracy": 62.5, "precision": 200 / 3, "recall": 50.0, "f1": 400 / 7, "yes_ratio": 37.5}
    )
    assert result.info["confusion"] == {"tp": 2, "fp": 1, "tn": 3, "fn": 2}
    assert result.info["parser"] == "official"
    # random: one each of TP, FN, TN, FP; adversarial: TP, FN, TN, TN
    assert result.breakdown["random"] == pytest.approx(
        {"accuracy": 50.0, "precision": 50.0, "recall": 50.0, "f1": 50.0, "yes_ratio": 50.0, "n": 4.0}
    )
    assert result.breakdown["adversarial"] == pytest.approx(
        {"accuracy": 75.0, "precision": 100.0, "recall": 50.0, "f1": 200 / 3, "yes_ratio": 25.0, "n": 4.0}
    )


def test_pope_golden_metrics_robust() -> None:
    # "No!" becomes a TN: TP 2, FN 2, TN 4, FP 0 -> accuracy 75, precision 100, recall 50,
    # F1 = 2 * 100 * 50 / 150 = 66.67, yes-ratio 2/8 = 25.
    result = get_scorer("pope").score(ROWS, REPLIES, ROBUST)
    assert result.metrics == pytest.approx(
        {"accuracy": 75.0, "precision": 100.0, "recall": 50.0, "f1": 200 / 3, "yes_ratio": 25.0}
    )
    assert result.info["parser"] == "robust"


def test_pope_robust_other_is_wrong_and_not_a_yes() -> None:
    rows = [{"question_id": 0, "answer": "yes"}, {"question_id": 1, "answer": "no"}]
    result = get_scorer("pope").score(rows, ["", "..."], ROBUST)
    assert result.parsed == ["other", "other"]
    assert result.metrics == {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "yes_ratio": 0.0}
    official = get_scorer("pope").score(rows, ["", "..."], OFFICIAL)
    assert official.parsed == ["yes", "yes"]  # the official code reads an empty reply as yes
    assert official.metrics["yes_ratio"] == 100.0


def test_pope_guards_empty_denominators() -> None:
    rows = [{"question_id": 0, "answer": "no"}]
    assert get_scorer("pope").score(rows, ["No"], OFFICIAL).metrics == {
        "accuracy": 100.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "yes_ratio": 0.0,
    }  # fmt: skip
    empty = get_scorer("pope").score([], [], OFFICIAL)
    assert empty.metrics["accuracy"] == 0.0 and empty.breakdown == {}


def test_pope_metrics_do_not_depend_on_row_order() -> None:
    order = list(range(len(ROWS)))
    random.Random(3).shuffle(order)
    scorer = get_scorer("pope")
    base = scorer.score(ROWS, REPLIES, OFFICIAL)
    shuffled = scorer.score([ROWS[i] for i in order], [REPLIES[i] for i in order], OFFICIAL)
    assert shuffled.metrics == base.metrics and shuffled.breakdown == base.breakdown


def test_pope_aggregate_matches_score_and_groups_are_rows() -> None:
    scorer = get_scorer("pope")
    result = scorer.score(ROWS, REPLIES, OFFICIAL)
    assert scorer.aggregate(ROWS, result.per_sample, OFFICIAL) == (result.metrics, result.breakdown)
    assert len(set(scorer.group_keys(ROWS))) == len(ROWS)
    assert scorer.streaming and scorer.modes == ("official", "robust")


def test_pope_rejects_a_truth_that_is_not_yes_or_no() -> None:
    with pytest.raises(ValueError, match="yes/no"):
        get_scorer("pope").score([{"question_id": 7, "answer": "maybe"}], ["yes"], OFFICIAL)
