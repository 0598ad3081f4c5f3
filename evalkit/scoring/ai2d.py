"""AI2D letter accuracy as lmms-eval scores it (``lmms-lab/ai2d``, test, 3,088 questions).

``official``: lmms-eval ``tasks/ai2d`` (EvolvingLMMs-Lab/lmms-eval, filter as of 1d3f34a, Aug
2024): ``MultiChoiceRegexFilter`` keeps the capital of a reply starting "X." and leaves other
replies whole; the stripped result must equal the answer letter once lower-cased and stripped of
ASCII punctuation (``exact_match`` with ``ignore_case`` and ``ignore_punctuation``). So "B",
"b", "(B)", "B)", "**B**" and "B. cat" count; "B cat", "The answer is B" and "Ｂ" do not. See
:func:`evalkit.parsing.letters.lmms_eval_ai2d_letter`. ``robust``:
:mod:`evalkit.parsing.robust_letter`.

The dataset has no category column: no breakdown.
"""

from __future__ import annotations

from evalkit.parsing.letters import lmms_eval_ai2d_letter, option_letters
from evalkit.scoring.letter_accuracy import ChoiceRow, LetterAccuracyScorer, Row, required

TASK = "ai2d"


def read_ai2d_row(row: Row) -> ChoiceRow:
    """``options`` (a list) and ``answer`` (the right option's index, stored as a string)."""
    options = [str(option) for option in required(row, "options", TASK)]
    answer = int(required(row, "answer", TASK))
    if not 0 <= answer < len(options):
        raise ValueError(f"{TASK}: answer index {answer} is outside the {len(options)} options {options}")
    return ChoiceRow(options=tuple(options), gold=option_letters(len(options))[answer])


def no_breakdown(row: Row) -> list[str]:
    """AI2D rows carry no category to group by."""
    return []


SCORER = LetterAccuracyScorer(
    name=TASK,
    official_rules={"official": lmms_eval_ai2d_letter},
    read_row=read_ai2d_row,
    breakdown_keys=no_breakdown,
    sources={
        "official": "EvolvingLMMs-Lab/lmms-eval tasks/ai2d (MultiChoiceRegexFilter + exact_match, 1d3f34a)"
    },
)
