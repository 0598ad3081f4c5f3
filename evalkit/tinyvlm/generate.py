"""Batched greedy decoding with a KV cache (left-padded prompts), plus an uncached reference.

The uncached path recomputes the whole sequence each step; the tests hold the two to identical
tokens, and hold the cached path to identical outputs across batch sizes.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from evalkit.tinyvlm.data import Batch
from evalkit.tinyvlm.model import VisionPangu


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """Greedy argmax, or a sample from ``softmax(logits / temperature)`` when temperature > 0."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _trim(rows: torch.Tensor, eos_id: int) -> list[list[int]]:
    """Each row up to (not including) its first ``eos_id``."""
    out = []
    for row in rows.tolist():
        out.append(row[: row.index(eos_id)] if eos_id in row else row)
    return out


@torch.no_grad()
def generate(
    model: VisionPangu,
    batch: Batch,
    *,
    max_new_tokens: int,
    use_cache: bool = True,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """New token ids per row (EOS and after removed). ``batch`` must be left-padded. Decoding
    also stops when the sequence would pass the model's ``max_positions``."""
    eos, pad = model.config.eos_token_id, model.config.pad_token_id
    mask = batch.attention_mask
    if bool((mask[:, -1] == 0).any()):
        raise ValueError("generation batches must be left-padded (last column all real tokens)")
    embed_tokens = model.language.get_input_embeddings()
    head = model.language.get_output_embeddings()
    embeds = model.embed(batch.input_ids, batch.pixel_values)  # (B, T, D)
    cache = DynamicCache() if use_cache else None
    done = torch.zeros(mask.shape[0], dtype=torch.bool, device=mask.device)
    new_tokens: list[torch.Tensor] = []
    step_embeds = embeds
    for _ in range(max(0, min(max_new_tokens, model.config.max_positions - mask.shape[1]))):
        hidden, cache = model.hidden_states(step_embeds, mask, cache)
        token = _pick(head(hidden[:, -1]), temperature, generator)  # (B,)
        token = torch.where(done, torch.full_like(token, pad), token)
        new_tokens.append(token)
        done |= token == eos
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        token_embeds = embed_tokens(token).unsqueeze(1)  # (B, 1, D)
        step_embeds = token_embeds if use_cache else torch.cat([step_embeds, token_embeds], dim=1)
    if not new_tokens:
        return [[] for _ in range(mask.shape[0])]
    return _trim(torch.stack(new_tokens, dim=1), eos)
