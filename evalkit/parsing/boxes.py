"""Bounding-box extraction from model replies: pure functions, no scoring.

Two parsers:

* :func:`parse_qwen_box_official` reproduces QwenLM/Qwen-VL ``eval_mm/evaluate_grounding.py``:
  the first ``\\((.*?)\\),\\((.*?)\\)`` match anywhere in the reply, each group split on ","
  into exactly two Python floats. Anything else (no match, a group without a comma, three
  numbers, text) is a failure, which the official code turns into the box (0, 0, 0, 0).
* :func:`find_box` (robust) takes the earliest box in any common syntax: Qwen points
  ``(x1,y1),(x2,y2)`` (spaces allowed), ``[x1, y1, x2, y2]`` (commas or spaces, e.g. inside
  ``{"bbox_2d": [...]}``), ``[[x1, y1], [x2, y2]]``, ``<box>x1 y1 x2 y2</box>`` and
  ``(x1, y1, x2, y2)``. :func:`resolve_scale` then decides what the numbers mean and
  :func:`box_to_pixels` maps them to pixels, ordered and clipped to the image.

Robust scale rule: four numbers all within [0, 1] are fractions of width/height whatever the
adapter declared (a box under one pixel or one grid cell is never a real answer). Otherwise
the declared format wins: ``pixel`` as is; ``qwen_0_1000`` divided by **1000** (Qwen-VL
encodes ``int(x / width * 1000)`` on a [0, 1000) grid, so /1000 inverts it; the official /999
stretches boxes by 0.1%). With ``norm_0_1`` or no declaration, numbers up to 1000 are read
as the 0-1000 grid and larger ones as pixels.
"""

from __future__ import annotations

import re

Box = tuple[float, float, float, float]  # x1, y1, x2, y2

SCALES = ("norm_0_1", "qwen_0_1000", "pixel")
QWEN_GRID = 1000.0  # robust divisor for qwen_0_1000
OFFICIAL_QWEN_DIVISOR = 999.0  # what evaluate_grounding.py divides by

_OFFICIAL_POINTS = re.compile(r"\((.*?)\),\((.*?)\)")
_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))"
_SEP = r"\s*[,\s]\s*"
_ROBUST_PATTERNS = (
    re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*,?\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"),
    re.compile(rf"\[\s*\[\s*{_NUM}\s*,\s*{_NUM}\s*\]\s*,?\s*\[\s*{_NUM}\s*,\s*{_NUM}\s*\]\s*\]"),
    re.compile(rf"\[\s*{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}\s*\]"),
    re.compile(rf"<box>\s*{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}\s*</box>", re.IGNORECASE),
    re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\)"),
)


def _two_floats(text: str) -> tuple[float, float]:
    """``x, y = [float(t) for t in text.split(',')]``: ValueError unless exactly two numbers."""
    first, second = (float(part) for part in text.split(","))
    return first, second


def parse_qwen_box_official(reply: str) -> Box | None:
    """Qwen-VL ``evaluate_grounding.py`` parsing; None where the official code uses (0,0,0,0)."""
    match = _OFFICIAL_POINTS.search(reply)
    if match is None:
        return None
    left, right = match.group(1), match.group(2)
    if "," not in left or "," not in right:
        return None
    try:
        x1, y1 = _two_floats(left)
        x2, y2 = _two_floats(right)
    except ValueError:
        return None
    return (x1, y1, x2, y2)


def find_box(reply: str) -> Box | None:
    """The earliest box written in any supported syntax, as its four raw numbers."""
    best: re.Match[str] | None = None
    for pattern in _ROBUST_PATTERNS:
        match = pattern.search(reply)
        if match is not None and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return None
    x1, y1, x2, y2 = (float(group) for group in best.groups())
    return (x1, y1, x2, y2)


def resolve_scale(box: Box, box_format: str | None) -> str:
    """What the numbers mean: ``norm_0_1``, ``qwen_0_1000`` or ``pixel`` (rule in module doc)."""
    largest = max(abs(value) for value in box)
    if largest <= 1.0:
        return "norm_0_1"
    if box_format in ("pixel", "qwen_0_1000"):
        return box_format
    if box_format not in (None, "norm_0_1"):
        raise ValueError(f"unknown box format {box_format!r}; expected one of {SCALES} or None")
    return "qwen_0_1000" if largest <= QWEN_GRID else "pixel"


def box_to_pixels(box: Box, scale: str, width: float, height: float) -> Box:
    """Map a box in ``scale`` to pixels, order its corners and clip it to the image."""
    if scale == "norm_0_1":
        sx, sy = float(width), float(height)
    elif scale == "qwen_0_1000":
        sx, sy = width / QWEN_GRID, height / QWEN_GRID
    elif scale == "pixel":
        sx = sy = 1.0
    else:
        raise ValueError(f"unknown box scale {scale!r}; expected one of {SCALES}")
    xs = sorted(min(max(box[i] * sx, 0.0), float(width)) for i in (0, 2))
    ys = sorted(min(max(box[i] * sy, 0.0), float(height)) for i in (1, 3))
    return (xs[0], ys[0], xs[1], ys[1])


def parse_box_robust(
    reply: str, box_format: str | None, width: float, height: float
) -> tuple[Box, str] | None:
    """A reply's first box in pixels plus the scale it was read in; None when there is none."""
    box = find_box(reply)
    if box is None:
        return None
    scale = resolve_scale(box, box_format)
    return box_to_pixels(box, scale, width, height), scale


def xywh_to_xyxy(box: tuple[float, float, float, float]) -> Box:
    """COCO ``[x, y, w, h]`` to corners ``(x1, y1, x2, y2)``."""
    x, y, w, h = (float(v) for v in box)
    return (x, y, x + w, y + h)
