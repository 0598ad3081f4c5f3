"""MMBench prompt hook: lmms-eval's ``mmbench_doc_to_text`` (``tasks/mmbench/en_utils.py``).

"<hint> <question> There are several options:\\nA. ...\\nB. ...\\n\\nAnswer with the option's
letter from the given choices directly." The hint is left out when absent, NaN or the string
"nan"; options A-E appear when present and neither empty, NaN nor "nan".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

OPTION_LETTERS = ("A", "B", "C", "D", "E")
OPTIONS_HEADER = "There are several options:"
INSTRUCTION = "Answer with the option's letter from the given choices directly."


def _present(value: Any) -> bool:
    """lmms-eval's test for a usable cell: truthy, not NaN, not the string "nan"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value) and value != "nan"


def options_block(row: Mapping[str, Any]) -> str:
    """``create_options_prompt``: the header, then "X. text" lines for the present options."""
    lines = [OPTIONS_HEADER] + [f"{c}. {row[c]}" for c in OPTION_LETTERS if c in row and _present(row[c])]
    return "\n".join(lines)


def build_prompt(row: Mapping[str, Any]) -> str:
    """The lmms-eval MMBench (en) prompt for one row."""
    hint = row.get("hint")
    head = f"{hint} {row['question']}" if _has_hint(hint) else f"{row['question']}"
    return f"{head} {options_block(row)}\n\n{INSTRUCTION}"


def _has_hint(hint: Any) -> bool:
    """lmms-eval keeps any hint that is not None/NaN and not "nan" (an empty one is kept)."""
    missing = hint is None or (isinstance(hint, float) and math.isnan(hint))
    return not missing and hint != "nan"
