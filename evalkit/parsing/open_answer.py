"""MMMU open-answer parsing and matching (MMMU-Benchmark/MMMU ``mmmu/utils/eval_utils.py``).

A reply becomes a set of candidates: its "key sub-responses" (the text after the last answer
indicator such as "is " or "therefore "), every number found in them, each normalised
(numbers to floats rounded to 2 decimals, strings lower-cased). It is right when a numeric
candidate equals a normalised gold number, or a normalised gold string occurs inside a
string candidate.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

Candidate = float | str

_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL = frozenset({":", ",", ".", "!", "?", ";", "'"})
_SUB_RESPONSE_SPLIT = re.compile(r"\.\s(?=[A-Z])|\n")
_NUMBER_WITH_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUMBER_SCIENTIFIC = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUMBER_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
_MARKDOWN = re.compile(r"\*\*|__|`|\$")


def is_number(text: str) -> bool:
    """``check_is_number``: Python's ``float()`` accepts it once commas are removed."""
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def normalize_answer(text: str) -> list[Candidate]:
    """``normalize_str``: a number -> [float rounded to 2 places]; a 1-char string -> [" c", "c "]."""
    text = text.strip()
    if is_number(text):
        return [round(float(text.replace(",", "")), 2)]
    text = text.lower()
    return [" " + text, text + " "] if len(text) == 1 else [text]


def extract_numbers(text: str) -> list[str]:
    """``extract_numbers``: numbers with thousands commas, then scientific, then plain ones."""
    found = _NUMBER_WITH_COMMAS.findall(text)
    found += _NUMBER_SCIENTIFIC.findall(text)
    found += _NUMBER_SIMPLE.findall(text)
    return found


def _shortest_tail(sentence: str, indicators: Sequence[str]) -> str | None:
    """The shortest text after the last occurrence of any indicator (official tie rules)."""
    shortest: str | None = None
    for indicator in indicators:
        if indicator in sentence:
            tail = sentence.split(indicator)[-1].strip()
            # officially an empty tail is falsy, so the next indicator replaces it
            if not shortest or len(tail) < len(shortest):
                shortest = tail
    return shortest


def key_sub_responses(response: str, mode: str = "official") -> list[str]:
    """``get_key_subresponses``: the likely answer part of each sentence (lower-cased).

    Officially the reply is lower-cased *before* splitting sentences on ". " followed by a
    capital, so only newlines split. Robust mode splits first and lower-cases after, and
    drops markdown emphasis, backticks and ``$`` first.
    """
    text = response.strip().strip(".")
    if mode == "robust":
        text = _MARKDOWN.sub("", text).strip().strip(".")
        sentences = [s.lower() for s in _SUB_RESPONSE_SPLIT.split(text)]
        text = text.lower()
    else:
        text = text.lower()
        sentences = _SUB_RESPONSE_SPLIT.split(text)
    keys: list[str] = []
    for i, sentence in enumerate(sentences):
        indicators = _INDICATORS + ("=",) if i == len(sentences) - 1 else _INDICATORS
        tail = _shortest_tail(sentence, indicators)
        if tail and tail.strip() not in _TRIVIAL:
            keys.append(tail)
    return keys or [text]


def _candidate_order(value: Candidate) -> tuple[bool, str]:
    """A stable order for candidates (the official code returns an unordered set)."""
    return (isinstance(value, str), repr(value))


def parse_open_response(response: str, mode: str = "official") -> list[Candidate]:
    """``parse_open_response``: key sub-responses plus their numbers, normalised, deduplicated."""
    keys = key_sub_responses(response, mode)
    raw = list(keys)
    for key in keys:
        raw.extend(extract_numbers(key))
    normalised = {value for item in raw for value in normalize_answer(item)}
    return sorted(normalised, key=_candidate_order)


def gold_answers(answer: object) -> list[str]:
    """The gold answer(s): a list, a list-looking string such as "['24/7', '3.429']", or one string.

    The official answer file stores lists as lists; the Hugging Face copy stores them as
    strings, read here with ``ast.literal_eval`` (never ``eval``).
    """
    if isinstance(answer, (list, tuple)):
        return [str(a) for a in answer]
    text = str(answer)
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return [text]
        if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
            return value
    return [text]


def open_answer_correct(gold: Sequence[str], candidates: Sequence[Candidate]) -> bool:
    """``eval_open``: a float candidate equal to a gold number, or a gold string inside a string one."""
    norm_gold = [value for answer in gold for value in normalize_answer(answer)]
    gold_strings = [g for g in norm_gold if isinstance(g, str)]
    gold_numbers = [g for g in norm_gold if not isinstance(g, str)]
    for candidate in candidates:
        if isinstance(candidate, str):
            if any(g in candidate for g in gold_strings):
                return True
        elif candidate in gold_numbers:
            return True
    return False
