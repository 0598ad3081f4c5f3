"""Training-only "drills": several independent questions about one image, in eval row schemas.

The eval suites ask one question family per image and, asked as a conversation, their rows
leak answers through the text (POPE repeats the positive class three times, MME pairs one Yes
with one No), so a model can answer later turns without looking. A drill instead asks several
questions (:data:`DRILL_TURNS`) whose answers are drawn independently, which multiplies the
supervision per rendered image for the skills that are slowest to learn:

- ``yesno_drill``: existence questions in POPE's and MME's wording, each about a present class or
  an absent one by a fair coin; absent classes are hard negatives half of the time (sharing the
  colour or the shape of an object in the image), so colour and shape must be bound. Plus one
  MME question per MME subtask the scene allows, its true or false form by a fair coin.
- ``choice_drill``: one MMBench question per category the scene allows, options shuffled and a
  random circular copy, so the answer letter is uniform.
- ``choice_hint_drill``: the same questions with the hint stating the true option's text, so
  the option-to-letter step is learned with the answer in the prompt.
- ``box_drill``: grounding questions about up to three different objects of one image.
- ``letter_drill``: "What letter is written on the <class>?" about up to three labelled objects of
  one image, each as an MMBench OCR question (a random circular copy) or a VQA question by a fair
  coin; scenes without a uniquely named labelled object are redrawn. The letters are a few pixels
  tall, so reading them is learned slowly and is rare in the eval tasks' own mix.

Each drill yields ``(eval task, row)`` pairs; prompts and target replies come from the eval
tasks themselves (:mod:`evalkit.synthetic.training`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evalkit.synthetic.choice import MMBENCH_CATEGORIES, letter_item, mmbench_from_item, mmbench_question
from evalkit.synthetic.language import unique_indices, with_article
from evalkit.synthetic.openended import refcoco_row, referable_objects, ten_answers
from evalkit.synthetic.scene import RenderedScene
from evalkit.synthetic.streams import pick, shuffled
from evalkit.synthetic.yesno import ALL_CLASSES, MME_BUILDERS

DRILL_TURNS = {  # questions per image (MMBench prompts are ~2.5x longer than the others)
    "yesno_drill": 5,
    "choice_drill": 3,
    "choice_hint_drill": 3,
    "box_drill": 3,
    "letter_drill": 3,
}
Drilled = list[tuple[str, dict[str, Any]]]  # (eval task, row in that task's schema)
REFERENT_KEY = "_referent"  # a drill row's (H, W) bool mask of the object its question names


def _absent_class(present: set[str], asked: set[str], rng: np.random.Generator) -> str:
    """An absent colour-shape class not in ``asked``: half the time one sharing the colour or
    the shape of a present object (a hard negative), otherwise any absent class."""
    absent = [c for c in ALL_CLASSES if c not in present and c not in asked]
    if rng.random() < 0.5:
        colours = {c.split()[0] for c in present}
        shapes = {c.split()[1] for c in present}
        hard = [c for c in absent if c.split()[0] in colours or c.split()[1] in shapes]
        if hard:
            return pick(rng, hard)
    return pick(rng, absent)


def _yesno_row(
    task: str, question: str, yes: bool, category: str, scene: RenderedScene
) -> tuple[str, dict[str, Any]]:
    """A row of ``task`` (``shapes_pope``: lower-case answer; ``shapes_mme``: capitalised, MME's
    fields)."""
    if task == "shapes_pope":
        return task, {"question": question, "answer": "yes" if yes else "no", "image": scene.image}
    row = {
        "question_id": "drill",
        "question": question,
        "answer": "Yes" if yes else "No",
        "category": category,
    }
    return task, {**row, "image": scene.image}


def yesno_drill(scene: RenderedScene, rng: np.random.Generator) -> Drilled | None:
    """Existence questions (POPE or MME wording) plus one question per MME subtask, each answer
    an independent fair coin; None for an empty scene."""
    present = {o.name for o in scene.scene.objects}
    if not present:
        return None
    out: Drilled = []
    unused = shuffled(rng, sorted(present))
    asked: set[str] = set()
    for _ in range(3):
        cls = unused.pop() if unused and rng.random() < 0.5 else _absent_class(present, asked, rng)
        asked.add(cls)
        task, where = ("shapes_pope", "the") if rng.random() < 0.5 else ("shapes_mme", "this")
        question = f"Is there {with_article(cls)} in {where} image?"
        out.append(_yesno_row(task, question, cls in present, "existence", scene))
    for category in shuffled(rng, [c for c in MME_BUILDERS if c != "existence"]):
        pair = MME_BUILDERS[category](scene, rng)
        if pair is not None:
            k = int(rng.integers(2))
            out.append(_yesno_row("shapes_mme", pair[k], k == 0, category, scene))
    return shuffled(rng, out)[: DRILL_TURNS["yesno_drill"]]


def choice_drill(scene: RenderedScene, rng: np.random.Generator) -> Drilled | None:
    """One MMBench question per category the scene can pose, each a random circular copy;
    None when it can pose none."""
    out: Drilled = []
    for category in shuffled(rng, list(MMBENCH_CATEGORIES)):
        rows = mmbench_question(scene, rng, category, 0)
        if rows is not None:
            out.append(("shapes_mmbench", pick(rng, rows)))
    return out[: DRILL_TURNS["choice_drill"]] or None


def choice_hint_drill(scene: RenderedScene, rng: np.random.Generator) -> Drilled | None:
    """:func:`choice_drill` with MMBench's hint field stating the true option's text ("The
    answer is red."), so the answer can be read off the prompt: it teaches finding the option
    that matches and replying with its letter, apart from reading the image."""
    drilled = choice_drill(scene, rng)
    if drilled is None:
        return None
    return [(task, {**row, "hint": f"The answer is {row[row['answer']]}."}) for task, row in drilled]


def with_referent(row: dict[str, Any], scene: RenderedScene, index: int) -> dict[str, Any]:
    """``row`` plus :data:`REFERENT_KEY`: the pixels of object ``index``, the one the question
    names (training only: an auxiliary loss can teach the LM which visual tokens it must read)."""
    return {**row, REFERENT_KEY: scene.object_map == index}


def box_drill(scene: RenderedScene, rng: np.random.Generator) -> Drilled | None:
    """RefCOCO rows for up to three different objects that have an unambiguous expression,
    each asked by one of its expressions drawn at random; None when no object has one."""
    chosen = shuffled(rng, referable_objects(scene))[: DRILL_TURNS["box_drill"]]
    return [
        ("shapes_refcoco", with_referent(refcoco_row(scene, i, [pick(rng, exprs)], "drill"), scene, i))
        for i, exprs in chosen
    ] or None


def letter_drill(scene: RenderedScene, rng: np.random.Generator) -> Drilled | None:
    """Letter-reading questions (MMBench OCR or VQA wording, by a fair coin) about up to three
    uniquely named labelled objects; None when the scene has none."""
    objs = scene.scene.objects
    labelled = [i for i in unique_indices(scene, lambda o: o.name) if objs[i].label]
    out: Drilled = []
    for i in shuffled(rng, labelled)[: DRILL_TURNS["letter_drill"]]:
        item = letter_item(scene, rng, i)
        assert item is not None
        if rng.random() < 0.5:
            row = pick(rng, mmbench_from_item(scene, rng, "ocr", 0, item))
            out.append(("shapes_mmbench", with_referent(row, scene, i)))
            continue
        question, truth, false_pool = item
        answer = truth.lower()  # VQA's normalisation lower-cases the reply
        row = {"question_id": 0, "image_id": 0, "question": question, "question_type": "what",
               "answers": ten_answers(rng, answer, [answer, truth, f"{answer}."], false_pool[0].lower()),
               "multiple_choice_answer": answer, "answer_type": "other", "image": scene.image}  # fmt: skip
        out.append(("shapes_vqa", with_referent(row, scene, i)))
    return out or None


DRILLS: dict[str, Callable[[RenderedScene, np.random.Generator], Drilled | None]] = {
    "yesno_drill": yesno_drill,
    "choice_drill": choice_drill,
    "choice_hint_drill": choice_hint_drill,
    "box_drill": box_drill,
    "letter_drill": letter_drill,
}
