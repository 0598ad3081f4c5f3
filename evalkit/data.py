"""Dataset loading: a Hugging Face hub id, a local parquet/JSONL directory, or a generator.

Rows keep their position in the split as ``doc_id`` (variants that filter rows keep the
original positions, so ``pope`` and ``pope_random`` records line up). Image cells are left
encoded here; they are decoded batch by batch in the runner's background workers, so memory
stays bounded however large the split is (hub and local data are memory-mapped Arrow).
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import re
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.data_join import RowJoin, build_row_join
from evalkit.registry import DatasetSource, TaskSpec

HUB_HOST = "huggingface.co"


class DatasetUnavailableError(RuntimeError):
    """A dataset that cannot be found offline or online; the message says how to provide it."""


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when offline mode is off and the hub answers a TCP connect within ``timeout``."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def force_offline_if_unreachable() -> bool:
    """Switch the HF libraries to offline mode when the hub cannot be reached.

    Must run before ``datasets``/``transformers`` are imported: they read these variables at
    import time, and without them they retry for minutes. Returns True when online.
    """
    online = hub_reachable()
    if not online:
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[var] = "1"
    return online


def to_json_value(value: Any) -> Any:
    """Plain JSON values from Arrow/numpy/pandas cells (NaN -> None, arrays -> lists)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return None
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_json_value(value.tolist())
    return str(value)


@dataclass
class LoadedDataset:
    """A split's rows (any sequence supporting ``len`` and integer indexing) plus provenance."""

    rows: Any  # datasets.Dataset or list[dict]
    info: dict[str, Any]
    image_columns: tuple[str, ...]
    base_dir: Path | None = None
    joined: RowJoin | None = None  # columns added from another config (``dataset.join``)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        if isinstance(self.rows, list):
            return [row.get(name) for row in self.rows]
        if name not in self.rows.column_names:
            raise KeyError(name)
        return list(self.rows[name])

    def select_doc_ids(self, filt: Mapping[str, Any], limit: int | None, subset: str, seed: int) -> list[int]:
        """Row positions kept by the variant filter, then ``--limit`` (head or seeded subset)."""
        ids = list(range(len(self)))
        for column, wanted in filt.items():
            try:
                values = self.column(column)
            except KeyError:
                raise DatasetUnavailableError(
                    f"filter column {column!r} is not in the dataset; columns: {self.column_names()}"
                ) from None
            ids = [i for i in ids if values[i] == wanted]
        if limit is not None and limit < len(ids):
            if subset == "seeded":
                ids = sorted(random.Random(seed).sample(ids, limit))
            else:
                ids = ids[:limit]
        return ids

    def column_names(self) -> list[str]:
        if isinstance(self.rows, list):
            return sorted({k for row in self.rows[:10] for k in row})
        return list(self.rows.column_names)

    def iter_rows(self, doc_ids: Sequence[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(doc_id, raw row)`` for the given positions, in the given order."""
        for i, row in self._own_rows(doc_ids):
            yield i, self.joined.attach(row) if self.joined else row

    def _own_rows(self, doc_ids: Sequence[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        if isinstance(self.rows, list):
            for i in doc_ids:
                yield i, dict(self.rows[i])
            return
        step = 256
        for start in range(0, len(doc_ids), step):
            chunk = list(doc_ids[start : start + step])
            batch = self.rows[chunk] if chunk else {}
            for j, i in enumerate(chunk):
                yield i, {k: v[j] for k, v in batch.items()}


def _undecoded_images(ds: Any, image_columns: Sequence[str]) -> Any:
    """Cast HF ``Image`` columns to ``decode=False`` so rows carry bytes, not PIL images."""
    from datasets import Image
    from datasets import Sequence as HFSequence

    for col in image_columns:
        feature = ds.features.get(col)
        if isinstance(feature, Image):
            ds = ds.cast_column(col, Image(decode=False))
        elif isinstance(feature, HFSequence) and isinstance(feature.feature, Image):
            ds = ds.cast_column(col, HFSequence(Image(decode=False)))
    return ds


def _names_split(relative: Path, split: str) -> bool:
    """True when a folder or file name *starts* with the split name followed by a separator
    (``test-00000-of-00001.parquet``, ``test/0000.parquet``), so ``test`` is not ``qual_test``."""
    pattern = re.compile(rf"{re.escape(split)}($|[-_.])")
    return any(pattern.match(part) for part in relative.parts)


def _local_files(directory: Path, split: str) -> tuple[str, list[str]]:
    """The parquet or JSONL files of ``split`` under ``directory`` (builder name, files)."""
    for kind, patterns in (("parquet", ("*.parquet",)), ("json", ("*.jsonl", "*.jsonlines", "*.json"))):
        files = sorted(str(p) for pat in patterns for p in directory.rglob(pat))
        if not files:
            continue
        of_split = [f for f in files if _names_split(Path(f).relative_to(directory), split)]
        return kind, of_split or files
    return "", []


def _load_local(directory: Path, source: DatasetSource) -> LoadedDataset:
    import datasets
    from datasets import load_dataset

    datasets.disable_progress_bars()

    if source.name and (directory / source.name).is_dir():
        directory = directory / source.name  # a hub snapshot keeps each config in its own folder
    kind, files = _local_files(directory, source.split)
    if not files:
        raise DatasetUnavailableError(
            f"no parquet or JSONL files under {directory}; put the {source.split!r} split there "
            "(parquet files with the dataset's columns)"
        )
    ds = load_dataset(kind, data_files={source.split: files}, split=source.split)
    ds = _undecoded_images(ds, source.image_columns)
    info = {"source": str(directory), "revision": None, "split": source.split, "files": len(files)}
    return LoadedDataset(ds, info, source.image_columns, base_dir=directory)


def _hub_revision(builder: Any) -> str | None:
    """The commit a hub dataset was resolved to, read from its data-file URLs."""
    files = getattr(builder.config, "data_files", None) or {}
    for urls in files.values():
        for url in urls:
            match = re.search(r"@([0-9a-f]{40})", str(url))
            if match:
                return match.group(1)
    return None


def _load_hub(source: DatasetSource, revision: str | None) -> LoadedDataset:
    online = force_offline_if_unreachable()
    import datasets
    from datasets import load_dataset_builder

    datasets.disable_progress_bars()
    assert source.path is not None
    where = f"dataset {source.path!r} ({source.name or 'default'}/{source.split})"
    hint = (
        f"{where} could not be loaded from the hub; check the name and revision, or pass --data-dir DIR"
        if online
        else f"{where} is not in the local Hugging Face cache and the hub is unreachable: run once "
        "online, or pass --data-dir DIR holding its parquet files"
    )
    try:
        builder = load_dataset_builder(source.path, source.name, revision=revision)
        builder.download_and_prepare()
        ds = builder.as_dataset(split=source.split)
    except (ConnectionError, FileNotFoundError, OSError) as exc:
        raise DatasetUnavailableError(f"{hint} ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise DatasetUnavailableError(f"{source.path}: {exc}".splitlines()[0]) from exc
    ds = _undecoded_images(ds, source.image_columns)
    info = {"source": source.path, "config": source.name, "split": source.split,
            "revision": _hub_revision(builder) or revision}  # fmt: skip
    return LoadedDataset(ds, info, source.image_columns)


def _load_synthetic(source: DatasetSource, size: int | None) -> LoadedDataset:
    from evalkit import synthetic

    n = size or source.size or 100
    kwargs = {"image_size": source.image_size} if source.image_size else {}
    rows = synthetic.generate_rows(source.synthetic or "", n=n, seed=source.seed, split="eval", **kwargs)
    info = {"source": f"synthetic:{source.synthetic}", "revision": None, "split": "eval",
            "seed": source.seed, "size": n}  # fmt: skip
    return LoadedDataset(rows, info, source.image_columns)


def local_dir_for(spec: TaskSpec, data_dir: Path) -> Path:
    """Where ``--data-dir`` keeps a task's files: a sub-folder named after the task, its
    family or the hub repo (``MME`` for ``lmms-lab/MME``), else the folder itself."""
    names = [spec.name, spec.family]
    if spec.dataset.path:
        names.append(spec.dataset.path.split("/")[-1])
    for name in names:
        if name and (data_dir / name).is_dir():
            return data_dir / name
    return data_dir


def load_task_dataset(
    spec: TaskSpec,
    *,
    data_dir: Path | None = None,
    revision: str | None = None,
    synthetic_size: int | None = None,
) -> LoadedDataset:
    """Load the rows of ``spec``'s split from the first source that applies, plus the columns
    of ``dataset.join`` (another config of the same dataset, from the same place)."""
    loaded = _load_source(spec, spec.dataset, data_dir, revision, synthetic_size)
    join = spec.dataset.join
    if join is None:
        return loaded
    source = dataclasses.replace(spec.dataset, name=join.name, join=None)
    other = _load_source(spec, source, data_dir, revision, synthetic_size)
    if other.base_dir is not None and other.base_dir.name != join.name:
        raise DatasetUnavailableError(
            f"{other.base_dir} has no folder {join.name!r}: put that config's {source.split!r} "
            "files there, as the hub repo lays them out"
        )
    loaded.joined = build_row_join(
        join, _join_column(other, join.key), other.rows, _join_column(loaded, join.column)
    )
    loaded.info["join"] = {
        "config": join.name,
        **{k: other.info.get(k) for k in ("source", "revision", "files")},
    }
    return loaded


def _join_column(dataset: LoadedDataset, name: str) -> list[Any]:
    try:
        return dataset.column(name)
    except KeyError:
        raise DatasetUnavailableError(
            f"join column {name!r} is not in the dataset; columns: {dataset.column_names()}"
        ) from None


def _load_source(
    spec: TaskSpec,
    source: DatasetSource,
    data_dir: Path | None,
    revision: str | None,
    synthetic_size: int | None,
) -> LoadedDataset:
    if source.synthetic:
        return _load_synthetic(source, synthetic_size)
    if data_dir is not None:
        return _load_local(local_dir_for(spec, data_dir), source)
    if source.local:
        from evalkit.registry import tasks_dir

        local = Path(source.local)
        return _load_local(local if local.is_absolute() else tasks_dir() / local, source)
    return _load_hub(source, revision or source.revision)
