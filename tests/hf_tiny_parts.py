"""Tiny random pretrained *parts* for visionpangu's ``--vision`` / ``--lm`` assembly, saved as a
downloaded checkpoint would be: vision towers (CLIP, SigLIP, InternViT as transformers'
``internvl_vision``; also a whole CLIP model, whose tower sits under a prefix) and causal LMs
(Llama, Qwen2, and openPangu-Embedded's own layout: ``model_type: PanguEmbedded``, Llama weights
with attention biases) with a byte-level fast tokenizer. Sizes are tiny: 32 px images in 8 px
patches (a 4x4 grid), hidden 32-48, two layers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file

from tests.hf_tiny import byte_tokenizer

SEED = 0
IMAGE, PATCH = 32, 8
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
TOWER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
LM = {"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 2, "vocab_size": 300, "max_position_embeddings": 256}  # fmt: skip


def _processor(folder: Path, mean: list[float], std: list[float]) -> None:
    (folder / "preprocessor_config.json").write_text(json.dumps({"image_mean": mean, "image_std": std}))


def _save(model: torch.nn.Module, folder: Path) -> Path:
    torch.manual_seed(SEED)
    model.save_pretrained(folder)  # type: ignore[operator]
    return folder


def build_clip(folder: Path) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(SEED)
    _save(CLIPVisionModel(CLIPVisionConfig(**TOWER, image_size=IMAGE, patch_size=PATCH)), folder)
    _processor(folder, CLIP_MEAN, CLIP_STD)
    return folder


def build_whole_clip(folder: Path) -> Path:
    """A full CLIP (text + vision): the tower's weights sit under ``vision_model.``."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(SEED)
    config = CLIPConfig(
        text_config={**TOWER, "vocab_size": 64, "max_position_embeddings": 16},
        vision_config={**TOWER, "image_size": IMAGE, "patch_size": PATCH},
        projection_dim=16,
    )
    _save(CLIPModel(config), folder)
    _processor(folder, CLIP_MEAN, CLIP_STD)
    return folder


def build_siglip(folder: Path) -> Path:
    from transformers import SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(SEED)
    _save(SiglipVisionModel(SiglipVisionConfig(**TOWER, image_size=IMAGE, patch_size=PATCH)), folder)
    _processor(folder, [0.5] * 3, [0.5] * 3)
    return folder


def build_internvit(folder: Path) -> Path:
    from transformers.models.internvl import InternVLVisionConfig, InternVLVisionModel

    torch.manual_seed(SEED)
    config = InternVLVisionConfig(**TOWER, image_size=[IMAGE, IMAGE], patch_size=[PATCH, PATCH])
    _save(InternVLVisionModel(config), folder)
    _processor(folder, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    return folder


def _tokenizer(folder: Path) -> None:
    byte_tokenizer(["<|endoftext|>"], {}, None, eos_token="<|endoftext|>").save_pretrained(folder)


def build_llama(folder: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    _save(LlamaForCausalLM(LlamaConfig(**LM, tie_word_embeddings=True)), folder)
    _tokenizer(folder)
    return folder


def build_qwen2(folder: Path) -> Path:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(SEED)
    _save(Qwen2ForCausalLM(Qwen2Config(**LM, tie_word_embeddings=False)), folder)
    _tokenizer(folder)
    return folder


def build_pangu(folder: Path) -> Path:
    """openPangu-Embedded as its hub folder has it: ``model_type: PanguEmbedded`` (its own code,
    which evalkit never runs) over Llama-named weights with q/k/v/o biases."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    llama = LlamaForCausalLM(LlamaConfig(**LM, attention_bias=True, tie_word_embeddings=False))
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in llama.state_dict().items()}, str(folder / "model.safetensors"))
    config = {**LM, "model_type": "PanguEmbedded", "architectures": ["PanguEmbeddedForCausalLM"],
              "auto_map": {"AutoConfig": "configuration_openpangu_dense.PanguEmbeddedConfig",
                           "AutoModelForCausalLM": "modeling_openpangu_dense.PanguEmbeddedForCausalLM"},
              "bias": True, "rope_theta": 16000000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
              "hidden_act": "silu"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    _tokenizer(folder)
    return folder


TOWERS: dict[str, Callable[[Path], Path]] = {
    "clip": build_clip, "whole_clip": build_whole_clip, "siglip": build_siglip, "internvit": build_internvit,
}  # fmt: skip
LMS: dict[str, Callable[[Path], Path]] = {"llama": build_llama, "qwen2": build_qwen2, "pangu": build_pangu}
