"""Yes/no suites in the official MME and POPE row schemas.

shapes_mme: one subtask per image (cycling through :data:`MME_CATEGORIES`), two questions per
image sharing a ``question_id`` -- one true ("Yes"), one false ("No") -- so MME's acc+ applies.
Rows = 2n.

shapes_pope: objects are colour-shape classes ("red circle"). Per image, one positive class is
paired with one negative per category, negatives chosen as POPE's ``utils.pope`` does: random
(any class seen in the dataset but absent from the image), popular (the dataset's most frequent
absent class) and adversarial (the absent class co-occurring most with the positive). Dataset
statistics are taken over the generated images, as POPE takes them over its sampled images.
Rows = 6n, yes/no balanced within every category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.synthetic.language import (
    OPPOSITE,
    count_where,
    number_word,
    plural,
    relation,
    unique_indices,
    with_article,
)
from evalkit.synthetic.scene import COLOR_NAMES, SHAPES, RenderedScene
from evalkit.synthetic.streams import pick, shuffled

ALL_CLASSES: tuple[str, ...] = tuple(f"{c} {s}" for s in SHAPES for c in COLOR_NAMES)
MME_CATEGORIES = ("existence", "count", "position", "color", "numerical_calculation")
POPE_CATEGORIES = ("random", "popular", "adversarial")
Pair = tuple[str, str]  # (true statement question, false statement question)


def _classes(scene: RenderedScene) -> set[str]:
    return {obj.name for obj in scene.scene.objects}


def _exists_pair(scene: RenderedScene, rng: np.random.Generator) -> Pair | None:
    """MME existence: one present and one absent colour-shape class."""
    present = sorted(_classes(scene))
    if not present:
        return None
    absent = [c for c in ALL_CLASSES if c not in present]
    ask = "Is there {} in this image?"
    return ask.format(with_article(pick(rng, present))), ask.format(with_article(pick(rng, absent)))


def _count_question(n: int, noun: str) -> str:
    if n == 1:
        return f"Is there exactly one {noun} in this image?"
    return f"Are there exactly {number_word(n)} {plural(noun)} in this image?"


def _count_pair(scene: RenderedScene, rng: np.random.Generator) -> Pair | None:
    """MME count: the true count of a shape (or of a colour's shapes) and an off-by-one count."""
    objs = scene.scene.objects
    if not objs:
        return None
    obj = pick(rng, list(objs))
    if rng.random() < 0.5:
        noun, n = obj.shape, count_where(scene, lambda o: o.shape == obj.shape)
    else:
        noun, n = f"{obj.color} shape", count_where(scene, lambda o: o.color == obj.color)
    wrong = n + 1 if n == 1 or rng.random() < 0.5 else n - 1
    return _count_question(n, noun), _count_question(wrong, noun)


def _position_pair(scene: RenderedScene, rng: np.random.Generator) -> Pair | None:
    """MME position: a clear spatial relation between two uniquely named objects, and its opposite."""
    names = unique_indices(scene, lambda o: o.name)
    pairs = [(a, b, rel) for a in names for b in names if a != b if (rel := relation(scene, a, b))]
    if not pairs:
        return None
    a, b, rel = pick(rng, pairs)
    objs = scene.scene.objects
    ask = "Is the {} {} the {}?"
    return ask.format(objs[a].name, rel, objs[b].name), ask.format(objs[a].name, OPPOSITE[rel], objs[b].name)


def _color_pair(scene: RenderedScene, rng: np.random.Generator) -> Pair | None:
    """MME color: the colour of a shape that occurs once, and a wrong colour (from the scene if possible)."""
    singles = unique_indices(scene, lambda o: o.shape)
    if not singles:
        return None
    obj = scene.scene.objects[pick(rng, singles)]
    others = sorted({o.color for o in scene.scene.objects} - {obj.color}) or [
        c for c in COLOR_NAMES if c != obj.color
    ]
    ask = "Is the {} in this image {}?"
    return ask.format(obj.shape, obj.color), ask.format(obj.shape, pick(rng, others))


def _calculation_pair(scene: RenderedScene, rng: np.random.Generator) -> Pair | None:
    """MME numerical_calculation: the sum of two shape counts, and a sum off by one or two."""
    present = sorted({o.shape for o in scene.scene.objects})
    if not present:
        return None
    first = pick(rng, present)
    second = pick(rng, [s for s in SHAPES if s != first])
    total = count_where(scene, lambda o: o.shape in (first, second))
    wrong = total + pick(rng, [-2, -1, 1, 2] if total >= 2 else [1, 2])
    ask = "Is the number of {} plus the number of {} equal to {}?"
    return ask.format(plural(first), plural(second), total), ask.format(plural(first), plural(second), wrong)


MME_BUILDERS: dict[str, Callable[[RenderedScene, np.random.Generator], Pair | None]] = {
    "existence": _exists_pair,
    "count": _count_pair,
    "position": _position_pair,
    "color": _color_pair,
    "numerical_calculation": _calculation_pair,
}


def mme_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """The two MME rows of image ``index`` (its subtask is ``MME_CATEGORIES[index % 5]``)."""
    category = MME_CATEGORIES[index % len(MME_CATEGORIES)]
    pair = MME_BUILDERS[category](scene, rng)
    if pair is None:
        return None
    qid = f"shapes_{index:05d}.png"
    rows = [
        {"question_id": qid, "question": q, "answer": ans, "category": category, "image": scene.image}
        for q, ans in zip(pair, ("Yes", "No"))
    ]
    return shuffled(rng, rows)


def pope_statistics(scenes: Sequence[RenderedScene]) -> tuple[list[str], dict[str, list[str]]]:
    """Classes by image frequency (most frequent first) and, per class, the classes it
    co-occurs with most (POPE's ``ground_truth_objects`` and ``compute_co_occurrence``)."""
    order = {c: k for k, c in enumerate(ALL_CLASSES)}  # ties: fixed vocabulary order
    freq: Counter[str] = Counter()
    co: dict[str, Counter[str]] = {}
    for scene in scenes:
        present = sorted(_classes(scene), key=order.__getitem__)
        freq.update(present)
        for c in present:
            co.setdefault(c, Counter()).update(o for o in present if o != c)
    by_freq = sorted(freq, key=lambda c: (-freq[c], order[c]))
    co_sorted = {c: sorted(cnt, key=lambda o: (-cnt[o], order[o])) for c, cnt in co.items()}
    return by_freq, co_sorted


def _pope_negative(category: str, positive: str, present: set[str], stats: tuple[list[str], dict[str, list[str]]],
                   rng: np.random.Generator) -> str:  # fmt: skip
    """One absent class chosen by POPE's strategy; popular/adversarial fall back to random."""
    by_freq, co = stats
    ranked = by_freq if category == "popular" else co.get(positive, []) if category == "adversarial" else []
    for cls in ranked:
        if cls not in present:
            return cls
    pool = [c for c in by_freq if c not in present] or [c for c in ALL_CLASSES if c not in present]
    return pick(rng, pool)


def pope_rows(draws: Sequence[tuple[RenderedScene, np.random.Generator, int]]) -> list[list[dict[str, Any]]]:
    """POPE rows per image: for each category, "yes" on the image's positive class, then "no"."""
    stats = pope_statistics([scene for scene, _, _ in draws])
    out = []
    for scene, rng, index in draws:
        present = _classes(scene)
        positive = pick(rng, sorted(present))
        rows = []
        for c, category in enumerate(POPE_CATEGORIES):
            negative = _pope_negative(category, positive, present, stats, rng)
            for k, (cls, answer) in enumerate(((positive, "yes"), (negative, "no"))):
                rows.append({
                    "id": str(index * 6 + 2 * c + k),
                    "question_id": str(index * 6 + 2 * c + k + 1),
                    "question": f"Is there {with_article(cls)} in the image?",
                    "answer": answer,
                    "image_source": f"shapes_{index:05d}",
                    "category": category,
                    "image": scene.image,
                })  # fmt: skip
        out.append(rows)
    return out
