"""Plots for the HTML report, drawn with matplotlib's Agg renderer into ``data:`` PNG URIs.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot), so nothing global is touched and
no display is needed. Every function returns None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

POPE_SPLIT_METRICS = ("yes_ratio", "precision", "recall", "accuracy", "f1")
CAPTION_METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "spice")
MAX_BARS = 40


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # savefig renders PNG with Agg; no pyplot, no GUI

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def figure_data_uri(fig: Any) -> str:
    """The figure as a base64 PNG ``data:`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def pick_breakdown_metric(breakdown: Mapping[str, Mapping[str, float]], preferred: str | None) -> str | None:
    """``preferred`` (else score, accuracy, acc, f1) when most groups have it, else the metric
    most groups share (never the group size ``n``)."""
    counts: dict[str, int] = {}
    for metrics in breakdown.values():
        for name, value in metrics.items():
            counts[name] = counts.get(name, 0) + _finite(value)
    for choice in (preferred, "score", "accuracy", "acc", "f1"):
        if choice and counts.get(choice, 0) * 2 >= len(breakdown) > 0:
            return choice
    ranked = sorted((c, m) for m, c in counts.items() if c and m != "n")
    return ranked[-1][1] if ranked else None


def category_bars(breakdown: Mapping[str, Mapping[str, float]], metric: str | None, title: str) -> str | None:
    """Horizontal bars of ``metric`` per breakdown group (subtask, category), best on top."""
    metric = pick_breakdown_metric(breakdown, metric)
    if metric is None:
        return None
    items = sorted(((v[metric], g) for g, v in breakdown.items() if _finite(v.get(metric))), reverse=True)
    items = items[:MAX_BARS]
    if not items:
        return None
    fig = _figure(8, 0.9 + 0.28 * len(items))
    ax = fig.subplots()
    values, names = [v for v, _ in items][::-1], [g for _, g in items][::-1]
    ax.barh(names, values, color="#4c72b0")
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.1f}", va="center", fontsize=8)
    ax.set_xlabel(metric)
    ax.set_title(title, fontsize=10)
    ax.set_xlim(min(0.0, min(values)), max(values) * 1.12 if max(values) > 0 else 1.0)
    return figure_data_uri(fig)


def is_pope_breakdown(breakdown: Mapping[str, Mapping[str, float]]) -> bool:
    return bool(breakdown) and all({"yes_ratio", "precision", "recall"} <= set(v) for v in breakdown.values())


def pope_split_bars(breakdown: Mapping[str, Mapping[str, float]], title: str) -> str | None:
    """Grouped bars per POPE split: yes-ratio next to precision, recall, accuracy and F1."""
    if not is_pope_breakdown(breakdown):
        return None
    splits = sorted(breakdown)
    metrics = [m for m in POPE_SPLIT_METRICS if all(_finite(breakdown[s].get(m)) for s in splits)]
    fig = _figure(8, 3.4)
    ax = fig.subplots()
    width = 0.8 / len(metrics)
    for k, metric in enumerate(metrics):
        xs = [i + (k - (len(metrics) - 1) / 2) * width for i in range(len(splits))]
        ax.bar(xs, [breakdown[s][metric] for s in splits], width, label=metric)
    ax.axhline(50, color="grey", lw=0.8, ls="--")  # a balanced yes-ratio
    ax.set_xticks(range(len(splits)), splits)
    ax.set_ylim(0, 119)  # headroom for the legend above the bars
    ax.legend(fontsize=8, ncols=len(metrics), loc="upper center")
    ax.set_title(title, fontsize=10)
    return figure_data_uri(fig)


def iou_values(scores: Sequence[Any]) -> list[float]:
    """Per-sample IoUs from outcomes that carry an ``iou`` number (grounding)."""
    return [float(s["iou"]) for s in scores if isinstance(s, Mapping) and _finite(s.get("iou"))]


def iou_histogram(ious: Sequence[float], title: str, threshold: float = 0.5) -> str | None:
    """Histogram of per-sample IoU in [0, 1] with the hit threshold marked."""
    if not ious:
        return None
    fig = _figure(8, 3.0)
    ax = fig.subplots()
    ax.hist([min(max(v, 0.0), 1.0) for v in ious], bins=20, range=(0, 1), color="#55a868")
    ax.axvline(threshold, color="#c44e52", ls="--", label=f"IoU = {threshold}")
    hits = sum(v >= threshold for v in ious) / len(ious)
    ax.set_xlabel("IoU with the ground-truth box")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    ax.set_title(f"{title} ({100 * hits:.1f}% at IoU >= {threshold})", fontsize=10)
    return figure_data_uri(fig)


def caption_metric_bars(metrics: Mapping[str, float], title: str) -> str | None:
    """Bars of the caption metrics (BLEU-n, METEOR, ROUGE-L, CIDEr) a task reports."""
    names = [m for m in metrics if m.lower().replace("-", "_") in CAPTION_METRICS and _finite(metrics[m])]
    if not names:
        return None
    fig = _figure(6, 3.0)
    ax = fig.subplots()
    ax.bar(names, [metrics[m] for m in names], color="#8172b2")
    for x, m in enumerate(names):
        ax.text(x, metrics[m], f"{metrics[m]:.3g}", ha="center", va="bottom", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.margins(y=0.15)
    return figure_data_uri(fig)
