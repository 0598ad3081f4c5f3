"""shapes_docvqa: rendered forms and bar charts in lmms-lab/DocVQA's row schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.synthetic import ROWS_PER_SCENE, generate_rows
from evalkit.synthetic.documents import render_chart, render_form

DOCVQA_COLUMNS = {"questionId", "question", "question_types", "image", "docId", "ucsf_document_id",
                  "ucsf_document_page_no", "answers", "data_split"}  # fmt: skip


def fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "image"} for row in rows]


def test_rows_have_docvqa_columns_and_two_questions_per_document() -> None:
    rows = generate_rows("shapes_docvqa", n=20, seed=0)
    assert len(rows) == 20 * ROWS_PER_SCENE["shapes_docvqa"] == 40
    for row in rows:
        assert set(row) == DOCVQA_COLUMNS
        assert row["image"].mode == "RGB" and row["image"].size == (96, 96)
        assert row["answers"] and all(isinstance(a, str) and a for a in row["answers"])
    assert len({row["questionId"] for row in rows}) == 40
    assert {t for row in rows for t in row["question_types"]} == {"form", "figure/diagram"}


def test_documents_are_deterministic_and_eval_never_repeats_train() -> None:
    again = generate_rows("shapes_docvqa", n=10, seed=3)
    first = generate_rows("shapes_docvqa", n=10, seed=3)
    assert fields(again) == fields(first)
    assert all(a["image"].tobytes() == b["image"].tobytes() for a, b in zip(again, first))
    assert fields(generate_rows("shapes_docvqa", n=4, seed=3)) == fields(first)[:8]  # document i is fixed
    train = {row["image"].tobytes() for row in generate_rows("shapes_docvqa", n=10, seed=3, split="train")}
    assert not train & {row["image"].tobytes() for row in first}


def test_a_larger_page_is_the_small_one_enlarged_with_sharp_pixels() -> None:
    small = render_form("MEMO", [("NAME", "ROSE", ["ROSE"])], 96)
    large = render_form("MEMO", [("NAME", "ROSE", ["ROSE"])], 192)
    assert large.size == (192, 192)
    assert np.array_equal(np.asarray(large)[::2, ::2], np.asarray(small))
    assert render_chart("SALES", [("JAN", 10), ("FEB", 99), ("MAR", 50)], "red", 160).size == (160, 160)
    with pytest.raises(ValueError, match="image_size >= 96"):
        generate_rows("shapes_docvqa", n=1, seed=0, image_size=64)


def test_chart_answers_agree_with_the_drawn_values() -> None:
    rows = [
        r for r in generate_rows("shapes_docvqa", n=30, seed=0) if r["question_types"] == ["figure/diagram"]
    ]
    assert rows
    for value_row, tallest_row in zip(rows[::2], rows[1::2]):
        assert value_row["question"].startswith("What is the value of the")
        assert 10 <= int(value_row["answers"][0]) <= 99
        assert tallest_row["question"] == "Which bar is the tallest?"


def test_ground_truth_replies_score_full_anls_in_both_modes() -> None:
    rows = fields(generate_rows("shapes_docvqa", n=20, seed=1))
    for mode in ("official", "robust"):
        result = get_scorer("anls").score(rows, [r["answers"][0] for r in rows], ScoringContext(mode=mode))
        assert result.metrics["anls"] == pytest.approx(100.0)
