"""The GPU benchmark script runs end to end (on the CPU, tiny preset), so it cannot rot unseen
between the sessions that have a GPU to run it on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_train_1p7b_benchmark_smoke_run_on_cpu() -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "train_1p7b.py"), "--preset", "tiny", "--device", "cpu",
           "--steps", "1", "--warmup", "1", "--batch-size", "2", "--text-len", "8", "--gen-batch", "2",
           "--gen-tokens", "3"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout[done.stdout.index("{") :])
    assert result["device"] == "cpu" and result["preset"] == "tiny"
    assert result["train"]["tflops"] > 0 and "mfu" not in result["train"]  # no peak known for a CPU
    assert 2 <= result["generate"]["new_tokens"] <= 2 * 3


def test_mfu_peak_is_looked_up_by_gpu_name() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import train_1p7b
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert train_1p7b.peak_tflops("NVIDIA H200") == 989.0
    assert train_1p7b.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    with pytest.raises(ValueError, match="add its bf16 peak"):
        train_1p7b.peak_tflops("Some GPU")


def test_train_tiny_benchmark_times_padded_and_grouped_steps_on_the_same_batches() -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "train_tiny.py"), "--stage", "cE", "--steps", "1",
           "--warmup", "1", "--modes", "padded,grouped", "--threads", "1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout[done.stdout.index("{") :])
    assert result["stage"] == "cE" and result["batch_size"] == 32
    assert 0 < result["lm_tokens_real_share_of_padded"] < 1  # the mix mixes lengths: padding to skip
    padded, grouped = result["modes"]["padded"], result["modes"]["grouped"]
    # the same model and batches: the grouped loss is the padded one, to float rounding
    assert padded["first_losses"] == pytest.approx(grouped["first_losses"], rel=1e-5)
    assert padded["speedup_vs_padded"] == 1.0 and grouped["s_per_step_median"] > 0
