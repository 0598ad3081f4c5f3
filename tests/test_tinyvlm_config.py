"""Specification of the VLM config and presets, incl. the 1.7b parameter count (meta device)."""

from __future__ import annotations

import pytest
import torch

from evalkit.tinyvlm.config import PRESETS, VLMConfig, preset
from evalkit.tinyvlm.model import VisionPangu


def test_1p7b_preset_has_1p7_billion_parameters_and_untied_embeddings() -> None:
    with torch.device("meta"):
        model = VisionPangu(preset("1.7b"))
    total = model.num_parameters()
    print(f"1.7b preset: {total:,} parameters")
    assert abs(total - 1.7e9) / 1.7e9 < 0.03
    assert model.language.lm_head.weight is not model.language.model.embed_tokens.weight


def test_1p7b_preset_matches_openpangu_embedded_1b_and_internvit_300m() -> None:
    cfg = PRESETS["1.7b"]
    lm = (cfg.lm_hidden, cfg.lm_layers, cfg.lm_heads, cfg.lm_kv_heads, cfg.lm_ffn, cfg.vocab_size)
    vit = (
        cfg.vit_hidden,
        cfg.vit_layers,
        cfg.vit_heads,
        cfg.vit_mlp,
        cfg.patch_size,
        cfg.image_size,
    )
    assert lm == (1536, 26, 12, 6, 6144, 153_376)
    assert vit == (1024, 24, 16, 4096, 14, 448)
    assert cfg.num_visual_tokens == 256  # (448 / 14 / 2) ** 2


@pytest.mark.parametrize(
    ("name", "visual_tokens", "max_params"),
    [("tiny", 36, 8_000_000), ("small", 64, 100_000_000)],
)
def test_small_presets_stay_small(name: str, visual_tokens: int, max_params: int) -> None:
    with torch.device("meta"):
        model = VisionPangu(preset(name))
    assert model.config.num_visual_tokens == visual_tokens
    assert model.num_parameters() < max_params


def test_config_round_trips_through_json_dict() -> None:
    cfg = preset("tiny", dense_heads=(("shape", 9), ("color", 9)))
    assert VLMConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_size": 100}, "multiple of patch_size"),
        ({"lm_heads": 4, "lm_kv_heads": 3}, "multiple of lm_kv_heads"),
        ({"image_token_id": 5000}, "token id >= vocab"),
    ],
)
def test_inconsistent_sizes_are_rejected(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preset("tiny", **overrides)


def test_unknown_keys_and_presets_are_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="lm_hiden"):
        VLMConfig.from_dict({"lm_hiden": 3})
    with pytest.raises(ValueError, match="tiny"):
        preset("huge")
