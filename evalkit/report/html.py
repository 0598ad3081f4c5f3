"""The single-file HTML report of a run: metrics tables, plots and a sample browser.

Everything is inline (CSS, a little JavaScript, plots and thumbnails as ``data:`` URIs), so the
file can be mailed or uploaded as a CI artifact and opened offline. Thumbnails come from
``<run>/images/<task>/<doc_id>.jpg`` when the run saved them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.report import plots
from evalkit.report.compare import CORRECT_KEYS
from evalkit.report.leaderboard import headline_metric
from evalkit.report.runs import (
    MISSING,
    ReportInputError,
    Run,
    format_number,
    load_run,
    load_samples,
    thumbnail_data_uri,
)

MAX_SAMPLES_PER_KIND = 200
"""The browser keeps, per task, the first N failures and the first N other samples by doc_id."""

FAILURES = frozenset({"wrong", "partial", "error"})

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta td:first-child{font-weight:600}.plots img{max-width:100%;margin:6px 12px 6px 0}
#samples td{max-width:360px;overflow-wrap:anywhere;white-space:pre-wrap;font-size:12.5px}
#samples td:first-child{white-space:nowrap}#samples img{max-width:120px;max-height:120px}.right{background:#e8f5e9}.wrong,.error{background:#fdecea}
.partial{background:#fff8e1}.controls{margin:8px 0;display:flex;gap:16px;align-items:center}
"""

SCRIPT = """
const rows = Array.from(document.querySelectorAll('#samples tbody tr'));
const task = document.getElementById('task-filter'), fails = document.getElementById('failures-only');
const text = document.getElementById('text-filter'), counter = document.getElementById('sample-count');
function applyFilters() {
  const q = text.value.toLowerCase(); let shown = 0;
  for (const tr of rows) {
    const ok = (task.value === 'all' || tr.dataset.task === task.value)
      && (!fails.checked || tr.dataset.fail === '1') && (!q || tr.textContent.toLowerCase().includes(q));
    tr.style.display = ok ? '' : 'none'; shown += ok;
  }
  counter.textContent = `showing ${shown} of ${rows.length} samples`;
}
if (location.hash === '#failures') fails.checked = true;
for (const el of [task, fails, text]) el.addEventListener('input', applyFilters);
applyFilters();
"""


def html_page(title: str, body: str, script: str = "") -> str:
    """A complete standalone HTML document."""
    tail = f"<script>{script}</script>" if script else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}{tail}</body></html>\n"
    )


def sample_outcome(record: Mapping[str, Any]) -> str:
    """right / wrong / partial / error / n/a for one record's per-sample score."""
    if record.get("error"):
        return "error"
    score = record.get("score")
    if isinstance(score, Mapping):
        key = next((k for k in CORRECT_KEYS if k in score), None)
        score = score[key] if key else None
    if isinstance(score, bool):
        return "right" if score else "wrong"
    if not isinstance(score, (int, float)):
        return "n/a"
    return "wrong" if score <= 0 else "right" if score in (1, 100) else "partial"


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{thead}<tbody>{body}</tbody></table>'


def _with_stderr(task: Mapping[str, Any], metric: str) -> str:
    value, stderr = (task.get("metrics") or {}).get(metric), (task.get("stderr") or {}).get(metric)
    text = format_number(value)
    return text + (f" ± {format_number(stderr)}" if stderr is not None and text != MISSING else "")


def header_section(run: Run) -> str:
    r, model = run.results, run.results.get("model") or {}
    facts = [
        ("run", run.name),
        ("model", " · ".join(f"{k}={v}" for k, v in model.items() if v is not None) or MISSING),
        ("created", str(r.get("created", MISSING))),
        ("git commit", str(r.get("git_commit") or MISSING)),
        ("seed", str(r.get("seed", MISSING))),
        ("evalkit", str(r.get("evalkit_version", MISSING))),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (r.get("libraries") or {}).items()) or MISSING),
    ]
    return f"<h1>evalkit report: {html.escape(run.name)}</h1>" + _table([], facts, "meta")


def summary_section(run: Run) -> str:
    rows = []
    for name, t in sorted(run.tasks.items()):
        head = headline_metric(t) or MISSING
        timing, dataset = t.get("timing") or {}, t.get("dataset") or {}
        rows.append([
            name, head, _with_stderr(t, head), str(t.get("n", MISSING)), str(t.get("n_errors", 0)),
            str(t.get("parser", MISSING)), str(dataset.get("source") or MISSING),
            format_number(timing.get("samples_per_s")),
        ])  # fmt: skip
    header = ["task", "headline", "value ± stderr", "n", "errors", "parser", "dataset", "samples/s"]
    return "<h2>Summary</h2>" + _table(header, rows)


def _task_plots(name: str, task: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[str]:
    breakdown = task.get("breakdown") or {}
    uris = [
        plots.pope_split_bars(breakdown, f"{name}: yes-ratio, precision and recall per split"),
        plots.category_bars(breakdown, headline_metric(dict(task)), f"{name} per category")
        if breakdown and not plots.is_pope_breakdown(breakdown)
        else None,
        plots.iou_histogram(plots.iou_values([r.get("score") for r in records]), f"{name}: IoU"),
        plots.caption_metric_bars(task.get("metrics") or {}, f"{name}: caption metrics"),
    ]
    return [u for u in uris if u]


def task_section(name: str, task: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    metrics = task.get("metrics") or {}
    parts = [f'<h2 id="task-{html.escape(name)}">{html.escape(name)}</h2>']
    parts.append(_table(["metric", "value ± stderr"], [[m, _with_stderr(task, m)] for m in metrics]))
    breakdown = task.get("breakdown") or {}
    if breakdown:
        cols = list(dict.fromkeys(m for v in breakdown.values() for m in v))
        rows = [[g] + [format_number(v.get(m)) for m in cols] for g, v in sorted(breakdown.items())]
        parts.append("<h3>Breakdown</h3>" + _table(["group", *cols], rows))
    images = "".join(f'<img alt="plot" src="{u}">' for u in _task_plots(name, task, records))
    parts.append(f'<div class="plots">{images}</div>' if images else "")
    info = json.dumps(
        {k: task.get(k) for k in ("dataset", "generation", "timing", "info")}, indent=1, default=str
    )
    parts.append(f"<details><summary>settings</summary><pre>{html.escape(info)}</pre></details>")
    return "".join(parts)


def browser_records(records: Sequence[Mapping[str, Any]], limit: int) -> list[Mapping[str, Any]]:
    """The first ``limit`` failures and the first ``limit`` other records, in doc_id order."""
    failed = [r for r in records if sample_outcome(r) in FAILURES][:limit]
    others = [r for r in records if sample_outcome(r) not in FAILURES][:limit]
    return sorted(failed + others, key=lambda r: int(r["doc_id"]))


def _sample_row(run: Run, task: str, record: Mapping[str, Any]) -> str:
    outcome = sample_outcome(record)
    uri = thumbnail_data_uri(run, task, int(record["doc_id"]))
    thumb = f'<img alt="doc {record["doc_id"]}" src="{uri}">' if uri else MISSING
    response = record.get("response") if not record.get("error") else f"ERROR: {record['error']}"
    cells = [task, str(record["doc_id"])]
    cells_after = [
        record.get("prompt"),
        response,
        record.get("parsed"),
        record.get("target"),
        record.get("score"),
    ]
    text = "".join(f"<td>{html.escape(_text(c))}</td>" for c in cells)
    rest = "".join(f"<td>{html.escape(_text(c))}</td>" for c in cells_after)
    fail = "1" if outcome in FAILURES else "0"
    return (
        f'<tr class="{outcome}" data-task="{html.escape(task)}" data-fail="{fail}">{text}<td>{thumb}</td>{rest}'
        f"<td>{outcome}</td></tr>"
    )


def browser_section(run: Run, samples: Mapping[str, Sequence[Mapping[str, Any]]], limit: int) -> str:
    options = "".join(f'<option value="{html.escape(t)}">{html.escape(t)}</option>' for t in samples)
    controls = (
        '<div class="controls"><label>task <select id="task-filter"><option value="all">all</option>'
        f'{options}</select></label><label><input type="checkbox" id="failures-only"> failures only</label>'
        '<label>search <input id="text-filter" type="search"></label>'
        '<span id="sample-count">(filters need JavaScript)</span></div>'
    )
    header = ["task", "doc_id", "image", "prompt", "response", "parsed", "target", "score", "outcome"]
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        _sample_row(run, t, r) for t, records in samples.items() for r in browser_records(records, limit)
    )
    note = f"<p>Per task: the first {limit} failures and the first {limit} other samples, by doc_id.</p>"
    return f'<h2>Samples</h2>{note}{controls}<table id="samples"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html_report(run_dir: Path, *, max_samples: int = MAX_SAMPLES_PER_KIND) -> str:
    """The report of the run in ``run_dir`` as one self-contained HTML document."""
    run = load_run(run_dir)
    if not run.tasks:
        raise ReportInputError(f"{run_dir}/results.json holds no tasks: nothing to report")
    samples = {
        t: load_samples(run, t) for t in sorted(run.tasks) if (run.path / f"{t}.samples.jsonl").is_file()
    }
    sections = [header_section(run), summary_section(run)]
    sections += [task_section(t, run.tasks[t], samples.get(t, [])) for t in sorted(run.tasks)]
    sections.append(browser_section(run, samples, max_samples))
    return html_page(f"evalkit report: {run.name}", "".join(sections), SCRIPT)


def write_html_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report (default ``<run_dir>/report.html``) and return its path."""
    target = out or run_dir / "report.html"
    text = render_html_report(run_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
