"""Instant fake models for exercising the pipeline without weights (``mock:<behaviour>``).

Behaviours:

``mock:yes`` / ``mock:no``
    Always answer ``"yes"`` / ``"no"``.
``mock:echo``
    Answer with the prompt itself.
``mock:constant=<text>``
    Always answer ``<text>`` (may contain ``:`` and spaces).
``mock:random``
    One of ``yes``, ``no``, ``A``, ``B``, ``C``, ``D``, an integer 0-100 or a Qwen-style box
    ``<box>(x1,y1),(x2,y2)</box>`` on the 0-1000 grid. The choice is a pure function of
    ``options.seed``, the prompt and the images' pixels, so a sample's answer never depends on
    batch composition, order, sharding or resumption.
``mock:fail-every-N``
    Raise :class:`RuntimeError` for any batch holding a request whose ``doc_id % N == N - 1``
    (a rule on ``doc_id``, not on call counts, so retries fail the same way); answer ``"yes"``
    otherwise.

Slowing down: ``options.extra["delay"]`` (seconds, ``--adapter-arg delay=0.2``) sleeps once per
batch, standing in for a slow model.

Counting calls: when ``options.extra["call_log"]`` names a file, one line ``<doc_id>\\n`` is
appended per request *answered* (failed batches write nothing), so a test running the CLI in a
subprocess can count how many requests reached the adapter. ``MockAdapter.n_answered`` counts
the same thing in-process. This module never imports torch.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.types import GenerationRequest
from model_adapters.base import AdapterOptions, ModelAdapter, register_adapter

SIMPLE_BEHAVIOURS = ("yes", "no", "echo", "random")


@dataclass(frozen=True)
class MockBehaviour:
    """A parsed ``mock:`` spec: ``kind`` in yes/no/echo/random/constant/fail-every."""

    kind: str
    text: str = ""
    every: int = 0


def parse_mock_spec(spec: str) -> MockBehaviour:
    """``"fail-every-3"`` -> ``MockBehaviour("fail-every", every=3)``; unknown specs raise ValueError."""
    if spec in SIMPLE_BEHAVIOURS:
        return MockBehaviour(spec)
    if spec.startswith("constant="):
        return MockBehaviour("constant", text=spec[len("constant=") :])
    if spec.startswith("fail-every-"):
        count = spec[len("fail-every-") :]
        if count.isdigit() and int(count) >= 1:
            return MockBehaviour("fail-every", every=int(count))
    raise ValueError(
        f"unknown mock model 'mock:{spec}'; use mock:yes, mock:no, mock:echo, mock:random, "
        "mock:constant=<text> or mock:fail-every-<N> (N >= 1)"
    )


def _image_digest_bytes(image: Any) -> bytes:
    """Stable bytes for an image: mode, size and raw pixels for PIL images, repr otherwise."""
    if hasattr(image, "tobytes") and hasattr(image, "size"):
        header = f"{getattr(image, 'mode', '')}:{image.size[0]}x{image.size[1]}:".encode()
        return header + image.tobytes()
    return repr(image).encode()


def sample_seed(seed: int, request: GenerationRequest) -> int:
    """A 64-bit seed from the run seed, the prompt text and the image pixels (not the doc_id)."""
    digest = hashlib.sha256()
    digest.update(f"{seed}\0{request.prompt}\0".encode())
    for image in request.images:
        digest.update(_image_digest_bytes(image))
        digest.update(b"\0")
    return int.from_bytes(digest.digest()[:8], "big")


def random_answer(seed: int, request: GenerationRequest) -> str:
    """Draw one of yes/no/A-D/an integer/a 0-1000 box, deterministically per sample."""
    rng = random.Random(sample_seed(seed, request))
    kind = rng.randrange(8)
    if kind < 6:
        return ("yes", "no", "A", "B", "C", "D")[kind]
    if kind == 6:
        return str(rng.randint(0, 100))
    x1, x2 = sorted(rng.sample(range(1001), 2))
    y1, y2 = sorted(rng.sample(range(1001), 2))
    return f"<box>({x1},{y1}),({x2},{y2})</box>"


class MockAdapter(ModelAdapter):
    """A weightless adapter whose replies follow a :class:`MockBehaviour`."""

    box_format = "qwen_0_1000"
    max_batch_size = 64

    def __init__(self, spec: str, options: AdapterOptions) -> None:
        self.behaviour = parse_mock_spec(spec)
        self.name = f"mock:{spec}"
        self.seed = options.seed
        call_log = options.extra.get("call_log")
        self.call_log = Path(call_log) if call_log else None
        self.n_answered = 0
        self.delay_s = float(options.extra.get("delay", 0) or 0)

    def answer(self, request: GenerationRequest) -> str:
        """The reply to one request (fail-every batches are rejected before this)."""
        kind = self.behaviour.kind
        if kind in ("yes", "no"):
            return kind
        if kind == "echo":
            return request.prompt
        if kind == "constant":
            return self.behaviour.text
        if kind == "random":
            return random_answer(self.seed, request)
        return "yes"  # fail-every on a request that does not fail

    def _check_failures(self, requests: Sequence[GenerationRequest]) -> None:
        every = self.behaviour.every
        if self.behaviour.kind != "fail-every":
            return
        failing = [r.doc_id for r in requests if r.doc_id % every == every - 1]
        if failing:
            raise RuntimeError(
                f"{self.name}: simulated failure for doc_id {failing[0]} (doc_id % {every} == {every - 1})"
            )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Answer every request, or raise for the whole batch under ``fail-every-N``."""
        if self.delay_s:
            time.sleep(self.delay_s)  # stands in for a slow model (resume tests kill runs mid-way)
        self._check_failures(requests)
        replies = [self.answer(r) for r in requests]
        self.n_answered += len(replies)
        if self.call_log is not None:
            with self.call_log.open("a", encoding="utf-8") as log:
                log.write("".join(f"{r.doc_id}\n" for r in requests))
        return replies

    def describe(self) -> dict[str, Any]:
        return {"id": self.name, "seed": self.seed, "box_format": self.box_format}


@register_adapter("mock")
def make_mock_adapter(spec: str, options: AdapterOptions) -> ModelAdapter:
    """Factory for ``mock:<behaviour>``."""
    return MockAdapter(spec, options)
