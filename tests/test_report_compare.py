"""Specification of `evalkit compare`: paired deltas, McNemar, flips and the CI exit codes
(0 no regression, 1 regression, ReportInputError -> 2 on bad input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evalkit.report import ReportInputError, compare_runs
from evalkit.report.compare import binary_outcomes
from evalkit.scoring import ScoringContext, get_scorer


class AccuracyScorer:
    """Accuracy = 100 x mean of 0/1 per-sample scores, one group per row."""

    name = "acc"
    modes = ("official", "robust")
    streaming = True

    def aggregate(self, rows, per_sample, ctx):
        return {"accuracy": 100.0 * float(np.mean([s["score"] for s in per_sample]))}, {}

    def group_keys(self, rows):
        return [r["id"] for r in rows]


def lookup(name: str) -> Any:
    assert name == "acc"
    return AccuracyScorer()


def write_run(folder: Path, outcomes: list[float], *, parser: str = "official", offset: int = 0) -> Path:
    """A run folder with one task ``toy`` whose sample i is right when outcomes[i] == 1."""
    folder.mkdir(parents=True)
    records = [
        {
            "doc_id": i + offset,
            "prompt": f"Is there a cat in picture {i + offset}?",
            "response": "yes" if o else "no",
            "parsed": "yes" if o else "no",
            "score": {"score": o},
            "error": None,
            "target": "yes",
            "timing": {},
            "fields": {"id": i + offset, "answer": "yes"},
        }
        for i, o in enumerate(outcomes)
    ]
    (folder / "toy.samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    accuracy = 100.0 * float(np.mean(outcomes))
    task = {"version": 1, "metrics": {"accuracy": accuracy}, "stderr": {}, "breakdown": {}, "n": len(outcomes),
            "n_errors": 0, "parser": parser, "dataset": {"source": "toy"}, "headline": "accuracy", "scorer": "acc"}  # fmt: skip
    results = {"evalkit_version": "0.1.0", "run_name": folder.name, "git_commit": "0123456789abcdef",
               "created": "2025-01-01T00:00:00+00:00", "model": {"name": "mock:yes"}, "seed": 1234,
               "libraries": {}, "tasks": {"toy": task}}  # fmt: skip
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def baseline_outcomes(n: int = 600, p: float = 0.75, seed: int = 0) -> list[float]:
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def flip(outcomes: list[float], right_to_wrong: int, wrong_to_right: int, seed: int = 1) -> list[float]:
    """Turn some right answers wrong and some wrong answers right, chosen at random."""
    rng = np.random.default_rng(seed)
    out = list(outcomes)
    right = [i for i, o in enumerate(out) if o == 1.0]
    wrong = [i for i, o in enumerate(out) if o == 0.0]
    for i in rng.choice(right, right_to_wrong, replace=False):
        out[i] = 0.0
    for i in rng.choice(wrong, wrong_to_right, replace=False):
        out[i] = 1.0
    return out


def test_a_run_compared_with_itself_passes_without_flips(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", baseline_outcomes())
    report = compare_runs(base, base, max_drop=0.0, seed=0, n_boot=200, scorers=lookup)
    delta = report.tasks[0].deltas["accuracy"]
    assert (delta.delta, delta.low, delta.high) == (0.0, 0.0, 0.0)
    assert report.exit_code == 0
    assert report.tasks[0].mcnemar is not None and report.tasks[0].mcnemar.p_value == 1.0
    assert report.tasks[0].flips == ()
    assert "no regression" in report.markdown and "No sample flipped" in report.markdown


def test_planted_regression_exits_1_and_lists_the_flips(tmp_path: Path) -> None:
    # 600 samples, ~450 right; the new run loses 60 right answers: accuracy -10 points
    outcomes = baseline_outcomes()
    base = write_run(tmp_path / "base", outcomes)
    new = write_run(tmp_path / "new", flip(outcomes, right_to_wrong=60, wrong_to_right=0))
    report = compare_runs(base, new, max_drop=1.0, seed=0, n_boot=500, scorers=lookup)
    delta = report.tasks[0].deltas["accuracy"]
    assert delta.delta == pytest.approx(-10.0)
    assert delta.high < 0
    assert report.exit_code == 1
    mcnemar = report.tasks[0].mcnemar
    assert mcnemar is not None and (mcnemar.only_baseline, mcnemar.only_new) == (60, 0)
    assert mcnemar.p_value < 1e-6
    assert len(report.tasks[0].flips) == 60
    assert all(f.baseline is True and f.new is False for f in report.tasks[0].flips)
    md = report.markdown
    assert "1 regression(s)" in md and "**REGRESSION**" in md and "60 samples flipped" in md


def test_noise_only_exits_0(tmp_path: Path) -> None:
    # 15 answers flip each way: the delta is 0 and its interval straddles zero
    outcomes = baseline_outcomes()
    base = write_run(tmp_path / "base", outcomes)
    new = write_run(tmp_path / "new", flip(outcomes, right_to_wrong=15, wrong_to_right=15))
    report = compare_runs(base, new, max_drop=1.0, seed=0, n_boot=500, scorers=lookup)
    delta = report.tasks[0].deltas["accuracy"]
    assert delta.delta == pytest.approx(0.0)
    assert delta.low < 0 < delta.high
    assert report.exit_code == 0
    assert len(report.tasks[0].flips) == 30


def test_a_significant_drop_within_max_drop_passes(tmp_path: Path) -> None:
    # | flips right->wrong | delta | --max-drop | exit |
    # | 18 of 600          | -3.0  | 5          | 0    |
    # | 18 of 600          | -3.0  | 1          | 1    |
    outcomes = baseline_outcomes()
    base = write_run(tmp_path / "base", outcomes)
    new = write_run(tmp_path / "new", flip(outcomes, right_to_wrong=18, wrong_to_right=0))
    lenient = compare_runs(base, new, max_drop=5.0, seed=0, n_boot=500, scorers=lookup)
    strict = compare_runs(base, new, max_drop=1.0, seed=0, n_boot=500, scorers=lookup)
    assert lenient.tasks[0].deltas["accuracy"].high < 0
    assert (lenient.exit_code, strict.exit_code) == (0, 1)
    assert "worse (within threshold)" in lenient.markdown


def test_only_shared_samples_are_compared(tmp_path: Path) -> None:
    outcomes = baseline_outcomes(n=400)
    base = write_run(tmp_path / "base", outcomes)
    new = write_run(tmp_path / "new", outcomes[100:], offset=100)  # new run skipped the first 100
    report = compare_runs(base, new, seed=0, n_boot=100, scorers=lookup)
    assert report.tasks[0].n_shared == 300
    assert report.tasks[0].deltas["accuracy"].delta == 0.0
    assert report.exit_code == 0


def test_runs_without_shared_samples_are_bad_input(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [1.0] * 10)
    new = write_run(tmp_path / "new", [1.0] * 10, offset=10)
    with pytest.raises(ReportInputError, match="share no samples") as err:
        compare_runs(base, new, scorers=lookup)
    assert err.value.exit_code == 2


def test_different_parser_modes_are_bad_input(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [1.0] * 10)
    new = write_run(tmp_path / "new", [1.0] * 10, parser="robust")
    with pytest.raises(ReportInputError, match=r"parser modes differ \(official vs robust\)"):
        compare_runs(base, new, scorers=lookup)


def test_missing_files_are_bad_input(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [1.0] * 10)
    with pytest.raises(ReportInputError, match="no results.json"):
        compare_runs(base, tmp_path / "nowhere", scorers=lookup)
    new = write_run(tmp_path / "new", [1.0] * 10)
    (new / "toy.samples.jsonl").unlink()
    with pytest.raises(ReportInputError, match="no toy.samples.jsonl"):
        compare_runs(base, new, scorers=lookup)


def test_same_doc_id_with_other_data_is_bad_input(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [1.0] * 10)
    new = write_run(tmp_path / "new", [1.0] * 10)
    lines = (new / "toy.samples.jsonl").read_text().replace('"answer": "yes"', '"answer": "no"')
    (new / "toy.samples.jsonl").write_text(lines)
    with pytest.raises(ReportInputError, match="different dataset fields"):
        compare_runs(base, new, scorers=lookup)


@pytest.mark.parametrize(
    ("per_sample", "expected"),
    [
        ([1.0, 0.0, 1.0], [True, False, True]),
        ([100.0, 0.0], [True, False]),
        ([{"pred": "yes", "score": 1.0}, {"pred": "no", "score": 0.0}], [True, False]),
        ([{"iou": 0.7, "hit": True}, {"iou": 0.1, "hit": False}], [True, False]),
        ([0.3, 1.0], None),  # VQA-style graded accuracy: no McNemar
        ([{"iou": 0.7}], None),
    ],
)
def test_binary_outcomes_recognise_right_wrong_scores(
    per_sample: list[Any], expected: list[bool] | None
) -> None:
    assert binary_outcomes(per_sample) == expected


def pope_run(folder: Path, responses: list[str]) -> Path:
    """A run folder scored by the real POPE scorer."""
    rows = [
        {"question_id": str(i), "question": f"Is there a dog {i}?", "answer": "yes" if i % 2 else "no",
         "category": ("adversarial", "popular", "random")[i % 3], "image_source": f"img{i}"}
        for i in range(len(responses))
    ]  # fmt: skip
    scored = get_scorer("pope").score(rows, responses, ScoringContext())
    folder.mkdir(parents=True)
    with (folder / "pope.samples.jsonl").open("w") as fh:
        for i, row in enumerate(rows):
            record = {"doc_id": i, "prompt": row["question"], "response": responses[i],
                      "parsed": scored.parsed[i], "score": scored.per_sample[i], "error": None,
                      "target": row["answer"], "timing": {}, "fields": row}  # fmt: skip
            fh.write(json.dumps(record) + "\n")
    task = {
        "metrics": scored.metrics,
        "parser": "official",
        "scorer": "pope",
        "headline": "f1",
        "n": len(rows),
    }
    (folder / "results.json").write_text(
        json.dumps({"run_name": folder.name, "model": {}, "tasks": {"pope": task}})
    )
    return folder


def test_real_pope_runs_always_yes_regresses_f1_but_not_yes_ratio(tmp_path: Path) -> None:
    truth = ["Yes" if i % 2 else "No" for i in range(300)]
    base = pope_run(tmp_path / "base", truth)  # a perfect model
    new = pope_run(tmp_path / "new", ["Yes"] * 300)  # says yes to everything
    report = compare_runs(base, new, max_drop=1.0, seed=0, n_boot=200)
    deltas = report.tasks[0].deltas
    assert deltas["accuracy"].delta == pytest.approx(-50.0)
    assert deltas["yes_ratio"].delta == pytest.approx(50.0)
    regressed = {d.metric for _, d in report.regressions()}
    assert {"accuracy", "precision", "f1"} <= regressed
    assert "yes_ratio" not in regressed and "recall" not in regressed
    assert report.exit_code == 1
