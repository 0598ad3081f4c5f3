"""Pretrained parts (`evalkit train --vision SRC --lm SRC`): tiny random towers and LMs of each
supported family, saved like hub checkpoints, assembled, trained (align, then sft on LLaVA-format
data), saved, reloaded through `--model visionpangu:<dir>`, and decoded identically at any batch size."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from evalkit.tinyvlm.config import preset
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.pretrained import PretrainedSourceError, assemble, common_prefix
from evalkit.tinyvlm.tokenizer import IMAGE, SPECIAL_TOKENS, VLMTokenizer
from evalkit.tinyvlm.train import TrainConfig, train
from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, load_adapter
from tests import hf_tiny_parts as parts
from tests.test_tinyvlm_llava_data import write_llava

PAIRS = [("clip", "llama"), ("siglip", "qwen2"), ("internvit", "pangu")]


@pytest.fixture(scope="module")
def part(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each tiny part built once per module, on first use."""
    built: dict[str, Path] = {}
    builders = {**parts.TOWERS, **parts.LMS}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = builders[name](tmp_path_factory.mktemp(name))
        return built[name]

    return get


@pytest.fixture(scope="module")
def llava(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("llava")
    return f"kind=llava,path={write_llava(folder)},images={folder}"


@pytest.mark.parametrize(
    ("wanted", "available", "expected"),
    [
        (["a.w", "b.w"], ["a.w", "b.w"], ""),  # a tower saved alone
        (["a.w", "b.w"], ["vision_model.a.w", "vision_model.b.w", "text_model.a.w"], "vision_model."),
        (
            ["a.w", "b.w"],
            ["model.vision_tower.a.w", "model.vision_tower.b.w", "x.a.w"],
            "model.vision_tower.",
        ),
        (["a.w", "b.w"], ["p.a.w", "q.b.w"], None),  # no one prefix holds every tensor
        (["a.w"], ["a.w", "x.a.w"], ""),  # the shortest complete prefix wins
    ],
)
def test_common_prefix_finds_where_a_sub_model_sits(
    wanted: list[str], available: list[str], expected: str
) -> None:
    assert common_prefix(wanted, available) == expected


@pytest.mark.parametrize(
    ("tower", "lm", "prefix"),
    [("clip", "llama", 1), ("siglip", "qwen2", 0), ("internvit", "pangu", 1), ("whole_clip", "llama", 1)],
)
def test_assembly_takes_sizes_weights_and_normalisation_from_the_parts(
    tower: str, lm: str, prefix: int, part: Callable[[str], Path]
) -> None:
    model, tokenizer = assemble(str(part(tower)), str(part(lm)), preset("tiny"))
    cfg = model.config
    assert (cfg.image_size, cfg.patch_size, cfg.vit_hidden, cfg.num_visual_tokens) == (32, 8, 32, 4)
    assert (cfg.lm_hidden, cfg.lm_layers, cfg.vision_prefix_tokens) == (48, 2, prefix)
    mean = {"siglip": (0.5,) * 3, "internvit": (0.485, 0.456, 0.406)}.get(tower, tuple(parts.CLIP_MEAN))
    assert cfg.image_mean == pytest.approx(mean)
    # our nine specials appended after the byte tokenizer's 257 tokens; plain text keeps its ids
    assert tokenizer.added_ids == tuple(range(257, 266)) and tokenizer.image_id == cfg.image_token_id
    original = Tokenizer.from_file(str(part(lm) / "tokenizer.json"))
    assert tokenizer.encode("a red 12") == original.encode("a red 12", add_special_tokens=False).ids
    table = model.language.get_input_embeddings().weight
    assert torch.allclose(table[257], table[:257].mean(0))  # new rows start at the pretrained mean
    saved = load_file(str(part(tower) / "model.safetensors"))
    for key, tensor in model.vision.model.state_dict().items():  # the pretrained weights, not a fresh init
        assert any(name.endswith(key) and torch.equal(tensor, saved[name]) for name in saved), key
    assert model.visual_embeddings(torch.zeros(2, 3, 32, 32)).shape == (2, 4, 48)


@pytest.mark.slow
@pytest.mark.parametrize(("tower", "lm"), PAIRS)
def test_align_then_sft_on_llava_data_saves_a_model_that_decodes_alike_at_any_batch_size(
    tower: str, lm: str, part: Callable[[str], Path], llava: str, tmp_path: Path
) -> None:
    common = {
        "steps": 2,
        "batch_size": 2,
        "warmup_steps": 1,
        "log_every": 1,
        "save_every": 100,
        "max_len": 96,
    }
    align = train(TrainConfig(stage="align", out=tmp_path / "align", vision=str(part(tower)), lm=str(part(lm)),
                              data=(llava,), **common))  # type: ignore[arg-type]  # fmt: skip
    aligned = VisionPangu.from_pretrained(align)
    fresh, _ = assemble(str(part(tower)), str(part(lm)), preset("tiny"))
    changed = {n for n, p in aligned.state_dict().items() if not torch.equal(p, fresh.state_dict()[n])}
    assert changed and all(
        name.startswith("projector.") for name in changed
    )  # align trains the projector only
    sft = train(TrainConfig(stage="sft", out=tmp_path / "sft", init=align, data=(llava, "kind=shapes"),
                            **common))  # type: ignore[arg-type]  # fmt: skip
    assert (sft / "data_stats.jsonl").is_file()
    adapter = load_adapter(f"visionpangu:{sft}", AdapterOptions(device="cpu", dtype="float32"))
    settings = GenerationSettings(max_new_tokens=6)
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (250, 250, 0), (10, 10, 10)]
    requests = [GenerationRequest(doc_id=i, prompt="What colour?" + " Look closely." * i, images=(Image.new("RGB", (40, 30), c),),
                                  settings=settings) for i, c in enumerate(colours)]  # fmt: skip
    adapter.max_batch_size = 1
    one = adapter.generate(requests)
    adapter.max_batch_size = 4
    assert adapter.generate(requests) == one
    assert adapter.describe()["parameters"] == VisionPangu.from_pretrained(sft).num_parameters()


def test_a_saved_checkpoint_rebuilds_its_parts_offline(part: Callable[[str], Path], tmp_path: Path) -> None:
    model, tokenizer = assemble(str(part("siglip")), str(part("qwen2")), preset("tiny"))
    model.save_pretrained(tmp_path / "ckpt", tokenizer)
    reloaded = VisionPangu.from_pretrained(tmp_path / "ckpt")
    assert reloaded.config == model.config
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name
    again = VLMTokenizer.from_pretrained(tmp_path / "ckpt")
    assert [again.token_id(t) for t in SPECIAL_TOKENS] == [tokenizer.token_id(t) for t in SPECIAL_TOKENS]
    assert again.encode(f"x{IMAGE}y") == tokenizer.encode(f"x{IMAGE}y")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vision": "v"}, "--vision and --lm go together"),
        ({"vision": "v", "lm": "l", "init": Path("c")}, "pass one of them"),
        ({"vision": "v", "lm": "l", "stage": "vision"}, "start at --stage align"),
        ({"data": ("kind=llava",)}, "path"),
        ({"data": ("kind=shapes",), "stage": "vision"}, "align and sft stages"),
    ],
)
def test_bad_combinations_fail_before_any_model_is_built(kwargs: dict, message: str, tmp_path: Path) -> None:
    values = {"stage": "align", "out": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**values)


def test_unusable_sources_name_themselves(part: Callable[[str], Path], tmp_path: Path) -> None:
    with pytest.raises(PretrainedSourceError, match="is not a folder"):
        assemble(str(tmp_path / "nowhere"), str(part("llama")), preset("tiny"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in part("clip").iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    weights = load_file(str(broken / "model.safetensors"))
    missing = sorted(weights)[0]
    del weights[missing]
    save_file(weights, str(broken / "model.safetensors"))
    with pytest.raises(PretrainedSourceError, match="no weights for"):
        assemble(str(broken), str(part("llama")), preset("tiny"))


def test_align_on_text_only_conversations_trains_nothing_and_does_not_fail(
    part: Callable[[str], Path], tmp_path: Path
) -> None:
    """Only the projector trains at align; a batch without images has no gradient to give it."""
    data = tmp_path / "text.json"
    chat = [{"from": "human", "value": "What is 2 + 2?"}, {"from": "gpt", "value": "4"}]
    data.write_text(json.dumps([{"id": str(i), "conversations": chat} for i in range(4)]))
    out = train(TrainConfig(stage="align", out=tmp_path / "a", vision=str(part("clip")), lm=str(part("llama")),
                            data=(f"kind=llava,path={data}",), steps=2, batch_size=2, warmup_steps=1))  # fmt: skip
    torch.manual_seed(0)  # the trainer's seed: the same fresh projector
    fresh, _ = assemble(str(part("clip")), str(part("llama")), preset("tiny"))
    trained = VisionPangu.from_pretrained(out).state_dict()
    assert all(torch.equal(tensor, trained[name]) for name, tensor in fresh.state_dict().items())
