"""Peak memory of `evalkit run` over 10k and 100k VQAv2 rows with images (mock model, local parquet).

    python benchmarks/memory.py [--quick]

Each size is one `evalkit run --model mock:yes --batch-size 64` in a child process over VQAv2-schema
rows (ten answers each) whose images cycle over 500 distinct 192x144 JPEGs, after a first
`--limit 64` run that converts the parquet into the datasets Arrow cache (its peak is printed
too: a one-off per dataset, done by the datasets library). Printed per size:
peak RSS (VmHWM, everything resident, memory-mapped Arrow pages included) and peak anonymous
RSS (RssAnon sampled every 50 ms: the process's own heap, which the kernel cannot drop), then
the ratio large / small. A harness that kept decoded images or all rows in memory would grow
10x; a streaming one stays near 1 apart from the per-sample records it scores at the end.
--quick: 2k and 20k rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from pipeline import evalkit_run  # noqa: E402


def build(tmp: Path, name: str, n: int) -> None:
    data = tmp / "data" / name
    rows = _data.pooled_image_rows(_data.vqav2_rows(n))
    _data.write_image_parquet(data / "test-00000-of-00001.parquet", rows)
    _data.write_task_spec(tmp / "specs", name, data, scorer="vqav2", target="answers", metrics=("accuracy",))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2k and 20k rows")
    args = parser.parse_args()
    sizes = (2_000, 20_000) if args.quick else (10_000, 100_000)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"  {'rows':>8} {'peak RSS MB':>12} {'peak anon MB':>13} {'samples/s':>10} {'process s':>10}")
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-memory-") as name:
        tmp = Path(name)
        for n in sizes:
            task = f"bench_vqav2_{n}"
            t0 = time.perf_counter()
            build(tmp, task, n)
            built = time.perf_counter() - t0
            first = evalkit_run(tmp, task, f"convert-{n}", ["--batch-size", "64", "--limit", "64"])
            result = evalkit_run(tmp, task, f"mem-{n}", ["--batch-size", "64"])
            peaks[n] = result
            print(
                f"  {n:>8,} {result['process_maxrss_mb']:>12.0f} {result['process_peak_anon_mb']:>13.0f}"
                f" {result['samples_per_s']:>10,.0f} {result['process_wall_s']:>10.1f}   (data built in {built:.0f} s;"
                f" first run, parquet -> Arrow cache: peak anon {first['process_peak_anon_mb']:.0f} MB,"
                f" {first['process_wall_s']:.0f} s)"
            )
    small, large = (peaks[n] for n in sizes)
    print(f"  ratio {sizes[1]:,} / {sizes[0]:,} rows: peak RSS {large['process_maxrss_mb'] / small['process_maxrss_mb']:.2f}x, "
          f"peak anon {large['process_peak_anon_mb'] / small['process_peak_anon_mb']:.2f}x (goal near 1)")  # fmt: skip


if __name__ == "__main__":
    main()
