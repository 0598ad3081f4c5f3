"""Deterministic random streams: one generator per (task, seed, split, scene index).

The split is part of the seed entropy, so the ``eval`` and ``train`` streams never share a
scene draw, and scene ``i`` does not depend on how many scenes are asked for.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

from evalkit.synthetic.scene import DEFAULT_CONFIG, RenderedScene, SceneConfig, render_scene, sample_scene

SPLITS = {"eval": 0, "train": 1}
MAX_ATTEMPTS = 200
T = TypeVar("T")


def scene_rng(name: str, seed: int, split: str, index: int) -> np.random.Generator:
    """The generator for scene ``index`` of task ``name`` (stable across runs and platforms)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    entropy = [SPLITS[split], zlib.crc32(name.encode("utf-8")), seed, index]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def draw_scenes(
    name: str,
    indices: Iterable[int],
    *,
    seed: int,
    split: str,
    image_size: int,
    build: Callable[[RenderedScene, np.random.Generator, int], T | None],
    config: SceneConfig = DEFAULT_CONFIG,
) -> list[T]:
    """For each index, sample and render scenes from its stream until ``build`` accepts one.

    ``build(scene, rng, index)`` returns None to reject a scene (e.g. no pair of objects that a
    position question can use); the same stream then draws the next candidate.
    """
    out: list[T] = []
    for index in indices:
        rng = scene_rng(name, seed, split, index)
        for _ in range(MAX_ATTEMPTS):
            result = build(render_scene(sample_scene(rng, config), image_size), rng, index)
            if result is not None:
                out.append(result)
                break
        else:
            raise RuntimeError(f"{name}: no acceptable scene for index {index} in {MAX_ATTEMPTS} draws")
    return out


def pick(rng: np.random.Generator, items: list[T]) -> T:
    """One item chosen uniformly by ``rng``."""
    return items[int(rng.integers(len(items)))]


def shuffled(rng: np.random.Generator, items: list[T]) -> list[T]:
    """A copy of ``items`` in an order drawn from ``rng``."""
    return [items[k] for k in rng.permutation(len(items))]
