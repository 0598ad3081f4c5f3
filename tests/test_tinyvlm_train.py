"""Specification of staged training: schedule, frozen parts, checkpoints, resume, the entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import evalkit.tinyvlm.startup as startup_module
import evalkit.tinyvlm.stream as stream
from evalkit.tinyvlm.curves import read_rows
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.startup import REFERENT_DIM
from evalkit.tinyvlm.train import TrainConfig, lr_factor, set_trainable, train
from evalkit.tinyvlm.train_cli import main as train_main
from evalkit.tinyvlm.train_cli import parse_args

MICRO = {"vocab_size": 300, "image_size": 32, "vit_layers": 1, "vit_hidden": 32, "vit_heads": 2, "vit_mlp": 64,
         "lm_hidden": 32, "lm_layers": 1, "lm_heads": 2, "lm_kv_heads": 1, "lm_ffn": 64}  # fmt: skip
COLOURS = {"red": (220, 30, 30), "blue": (30, 80, 220)}


@dataclasses.dataclass(frozen=True)
class FakeDense:
    shape: np.ndarray
    color: np.ndarray
    size: np.ndarray


@dataclasses.dataclass(frozen=True)
class FakeExample:
    image: Image.Image
    turns: tuple[tuple[str, str], ...]
    dense: FakeDense | None


MIXES: list[dict[str, object]] = []  # the sft data-mix arguments each stream was opened with


def fake_examples(
    stage: str, seed: int, image_size: int, workers: int = 0, **mix: object
) -> Iterator[FakeExample]:
    """A red or blue square on white, asked about its colour (a stand-in for the synthetic suite)."""
    MIXES.append(mix)
    rng = np.random.default_rng(seed)
    while True:
        name = str(rng.choice(list(COLOURS)))
        pixels = np.full((image_size, image_size, 3), 255, dtype=np.uint8)
        ids = np.zeros((image_size, image_size), dtype=np.int64)
        x = int(rng.integers(0, image_size // 2))
        pixels[x : x + image_size // 2, x : x + image_size // 2] = COLOURS[name]
        ids[x : x + image_size // 2, x : x + image_size // 2] = 1 + list(COLOURS).index(name)
        dense = FakeDense(ids, ids, (ids > 0).astype(np.int64)) if stage == "vision" else None
        yield FakeExample(Image.fromarray(pixels), (("What colour is the square?", name),), dense)


@pytest.fixture
def fake_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "examples", fake_examples)
    monkeypatch.setattr(
        startup_module,
        "tokenizer_corpus",
        lambda n, seed: ["What colour is the square? red blue"] * 20,
    )
    monkeypatch.setattr(startup_module, "dense_head_spec", lambda: (("shape", 3), ("color", 3), ("size", 2)))


def micro_config(stage: str, out: Path, **kw: object) -> TrainConfig:
    base = {"steps": 3, "batch_size": 4, "warmup_steps": 1, "log_every": 1, "save_every": 100}
    return TrainConfig(stage=stage, out=out, model_overrides=dict(MICRO), **{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "expected"),
    [(0, 0.25), (3, 1.0), (4, 1.0), (52, 0.55), (100, 0.1)],
)
def test_lr_warms_up_linearly_then_decays_by_cosine(step: int, expected: float) -> None:
    assert lr_factor(step, total=100, warmup=4, min_ratio=0.1) == pytest.approx(expected, abs=1e-9)


def test_align_stage_trains_only_the_projector(fake_data: None, tmp_path: Path) -> None:
    train(micro_config("vision", tmp_path / "vision", steps=1))
    before = VisionPangu.from_pretrained(tmp_path / "vision").state_dict()
    train(micro_config("align", tmp_path / "align", init=tmp_path / "vision", lr=1e-2))
    after = VisionPangu.from_pretrained(tmp_path / "align").state_dict()
    changed = {name.split(".")[0] for name in before if not torch.equal(before[name], after[name])}
    assert changed == {"projector"}


@pytest.mark.parametrize(
    ("stage", "trainable"),
    [
        ("vision", {"vision", "dense"}),
        ("align", {"projector"}),
        ("sft", {"vision", "projector", "language"}),
    ],
)
def test_each_stage_unfreezes_exactly_its_modules(stage: str, trainable: set[str]) -> None:
    from evalkit.tinyvlm.config import preset

    model = VisionPangu(preset("tiny", **MICRO, dense_heads=(("shape", 3),)))
    set_trainable(model, stage)
    assert {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad} == trainable


def test_all_stages_chain_through_checkpoints_and_learn(fake_data: None, tmp_path: Path) -> None:
    train(micro_config("vision", tmp_path / "v", steps=2))
    train(micro_config("align", tmp_path / "a", init=tmp_path / "v", steps=2))
    out = train(micro_config("sft", tmp_path / "s", init=tmp_path / "a", steps=30, lr=1e-2, batch_size=8))
    rows = read_rows(out / "loss.csv")
    assert [r["step"] for r in rows] == list(range(1, 31))
    assert rows[-1]["loss"] < 0.5 * rows[0]["loss"]
    assert (out / "loss.png").stat().st_size > 0
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in out.iterdir()
    }


def test_resume_continues_from_the_last_checkpoint(fake_data: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(micro_config("vision", out, steps=4, save_every=2))
    train(micro_config("vision", out, steps=6, save_every=2, resume=True))
    assert [r["step"] for r in read_rows(out / "loss.csv")] == [1, 2, 3, 4, 5, 6]
    state = torch.load(out / "trainer_state.pt", weights_only=True)
    assert state["step"] == 6


def test_resume_before_any_checkpoint_starts_over_without_stale_log_rows(
    fake_data: None, tmp_path: Path
) -> None:
    """A run killed before its first save left log rows but no trainer state: --resume (as a
    recipe does for an unfinished stage) starts from step 0 and the log holds each step once."""
    out = tmp_path / "run"
    train(micro_config("vision", out, steps=3, save_every=100))
    (out / "trainer_state.pt").unlink()
    train(micro_config("vision", out, steps=3, save_every=100, resume=True))
    assert [r["step"] for r in read_rows(out / "loss.csv")] == [1, 2, 3]


def test_vision_stage_adds_the_dense_heads_an_older_checkpoint_lacks(
    fake_data: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup_module, "dense_head_spec", lambda: (("shape", 3), ("color", 3)))
    train(micro_config("vision", tmp_path / "old", steps=1))
    old = VisionPangu.from_pretrained(tmp_path / "old")
    monkeypatch.setattr(startup_module, "dense_head_spec", lambda: (("shape", 3), ("color", 3), ("size", 2)))
    train(micro_config("vision", tmp_path / "new", init=tmp_path / "old", steps=1, lr=0.0))
    new = VisionPangu.from_pretrained(tmp_path / "new")
    assert new.config.dense_heads == (("shape", 3), ("color", 3), ("size", 2))
    assert set(new.dense.heads) == {"shape", "color", "size"}
    assert torch.equal(new.dense.heads["shape"].weight, old.dense.heads["shape"].weight)  # kept, not re-drawn
    # the other stages keep the checkpoint's heads as they are
    train(micro_config("align", tmp_path / "align", init=tmp_path / "old", steps=1))
    assert VisionPangu.from_pretrained(tmp_path / "align").config.dense_heads == (("shape", 3), ("color", 3))


def test_cli_arguments_map_onto_the_train_config(tmp_path: Path) -> None:
    cfg = parse_args(["--stage", "sft", "--out", str(tmp_path), "--init", "ckpt", "--steps", "7", "--resume",
                      "--batch-size", "16", "--lr", "0.001"])  # fmt: skip
    assert (cfg.stage, cfg.steps, cfg.resume, cfg.batch_size, cfg.lr) == ("sft", 7, True, 16, 0.001)
    assert cfg.init == Path("ckpt") and cfg.preset == "tiny"
    with pytest.raises(ValueError, match=r"^evalkit train: argument --stage: invalid choice: 'pretrain'"):
        parse_args(["--stage", "pretrain", "--out", "x"])


def test_sft_data_mix_reaches_the_example_stream(fake_data: None, tmp_path: Path) -> None:
    MIXES.clear()
    train(micro_config("sft", tmp_path / "mix", tasks=("shapes_caption",), max_turns=1, choice_reply="text"))
    assert MIXES == [{"tasks": ("shapes_caption",), "max_turns": 1, "choice_reply": "text"}]
    MIXES.clear()
    train(micro_config("sft", tmp_path / "default"))
    assert MIXES == [{}]


def test_cli_data_mix_flags_are_parsed_and_only_for_sft(tmp_path: Path) -> None:
    cfg = parse_args(["--stage", "sft", "--out", str(tmp_path), "--tasks", "shapes_caption, shapes_vqa",
                      "--max-turns", "6", "--choice-reply", "text", "--box-reply", "ref"])  # fmt: skip
    assert cfg.tasks == ("shapes_caption", "shapes_vqa") and cfg.max_turns == 6 and cfg.choice_reply == "text"
    assert cfg.data_mix() == {"tasks": ("shapes_caption", "shapes_vqa"), "max_turns": 6, "choice_reply": "text",
                              "box_reply": "ref"}  # fmt: skip
    with pytest.raises(ValueError, match="use them with --stage sft"):
        parse_args(["--stage", "align", "--out", str(tmp_path), "--tasks", "shapes_caption"])
    with pytest.raises(ValueError, match="use them with --stage sft"):
        parse_args(["--stage", "align", "--out", str(tmp_path), "--choice-reply", "text"])
    with pytest.raises(ValueError, match="use them with --stage sft"):
        parse_args(["--stage", "vision", "--out", str(tmp_path), "--box-reply", "ref"])
    with pytest.raises(ValueError, match="argument --choice-reply: invalid choice"):
        parse_args(["--stage", "sft", "--out", str(tmp_path), "--choice-reply", "word"])
    with pytest.raises(ValueError, match="argument --box-reply: invalid choice"):
        parse_args(["--stage", "sft", "--out", str(tmp_path), "--box-reply", "xyxy"])
    assert (
        parse_args(["--stage", "sft", "--out", str(tmp_path), "--box-start-weight", "4"]).box_start_weight
        == 4.0
    )
    for stage, weight in (("align", "4"), ("sft", "0")):
        with pytest.raises(ValueError, match="--box-start-weight is a positive weight"):
            parse_args(["--stage", stage, "--out", str(tmp_path), "--box-start-weight", weight])
    vision = parse_args(["--stage", "vision", "--out", str(tmp_path), "--label-prob", "0.9"])
    assert vision.label_prob == 0.9 and vision.data_mix() == {"label_prob": 0.9}
    with pytest.raises(ValueError, match="use it with --stage vision"):
        parse_args(["--stage", "sft", "--out", str(tmp_path), "--label-prob", "0.9"])


def test_cli_model_overrides_are_parsed_as_json_values(tmp_path: Path) -> None:
    cfg = parse_args(
        ["--stage", "vision", "--out", str(tmp_path), "--set", "lm_layers=2", "--set", "rope_theta=5e5"]
    )
    assert cfg.model_overrides == {"lm_layers": 2, "rope_theta": 500000.0}


def test_entry_point_retrains_every_stage_on_the_synthetic_generator(tmp_path: Path) -> None:
    """The documented `evalkit train` commands, shortened to 2 steps and a micro model."""
    pytest.importorskip("evalkit.synthetic.training")
    micro = [f"--set={k}={v}" for k, v in MICRO.items()]
    common = [
        "--preset",
        "tiny",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--log-every",
        "1",
        "--tokenizer-texts",
        "100",
    ]
    assert train_main(["--stage", "vision", "--out", str(tmp_path / "v"), *common, *micro]) == 0
    assert (
        train_main(["--stage", "align", "--out", str(tmp_path / "a"), "--init", str(tmp_path / "v"), *common])
        == 0
    )
    assert (
        train_main(["--stage", "sft", "--out", str(tmp_path / "s"), "--init", str(tmp_path / "a"), *common])
        == 0
    )
    from model_adapters.base import AdapterOptions, load_adapter

    adapter = load_adapter(f"visionpangu:{tmp_path / 's'}", AdapterOptions(device="cpu"))
    from evalkit.synthetic import generate_rows
    from evalkit.types import GenerationRequest, GenerationSettings

    row = generate_rows("shapes_pope", n=1, seed=0)[0]
    reply = adapter.generate(
        [GenerationRequest(0, row["question"], (row["image"],), GenerationSettings(max_new_tokens=3))]
    )
    assert len(reply) == 1 and isinstance(reply[0], str)


def test_data_workers_render_the_same_stream_and_stop_with_training(tmp_path: Path) -> None:
    """`--data-workers` moves the rendering into worker processes without changing the data:
    the same loss curve as rendering in the trainer, and no worker left once training returns."""
    import multiprocessing

    curves = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        train(micro_config("vision", out, data_workers=workers, steps=2, batch_size=40))
        curves.append([row["loss"] for row in read_rows(out / "loss.csv")])
        assert multiprocessing.active_children() == []
    assert curves[0] == curves[1]
    with pytest.raises(ValueError, match="--data-workers"):
        micro_config("vision", tmp_path, data_workers=-1)
    assert parse_args(["--stage", "sft", "--out", "x", "--data-workers", "3"]).data_workers == 3


def test_referent_loss_adds_its_head_and_is_only_for_sft(tmp_path: Path) -> None:
    cfg = parse_args(["--stage", "sft", "--out", str(tmp_path), "--referent-loss", "0.3"])
    assert cfg.referent_loss == 0.3
    for bad in (["--stage", "align", "--referent-loss", "0.3"], ["--stage", "sft", "--referent-loss", "-1"]):
        with pytest.raises(ValueError, match="--referent-loss"):
            parse_args([*bad, "--out", str(tmp_path)])
    # on the real generator: box_drill turns name objects; an --init checkpoint without the head gets one
    train(micro_config("vision", tmp_path / "v", steps=1))
    plain = micro_config("sft", tmp_path / "plain", init=tmp_path / "v", steps=1, tasks=("box_drill",),
                         tokenizer_texts=100)  # fmt: skip
    train(plain)
    assert VisionPangu.from_pretrained(tmp_path / "plain").config.referent_dim == 0
    referent = dataclasses.replace(plain, out=tmp_path / "ref", init=tmp_path / "plain", referent_loss=0.5)
    train(referent)
    model = VisionPangu.from_pretrained(tmp_path / "ref")
    assert model.config.referent_dim == REFERENT_DIM and hasattr(model, "referent")
    assert (
        read_rows(tmp_path / "ref" / "loss.csv")[0]["loss"]
        > read_rows(tmp_path / "plain" / "loss.csv")[0]["loss"]
    )


@pytest.mark.slow
def test_compile_trains_the_same_model(fake_data: None, tmp_path: Path) -> None:
    """`--compile` compiles every vision block and decoder layer and changes nothing but float
    rounding: the same loss curve as eager training from the same checkpoint."""
    from evalkit.tinyvlm.train import compile_blocks

    train(micro_config("align", tmp_path / "a", steps=1))
    curves = []
    for compiled in (False, True):
        out = tmp_path / f"c{int(compiled)}"
        train(micro_config("sft", out, init=tmp_path / "a", compile=compiled, batch_size=6))
        curves.append([row["loss"] for row in read_rows(out / "loss.csv")])
    assert np.allclose(curves[0], curves[1], rtol=1e-4, atol=1e-5)
    model = VisionPangu.from_pretrained(tmp_path / "c1")
    assert compile_blocks(model) == MICRO["vit_layers"] + MICRO["lm_layers"]
    assert parse_args(["--stage", "sft", "--out", "x", "--compile"]).compile is True
