"""Shared fixtures: offline environment, tiny parquet datasets with official schemas."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    """A real PNG image of one colour."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def write_parquet(
    folder: Path, split: str, rows: list[dict[str, Any]], image_columns: tuple[str, ...] = ("image",)
) -> Path:
    """Write rows as a HF-style parquet file (images as {"bytes", "path"} structs)."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    features = {}
    for name, values in columns.items():
        if name in image_columns:
            features[name] = datasets.Image()
            columns[name] = [{"bytes": v, "path": None} if isinstance(v, bytes) else v for v in values]
    ds = datasets.Dataset.from_dict(columns)
    for name, feature in features.items():
        ds = ds.cast_column(name, feature)
    path = folder / f"{split}-00000-of-00001.parquet"
    ds.to_parquet(str(path))
    return path


def pope_rows(n: int = 12) -> list[dict[str, Any]]:
    """POPE-schema rows: half yes, half no, across the three categories."""
    cats = ("adversarial", "popular", "random")
    return [
        {
            "id": str(i),
            "question_id": str(i),
            "question": f"Is there a thing number {i} in the image?",
            "answer": "yes" if i % 2 == 0 else "no",
            "image_source": f"img{i}",
            "category": cats[i % 3],
            "image": png_bytes((10 * i % 255, 100, 50)),
        }
        for i in range(n)
    ]


TINY_POPE_YAML = """
name: tiny_pope
description: A 12-row POPE-schema task built by the tests
version: 1
dataset:
  local: {data}
  split: test
  image_columns: [image]
prompt: "{{question}}\\nAnswer the question using a single word or phrase."
generation:
  max_new_tokens: 8
target: answer
scorer: pope
metrics: [accuracy, precision, recall, f1, yes_ratio]
headline: f1
variants:
  tiny_pope_random:
    filter: {{category: random}}
groups:
  tiny_all: [tiny_pope, tiny_pope_random]
"""


@pytest.fixture()
def tiny_task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A task folder with ``tiny_pope`` over 12 parquet rows, registered via EVALKIT_TASK_DIRS."""
    data = tmp_path / "data" / "tiny_pope"
    write_parquet(data, "test", pope_rows())
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "tiny_pope.yaml").write_text(TINY_POPE_YAML.format(data=data))
    monkeypatch.setenv("EVALKIT_TASK_DIRS", str(specs))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    return specs
