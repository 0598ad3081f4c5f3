"""MMMU accuracy (MMMU-Benchmark/MMMU ``mmmu/utils/eval_utils.py`` and ``main_eval_only.py``).

Multiple choice: the reply's letter (``parse_multi_choice_response``) must equal the gold
letter. Open: ``parse_open_response`` candidates matched by ``eval_open``. Accuracy is
instance-weighted over all rows, in percent; ``breakdown`` has each subject (from the id,
"validation_Art_Theory_1" -> "Art_Theory") and each official domain ("Overall-Science").

The official multiple-choice fallback is ``random.choice`` after one ``random.seed(42)``: a
single stream consumed by the unparsable replies in the order the official script visits
them (subjects in ``CAT_SHORT2LONG`` order, then question number). We replay that with
``random.Random(ctx.seed)`` over rows sorted the same way, so file order does not matter but
each fallback depends on the other rows (``streaming = False``). Robust mode draws each
fallback from ``random.Random`` seeded by sha256 of "<seed>:<id>", independent of other rows.
"""

from __future__ import annotations

import ast
import hashlib
import random
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.parsing.choice import ChoiceParse, mmmu_official_choice, mmmu_robust_choice
from evalkit.parsing.open_answer import gold_answers, open_answer_correct, parse_open_response
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, accuracy_entry, check_inputs, group_by, percent_mean
from evalkit.types import ScoreResult

# CAT_SHORT2LONG's values, in its key order: the order the official script scores subjects
SUBJECT_ORDER = (
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory",
    "Basic_Medical_Science", "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science",
    "Design", "Diagnostics_and_Laboratory_Medicine", "Economics", "Electronics", "Energy_and_Power",
    "Finance", "Geography", "History", "Literature", "Manage", "Marketing", "Materials", "Math",
    "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology", "Public_Health", "Sociology",
)  # fmt: skip
DOMAINS = {
    "Art and Design": ("Art", "Art_Theory", "Design", "Music"),
    "Business": ("Accounting", "Economics", "Finance", "Manage", "Marketing"),
    "Science": ("Biology", "Chemistry", "Geography", "Math", "Physics"),
    "Health and Medicine": (
        "Basic_Medical_Science", "Clinical_Medicine", "Diagnostics_and_Laboratory_Medicine", "Pharmacy", "Public_Health",
    ),
    "Humanities and Social Science": ("History", "Literature", "Sociology", "Psychology"),
    "Tech and Engineering": (
        "Agriculture", "Architecture_and_Engineering", "Computer_Science", "Electronics",
        "Energy_and_Power", "Materials", "Mechanical_Engineering",
    ),
}  # fmt: skip


def subject_of(question_id: str) -> str:
    """The subject in an MMMU id, as ``main_eval_only.py``: "validation_Art_Theory_1" -> "Art_Theory"."""
    return "_".join(str(question_id).split("_")[1:-1])


def official_order_key(question_id: str) -> tuple[int, str, int, str]:
    """Sort key replaying the official visit order: subject rank, then question number."""
    subject = subject_of(question_id)
    rank = SUBJECT_ORDER.index(subject) if subject in SUBJECT_ORDER else len(SUBJECT_ORDER)
    tail = str(question_id).rsplit("_", 1)[-1]
    return (rank, subject, int(tail) if tail.isdigit() else -1, str(question_id))


def question_seed(seed: int, question_id: str) -> int:
    """Robust mode's per-question seed: the first 8 bytes of sha256("<seed>:<id>")."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{question_id}".encode()).digest()[:8], "big")


def parse_options(options: Any) -> list[str]:
    """The options list; the dataset stores it as a string, read with ``ast.literal_eval``."""
    value = ast.literal_eval(options) if isinstance(options, str) else options
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"MMMU options must be a list, got {options!r}")
    return [str(option) for option in value]


def parse_choice(response: str, row: Mapping[str, Any], rng: random.Random, mode: str) -> ChoiceParse:
    """The letter of a multiple-choice reply (``get_multi_choice_info`` letters A, B, ...)."""
    options = parse_options(row["options"])
    letters = [chr(ord("A") + i) for i in range(len(options))]
    index2ans = dict(zip(letters, options))
    parse = mmmu_robust_choice if mode == "robust" else mmmu_official_choice
    return parse(response, letters, index2ans, rng)


def _score_row(
    response: str, row: Mapping[str, Any], rng: random.Random, mode: str
) -> tuple[Any, dict[str, Any]]:
    """Parsed answer and outcome of one row."""
    gold = gold_answers(row["answer"])
    if row["question_type"] == "multiple-choice":
        choice = parse_choice(response, row, rng, mode)
        return choice.letter, {"score": float(choice.letter in gold), "method": choice.method}
    candidates = parse_open_response(response, mode)
    return candidates, {"score": float(open_answer_correct(gold, candidates)), "method": "open"}


class MMMUScorer:
    """MMMU's official scoring: letter or open-answer parse, instance-level accuracy."""

    name = "mmmu"
    modes = ("official", "robust")
    streaming = False  # the official random fallback is one stream over all rows

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        """Parse replies in the official order, mark them, and compute accuracy."""
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        parsed: list[Any] = [None] * len(rows)
        per_sample: list[Any] = [None] * len(rows)
        stream = random.Random(ctx.seed)
        for i in sorted(range(len(rows)), key=lambda i: official_order_key(rows[i]["id"])):
            rng = random.Random(question_seed(ctx.seed, rows[i]["id"])) if ctx.mode == "robust" else stream
            parsed[i], per_sample[i] = _score_row(str(responses[i]), rows[i], rng, ctx.mode)
        metrics, breakdown = self.aggregate(rows, per_sample, ctx)
        seeding = (
            "per question: random.Random(int(sha256(f'{seed}:{id}')[:8 bytes]))"
            if ctx.mode == "robust"
            else "one random.Random(seed) stream in official order (subject, question number)"
        )
        info = {
            "parser": ctx.mode,
            "seed": ctx.seed,
            "seeding": seeding,
            "random_fallbacks": sum(s["method"] == "random" for s in per_sample),
        }
        return ScoreResult(
            parsed=parsed, per_sample=per_sample, metrics=metrics, breakdown=breakdown, info=info
        )

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Instance-level accuracy overall, per subject and per official domain."""
        scores = [float(outcome["score"]) for outcome in per_sample]
        by_subject = group_by((subject_of(row["id"]) for row in rows), scores)
        breakdown = accuracy_breakdown(by_subject)
        for domain, subjects in DOMAINS.items():
            domain_scores = [x for s in subjects for x in by_subject.get(s, [])]
            if domain_scores:
                breakdown[f"Overall-{domain}"] = accuracy_entry(domain_scores)
        return {"accuracy": percent_mean(scores)}, breakdown

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        """MMMU questions are independent: each question id is its own unit."""
        return [str(row["id"]) for row in rows]


SCORER = MMMUScorer()
