"""Tiny copies of ``echo840/OCRBench`` (test) and ``lmms-lab/DocVQA`` (config DocVQA, validation).

Columns and dtypes are those of the hub files (the OCRBench card, lmms-eval's
``upload_ocrbench.py``; the lmms-lab/DocVQA card), laid out as the hub repos lay them out:
``OCRBench/data/test-00000-of-00001.parquet`` and ``DocVQA/DocVQA/validation-0000k-of-00002.parquet``,
each beside decoy files of other splits (DocVQA's test split has no answers). Rows are chosen so
that the constant reply :data:`REPLY` gives a known, non-trivial score; the arithmetic is in
``test_official_ocr_docs_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features, Image, Sequence, Value
from official_data import image_cell, write_hub_parquet

S, I64 = Value("string"), Value("int64")
OCRBENCH_FEATURES = Features(
    {"dataset": S, "question": S, "question_type": S, "answer": Sequence(S), "image": Image()}
)
DOCVQA_FEATURES = Features(
    {"questionId": S, "question": S, "question_types": Sequence(S), "image": Image(), "docId": I64,
     "ucsf_document_id": S, "ucsf_document_page_no": S, "answers": Sequence(S), "data_split": S}
)  # fmt: skip
REPLY = "$50.54"  # also the total on the first shapes_docvqa invoice (seed 0)

OCRBENCH_ROWS = (  # (dataset, question_type, answers), in file order
    ("IIIT5K", "Regular Text Recognition", ["$50.54"]),
    ("ORAND", "Digit String Recognition", ["5"]),
    ("svt", "Irregular Text Recognition", ["CAFE"]),
    ("textVQA", "Scene Text-centric VQA", ["50.5"]),
    ("docVQA", "Doc-oriented VQA", ["$50.54", "50.54 dollars"]),
    ("SROIE", "Key Information Extraction", ["50,54"]),
    ("HME100k", "Handwritten Mathematical Expression Recognition", ["5 0 . 5 4"]),
    ("HME100k", "Handwritten Mathematical Expression Recognition", ["x^{2}"]),
)
DOCVQA_ROWS = (  # (questionId, question_types, answers): the first four in shard 0, the rest in shard 1
    ("49153", ["form"], ["$50.54"]),
    ("24580", ["table/list"], ["50.54"]),
    ("57349", ["form"], ["$50"]),
    ("3", ["layout"], ["50"]),
    ("65536", ["figure/diagram"], ["$5,054"]),
    ("8194", ["table/list", "form"], ["fifty dollars", "$50.54 USD"]),
)


def ocrbench_rows(table: tuple = OCRBENCH_ROWS) -> list[dict[str, Any]]:
    return [
        {"dataset": dataset, "question": f" what is written in the image? ({n})\n", "question_type": qtype,
         "answer": answers, "image": image_cell((n * 25, 80, 160), (40, 20))}
        for n, (dataset, qtype, answers) in enumerate(table)
    ]  # fmt: skip


def build_ocrbench(root: Path) -> Path:
    """``echo840/OCRBench`` test (8 rows over the 5 groups) beside a decoy ``train`` file."""
    folder = root / "OCRBench"
    write_hub_parquet(folder / "data" / "test-00000-of-00001.parquet", ocrbench_rows(), OCRBENCH_FEATURES)
    write_hub_parquet(
        folder / "data" / "train-00000-of-00001.parquet", ocrbench_rows()[:3], OCRBENCH_FEATURES
    )
    return folder


def docvqa_rows(table: tuple = DOCVQA_ROWS, split: str = "val") -> list[dict[str, Any]]:
    return [
        {"questionId": qid, "question": f"What is the total amount in row {n}?", "question_types": qtypes,
         "image": image_cell((240, 240, 230), (48, 64)), "docId": 1000 + n, "ucsf_document_id": f"xnbl{n:04d}",
         "ucsf_document_page_no": "2", "answers": answers if split != "test" else None, "data_split": split}
        for n, (qid, qtypes, answers) in enumerate(table)
    ]  # fmt: skip


def build_docvqa(root: Path) -> Path:
    """``lmms-lab/DocVQA`` config ``DocVQA``: validation in two shards, test (no answers) and train beside it."""
    folder = root / "DocVQA"
    config = folder / "DocVQA"
    rows = docvqa_rows()
    write_hub_parquet(config / "validation-00000-of-00002.parquet", rows[:4], DOCVQA_FEATURES)
    write_hub_parquet(config / "validation-00001-of-00002.parquet", rows[4:], DOCVQA_FEATURES)
    write_hub_parquet(
        config / "test-00000-of-00001.parquet", docvqa_rows(DOCVQA_ROWS[:2], "test"), DOCVQA_FEATURES
    )
    write_hub_parquet(
        config / "train-00000-of-00001.parquet", docvqa_rows(DOCVQA_ROWS[:3], "train"), DOCVQA_FEATURES
    )
    return folder
