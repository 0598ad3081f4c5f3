"""Pretrained parts: a Hugging Face vision tower and a Hugging Face causal LM joined by
visionpangu's pixel-shuffle + MLP projector (the VisionPangu / InternVL recipe).

``assemble(vision_source, lm_source)`` reads both (a hub id, resolved from the local cache when
offline, or a folder), records their configs in :class:`VLMConfig` so a saved checkpoint
rebuilds them offline, and gives the LM's tokenizer our chat and grounding special tokens.

* Vision: any tower whose forward takes ``pixel_values`` and returns ``last_hidden_state`` of
  the patches on a square grid, optionally after class tokens (CLIP, SigLIP, InternViT as
  transformers' ``internvl_vision``). A composite checkpoint (a whole CLIP, SigLIP, LLaVA or
  InternVL model) gives its vision part: its ``vision_config`` and the weights under whatever
  prefix holds them. The tower's own pixel normalisation is read from ``preprocessor_config.json``.
* Language: any causal LM transformers ships (Llama, Qwen2, Mistral, ...). openPangu-Embedded
  (``model_type: PanguEmbedded``, code outside transformers) is a Llama decoder with biases on
  the attention projections; it is rebuilt as ``LlamaForCausalLM`` with ``attention_bias=True``
  and its weights load by name, so no remote code runs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.tokenizer import VLMTokenizer

LLAMA_SHAPED = {"PanguEmbedded"}  # model types loaded as Llama (attention bias from ``bias``)
DEFAULT_MEAN_STD = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


class PretrainedSourceError(ValueError):
    """A ``--vision`` / ``--lm`` source that cannot be used; the message names it and the fix."""


def hf_config(data: Mapping[str, Any]) -> Any:
    """A transformers config rebuilt from its ``to_dict()`` form (no download, no remote code)."""
    from transformers import AutoConfig

    values = dict(data)
    model_type = values.pop("model_type", None)
    if not model_type:
        raise ValueError("a stored Hugging Face config lacks its model_type")
    return AutoConfig.for_model(model_type, **values)


def source_folder(source: str) -> Path:
    """A local folder as is; a hub id through the local cache (offline) or a download."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if source.startswith((".", "/", "~")):
        raise PretrainedSourceError(f"{source} is not a folder: pass a Hugging Face model folder or hub id")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))
    except Exception as exc:  # offline without a cached copy, unknown id, no network
        raise PretrainedSourceError(
            f"cannot get {source} ({type(exc).__name__}): download it once online or pass its local folder"
        ) from None


def read_json(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    return json.loads(path.read_text()) if path.is_file() else None


def checkpoint_tensors(folder: Path) -> dict[str, Path]:
    """Tensor name -> the safetensors file holding it (single file or sharded)."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise PretrainedSourceError(f"{folder} has no .safetensors weights")
    where: dict[str, Path] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            where.update({key: file for key in handle.keys()})  # noqa: SIM118 - safe_open has no __iter__
    return where


def common_prefix(wanted: Iterable[str], available: Iterable[str]) -> str | None:
    """The prefix ``p`` with ``p + key`` available for every wanted key (the shortest such), or
    None: where a sub-model's weights sit inside a whole model's checkpoint."""
    wanted, available = list(wanted), set(available)
    first = min(wanted, key=len)
    candidates = sorted(
        {name[: len(name) - len(first)] for name in available if name.endswith(first)}, key=len
    )
    return next((p for p in candidates if all(p + key in available for key in wanted)), None)


def load_by_prefix(module: nn.Module, folder: Path, what: str) -> None:
    """Fill every tensor of ``module`` from ``folder``'s safetensors, strictly, wherever a common
    prefix finds them; an incomplete checkpoint is an error naming a missing tensor."""
    from safetensors import safe_open

    wanted = list(module.state_dict())
    where = checkpoint_tensors(folder)
    prefix = common_prefix(wanted, where)
    if prefix is None:
        missing = next(key for key in wanted if not any(name.endswith(key) for name in where))
        raise PretrainedSourceError(
            f"{what} in {folder}: no weights for {missing!r} (is it the right model?)"
        )
    state = {}
    for key in wanted:
        with safe_open(str(where[prefix + key]), framework="pt") as handle:
            state[key] = handle.get_tensor(prefix + key).float()
    module.load_state_dict(state, strict=True)


def tower_grid(vision_config: Any) -> tuple[int, int]:
    """(image_size, patch_size) of a tower config, whose sizes may be ints or [h, w] pairs."""
    sizes = []
    for name in ("image_size", "patch_size"):
        value = getattr(vision_config, name)
        if isinstance(value, (list, tuple)):
            if value[0] != value[1]:
                raise PretrainedSourceError(f"the vision tower's {name} {value} is not square")
            value = value[0]
        sizes.append(int(value))
    return sizes[0], sizes[1]


def normalisation(folder: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The tower's pixel mean/std from ``preprocessor_config.json`` (0.5/0.5 when absent)."""
    processor = read_json(folder, "preprocessor_config.json") or {}
    mean, std = processor.get("image_mean"), processor.get("image_std")
    if mean is None or std is None:
        return DEFAULT_MEAN_STD
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def vision_part(source: str, trust_remote_code: bool) -> tuple[PreTrainedModel, Path]:
    """The tower of ``source`` with its pretrained weights, and its folder."""
    from transformers import AutoConfig, AutoModel

    folder = source_folder(source)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
    vision_config = getattr(config, "vision_config", None) or config
    tower = AutoModel.from_config(vision_config)
    if "pixel_values" not in inspect.signature(tower.forward).parameters:
        raise PretrainedSourceError(
            f"{source} ({vision_config.model_type}) is not a vision tower taking pixel_values"
        )
    load_by_prefix(tower, folder, f"vision tower {source}")
    return tower, folder


def llama_config_for(raw: Mapping[str, Any]) -> Any:
    """An openPangu-Embedded config as the ``LlamaConfig`` of the same decoder."""
    from transformers import LlamaConfig

    keys = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings")  # fmt: skip
    values = {key: raw[key] for key in keys if key in raw}
    theta = float(raw.get("rope_theta", 10000.0))
    return LlamaConfig(**values, attention_bias=bool(raw.get("bias", True)), mlp_bias=False,
                       rope_parameters={"rope_type": "default", "rope_theta": theta})  # fmt: skip


def language_part(source: str, trust_remote_code: bool) -> tuple[PreTrainedModel, Path]:
    """The causal LM of ``source`` with its pretrained weights (float32), and its folder."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    folder = source_folder(source)
    raw = read_json(folder, "config.json")
    if raw is None:
        raise PretrainedSourceError(f"{source} has no config.json: pass a Hugging Face causal LM")
    if raw.get("model_type") in LLAMA_SHAPED:
        lm: PreTrainedModel = LlamaForCausalLM(llama_config_for(raw))
        load_by_prefix(lm, folder, f"language model {source}")
        return lm, folder
    lm = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, trust_remote_code=trust_remote_code
    )
    model_type = lm.config.model_type
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if model_type not in CONFIG_MAPPING_NAMES:
        raise PretrainedSourceError(
            f"{source}: model type {model_type!r} needs its own code, which a checkpoint cannot rebuild "
            "offline; use an architecture transformers ships (Llama, Qwen2, Mistral, ...)"
        )
    return lm, folder


def language_tokenizer(folder: Path, trust_remote_code: bool) -> VLMTokenizer:
    """The LM's own (fast) tokenizer with our special tokens appended (see :func:`VLMTokenizer.extend`)."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    if (folder / "tokenizer.json").is_file():  # the fast tokenizer itself: no config lookup needed
        return VLMTokenizer.extend(Tokenizer.from_file(str(folder / "tokenizer.json")))
    hf = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is None:
        raise PretrainedSourceError(
            f"{folder}: the tokenizer has no fast (tokenizers) form; evalkit needs one"
        )
    return VLMTokenizer.extend(backend)


def embedding_table(module: nn.Module) -> torch.Tensor:
    """The ``(vocab, hidden)`` weight of an embedding or LM-head module."""
    weight = module.weight
    assert isinstance(weight, torch.Tensor)
    return weight


def init_new_embeddings(lm: PreTrainedModel, new_ids: list[int], old_size: int) -> None:
    """Start the rows of tokens we added at the mean of the pretrained rows (input and output),
    as transformers' mean resizing does: a random row would be a loud, meaningless token."""
    tables: list[torch.Tensor] = [embedding_table(lm.get_input_embeddings())]
    output = lm.get_output_embeddings()
    if output is not None and embedding_table(output) is not tables[0]:
        tables.append(embedding_table(output))
    with torch.no_grad():
        for table in tables:
            table[new_ids] = table[:old_size].mean(dim=0, keepdim=True).to(table.dtype)


def prefix_tokens(tower: nn.Module, image_size: int, patch_size: int, layer: int) -> int:
    """How many leading non-patch tokens (CLS) the tower outputs, measured on a blank image."""
    with torch.no_grad():
        out = tower(pixel_values=torch.zeros(1, 3, image_size, image_size), output_hidden_states=True)
    tokens = out.hidden_states[layer].shape[1]
    extra = tokens - (image_size // patch_size) ** 2
    if extra < 0:
        raise PretrainedSourceError(f"the vision tower returns {tokens} tokens, fewer than its patches")
    return extra


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from config.json (int keys become strings), so a saved and a
    reloaded config compare equal."""
    return dict(json.loads(json.dumps(data)))


def assembled_config(base: VLMConfig, tower: PreTrainedModel, lm: PreTrainedModel, tokenizer: VLMTokenizer,
                     mean_std: tuple[Any, Any], layer: int) -> VLMConfig:  # fmt: skip
    """``base`` (shuffle, visual_position, dense heads ...) with every size taken from the parts."""
    vision_config, lm_config = tower.config, lm.config
    image_size, patch_size = tower_grid(vision_config)
    return dataclasses.replace(
        base, image_size=image_size, patch_size=patch_size, vit_hidden=int(vision_config.hidden_size),
        vit_layers=int(getattr(vision_config, "num_hidden_layers", 0)),
        vit_heads=int(getattr(vision_config, "num_attention_heads", 1)),
        lm_hidden=int(lm_config.hidden_size), lm_layers=int(lm_config.num_hidden_layers),
        lm_heads=int(lm_config.num_attention_heads),
        lm_kv_heads=int(getattr(lm_config, "num_key_value_heads", None) or lm_config.num_attention_heads),
        vocab_size=int(embedding_table(lm.get_input_embeddings()).shape[0]),
        tie_embeddings=bool(getattr(lm_config, "tie_word_embeddings", False)),
        pad_token_id=tokenizer.pad_id, eos_token_id=tokenizer.eos_id, image_token_id=tokenizer.image_id,
        vision_tower=as_json(vision_config.to_dict()), language_model=as_json(lm_config.to_dict()),
        vision_feature_layer=layer, vision_prefix_tokens=prefix_tokens(tower, image_size, patch_size, layer),
        image_mean=tuple(mean_std[0]), image_std=tuple(mean_std[1]),
    ).validate()  # fmt: skip


def assemble(
    vision_source: str,
    lm_source: str,
    base: VLMConfig,
    *,
    feature_layer: int = -1,
    trust_remote_code: bool = False,
) -> tuple[Any, VLMTokenizer]:
    """A VisionPangu of the pretrained tower and LM (projector freshly initialised) and its tokenizer."""
    from evalkit.tinyvlm.model import VisionPangu

    tower, vision_folder = vision_part(vision_source, trust_remote_code)
    lm, lm_folder = language_part(lm_source, trust_remote_code)
    tokenizer = language_tokenizer(lm_folder, trust_remote_code)
    old_size = int(embedding_table(lm.get_input_embeddings()).shape[0])
    if tokenizer.vocab_size > old_size:
        lm.resize_token_embeddings(tokenizer.vocab_size, mean_resizing=False)
    init_new_embeddings(lm, list(tokenizer.added_ids), min(old_size, tokenizer.base_size))
    config = assembled_config(base, tower, lm, tokenizer, normalisation(vision_folder), feature_layer)
    model = VisionPangu(config, vision=tower, language=lm)
    return model, tokenizer
