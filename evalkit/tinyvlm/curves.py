"""Loss curve of a training run: appended to ``loss.csv`` as it goes, drawn to ``loss.png``."""

from __future__ import annotations

import csv
from pathlib import Path

CSV_FIELDS = ("step", "loss", "lr", "tokens_per_s", "elapsed_s")


def append_row(path: Path, row: dict[str, float]) -> None:
    """Append one logged step; writes the header when the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row[k] for k in CSV_FIELDS})


def read_rows(path: Path) -> list[dict[str, float]]:
    """Rows of ``loss.csv`` as floats (empty when the file does not exist)."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def truncate_after(path: Path, step: int) -> None:
    """Drop rows logged after ``step`` (a resumed run re-logs them)."""
    rows = [r for r in read_rows(path) if r["step"] <= step]
    path.unlink(missing_ok=True)
    for row in rows:
        append_row(path, row)


def plot_losses(csv_path: Path, png_path: Path, title: str) -> None:
    """Draw loss against step (log-scale y) with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows(csv_path)
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
