"""Loader pieces: split file matching, hub revision, row selection, JSON cleaning."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from evalkit.data import LoadedDataset, _hub_revision, _names_split, local_dir_for, to_json_value
from evalkit.registry import DatasetSource, TaskSpec


def test_split_names_must_start_a_file_or_folder_name() -> None:
    assert _names_split(Path("data/test-00000-of-00001.parquet"), "test")
    assert _names_split(Path("default/test/0000.parquet"), "test")
    assert _names_split(Path("en/dev-00000-of-00001.parquet"), "dev")
    assert _names_split(Path("test.jsonl"), "test")
    assert not _names_split(Path("default/qual_test/0000.parquet"), "test")
    assert not _names_split(Path("data/testA-00000.parquet"), "test")
    assert not _names_split(Path("data/latest-0.parquet"), "test")


def test_hub_revision_is_read_from_the_resolved_data_file_urls() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    builder = SimpleNamespace(
        config=SimpleNamespace(data_files={"test": [f"hf://datasets/lmms-lab/MME@{sha}/data/test-0.parquet"]})
    )
    assert _hub_revision(builder) == sha
    assert _hub_revision(SimpleNamespace(config=SimpleNamespace(data_files={}))) is None


def rows(n: int) -> LoadedDataset:
    return LoadedDataset([{"category": "a" if i % 2 else "b", "i": i} for i in range(n)], {}, ())


def test_filter_keeps_original_positions_and_limit_takes_the_head() -> None:
    assert rows(10).select_doc_ids({"category": "a"}, None, "head", 0) == [1, 3, 5, 7, 9]
    assert rows(10).select_doc_ids({"category": "a"}, 2, "head", 0) == [1, 3]


def test_seeded_subset_is_deterministic_sorted_and_seed_dependent() -> None:
    first = rows(1000).select_doc_ids({}, 50, "seeded", 7)
    assert first == rows(1000).select_doc_ids({}, 50, "seeded", 7)
    assert first == sorted(first) and len(set(first)) == 50
    assert first != rows(1000).select_doc_ids({}, 50, "seeded", 8)


def test_json_values_from_arrow_and_numpy_cells() -> None:
    cleaned = to_json_value(
        {"a": float("nan"), "b": np.int64(3), "c": np.array([1.5, 2.0]), "d": (1, "x"), "e": b"raw"}
    )
    assert cleaned == {"a": None, "b": 3, "c": [1.5, 2.0], "d": [1, "x"], "e": None}
    assert not any(isinstance(v, float) and math.isnan(v) for v in cleaned.values())


def test_data_dir_prefers_a_folder_named_after_the_task_family_or_repo(tmp_path: Path) -> None:
    spec = TaskSpec(name="pope_random", description="", version=1, dataset=DatasetSource(path="lmms-lab/POPE"),
                    prompt="", generation={}, scorer="pope", metrics=(), headline="", family="pope")  # fmt: skip
    assert local_dir_for(spec, tmp_path) == tmp_path
    (tmp_path / "POPE").mkdir()
    assert local_dir_for(spec, tmp_path) == tmp_path / "POPE"
    (tmp_path / "pope").mkdir()
    assert local_dir_for(spec, tmp_path) == tmp_path / "pope"
