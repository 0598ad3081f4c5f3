"""The built-in compact VLM (``visionpangu`` / ``visionpangu:<checkpoint dir>``).

``visionpangu`` loads the trained ``tiny`` checkpoint shipped in
``model_adapters/checkpoints/visionpangu-tiny``; ``visionpangu:<path>`` loads any directory
written by ``evalkit train``. Replies are decoded greedily with a KV cache in left-padded
batches; grounding answers use Qwen-VL's ``<box>(x1,y1),(x2,y2)</box>`` on the 0-1000 grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, ModelAdapter, register_adapter

SHIPPED_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "visionpangu-tiny"
DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}  # fmt: skip


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """Text before the earliest of the stop strings (unchanged when none occurs)."""
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return text if cut < 0 else text[:cut]


class VisionPanguAdapter(ModelAdapter):
    """Adapter over :class:`evalkit.tinyvlm.model.VisionPangu` (torch imported on construction)."""

    name = "visionpangu"
    box_format = "qwen_0_1000"
    max_batch_size = 32

    def __init__(self, path: Path, options: AdapterOptions) -> None:
        import torch

        from evalkit.tinyvlm.model import load_pretrained
        from model_adapters.devices import resolve_device

        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"no visionpangu checkpoint at {path} (config.json missing); train one with "
                "`evalkit train --stage ... --out DIR` and pass --model visionpangu:DIR"
            )
        device = resolve_device(options.device)
        dtype_name = DTYPES.get(options.dtype, "bfloat16" if device.startswith("cuda") else "float32")
        if options.dtype not in DTYPES and options.dtype != "auto":
            raise ValueError(f"unknown dtype {options.dtype!r}; use auto or one of {sorted(DTYPES)}")
        self.path = path
        self.device = device
        self.dtype_name = dtype_name
        self.seed = options.seed
        model, self.tokenizer = load_pretrained(path, device=device)
        self.model = model.to(dtype=getattr(torch, dtype_name)).eval()

    def _generate_group(
        self, requests: Sequence[GenerationRequest], settings: GenerationSettings
    ) -> list[str]:
        """One left-padded batch with shared decoding settings."""
        import torch

        from evalkit.tinyvlm.data import collate_prompts, encode_prompt, pixels_for
        from evalkit.tinyvlm.generate import generate

        cfg = self.model.config
        prompts = [
            encode_prompt(self.tokenizer, r.prompt, cfg.num_visual_tokens if r.images else 0)
            for r in requests
        ]
        images = [r.images[0] for r in requests if r.images]
        pixels = pixels_for(images, cfg).to(self.device, self.model.pixel_dtype) if images else None
        batch = collate_prompts(prompts, pixels, self.tokenizer.pad_id).to(self.device)
        generator = (
            torch.Generator(device=self.device).manual_seed(self.seed) if settings.temperature > 0 else None
        )
        ids = generate(self.model, batch, max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                       generator=generator)  # fmt: skip
        return [cut_at_stop(self.tokenizer.decode(row), settings.stop).strip() for row in ids]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """One reply per request, in order; requests sharing settings are decoded together."""
        replies: dict[int, str] = {}
        order = sorted(range(len(requests)), key=lambda i: repr(requests[i].settings))
        for _, group in groupby(order, key=lambda i: repr(requests[i].settings)):
            idx = list(group)
            for start in range(0, len(idx), self.max_batch_size):
                part = idx[start : start + self.max_batch_size]
                texts = self._generate_group([requests[i] for i in part], requests[part[0]].settings)
                replies.update(zip(part, texts))
        return [replies[i] for i in range(len(requests))]

    def prompt_length(self, request: GenerationRequest) -> int:
        return len(request.prompt) // 3 + (self.model.config.num_visual_tokens if request.images else 0)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "path": str(self.path),
            "preset": self.model.config.preset,
            "dtype": self.dtype_name,
            "device": self.device,
            "parameters": self.model.num_parameters(),
        }


@register_adapter("visionpangu")
def make_visionpangu(spec: str, options: AdapterOptions) -> ModelAdapter:
    """``""`` -> the shipped tiny checkpoint; anything else is a checkpoint directory."""
    return VisionPanguAdapter(Path(spec).expanduser() if spec else SHIPPED_CHECKPOINT, options)
