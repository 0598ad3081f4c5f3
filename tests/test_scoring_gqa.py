"""GQA accuracy: eval.py's exact match on balanced questions, after LLaVA's or lmms-eval's reply handling."""

from __future__ import annotations

import random

import pytest

from evalkit.parsing.short_answer import reply_candidates, short_answer
from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.gqa import robust_form

# (gold answer, reply, official, lmms-eval, robust) -- worked out by hand:
# official = reply.strip().rstrip(".").lower() == gold; lmms-eval = both lower-cased without
# ASCII punctuation (reply stripped); robust = see evalkit/scoring/gqa.py
CASES = [
    ("yes", "", 0, 0, 0),  # empty reply
    ("yes", "yes", 1, 1, 1),
    ("yes", "Yes.", 1, 1, 1),  # trailing period
    ("yes", "yes. ", 1, 1, 1),  # stripped before the period goes
    ("yes", "Yes!", 0, 1, 1),  # LLaVA strips only "."
    ("yes", " yes", 1, 1, 1),  # leading space
    ("yes", "yes\n\nThe cat is black.", 0, 0, 1),  # extra explanation: robust takes the first line
    ("yes", "The answer is yes.", 0, 0, 1),
    ("yes", "\uff39\uff25\uff33", 0, 0, 1),  # full-width YES: robust applies NFKC
    ("2", "two", 0, 0, 0),  # no number words in GQA's comparison
    ("table", "a table", 0, 0, 1),  # robust drops articles
    ("t-shirt", "T-shirt", 1, 1, 1),
    ("t-shirt", "t shirt", 0, 0, 1),  # robust: punctuation to spaces on both sides
    ("t-shirt", "tshirt", 0, 1, 0),  # lmms-eval deletes the hyphen on both sides
    ("yes", "Yes, it is.", 0, 0, 1),  # robust: first clause
    ("left", "Left...", 1, 1, 1),  # every trailing period goes
    ("no", "**no**", 0, 1, 1),  # markdown emphasis
    ("no", "no\x00", 0, 1, 1),  # numpy drops trailing NULs; robust drops control characters
    ("left", "right", 0, 0, 0),
    ("left", "On the left.", 0, 0, 0),  # robust: "on left" is not "left"
    ("Yes", "Yes.", 0, 1, 1),  # officially the gold answer is never lower-cased
    ("yes", "yes or no", 0, 0, 0),  # several candidates: nothing to pick
    ("café", "cafe", 0, 0, 0),  # accents are kept
]


def _rows(cases: list = CASES) -> list[dict]:
    types = ("verify", "query", "choose", "logical", "compare")
    return [{"id": str(n), "answer": gold, "isBalanced": True,
             "types": {"structural": types[n % 5], "semantic": "attr" if n % 2 else "rel", "detailed": "x"}}
            for n, (gold, *_) in enumerate(cases)]  # fmt: skip


@pytest.mark.parametrize(("mode", "column"), [("official", 2), ("lmms-eval", 3), ("robust", 4)])
def test_gqa_table_in_every_mode(mode: str, column: int) -> None:
    result = get_scorer("gqa").score(_rows(), [c[1] for c in CASES], ScoringContext(mode=mode))
    assert result.per_sample == [float(case[column]) for case in CASES]


def test_gqa_metrics_follow_eval_py_binary_open_and_type_tables() -> None:
    rows = _rows()[:10]
    outcomes = [float(c[2]) for c in CASES[:10]]  # official: 0 1 1 1 0 1 0 0 0 0
    result = get_scorer("gqa").score(rows, [c[1] for c in CASES[:10]], ScoringContext())
    assert result.per_sample == outcomes
    # structural by n % 5: verify {0, 5} = 0.5, query {1, 6} = 0.5 (open), choose {2, 7} = 0.5,
    # logical {3, 8} = 0.5, compare {4, 9} = 0; binary = the 8 non-query rows: 3/8
    assert result.metrics == pytest.approx({"accuracy": 40.0, "binary": 37.5, "open": 50.0})
    assert result.breakdown["structural/query"] == {"accuracy": 50.0, "n": 2.0}
    assert result.breakdown["structural/compare"]["accuracy"] == 0.0
    # semantic: rel = even rows {0, 2, 4, 6, 8} -> 1 of 5; attr = odd rows -> 3 of 5
    assert result.breakdown["semantic/rel"]["accuracy"] == pytest.approx(20.0)
    assert result.breakdown["semantic/attr"]["accuracy"] == pytest.approx(60.0)


def test_gqa_scores_only_balanced_questions_and_is_order_free() -> None:
    scorer = get_scorer("gqa")
    rows = [{**row, "isBalanced": n % 4 != 0} for n, row in enumerate(_rows())]
    replies = [c[1] for c in CASES]
    result = scorer.score(rows, replies, ScoringContext())
    assert [s is None for s in result.per_sample] == [n % 4 == 0 for n in range(len(rows))]
    assert result.info["n_unbalanced"] == 6
    order = list(range(len(rows)))
    random.Random(5).shuffle(order)
    shuffled = scorer.score([rows[i] for i in order], [replies[i] for i in order], ScoringContext())
    assert shuffled.metrics == pytest.approx(result.metrics)
    assert scorer.aggregate(rows, result.per_sample, ScoringContext()) == (result.metrics, result.breakdown)


def test_gqa_rows_without_types_get_accuracy_only() -> None:
    result = get_scorer("gqa").score([{"id": "1", "answer": "no"}], ["No."], ScoringContext())
    assert result.metrics == {"accuracy": 100.0} and result.breakdown == {}


def test_gqa_row_without_answer_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"gqa: row 12 has no 'answer'"):
        get_scorer("gqa").score([{"id": "12", "question": "Q?"}], ["yes"], ScoringContext())


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("The answer is: Left.", "Left"),
        ("Answer: 3.5", "3.5"),
        ("Yes, the cat is on the mat.", "Yes"),
        ("\n\n**no**\nbecause", "no"),
        ("U.S.A.", "U.S.A"),
        ("1,000 people", "1,000 people"),
        ('"stop"', "stop"),
        ("", ""),
    ],
)
def test_short_answer_keeps_what_a_reader_takes_as_the_answer(reply: str, expected: str) -> None:
    assert short_answer(reply) == expected


def test_reply_candidates_keep_the_whole_reply_first() -> None:
    assert reply_candidates("Washington, D.C.") == ["Washington, D.C.", "Washington"]
    assert reply_candidates("yes") == ["yes"]
    assert robust_form("The T-Shirt's  colour.") == "t shirt s colour"
