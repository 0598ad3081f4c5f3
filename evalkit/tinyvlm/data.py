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

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.model import IGNORE_INDEX, Referents
from evalkit.tinyvlm.tokenizer import ASSISTANT, END, IMAGE, USER, VLMTokenizer, render_chat

Channels = float | tuple[float, float, float]  # one value for all three channels, or one per channel
DEFAULT_MEAN: Channels = 0.5
DEFAULT_STD: Channels = 0.5


def image_to_tensor(
    image: Image.Image, size: int, mean: Channels = DEFAULT_MEAN, std: Channels = DEFAULT_STD
) -> torch.Tensor:
    """RGB PIL image -> ``(3, size, size)`` float (bilinear resize, then ``(x / 255 - mean) / std``
    per channel). The default mean=std=0.5 maps to [-1, 1] by the original formula, bit for bit;
    a pre-trained vision tower passes its own statistics (e.g. CLIP's or SigLIP's)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    if mean == DEFAULT_MEAN and std == DEFAULT_STD:
        array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0  # (S, S, 3)
    else:
        shift = np.broadcast_to(np.asarray(mean, dtype=np.float32), (3,))
        scale = np.broadcast_to(np.asarray(std, dtype=np.float32), (3,))
        array = (np.asarray(image, dtype=np.float32) / 255.0 - shift) / scale  # (S, S, 3)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).contiguous()


def images_to_tensor(
    images: Sequence[Image.Image], size: int, mean: Channels = DEFAULT_MEAN, std: Channels = DEFAULT_STD
) -> torch.Tensor:
    """A batch of images -> ``(N, 3, size, size)``, normalised as :func:`image_to_tensor`."""
    return torch.stack([image_to_tensor(img, size, mean, std) for img in images])


def pixels_for(images: Sequence[Image.Image], cfg: VLMConfig) -> torch.Tensor:
    """``(N, 3, S, S)`` at the model's image size, normalised as its vision encoder expects."""
    return images_to_tensor(images, cfg.image_size, cfg.image_mean, cfg.image_std)


def first_prompt_text(user: str, n_image_tokens: int) -> str:
    """The first user turn with its image placeholders: in place of a literal ``<image>`` marker
    when the text has one (LLaVA-format data), else at the very start (the chat template)."""
    if IMAGE in user:
        if user.count(IMAGE) > 1:
            raise ValueError(f"a turn may hold one {IMAGE} marker, got {user.count(IMAGE)}: {user[:80]!r}")
        return user.replace(IMAGE, IMAGE * n_image_tokens)
    return IMAGE * n_image_tokens + user


def turn_pieces(
    tokenizer: VLMTokenizer, turns: Sequence[tuple[str, str]], n_image_tokens: int
) -> list[tuple[list[int], list[int]]]:
    """Per turn, the prompt's ids (``<|user|>`` .. ``<|assistant|>``, the first turn with the image
    placeholders, :func:`first_prompt_text`) and the reply's ids (answer + ``<|end|>``). Pieces
    are encoded separately, which equals encoding the whole chat because every boundary is a
    special token. ``<image>`` may appear in the first user turn only."""
    pieces = []
    for i, (user, assistant) in enumerate(turns):
        if (i > 0 and IMAGE in user) or IMAGE in assistant:
            raise ValueError(f"{IMAGE} may only appear in the first user turn (turn {i + 1})")
        text = first_prompt_text(user, n_image_tokens) if i == 0 else user
        pieces.append((tokenizer.encode(USER + text + ASSISTANT), tokenizer.encode(assistant + END)))
    return pieces


def join_pieces(pieces: Sequence[tuple[list[int], list[int]]]) -> tuple[list[int], list[int]]:
    """Ids and labels of consecutive turns: prompts masked (-100), replies learned."""
    ids: list[int] = []
    labels: list[int] = []
    for prompt, reply in pieces:
        ids += prompt + reply
        labels += [IGNORE_INDEX] * len(prompt) + reply
    return ids, labels


def encode_conversation(
    tokenizer: VLMTokenizer, turns: Sequence[tuple[str, str]], n_image_tokens: int, max_len: int
) -> tuple[list[int], list[int]]:
    """Token ids and labels of a chat: prompt tokens are masked (-100), replies and ``<|end|>`` are
    learned. The image placeholders go where the first user turn's ``<image>`` marker is, or at its
    start when it has none (0 placeholders for a text-only chat). Cut to ``max_len`` tokens
    anywhere (the synthetic stream's rule; :func:`fit_conversation` cuts at turn boundaries)."""
    ids, labels = join_pieces(turn_pieces(tokenizer, turns, n_image_tokens))
    if len(ids) > max_len:
        if n_image_tokens and ids[:max_len].count(tokenizer.image_id) < n_image_tokens:
            raise ValueError(f"max_len {max_len} cuts into the image placeholders")
        ids, labels = ids[:max_len], labels[:max_len]
    return ids, labels


@dataclass(frozen=True)
class FittedConversation:
    """A conversation encoded within ``max_len``: ids, labels, how many whole turns were dropped
    from the end and whether the last kept reply lost its tail."""

    ids: list[int]
    labels: list[int]
    dropped_turns: int = 0
    cut_reply: bool = False

    @property
    def truncated(self) -> bool:
        return bool(self.dropped_turns or self.cut_reply)


def fit_conversation(
    tokenizer: VLMTokenizer, turns: Sequence[tuple[str, str]], n_image_tokens: int, max_len: int
) -> FittedConversation | None:
    """Encode as :func:`encode_conversation`, truncating at turn boundaries: keep the most leading
    whole turns that fit ``max_len``; if not even the first does, cut its reply's tail, provided
    its prompt (with every image placeholder) and at least one reply token fit. None when nothing
    can be kept: the caller skips the example (and counts it)."""
    pieces = turn_pieces(tokenizer, turns, n_image_tokens)
    total, kept = 0, 0
    for prompt, reply in pieces:
        if total + len(prompt) + len(reply) > max_len:
            break
        total += len(prompt) + len(reply)
        kept += 1
    if kept:
        ids, labels = join_pieces(pieces[:kept])
        return FittedConversation(ids, labels, dropped_turns=len(pieces) - kept)
    prompt, reply = pieces[0]
    room = max_len - len(prompt)
    if room < 1:
        return None
    ids, labels = join_pieces([(prompt, reply[:room])])
    return FittedConversation(ids, labels, dropped_turns=len(pieces) - 1, cut_reply=True)


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
