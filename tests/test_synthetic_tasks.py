"""The shapes suite rows: official schemas, exact ground truth, and the official scorers on them."""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.synthetic import ROWS_PER_SCENE, generate_rows, task_names
from evalkit.synthetic.choice import rotate
from evalkit.synthetic.scene import SIZES, Scene, ShapeObject, render_scene
from evalkit.synthetic.yesno import MME_BUILDERS, pope_rows

OFFICIAL_COLUMNS = {
    "shapes_mme": {"question_id", "question", "answer", "category", "image"},
    "shapes_pope": {"id", "question_id", "question", "answer", "image_source", "category", "image"},
    "shapes_mmbench": {"index", "question", "hint", "A", "B", "C", "D", "answer", "category", "L2-category", "image"},
    "shapes_mmmu": {"id", "question", "options", "answer", "question_type", "image_1", "image_7"},
    "shapes_vqa": {"question_id", "question", "answers", "multiple_choice_answer", "answer_type", "question_type",
                   "image"},
    "shapes_refcoco": {"question_id", "answer", "bbox", "image_width", "image_height", "image"},
    "shapes_caption": {"example_id", "references", "description", "image"},
}  # fmt: skip


@functools.cache
def rows_of(name: str, n: int = 30, seed: int = 0, split: str = "eval") -> list[dict[str, Any]]:
    return generate_rows(name, n=n, seed=seed, split=split)


def fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a scorer sees them: images left out."""
    return [{k: v for k, v in row.items() if not re.fullmatch(r"image(_\d+)?", k)} for row in rows]


def _scene(*objects: tuple[str, str, str, float, float]) -> Any:
    return render_scene(Scene(tuple(ShapeObject(s, c, z, x, y, SIZES[z]) for s, c, z, x, y in objects)), 96)


def test_task_names_cover_every_family_with_a_twin() -> None:
    assert task_names() == [
        "shapes_caption", "shapes_docvqa", "shapes_gqa", "shapes_mmbench", "shapes_mme", "shapes_mmmu",
        "shapes_pope", "shapes_refcoco", "shapes_seedbench", "shapes_vqa",
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(OFFICIAL_COLUMNS))
def test_rows_have_the_official_columns_and_rgb_images(name: str) -> None:
    rows = rows_of(name)
    assert len(rows) == 30 * ROWS_PER_SCENE[name]
    image_key = "image_1" if name == "shapes_mmmu" else "image"
    for row in rows:
        assert OFFICIAL_COLUMNS[name] <= set(row)
        assert row[image_key].mode == "RGB" and row[image_key].size == (96, 96)


@pytest.mark.parametrize("name", sorted(OFFICIAL_COLUMNS))
def test_rows_are_deterministic_and_eval_never_shares_scenes_with_train(name: str) -> None:
    key = "image_1" if name == "shapes_mmmu" else "image"
    again = generate_rows(name, n=30, seed=0)
    assert fields(again) == fields(rows_of(name))
    assert all(a[key].tobytes() == b[key].tobytes() for a, b in zip(again, rows_of(name)))
    train_pixels = {row[key].tobytes() for row in rows_of(name, split="train")}
    assert not train_pixels & {row[key].tobytes() for row in rows_of(name)}
    other_seed = {row[key].tobytes() for row in rows_of(name, seed=1)}
    assert not other_seed & {row[key].tobytes() for row in rows_of(name)}


def test_scene_i_does_not_depend_on_how_many_scenes_are_asked_for() -> None:
    assert (
        fields(generate_rows("shapes_vqa", n=5, seed=3))
        == fields(generate_rows("shapes_vqa", n=8, seed=3))[:15]
    )


def test_unknown_task_and_split_are_rejected() -> None:
    with pytest.raises(KeyError, match="shapes_pop"):
        generate_rows("shapes_pop", n=1, seed=0)
    with pytest.raises(ValueError, match="unknown split 'test'"):
        generate_rows("shapes_mme", n=1, seed=0, split="test")


def test_mme_images_have_one_yes_and_one_no_question() -> None:
    by_image = defaultdict(list)
    for row in rows_of("shapes_mme"):
        by_image[row["question_id"]].append(row)
    assert len(by_image) == 30
    for pair in by_image.values():
        assert sorted(r["answer"] for r in pair) == ["No", "Yes"]
        assert len({r["category"] for r in pair}) == 1 and pair[0]["question"] != pair[1]["question"]
        assert not pair[0]["question"].endswith("Please answer yes or no.")
    assert Counter(r["category"] for r in rows_of("shapes_mme")) == {
        "existence": 12, "count": 12, "position": 12, "color": 12, "numerical_calculation": 12,
    }  # fmt: skip


def test_mme_questions_state_the_truth_about_a_known_scene() -> None:
    scene = _scene(("circle", "red", "small", 0.2, 0.2), ("square", "blue", "small", 0.8, 0.25),
                   ("circle", "green", "large", 0.4, 0.75))  # fmt: skip
    rng = np.random.default_rng(0)
    true_q, false_q = MME_BUILDERS["count"](scene, rng)
    assert true_q in {"Are there exactly two circles in this image?", "Is there exactly one red shape in this image?",
                      "Is there exactly one blue shape in this image?", "Is there exactly one square in this image?",
                      "Is there exactly one green shape in this image?"}  # fmt: skip
    true_q, false_q = MME_BUILDERS["color"](scene, rng)
    assert true_q == "Is the square in this image blue?" and false_q != true_q
    true_q, false_q = MME_BUILDERS["position"](scene, rng)
    truths = {"Is the red circle to the left of the blue square?", "Is the blue square to the right of the red circle?",
              "Is the red circle above the green circle?", "Is the green circle below the red circle?",
              "Is the blue square above the green circle?", "Is the green circle below the blue square?"}  # fmt: skip
    assert true_q in truths and false_q not in truths
    true_q, false_q = MME_BUILDERS["numerical_calculation"](scene, rng)
    sums = {"circles": 2, "squares": 1}
    first, second, total = true_q.removeprefix("Is the number of ").removesuffix("?").replace(
        " plus the number of ", "|").replace(" equal to ", "|").split("|")  # fmt: skip
    assert sums.get(first, 0) + sums.get(second, 0) == int(total)


def test_pope_negatives_follow_pope_sampling_rules() -> None:
    # images containing: red circle 3, blue square 3, green star 2 (ties keep vocabulary order,
    # red before blue); the last image holds blue square + green star, and both co-occur most
    # with the other present one, then with red circle.
    scenes = [
        _scene(("circle", "red", "small", 0.2, 0.2), ("square", "blue", "small", 0.8, 0.2)),
        _scene(
            ("circle", "red", "small", 0.2, 0.2),
            ("square", "blue", "small", 0.8, 0.2),
            ("star", "green", "small", 0.5, 0.8),
        ),  # fmt: skip
        _scene(("circle", "red", "small", 0.2, 0.2)),
        _scene(("square", "blue", "small", 0.5, 0.5), ("star", "green", "small", 0.2, 0.8)),
    ]
    rows = pope_rows([(s, np.random.default_rng(i), i) for i, s in enumerate(scenes)])
    last = {(r["category"], r["answer"]): r["question"] for r in rows[3]}
    assert last[("popular", "no")] == "Is there a red circle in the image?"  # most frequent absent class
    assert last[("adversarial", "no")] == "Is there a red circle in the image?"  # co-occurs most, absent
    only_red = {(r["category"], r["answer"]): r["question"] for r in rows[2]}
    assert only_red[("random", "yes")] == "Is there a red circle in the image?"
    assert only_red[("random", "no")] in {
        "Is there a blue square in the image?",
        "Is there a green star in the image?",
    }
    assert len({r["question"] for r in rows[3] if r["answer"] == "yes"}) == 1  # one positive per image


def test_pope_adversarial_negative_follows_the_positive_not_the_global_frequency() -> None:
    # red circle is the most frequent class; the last image's only object, a blue square,
    # co-occurs (elsewhere) only with a black cross.
    scenes = [
        _scene(("circle", "red", "small", 0.2, 0.2), ("star", "green", "small", 0.8, 0.2)),
        _scene(("circle", "red", "small", 0.2, 0.2), ("cross", "black", "small", 0.8, 0.2)),
        _scene(("circle", "red", "small", 0.2, 0.2)),
        _scene(("square", "blue", "small", 0.2, 0.2), ("cross", "black", "small", 0.8, 0.2)),
        _scene(("square", "blue", "small", 0.5, 0.5)),
    ]
    rows = pope_rows([(s, np.random.default_rng(i), i) for i, s in enumerate(scenes)])
    last = {(r["category"], r["answer"]): r["question"] for r in rows[4]}
    assert last[("popular", "no")] == "Is there a red circle in the image?"
    assert last[("adversarial", "no")] == "Is there a black cross in the image?"


def test_pope_is_balanced_and_an_always_yes_model_scores_as_pope_defines() -> None:
    rows = rows_of("shapes_pope")
    assert Counter((r["category"], r["answer"]) for r in rows) == {
        (c, a): 30 for c in ("random", "popular", "adversarial") for a in ("yes", "no")
    }
    result = get_scorer("pope").score(fields(rows), ["Yes"] * len(rows), ScoringContext())
    share_yes = 100.0 * sum(r["answer"] == "yes" for r in rows) / len(rows)
    assert result.metrics["accuracy"] == pytest.approx(share_yes) == pytest.approx(50.0)
    assert result.metrics["precision"] == pytest.approx(share_yes)
    assert result.metrics["recall"] == pytest.approx(100.0)
    assert result.metrics["yes_ratio"] == pytest.approx(100.0)
    assert result.metrics["f1"] == pytest.approx(200 * 50 / 150)


def test_mmbench_rotations_keep_one_true_option_that_moves_with_the_letters() -> None:
    rows = rows_of("shapes_mmbench")
    groups = defaultdict(list)
    for row in rows:
        groups[row["index"] % 1_000_000].append(row)
    assert len(groups) == 30
    for index, copies in groups.items():
        assert sorted(r["index"] for r in copies) == [index + k * 1_000_000 for k in range(4)]
        truths = {r[r["answer"]] for r in copies}
        assert len(truths) == 1  # the same option is right in every copy
        assert sorted(r["answer"] for r in copies) == ["A", "B", "C", "D"]
        assert all(len({r[c] for c in "ABCD"}) == 4 for r in copies)


def test_rotate_shifts_options_and_answer_together() -> None:
    assert rotate(["w", "x", "y", "z"], 3, 1) == (["x", "y", "z", "w"], 2)
    assert rotate(["w", "x", "y", "z"], 0, 1) == (["x", "y", "z", "w"], 3)


def test_mmmu_rows_parse_like_mmmu() -> None:
    from evalkit.scoring.mmmu import subject_of

    for row in rows_of("shapes_mmmu"):
        assert row["question"].startswith("<image 1> ")
        options = ast.literal_eval(row["options"])
        if row["question_type"] == "multiple-choice":
            assert len(set(options)) == 4 and row["answer"] in "ABCD"
        else:
            assert options == [] and row["answer"].isdigit()
        assert subject_of(row["id"]) in {"Counting", "Color", "Spatial", "Arithmetic"}


def test_vqa_rows_have_ten_numbered_answers_with_surface_variants() -> None:
    from evalkit.scoring.vqa_normalize import AnswerNormalizer

    norm = AnswerNormalizer()
    rows = rows_of("shapes_vqa")
    assert Counter(r["answer_type"] for r in rows) == {"yes/no": 30, "number": 30, "other": 30}
    for row in rows:
        answers = row["answers"]
        assert [a["answer_id"] for a in answers] == list(range(1, 11))
        assert all(a["answer_confidence"] == "yes" for a in answers)
        raw = [a["answer"] for a in answers]
        assert raw.count(row["multiple_choice_answer"]) >= 6
        assert any(r != row["multiple_choice_answer"] for r in raw)  # variants: normalisation matters
        canonical = norm.full(row["multiple_choice_answer"])
        assert sum(norm.full(r) == canonical for r in raw) >= 9


def test_refcoco_boxes_lie_inside_the_image_and_cover_the_referent() -> None:
    for row in rows_of("shapes_refcoco"):
        x, y, w, h = row["bbox"]
        assert 0 <= x and 0 <= y and w > 0 and h > 0
        assert x + w <= row["image_width"] and y + h <= row["image_height"]
        assert 1 <= len(row["answer"]) <= 3 and row["answer"][0].startswith("the ")
        crop = np.asarray(row["image"])[int(y) : int(y + h), int(x) : int(x + w)]
        background = np.asarray(row["image"])[0, 0]
        assert (crop != background).any(axis=2).mean() > 0.3


def test_captions_have_three_different_references() -> None:
    for row in rows_of("shapes_caption"):
        assert len(set(row["references"])) == 3 and row["description"] == row["references"][0]


PERFECT_REPLY = {
    "shapes_mme": lambda r: r["answer"],
    "shapes_pope": lambda r: r["answer"],
    "shapes_mmbench": lambda r: r["answer"],
    "shapes_mmmu": lambda r: r["answer"],
    "shapes_vqa": lambda r: r["multiple_choice_answer"],
}
HEADLINE = {"shapes_mme": ("mme", "perception", 800.0), "shapes_pope": ("pope", "f1", 100.0),
            "shapes_mmbench": ("mmbench", "accuracy", 100.0), "shapes_mmmu": ("mmmu", "accuracy", 100.0),
            "shapes_vqa": ("vqav2", "accuracy", 100.0)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PERFECT_REPLY))
def test_the_official_scorer_gives_ground_truth_replies_full_marks(name: str) -> None:
    scorer, metric, best = HEADLINE[name]
    rows = fields(rows_of(name))
    result = get_scorer(scorer).score(rows, [PERFECT_REPLY[name](r) for r in rows], ScoringContext())
    assert result.metrics[metric] == pytest.approx(best)
    if name == "shapes_mme":
        assert result.metrics["cognition"] == pytest.approx(200.0)


def test_the_grounding_scorer_accepts_the_training_box_answer() -> None:
    from evalkit.synthetic.training import grounding_answer

    rows = fields(rows_of("shapes_refcoco"))
    replies = [grounding_answer(r["bbox"], r["image_width"], r["image_height"]) for r in rows]
    result = get_scorer("grounding").score(rows, replies, ScoringContext())
    assert result.metrics["acc@0.5"] == pytest.approx(100.0)
    assert result.metrics["miou"] > 90.0


def test_largest_shape_question_needs_the_largest_size_and_area() -> None:
    from evalkit.synthetic.choice import largest_item

    rng = np.random.default_rng(0)
    star_vs_square = _scene(("star", "red", "large", 0.25, 0.25), ("square", "blue", "medium", 0.75, 0.75))
    assert largest_item(star_vs_square, rng) is None  # the large star covers fewer pixels
    circle_vs_square = _scene(("circle", "red", "large", 0.25, 0.25), ("square", "blue", "small", 0.75, 0.75))
    question, truth, false_pool = largest_item(circle_vs_square, rng)
    assert truth == "red circle" and false_pool[0] == "blue square"


def test_the_caption_scorer_prefers_a_reference_wording_to_an_unrelated_caption() -> None:
    from evalkit.scoring.caption import CaptionScorer

    rows = fields(rows_of("shapes_caption"))
    scorer = CaptionScorer(backend="python")  # the Java backend takes ~30 s to start
    matching = scorer.score(rows, [r["references"][1] for r in rows], ScoringContext())
    unrelated = scorer.score(rows, ["A photo of a dog on a sofa."] * len(rows), ScoringContext())
    assert matching.metrics["bleu_4"] == pytest.approx(1.0)
    assert matching.metrics["cider"] > 1.0 > unrelated.metrics["cider"]
