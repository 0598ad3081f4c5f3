"""Training data for the built-in model: dense labels, stages, eval-identical prompts."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from evalkit.synthetic import generate_rows
from evalkit.synthetic.scene import (
    COLOR_NAMES,
    LABEL_LETTERS,
    SHAPES,
    SIZE_NAMES,
    SceneConfig,
    render_scene,
    sample_scene,
)
from evalkit.synthetic.training import (
    NUM_COLOR_IDS,
    NUM_LETTER_IDS,
    NUM_SHAPE_IDS,
    NUM_SIZE_IDS,
    SFT_TASKS,
    dense_labels,
    grounding_answer,
    iter_training_examples,
    option_text_reply,
    target_text,
    training_text_corpus,
)


def take(stage: str, k: int, seed: int = 0, image_size: int = 64) -> list[Any]:
    return list(itertools.islice(iter_training_examples(stage, seed=seed, image_size=image_size), k))


def test_vocabulary_sizes_count_background_as_id_zero() -> None:
    assert (NUM_SHAPE_IDS, NUM_COLOR_IDS, NUM_SIZE_IDS, NUM_LETTER_IDS) == (
        len(SHAPES) + 1,
        len(COLOR_NAMES) + 1,
        len(SIZE_NAMES) + 1,
        len(LABEL_LETTERS) + 1,
    )


@pytest.mark.parametrize("seed", range(6))
def test_dense_labels_agree_with_the_object_map_and_scene(seed: int) -> None:
    config = SceneConfig(max_overlap=0.25, max_objects=7, label_prob=0.6)
    rendered = render_scene(sample_scene(np.random.default_rng(seed), config), 64)
    dense = dense_labels(rendered)
    background = rendered.object_map == -1
    assert (dense.letter[background] == 0).all()
    for labels in (dense.shape, dense.color, dense.size):
        assert (
            labels.shape == (64, 64) and (labels[background] == 0).all() and (labels[~background] > 0).all()
        )
    for i, obj in enumerate(rendered.scene.objects):
        mine = rendered.object_map == i
        assert (dense.shape[mine] == SHAPES.index(obj.shape) + 1).all()
        assert (dense.color[mine] == COLOR_NAMES.index(obj.color) + 1).all()
        assert (dense.size[mine] == SIZE_NAMES.index(obj.size) + 1).all()
        assert (dense.letter[mine] == (LABEL_LETTERS.index(obj.label) + 1 if obj.label else 0)).all()
    assert np.array_equal(dense.instance, rendered.object_map)


def test_vision_stage_gives_dense_labels_and_no_text() -> None:
    for example in take("vision", 4):
        assert example.turns == () and example.dense is not None
        assert example.image.size == (64, 64) and example.dense.shape.shape == (64, 64)
        assert int(example.dense.shape.max()) < NUM_SHAPE_IDS


def test_vision_label_prob_sets_how_often_eligible_shapes_bear_a_letter() -> None:
    def letters(**kw: Any) -> int:
        stream = iter_training_examples("vision", seed=3, image_size=64, **kw)
        return sum(int((ex.dense.letter > 0).any()) for ex in itertools.islice(stream, 60))

    assert letters(label_prob=0.0) == 0
    default, every = letters(), letters(label_prob=1.0)
    assert 0 < default < every
    with pytest.raises(ValueError, match="label_prob"):
        iter_training_examples("vision", seed=0, image_size=64, label_prob=1.5)


def test_align_stage_pairs_the_caption_prompt_with_a_reference() -> None:
    for example in take("align", 3):
        ((prompt, reply),) = example.turns
        assert prompt == generate_rows_prompt("shapes_caption")
        assert reply.endswith(".") and len(reply.split()) >= 4


def generate_rows_prompt(task: str) -> str:
    """The eval pipeline's prompt for the first eval row of ``task``."""
    from evalkit.pipeline import prepare_sample
    from evalkit.registry import default_registry

    row = generate_rows(task, n=1, seed=0)[0]
    return prepare_sample(default_registry().get(task), 0, row, None).prompt


def test_stages_are_deterministic_and_seeds_differ() -> None:
    for stage in ("vision", "align"):
        first, again, other = take(stage, 3), take(stage, 3), take(stage, 3, seed=1)
        assert [e.image.tobytes() for e in first] == [e.image.tobytes() for e in again]
        assert [e.turns for e in first] == [e.turns for e in again]
        assert [e.image.tobytes() for e in first] != [e.image.tobytes() for e in other]


def test_unknown_stage_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown training stage 'pretrain'"):
        iter_training_examples("pretrain", seed=0, image_size=64)


@pytest.mark.parametrize(
    ("bbox", "width", "height", "expected"),
    [
        ([10, 20, 30, 40], 100, 200, "<box>(100,100),(400,300)</box>"),
        ([0, 0, 64, 64], 64, 64, "<box>(0,0),(1000,1000)</box>"),
        ([33.0, 17.0, 12.0, 9.0], 96, 96, "<box>(344,177),(469,271)</box>"),
    ],
)
def test_grounding_answers_use_the_0_1000_grid(
    bbox: list[float], width: int, height: int, expected: str
) -> None:
    assert grounding_answer(bbox, width, height) == expected


@pytest.fixture(scope="module")
def sft_examples() -> list[Any]:
    return take("sft", 2 * len(SFT_TASKS))


def test_sft_cycles_through_every_task(sft_examples: list[Any]) -> None:
    assert [e.task for e in sft_examples] == list(SFT_TASKS) * 2
    assert all(1 <= len(e.turns) <= 3 and e.dense is None for e in sft_examples)


def test_sft_task_mix_and_turns_are_chosen_by_the_caller() -> None:
    stream = iter_training_examples("sft", seed=0, image_size=64, tasks=("shapes_pope", "shapes_caption"),
                                    max_turns=5)  # fmt: skip
    chosen = list(itertools.islice(stream, 6))
    assert [e.task for e in chosen] == ["shapes_pope", "shapes_caption"] * 3
    pope = [len(e.turns) for e in chosen if e.task == "shapes_pope"]
    assert max(pope) > 3 and max(pope) <= 5  # more than the default three, never more than asked
    one = itertools.islice(iter_training_examples("sft", seed=0, image_size=64, max_turns=1), len(SFT_TASKS))
    assert all(len(e.turns) == 1 for e in one)


def test_mmbench_text_replies_are_the_true_option_unless_read_as_another_letter() -> None:
    row = {"answer": "C", "A": "red", "B": "blue", "C": "green", "D": "purple"}
    rng = np.random.default_rng(0)
    assert target_text("shapes_mmbench", row, rng) == "C"
    assert target_text("shapes_mmbench", row, rng, choice_reply="text") == "green"
    assert target_text("shapes_mmmu", {"answer": "B"}, rng, choice_reply="text") == "B"  # MMBench only
    # an OCR option that is itself a lone capital would be read as that letter: keep the letter
    assert option_text_reply({"answer": "B", "A": "K", "B": "D", "C": "M", "D": "S"}) == "B"
    assert option_text_reply({"answer": "A", "A": "K", "B": "D", "C": "M", "D": "S"}) == "K"
    assert option_text_reply({"answer": "D", "A": "K", "B": "D", "C": "M", "D": "Z"}) == "D"  # Z: refusal
    # a true option inside another option's text is ambiguous for can_infer_text: keep the letter
    assert option_text_reply({"answer": "B", "A": "1", "B": "11", "C": "2", "D": "3"}) == "B"
    assert option_text_reply({"answer": "A", "A": "1", "B": "11", "C": "2", "D": "3"}) == "1"


@pytest.mark.parametrize("mode", ["official", "robust"])
def test_ref_and_padded_box_replies_score_like_the_bare_box(mode: str) -> None:
    from evalkit.scoring.base import ScoringContext, get_scorer

    row = {"answer": ["the small red circle", "the circle"], "bbox": [6.0, 20.0, 30.0, 40.0],
           "image_width": 96, "image_height": 96}  # fmt: skip
    rng = np.random.default_rng(0)
    bare = target_text("shapes_refcoco", row, rng)
    ref = target_text("shapes_refcoco", row, rng, box_reply="ref")
    padded = target_text("shapes_refcoco", row, rng, box_reply="padded")
    assert bare == "<box>(62,208),(375,625)</box>"
    assert ref == f"<ref>the small red circle</ref>{bare}"  # the expression the prompt asks for
    assert padded == "<box>(062,208),(375,625)</box>"  # the first digit is always the hundreds
    scored = get_scorer("grounding").score([row] * 3, [bare, ref, padded], ScoringContext(mode)).per_sample
    assert scored[0] == scored[1] == scored[2] and scored[0]["hit"] is True and scored[0]["iou"] > 0.97


def test_padded_coordinates_have_three_digits_up_to_999() -> None:
    assert grounding_answer([0.0, 0.0, 96.0, 9.0], 96, 96, padded=True) == "<box>(000,000),(999,094)</box>"
    assert grounding_answer([0.0, 0.0, 96.0, 9.0], 96, 96) == "<box>(0,0),(1000,94)</box>"


def test_sft_grounding_turns_follow_box_reply() -> None:
    import re

    def stream(**reply: str) -> list[Any]:
        mix = {"tasks": ("shapes_refcoco", "box_drill"), "max_turns": 3}
        return list(itertools.islice(iter_training_examples("sft", seed=0, image_size=64, **mix, **reply), 6))

    bare, ref, padded = stream(), stream(box_reply="ref"), stream(box_reply="padded")
    for b, r, p in zip(bare, ref, padded, strict=True):
        assert [u for u, _ in b.turns] == [u for u, _ in r.turns] == [u for u, _ in p.turns]  # same questions
        for (user, box), (_, reply), (_, three) in zip(b.turns, r.turns, p.turns, strict=True):
            expression = user.split("<ref>")[1].split("</ref>")[0]
            assert box.startswith("<box>") and reply == f"<ref>{expression}</ref>{box}"
            assert re.fullmatch(r"<box>\(\d{3},\d{3}\),\(\d{3},\d{3}\)</box>", three)
            assert re.findall(r"\d+", three) == [f"{min(int(v), 999):03d}" for v in re.findall(r"\d+", box)]


def test_sft_mmbench_turns_follow_choice_reply() -> None:
    mix = {"tasks": ("shapes_mmbench", "choice_drill"), "max_turns": 1}
    letters = list(itertools.islice(iter_training_examples("sft", seed=0, image_size=64, **mix), 6))
    texts = list(
        itertools.islice(iter_training_examples("sft", seed=0, image_size=64, choice_reply="text", **mix), 6)
    )
    assert [e.turns[0][0] for e in letters] == [e.turns[0][0] for e in texts]  # same prompts
    assert all(reply in "ABCD" for e in letters for _, reply in e.turns)
    assert sum(reply not in "ABCD" for e in texts for _, reply in e.turns) >= 6


@pytest.mark.parametrize(("kwargs", "message"), [({"tasks": ("shapes_nope",)}, "unknown sft task"),
                                                 ({"tasks": ()}, "none given"),
                                                 ({"max_turns": 0}, "max_turns must be >= 1"),
                                                 ({"choice_reply": "word"}, "choice_reply must be"),
                                                 ({"box_reply": "xyxy"}, "box_reply must be")])  # fmt: skip
def test_bad_sft_mix_is_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next(iter_training_examples("sft", seed=0, image_size=64, **kwargs))


def test_sft_prompts_are_the_eval_prompts(sft_examples: list[Any]) -> None:
    import importlib

    endings = {
        "shapes_mme": "\nAnswer the question using a single word or phrase.",
        "shapes_pope": "\nAnswer the question using a single word or phrase.",
        "shapes_vqa": "\nAnswer the question using a single word or phrase.",
        "shapes_mmbench": "\n\n" + importlib.import_module("tasks.mmbench").INSTRUCTION,
    }
    for example in sft_examples:
        for prompt, _ in example.turns:
            if example.task in endings:
                assert prompt.endswith(endings[example.task])
            if example.task == "shapes_mmmu":
                assert prompt.startswith("<image 1> ")
            if example.task == "shapes_caption":
                assert prompt == generate_rows_prompt("shapes_caption")


def test_sft_replies_are_what_the_scorers_accept(sft_examples: list[Any]) -> None:
    allowed = {
        "shapes_mme": lambda r: r in ("Yes", "No"),
        "shapes_pope": lambda r: r in ("yes", "no"),
        "shapes_mmbench": lambda r: r in ("A", "B", "C", "D"),
        "shapes_mmmu": lambda r: r in ("A", "B", "C", "D") or r.isdigit(),
        "shapes_vqa": lambda r: bool(r) and r == r.lower(),
        "shapes_refcoco": lambda r: r.startswith("<box>(") and r.endswith(")</box>"),
        "shapes_caption": lambda r: r.endswith("."),
    }
    for example in sft_examples:
        assert all(allowed[example.task](reply) for _, reply in example.turns), example.turns


def test_sft_scenes_never_come_from_the_eval_stream(sft_examples: list[Any]) -> None:
    eval_pixels = {row["image"].tobytes() for row in generate_rows("shapes_mme", n=40, seed=0, image_size=64)}
    assert not eval_pixels & {e.image.tobytes() for e in sft_examples}


def test_text_corpus_is_deterministic_and_mixes_instructions_and_captions() -> None:
    corpus = training_text_corpus(30, seed=0)
    assert len(corpus) == 30 and corpus == training_text_corpus(30, seed=0)
    assert any("Answer the question using a single word or phrase." in t for t in corpus)
    assert any(t.startswith("Provide a one-sentence caption") for t in corpus)


def test_a_task_named_twice_is_weighted_twice_with_new_scenes() -> None:
    def stream(tasks: tuple[str, ...], k: int) -> list[Any]:
        return list(
            itertools.islice(
                iter_training_examples("sft", seed=0, image_size=64, tasks=tasks, max_turns=1), k
            )
        )

    weighted = stream(("shapes_vqa", "shapes_caption", "shapes_vqa"), 3 * 20)  # crosses a block boundary
    assert [e.task for e in weighted] == ["shapes_vqa", "shapes_caption", "shapes_vqa"] * 20
    vqa_images = [np.asarray(e.image).tobytes() for e in weighted if e.task == "shapes_vqa"]
    assert len(set(vqa_images)) == len(vqa_images) == 40  # every mention draws a new scene
    plain = stream(("shapes_vqa", "shapes_caption"), 2 * 20)
    same_stream = [e.turns for e in weighted if e.task == "shapes_caption"]
    assert same_stream == [e.turns for e in plain if e.task == "shapes_caption"]  # other tasks unaffected
