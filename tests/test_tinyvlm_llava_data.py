"""Specification of the real-data readers (LLaVA format, DOCCI) and of conversation encoding
with an ``<image>`` marker, text-only turns and turn-boundary truncation."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from evalkit.tinyvlm.data import encode_conversation, encode_prompt, fit_conversation, images_to_tensor
from evalkit.tinyvlm.llava_data import DataStats, load_docci_records, load_llava_records, record_examples
from evalkit.tinyvlm.model import IGNORE_INDEX
from evalkit.tinyvlm.tokenizer import ASSISTANT, IMAGE, USER, VLMTokenizer, render_chat

CHECKPOINT = Path(__file__).resolve().parents[1] / "model_adapters" / "checkpoints" / "visionpangu-tiny"


def chat(*values: str) -> list[dict[str, str]]:
    """LLaVA ``conversations``: values alternate human, gpt."""
    return [{"from": ("human", "gpt")[k % 2], "value": v} for k, v in enumerate(values)]


# id -> (image, conversations); the comment says what the reader must do with it
LLAVA_RECORDS: list[dict[str, Any]] = [
    {"id": "a", "image": "img/a.png", "conversations": chat("<image>\nWhat shape?", "A square.")},  # used
    {
        "id": "b",
        "image": "img/b.png",
        "conversations": chat("Describe it.\n<image>", "Red.", "Why?", "Paint."),
    },
    {"id": "c", "image": "img/missing.png", "conversations": chat("<image>\nQ", "A")},  # missing image
    {"id": "d", "conversations": chat("What is 2 + 2?", "4")},  # text only
    {"id": "e", "image": "img/a.png", "conversations": chat("A", "B")[::-1]},  # malformed: starts with gpt
    {"id": "f", "image": ["img/a.png", "img/b.png"], "conversations": chat("<image>\nQ", "A")},  # image list
    {"id": "g", "image": "img/a.png", "conversations": chat("<image> and <image>", "A")},  # two markers
    {"id": "h", "conversations": chat("<image>\nQ", "A")},  # malformed: a marker but no image
    {"id": "i", "image": "img/corrupt.png", "conversations": chat("<image>\nQ", "A")},  # unreadable image
]
USABLE_WITH_IMAGES = {"a", "b"}


@pytest.fixture(scope="module")
def tokenizer() -> VLMTokenizer:
    return VLMTokenizer.from_pretrained(CHECKPOINT)


def write_llava(folder: Path, *, jsonl: bool = False) -> Path:
    """A LLaVA-format dataset: annotations plus ``img/`` (a.png, b.png, a corrupt file)."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "img" / "a.png")
    Image.new("RGB", (8, 6), (0, 0, 255)).save(folder / "img" / "b.png")
    (folder / "img" / "corrupt.png").write_bytes(b"not a png")
    path = folder / ("data.jsonl" if jsonl else "data.json")
    text = "\n".join(json.dumps(r) for r in LLAVA_RECORDS) if jsonl else json.dumps(LLAVA_RECORDS, indent=1)
    path.write_text(text)
    return path


DOCCI_ROWS = [
    {
        "example_id": "train_00001",
        "split": "train",
        "image_file": "train_00001.png",
        "description": "A red cube.",
    },
    {
        "example_id": "test_00001",
        "split": "test",
        "image_file": "test_00001.png",
        "description": "A blue cone.",
    },
    {
        "example_id": "train_00002",
        "split": "train",
        "image_file": "train_00002.png",
        "description": "Grey sky.",
    },
    {"example_id": "qual_dev_00001", "split": "qual_dev", "image_file": "q.png", "description": "A tree."},
]


def write_docci(folder: Path) -> Path:
    """The DOCCI release layout: ``docci_descriptions.jsonlines`` beside ``images/``."""
    (folder / "images").mkdir(parents=True)
    for row in DOCCI_ROWS:
        Image.new("RGB", (12, 9), (10, 200, 30)).save(folder / "images" / row["image_file"])
    (folder / "docci_descriptions.jsonlines").write_text("".join(json.dumps(r) + "\n" for r in DOCCI_ROWS))
    return folder


@pytest.mark.parametrize("jsonl", [False, True])
def test_llava_records_are_validated_and_skips_counted(tmp_path: Path, jsonl: bool) -> None:
    stats = DataStats()
    records = load_llava_records(write_llava(tmp_path, jsonl=jsonl), stats)
    assert [r.id for r in records] == ["a", "b", "c", "d", "i"]
    assert (stats.records_read, stats.skipped_malformed, stats.skipped_multi_image) == (9, 2, 2)
    assert stats.first_skipped["skipped_malformed"] == [
        f"data.{'jsonl' if jsonl else 'json'}:{i}" for i in "eh"
    ]
    assert records[0].turns == (("<image>What shape?", "A square."),)  # the joining newline is dropped
    assert records[1].turns == (("Describe it.<image>", "Red."), ("Why?", "Paint."))
    assert records[3].image is None


def test_missing_and_unreadable_images_are_skipped_once_and_epochs_reshuffle(tmp_path: Path) -> None:
    path = write_llava(tmp_path)
    stats = DataStats()
    records = load_llava_records(path, stats)
    stream = record_examples(records, path.parent, seed=3, stats=stats, kind="llava")
    ids = [ex.id for ex in itertools.islice(stream, 9)]  # three epochs of the three usable records
    assert [sorted(ids[k : k + 3]) for k in (0, 3, 6)] == [["a", "b", "d"]] * 3
    assert stats.skipped_missing_image == 2  # c and i, counted once though three epochs passed
    again = [ex.id for ex in itertools.islice(record_examples(records, path.parent, seed=3, stats=DataStats(),
                                                              kind="llava"), 9)]  # fmt: skip
    assert again == ids  # deterministic in (file, seed)
    other = {tuple(ex.id for ex in itertools.islice(record_examples(records, path.parent, seed=s,
                                                                    stats=DataStats(), kind="llava"), 9))
             for s in range(6)}  # fmt: skip
    assert len(other) > 1  # the seed changes the order


def test_examples_carry_rgb_images_or_none(tmp_path: Path) -> None:
    path = write_llava(tmp_path)
    records = load_llava_records(path, DataStats())
    examples = {ex.id: ex for ex in itertools.islice(record_examples(records, path.parent, seed=0,
                                                                     stats=DataStats(), kind="llava"), 3)}  # fmt: skip
    assert examples["a"].image is not None and examples["a"].image.mode == "RGB"
    assert examples["d"].image is None and examples["d"].referents == () and examples["d"].task == "llava"


def test_corrupt_files_raise_one_line_errors_naming_file_and_place(tmp_path: Path) -> None:
    lines = tmp_path / "bad.jsonl"
    lines.write_text(json.dumps(LLAVA_RECORDS[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not a JSON line") as err:
        load_llava_records(lines, DataStats())
    assert "\n" not in str(err.value)
    listing = tmp_path / "bad.json"
    listing.write_text('[\n {"id": "a"},\n {"id": }\n]')
    with pytest.raises(ValueError, match=r"bad\.json: invalid JSON at line 3, column 9: Expecting value"):
        load_llava_records(listing, DataStats())


def test_docci_reads_the_train_split_with_the_eval_prompt(tmp_path: Path, tokenizer: VLMTokenizer) -> None:
    folder = write_docci(tmp_path / "docci")
    stats = DataStats()
    records, images = load_docci_records(folder, "train", stats)
    assert [r.id for r in records] == ["train_00001", "train_00002"] and stats.records_read == 2
    assert records[0].turns == ((IMAGE + "Describe this image in detail.", "A red cube."),)
    assert images == folder / "images" and (images / records[0].image).is_file()  # type: ignore[operator]
    ids, labels = encode_conversation(tokenizer, records[0].turns, 36, max_len=500)
    prompt = encode_prompt(tokenizer, "Describe this image in detail.", 36)  # what `evalkit run` feeds
    assert ids[: len(prompt)] == prompt and labels[len(prompt) :] == ids[len(prompt) :]


def test_docci_test_split_only_when_asked_and_with_a_warning(tmp_path: Path, caplog: Any) -> None:
    folder = write_docci(tmp_path / "docci")
    with caplog.at_level(logging.WARNING):
        records, _ = load_docci_records(folder / "docci_descriptions.jsonlines", "test", DataStats())
    assert [r.id for r in records] == ["test_00001"] and "evalkit run --tasks docci" in caplog.text
    with pytest.raises(ValueError, match="unknown DOCCI split 'dev'"):
        load_docci_records(folder, "dev", DataStats())
    with pytest.raises(ValueError, match="no docci_descriptions.jsonlines"):
        load_docci_records(tmp_path, "train", DataStats())


def test_image_placeholders_go_where_the_marker_is(tokenizer: VLMTokenizer) -> None:
    user, assistant, image = tokenizer.token_id(USER), tokenizer.token_id(ASSISTANT), tokenizer.image_id
    start, _ = encode_conversation(tokenizer, [("<image>What shape?", "A square.")], 4, max_len=100)
    end, _ = encode_conversation(tokenizer, [("What shape?<image>", "A square.")], 4, max_len=100)
    assert start[:5] == [user] + [image] * 4
    first_reply = end.index(assistant)
    assert end[first_reply - 4 : first_reply] == [image] * 4 and end[1] != image
    unmarked, _ = encode_conversation(tokenizer, [("What shape?", "A square.")], 4, max_len=100)
    assert unmarked == start  # no marker: placeholders at the start, as the chat template puts them
    text_only, _ = encode_conversation(tokenizer, [("What is 2 + 2?", "4")], 0, max_len=100)
    assert image not in text_only


def test_two_turn_llava_labels_fall_on_replies_and_end_tokens_only(
    tmp_path: Path, tokenizer: VLMTokenizer
) -> None:
    """Row by row: <|user|> q1 <image>x3 <|assistant|> | a1 <|end|> | <|user|> q2 <|assistant|> | a2 <|end|>."""
    record = {"id": "x", "image": "a.png", "conversations": chat("What is in the photo?\n<image>", "A dog.",
                                                                 "What colour is it?", "Brown.")}  # fmt: skip
    (tmp_path / "x.json").write_text(json.dumps([record]))
    (turns,) = [r.turns for r in load_llava_records(tmp_path / "x.json", DataStats())]
    fitted = fit_conversation(tokenizer, turns, 3, max_len=100)
    assert fitted is not None and not fitted.truncated
    enc = tokenizer.encode
    u, a, e, img = (
        tokenizer.token_id(USER),
        tokenizer.token_id(ASSISTANT),
        tokenizer.eos_id,
        tokenizer.image_id,
    )
    q1, a1, q2, a2 = enc("What is in the photo?"), enc("A dog."), enc("What colour is it?"), enc("Brown.")
    masked = IGNORE_INDEX
    assert fitted.ids == [u, *q1, img, img, img, a, *a1, e, u, *q2, a, *a2, e]
    assert fitted.labels == [masked] * (len(q1) + 5) + [*a1, e] + [masked] * (len(q2) + 2) + [*a2, e]
    learned = [i for i, lab in zip(fitted.ids, fitted.labels) if lab != IGNORE_INDEX]
    assert tokenizer.decode(learned) == "A dog.Brown."


def test_truncation_keeps_whole_turns_then_cuts_the_first_reply_then_skips(tokenizer: VLMTokenizer) -> None:
    turns = [
        ("Describe it.", "A long red square with a thin border."),
        ("Colour?", "Red."),
        ("Size?", "Big."),
    ]
    full = fit_conversation(tokenizer, turns, 4, max_len=1000)
    assert full is not None and not full.truncated
    first_turn = len(encode_conversation(tokenizer, turns[:1], 4, 1000)[0])
    two = len(encode_conversation(tokenizer, turns[:2], 4, 1000)[0])
    kept = fit_conversation(tokenizer, turns, 4, max_len=two + 2)
    assert kept is not None and (kept.dropped_turns, kept.cut_reply) == (1, False) and len(kept.ids) == two
    prompt = len(encode_prompt(tokenizer, "Describe it.", 4))
    cut = fit_conversation(tokenizer, turns, 4, max_len=prompt + 1)  # room for one reply token
    assert cut is not None and (cut.dropped_turns, cut.cut_reply) == (2, True) and len(cut.ids) == prompt + 1
    assert cut.ids.count(tokenizer.image_id) == 4 and cut.labels[-1] != IGNORE_INDEX
    assert fit_conversation(tokenizer, turns, 4, max_len=prompt) is None  # no reply token would be left
    assert first_turn < two


def test_synthetic_token_ids_are_unchanged(tokenizer: VLMTokenizer) -> None:
    """Marker-free turns encode exactly as the chat template's text (the encoding before markers)."""
    from evalkit.synthetic.training import iter_training_examples

    for ex in itertools.islice(
        iter_training_examples("sft", seed=0, image_size=48, tasks=("shapes_vqa",)), 3
    ):
        ids, labels = encode_conversation(tokenizer, ex.turns, 36, max_len=2000)
        assert ids == tokenizer.encode(render_chat(ex.turns, 36))
        assert [i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX].count(tokenizer.eos_id) == len(
            ex.turns
        )


def test_default_normalisation_is_bit_identical_and_custom_statistics_apply() -> None:
    image = Image.fromarray(np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3) * 5)
    old = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)
    assert torch.equal(images_to_tensor([image], 4)[0], old)
    mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)  # CLIP's
    custom = images_to_tensor([image], 4, mean, std)[0]
    pixel = np.asarray(image, dtype=np.float32)[0, 1] / 255.0
    assert torch.allclose(
        custom[:, 0, 1], torch.tensor((pixel - np.array(mean)) / np.array(std), dtype=torch.float32)
    )
