"""Pipeline overhead: `evalkit run` with an instant mock model on MME-sized local data.

    python benchmarks/pipeline.py [--quick]

Builds 2,374 MME rows (1,187 photo-like 800x600 JPEGs, each pair of questions sharing one, as in
lmms-lab/MME) as local parquet plus a task spec (``EVALKIT_TASK_DIRS``), then runs
`evalkit run --model mock:yes` and reads ``timing`` from the results: ``samples_per_s`` is the
generation loop (rows read, prompts built, images decoded, mock answered, records scored and
appended with fsync), ``adapter_busy_fraction`` the share of that loop spent inside
``adapter.generate``. Printed side by side:

* the same run on 64x48 images (the harness's own overhead, decoding almost free) and the
  decode-only rate of the 800x600 images on this machine (the bound for the full run);
* a mock that sleeps per batch (a model): busy fraction with the prefetch thread and with it
  switched off, which shows image decoding overlapping generation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# `evalkit run` in a child; optionally without prefetch; writes the child's own rusage.
RUNNER = r"""
import json, os, resource, sys, threading, time
t0 = time.perf_counter()
def rss_mb(field):
    with open("/proc/self/status") as fh:
        return int(fh.read().split(field + ":")[1].split()[0]) / 1024
peak_anon = [0.0]
def sample():  # RssAnon leaves out memory-mapped Arrow pages, which the kernel can drop
    while True:
        peak_anon[0] = max(peak_anon[0], rss_mb("RssAnon"))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
if os.environ.get("BENCH_NO_PREFETCH") == "1":
    import evalkit.runner
    evalkit.runner.prefetch = lambda source, depth=2: iter(source)
from evalkit.cli import app
code = 0
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
usage = resource.getrusage(resource.RUSAGE_SELF)
peak_anon[0] = max(peak_anon[0], rss_mb("RssAnon"))
with open(os.environ["BENCH_USAGE"], "w") as fh:  # VmHWM: ru_maxrss would count the parent's peak too
    json.dump({"wall_s": time.perf_counter() - t0, "cpu_s": usage.ru_utime + usage.ru_stime,
               "maxrss_mb": rss_mb("VmHWM"), "peak_anon_mb": peak_anon[0], "code": code}, fh)
sys.exit(code)
"""


def bench_env(tmp: Path) -> dict[str, str]:
    """Offline, our task folder, and a private datasets cache (removed with ``tmp``)."""
    return {
        **os.environ, "EVALKIT_TASK_DIRS": str(tmp / "specs"), "HF_DATASETS_CACHE": str(tmp / "hf-cache"),
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }  # fmt: skip


def evalkit_run(tmp: Path, task: str, name: str, extra: list[str], no_prefetch: bool = False) -> dict:
    """One `evalkit run`; returns the task's timing plus the child's wall, CPU and peak RSS."""
    usage_file = tmp / f"usage-{name}.json"
    env = {**bench_env(tmp), "BENCH_USAGE": str(usage_file), "BENCH_NO_PREFETCH": "1" if no_prefetch else "0"}
    args = ["run", "--model", "mock:yes", "--tasks", task, "--output-dir", str(tmp / "out"),
            "--run-name", name, "--json", "--no-progress", *extra]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(f"evalkit run failed: {proc.stderr.strip()[-800:]}")
    timing = json.loads(proc.stdout)["tasks"][task]["timing"]
    return {**timing, **{f"process_{k}": v for k, v in json.loads(usage_file.read_text()).items()}}


def build(tmp: Path, name: str, n: int, width: int, height: int) -> Path:
    data = tmp / "data" / name
    _data.write_image_parquet(data / "test-00000-of-00001.parquet", _data.mme_image_rows(n, width, height))
    _data.write_task_spec(tmp / "specs", name, data)
    return data


def decode_rate(data: Path, workers: int) -> float:
    """Images/s of decoding every image cell of ``data`` with ``workers`` threads (no harness)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    from evalkit.images import decode_image

    cells = pq.read_table(next(data.glob("*.parquet")), columns=["image"]).column("image").to_pylist()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(decode_image, cells, chunksize=16):
            pass
    return len(cells) / (time.perf_counter() - t0)


def row(label: str, t: dict) -> str:
    return (
        f"  {label:34} {t['samples_per_s']:>9,.0f} {t['adapter_busy_fraction']:>6.3f} {t['wall_s']:>7.2f}"
        f" {t['process_wall_s']:>8.2f} {t['process_cpu_s']:>7.2f} {t['process_maxrss_mb']:>7.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="800 rows instead of 2,374")
    parser.add_argument("--delay", type=float, default=0.05, help="mock seconds per batch of 8 (the 'model')")
    args = parser.parse_args()
    n = 800 if args.quick else _data.MME_SIZE
    from evalkit.pipeline import DECODE_WORKERS

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {DECODE_WORKERS} decode threads, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-pipeline-") as name:
        tmp = Path(name)
        t0 = time.perf_counter()
        full = build(tmp, "bench_mme", n, 800, 600)
        build(tmp, "bench_mme_tiny", n, 64, 48)
        print(f"built {n} rows x 2 image sizes in {time.perf_counter() - t0:.0f} s")
        first = evalkit_run(tmp, "bench_mme", "first", ["--batch-size", "64"])
        print(f"first run (parquet -> Arrow cache included): {first['process_wall_s']:.1f} s")
        print(
            f"\n  {'mock:yes run':34} {'samples/s':>9} {'busy':>6} {'task s':>7} {'process':>8} {'cpu s':>7} {'RSS MB':>7}"
        )
        results = {}
        for task, size in (("bench_mme_tiny", "64x48"), ("bench_mme", "800x600")):
            for batch in ("8", "64"):
                results[size, batch] = evalkit_run(tmp, task, f"{size}-{batch}", ["--batch-size", batch])
                print(row(f"{size} images, batch {batch}", results[size, batch]))
        decoded = decode_rate(full, DECODE_WORKERS)
        best = max(results["800x600", b]["samples_per_s"] for b in ("8", "64"))
        best_tiny = max(results["64x48", b]["samples_per_s"] for b in ("8", "64"))
        print(f"\n  harness alone (64x48): {best_tiny:,.0f} samples/s  (goal >= 2,000)")
        print(
            f"  800x600 decode only, {DECODE_WORKERS} threads: {decoded:,.0f} images/s -> the bound for a full run"
        )
        print(f"  800x600 full run: {best:,.0f} samples/s = {best / decoded:.2f} x the decode-only rate")
        limit = ["--limit", str(min(n, 600)), "--batch-size", "8", "--adapter-arg", f"delay={args.delay}"]
        with_prefetch = evalkit_run(tmp, "bench_mme", "delay-prefetch", limit)
        without = evalkit_run(tmp, "bench_mme", "delay-serial", limit, no_prefetch=True)
        print(f"\n  mock sleeping {args.delay} s per batch of 8, 800x600, {limit[1]} rows:")
        print(row("prefetch + decode threads (ours)", with_prefetch))
        print(row("prefetch switched off", without))
        ratio = without["wall_s"] / with_prefetch["wall_s"]
        print(f"  busy fraction {with_prefetch['adapter_busy_fraction']:.3f} vs {without['adapter_busy_fraction']:.3f}; "
              f"task time ratio serial / prefetch {ratio:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
