"""Scoring speed: `evalkit score` vs the official VQAv2 script, full-size task timings, Java starts.

    python benchmarks/scoring.py [--quick] [--vqaeval PATH]

1. VQAv2 (214,354 rows, or 30,000 with --quick): `evalkit score --task vqav2 FILE --json` as a
   subprocess (start-up and reading included) vs the official GT-Vision-Lab/VQA ``vqaEval.py``
   (commit c4e6a0e) reading the same JSONL with the standard json module and running
   ``VQAEval.evaluate()``, also as a subprocess. Prints the ratio and checks that every
   per-question accuracy is identical. The official file is not shipped; get it with
   ``curl -o /tmp/vqaEval_c4e6a0e.py https://raw.githubusercontent.com/GT-Vision-Lab/VQA/c4e6a0e/PythonEvaluationTools/vqaEvaluation/vqaEval.py``
2. MME, POPE, MMBench, MMMU, RefCOCO at full size: scoring time in-process (read + score, no
   interpreter start-up) and as a subprocess (with start-up).
3. Captions: Java processes started by one `evalkit score` of a caption file, counted by a
   ``java`` shim put first on PATH.
4. Which heavy modules `evalkit score` imports (torch and transformers must be absent).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
EVALKIT = [PYTHON, "-m", "evalkit"]

# Runs the official evaluate() on our JSONL. The official class is used unchanged; a subclass
# only records the unrounded per-question accuracy it already passes to setEvalQA.
OFFICIAL_RUNNER = r"""
import contextlib, importlib.util, io, json, sys, time
official, data, out = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("vqaEval", official)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
with open(data, encoding="utf-8") as fh:
    rows = [json.loads(line) for line in fh]
class QA:
    def __init__(self, qa): self.qa = qa
    def getQuesIds(self): return list(self.qa)
class Recording(mod.VQAEval):
    raw = {}
    def setEvalQA(self, quesId, acc):
        self.raw[quesId] = acc
        super().setEvalQA(quesId, acc)
gts = QA({r["question_id"]: r for r in rows})
res = QA({r["question_id"]: {"answer": r["response"]} for r in rows})
ev = Recording(gts, res, n=2)
with contextlib.redirect_stdout(io.StringIO()):
    ev.evaluate()
t_done = time.perf_counter()
with open(out, "w") as fh:
    json.dump({"overall": ev.accuracy["overall"], "raw": {str(k): v for k, v in ev.raw.items()}}, fh)
print(json.dumps({"dump_s": time.perf_counter() - t_done}))
"""

MODULES_PROBE = r"""
import sys
from pathlib import Path
from evalkit.score_file import score_predictions_file
score_predictions_file(Path(sys.argv[1]), sys.argv[2])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "datasets", "pandas", "PIL"})
print(" ".join(heavy) or "-")
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds of a subprocess and its stdout; a failure raises with its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
    return wall, proc.stdout


def evalkit_score_wall(path: Path, task: str, repeats: int) -> tuple[float, dict]:
    walls, doc = [], {}
    for _ in range(repeats):
        wall, out = timed([*EVALKIT, "score", "--task", task, str(path), "--json"])
        walls.append(wall)
        doc = json.loads(out)
    return statistics.median(walls), doc


def in_process_score(path: Path, task: str) -> tuple[float, list]:
    """Seconds to read and score ``path`` inside this process (no interpreter start-up)."""
    from evalkit.registry import default_registry
    from evalkit.score_file import cyclic_gc_paused, keep_filtered, read_predictions
    from evalkit.scoring import ScoringContext, get_scorer

    spec = default_registry().get(task)
    scorer = get_scorer(spec.scorer)
    t0 = time.perf_counter()
    with cyclic_gc_paused():
        rows = keep_filtered(read_predictions(path), spec.filter)
        responses = [str(r.pop("response") or "") for r in rows]
        result = scorer.score(rows, responses, ScoringContext())
    elapsed = time.perf_counter() - t0
    ids = [r.get("question_id") for r in rows]
    return elapsed, list(zip(ids, result.per_sample))


def bench_vqav2(tmp: Path, n: int, official: Path | None) -> None:
    data = _data.write_jsonl(tmp / "vqav2.jsonl", _data.vqav2_rows(n))
    print(f"\n== VQAv2: {n:,} rows ({data.stat().st_size / 1e6:.0f} MB JSONL)")
    ours_before, doc = evalkit_score_wall(data, "vqav2", 1)
    if official is None or not official.is_file():
        print(f"  official vqaEval.py not found at {official}: ratio skipped (see the module docstring)")
        print(f"  evalkit score: {ours_before:.2f} s wall ({n / ours_before:,.0f} questions/s)")
        return
    out = tmp / "official_scores.json"
    wall, stdout = timed([PYTHON, "-c", OFFICIAL_RUNNER, str(official), str(data), str(out)])
    off_wall = wall - json.loads(stdout.strip().splitlines()[-1])["dump_s"]
    ours_after, doc = evalkit_score_wall(data, "vqav2", 2)
    ours = statistics.median([ours_before, ours_after])
    off = json.loads(out.read_text())
    _, per_question = in_process_score(data, "vqav2")
    mismatches = [(q, a, off["raw"][str(q)]) for q, a in per_question if off["raw"][str(q)] != a]
    print(f"  official vqaEval.py (json read + evaluate): {off_wall:8.2f} s  ({n / off_wall:,.0f} q/s)")
    print(f"  evalkit score --json (median of 3)        : {ours:8.2f} s  ({n / ours:,.0f} q/s)")
    print(f"  ratio official / evalkit: {off_wall / ours:.1f}x  (goal >= 10x)")
    print(f"  overall: official {off['overall']} (2 decimals), evalkit {doc['metrics']['accuracy']:.4f}")
    print(f"  per-question accuracies identical: {not mismatches} ({len(mismatches)} of {n:,} differ)")
    for q, a, b in mismatches[:5]:
        print(f"    question {q}: evalkit {a!r} official {b!r}")


def bench_tasks(tmp: Path) -> None:
    builders = {
        "mme": _data.mme_rows, "pope": _data.pope_rows, "mmbench": _data.mmbench_rows,
        "mmmu": _data.mmmu_rows, "refcoco": _data.refcoco_rows,
    }  # fmt: skip
    start_wall, _ = timed([PYTHON, "-c", "import evalkit.cli"])
    print(f"\n== Full-size tasks (goal < 1 s each); `import evalkit.cli` alone: {start_wall:.2f} s")
    print(f"  {'task':8} {'rows':>6} {'in-process s':>13} {'subprocess s':>13}  heavy modules loaded")
    for task, build in builders.items():
        path = _data.write_jsonl(tmp / f"{task}.jsonl", build())
        inproc = statistics.median(in_process_score(path, task)[0] for _ in range(3))
        wall, _ = evalkit_score_wall(path, task, 3)
        _, heavy = timed([PYTHON, "-c", MODULES_PROBE, str(path), task])
        n = sum(1 for _ in path.open("rb"))
        print(f"  {task:8} {n:>6} {inproc:>13.3f} {wall:>13.3f}  {heavy.strip()}")


def bench_caption_java(tmp: Path, n: int) -> None:
    java = shutil.which("java")
    print(f"\n== Captions: {n} rows, Java starts per `evalkit score` run")
    if java is None:
        print("  java is not on PATH: the caption scorer uses its Python backend; nothing to count")
        return
    shim_dir, log = tmp / "java-shim", tmp / "java-starts.log"
    shim_dir.mkdir()
    shim = shim_dir / "java"
    shim.write_text(f'#!/bin/sh\necho "$$ $*" | cut -c1-160 >> "{log}"\nexec "{java}" "$@"\n')
    shim.chmod(0o755)
    path = _data.write_jsonl(tmp / "captions.jsonl", _data.caption_rows(n))
    env = {**os.environ, "PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}"}
    wall, out = timed([*EVALKIT, "score", "--task", "shapes_caption", str(path), "--json"], env=env)
    starts = log.read_text().splitlines() if log.exists() else []
    doc = json.loads(out)
    print(
        f"  {len(starts)} java processes for {n} captions in {wall:.1f} s (backend {doc['info'].get('backend')})"
    )
    for line in starts:
        jar = next((w for w in line.split() if w.endswith(".jar")), line[:60])
        print(f"    {Path(jar).name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="30,000 VQAv2 rows, 200 captions")
    parser.add_argument("--vqaeval", type=Path, default=Path("/tmp/vqaEval_c4e6a0e.py"))
    parser.add_argument("--only", choices=("vqav2", "tasks", "caption"), default=None)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-scoring-") as tmp:
        if args.only in (None, "vqav2"):
            bench_vqav2(Path(tmp), 30_000 if args.quick else _data.VQAV2_VAL_SIZE, args.vqaeval)
        if args.only in (None, "tasks"):
            bench_tasks(Path(tmp))
        if args.only in (None, "caption"):
            bench_caption_java(Path(tmp), 200 if args.quick else 1_000)


if __name__ == "__main__":
    main()
