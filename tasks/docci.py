"""DOCCI hooks: rows from the released files as well as from a parquet copy.

The release (google.github.io/docci) is ``docci_descriptions.jsonlines`` (one record per image:
``example_id``, ``split``, ``image_file``, ``description``) beside an ``images/`` folder. Such a
row has no image cell, so :func:`prepare_row` points ``image`` at ``images/<image_file>``,
which the loader resolves against the dataset folder. Parquet rows (``example_id``,
``description``, ``image``) pass through unchanged. The scorer reads ``description`` as the
single reference.
"""

from __future__ import annotations

from typing import Any

IMAGES_FOLDER = "images"


def prepare_row(row: dict[str, Any]) -> dict[str, Any]:
    """Give release rows an image path relative to the dataset folder."""
    if row.get("image") is None:
        image_file = row.get("image_file")
        if not image_file:
            raise ValueError(f"DOCCI row {row.get('example_id')!r} has neither 'image' nor 'image_file'")
        row["image"] = f"{IMAGES_FOLDER}/{image_file}"
    return row
