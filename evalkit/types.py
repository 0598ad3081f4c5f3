"""The vocabulary of evalkit: frozen records passed between the pipeline's stages.

Data flows one way: a :class:`Sample` (from a loader) becomes a :class:`GenerationRequest`
(for an adapter), whose reply becomes a :class:`SampleRecord` (stored), and the records of a
task become a :class:`TaskResult`. Nothing here imports torch or any heavy library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSONValue = Any  # a value that json.dumps accepts

BOX_FORMATS = ("qwen_0_1000", "pixel", "norm_0_1")
"""Box-coordinate conventions an adapter may declare for its replies.

``qwen_0_1000``: integers on a 0-1000 grid, written ``<box>(x1,y1),(x2,y2)</box>`` (Qwen-VL);
``pixel``: absolute pixel coordinates; ``norm_0_1``: floats in [0, 1] of width/height.
"""


@dataclass(frozen=True)
class GenerationSettings:
    """How to decode: greedy unless ``temperature`` > 0."""

    max_new_tokens: int = 32
    temperature: float = 0.0
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "stop": list(self.stop),
        }


@dataclass(frozen=True)
class Sample:
    """One dataset row ready for prompting.

    ``images`` holds whatever the loader found (encoded bytes, a file path or a PIL image);
    :func:`evalkit.images.decode_image` turns any of them into RGB PIL. ``fields`` keeps every
    non-image column as plain JSON values; ``target`` is the ground truth as the scorer wants it.
    """

    doc_id: int
    images: tuple[Any, ...]
    fields: Mapping[str, JSONValue]
    target: JSONValue = None


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for an adapter: decoded RGB images, the user text and how to decode."""

    doc_id: int
    prompt: str
    images: tuple[Any, ...] = ()  # PIL.Image.Image, decoded RGB
    settings: GenerationSettings = field(default_factory=GenerationSettings)


@dataclass(frozen=True)
class SampleRecord:
    """What the store keeps for one finished sample (one JSON line)."""

    doc_id: int
    prompt: str
    response: str | None
    parsed: JSONValue = None
    score: JSONValue = None
    error: str | None = None
    target: JSONValue = None
    timing: Mapping[str, float] = field(default_factory=dict)
    fields: Mapping[str, JSONValue] = field(default_factory=dict)  # the row, images left out

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "doc_id": self.doc_id,
            "prompt": self.prompt,
            "response": self.response,
            "parsed": self.parsed,
            "score": self.score,
            "error": self.error,
            "target": self.target,
            "timing": dict(self.timing),
            "fields": dict(self.fields),
        }

    @staticmethod
    def from_dict(d: Mapping[str, JSONValue]) -> SampleRecord:
        return SampleRecord(
            doc_id=int(d["doc_id"]),
            prompt=d.get("prompt", ""),
            response=d.get("response"),
            parsed=d.get("parsed"),
            score=d.get("score"),
            error=d.get("error"),
            target=d.get("target"),
            timing=d.get("timing") or {},
            fields=d.get("fields") or {},
        )


@dataclass(frozen=True)
class ScoreResult:
    """What a scorer returns for a set of rows: per-row outcomes and the task's metrics.

    ``parsed[i]`` and ``per_sample[i]`` belong to ``rows[i]`` (JSON values). ``metrics`` are
    the headline numbers (accuracy-like ones in percent 0-100, unrounded); ``breakdown`` maps a
    group name (e.g. a subtask) to its metrics. ``info`` says how the numbers were made
    (parser mode, seeds, backends) and is copied into results.
    """

    parsed: list[JSONValue]
    per_sample: list[JSONValue]
    metrics: dict[str, float]
    breakdown: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskResult:
    """A task's aggregate result, as written under ``tasks.<name>`` in results.json."""

    task: str
    version: int
    metrics: dict[str, float]
    stderr: dict[str, float]
    breakdown: dict[str, dict[str, float]]
    n: int
    n_errors: int
    parser: str
    dataset: dict[str, JSONValue]
    generation: dict[str, JSONValue]
    timing: dict[str, float]
    info: dict[str, JSONValue] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "version": self.version,
            "metrics": self.metrics,
            "stderr": self.stderr,
            "breakdown": self.breakdown,
            "n": self.n,
            "n_errors": self.n_errors,
            "parser": self.parser,
            "dataset": self.dataset,
            "generation": self.generation,
            "timing": self.timing,
            "info": self.info,
        }
