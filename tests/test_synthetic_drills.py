"""Training drills: several independent, truthful questions about one image."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import numpy as np
import pytest

from evalkit.synthetic.drills import (
    DRILL_TURNS,
    REFERENT_KEY,
    box_drill,
    choice_drill,
    choice_hint_drill,
    letter_drill,
    yesno_drill,
)
from evalkit.synthetic.language import referring_expressions
from evalkit.synthetic.scene import SceneConfig, render_scene, sample_scene
from evalkit.synthetic.training import iter_training_examples

EXISTS = re.compile(r"Is there an? (\w+ \w+) in (the|this) image\?")


def drilled(drill: Any, n: int) -> list[tuple[Any, list[tuple[str, dict[str, Any]]]]]:
    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        scene = render_scene(sample_scene(rng), 64)
        result = drill(scene, rng)
        if result is not None:
            out.append((scene, result))
    return out


@pytest.fixture(scope="module")
def yesno() -> list[Any]:
    return drilled(yesno_drill, 300)


@pytest.fixture(scope="module")
def choice() -> list[Any]:
    return drilled(choice_drill, 200)


def test_yesno_existence_answers_are_true_balanced_and_use_hard_negatives(yesno: list[Any]) -> None:
    answers: Counter[bool] = Counter()
    hard = 0
    for scene, pairs in yesno:
        present = {o.name for o in scene.scene.objects}
        for task, row in pairs:
            match = EXISTS.fullmatch(row["question"])
            if match is None:
                continue
            cls = match.group(1)
            said_yes = row["answer"] in ("yes", "Yes")
            assert said_yes == (cls in present), row["question"]
            assert row["answer"] in (("yes", "no") if task == "shapes_pope" else ("Yes", "No"))
            answers[said_yes] += 1
            colour, shape = cls.split()
            hard += not said_yes and any(colour == o.color or shape == o.shape for o in scene.scene.objects)
    total = answers[True] + answers[False]
    assert total > 300 and 0.35 < answers[True] / total < 0.65
    assert hard > 0.3 * answers[False]  # absent classes often share a colour or a shape with the image


def test_yesno_drill_mixes_pope_and_mme_subtasks_without_repeats(yesno: list[Any]) -> None:
    categories = Counter(
        row.get("category") for _, pairs in yesno for task, row in pairs if task == "shapes_mme"
    )
    assert set(categories) == {"existence", "count", "position", "color", "numerical_calculation"}
    mme_yes = Counter(row["answer"] for _, pairs in yesno for task, row in pairs if task == "shapes_mme")
    assert 0.35 < mme_yes["Yes"] / (mme_yes["Yes"] + mme_yes["No"]) < 0.65
    for _, pairs in yesno:
        questions = [row["question"] for _, row in pairs]
        assert 1 <= len(pairs) <= DRILL_TURNS["yesno_drill"] and len(set(questions)) == len(questions)


def test_choice_drill_letters_are_uniform_and_options_true(choice: list[Any]) -> None:
    letters: Counter[str] = Counter()
    colour_questions = 0
    for scene, pairs in choice:
        assert 1 <= len(pairs) <= DRILL_TURNS["choice_drill"]
        assert len({row["category"] for _, row in pairs}) == len(pairs)  # one question per category
        for task, row in pairs:
            assert task == "shapes_mmbench" and row["answer"] in "ABCD"
            letters[row["answer"]] += 1
            match = re.fullmatch(r"What color is the (\w+)\?", row["question"])
            if match:
                (obj,) = [o for o in scene.scene.objects if o.shape == match.group(1)]
                assert row[row["answer"]] == obj.color
                colour_questions += 1
    assert colour_questions > 20
    assert min(letters.values()) > 0.15 * sum(letters.values())


def test_choice_hint_drill_states_the_true_option_in_the_prompt() -> None:
    stream = iter_training_examples("sft", seed=0, image_size=64, tasks=("choice_hint_drill",), max_turns=1)
    letters: Counter[str] = Counter()
    for e in itertools.islice(stream, 60):
        for prompt, answer in e.turns:
            letters[answer] += 1
            stated = re.match(r"The answer is ([\w ]+)\. ", prompt)
            assert stated, prompt
            (line,) = [x for x in prompt.splitlines() if x[:3] == f"{answer}. "]
            assert line[3:] == stated.group(1)  # the hint names the option the target letter holds
            assert prompt.endswith("Answer with the option's letter from the given choices directly.")
    assert sorted(letters) == list("ABCD") and min(letters.values()) > 0.15 * sum(letters.values())
    # the same scenes and questions as choice_drill, only the hint differs
    for (_, hinted), (_, plain) in zip(
        drilled(choice_hint_drill, 30), drilled(choice_drill, 30), strict=True
    ):
        assert [{**r, "hint": None} for _, r in hinted] == [{**r, "hint": None} for _, r in plain]


def test_letter_drill_asks_the_letters_actually_drawn_in_both_wordings() -> None:
    kinds: Counter[str] = Counter()
    for scene, pairs in drilled(letter_drill, 1000):
        assert 1 <= len(pairs) <= DRILL_TURNS["letter_drill"]
        asked = [
            re.fullmatch(r"What letter is written on the (\w+ \w+)\?", row["question"]) for _, row in pairs
        ]
        assert all(asked) and len({m.group(1) for m in asked if m}) == len(pairs)  # different objects
        for (task, row), match in zip(pairs, asked, strict=True):
            assert match is not None
            (obj,) = [o for o in scene.scene.objects if o.name == match.group(1)]
            assert obj.label
            kinds[task] += 1
            (index,) = [i for i, o in enumerate(scene.scene.objects) if o.name == match.group(1)]
            assert np.array_equal(row[REFERENT_KEY], scene.object_map == index)
            if task == "shapes_mmbench":
                assert row[row["answer"]] == obj.label and row["category"] == "ocr"
            else:
                assert task == "shapes_vqa" and row["multiple_choice_answer"] == obj.label.lower()
    assert min(kinds.values()) > 0.3 * sum(kinds.values())
    unlabelled = SceneConfig(label_prob=0.0)
    rng = np.random.default_rng(0)
    assert letter_drill(render_scene(sample_scene(rng, unlabelled), 64), rng) is None


def test_box_drill_grounds_different_objects_by_unambiguous_expressions() -> None:
    several = 0
    for scene, pairs in drilled(box_drill, 150):
        assert 1 <= len(pairs) <= DRILL_TURNS["box_drill"]
        boxes = [row["bbox"] for _, row in pairs]
        assert len({tuple(b) for b in boxes}) == len(boxes)  # different objects
        several += len(pairs) > 1
        for task, row in pairs:
            assert task == "shapes_refcoco" and row["image_width"] == row["image_height"] == scene.size
            (i,) = [i for i in range(len(scene.scene.objects)) if scene.xywh(i) == row["bbox"]]
            assert row["answer"][0] in referring_expressions(scene, i)
            assert np.array_equal(row[REFERENT_KEY], scene.object_map == i)  # the named object's pixels
    assert several > 50


def test_referent_masks_reach_the_training_examples_of_the_drills_only() -> None:
    mix = {"tasks": ("box_drill", "letter_drill", "shapes_refcoco", "yesno_drill"), "max_turns": 1}
    examples = list(itertools.islice(iter_training_examples("sft", seed=0, image_size=64, **mix), 16))
    for e in examples:
        if e.task in ("box_drill", "letter_drill"):
            assert len(e.referents) == len(e.turns)
            assert all(m is not None and m.shape == (64, 64) and m.any() for m in e.referents)
        else:
            assert e.referents == ()


def test_drills_join_the_sft_mix_with_eval_prompts() -> None:
    stream = iter_training_examples(
        "sft", seed=0, image_size=64, tasks=("yesno_drill", "choice_drill"), max_turns=1
    )
    examples = list(itertools.islice(stream, 6))
    assert [e.task for e in examples] == ["yesno_drill", "choice_drill"] * 3
    for e in examples:
        assert 1 <= len(e.turns) <= DRILL_TURNS[e.task]
        for prompt, answer in e.turns:
            if e.task == "choice_drill":
                assert "Answer with the option's letter" in prompt and answer in "ABCD"
            else:
                assert prompt.endswith("Answer the question using a single word or phrase.")
                assert answer in ("yes", "no", "Yes", "No")
    # max_turns bounds the eval tasks' examples only
    assert max(len(e.turns) for e in examples if e.task == "yesno_drill") > 1


def test_unknown_sft_task_error_names_the_drills() -> None:
    with pytest.raises(ValueError, match="yesno_drill, choice_drill"):
        next(iter_training_examples("sft", seed=0, image_size=64, tasks=("shapes_nope",)))
