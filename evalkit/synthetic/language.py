"""Words for scenes: plurals, numbers, articles, positions, referring expressions, captions.

Every phrase is checked against the scene so that a question never relies on an ambiguous
description: :func:`referring_expressions` returns only expressions that pick out exactly one
object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from evalkit.synthetic.scene import RenderedScene, ShapeObject

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
SEPARATION = 0.08  # min gap (fraction of the side) between boxes for "left of"/"above" to hold
QUADRANT_MARGIN = 0.06  # min distance of a centre from the midlines for "top left" etc.


def plural(shape: str) -> str:
    """``"cross"`` -> ``"crosses"``, ``"circle"`` -> ``"circles"``."""
    return shape + ("es" if shape.endswith("s") else "s")


def number_word(n: int) -> str:
    """0-10 as words (MME and captions spell small counts out), larger counts as digits."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def with_article(phrase: str) -> str:
    """``"orange circle"`` -> ``"an orange circle"`` (POPE's a/an rule, applied to the first word)."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def join_words(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def count_where(scene: RenderedScene, keep: Callable[[ShapeObject], bool]) -> int:
    return sum(1 for obj in scene.scene.objects if keep(obj))


def unique_indices(scene: RenderedScene, key: Callable[[ShapeObject], object]) -> list[int]:
    """Indices of objects whose ``key`` value no other object shares."""
    counts = Counter(key(obj) for obj in scene.scene.objects)
    return [i for i, obj in enumerate(scene.scene.objects) if counts[key(obj)] == 1]


def quadrant(scene: RenderedScene, i: int) -> str | None:
    """``"top left"`` etc. when the object's centre is clearly inside one quadrant, else None."""
    x, y = scene.center(i)
    if min(abs(x - 0.5), abs(y - 0.5)) < QUADRANT_MARGIN:
        return None
    return ("top" if y < 0.5 else "bottom") + " " + ("left" if x < 0.5 else "right")


def region(scene: RenderedScene, i: int) -> str:
    """A coarse position for captions: ``"top left"``, ``"left"``, ``"center"`` ..."""
    x, y = scene.center(i)
    col = "left" if x < 0.36 else "right" if x > 0.64 else ""
    row = "top" if y < 0.36 else "bottom" if y > 0.64 else ""
    return " ".join(w for w in (row, col) if w) or "center"


def relation(scene: RenderedScene, a: int, b: int) -> str | None:
    """``"to the left of"``/``"to the right of"``/``"above"``/``"below"`` when the boxes are
    clearly apart along that axis (by :data:`SEPARATION`), preferring the larger gap; else None."""
    ax1, ay1, ax2, ay2 = (v / scene.size for v in scene.boxes[a])
    bx1, by1, bx2, by2 = (v / scene.size for v in scene.boxes[b])
    gaps = {
        "to the left of": bx1 - ax2,
        "to the right of": ax1 - bx2,
        "above": by1 - ay2,
        "below": ay1 - by2,
    }
    word, gap = max(gaps.items(), key=lambda kv: kv[1])
    return word if gap >= SEPARATION else None


OPPOSITE = {
    "to the left of": "to the right of",
    "to the right of": "to the left of",
    "above": "below",
    "below": "above",
}


def _extreme_by(values: list[float], among: list[int]) -> int | None:
    """The index in ``among`` with the largest value when it beats the runner-up by SEPARATION."""
    order = np.argsort(values)[::-1]
    if len(among) > 1 and values[order[0]] - values[order[1]] < SEPARATION:
        return None
    return among[int(order[0])]


def extreme_index(scene: RenderedScene, axis: int, *, largest: bool, among: list[int]) -> int | None:
    """The object in ``among`` farthest towards one side (axis 0 = x, 1 = y; ``largest`` = right
    or bottom) by both its box centre and its box edge on that side, each by a margin of
    :data:`SEPARATION` over the runner-up, so "leftmost" and "closest to the left edge" agree;
    else None."""
    if not among:
        return None
    sign = 1 if largest else -1
    edge = (2 if largest else 0) + axis  # index into (x1, y1, x2, y2)
    by_center = _extreme_by([sign * scene.center(i)[axis] for i in among], among)
    by_edge = _extreme_by([sign * scene.boxes[i][edge] / scene.size for i in among], among)
    return by_center if by_center == by_edge else None


def referring_expressions(scene: RenderedScene, i: int) -> list[str]:
    """All expressions from our grammar that denote object ``i`` and no other, most natural first."""
    objs = scene.scene.objects
    target = objs[i]
    out: list[str] = []

    def denotes_only_target(keep: Callable[[ShapeObject], bool]) -> bool:
        return keep(target) and count_where(scene, keep) == 1

    if denotes_only_target(lambda o: (o.color, o.shape) == (target.color, target.shape)):
        out.append(f"the {target.color} {target.shape}")
    elif denotes_only_target(
        lambda o: (o.size, o.color, o.shape) == (target.size, target.color, target.shape)
    ):
        out.append(f"the {target.size} {target.color} {target.shape}")
    if denotes_only_target(lambda o: o.shape == target.shape):
        out.append(f"the {target.shape}")
    if denotes_only_target(lambda o: o.color == target.color):
        out.append(f"the {target.color} shape")
    if denotes_only_target(lambda o: (o.size, o.shape) == (target.size, target.shape)):
        out.append(f"the {target.size} {target.shape}")
    same_shape = [k for k, o in enumerate(objs) if o.shape == target.shape]
    if len(same_shape) > 1:
        for axis, largest, word in ((0, False, "leftmost"), (0, True, "rightmost"), (1, False, "topmost"),
                                    (1, True, "bottom")):  # fmt: skip
            if extreme_index(scene, axis, largest=largest, among=same_shape) == i:
                out.append(f"the {word} {target.shape}")
    return out


def left_to_right(scene: RenderedScene) -> list[int]:
    return sorted(range(len(scene.scene.objects)), key=lambda k: scene.center(k))


def caption_references(scene: RenderedScene) -> list[str]:
    """Three differently worded, complete descriptions of the scene (the caption references)."""
    objs = scene.scene.objects
    if not objs:
        return ["An empty light background.", "A plain light image with no shapes.", "There are no objects."]
    order = left_to_right(scene)
    n = len(objs)
    phrases = Counter(f"{objs[k].size} {objs[k].name}" for k in order)  # insertion order = left to right
    enumerated = join_words(
        [with_article(p) if c == 1 else f"{number_word(c)} {plural(p)}" for p, c in phrases.items()]
    )
    first = f"{enumerated[0].upper()}{enumerated[1:]} on a light background."
    shape_counts = Counter(o.shape for o in objs)
    summary = join_words(
        [f"{number_word(c)} {plural(s) if c > 1 else s}" for s, c in shape_counts.most_common()]
    )
    noun = "shape" if n == 1 else "shapes"
    second = f"{number_word(n).capitalize()} coloured {noun}: {summary}."
    placed = join_words([f"{with_article(objs[k].name)} at the {region(scene, k)}".replace(
        "at the center", "in the center") for k in order])  # fmt: skip
    third = f"The image shows {placed}."
    return [first, second, third]
