"""The synthetic training stream rendered in worker processes (`evalkit train --data-workers`)."""

from __future__ import annotations

import itertools
import math
import operator
from typing import Any

import numpy as np
import pytest
import torch

from evalkit.synthetic.training import SFT_BLOCK, iter_training_examples, training_blocks
from evalkit.tinyvlm.stream import examples, ordered_parallel_map

MIX = {"tasks": ("shapes_pope", "box_drill", "shapes_mmbench"), "max_turns": 1, "choice_reply": "text"}


def same(a: Any, b: Any) -> bool:
    """Two training examples agree in text, pixels and (vision) dense labels."""
    if (a.turns, a.task) != (b.turns, b.task) or not np.array_equal(np.asarray(a.image), np.asarray(b.image)):
        return False
    if a.dense is None or b.dense is None:
        return a.dense is b.dense
    return all(np.array_equal(getattr(a.dense, f), getattr(b.dense, f)) for f in ("shape", "color", "letter"))


@pytest.mark.parametrize(("stage", "mix", "n"), [("sft", MIX, 2 * SFT_BLOCK * 3 + 5), ("vision", {}, 70)])
def test_workers_render_exactly_the_single_process_stream(stage: str, mix: dict[str, Any], n: int) -> None:
    """More than two blocks, so block boundaries and their order are covered."""
    alone = list(itertools.islice(examples(stage, 7, 48, **mix), n))
    pooled = list(itertools.islice(examples(stage, 7, 48, workers=2, **mix), n))
    assert len(pooled) == n and all(same(a, b) for a, b in zip(alone, pooled))


def test_a_block_is_rendered_on_its_own() -> None:
    """Block 2 alone equals the stream's examples 2*B .. 3*B-1: blocks depend on nothing before."""
    size = SFT_BLOCK * len(MIX["tasks"])
    block = training_blocks("sft", seed=3, image_size=48, **MIX)(2)  # type: ignore[arg-type]
    stream = list(itertools.islice(iter_training_examples("sft", seed=3, image_size=48, **MIX), 3 * size))
    assert len(block) == size and all(same(a, b) for a, b in zip(block, stream[2 * size :]))
    with pytest.raises(ValueError, match="label_prob"):
        training_blocks("vision", seed=0, image_size=48, label_prob=2.0)


def test_parallel_map_keeps_order_on_an_endless_input_and_raises_worker_errors() -> None:
    assert list(itertools.islice(ordered_parallel_map(operator.neg, itertools.count(), 2), 9)) == [
        -i for i in range(9)
    ]
    with pytest.raises(ValueError, match="math domain error"):
        list(ordered_parallel_map(math.sqrt, [4, -1, 9], 2))
    with pytest.raises(ValueError, match="workers"):
        examples("sft", 0, 48, workers=-1)


def test_referent_masks_are_collated_only_when_a_referent_loss_needs_them() -> None:
    from evalkit.tinyvlm.config import preset
    from evalkit.tinyvlm.stream import text_batch
    from evalkit.tinyvlm.tokenizer import train_tokenizer

    cfg = preset("tiny")
    chunk = list(itertools.islice(iter_training_examples("sft", seed=0, image_size=cfg.image_size,
                                                         tasks=("box_drill", "shapes_pope")), 4))  # fmt: skip
    tokenizer = train_tokenizer([u + a for e in chunk for u, a in e.turns] * 5, vocab_size=300)
    with_masks = text_batch(chunk, cfg, tokenizer, max_len=320)
    without = text_batch(chunk, cfg, tokenizer, max_len=320, referents=False)
    assert with_masks.referents is not None and len(with_masks.referents.rows) >= 2  # the drill's turns
    assert without.referents is None and torch.equal(with_masks.input_ids, without.input_ids)


def test_box_start_weight_marks_one_label_per_grounding_turn() -> None:
    from evalkit.tinyvlm.config import preset
    from evalkit.tinyvlm.stream import text_batch
    from evalkit.tinyvlm.tokenizer import train_tokenizer

    cfg = preset("tiny")
    chunk = list(itertools.islice(iter_training_examples("sft", seed=1, image_size=cfg.image_size,
                                                         tasks=("box_drill", "shapes_pope")), 6))  # fmt: skip
    tokenizer = train_tokenizer([u + a for e in chunk for u, a in e.turns] * 5, vocab_size=300)
    plain = text_batch(chunk, cfg, tokenizer, max_len=400)  # no turn cut
    weighted = text_batch(chunk, cfg, tokenizer, max_len=400, box_start_weight=4.0)
    assert plain.label_weights is None and weighted.label_weights is not None
    n_boxes = sum(reply.startswith("<box>") for e in chunk for _, reply in e.turns)
    marked = weighted.label_weights == 4.0
    assert n_boxes >= 3 and int(marked.sum()) == n_boxes
    assert plain.labels is not None and bool((plain.labels[marked] != -100).all())  # learned reply tokens
