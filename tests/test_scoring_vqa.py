"""VQAv2 accuracy: GT-Vision-Lab/VQA vqaEval.py at c4e6a0e (official) and a013f00 (official-2021)."""

from __future__ import annotations

import json
import random

import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.vqa import question_accuracy, write_submission
from evalkit.scoring.vqa_normalize import process_digit_article, process_punctuation


def ten(*pairs: tuple[str, int]) -> list[dict]:
    """Ten annotator answers with distinct answer_ids, e.g. ten(("yes", 3), ("no", 7))."""
    texts = [text for text, count in pairs for _ in range(count)]
    assert len(texts) == 10
    return [{"answer": t, "answer_confidence": "yes", "answer_id": i + 1} for i, t in enumerate(texts)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("red-white", "red white"),  # no space next to "-": replaced by a space
        ("red - white", "red  white"),  # " -" occurs: deleted
        ("yes, sir", "yes sir"),  # ", " occurs: deleted
        ("a,b", "a b"),
        ("1,000-2,000", "10002000"),  # a digit-comma-digit anywhere deletes every mark
        ("(yes)", " yes "),
        ("3.5.", "3.5"),  # a period before a digit survives
        ("U.S.A.", "USA"),
        ("x" + "." * 40, "x" + "." * 8),  # re.UNICODE passed as count: only 32 periods go
        ("it's", "it's"),  # apostrophes are not in the list
    ],
)
def test_punctuation_pass_reproduces_vqaeval(text: str, expected: str) -> None:
    assert process_punctuation(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Two dogs", "2 dogs"),
        ("none", "0"),
        ("dont", "don't"),
        ("Im", "im"),  # the table's capitalised keys never match after lower-casing
        ("somebody'd", "somebodyd"),  # the table's odd entry is kept
        ("  an   apple ", "apple"),
    ],
)
def test_digit_article_pass_reproduces_vqaeval(text: str, expected: str) -> None:
    assert process_digit_article(text) == expected


# (reply, answers, {mode: accuracy 0-1}) worked out by hand from vqaEval.py
CASES = [
    # reply normalised always in official; ten identical GT left raw
    ("Two", ten(("2", 10)), {"official": 1.0, "official-2021": 0.0, "robust": 1.0}),
    ("Yes", ten(("yes", 10)), {"official": 1.0, "official-2021": 0.0, "robust": 1.0}),
    # GT is never lower-cased in official; 2021 normalises neither side when all ten agree
    ("yes", ten(("Yes", 10)), {"official": 0.0, "official-2021": 0.0, "robust": 1.0}),
    # answers differ: official gives GT the punctuation pass only, 2021 both passes
    ("yes", ten(("Yes", 8), ("yes", 2)), {"official": 0.6, "official-2021": 1.0, "robust": 1.0}),
    # leave-one-out: 3 matches -> (3 * 2/3 + 7 * 1) / 10
    ("yes", ten(("yes", 3), ("no", 7)), {"official": 0.9, "official-2021": 0.9, "robust": 0.9}),
    ("yes", ten(("yes", 2), ("no", 8)), {"official": 0.6, "official-2021": 0.6, "robust": 0.6}),
    ("yes", ten(("yes", 1), ("no", 9)), {"official": 0.3, "official-2021": 0.3, "robust": 0.3}),
    ("yes", ten(("yes", 4), ("no", 6)), {"official": 1.0, "official-2021": 1.0, "robust": 1.0}),
    # digit-comma-digit: "1,000" loses its comma on both sides once the answers differ
    (
        "1,000",
        ten(("1,000", 5), ("1000", 5)),
        {"official": 1.0, "official-2021": 1.0, "robust": 1.0},
    ),
    # ten identical "1,000": official compares the reply "1000" with raw "1,000"
    ("1,000", ten(("1,000", 10)), {"official": 0.0, "official-2021": 1.0, "robust": 1.0}),
    # official (c4e6a0e) does not strip GT whitespace; 2021 does
    ("yes", ten(("yes ", 10)), {"official": 0.0, "official-2021": 1.0, "robust": 1.0}),
    ("  yes\n", ten(("yes", 10)), {"official": 1.0, "official-2021": 1.0, "robust": 1.0}),
    (
        "The dog.",
        ten(("dog", 6), ("puppy", 4)),
        {"official": 1.0, "official-2021": 1.0, "robust": 1.0},
    ),
    ("no", ten(("yes", 10)), {"official": 0.0, "official-2021": 0.0, "robust": 0.0}),
]


@pytest.mark.parametrize(("reply", "answers", "expected"), CASES)
def test_question_accuracy_in_every_mode(reply: str, answers: list, expected: dict) -> None:
    for mode, acc in expected.items():
        assert question_accuracy(reply, answers, mode)[1] == pytest.approx(acc, abs=1e-12), mode


def test_identical_dicts_without_answer_id_are_all_left_out_officially() -> None:
    answers = [{"answer": "yes"}] * 3 + [{"answer": "no"}] * 7
    # holding out one "yes" dict removes all three equal dicts: 7 * 1 / 10
    assert question_accuracy("yes", answers, "official")[1] == pytest.approx(0.7)
    assert question_accuracy("yes", answers, "robust")[1] == pytest.approx(0.9)


def test_plain_string_and_json_answers_count_as_distinct_annotators() -> None:
    strings = ["yes"] * 3 + ["no"] * 7
    assert question_accuracy("yes", strings, "official")[1] == pytest.approx(0.9)
    assert question_accuracy("yes", json.dumps(ten(("yes", 3), ("no", 7))))[1] == pytest.approx(0.9)


def test_rows_without_answers_are_not_scored() -> None:
    assert question_accuracy("yes", [], "official")[1] is None


GOLDEN_ROWS = [
    {"question_id": 1, "answers": ten(("yes", 10)), "answer_type": "yes/no", "question_type": "is"},
    {"question_id": 2, "answers": ten(("no", 10)), "answer_type": "yes/no", "question_type": "is"},
    {"question_id": 3, "answers": ten(("2", 10)), "answer_type": "number", "question_type": "how many"},
    {"question_id": 4, "answers": ten(("3", 2), ("4", 8)), "answer_type": "number", "question_type": "how many"},
    {"question_id": 5, "answers": ten(("red", 3), ("blue", 7)), "answer_type": "other", "question_type": "what color"},
]  # fmt: skip
GOLDEN_REPLIES = ["Yes", "yes", "Two", "3", "red"]
# per question: 1.0, 0.0, 1.0, 0.6, 0.9 -> overall 3.5 / 5 = 70%
GOLDEN_METRICS = {"accuracy": 70.0}
GOLDEN_BREAKDOWN = {"yes/no": 50.0, "number": 80.0, "other": 90.0}


def test_golden_table_and_row_order_does_not_matter() -> None:
    scorer = get_scorer("vqav2")
    result = scorer.score(GOLDEN_ROWS, GOLDEN_REPLIES, ScoringContext())
    assert result.metrics == pytest.approx(GOLDEN_METRICS)
    assert result.per_sample == pytest.approx([1.0, 0.0, 1.0, 0.6, 0.9])
    assert result.parsed == ["yes", "yes", "2", "3", "red"]
    for answer_type, acc in GOLDEN_BREAKDOWN.items():
        assert result.breakdown[f"answer_type/{answer_type}"]["accuracy"] == pytest.approx(acc)
    assert result.breakdown["question_type/how many"]["accuracy"] == pytest.approx(80.0)
    order = list(range(5))
    random.Random(0).shuffle(order)
    shuffled = scorer.score(
        [GOLDEN_ROWS[i] for i in order], [GOLDEN_REPLIES[i] for i in order], ScoringContext()
    )
    assert shuffled.metrics == result.metrics
    assert shuffled.breakdown == result.breakdown
    assert scorer.aggregate(GOLDEN_ROWS, result.per_sample, ScoringContext()) == (
        result.metrics,
        result.breakdown,
    )


def test_official_2021_mode_lowers_the_golden_score() -> None:
    result = get_scorer("vqav2").score(GOLDEN_ROWS, GOLDEN_REPLIES, ScoringContext("official-2021"))
    # "Yes" and "Two" now miss: 0 + 0 + 0 + 0.6 + 0.9 -> 30%
    assert result.metrics["accuracy"] == pytest.approx(30.0)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="official-2021"):
        get_scorer("vqav2").score(GOLDEN_ROWS, GOLDEN_REPLIES, ScoringContext("strict"))


def test_submission_file_holds_int_ids_and_raw_or_processed_answers(tmp_path) -> None:
    rows = [{"question_id": "7"}, {"question_id": 8}]
    raw = json.loads(write_submission(rows, [" Two dogs\n", "Yes."], tmp_path / "s.json").read_text())
    assert raw == [{"question_id": 7, "answer": "Two dogs"}, {"question_id": 8, "answer": "Yes."}]
    done = json.loads(write_submission(rows, ["Two dogs", "Yes."], tmp_path / "p.json", True).read_text())
    assert [entry["answer"] for entry in done] == ["2 dogs", "yes"]


def test_okvqa_scores_like_vqav2_but_requires_answers_on_every_row() -> None:
    from evalkit.scoring.okvqa import SCORER as OKVQA
    from evalkit.scoring.vqa import SCORER as VQAV2

    rows = [
        {"question_id": 1, "answers": ["race"] * 3 + ["racing"] * 7},
        {"question_id": 2, "answers": ["2"] * 10},
    ]
    replies = ["Racing.", "two"]
    for mode in ("official", "robust"):
        ctx = ScoringContext(mode=mode)
        ok, vqa = OKVQA.score(rows, replies, ctx), VQAV2.score(rows, replies, ctx)
        assert ok.per_sample == vqa.per_sample and ok.metrics == vqa.metrics
    with pytest.raises(ValueError, match=r"^okvqa: row 3 has no 'answers' column"):
        OKVQA.score([*rows, {"question_id": 3}], [*replies, "x"], ScoringContext())
    with pytest.raises(ValueError, match=r"^okvqa: row 4 has an empty 'answers' list"):
        OKVQA.score([{"question_id": 4, "answers": []}], ["x"], ScoringContext())
