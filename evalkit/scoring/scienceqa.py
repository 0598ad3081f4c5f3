"""ScienceQA letter accuracy (``lmms-lab/ScienceQA``, config ``ScienceQA-IMG``, test).

``official`` is LLaVA's ``llava/eval/eval_science_qa.py`` (haotian-liu/LLaVA c121f04): the
"SQA-IMG" numbers of LLaVA-1.5 and the many papers built on its code come from it, and
lmms-eval's ``sqa_process_results`` says it imitates it ("it's how llava parse it") but has
changed three times; its rules are offered as ``lmms_eval`` (current) and ``lmms_eval_2024``
(Jul 2024 - Jul 2025). The rules differ on "B." (LLaVA: FAILED; lmms-eval: B), "b" (LLaVA:
FAILED; lmms-eval: B), "B.cat" and "The answer is B." (LLaVA only). See
:mod:`evalkit.parsing.letters`; a FAILED reply is wrong, never a random guess (LLaVA's
``random.choice`` sits after a ``return``). ``robust``: :mod:`evalkit.parsing.robust_letter`.

Breakdown as in ScienceQA's ``tools/evaluate_acc.py`` (lupantech/ScienceQA): ``subject/...``
(natural / social / language science), ``grade/G1-6`` and ``grade/G7-12`` (from ``grade1`` ..
``grade12``), and the context modality: ``context/TXT`` (a non-empty ``hint``),
``context/IMG`` (an image) and ``context/NO`` (neither). Image presence is read from
``has_image``, which the ``tasks/scienceqa_img.py`` hook records; rows without it (a prediction
file) get no IMG/NO key.
"""

from __future__ import annotations

from typing import Any

from evalkit.parsing.letters import (
    llava_scienceqa_letter,
    lmms_eval_2024_scienceqa_letter,
    lmms_eval_scienceqa_letter,
    option_letters,
)
from evalkit.scoring.letter_accuracy import ChoiceRow, LetterAccuracyScorer, Row, required

TASK = "scienceqa"
LOWER_GRADES = frozenset(f"grade{n}" for n in range(1, 7))
UPPER_GRADES = frozenset(f"grade{n}" for n in range(7, 13))


def read_scienceqa_row(row: Row) -> ChoiceRow:
    """``choices`` (a list) and ``answer`` (the index of the right choice) -> options and gold letter."""
    choices = [str(choice) for choice in required(row, "choices", TASK)]
    answer = int(required(row, "answer", TASK))
    if not 0 <= answer < len(choices):
        raise ValueError(f"{TASK}: answer index {answer} is outside the {len(choices)} choices {choices}")
    return ChoiceRow(options=tuple(choices), gold=option_letters(len(choices))[answer])


def grade_group(grade: Any) -> str | None:
    """``G1-6`` for grade1..grade6, ``G7-12`` for grade7..grade12, else None."""
    if grade in LOWER_GRADES:
        return "G1-6"
    return "G7-12" if grade in UPPER_GRADES else None


def scienceqa_breakdown_keys(row: Row) -> list[str]:
    """Subject, grade group and context modality keys of one row (evaluate_acc.py's groups)."""
    keys = [f"subject/{row['subject']}"] if row.get("subject") else []
    group = grade_group(row.get("grade"))
    if group:
        keys.append(f"grade/{group}")
    if row.get("hint"):
        keys.append("context/TXT")
    if row.get("has_image") is not None:
        if row["has_image"]:
            keys.append("context/IMG")
        elif not row.get("hint"):
            keys.append("context/NO")
    return keys


SCORER = LetterAccuracyScorer(
    name=TASK,
    official_rules={
        "official": llava_scienceqa_letter,
        "lmms_eval": lmms_eval_scienceqa_letter,
        "lmms_eval_2024": lmms_eval_2024_scienceqa_letter,
    },
    read_row=read_scienceqa_row,
    breakdown_keys=scienceqa_breakdown_keys,
    sources={
        "official": "haotian-liu/LLaVA llava/eval/eval_science_qa.py (c121f04)",
        "lmms_eval": "EvolvingLMMs-Lab/lmms-eval tasks/scienceqa/utils.py sqa_process_results (8ada805)",
        "lmms_eval_2024": "EvolvingLMMs-Lab/lmms-eval tasks/scienceqa/utils.py sqa_process_results (f06f8e6)",
    },
)
