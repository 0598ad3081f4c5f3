"""shapes_seedbench: multiple-choice questions about shapes scenes in SEED-Bench's row schema.

One question per image; the evaluation dimension cycles through the SEED-Bench image
dimensions the shapes world can pose (:data:`DIMENSION_ITEMS`, ids as in SEED-Bench.json:
2 Instance Identity, 3 Instance Attributes, 4 Instance Location, 5 Instances Counting,
6 Spatial Relation, 8 Visual Reasoning (which shape is largest), 9 Text Understanding (the
letter written on a shape)). Four options, exactly one true, answer ``A``-``D``; ``image`` is a
list holding the one image and ``data_type`` is ``"image"``, as in ``lmms-lab/SEED-Bench``, so
the SEED-Bench prompt, filter and scorer apply unchanged. Rows = n.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evalkit.synthetic.choice import (
    LETTERS,
    Item,
    color_item,
    count_item,
    edge_item,
    largest_item,
    letter_item,
    location_item,
    make_options,
)
from evalkit.synthetic.language import unique_indices
from evalkit.synthetic.scene import SHAPES, RenderedScene
from evalkit.synthetic.streams import pick


def identity_item(scene: RenderedScene, rng: np.random.Generator) -> Item | None:
    """ "What shape is the <colour> object?" for an object whose colour no other object has."""
    singles = unique_indices(scene, lambda o: o.color)
    if not singles:
        return None
    obj = scene.scene.objects[pick(rng, singles)]
    present = sorted({o.shape for o in scene.scene.objects} - {obj.shape})
    return (
        f"What shape is the {obj.color} object?",
        obj.shape,
        present + [s for s in SHAPES if s != obj.shape],
    )


DIMENSION_ITEMS: dict[int, Callable[[RenderedScene, np.random.Generator], Item | None]] = {
    2: identity_item,
    3: color_item,
    4: location_item,
    5: count_item,
    6: edge_item,
    8: largest_item,
    9: letter_item,
}
ORDERED_OPTIONS = (4, 5)  # locations and counts keep a natural order, as MMMU/MMBench twins do


def seedbench_rows(scene: RenderedScene, rng: np.random.Generator, index: int) -> list[dict[str, Any]] | None:
    """The SEED-Bench row of image ``index``, or None when the scene cannot pose its dimension."""
    dimension = list(DIMENSION_ITEMS)[index % len(DIMENSION_ITEMS)]
    item = DIMENSION_ITEMS[dimension](scene, rng)
    if item is None:
        return None
    question, truth, false_pool = item
    options, answer = make_options(rng, truth, false_pool, keep_order=dimension in ORDERED_OPTIONS)
    row: dict[str, Any] = {
        "answer": LETTERS[answer], **{f"choice_{c}": text for c, text in zip("abcd", options)},
        "data_id": f"shapes/{index:06d}.png", "data_type": "image", "question": question,
        "question_id": str(index), "question_type_id": dimension, "image": [scene.image], "segment": None,
    }  # fmt: skip
    return [row]
