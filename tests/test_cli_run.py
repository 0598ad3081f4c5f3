"""End-to-end: `evalkit run` through the CLI on tiny local data, resume after SIGKILL, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import png_bytes, pope_rows, write_parquet

EVALKIT = [sys.executable, "-m", "evalkit"]


def run_cli(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVALKIT, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=120, **kw
    )


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_mock_yes_run_writes_records_and_exact_pope_metrics(tiny_task_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli(["run", "--model", "mock:yes", "--tasks", "tiny_all", "--output-dir", str(out),
                    "--run-name", "r", "--json", "--no-progress"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # stdout holds exactly the results document
    pope = doc["tasks"]["tiny_pope"]
    # 12 rows, 6 yes / 6 no; always "yes": accuracy 50, precision 50, recall 100, f1 2/3, yes_ratio 100
    assert pope["metrics"]["accuracy"] == pytest.approx(50.0)
    assert pope["metrics"]["precision"] == pytest.approx(50.0)
    assert pope["metrics"]["recall"] == pytest.approx(100.0)
    assert pope["metrics"]["f1"] == pytest.approx(200 / 3)
    assert pope["metrics"]["yes_ratio"] == pytest.approx(100.0)
    assert pope["n"] == 12 and pope["n_errors"] == 0 and pope["parser"] == "official"
    assert doc["tasks"]["tiny_pope_random"]["n"] == 4
    assert doc["model"]["name"] == "mock:yes" and doc["evalkit_version"]
    assert set(pope["stderr"]) >= {"accuracy", "f1"}
    records = read_records(out / "r" / "tiny_pope.samples.jsonl")
    assert [r["doc_id"] for r in records] == list(range(12))
    assert all(r["response"] == "yes" and r["error"] is None for r in records)
    assert {r["target"] for r in records} == {"yes", "no"}
    # the random variant keeps the pooled task's doc ids (positions in the split)
    assert [r["doc_id"] for r in read_records(out / "r" / "tiny_pope_random.samples.jsonl")] == [2, 5, 8, 11]


def test_unknown_task_fails_in_one_line_with_suggestions(tiny_task_dir: Path, tmp_path: Path) -> None:
    proc = run_cli(["run", "--model", "mock:yes", "--tasks", "tiny_pop", "--output-dir", str(tmp_path)])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown task 'tiny_pop': did you mean tiny_pope, tiny_pope_random, tiny_all? (see `evalkit list tasks`)"
    ]


def test_unknown_model_fails_with_the_closest_names(tiny_task_dir: Path, tmp_path: Path) -> None:
    proc = run_cli(["run", "--model", "mokc:yes", "--tasks", "tiny_pope", "--output-dir", str(tmp_path)])
    assert proc.returncode == 2
    assert "unknown model 'mokc:yes': did you mean mock" in proc.stderr


def wait_for_lines(path: Path, n: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {n} lines")


def test_resume_after_sigkill_loses_and_redoes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_parquet(data, "test", pope_rows(40))
    specs = tmp_path / "specs"
    specs.mkdir()
    from conftest import TINY_POPE_YAML

    (specs / "tiny_pope.yaml").write_text(TINY_POPE_YAML.format(data=data))
    env = {**os.environ, "EVALKIT_TASK_DIRS": str(specs), "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    common = ["run", "--model", "mock:random", "--tasks", "tiny_pope", "--output-dir", str(out),
              "--batch-size", "2", "--no-progress"]  # fmt: skip
    samples = out / "killed" / "tiny_pope.samples.jsonl"
    first = subprocess.Popen([*EVALKIT, *common, "--run-name", "killed", "--adapter-arg", "delay=0.15",
                              "--adapter-arg", f"call_log={tmp_path / 'calls1'}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_lines(samples, 6)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    finished = {r["doc_id"] for r in read_records(samples)}
    assert 6 <= len(finished) < 40
    second = run_cli(
        [*common, "--run-name", "killed", "--adapter-arg", f"call_log={tmp_path / 'calls2'}"], env=env
    )
    assert second.returncode == 0, second.stderr
    redone = [int(x) for x in (tmp_path / "calls2").read_text().split()]
    assert not finished & set(redone), "samples finished before the kill were generated again"
    assert sorted(redone) == sorted(set(range(40)) - finished)
    records = read_records(samples)
    assert [r["doc_id"] for r in records] == list(range(40))  # every sample exactly once
    whole = run_cli([*common, "--run-name", "whole"], env=env)
    assert whole.returncode == 0, whole.stderr
    killed_metrics = json.loads((out / "killed" / "results.json").read_text())["tasks"]["tiny_pope"][
        "metrics"
    ]
    whole_metrics = json.loads((out / "whole" / "results.json").read_text())["tasks"]["tiny_pope"]["metrics"]
    assert killed_metrics == whole_metrics


def test_faults_are_recorded_counted_and_the_run_finishes(tmp_path: Path) -> None:
    """A model that raises on some samples, a missing image and a corrupt image."""
    data = tmp_path / "data"
    data.mkdir()
    rows = []
    for i in range(10):
        image = f"img{i}.png"
        if i == 3:
            image = "does_not_exist.png"
        elif i == 5:
            (data / image).write_bytes(b"this is not a png")
        else:
            (data / image).write_bytes(png_bytes((i * 20, 0, 0)))
        rows.append({"question_id": str(i), "question": f"q{i}?", "answer": "yes" if i % 2 else "no",
                     "category": "random", "image": image})  # fmt: skip
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    specs = tmp_path / "specs"
    specs.mkdir()
    from conftest import TINY_POPE_YAML

    (specs / "tiny_pope.yaml").write_text(TINY_POPE_YAML.format(data=data))
    env = {**os.environ, "EVALKIT_TASK_DIRS": str(specs), "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    proc = run_cli(["run", "--model", "mock:fail-every-4", "--tasks", "tiny_pope", "--output-dir", str(out),
                    "--run-name", "f", "--batch-size", "4", "--json", "--no-progress"], env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["tasks"]["tiny_pope"]
    records = {r["doc_id"]: r for r in read_records(out / "f" / "tiny_pope.samples.jsonl")}
    assert len(records) == 10
    assert "not found" in records[3]["error"]
    assert "cannot decode image" in records[5]["error"]
    assert "generation failed" in records[7]["error"]  # doc_id % 4 == 3 fails; 3 already failed earlier
    assert all(records[i]["error"] is None and records[i]["response"] == "yes" for i in (0, 1, 2, 4, 6, 8, 9))
    assert result["n_errors"] == 3 and result["n"] == 10
    # failed samples are scored as an empty reply, as the official script would score one: POPE's
    # parser reads "" as yes (no "no"/"not" word), so every prediction is yes
    assert result["metrics"]["yes_ratio"] == pytest.approx(100.0)
    assert records[7]["parsed"] == "yes" and records[7]["response"] is None


def test_max_errors_stops_the_run_but_keeps_finished_records(tiny_task_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli(["run", "--model", "mock:fail-every-2", "--tasks", "tiny_pope", "--output-dir", str(out),
                    "--run-name", "m", "--batch-size", "2", "--max-errors", "1", "--no-progress"])  # fmt: skip
    assert proc.returncode == 2
    assert "--max-errors 1" in proc.stderr and "finished samples are saved" in proc.stderr
    records = read_records(out / "m" / "tiny_pope.samples.jsonl")
    assert 2 <= len(records) < 12
    assert any(r["response"] == "yes" for r in records)


def test_hub_dataset_missing_offline_fails_fast_naming_it(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "hubby.yaml").write_text(
        "name: hubby\ndescription: x\ndataset: {path: lmms-lab/NotCached, split: test}\nprompt: '{q}'\nscorer: pope\n"
    )
    env = {**os.environ, "EVALKIT_TASK_DIRS": str(specs), "HF_HOME": str(tmp_path / "hf")}
    t0 = time.time()
    proc = run_cli(["run", "--model", "mock:yes", "--tasks", "hubby", "--output-dir", str(tmp_path)], env=env)
    assert time.time() - t0 < 30
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert "lmms-lab/NotCached" in line and "--data-dir" in line and "run once online" in line
