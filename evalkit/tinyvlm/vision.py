"""Vision encoder: a ViT with learned absolute position embeddings and pre-norm blocks (InternViT),
or a pretrained Hugging Face tower in its place.

The class token of InternViT is left out: VisionPangu / InternVL drop it before the projector
anyway, so the encoder returns one feature per patch on a square grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from evalkit.tinyvlm.config import VLMConfig


class VisionAttention(nn.Module):
    """Multi-head self-attention over all patches (no mask), via scaled-dot-product attention."""

    def __init__(self, hidden: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=qkv_bias)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape  # (B, N, D)
        qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, H, N, D/H)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class VisionBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))`` (GELU MLP)."""

    def __init__(self, cfg: VLMConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.vit_hidden, eps=1e-6)
        self.attn = VisionAttention(cfg.vit_hidden, cfg.vit_heads, cfg.vit_qkv_bias)
        self.norm2 = nn.LayerNorm(cfg.vit_hidden, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.vit_hidden, cfg.vit_mlp), nn.GELU(), nn.Linear(cfg.vit_mlp, cfg.vit_hidden)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionEncoder(nn.Module):
    """Pixels ``(B, 3, S, S)`` -> patch features ``(B, grid*grid, vit_hidden)``."""

    def __init__(self, cfg: VLMConfig) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, cfg.vit_hidden, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.grid * cfg.grid, cfg.vit_hidden))
        self.blocks = nn.ModuleList(VisionBlock(cfg) for _ in range(cfg.vit_layers))
        self.norm = nn.LayerNorm(cfg.vit_hidden, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)  # (B, N, D)
        x = x + self.pos_embed.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)  # (B, N, D)


class DenseHeads(nn.Module):
    """Per-patch linear classifiers (e.g. colour, shape, size) for the ``vision`` stage."""

    def __init__(self, cfg: VLMConfig) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({name: nn.Linear(cfg.vit_hidden, n) for name, n in cfg.dense_heads})

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(features) for name, head in self.heads.items()}  # name -> (B, N, classes)


class PretrainedVisionTower(nn.Module):
    """A Hugging Face vision tower (CLIP, SigLIP, InternViT, ...) as the encoder: pixels ->
    ``(B, grid*grid, hidden)``, the hidden state of ``vision_feature_layer`` without the tower's
    leading class tokens. Built from the stored config (weights come from the checkpoint) unless
    a loaded ``tower`` is given."""

    def __init__(self, cfg: VLMConfig, tower: nn.Module | None = None) -> None:
        super().__init__()
        if tower is None:
            from transformers import AutoModel

            from evalkit.tinyvlm.pretrained import hf_config

            assert cfg.vision_tower is not None
            tower = AutoModel.from_config(hf_config(cfg.vision_tower))
        self.model = tower
        self.layer, self.prefix = cfg.vision_feature_layer, cfg.vision_prefix_tokens

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixel_values, output_hidden_states=self.layer != -1)
        states = out.last_hidden_state if self.layer == -1 else out.hidden_states[self.layer]
        return states[:, self.prefix :, :]  # (B, N, D)


def build_vision_encoder(cfg: VLMConfig, tower: nn.Module | None = None) -> nn.Module:
    """The built-in ViT, or the pretrained tower the config names."""
    if cfg.vision_tower is None and tower is None:
        return VisionEncoder(cfg)
    return PretrainedVisionTower(cfg, tower)
