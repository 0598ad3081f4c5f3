"""ScienceQA hooks: lmms-eval's ``sqa_doc_to_text`` (``tasks/scienceqa/utils.py``, format
``default``), the prompt of LLaVA's ``llava_test_CQM-A.json`` with ``--single-pred-prompt``.

"Context: <hint>\\n" (only when the hint is not empty) "<question>\\nA. ...\\nB. ...\\nAnswer
with the option's letter from the given choices directly." ``prepare_row`` records
``has_image`` for the context-modality breakdown (ScienceQA's IMG / NO groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.ai2d import INSTRUCTION, lettered_options


def prepare_row(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``has_image``: whether the row's ``image`` cell holds an image."""
    return {**row, "has_image": row.get("image") is not None}


def build_prompt(row: Mapping[str, Any]) -> str:
    """The lmms-eval ScienceQA prompt for one row (a missing hint reads as empty)."""
    hint = row.get("hint") or ""
    context = f"Context: {hint}\n" if hint else ""
    return f"{context}{row['question']}\n{lettered_options(row['choices'])}\n{INSTRUCTION}"
