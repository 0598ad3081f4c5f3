"""``openai:<model>``: a model behind an OpenAI-compatible chat completions server (vLLM, SGLang).

``options.base_url`` is the API root as the OpenAI client takes it, e.g.
``http://localhost:8000/v1``; requests go to ``<base_url>/chat/completions``. Each request is one
user turn whose content lists the images as base64 PNG data URLs (``image_url`` parts) and then
the text; ``max_tokens``, ``temperature`` and ``stop`` come from the request's settings (and
``seed`` from the options when sampling).

A batch is sent with up to ``options.max_concurrency`` requests in flight (threads); replies
come back in request order. Each request times out after ``options.timeout_s``. HTTP 429, 5xx,
timeouts and connection errors are retried with exponential back-off (``retry_backoff_s`` x 2^k,
at most 30 s, a server's ``Retry-After`` wins when shorter) up to ``max_retries`` times; any
other 4xx fails at once with one line naming the status and the server's message.

API key: none is sent unless given. ``options.api_key`` is sent as ``Authorization: Bearer``;
``api_key="env:NAME"`` reads it from the environment variable ``NAME``. ``OPENAI_API_KEY`` is
never read on its own.

``options.extra``: ``max_retries`` (default 5), ``retry_backoff_s`` (default 1.0),
``box_format`` (the served model's box convention, default ``qwen_0_1000``).
Only the standard library is used (no ``openai`` package).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from evalkit.types import GenerationRequest
from model_adapters.base import AdapterOptions, ModelAdapter, register_adapter

MAX_BACKOFF_S = 30.0


class ServerRequestError(RuntimeError):
    """The server refused a request (4xx) or kept failing after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before sending a failed request again."""

    max_retries: int = 5
    backoff_s: float = 1.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before retry ``attempt`` (0-based): backoff x 2^attempt, capped; Retry-After if shorter."""
        wait = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
        return min(wait, retry_after) if retry_after is not None and retry_after >= 0 else wait


def image_data_url(image: Any) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URL."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_payload(model: str, request: GenerationRequest, seed: int) -> dict[str, Any]:
    """The chat completions body for one request: images first, then the text."""
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image_data_url(im)}} for im in request.images
    ]
    content.append({"type": "text", "text": request.prompt})
    settings = request.settings
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
    }
    if settings.stop:
        payload["stop"] = list(settings.stop)
    if settings.temperature > 0:
        payload["seed"] = seed
    return payload


def resolve_api_key(api_key: str | None) -> str | None:
    """The key to send: ``None`` (no header), a literal key, or ``env:NAME`` read from the environment."""
    if not api_key:
        return None
    if api_key.startswith("env:"):
        name = api_key[len("env:") :]
        if not os.environ.get(name):
            raise ValueError(f"--api-key env:{name} given, but the environment variable {name} is not set")
        return os.environ[name]
    return api_key


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def server_message(body: bytes) -> str:
    """The error message in an OpenAI-style error body (``{"error": {"message": ...}}``), else the body."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return _one_line(text)
    error = data.get("error", data) if isinstance(data, dict) else data
    message = error.get("message", error) if isinstance(error, dict) else error
    return _one_line(str(message if message is not None else text))


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAIServerAdapter(ModelAdapter):
    """Concurrent chat-completion requests to an OpenAI-compatible server."""

    def __init__(self, model: str, options: AdapterOptions) -> None:
        if not model:
            raise ValueError("openai: needs a served model name, e.g. openai:Qwen/Qwen2-VL-7B-Instruct")
        if not options.base_url:
            raise ValueError(f"openai:{model} needs --base-url, e.g. --base-url http://localhost:8000/v1")
        self.name = f"openai:{model}"
        self.model = model
        self.url = options.base_url.rstrip("/") + "/chat/completions"
        self.api_key = resolve_api_key(options.api_key)
        self.seed = options.seed
        self.timeout_s = options.timeout_s
        self.max_concurrency = max(1, options.max_concurrency)
        self.max_batch_size = max(64, 4 * self.max_concurrency)
        self.box_format = str(options.extra.get("box_format", "qwen_0_1000"))
        self.retry = RetryPolicy(
            max_retries=int(options.extra.get("max_retries", 5)),
            backoff_s=float(options.extra.get("retry_backoff_s", 1.0)),
        )

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One HTTP POST; returns the decoded JSON reply."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(payload).encode("utf-8")
        http_request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(http_request, timeout=self.timeout_s) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def _complete(self, request: GenerationRequest) -> str:
        """Send one request, retrying transient failures; the reply's text."""
        payload = chat_payload(self.model, request, self.seed)
        last = ""
        for attempt in range(self.retry.max_retries + 1):
            retry_after = None
            try:
                reply = self._post(payload)
                return str(reply["choices"][0]["message"].get("content") or "")
            except urllib.error.HTTPError as error:
                message = server_message(error.read())
                if error.code != 429 and error.code < 500:
                    raise ServerRequestError(
                        f"{self.name}: HTTP {error.code} from {self.url} for doc_id {request.doc_id}: {message}"
                    ) from None
                last, retry_after = f"HTTP {error.code}: {message}", _retry_after(error)
            except (urllib.error.URLError, HTTPException, OSError) as error:
                last = _one_line(f"{type(error).__name__}: {getattr(error, 'reason', error)}")
            if attempt < self.retry.max_retries:
                time.sleep(self.retry.delay(attempt, retry_after))
        raise ServerRequestError(
            f"{self.name}: {self.url} still failing after {self.retry.max_retries + 1} attempts ({last})"
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Replies in request order, with at most ``max_concurrency`` requests in flight."""
        if len(requests) <= 1 or self.max_concurrency == 1:
            return [self._complete(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests))) as pool:
            return list(pool.map(self._complete, requests))

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "base_url": self.url.removesuffix("/chat/completions"),
            "box_format": self.box_format,
        }


@register_adapter("openai")
def make_openai_adapter(spec: str, options: AdapterOptions) -> ModelAdapter:
    """Factory for ``openai:<model>``."""
    return OpenAIServerAdapter(spec, options)
