"""Per-batch stages of a run: prepare rows into requests, generate with isolation, score.

Every failure here is confined to the samples it concerns: a corrupt row or a missing image
becomes a :class:`Prepared` with an ``error``; a batch the adapter cannot answer is retried one
request at a time; out-of-memory halves the batch. Nothing here writes files.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from evalkit.batching import chunked, is_out_of_memory, length_sorted_batches
from evalkit.data import LoadedDataset, to_json_value
from evalkit.images import decode_image
from evalkit.prompts import build_prompt, prepare_row
from evalkit.registry import TaskSpec
from evalkit.types import GenerationRequest, GenerationSettings

CHUNK_BATCHES = 16  # batches sorted together; bounds memory while keeping padding low
DECODE_WORKERS = min(8, os.cpu_count() or 2)  # JPEG decoding releases the GIL


@dataclass
class Prepared:
    """One sample on its way through the pipeline."""

    doc_id: int
    fields: dict[str, Any]
    prompt: str = ""
    images: tuple[Any, ...] = ()
    error: str | None = None
    response: str | None = None
    generate_s: float = 0.0


def describe_error(exc: BaseException) -> str:
    """One line: the exception type and its first message line."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _split_row(spec: TaskSpec, row: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Separate image cells (``image_columns`` or a hook-made ``images`` list) from fields."""
    images: list[Any] = list(row.pop("images", None) or [])
    for column in spec.dataset.image_columns:
        if column in row:
            value = row.pop(column)
            if isinstance(value, list):
                images.extend(v for v in value if v is not None)
            elif value is not None or not images:
                images.append(value)
    fields = {k: to_json_value(v) for k, v in row.items()}
    return fields, images


def read_sample(spec: TaskSpec, doc_id: int, row: dict[str, Any]) -> Prepared:
    """Row -> fields, prompt and the still-encoded image cells; errors are kept on the sample."""
    try:
        row = prepare_row(spec, row)
        fields, raw_images = _split_row(spec, row)
    except Exception as exc:  # a corrupt row must not stop the run
        return Prepared(doc_id, {}, error=f"bad row: {describe_error(exc)}")
    try:
        prompt = build_prompt(spec, fields)
    except Exception as exc:
        return Prepared(doc_id, fields, error=describe_error(exc))
    return Prepared(doc_id, fields, prompt=prompt, images=tuple(raw_images))


def decode_sample_images(sample: Prepared, base_dir: Any) -> Prepared:
    """A copy of ``sample`` with RGB images for its encoded cells (an error is kept, not raised).

    A copy, so that the chunk's list of encoded samples never holds decoded pixels.
    """
    if sample.error is not None:
        return sample
    try:
        images = tuple(decode_image(img, base_dir=base_dir) for img in sample.images)
    except Exception as exc:
        return dataclasses.replace(sample, images=(), error=describe_error(exc))
    return dataclasses.replace(sample, images=images)


def prepare_sample(spec: TaskSpec, doc_id: int, row: dict[str, Any], base_dir: Any) -> Prepared:
    """Row -> fields, prompt and decoded images; errors are kept on the sample, not raised."""
    return decode_sample_images(read_sample(spec, doc_id, row), base_dir)


def prepared_batches(
    spec: TaskSpec,
    dataset: LoadedDataset,
    doc_ids: Sequence[int],
    batch_size: int,
    workers: int = DECODE_WORKERS,
) -> Iterator[list[Prepared]]:
    """Batches of prepared samples, length-sorted within chunks (run this under ``prefetch``).

    A chunk's rows are read and prompted first (cheap: the sort key needs only the prompt and
    the number of images); images are decoded batch by batch, in parallel, just before the
    batch is handed on, so at most a few batches of decoded images exist at any time.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evalkit-decode") as pool:
        for chunk in chunked(doc_ids, batch_size * CHUNK_BATCHES):
            samples = [read_sample(spec, doc_id, row) for doc_id, row in dataset.iter_rows(chunk)]
            for batch in length_sorted_batches(samples, _sample_length, batch_size):
                yield _decode_batch(pool, workers, batch, dataset.base_dir)


def _decode_batch(
    pool: ThreadPoolExecutor, workers: int, batch: list[Prepared], base_dir: Any
) -> list[Prepared]:
    """Decode a batch in ``workers`` contiguous slices (one task per slice, not per sample)."""
    step = -(-len(batch) // max(1, workers))
    slices = [batch[i : i + step] for i in range(0, len(batch), step)]
    parts = pool.map(lambda part: [decode_sample_images(s, base_dir) for s in part], slices)
    return [sample for part in parts for sample in part]


def _sample_length(sample: Prepared) -> int:
    return len(sample.prompt) + 256 * len(sample.images)


class BatchSizer:
    """The current batch size, halved on out-of-memory and never raised again."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)

    def halve(self) -> None:
        if self.size == 1:
            raise MemoryError("out of memory even at batch size 1")
        self.size = max(1, self.size // 2)


def generate_batch(
    adapter: Any, samples: list[Prepared], settings: GenerationSettings, sizer: BatchSizer
) -> int:
    """Fill ``response`` or ``error`` on each sample; returns the number of adapter calls."""
    todo = [s for s in samples if s.error is None]
    calls = 0
    start = 0
    while start < len(todo):
        part = todo[start : start + sizer.size]
        try:
            calls += _generate_part(adapter, part, settings)
        except Exception as exc:
            if is_out_of_memory(exc):
                sizer.halve()
                continue
            raise
        start += len(part)
    return calls


def _generate_part(adapter: Any, part: list[Prepared], settings: GenerationSettings) -> int:
    """One adapter call for ``part``; on a non-OOM failure, retry sample by sample."""
    requests = [GenerationRequest(s.doc_id, s.prompt, s.images, settings) for s in part]
    t0 = time.perf_counter()
    try:
        replies = adapter.generate(requests)
        if len(replies) != len(requests):
            raise RuntimeError(f"adapter returned {len(replies)} replies for {len(requests)} requests")
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        if len(part) == 1:
            part[0].error = f"generation failed: {describe_error(exc)}"
            return 1
        return 1 + sum(_generate_part(adapter, [s], settings) for s in part)
    elapsed = time.perf_counter() - t0
    for sample, reply in zip(part, replies):
        sample.response = str(reply)
        sample.generate_s = elapsed / len(part)
    return 1
