"""Batching: length sort, order restoration, prefetch errors, OOM detection."""

from __future__ import annotations

import pytest

from evalkit.batching import is_out_of_memory, length_sorted_batches, prefetch


def test_batches_are_longest_first_and_cover_every_item_once() -> None:
    items = ["aa", "a", "aaaa", "aaa", "b", "bbbb"]
    batches = length_sorted_batches(items, len, 4)
    assert batches == [["aaaa", "bbbb", "aaa", "aa"], ["a", "b"]]


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch size"):
        length_sorted_batches([1], lambda x: x, 0)


def test_prefetch_yields_in_order_and_reraises_source_errors() -> None:
    assert list(prefetch(iter(range(10)), depth=2)) == list(range(10))

    def broken():
        yield 1
        raise KeyError("row 7")

    got = []
    with pytest.raises(KeyError, match="row 7"):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [1]


def test_out_of_memory_is_recognised_by_name_or_message() -> None:
    class OutOfMemoryError(RuntimeError):
        pass

    assert is_out_of_memory(OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
