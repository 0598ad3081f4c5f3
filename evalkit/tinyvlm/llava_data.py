"""Real instruction data for the ``align`` and ``sft`` stages: LLaVA-format conversations and
DOCCI's detailed descriptions, read into endless, seeded, shuffled example streams.

LLaVA format (LLaVA-Pretrain-558K ``blip_laion_cc_sbu_558k.json``, LLaVA-Instruct-665K
``llava_v1_5_mix665k.json``): a JSON list file or a JSONL file of ``{"id", "image" (optional;
a path relative to the image folder), "conversations": [{"from": "human"|"gpt", "value"}, ...]}``.
Turns alternate human/gpt from a human one. One ``<image>`` marker may sit in the first human
turn; the placeholders go where it is (``data.first_prompt_text``), and the newline that joins a
leading or trailing marker to the text is dropped, so ``"<image>\\nQ"`` encodes exactly as the
chat template's placeholders + ``Q`` that evaluation prompts use. Records with several images
(an image list or more than one marker) are skipped and counted, as are malformed records and
records whose image is missing or unreadable; a corrupt file raises a one-line error.

DOCCI (google/docci): ``docci_descriptions.jsonlines``, one ``{"example_id", "split",
"image_file", "description"}`` per line, beside ``images/<image_file>``. Each image becomes one
turn: the ``docci`` eval task's prompt -> the description. Only the ``train`` split by default:
``test`` is what ``evalkit run --tasks docci`` scores.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evalkit.tinyvlm.tokenizer import IMAGE

LOG = logging.getLogger(__name__)
LOGGED_IDS = 5  # skipped records named in the log per reason; the rest are only counted
ROLES = ("human", "gpt")
DOCCI_FILES = ("docci_descriptions.jsonlines", "docci_descriptions.jsonl")
DOCCI_IMAGES = "images"
DOCCI_SPLITS = ("train", "test", "qual_dev", "qual_test")
DOCCI_FIELDS = ("example_id", "split", "image_file", "description")
Turns = tuple[tuple[str, str], ...]


@dataclass
class DataStats:
    """Counters of one data stream, updated in place by the readers and the batcher (so mutable).

    Record counters (``records_read``, ``skipped_malformed``, ``skipped_multi_image`` when a file
    is loaded; ``skipped_missing_image`` once per record, which is then left out) count distinct
    records; example counters (``used``, ``text_only``, ``truncated``, ``skipped_too_long``,
    ``drawn`` per source kind) count examples drawn, so they grow every epoch."""

    records_read: int = 0
    used: int = 0
    skipped_missing_image: int = 0
    skipped_malformed: int = 0
    skipped_multi_image: int = 0
    text_only: int = 0
    truncated: int = 0
    skipped_too_long: int = 0
    drawn: Counter[str] = field(default_factory=Counter)
    first_skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, record_id: str, detail: str) -> None:
        """Count a skipped record or example under ``reason`` (a counter's name); the first
        :data:`LOGGED_IDS` of each reason are logged with their id."""
        setattr(self, reason, getattr(self, reason) + 1)
        named = self.first_skipped.setdefault(reason, [])
        if len(named) < LOGGED_IDS:
            named.append(record_id)
            LOG.warning("%s: %s (%s)", reason, record_id, detail)

    def to_dict(self) -> dict[str, int]:
        """The counters, plus ``drawn_<kind>`` per source kind, for logs and the run folder."""
        counters = {f.name: getattr(self, f.name) for f in fields(self) if f.type in ("int", int)}
        counters.update({f"drawn_{kind}": n for kind, n in sorted(self.drawn.items())})
        return counters

    def summary(self) -> str:
        """One log line: ``data used 120 (text-only 3, truncated 2) skipped missing-image 1 ...``."""
        return (
            f"data used {self.used} (text-only {self.text_only}, truncated {self.truncated}) skipped "
            f"missing-image {self.skipped_missing_image}, malformed {self.skipped_malformed}, "
            f"multi-image {self.skipped_multi_image}, too-long {self.skipped_too_long}"
        )


@dataclass(frozen=True, slots=True)
class Record:
    """One usable conversation: its id, image path (relative to the source's image folder; None
    for a text-only one) and (user, assistant) turns with any ``<image>`` marker in place."""

    id: str
    image: str | None
    turns: Turns


@dataclass(frozen=True)
class RealExample:
    """What the batcher reads of a training example, as the synthetic ``TrainingExample`` has it:
    an RGB image (None: text only), the turns and no referent masks; ``task`` names the source."""

    image: Image.Image | None
    turns: Turns
    task: str = ""
    id: str = ""
    referents: tuple[np.ndarray | None, ...] = ()


class SkipRecord(Exception):
    """A record that cannot be used; ``reason`` is the :class:`DataStats` counter to bump."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def malformed(detail: str) -> SkipRecord:
    return SkipRecord("skipped_malformed", detail)


def jsonl_objects(path: Path, lines: Iterator[str]) -> Iterator[Any]:
    """The JSON value of each non-blank line; a corrupt line raises naming the file and line."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not a JSON line ({err.msg}); fix or remove it") from None


def load_json_objects(path: Path) -> list[Any]:
    """The records of a JSON list file (first non-blank character ``[``) or of a JSONL file."""
    with path.open(encoding="utf-8-sig") as f:
        head = f.read(4096).lstrip()
        f.seek(0)
        if not head.startswith("["):
            return list(jsonl_objects(path, f))
        try:
            records = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
            ) from None
    return list(records)


def conversation_turns(conversations: Any) -> Turns:
    """(human, gpt) pairs of a LLaVA ``conversations`` list; :class:`SkipRecord` unless it is a
    non-empty list of messages alternating human/gpt from a human one, each with a str value."""
    if not isinstance(conversations, list) or not conversations or len(conversations) % 2:
        raise malformed("'conversations' must be a non-empty list of human/gpt message pairs")
    values = []
    for k, message in enumerate(conversations):
        role = ROLES[k % 2]
        if (
            not isinstance(message, dict)
            or message.get("from") != role
            or not isinstance(message.get("value"), str)
        ):
            raise malformed(f"message {k + 1} must be {{'from': {role!r}, 'value': <text>}}")
        values.append(message["value"])
    return tuple(zip(values[0::2], values[1::2]))


def check_image_marker(turns: Turns, has_image: bool) -> None:
    """At most one ``<image>`` marker (more: a multi-image record), in the first human turn, and
    only when the record has an image."""
    total = sum(user.count(IMAGE) + reply.count(IMAGE) for user, reply in turns)
    if total > 1:
        raise SkipRecord("skipped_multi_image", f"{total} {IMAGE} markers")
    if total == 1 and IMAGE not in turns[0][0]:
        raise malformed(f"the {IMAGE} marker is not in the first human turn")
    if total == 1 and not has_image:
        raise malformed(f"an {IMAGE} marker but no image")


def join_image_marker(text: str) -> str:
    """Drop the whitespace joining a leading or trailing ``<image>`` marker to the text (LLaVA
    writes ``"<image>\\nQ"`` / ``"Q\\n<image>"``); a marker inside the text is left as it is."""
    stripped = text.strip()
    if stripped.startswith(IMAGE):
        return IMAGE + stripped[len(IMAGE) :].lstrip()
    if stripped.endswith(IMAGE):
        return stripped[: -len(IMAGE)].rstrip() + IMAGE
    return text


def llava_record(raw: Any, index: int) -> Record:
    """A validated :class:`Record` of one LLaVA-format item (the ``index``-th of its file)."""
    if not isinstance(raw, dict):
        raise malformed("a record must be a JSON object")
    image = raw.get("image")
    if isinstance(image, list):
        raise SkipRecord("skipped_multi_image", "an image list")
    if image is not None and not (isinstance(image, str) and image):
        raise malformed("'image' must be a relative path")
    turns = conversation_turns(raw.get("conversations"))
    check_image_marker(turns, image is not None)
    user, reply = turns[0]
    return Record(record_id(raw, index), image, ((join_image_marker(user), reply), *turns[1:]))


def record_id(raw: Any, index: int) -> str:
    """The record's ``id`` (or ``#index`` when it has none)."""
    return str(raw["id"]) if isinstance(raw, dict) and "id" in raw else f"#{index}"


def load_llava_records(path: Path, stats: DataStats) -> list[Record]:
    """The usable records of a LLaVA-format JSON or JSONL file (skips counted in ``stats``)."""
    records = []
    for index, raw in enumerate(load_json_objects(path)):
        stats.records_read += 1
        try:
            records.append(llava_record(raw, index))
        except SkipRecord as skip:
            stats.skip(skip.reason, f"{path.name}:{record_id(raw, index)}", skip.detail)
    return records


def docci_files(path: Path) -> tuple[Path, Path]:
    """(descriptions file, images folder) of a DOCCI folder, or of its descriptions file."""
    folder = path if path.is_dir() else path.parent
    found = [path] if path.is_file() else [folder / name for name in DOCCI_FILES if (folder / name).is_file()]
    if not found:
        raise ValueError(f"{path}: no {' or '.join(DOCCI_FILES)}; point at the DOCCI release folder")
    return found[0], folder / DOCCI_IMAGES


def docci_record(raw: Any, prompt: str) -> Record:
    """One DOCCI row as a detailed-caption turn: the eval prompt (placeholders first) -> description."""
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) and raw[k] for k in DOCCI_FIELDS):
        raise malformed(f"a DOCCI row needs non-empty string fields {DOCCI_FIELDS}")
    return Record(raw["example_id"], raw["image_file"], ((IMAGE + prompt, raw["description"]),))


def docci_prompt() -> str:
    """The user text of the ``docci`` eval task (its YAML prompt, built by the eval code path)."""
    from evalkit.prompts import build_prompt
    from evalkit.registry import default_registry

    return build_prompt(default_registry().get("docci"), {})


def load_docci_records(path: Path, split: str, stats: DataStats) -> tuple[list[Record], Path]:
    """The rows of ``split`` in a DOCCI release as records, and the images folder."""
    if split not in DOCCI_SPLITS:
        raise ValueError(f"unknown DOCCI split {split!r}; choose one of {DOCCI_SPLITS}")
    if split == "test":
        LOG.warning("training on DOCCI's test split, which `evalkit run --tasks docci` evaluates")
    descriptions, images = docci_files(path)
    prompt = docci_prompt()
    records = []
    with descriptions.open(encoding="utf-8") as f:
        for number, raw in enumerate(jsonl_objects(descriptions, f), 1):
            if isinstance(raw, dict) and raw.get("split") not in (split, None):
                continue
            stats.records_read += 1
            try:
                records.append(docci_record(raw, prompt))
            except SkipRecord as skip:
                stats.skip(skip.reason, f"{descriptions.name}:{number}", skip.detail)
    return records, images


def open_rgb(path: Path) -> Image.Image | None:
    """The image at ``path`` decoded to RGB, or None when it is missing or unreadable."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def record_examples(
    records: Sequence[Record], images: Path, *, seed: int, stats: DataStats, kind: str
) -> Iterator[RealExample]:
    """Endless examples of ``records``: epoch ``e`` visits each once, in the order of
    ``numpy.random.default_rng(seed + e).permutation`` (deterministic in the records and seed).
    A record whose image is missing or unreadable is counted once and left out from then on."""
    if not records:
        raise ValueError(f"{kind}: no usable records ({stats.summary()})")
    left_out: set[int] = set()
    for epoch in itertools.count():
        yielded = False
        for index in np.random.default_rng(seed + epoch).permutation(len(records)).tolist():
            if index in left_out:
                continue
            record = records[index]
            image = None if record.image is None else open_rgb(images / record.image)
            if record.image is not None and image is None:
                left_out.add(index)
                stats.skip(
                    "skipped_missing_image", f"{kind}:{record.id}", f"cannot read {images / record.image}"
                )
                continue
            yielded = True
            yield RealExample(image, record.turns, task=kind, id=record.id)
        if not yielded:
            raise ValueError(f"{kind}: every record's image is missing or unreadable under {images}")
