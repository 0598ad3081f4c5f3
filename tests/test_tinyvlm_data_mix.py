"""Specification of ``--data`` sources, the weighted mixture and the batches it feeds the trainer."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.data_mix import (
    DataSource,
    append_data_stats,
    fitted_examples,
    mixed_examples,
    parse_data_source,
    parse_data_sources,
    real_stage_batches,
)
from evalkit.tinyvlm.llava_data import DataStats, RealExample
from evalkit.tinyvlm.model import IGNORE_INDEX, VisionPangu
from evalkit.tinyvlm.tokenizer import VLMTokenizer
from tests.test_tinyvlm_llava_data import CHECKPOINT, write_docci, write_llava


@pytest.fixture(scope="module")
def tokenizer() -> VLMTokenizer:
    return VLMTokenizer.from_pretrained(CHECKPOINT)


@pytest.fixture(scope="module")
def cfg() -> VLMConfig:
    return VLMConfig.load(CHECKPOINT)


@pytest.fixture()
def data(tmp_path: Path) -> tuple[Path, Path]:
    """(LLaVA file, DOCCI folder) from the reader tests' fixtures."""
    return write_llava(tmp_path / "llava"), write_docci(tmp_path / "docci")


def test_data_strings_parse_into_sources(data: tuple[Path, Path]) -> None:
    llava, docci = data
    assert parse_data_source(f"kind=llava,path={llava},weight=0.7") == DataSource(
        "llava", 0.7, llava, images=llava.parent
    )
    images = llava.parent / "img"
    assert parse_data_source(f"kind=llava, path={llava}, images={images}").images == images
    assert parse_data_source(f"kind=docci,path={docci},weight=0.2") == DataSource("docci", 0.2, docci)
    assert parse_data_source("kind=shapes,weight=0.1") == DataSource("shapes", 0.1)
    assert parse_data_source("kind=shapes").weight == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind=coco,path=x", "kind must be one of"),
        ("path=x", "kind must be one of"),
        ("kind=shapes,path=x", r"unknown key\(s\) \['path'\] for kind=shapes"),
        ("kind=llava,weight=1", "needs path=PATH"),
        ("kind=llava,path=/no/such/file.json", "does not exist"),
        ("kind=shapes,weight=0", "weight must be a positive number"),
        ("kind=shapes,weight=-1", "weight must be a positive number"),
        ("kind=shapes,weight=lots", "weight must be a positive number"),
        ("kind=shapes,weight", "expected KEY=VALUE"),
        ("kind=shapes,kind=llava", "'kind' is given twice"),
    ],
)
def test_bad_data_strings_raise_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_data_source(text)
    assert "\n" not in str(err.value) and text in str(err.value)


def test_docci_split_is_checked_and_at_least_one_source_is_needed(data: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        parse_data_source(f"kind=docci,path={data[1]},split=val")
    with pytest.raises(ValueError, match="at least one --data"):
        parse_data_sources([])


def draws(sources: tuple[DataSource, ...], seed: int, n: int, stats: DataStats) -> list[tuple[str, str]]:
    stream = mixed_examples(sources, stage="sft", seed=seed, image_size=32, stats=stats)
    return [(ex.task, ex.id) for ex in itertools.islice(stream, n)]


def test_the_mixture_is_deterministic_and_its_shares_follow_the_weights(data: tuple[Path, Path]) -> None:
    llava, docci = data
    sources = parse_data_sources([f"kind=llava,path={llava},weight=3", f"kind=docci,path={docci},weight=1"])
    stats = DataStats()
    first = draws(sources, 5, 800, stats)
    assert first == draws(sources, 5, 800, DataStats()) and first != draws(sources, 6, 800, DataStats())
    n_llava = sum(task == "llava" for task, _ in first)
    assert abs(n_llava / len(first) - 0.75) < 0.05  # 3.3 standard deviations at n = 800
    assert stats.drawn == {"llava": n_llava, "docci": len(first) - n_llava}
    assert {i for task, i in first if task == "docci"} == {"train_00001", "train_00002"}  # never test rows


def test_a_mixture_with_shapes_reuses_the_synthetic_stream(data: tuple[Path, Path]) -> None:
    sources = parse_data_sources([f"kind=llava,path={data[0]}", "kind=shapes"])
    drawn = list(itertools.islice(mixed_examples(sources, stage="align", seed=0, image_size=32,
                                                 stats=DataStats()), 12))  # fmt: skip
    synthetic = [ex for ex in drawn if not isinstance(ex, RealExample)]
    assert synthetic and all(ex.image.size == (32, 32) and len(ex.turns) == 1 for ex in synthetic)


def test_encoding_counts_text_only_truncated_and_too_long_examples(tokenizer: VLMTokenizer) -> None:
    long_reply = "A red square. " * 40
    stream = iter([RealExample(None, (("Hi", "Hello"),), "llava", "t"),
                   RealExample(None, (("Q", "A"), ("Q2", long_reply)), "llava", "cut"),
                   RealExample(None, (("Describe. " * 40, "x"),), "llava", "long")])  # fmt: skip
    stats = DataStats()
    kept = [ex.id for ex, _ in fitted_examples(stream, tokenizer, 36, 40, stats)]
    assert kept == ["t", "cut"]
    assert (stats.used, stats.text_only, stats.truncated, stats.skipped_too_long) == (2, 2, 1, 1)
    assert stats.first_skipped["skipped_too_long"] == ["llava:long"]


def test_mixed_batches_carry_pixels_only_for_rows_with_an_image(
    data: tuple[Path, Path], tokenizer: VLMTokenizer, cfg: VLMConfig, tmp_path: Path
) -> None:
    sources = parse_data_sources([f"kind=llava,path={data[0]}", f"kind=docci,path={data[1]}"])
    batches = real_stage_batches(sources, "sft", cfg, tokenizer, 6, seed=1, max_len=200)
    batch = next(batches)
    assert batch.input_ids.shape[0] == 6 and batch.pixel_values is not None
    n_images = batch.pixel_values.shape[0]
    assert int((batch.input_ids == tokenizer.image_id).sum()) == n_images * cfg.num_visual_tokens
    rows_with_images = int((batch.input_ids == tokenizer.image_id).any(dim=1).sum())
    assert 0 < n_images == rows_with_images < 6  # the text-only record is among 6 draws at seed 1
    assert batch.labels is not None and bool(
        (batch.labels[batch.input_ids == tokenizer.image_id] == IGNORE_INDEX).all()
    )
    model = VisionPangu.from_pretrained(CHECKPOINT)
    with torch.no_grad():
        loss = model(batch.input_ids, batch.attention_mask, batch.pixel_values, batch.labels).loss
    assert loss is not None and torch.isfinite(loss)
    assert batches.stats.used == 6 and batches.stats.records_read == 9 + 2
    append_data_stats(tmp_path / "data_stats.jsonl", 10, batches.stats)
    logged = json.loads((tmp_path / "data_stats.jsonl").read_text())
    assert logged["step"] == 10 and logged["used"] == 6 and logged["skipped_malformed"] == 2
    batches.close()


def test_real_data_feeds_the_text_stages_only(
    data: tuple[Path, Path], tokenizer: VLMTokenizer, cfg: VLMConfig
) -> None:
    with pytest.raises(ValueError, match="stages, not 'vision'"):
        real_stage_batches(
            parse_data_sources(["kind=shapes"]), "vision", cfg, tokenizer, 2, seed=0, max_len=64
        )
