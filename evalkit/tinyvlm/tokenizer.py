"""Byte-level BPE tokenizer (``tokenizers``) with the VLM's special tokens and chat template.

Digits are split one per token (as Llama / Qwen tokenizers do), so ``<box>`` coordinates on the
0-1000 grid are spelled digit by digit. The chat template is ours (the model is trained from
scratch): ``<|user|>`` + image placeholders + text, ``<|assistant|>`` + answer + ``<|end|>``.
It is saved as Jinja in ``tokenizer_config.json``; :func:`render_chat` is its Python twin.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, END, IMAGE = "<pad>", "<|end|>", "<image>"
USER, ASSISTANT = "<|user|>", "<|assistant|>"
REF_OPEN, REF_CLOSE, BOX_OPEN, BOX_CLOSE = "<ref>", "</ref>", "<box>", "</box>"
# order fixes the ids: <pad>=0, <|end|>=1, <image>=2, ...
SPECIAL_TOKENS = (PAD, END, IMAGE, USER, ASSISTANT, REF_OPEN, REF_CLOSE, BOX_OPEN, BOX_CLOSE)
# control tokens never shown in decoded replies (grounding tags are kept: scorers read them)
CONTROL_TOKENS = (PAD, END, IMAGE, USER, ASSISTANT)
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"

CHAT_TEMPLATE_JINJA = (
    "{% for turn in messages %}"
    "{% if turn['role'] == 'user' %}<|user|>{{ image_tokens if loop.first else '' }}{{ turn['content'] }}"
    "{% else %}<|assistant|>{{ turn['content'] }}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def render_chat(turns: Sequence[tuple[str, str | None]], n_image_tokens: int) -> str:
    """Chat template: the first user turn carries ``n_image_tokens`` ``<image>`` placeholders;
    an assistant reply of ``None`` ends the text with the generation prompt ``<|assistant|>``."""
    parts: list[str] = []
    for i, (user, assistant) in enumerate(turns):
        parts.append(USER + (IMAGE * n_image_tokens if i == 0 else "") + user + ASSISTANT)
        if assistant is not None:
            parts.append(assistant + END)
    return "".join(parts)


def build_bpe_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE with single-digit pre-tokenisation and a byte-level decoder."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


@dataclass(frozen=True)
class VLMTokenizer:
    """The trained tokenizer plus the ids the model and collator need; ``added_ids`` are the
    special tokens :meth:`extend` appended to a pretrained LM's vocabulary (new embedding rows)."""

    tokenizer: Tokenizer
    added_ids: tuple[int, ...] = ()

    @staticmethod
    def extend(backend: Tokenizer) -> VLMTokenizer:
        """A pretrained LM's tokenizer with our chat and grounding specials added (tokens it
        already has keep their ids). Our chat template is used, not the LM's: one prompt format
        for every visionpangu checkpoint, and the specials cannot be split by the LM's merges."""
        tok = Tokenizer.from_str(backend.to_str())
        before = tok.get_vocab_size(with_added_tokens=True)
        tok.add_special_tokens(list(SPECIAL_TOKENS))
        ids = tuple(
            sorted(i for t in SPECIAL_TOKENS if (i := tok.token_to_id(t)) is not None and i >= before)
        )
        return VLMTokenizer(tok, added_ids=ids)

    @property
    def base_size(self) -> int:
        """Vocabulary size before :meth:`extend` added tokens (the whole size otherwise)."""
        return min(self.added_ids) if self.added_ids else self.vocab_size

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def token_id(self, token: str) -> int:
        """Id of a special token; KeyError if the tokenizer lacks it."""
        idx = self.tokenizer.token_to_id(token)
        if idx is None:
            raise KeyError(f"tokenizer has no token {token!r}")
        return int(idx)

    @property
    def pad_id(self) -> int:
        return self.token_id(PAD)

    @property
    def eos_id(self) -> int:
        return self.token_id(END)

    @property
    def image_id(self) -> int:
        return self.token_id(IMAGE)

    @cached_property
    def digit_ids(self) -> tuple[int, ...]:
        """Ids of the tokens whose text holds a digit (byte-level BPE keeps ASCII digits as is);
        computed once per tokenizer, not per batch (a 153k vocabulary at the 1.7b preset)."""
        return tuple(
            sorted(
                i for token, i in self.tokenizer.get_vocab().items() if any(c in "0123456789" for c in token)
            )
        )

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens written literally are recognised)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids`` without control tokens; ``<ref>``/``<box>`` tags are kept."""
        control = {self.token_id(t) for t in CONTROL_TOKENS}
        return str(self.tokenizer.decode([i for i in ids if i not in control], skip_special_tokens=False))

    def save_pretrained(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(directory / TOKENIZER_FILE))
        config = {
            "tokenizer_class": "VLMTokenizer",
            "special_tokens": list(SPECIAL_TOKENS),
            "pad_token": PAD,
            "eos_token": END,
            "image_token": IMAGE,
            "chat_template": CHAT_TEMPLATE_JINJA,
        }
        (directory / TOKENIZER_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

    @staticmethod
    def from_pretrained(directory: Path | str) -> VLMTokenizer:
        path = Path(directory) / TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no {TOKENIZER_FILE} in {directory}; is it a visionpangu checkpoint?")
        return VLMTokenizer(Tokenizer.from_file(str(path)))


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> VLMTokenizer:
    """Train the byte-level BPE on ``texts``; special tokens take ids 0..8 in SPECIAL_TOKENS order."""
    tok = build_bpe_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return VLMTokenizer(tok)
