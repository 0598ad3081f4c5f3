"""RefCOCO / RefCOCO+ / RefCOCOg hooks: image size for the scorer and the grounding prompt.

The grounding scorer needs ``image_width`` / ``image_height`` (the lmms-lab copies do not
carry them), read here from the image header without decoding the pixels.

Prompt: Qwen-VL's evaluation feeds its base model ``<ref>{expression}</ref><box>`` and lets it
continue; a chat model needs the request spelled out, so we keep Qwen-VL's ``<ref>`` tag and
ask for its ``<box>(x1,y1),(x2,y2)</box>`` answer format on the 0-1000 grid, which is what
the official parser reads. The expression is the first of ``answer`` when it is a list (the
official files hold one expression per row; the lmms-lab rows group an object's expressions).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROMPT = (
    "Locate <ref>{expression}</ref> in the image. Answer with its bounding box as "
    "<box>(x1,y1),(x2,y2)</box>, with coordinates on a 0-1000 grid of the image width and height."
)


def referring_expression(row: Mapping[str, Any]) -> str:
    """The expression to ground: ``answer`` (its first item when a list), else ``question``."""
    value = row.get("answer")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if not value:
        value = row.get("question")
    if not value:
        raise ValueError(f"row {row.get('question_id')!r} has no referring expression in 'answer'")
    return str(value).strip()


def image_size(cell: Any) -> tuple[int, int]:
    """(width, height) of a PIL image, encoded bytes, an HF ``{"bytes", "path"}`` cell or a path."""
    from PIL import Image

    if isinstance(cell, Image.Image):
        return cell.size
    if isinstance(cell, Mapping):
        cell = cell.get("bytes") or cell.get("path")
    if isinstance(cell, (bytes, bytearray, memoryview)):
        with Image.open(io.BytesIO(bytes(cell))) as img:
            return img.size
    if isinstance(cell, (str, Path)) and Path(cell).is_file():
        with Image.open(cell) as img:
            return img.size
    raise ValueError(f"cannot read the image size from a {type(cell).__name__} cell")


def prepare_row(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``image_width`` / ``image_height`` (unless present) and ``expression``."""
    if row.get("image_width") is None or row.get("image_height") is None:
        row["image_width"], row["image_height"] = image_size(row.get("image"))
    row["expression"] = referring_expression(row)
    return row


def build_prompt(row: Mapping[str, Any]) -> str:
    """The grounding request for the row's expression (see the module docstring)."""
    return PROMPT.format(expression=row.get("expression") or referring_expression(row))
