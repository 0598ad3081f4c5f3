"""Tiny copies of ``lmms-lab/ChartQA`` for the ChartQA end-to-end tests.

The hub copy (built by lmms-eval's ``tasks/chartqa/upload_chartqa.py``) holds one split,
``data/test-00000-of-00001.parquet``, with the columns ``type`` (human_test / augmented_test),
``question``, ``answer`` (a string) and ``image``. A decoy ``train`` file sits beside it, so a
loader that matches split files wrongly changes the row count. Rows are chosen so that the
constant reply :data:`CHARTQA_REPLY` gives a known score (worked out in the e2e tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features, Image
from official_data import S, image_cell, write_hub_parquet

CHARTQA_FEATURES = Features({"type": S, "question": S, "answer": S, "image": Image()})
CHARTQA_REPLY = "12"
CHARTQA_ROWS = (  # (type, question, answer) in file order: the human questions first, as on the hub
    ("human_test", "How many bars are blue?", "12"),  # equal
    ("human_test", "What is the value of Japan?", "12.5"),  # |12 - 12.5| / 12.5 = 4% -> right
    ("human_test", "What is the highest value?", "11"),  # 1/11 = 9.1% -> wrong
    ("human_test", "Is the line increasing?", "Yes"),  # text -> wrong
    ("augmented_test", "What share of people agree?", "12%"),  # officially 0.12 -> wrong
    ("augmented_test", "What was the revenue in 2019?", "11.5"),  # 0.5/11.5 = 4.3% -> right
    ("augmented_test", "What is the difference between A and B?", "0"),  # compared as text -> wrong
    ("augmented_test", "What is the code shown?", "1.2.3"),  # no number: text -> wrong
)


def chartqa_rows(table: tuple[tuple[str, str, str | None], ...] = CHARTQA_ROWS) -> list[dict[str, Any]]:
    """Hub-schema rows, each with a real PNG chart stand-in of its own colour."""
    return [
        {
            "type": kind,
            "question": question,
            "answer": answer,
            "image": image_cell((30 * n, 120, 200 - 20 * n)),
        }
        for n, (kind, question, answer) in enumerate(table)
    ]


def build_chartqa(root: Path, table: tuple[tuple[str, str, str | None], ...] = CHARTQA_ROWS) -> Path:
    """``lmms-lab/ChartQA`` as laid out on the hub under ``root/ChartQA``, plus a decoy train file."""
    folder = root / "ChartQA"
    write_hub_parquet(folder / "data" / "test-00000-of-00001.parquet", chartqa_rows(table), CHARTQA_FEATURES)
    decoy = chartqa_rows((("human_test", "A training question?", "7"),) * 2)
    write_hub_parquet(folder / "data" / "train-00000-of-00001.parquet", decoy, CHARTQA_FEATURES)
    return folder
