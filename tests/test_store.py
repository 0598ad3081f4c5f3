"""Store: append-only records, torn-line recovery, resume conflicts, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.store import CorruptRecordError, ResumeConflictError, RunStore, SampleLog, write_json_atomic
from evalkit.types import SampleRecord


def rec(i: int, response: str | None = "yes") -> SampleRecord:
    return SampleRecord(doc_id=i, prompt=f"p{i}", response=response, fields={"q": i})


def test_records_round_trip_and_last_write_wins(tmp_path: Path) -> None:
    log = SampleLog(tmp_path / "t.samples.jsonl")
    log.append([rec(0), rec(1, None)])
    log.append([rec(1, "no")])
    got = log.read()
    assert sorted(got) == [0, 1]
    assert got[1].response == "no"
    assert got[0].fields == {"q": 0}


def test_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "t.samples.jsonl"
    log = SampleLog(path)
    log.append([rec(0), rec(1)])
    with path.open("a") as fh:
        fh.write('{"doc_id": 2, "prompt": "half')
    assert sorted(log.read()) == [0, 1]
    assert path.read_text().count("\n") == 2
    log.append([rec(2)])
    assert sorted(log.read()) == [0, 1, 2]


def test_resume_with_a_different_config_is_refused(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.claim_task("pope", {"prompt": "a", "parser": "official"})
    store.claim_task("pope", {"prompt": "a", "parser": "official"})  # same: fine
    with pytest.raises(ResumeConflictError, match="changed: parser"):
        store.claim_task("pope", {"prompt": "a", "parser": "robust"})


def test_atomic_json_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_corrupt_complete_line_is_reported_and_nothing_is_cut(tmp_path: Path) -> None:
    """Only a torn tail (no newline) is a killed write; a bad complete line in the middle names
    itself and every byte stays, so the records after it are not lost."""
    path = tmp_path / "t.samples.jsonl"
    log = SampleLog(path)
    log.append([rec(0)])
    with path.open("a") as fh:
        fh.write("not json\n")
    log.append([rec(1), rec(2)])
    before = path.read_bytes()
    with pytest.raises(CorruptRecordError, match=r"t.samples.jsonl: line 2 is not a sample record"):
        log.scan()
    assert path.read_bytes() == before
