"""Specification of evalkit.stats: grouped bootstrap errors, paired deltas and McNemar's test,
checked against closed-form answers."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from evalkit.scoring.base import ScoringContext
from evalkit.stats import (
    bootstrap_metrics,
    bootstrap_stderr,
    mcnemar_chi2,
    mcnemar_exact_p,
    mcnemar_test,
    paired_bootstrap_delta,
)

CTX = ScoringContext()


class MeanScorer:
    """Accuracy = 100 x mean of 0/1 outcomes; every row its own group."""

    name = "mean"
    modes = ("official",)
    streaming = True

    def aggregate(self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext):
        return {"accuracy": 100.0 * float(np.mean(per_sample))}, {}

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return [r["id"] for r in rows]


class PairScorer(MeanScorer):
    """MME-like: acc per question, acc_plus per image (both questions right). Rows are paired
    by their ``image`` column, so a group handed over twice would be merged into one."""

    name = "pairs"

    def aggregate(self, rows, per_sample, ctx):
        by_image: dict[str, list[float]] = {}
        for row, outcome in zip(rows, per_sample, strict=True):
            by_image.setdefault(row["image"], []).append(outcome)
        acc_plus = np.mean([all(v) for v in by_image.values()])
        return {"acc": 100.0 * float(np.mean(per_sample)), "acc_plus": 100.0 * float(acc_plus)}, {}

    def group_keys(self, rows):
        return [r["image"] for r in rows]


def bernoulli(p: float, n: int, seed: int) -> list[float]:
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def test_stderr_of_a_bernoulli_mean_matches_sqrt_p_q_over_n() -> None:
    outcomes = bernoulli(0.3, 2000, seed=1)
    rows = [{"id": i} for i in range(len(outcomes))]
    p = float(np.mean(outcomes))
    closed_form = 100 * math.sqrt(p * (1 - p) / len(outcomes))  # ~1.02 points
    summary = bootstrap_metrics(MeanScorer(), rows, outcomes, CTX, n_boot=2000, seed=0)
    assert summary.intervals["accuracy"].method == "bootstrap"
    assert summary.stderr["accuracy"] == pytest.approx(closed_form, rel=0.06)
    low, high = summary.intervals["accuracy"].low, summary.intervals["accuracy"].high
    assert low < 100 * p < high
    assert high - low == pytest.approx(2 * 1.96 * closed_form, rel=0.1)


def test_same_seed_same_errors_other_seed_other_errors() -> None:
    outcomes = bernoulli(0.5, 300, seed=2)
    rows = [{"id": i} for i in range(300)]
    a = bootstrap_stderr(MeanScorer(), rows, outcomes, CTX, n_boot=200, seed=7)
    b = bootstrap_stderr(MeanScorer(), rows, outcomes, CTX, n_boot=200, seed=7)
    c = bootstrap_stderr(MeanScorer(), rows, outcomes, CTX, n_boot=200, seed=8)
    assert a == b
    assert a != c


def test_groups_are_resampled_whole() -> None:
    # | image | q1 | q2 |  both questions of an image share the outcome, so the effective
    # | 0..N  | x  | x  |  sample size is the number of images, not of questions
    per_image = bernoulli(0.6, 800, seed=3)
    rows = [{"image": f"img{i // 2}"} for i in range(1600)]
    outcomes = [per_image[i // 2] for i in range(1600)]
    p = float(np.mean(outcomes))
    se = bootstrap_metrics(PairScorer(), rows, outcomes, CTX, n_boot=1000, seed=0).intervals
    assert se["acc"].stderr == pytest.approx(100 * math.sqrt(p * (1 - p) / 800), rel=0.08)
    assert se["acc_plus"].stderr == pytest.approx(100 * math.sqrt(p * (1 - p) / 800), rel=0.12)


def test_acc_plus_error_is_not_shrunk_by_merged_duplicates() -> None:
    # independent questions: acc_plus ~ Bernoulli(q = p^2) over 1000 images
    outcomes = bernoulli(0.7, 2000, seed=4)
    rows = [{"image": f"img{i // 2}"} for i in range(2000)]
    by_image = np.asarray(outcomes).reshape(-1, 2).all(axis=1)
    q = float(by_image.mean())
    summary = bootstrap_metrics(PairScorer(), rows, outcomes, CTX, n_boot=1000, seed=1)
    assert summary.intervals["acc_plus"].method == "half-sample"  # not a mean of rows here
    assert summary.stderr["acc_plus"] == pytest.approx(100 * math.sqrt(q * (1 - q) / 1000), rel=0.12)


def test_strata_keep_their_sizes() -> None:
    # | category | outcome |   POPE-like: a split of all-right and a split of all-wrong.
    # | random   | 1 x 500 |   Stratified resampling keeps 500 of each, so accuracy is 50
    # | popular  | 0 x 500 |   in every replicate (stderr 0); unstratified it would be ~2.2.
    rows = [{"id": i, "category": "random" if i < 500 else "popular"} for i in range(1000)]
    outcomes = [1.0] * 500 + [0.0] * 500
    strata = [r["category"] for r in rows]
    stratified = bootstrap_metrics(MeanScorer(), rows, outcomes, CTX, n_boot=300, strata=strata)
    pooled = bootstrap_metrics(MeanScorer(), rows, outcomes, CTX, n_boot=300)
    assert stratified.stderr["accuracy"] == pytest.approx(0.0, abs=1e-9)
    assert pooled.stderr["accuracy"] == pytest.approx(100 * math.sqrt(0.25 / 1000), rel=0.12)


def test_pope_scorer_is_stratified_by_category_by_default() -> None:
    class PopeLike(MeanScorer):
        name = "pope"

    rows = [{"id": i, "category": "random" if i < 500 else "popular"} for i in range(1000)]
    summary = bootstrap_metrics(PopeLike(), rows, [1.0] * 500 + [0.0] * 500, CTX, n_boot=200)
    assert summary.n_strata == 2
    assert summary.stderr["accuracy"] == pytest.approx(0.0, abs=1e-9)


def test_summary_records_seed_and_method_for_results() -> None:
    rows = [{"id": i} for i in range(50)]
    info = bootstrap_metrics(MeanScorer(), rows, bernoulli(0.5, 50, 5), CTX, n_boot=100, seed=11).to_info()
    assert info == {
        "n_boot": 100,
        "n_half_samples": 0,
        "seed": 11,
        "n_groups": 50,
        "methods": {"accuracy": "bootstrap"},
    }


def test_paired_delta_of_a_run_with_itself_is_exactly_zero() -> None:
    rows = [{"image": f"img{i // 2}"} for i in range(200)]
    outcomes = bernoulli(0.5, 200, seed=6)
    deltas = paired_bootstrap_delta(PairScorer(), rows, outcomes, outcomes, CTX, n_boot=200).deltas
    for d in deltas.values():
        assert (d.delta, d.low, d.high) == (0.0, 0.0, 0.0)
        assert not d.excludes_zero


def test_paired_delta_interval_matches_the_stderr_of_mean_differences() -> None:
    # new = baseline with 60 of 1000 right answers turned wrong: delta -6 points, and the paired
    # stderr is that of the mean of per-sample differences d in {0, -1}: sqrt(var(d) / n)
    base = [1.0] * 700 + [0.0] * 300
    new = [0.0] * 60 + [1.0] * 640 + [0.0] * 300
    rows = [{"id": i} for i in range(1000)]
    d = np.asarray(new) - np.asarray(base)
    se = 100 * math.sqrt(d.var() / 1000)
    delta = paired_bootstrap_delta(MeanScorer(), rows, base, new, CTX, n_boot=2000, seed=3).deltas["accuracy"]
    assert delta.delta == pytest.approx(-6.0)
    assert delta.method == "bootstrap"
    assert (delta.high - delta.low) == pytest.approx(2 * 1.96 * se, rel=0.12)
    assert delta.excludes_zero


def test_paired_delta_of_a_group_metric_uses_half_samples() -> None:
    rows = [{"image": f"img{i // 2}"} for i in range(1000)]
    base = [1.0] * 1000
    new = [0.0, 1.0] * 100 + [1.0] * 800  # 100 of 500 images lose one question: acc_plus -20
    delta = paired_bootstrap_delta(PairScorer(), rows, base, new, CTX, n_boot=300).deltas["acc_plus"]
    assert delta.method == "half-sample"
    assert delta.delta == pytest.approx(-20.0)
    se = 100 * math.sqrt(0.2 * 0.8 / 500)
    assert delta.high - delta.low == pytest.approx(2 * 1.96 * se, rel=0.15)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 0, 1.0),  # nothing flipped: no evidence, no division by zero
        (0, 5, 2 / 32),  # binomial(5, 1/2): P(X <= 0) = 1/32, two-sided
        (1, 9, 2 * 11 / 1024),  # P(X <= 1) = (1 + 10) / 2^10
        (7, 7, 1.0),  # balanced flips
    ],
)
def test_mcnemar_exact_p_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact_p(b, c) == pytest.approx(p)


def test_mcnemar_continuity_corrected_statistic() -> None:
    # (|10 - 25| - 1)^2 / 35 = 5.6; chi2(1) survival at 5.6 = 0.017966
    stat, p = mcnemar_chi2(10, 25)
    assert stat == pytest.approx(5.6)
    assert p == pytest.approx(0.017966, abs=1e-5)


def test_mcnemar_test_counts_discordant_pairs_and_picks_the_method() -> None:
    # | baseline | 1 1 0 0 1 |
    # | new      | 1 0 1 1 1 |  b (only baseline right) = 1, c (only new right) = 2
    small = mcnemar_test([1, 1, 0, 0, 1], [1, 0, 1, 1, 1])
    assert (small.only_baseline, small.only_new, small.method) == (1, 2, "exact")
    assert small.p_value == pytest.approx(1.0)
    large = mcnemar_test([1] * 40 + [0] * 10, [0] * 40 + [1] * 10)
    assert large.method == "chi2-cc"
    assert large.statistic == pytest.approx((30 - 1) ** 2 / 50)
    assert large.p_value < 1e-4


def test_unscored_samples_are_left_out_of_a_plain_mean() -> None:
    # VQA-style: a None outcome is skipped by the scorer, so the fast path must skip it too
    class SkipNone(MeanScorer):
        def aggregate(self, rows, per_sample, ctx):
            scored = [v for v in per_sample if v is not None]
            return {"accuracy": 100.0 * float(np.mean(scored))}, {}

    outcomes: list[float | None] = [None if i % 4 == 0 else float(i % 2) for i in range(1200)]
    rows = [{"id": i} for i in range(1200)]
    summary = bootstrap_metrics(SkipNone(), rows, outcomes, CTX, n_boot=1000)
    assert summary.intervals["accuracy"].method == "bootstrap"
    assert summary.intervals["accuracy"].value == pytest.approx(100 * 600 / 900)
    p = 600 / 900
    assert summary.stderr["accuracy"] == pytest.approx(100 * math.sqrt(p * (1 - p) / 900), rel=0.1)


def test_real_mme_scorer_gets_grouped_errors_for_its_summed_score() -> None:
    from evalkit.scoring import get_scorer

    scorer = get_scorer("mme")
    # 200 images of "color", two questions each (one yes, one no); replies right ~70% of the time
    rows = [
        {
            "question_id": f"img{i // 2}.jpg",
            "question": "Is it red?",
            "answer": ("Yes", "No")[i % 2],
            "category": "color",
        }
        for i in range(400)
    ]
    right = bernoulli(0.7, 400, seed=9)
    replies = [
        row["answer"] if ok else ("No" if row["answer"] == "Yes" else "Yes") for row, ok in zip(rows, right)
    ]
    per_sample = scorer.score(rows, replies, CTX).per_sample
    summary = bootstrap_metrics(scorer, rows, per_sample, CTX, n_boot=300, seed=0)
    assert summary.n_groups == 200
    perception = summary.intervals["perception"]
    assert perception.method == "half-sample"
    # score = acc + acc_plus; by the delta method its stderr is that of the per-image mean of
    # (right answers / 2 + both right), in points
    per_image = np.asarray(right).reshape(-1, 2)
    unit = 100 * (per_image.mean(axis=1) + per_image.all(axis=1))
    assert perception.stderr == pytest.approx(unit.std(ddof=1) / math.sqrt(200), rel=0.2)
