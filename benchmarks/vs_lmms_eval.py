"""Wall time of evalkit vs lmms-eval on the same tiny HF model, the same MME rows, the same count.

    python benchmarks/vs_lmms_eval.py [--quick] [--lmms-venv /tmp/lmms-venv] [--install]

The model is a random-weight LLaVA-1.5 layout (CLIP vision tower, Llama text model, hidden size
32) built with ``tests/hf_tiny.py`` and saved like a hub checkpoint; the data is MME-schema
parquet with photo-like 336x252 JPEGs. evalkit runs it as ``hf:<dir>``; lmms-eval as
``llava_hf`` with a task that includes lmms-eval's own MME functions but reads our parquet.
lmms-eval's ``llava_hf`` supports batch size 1 only, so evalkit is timed at batch 1 (same work)
and at batch 8. Both are whole processes (start-up, model load, data, generation, scoring).

lmms-eval lives in its own venv (``--install`` makes it: CPU torch from the local wheel, then
``pip install lmms-eval decord``, and a torchvision that does not match torch removed), never in evalkit's. If it cannot be installed or cannot run offline,
the script prints the exact error and skips the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LMMS_TASK = """task: bench_mme
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {parquet}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.mme_doc_to_visual
doc_to_text: !function utils.mme_doc_to_text
doc_to_target: "answer"
generation_kwargs:
  max_new_tokens: 16
  temperature: 0
  top_p: 1.0
  num_beams: 1
  do_sample: false
process_results: !function utils.mme_process_results
metric_list:
  - metric: mme_perception_score
    aggregation: !function utils.mme_aggregate_results
    higher_is_better: true
  - metric: mme_cognition_score
    aggregation: !function utils.mme_aggregate_results
    higher_is_better: true
lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: "\\nAnswer the question using a single word or phrase."
metadata:
  - version: 0.0
"""
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
# torch's thread count, the same for both; on a shared 2-core machine two spinning OpenMP
# threads made the tiny model 7x slower than one (measured), which would swamp the comparison
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def timed(cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> float:
    """Wall seconds of ``cmd``; a failure raises with the tail of its output."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-1500:]}")
    return time.perf_counter() - t0


def install_lmms(venv: Path) -> None:
    """A separate venv: CPU torch first (local wheel when there is one), then lmms-eval."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    wheels = (
        sorted(Path("/opt/wheels").glob("torch-2.13.0+cpu-*.whl")) if Path("/opt/wheels").is_dir() else []
    )
    subprocess.run([*pip, str(wheels[0]) if wheels else "torch==2.13.0"], check=True)
    subprocess.run([*pip, "lmms-eval", "decord"], check=True)  # llava_hf imports decord (video)
    # PyPI's torchvision is built for another torch and breaks transformers' image utilities
    # ("operator torchvision::nms does not exist"); transformers works without it
    if subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import torchvision"], capture_output=True
    ).returncode:
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "torchvision"], check=True
        )


def prepare(tmp: Path, n: int) -> tuple[Path, Path]:
    """The tiny model directory and the parquet file (plus both task specs)."""
    model = tmp / "tiny-llava"
    build = "import sys; from pathlib import Path; from tests.hf_tiny import build_llava; build_llava(Path(sys.argv[1]))"
    subprocess.run(
        [sys.executable, "-c", build, str(model)], check=True, cwd=REPO, env={**os.environ, **OFFLINE}
    )
    parquet = _data.write_image_parquet(
        tmp / "data" / "test-00000-of-00001.parquet", _data.mme_image_rows(n, 336, 252)
    )
    _data.write_task_spec(tmp / "specs", "bench_mme", parquet.parent)
    lmms_tasks = tmp / "lmms-tasks"
    lmms_tasks.mkdir()
    (lmms_tasks / "bench_mme.yaml").write_text(LMMS_TASK.format(parquet=parquet), encoding="utf-8")
    (lmms_tasks / "utils.py").write_text(
        "from lmms_eval.tasks.mme.utils import *  # noqa: F403\n", encoding="utf-8"
    )
    return model, parquet


def run_evalkit(tmp: Path, model: Path, n: int, batch: int, name: str) -> float:
    env = {
        **os.environ,
        **OFFLINE,
        **THREADS,
        "EVALKIT_TASK_DIRS": str(tmp / "specs"),
        "HF_DATASETS_CACHE": str(tmp / "hf-ek"),
    }
    args = ["run", "--model", f"hf:{model}", "--tasks", "bench_mme", "--limit", str(n), "--batch-size", str(batch),
            "--device", "cpu", "--output-dir", str(tmp / "ek-out"), "--run-name", name, "--no-progress", "--json"]  # fmt: skip
    return timed([sys.executable, "-m", "evalkit", *args], env)


def run_lmms(tmp: Path, venv: Path, model: Path, n: int, name: str) -> float:
    env = {
        **os.environ,
        **OFFLINE,
        **THREADS,
        "HF_DATASETS_CACHE": str(tmp / "hf-lmms"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    args = ["--model", "llava_hf", "--model_args", f"pretrained={model},device=cpu,dtype=float32",
            "--tasks", "bench_mme", "--include_path", str(tmp / "lmms-tasks"), "--batch_size", "1",
            "--limit", str(n), "--output_path", str(tmp / "lmms-out" / name)]  # fmt: skip
    return timed([str(venv / "bin" / "python"), "-m", "lmms_eval", *args], env, cwd=tmp)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="40 samples instead of 200")
    parser.add_argument("--lmms-venv", type=Path, default=Path("/tmp/lmms-venv"))
    parser.add_argument("--install", action="store_true", help="create --lmms-venv when it is missing")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds of the three runs")
    parser.add_argument("--threads", type=int, default=1, help="OMP/MKL threads for both harnesses")
    args = parser.parse_args()
    THREADS.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    n = 40 if args.quick else 200
    lmms_python = args.lmms_venv / "bin" / "python"
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {n} MME rows, tiny LLaVA, CPU fp32, {args.threads} torch thread(s)"
    )
    if not lmms_python.exists() and args.install:
        try:
            install_lmms(args.lmms_venv)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"lmms-eval could not be installed: {exc}")
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-lmms-") as name:
        times = interleaved_runs(Path(name), args.lmms_venv, n, args.repeats)
    if not lmms_python.exists():
        print(f"lmms-eval is not installed in {args.lmms_venv} (pass --install): no ratio")
    report(times)


def interleaved_runs(tmp: Path, venv: Path, n: int, repeats: int) -> dict[str, list[float]]:
    """lmms-eval, evalkit batch 1, evalkit batch 8, in turn, ``repeats`` times (drifting
    machine load then hits all three alike)."""
    model, _ = prepare(tmp, n)
    times: dict[str, list[float]] = {"lmms": [], "ek1": [], "ek8": []}
    for r in range(repeats):
        if (venv / "bin" / "python").exists():
            try:
                times["lmms"].append(run_lmms(tmp, venv, model, n, f"r{r}"))
            except RuntimeError as exc:
                print(f"lmms-eval failed to run, no ratio: {exc}")
        times["ek1"].append(run_evalkit(tmp, model, n, 1, f"b1-r{r}"))
        times["ek8"].append(run_evalkit(tmp, model, n, 8, f"b8-r{r}"))
    return times


def report(times: dict[str, list[float]]) -> None:
    labels = {
        "lmms": "lmms-eval llava_hf, batch 1",
        "ek1": "evalkit hf:, batch 1",
        "ek8": "evalkit hf:, batch 8",
    }
    for key, label in labels.items():
        if times[key]:
            print(
                f"  {label:28}: median {statistics.median(times[key]):6.1f} s  runs {[round(t, 1) for t in times[key]]}"
            )
    if times["lmms"]:
        for key in ("ek1", "ek8"):
            pairs = [a / b for a, b in zip(times["lmms"], times[key])]
            print(
                f"  ratio lmms-eval / {labels[key]}: median {statistics.median(pairs):.2f}x, per pair {[round(x, 2) for x in pairs]} (goal > 1)"
            )


if __name__ == "__main__":
    main()
