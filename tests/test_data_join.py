"""``dataset.join``: columns from a second config of the same dataset (GQA's questions + images)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import official_data_vqa_family as vf
import pytest

from evalkit.data import DatasetUnavailableError, load_task_dataset
from evalkit.data_join import JoinKeyError
from evalkit.registry import TaskSpecError, default_registry, parse_task_file


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")


def _rows(data_dir: Path) -> tuple[Any, list[dict[str, Any]]]:
    loaded = load_task_dataset(default_registry().get("gqa"), data_dir=data_dir)
    return loaded, [row for _, row in loaded.iter_rows(range(len(loaded)))]


def test_join_adds_the_image_of_each_questions_image_id(tmp_path: Path) -> None:
    vf.build_gqa(tmp_path / "data")
    loaded, rows = _rows(tmp_path / "data")
    assert [row["id"] for row in rows] == [r[0] for r in vf.GQA_ROWS]  # only the balanced testdev config
    assert all(row["image"]["bytes"] for row in rows) and "key" not in rows[0]
    by_image = {row["imageId"]: row["image"]["bytes"] for row in rows}
    assert len(set(by_image.values())) == 3  # three distinct images, each question its own imageId's
    assert loaded.info["join"]["config"] == "testdev_balanced_images" and loaded.info["join"]["files"] == 1
    assert list(loaded.iter_rows([3, 0]))[0][1]["id"] == "204"  # positions keep their order


def test_a_question_whose_image_is_missing_fails_early_naming_it(tmp_path: Path) -> None:
    folder = vf.build_gqa(tmp_path / "data")
    rows = vf.gqa_instruction_rows((("301", "n404", "yes", "verify", "attr", True),))
    vf.write_hub_parquet(folder / "testdev_balanced_instructions" / "testdev-00000-of-00001.parquet",
                         vf.gqa_instruction_rows() + rows, vf.GQA_INSTRUCTION_FEATURES)  # fmt: skip
    with pytest.raises(JoinKeyError, match=r"1 'imageId' value\(s\) have no 'id' .*'n404'"):
        _rows(tmp_path / "data")


def test_a_data_dir_without_the_joined_config_folder_says_where_to_put_it(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "GQA"
    vf.write_hub_parquet(folder / "testdev_balanced_instructions" / "testdev-00000-of-00001.parquet",
                         vf.gqa_instruction_rows(), vf.GQA_INSTRUCTION_FEATURES)  # fmt: skip
    with pytest.raises(DatasetUnavailableError, match="has no folder 'testdev_balanced_images'"):
        _rows(tmp_path / "data")


@pytest.mark.parametrize(
    "join",
    ["{name: images, on: imageId, key: id}", "{name: images, column: imageId}", "images"],
)
def test_a_join_needs_exactly_name_column_and_key(tmp_path: Path, join: str) -> None:
    # `on:` is YAML 1.1's boolean True, one reason the key is called `column`
    spec = tmp_path / "t.yaml"
    spec.write_text(f"name: t\ndataset: {{path: a/b, split: test, join: {join}}}\nprompt: q\nscorer: gqa\n")
    with pytest.raises(TaskSpecError, match="'dataset.join' of task 't' needs exactly the keys"):
        parse_task_file(spec)
