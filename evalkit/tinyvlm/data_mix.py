"""A weighted mixture of training data sources (``--data``) and the batches the trainer reads.

A source is ``kind=llava,path=FILE[,images=DIR]``, ``kind=docci,path=DIR[,split=train]`` or
``kind=shapes`` (the stage's synthetic stream, its mix from the usual flags), each with an
optional ``weight=W`` (default 1). Each next example comes from a source drawn by weight, so
a source's realised share converges to ``weight / sum(weights)``. Examples are encoded with
turn-boundary truncation (:func:`~evalkit.tinyvlm.data.fit_conversation`) and batched with
pixels for the rows that have an image; :class:`DataBatches` exposes the stream's counters.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.data import (
    Batch,
    FittedConversation,
    collate_training,
    fit_conversation,
    pixels_for,
)
from evalkit.tinyvlm.llava_data import (
    DOCCI_SPLITS,
    DataStats,
    load_docci_records,
    load_llava_records,
    record_examples,
)
from evalkit.tinyvlm.stream import chunks, close_iterator, examples, with_text_extras
from evalkit.tinyvlm.tokenizer import VLMTokenizer

SOURCE_KEYS = {
    "llava": ("kind", "path", "images", "weight"),
    "docci": ("kind", "path", "split", "weight"),
    "shapes": ("kind", "weight"),
}
REAL_DATA_STAGES = ("align", "sft")
SOURCE_SEED_STRIDE = 10_007  # source i reads with seed + i * stride: distinct shuffles per source
DATA_STATS_FILE = "data_stats.jsonl"


@dataclass(frozen=True)
class DataSource:
    """One ``--data`` entry: its kind, mixture weight and, for files, where they are."""

    kind: str
    weight: float = 1.0
    path: Path | None = None
    images: Path | None = None  # llava: the folder image paths are relative to (default: the file's)
    split: str = "train"  # docci: never "test" unless asked (evalkit run --tasks docci scores it)


def key_values(text: str) -> dict[str, str]:
    """``"kind=llava,weight=0.5"`` -> ``{"kind": "llava", "weight": "0.5"}``."""
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"--data {text!r}: expected KEY=VALUE pairs separated by commas, got {item!r}")
        if key in out:
            raise ValueError(f"--data {text!r}: {key!r} is given twice")
        out[key] = value
    return out


def parse_weight(text: str, value: str) -> float:
    """A positive, finite mixture weight."""
    try:
        weight = float(value)
    except ValueError:
        weight = float("nan")
    if not 0 < weight < float("inf"):
        raise ValueError(f"--data {text!r}: weight must be a positive number, got {value!r}")
    return weight


def existing_path(text: str, key: str, value: str | None) -> Path:
    """``value`` as a path that exists; one-line errors when it is not given or not there."""
    if value is None:
        raise ValueError(f"--data {text!r}: this kind needs {key}=PATH")
    path = Path(value).expanduser()
    if not path.exists():
        raise ValueError(f"--data {text!r}: {key} {str(path)!r} does not exist")
    return path


def parse_data_source(text: str) -> DataSource:
    """A :class:`DataSource` from one ``--data`` string; a one-line ValueError names what is
    wrong (unknown kind or key, missing or absent path, non-positive weight, unknown split)."""
    items = key_values(text)
    kind = items.get("kind")
    if kind not in SOURCE_KEYS:
        raise ValueError(f"--data {text!r}: kind must be one of {tuple(SOURCE_KEYS)}, got {kind!r}")
    unknown = sorted(set(items) - set(SOURCE_KEYS[kind]))
    if unknown:
        raise ValueError(
            f"--data {text!r}: unknown key(s) {unknown} for kind={kind}; use {SOURCE_KEYS[kind]}"
        )
    weight = parse_weight(text, items.get("weight", "1"))
    if kind == "shapes":
        return DataSource(kind, weight)
    path = existing_path(text, "path", items.get("path"))
    if kind == "docci":
        split = items.get("split", "train")
        if split not in DOCCI_SPLITS:
            raise ValueError(f"--data {text!r}: split must be one of {DOCCI_SPLITS}, got {split!r}")
        return DataSource(kind, weight, path, split=split)
    images = existing_path(text, "images", items["images"]) if "images" in items else path.parent
    return DataSource(kind, weight, path, images=images)


def parse_data_sources(texts: Sequence[str]) -> tuple[DataSource, ...]:
    """Every ``--data`` entry parsed (at least one)."""
    if not texts:
        raise ValueError("give at least one --data source")
    return tuple(parse_data_source(text) for text in texts)


def shapes_examples(stage: str, seed: int, image_size: int, workers: int, **mix: Any) -> Iterator[Any]:
    """The stage's synthetic stream, restarted with the next seed should it ever end."""
    for epoch in itertools.count():
        stream = examples(stage, seed + epoch, image_size, workers=workers, **mix)
        try:
            yield from stream
        finally:
            close_iterator(stream)


def source_examples(
    source: DataSource, *, stage: str, seed: int, image_size: int, stats: DataStats, workers: int, **mix: Any
) -> Iterator[Any]:
    """One source's endless examples; its files are read now (errors surface before training)."""
    if source.kind == "shapes":
        return shapes_examples(stage, seed, image_size, workers, **mix)
    assert source.path is not None  # parse_data_source requires it
    if source.kind == "docci":
        records, images = load_docci_records(source.path, source.split, stats)
    else:
        records, images = load_llava_records(source.path, stats), source.images or source.path.parent
    if not records:
        raise ValueError(f"{source.kind} {source.path}: no usable records ({stats.summary()})")
    return record_examples(records, images, seed=seed, stats=stats, kind=source.kind)


def mixed_examples(
    sources: Sequence[DataSource],
    *,
    stage: str,
    seed: int,
    image_size: int,
    stats: DataStats,
    workers: int = 0,
    **mix: Any,
) -> Iterator[Any]:
    """Endless examples, each from a source drawn by weight with ``random.Random(seed)``: the
    same sequence for the same sources and seed, and each source's share of the draws converges
    to its ``weight / sum(weights)`` (off by about ``sqrt(share * (1 - share) / n)`` after n).
    Source ``i`` is read with seed ``seed + i * SOURCE_SEED_STRIDE``; ``mix`` and ``workers``
    go to the shapes source. Files are loaded before this returns."""
    if not sources:
        raise ValueError("mixed_examples needs at least one source")
    streams = [source_examples(source, stage=stage, seed=seed + i * SOURCE_SEED_STRIDE, image_size=image_size,
                               stats=stats, workers=workers, **mix)
               for i, source in enumerate(sources)]  # fmt: skip
    return _draw(streams, sources, random.Random(seed), stats)


def _draw(
    streams: list[Iterator[Any]], sources: Sequence[DataSource], rng: random.Random, stats: DataStats
) -> Iterator[Any]:
    """The weighted draw of :func:`mixed_examples`; closing it closes every source."""
    weights = [source.weight for source in sources]
    indices = range(len(streams))
    try:
        while True:
            i = rng.choices(indices, weights)[0]
            stats.drawn[sources[i].kind] += 1
            yield next(streams[i])
    finally:
        for stream in streams:
            close_iterator(stream)


def fitted_examples(
    stream: Iterator[Any], tokenizer: VLMTokenizer, n_image_tokens: int, max_len: int, stats: DataStats
) -> Iterator[tuple[Any, FittedConversation]]:
    """Each example with its encoding cut at turn boundaries to ``max_len`` (no placeholders for a
    text-only one); an example that cannot fit is skipped. Both are counted in ``stats``."""
    for example in stream:
        n_tokens = 0 if example.image is None else n_image_tokens
        fitted = fit_conversation(tokenizer, example.turns, n_tokens, max_len)
        if fitted is None:
            name = f"{example.task}:{getattr(example, 'id', '')}"
            stats.skip(
                "skipped_too_long", name, f"its first prompt does not leave a reply token in {max_len}"
            )
            continue
        stats.used += 1
        stats.text_only += example.image is None
        stats.truncated += fitted.truncated
        yield example, fitted


def mixed_text_batch(
    items: Sequence[tuple[Any, FittedConversation]],
    cfg: VLMConfig,
    tokenizer: VLMTokenizer,
    *,
    referents: bool = False,
    box_start_weight: float = 1.0,
) -> Batch:
    """A right-padded batch like ``stream.text_batch`` whose rows may lack an image: pixels
    ``(N_img, 3, S, S)`` only for the rows with one, in row order (the model fills ``<image>``
    slots in that order; None when no row has one). Referents are collated only when every row
    has an image (the referent loss needs one image per row)."""
    encoded = [(fitted.ids, fitted.labels) for _, fitted in items]
    images = [example.image for example, _ in items if example.image is not None]
    pixels = pixels_for(images, cfg) if images else None
    batch = collate_training(encoded, pixels, tokenizer.pad_id)
    named = [getattr(example, "referents", ()) for example, _ in items]
    collate_named = referents and len(images) == len(items)
    return with_text_extras(batch, encoded, named, cfg, tokenizer, collate_named, box_start_weight)


class DataBatches:
    """Endless batches with the stream's :class:`DataStats` as ``.stats`` (read them at each log
    step); ``close()`` stops the sources (and the shapes workers, if any)."""

    def __init__(self, batches: Iterator[Batch], stats: DataStats, stream: Iterator[Any]) -> None:
        self._batches = batches
        self._stream = stream
        self.stats = stats

    def __iter__(self) -> DataBatches:
        return self

    def __next__(self) -> Batch:
        return next(self._batches)

    def close(self) -> None:
        close_iterator(self._batches)
        close_iterator(self._stream)


def real_stage_batches(
    sources: Sequence[DataSource],
    stage: str,
    cfg: VLMConfig,
    tokenizer: VLMTokenizer,
    batch_size: int,
    *,
    seed: int,
    max_len: int,
    workers: int = 0,
    referents: bool = False,
    box_start_weight: float = 1.0,
    **mix: Any,
) -> DataBatches:
    """Endless ``align``/``sft`` batches of ``batch_size`` examples drawn from ``sources`` (see
    :func:`mixed_examples`; ``mix``/``workers``: the shapes source's options), rendered at the
    model's image size and normalised as its vision encoder expects."""
    if stage not in REAL_DATA_STAGES:
        raise ValueError(f"--data feeds the {REAL_DATA_STAGES} stages, not {stage!r}")
    stats = DataStats()
    stream = mixed_examples(sources, stage=stage, seed=seed, image_size=cfg.image_size, stats=stats,
                            workers=workers, **mix)  # fmt: skip
    fitted = fitted_examples(stream, tokenizer, cfg.num_visual_tokens, max_len, stats)
    batches = (mixed_text_batch(chunk, cfg, tokenizer, referents=referents, box_start_weight=box_start_weight)
               for chunk in chunks(fitted, batch_size))  # fmt: skip
    return DataBatches(batches, stats, stream)


def append_data_stats(path: Path, step: int, stats: DataStats) -> None:
    """Append ``{"step": step, **stats.to_dict()}`` as one JSON line (the run folder's record)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, **stats.to_dict()}) + "\n")
