"""OCRBench: MultimodalOCR's containment match (official) and its documented fixes (robust)."""

from __future__ import annotations

import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.ocrbench import QUESTION_TYPES, is_match

HME = "HME100k"
# (dataset, answers, reply, official, robust), worked out by hand from OCRBench/example.py:
# outside HME100k both sides are lower-cased, stripped and "\n" -> " ", then `answer in reply`;
# in HME100k both are stripped, "\n" -> " " and spaces removed (case kept).
CASES = [
    ("IIIT5K", ["hello"], "", 0, 0),  # empty reply
    ("IIIT5K", ["hello"], "Hello.", 1, 1),  # trailing period, case
    ("IIIT5K", ["hello"], 'The text in the image reads "HELLO".', 1, 1),  # extra explanation
    ("ORAND", ["3"], "three", 0, 0),  # number words are not converted
    ("ORAND", ["1"], "10", 1, 0),  # a short answer inside a longer number
    ("ORAND", ["2019"], "2019年", 1, 1),  # a CJK character is no ASCII letter or digit
    ("textVQA", ["no"], "I do not know", 1, 0),  # "no" inside "not" and "know"
    ("textVQA", ["stop", "stop sign"], "It is a STOP sign", 1, 1),  # several answers: any one
    ("textVQA", [""], "anything at all", 1, 0),  # an empty answer is inside every reply
    ("ReCTS", ["北京"], "答案是北京", 1, 1),  # CJK containment is kept
    ("docVQA", ["new york"], "New\nYork", 1, 1),  # "\n" becomes a space
    ("docVQA", ["new york"], "New  York", 0, 1),  # two spaces: only robust collapses them
    ("SROIE", ["ＡＢＣ１２"], "abc12", 0, 1),  # full-width: only NFKC folds them
    ("SROIE", ["café"], "cafe\u0301", 0, 1),  # decomposed é; NFKC composes it
    ("SROIE", ["straße"], "STRASSE", 0, 1),  # lower() keeps ß; casefold writes "ss"
    ("SROIE", ["12.50"], "12.5", 0, 0),
    (HME, ["x ^ { 2 }"], "x^{2}", 1, 1),  # spaces go on both sides
    (HME, ["X^{2}"], "x^{2}", 0, 0),  # case is kept
    (HME, ["a+b"], "a +\tb", 0, 1),  # a tab is no space: only robust removes all whitespace
    (HME, ["2"], "x^{12}", 1, 0),  # "2" glued to "1"
    (HME, ["\\frac{1}{2}"], "$$\n\\frac {1} {2}\n$$", 1, 1),
]


@pytest.mark.parametrize(("dataset", "answers", "reply", "official", "robust"), CASES)
def test_ocrbench_example_table(
    dataset: str, answers: list[str], reply: str, official: int, robust: int
) -> None:
    hme = dataset == HME
    assert is_match(reply, answers, hme, "official") == bool(official)
    assert is_match(reply, answers, hme, "robust") == bool(robust)


def test_the_table_covers_at_least_fifteen_replies() -> None:
    assert len(CASES) >= 15


TYPES = {  # a dataset of each question type, as OCRBench pairs them
    "Regular Text Recognition": "IIIT5K", "Irregular Text Recognition": "svt",
    "Artistic Text Recognition": "WordArt", "Handwriting Recognition": "IAM",
    "Digit String Recognition": "ORAND", "Non-Semantic Text Recognition": "NonSemanticText",
    "Scene Text-centric VQA": "STVQA", "Doc-oriented VQA": "docVQA",
    "Key Information Extraction": "FUNSD", "Handwritten Mathematical Expression Recognition": HME,
}  # fmt: skip


def one_row_per_type() -> list[dict]:
    return [
        {"dataset": TYPES[t], "question": "?", "question_type": t, "answer": ["ok"]} for t in QUESTION_TYPES
    ]


def test_scores_sum_into_the_five_official_groups() -> None:
    rows = one_row_per_type()
    replies = ["ok", "no", "OK!", "ok", "k", "ok", "ok", "nope", "ok", "ok"]  # wrong: 2nd, 5th, 8th
    result = get_scorer("ocrbench").score(rows, replies, ScoringContext())
    assert result.metrics == {"final_score": 7.0, "accuracy": 70.0, "text_recognition": 4.0, "scene_text_vqa": 1.0,
                              "doc_oriented_vqa": 0.0, "key_information_extraction": 1.0,
                              "math_expression_recognition": 1.0}  # fmt: skip
    assert result.breakdown["group/Text Recognition"] == {
        "score": 4.0,
        "n": 6.0,
        "accuracy": pytest.approx(200 / 3),
    }
    assert result.breakdown["question_type/Digit String Recognition"]["score"] == 0.0
    assert result.breakdown["dataset/docVQA"] == {"score": 0.0, "n": 1.0, "accuracy": 0.0}
    assert result.parsed[2] == "ok!" and result.info["max_score"] == 10


def test_scorer_is_order_free_and_aggregate_recomputes() -> None:
    scorer = get_scorer("ocrbench")
    rows, replies = one_row_per_type(), ["ok", "x"] * 5
    forward = scorer.score(rows, replies, ScoringContext())
    backward = scorer.score(rows[::-1], replies[::-1], ScoringContext())
    assert forward.metrics == backward.metrics and forward.breakdown == backward.breakdown
    assert scorer.aggregate(rows, forward.per_sample, ScoringContext()) == (
        forward.metrics,
        forward.breakdown,
    )


def test_a_string_answer_counts_like_a_one_item_list() -> None:
    row = {"dataset": "svt", "question": "?", "question_type": "Irregular Text Recognition", "answer": "Cafe"}
    assert get_scorer("ocrbench").score([row], ["CAFE"], ScoringContext()).per_sample == [1.0]


def test_an_unknown_question_type_is_named() -> None:
    row = {"dataset": "svt", "question": "?", "question_type": "Poetry", "answer": ["a"]}
    with pytest.raises(ValueError, match="question_type 'Poetry'"):
        get_scorer("ocrbench").score([row], ["a"], ScoringContext())


def test_a_row_without_answer_names_the_row_and_the_field() -> None:
    row = {"dataset": "svt", "question": "What is written?", "question_type": "Irregular Text Recognition"}
    with pytest.raises(
        ValueError, match=r"row at position 0 \(question 'What is written\?'\) has no 'answer' field"
    ):
        get_scorer("ocrbench").score([row], ["a"], ScoringContext(mode="robust"))
