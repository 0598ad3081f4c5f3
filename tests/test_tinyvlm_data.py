"""Specification of collation: label masking, padding sides, per-patch dense labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from evalkit.tinyvlm.data import (
    collate_prompts,
    collate_training,
    encode_conversation,
    encode_prompt,
    image_to_tensor,
    patch_majority,
)
from evalkit.tinyvlm.model import IGNORE_INDEX
from evalkit.tinyvlm.tokenizer import VLMTokenizer, train_tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> VLMTokenizer:
    return train_tokenizer(["Is there a red circle? yes no", "What colour? blue"] * 20, vocab_size=280)


def test_only_assistant_replies_and_end_tokens_are_learned(tokenizer: VLMTokenizer) -> None:
    ids, labels = encode_conversation(tokenizer, [("Is it red?", "yes"), ("Blue?", "no")], 2, max_len=100)
    learned = [i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX]
    assert tokenizer.decode(learned) == "yesno"
    assert learned.count(tokenizer.eos_id) == 2
    assert ids.count(tokenizer.image_id) == 2  # images only in the first turn
    assert all(lab in (IGNORE_INDEX, i) for i, lab in zip(ids, labels))


def test_prompt_encoding_is_the_prefix_of_the_training_encoding(tokenizer: VLMTokenizer) -> None:
    ids, _ = encode_conversation(tokenizer, [("Is it red?", "yes")], 3, max_len=100)
    prompt = encode_prompt(tokenizer, "Is it red?", 3)
    assert ids[: len(prompt)] == prompt


def test_truncation_may_not_cut_image_placeholders(tokenizer: VLMTokenizer) -> None:
    with pytest.raises(ValueError, match="image placeholders"):
        encode_conversation(tokenizer, [("q", "a")], 10, max_len=5)


def test_training_batches_pad_right_and_generation_batches_pad_left() -> None:
    train = collate_training([([5, 6, 7], [IGNORE_INDEX, 6, 7]), ([8], [8])], None, pad_id=0)
    assert train.input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert train.labels is not None and train.labels.tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert train.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    gen = collate_prompts([[5, 6, 7], [8]], None, pad_id=0)
    assert gen.input_ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert gen.attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_patch_labels_are_the_majority_class_of_each_cell() -> None:
    label_map = np.array(
        [
            [-1, -1, 3, 3],
            [-1, 2, 3, 3],
            [0, 0, -1, -1],
            [0, 1, -1, 5],
        ]
    )
    assert patch_majority(label_map, 2).tolist() == [-1, 3, 0, -1]


def test_pixels_are_scaled_to_minus_one_one_and_resized() -> None:
    image = Image.new("RGB", (10, 10), (255, 0, 127))
    x = image_to_tensor(image, 4)
    assert x.shape == (3, 4, 4)
    assert torch.allclose(x[:, 0, 0], torch.tensor([1.0, -1.0, 127 / 127.5 - 1]))
