"""Yes/no extraction for MME and POPE, in the ``official`` and ``robust`` modes.

Labels are ``"yes"``, ``"no"`` or ``"other"`` (never counted as right).

MME official (``tools/eval_tool.zip`` -> ``calculation.py``, ``parse_pred_ans``): the reply is
lower-cased (not stripped); an exact ``yes``/``no`` is kept, else ``"yes"`` then ``"no"`` is
looked for inside its first four characters, else ``other``. So ``"Yes."`` -> yes,
``"not sure"`` -> no, ``"The answer is yes."`` -> other, ``"  yes"`` -> other.

POPE official (RUCAIBox/POPE ``evaluate.py``): keep the text before the first ``"."``, drop
commas, split on single spaces; any word equal to ``No``, ``not`` or ``no`` -> no, else yes.
So ``"Yes, there is no cat"`` -> no, while ``"No!"``, ``"NO"``, ``"Not"``, ``"no\\n"`` and
the empty reply -> yes.
"""

from __future__ import annotations

import re

YES, NO, OTHER = "yes", "no", "other"

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_POPE_OFFICIAL_NEGATIONS = frozenset({"No", "not", "no"})
_NEGATIONS = frozenset({"no", "not", "none", "nope", "nothing", "cannot", "never"})
_AFFIRMATIONS = frozenset({"yes", "yeah", "yep"})


def words_of(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters and inner apostrophes; curly quotes folded)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def is_negation(word: str) -> bool:
    """True for a negating word: no, not, none, nope, nothing, cannot, never or any ``-n't``."""
    return word in _NEGATIONS or word.endswith("n't")


def mme_official(reply: str) -> str:
    """MME ``calculation.py``: exact yes/no, else yes/no inside the first 4 characters."""
    text = reply.lower()
    if text in (YES, NO):
        return text
    head = text[:4]
    if YES in head:
        return YES
    if NO in head:
        return NO
    return OTHER


def mme_robust(reply: str) -> str:
    """MME with the official flaws fixed; used by ``--parser robust``.

    Rules, in order, on lower-cased whole words (whitespace, markdown and punctuation
    ignored): the first word if it is yes/yeah/yep or no/nope/not ("No!", "**Yes**", "  yes");
    a reply with an affirmation and no negation -> yes ("The answer is yes."); a reply with a
    negation and no affirmation -> no ("There is no dog in the image"); otherwise other
    ("I would say yes and no", "There is a dog"). Being whole words, "noon" and "yesterday"
    are not read as no/yes the way the official 4-character prefix reads them.
    """
    words = words_of(reply)
    if not words:
        return OTHER
    first = words[0]
    if first in _AFFIRMATIONS:
        return YES
    if first in ("no", "nope", "not"):
        return NO
    has_yes = any(w in _AFFIRMATIONS for w in words)
    has_no = any(is_negation(w) for w in words)
    if has_yes and not has_no:
        return YES
    if has_no and not has_yes:
        return NO
    return OTHER


def _check_mode(mode: str) -> None:
    """Reject a parser mode this module does not know."""
    if mode not in ("official", "robust"):
        raise ValueError(f"unknown yes/no parser mode {mode!r}: use 'official' or 'robust'")


def parse_mme_yes_no(reply: str, mode: str = "official") -> str:
    """MME's yes/no/other label for ``reply`` under parser ``mode``."""
    _check_mode(mode)
    return mme_robust(reply) if mode == "robust" else mme_official(reply)


def pope_official(reply: str) -> str:
    """POPE ``evaluate.py``: first sentence up to ".", commas dropped, single-space words."""
    text = reply.split(".")[0] if "." in reply else reply
    tokens = text.replace(",", "").split(" ")
    return NO if any(t in _POPE_OFFICIAL_NEGATIONS for t in tokens) else YES


def pope_robust(reply: str) -> str:
    """POPE with the official flaws fixed; used by ``--parser robust``.

    Keeps POPE's rule (a negation anywhere in the first sentence -> no, else yes, so
    "Yes, there is no cat" -> no in both modes) but: the first sentence ends at ".", "!" or
    "?" followed by a space or the end, or at a newline (a decimal point such as "2.5" does
    not end it); words are found case-insensitively without relying on single spaces
    ("No!", "NO", "Not really", "no\\n" -> no); negations also include none, nope, nothing,
    cannot, never and any "-n't" word ("There isn't a cat" -> no); a reply with no letters at
    all (empty, "...", "42") is ``other`` instead of yes; a first sentence without words
    (". No cat") falls back to the whole reply.
    """
    text = reply.strip()
    match = _SENTENCE_END.search(text)
    words = words_of(text[: match.start()] if match else text) or words_of(text)
    if not words:
        return OTHER
    return NO if any(is_negation(w) for w in words) else YES


def parse_pope_yes_no(reply: str, mode: str = "official") -> str:
    """POPE's yes/no (robust mode: or other) label for ``reply`` under parser ``mode``."""
    _check_mode(mode)
    return pope_robust(reply) if mode == "robust" else pope_official(reply)
