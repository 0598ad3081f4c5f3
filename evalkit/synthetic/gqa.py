"""shapes_gqa: GQA-style compositional questions in the schema of lmms-lab/GQA testdev balanced.

Rows carry the instruction columns (``id``, ``imageId``, ``question``, ``answer``, ``fullAnswer``,
``isBalanced``, ``groups``, ``entailed``, ``equivalent``, ``types``, ``annotations``,
``semantic``, ``semanticStr``) plus the ``image`` that the ``gqa`` task joins in from the images
config. Five questions per image, one per GQA structural type -- verify, query, choose,
logical, compare -- each with its semantic type (attr, cat, rel, obj), a detailed type and a
short functional program. Answers are GQA's single lower-case words ("yes", "red", "circle",
"left"), so the exact-match scorer applies unchanged. Objects are named only by a shape no
other object has; yes/no truths are drawn half and half where the scene allows. Rows = 5n.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evalkit.synthetic.language import OPPOSITE, plural, relation, unique_indices, with_article
from evalkit.synthetic.scene import COLOR_NAMES, SHAPES, SIZE_NAMES, RenderedScene
from evalkit.synthetic.streams import pick, shuffled

Step = dict[str, Any]  # {"operation", "argument", "dependencies"}
# question, answer, full answer, semantic type, detailed type, program
Item = tuple[str, str, str, str, str, list[Step]]
Builder = Callable[[RenderedScene, np.random.Generator, list[int]], Item | None]
SPATIAL_ANSWERS = {"to the left of": "left", "to the right of": "right", "above": "above", "below": "below"}
CHOICE_PHRASES = {"to the left of": "to the left or to the right of", "to the right of": "to the right or to the left of",
                  "above": "above or below", "below": "below or above"}  # fmt: skip


def step(operation: str, argument: str, *dependencies: int) -> Step:
    return {"operation": operation, "argument": argument, "dependencies": list(dependencies)}


def semantic_str(program: list[Step]) -> str:
    """GQA's ``semanticStr``: ``"select: circle->verify color: red [0]"``."""
    parts = [f"{s['operation']}: {s['argument']}" + (f" {s['dependencies']}" if s["dependencies"] else "")
             for s in program]  # fmt: skip
    return "->".join(parts)


def yes_no(truth: bool) -> str:
    return "yes" if truth else "no"


def _shape_of(scene: RenderedScene, i: int) -> str:
    return scene.scene.objects[i].shape


def verify_color(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Is the circle red?" -- true half of the time."""
    i = pick(rng, unique)
    shape, color = _shape_of(scene, i), scene.scene.objects[i].color
    truth = bool(rng.random() < 0.5)
    asked = color if truth else pick(rng, [c for c in COLOR_NAMES if c != color])
    full = f"Yes, the {shape} is {color}." if truth else f"No, the {shape} is {color}."
    program = [step("select", shape), step("verify color", asked, 0)]
    return f"Is the {shape} {asked}?", yes_no(truth), full, "attr", "verifyAttr", program


def _related_pair(
    scene: RenderedScene, rng: np.random.Generator, unique: list[int]
) -> tuple[int, int, str] | None:
    pairs = [(a, b, rel) for a in unique for b in unique if a != b if (rel := relation(scene, a, b))]
    return pick(rng, pairs) if pairs else None


def verify_relation(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Is the circle to the left of the square?" -- true half of the time."""
    pair = _related_pair(scene, rng, unique)
    if pair is None:
        return None
    a, b, rel = pair
    truth = bool(rng.random() < 0.5)
    asked = rel if truth else OPPOSITE[rel]
    sa, sb = _shape_of(scene, a), _shape_of(scene, b)
    full = f"{'Yes' if truth else 'No'}, the {sa} is {rel} the {sb}."
    program = [step("select", sb), step("relate", f"{sa},{asked},s", 0), step("exist", "?", 1)]
    return f"Is the {sa} {asked} the {sb}?", yes_no(truth), full, "rel", "existRelS", program


def query_color(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "What color is the circle?" -> "red"."""
    i = pick(rng, unique)
    shape, color = _shape_of(scene, i), scene.scene.objects[i].color
    program = [step("select", shape), step("query", "color", 0)]
    return f"What color is the {shape}?", color, f"The {shape} is {color}.", "attr", "queryAttr", program


def query_shape(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "What shape is red?" -> "circle", for a colour only one object has."""
    by_color = unique_indices(scene, lambda o: o.color)
    if not by_color:
        return None
    obj = scene.scene.objects[pick(rng, by_color)]
    program = [step("select", "shape"), step("filter color", obj.color, 0), step("query", "name", 1)]
    full = f"The {obj.color} shape is {with_article(obj.shape)}."
    return f"What shape is {obj.color}?", obj.shape, full, "cat", "categoryThat", program


def choose_color(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Is the circle red or blue?" -> "red"."""
    i = pick(rng, unique)
    shape, color = _shape_of(scene, i), scene.scene.objects[i].color
    options = shuffled(rng, [color, pick(rng, [c for c in COLOR_NAMES if c != color])])
    program = [step("select", shape), step("choose color", "|".join(options), 0)]
    full = f"The {shape} is {color}."
    return f"Is the {shape} {options[0]} or {options[1]}?", color, full, "attr", "chooseAttr", program


def choose_relation(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Is the circle to the left or to the right of the square?" -> "left"."""
    pair = _related_pair(scene, rng, unique)
    if pair is None:
        return None
    a, b, rel = pair
    sa, sb = _shape_of(scene, a), _shape_of(scene, b)
    first = pick(rng, [rel, OPPOSITE[rel]])
    program = [step("select", sb), step("choose rel", f"{sa},{first}|{OPPOSITE[first]},s", 0)]
    question = f"Is the {sa} {CHOICE_PHRASES[first]} the {sb}?"
    return question, SPATIAL_ANSWERS[rel], f"The {sa} is {rel} the {sb}.", "rel", "chooseRel", program


def logical_both(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Are there both circles and squares?" -- true half of the time (when two shapes are present)."""
    present = sorted({o.shape for o in scene.scene.objects})
    absent = [s for s in SHAPES if s not in present]
    truth = len(present) > 1 and bool(rng.random() < 0.5)
    first = pick(rng, present)
    second = pick(rng, [s for s in present if s != first]) if truth else pick(rng, absent)
    a, b = shuffled(rng, [first, second])
    full = f"{'Yes' if truth else 'No'}, there are {'both' if truth else 'not both'} {plural(a)} and {plural(b)}."
    program = [step("select", a), step("exist", "?", 0), step("select", b), step("exist", "?", 2),
               step("and", "", 1, 3)]  # fmt: skip
    return f"Are there both {plural(a)} and {plural(b)}?", yes_no(truth), full, "obj", "logicAnd", program


def compare_color(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Are the circle and the square the same color?" -- a same-colour pair half of the time."""
    pairs = [(a, b) for a in unique for b in unique if a < b]
    if not pairs:
        return None
    objs = scene.scene.objects
    same = [p for p in pairs if objs[p[0]].color == objs[p[1]].color]
    different = [p for p in pairs if objs[p[0]].color != objs[p[1]].color]
    wanted = same if (rng.random() < 0.5 and same) or not different else different
    a, b = shuffled(rng, [*pick(rng, wanted)])
    truth = objs[a].color == objs[b].color
    sa, sb = objs[a].shape, objs[b].shape
    full = f"{'Yes' if truth else 'No'}, the {sa} and the {sb} are {'' if truth else 'not '}the same color."
    program = [step("select", sa), step("select", sb), step("same color", "", 0, 1)]
    return f"Are the {sa} and the {sb} the same color?", yes_no(truth), full, "attr", "sameColor", program


def compare_size(scene: RenderedScene, rng: np.random.Generator, unique: list[int]) -> Item | None:
    """ "Which is bigger, the circle or the square?" -> the larger one's shape."""
    objs = scene.scene.objects
    pairs = [(a, b) for a in unique for b in unique if a < b and objs[a].size != objs[b].size]
    if not pairs:
        return None
    a, b = shuffled(rng, [*pick(rng, pairs)])
    bigger = max((a, b), key=lambda k: SIZE_NAMES.index(objs[k].size))
    sa, sb = objs[a].shape, objs[b].shape
    program = [step("select", sa), step("select", sb), step("choose larger", "", 0, 1)]
    full = f"The {objs[bigger].shape} is bigger."
    return f"Which is bigger, the {sa} or the {sb}?", objs[bigger].shape, full, "attr", "compare", program


STRUCTURAL: dict[str, tuple[Builder, ...]] = {
    "verify": (verify_color, verify_relation),
    "query": (query_color, query_shape),
    "choose": (choose_color, choose_relation),
    "logical": (logical_both,),
    "compare": (compare_color, compare_size),
}
GLOBAL_GROUPS = {"queryAttr": "color", "chooseAttr": "color", "categoryThat": "shape", "chooseRel": "position",
                 "compare": "shape"}  # fmt: skip


def gqa_row(index: int, k: int, structural: str, item: Item, scene: RenderedScene) -> dict[str, Any]:
    """One row in the joined lmms-lab/GQA schema."""
    question, answer, full, semantic, detailed, program = item
    qid = str(index * 10 + k)
    return {
        "id": qid, "imageId": f"n{index}", "question": question, "answer": answer, "fullAnswer": full,
        "isBalanced": True, "groups": {"global": GLOBAL_GROUPS.get(detailed), "local": f"{k:02d}-{detailed}"},
        "entailed": "[]", "equivalent": f"['{qid}']",
        "types": {"structural": structural, "semantic": semantic, "detailed": detailed},
        "annotations": {"question": [], "answer": [], "fullAnswer": []},
        "semantic": program, "semanticStr": semantic_str(program), "image": scene.image,
    }  # fmt: skip


def gqa_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """Five rows for image ``index``, one per structural type; None when the scene lacks two
    objects with shapes of their own (then the stream draws another scene)."""
    unique = unique_indices(scene, lambda o: o.shape)
    if len(unique) < 2:
        return None
    rows = []
    for k, (structural, builders) in enumerate(STRUCTURAL.items()):
        items = (build(scene, rng, unique) for build in shuffled(rng, list(builders)))
        item = next((it for it in items if it is not None), None)
        if item is None:
            return None
        rows.append(gqa_row(index, k, structural, item, scene))
    return rows
