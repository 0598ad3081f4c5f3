"""TextVQA accuracy: MMF/LLaVA m4c_evaluator (EvalAIAnswerProcessor on both sides, VQA leave-one-out)."""

from __future__ import annotations

import random

import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.textvqa import evalai_answer
from evalkit.scoring.vqa_normalize import AnswerNormalizer

YES10 = ["yes"] * 10

# (ten answers, reply, official, robust) -- each worked out by hand from m4c_evaluator.py
CASES = [
    (YES10, "", 0.0, 0.0),  # empty reply
    (YES10, "yes.", 1.0, 1.0),  # trailing period stripped
    (["2"] * 10, "Two", 1.0, 1.0),  # number word -> digit
    (["two"] * 10, "2", 1.0, 1.0),  # answers are processed too (vqaEval would leave them raw)
    (["1000"] * 10, "1,000", 1.0, 1.0),  # every comma deleted
    (YES10, "\uff39\uff25\uff33", 0.0, 1.0),  # full-width YES: robust applies NFKC
    (YES10, "The answer is yes.", 0.0, 1.0),  # officially "answer is yes"; robust: after "answer is"
    (YES10, "Yes, it is a stop sign.", 0.0, 1.0),  # extra explanation; robust: first clause
    (["Coca-Cola"] * 3 + ["coke"] * 7, "coca cola", 0.9, 0.9),  # "-" between letters -> space; 3 matches
    (["joe's"] * 10, "Joe's", 1.0, 1.0),  # both become "joe 's"
    (["joe's"] * 10, "Joe\u2019s", 0.0, 1.0),  # curly apostrophe: robust straightens it
    (["50%"] * 10, "50 %", 0.0, 0.0),  # "%" is no punctuation mark: the space stays
    (["New York, NY"] * 10, "new york", 0.0, 0.0),  # the answers are never shortened
    (["red"] * 10, "  red\n", 1.0, 1.0),  # whitespace
    (["yes"] * 2 + ["no"] * 8, "yes", 0.6, 0.6),  # leave-one-out: (2 * 1/3 + 8 * 2/3) / 10
    (["yes"] * 3 + ["no"] * 7, "Yes", 0.9, 0.9),  # (3 * 2/3 + 7 * 3/3) / 10, not min(1, 3/3)
    (YES10, "yes or no", 0.0, 0.0),  # several candidates: no clause break, nothing to pick
    (["dog"] * 4 + ["a dog"] * 6, "the dog", 1.0, 1.0),  # articles dropped on both sides
    (["11"] * 10, "eleven", 0.0, 0.0),  # number words stop at ten
    (["3.5"] * 10, "Answer: 3.5", 0.0, 1.0),  # a period before a digit stays
    (["cafe"] * 10, "café", 0.0, 0.0),  # accents are kept (NFKC does not fold them)
]


def _score(mode: str, cases: list = CASES) -> list[float | None]:
    rows = [{"question_id": n, "answers": answers} for n, (answers, *_) in enumerate(cases)]
    result = get_scorer("textvqa").score(rows, [reply for _, reply, *_ in cases], ScoringContext(mode=mode))
    return result.per_sample


@pytest.mark.parametrize(("mode", "column"), [("official", 2), ("robust", 3)])
def test_textvqa_table_in_both_modes(mode: str, column: int) -> None:
    assert _score(mode) == pytest.approx([case[column] for case in CASES])


def test_evalai_processor_splits_possessives_and_drops_commas_and_question_marks() -> None:
    norm = AnswerNormalizer()
    assert evalai_answer("Joe's Diner?", norm) == "joe 's diner"
    assert evalai_answer("1,000,000", norm) == "1000000"
    assert evalai_answer("The Two dogs.", norm) == "2 dogs"
    assert evalai_answer("red - white", norm) == "red white"


def test_textvqa_accuracy_is_the_percent_mean_and_order_free() -> None:
    scorer = get_scorer("textvqa")
    rows = [{"question_id": n, "answers": a} for n, (a, *_) in enumerate(CASES)]
    replies = [reply for _, reply, *_ in CASES]
    result = scorer.score(rows, replies, ScoringContext())
    assert result.metrics["accuracy"] == pytest.approx(100 * sum(c[2] for c in CASES) / len(CASES))
    order = list(range(len(rows)))
    random.Random(3).shuffle(order)
    shuffled = scorer.score([rows[i] for i in order], [replies[i] for i in order], ScoringContext())
    assert shuffled.metrics == pytest.approx(result.metrics)
    assert scorer.aggregate(rows, result.per_sample, ScoringContext())[0] == result.metrics


def test_textvqa_rows_with_empty_answers_are_unscored_but_a_missing_column_is_an_error() -> None:
    scorer = get_scorer("textvqa")
    result = scorer.score([{"question_id": 1, "answers": []}, {"question_id": 2, "answers": YES10}],
                          ["yes", "yes"], ScoringContext())  # fmt: skip
    assert result.per_sample == [None, 1.0] and result.metrics == {"accuracy": 100.0}
    with pytest.raises(ValueError, match=r"row 3 has no 'answers' column"):
        scorer.score([{"question_id": 3, "question": "q"}], ["yes"], ScoringContext())


def test_textvqa_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        get_scorer("textvqa").score([], [], ScoringContext(mode="official-2021"))
