"""Comparing two runs on their shared samples: paired deltas, McNemar, flips, a CI verdict.

A metric *regresses* when it drops by more than ``max_drop`` points and its paired bootstrap
interval lies wholly below zero. Metrics without a better direction (POPE's yes_ratio) are
reported but never gate. Exit codes: 0 no regression, 1 regression; bad input raises
:class:`ReportInputError` (exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.report.runs import ReportInputError, Run, format_number, load_run, load_samples
from evalkit.scoring.base import Scorer, ScoringContext, get_scorer
from evalkit.stats import DeltaInterval, McNemarResult, mcnemar_test, paired_bootstrap_delta

CompareInputError = ReportInputError
"""The name the CLI catches for bad compare input (exit code 2)."""

NEUTRAL_METRICS = frozenset({"yes_ratio", "n"})
"""Metrics with no better direction: shown, never a regression."""

LOWER_IS_BETTER = frozenset({"parse_failure_rate", "error_rate"})
"""Metrics where a rise is the regression."""

TOLERANCE = 1e-9
"""Differences smaller than this are floating-point noise (a corpus metric summed in another
order), never a change."""

CORRECT_KEYS = ("correct", "score", "hit", "accuracy", "acc")
"""Keys of dict outcomes that hold a sample's right/wrong result, in order of preference."""


@dataclass(frozen=True)
class Flip:
    """A shared sample whose outcome changed between the runs."""

    doc_id: int
    baseline: Any
    new: Any
    target: Any
    baseline_response: str | None
    new_response: str | None


@dataclass(frozen=True)
class TaskComparison:
    task: str
    parser: str
    n_shared: int
    deltas: dict[str, DeltaInterval]
    mcnemar: McNemarResult | None
    flips: tuple[Flip, ...]
    binary: bool  # outcomes are right/wrong, so flips are right <-> wrong changes


@dataclass(frozen=True)
class CompareReport:
    """Everything ``evalkit compare`` prints; ``markdown`` suits a CI job summary."""

    baseline: Run
    new: Run
    tasks: tuple[TaskComparison, ...]
    only_in_one: tuple[str, ...]
    max_drop: float
    seed: int
    n_boot: int

    def regressions(self) -> list[tuple[str, DeltaInterval]]:
        return [(t.task, d) for t in self.tasks for d in t.deltas.values() if is_regression(d, self.max_drop)]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions() else 0

    @property
    def markdown(self) -> str:
        return compare_markdown(self)


def is_regression(delta: DeltaInterval, max_drop: float) -> bool:
    """Worse by more than ``max_drop`` points with the whole interval on the worse side of zero."""
    if delta.metric in NEUTRAL_METRICS:
        return False
    if delta.metric in LOWER_IS_BETTER:
        return delta.delta > max_drop + TOLERANCE and delta.low > TOLERANCE
    return delta.delta < -max_drop - TOLERANCE and delta.high < -TOLERANCE


def binary_outcomes(per_sample: Sequence[Any]) -> list[bool] | None:
    """Right/wrong per sample when outcomes are 0/1 (or 0/100) numbers, or dicts holding one
    under a CORRECT_KEYS key; None for graded outcomes (VQA's 0.3, an IoU)."""
    if per_sample and all(isinstance(v, Mapping) for v in per_sample):
        key = next((k for k in CORRECT_KEYS if all(k in v for v in per_sample)), None)
        return binary_outcomes([v[key] for v in per_sample]) if key else None
    if not per_sample or not all(isinstance(v, (int, float)) for v in per_sample):
        return None
    values = {float(v) for v in per_sample}
    for top in (1.0, 100.0):
        if values <= {0.0, top}:
            return [float(v) == top for v in per_sample]
    return None


def shared_samples(
    task: str, base: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[tuple[dict, dict]]:
    """Pairs of records with the same doc_id; the same doc_id with other dataset fields (another
    dataset or revision) is bad input."""
    by_id = {r["doc_id"]: r for r in new}
    pairs = [(b, by_id[b["doc_id"]]) for b in base if b["doc_id"] in by_id]
    if not pairs:
        raise ReportInputError(
            f"{task}: the runs share no samples (no common doc_id); compare runs of the same data"
        )
    for b, n in pairs:
        if (b.get("fields") or {}) != (n.get("fields") or {}):
            raise ReportInputError(
                f"{task}: doc_id {b['doc_id']} has different dataset fields in the two runs; "
                "they were made from different datasets or revisions"
            )
    return pairs


def _flips(pairs: list[tuple[dict, dict]], base: Sequence[Any], new: Sequence[Any]) -> tuple[Flip, ...]:
    return tuple(
        Flip(b["doc_id"], x, y, b.get("target"), b.get("response"), n.get("response"))
        for (b, n), x, y in zip(pairs, base, new, strict=True)
        if x != y
    )


def compare_task(
    task: str,
    base_run: Run,
    new_run: Run,
    scorers: Callable[[str], Scorer],
    *,
    n_boot: int,
    seed: int,
) -> TaskComparison:
    """Paired comparison of one task that both runs hold."""
    b_entry, n_entry = base_run.tasks[task], new_run.tasks[task]
    parser, other = str(b_entry.get("parser", "official")), str(n_entry.get("parser", "official"))
    if parser != other:
        raise ReportInputError(
            f"{task}: parser modes differ ({parser} vs {other}); re-score one run with the other's --parser"
        )
    name = b_entry.get("scorer") or (b_entry.get("info") or {}).get("scorer")
    if not name or name != (n_entry.get("scorer") or (n_entry.get("info") or {}).get("scorer")):
        raise ReportInputError(
            f"{task}: the runs name different or no scorers ({name!r}); cannot recompute metrics"
        )
    pairs = shared_samples(task, load_samples(base_run, task), load_samples(new_run, task))
    rows = [dict(b.get("fields") or {}) for b, _ in pairs]
    base_scores = [b.get("score") for b, _ in pairs]
    new_scores = [n.get("score") for _, n in pairs]
    ctx = ScoringContext(mode=parser, seed=int(base_run.results.get("seed", 42)))
    try:
        summary = paired_bootstrap_delta(
            scorers(str(name)), rows, base_scores, new_scores, ctx, n_boot=n_boot, seed=seed
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ReportInputError(
            f"{task}: scorer {name!r} cannot recompute metrics from the per-sample records ({exc})"
        ) from exc
    base_ok, new_ok = binary_outcomes(base_scores), binary_outcomes(new_scores)
    binary = base_ok is not None and new_ok is not None
    if base_ok is not None and new_ok is not None:
        flips = _flips(pairs, base_ok, new_ok)
        mcnemar = mcnemar_test(base_ok, new_ok)
    else:
        flips, mcnemar = _flips(pairs, base_scores, new_scores), None
    return TaskComparison(task, parser, len(pairs), summary.deltas, mcnemar, flips, binary)


def compare_runs(
    baseline: Path,
    new: Path,
    max_drop: float = 1.0,
    seed: int = 0,
    *,
    n_boot: int = 1000,
    scorers: Callable[[str], Scorer] = get_scorer,
) -> CompareReport:
    """Compare every task both run folders hold; raises ReportInputError on bad input."""
    if max_drop < 0:
        raise ReportInputError(f"--max-drop must be >= 0 points, got {max_drop}")
    base_run, new_run = load_run(baseline), load_run(new)
    shared = sorted(set(base_run.tasks) & set(new_run.tasks))
    if not shared:
        raise ReportInputError(
            f"the runs share no task ({', '.join(sorted(base_run.tasks)) or 'none'} vs "
            f"{', '.join(sorted(new_run.tasks)) or 'none'})"
        )
    tasks = tuple(compare_task(t, base_run, new_run, scorers, n_boot=n_boot, seed=seed) for t in shared)
    only = tuple(sorted(set(base_run.tasks) ^ set(new_run.tasks)))
    return CompareReport(base_run, new_run, tasks, only, max_drop, seed, n_boot)


MAX_FLIPS_SHOWN = 30


def _short(value: Any) -> str:
    """An outcome or target as compact text: strings as is, numbers to 4 significant digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _md(text: Any, limit: int = 80) -> str:
    """A table-safe snippet: one line, pipes escaped, cut at ``limit`` characters."""
    flat = " ".join(_short(text).split()) if text is not None else "—"
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return flat.replace("|", "\\|") or " "


def _verdict(d: DeltaInterval, max_drop: float) -> str:
    if d.metric in NEUTRAL_METRICS:
        return "not gated"
    if is_regression(d, max_drop):
        return "**REGRESSION**"
    if abs(d.delta) <= TOLERANCE:
        return "no change"
    if d.excludes_zero:
        better = (d.delta > 0) != (d.metric in LOWER_IS_BETTER)
        return "better" if better else "worse (within threshold)"
    return "no significant change"


def _run_line(label: str, run: Run) -> str:
    commit = str(run.results.get("git_commit") or "")[:10] or "no commit"
    return f"- {label}: `{run.name}` — model `{run.model}`, {commit}, {run.results.get('created', '?')}"


def _task_markdown(t: TaskComparison, max_drop: float) -> list[str]:
    lines = [f"### {t.task} (parser {t.parser}, {t.n_shared} shared samples)", ""]
    lines += ["| metric | baseline | new | delta | 95% CI | verdict |", "|---|---:|---:|---:|---|---|"]
    for d in t.deltas.values():
        ci = f"[{format_number(d.low)}, {format_number(d.high)}]"
        cells = [
            d.metric,
            format_number(d.baseline),
            format_number(d.new),
            f"{d.delta:+.2f}",
            ci,
            _verdict(d, max_drop),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if t.mcnemar is not None:
        m = t.mcnemar
        lines.append(
            f"McNemar ({m.method}): {m.only_baseline} right → wrong, {m.only_new} wrong → right, p = {m.p_value:.4g}."
        )
    kind = "flipped (right ↔ wrong)" if t.binary else "with a changed outcome"
    if not t.flips:
        lines += [f"No sample {kind}.", ""]
        return lines
    shown = sorted(t.flips, key=lambda f: (bool(f.new) if t.binary else 0, f.doc_id))[:MAX_FLIPS_SHOWN]
    lines += ["", f"<details><summary>{len(t.flips)} samples {kind}</summary>", ""]
    lines += [
        "| doc_id | baseline | new | target | baseline response | new response |",
        "|---:|---|---|---|---|---|",
    ]
    for f in shown:
        outcome = (lambda v: "right" if v else "wrong") if t.binary else (lambda v: _md(v, 30))
        cells = [str(f.doc_id), outcome(f.baseline), outcome(f.new), _md(f.target, 30)]
        lines.append("| " + " | ".join(cells + [_md(f.baseline_response), _md(f.new_response)]) + " |")
    more = len(t.flips) - len(shown)
    lines += (["", f"… and {more} more."] if more > 0 else []) + ["", "</details>", ""]
    return lines


def compare_markdown(report: CompareReport) -> str:
    """The report as GitHub-flavoured markdown (a CI job summary)."""
    regressions = report.regressions()
    status = f"❌ {len(regressions)} regression(s)" if regressions else "✅ no regression"
    lines = [
        f"## evalkit compare: {status}",
        "",
        _run_line("Baseline", report.baseline),
        _run_line("New", report.new),
        "",
    ]
    lines.append(
        f"A metric regresses when it drops by more than {report.max_drop:g} points and its paired 95% interval "
        f"excludes zero (bootstrap over shared samples, {report.n_boot} replicates, seed {report.seed})."
    )
    if regressions:
        lines += [""] + [
            f"- **{task} / {d.metric}**: {d.delta:+.2f} [{d.low:.2f}, {d.high:.2f}]"
            for task, d in regressions
        ]
    if report.only_in_one:
        lines += ["", f"Tasks in only one run (not compared): {', '.join(report.only_in_one)}."]
    lines.append("")
    for t in report.tasks:
        lines += _task_markdown(t, report.max_drop)
    return "\n".join(lines).rstrip() + "\n"
