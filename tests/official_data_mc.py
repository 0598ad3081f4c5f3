"""Tiny copies of the letter-answer multiple-choice hub datasets: ScienceQA-IMG, AI2D, SEED-Bench.

Each builder writes parquet files with the columns and dtypes of the ``lmms-lab`` copy the task
loads, laid out as the hub repo lays them out, with real PNG images, plus decoy files (another
split, another config, video rows) that a correct loader or filter leaves out. Rows are chosen
so that the constant reply "B" gives a known, non-trivial score; the arithmetic is in
``test_official_mc_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features, Image, Sequence, Value
from official_data import image_cell, write_hub_parquet

S = Value("string")
SCIENCEQA_FEATURES = Features(
    {"image": Image(), "question": S, "choices": Sequence(S), "answer": Value("int8"), "hint": S, "task": S,
     "grade": S, "subject": S, "topic": S, "category": S, "skill": S, "lecture": S, "solution": S}
)  # fmt: skip
AI2D_FEATURES = Features({"question": S, "options": Sequence(S), "answer": S, "image": Image()})
# lmms-lab/SEED-Bench's card does not list its features; these follow SEED-Bench.json's types.
SEEDBENCH_FEATURES = Features(
    {"answer": S, "choice_a": S, "choice_b": S, "choice_c": S, "choice_d": S, "data_id": S, "data_type": S,
     "question": S, "question_id": S, "question_type_id": Value("int64"), "image": Sequence(Image()),
     "segment": Sequence(Value("int64"))}
)  # fmt: skip

# ----------------------------------------------------------------------------------- ScienceQA
SCIENCEQA_ROWS = (  # subject, grade, hint, choices, answer index (a "B" reply is right when 1)
    ("natural science", "grade3", "", ("a rock", "a plant", "a cloud"), 1),
    ("natural science", "grade8", "A passage about magnets.", ("attract", "repel"), 0),
    ("social science", "grade5", "Look at the map.", ("Ohio", "Texas", "Maine", "Utah"), 1),
    ("language science", "grade10", "", ("one", "two", "three", "four", "five"), 4),
    ("social science", "grade11", "", ("yes", "no"), 1),
)


def scienceqa_rows(tag: str = "test") -> list[dict[str, Any]]:
    """ScienceQA-IMG rows (every row has an image, as in that config)."""
    return [
        {"image": image_cell((40 * n, 90, 140)), "question": f"Which one is it? ({tag} {n})", "choices": list(choices),
         "answer": answer, "hint": hint, "task": "closed choice", "grade": grade, "subject": subject,
         "topic": "science", "category": "Test category", "skill": "Test skill", "lecture": "", "solution": ""}
        for n, (subject, grade, hint, choices, answer) in enumerate(SCIENCEQA_ROWS)
    ]  # fmt: skip


def build_scienceqa(root: Path) -> Path:
    """``lmms-lab/ScienceQA``: ``ScienceQA-IMG/test`` (5 rows) beside its validation file and a
    ``ScienceQA-FULL/test`` file, each config in its own folder as on the hub."""
    folder = root / "ScienceQA"
    write_hub_parquet(
        folder / "ScienceQA-IMG" / "test-00000-of-00001.parquet", scienceqa_rows(), SCIENCEQA_FEATURES
    )
    decoy = scienceqa_rows("validation")[:2]
    write_hub_parquet(
        folder / "ScienceQA-IMG" / "validation-00000-of-00001.parquet", decoy, SCIENCEQA_FEATURES
    )
    write_hub_parquet(folder / "ScienceQA-FULL" / "test-00000-of-00001.parquet", decoy, SCIENCEQA_FEATURES)
    return folder


# ---------------------------------------------------------------------------------------- AI2D
AI2D_ROWS = (  # options, answer index as a string
    (("leaf", "stem", "root", "flower"), "1"),
    (("sun", "moon", "earth", "mars"), "0"),
    (("larva", "pupa", "adult", "egg"), "1"),
    (("herbivore", "carnivore", "producer", "decomposer"), "3"),
)


def ai2d_rows(answers: bool = True) -> list[dict[str, Any]]:
    return [
        {"question": f"Which part is labelled {n}?", "options": list(options), "answer": answer if answers else None,
         "image": image_cell((200, 30 * n, 60))}
        for n, (options, answer) in enumerate(AI2D_ROWS)
    ]  # fmt: skip


def build_ai2d(root: Path) -> Path:
    """``lmms-lab/ai2d`` test (4 rows) as ``data/test-...``, beside a decoy ``data/train-...``."""
    folder = root / "ai2d"
    write_hub_parquet(folder / "data" / "test-00000-of-00001.parquet", ai2d_rows(), AI2D_FEATURES)
    write_hub_parquet(folder / "data" / "train-00000-of-00001.parquet", ai2d_rows()[:1], AI2D_FEATURES)
    return folder


# ---------------------------------------------------------------------------------- SEED-Bench
SEEDBENCH_ROWS = (  # question_type_id, data_type, answer, frames (video rows carry several)
    (1, "image", "B", 1),
    (10, "video", "B", 3),
    (1, "image", "A", 1),
    (5, "image", "B", 1),
    (11, "video", "C", 3),
    (9, "image", "C", 1),
)


def seedbench_rows() -> list[dict[str, Any]]:
    return [
        {"answer": answer, "choice_a": "one", "choice_b": "two", "choice_c": "three", "choice_d": "four",
         "data_id": f"{n}.jpg" if kind == "image" else f"video{n}.mp4", "data_type": kind,
         "question": f"How many things are there? ({n})", "question_id": str(100 + n), "question_type_id": type_id,
         "image": [image_cell((10, 20 * n, 200)) for _ in range(frames)],
         "segment": [0, 30] if kind == "video" else None}
        for n, (type_id, kind, answer, frames) in enumerate(SEEDBENCH_ROWS)
    ]  # fmt: skip


def build_seedbench(root: Path) -> Path:
    """``lmms-lab/SEED-Bench`` test in two shards (image and video rows mixed), plus a decoy
    ``data/validation-...`` file."""
    folder = root / "SEED-Bench"
    rows = seedbench_rows()
    write_hub_parquet(folder / "data" / "test-00000-of-00002.parquet", rows[:3], SEEDBENCH_FEATURES)
    write_hub_parquet(folder / "data" / "test-00001-of-00002.parquet", rows[3:], SEEDBENCH_FEATURES)
    write_hub_parquet(folder / "data" / "validation-00000-of-00001.parquet", rows[:1], SEEDBENCH_FEATURES)
    return folder
