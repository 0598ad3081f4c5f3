"""Option-letter extraction for multiple-choice replies (MMBench and MMMU).

MMBench follows VLMEvalKit's exact-matching path, ``can_infer`` in
``vlmeval/utils/matching_util.py``: ``can_infer_option`` (the letter as a token) and, when that
fails, ``can_infer_text`` (the option's text inside the reply). Two versions are offered:
:data:`VLMEVALKIT_CURRENT` (the code since PR #1175, Aug 2025, plus the "answer is X" regex of
PR #1552, Jun 2026, as of commit e8e78f0) and :data:`VLMEVALKIT_2024` (the rules used for
MMBench results from Dec 2023 to Aug 2025, e.g. commit aca64db).

MMMU follows ``parse_multi_choice_response`` in MMMU-Benchmark/MMMU ``mmmu/utils/eval_utils.py``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REFUSAL = "Z"  # VLMEvalKit's label for a refusal; never a right answer
_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
_API_FAILURE = "Failed to obtain answer via API"
_SEPARATORS = ".()[],:;!*#{}"
_ANSWER_IS = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


@dataclass(frozen=True)
class MatchingRules:
    """Which version of VLMEvalKit's ``can_infer`` to reproduce."""

    letter_in_last_four_tokens: bool  # PR #1175: a lone letter only counts near the end
    text_length_cap: bool  # PR #1175: replies over 2x the options' total length skip text matching
    answer_is_regex: bool  # PR #1552: "(correct) answer is **X**" as a last resort


VLMEVALKIT_CURRENT = MatchingRules(
    letter_in_last_four_tokens=True, text_length_cap=True, answer_is_regex=True
)
VLMEVALKIT_2024 = MatchingRules(
    letter_in_last_four_tokens=False, text_length_cap=False, answer_is_regex=False
)


def vlmevalkit_tokens(reply: str) -> list[str]:
    """``can_infer_option``'s tokens: ``.()[],:;!*#{}`` become spaces, then whitespace split."""
    for char in _SEPARATORS:
        reply = reply.replace(char, " ")
    return reply.split()


def infer_option_letter(reply: str, choices: Mapping[str, object], rules: MatchingRules) -> str | None:
    """``can_infer_option``: the one option letter standing alone as a token, else None.

    API failures give None; a known refusal gives ``Z``; a lone ``Z`` token with no option
    letter gives ``Z``. With several different letters as tokens no letter is inferred (the
    regex aside). The ``VERBOSE`` environment switch of the original is taken as unset.
    """
    if _API_FAILURE in reply:
        return None
    if any(refusal in reply for refusal in _REFUSALS):
        return REFUSAL
    tokens = vlmevalkit_tokens(reply)
    present = [letter for letter in choices if letter in tokens]
    if len(present) == 1:
        letter = present[0]
        if not rules.letter_in_last_four_tokens or tokens.index(letter) > len(tokens) - 5:
            return letter
    elif not present and REFUSAL in tokens:
        return REFUSAL
    if rules.answer_is_regex:
        match = _ANSWER_IS.search(reply)
        if match and match.group(1).upper() in choices:
            return match.group(1).upper()
    return None


def infer_option_text(reply: str, choices: Mapping[str, object], rules: MatchingRules) -> str | None:
    """``can_infer_text``: the single option whose lower-cased text occurs in the reply."""
    text = reply.lower()
    if rules.text_length_cap and len(text) > 2 * sum(len(str(v)) for v in choices.values()):
        return None
    found = [letter for letter, option in choices.items() if str(option).lower() in text]
    return found[0] if len(found) == 1 else None


def vlmevalkit_can_infer(reply: str, choices: Mapping[str, object], rules: MatchingRules) -> str | None:
    """``can_infer``: the option letter by token, else by option text, else None."""
    reply = str(reply)
    return infer_option_letter(reply, choices, rules) or infer_option_text(reply, choices, rules)


_EXPLICIT = re.compile(r"\b(?i:answer)\b(?:\s+(?i:is|would\s+be|should\s+be))?\s*:?\s*[*_`\"'(\[]*([A-Z])\b")
_BARE_EDGES = " \t\r\n*_`\"'()[].,:;!?"
_LEADING = re.compile(r"^[*_`\"'(\[\s]*([A-Z])(?:[.)\]:*\n]|\s*$)")


def robust_can_infer(reply: str, choices: Mapping[str, object]) -> str | None:
    """MMBench ``--parser robust``: VLMEvalKit's rules with their known misses fixed.

    In order: (0) a reply that is one letter in either case once whitespace, markdown and
    punctuation are stripped ("b", "**C**."); (1) the last explicit "answer (is) X" or
    "Answer: X" naming an offered capital letter followed by a word boundary (the official
    regex ignores case and boundaries: "The answer is Blue" -> B, "the answer is a dog" -> A);
    (2) a reply opening with an offered capital followed by ".", ")", "]", ":", "*", a newline
    or the end ("(B) cat", "B. The dog sits on the mat because ..."; the current official
    code drops a leading letter followed by five or more words); (3) VLMEvalKit 2024's token
    rule, one letter token anywhere (so "A cat sits ..." is still read as A, as in 2024);
    (4) the current official option-text rule, with its length cap. Refusals ("Z") and API
    failures are handled as officially.
    """
    reply = str(reply)
    return robust_option_letter(reply, choices) or infer_option_text(reply, choices, VLMEVALKIT_CURRENT)


def robust_option_letter(reply: str, choices: Mapping[str, object]) -> str | None:
    """Steps (0)-(3) of :func:`robust_can_infer`: the letter a reply names, before option text."""
    if _API_FAILURE in reply:
        return None
    if any(refusal in reply for refusal in _REFUSALS):
        return REFUSAL
    bare = reply.strip(_BARE_EDGES)
    if len(bare) == 1 and bare.upper() in choices:
        return bare.upper()
    explicit = [m.group(1) for m in _EXPLICIT.finditer(reply) if m.group(1) in choices]
    if explicit:
        return explicit[-1]
    leading = _LEADING.match(reply)
    if leading and leading.group(1) in choices:
        return leading.group(1)
    return infer_option_letter(reply, choices, VLMEVALKIT_2024)


# ----------------------------------------------------------------------------- MMMU
@dataclass(frozen=True)
class ChoiceParse:
    """A parsed option letter and how it was found (bracket, letter, text, explicit, random)."""

    letter: str | None
    method: str


_MMMU_EDGE_CHARS = (",", ".", "!", "?", ";", ":", "'")


def _last_of(candidates: Sequence[str], positions: Sequence[int]) -> str:
    """The candidate found last (``np.argmax`` of positions: the first one on ties)."""
    best = max(range(len(candidates)), key=lambda i: (positions[i], -i))
    return candidates[best]


def mmmu_official_choice(
    response: str, all_choices: Sequence[str], index2ans: Mapping[str, str], rng: random.Random
) -> ChoiceParse:
    """MMMU ``parse_multi_choice_response``, step for step.

    Each of ``, . ! ? ; : '`` is stripped from both ends in turn (whitespace is not), the
    reply is padded with one space each side; candidates are letters written "(A)", else
    letters standing between spaces " A ", else (replies over 5 words only) options whose
    text occurs in the reply, case-insensitively. Several candidates: the one found last
    wins. None: ``rng.choice(all_choices)``.
    """
    if not all_choices:
        return ChoiceParse(None, "no_choices")
    for char in _MMMU_EDGE_CHARS:
        response = response.strip(char)
    padded = f" {response} "
    bracketed = [c for c in all_choices if f"({c})" in padded]
    if bracketed:
        return ChoiceParse(_last_of(bracketed, [padded.rfind(f"({c})") for c in bracketed]), "bracket")
    spaced = [c for c in all_choices if f" {c} " in padded]
    if spaced:
        return ChoiceParse(_last_of(spaced, [padded.rfind(f" {c} ") for c in spaced]), "letter")
    if len(padded.split()) > 5:
        lower = padded.lower()
        by_text = [c for c, text in index2ans.items() if text.lower() in lower]
        if by_text:
            return ChoiceParse(
                _last_of(by_text, [lower.rfind(index2ans[c].lower()) for c in by_text]), "text"
            )
    return ChoiceParse(rng.choice(list(all_choices)), "random")


def mmmu_robust_choice(
    response: str, all_choices: Sequence[str], index2ans: Mapping[str, str], rng: random.Random
) -> ChoiceParse:
    """MMMU ``--parser robust``: the official steps with their known misses fixed.

    Differences: whitespace and markdown are stripped with the punctuation ("A.\\n" is A,
    officially random); a reply that is a single letter in either case is that letter ("b");
    the last explicit "answer is X" / "Answer: X" wins over other mentions; a letter counts
    when followed by punctuation as well as a space ("A. Paris", officially random); option
    text is matched in replies of any length ("Paris"), the option ending last winning (so
    "cat food" beats "cat"); the random fallback uses ``rng``,
    which the scorer seeds per question.
    """
    if not all_choices:
        return ChoiceParse(None, "no_choices")
    bare = response.strip(_BARE_EDGES)
    if len(bare) == 1 and bare.upper() in all_choices:
        return ChoiceParse(bare.upper(), "letter")
    text = response.strip(_BARE_EDGES.replace("()[]", ""))
    explicit = [m.group(1) for m in _EXPLICIT.finditer(text) if m.group(1) in all_choices]
    if explicit:
        return ChoiceParse(explicit[-1], "explicit")
    padded = f" {text} "
    bracketed = [c for c in all_choices if f"({c})" in padded]
    if bracketed:
        return ChoiceParse(_last_of(bracketed, [padded.rfind(f"({c})") for c in bracketed]), "bracket")
    spots = {
        c: [m.start() for m in re.finditer(rf"(?<=\s){re.escape(c)}(?=[\s.,:;!?)\]])", padded)]
        for c in all_choices
    }
    lettered = [c for c in all_choices if spots[c]]
    if lettered:
        return ChoiceParse(_last_of(lettered, [spots[c][-1] for c in lettered]), "letter")
    lower = padded.lower()
    by_text = [c for c, option in index2ans.items() if option.strip() and option.lower() in lower]
    if by_text:
        ends = [lower.rfind(index2ans[c].lower()) + len(index2ans[c]) for c in by_text]
        return ChoiceParse(_last_of(by_text, ends), "text")
    return ChoiceParse(rng.choice(list(all_choices)), "random")
