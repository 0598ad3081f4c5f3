"""Run folders: append-only per-sample records, resume, and atomic result files.

Layout of ``<output-dir>/<run-name>/``::

    run.json                  model, config hash per task, status (written atomically)
    <task>.samples.jsonl      one record per finished sample, appended + fsynced per batch
    results.json              the final results document (written atomically)
    images/<task>/<id>.jpg    small thumbnails for the HTML report
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from evalkit.types import SampleRecord


class ResumeConflictError(RuntimeError):
    """A run folder holds records made with a different configuration."""


class CorruptRecordError(ValueError):
    """A complete line of a record file is not a record; the message names file and line."""


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _loads(line: bytes) -> Any:
    """orjson: faster than json, and it shares the key strings of every record."""
    return orjson.loads(line)


def dumps_line(obj: Any) -> str:
    """One JSON record line (newline-terminated)."""
    return _dumps(obj) + "\n"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as pretty JSON to a temp file beside ``path``, fsync, then rename."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    write_lines_atomic(path, [text])


def write_lines_atomic(path: Path, chunks: Iterable[str]) -> None:
    """Write ``chunks`` one by one to a temp file beside ``path``, fsync, then rename (streamed,
    so a 200k-record file is never one string in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def config_hash(config: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able configuration."""
    blob = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def samples_filename(task: str, shard: tuple[int, int] | None = None) -> str:
    if shard is None:
        return f"{task}.samples.jsonl"
    return f"{task}.samples.shard-{shard[0]}-of-{shard[1]}.jsonl"


@dataclass(frozen=True)
class LogEntry:
    """Where one record lives: its file and byte offset."""

    path: Path
    offset: int
    has_response: bool


def iter_entries(
    index: Mapping[int, LogEntry], doc_ids: Iterable[int] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Load the records at ``index`` one at a time (for ``doc_ids``, default all, in that order)."""
    handles: dict[Path, Any] = {}
    try:
        for doc_id in index if doc_ids is None else doc_ids:
            entry = index[doc_id]
            fh = handles.get(entry.path) or handles.setdefault(entry.path, entry.path.open("rb"))
            fh.seek(entry.offset)
            yield doc_id, _loads(fh.readline())
    finally:
        for fh in handles.values():
            fh.close()


class SampleLog:
    """The append-only record file of one task (or one shard of it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def scan(self) -> dict[int, LogEntry]:
        """Where the last record of each doc_id starts, and whether it holds a response; a torn
        last line (a run killed mid-write: no newline) is cut off. A complete line that is not a
        record raises :class:`CorruptRecordError` and leaves the file untouched, so no record
        after it is lost. Holds no records in memory."""
        if not self.path.exists():
            return {}
        index: dict[int, LogEntry] = {}
        good_bytes = 0
        with self.path.open("rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    break
                try:
                    obj = _loads(line)
                    index[int(obj["doc_id"])] = LogEntry(
                        self.path, good_bytes, obj.get("response") is not None
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise CorruptRecordError(
                        f"{self.path}: line {line_no} is not a sample record ({type(exc).__name__}); "
                        "fix or delete that line (the other records are kept), then run again"
                    ) from None
                good_bytes += len(line)
        if good_bytes < self.path.stat().st_size:
            with self.path.open("r+b") as fh:
                fh.truncate(good_bytes)
        return index

    def read(self) -> dict[int, SampleRecord]:
        """Every record by doc_id (the last one written wins)."""
        return {doc_id: SampleRecord.from_dict(obj) for doc_id, obj in iter_entries(self.scan())}

    def append(self, records: Iterable[SampleRecord]) -> None:
        """Append records and make them durable before returning."""
        lines = "".join(dumps_line(r.to_dict()) for r in records)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())


class RunStore:
    """A run folder and its ``run.json`` manifest."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.manifest_path = run_dir / "run.json"

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def save_manifest(self, manifest: Mapping[str, Any]) -> None:
        write_json_atomic(self.manifest_path, dict(manifest))

    def sample_log(self, task: str, shard: tuple[int, int] | None = None) -> SampleLog:
        return SampleLog(self.run_dir / samples_filename(task, shard))

    def claim_task(self, task: str, config: Mapping[str, Any]) -> str:
        """Record ``task``'s config hash, or refuse if the folder holds another config's records."""
        digest = config_hash(config)
        manifest = self.manifest()
        tasks = manifest.setdefault("tasks", {})
        previous = tasks.get(task)
        if previous and previous["config_hash"] != digest:
            changed = sorted(
                k for k in set(config) | set(previous.get("config", {}))
                if config.get(k) != previous.get("config", {}).get(k)
            )  # fmt: skip
            raise ResumeConflictError(
                f"run folder {self.run_dir} already holds {task!r} records made with a different "
                f"configuration (changed: {', '.join(changed)}); use another --run-name or delete "
                "the folder"
            )
        tasks[task] = {"config_hash": digest, "config": dict(config)}
        self.save_manifest(manifest)
        return digest
