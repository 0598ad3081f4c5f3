"""Tiny copies of ``lmms-lab/flickr30k`` and ``lmms-lab/NoCaps`` for end-to-end tests.

Columns and dtypes follow the hub dataset cards (``dataset_info`` in each README), files are laid
out as on the hub: Flickr30k's single ``test`` split in several ``data/test-0000k-of-00009``
shards (the repo has no other split), NoCaps' ``data/validation-...-<hash>.parquet`` beside a
``test`` shard whose captions are empty (the nocaps server keeps them), so a loader that read
the wrong split would fail. With the constant reply :data:`official_data.CAPTION_REPLY`,
rows holding :data:`official_data.CAPTION_MATCH` among their references score, the others share
no word with it; the arithmetic is in ``test_official_captions_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features, Image, Sequence, Value
from official_data import CAPTION_MATCH, image_cell, write_hub_parquet

S = Value("string")
FLICKR30K_FEATURES = Features(
    {"image": Image(), "caption": Sequence(S), "sentids": Sequence(S), "img_id": S, "filename": S}
)
NOCAPS_FEATURES = Features(
    {"image": Image(), "image_coco_url": S, "image_date_captured": S, "image_file_name": S,
     "image_height": Value("int32"), "image_width": Value("int32"), "image_id": Value("int32"),
     "image_license": Value("int8"), "image_open_images_id": S, "annotations_ids": Sequence(Value("int32")),
     "annotations_captions": Sequence(S)}
)  # fmt: skip
UNRELATED = (  # 7 PTB tokens each, none shared with the reply "a red square on a white background"
    "Two brown dogs run through tall grass.",
    "An old man reads his newspaper indoors.",
    "Three green apples sit in wooden bowls.",
    "The children play football near the school.",
    "Several boats float by the quiet harbor.",
    "Four young girls climb the steep hill.",
    "Some people wait for the late train.",
    "Two cats sleep under the kitchen table.",
    "The tall tree stands behind the house.",
    "Many birds fly over the calm lake.",
)
FLICKR30K_IDS = ("1000092795", "10002456", "1000268201", "1000344755")


def flickr30k_references(n_images: int = 4, n_matching: int = 1) -> list[list[str]]:
    """Five references per image: UNRELATED[0:4] on every image (document frequency = all
    images, so CIDEr's IDF gives them weight 0), then the reply's caption or UNRELATED[4]."""
    return [[*UNRELATED[:4], CAPTION_MATCH if k < n_matching else UNRELATED[4]] for k in range(n_images)]


def flickr30k_rows(references: list[list[str]], ids: tuple[str, ...] = FLICKR30K_IDS) -> list[dict[str, Any]]:
    """Rows as on the hub: ``caption`` holds the references, ``sentids`` their sentence ids."""
    return [
        {"image": image_cell((40 * k, 90, 160), (60, 40), "JPEG"), "caption": refs,
         "sentids": [str(5 * k + j) for j in range(len(refs))], "img_id": ids[k], "filename": f"{ids[k]}.jpg"}
        for k, refs in enumerate(references)
    ]  # fmt: skip


def build_flickr30k(root: Path, references: list[list[str]] | None = None) -> Path:
    """``lmms-lab/flickr30k`` test: 4 images in two shards (3 + 1), image 0 holding the reply's caption."""
    rows = flickr30k_rows(references if references is not None else flickr30k_references())
    folder = root / "flickr30k"
    for shard, part in ((0, rows[:3]), (1, rows[3:])):
        write_hub_parquet(folder / "data" / f"test-0000{shard}-of-00009.parquet", part, FLICKR30K_FEATURES)
    return folder


def nocaps_references(n_images: int = 5, n_matching: int = 2) -> list[list[str]]:
    """Ten references per image: UNRELATED[0:9] everywhere (IDF weight 0), then the reply's
    caption on the first ``n_matching`` images and UNRELATED[9] on the rest."""
    return [[*UNRELATED[:9], CAPTION_MATCH if k < n_matching else UNRELATED[9]] for k in range(n_images)]


def nocaps_rows(references: list[list[str]], first_id: int = 0) -> list[dict[str, Any]]:
    """Rows as on the hub (no domain column there), ids counting from ``first_id``."""
    rows = []
    for k, refs in enumerate(references):
        image_id, open_images_id = first_id + k, f"{0x13EA2087020901 + k:016x}"
        rows.append({"image": image_cell((200, 30 * k, 60), (48, 64), "JPEG"),
                     "image_coco_url": f"https://s3.amazonaws.com/nocaps/val/{open_images_id}.jpg",
                     "image_date_captured": "2018-11-06 11:04:33", "image_file_name": f"{open_images_id}.jpg",
                     "image_height": 64, "image_width": 48, "image_id": image_id, "image_license": 0,
                     "image_open_images_id": open_images_id, "annotations_ids": [10 * image_id + j for j in range(len(refs))],
                     "annotations_captions": refs})  # fmt: skip
    return rows


def build_nocaps(root: Path) -> Path:
    """``lmms-lab/NoCaps`` validation: 5 images in two shards (3 + 2), images 0-1 holding the
    reply's caption, beside a ``test`` shard without captions."""
    rows = nocaps_rows(nocaps_references())
    data = root / "NoCaps" / "data"
    write_hub_parquet(data / "validation-00000-of-00003-55b5edbf01d47b39.parquet", rows[:3], NOCAPS_FEATURES)
    write_hub_parquet(data / "validation-00001-of-00003-44f6cbdc2de0413a.parquet", rows[3:], NOCAPS_FEATURES)
    write_hub_parquet(
        data / "test-00000-of-00007-5b4195c41905fab2.parquet", nocaps_rows([[]] * 2, 4500), NOCAPS_FEATURES
    )
    return data.parent
