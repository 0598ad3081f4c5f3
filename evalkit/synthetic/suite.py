"""The shapes suite: task name -> row generator, in the official datasets' schemas.

``generate_rows(name, n=..., seed=..., split=...)`` draws ``n`` scenes and turns each into the
rows of one benchmark family. Rows per scene: mme 2, pope 6, mmbench 4 (a question and its
circular copies), vqa 3, gqa 5, mmmu / refcoco / caption / seedbench 1, docvqa 2 (rendered documents, not shape
scenes: see :mod:`evalkit.synthetic.documents`). Every row holds its image as an RGB PIL
image under ``image`` (``image_1`` for mmmu).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from evalkit.synthetic.choice import mmbench_rows, mmmu_rows
from evalkit.synthetic.documents import document_row_groups
from evalkit.synthetic.gqa import gqa_rows
from evalkit.synthetic.openended import caption_rows, refcoco_rows, vqa_rows
from evalkit.synthetic.scene import RenderedScene
from evalkit.synthetic.seedbench import seedbench_rows
from evalkit.synthetic.streams import draw_scenes
from evalkit.synthetic.yesno import mme_rows, pope_rows

DEFAULT_IMAGE_SIZE = 96
Row = dict[str, Any]
SceneRows = Callable[[RenderedScene, np.random.Generator, int], list[Row] | None]

PER_SCENE: dict[str, SceneRows] = {
    "shapes_mme": mme_rows,
    "shapes_mmbench": mmbench_rows,
    "shapes_mmmu": mmmu_rows,
    "shapes_vqa": vqa_rows,
    "shapes_refcoco": refcoco_rows,
    "shapes_caption": caption_rows,
    "shapes_gqa": gqa_rows,
    "shapes_seedbench": seedbench_rows,
}
ROWS_PER_SCENE = {"shapes_mme": 2, "shapes_pope": 6, "shapes_mmbench": 4, "shapes_mmmu": 1, "shapes_vqa": 3,
                  "shapes_refcoco": 1, "shapes_caption": 1, "shapes_docvqa": 2,
                  "shapes_seedbench": 1, "shapes_gqa": 5}  # fmt: skip


def task_names() -> list[str]:
    """The synthetic task names ``generate_rows`` accepts."""
    return sorted(ROWS_PER_SCENE)


def scene_row_groups(
    name: str, indices: Iterable[int], *, seed: int, split: str, image_size: int
) -> list[list[Row]]:
    """The rows of task ``name`` grouped by scene, for the given scene indices of the stream."""
    if name not in ROWS_PER_SCENE:
        from evalkit.registry import unknown_name_error

        raise unknown_name_error("synthetic task", name, ROWS_PER_SCENE)
    kwargs: dict[str, Any] = {"seed": seed, "split": split, "image_size": image_size}
    if name == "shapes_pope":
        draws = draw_scenes(
            name, indices, build=lambda s, r, i: (s, r, i) if s.scene.objects else None, **kwargs
        )
        return pope_rows(draws)
    if name == "shapes_docvqa":
        return document_row_groups(name, indices, **kwargs)
    return draw_scenes(name, indices, build=PER_SCENE[name], **kwargs)


def generate_rows(
    name: str, *, n: int, seed: int, split: str = "eval", image_size: int = DEFAULT_IMAGE_SIZE
) -> list[Row]:
    """``n`` scenes of task ``name`` as rows (see :data:`ROWS_PER_SCENE`), deterministic in
    (name, n, seed, split, image_size); ``eval`` and ``train`` draw from disjoint streams."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    groups = scene_row_groups(name, range(n), seed=seed, split=split, image_size=image_size)
    return [row for group in groups for row in group]
