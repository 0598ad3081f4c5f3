"""Tiny copies of lmms-lab/textvqa, lmms-lab/OK-VQA and lmms-lab/GQA for end-to-end tests.

Same idea as ``official_data.py``: parquet files with exactly the hub columns and dtypes, laid
out as the hub repos lay them out, real PIL images, and a decoy beside each split file. GQA keeps
questions and images in separate configs (``testdev_balanced_instructions/``,
``testdev_balanced_images/``, each ``testdev-00000-of-00001.parquet``), joined on ``imageId`` =
``id``; decoy configs (``testdev_all_instructions/``, ``train_balanced_instructions/``) sit beside
them. Rows are chosen so that the constant reply :data:`REPLY` gives a known score; the
arithmetic is in ``test_official_vqa_family_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features, Image, Sequence, Value
from official_data import image_cell, write_hub_parquet

S, I32 = Value("string"), Value("int32")
REPLY = "Yes."

# lmms-lab/textvqa (dataset card, as duplicated in pppop7/textvqa)
TEXTVQA_FEATURES = Features(
    {"image_id": S, "question_id": I32, "question": S, "question_tokens": Sequence(S), "image": Image(),
     "image_width": I32, "image_height": I32, "flickr_original_url": S, "flickr_300k_url": S,
     "answers": Sequence(S), "image_classes": Sequence(S), "set_name": S, "ocr_tokens": Sequence(S)}
)  # fmt: skip
# lmms-lab/OK-VQA (dataset card)
OKVQA_FEATURES = Features(
    {"question_id": S, "image": Image(), "question": S, "answers": Sequence(S), "question_type": S,
     "answer_type": S}
)  # fmt: skip
# lmms-lab/GQA testdev_balanced_instructions / testdev_balanced_images (dataset card @ 6ac3999)
_OBJECTS = [{"objectId": S, "value": S}]
GQA_INSTRUCTION_FEATURES = Features(
    {"id": S, "imageId": S, "question": S, "answer": S, "fullAnswer": S, "isBalanced": Value("bool"),
     "groups": {"global": S, "local": S}, "entailed": S, "equivalent": S,
     "types": {"structural": S, "semantic": S, "detailed": S},
     "annotations": Sequence({"question": _OBJECTS, "answer": _OBJECTS, "fullAnswer": _OBJECTS}),
     "semantic": [{"operation": S, "argument": S, "dependencies": Sequence(I32)}], "semanticStr": S}
)  # fmt: skip
GQA_IMAGE_FEATURES = Features({"id": S, "image": Image()})

TEXTVQA_ROWS = (  # (question as stored, OCR tokens, the ten answers)
    ("what does the sign say?", ["STOP", "ahead"], ["yes"] * 10),
    ("is this a NIKE shoe?", ["nike"], ["Yes"] * 3 + ["no"] * 7),
    ("what brand is it?", [], ["yes."] * 2 + ["No"] * 8),
    ("Is it open?", ["OPEN", "24h"], ["YES!"] + ["nope"] * 9),
    ("what is written here?", ["joe's"], ["joe's"] * 10),
)
OKVQA_ROWS = (  # the ten answers (five annotators, each twice)
    ["yes"] * 10,
    ["Yes"] * 10,
    ["yes"] * 4 + ["no"] * 6,
    ["yes"] * 2 + ["no"] * 8,
    ["yes."] * 5 + ["no"] * 5,
    ["unanswerable"] * 10,
)
GQA_IMAGES = {"n1": (32, 24), "n2": (40, 20), "n3": (24, 36)}  # imageId -> image size
GQA_ROWS = (  # (id, imageId, answer, structural, semantic, isBalanced), in file order
    ("201", "n2", "yes", "verify", "attr", True),
    ("202", "n1", "no", "verify", "rel", True),
    ("203", "n3", "yes", "logical", "obj", True),
    ("204", "n2", "left", "choose", "rel", True),
    ("205", "n1", "table", "query", "cat", True),
    ("206", "n3", "yes", "compare", "attr", True),
    ("207", "n2", "yes", "verify", "attr", False),
)


def textvqa_rows(rows: tuple = TEXTVQA_ROWS) -> list[dict[str, Any]]:
    return [
        {"image_id": f"{n:016x}", "question_id": 34602 + n, "question": q, "question_tokens": q.rstrip("?").split(),
         "image": image_cell((n * 40, 90, 90)), "image_width": 32, "image_height": 24,
         "flickr_original_url": f"https://farm.example/{n}.jpg", "flickr_300k_url": f"https://farm.example/{n}_z.jpg",
         "answers": answers, "image_classes": ["Street sign"], "set_name": "val", "ocr_tokens": ocr}
        for n, (q, ocr, answers) in enumerate(rows)
    ]  # fmt: skip


def build_textvqa(root: Path, *, with_answers: bool = True) -> Path:
    """``lmms-lab/textvqa``: validation (5 rows) beside a test decoy; without ``answers`` on request."""
    folder = root / "textvqa"
    rows = textvqa_rows()
    features = TEXTVQA_FEATURES
    if not with_answers:
        rows = [{k: v for k, v in row.items() if k != "answers"} for row in rows]
        features = Features({k: v for k, v in TEXTVQA_FEATURES.items() if k != "answers"})
    write_hub_parquet(folder / "data" / "validation-00000-of-00001.parquet", rows, features)
    write_hub_parquet(folder / "data" / "test-00000-of-00001.parquet", rows[:2], features)
    return folder


def okvqa_rows() -> list[dict[str, Any]]:
    return [
        {"question_id": str(2971475 + n), "image": image_cell((200, n * 30, 40)), "question": f"What sport is {n}?",
         "answers": answers, "question_type": "other", "answer_type": "other"}
        for n, answers in enumerate(OKVQA_ROWS)
    ]  # fmt: skip


def build_okvqa(root: Path) -> Path:
    """``lmms-lab/OK-VQA``: val2014 in two shards (as on the hub) beside a train2014 decoy."""
    folder = root / "OK-VQA"
    rows = okvqa_rows()
    write_hub_parquet(folder / "data" / "val2014-00000-of-00002.parquet", rows[:4], OKVQA_FEATURES)
    write_hub_parquet(folder / "data" / "val2014-00001-of-00002.parquet", rows[4:], OKVQA_FEATURES)
    write_hub_parquet(folder / "data" / "train2014-00000-of-00001.parquet", rows[:1], OKVQA_FEATURES)
    return folder


def gqa_instruction_rows(rows: tuple = GQA_ROWS) -> list[dict[str, Any]]:
    return [
        {"id": qid, "imageId": image_id, "question": f"Question {qid}?", "answer": answer,
         "fullAnswer": f"It is {answer}.", "isBalanced": balanced, "groups": {"global": None, "local": "01-x"},
         "entailed": "[]", "equivalent": f"['{qid}']",
         "types": {"structural": structural, "semantic": semantic, "detailed": f"{structural}Detail"},
         "annotations": {"question": [], "answer": [], "fullAnswer": []},
         "semantic": [{"operation": "select", "argument": "thing", "dependencies": []}],
         "semanticStr": "select: thing"}
        for qid, image_id, answer, structural, semantic, balanced in rows
    ]  # fmt: skip


def build_gqa(root: Path) -> Path:
    """``lmms-lab/GQA``: the two testdev balanced configs (7 questions on 3 of 4 images) and decoys."""
    folder = root / "GQA"
    shard = "testdev-00000-of-00001.parquet"
    images = [{"id": image_id, "image": image_cell((k * 70, 20, 200), size)}
              for k, (image_id, size) in enumerate({**GQA_IMAGES, "n9": (8, 8)}.items())]  # fmt: skip
    write_hub_parquet(folder / "testdev_balanced_images" / shard, images, GQA_IMAGE_FEATURES)
    questions = gqa_instruction_rows()
    write_hub_parquet(folder / "testdev_balanced_instructions" / shard, questions, GQA_INSTRUCTION_FEATURES)
    write_hub_parquet(folder / "testdev_all_instructions" / shard, questions * 2, GQA_INSTRUCTION_FEATURES)
    write_hub_parquet(folder / "train_balanced_instructions" / "train-00000-of-00001.parquet", questions[:1],
                      GQA_INSTRUCTION_FEATURES)  # fmt: skip
    return folder
