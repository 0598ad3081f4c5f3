"""Training batches from the synthetic shapes generator (``evalkit.synthetic.training``).

Each stage reads the generator's stream of the same name: ``vision`` examples carry per-pixel
dense labels (reduced here to one label per ViT patch), ``align`` examples are captions and
``sft`` examples are instruction conversations.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.data import (
    Batch,
    collate_training,
    encode_conversation,
    images_to_tensor,
    patch_majority,
)
from evalkit.tinyvlm.tokenizer import VLMTokenizer


def dense_maps(dense: Any) -> dict[str, np.ndarray]:
    """The per-pixel label arrays of a ``DenseLabels`` record, by field name."""
    return {f.name: np.asarray(getattr(dense, f.name)) for f in dataclasses.fields(dense)
            if isinstance(getattr(dense, f.name), np.ndarray)}  # fmt: skip


def dense_head_spec() -> tuple[tuple[str, int], ...]:
    """(name, number of classes) of each dense label the synthetic generator provides."""
    from evalkit.synthetic.training import NUM_COLOR_IDS, NUM_LETTER_IDS, NUM_SHAPE_IDS, NUM_SIZE_IDS

    return (("shape", NUM_SHAPE_IDS), ("color", NUM_COLOR_IDS), ("size", NUM_SIZE_IDS),
            ("letter", NUM_LETTER_IDS))  # fmt: skip


def tokenizer_corpus(n: int, seed: int) -> list[str]:
    """Training text for the BPE tokenizer (prompts and answers of every stage)."""
    from evalkit.synthetic.training import training_text_corpus

    return list(training_text_corpus(n, seed=seed))


def examples(stage: str, seed: int, image_size: int, **mix: Any) -> Iterator[Any]:
    """The generator's endless ``TrainingExample`` stream for ``stage`` (``mix``: the sft
    stream's ``tasks`` and ``max_turns``)."""
    from evalkit.synthetic.training import iter_training_examples

    return iter(iter_training_examples(stage, seed=seed, image_size=image_size, **mix))


def vision_batch(chunk: list[Any], cfg: VLMConfig) -> Batch:
    """Pixels plus per-patch majority labels ``name -> (B, grid*grid)``."""
    pixels = images_to_tensor([ex.image for ex in chunk], cfg.image_size)
    names = [name for name, _ in cfg.dense_heads]
    labels = {name: [] for name in names}  # type: dict[str, list[np.ndarray]]
    for ex in chunk:
        maps = dense_maps(ex.dense)
        for name in names:
            labels[name].append(patch_majority(maps[name], cfg.grid))
    patch_labels = {name: torch.from_numpy(np.stack(rows)).long() for name, rows in labels.items()}
    empty = torch.zeros(len(chunk), 0, dtype=torch.long)
    return Batch(empty, empty, None, pixels, patch_labels)


def text_batch(chunk: list[Any], cfg: VLMConfig, tokenizer: VLMTokenizer, max_len: int) -> Batch:
    """Right-padded conversation batch with the images' pixels."""
    encoded = [encode_conversation(tokenizer, ex.turns, cfg.num_visual_tokens, max_len) for ex in chunk]
    pixels = images_to_tensor([ex.image for ex in chunk], cfg.image_size)
    return collate_training(encoded, pixels, tokenizer.pad_id)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (a shorter last one if the stream ends)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def stage_batches(
    stage: str,
    cfg: VLMConfig,
    tokenizer: VLMTokenizer | None,
    batch_size: int,
    *,
    seed: int,
    max_len: int,
    **mix: Any,
) -> Iterator[Batch]:
    """Endless batches for ``stage`` rendered at the model's image size (a finite stream is
    restarted with the next seed). Text stages need the tokenizer; ``mix`` goes to :func:`examples`."""
    if stage != "vision" and tokenizer is None:
        raise ValueError(f"stage {stage!r} needs a tokenizer")
    for epoch in itertools.count():
        for chunk in chunks(examples(stage, seed + epoch, cfg.image_size, **mix), batch_size):
            if stage == "vision":
                yield vision_batch(chunk, cfg)
            else:
                assert tokenizer is not None  # checked above
                yield text_batch(chunk, cfg, tokenizer, max_len)
