"""The adapter protocol and the model-name registry.

An adapter turns a batch of :class:`~evalkit.types.GenerationRequest` into strings. Model names
resolve by prefix: ``mock:<behaviour>``, ``hf:<repo-or-path>``, ``openai:<model>``,
``vllm:<model>``, ``visionpangu`` / ``visionpangu:<path>``. Adapter modules are imported only
when their prefix is asked for, so the mock path never imports torch.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.types import BOX_FORMATS, GenerationRequest


class ModelUnavailableError(RuntimeError):
    """The model can neither be found locally nor downloaded, or its folder is incomplete."""


@dataclass(frozen=True)
class AdapterOptions:
    """Settings every adapter accepts from the CLI; adapters ignore what does not apply."""

    device: str = "auto"
    dtype: str = "auto"
    seed: int = 1234
    attn_implementation: str | None = None
    trust_remote_code: bool = False
    base_url: str | None = None
    api_key: str | None = None
    max_concurrency: int = 16
    timeout_s: float = 120.0
    extra: dict[str, Any] = field(default_factory=dict)


class ModelAdapter(ABC):
    """Base class for adapters.

    Subclasses set ``box_format`` (one of :data:`evalkit.types.BOX_FORMATS`) and
    ``max_batch_size`` and implement :meth:`generate`, which must return exactly one string
    per request, in request order. Raising from ``generate`` fails the whole batch; the
    runner then retries the batch's requests one by one to isolate the bad sample.
    """

    name: str = "adapter"
    box_format: str = "qwen_0_1000"
    max_batch_size: int = 1

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Return one reply per request, in order."""

    def describe(self) -> dict[str, Any]:
        """Identity of the model for results.json (id, revision, dtype, device, ...)."""
        return {"id": self.name}

    def prompt_length(self, request: GenerationRequest) -> int:
        """A cheap length estimate used to sort requests into batches."""
        return len(request.prompt) + 256 * len(request.images)

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources (servers, GPU memory). Safe to call twice."""


AdapterFactory = Callable[[str, AdapterOptions], ModelAdapter]

# prefix -> module that registers that prefix when imported
_ADAPTER_MODULES: dict[str, str] = {
    "mock": "model_adapters.mock",
    "hf": "model_adapters.hf",
    "openai": "model_adapters.openai_server",
    "vllm": "model_adapters.vllm_engine",
    "visionpangu": "model_adapters.visionpangu",
}
_ADAPTER_FACTORIES: dict[str, AdapterFactory] = {}
_ADAPTER_DESCRIPTIONS: dict[str, str] = {
    "mock:<yes|no|echo|random|fail-every-N>": "Instant fake model for testing the pipeline",
    "hf:<repo-or-path>": "Any Hugging Face image-text-to-text model (AutoProcessor + chat template)",
    "openai:<model>": "An OpenAI-compatible server such as vLLM or SGLang (--base-url)",
    "vllm:<model>": "vLLM's offline engine in-process (GPU machines with vllm installed)",
    "visionpangu[:<path>]": "evalkit's built-in compact VLM (shipped tiny checkpoint by default)",
}


def register_adapter(prefix: str) -> Callable[[AdapterFactory], AdapterFactory]:
    """Decorator: ``@register_adapter("mock")`` on a factory ``(spec, options) -> adapter``."""

    def wrap(factory: AdapterFactory) -> AdapterFactory:
        _ADAPTER_FACTORIES[prefix] = factory
        return factory

    return wrap


def model_descriptions() -> dict[str, str]:
    return dict(_ADAPTER_DESCRIPTIONS)


def split_model_name(name: str) -> tuple[str, str]:
    """``"hf:org/model"`` -> ``("hf", "org/model")``; ``"visionpangu"`` -> ``("visionpangu", "")``."""
    prefix, _, rest = name.partition(":")
    return prefix.strip(), rest.strip()


def load_adapter(name: str, options: AdapterOptions | None = None) -> ModelAdapter:
    """Resolve a model name to a ready adapter; unknown prefixes fail with the closest names."""
    prefix, spec = split_model_name(name)
    if prefix not in _ADAPTER_MODULES:
        from evalkit.registry import unknown_name_error

        raise unknown_name_error("model", name, _ADAPTER_MODULES)
    if prefix not in _ADAPTER_FACTORIES:
        importlib.import_module(_ADAPTER_MODULES[prefix])
    adapter = _ADAPTER_FACTORIES[prefix](spec, options or AdapterOptions())
    if adapter.box_format not in BOX_FORMATS:
        raise ValueError(f"adapter {name!r} declares unknown box format {adapter.box_format!r}")
    return adapter
