"""Specification of the byte-level BPE tokenizer, its special tokens and chat template."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from evalkit.tinyvlm.tokenizer import (
    CHAT_TEMPLATE_JINJA,
    SPECIAL_TOKENS,
    VLMTokenizer,
    render_chat,
    train_tokenizer,
)

CORPUS = [
    "Is there a red circle in the image? yes",
    "<ref>the blue square</ref><box>(120,340),(560,781)</box>",
    "Three coloured shapes: two circles and one star.",
] * 30


@pytest.fixture(scope="module")
def tokenizer() -> VLMTokenizer:
    return train_tokenizer(CORPUS, vocab_size=300)


def test_special_tokens_have_fixed_ids(tokenizer: VLMTokenizer) -> None:
    assert [tokenizer.token_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert (tokenizer.pad_id, tokenizer.eos_id, tokenizer.image_id) == (0, 1, 2)


def test_digits_are_split_one_per_token(tokenizer: VLMTokenizer) -> None:
    pieces = [tokenizer.tokenizer.id_to_token(i) for i in tokenizer.encode("781")]
    assert pieces == ["7", "8", "1"]


def test_box_tags_are_single_tokens_and_survive_decoding(tokenizer: VLMTokenizer) -> None:
    text = "<ref>the blue square</ref><box>(120,340),(560,781)</box>"
    ids = tokenizer.encode(text)
    assert tokenizer.token_id("<box>") in ids and tokenizer.token_id("</ref>") in ids
    assert tokenizer.decode(ids) == text


def test_decoding_drops_control_tokens(tokenizer: VLMTokenizer) -> None:
    ids = tokenizer.encode("<|user|><image><image>Is it red?<|assistant|>yes<|end|><pad>")
    assert tokenizer.decode(ids) == "Is it red?yes"


@pytest.mark.parametrize(
    ("turns", "images", "expected"),
    [
        ([("Q?", None)], 2, "<|user|><image><image>Q?<|assistant|>"),
        ([("Q?", "yes")], 1, "<|user|><image>Q?<|assistant|>yes<|end|>"),
        (
            [("Q?", "yes"), ("And?", None)],
            1,
            "<|user|><image>Q?<|assistant|>yes<|end|><|user|>And?<|assistant|>",
        ),
    ],
)
def test_chat_template_and_its_jinja_twin_agree(
    turns: list[tuple[str, str | None]], images: int, expected: str
) -> None:
    assert render_chat(turns, images) == expected
    messages = []
    for user, assistant in turns:
        messages.append({"role": "user", "content": user})
        if assistant is not None:
            messages.append({"role": "assistant", "content": assistant})
    rendered = (
        jinja2.Environment()
        .from_string(CHAT_TEMPLATE_JINJA)
        .render(
            messages=messages,
            image_tokens="<image>" * images,
            add_generation_prompt=turns[-1][1] is None,
        )
    )
    assert rendered == expected


def test_tokenizer_round_trips_through_files(tokenizer: VLMTokenizer, tmp_path: Path) -> None:
    tokenizer.save_pretrained(tmp_path)
    loaded = VLMTokenizer.from_pretrained(tmp_path)
    text = "How many stars are there? 3"
    assert loaded.encode(text) == tokenizer.encode(text)
    assert (tmp_path / "tokenizer_config.json").is_file()
