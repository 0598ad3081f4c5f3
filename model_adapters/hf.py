"""``hf:<repo-or-local-path>``: any Hugging Face image-text-to-text model, batched and greedy.

One generic path for every family: ``AutoProcessor`` + ``AutoModelForImageTextToText``, the
model's own chat template (``{"type": "image"}`` parts, then the text), left padding, greedy
decoding, only the new tokens decoded. What differs per family lives in
:mod:`model_adapters.hf_families`.

Batch invariance: a batch is left-padded with an attention mask, and the model derives position
ids (multimodal RoPE for Qwen) from that mask, so a sample's greedy reply does not depend on
its neighbours (tested in fp32 on CPU at batch sizes 1, 3 and 8).

Options: ``device`` (auto = cuda if available, else cpu; or cpu / cuda / cuda:N), ``dtype``
(auto = bfloat16 on CUDA, float32 on CPU; or float32 / bfloat16 / float16),
``attn_implementation`` (eager / sdpa / flash_attention_2), ``trust_remote_code`` (off unless
asked). ``options.extra``: ``revision`` (hub revision), ``max_batch_size`` (default 64 on GPU,
16 on CPU).

Out of memory: ``generate`` lets ``torch.OutOfMemoryError`` through untouched, so the runner's
``--batch-size auto`` halves the batch and retries.

Offline: a hub id missing from the local cache fails at once, in one line, when
``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` is set or the hub cannot be reached in 3 s.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, ModelAdapter, ModelUnavailableError, register_adapter
from model_adapters.devices import resolve_device
from model_adapters.hf_families import REPLY_REWRITES, FamilySpec, estimate_image_tokens, family_for

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_TRUE = {"1", "true", "yes", "on"}


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """``auto`` -> bfloat16 on CUDA, float32 elsewhere (CPU half precision is slow and inexact)."""
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"unknown --dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _hub_offline() -> bool:
    """True when the user switched the hub off through the usual environment variables."""
    return any(
        os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to the hub endpoint opens within ``timeout_s``."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_checkpoint(spec: str, revision: str | None = None) -> str:
    """A local directory as is; a hub id when cached or downloadable; else one-line error."""
    if not spec:
        raise ValueError("hf: needs a model, e.g. hf:llava-hf/llava-1.5-7b-hf or hf:/path/to/model")
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(
                f"{path} has no config.json: pass a Hugging Face model folder (config.json, weights, "
                "processor files, as save_pretrained writes them) or a hub id"
            )
        return str(path)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelUnavailableError(f"model directory {spec} does not exist")
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(spec, "config.json", revision=revision), str):
        return spec
    if _hub_offline() or not _hub_reachable():
        why = "the hub is offline (HF_HUB_OFFLINE)" if _hub_offline() else "the hub cannot be reached"
        raise ModelUnavailableError(
            f"model {spec} is not in the local Hugging Face cache and {why}: pass a local directory "
            f"(hf:/path/to/{spec.split('/')[-1]}) or run once online to download it"
        )
    return spec


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the earliest occurrence of any stop string (the stop string excluded)."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]


def build_messages(prompt: str, n_images: int, images_first: bool) -> list[dict[str, Any]]:
    """One user turn: ``n_images`` image parts and the text, in the family's order."""
    parts: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    text = [{"type": "text", "text": prompt}]
    return [{"role": "user", "content": parts + text if images_first else text + parts}]


class HFAdapter(ModelAdapter):
    """Greedy batched generation with a transformers image-text-to-text model."""

    def __init__(self, spec: str, options: AdapterOptions) -> None:
        from transformers import AutoConfig

        self.name = f"hf:{spec}"
        self.options = options
        self.revision = options.extra.get("revision")
        self.checkpoint = resolve_checkpoint(spec, self.revision)
        self.device = resolve_device(options.device)
        self.dtype = resolve_dtype(options.dtype, self.device)
        common = {"revision": self.revision, "trust_remote_code": options.trust_remote_code}
        config = AutoConfig.from_pretrained(self.checkpoint, **common)
        self.model_type = str(config.model_type)
        self.family: FamilySpec = family_for(self.model_type)
        self.box_format = self.family.box_format
        self.processor = self._load_processor(common)
        self.tokenizer = self.processor.tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:  # e.g. Llama-3 based checkpoints ship no pad token
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = self._load_model(common)
        self.eos_ids = self._eos_ids()
        default_batch = 64 if self.device.startswith("cuda") else 16
        self.max_batch_size = int(options.extra.get("max_batch_size", default_batch))

    def _load_processor(self, common: dict[str, Any]) -> Any:
        from transformers import AutoProcessor
        from transformers.utils import is_torchvision_available

        try:
            return AutoProcessor.from_pretrained(self.checkpoint, **common)
        except (AttributeError, ImportError, ValueError) as err:
            if self.family.needs_torchvision and not is_torchvision_available():
                raise ModelUnavailableError(
                    f"the {self.model_type} processor of {self.checkpoint} needs torchvision: pip install torchvision"
                ) from err
            raise

    def _load_model(self, common: dict[str, Any]) -> Any:
        from transformers import AutoModelForImageTextToText

        kwargs: dict[str, Any] = {"dtype": self.dtype, **common}
        if self.options.attn_implementation:
            kwargs["attn_implementation"] = self.options.attn_implementation
        if self.device.startswith("cuda"):
            kwargs["device_map"] = self.device
        model = AutoModelForImageTextToText.from_pretrained(self.checkpoint, **kwargs)
        return model.to(self.device).eval()

    def _eos_ids(self) -> list[int]:
        """The model's EOS ids plus the family's end-of-turn tokens present in the vocabulary."""
        configured = self.model.generation_config.eos_token_id
        ids = [configured] if isinstance(configured, int) else list(configured or [])
        for token in (self.tokenizer.eos_token, *self.family.end_of_turn):
            token_id = self.tokenizer.convert_tokens_to_ids(token) if token else None
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id and token_id not in ids:
                ids.append(token_id)
        return ids

    def build_prompt(self, request: GenerationRequest) -> str:
        """The full text the processor receives: chat-templated, or the family's raw format."""
        if not self.family.use_chat_template:
            images = str(getattr(self.processor, "image_token", "")) * len(request.images)
            return self.family.raw_prompt.format(images=images, prompt=request.prompt)
        messages = build_messages(request.prompt, len(request.images), self.family.images_first)
        return str(self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))

    def prompt_length(self, request: GenerationRequest) -> int:
        """Text tokens plus the family's estimate of image tokens (sorting key for batches)."""
        text = len(self.tokenizer(request.prompt, add_special_tokens=False)["input_ids"])
        return text + sum(estimate_image_tokens(self.family, *im.size) for im in request.images)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """One sub-batch per (temperature, stop, has images) — processors cannot mix image-less rows."""
        replies: list[str] = [""] * len(requests)
        groups: dict[tuple[float, tuple[str, ...], bool], list[int]] = {}
        for i, request in enumerate(requests):
            key = (request.settings.temperature, request.settings.stop, bool(request.images))
            groups.setdefault(key, []).append(i)
        for indices in groups.values():
            for i, reply in zip(indices, self._generate_batch([requests[i] for i in indices]), strict=True):
                replies[i] = reply
        return replies

    def _encode(self, requests: Sequence[GenerationRequest]) -> Any:
        """Processor outputs for the batch, left-padded, on the model's device and dtype."""
        texts = [self.build_prompt(r) for r in requests]
        images = [list(r.images) for r in requests] if any(r.images for r in requests) else None
        inputs = self.processor(text=texts, images=images, padding=True, return_tensors="pt")
        return inputs.to(self.model.device, dtype=self.dtype)

    @torch.inference_mode()
    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Decode a batch sharing temperature and stop strings; cut each at its own budget."""
        settings: GenerationSettings = requests[0].settings
        inputs = self._encode(requests)
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(r.settings.max_new_tokens for r in requests),
            "eos_token_id": self.eos_ids,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": settings.temperature > 0,
        }
        if settings.temperature > 0:
            torch.manual_seed(self.options.seed)
            kwargs.update(temperature=settings.temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        output = self.model.generate(**inputs, **kwargs)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        rewrite = REPLY_REWRITES[self.family.reply_boxes]
        replies = []
        for request, tokens in zip(requests, new_tokens, strict=True):
            text = self.tokenizer.decode(tokens[: request.settings.max_new_tokens], skip_special_tokens=True)
            replies.append(rewrite(truncate_at_stop(text, request.settings.stop)).strip())
        return replies

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "checkpoint": self.checkpoint,
            "revision": self.revision or getattr(self.model.config, "_commit_hash", None),
            "model_type": self.model_type,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": self.device,
            "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
            "box_format": self.box_format,
        }

    def close(self) -> None:
        """Drop the model and free cached GPU memory."""
        self.__dict__.pop("model", None)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


@register_adapter("hf")
def make_hf_adapter(spec: str, options: AdapterOptions) -> ModelAdapter:
    """Factory for ``hf:<repo-or-local-path>``."""
    return HFAdapter(spec, options)
