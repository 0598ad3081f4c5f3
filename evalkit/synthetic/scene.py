"""Procedural scenes of coloured shapes: sampling, rendering and exact ground truth.

A :class:`Scene` is resolution-free (centres and radii are fractions of the image side);
:func:`render_scene` draws it at any pixel size and returns the image together with a
per-pixel object map (``-1`` = background, ``i`` = ``scene.objects[i]``) and each object's
pixel bounding box taken from that map, so boxes and masks agree exactly.

Class frequencies are deliberately uneven (shape and colour weights, a per-scene colour
palette, repeated shapes) so that POPE's "popular" and "adversarial" negatives mean something:
some classes are more frequent, and classes sharing a colour co-occur more often.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "pentagon", "hexagon", "diamond", "cross")
SHAPE_WEIGHTS: tuple[float, ...] = (0.20, 0.17, 0.15, 0.12, 0.10, 0.10, 0.08, 0.08)
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "blue": (30, 80, 220),
    "green": (30, 155, 50),
    "yellow": (240, 205, 0),
    "orange": (245, 135, 0),
    "purple": (140, 50, 180),
    "brown": (125, 75, 30),
    "black": (25, 25, 25),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)
COLOR_WEIGHTS: tuple[float, ...] = (0.18, 0.17, 0.15, 0.13, 0.10, 0.10, 0.09, 0.08)
SIZES: dict[str, float] = {"small": 0.10, "medium": 0.14, "large": 0.19}  # half-extent / side
SIZE_NAMES: tuple[str, ...] = tuple(SIZES)
BACKGROUNDS: tuple[tuple[int, int, int], ...] = (
    (245, 245, 245),
    (236, 240, 245),
    (245, 240, 230),
    (232, 238, 232),
)
LABEL_LETTERS = "BCDEFGHKMNPRSTUVXYZ"  # legible when small; no "A" (VQA normalisation drops it as an article)
LABELLED_SHAPES = ("circle", "square", "pentagon", "hexagon")  # roomy enough for a letter


@dataclass(frozen=True)
class ShapeObject:
    """One object: its class, colour, size class, centre and half-extent (fractions of the side)."""

    shape: str
    color: str
    size: str
    cx: float
    cy: float
    radius: float
    label: str | None = None

    @property
    def name(self) -> str:
        """The colour-shape class, e.g. ``"red circle"`` (the POPE object vocabulary)."""
        return f"{self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A background colour and objects in drawing order (later objects are drawn on top)."""

    objects: tuple[ShapeObject, ...]
    background: tuple[int, int, int] = BACKGROUNDS[0]


@dataclass(frozen=True)
class SceneConfig:
    """How scenes are sampled; ``max_overlap`` 0 keeps bounding boxes apart by ``gap``."""

    min_objects: int = 1
    max_objects: int = 6
    gap: float = 0.03
    max_overlap: float = 0.0  # allowed box intersection as a fraction of the smaller box
    label_prob: float = 0.2
    palette_prob: float = 0.6
    repeat_shape_prob: float = 0.35


@dataclass(frozen=True, eq=False)
class RenderedScene:
    """A scene drawn at ``size`` px: the RGB image, the object map and pixel boxes.

    ``object_map`` is (H, W) int16 with the index of the visible object or -1.
    ``boxes[i]`` is ``(x1, y1, x2, y2)`` with exclusive ends, the tight box of object i's own
    mask (the whole shape, even where a later object hides part of it).
    """

    scene: Scene
    size: int
    image: Image.Image
    object_map: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]

    def xywh(self, i: int) -> list[float]:
        """Object ``i``'s box as COCO ``[x, y, w, h]`` in pixels (the RefCOCO ``bbox`` format)."""
        x1, y1, x2, y2 = self.boxes[i]
        return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]

    def center(self, i: int) -> tuple[float, float]:
        """Centre of object ``i``'s box as fractions of the image side."""
        x1, y1, x2, y2 = self.boxes[i]
        return (x1 + x2) / 2 / self.size, (y1 + y2) / 2 / self.size


def _weighted(rng: np.random.Generator, names: tuple[str, ...], weights: tuple[float, ...]) -> str:
    p = np.asarray(weights) / sum(weights)
    return names[int(rng.choice(len(names), p=p))]


def _box_overlap(a: ShapeObject, b: ShapeObject, gap: float) -> float:
    """Intersection of the two objects' (gap-padded) square boxes over the smaller box's area."""
    ix = min(a.cx + a.radius, b.cx + b.radius) - max(a.cx - a.radius, b.cx - b.radius) + gap
    iy = min(a.cy + a.radius, b.cy + b.radius) - max(a.cy - a.radius, b.cy - b.radius) + gap
    if ix <= 0 or iy <= 0:
        return 0.0
    smaller = (2 * min(a.radius, b.radius)) ** 2
    return ix * iy / smaller


def _fits(obj: ShapeObject, placed: list[ShapeObject], config: SceneConfig) -> bool:
    overlaps = [_box_overlap(obj, other, config.gap) for other in placed]
    return all(o <= config.max_overlap for o in overlaps) if config.max_overlap > 0 else not any(overlaps)


def _sample_object(rng: np.random.Generator, placed: list[ShapeObject], palette: tuple[str, ...],
                   config: SceneConfig) -> ShapeObject | None:  # fmt: skip
    """Draw one object's attributes, then try positions until it fits (None if it never does)."""
    if placed and rng.random() < config.repeat_shape_prob:
        shape = placed[int(rng.integers(len(placed)))].shape
    else:
        shape = _weighted(rng, SHAPES, SHAPE_WEIGHTS)
    if rng.random() < config.palette_prob:
        color = palette[int(rng.integers(len(palette)))]
    else:
        color = _weighted(rng, COLOR_NAMES, COLOR_WEIGHTS)
    size = SIZE_NAMES[int(rng.integers(len(SIZE_NAMES)))]
    radius = SIZES[size]
    label = None
    if shape in LABELLED_SHAPES and size != "small" and rng.random() < config.label_prob:
        label = LABEL_LETTERS[int(rng.integers(len(LABEL_LETTERS)))]
    margin = radius + 0.02
    for _ in range(40):
        cx, cy = (float(v) for v in rng.uniform(margin, 1 - margin, size=2))
        obj = ShapeObject(shape, color, size, round(cx, 4), round(cy, 4), radius, label)
        if _fits(obj, placed, config):
            return obj
    return None


DEFAULT_CONFIG = SceneConfig()


def sample_scene(rng: np.random.Generator, config: SceneConfig = DEFAULT_CONFIG) -> Scene:
    """Sample a scene: object count, a two-colour palette, then objects placed by rejection."""
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    palette = tuple(_weighted(rng, COLOR_NAMES, COLOR_WEIGHTS) for _ in range(2))
    placed: list[ShapeObject] = []
    for _ in range(count):
        obj = _sample_object(rng, placed, palette, config)
        if obj is not None:
            placed.append(obj)
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    return Scene(tuple(placed), background)


def shape_polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Vertices (pixels) of a non-circle shape centred at (cx, cy) with half-extent r."""

    def ring(n: int, radii: tuple[float, ...], start: float = -90.0) -> list[tuple[float, float]]:
        pts = []
        for k in range(n * len(radii)):
            a = math.radians(start + 360.0 * k / (n * len(radii)))
            rad = radii[k % len(radii)] * r
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts

    if shape == "square":
        s = 0.85 * r
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return ring(3, (1.0,))
    if shape == "star":
        return ring(5, (1.0, 0.45))
    if shape == "pentagon":
        return ring(5, (1.0,))
    if shape == "hexagon":
        return ring(6, (1.0,), start=0.0)
    if shape == "diamond":
        return [(cx, cy - r), (cx + 0.7 * r, cy), (cx, cy + r), (cx - 0.7 * r, cy)]
    if shape == "cross":
        w = 0.36 * r
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w), (cx + r, cy + w),
                (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r), (cx - w, cy + w), (cx - r, cy + w),
                (cx - r, cy - w), (cx - w, cy - w)]  # fmt: skip
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def object_mask(obj: ShapeObject, size: int) -> np.ndarray:
    """Boolean (size, size) mask of the pixels the object's shape covers when drawn alone."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    cx, cy, r = obj.cx * size, obj.cy * size, obj.radius * size
    if obj.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        draw.polygon(shape_polygon(obj.shape, cx, cy, r), fill=255)
    return np.asarray(canvas) > 0


def _label_mask(obj: ShapeObject, size: int) -> np.ndarray:
    """Pixels of the object's letter, drawn centred at about its half-extent in height."""
    canvas = Image.new("L", (size, size), 0)
    font = ImageFont.load_default(size=max(6, int(obj.radius * size * 1.1)))
    ImageDraw.Draw(canvas).text(
        (obj.cx * size, obj.cy * size), obj.label or "", fill=255, font=font, anchor="mm"
    )
    return np.asarray(canvas) > 0


def _tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("an object rendered to no pixels; the image size is too small")
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def render_scene(scene: Scene, size: int = 96) -> RenderedScene:
    """Draw ``scene`` at ``size`` x ``size`` px (no anti-aliasing, so masks are exact)."""
    if size < 32:
        raise ValueError(f"image size {size} is too small; use at least 32 px")
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[:] = scene.background
    object_map = np.full((size, size), -1, dtype=np.int16)
    boxes = []
    for i, obj in enumerate(scene.objects):
        mask = object_mask(obj, size)
        boxes.append(_tight_box(mask))
        pixels[mask] = COLORS[obj.color]
        object_map[mask] = i
        if obj.label:
            ink = (255, 255, 255) if obj.color not in ("yellow", "orange") else (0, 0, 0)
            pixels[_label_mask(obj, size) & mask] = ink
    return RenderedScene(scene, size, Image.fromarray(pixels, "RGB"), object_map, tuple(boxes))
