"""Uncertainty of evaluation metrics: grouped bootstrap standard errors, paired deltas, McNemar.

Every scheme resamples whole groups (``scorer.group_keys``: MME image pairs, MMBench circular
groups) separately inside strata (POPE's random / popular / adversarial splits), and is seeded.

* A metric that is a plain mean of a per-sample number (checked numerically against
  ``scorer.aggregate`` on the full data and on two random subsets, at scale 1 or 100) gets the
  textbook bootstrap with replacement, vectorised in numpy, with percentile intervals.
* Every other metric is recomputed by ``scorer.aggregate`` on random half-samples of the groups,
  drawn without replacement: the delete-d jackknife of Shao & Wu (1989) with d = n/2. A bootstrap
  with replacement would hand the scorer the same MME pair or MMBench circular group twice, and a
  scorer that pairs rows by their ids would merge the copies and shrink the error. Half-samples
  never repeat a group; their variance times m/(n-m) estimates the metric's variance (for a mean
  exactly s^2/n), and intervals are normal: value +/- z * stderr.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from evalkit.scoring.base import Scorer, ScoringContext

STRATA_COLUMNS: dict[str, str] = {"pope": "category"}
"""Scorer name -> column whose values are strata of fixed size by design (POPE: 3 x 3,000)."""

MAX_ROW_EVALS = 1_000_000
"""Budget of rows handed to ``aggregate`` by the half-sample path: n_boot shrinks (not below
200) on big tasks (POPE's 9,000 rows: 222 replicates, a few seconds) so a run's end is not
held up. Deterministic: it depends on sizes only."""


@dataclass(frozen=True)
class MetricInterval:
    """A metric's value, standard error and (1 - alpha) interval, and how they were made."""

    value: float
    stderr: float
    low: float
    high: float
    method: str  # "bootstrap" (plain means, with replacement) or "half-sample"


@dataclass(frozen=True)
class BootstrapSummary:
    """Intervals of every metric of a task plus what is needed to reproduce them."""

    intervals: dict[str, MetricInterval]
    n_boot: int
    seed: int
    n_groups: int
    n_strata: int
    n_half_samples: int = 0  # replicates of the half-sample path (0 when unused)

    @property
    def stderr(self) -> dict[str, float]:
        return {name: iv.stderr for name, iv in self.intervals.items()}

    def to_info(self) -> dict[str, Any]:
        """What results.json should record next to the standard errors."""
        methods = {name: iv.method for name, iv in self.intervals.items()}
        return {
            "n_boot": self.n_boot,
            "n_half_samples": self.n_half_samples,
            "seed": self.seed,
            "n_groups": self.n_groups,
            "methods": methods,
        }


@dataclass(frozen=True)
class DeltaInterval:
    """new - baseline for one metric on shared samples, with a paired (1 - alpha) interval."""

    metric: str
    baseline: float
    new: float
    low: float
    high: float
    method: str

    @property
    def delta(self) -> float:
        return self.new - self.baseline

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired 0/1 outcomes; b and c count the discordant pairs."""

    n: int
    only_baseline: int  # b: right in the baseline, wrong in the new run
    only_new: int  # c: wrong in the baseline, right in the new run
    statistic: float
    p_value: float
    method: str  # "exact" (binomial) or "chi2-cc" (continuity-corrected chi-square)


@dataclass(frozen=True)
class _Design:
    """Rows split into groups (resampled whole); groups split into strata (resampled apart)."""

    group_rows: tuple[np.ndarray, ...]
    strata: tuple[np.ndarray, ...]

    @property
    def n_groups(self) -> int:
        return len(self.group_rows)


def resampling_design(
    scorer: Scorer, rows: Sequence[Mapping[str, Any]], strata: Sequence[Hashable] | None
) -> _Design:
    """Groups from ``scorer.group_keys`` (ordered by key, so row order does not matter)."""
    keys = scorer.group_keys(rows)
    if len(keys) != len(rows):
        raise ValueError(f"{scorer.name}.group_keys returned {len(keys)} keys for {len(rows)} rows")
    members: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    ordered = sorted(members, key=repr)
    labels = list(strata) if strata is not None else [None] * len(rows)
    by_stratum: dict[Hashable, list[int]] = {}
    for g, key in enumerate(ordered):
        by_stratum.setdefault(labels[members[key][0]], []).append(g)
    return _Design(
        group_rows=tuple(np.asarray(members[k], dtype=np.int64) for k in ordered),
        strata=tuple(np.asarray(by_stratum[s], dtype=np.int64) for s in sorted(by_stratum, key=repr)),
    )


def default_strata(scorer: Scorer, rows: Sequence[Mapping[str, Any]]) -> list[Hashable] | None:
    """``scorer.strata_keys(rows)`` when the scorer has it, else the column in STRATA_COLUMNS."""
    method = getattr(scorer, "strata_keys", None)
    if callable(method):
        return list(method(rows))
    column = STRATA_COLUMNS.get(getattr(scorer, "name", ""))
    if column and rows and all(column in r for r in rows):
        return [r[column] for r in rows]
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and math.isfinite(float(value))


def _number_or_nan(value: Any) -> float:
    return float(value) if _is_number(value) else math.nan


def numeric_columns(per_sample: Sequence[Any]) -> dict[str, np.ndarray]:
    """Per-sample outcomes as number columns: ``{"": values}`` for numbers, one per numeric key
    for dicts; None (a sample not scored, e.g. VQA) becomes NaN and is left out of means."""
    if not per_sample:
        return {}
    if all(_is_number(v) or v is None for v in per_sample):
        column = np.asarray([_number_or_nan(v) for v in per_sample], dtype=float)
        return {"": column} if not np.isnan(column).all() else {}
    if not all(isinstance(v, Mapping) for v in per_sample):
        return {}
    keys = [k for k in per_sample[0] if all(_is_number(v.get(k)) for v in per_sample)]
    return {k: np.asarray([v[k] for v in per_sample], dtype=float) for k in keys}


def _mean(column: np.ndarray) -> float:
    finite = column[~np.isnan(column)]
    return float(finite.mean()) if len(finite) else math.nan


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _half_sample_rows(design: _Design, rng: np.random.Generator) -> np.ndarray:
    """Row indices of half of the groups of every stratum, drawn without replacement."""
    chosen: list[np.ndarray] = []
    for groups in design.strata:
        m = len(groups) // 2 if len(groups) > 1 else len(groups)
        chosen.extend(design.group_rows[g] for g in rng.choice(groups, size=m, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _half_sample_factor(design: _Design) -> float:
    """m / (n - m) over the strata that are resampled: rescales half-sample variance."""
    kept = sum(len(g) // 2 for g in design.strata if len(g) > 1)
    dropped = sum(len(g) - len(g) // 2 for g in design.strata if len(g) > 1)
    return kept / dropped if dropped else 0.0


def _aggregate(
    scorer: Scorer, rows: Sequence[Any], per_sample: Sequence[Any], ctx: ScoringContext, idx: np.ndarray
) -> dict[str, float]:
    """Metrics of the rows ``idx``; a resample where the scorer divides by zero (no positive
    prediction for a precision) leaves every metric of that replicate missing (NaN)."""
    try:
        metrics, _ = scorer.aggregate([rows[i] for i in idx], [per_sample[i] for i in idx], ctx)
    except ZeroDivisionError:
        return {}
    return metrics


def linear_metrics(
    scorer: Scorer,
    rows: Sequence[Mapping[str, Any]],
    per_sample: Sequence[Any],
    ctx: ScoringContext,
    design: _Design,
    seed: int,
) -> dict[str, tuple[str, float]]:
    """Metrics equal to scale x mean(column) (scale 1 or 100) -> (column, scale), verified on
    the full data and two random half-samples, so the fast path never guesses."""
    columns = numeric_columns(per_sample)
    full, _ = scorer.aggregate(rows, per_sample, ctx)
    found: dict[str, tuple[str, float]] = {}
    for metric, value in full.items():
        match = [(c, s) for c, col in columns.items() for s in (1.0, 100.0) if _close(value, s * _mean(col))]
        if match:
            found[metric] = match[0]
    rng = np.random.default_rng([seed, 1])
    for _ in range(2):
        if not found:
            break
        idx = _half_sample_rows(design, rng)
        sub = _aggregate(scorer, rows, per_sample, ctx, idx)
        found = {
            m: (c, s)
            for m, (c, s) in found.items()
            if m in sub and _close(sub[m], s * _mean(columns[c][idx]))
        }
    return found


def bootstrap_means(
    design: _Design, columns: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_boot, K) means of ``columns`` (N, K) over group-bootstrap replicates; NaN cells are
    left out of their column's mean."""
    present = ~np.isnan(columns)
    values = np.where(present, columns, 0.0)
    sums = np.stack([values[r].sum(axis=0) for r in design.group_rows])  # (G, K)
    counts = np.stack([present[r].sum(axis=0) for r in design.group_rows]).astype(float)  # (G, K)
    num = np.zeros((n_boot, columns.shape[1]))
    den = np.zeros((n_boot, columns.shape[1]))
    for groups in design.strata:
        chunk = max(1, 2_000_000 // max(1, len(groups) * columns.shape[1]))
        for start in range(0, n_boot, chunk):
            stop = min(n_boot, start + chunk)
            picked = groups[rng.integers(0, len(groups), size=(stop - start, len(groups)))]
            num[start:stop] += sums[picked].sum(axis=1)
            den[start:stop] += counts[picked].sum(axis=1)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def _percentile_interval(value: float, reps: np.ndarray, alpha: float) -> MetricInterval:
    stderr = float(np.std(reps, ddof=1)) if len(reps) > 1 else 0.0
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return MetricInterval(value, stderr, float(low), float(high), "bootstrap")


def _half_sample_interval(value: float, reps: np.ndarray, factor: float, alpha: float) -> MetricInterval:
    finite = reps[np.isfinite(reps)]
    if len(finite) < 2:
        return MetricInterval(value, math.nan, math.nan, math.nan, "half-sample")
    stderr = math.sqrt(factor * float(np.var(finite, ddof=1)))
    return MetricInterval(
        value, stderr, value - _z(alpha) * stderr, value + _z(alpha) * stderr, "half-sample"
    )


def _generic_boots(n_boot: int, n_rows: int) -> int:
    return max(min(n_boot, 200), min(n_boot, MAX_ROW_EVALS // max(1, n_rows // 2)))


def bootstrap_metrics(
    scorer: Scorer,
    rows: Sequence[Mapping[str, Any]],
    per_sample: Sequence[Any],
    ctx: ScoringContext,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    strata: Sequence[Hashable] | None = None,
) -> BootstrapSummary:
    """Standard errors and intervals of every metric ``scorer.aggregate`` reports (see module)."""
    if len(rows) != len(per_sample):
        raise ValueError(f"{len(rows)} rows but {len(per_sample)} per-sample outcomes")
    if not rows:
        return BootstrapSummary({}, n_boot, seed, 0, 0)
    design = resampling_design(scorer, rows, default_strata(scorer, rows) if strata is None else strata)
    full, _ = scorer.aggregate(rows, per_sample, ctx)
    linear = linear_metrics(scorer, rows, per_sample, ctx, design, seed)
    intervals: dict[str, MetricInterval] = {}
    if linear:
        columns = numeric_columns(per_sample)
        names = sorted(linear)
        matrix = np.stack([columns[linear[m][0]] for m in names], axis=1)
        reps = bootstrap_means(design, matrix, n_boot, np.random.default_rng(seed))
        for k, m in enumerate(names):
            intervals[m] = _percentile_interval(full[m], linear[m][1] * reps[:, k], alpha)
    rest = [m for m in full if m not in linear]
    n_half = _generic_boots(n_boot, len(rows)) if rest else 0
    rng = np.random.default_rng([seed, 2])
    boots = [_aggregate(scorer, rows, per_sample, ctx, _half_sample_rows(design, rng)) for _ in range(n_half)]
    for m in rest:
        reps = np.asarray([b.get(m, math.nan) for b in boots], dtype=float)
        intervals[m] = _half_sample_interval(full[m], reps, _half_sample_factor(design), alpha)
    ordered = {m: intervals[m] for m in full}
    return BootstrapSummary(ordered, n_boot, seed, design.n_groups, len(design.strata), n_half)


def bootstrap_stderr(
    scorer: Scorer,
    rows: Sequence[Mapping[str, Any]],
    per_sample: Sequence[Any],
    ctx: ScoringContext,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Bootstrap standard error of every metric (the ``stderr`` block of results.json)."""
    return bootstrap_metrics(scorer, rows, per_sample, ctx, n_boot=n_boot, seed=seed).stderr


@dataclass(frozen=True)
class PairedSummary:
    """Paired deltas of every metric both runs report, and what reproduces them."""

    deltas: dict[str, DeltaInterval]
    n_boot: int
    seed: int
    n_groups: int


def _delta(metric: str, base: float, new: float, interval: MetricInterval) -> DeltaInterval:
    return DeltaInterval(metric, base, new, interval.low, interval.high, interval.method)


def paired_bootstrap_delta(
    scorer: Scorer,
    rows: Sequence[Mapping[str, Any]],
    baseline: Sequence[Any],
    new: Sequence[Any],
    ctx: ScoringContext,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    strata: Sequence[Hashable] | None = None,
) -> PairedSummary:
    """Interval of new - baseline per metric, both runs resampled with the same groups (the
    samples are paired, so shared difficulty cancels): percentile bootstrap for plain means,
    half-sample normal interval otherwise (see module docstring)."""
    if not len(rows) == len(baseline) == len(new):
        raise ValueError(f"{len(rows)} rows, {len(baseline)} baseline and {len(new)} new outcomes")
    strata = default_strata(scorer, rows) if strata is None else strata
    design = resampling_design(scorer, rows, strata)
    base_full, _ = scorer.aggregate(rows, baseline, ctx)
    new_full, _ = scorer.aggregate(rows, new, ctx)
    names = [m for m in base_full if m in new_full]
    lin_b = linear_metrics(scorer, rows, baseline, ctx, design, seed) if rows else {}
    lin_n = linear_metrics(scorer, rows, new, ctx, design, seed) if rows else {}
    linear = [m for m in names if m in lin_b and m in lin_n and lin_b[m][1] == lin_n[m][1]]
    deltas: dict[str, DeltaInterval] = {}
    if linear:
        cols_b, cols_n = numeric_columns(baseline), numeric_columns(new)
        matrix = np.stack(
            [cols_b[lin_b[m][0]] for m in linear] + [cols_n[lin_n[m][0]] for m in linear], axis=1
        )
        reps = bootstrap_means(design, matrix, n_boot, np.random.default_rng(seed))
        for k, m in enumerate(linear):
            diff = lin_b[m][1] * (reps[:, len(linear) + k] - reps[:, k])
            deltas[m] = _delta(
                m, base_full[m], new_full[m], _percentile_interval(new_full[m] - base_full[m], diff, alpha)
            )
    rest = [m for m in names if m not in linear]
    if rest and rows:
        rng = np.random.default_rng([seed, 2])
        diffs: list[dict[str, float]] = []
        for _ in range(_generic_boots(n_boot, 2 * len(rows))):
            idx = _half_sample_rows(design, rng)
            b, n = _aggregate(scorer, rows, baseline, ctx, idx), _aggregate(scorer, rows, new, ctx, idx)
            diffs.append({m: n.get(m, math.nan) - b.get(m, math.nan) for m in rest})
        factor = _half_sample_factor(design)
        for m in rest:
            reps = np.asarray([d[m] for d in diffs], dtype=float)
            iv = _half_sample_interval(new_full[m] - base_full[m], reps, factor, alpha)
            deltas[m] = _delta(m, base_full[m], new_full[m], iv)
    return PairedSummary({m: deltas[m] for m in names}, n_boot, seed, design.n_groups)


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial(b + c, 1/2) tail at min(b, c), doubled."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def mcnemar_chi2(b: int, c: int) -> tuple[float, float]:
    """Continuity-corrected McNemar statistic (|b - c| - 1)^2 / (b + c) and its chi2(1) p-value."""
    if b + c == 0:
        return 0.0, 1.0
    stat = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    return stat, math.erfc(math.sqrt(stat / 2))


def mcnemar_test(
    baseline: Sequence[bool], new: Sequence[bool], *, exact: bool | None = None
) -> McNemarResult:
    """McNemar's test on paired right/wrong outcomes; exact when ``exact`` or, if None, when
    fewer than 25 pairs disagree (the usual rule), else continuity-corrected chi-square."""
    if len(baseline) != len(new):
        raise ValueError(f"{len(baseline)} baseline outcomes but {len(new)} new ones")
    b = sum(1 for x, y in zip(baseline, new, strict=True) if x and not y)
    c = sum(1 for x, y in zip(baseline, new, strict=True) if y and not x)
    use_exact = (b + c < 25) if exact is None else exact
    if use_exact:
        return McNemarResult(len(baseline), b, c, float(min(b, c)), mcnemar_exact_p(b, c), "exact")
    stat, p = mcnemar_chi2(b, c)
    return McNemarResult(len(baseline), b, c, stat, p, "chi2-cc")
