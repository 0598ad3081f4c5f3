"""Open-answer suites in the official VQAv2, RefCOCO and DOCCI/COCO-caption row schemas.

shapes_vqa: three questions per image (one yes/no, one number, one "other"), each with ten
annotator answers that include surface variants ("two"/"2", "Red"/"red.", "a circle") so VQA
answer normalisation matters, and sometimes one dissenting annotator. Rows = 3n.

shapes_refcoco: one referent per image; ``answer`` lists only expressions that denote it and
nothing else; ``bbox`` is its pixel box [x, y, w, h]. Rows = n.

shapes_caption: three differently worded complete descriptions per image (``references``);
``description`` is the first, as DOCCI stores one. Rows = n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.synthetic.language import (
    caption_references,
    count_where,
    number_word,
    plural,
    referring_expressions,
    unique_indices,
    with_article,
)
from evalkit.synthetic.scene import COLOR_NAMES, LABEL_LETTERS, SHAPES, RenderedScene
from evalkit.synthetic.streams import pick, shuffled
from evalkit.synthetic.yesno import ALL_CLASSES

VqaItem = tuple[str, str, str, list[str], str]  # question, question_type, answer, variants, dissent


def _yes_no_item(scene: RenderedScene, rng: np.random.Generator) -> VqaItem:
    """ "Is there a <class>?" or "Are there any <shapes>?", true half of the time."""
    truth = bool(rng.random() < 0.5)
    if rng.random() < 0.5:
        present = sorted({o.name for o in scene.scene.objects})
        pool = present if truth else [c for c in ALL_CLASSES if c not in present]
        question, qtype = f"Is there {with_article(pick(rng, pool))}?", "is there a"
    else:
        present = sorted({o.shape for o in scene.scene.objects})
        pool = present if truth else [s for s in SHAPES if s not in present]
        question, qtype = f"Are there any {plural(pick(rng, pool))}?", "are there any"
    answer, dissent = ("yes", "no") if truth else ("no", "yes")
    return question, qtype, answer, [answer, answer.capitalize(), f"{answer}."], dissent


def _number_item(scene: RenderedScene, rng: np.random.Generator) -> VqaItem:
    """ "How many <shapes> are there?" or "How many <colour> shapes are there?"."""
    obj = pick(rng, list(scene.scene.objects))
    if rng.random() < 0.5:
        shape = obj.shape if rng.random() < 0.85 else pick(rng, list(SHAPES))
        question, n = f"How many {plural(shape)} are there?", count_where(scene, lambda o: o.shape == shape)
    else:
        question, n = (
            f"How many {obj.color} shapes are there?",
            count_where(scene, lambda o: o.color == obj.color),
        )
    answer = str(n)
    return question, "how many", answer, [answer, number_word(n), f"{answer}."], str(n + 1)


def _other_item(scene: RenderedScene, rng: np.random.Generator) -> VqaItem | None:
    """Colour of a unique shape, shape of a uniquely coloured object, or a letter on an object."""
    objs = scene.scene.objects
    items: list[tuple[str, str, str, list[str], list[str]]] = []  # ... plus the dissent pool
    for i in unique_indices(scene, lambda o: o.shape):
        c = objs[i].color
        variants = [c, c.capitalize(), f"{c}."]
        items.append(
            (f"What color is the {objs[i].shape}?", "what color is the", c, variants, list(COLOR_NAMES))
        )
    for i in unique_indices(scene, lambda o: o.color):
        s = objs[i].shape
        variants = [s, s.capitalize(), f"a {s}"]
        items.append(
            (f"What shape is the {objs[i].color} object?", "what shape is the", s, variants, list(SHAPES))
        )
    for i in unique_indices(scene, lambda o: o.name):
        if label := objs[i].label:
            t = label.lower()
            letters = [x.lower() for x in LABEL_LETTERS]
            items.append(
                (f"What letter is written on the {objs[i].name}?", "what", t, [t, label, f"{t}."], letters)
            )
    if not items:
        return None
    question, qtype, answer, variants, pool = pick(rng, items)
    return question, qtype, answer, variants, pick(rng, [x for x in pool if x != answer])


def ten_answers(
    rng: np.random.Generator, answer: str, variants: list[str], dissent: str
) -> list[dict[str, Any]]:
    """Ten VQA annotator answers: mostly ``answer``, 2-3 surface variants, sometimes one dissent."""
    n_variants = int(rng.integers(2, 4))
    pool = [answer] * (10 - n_variants) + [pick(rng, variants[1:]) for _ in range(n_variants)]
    if rng.random() < 0.2:
        pool[0] = dissent
    return [
        {"answer": a, "answer_id": k + 1, "answer_confidence": "yes"}
        for k, a in enumerate(shuffled(rng, pool))
    ]


ANSWER_TYPES = {"yes/no": _yes_no_item, "number": _number_item, "other": _other_item}


def vqa_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """Three VQA rows for image ``index``: one per answer type."""
    if not scene.scene.objects:
        return None
    rows = []
    for k, (answer_type, make) in enumerate(ANSWER_TYPES.items()):
        item = make(scene, rng)
        if item is None:
            return None
        question, qtype, answer, variants, dissent = item
        rows.append({
            "question_id": index * 1000 + k, "image_id": index, "question": question, "question_type": qtype,
            "answers": ten_answers(rng, answer, variants, dissent), "multiple_choice_answer": answer,
            "answer_type": answer_type, "image": scene.image,
        })  # fmt: skip
    return rows


def referable_objects(scene: RenderedScene) -> list[tuple[int, list[str]]]:
    """(object index, its unambiguous expressions) for every object that has at least one."""
    return [(i, exprs) for i in range(len(scene.scene.objects)) if (exprs := referring_expressions(scene, i))]


def refcoco_row(
    scene: RenderedScene, i: int, expressions: list[str], question_id: Any, file_name: str | None = None
) -> dict[str, Any]:
    """A RefCOCO row asking for object ``i`` of ``scene`` by ``expressions``."""
    row = {"question_id": question_id, "answer": expressions, "bbox": scene.xywh(i),
           "image_width": scene.size, "image_height": scene.size}  # fmt: skip
    if file_name is not None:
        row["file_name"] = file_name
    return {**row, "image": scene.image}


def refcoco_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """One RefCOCO row: a referent with at least one unambiguous expression (at most three kept)."""
    candidates = referable_objects(scene)
    if not candidates:
        return None
    i, expressions = pick(rng, candidates)
    return [refcoco_row(scene, i, expressions[:3], index, f"shapes_{index:05d}.png")]


def caption_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """One caption row with three references (``description`` is the first)."""
    if not scene.scene.objects:
        return None
    references = caption_references(scene)
    return [{"example_id": f"shapes_{index:05d}", "references": references, "description": references[0],
             "image": scene.image}]  # fmt: skip
