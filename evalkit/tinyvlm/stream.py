"""Training batches from the synthetic shapes generator (``evalkit.synthetic.training``).

Each stage reads the generator's stream of the same name: ``vision`` examples carry per-pixel
dense labels (reduced here to one label per ViT patch), ``align`` examples are captions and
``sft`` examples are instruction conversations.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import itertools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.data import (
    Batch,
    box_start_weights,
    collate_referents,
    collate_training,
    encode_conversation,
    patch_majority,
    pixels_for,
)
from evalkit.tinyvlm.tokenizer import ASSISTANT, BOX_OPEN, VLMTokenizer


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


def examples(stage: str, seed: int, image_size: int, workers: int = 0, **mix: Any) -> Iterator[Any]:
    """The generator's endless ``TrainingExample`` stream for ``stage`` (``mix``: the sft
    stream's ``tasks``, ``max_turns`` and so on), rendered in this process or, with ``workers``
    > 0, by that many worker processes a few blocks ahead: the same examples in the same order
    either way, since the stream is a sequence of independent blocks."""
    from evalkit.synthetic.training import iter_training_examples, training_blocks

    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if workers == 0:
        return iter(iter_training_examples(stage, seed=seed, image_size=image_size, **mix))
    block = training_blocks(stage, seed=seed, image_size=image_size, **mix)
    return _flatten(ordered_parallel_map(block, itertools.count(), workers))


def _flatten(blocks: Iterator[list[Any]]) -> Iterator[Any]:
    """The items of each block in turn; closing this closes ``blocks`` (and so its pool)."""
    try:
        for block in blocks:
            yield from block
    finally:
        close_iterator(blocks)


def close_iterator(it: Iterator[Any]) -> None:
    """Close a generator now (its ``finally`` runs), rather than whenever it is collected."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


def ordered_parallel_map(fn: Callable[[int], Any], items: Iterable[int], workers: int) -> Iterator[Any]:
    """``map(fn, items)`` computed by ``workers`` spawned processes, at most ``2 * workers``
    items ahead of the consumer (``items`` may be endless); results come in input order and the
    pool shuts down when the consumer stops. A worker's exception is raised here."""
    ahead: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
    context = multiprocessing.get_context("spawn")  # the trainer may hold CUDA and threads: no fork
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        try:
            for item in items:
                ahead.append(pool.submit(fn, item))
                if len(ahead) >= 2 * workers:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            for future in ahead:
                future.cancel()


def vision_batch(chunk: list[Any], cfg: VLMConfig) -> Batch:
    """Pixels plus per-patch majority labels ``name -> (B, grid*grid)``."""
    pixels = pixels_for([ex.image for ex in chunk], cfg)
    names = [name for name, _ in cfg.dense_heads]
    labels = {name: [] for name in names}  # type: dict[str, list[np.ndarray]]
    for ex in chunk:
        maps = dense_maps(ex.dense)
        for name in names:
            labels[name].append(patch_majority(maps[name], cfg.grid))
    patch_labels = {name: torch.from_numpy(np.stack(rows)).long() for name, rows in labels.items()}
    empty = torch.zeros(len(chunk), 0, dtype=torch.long)
    return Batch(empty, empty, None, pixels, patch_labels)


def text_batch(
    chunk: list[Any],
    cfg: VLMConfig,
    tokenizer: VLMTokenizer,
    max_len: int,
    referents: bool = True,
    box_start_weight: float = 1.0,
) -> Batch:
    """Right-padded conversation batch with the images' pixels (when ``referents``, the
    referents of turns that name one object, for ``--referent-loss``; with ``box_start_weight``
    other than 1, label weights from :func:`box_start_weights`)."""
    encoded = [encode_conversation(tokenizer, ex.turns, cfg.num_visual_tokens, max_len) for ex in chunk]
    pixels = pixels_for([ex.image for ex in chunk], cfg)
    batch = collate_training(encoded, pixels, tokenizer.pad_id)
    named = [getattr(ex, "referents", ()) for ex in chunk]
    return with_text_extras(batch, encoded, named, cfg, tokenizer, referents, box_start_weight)


def with_text_extras(
    batch: Batch,
    encoded: list[tuple[list[int], list[int]]],
    named: list[Any],
    cfg: VLMConfig,
    tokenizer: VLMTokenizer,
    referents: bool,
    box_start_weight: float,
) -> Batch:
    """``batch`` plus label weights from :func:`box_start_weights` (when ``box_start_weight`` is
    not 1) and, when ``referents``, the referents (``named``: each row's per-turn masks)."""
    if box_start_weight != 1.0:
        box_open = tokenizer.token_id(BOX_OPEN)
        weights = box_start_weights(batch.input_ids, box_open, tokenizer.digit_ids, box_start_weight)
        batch = dataclasses.replace(batch, label_weights=weights)
    if not referents or not any(named):
        return batch
    side = cfg.grid // cfg.shuffle
    collated = collate_referents(encoded, named, tokenizer.token_id(ASSISTANT), side)
    return dataclasses.replace(batch, referents=collated)


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
    workers: int = 0,
    referents: bool = True,
    box_start_weight: float = 1.0,
    **mix: Any,
) -> Iterator[Batch]:
    """Endless batches for ``stage`` rendered at the model's image size (a finite stream is
    restarted with the next seed) in ``workers`` processes (0: this one). Text stages need the
    tokenizer; ``referents=False`` skips collating referent masks (no referent loss to feed);
    ``box_start_weight`` goes to :func:`text_batch`, ``mix`` to :func:`examples`."""
    if stage != "vision" and tokenizer is None:
        raise ValueError(f"stage {stage!r} needs a tokenizer")
    for epoch in itertools.count():
        stream = examples(stage, seed + epoch, cfg.image_size, workers=workers, **mix)
        try:
            for chunk in chunks(stream, batch_size):
                if stage == "vision":
                    yield vision_batch(chunk, cfg)
                else:
                    assert tokenizer is not None  # checked above
                    yield text_batch(chunk, cfg, tokenizer, max_len, referents, box_start_weight)
        finally:
            close_iterator(stream)  # worker processes stop with the consumer, not at exit
