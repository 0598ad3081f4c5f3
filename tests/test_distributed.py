"""Scale-out: 2 gloo processes under torchrun, and --shard i/n + `evalkit merge`, equal one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def metrics_and_records(run: Path, task: str = "tiny_pope") -> tuple[dict, list]:
    results = json.loads((run / "results.json").read_text())["tasks"]
    records = [json.loads(x) for x in (run / f"{task}.samples.jsonl").read_text().splitlines()]
    strip = [{k: r[k] for k in ("doc_id", "prompt", "response", "parsed", "score", "error")} for r in records]
    return {t: results[t]["metrics"] for t in results}, strip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m evalkit ARGS`` under torchrun with two ranks on the CPU (gloo), one thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(free_port()), "-m", "evalkit", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def evalkit(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process(tiny_task_dir: Path, tmp_path: Path) -> None:
    common = [
        "run",
        "--model",
        "mock:random",
        "--tasks",
        "tiny_all",
        "--output-dir",
        str(tmp_path),
        "--no-progress",
    ]
    evalkit(*common, "--run-name", "single")
    proc = torchrun(*common, "--run-name", "dist")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert metrics_and_records(tmp_path / "dist") == metrics_and_records(tmp_path / "single")
    assert not list((tmp_path / "dist").glob("*.shard-*"))  # shards merged away


def test_shards_then_merge_equal_one_process(tiny_task_dir: Path, tmp_path: Path) -> None:
    common = [
        "run",
        "--model",
        "mock:random",
        "--tasks",
        "tiny_pope",
        "--output-dir",
        str(tmp_path),
        "--no-progress",
    ]
    evalkit(*common, "--run-name", "single")
    for i in range(3):
        evalkit(*common, "--run-name", "sharded", "--shard", f"{i}/3")
    assert len(list((tmp_path / "sharded").glob("tiny_pope.samples.shard-*-of-3.jsonl"))) == 3
    assert not (tmp_path / "sharded" / "results.json").exists()
    evalkit("merge", str(tmp_path / "sharded"))
    assert metrics_and_records(tmp_path / "sharded") == metrics_and_records(tmp_path / "single")


def test_bad_shard_spec_is_rejected(tiny_task_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "--model", "mock:yes", "--tasks", "tiny_pope", "--shard", "3/3",
         "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "0 <= i < n" in proc.stderr


# --- every adapter that runs a model in-process: torchrun on the CPU (gloo) and shards + merge ---


def replies_and_metrics(run: Path, task: str) -> tuple[dict, list]:
    """Metrics of ``task`` and its per-sample (doc_id, response, parsed, score) in doc_id order."""
    results = json.loads((run / "results.json").read_text())["tasks"][task]["metrics"]
    records = [json.loads(x) for x in (run / f"{task}.samples.jsonl").read_text().splitlines()]
    return results, [(r["doc_id"], r["response"], r["parsed"], r["score"]) for r in records]


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests import hf_tiny

    return hf_tiny.build_llava(tmp_path_factory.mktemp("llava"))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["visionpangu", "hf"])
def test_torch_adapters_under_torchrun_on_cpu_equal_one_process(
    model: str, tiny_llava: Path, tmp_path: Path
) -> None:
    """The shipped visionpangu checkpoint and a tiny hf: model on a CPU-only machine: two gloo
    ranks, and two --shard runs + merge, give one process's metrics and replies exactly."""
    name = "visionpangu" if model == "visionpangu" else f"hf:{tiny_llava}"
    common = ["run", "--model", name, "--tasks", "shapes_pope", "--limit", "12", "--batch-size", "4",
              "--output-dir", str(tmp_path), "--no-progress"]  # fmt: skip
    evalkit(*common, "--run-name", "single")
    proc = torchrun(*common, "--run-name", "dist")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for i in range(2):
        evalkit(*common, "--run-name", "sharded", "--shard", f"{i}/2")
    evalkit("merge", str(tmp_path / "sharded"))
    single = replies_and_metrics(tmp_path / "single", "shapes_pope")
    assert len(single[1]) == 12
    assert replies_and_metrics(tmp_path / "dist", "shapes_pope") == single
    assert replies_and_metrics(tmp_path / "sharded", "shapes_pope") == single


@pytest.mark.slow
def test_a_failure_under_torchrun_is_one_line_from_rank_zero(tmp_path: Path) -> None:
    """Both ranks fail to load a missing checkpoint: one `error:` line (rank 0's), and each rank's
    line reaches torchrun's failure summary through its error file instead of a traceback."""
    proc = torchrun("run", "--model", f"visionpangu:{tmp_path / 'missing'}", "--tasks", "shapes_pope",
                    "--limit", "4", "--output-dir", str(tmp_path), "--no-progress")  # fmt: skip
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and "no visionpangu checkpoint" in ours[0], proc.stderr[-3000:]
    assert "[rank0]" not in proc.stderr and "[rank1]" not in proc.stderr  # no per-rank tracebacks
    assert proc.stderr.count("traceback : error: no visionpangu checkpoint") == 2
