"""AI2D prompt hook: lmms-eval's ``ai2d_doc_to_text`` (``tasks/ai2d/utils.py``, format ``mcq``).

"<question>\\nA. ...\\nB. ...\\nAnswer with the option's letter from the given choices
directly." (the default ``pre_prompt`` is empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

INSTRUCTION = "Answer with the option's letter from the given choices directly."


def lettered_options(options: Sequence[Any]) -> str:
    """One "X. text" line per option, letters from A (lmms-eval's ``choices_str``)."""
    return "\n".join(f"{chr(ord('A') + i)}. {option}" for i, option in enumerate(options))


def build_prompt(row: Mapping[str, Any]) -> str:
    """The lmms-eval AI2D prompt for one row."""
    return f"{row['question']}\n{lettered_options(row['options'])}\n{INSTRUCTION}"
