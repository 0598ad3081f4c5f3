"""MME scorer: calculation.py's acc + acc+ per subtask, perception and cognition sums."""

from __future__ import annotations

import random

import pytest

from evalkit.scoring import ScoringContext, get_scorer
from evalkit.scoring.mme import COGNITION, PERCEPTION

OFFICIAL, ROBUST = ScoringContext(mode="official"), ScoringContext(mode="robust")

# category, question_id (image), truth, reply, right officially?, right in robust mode?
TABLE = [
    ("existence", "1.png", "Yes", "yes", True, True),
    ("existence", "1.png", "No", "No", True, True),
    ("existence", "2.png", "Yes", "Yes.", True, True),  # "yes." holds "yes" in its first 4 chars
    ("existence", "2.png", "No", "The answer is no.", False, True),  # official: other
    ("code_reasoning", "1.png", "Yes", "yes", True, True),  # same file name, other subtask
    ("code_reasoning", "1.png", "No", "Yes", False, False),
    ("my_task", "9.png", "Yes", "yes", True, True),  # unknown category: breakdown only
    ("my_task", "9.png", "No", "no", True, True),
]
ROWS = [{"question_id": q, "category": c, "answer": a, "question": "?"} for c, q, a, *_ in TABLE]
REPLIES = [row[3] for row in TABLE]


def test_mme_subtask_names_match_lmms_eval() -> None:
    assert PERCEPTION == (
        "existence", "count", "position", "color", "posters",
        "celebrity", "scene", "landmark", "artwork", "OCR",
    )  # fmt: skip
    assert COGNITION == (
        "commonsense_reasoning",
        "numerical_calculation",
        "text_translation",
        "code_reasoning",
    )


def test_mme_marks_each_reply_as_the_official_code() -> None:
    scorer = get_scorer("mme")
    official = scorer.score(ROWS, REPLIES, OFFICIAL)
    robust = scorer.score(ROWS, REPLIES, ROBUST)
    assert [s["score"] for s in official.per_sample] == [float(row[4]) for row in TABLE]
    assert [s["score"] for s in robust.per_sample] == [float(row[5]) for row in TABLE]
    assert official.parsed[3] == "other" and robust.parsed[3] == "no"


def test_mme_golden_scores_official() -> None:
    # existence: 3/4 questions right (acc 75), image 1.png fully right, 2.png not (acc+ 50) -> 125
    # code_reasoning: 1/2 right (acc 50), its one image not fully right (acc+ 0) -> 50
    # my_task: 200, in neither total
    result = get_scorer("mme").score(ROWS, REPLIES, OFFICIAL)
    assert result.metrics == pytest.approx({"perception": 125.0, "cognition": 50.0})
    assert result.breakdown["existence"] == pytest.approx(
        {"acc": 75.0, "acc_plus": 50.0, "score": 125.0, "n": 4.0}
    )
    assert result.breakdown["code_reasoning"] == pytest.approx(
        {"acc": 50.0, "acc_plus": 0.0, "score": 50.0, "n": 2.0}
    )
    assert result.breakdown["my_task"]["score"] == 200.0
    assert result.info == {
        "parser": "official", "other_answers": 1, "images_without_two_questions": 0, "unknown_categories": ["my_task"],
    }  # fmt: skip


def test_mme_golden_scores_robust() -> None:
    # "The answer is no." is now right: existence acc 100 + acc+ 100 = 200; cognition unchanged
    result = get_scorer("mme").score(ROWS, REPLIES, ROBUST)
    assert result.metrics == pytest.approx({"perception": 200.0, "cognition": 50.0})
    assert result.info["parser"] == "robust"


def test_mme_perfect_replies_reach_the_maxima() -> None:
    rows = [
        {"question_id": f"{c}.png", "category": c, "answer": answer}
        for c in PERCEPTION + COGNITION
        for answer in ("Yes", "No")
    ]
    result = get_scorer("mme").score(rows, [r["answer"] for r in rows], OFFICIAL)
    assert result.metrics == {"perception": 2000.0, "cognition": 800.0}


def test_mme_scores_do_not_depend_on_row_order() -> None:
    order = list(range(len(ROWS)))
    random.Random(5).shuffle(order)
    scorer = get_scorer("mme")
    base = scorer.score(ROWS, REPLIES, OFFICIAL)
    shuffled = scorer.score([ROWS[i] for i in order], [REPLIES[i] for i in order], OFFICIAL)
    assert shuffled.metrics == base.metrics and shuffled.breakdown == base.breakdown


def test_mme_groups_image_pairs_for_resampling() -> None:
    scorer = get_scorer("mme")
    keys = scorer.group_keys(ROWS)
    assert keys[0] == keys[1] == ("existence", "1.png")
    assert keys[4] == ("code_reasoning", "1.png") != keys[0]
    result = scorer.score(ROWS, REPLIES, OFFICIAL)
    assert scorer.aggregate(ROWS, result.per_sample, OFFICIAL) == (result.metrics, result.breakdown)


def test_mme_counts_images_without_two_questions() -> None:
    result = get_scorer("mme").score(ROWS[:3], REPLIES[:3], OFFICIAL)
    assert result.info["images_without_two_questions"] == 1
    assert result.metrics["perception"] == pytest.approx(100.0 + 100.0)  # 3/3 right, both images all right


def test_mme_rejects_unknown_modes_and_bad_truths() -> None:
    scorer = get_scorer("mme")
    with pytest.raises(ValueError, match="lenient"):
        scorer.score(ROWS, REPLIES, ScoringContext(mode="lenient"))
    with pytest.raises(ValueError, match="yes/no"):
        scorer.score([{"question_id": "x", "category": "OCR", "answer": "maybe"}], ["yes"], OFFICIAL)
    assert scorer.score([], [], OFFICIAL).metrics == {"perception": 0.0, "cognition": 0.0}
