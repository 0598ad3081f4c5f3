"""Language model: transformers' ``LlamaForCausalLM`` (RMSNorm, RoPE, SwiGLU, GQA, KV cache), or
the pretrained causal LM a checkpoint's config names.

We only translate our config into a ``LlamaConfig``; the decoder itself is the library's.
"""

from __future__ import annotations

import inspect

from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel

from evalkit.tinyvlm.config import VLMConfig


def llama_config(cfg: VLMConfig) -> LlamaConfig:
    """The ``LlamaConfig`` equivalent of our LM fields (untied when asked; attention picks sdpa)."""
    return LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.lm_hidden,
        intermediate_size=cfg.lm_ffn,
        num_hidden_layers=cfg.lm_layers,
        num_attention_heads=cfg.lm_heads,
        num_key_value_heads=cfg.lm_kv_heads,
        max_position_embeddings=cfg.max_positions,
        rms_norm_eps=cfg.rms_norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        attention_bias=cfg.lm_attention_bias,
        tie_word_embeddings=cfg.tie_embeddings,
        pad_token_id=cfg.pad_token_id,
        bos_token_id=None,
        eos_token_id=cfg.eos_token_id,
    )


def build_language_model(cfg: VLMConfig) -> PreTrainedModel:
    """A randomly initialised causal LM: the pretrained architecture ``cfg.language_model``
    names (its weights come from the checkpoint), else a Llama decoder shaped by ``cfg``."""
    if cfg.language_model is None:
        return LlamaForCausalLM(llama_config(cfg))
    from transformers import AutoModelForCausalLM

    from evalkit.tinyvlm.pretrained import hf_config

    return AutoModelForCausalLM.from_config(hf_config(cfg.language_model))


_CACHE_KEYWORDS: dict[type, str] = {}


def cache_keyword(decoder: nn.Module) -> str:
    """The name of the decoder's KV-cache argument and output field: ``cache`` in newer
    transformers, ``past_key_values`` before (the old name still works there, with a warning)."""
    kind = type(decoder)
    if kind not in _CACHE_KEYWORDS:
        takes_cache = "cache" in inspect.signature(kind.forward).parameters
        _CACHE_KEYWORDS[kind] = "cache" if takes_cache else "past_key_values"
    return _CACHE_KEYWORDS[kind]
