"""``vllm:<model>``: vLLM's offline engine in-process (GPU machines with ``vllm`` installed).

The same request shape as :mod:`model_adapters.openai_server` (one user turn, images as PNG
data URLs, then the text) goes through ``LLM.chat``, so the model's own chat template applies.
vLLM schedules the whole batch itself (continuous batching), hence a large ``max_batch_size``.

Options: ``dtype`` (auto lets vLLM pick), ``seed``, ``trust_remote_code``. ``options.extra``:
``max_model_len``, ``gpu_memory_utilization`` (default 0.9), ``tensor_parallel_size``
(default 1), ``max_images`` per prompt (default 4), ``box_format`` (default ``qwen_0_1000``).
Without vllm installed the factory fails in one line and names the server alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.types import GenerationRequest
from model_adapters.base import AdapterOptions, ModelAdapter, register_adapter
from model_adapters.openai_server import image_data_url


def import_vllm() -> Any:
    """The ``vllm`` module, or a one-line error saying how to get it or what to use instead."""
    try:
        import vllm
    except ImportError as err:
        raise RuntimeError(
            "vllm:<model> needs the vllm package on a GPU machine (pip install vllm); without it, serve the "
            "model with `vllm serve <model>` and use openai:<model> --base-url http://localhost:8000/v1"
        ) from err
    return vllm


def chat_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    """One user turn: image data URLs, then the text (OpenAI content parts, as ``LLM.chat`` takes)."""
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image_data_url(im)}} for im in request.images
    ]
    parts.append({"type": "text", "text": request.prompt})
    return [{"role": "user", "content": parts}]


class VLLMEngineAdapter(ModelAdapter):
    """Batched generation with an in-process ``vllm.LLM``."""

    max_batch_size = 1024

    def __init__(self, model: str, options: AdapterOptions) -> None:
        if not model:
            raise ValueError("vllm: needs a model, e.g. vllm:Qwen/Qwen2-VL-7B-Instruct")
        self._vllm = import_vllm()
        extra = options.extra
        self.name = f"vllm:{model}"
        self.seed = options.seed
        self.box_format = str(extra.get("box_format", "qwen_0_1000"))
        kwargs: dict[str, Any] = {
            "model": model,
            "dtype": options.dtype,
            "seed": options.seed,
            "trust_remote_code": options.trust_remote_code,
            "gpu_memory_utilization": float(extra.get("gpu_memory_utilization", 0.9)),
            "tensor_parallel_size": int(extra.get("tensor_parallel_size", 1)),
            "limit_mm_per_prompt": {"image": int(extra.get("max_images", 4))},
        }
        if "max_model_len" in extra:
            kwargs["max_model_len"] = int(extra["max_model_len"])
        self.llm = self._vllm.LLM(**kwargs)

    def _sampling_params(self, request: GenerationRequest) -> Any:
        settings = request.settings
        return self._vllm.SamplingParams(
            temperature=settings.temperature,
            max_tokens=settings.max_new_tokens,
            stop=list(settings.stop) or None,
            seed=self.seed if settings.temperature > 0 else None,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """All requests in one ``LLM.chat`` call; vLLM returns outputs in input order."""
        conversations = [chat_messages(r) for r in requests]
        params = [self._sampling_params(r) for r in requests]
        outputs = self.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        return [output.outputs[0].text for output in outputs]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "engine": f"vllm {getattr(self._vllm, '__version__', '?')}",
            "box_format": self.box_format,
        }

    def close(self) -> None:
        """Drop the engine (vLLM frees its GPU memory when the LLM object goes)."""
        self.__dict__.pop("llm", None)


@register_adapter("vllm")
def make_vllm_adapter(spec: str, options: AdapterOptions) -> ModelAdapter:
    """Factory for ``vllm:<model>``."""
    return VLLMEngineAdapter(spec, options)
