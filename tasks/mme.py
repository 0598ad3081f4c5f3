"""MME prompt hook: lmms-eval drops the question's own " Please answer yes or no." before
appending its instruction (lmms_eval/tasks/mme/utils.py, mme_doc_to_text)."""

from __future__ import annotations

from typing import Any

REPLACED = " Please answer yes or no."
INSTRUCTION = "\nAnswer the question using a single word or phrase."


def build_prompt(row: dict[str, Any]) -> str:
    """The question without MME's built-in yes/no request, then lmms-eval's post-prompt."""
    return str(row["question"]).strip().replace(REPLACED, "") + INSTRUCTION
