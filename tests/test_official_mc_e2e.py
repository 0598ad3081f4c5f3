"""End to end on scienceqa_img, ai2d, seedbench and shapes_seedbench: `evalkit run` and `evalkit score`.

One `evalkit run` subprocess evaluates all four tasks with the constant reply "B" on tiny
hub-schema parquet (``official_data_mc.py``) and the synthetic twin; one more subprocess scores
prediction files of tricky replies with `evalkit score` in every parser mode of each task (via the
CLI app) and checks that it never imports torch, transformers or datasets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import official_data_mc as mc
import pytest
from official_data import write_hub_parquet

from evalkit.synthetic import generate_rows

REPO = Path(__file__).resolve().parents[1]
INSTRUCTION = "Answer with the option's letter from the given choices directly."
TASKS = "scienceqa_img,ai2d,seedbench,shapes_seedbench"
SHAPES_SIZE = 14


def evalkit(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=180)  # fmt: skip


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def approx_all(got: dict[str, float], want: dict[str, float]) -> None:
    assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-6), got


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """All four tasks, one subprocess, reply "B": the results document and the run folder."""
    root = tmp_path_factory.mktemp("mc")
    for build in (mc.build_scienceqa, mc.build_ai2d, mc.build_seedbench):
        build(root / "data")
    env = {**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")}
    proc = evalkit(["run", "--model", "mock:constant=B", "--tasks", TASKS, "--data-dir", str(root / "data"),
                    "--size", str(SHAPES_SIZE), "--output-dir", str(root / "out"), "--run-name", "b", "--json",
                    "--no-progress"], env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), root / "out" / "b"


def test_scienceqa_img_run_reads_the_img_config_and_breaks_down_like_evaluate_acc(run: tuple) -> None:
    doc, folder = run
    result = doc["tasks"]["scienceqa_img"]
    # "B" is right where the answer index is 1: rows 0, 2, 4 of 5 (decoy split and config unread)
    assert result["n"] == 5 and result["dataset"]["files"] == 1
    approx_all(result["metrics"], {"accuracy": 60.0})
    approx_all({k: v["accuracy"] for k, v in result["breakdown"].items()},
               {"subject/natural science": 50.0, "subject/social science": 100.0, "subject/language science": 0.0,
                "grade/G1-6": 100.0, "grade/G7-12": 100 / 3, "context/TXT": 50.0, "context/IMG": 60.0})  # fmt: skip
    assert "context/NO" not in result["breakdown"]  # every ScienceQA-IMG row has an image
    records = read_jsonl(folder / "scienceqa_img.samples.jsonl")
    assert (
        records[0]["prompt"] == f"Which one is it? (test 0)\nA. a rock\nB. a plant\nC. a cloud\n{INSTRUCTION}"
    )
    assert records[1]["prompt"] == (
        f"Context: A passage about magnets.\nWhich one is it? (test 1)\nA. attract\nB. repel\n{INSTRUCTION}"
    )
    assert [r["parsed"] for r in records] == ["B"] * 5 and records[0]["fields"]["has_image"] is True


def test_ai2d_run_uses_the_lmms_eval_prompt(run: tuple) -> None:
    doc, folder = run
    result = doc["tasks"]["ai2d"]
    assert result["n"] == 4 and result["breakdown"] == {}
    approx_all(result["metrics"], {"accuracy": 50.0})  # answers "1", "0", "1", "3"
    record = read_jsonl(folder / "ai2d.samples.jsonl")[0]
    assert (
        record["prompt"] == f"Which part is labelled 0?\nA. leaf\nB. stem\nC. root\nD. flower\n{INSTRUCTION}"
    )


def test_seedbench_run_keeps_image_questions_and_breaks_down_by_dimension(run: tuple) -> None:
    doc, folder = run
    result = doc["tasks"]["seedbench"]
    # 6 rows over two shards, 2 of them video: 4 image rows, answers B, A, B, C
    assert result["n"] == 4 and result["dataset"]["files"] == 2
    approx_all(result["metrics"], {"accuracy": 50.0})
    approx_all({k: v["accuracy"] for k, v in result["breakdown"].items()},
               {"Scene Understanding": 50.0, "Instances Counting": 100.0, "Text Understanding": 0.0})  # fmt: skip
    record = read_jsonl(folder / "seedbench.samples.jsonl")[0]
    assert (
        record["prompt"]
        == f"How many things are there? (0)\nA. one\nB. two\nC. three\nD. four\n{INSTRUCTION}"
    )


def test_shapes_seedbench_run_scores_the_twin_with_the_seedbench_scorer(run: tuple) -> None:
    doc, _ = run
    result = doc["tasks"]["shapes_seedbench"]
    answers = [row["answer"] for row in generate_rows("shapes_seedbench", n=SHAPES_SIZE, seed=0)]
    assert result["n"] == SHAPES_SIZE and 0 < answers.count("B") < SHAPES_SIZE
    approx_all(result["metrics"], {"accuracy": 100 * answers.count("B") / SHAPES_SIZE})


# --------------------------------------------------------------------------------- evalkit score
OPTIONS = {f"choice_{c}": text for c, text in zip("abcd", ("one", "two", "three", "four"))}
SQA_SCORES = (  # choices, answer, subject, grade, hint, reply -> official (LLaVA), lmms_eval, lmms_eval_2024, robust
    (["cat", "dog", "bird"], 1, "natural science", "grade4", "", "B."),  # 0 1 0 1
    (["cat", "dog"], 0, "social science", "grade9", "Look.", "The answer is A."),  # 1 0 0 1
    (list("vwxyz"), 4, "language science", "grade12", "", "E"),  # 1 1 1 1
    (["one", "two", "three"], 2, "natural science", "grade1", "Count.", "c"),  # 0 1 1 1
    (["red", "blue"], 1, "social science", "grade6", "", "blue"),  # 0 0 0 1
    (["up", "down", "left"], 0, "natural science", "grade8", "", "A or B"),  # 0 0 0 0
)
AI2D_SCORES = (  # answer, reply -> official (lmms-eval), robust
    ("1", "(B)"),  # 1 1
    ("0", "A) leaf"),  # 0 1
    ("2", "c."),  # 1 1
    ("3", "The answer is D"),  # 0 1
    ("1", "Ｂ"),  # 0 1
    ("0", "B"),  # 0 0
)
SEED_SCORES = (  # question_type_id, data_type, answer, reply -> official (lmms-eval), llava, robust
    (1, "image", "B", "Because there are two"),  # 1 ("B"ecause) 0 1 (names "two")
    (1, "image", "A", "A"),  # 1 1 1
    (5, "image", "C", "(C)"),  # 0 0 1
    (5, "image", "D", "d"),  # 1 0 1
    (9, "image", "A", "B"),  # 0 0 0
    (9, "image", "B", "Banana"),  # 1 0 0
    (10, "video", "A", "A"),  # dropped by the task's filter
)
SCORE_FILES: dict[str, list[dict[str, Any]]] = {
    "scienceqa_img": [
        {"choices": c, "answer": a, "subject": s, "grade": g, "hint": h, "response": r}
        for c, a, s, g, h, r in SQA_SCORES
    ],
    "ai2d": [
        {"options": ["leaf", "stem", "root", "flower"], "answer": a, "response": r} for a, r in AI2D_SCORES
    ],
    "seedbench": [
        {**OPTIONS, "question_type_id": t, "data_type": d, "answer": a, "response": r}
        for t, d, a, r in SEED_SCORES
    ],
}
SCORE_JOBS = [  # task, parser, per-row outcomes, accuracy
    ("scienceqa_img", "official", [0, 1, 1, 0, 0, 0], 100 / 3),
    ("scienceqa_img", "lmms_eval", [1, 0, 1, 1, 0, 0], 50.0),
    ("scienceqa_img", "lmms_eval_2024", [0, 0, 1, 1, 0, 0], 100 / 3),
    ("scienceqa_img", "robust", [1, 1, 1, 1, 1, 0], 500 / 6),
    ("ai2d", "official", [1, 0, 1, 0, 0, 0], 100 / 3),
    ("ai2d", "robust", [1, 1, 1, 1, 1, 0], 500 / 6),
    ("seedbench", "official", [1, 1, 0, 1, 0, 1], 400 / 6),
    ("seedbench", "llava", [0, 1, 0, 0, 0, 0], 100 / 6),
    ("seedbench", "robust", [1, 1, 1, 1, 0, 0], 400 / 6),
]
SCORE_SCRIPT = """
import json, sys
from typer.testing import CliRunner
from evalkit.cli import app
jobs, out = json.loads(sys.argv[1]), {}
for name, args in jobs:
    r = CliRunner().invoke(app, args)
    out[name] = {"exit_code": r.exit_code, "output": r.output}
out["heavy"] = [m for m in ("torch", "transformers", "datasets") if m in sys.modules]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """Every score job (and one bad file) in one fresh interpreter."""
    root = tmp_path_factory.mktemp("mc_score")
    for task, rows in SCORE_FILES.items():
        (root / f"{task}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    bad = [{**SCORE_FILES["ai2d"][0]}, {k: v for k, v in SCORE_FILES["ai2d"][1].items() if k != "answer"}]
    (root / "bad.jsonl").write_text("".join(json.dumps(row) + "\n" for row in bad))
    jobs = [(f"{task}:{mode}", ["score", "--task", task, str(root / f"{task}.jsonl"), "--parser", mode, "--json",
                                "--samples-out", str(root / f"{task}.{mode}.samples.jsonl")])
            for task, mode, _, _ in SCORE_JOBS]  # fmt: skip
    jobs.append(("bad", ["score", "--task", "ai2d", str(root / "bad.jsonl"), "--json"]))
    proc = subprocess.run([sys.executable, "-c", SCORE_SCRIPT, json.dumps(jobs)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), root


@pytest.mark.parametrize(("task", "mode", "outcomes", "accuracy"), SCORE_JOBS)
def test_score_file_in_every_parser_mode(
    scored: tuple, task: str, mode: str, outcomes: list, accuracy: float
) -> None:
    out, root = scored
    job = out[f"{task}:{mode}"]
    assert job["exit_code"] == 0, job["output"]
    doc = json.loads(job["output"])
    assert doc["task"] == task and doc["parser"] == mode and doc["n"] == len(outcomes)
    approx_all(doc["metrics"], {"accuracy": accuracy})
    samples = read_jsonl(root / f"{task}.{mode}.samples.jsonl")
    assert [s["score"]["score"] for s in samples] == [float(o) for o in outcomes]


def test_score_breakdowns_of_scienceqa_and_seedbench(scored: tuple) -> None:
    out, _ = scored
    sqa = json.loads(out["scienceqa_img:official"]["output"])["breakdown"]
    approx_all({k: v["accuracy"] for k, v in sqa.items()},
               {"subject/natural science": 0.0, "subject/social science": 50.0, "subject/language science": 100.0,
                "grade/G1-6": 0.0, "grade/G7-12": 200 / 3, "context/TXT": 50.0})  # fmt: skip
    assert not any(key in sqa for key in ("context/IMG", "context/NO"))  # a prediction file has no has_image
    seed = json.loads(out["seedbench:official"]["output"])["breakdown"]
    approx_all({k: v["accuracy"] for k, v in seed.items()},
               {"Scene Understanding": 100.0, "Instances Counting": 50.0, "Text Understanding": 50.0})  # fmt: skip


def test_score_path_imports_no_torch_and_rejects_a_row_without_answer(scored: tuple) -> None:
    out, _ = scored
    assert out["heavy"] == []
    bad = out["bad"]
    assert bad["exit_code"] == 2
    errors = [line for line in bad["output"].splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'answer'" in errors[0] and "ai2d" in errors[0]


def test_run_on_a_split_without_answers_fails_in_one_line_and_keeps_the_replies(tmp_path: Path) -> None:
    write_hub_parquet(tmp_path / "data" / "ai2d" / "data" / "test-00000-of-00001.parquet", mc.ai2d_rows(answers=False),
                      mc.AI2D_FEATURES)  # fmt: skip
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")}
    proc = evalkit(["run", "--model", "mock:constant=B", "--tasks", "ai2d", "--data-dir", str(tmp_path / "data"),
                    "--output-dir", str(tmp_path / "out"), "--run-name", "r", "--no-progress"], env)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:") and "'answer'" in errors[0], proc.stderr
    records = read_jsonl(tmp_path / "out" / "r" / "ai2d.samples.jsonl")
    assert [r["response"] for r in records] == ["B"] * 4
