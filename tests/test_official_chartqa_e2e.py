"""End to end on ``tasks/chartqa.yaml``: `evalkit run` on tiny hub-schema parquet, `evalkit score`,
and bad input (a row without its answer) that fails in one line and keeps the finished records.

The run uses the constant reply "12" on the rows of ``official_data_chartqa.CHARTQA_ROWS``; the
score-file tables hold each tricky reply's outcome in the three modes, worked out by hand from
lmms-eval's ``relaxed_correctness`` (official), Qwen-VL's ``evaluate_relaxed_accuracy``
(official-qwen) and the robust rules in ``evalkit/scoring/chartqa.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import official_data_chartqa as oc
import pytest
from test_official_tasks_e2e import REPO, approx_all, read_jsonl, score

SUFFIX = "\nAnswer the question with a single word."


def evalkit_run(data: Path, out: Path, tasks: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = ["run", "--model", f"mock:constant={oc.CHARTQA_REPLY}", "--tasks", tasks, "--data-dir", str(data),
            "--output-dir", str(out), "--run-name", "r", "--json", "--no-progress"]  # fmt: skip
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=180)  # fmt: skip


@pytest.fixture(scope="module")
def chartqa_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """chartqa and both variants in one subprocess; the results document and the run folder."""
    root = tmp_path_factory.mktemp("chartqa")
    oc.build_chartqa(root / "data")
    env = {**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")}
    proc = evalkit_run(root / "data", root / "out", "chartqa,chartqa_human,chartqa_augmented", env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), root / "out" / "r"


def test_chartqa_run_relaxed_accuracy_with_human_and_augmented_splits(chartqa_run) -> None:
    doc, run_dir = chartqa_run
    result = doc["tasks"]["chartqa"]
    records = read_jsonl(run_dir / "chartqa.samples.jsonl")
    # reply "12" (official: float 12) against the eight answers in file order:
    #   human:     "12" right, "12.5" right (4.0%), "11" wrong (9.1%), "Yes" wrong  -> 2/4 = 50
    #   augmented: "12%" wrong (read as 0.12), "11.5" right (4.3%), "0" wrong (a zero target is
    #              compared as text), "1.2.3" wrong (no number, text)            -> 1/4 = 25
    # overall 3/8 = 37.5; the decoy train file is not read.
    assert result["n"] == 8 and result["dataset"]["split"] == "test" and result["dataset"]["files"] == 1
    approx_all(result["metrics"], {"accuracy": 37.5})
    assert result["breakdown"] == {
        "augmented": {"accuracy": 25.0, "n": 4.0},
        "human": {"accuracy": 50.0, "n": 4.0},
    }
    assert [r["score"]["score"] for r in records] == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert [r["score"]["rule"] for r in records].count("numeric") == 5  # "Yes", "0", "1.2.3" as text
    assert records[0]["prompt"] == "How many bars are blue?" + SUFFIX and records[0]["target"] == "12"
    assert result["parser"] == "official" and result["info"]["nonfinite_targets"] == 0


def test_chartqa_variants_filter_by_type_and_keep_doc_ids(chartqa_run) -> None:
    doc, run_dir = chartqa_run
    human, augmented = doc["tasks"]["chartqa_human"], doc["tasks"]["chartqa_augmented"]
    assert (human["n"], augmented["n"]) == (4, 4)
    approx_all(human["metrics"], {"accuracy": 50.0})
    approx_all(augmented["metrics"], {"accuracy": 25.0})
    records = read_jsonl(run_dir / "chartqa_augmented.samples.jsonl")
    assert [r["doc_id"] for r in records] == [4, 5, 6, 7]


SCORE_TABLE = [  # type, answer, reply, official, official-qwen, robust
    ("human_test", "45", "45.", 1, 1, 1),  # float("45.") is 45
    ("human_test", "Yes", "Yes.", 0, 0, 1),  # a word with a trailing period is text
    ("human_test", "5", "five", 0, 0, 1),
    ("human_test", "-3", "\u22123", 0, 0, 1),  # unicode minus: float() refuses it
    ("human_test", "0.05", "5%", 1, 1, 1),
    ("human_test", "45", "45%", 0, 0, 1),  # officially 0.45
    ("augmented_test", "1000", "1,000", 0, 0, 1),
    ("augmented_test", "0", "0.0", 0, 0, 1),  # a zero target is compared as text
    ("augmented_test", "100", "95", 1, 0, 1),  # 5% of the target; Qwen-VL: 5/95 = 5.3% of the reply
    ("augmented_test", "35", "The answer is 35.", 0, 0, 1),
    ("augmented_test", "yes", " Yes", 0, 1, 1),  # lmms-eval does not strip; Qwen-VL does
    ("augmented_test", "2019", "2018", 1, 1, 0),  # robust: a year must be exact ("Which year ...?")
]


def test_chartqa_score_file_official_qwen_and_robust(tmp_path: Path) -> None:
    rows = [{"type": kind, "question": "Which year had the peak?" if answer == "2019" else "How much?",
             "answer": answer, "response": reply} for kind, answer, reply, *_ in SCORE_TABLE]  # fmt: skip
    # official: human 2/6 ("45.", "5%" -> 0.05), augmented 2/6 ("95" within 5%, "2018") -> 4/12
    # official-qwen: human 2/6, augmented 2/6 (" Yes" stripped, "2018") -> 4/12
    # robust: everything but the year 2018 -> 11/12; human 6/6, augmented 5/6
    expected = {"official": (3, 100 / 3, 100 / 3), "official-qwen": (4, 100 / 3, 100 / 3),
                "robust": (5, 100 * 11 / 12, 100.0)}  # fmt: skip
    for mode, (column, accuracy, human) in expected.items():
        doc, samples = score(tmp_path, "chartqa", rows, "--parser", mode)
        assert [s["score"]["score"] for s in samples] == [t[column] for t in SCORE_TABLE], mode
        approx_all(doc["metrics"], {"accuracy": accuracy})
        approx_all(doc["breakdown"]["human"], {"accuracy": human, "n": 6.0})
    assert samples[9]["parsed"] == "35" and samples[11]["score"]["rule"] == "year"  # robust


def test_chartqa_score_file_variant_keeps_its_type_and_imports_no_torch(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"type": k, "question": "q", "answer": a, "response": r}) + "\n"
                            for k, a, r, *_ in SCORE_TABLE))  # fmt: skip
    code = (
        "import sys, json; from evalkit.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['score', '--task', 'chartqa_human', {str(path)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "doc = json.loads(r.output); assert doc['n'] == 6 and round(doc['metrics']['accuracy'], 6) == 33.333333, doc\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [(None, "has no 'answer' field"), (12, "has a int 'answer'"), (["12"], "has a list 'answer'")],
)
def test_chartqa_score_file_row_without_a_string_answer_fails_in_one_line(
    tmp_path: Path, answer: Any, problem: str
) -> None:
    rows = [{"type": "human_test", "question": "How many?", "answer": "3", "response": "3"},
            {"type": "augmented_test", "question": "What is the total in 2020?", "response": "7"}]  # fmt: skip
    if answer is not None:
        rows[1]["answer"] = answer
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    proc = subprocess.run([sys.executable, "-m", "evalkit", "score", "--task", "chartqa", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "question 'What is the total in 2020?'" in lines[0] and problem in lines[0]


def test_chartqa_run_with_a_missing_answer_fails_in_one_line_and_keeps_the_records(tmp_path: Path) -> None:
    table = list(oc.CHARTQA_ROWS)
    table[5] = (*table[5][:2], None)  # the hub's string column holds a null
    oc.build_chartqa(tmp_path / "data", tuple(table))
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")}
    proc = evalkit_run(tmp_path / "data", tmp_path / "out", "chartqa", env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "'What was the revenue in 2019?'" in lines[0] and "no 'answer' field" in lines[0]
    )
    records = read_jsonl(tmp_path / "out" / "r" / "chartqa.samples.jsonl")
    assert sorted(r["doc_id"] for r in records) == list(range(8))
    assert all(r["response"] == oc.CHARTQA_REPLY for r in records)  # every generated reply is kept
