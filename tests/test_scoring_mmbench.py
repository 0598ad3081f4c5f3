"""MMBench scorer: VLMEvalKit CircularEval with exact matching (no judge)."""

from __future__ import annotations

import random

import pytest

from evalkit.scoring import ScoringContext, get_scorer
from tasks.mmbench import build_prompt

OFFICIAL, ROBUST, LEGACY = (ScoringContext(mode=m) for m in ("official", "robust", "vlmevalkit_2024"))
NAN = float("nan")
L2_INSTANCE, L2_CROSS = "finegrained_perception (instance-level)", "finegrained_perception (cross-instance)"


def _row(index: int, options: list[object], answer: str, category: str, l2: str) -> dict[str, object]:
    return {
        "index": index, "question": "Which one?", "hint": None, "answer": answer,
        "category": category, "L2-category": l2, **dict(zip("ABCD", options)),
    }  # fmt: skip


# rows and replies; a group is right only if every rotation is right
TABLE = [
    # group 1: four rotations of (cat, dog, red, blue), truth "dog"; all right
    (_row(1, ["cat", "dog", "red", "blue"], "B", "attribute_recognition", L2_INSTANCE), "B"),
    (_row(1000001, ["dog", "red", "blue", "cat"], "A", "attribute_recognition", L2_INSTANCE), "A"),
    (_row(2000001, ["red", "blue", "cat", "dog"], "D", "attribute_recognition", L2_INSTANCE), "(D)"),
    (
        _row(3000001, ["blue", "cat", "dog", "red"], "C", "attribute_recognition", L2_INSTANCE),
        "The answer is C",
    ),
    # group 2: two options (C missing, D NaN); the rotation is answered wrong -> group wrong
    (_row(2, ["left", "right", None, NAN], "A", "attribute_recognition", L2_INSTANCE), "A"),
    (_row(1000002, ["right", "left", None, NAN], "B", "attribute_recognition", L2_INSTANCE), "A"),
    # group 3: a leading letter before a long explanation: dropped by the current official code
    (
        _row(3, ["cat", "dog", "red", "blue"], "B", "ocr", L2_CROSS),
        "B. The dog is sitting on the mat near the door",
    ),
    # a rotation whose main row (index 4) is absent: left out, like mcq_circular_eval
    (_row(1000004, ["cat", "dog", "red", "blue"], "B", "ocr", L2_CROSS), "B"),
]
ROWS = [row for row, _ in TABLE]
REPLIES = [reply for _, reply in TABLE]


def test_mmbench_infers_letters_per_mode() -> None:
    scorer = get_scorer("mmbench")
    assert scorer.score(ROWS, REPLIES, OFFICIAL).parsed == ["B", "A", "D", "C", "A", "A", None, "B"]
    assert scorer.score(ROWS, REPLIES, ROBUST).parsed == ["B", "A", "D", "C", "A", "A", "B", "B"]
    assert scorer.score(ROWS, REPLIES, LEGACY).parsed == ["B", "A", "D", "C", "A", "A", "B", "B"]


def test_mmbench_golden_circular_accuracy_official() -> None:
    # groups: 1 right, 2 wrong (one rotation wrong), 3 wrong (no letter inferred) -> 1/3
    result = get_scorer("mmbench").score(ROWS, REPLIES, OFFICIAL)
    assert result.metrics == pytest.approx({"accuracy": 100 / 3})
    assert result.breakdown == {
        "category/attribute_recognition": {"accuracy": 50.0, "n": 2.0},
        "category/ocr": {"accuracy": 0.0, "n": 1.0},
        f"L2-category/{L2_INSTANCE}": {"accuracy": 50.0, "n": 2.0},
        f"L2-category/{L2_CROSS}": {"accuracy": 0.0, "n": 1.0},
    }
    assert result.info == {
        "parser": "official",
        "groups": 3,
        "rows_without_main_row": 1,
        "unparsed": 1,
        "matched_by_text": 0,
        "judge": None,
    }


def test_mmbench_golden_circular_accuracy_robust_and_legacy() -> None:
    # group 3 is now right: groups 1 and 3 of 3
    for ctx in (ROBUST, LEGACY):
        result = get_scorer("mmbench").score(ROWS, REPLIES, ctx)
        assert result.metrics == pytest.approx({"accuracy": 200 / 3})
        assert result.breakdown["category/ocr"]["accuracy"] == 100.0
        assert result.info["parser"] == ctx.mode


def test_mmbench_option_text_replies_are_matched_and_counted() -> None:
    # group 1 answered with the true option's text ("dog") in every rotation: right under every
    # parser, through can_infer_text, and each sample says so
    replies = ["dog", "dog", "dog", "the dog", *REPLIES[4:]]
    for ctx in (OFFICIAL, ROBUST, LEGACY):
        result = get_scorer("mmbench").score(ROWS, replies, ctx)
        assert result.parsed[:4] == ["B", "A", "D", "C"]
        assert [s["matched_by"] for s in result.per_sample[:5]] == ["text"] * 4 + ["letter"]
        assert result.info["matched_by_text"] == 4
    # a reply naming a letter and another option's text is read by its letter
    wrong = get_scorer("mmbench").score(ROWS[:1], ["A. dog"], OFFICIAL)
    assert wrong.parsed == ["A"] and wrong.per_sample == [{"score": 0.0, "matched_by": "letter"}]
    assert get_scorer("mmbench").score(ROWS[:1], ["a bird"], OFFICIAL).per_sample[0]["matched_by"] is None


def test_mmbench_one_wrong_rotation_fails_the_group() -> None:
    replies = list(REPLIES)
    replies[2] = "C"  # rotation 2000001 of group 1, whose truth is D
    assert get_scorer("mmbench").score(ROWS, replies, ROBUST).metrics["accuracy"] == pytest.approx(100 / 3)


def test_mmbench_accuracy_does_not_depend_on_row_order() -> None:
    order = list(range(len(ROWS)))
    random.Random(11).shuffle(order)
    scorer = get_scorer("mmbench")
    base = scorer.score(ROWS, REPLIES, OFFICIAL)
    shuffled = scorer.score([ROWS[i] for i in order], [REPLIES[i] for i in order], OFFICIAL)
    assert shuffled.metrics == base.metrics and shuffled.breakdown == base.breakdown


def test_mmbench_groups_rotations_for_resampling() -> None:
    scorer = get_scorer("mmbench")
    assert scorer.group_keys(ROWS) == [1, 1, 1, 1, 2, 2, 3, 4]
    result = scorer.score(ROWS, REPLIES, OFFICIAL)
    assert scorer.aggregate(ROWS, result.per_sample, OFFICIAL) == (result.metrics, result.breakdown)
    assert scorer.score([], [], OFFICIAL).metrics == {"accuracy": 0.0}


def test_mmbench_prompt_follows_lmms_eval() -> None:
    row = _row(5, ["cat", "dog", None, NAN], "A", "ocr", L2_CROSS)
    assert build_prompt(row) == (
        "Which one? There are several options:\nA. cat\nB. dog\n\n"
        "Answer with the option's letter from the given choices directly."
    )
    with_hint = {**row, "hint": "Look at the animal."}
    assert build_prompt(with_hint).startswith(
        "Look at the animal. Which one? There are several options:\nA. cat"
    )
    assert build_prompt({**row, "hint": "nan"}) == build_prompt(row)
