"""Projector: pixel-shuffle downsampling (0.5 per side) then LayerNorm -> Linear -> GELU -> Linear.

Reproduces InternVL's ``pixel_shuffle`` + ``mlp1``: each 2x2 block of neighbouring patch features
is concatenated into one token, so the LM sees 4x fewer visual tokens. With
``visual_position`` each output token also gets a learned embedding of its row plus one of its
column: a ViT whose pre-training never needed location (the tiny preset's per-patch labels) can
lose its position embeddings' signal, and grounding has to read location off the tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from evalkit.tinyvlm.config import VLMConfig


def pixel_shuffle(features: torch.Tensor, factor: int) -> torch.Tensor:
    """``(B, G*G, C)`` -> ``(B, (G/f)*(G/f), C*f*f)``, concatenating each ``f x f`` block of patches."""
    b, n, c = features.shape
    g = int(round(n**0.5))
    if g * g != n or g % factor:
        raise ValueError(f"pixel_shuffle needs a square grid divisible by {factor}, got {n} tokens")
    x = features.view(b, g // factor, factor, g // factor, factor, c)  # (B, gy, fy, gx, fx, C)
    x = x.permute(0, 1, 3, 2, 4, 5)  # (B, gy, gx, fy, fx, C)
    return x.reshape(b, (g // factor) ** 2, factor * factor * c)


class Projector(nn.Module):
    """Visual features ``(B, N, vit_hidden)`` -> LM embeddings ``(B, N / shuffle**2, lm_hidden)``."""

    def __init__(self, cfg: VLMConfig) -> None:
        super().__init__()
        self.factor = cfg.shuffle
        width = cfg.vit_hidden * cfg.shuffle**2
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, cfg.lm_hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(cfg.lm_hidden, cfg.lm_hidden)
        self.side = cfg.grid // cfg.shuffle
        if cfg.visual_position:
            self.row_embed = nn.Parameter(torch.randn(self.side, cfg.lm_hidden) * 0.02)
            self.col_embed = nn.Parameter(torch.randn(self.side, cfg.lm_hidden) * 0.02)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = pixel_shuffle(features, self.factor)
        out = self.fc2(self.act(self.fc1(self.norm(x))))
        if hasattr(self, "row_embed"):
            grid = self.row_embed[:, None, :] + self.col_embed[None, :, :]  # (rows, cols, D), row-major
            out = out + grid.reshape(self.side * self.side, -1).to(out.dtype)
        return out
