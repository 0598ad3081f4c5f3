"""MMMU scorer: eval_utils.py parsing, the seeded random fallback, instance-level accuracy."""

from __future__ import annotations

import random

import pytest

from evalkit.scoring import ScoringContext, get_scorer
from evalkit.scoring.mmmu import official_order_key, subject_of
from tasks.mmmu import build_prompt, prepare_row

OFFICIAL, ROBUST = ScoringContext(mode="official", seed=42), ScoringContext(mode="robust", seed=42)
CITIES = "['Paris', 'London', 'Rome', 'Berlin']"


def _mc(qid: str, answer: str) -> dict[str, object]:
    return {
        "id": qid,
        "question": "Where?",
        "options": CITIES,
        "answer": answer,
        "question_type": "multiple-choice",
    }


def _open(qid: str, answer: str) -> dict[str, object]:
    return {"id": qid, "question": "How much?", "options": "[]", "answer": answer, "question_type": "open"}


# Random(42).choice over A-D gives A, A, C: consumed in official order Art_9, Art_10, Art_11
# (question number, not file or string order). Robust seeds per id: Art_9 -> C, Art_10 -> A,
# Art_11 -> B (sha256 of "42:<id>"). Columns: row, reply, official pred, robust pred.
TABLE = [
    (_mc("validation_Art_1", "B"), "(B)", "B", "B"),
    (_mc("validation_Art_2", "A"), "The answer is (A) or maybe (C)", "C", "A"),  # last bracket vs explicit
    (_mc("validation_Art_11", "C"), "I cannot tell", "C", "B"),  # random: third draw / own seed
    (_mc("validation_Art_10", "B"), "I cannot tell", "A", "A"),  # random: second draw
    (_mc("validation_Art_9", "A"), "I cannot tell", "A", "C"),  # random: first draw
    (_open("validation_Math_1", "3.5"), "The answer is 3.50", [3.5], [3.5]),
    (_open("validation_Math_2", "['24/7', '3.429']"), "so the ratio is 3.43", [3.43], [3.43]),
    (_open("validation_Math_3", "12"), "It is 13.", [13.0], [13.0]),
]
ROWS = [row for row, *_ in TABLE]
REPLIES = [reply for _, reply, *_ in TABLE]


def test_mmmu_parses_each_reply_as_the_official_code() -> None:
    scorer = get_scorer("mmmu")
    assert scorer.score(ROWS, REPLIES, OFFICIAL).parsed == [row[2] for row in TABLE]
    assert scorer.score(ROWS, REPLIES, ROBUST).parsed == [row[3] for row in TABLE]


def test_mmmu_golden_accuracy_official() -> None:
    # right: Art_1, Art_11 (lucky C), Art_9 (lucky A), Math_1, Math_2 -> 5/8 = 62.5
    # Art 3/5 = 60, Math 2/3; domains: Art -> Art and Design, Math -> Science
    result = get_scorer("mmmu").score(ROWS, REPLIES, OFFICIAL)
    assert result.metrics == pytest.approx({"accuracy": 62.5})
    assert result.breakdown["Art"] == {"accuracy": 60.0, "n": 5.0}
    assert result.breakdown["Math"] == pytest.approx({"accuracy": 200 / 3, "n": 3.0})
    assert result.breakdown["Overall-Art and Design"] == {"accuracy": 60.0, "n": 5.0}
    assert result.breakdown["Overall-Science"]["n"] == 3.0
    assert result.info["parser"] == "official" and result.info["seed"] == 42
    assert result.info["random_fallbacks"] == 3


def test_mmmu_golden_accuracy_robust() -> None:
    # right: Art_1, Art_2, Math_1, Math_2; the three random picks miss -> 4/8 = 50
    result = get_scorer("mmmu").score(ROWS, REPLIES, ROBUST)
    assert result.metrics == pytest.approx({"accuracy": 50.0})
    assert result.breakdown["Art"] == {"accuracy": 40.0, "n": 5.0}
    assert result.info["parser"] == "robust" and "sha256" in result.info["seeding"]


def test_mmmu_accuracy_does_not_depend_on_row_order() -> None:
    scorer = get_scorer("mmmu")
    base = scorer.score(ROWS, REPLIES, OFFICIAL)
    for seed in range(3):
        order = list(range(len(ROWS)))
        random.Random(seed).shuffle(order)
        shuffled = scorer.score([ROWS[i] for i in order], [REPLIES[i] for i in order], OFFICIAL)
        assert shuffled.parsed == [base.parsed[i] for i in order]
        assert shuffled.metrics == base.metrics and shuffled.breakdown == base.breakdown


def test_mmmu_robust_fallback_does_not_depend_on_other_rows() -> None:
    alone = get_scorer("mmmu").score([ROWS[2]], [REPLIES[2]], ROBUST)
    assert alone.parsed == ["B"]
    official_alone = get_scorer("mmmu").score([ROWS[2]], [REPLIES[2]], OFFICIAL)
    assert official_alone.parsed == ["A"]  # alone it takes the stream's first draw
    assert get_scorer("mmmu").streaming is False


def test_mmmu_official_order_follows_subjects_then_numbers() -> None:
    ids = ["validation_Math_2", "validation_Art_10", "validation_Accounting_3", "validation_Art_9"]
    assert sorted(ids, key=official_order_key) == [
        "validation_Accounting_3", "validation_Art_9", "validation_Art_10", "validation_Math_2",
    ]  # fmt: skip
    assert subject_of("validation_Art_Theory_1") == "Art_Theory"


def test_mmmu_aggregate_matches_score() -> None:
    scorer = get_scorer("mmmu")
    result = scorer.score(ROWS, REPLIES, OFFICIAL)
    assert scorer.aggregate(ROWS, result.per_sample, OFFICIAL) == (result.metrics, result.breakdown)
    assert scorer.group_keys(ROWS) == [row["id"] for row in ROWS]
    assert scorer.score([], [], OFFICIAL).metrics == {"accuracy": 0.0}


def test_mmmu_prompt_follows_lmms_eval() -> None:
    assert build_prompt(_mc("validation_Art_1", "B")) == (
        "Where?\nA. Paris\nB. London\nC. Rome\nD. Berlin\n\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert build_prompt(_open("validation_Math_1", "3.5")) == (
        "How much?\n\nAnswer the question using a single word or phrase."
    )


def test_mmmu_prepare_row_keeps_the_images_the_prompt_names_in_order() -> None:
    row = {**_mc("validation_Art_1", "B"), "question": "Compare <image 2> with <image 1>."}
    row.update(
        {f"image_{i}": None for i in range(1, 8)} | {"image_1": "one", "image_2": "two", "image_3": "three"}
    )
    prepared = prepare_row(dict(row))
    assert prepared["images"] == ["one", "two"]
    assert not any(key.startswith("image_") for key in prepared)
    unnamed = prepare_row({**row, "question": "What is shown?"})
    assert unnamed["images"] == ["one", "two", "three"]  # none named: every present image
