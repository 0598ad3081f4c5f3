"""Option-letter extraction as the official ScienceQA, AI2D and SEED-Bench scripts do it.

Each function takes the raw reply and returns the option letter (upper case) that the official
code compares with the answer, or None when what it compares can never equal a letter. The
scorers count a reply right when that letter equals the gold one, which reproduces the official
per-sample outcome exactly (checked against the original code on thousands of replies).

- ScienceQA, LLaVA ``llava/eval/eval_science_qa.py`` (haotian-liu/LLaVA c121f04): the reply
  arrives stripped (``model_vqa_science.py`` strips what it decodes). It counts when it is one of
  ``A``-``E`` exactly; else when it opens with such a letter followed by ". " (three characters
  at least); else when ``The answer is ([A-Z]).`` (the dot matches any character, so a letter at
  the very end is missed) occurs exactly once. Anything else is ``FAILED``, which is wrong.
  Lower case is never accepted.
- ScienceQA, lmms-eval ``tasks/scienceqa/utils.py`` ``sqa_process_results``: the stripped reply
  is right when, lower-cased, it equals the answer letter, or when it reads "<capital>." at the
  start and that capital, lower-cased, is the answer. Current code (since 8ada805, Jul 2025);
  from f06f8e6 (Jul 2024) to then, the reply was lower-cased first, so only an exact letter in
  either case counted (``lmms_eval_2024``).
- AI2D, lmms-eval ``tasks/ai2d``: the ``MultiChoiceRegexFilter`` of ``utils.py`` (its own
  ``apply``; the YAML's regex options are unused) replaces a reply matching ``^\\s*([A-Z])\\.``
  by that capital and leaves any other reply as it is; the framework strips it; ``exact_match``
  (``api/metrics.py``, ``ignore_case`` and ``ignore_punctuation``) lower-cases it the way numpy
  does, deletes ASCII punctuation and compares it with the answer letter, numpy ignoring
  trailing NUL characters.
- SEED-Bench, lmms-eval ``tasks/seedbench/utils.py``: the first character of the stripped reply,
  lower-cased and stripped, against the answer lower-cased (so "Because ..." reads as B).
- SEED-Bench, LLaVA ``scripts/convert_seed_for_submission.py``: the stripped reply must equal
  the answer letter exactly.
"""

from __future__ import annotations

import re
import string

LLAVA_OPTIONS = ("A", "B", "C", "D", "E")  # eval_science_qa.py's default --options
_LLAVA_ANSWER_IS = re.compile(r"The answer is ([A-Z]).")
_AI2D_LEADING_LETTER = re.compile(r"^\s*([A-Z])\.")
_NO_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)


def letter_of(compared: str) -> str | None:
    """The upper-case letter a lower-cased comparison string stands for, or None.

    A string compared with a lower-cased answer letter can only match when it is that one
    ASCII letter, so the letter is all a scorer needs to know.
    """
    return compared.upper() if len(compared) == 1 and compared in string.ascii_lowercase else None


def option_letters(count: int) -> str:
    """The letters of ``count`` options: ``A``, ``B``, ... (lmms-eval's ``chr(ord("A") + i)``)."""
    return "".join(chr(ord("A") + i) for i in range(count))


def llava_scienceqa_letter(reply: str) -> str | None:
    """LLaVA ``eval_science_qa.py`` on the stripped reply; None stands for ``FAILED``."""
    text = reply.strip()
    if text in LLAVA_OPTIONS:
        return text
    if len(text) >= 3 and text[0] in LLAVA_OPTIONS and text[1:3] == ". ":
        return text[0]
    found = _LLAVA_ANSWER_IS.findall(text)
    return found[0] if len(found) == 1 else None


def lmms_eval_scienceqa_letter(reply: str) -> str | None:
    """lmms-eval ``sqa_process_results`` (current): whole reply, or a leading "<capital>."."""
    pred = reply.strip()
    if len(pred) >= 2 and pred[0].isupper() and pred[1] == ".":
        return letter_of(pred[0].lower())
    return letter_of(pred.lower())


def lmms_eval_2024_scienceqa_letter(reply: str) -> str | None:
    """lmms-eval ``sqa_process_results`` of Jul 2024 - Jul 2025: the whole reply, any case.

    Its "<capital>." branch tested the already lower-cased reply, so it never applied.
    """
    return letter_of(reply.strip().lower())


def numpy_lower(text: str) -> str:
    """``np.char.lower`` of one string: each character lower-cased on its own.

    ``str.lower`` differs only for U+0130, which it turns into two characters where numpy keeps
    one ("i"), and for a final capital sigma (a context rule numpy does not apply).
    """
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


def lmms_eval_ai2d_letter(reply: str) -> str | None:
    """lmms-eval AI2D: regex filter, strip, then ``exact_match`` ignoring case and punctuation."""
    leading = _AI2D_LEADING_LETTER.match(reply)
    filtered = leading.group(1) if leading else reply
    compared = numpy_lower(filtered.strip()).translate(_NO_ASCII_PUNCTUATION)
    return letter_of(compared.rstrip("\x00"))  # numpy drops trailing NULs when it stores a string


def lmms_eval_seedbench_letter(reply: str) -> str | None:
    """lmms-eval ``seed_process_result`` + ``seed_aggregation_result``: the first character."""
    pred = reply.strip()[:1]
    return letter_of(pred.lower().strip())


def llava_seedbench_letter(reply: str) -> str | None:
    """LLaVA ``convert_seed_for_submission.py``: the stripped reply is the letter, exactly."""
    text = reply.strip()
    return text if len(text) == 1 and text in string.ascii_uppercase else None
