"""Specification of `evalkit report`: one self-contained HTML file with metrics tables, plots and a
sample browser filterable to failures, checked in a real headless Chromium when one is installed."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from evalkit.report import ReportInputError, render_html_report, write_html_report
from evalkit.report.html import sample_outcome

POPE_SPLITS = {
    split: {"accuracy": acc, "precision": prec, "recall": rec, "f1": f1, "yes_ratio": yes}
    for split, acc, prec, rec, f1, yes in [
        ("adversarial", 70.0, 64.0, 90.0, 74.8, 70.3),
        ("popular", 78.0, 72.0, 90.0, 80.0, 62.5),
        ("random", 85.0, 81.0, 90.0, 85.3, 55.6),
    ]
}


def jpeg(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    return buf.getvalue()


def record(doc_id: int, response: str | None, score: Any, *, error: str | None = None) -> dict[str, Any]:
    return {"doc_id": doc_id, "prompt": f"Question {doc_id}?", "response": response, "parsed": response,
            "score": score, "error": error, "target": "yes", "timing": {}, "fields": {"id": doc_id}}  # fmt: skip


def entry(
    metrics: dict[str, float], headline: str, scorer: str, breakdown: dict | None = None
) -> dict[str, Any]:
    return {"version": 1, "metrics": metrics, "stderr": {headline: 0.8}, "breakdown": breakdown or {},
            "n": 4, "n_errors": 0, "parser": "official", "dataset": {"source": f"lmms-lab/{scorer}"},
            "generation": {}, "timing": {"wall_s": 1.0, "samples_per_s": 4.0}, "info": {},
            "headline": headline, "scorer": scorer}  # fmt: skip


def fabricate_run(root: Path) -> Path:
    """A run with POPE (splits), MME (subtasks), grounding (IoU) and caption tasks.

    | task      | samples: outcome                          | thumbnails |
    | pope      | 0 right, 1 wrong, 2 error, 3 right        | 0, 1       |
    | mme       | 0 right, 1 wrong                          | none       |
    | grounding | iou 0.9 (hit), 0.1 (miss), 0.6 (hit)      | none       |
    | caption   | graded 0.4 (partial)                      | none       |
    """
    run = root / "mock-yes_20250101"
    run.mkdir(parents=True)
    samples = {
        "pope": [record(0, "Yes", {"pred": "yes", "score": 1.0}), record(1, "<script>alert(1)</script>", {"pred": "yes", "score": 0.0}),
                 record(2, None, {"pred": "no", "score": 0.0}, error="CUDA out of memory"), record(3, "No", {"pred": "no", "score": 1.0})],
        "mme": [record(0, "Yes", {"score": 1.0}), record(1, "No", {"score": 0.0})],
        "grounding": [record(i, "(1,2),(3,4)", {"iou": iou, "hit": iou >= 0.5, "parse_failure": False}) for i, iou in enumerate([0.9, 0.1, 0.6])],
        "caption": [record(0, "a red square", 0.4)],
    }  # fmt: skip
    for task, records in samples.items():
        (run / f"{task}.samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "images" / "pope").mkdir(parents=True)
    (run / "images" / "pope" / "0.jpg").write_bytes(jpeg((200, 30, 30)))
    (run / "images" / "pope" / "1.jpg").write_bytes(jpeg((30, 30, 200)))
    mme_breakdown = {
        c: {"acc": a, "acc_plus": a - 10, "score": 2 * a - 10, "n": 2.0}
        for c, a in [("color", 90.0), ("OCR", 60.0)]
    }
    tasks = {
        "pope": entry({"accuracy": 77.7, "precision": 72.3, "recall": 90.0, "f1": 80.0, "yes_ratio": 62.8}, "f1", "pope", POPE_SPLITS),
        "mme": entry({"perception": 250.0, "cognition": 0.0}, "perception", "mme", mme_breakdown),
        "grounding": entry({"accuracy": 66.7, "miou": 53.3, "parse_failure_rate": 0.0}, "accuracy", "grounding"),
        "caption": entry({"CIDEr": 0.85, "BLEU-4": 0.21, "METEOR": 0.24, "ROUGE-L": 0.5}, "CIDEr", "caption"),
    }  # fmt: skip
    results = {"evalkit_version": "0.1.0", "run_name": run.name, "git_commit": "abc123", "created": "2025-01-01T00:00:00+00:00",
               "model": {"name": "mock:yes", "id": "mock"}, "seed": 1234, "libraries": {"numpy": "2.0"}, "tasks": tasks}  # fmt: skip
    (run / "results.json").write_text(json.dumps(results))
    return run


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The fabricated run's report, rendered once for the tests that only read it."""
    return render_html_report(fabricate_run(tmp_path_factory.mktemp("run")))


def sample_rows(page: str) -> list[str]:
    body = page.split('<table id="samples">', 1)[1]
    return re.findall(r"<tr class=[^>]*>", body)


def test_report_is_one_self_contained_file(tmp_path: Path) -> None:
    out = write_html_report(fabricate_run(tmp_path), tmp_path / "out" / "report.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)  # nothing fetched from outside
    assert re.findall(r'src="([^"]*)"', page) and all(
        s.startswith("data:image/") for s in re.findall(r'src="([^"]*)"', page)
    )


def test_report_defaults_to_the_run_folder(tmp_path: Path) -> None:
    run = fabricate_run(tmp_path)
    assert write_html_report(run) == run / "report.html"


def test_metrics_tables_show_values_with_stderr(page: str) -> None:
    assert "<td>f1</td><td>80.00 ± 0.80</td>" in page
    assert "<td>BLEU-4</td><td>0.21</td>" in page  # no stderr recorded: the value alone
    assert "<td>adversarial</td><td>70.00</td>" in page  # the POPE breakdown table


def test_plots_per_task_kind(page: str) -> None:
    # pope: splits chart; mme: subtask bars; grounding: IoU histogram; caption: metric bars
    sections = {
        name: page.split(f'id="task-{name}"')[1].split("<h2")[0]
        for name in ("pope", "mme", "grounding", "caption")
    }
    for name, section in sections.items():
        assert section.count('<img alt="plot" src="data:image/png;base64,') == 1, name


def test_sample_browser_marks_failures_and_embeds_thumbnails(page: str) -> None:
    rows = sample_rows(page)
    assert len(rows) == 10
    failures = [r for r in rows if 'data-fail="1"' in r]
    assert len(failures) == 5  # pope 1 (wrong) and 2 (error), mme 1, grounding 1, caption 0 (partial)
    assert page.count('<img alt="doc ') == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "ERROR: CUDA out of memory" in page


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"score": 1.0}, "right"),
        ({"score": 0.0}, "wrong"),
        ({"score": {"pred": "no", "score": 1.0}}, "right"),
        ({"score": {"iou": 0.2, "hit": False}}, "wrong"),
        ({"score": 0.6}, "partial"),  # VQA: 2 of 3 humans agreed
        ({"score": 1.0, "error": "timeout"}, "error"),
        ({"score": "n/a"}, "n/a"),
    ],
)
def test_sample_outcome(fields: dict[str, Any], outcome: str) -> None:
    assert sample_outcome({"doc_id": 0, **fields}) == outcome


def test_a_run_without_tasks_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"tasks": {}}))
    with pytest.raises(ReportInputError, match="holds no tasks"):
        render_html_report(tmp_path)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]  # fmt: skip
    try:
        return subprocess.run(
            [CHROMIUM or "chromium", *flags, *args], capture_output=True, text=True, timeout=60
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install -y chromium) to render the report"
)
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = write_html_report(fabricate_run(tmp_path), tmp_path / "report.html")
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert shot.is_file() and shot.stat().st_size > 20_000  # a blank page is a few kB
    # the inline script ran: it replaced the placeholder with a count, and #failures filtered
    assert "showing 5 of 10 samples" in chromium("--dump-dom", report.as_uri() + "#failures").stdout
