"""Specification of the ``visionpangu`` adapter over a saved checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from evalkit.tinyvlm.config import preset
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.tokenizer import train_tokenizer
from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, load_adapter
from model_adapters.visionpangu import SHIPPED_CHECKPOINT, VisionPanguAdapter, cut_at_stop

MICRO = {"image_size": 32, "vit_layers": 1, "vit_hidden": 32, "vit_heads": 2, "vit_mlp": 64, "lm_hidden": 32,
         "lm_layers": 1, "lm_heads": 2, "lm_kv_heads": 1, "lm_ffn": 64}  # fmt: skip


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = train_tokenizer(["Is there a red circle? yes no"] * 20, vocab_size=280)
    torch.manual_seed(0)
    model = VisionPangu(preset("tiny", vocab_size=280, **MICRO))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    path = tmp_path_factory.mktemp("ckpt")
    model.save_pretrained(path, tokenizer)
    return path


def requests(n: int, max_new_tokens: int = 4) -> list[GenerationRequest]:
    colours = [(255, 0, 0), (0, 0, 255), (0, 200, 0)]
    return [
        GenerationRequest(
            i,
            f"Is there a red circle? {i}",
            (Image.new("RGB", (40, 40), colours[i % 3]),),
            GenerationSettings(max_new_tokens=max_new_tokens),
        )  # fmt: skip
        for i in range(n)
    ]


def test_adapter_answers_each_request_in_order_whatever_the_batching(checkpoint: Path) -> None:
    adapter = load_adapter(f"visionpangu:{checkpoint}", AdapterOptions(device="cpu"))
    reqs = requests(5)
    together = adapter.generate(reqs)
    assert len(together) == 5 and all(isinstance(r, str) for r in together)
    assert [adapter.generate([r])[0] for r in reqs] == together


def test_adapter_declares_the_qwen_box_convention_and_describes_itself(checkpoint: Path) -> None:
    adapter = load_adapter(f"visionpangu:{checkpoint}", AdapterOptions(device="cpu"))
    assert adapter.box_format == "qwen_0_1000"
    info = adapter.describe()
    assert info["id"] == "visionpangu" and info["path"] == str(checkpoint)
    assert (info["dtype"], info["device"]) == ("float32", "cpu")
    assert info["parameters"] > 0


def test_requests_with_different_settings_and_no_image_are_answered(checkpoint: Path) -> None:
    adapter = load_adapter(f"visionpangu:{checkpoint}", AdapterOptions(device="cpu"))
    mixed = [
        *requests(2, 3),
        GenerationRequest(9, "no image here", (), GenerationSettings(max_new_tokens=1)),
    ]
    assert len(adapter.generate(mixed)) == 3


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [("yes. And more", (".",), "yes"), ("A\nB", ("\n", "A"), ""), ("plain", (), "plain")],
)
def test_replies_are_cut_at_the_earliest_stop_string(
    text: str, stops: tuple[str, ...], expected: str
) -> None:
    assert cut_at_stop(text, stops) == expected


def test_missing_checkpoint_explains_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="evalkit train"):
        VisionPanguAdapter(tmp_path, AdapterOptions())


def test_plain_name_means_the_shipped_checkpoint() -> None:
    assert SHIPPED_CHECKPOINT.parts[-2:] == ("checkpoints", "visionpangu-tiny")
