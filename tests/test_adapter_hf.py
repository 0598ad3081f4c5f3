"""Specification of the ``hf:`` adapter, on tiny random-weight models built offline per family."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers.utils import is_torchvision_available

from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, ModelAdapter, load_adapter
from model_adapters.hf import ModelUnavailableError, resolve_device, resolve_dtype, truncate_at_stop
from model_adapters.hf_families import FAMILIES, loc_tokens_to_box
from tests import hf_tiny

NEEDS_TORCHVISION = pytest.mark.skipif(
    not is_torchvision_available(),
    reason="transformers builds this family's processor (it carries a video processor) only with torchvision",
)
FAMILY_PARAMS = [
    pytest.param(f, marks=NEEDS_TORCHVISION) if f in hf_tiny.TORCHVISION_FAMILIES else f
    for f in hf_tiny.BUILDERS
]
CPU_FP32 = AdapterOptions(device="cpu", dtype="float32")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models are dominated by per-op overhead; extra threads only contend on shared CPUs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build each family's tiny checkpoint once per module, on first use."""
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            built[family] = hf_tiny.BUILDERS[family](tmp_path_factory.mktemp(family))
        return built[family]

    return get


@pytest.fixture(scope="module")
def adapter(tiny_model: Callable[[str], Path]) -> Callable[[str], ModelAdapter]:
    loaded: dict[str, ModelAdapter] = {}

    def get(family: str) -> ModelAdapter:
        if family not in loaded:
            loaded[family] = load_adapter(f"hf:{tiny_model(family)}", CPU_FP32)
        return loaded[family]

    return get


def _requests(n: int, max_new_tokens: int = 6, stop: tuple[str, ...] = ()) -> list[GenerationRequest]:
    """Prompts of different lengths with images of different sizes and colours (so padding varies)."""
    rng = random.Random(0)
    requests = []
    for i in range(n):
        size = (rng.randint(20, 90), rng.randint(20, 90))
        image = Image.new("RGB", size, tuple(rng.randint(0, 255) for _ in range(3)))
        prompt = "What is in the picture?" + " Look closely." * rng.randint(0, 6)
        requests.append(GenerationRequest(i, prompt, (image,), GenerationSettings(max_new_tokens, 0.0, stop)))
    return requests


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_hf_adapter_answers_each_request_through_auto_classes(family: str, adapter) -> None:
    model = adapter(family)
    replies = model.generate(_requests(3))
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    info = model.describe()
    assert info["model_type"] == family
    assert info["dtype"] == "float32" and info["device"] == "cpu"
    assert model.box_format == FAMILIES[family].box_format


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_greedy_replies_are_identical_at_batch_sizes_1_3_and_8(family: str, adapter) -> None:
    model = adapter(family)
    requests = _requests(8)
    one = [model.generate([r])[0] for r in requests]
    three = [reply for start in range(0, 8, 3) for reply in model.generate(requests[start : start + 3])]
    eight = model.generate(requests)
    assert len(set(one)) > 3, "replies must depend on the input for this test to mean anything"
    assert three == one
    assert eight == one


def test_replies_come_back_in_request_order(adapter) -> None:
    model = adapter("llava")
    requests = _requests(5)
    assert model.generate(requests[::-1]) == model.generate(requests)[::-1]


def test_text_only_requests_mix_with_image_requests(adapter) -> None:
    model = adapter("llava")
    with_images = _requests(3)
    text_only = [GenerationRequest(10 + i, r.prompt + " No image.") for i, r in enumerate(with_images)]
    mixed = [with_images[0], text_only[0], with_images[1], text_only[1], with_images[2], text_only[2]]
    assert model.generate(mixed) == [model.generate([r])[0] for r in mixed]


def test_each_request_keeps_its_own_token_budget_in_a_mixed_batch(adapter) -> None:
    model = adapter("llava")
    short, long = _requests(2, max_new_tokens=8)
    short = GenerationRequest(short.doc_id, short.prompt, short.images, GenerationSettings(max_new_tokens=2))
    alone = model.generate([short])[0]
    together = model.generate([short, long])
    assert together == [alone, model.generate([long])[0]]
    assert len(alone.encode()) <= len(together[1].encode())


def test_stop_strings_cut_the_reply_before_the_stop(adapter) -> None:
    model = adapter("llava")
    request = _requests(1, max_new_tokens=12)[0]
    full = model.generate([request])[0]
    stop = next(ch for ch in full[1:] if ch.isprintable() and ch != "\ufffd" and not ch.isspace())
    stopped = GenerationRequest(0, request.prompt, request.images, GenerationSettings(12, 0.0, (stop,)))
    assert model.generate([stopped]) == [full[: full.index(stop)].strip()]


def test_sampling_is_reproducible_under_the_same_seed(tiny_model) -> None:
    path = tiny_model("llava")
    requests = [
        GenerationRequest(r.doc_id, r.prompt, r.images, GenerationSettings(8, 1.0)) for r in _requests(3)
    ]
    first = load_adapter(f"hf:{path}", CPU_FP32).generate(requests)
    second = load_adapter(f"hf:{path}", CPU_FP32).generate(requests)
    assert first == second


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("llava", "USER: <image>\nWhat is this? ASSISTANT:"),
        ("idefics3", "<|begin_of_text|>User:<image>What is this?<end_of_utterance>\nAssistant:"),
        (
            "gemma3",
            "<bos><start_of_turn>user\n<start_of_image>What is this?<end_of_turn>\n<start_of_turn>model\n",
        ),
        (
            "paligemma",
            "<image>What is this?",
        ),  # no chat template: the processor adds <bos> and "\n"
    ],
)
def test_prompt_uses_the_models_own_chat_template(family: str, expected: str, adapter) -> None:
    request = GenerationRequest(0, "What is this?", (Image.new("RGB", (8, 8)),))
    assert adapter(family).build_prompt(request) == expected


def test_prompt_length_grows_with_text_and_images(adapter) -> None:
    model = adapter("llava")
    image = Image.new("RGB", (8, 8))
    short = model.prompt_length(GenerationRequest(0, "Is it red?"))
    long = model.prompt_length(GenerationRequest(0, "Is it red? Answer yes or no."))
    with_image = model.prompt_length(GenerationRequest(0, "Is it red?", (image,)))
    assert short < long and short < with_image


def test_uncached_hub_model_fails_fast_in_one_line_when_offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as err:
        load_adapter("hf:evalkit-tests/no-such-model-4f1c")
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "\n" not in message
    assert "evalkit-tests/no-such-model-4f1c" in message and "local directory" in message


def test_missing_local_directory_is_named(tmp_path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        load_adapter(f"hf:{tmp_path / 'nowhere'}")


@pytest.mark.skipif(is_torchvision_available(), reason="checks the error shown when torchvision is missing")
def test_family_needing_torchvision_says_so_in_one_line(tmp_path) -> None:
    path = hf_tiny.save_processorless_qwen2_vl(tmp_path)
    with pytest.raises(ModelUnavailableError, match="needs torchvision: pip install torchvision"):
        load_adapter(f"hf:{path}", CPU_FP32)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<loc0000><loc0000><loc1023><loc1023>", "<box>(0,0),(999,999)</box>"),
        ("cat <loc0256><loc0512><loc0768><loc1000> cat", "cat <box>(500,250),(977,750)</box> cat"),
        ("<loc0100><loc0200>", "<loc0100><loc0200>"),  # not a box: left alone
        ("no box here", "no box here"),
    ],
)
def test_paligemma_loc_tokens_become_x_first_boxes_on_the_1000_grid(reply: str, expected: str) -> None:
    assert loc_tokens_to_box(reply) == expected


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("yes. It is", (".",), "yes"),
        ("A\nB", ("\n", "A"), ""),
        ("no stop", ("###",), "no stop"),
        ("kept", (), "kept"),
        ("x", ("",), "x"),
    ],
)
def test_truncate_at_stop_cuts_at_the_earliest_stop(text: str, stop: tuple[str, ...], expected: str) -> None:
    assert truncate_at_stop(text, stop) == expected


@pytest.mark.parametrize(
    ("dtype", "device", "expected"),
    [
        ("auto", "cpu", torch.float32),
        ("auto", "cuda:1", torch.bfloat16),
        ("float16", "cpu", torch.float16),
        ("bfloat16", "cuda", torch.bfloat16),
    ],
)
def test_dtype_auto_is_bf16_on_gpu_and_fp32_on_cpu(dtype: str, device: str, expected: torch.dtype) -> None:
    assert resolve_dtype(dtype, device) == expected


def test_unknown_dtype_and_missing_cuda_are_refused() -> None:
    with pytest.raises(ValueError, match="float32"):
        resolve_dtype("fp8", "cpu")
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto") == "cpu"
        with pytest.raises(ValueError, match="--device cpu"):
            resolve_device("cuda:0")
