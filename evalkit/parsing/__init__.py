"""Answer extraction: yes/no labels, option letters and open answers, per official algorithm.

(Bounding boxes live in :mod:`evalkit.parsing.boxes`, imported by the grounding scorer.)

Every parser takes the raw reply and a parser ``mode`` (``official`` reproduces the benchmark's
own code, flaws included; ``robust`` fixes the documented flaws).
"""

from evalkit.parsing.choice import (
    VLMEVALKIT_2024,
    VLMEVALKIT_CURRENT,
    ChoiceParse,
    MatchingRules,
    mmmu_official_choice,
    mmmu_robust_choice,
    robust_can_infer,
    vlmevalkit_can_infer,
)
from evalkit.parsing.open_answer import gold_answers, open_answer_correct, parse_open_response
from evalkit.parsing.yes_no import NO, OTHER, YES, parse_mme_yes_no, parse_pope_yes_no

__all__ = [
    "NO",
    "OTHER",
    "VLMEVALKIT_2024",
    "VLMEVALKIT_CURRENT",
    "YES",
    "ChoiceParse",
    "MatchingRules",
    "gold_answers",
    "mmmu_official_choice",
    "mmmu_robust_choice",
    "open_answer_correct",
    "parse_mme_yes_no",
    "parse_open_response",
    "parse_pope_yes_no",
    "robust_can_infer",
    "vlmevalkit_can_infer",
]
