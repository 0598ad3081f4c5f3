"""shapes_gqa: GQA's joined schema, one question per structural type, answers true to the scene."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.synthetic import ROWS_PER_SCENE, generate_rows
from evalkit.synthetic.gqa import STRUCTURAL, gqa_rows, semantic_str
from evalkit.synthetic.scene import SIZES, Scene, ShapeObject, render_scene

GQA_COLUMNS = {"id", "imageId", "question", "answer", "fullAnswer", "isBalanced", "groups", "entailed",
               "equivalent", "types", "annotations", "semantic", "semanticStr", "image"}  # fmt: skip


def fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "image"} for row in rows]


def _scene(*objects: tuple[str, str, str, float, float]) -> Any:
    return render_scene(Scene(tuple(ShapeObject(s, c, z, x, y, SIZES[z]) for s, c, z, x, y in objects)), 96)


def test_rows_have_gqas_columns_and_five_structural_types_per_image() -> None:
    rows = generate_rows("shapes_gqa", n=20, seed=0)
    assert len(rows) == 20 * ROWS_PER_SCENE["shapes_gqa"] == 100
    assert all(GQA_COLUMNS <= set(row) and row["image"].size == (96, 96) for row in rows)
    assert len({row["id"] for row in rows}) == 100
    for k in range(20):
        scene_rows = rows[5 * k : 5 * k + 5]
        assert [r["types"]["structural"] for r in scene_rows] == list(STRUCTURAL)
        assert len({r["imageId"] for r in scene_rows}) == 1
    assert {r["types"]["semantic"] for r in rows} <= {"attr", "rel", "obj", "cat"}


def test_answers_are_single_lower_case_words_and_yes_no_is_roughly_balanced() -> None:
    rows = generate_rows("shapes_gqa", n=60, seed=1)
    assert all(row["answer"].isalpha() and row["answer"] == row["answer"].lower() for row in rows)
    binary = Counter(r["answer"] for r in rows if r["types"]["structural"] in ("verify", "logical"))
    assert set(binary) == {"yes", "no"} and 0.35 < binary["yes"] / sum(binary.values()) < 0.65


def test_rows_are_deterministic_and_eval_never_shares_scenes_with_train() -> None:
    rows = generate_rows("shapes_gqa", n=10, seed=0)
    again = generate_rows("shapes_gqa", n=10, seed=0)
    assert fields(again) == fields(rows)
    assert [r["image"].tobytes() for r in again] == [r["image"].tobytes() for r in rows]
    train = {r["image"].tobytes() for r in generate_rows("shapes_gqa", n=10, seed=0, split="train")}
    assert not train & {r["image"].tobytes() for r in rows}
    assert fields(generate_rows("shapes_gqa", n=6, seed=0)) == fields(rows)[:30]


def test_questions_are_true_to_a_known_scene() -> None:
    # a large red circle on the left, a small red square on the right, a blue star at the bottom
    scene = _scene(("circle", "red", "large", 0.2, 0.3), ("square", "red", "small", 0.8, 0.3),
                   ("star", "blue", "medium", 0.5, 0.85))  # fmt: skip
    answers: dict[str, set[str]] = {}
    for seed in range(40):
        rows = gqa_rows(scene, np.random.default_rng(seed), 0)
        assert rows is not None
        for row in rows:
            answers.setdefault(row["question"], set()).add(row["answer"])
    assert all(len(found) == 1 for found in answers.values())  # one question, one answer
    facts = {q: a.pop() for q, a in answers.items()}
    assert facts.get("What color is the circle?", "red") == "red"
    assert facts.get("Which is bigger, the circle or the square?", "circle") == "circle"
    assert facts.get("Are the circle and the square the same color?", "yes") == "yes"
    assert facts.get("Is the circle to the left of the square?", "yes") == "yes"
    assert facts.get("Are there both circles and stars?", "yes") == "yes"
    assert facts.get("What shape is blue?", "star") == "star"
    assert len(facts) > 10


def test_scenes_without_two_distinct_shapes_are_rejected() -> None:
    one = _scene(("circle", "red", "large", 0.5, 0.5))
    twins = _scene(("circle", "red", "large", 0.2, 0.5), ("circle", "blue", "small", 0.8, 0.5))
    assert gqa_rows(one, np.random.default_rng(0), 0) is None
    assert gqa_rows(twins, np.random.default_rng(0), 0) is None


def test_semantic_str_reads_like_gqas() -> None:
    program = [{"operation": "select", "argument": "circle", "dependencies": []},
               {"operation": "verify color", "argument": "red", "dependencies": [0]}]  # fmt: skip
    assert semantic_str(program) == "select: circle->verify color: red [0]"


@pytest.mark.parametrize("mode", ["official", "lmms-eval", "robust"])
def test_gqa_scorer_gives_the_gold_answers_full_marks(mode: str) -> None:
    rows = [{k: v for k, v in r.items() if k != "image"} for r in generate_rows("shapes_gqa", n=10, seed=2)]
    result = get_scorer("gqa").score(rows, [r["answer"] for r in rows], ScoringContext(mode=mode))
    assert result.metrics["accuracy"] == 100.0 and set(result.metrics) == {"accuracy", "binary", "open"}
