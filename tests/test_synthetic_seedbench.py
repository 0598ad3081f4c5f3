"""shapes_seedbench: SEED-Bench's row schema from the shapes scenes, scored by the SEED-Bench scorer."""

from __future__ import annotations

from collections import Counter

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.synthetic import generate_rows
from evalkit.synthetic.seedbench import DIMENSION_ITEMS

SEED_COLUMNS = {"answer", "choice_a", "choice_b", "choice_c", "choice_d", "data_id", "data_type", "question",
                "question_id", "question_type_id", "image", "segment"}  # fmt: skip


def _fields(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "image"} for row in rows]


def test_rows_have_seedbench_columns_one_image_and_one_true_option() -> None:
    rows = generate_rows("shapes_seedbench", n=21, seed=0)
    assert len(rows) == 21
    for row in rows:
        assert set(row) == SEED_COLUMNS and row["data_type"] == "image"
        assert len(row["image"]) == 1 and row["image"][0].mode == "RGB"
        options = [row[f"choice_{c}"] for c in "abcd"]
        assert len(set(options)) == 4 and row["answer"] in "ABCD"
    # the dimension cycles through the seven the shapes world can pose: 3 questions each
    assert Counter(row["question_type_id"] for row in rows) == {d: 3 for d in DIMENSION_ITEMS}


def test_rows_are_deterministic_in_seed_and_differ_across_seeds() -> None:
    first, again = (
        generate_rows("shapes_seedbench", n=7, seed=3),
        generate_rows("shapes_seedbench", n=7, seed=3),
    )
    assert _fields(first) == _fields(again)
    assert [r["image"][0].tobytes() for r in first] == [r["image"][0].tobytes() for r in again]
    assert _fields(first) != _fields(generate_rows("shapes_seedbench", n=7, seed=4))


def test_seedbench_scorer_on_the_twin_rewards_the_right_letters_only() -> None:
    rows = _fields(generate_rows("shapes_seedbench", n=28, seed=0))
    scorer = get_scorer("seedbench")
    perfect = scorer.score(rows, [row["answer"] for row in rows], ScoringContext())
    assert perfect.metrics == {"accuracy": 100.0} and len(perfect.breakdown) == len(DIMENSION_ITEMS)
    shifted = {"A": "B", "B": "C", "C": "D", "D": "A"}
    wrong = scorer.score(rows, [f"{shifted[row['answer']]}." for row in rows], ScoringContext(mode="robust"))
    assert wrong.metrics == {"accuracy": 0.0}
