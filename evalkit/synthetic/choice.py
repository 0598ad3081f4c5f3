"""Multiple-choice suites in the official MMBench and MMMU row schemas.

shapes_mmbench: one question per image, categories cycling through :data:`MMBENCH_CATEGORIES`
(real MMBench category and L2-category names), four options with exactly one true. Each
question is followed by its three circular copies (VLMEvalKit's circular evaluation): copy k
has ``index + k * 1_000_000`` and the options rotated by k, the answer letter moving with them.
Rows = 4n.

shapes_mmmu: one question per image; subjects cycle through :data:`MMMU_SUBJECTS`; ids are
``validation_<Subject>_<k>`` so MMMU's subject derivation applies; ``options`` is the Python
list literal MMMU stores ("[]" for open questions). Rows = n.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evalkit.synthetic.language import (
    count_where,
    extreme_index,
    plural,
    quadrant,
    unique_indices,
)
from evalkit.synthetic.scene import COLOR_NAMES, LABEL_LETTERS, SHAPES, SIZE_NAMES, RenderedScene
from evalkit.synthetic.streams import pick, shuffled
from evalkit.synthetic.yesno import ALL_CLASSES

LETTERS = "ABCD"
CIRCULAR_STRIDE = 1_000_000
QUADRANTS = ["top left", "top right", "bottom left", "bottom right"]
EDGES = {"left": (0, False), "right": (0, True), "top": (1, False), "bottom": (1, True)}
Item = tuple[str, str, list[str]]  # (question, true option, candidate false options)
MMBENCH_CATEGORIES: dict[str, str] = {
    "attribute_recognition": "finegrained_perception (instance-level)",
    "object_localization": "finegrained_perception (instance-level)",
    "ocr": "finegrained_perception (instance-level)",
    "spatial_relationship": "finegrained_perception (cross-instance)",
    "attribute_comparison": "finegrained_perception (cross-instance)",
}
MMBENCH_HINTS = (
    "The image shows flat coloured shapes on a plain background.",
    "Sizes are small, medium or large.",
)
MMMU_SUBJECTS = ("Counting", "Color", "Spatial", "Arithmetic")


def _other_names(scene: RenderedScene, exclude: str) -> list[str]:
    """Class names present in the scene other than ``exclude``, then absent ones (false options)."""
    present = sorted({o.name for o in scene.scene.objects} - {exclude})
    return present + [c for c in ALL_CLASSES if c not in present and c != exclude]


def color_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "What color is the <shape>?" for a shape that occurs once."""
    singles = unique_indices(scene, lambda o: o.shape)
    if not singles:
        return None
    obj = scene.scene.objects[pick(rng, singles)]
    present = sorted({o.color for o in scene.scene.objects} - {obj.color})
    return f"What color is the {obj.shape}?", obj.color, present + [c for c in COLOR_NAMES if c != obj.color]


def location_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "Where is the <class> located in the image?" for a uniquely named object clear of the midlines."""
    candidates = [i for i in unique_indices(scene, lambda o: o.name) if quadrant(scene, i)]
    if not candidates:
        return None
    i = pick(rng, candidates)
    truth = quadrant(scene, i) or ""
    return f"Where is the {scene.scene.objects[i].name} located in the image?", truth, [
        q for q in QUADRANTS if q != truth]  # fmt: skip


def letter_item(scene: RenderedScene, rng: np.random.Generator, index: int | None = None) -> Item | None:
    """ "What letter is written on the <class>?" for a uniquely named labelled object (object
    ``index`` when given, else a random one)."""
    candidates = [i for i in unique_indices(scene, lambda o: o.name) if scene.scene.objects[i].label]
    if index is not None:
        candidates = [i for i in candidates if i == index]
    if not candidates:
        return None
    obj = scene.scene.objects[pick(rng, candidates)]
    return f"What letter is written on the {obj.name}?", obj.label or "", shuffled(rng, list(LABEL_LETTERS))


def edge_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "Which shape is closest to the <edge> of the image?" when one object clearly is."""
    edge = pick(rng, list(EDGES))
    axis, largest = EDGES[edge]
    i = extreme_index(scene, axis, largest=largest, among=list(range(len(scene.scene.objects))))
    if i is None or len(scene.scene.objects) < 2 or i not in unique_indices(scene, lambda o: o.name):
        return None
    name = scene.scene.objects[i].name
    return f"Which shape is closest to the {edge} edge of the image?", name, _other_names(scene, name)


def largest_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "Which shape is the largest in the image?" when one object alone has the largest size
    class and also covers at least 1.3 times the pixels of any other (a large star is smaller
    than a medium square)."""
    objs = scene.scene.objects
    if len(objs) < 2:
        return None
    areas = np.bincount(scene.object_map[scene.object_map >= 0], minlength=len(objs))
    top = max(SIZE_NAMES.index(o.size) for o in objs)
    biggest = [i for i, o in enumerate(objs) if SIZE_NAMES.index(o.size) == top]
    if len(biggest) != 1 or areas[biggest[0]] < 1.3 * max(a for i, a in enumerate(areas) if i != biggest[0]):
        return None
    name = objs[biggest[0]].name
    return "Which shape is the largest in the image?", name, _other_names(scene, name)


def count_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "How many <shapes> are in the image?" for a shape class (possibly absent)."""
    shape = pick(rng, sorted({o.shape for o in scene.scene.objects}) or list(SHAPES))
    n = count_where(scene, lambda o: o.shape == shape)
    start = max(0, n - int(rng.integers(0, 4)))
    return (
        f"How many {plural(shape)} are in the image?",
        str(n),
        [str(k) for k in range(start, start + 4) if k != n],
    )


def make_options(rng: np.random.Generator, truth: str, false_pool: list[str], *, keep_order: bool = False,
                 prefer: int = 2) -> tuple[list[str], int]:  # fmt: skip
    """Four distinct options (the truth plus three false ones, the first ``prefer`` pool entries
    favoured as harder distractors), shuffled unless ``keep_order``; returns (options, answer index)."""
    pool = [p for p in dict.fromkeys(false_pool) if p != truth]
    if len(pool) < 3:
        raise ValueError(f"need three false options besides {truth!r}, got {pool}")
    hard = pool[:prefer]
    rest = [p for p in pool if p not in hard]
    picks = shuffled(rng, hard)[:3] + shuffled(rng, rest)[: max(0, 3 - len(hard))]
    options = [truth, *picks]
    if keep_order:
        options = sorted(options, key=lambda o: (len(o), o))
    else:
        options = shuffled(rng, options)
    return options, options.index(truth)


MMBENCH_ITEMS: dict[str, Callable[[RenderedScene, np.random.Generator], Item | None]] = {
    "attribute_recognition": color_item,
    "object_localization": location_item,
    "ocr": letter_item,
    "spatial_relationship": edge_item,
    "attribute_comparison": largest_item,
}


def rotate(options: list[str], answer: int, k: int) -> tuple[list[str], int]:
    """Circular copy k: option at letter j becomes the original option (j + k) mod 4."""
    n = len(options)
    return [options[(j + k) % n] for j in range(n)], (answer - k) % n


def mmbench_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """The main MMBench row of image ``index`` and its three circular copies."""
    return mmbench_question(scene, rng, list(MMBENCH_CATEGORIES)[index % len(MMBENCH_CATEGORIES)], index)


def mmbench_question(
    scene: RenderedScene, rng: np.random.Generator, category: str, index: int
) -> list[dict[str, Any]] | None:
    """One ``category`` question about ``scene`` as four rows (main + circular copies), or None
    when the scene cannot pose it."""
    item = MMBENCH_ITEMS[category](scene, rng)
    return None if item is None else mmbench_from_item(scene, rng, category, index, item)


def mmbench_from_item(
    scene: RenderedScene, rng: np.random.Generator, category: str, index: int, item: Item
) -> list[dict[str, Any]]:
    """The four rows (main + circular copies) of one ``category`` question ``item``."""
    question, truth, false_pool = item
    options, answer = make_options(rng, truth, false_pool, keep_order=category == "object_localization")
    hint = pick(rng, list(MMBENCH_HINTS)) if rng.random() < 0.3 else None
    rows = []
    for k in range(len(LETTERS)):
        opts, ans = rotate(options, answer, k)
        rows.append({
            "index": index + k * CIRCULAR_STRIDE, "question": question, "hint": hint,
            **dict(zip(LETTERS, opts)), "answer": LETTERS[ans], "category": category,
            "L2-category": MMBENCH_CATEGORIES[category], "source": "shapes", "split": "dev", "image": scene.image,
        })  # fmt: skip
    return rows


def _arithmetic(scene: RenderedScene, rng: np.random.Generator) -> tuple[str, str]:
    """An open counting-arithmetic question and its numeric answer."""
    objs = scene.scene.objects
    if rng.random() < 0.5 or len({o.shape for o in objs}) < 2:
        return "<image 1> What is the total number of shapes in the image?", str(len(objs))
    first, second = (str(s) for s in rng.choice(sorted({o.shape for o in objs}), size=2, replace=False))
    total = count_where(scene, lambda o: o.shape in (first, second))
    return f"<image 1> How many {plural(first)} and {plural(second)} are there altogether?", str(total)


MMMU_ITEMS: dict[str, Callable[[RenderedScene, np.random.Generator], Item | None]] = {
    "Counting": count_item,
    "Color": color_item,
    "Spatial": edge_item,
}


def mmmu_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """The MMMU row of image ``index``: multiple choice for most subjects, open for Arithmetic."""
    subject = MMMU_SUBJECTS[index % len(MMMU_SUBJECTS)]
    options: list[str]
    if subject == "Arithmetic":
        question, answer, options, qtype = *_arithmetic(scene, rng), [], "open"
    else:
        item = MMMU_ITEMS[subject](scene, rng)
        if item is None:
            return None
        question, truth, false_pool = item
        options, ans = make_options(rng, truth, false_pool, keep_order=subject == "Counting")
        question, answer, qtype = f"<image 1> {question}", LETTERS[ans], "multiple-choice"
    row: dict[str, Any] = {
        "id": f"validation_{subject}_{index + 1}", "question": question, "options": str(options),
        "explanation": "", "image_1": scene.image, **{f"image_{k}": None for k in range(2, 8)},
        "img_type": "['Diagrams']", "answer": answer, "topic_difficulty": "Easy", "question_type": qtype,
        "subfield": subject,
    }  # fmt: skip
    return [row]
