"""Batching: length-sorted batches with order restored, prefetch, OOM back-off.

Prompts are sorted longest-first inside bounded chunks of the pending samples, so padding is
small while memory stays bounded; the caller keys results by ``doc_id``, which restores the
order. Batches are prepared (rows read, prompts built, images decoded) by a background thread
so the adapter never waits on the CPU.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def length_sorted_batches(items: Sequence[T], length: Callable[[T], int], size: int) -> list[list[T]]:
    """Split ``items`` into batches of ``size`` after sorting by ``length`` (longest first;
    ties keep their input order, so the batching is deterministic)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    order = sorted(range(len(items)), key=lambda i: -length(items[i]))
    ordered = [items[i] for i in order]
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def prefetch(source: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``source`` in a background thread, keeping up to ``depth`` items ready.

    An exception raised by the source is re-raised in the consumer. Leaving the loop early
    stops the producer after its current item.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="evalkit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors (without importing torch)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()
