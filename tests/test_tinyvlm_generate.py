"""KV-cache parity and batch invariance of greedy decoding (fp32, CPU)."""

from __future__ import annotations

import pytest
import torch

from evalkit.tinyvlm.config import preset
from evalkit.tinyvlm.data import collate_prompts
from evalkit.tinyvlm.generate import generate
from evalkit.tinyvlm.model import VisionPangu

EOS = 1


@pytest.fixture(scope="module")
def model_and_prompts() -> tuple[VisionPangu, list[list[int]], torch.Tensor]:
    cfg = preset("tiny", vocab_size=64, image_size=32, vit_layers=1, lm_layers=2, eos_token_id=EOS)
    torch.manual_seed(0)
    model = VisionPangu(cfg).eval()
    with torch.no_grad():  # larger random weights so that greedy outputs vary from step to step
        for p in model.parameters():
            p.normal_(0, 0.3)
    g = torch.Generator().manual_seed(1)
    prompts = []
    for _ in range(8):
        n = int(torch.randint(1, 12, (1,), generator=g))  # different lengths -> different left padding
        text = torch.randint(9, 64, (n,), generator=g).tolist()
        prompts.append([3] + [cfg.image_token_id] * cfg.num_visual_tokens + text + [4])
    return model, prompts, torch.randn(8, 3, 32, 32, generator=g)


def test_cached_and_uncached_decoding_give_identical_tokens(model_and_prompts) -> None:  # type: ignore[no-untyped-def]
    model, prompts, pixels = model_and_prompts
    batch = collate_prompts(prompts, pixels, pad_id=0)
    cached = generate(model, batch, max_new_tokens=12, use_cache=True)
    uncached = generate(model, batch, max_new_tokens=12, use_cache=False)
    assert cached == uncached
    assert len({tuple(row) for row in cached}) > 1  # the test would be vacuous if all rows agreed


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_outputs(model_and_prompts, batch_size: int) -> None:  # type: ignore[no-untyped-def]
    model, prompts, pixels = model_and_prompts
    reference = generate(model, collate_prompts(prompts, pixels, 0), max_new_tokens=10)  # batch of 8
    outputs: list[list[int]] = []
    for start in range(0, 8, batch_size):
        part = slice(start, start + batch_size)
        outputs += generate(model, collate_prompts(prompts[part], pixels[part], 0), max_new_tokens=10)
    assert outputs == reference


def test_decoding_stops_at_eos_and_drops_it() -> None:
    cfg = preset(
        "tiny",
        vocab_size=16,
        image_size=32,
        vit_layers=1,
        lm_layers=1,
        eos_token_id=EOS,
        tie_embeddings=False,
    )
    model = VisionPangu(cfg).eval()
    with torch.no_grad():  # make EOS the argmax everywhere
        model.language.lm_head.weight.zero_()
        model.language.lm_head.weight[EOS] = 1.0
        model.language.model.norm.weight.fill_(1.0)
        model.language.model.embed_tokens.weight.fill_(1.0)
    batch = collate_prompts([[5, 6], [7]], None, pad_id=0)
    assert generate(model, batch, max_new_tokens=5) == [[], []]


def test_right_padded_batches_are_refused(model_and_prompts) -> None:  # type: ignore[no-untyped-def]
    model, _, _ = model_and_prompts
    batch = collate_prompts([[5, 6], [7]], None, pad_id=0)
    flipped = type(batch)(batch.input_ids.flip(1), batch.attention_mask.flip(1), None, None)
    with pytest.raises(ValueError, match="left-padded"):
        generate(model, flipped, max_new_tokens=2)
