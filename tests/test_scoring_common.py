"""Shared scorer helpers: guarded percentages, grouping, input checks."""

from __future__ import annotations

import pytest

from evalkit.scoring.common import check_inputs, group_by, group_by_columns, percent, percent_mean


def test_percent_guards_an_empty_denominator() -> None:
    assert percent(1, 4) == 25.0
    assert percent(0, 0) == 0.0


def test_percent_mean_of_zero_one_outcomes() -> None:
    assert percent_mean([1, 0, 1, 1]) == 75.0
    assert percent_mean([0.1] * 10) == pytest.approx(10.0)


def test_group_by_skips_rows_without_a_key() -> None:
    assert group_by(["a", None, "b", "a"], [1, 2, 3, 4]) == {"a": [1, 4], "b": [3]}


def test_breakdowns_over_several_columns_are_named_column_slash_value() -> None:
    rows = [{"answer_type": "yes/no", "q": "x"}, {"answer_type": "number", "q": None}]
    groups = group_by_columns(rows, [1.0, 0.0], ["answer_type", "q"])
    assert groups == {"answer_type/yes/no": [1.0], "answer_type/number": [0.0], "q/x": [1.0]}


def test_check_inputs_names_the_scorer_and_the_problem() -> None:
    with pytest.raises(ValueError, match="pope: unknown mode 'lenient'"):
        check_inputs("pope", ("official", "robust"), "lenient", [1], ["a"])
    with pytest.raises(ValueError, match="pope: 2 rows but 1 responses"):
        check_inputs("pope", ("official", "robust"), "official", [1, 2], ["a"])
