"""OCRBench prompt hook: lmms-eval sends the question stripped, with no instruction around it
(lmms_eval/tasks/ocrbench/utils.py, ``ocrbench_doc_to_text`` with empty pre/post prompts)."""

from __future__ import annotations

from typing import Any


def build_prompt(row: dict[str, Any]) -> str:
    """The question, stripped of surrounding whitespace."""
    return str(row["question"]).strip()
