"""``--parser robust`` for letter-answer multiple choice (ScienceQA, AI2D, SEED-Bench).

The official scripts read a letter only in one or two exact shapes ("B", "B. text", "The
answer is B.") and miss, or misread, the rest. Robust mode reads the reply as a careful grader
would, never looking at the answer:

0. Unicode is NFKC-normalised ("Ｂ" is B) and surrounding whitespace dropped; empty is wrong.
1. A reply that is one offered letter in either case once markdown, brackets, quotes and
   punctuation are stripped: "b", "(B)", "**C**.", "B." (LLaVA drops "B.").
2. Explicit statements: "answer (is)", "option" or "choice" followed by an offered letter,
   "Answer: B.", "the answer is (c)". A lower-case letter counts only when nothing but
   punctuation or the end of the reply follows it ("the answer is a dog" names no letter).
3. A reply opening with an offered capital followed by ".", ")", "]" or ":" ("B) cat",
   "(B) dog", "C: because ..."), unless other lines open with other option letters
   ("A. cat\nB. dog") or, for a reply opening with "(X)", other "(Y)" follow ("(A) cat (B) dog").
4. Offered capitals standing alone anywhere ("I think B"); "A" followed by a lower-case word
   is read as the article, not the option ("A cat sits ..."), and "I" as the pronoun.
5. Otherwise the option whose text the reply names, compared in lower case on word boundaries,
   number words read as digits ("two" names the option "2"); an option named only inside a
   longer named option ("cat" in "cat food") does not count.

Each step that finds several different letters ends the search with no letter: a reply naming
several options is wrong, not read as its first one ("A or B", "(A) cat (B) dog"). The
official scripts differ: LLaVA takes a leading letter whatever follows, lmms-eval's SEED-Bench
takes the first character ("Because ..." is B).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from evalkit.parsing.letters import option_letters

_EDGES = " \t\r\n*_`\"'()[]{}<>.,:;!?"
_EXPLICIT = re.compile(
    r"(?i:\b(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be))?)"
    r"\s*[:：]?\s*[*_`\"'(\[]*([A-Za-z])(?![A-Za-z])"
)
_LOWER_LETTER_END = re.compile(r"[*_`\"')\].,;:!?]*\s*(?:$|\n)")
_LEADING = re.compile(r"^[*_`\"'(\[]*([A-Z])(?:[.)\]:]|\s*$)")
_LINE_MARKER = re.compile(r"(?:^|\n)\s*[*_(\[]*([A-Z])[.)\]:](?=\s|$)")
_BRACKETED = re.compile(r"\(([A-Z])\)")
_LONE_CAPITAL = re.compile(r"(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])")
_FOLLOWING_WORD = re.compile(r"\s+([a-z]+)|'")
_VERB_AFTER_LETTER = frozenset(
    "is was or and because since seems appears would should could might must".split()
)
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")


def robust_choice_letter(reply: str, options: Sequence[str]) -> str | None:
    """The one option letter ``reply`` gives among ``len(options)`` options, or None."""
    letters = option_letters(len(options))
    text = unicodedata.normalize("NFKC", str(reply)).strip()
    if not text:
        return None
    for rule in (bare_letter, explicit_letters, leading_letters, lone_capitals):
        found = rule(text, letters)
        if found:
            return found.pop() if len(found) == 1 else None
    return named_option(text, options, letters)


def bare_letter(text: str, letters: str) -> set[str]:
    """Step 1: the reply is a single offered letter, either case, once its edges are stripped."""
    bare = text.strip(_EDGES).upper()
    return {bare} if len(bare) == 1 and bare in letters else set()


def explicit_letters(text: str, letters: str) -> set[str]:
    """Step 2: letters named by "answer (is) X", "Answer: X", "option X", "choice X"."""
    found = set()
    for match in _EXPLICIT.finditer(text):
        letter = match.group(1)
        if letter.islower() and not _LOWER_LETTER_END.match(text, match.end()):
            continue
        if letter.upper() in letters:
            found.add(letter.upper())
    return found


def leading_letters(text: str, letters: str) -> set[str]:
    """Step 3: a leading "X." / "X)" / "(X)" / "X:", with the letters of other option markers:
    "X." at the start of a line, and "(X)" anywhere when the reply itself opens with "(X)"
    (an echoed list "(A) cat (B) dog"; "B. because (A) is wrong" still answers B)."""
    leading = _LEADING.match(text)
    if not leading or leading.group(1) not in letters:
        return set()
    markers = set(_LINE_MARKER.findall(text))
    if text.startswith("("):
        markers |= set(_BRACKETED.findall(text))
    return {leading.group(1)} | (markers & set(letters))


def lone_capitals(text: str, letters: str) -> set[str]:
    """Step 4: offered capitals standing alone, the article "A" and the pronoun "I" left out."""
    found = set()
    for match in _LONE_CAPITAL.finditer(text):
        letter = match.group(1)
        if letter in letters and not _is_word(letter, text, match.end()):
            found.add(letter)
    return found


def _is_word(letter: str, text: str, end: int) -> bool:
    """True when a lone "A" or "I" reads as the English word: a lower-case word (or, for "I",
    an apostrophe) follows that is not a verb or conjunction ("A is right", "A or B")."""
    if letter not in ("A", "I"):
        return False
    following = _FOLLOWING_WORD.match(text, end)
    if following is None:
        return False
    word = following.group(1)
    return (word is None and letter == "I") or (word is not None and word not in _VERB_AFTER_LETTER)


def named_option(text: str, options: Sequence[str], letters: str) -> str | None:
    """Step 5: the one option whose text the reply names outside any longer named option."""
    reply = _digits_for_number_words(text.lower())
    spans: dict[str, list[tuple[int, int]]] = {}
    for letter, option in zip(letters, options):
        needle = _digits_for_number_words(unicodedata.normalize("NFKC", str(option)).strip().lower())
        if needle:
            pattern = r"(?<!\w)" + re.escape(needle) + r"(?!\w)"
            spans[letter] = [m.span() for m in re.finditer(pattern, reply)]
    named = {
        letter for letter, own in spans.items() if any(not _inside_other(span, letter, spans) for span in own)
    }
    return named.pop() if len(named) == 1 else None


def _inside_other(span: tuple[int, int], letter: str, spans: dict[str, list[tuple[int, int]]]) -> bool:
    """True when ``span`` lies within a longer span of another option's text."""
    start, end = span
    return any(
        s <= start and end <= e and e - s > end - start
        for other, others in spans.items()
        if other != letter
        for s, e in others
    )


def _digits_for_number_words(text: str) -> str:
    """Number words zero to twenty replaced by their digits ("two cats" -> "2 cats")."""
    return _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS.index(m.group(1))), text)
