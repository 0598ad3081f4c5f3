"""The one configuration of the built-in VLM, and its presets (``tiny``, ``small``, ``1.7b``).

Layout follows VisionPangu / InternVL: a ViT (learned position embeddings, pre-norm blocks), a
pixel-shuffle (0.5) + MLP projector, and a Llama-style decoder (RMSNorm, RoPE, SwiGLU, GQA).
Either end can instead be a pretrained Hugging Face model (:mod:`evalkit.tinyvlm.pretrained`),
whose config is stored here so a checkpoint rebuilds it offline.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class VLMConfig:
    """Every size and id the model needs; saved as ``config.json`` next to the weights."""

    preset: str = "tiny"
    # vision encoder (ViT)
    image_size: int = 96
    patch_size: int = 8
    vit_hidden: int = 128
    vit_layers: int = 4
    vit_heads: int = 4
    vit_mlp: int = 512
    vit_qkv_bias: bool = True
    # projector: pixel shuffle by ``1 / shuffle`` per side (0.5 -> shuffle=2), then an MLP
    shuffle: int = 2
    # a learned row + column embedding added to each visual token after the MLP (off in the
    # InternVL layout; Qwen-VL's adapter adds 2-D positions so compression keeps location)
    visual_position: bool = False
    # language model (Llama-style)
    lm_hidden: int = 192
    lm_layers: int = 4
    lm_heads: int = 4
    lm_kv_heads: int = 2
    lm_ffn: int = 512
    lm_attention_bias: bool = False
    vocab_size: int = 768
    tie_embeddings: bool = True
    rope_theta: float = 10000.0
    max_positions: int = 512
    rms_norm_eps: float = 1e-5
    # token ids (filled in from the tokenizer when the model is first built)
    pad_token_id: int = 0
    eos_token_id: int = 1
    image_token_id: int = 2
    # per-patch classification heads for the ``vision`` stage: name -> number of classes
    dense_heads: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    # training-only head: from the LM state where the answer starts (after ``referent_layer``
    # decoder layers; evalkit train puts it at half depth), which visual tokens hold the object
    # the question names (0: no head)
    referent_dim: int = 0
    referent_layer: int = 2
    # pretrained parts (``evalkit train --vision SRC --lm SRC``): the Hugging Face configs of the
    # vision tower and of the causal LM, as saved dicts; None = the built-in ViT above / a Llama
    # decoder from the lm_* fields. With a tower, image_size, patch_size and vit_hidden mirror it,
    # with an LM, lm_hidden, lm_layers, vocab_size and the head counts mirror it.
    vision_tower: dict[str, Any] | None = None
    vision_feature_layer: int = -1  # the tower's hidden state fed to the projector (-1: last)
    vision_prefix_tokens: int = 0  # leading non-patch tokens the tower outputs (CLS), dropped
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # pixel normalisation of the tower
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    language_model: dict[str, Any] | None = None

    @property
    def grid(self) -> int:
        """Patches per image side."""
        return self.image_size // self.patch_size

    @property
    def num_visual_tokens(self) -> int:
        """Visual tokens per image after pixel shuffle: ``(grid / shuffle) ** 2``."""
        return (self.grid // self.shuffle) ** 2

    def validate(self) -> VLMConfig:
        """Raise ValueError naming the first inconsistent size; return self."""
        checks = [
            (self.image_size % self.patch_size == 0, "image_size must be a multiple of patch_size"),
            (self.grid % self.shuffle == 0, "patches per side must be a multiple of shuffle"),
            (self.vit_hidden % self.vit_heads == 0, "vit_hidden must be a multiple of vit_heads"),
            (self.lm_hidden % self.lm_heads == 0, "lm_hidden must be a multiple of lm_heads"),
            (self.lm_heads % self.lm_kv_heads == 0, "lm_heads must be a multiple of lm_kv_heads"),
            (
                not self.referent_dim or 0 < self.referent_layer <= self.lm_layers,
                "referent_layer must be in 1..lm_layers",
            ),
            (
                max(self.pad_token_id, self.eos_token_id, self.image_token_id) < self.vocab_size,
                "token id >= vocab",
            ),
            (len(self.image_mean) == 3 and len(self.image_std) == 3, "image_mean/std need 3 channels"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid VLMConfig ({self.preset}): {message}")
        return self

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["dense_heads"] = [list(pair) for pair in self.dense_heads]
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> VLMConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise so a typo never passes silently."""
        known = {f.name for f in dataclasses.fields(VLMConfig)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown VLMConfig keys {unknown}; known: {sorted(known)}")
        values = dict(data)
        values["dense_heads"] = tuple((str(n), int(k)) for n, k in values.get("dense_heads", ()))
        for key in ("image_mean", "image_std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return VLMConfig(**values).validate()

    def save(self, directory: Path) -> None:
        (directory / CONFIG_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @staticmethod
    def load(directory: Path) -> VLMConfig:
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{directory} is not a visionpangu checkpoint ({CONFIG_FILE} missing): pass a folder "
                "written by `evalkit train --out DIR`"
            )
        return VLMConfig.from_dict(json.loads(path.read_text()))


PRESETS: dict[str, VLMConfig] = {
    # a few million parameters; 96 px images, 8 px patches -> 36 visual tokens; trains on CPU
    "tiny": VLMConfig(),
    # ViT-S-like encoder at 224 px (64 visual tokens) + a SmolLM-135M-like decoder
    "small": VLMConfig(
        preset="small",
        image_size=224,
        patch_size=14,
        vit_hidden=384,
        vit_layers=12,
        vit_heads=6,
        vit_mlp=1536,
        lm_hidden=576,
        lm_layers=12,
        lm_heads=9,
        lm_kv_heads=3,
        lm_ffn=1536,
        vocab_size=8192,
        max_positions=2048,
    ),
    # VisionPangu layout: InternViT-300M-like encoder + openPangu-Embedded-1B-shaped decoder
    # (hidden 1536, 26 layers, 12 q / 6 kv heads, FFN 6144, vocab 153,376, qkv/o bias), untied
    "1.7b": VLMConfig(
        preset="1.7b",
        image_size=448,
        patch_size=14,
        vit_hidden=1024,
        vit_layers=24,
        vit_heads=16,
        vit_mlp=4096,
        lm_hidden=1536,
        lm_layers=26,
        lm_heads=12,
        lm_kv_heads=6,
        lm_ffn=6144,
        lm_attention_bias=True,
        vocab_size=153_376,
        tie_embeddings=False,
        rope_theta=4_000_000.0,
        max_positions=32_768,
    ),
}


def preset(name: str, **overrides: Any) -> VLMConfig:
    """The named preset with ``overrides`` applied, e.g. ``preset("tiny", lm_layers=2)``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides).validate()
