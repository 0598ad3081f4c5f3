"""Builders of tiny random-weight Hugging Face VLMs, saved like a downloaded checkpoint.

Each ``build_<family>(out_dir)`` writes a model directory (config, weights, tokenizer, image
processor, chat template) so that ``AutoProcessor.from_pretrained(out_dir)`` and
``AutoModelForImageTextToText.from_pretrained(out_dir)`` take the same code path as a hub model.
The tokenizer is byte-level (256 byte tokens, no merges) plus the family's special tokens, built
here with the ``tokenizers`` library; the chat templates are the families' published templates
(trimmed of system-prompt and video branches we do not exercise). Everything stays tiny: hidden
size 32-64, one or two layers, images of 28-64 pixels, so one family loads and generates in a
second or two on CPU.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import AutoConfig, AutoModelForImageTextToText, PreTrainedTokenizerFast

from tests.hf_tiny_templates import (
    GEMMA3_TEMPLATE,
    IDEFICS3_TEMPLATE,
    INTERNVL_TEMPLATE,
    LLAVA_TEMPLATE,
    MISTRAL_LLAVA_NEXT_TEMPLATE,
    QWEN2_VL_TEMPLATE,
    SMOLVLM_TEMPLATE,
)

SEED = 0
CLIP_VISION = {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
               "num_attention_heads": 4, "image_size": 28, "patch_size": 14, "projection_dim": 32}  # fmt: skip
QWEN_ROPE = {
    "rope_type": "default",
    "mrope_section": [2, 1, 1],
    "rope_theta": 10000.0,
}  # sums to head_dim / 2


def byte_tokenizer(
    special: Sequence[str], named: Mapping[str, str], chat_template: str | None, **roles: str
) -> PreTrainedTokenizerFast:
    """A byte-level tokenizer: ids 0-255 are bytes, then ``special`` tokens in order."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    backend = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(sorted(alphabet))}, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(special))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        extra_special_tokens=dict(named) or None,
        chat_template=chat_template,
        **roles,
    )


def _tiny_text(vocab_size: int, **extra: object) -> dict[str, object]:
    """A two-layer decoder with hidden size 32, enough to produce varied random outputs."""
    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
    }
    return {
        "vocab_size": vocab_size,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        **sizes,
        **extra,
    }


def _siglip_vision(image_size: int, patch_size: int, **extra: object) -> dict[str, object]:
    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
    }
    return {"image_size": image_size, "patch_size": patch_size, **sizes, **extra}


def _save(out_dir: Path, config: object, processor: object, std: float | None = 0.5) -> Path:
    """Save a random-weight model for ``config`` next to its processor.

    The default init (std 0.02) makes tiny models repeat one token whatever the input; a wider
    ``std`` makes replies depend on the image and the text, which the batch tests need.
    ``std=None`` keeps the default init (large models, where a wide init overflows).
    """
    torch.manual_seed(SEED)
    model = AutoModelForImageTextToText.from_config(config)
    if std is not None:
        with torch.no_grad():
            for param in model.parameters():
                if param.dim() > 1:
                    param.normal_(0.0, std)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)  # type: ignore[attr-defined]
    return out_dir


def build_llava(
    out_dir: Path,
    text_sizes: Mapping[str, object] | None = None,
    vision_sizes: Mapping[str, object] | None = None,
    std: float | None = 0.5,
) -> Path:
    """LLaVA-1.5 layout: CLIP vision tower, Llama text model, ``<image>`` expanded per patch.

    ``text_sizes`` / ``vision_sizes`` override the tiny sizes (the generation benchmark builds
    a ~1.4B model this way); the image processor follows ``vision_sizes["image_size"]``.
    """
    roles = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}
    tok = byte_tokenizer([*roles.values(), "<image>"], {"image_token": "<image>"}, LLAVA_TEMPLATE, **roles)
    vision = {**CLIP_VISION, **(vision_sizes or {})}
    side = int(vision["image_size"])  # type: ignore[call-overload]
    text = {"model_type": "llama", **_tiny_text(len(tok), **(text_sizes or {}))}
    config = AutoConfig.for_model(
        "llava", vision_config=vision, text_config=text, image_token_index=tok.image_token_id,
        image_seq_length=(side // 14) ** 2, vision_feature_layer=-1,
    )  # fmt: skip
    image_processor = transformers.CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size=[side, side])
    processor = transformers.LlavaProcessor(
        image_processor, tok, patch_size=14, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=LLAVA_TEMPLATE,
    )  # fmt: skip
    return _save(out_dir, config, processor, std)


def build_llava_next(out_dir: Path) -> Path:
    """LLaVA-NeXT (Mistral template): any-resolution tiles plus a base image and newline tokens."""
    roles = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<unk>"}
    tok = byte_tokenizer(
        [*roles.values(), "<image>"],
        {"image_token": "<image>"},
        MISTRAL_LLAVA_NEXT_TEMPLATE,
        **roles,
    )
    pinpoints = [[28, 56], [56, 28], [56, 56]]
    config = AutoConfig.for_model(
        "llava_next", vision_config=CLIP_VISION, text_config={"model_type": "mistral", **_tiny_text(len(tok))},
        image_token_index=tok.image_token_id, image_grid_pinpoints=pinpoints, vision_feature_layer=-1,
    )  # fmt: skip
    image_processor = transformers.LlavaNextImageProcessorPil(
        size={"shortest_edge": 28}, crop_size=[28, 28], image_grid_pinpoints=pinpoints
    )
    processor = transformers.LlavaNextProcessor(
        image_processor, tok, patch_size=14, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=MISTRAL_LLAVA_NEXT_TEMPLATE,
    )  # fmt: skip
    return _save(out_dir, config, processor)


def _qwen_tokenizer() -> PreTrainedTokenizerFast:
    """Qwen2 chat tokens plus the vision markers Qwen2-VL and Qwen2.5-VL share."""
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
    named = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"}
    return byte_tokenizer(
        special, named, QWEN2_VL_TEMPLATE, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )


def _qwen_config(model_type: str, tok: PreTrainedTokenizerFast, vision: dict[str, object]) -> object:
    text = _tiny_text(len(tok), rope_parameters=QWEN_ROPE, bos_token_id=None, eos_token_id=tok.eos_token_id)
    return AutoConfig.for_model(
        model_type, text_config=text, vision_config=vision, image_token_id=tok.image_token_id,
        video_token_id=tok.video_token_id, vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
    )  # fmt: skip


def _build_qwen(out_dir: Path, model_type: str, vision: dict[str, object]) -> Path:
    """Qwen2-VL / Qwen2.5-VL: 28x28-pixel units after 2x2 merging, images kept within 56x56."""
    tok = _qwen_tokenizer()
    image_processor = transformers.Qwen2VLImageProcessorPil(
        size={"shortest_edge": 28 * 28, "longest_edge": 56 * 56}
    )
    processor = transformers.Qwen2VLProcessor(
        image_processor, tok, transformers.Qwen2VLVideoProcessor(), chat_template=QWEN2_VL_TEMPLATE
    )
    return _save(out_dir, _qwen_config(model_type, tok, vision), processor)


QWEN2_VL_VISION = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "mlp_ratio": 2}
QWEN2_5_VL_VISION = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                     "out_hidden_size": 32, "window_size": 56, "fullatt_block_indexes": [1]}  # fmt: skip


def build_qwen2_vl(out_dir: Path) -> Path:
    """Qwen2-VL: dynamic resolution, 2x2 patch merging, multimodal RoPE position ids."""
    return _build_qwen(out_dir, "qwen2_vl", QWEN2_VL_VISION)


def build_qwen2_5_vl(out_dir: Path) -> Path:
    """Qwen2.5-VL: as Qwen2-VL with windowed attention in the vision tower."""
    return _build_qwen(out_dir, "qwen2_5_vl", QWEN2_5_VL_VISION)


def _build_idefics(out_dir: Path, model_type: str, template: str, bos: str) -> Path:
    """Idefics3 / SmolVLM: image split into 28 px tiles plus a global view, pixel-shuffled tokens."""
    rows = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    special = [
        bos,
        "<|end_of_text|>",
        "<fake_token_around_image>",
        "<image>",
        "<end_of_utterance>",
        "<global-img>",
    ]
    roles = {"bos_token": bos, "eos_token": "<end_of_utterance>", "pad_token": "<|end_of_text|>"}
    tok = byte_tokenizer(special + rows, {}, template, **roles)
    config = AutoConfig.for_model(
        model_type, vision_config=_siglip_vision(28, 14), text_config={"model_type": "llama", **_tiny_text(len(tok))},
        image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2,
    )  # fmt: skip
    sizes = {"size": {"longest_edge": 56}, "max_image_size": {"longest_edge": 28}}
    if model_type == "idefics3":
        image_processor = transformers.Idefics3ImageProcessorPil(**sizes)
        processor = transformers.Idefics3Processor(
            image_processor, tok, image_seq_len=1, chat_template=template
        )
    else:
        image_processor = transformers.SmolVLMImageProcessorPil(**sizes)
        processor = transformers.SmolVLMProcessor(
            image_processor,
            tok,
            transformers.SmolVLMVideoProcessor(),
            image_seq_len=1,
            chat_template=template,
        )
    return _save(out_dir, config, processor)


def build_idefics3(out_dir: Path) -> Path:
    """Idefics3 (Llama-3 template)."""
    return _build_idefics(out_dir, "idefics3", IDEFICS3_TEMPLATE, "<|begin_of_text|>")


def build_smolvlm(out_dir: Path) -> Path:
    """SmolVLM (Idefics3 architecture, ``<|im_start|>`` template)."""
    return _build_idefics(out_dir, "smolvlm", SMOLVLM_TEMPLATE, "<|im_start|>")


def build_paligemma(out_dir: Path) -> Path:
    """PaliGemma: no chat template; the processor prepends image tokens and ``<bos>`` itself."""
    roles = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}
    tok = byte_tokenizer([*roles.values(), "<image>"], {"image_token": "<image>"}, None, **roles)
    image_processor = transformers.SiglipImageProcessorPil(size={"height": 28, "width": 28})
    image_processor.image_seq_length = 4
    processor = transformers.PaliGemmaProcessor(
        image_processor, tok
    )  # adds the <locNNNN> and <segNNN> tokens
    vision = {"model_type": "siglip_vision_model", **_siglip_vision(28, 14, projection_dim=32)}
    config = AutoConfig.for_model(
        "paligemma", vision_config=vision, text_config={"model_type": "gemma", **_tiny_text(len(tok), head_dim=8)},
        image_token_index=tok.image_token_id, projection_dim=32, hidden_size=32, vocab_size=len(tok),
    )  # fmt: skip
    return _save(out_dir, config, processor)


def build_gemma3(out_dir: Path) -> Path:
    """Gemma 3: ``<start_of_image>`` expanded to pooled soft tokens, bidirectional image attention."""
    named = {
        "boi_token": "<start_of_image>",
        "eoi_token": "<end_of_image>",
        "image_token": "<image_soft_token>",
    }
    roles = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}
    tok = byte_tokenizer([*roles.values(), "<start_of_turn>", "<end_of_turn>", *named.values()], named,
                         GEMMA3_TEMPLATE, **roles)  # fmt: skip
    text = {
        "model_type": "gemma3_text",
        **_tiny_text(len(tok), head_dim=8, query_pre_attn_scalar=8),
    }
    config = AutoConfig.for_model(
        "gemma3", text_config=text, vision_config={"model_type": "siglip_vision_model", **_siglip_vision(28, 7)},
        mm_tokens_per_image=4, boi_token_index=tok.boi_token_id, eoi_token_index=tok.eoi_token_id,
        image_token_index=tok.image_token_id,
    )  # fmt: skip
    image_processor = transformers.Gemma3ImageProcessorPil(size={"height": 28, "width": 28})
    processor = transformers.Gemma3Processor(
        image_processor, tok, chat_template=GEMMA3_TEMPLATE, image_seq_length=4
    )
    return _save(out_dir, config, processor, std=0.05)  # wider weights saturate Gemma's scaled embeddings


def build_internvl(out_dir: Path) -> Path:
    """InternVL (HF format): ``<img><IMG_CONTEXT>...</img>``, Qwen2 chat tokens."""
    named = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
             "video_token": "<video>"}  # fmt: skip
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *named.values()]
    tok = byte_tokenizer(special, named, INTERNVL_TEMPLATE, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    vision = _siglip_vision([28, 28], [14, 14])
    config = AutoConfig.for_model(
        "internvl", vision_config=vision, text_config={"model_type": "qwen2", **_tiny_text(len(tok))},
        image_token_id=tok.context_image_token_id, image_seq_length=1,
    )  # fmt: skip
    image_processor = transformers.GotOcr2ImageProcessorPil(
        size={"height": 28, "width": 28}, crop_to_patches=False
    )
    processor = transformers.InternVLProcessor(
        image_processor,
        tok,
        transformers.InternVLVideoProcessor(),
        chat_template=INTERNVL_TEMPLATE,
        image_seq_length=1,
    )
    return _save(out_dir, config, processor)


def save_processorless_qwen2_vl(out_dir: Path) -> Path:
    """A Qwen2-VL directory saved part by part (no processor object), for machines without torchvision.

    transformers builds ``Qwen2VLProcessor`` only with torchvision installed (it carries a video
    processor); this writes the files a hub repo holds, so loading it shows the adapter's error.
    """
    tok = _qwen_tokenizer()
    _qwen_config("qwen2_vl", tok, QWEN2_VL_VISION).save_pretrained(out_dir)  # type: ignore[attr-defined]
    tok.save_pretrained(out_dir)
    transformers.Qwen2VLImageProcessorPil().save_pretrained(out_dir)
    (out_dir / "processor_config.json").write_text(json.dumps({"processor_class": "Qwen2VLProcessor"}))
    return out_dir


TORCHVISION_FAMILIES = ("qwen2_vl", "qwen2_5_vl", "smolvlm", "internvl")
"""Families whose processor transformers builds only with torchvision (a video processor)."""

BUILDERS: dict[str, Callable[[Path], Path]] = {
    "llava": build_llava,
    "llava_next": build_llava_next,
    "qwen2_vl": build_qwen2_vl,
    "qwen2_5_vl": build_qwen2_5_vl,
    "idefics3": build_idefics3,
    "smolvlm": build_smolvlm,
    "paligemma": build_paligemma,
    "gemma3": build_gemma3,
    "internvl": build_internvl,
}
