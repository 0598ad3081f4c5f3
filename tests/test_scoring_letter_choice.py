"""Letter accuracy for ScienceQA, AI2D and SEED-Bench: official rules (and variants) and robust.

Each table row is a reply and its outcome under every parser mode, worked out by hand from the
official code (LLaVA eval_science_qa.py and convert_seed_for_submission.py, lmms-eval's
scienceqa / ai2d / seedbench task code); see evalkit/parsing/letters.py for the rules.
"""

from __future__ import annotations

import pytest

from evalkit.parsing.letters import letter_of, numpy_lower
from evalkit.parsing.robust_letter import robust_choice_letter
from evalkit.scoring.base import ScoringContext, get_scorer

ANIMALS = ("cat", "dog", "bird")  # gold B ("dog")
COUNTS = ("one", "two", "three", "four")  # gold B ("two")

# reply, choices, LLaVA (official), lmms_eval, lmms_eval_2024, robust
SCIENCEQA = [
    ("", ANIMALS, 0, 0, 0, 0),
    ("B", ANIMALS, 1, 1, 1, 1),
    ("  B \n", ANIMALS, 1, 1, 1, 1),  # stripped first (model_vqa_science.py / the lmms-eval framework)
    ("B.", ANIMALS, 0, 1, 0, 1),  # LLaVA needs "B. " plus text; lmms-eval 2024 compared "b." whole
    ("B. dog", ANIMALS, 1, 1, 0, 1),
    ("B.dog", ANIMALS, 0, 1, 0, 1),  # LLaVA wants ". " after the letter
    ("b", ANIMALS, 0, 1, 1, 1),  # LLaVA accepts capitals only
    ("b.", ANIMALS, 0, 0, 0, 1),
    ("(B)", ANIMALS, 0, 0, 0, 1),
    ("B) dog", ANIMALS, 0, 0, 0, 1),
    ("Ｂ", ANIMALS, 0, 0, 0, 1),  # full-width letter: NFKC in robust only
    ("The answer is B.", ANIMALS, 1, 0, 0, 1),
    ("The answer is B", ANIMALS, 0, 0, 0, 1),  # LLaVA's regex needs one character after the letter
    ("The answer is (B).", ANIMALS, 0, 0, 0, 1),
    ("The answer is A. The answer is B.", ANIMALS, 0, 0, 0, 0),  # two matches: FAILED / ambiguous
    ("A or B", ANIMALS, 0, 0, 0, 0),  # several letters: wrong, not the first
    ("E", ANIMALS, 0, 0, 0, 0),  # a letter past the 3 choices: LLaVA's index is -1
    ("dog", ANIMALS, 0, 0, 0, 1),  # the option's text
    ("B\n\nThe dog is the only animal that barks.", ANIMALS, 0, 0, 0, 1),
    ("A dog sits by a cat on the mat, so the answer is B.", ANIMALS, 0, 0, 0, 1),  # "the", not "The"
    ("2", COUNTS, 0, 0, 0, 1),  # a digit naming the option "two"
    ("two", COUNTS, 0, 0, 0, 1),
]


def _score(task: str, rows: list[dict], replies: list[str], mode: str) -> list[float]:
    result = get_scorer(task).score(rows, replies, ScoringContext(mode=mode))
    return [s["score"] for s in result.per_sample]


@pytest.mark.parametrize(
    ("mode", "column"), [("official", 2), ("lmms_eval", 3), ("lmms_eval_2024", 4), ("robust", 5)]
)
def test_scienceqa_letter_table(mode: str, column: int) -> None:
    rows = [{"choices": list(choices), "answer": 1} for _, choices, *_ in SCIENCEQA]
    replies = [t[0] for t in SCIENCEQA]
    assert _score("scienceqa", rows, replies, mode) == [float(t[column]) for t in SCIENCEQA]


LEAF = ("leaf", "stem", "root", "flower")  # gold "1" -> B ("stem")

# reply, options, official (lmms-eval filter + exact_match), robust
AI2D = [
    ("", LEAF, 0, 0),
    ("B", LEAF, 1, 1),
    ("B.", LEAF, 1, 1),  # the filter keeps the capital of "X."
    ("B. stem", LEAF, 1, 1),
    ("b", LEAF, 1, 1),  # exact_match ignores case
    (" b.", LEAF, 1, 1),  # no filter match (lower case); "." is punctuation, deleted
    ("(B)", LEAF, 1, 1),  # brackets are punctuation too
    ("**B**", LEAF, 1, 1),
    ("B\x00", LEAF, 1, 1),  # numpy drops a trailing NUL
    ("B ,", LEAF, 0, 1),  # "b " keeps its space: numpy compares it with "b"
    ("B) stem", LEAF, 0, 1),  # ")" goes, " stem" stays
    ("B stem", LEAF, 0, 1),
    ("Ｂ", LEAF, 0, 1),  # lower-cased to a full-width "ｂ"
    ("The answer is B", LEAF, 0, 1),
    ("A or B", LEAF, 0, 0),
    ("A. leaf\nB. stem", LEAF, 0, 0),  # official reads A; robust: two listed options
    ("stem", LEAF, 0, 1),
    ("Looking at the diagram, water rises through the stem from the roots. B", LEAF, 0, 1),
    ("2", COUNTS, 0, 1),
]


@pytest.mark.parametrize(("mode", "column"), [("official", 2), ("robust", 3)])
def test_ai2d_letter_table(mode: str, column: int) -> None:
    rows = [{"options": list(options), "answer": "1"} for _, options, *_ in AI2D]
    replies = [t[0] for t in AI2D]
    assert _score("ai2d", rows, replies, mode) == [float(t[column]) for t in AI2D]


# reply, official (lmms-eval: first character), llava (exact letter), robust; options COUNTS, gold B
SEEDBENCH = [
    ("", 0, 0, 0),
    ("B", 1, 1, 1),
    ("\n B\n", 1, 1, 1),
    ("B.", 1, 0, 1),
    ("B) two", 1, 0, 1),
    ("b", 1, 0, 1),
    ("(B)", 0, 0, 1),
    ("Ｂ", 0, 0, 1),
    ("The answer is B", 0, 0, 1),
    ("Answer: B", 0, 0, 1),  # official reads "A"
    ("A or B", 0, 0, 0),
    ("B or C", 1, 0, 0),  # official reads the first character; robust: two letters, wrong
    ("Because there are three", 1, 0, 0),  # "B"ecause; robust names option C
    ("banana", 1, 0, 0),
    ("two", 0, 0, 1),
    ("2", 0, 0, 1),
    ("There are two apples on the table, so the answer is B.", 0, 0, 1),
]


@pytest.mark.parametrize(("mode", "column"), [("official", 1), ("llava", 2), ("robust", 3)])
def test_seedbench_letter_table(mode: str, column: int) -> None:
    row = {
        **dict(zip(("choice_a", "choice_b", "choice_c", "choice_d"), COUNTS)),
        "answer": "B",
        "question_type_id": 5,
    }
    replies = [t[0] for t in SEEDBENCH]
    assert _score("seedbench", [row] * len(replies), replies, mode) == [float(t[column]) for t in SEEDBENCH]


def test_scorers_offer_official_robust_and_named_variants() -> None:
    assert get_scorer("scienceqa").modes == ("official", "robust", "lmms_eval", "lmms_eval_2024")
    assert get_scorer("ai2d").modes == ("official", "robust")
    assert get_scorer("seedbench").modes == ("official", "robust", "llava")


def test_scienceqa_breakdown_by_subject_grade_group_and_context() -> None:
    rows = [
        {"choices": ["x", "y"], "answer": 1, "subject": "natural science", "grade": "grade2", "hint": "", "has_image": True},
        {"choices": ["x", "y"], "answer": 0, "subject": "natural science", "grade": "grade7", "hint": "Read.", "has_image": True},
        {"choices": ["x", "y"], "answer": 1, "subject": "language science", "grade": "grade12", "hint": "", "has_image": False},
        {"choices": ["x", "y"], "answer": 1, "subject": "social science", "grade": "grade6", "hint": "A map."},
    ]  # fmt: skip
    result = get_scorer("scienceqa").score(rows, ["B", "B", "B", "A"], ScoringContext())
    assert result.metrics == {"accuracy": 50.0}
    accuracy = {key: (value["accuracy"], value["n"]) for key, value in result.breakdown.items()}
    assert accuracy == {
        "subject/natural science": (50.0, 2.0), "subject/language science": (100.0, 1.0),
        "subject/social science": (0.0, 1.0), "grade/G1-6": (50.0, 2.0), "grade/G7-12": (50.0, 2.0),
        "context/TXT": (0.0, 2.0), "context/IMG": (50.0, 2.0), "context/NO": (100.0, 1.0),
    }  # fmt: skip
    assert result.parsed == ["B", "B", "B", "A"] and result.info["unparsed"] == 0


def test_seedbench_breakdown_names_the_dimensions() -> None:
    row = {"choice_a": "a", "choice_b": "b", "choice_c": "c", "choice_d": "d"}
    rows = [{**row, "answer": "B", "question_type_id": t} for t in (1, 1, 9, 3)]
    result = get_scorer("seedbench").score(rows, ["B", "C", "B", "B"], ScoringContext())
    assert result.metrics == {"accuracy": 75.0}
    assert {k: v["accuracy"] for k, v in result.breakdown.items()} == {
        "Scene Understanding": 50.0, "Text Understanding": 100.0, "Instance Attributes": 100.0,
    }  # fmt: skip


def test_scores_do_not_depend_on_row_order() -> None:
    rows = [{"options": list(LEAF), "answer": a} for a in "0123"]
    replies = ["A", "b.", "(A)", "D"]
    scorer = get_scorer("ai2d")
    forward = scorer.score(rows, replies, ScoringContext())
    backward = scorer.score(rows[::-1], replies[::-1], ScoringContext())
    assert forward.metrics == backward.metrics == {"accuracy": 75.0}
    assert forward.per_sample == backward.per_sample[::-1]
    assert scorer.aggregate(rows, forward.per_sample, ScoringContext()) == (
        forward.metrics,
        forward.breakdown,
    )


@pytest.mark.parametrize(
    ("task", "row", "message"),
    [
        ("ai2d", {"options": ["a", "b"], "question": "Q?"}, "'answer'"),
        ("scienceqa", {"choices": ["a", "b"], "answer": 2}, "outside the 2 choices"),
        (
            "seedbench",
            {"choice_a": "1", "choice_b": "2", "choice_c": "3", "choice_d": "4", "answer": "E"},
            "A-D",
        ),
        ("seedbench", {"choice_a": "1", "choice_b": "2", "choice_c": "3", "answer": "A"}, "'choice_d'"),
    ],
)
def test_bad_rows_fail_with_a_message_naming_the_column(task: str, row: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_scorer(task).score([row], ["A"], ScoringContext())


def test_numpy_lower_and_letter_of_match_the_comparison_they_stand_for() -> None:
    assert numpy_lower("Bİ") == "bi" and numpy_lower("ΑΣ") == "ασ"
    assert [letter_of(s) for s in ("b", "B", "bb", "", "ｂ", "1")] == ["B", None, None, None, None, None]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("cat food", "C"),  # "cat" only inside the longer option "cat food"
        ("A cat, not cat food", None),  # both named on their own
        ("A small cat sits on the mat", "A"),  # "A" is the article; the text names "cat"
        ("A is right", "A"),
        ("I think it is D", "D"),  # the pronoun "I" is no option letter
        ("B. Not (A), the dog barks", "B"),
        ("(A) cat (B) dog", None),  # an echoed option list
        ("the answer is a dog", "B"),  # "a" is an article; "dog" names B
        ("Answer: (b)", "B"),
    ],
)
def test_robust_reading_of_articles_lists_and_nested_option_texts(reply: str, letter: str | None) -> None:
    assert (
        robust_choice_letter(reply, ["cat", "dog", "cat food", "bird", "fish", "owl", "ant", "bee", "ibis"])
        == letter
    )
