"""Pipeline stages: OOM back-off, per-sample isolation of adapter failures, row preparation."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evalkit.pipeline import BatchSizer, Prepared, generate_batch
from evalkit.types import GenerationRequest, GenerationSettings


class OutOfMemoryError(RuntimeError):
    """Named like torch's, which is how the pipeline recognises it without importing torch."""


class PickyAdapter:
    """Runs out of memory above ``fits`` requests and raises for doc_id 5."""

    def __init__(self, fits: int) -> None:
        self.fits = fits
        self.batch_sizes: list[int] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        self.batch_sizes.append(len(requests))
        if len(requests) > self.fits:
            raise OutOfMemoryError("CUDA out of memory")
        if any(r.doc_id == 5 for r in requests):
            raise ValueError("cannot handle doc 5")
        return [f"answer {r.doc_id}" for r in requests]


def samples(n: int) -> list[Prepared]:
    return [Prepared(doc_id=i, fields={}, prompt=f"p{i}") for i in range(n)]


def test_out_of_memory_halves_the_batch_until_it_fits_and_stays_there() -> None:
    adapter, sizer, batch = PickyAdapter(fits=3), BatchSizer(8), samples(8)
    generate_batch(adapter, batch, GenerationSettings(), sizer)
    assert sizer.size == 2  # 8 -> 4 -> 2
    assert adapter.batch_sizes[:3] == [8, 4, 2]
    assert [s.response for s in batch if s.doc_id != 5] == [f"answer {i}" for i in range(8) if i != 5]


def test_a_failing_sample_is_isolated_and_the_rest_of_its_batch_answered() -> None:
    adapter, batch = PickyAdapter(fits=100), samples(8)
    generate_batch(adapter, batch, GenerationSettings(), BatchSizer(8))
    assert batch[5].response is None
    assert batch[5].error == "generation failed: ValueError: cannot handle doc 5"
    assert all(s.error is None and s.response == f"answer {s.doc_id}" for s in batch if s.doc_id != 5)


def test_out_of_memory_at_batch_size_one_is_an_error() -> None:
    with pytest.raises(MemoryError):
        generate_batch(PickyAdapter(fits=0), samples(2), GenerationSettings(), BatchSizer(2))


def test_samples_that_already_failed_are_not_sent() -> None:
    adapter, batch = PickyAdapter(fits=100), samples(3)
    batch[1].error = "cannot decode image"
    generate_batch(adapter, batch, GenerationSettings(), BatchSizer(4))
    assert adapter.batch_sizes == [2] and batch[1].response is None
