"""MMMU hooks: images in prompt order and lmms-eval's ``mmmu_val`` prompt (``tasks/mmmu/utils.py``).

Multiple choice: "<question>\\nA. ...\\nB. ...\\n\\nAnswer with the option's letter from the
given choices directly."; open: "<question>\\n\\nAnswer the question using a single word or
phrase." The "<image N>" placeholders stay in the text, as in lmms-eval's non-interleaved mode.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

IMAGE_COLUMNS = tuple(f"image_{i}" for i in range(1, 8))
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
OPEN_INSTRUCTION = "Answer the question using a single word or phrase."
_IMAGE_TOKEN = re.compile(r"<image (\d+)>")


def options_of(row: Mapping[str, Any]) -> list[str]:
    """The options list; the dataset stores it as a string, read with ``ast.literal_eval``."""
    options = row.get("options") or "[]"
    value = ast.literal_eval(options) if isinstance(options, str) else options
    return [str(option) for option in value]


def build_prompt(row: Mapping[str, Any]) -> str:
    """lmms-eval's ``construct_prompt`` with the default ``mmmu_val`` instructions."""
    if row["question_type"] == "multiple-choice":
        letters = (chr(ord("A") + i) for i in range(len(options_of(row))))
        listed = "\n".join(f"{letter}. {option}" for letter, option in zip(letters, options_of(row)))
        return f"{row['question']}\n{listed}\n\n{MC_INSTRUCTION}"
    return f"{row['question']}\n\n{OPEN_INSTRUCTION}"


def referenced_images(row: Mapping[str, Any]) -> list[str]:
    """Image columns named by "<image N>" in the prompt, sorted and unique (``mmmu_doc_to_visual``)."""
    names = {f"image_{n}" for n in _IMAGE_TOKEN.findall(build_prompt(row))}
    return sorted(name for name in names if name in IMAGE_COLUMNS)


def prepare_row(row: dict[str, Any]) -> dict[str, Any]:
    """Move image_1..image_7 into ``images``: those the prompt references, else all present ones.

    lmms-eval attaches only the referenced images; a question naming none (or only missing
    ones) gets every present image here rather than none.
    """
    cells = {name: row.pop(name, None) for name in IMAGE_COLUMNS}
    chosen = [cells[name] for name in referenced_images(row) if cells[name] is not None]
    row["images"] = chosen or [cell for cell in cells.values() if cell is not None]
    return row
