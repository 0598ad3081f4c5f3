"""Turning whatever a dataset stores for an image into an RGB PIL image."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ImageError(ValueError):
    """An image that is missing or cannot be decoded."""


def decode_image(value: Any, *, base_dir: Path | None = None) -> Any:
    """Decode encoded bytes, a ``{"bytes", "path"}`` dict (HF ``Image`` feature), a file path or
    a PIL image into an RGB ``PIL.Image.Image``; raise :class:`ImageError` naming the problem."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(value, Image.Image):
        return value if value.mode == "RGB" else value.convert("RGB")
    if isinstance(value, Mapping):
        if value.get("bytes"):
            value = value["bytes"]
        elif value.get("path"):
            value = value["path"]
        else:
            raise ImageError("image cell holds neither bytes nor a path")
    try:
        if isinstance(value, (bytes, bytearray, memoryview)):
            with Image.open(io.BytesIO(bytes(value))) as img:
                return img.convert("RGB")
        if isinstance(value, (str, Path)):
            path = Path(value)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            if not path.is_file():
                raise ImageError(f"image file not found: {path}")
            with Image.open(path) as img:
                return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot decode image: {exc}") from exc
    if value is None:
        raise ImageError("image is missing (null cell)")
    raise ImageError(f"unsupported image value of type {type(value).__name__}")


def thumbnail_jpeg(image: Any, *, size: int = 160) -> bytes:
    """A small JPEG of ``image`` for reports."""
    thumb = image.copy()
    thumb.thumbnail((size, size))
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=80)
    return buf.getvalue()
