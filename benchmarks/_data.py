"""Synthetic data with the official schemas, shared by the benchmark scripts.

Sizes and column layouts follow the lmms-lab copies of each benchmark (see BENCHMARKS.md);
values are random but realistic in shape (VQAv2 answers repeat across annotators, MME
questions come in yes/no pairs per image, MMBench rows have circular copies).
Nothing here is a score: the benchmarks only time how evalkit processes such data.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evalkit.scoring.mme import COGNITION, PERCEPTION
from evalkit.scoring.mmmu import SUBJECT_ORDER

VQAV2_VAL_SIZE = 214_354
MME_SIZE = 2_374
POPE_SIZE = 9_000
MMBENCH_DEV_SIZE = 4_329
MMMU_VAL_SIZE = 900
REFCOCO_VAL_SIZE = 8_811

_VQA_VOCAB = {
    "yes/no": ["yes", "no", "Yes", "No", "yes.", "no "],
    "number": ["1", "2", "3", "4", "5", "0", "10", "two", "three", "1,000", "3:30", "12", "20"],
    "other": [
        "red", "white", "black and white", "blue", "dog", "cat", "frisbee", "tennis", "t-shirt",
        "baseball bat", "skiing", "kitchen", "left", "right", "wood", "pizza", "surfing", "man's",
        "giraffe", "water", "sandwich", "green", "grass", "playing tennis", "stop sign", "umbrella",
        "nothing", "Coca-Cola", "it's a dog", "the man", "an apple", "he's walking", "cant tell",
        "snowboarding", "brown", "bus", "train", "table", "phone", "laptop", "motorcycle", "horse",
        "clock", "bathroom", "living room", "sunny", "night", "eating", "sitting", "standing",
        "yellow/green", "(left)", "st. louis", "u.s.", "mr. smith", "o'clock", "twenty", "none",
    ],
}  # fmt: skip
_QUESTION_TYPES = {
    "yes/no": ["is the", "are there", "is this", "does the", "is there a", "can you"],
    "number": ["how many", "how many people are", "what number is", "what time"],
    "other": ["what color is the", "what is the", "what is the man", "where is the", "what sport is", "why"],
}
_ANSWER_TYPE_WEIGHTS = (("yes/no", 0.38), ("number", 0.12), ("other", 0.50))
MME_CATEGORIES = PERCEPTION + COGNITION
MMMU_SUBJECTS = SUBJECT_ORDER


def _vary(answer: str, rng: random.Random) -> str:
    """A reply as a model writes it: sometimes capitalised, with a period or an article."""
    roll = rng.random()
    if roll < 0.15:
        return answer.capitalize()
    if roll < 0.25:
        return answer + "."
    if roll < 0.30:
        return "The " + answer
    return answer


def vqav2_row(qid: int, rng: random.Random) -> dict[str, Any]:
    """One VQAv2-schema row (10 answers with ids) plus a model ``response``."""
    kinds, weights = zip(*_ANSWER_TYPE_WEIGHTS)
    answer_type = rng.choices(kinds, weights)[0]
    vocab = _VQA_VOCAB[answer_type]
    truth = rng.choice(vocab)
    agreement = rng.choice((10, 10, 10, 9, 8, 7, 5, 3))
    texts = [truth] * agreement + [rng.choice(vocab) for _ in range(10 - agreement)]
    rng.shuffle(texts)
    answers = [
        {"answer": t, "answer_confidence": rng.choice(("yes", "yes", "maybe", "no")), "answer_id": k + 1}
        for k, t in enumerate(texts)
    ]
    response = _vary(truth if rng.random() < 0.65 else rng.choice(vocab), rng)
    return {
        "question_id": qid,
        "question": f"{rng.choice(_QUESTION_TYPES[answer_type]).capitalize()} thing in picture {qid}?",
        "question_type": rng.choice(_QUESTION_TYPES[answer_type]),
        "answers": answers,
        "multiple_choice_answer": truth,
        "answer_type": answer_type,
        "image_id": qid // 5,
        "response": response,
    }


def vqav2_rows(n: int = VQAV2_VAL_SIZE, seed: int = 0) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield vqav2_row(262_148_000 + i, rng)


def _yes_no_reply(gold: str, rng: random.Random) -> str:
    right = rng.random() < 0.8
    answer = gold if right else ("no" if gold == "yes" else "yes")
    return rng.choice((answer, answer.capitalize(), f"{answer.capitalize()}, there is.", answer + "."))


def mme_rows(n: int = MME_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """MME rows: yes/no question pairs per image, 14 categories."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        category = MME_CATEGORIES[(i // 2) * len(MME_CATEGORIES) // ((n + 1) // 2)]
        gold = "Yes" if i % 2 == 0 else "No"
        rows.append({
            "question_id": f"{category}/{i // 2:04d}.jpg", "category": category, "answer": gold,
            "question": f"Is there a {rng.choice(_VQA_VOCAB['other'])} in this image? Please answer yes or no.",
            "response": _yes_no_reply(gold.lower(), rng),
        })  # fmt: skip
    return rows


def pope_rows(n: int = POPE_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """POPE rows: three categories of 3,000, half yes."""
    rng = random.Random(seed)
    cats = ("adversarial", "popular", "random")
    return [
        {
            "id": str(i),
            "question_id": str(i),
            "answer": "yes" if i % 2 == 0 else "no",
            "question": f"Is there a {rng.choice(_VQA_VOCAB['other'])} in the image?",
            "image_source": f"COCO_val2014_{i // 6:012d}",
            "category": cats[i * 3 // n],
            "response": _yes_no_reply("yes" if i % 2 == 0 else "no", rng),
        }  # fmt: skip
        for i in range(n)
    ]


def mmbench_rows(n: int = MMBENCH_DEV_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """MMBench dev rows: main rows (index < 1e6) then circular copies with rotated options."""
    rng = random.Random(seed)
    n_main = n // 4 + 1
    rows: list[dict[str, Any]] = []
    for q in range(n_main):
        options = [f"option text {q}-{k} {rng.choice(_VQA_VOCAB['other'])}" for k in range(4)]
        gold = rng.randrange(4)
        for rot in range(4):
            if len(rows) >= n:
                break
            rotated = options[rot:] + options[:rot]
            letter = "ABCD"[(gold - rot) % 4]
            reply = rng.choice((letter, f"{letter}.", f"The answer is {letter}", rotated[rng.randrange(4)]))
            rows.append({
                "index": q + rot * 1_000_000, "question": f"Which option fits picture {q}?",
                "hint": rng.choice((None, "Look closely.")), "A": rotated[0], "B": rotated[1],
                "C": rotated[2], "D": rotated[3], "answer": letter, "category": f"cat{q % 20}",
                "L2-category": f"l2_{q % 6}", "source": "synthetic", "split": "dev", "response": reply,
            })  # fmt: skip
    return rows


def mmmu_rows(n: int = MMMU_VAL_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """MMMU validation rows: 30 subjects, mostly multiple choice, some open questions."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        subject = MMMU_SUBJECTS[i % len(MMMU_SUBJECTS)]
        qid = f"validation_{subject}_{i // len(MMMU_SUBJECTS) + 1}"
        if i % 10 == 9:
            gold = str(rng.randint(1, 99))
            reply = rng.choice((f"The answer is {gold}.", f"{gold}", f"about {int(gold) + 1} units"))
            rows.append({"id": qid, "question": f"Compute the value for <image 1> #{i}.", "options": "[]",
                         "answer": gold, "question_type": "open", "response": reply})  # fmt: skip
            continue
        options = [f"{rng.choice(_VQA_VOCAB['other'])} {k}" for k in range(4)]
        letter = rng.choice("ABCD")
        reply = rng.choice(
            (f"({letter})", f"The answer is {letter}.", options["ABCD".index(letter)], "I am not sure.")
        )
        rows.append({"id": qid, "question": f"Which is shown in <image 1>? #{i}", "options": str(options),
                     "answer": letter, "question_type": "multiple-choice", "response": reply})  # fmt: skip
    return rows


def refcoco_rows(n: int = REFCOCO_VAL_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """RefCOCO val rows with image sizes and Qwen-style box replies on the 0-1000 grid."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        w, h = rng.choice(((640, 480), (640, 427), (500, 375), (480, 640)))
        x, y = rng.uniform(0, w * 0.6), rng.uniform(0, h * 0.6)
        bw, bh = rng.uniform(20, w - x), rng.uniform(20, h - y)
        jitter = lambda v: max(0, min(999, int(v + rng.gauss(0, 40))))  # noqa: E731
        x1, y1 = jitter(x / w * 999), jitter(y / h * 999)
        x2, y2 = jitter((x + bw) / w * 999), jitter((y + bh) / h * 999)
        reply = f"<ref>object {i}</ref><box>({x1},{y1}),({x2},{y2})</box>" if i % 25 else "I cannot find it."
        rows.append({"question_id": str(i), "question": "Locate the object.", "answer": [f"the object {i}"],
                     "bbox": [x, y, bw, bh], "image_width": w, "image_height": h,
                     "file_name": f"COCO_train2014_{i // 3:012d}.jpg", "response": reply})  # fmt: skip
    return rows


def caption_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """COCO-style caption rows: five references per image and one generated caption."""
    rng = random.Random(seed)
    words = _VQA_VOCAB["other"]
    make = lambda: f"A {rng.choice(words)} next to a {rng.choice(words)} on the {rng.choice(words)}."  # noqa: E731
    return [{"image_id": i, "references": [make() for _ in range(5)], "response": make()} for i in range(n)]


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write rows as JSON lines (orjson when available)."""
    try:
        import orjson

        dump = orjson.dumps
    except ImportError:  # pragma: no cover
        dump = lambda r: json.dumps(r).encode()  # noqa: E731
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for row in rows:
            fh.write(dump(row) + b"\n")
    return path


def _photo_base(width: int, height: int, seed: int) -> Any:
    """A photo-like RGB image: smooth colour fields plus grain (compresses like a photo)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (height // 48 + 2, width // 48 + 2, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.int16)
    base += rng.integers(-10, 11, (height, width, 3), dtype=np.int16)
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


def photo_like_jpegs(
    count: int, width: int, height: int, seed: int = 0, quality: int = 88
) -> Iterator[bytes]:
    """``count`` distinct JPEGs (about 0.2 bytes/pixel at 800x600, like COCO photos): eight
    base photos, each copy with its own coloured rectangle so every file differs."""
    from PIL import ImageDraw

    bases = [_photo_base(width, height, seed * 8 + k) for k in range(min(8, count))]
    for i in range(count):
        image = bases[i % len(bases)].copy()
        x, y = (i * 37) % max(1, width - 60), (i * 53) % max(1, height - 40)
        ImageDraw.Draw(image).rectangle(
            (x, y, x + width // 8, y + height // 8), fill=(i % 256, 90, 255 - i % 256)
        )
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        yield buf.getvalue()


def mme_image_rows(
    n: int = MME_SIZE, width: int = 800, height: int = 600, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """MME rows with a JPEG per row; the two questions of an image carry the same bytes (as in
    lmms-lab/MME, which stores the image in every row)."""
    images = photo_like_jpegs((n + 1) // 2, width, height, seed)
    image = b""
    for i, row in enumerate(mme_rows(n, seed)):
        if i % 2 == 0:
            image = next(images)
        yield {**{k: v for k, v in row.items() if k != "response"}, "image": image}


def pooled_image_rows(
    rows: Iterable[Mapping[str, Any]], pool: int = 500, width: int = 192, height: int = 144
) -> Iterator[dict[str, Any]]:
    """``rows`` (their ``response`` dropped) cycling over ``pool`` distinct small JPEGs (VQAv2
    asks about 5 questions per image, POPE 18); for runs where making one image per row would
    take longer than the run."""
    images = list(photo_like_jpegs(pool, width, height))
    for i, row in enumerate(rows):
        yield {**{k: v for k, v in row.items() if k != "response"}, "image": images[i % pool]}


def _text(value: Any) -> str:
    """A string cell: strings as they are, anything else as JSON (lists of answer dicts)."""
    return value if isinstance(value, str) else json.dumps(value)


def write_image_parquet(
    path: Path, rows: Iterable[Mapping[str, Any]], image_column: str = "image", chunk: int = 2_000
) -> Path:
    """Stream rows (image cells as JPEG bytes) into one HF-style parquet file, chunk by chunk."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    buffer: list[dict[str, Any]] = []

    def flush() -> Any:
        nonlocal writer
        columns = {k: [r[k] for r in buffer] for k in buffer[0]}
        columns[image_column] = [{"bytes": b, "path": None} for b in columns[image_column]]
        features = datasets.Features(
            {k: datasets.Image() if k == image_column else datasets.Value("string") for k in columns}
        )
        table = pa.Table.from_pydict(
            {
                k: [v if v is None or k == image_column else _text(v) for v in vals]
                for k, vals in columns.items()
            },
            schema=features.arrow_schema,
        )
        writer = writer or pq.ParquetWriter(str(path), features.arrow_schema)
        writer.write_table(table)
        buffer.clear()

    for row in rows:
        buffer.append(dict(row))
        if len(buffer) >= chunk:
            flush()
    if buffer:
        flush()
    if writer is not None:
        writer.close()
    return path


def write_task_spec(
    folder: Path, name: str, data_dir: Path, *, scorer: str = "mme", target: str = "answer",
    metrics: tuple[str, ...] = ("perception", "cognition"),
) -> Path:  # fmt: skip
    """A task spec reading local parquet (for ``EVALKIT_TASK_DIRS``), with lmms-eval's short-answer prompt."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "name": name, "description": f"benchmark copy of {scorer} on local synthetic data", "version": 1,
        "dataset": {"local": str(data_dir), "split": "test", "image_columns": ["image"], "id_column": "question_id"},
        "prompt": "{question}\nAnswer the question using a single word or phrase.",
        "generation": {"max_new_tokens": 16}, "target": target, "scorer": scorer,
        "metrics": list(metrics), "headline": metrics[0],
    }  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")  # JSON is valid YAML
    return path
