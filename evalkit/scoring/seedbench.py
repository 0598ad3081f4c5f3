"""SEED-Bench (v1) letter accuracy per evaluation dimension (``lmms-lab/SEED-Bench``, test).

``official``: lmms-eval ``tasks/seedbench/utils.py`` (EvolvingLMMs-Lab/lmms-eval, unchanged
since e3c9cd6, Jul 2024): the first character of the stripped reply, lower-cased, against the
answer lower-cased; "b", "B. cat" and "Because ..." all read as B, "(B)" and "The answer is B"
as nothing. ``llava``: LLaVA's ``scripts/convert_seed_for_submission.py`` (the LLaVA-1.5 SEED
numbers): the stripped reply must be the answer letter exactly. SEED-Bench's own ``eval.py``
ranks the options by likelihood and has no rule for generated replies. ``robust``:
:mod:`evalkit.parsing.robust_letter`.

The task keeps the image questions (``data_type == "image"``, dimensions 1-9) as lmms-eval's
``seed_image`` does; the breakdown is per dimension, named from ``question_type_id`` with the
names of SEED-Bench.json's ``question_type`` table.
"""

from __future__ import annotations

from evalkit.parsing.letters import llava_seedbench_letter, lmms_eval_seedbench_letter
from evalkit.scoring.letter_accuracy import ChoiceRow, LetterAccuracyScorer, Row, required

TASK = "seedbench"
OPTION_COLUMNS = ("choice_a", "choice_b", "choice_c", "choice_d")
DIMENSIONS = {
    1: "Scene Understanding",
    2: "Instance Identity",
    3: "Instance Attributes",
    4: "Instance Location",
    5: "Instances Counting",
    6: "Spatial Relation",
    7: "Instance Interaction",
    8: "Visual Reasoning",
    9: "Text Understanding",
    10: "Action Recognition",
    11: "Action Prediction",
    12: "Procedure Understanding",
}


def read_seedbench_row(row: Row) -> ChoiceRow:
    """``choice_a`` .. ``choice_d`` and ``answer`` (a letter A-D)."""
    options = tuple(str(required(row, column, TASK)) for column in OPTION_COLUMNS)
    gold = str(required(row, "answer", TASK)).strip().upper()
    if gold not in ("A", "B", "C", "D"):
        raise ValueError(f"{TASK}: answer must be one of A-D, got {row['answer']!r}")
    return ChoiceRow(options=options, gold=gold)


def dimension_of(row: Row) -> list[str]:
    """The row's evaluation dimension, by name (``question_type_id`` 1-12)."""
    type_id = row.get("question_type_id")
    if type_id is None:
        return []
    return [DIMENSIONS.get(int(type_id), f"question_type_id {type_id}")]


SCORER = LetterAccuracyScorer(
    name=TASK,
    official_rules={"official": lmms_eval_seedbench_letter, "llava": llava_seedbench_letter},
    read_row=read_seedbench_row,
    breakdown_keys=dimension_of,
    sources={
        "official": "EvolvingLMMs-Lab/lmms-eval tasks/seedbench/utils.py (e3c9cd6)",
        "llava": "haotian-liu/LLaVA scripts/convert_seed_for_submission.py (c121f04)",
    },
)
