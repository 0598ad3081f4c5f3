"""ANLS: the DocVQA/RRC challenge script (official) and its documented fixes (robust)."""

from __future__ import annotations

import pytest

from evalkit.scoring.anls import anls_score, levenshtein, official_form, robust_form
from evalkit.scoring.base import ScoringContext, get_scorer

# (answers, reply, official, robust), worked out by hand from the challenge script:
# 1 - min over answers of distance(prepared answer, prepared reply) / max(len(raw answer.upper()),
# len(raw reply.upper())); a score below 0.5 becomes 0. Robust divides by the prepared lengths.
CASES = [
    (["Paris"], "", 0.0, 0.0),  # empty reply: 5 deletions over 5
    (["Paris"], "Paris", 1.0, 1.0),
    (["Paris"], "PARIS", 1.0, 1.0),  # case never matters
    (["Paris"], "Paris.", 1 - 1 / 6, 1.0),  # trailing period: one edit; robust drops it
    (["Paris"], "  Paris  ", 1.0, 1.0),  # distance 0 whatever the denominator
    (["3"], "three", 0.0, 0.0),  # number words are not converted
    (["42"], "The answer is 42.", 0.0, 0.0),  # extra explanation: 15 edits over 17
    (["1,250", "1250"], "1250", 1.0, 1.0),  # several answers: the best one counts
    (["abcd"], "abxy", 0.5, 0.5),  # 2 edits over 4: exactly 0.5 is kept
    (["abcde"], "abxyz", 0.0, 0.0),  # 3 edits over 5: 0.4 -> 0
    (["abcdef"], "abcxyz", 0.5, 0.5),
    (["abc"], "abcd", 0.75, 0.75),
    (["a"], " \n ", 1 - 1 / 3, 0.0),  # official: the raw whitespace inflates the denominator
    (["abc"], "abd" + " " * 10, 1 - 1 / 13, 1 - 1 / 3),  # padding counts officially
    (["12"], "１２", 0.0, 1.0),  # full-width digits: only NFKC folds them
    (["ﬁle"], "file", 0.5, 1.0),  # ligature: 2 edits over len("FILE") = 4; NFKC unfolds it
    (["straße"], "STRASSE", 1 - 2 / 7, 1.0),  # lower() keeps ß; casefold writes "ss"
    (["ßß"], "x", 0.5, 0.0),  # upper() makes "SSSS": 2 edits over 4
    (["café"], "cafe\u0301", 1 - 2 / 5, 1.0),  # composed vs decomposed é; NFKC composes
    (["New  York"], "new york", 1.0, 1.0),  # inner whitespace collapses in both modes
    (["N/A"], "n/a.", 0.75, 1.0),
]


@pytest.mark.parametrize(("answers", "reply", "official", "robust"), CASES)
def test_anls_example_table(answers: list[str], reply: str, official: float, robust: float) -> None:
    assert anls_score(reply, answers, "official") == pytest.approx(official)
    assert anls_score(reply, answers, "robust") == pytest.approx(robust)


def test_the_table_covers_at_least_fifteen_replies() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("abc", "abc", 0),
        ("ab", "ba", 2),
    ],
)
def test_levenshtein_counts_insertions_deletions_substitutions(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_preparation_of_each_mode() -> None:
    assert official_form("  New \t York\n") == "new york"
    assert robust_form(" ＮＥＷ  Ｙｏｒｋ. ") == "new york"
    assert robust_form("...") == ".."  # only one trailing period goes


def rows_of(*answers: list[str], types: tuple[list[str], ...] = ()) -> list[dict]:
    return [{"questionId": str(n), "answers": a, "question_types": types[n] if types else ["form"]}
            for n, a in enumerate(answers)]  # fmt: skip


def test_scorer_means_in_percent_and_breaks_down_by_question_type() -> None:
    rows = rows_of(["abcd"], ["x"], ["y"], types=(["form"], ["form", "table/list"], ["layout"]))
    result = get_scorer("anls").score(rows, ["abxy", "x", "z"], ScoringContext())
    assert result.per_sample == [0.5, 1.0, 0.0]
    assert result.metrics == {"anls": pytest.approx(50.0)}
    assert result.breakdown == {"form": {"anls": 75.0, "n": 2.0}, "table/list": {"anls": 100.0, "n": 1.0},
                                "layout": {"anls": 0.0, "n": 1.0}}  # fmt: skip
    assert result.parsed == ["abxy", "x", "z"]


def test_scorer_is_order_free_and_aggregate_recomputes() -> None:
    scorer = get_scorer("anls")
    rows, replies = rows_of(["abc"], ["de"], ["f"]), ["abd", "de", ""]
    forward = scorer.score(rows, replies, ScoringContext())
    backward = scorer.score(rows[::-1], replies[::-1], ScoringContext())
    assert forward.metrics == backward.metrics
    assert scorer.aggregate(rows, forward.per_sample, ScoringContext()) == (
        forward.metrics,
        forward.breakdown,
    )


def test_a_single_string_answer_column_is_accepted() -> None:
    result = get_scorer("anls").score([{"answer": "Paris"}], ["paris"], ScoringContext(mode="robust"))
    assert result.per_sample == [1.0]


def test_an_empty_answers_list_is_a_one_line_error_naming_the_row() -> None:
    with pytest.raises(ValueError, match=r"questionId='7' has an empty 'answers' list") as info:
        get_scorer("anls").score([{"questionId": "7", "answers": []}], ["x"], ScoringContext())
    assert "\n" not in str(info.value)


def test_a_row_without_answers_names_the_row_and_the_field() -> None:
    with pytest.raises(ValueError, match=r"row at position 1 has no 'answers' field"):
        get_scorer("anls").score([{"answers": ["a"]}, {"question": "?"}], ["a", "b"], ScoringContext())


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        get_scorer("anls").score(rows_of(["a"]), ["a"], ScoringContext(mode="lenient"))
