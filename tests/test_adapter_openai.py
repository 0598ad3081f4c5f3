"""Specification of ``openai:<model>`` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, load_adapter
from model_adapters.openai_server import RetryPolicy, ServerRequestError, server_message

Reply = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, extra headers


@dataclass
class FakeServer:
    """Records every request; ``respond`` decides each reply from the call number and the body."""

    respond: Callable[[int, dict[str, Any]], Reply]
    seen: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""


def completion(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def echo_prompt(call: int, body: dict[str, Any]) -> Reply:
    return 200, completion(body["messages"][0]["content"][-1]["text"]), {}


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int, dict[str, Any]], Reply]], FakeServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Callable[[int, dict[str, Any]], Reply]) -> FakeServer:
        state = FakeServer(respond)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with state.lock:
                    call = len(state.seen)
                    state.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    state.in_flight += 1
                    state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
                try:
                    status, reply, headers = state.respond(call, body)
                finally:
                    with state.lock:
                        state.in_flight -= 1
                data = json.dumps(reply).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # a timed-out client hung up
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _options(server: FakeServer, **kwargs: Any) -> AdapterOptions:
    extra = {"retry_backoff_s": 0.01, **kwargs.pop("extra", {})}
    return AdapterOptions(base_url=server.base_url, extra=extra, **kwargs)


def test_request_carries_model_image_data_url_text_and_settings(serve) -> None:
    server = serve(echo_prompt)
    image = Image.new("RGB", (5, 3), (10, 200, 30))
    request = GenerationRequest(0, "Is it green?", (image,), GenerationSettings(7, 0.0, ("\n",)))
    adapter = load_adapter("openai:my-vlm", _options(server))
    assert adapter.generate([request]) == ["Is it green?"]
    (call,) = server.seen
    assert call["path"] == "/v1/chat/completions"
    body = call["body"]
    assert {k: body[k] for k in ("model", "max_tokens", "temperature", "stop")} == {
        "model": "my-vlm",
        "max_tokens": 7,
        "temperature": 0.0,
        "stop": ["\n"],
    }
    assert "seed" not in body  # greedy: nothing to seed
    image_part, text_part = body["messages"][0]["content"]
    assert text_part == {"type": "text", "text": "Is it green?"}
    url = image_part["image_url"]["url"]
    assert image_part["type"] == "image_url" and url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.format == "PNG" and decoded.convert("RGB").tobytes() == image.tobytes()


def test_no_authorization_header_unless_a_key_is_given(serve, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "must-not-leak")
    monkeypatch.setenv("MY_KEY", "from-env")
    server = serve(echo_prompt)
    request = [GenerationRequest(0, "hi")]
    load_adapter("openai:m", _options(server)).generate(request)
    load_adapter("openai:m", _options(server, api_key="sk-123")).generate(request)
    load_adapter("openai:m", _options(server, api_key="env:MY_KEY")).generate(request)
    auth = [call["headers"].get("Authorization") for call in server.seen]
    assert auth == [None, "Bearer sk-123", "Bearer from-env"]


def test_replies_keep_request_order_under_concurrency(serve) -> None:
    def slow_first(call: int, body: dict[str, Any]) -> Reply:
        index = int(body["messages"][0]["content"][-1]["text"])
        time.sleep(0.02 * (8 - index))  # early requests finish last
        return 200, completion(f"reply {index}"), {}

    server = serve(slow_first)
    requests = [GenerationRequest(i, str(i)) for i in range(8)]
    adapter = load_adapter("openai:m", _options(server, max_concurrency=4))
    assert adapter.generate(requests) == [f"reply {i}" for i in range(8)]
    assert 1 < server.peak_in_flight <= 4


def test_503_is_retried_until_success(serve) -> None:
    def flaky(call: int, body: dict[str, Any]) -> Reply:
        if call < 2:
            return 503, {"error": {"message": "warming up"}}, {}
        return 200, completion("yes"), {}

    server = serve(flaky)
    assert load_adapter("openai:m", _options(server)).generate([GenerationRequest(0, "q")]) == ["yes"]
    assert len(server.seen) == 3


def test_429_honours_a_short_retry_after(serve) -> None:
    server = serve(
        lambda call, body: (429, {}, {"Retry-After": "0"}) if call == 0 else (200, completion("ok"), {})
    )
    adapter = load_adapter("openai:m", _options(server, extra={"retry_backoff_s": 10.0}))
    start = time.monotonic()
    assert adapter.generate([GenerationRequest(0, "q")]) == ["ok"]
    assert time.monotonic() - start < 5


def test_400_fails_at_once_with_status_and_server_message(serve) -> None:
    server = serve(lambda call, body: (400, {"error": {"message": "image too\nlarge"}}, {}))
    adapter = load_adapter("openai:m", _options(server))
    with pytest.raises(ServerRequestError) as err:
        adapter.generate([GenerationRequest(3, "q")])
    message = str(err.value)
    assert "HTTP 400" in message and "image too large" in message and "doc_id 3" in message
    assert "\n" not in message
    assert len(server.seen) == 1


def test_persistent_500_gives_up_after_the_retry_budget(serve) -> None:
    server = serve(lambda call, body: (500, {"error": {"message": "boom"}}, {}))
    adapter = load_adapter("openai:m", _options(server, extra={"max_retries": 2}))
    with pytest.raises(ServerRequestError, match="after 3 attempts .*HTTP 500: boom"):
        adapter.generate([GenerationRequest(0, "q")])
    assert len(server.seen) == 3


def test_timeouts_are_retried(serve) -> None:
    def stall_once(call: int, body: dict[str, Any]) -> Reply:
        if call == 0:
            time.sleep(1.0)
        return 200, completion("late"), {}

    server = serve(stall_once)
    adapter = load_adapter("openai:m", _options(server, timeout_s=0.3))
    assert adapter.generate([GenerationRequest(0, "q")]) == ["late"]
    assert len(server.seen) == 2


def test_unreachable_server_fails_after_bounded_retries() -> None:
    options = AdapterOptions(
        base_url="http://127.0.0.1:9/v1", extra={"max_retries": 1, "retry_backoff_s": 0.01}
    )
    with pytest.raises(ServerRequestError, match="after 2 attempts"):
        load_adapter("openai:m", options).generate([GenerationRequest(0, "q")])


def test_base_url_is_required() -> None:
    with pytest.raises(ValueError, match="--base-url"):
        load_adapter("openai:m", AdapterOptions())


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [(0, None, 1.0), (3, None, 8.0), (10, None, 30.0), (3, 2.0, 2.0), (0, 5.0, 1.0)],
)
def test_backoff_doubles_up_to_a_cap(attempt: int, retry_after: float | None, expected: float) -> None:
    assert RetryPolicy(backoff_s=1.0).delay(attempt, retry_after) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": {"message": "bad model"}}', "bad model"),
        (b'{"message": "flat"}', "flat"),
        (b'{"detail": "x"}', "{'detail': 'x'}"),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
    ],
)
def test_server_message_reads_openai_style_errors(body: bytes, expected: str) -> None:
    assert server_message(body) == expected


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="checks the message shown without vllm"
)
def test_vllm_adapter_without_vllm_points_to_the_server_route() -> None:
    with pytest.raises(RuntimeError, match="pip install vllm.*openai:<model> --base-url"):
        load_adapter("vllm:some/model")
