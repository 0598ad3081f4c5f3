"""Tiny copies of the official hub datasets, for end-to-end tests of the official tasks.

Each builder writes parquet files with exactly the columns and dtypes of the hub copy that the
task loads (the lmms-lab copies, google/docci), laid out as the hub repo lays them out
(``data/<split>-00000-of-00001.parquet``, MMBench's ``en/dev-...``), with real PIL images.
A decoy file of another split sits beside each one, so a loader that matches split files
wrongly changes the row count. Rows are chosen so that a *constant* mock reply gives a known,
non-trivial score; the tests in ``test_official_tasks_e2e.py`` hold the arithmetic.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import datasets
from datasets import Features, Image, Sequence, Value

S, I64 = Value("string"), Value("int64")

MME_FEATURES = Features({"question_id": S, "image": Image(), "question": S, "answer": S, "category": S})
POPE_FEATURES = Features(
    {
        "id": S,
        "question_id": S,
        "question": S,
        "answer": S,
        "image_source": S,
        "image": Image(),
        "category": S,
    }
)
MMBENCH_FEATURES = Features(
    {"index": I64, "question": S, "hint": S, "answer": S, "A": S, "B": S, "C": S, "D": S, "category": S,
     "image": Image(), "source": S, "L2-category": S, "comment": S, "split": S}
)  # fmt: skip
MMMU_FEATURES = Features(
    {"id": S, "question": S, "options": S, "explanation": S, **{f"image_{i}": Image() for i in range(1, 8)},
     "img_type": S, "answer": S, "topic_difficulty": S, "question_type": S, "subfield": S}
)  # fmt: skip
VQAV2_FEATURES = Features(
    {"question_type": S, "multiple_choice_answer": S,
     "answers": [{"answer": S, "answer_confidence": S, "answer_id": I64}],
     "image_id": I64, "answer_type": S, "question_id": I64, "question": S, "image": Image()}
)  # fmt: skip
REFCOCO_FEATURES = Features(
    {"question_id": S, "image": Image(), "question": S, "answer": Sequence(S),
     "segmentation": Sequence(Value("float32")), "bbox": Sequence(Value("float32")),
     "iscrowd": Value("int8"), "file_name": S}
)  # fmt: skip
COCO_CAP_FEATURES = Features(
    {"question_id": S, "image": Image(), "question": S, "answer": Sequence(S), "id": I64,
     "license": Value("int8"), "file_name": S, "coco_url": S, "height": Value("int32"),
     "width": Value("int32"), "date_captured": S}
)  # fmt: skip
DOCCI_FEATURES = Features({"image": Image(), "example_id": S, "description": S})


def image_bytes(color: tuple[int, int, int], size: tuple[int, int] = (32, 24), fmt: str = "PNG") -> bytes:
    """A real encoded image of one colour, ``size`` = (width, height)."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def image_cell(
    color: tuple[int, int, int], size: tuple[int, int] = (32, 24), fmt: str = "PNG"
) -> dict[str, Any]:
    """An HF ``Image`` cell as the hub parquet files store it."""
    return {"bytes": image_bytes(color, size, fmt), "path": None}


def write_hub_parquet(path: Path, rows: list[dict[str, Any]], features: Features) -> Path:
    """Write ``rows`` (every feature present) with the exact hub ``features`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    return path


def _shard(folder: Path, split: str) -> Path:
    return folder / "data" / f"{split}-00000-of-00001.parquet"


# ------------------------------------------------------------------------------------- MME
MME_IMAGES = (  # question_id (the image file), category, [(question, answer)] in file order
    ("existence/000000006040.jpg", "existence", [("Is there a train in this image?", "Yes")]),
    ("existence/000000008277.jpg", "existence", [("Is there a bed in this image?", "No")]),
    ("existence/000000006040.jpg", "existence", [("Is there a bed in this image?", "No")]),
    ("existence/000000008277.jpg", "existence", [("Is there a cup in this image?", "Yes")]),
    ("OCR/0001.jpg", "OCR", [("Is the word in the logo \"high\"?", "No"), ("Is the word in the logo \"low\"?", "Yes")]),
    ("code_reasoning/0020.png", "code_reasoning", [("Is the output of the code '5'?", "Yes"),
                                                    ("Is the output of the code '6'?", "No")]),
)  # fmt: skip


def build_mme(root: Path) -> Path:
    """``lmms-lab/MME`` test: 8 questions on 4 images (pairs share ``question_id``), not adjacent."""
    rows = [
        {"question_id": qid, "image": image_cell((len(qid) * 7 % 256, 90, 30)), "question": f"{q} Please answer yes or no.",
         "answer": a, "category": cat}
        for qid, cat, pairs in MME_IMAGES for q, a in pairs
    ]  # fmt: skip
    return write_hub_parquet(_shard(root / "MME", "test"), rows, MME_FEATURES).parents[1]


# ------------------------------------------------------------------------------------ POPE
POPE_ANSWERS = {"random": "yes yes yes no", "popular": "yes yes no no", "adversarial": "yes no no no"}


def build_pope(root: Path) -> Path:
    """``lmms-lab/POPE`` test: 12 questions, yes-heavy random, balanced popular, no-heavy adversarial."""
    rows = []
    for category, answers in POPE_ANSWERS.items():
        for answer in answers.split():
            n = len(rows)
            rows.append({"id": str(n), "question_id": str(n + 1), "question": f"Is there a thing{n} in the image?",
                         "answer": answer, "image_source": f"COCO_val2014_{n:012d}", "image": image_cell((n * 20, 0, 90)),
                         "category": category})  # fmt: skip
    return write_hub_parquet(_shard(root / "POPE", "test"), rows, POPE_FEATURES).parents[1]


# --------------------------------------------------------------------------------- MMBench
MMBENCH_GROUPS = (  # (options of the main row, right option, hint, category, L2-category)
    (("cat", "dog", "bird", "fish"), "cat", None, "attribute_recognition", "Coarse Perception"),
    (("cat", "dog", "bird", "fish"), "dog", "Look at the animal.", "image_scene", "Coarse Perception"),
    (("cat", "dog"), "cat", None, "attribute_recognition", "Coarse Perception"),
    (
        ("red", "green", "blue"),
        "red",
        "A colour question.",
        "image_scene",
        "Fine-grained Perception (single-instance)",
    ),
)


def mmbench_rows(groups: tuple = MMBENCH_GROUPS) -> list[dict[str, Any]]:
    """Each question and its circular copies: copy k has the options shifted by k (index k*1e6 + g)."""
    rows = []
    for g, (options, right, hint, category, l2) in enumerate(groups):
        for k in range(len(options)):
            shifted = options[k:] + options[:k]
            letters = dict(zip("ABCD", shifted))
            rows.append({"index": k * 1_000_000 + g, "question": f"Which is it? ({g})", "hint": hint,
                         "answer": "ABCD"[shifted.index(right)], **{c: letters.get(c) for c in "ABCD"},
                         "category": category, "image": image_cell((0, 60 * g, 200)), "source": "MMBench",
                         "L2-category": l2, "comment": None, "split": "dev"})  # fmt: skip
    return rows


def build_mmbench(root: Path) -> Path:
    """``lmms-lab/MMBench`` config ``en``, split dev (13 rows), as ``en/dev-...`` beside ``en/test-...``."""
    folder = root / "MMBench"
    write_hub_parquet(folder / "en" / "dev-00000-of-00001.parquet", mmbench_rows(), MMBENCH_FEATURES)
    decoy = [{**row, "answer": None, "split": "test"} for row in mmbench_rows(MMBENCH_GROUPS[:1])]
    write_hub_parquet(folder / "en" / "test-00000-of-00001.parquet", decoy, MMBENCH_FEATURES)
    return folder


# ------------------------------------------------------------------------------------ MMMU
MMMU_ROWS = (  # (id, question_type, answer), in file order (not the official scoring order)
    ("validation_Physics_1", "multiple-choice", "B"),
    ("validation_Biology_2", "open", "['Cat', 'feline']"),
    ("validation_Art_Theory_2", "multiple-choice", "B"),
    ("validation_Math_1", "multiple-choice", "C"),
    ("validation_Biology_1", "open", "cat"),
    ("validation_Art_Theory_1", "multiple-choice", "A"),
    ("validation_Biology_3", "open", "dog"),
)


def build_mmmu(root: Path) -> Path:
    """``lmms-lab/MMMU`` validation: 4 multiple-choice (4 options) and 3 open questions, 1-2 images."""
    rows = []
    for n, (qid, qtype, answer) in enumerate(MMMU_ROWS):
        two = qid.endswith("_1")  # the "_1" questions show two images
        images = {f"image_{i}": None for i in range(1, 8)}
        images["image_1"] = image_cell((n * 30, 10, 10))
        if two:
            images["image_2"] = image_cell((10, n * 30, 10), (20, 20))
        question = "<image 1> <image 2> Which one matches?" if two else "<image 1> What animal is this?"
        options = "['1', '2', '3', '4']" if qtype == "multiple-choice" else "[]"
        rows.append({"id": qid, "question": question, "options": options, "explanation": "", **images,
                     "img_type": "['Photographs']", "answer": answer, "topic_difficulty": "Easy",
                     "question_type": qtype, "subfield": "Test"})  # fmt: skip
    folder = root / "MMMU"
    write_hub_parquet(_shard(folder, "validation"), rows, MMMU_FEATURES)
    write_hub_parquet(_shard(folder, "dev"), rows[:2], MMMU_FEATURES)
    return folder


# ----------------------------------------------------------------------------------- VQAv2
VQAV2_ROWS = (  # (answer_type, the ten human answers)
    ("yes/no", ["yes"] * 10),
    ("yes/no", ["yes"] * 3 + ["no"] * 7),
    ("yes/no", ["Yes"] * 10),
    ("yes/no", ["Yes"] * 2 + ["yes"] * 8),
    ("yes/no", ["yes"] + ["no"] * 9),
    ("number", ["2"] * 10),
    ("other", ["yes."] * 4 + ["maybe"] * 6),
)


def vqa_answers(texts: list[str]) -> list[dict[str, Any]]:
    """The ten answer dicts of one question, ``answer_id`` 1..10 as in the VQA annotations."""
    return [{"answer": t, "answer_confidence": "yes", "answer_id": i} for i, t in enumerate(texts, start=1)]


def build_vqav2(root: Path) -> Path:
    """``lmms-lab/VQAv2`` validation (7 rows) beside a ``testdev`` file (no answers)."""
    rows = [
        {"question_type": "is the", "multiple_choice_answer": answers[0], "answers": vqa_answers(answers),
         "image_id": 1000 + n, "answer_type": atype, "question_id": 1000 * (1000 + n) + n,
         "question": f"Is it thing {n}?", "image": image_cell((n * 30, 200, 0))}
        for n, (atype, answers) in enumerate(VQAV2_ROWS)
    ]  # fmt: skip
    folder = root / "VQAv2"
    write_hub_parquet(_shard(folder, "validation"), rows, VQAV2_FEATURES)
    write_hub_parquet(_shard(folder, "testdev"), [{**r, "answers": []} for r in rows[:2]], VQAV2_FEATURES)
    return folder


# --------------------------------------------------------------------------------- RefCOCO
REFCOCO_ROWS = (  # ((image width, image height), bbox [x, y, w, h] in pixels)
    ((200, 100), [50.0, 25.0, 100.0, 50.0]),
    ((100, 200), [25.0, 50.0, 50.0, 100.0]),
    ((640, 480), [0.0, 0.0, 320.0, 240.0]),
    ((300, 300), [0.0, 0.0, 30.0, 30.0]),
    ((640, 480), [160.0, 120.0, 320.0, 240.0]),
    ((500, 250), [250.0, 125.0, 250.0, 125.0]),
)
REFCOCO_QUESTION = (
    "Please carefully observe the area circled in the image and come up with a caption for the area."
)


def refcoco_rows(geometry: tuple = REFCOCO_ROWS, tag: str = "val") -> list[dict[str, Any]]:
    """Rows without width/height columns (as on the hub): the hook reads them from the image."""
    return [
        {"question_id": f"{tag}{n}", "image": image_cell((n * 40, 120, 60), size, "JPEG"), "question": REFCOCO_QUESTION,
         "answer": [f"the block number {n}", f"block {n}"], "segmentation": [x, y, x + w, y, x + w, y + h],
         "bbox": [x, y, w, h], "iscrowd": 0, "file_name": f"COCO_train2014_{n:012d}_{n}.jpg"}
        for n, (size, (x, y, w, h)) in enumerate(geometry)
    ]  # fmt: skip


def build_refcoco(root: Path) -> Path:
    """``lmms-lab/RefCOCO``: val (6 rows), testA (2 rows) and test (1 row), files named as on the hub."""
    folder = root / "RefCOCO"
    write_hub_parquet(folder / "data" / "val-00000-of-00004.parquet", refcoco_rows(), REFCOCO_FEATURES)
    write_hub_parquet(
        folder / "data" / "testA-00000-of-00001.parquet",
        refcoco_rows(REFCOCO_ROWS[:2], "A"),
        REFCOCO_FEATURES,
    )
    write_hub_parquet(
        folder / "data" / "test-00000-of-00002.parquet", refcoco_rows(REFCOCO_ROWS[:1], "t"), REFCOCO_FEATURES
    )
    return folder


# -------------------------------------------------------------------------------- captions
CAPTION_REPLY = "A red square, on a white background."
CAPTION_MATCH = "A red square on a white background."  # the same 7 PTB tokens as the reply
CAPTION_OTHERS = (  # 7 PTB tokens each, none shared with the reply
    "Two brown dogs run through tall grass.",
    "An old man reads his newspaper indoors.",
    "Three green apples sit in wooden bowls.",
    "The children play football near the school.",
    "Several boats float by the quiet harbor.",
)


def build_docci(root: Path) -> Path:
    """DOCCI test as parquet (``image, example_id, description``): 3 matching and 3 other descriptions."""
    rows = [
        {"image": image_cell((200, 10, 10), (48, 32), "JPEG"), "example_id": f"test_{n:05d}",
         "description": CAPTION_MATCH if n < 3 else CAPTION_OTHERS[n - 3]}
        for n in range(6)
    ]  # fmt: skip
    folder = root / "docci"
    write_hub_parquet(_shard(folder, "test"), rows, DOCCI_FEATURES)
    train = [{**r, "example_id": r["example_id"].replace("test", "train")} for r in rows[:2]]
    write_hub_parquet(_shard(folder, "train"), train, DOCCI_FEATURES)
    return folder


def build_docci_release(
    folder: Path, splits: tuple[str, ...] = ("test", "test", "train", "qual_test")
) -> Path:
    """DOCCI as released: ``docci_descriptions.jsonlines`` beside ``images/``, one split column."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for n, split in enumerate(splits):
        name = f"{split}_{n:05d}.jpg"
        (folder / "images" / name).write_bytes(image_bytes((n * 50, 80, 80), (40, 30), "JPEG"))
        lines.append(
            {"example_id": name[:-4], "split": split, "image_file": name, "description": CAPTION_OTHERS[n]}
        )
    (folder / "docci_descriptions.jsonlines").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder


def coco_cap_rows(n_rows: int = 6, tag: str = "val") -> list[dict[str, Any]]:
    """Rows 0-2: one of the five references is the reply's caption; rows 3+: none shares a word."""
    rows = []
    for n in range(n_rows):
        refs = [CAPTION_MATCH, *CAPTION_OTHERS[:4]] if n < 3 else list(CAPTION_OTHERS)
        image_id = 139 + n
        rows.append({"question_id": f"{image_id:012d}.jpg", "image": image_cell((n * 30, 30, 200), (64, 48), "JPEG"),
                     "question": "Please carefully observe the image and come up with a caption for the image",
                     "answer": refs, "id": 100 * n, "license": 1, "file_name": f"{image_id:012d}.jpg",
                     "coco_url": f"http://images.cocodataset.org/{tag}2017/{image_id:012d}.jpg",
                     "height": 48, "width": 64, "date_captured": "2013-11-14 16:28:13"})  # fmt: skip
    return rows


def build_coco_cap(root: Path) -> Path:
    """``lmms-lab/COCO-Caption2017`` val (6 images, 5 references each) beside a test file."""
    folder = root / "COCO-Caption2017"
    write_hub_parquet(folder / "data" / "val-00000-of-00002.parquet", coco_cap_rows(), COCO_CAP_FEATURES)
    write_hub_parquet(
        folder / "data" / "test-00000-of-00004.parquet", coco_cap_rows(2, "test"), COCO_CAP_FEATURES
    )
    return folder
