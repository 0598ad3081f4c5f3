"""The offline "shapes" suite: procedurally generated images with exact ground truth.

One task per official benchmark family (``shapes_mme``, ``shapes_pope``, ``shapes_mmbench``,
``shapes_mmmu``, ``shapes_vqa``, ``shapes_refcoco``, ``shapes_caption``), each producing rows in
the official dataset's schema so that the official prompt, parser and scorer apply unchanged.
:mod:`evalkit.synthetic.training` turns the same generators into training data for the
built-in model.
"""

from evalkit.synthetic.scene import RenderedScene, Scene, SceneConfig, ShapeObject, render_scene, sample_scene
from evalkit.synthetic.suite import DEFAULT_IMAGE_SIZE, ROWS_PER_SCENE, generate_rows, task_names

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "ROWS_PER_SCENE",
    "RenderedScene",
    "Scene",
    "SceneConfig",
    "ShapeObject",
    "generate_rows",
    "render_scene",
    "sample_scene",
    "task_names",
]
