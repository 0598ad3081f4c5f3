"""Short answers inside open VQA replies (the robust modes of the TextVQA and GQA scorers).

Official VQA-style scripts compare the whole reply with the ground truth, so "The answer is
yes." or "Yes, there is a cat." score 0 against "yes". :func:`short_answer` keeps what a reader
takes as the answer:

1. text made comparable: Unicode NFKC (full-width letters, ligatures) and curly quotes straight;
2. the text after the last answer indicator ("answer is", "answer:", any case), if there is one;
3. the first non-empty line, cut at its first clause break: ``.``, ``!``, ``?``, ``;``, ``,`` or
   ``:`` followed by whitespace or the end (so "3.5", "1,000" and "U.S.A" stay whole);
4. surrounding whitespace, markdown emphasis (``*``, backticks) and double quotes stripped.

Robust scorers try the whole reply *and* its short answer (:func:`reply_candidates`) and keep
the better outcome, so a reply the official script accepts is never lost.
"""

from __future__ import annotations

import re
import unicodedata

_CURLY_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_ANSWER_INDICATOR = re.compile(r"answer\s*(?:is\s*:?|:)\s*", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[.!?;,:](?=\s|$)")
_WRAPPING = ' \t*`"'


def comparable_text(text: str) -> str:
    """NFKC-normalised text with curly quotes made straight."""
    return unicodedata.normalize("NFKC", text).translate(_CURLY_QUOTES)


def short_answer(reply: str) -> str:
    """The answer a reader takes from ``reply`` (see the module docstring); may be empty."""
    text = comparable_text(reply)
    indicators = list(_ANSWER_INDICATOR.finditer(text))
    if indicators:
        text = text[indicators[-1].end() :]
    lines = [line for line in text.splitlines() if line.strip(_WRAPPING)]
    first = lines[0] if lines else ""
    cut = _CLAUSE_BREAK.search(first)
    return (first[: cut.start()] if cut else first).strip(_WRAPPING)


def reply_candidates(reply: str) -> list[str]:
    """The whole reply (made comparable) and its short answer, without duplicates."""
    whole = comparable_text(reply)
    short = short_answer(reply)
    return [whole] if short == whole else [whole, short]
