"""TextVQA prompt fields, as lmms-eval's ``textvqa_doc_to_text`` (``tasks/textvqa/utils.py``) builds them.

lmms-eval writes ``question.capitalize()`` (first letter upper, *the rest lower-cased*) and, in
its OCR mode, ``"\\nReference OCR token: " + ", ".join(ocr_tokens)`` before the post-prompt --
LLaVA-1.5's TextVQA prompt. The task templates use the two fields added here.
"""

from __future__ import annotations

from typing import Any


def prepare_row(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``question_capitalized`` and ``ocr_reference`` (the OCR tokens joined by ", ")."""
    row["question_capitalized"] = str(row["question"]).capitalize()
    row["ocr_reference"] = ", ".join(str(token) for token in row.get("ocr_tokens") or [])
    return row
