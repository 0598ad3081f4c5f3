"""Turning images and conversations into model inputs: pixels, token ids, labels, batches.

Training batches are right-padded and only assistant tokens (plus ``<|end|>``) carry labels,
as in LLaVA's SFT masking. Generation batches are left-padded so every row's next token
sits at the last column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from evalkit.tinyvlm.model import IGNORE_INDEX, Referents
from evalkit.tinyvlm.tokenizer import ASSISTANT, END, IMAGE, USER, VLMTokenizer, render_chat


def image_to_tensor(image: Image.Image, size: int) -> torch.Tensor:
    """RGB PIL image -> ``(3, size, size)`` float in [-1, 1] (bilinear resize, mean=std=0.5)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0  # (S, S, 3)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def images_to_tensor(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """A batch of images -> ``(N, 3, size, size)``."""
    return torch.stack([image_to_tensor(img, size) for img in images])


def encode_conversation(
    tokenizer: VLMTokenizer, turns: Sequence[tuple[str, str]], n_image_tokens: int, max_len: int
) -> tuple[list[int], list[int]]:
    """Token ids and labels of a chat: prompt tokens are masked (-100), replies and ``<|end|>`` are
    learned. Pieces are encoded separately, which equals encoding :func:`render_chat`'s text because
    every boundary is a special token."""
    ids: list[int] = []
    labels: list[int] = []
    for i, (user, assistant) in enumerate(turns):
        prompt = tokenizer.encode(USER + (IMAGE * n_image_tokens if i == 0 else "") + user + ASSISTANT)
        reply = tokenizer.encode(assistant + END)
        ids += prompt + reply
        labels += [IGNORE_INDEX] * len(prompt) + reply
    if len(ids) > max_len:
        if n_image_tokens and ids[:max_len].count(tokenizer.image_id) < n_image_tokens:
            raise ValueError(f"max_len {max_len} cuts into the image placeholders")
        ids, labels = ids[:max_len], labels[:max_len]
    return ids, labels


def encode_prompt(tokenizer: VLMTokenizer, prompt: str, n_image_tokens: int) -> list[int]:
    """Token ids of a single-turn generation prompt (ends with ``<|assistant|>``)."""
    return tokenizer.encode(render_chat([(prompt, None)], n_image_tokens))


@dataclass(frozen=True)
class Batch:
    """Model inputs: ``input_ids``/``attention_mask``/``labels`` ``(B, T)``, ``pixel_values``
    ``(B, 3, S, S)``, for the vision stage ``patch_labels`` name -> ``(B, N)``, for turns
    that name one object, ``referents`` (where each answer starts and the object's tokens), and
    optionally ``label_weights`` ``(B, T)``: how much each label position's loss counts."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None
    pixel_values: torch.Tensor | None
    patch_labels: Mapping[str, torch.Tensor] | None = None
    referents: Referents | None = None
    label_weights: torch.Tensor | None = None

    def to(self, device: str | torch.device) -> Batch:
        def move(t: Any) -> Any:
            return None if t is None else t.to(device)

        labels = (
            None if self.patch_labels is None else {k: v.to(device) for k, v in self.patch_labels.items()}
        )
        return Batch(
            move(self.input_ids),
            move(self.attention_mask),
            move(self.labels),
            move(self.pixel_values),
            labels,
            move(self.referents),
            move(self.label_weights),
        )

    @property
    def n_label_tokens(self) -> int:
        return 0 if self.labels is None else int((self.labels != IGNORE_INDEX).sum())


def pad_sequences(rows: Sequence[Sequence[int]], value: int, *, left: bool) -> torch.Tensor:
    """Pad ragged rows to ``(B, max_len)`` on the left or the right."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            if left:
                out[i, width - len(row) :] = torch.tensor(row)
            else:
                out[i, : len(row)] = torch.tensor(row)
    return out


def attention_from_lengths(lengths: Sequence[int], width: int, *, left: bool) -> torch.Tensor:
    """1 on real tokens, 0 on padding: ``(B, width)``."""
    cols = torch.arange(width).unsqueeze(0)
    lens = torch.tensor(list(lengths)).unsqueeze(1)
    return (cols >= width - lens if left else cols < lens).long()


def collate_training(
    encoded: Sequence[tuple[list[int], list[int]]], pixel_values: torch.Tensor | None, pad_id: int
) -> Batch:
    """Right-padded training batch from ``(ids, labels)`` pairs."""
    ids = pad_sequences([e[0] for e in encoded], pad_id, left=False)
    labels = pad_sequences([e[1] for e in encoded], IGNORE_INDEX, left=False)
    mask = attention_from_lengths([len(e[0]) for e in encoded], ids.shape[1], left=False)
    return Batch(ids, mask, labels, pixel_values)


def box_start_weights(
    input_ids: torch.Tensor, box_open: int, digit_ids: Sequence[int], weight: float
) -> torch.Tensor:
    """``(B, T)`` label weights: ``weight`` on the first token with a digit among the two after
    each ``<box>`` (x1's first digit, after ``(``), 1 elsewhere. Under teacher forcing that token
    is the only one of a box that must pick the object the expression names (the later ones can
    follow the digits already written), so it carries almost all of grounding's binding signal,
    yet counts 1/18 of a box reply."""
    weights = torch.ones(input_ids.shape, dtype=torch.float32)
    is_digit = torch.isin(input_ids, torch.as_tensor(list(digit_ids), dtype=input_ids.dtype))
    opens = input_ids == box_open
    first = torch.zeros_like(opens)
    first[:, 1:] = opens[:, :-1] & is_digit[:, 1:]
    first[:, 2:] |= opens[:, :-2] & ~is_digit[:, 1:-1] & is_digit[:, 2:]
    weights[first] = weight
    return weights


def collate_prompts(prompts: Sequence[list[int]], pixel_values: torch.Tensor | None, pad_id: int) -> Batch:
    """Left-padded generation batch."""
    ids = pad_sequences(prompts, pad_id, left=True)
    mask = attention_from_lengths([len(p) for p in prompts], ids.shape[1], left=True)
    return Batch(ids, mask, None, pixel_values)


def resize_to_multiple(square: np.ndarray, grid: int) -> np.ndarray:
    """An ``(S, S)`` map resized (nearest) up to the next multiple of ``grid`` when S is not one."""
    size = square.shape[0]
    if size % grid == 0:
        return square
    target = grid * (size // grid + 1)
    idx = (np.arange(target) * (size / target)).astype(int)
    return square[np.ix_(idx, idx)]


def token_shares(mask: np.ndarray, side: int) -> np.ndarray:
    """The share of ``mask``'s pixels under each cell of a ``side x side`` split, row-major
    ``(side*side,)`` summing to 1 (the visual tokens' layout after the pixel shuffle); the mask is
    first resized (nearest) to a multiple of ``side``."""
    mask = resize_to_multiple(mask, side)
    cell = mask.shape[0] // side
    counts = mask.astype(np.float64).reshape(side, cell, side, cell).sum(axis=(1, 3)).reshape(-1)
    total = counts.sum()
    if total == 0:
        raise ValueError("the referent mask is empty")
    return (counts / total).astype(np.float32)


def collate_referents(
    encoded: Sequence[tuple[list[int], list[int]]],
    referents: Sequence[Sequence[np.ndarray | None]],
    answer_id: int,
    side: int,
) -> Referents | None:
    """Per turn with a referent mask: its row, the position of the turn's ``<|assistant|>``
    token (whose state predicts the answer's first token) and :func:`token_shares` of the mask;
    turns cut off by ``max_len`` are skipped. None when no turn names an object."""
    rows, positions, targets = [], [], []
    for row, ((ids, _), masks) in enumerate(zip(encoded, referents)):
        starts = [j for j, token in enumerate(ids) if token == answer_id]
        for start, mask in zip(starts, masks):
            if mask is not None:
                rows.append(row)
                positions.append(start)
                targets.append(token_shares(mask, side))
    if not rows:
        return None
    return Referents(torch.tensor(rows), torch.tensor(positions), torch.from_numpy(np.stack(targets)))


def patch_majority(label_map: np.ndarray, grid: int) -> np.ndarray:
    """Most frequent value in each cell of a ``grid x grid`` split of an ``(S, S)`` int map,
    row-major ``(grid*grid,)`` (ties -> smallest value). Maps are first resized (nearest) to a
    multiple of ``grid``."""
    label_map = resize_to_multiple(label_map, grid)
    size = label_map.shape[0]
    cell = size // grid
    blocks = label_map.reshape(grid, cell, grid, cell).transpose(0, 2, 1, 3).reshape(grid * grid, cell * cell)
    low = int(blocks.min())
    counts = np.stack([np.bincount(b - low, minlength=int(blocks.max()) - low + 1) for b in blocks])
    return counts.argmax(axis=1) + low
