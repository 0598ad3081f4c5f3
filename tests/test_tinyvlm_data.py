"""Specification of collation: label masking, padding sides, per-patch dense labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from evalkit.tinyvlm.data import (
    box_start_weights,
    collate_prompts,
    collate_referents,
    collate_training,
    encode_conversation,
    encode_prompt,
    image_to_tensor,
    patch_majority,
    token_shares,
)
from evalkit.tinyvlm.model import IGNORE_INDEX
from evalkit.tinyvlm.tokenizer import ASSISTANT, VLMTokenizer, train_tokenizer


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


def test_token_shares_split_a_mask_over_the_visual_token_grid() -> None:
    mask = np.zeros((96, 96), dtype=bool)
    mask[16:32, 32:48] = True  # exactly the cell in row 1, column 2 of a 6 x 6 split
    shares = token_shares(mask, 6)
    assert shares.shape == (36,) and shares[1 * 6 + 2] == 1.0 and shares.sum() == 1.0
    mask[16:32, 48:64] = True  # and its right neighbour, as many pixels
    assert token_shares(mask, 6)[[8, 9]].tolist() == [0.5, 0.5]
    assert token_shares(np.ones((50, 50), dtype=bool), 6).sum() == pytest.approx(1.0)  # not a multiple
    with pytest.raises(ValueError, match="empty"):
        token_shares(np.zeros((96, 96), dtype=bool), 6)


def test_referents_point_at_each_named_turns_answer_start(tokenizer: VLMTokenizer) -> None:
    full = np.ones((12, 12), dtype=bool)
    turns = [("Is it red?", "yes"), ("Blue?", "no")]
    encoded = [encode_conversation(tokenizer, turns, 2, max_len=100) for _ in range(2)]
    ref = collate_referents(encoded, [[None, full], [full, full]], tokenizer.token_id(ASSISTANT), 2)
    assert ref is not None and ref.rows.tolist() == [0, 1, 1]
    ids, labels = encoded[0]
    for row, pos in zip(ref.rows.tolist(), ref.positions.tolist()):
        assert encoded[row][0][pos] == tokenizer.token_id(ASSISTANT)
        assert labels[pos] == IGNORE_INDEX and labels[pos + 1] != IGNORE_INDEX  # the answer follows
    assert ref.positions[0] == ref.positions[2] and ref.positions[1] < ref.positions[2]  # 2nd turn, 1st turn
    assert torch.allclose(ref.targets, torch.full((3, 4), 0.25))
    cut = [encode_conversation(tokenizer, turns, 2, max_len=len(ids) - 4)]  # the 2nd turn's start is cut
    assert collate_referents(cut, [[None, full]], tokenizer.token_id(ASSISTANT), 2) is None


def test_box_start_weights_mark_x1s_first_digit_of_each_box() -> None:
    box, paren, d6, d2, comma, other = 5, 6, 7, 8, 9, 10
    ids = torch.tensor(
        [
            [other, box, paren, d6, d2, comma, box, d6, d2],  # "<box>(62," then "<box>62" (merged paren)
            [other, other, other, other, other, other, other, box, paren],
        ]
    )  # a box cut after "("
    weights = box_start_weights(ids, box, [d6, d2], 3.0)
    assert weights[0].tolist() == [1, 1, 1, 3, 1, 1, 1, 3, 1]
    assert weights[1].tolist() == [1.0] * 9


def test_box_start_weights_find_real_box_replies(tokenizer: VLMTokenizer) -> None:
    from evalkit.tinyvlm.tokenizer import BOX_OPEN

    boxes = train_tokenizer(["<box>(62,583),(354,875)</box> <box>(104,208),(417,625)</box> yes"] * 20,
                            vocab_size=280)  # fmt: skip
    ids, _ = encode_conversation(
        boxes, [("Where?", "<box>(104,208),(417,625)</box>"), ("Red?", "yes")], 2, 100
    )
    weights = box_start_weights(torch.tensor([ids]), boxes.token_id(BOX_OPEN), boxes.digit_ids, 5.0)
    marked = [ids[k] for k in range(len(ids)) if weights[0, k] == 5.0]
    assert len(marked) == 1 and boxes.decode(marked).lstrip("(").startswith("1")  # x1 = 104
