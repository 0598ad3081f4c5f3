"""End to end on ocrbench, docvqa and shapes_docvqa: `evalkit run` over tiny hub-schema parquet
(``official_data_ocr_docs.py``) with one constant mock reply, `evalkit score` on tricky replies in
both parser modes, and bad input (no answers) failing with one line while records stay on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import official_data_ocr_docs as ocd
import pytest
from test_official_tasks_e2e import REPO, approx_all, cli, read_jsonl, score

from evalkit.scoring.anls import anls_score
from evalkit.synthetic import generate_rows

DOCVQA_SUFFIX = "\nAnswer the question using a single word or phrase."


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One `evalkit run` of the three tasks (5 synthetic documents), reply ``$50.54``."""
    root = tmp_path_factory.mktemp("ocr_docs")
    ocd.build_ocrbench(root / "data")
    ocd.build_docvqa(root / "data")
    env = {**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")}
    doc = cli(["run", "--model", f"mock:constant={ocd.REPLY}", "--tasks", "ocrbench,docvqa,shapes_docvqa",
               "--data-dir", str(root / "data"), "--output-dir", str(root / "out"), "--run-name", "r",
               "--size", "5", "--json", "--no-progress"], env)  # fmt: skip
    return doc, root / "out" / "r"


def test_ocrbench_run_sums_containment_hits_per_group(run: tuple[dict[str, Any], Path]) -> None:
    doc, folder = run
    result, records = doc["tasks"]["ocrbench"], read_jsonl(folder / "ocrbench.samples.jsonl")
    # reply "$50.54" (lower-cased, stripped) contains: "$50.54" yes; "5" yes; "cafe" no; "50.5" yes;
    # "$50.54" yes (first of two); "50,54" no; HME "5 0 . 5 4" without spaces "50.54" yes; "x^{2}" no.
    assert [r["score"] for r in records] == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    approx_all(result["metrics"], {"final_score": 5.0, "accuracy": 62.5, "text_recognition": 2.0,
                                   "scene_text_vqa": 1.0, "doc_oriented_vqa": 1.0, "key_information_extraction": 0.0,
                                   "math_expression_recognition": 1.0})  # fmt: skip
    assert result["breakdown"]["group/Text Recognition"] == {
        "score": 2.0,
        "n": 3.0,
        "accuracy": pytest.approx(200 / 3),
    }
    assert result["breakdown"]["dataset/HME100k"]["accuracy"] == 50.0
    assert result["n"] == 8 and result["dataset"]["split"] == "test" and result["dataset"]["files"] == 1
    assert records[0]["prompt"] == "what is written in the image? (0)"  # lmms-eval strips, adds nothing


def test_docvqa_run_scores_anls_with_the_raw_length_denominator(run: tuple[dict[str, Any], Path]) -> None:
    doc, folder = run
    result, records = doc["tasks"]["docvqa"], read_jsonl(folder / "docvqa.samples.jsonl")
    # 1 - distance / max(raw lengths), 0 below 0.5, reply "$50.54" (6 characters):
    #   "$50.54" 1;  "50.54" 1 - 1/6;  "$50" 1 - 3/6 = 0.5 (kept: only < 0.5 is zeroed);
    #   "50" 1 - 4/6 -> 0;  "$5,054" two substitutions 1 - 2/6;  best of "fifty dollars" and
    #   "$50.54 usd" (4 insertions over 10 characters): 0.6.  Mean 3.6 / 6 = 60.
    assert [r["score"] for r in records] == pytest.approx([1.0, 5 / 6, 0.5, 0.0, 2 / 3, 0.6])
    approx_all(result["metrics"], {"anls": 60.0})
    # form rows 0, 2, 5; table/list rows 1, 5; layout row 3; figure/diagram row 4
    approx_all({k: v["anls"] for k, v in result["breakdown"].items()},
               {"form": 70.0, "table/list": (5 / 6 + 0.6) * 50, "layout": 0.0, "figure/diagram": 200 / 3})  # fmt: skip
    assert result["n"] == 6 and result["dataset"]["files"] == 2  # both validation shards, no test/train
    assert records[0]["prompt"] == "What is the total amount in row 0?" + DOCVQA_SUFFIX


def test_shapes_docvqa_run_matches_anls_on_the_generated_documents(run: tuple[dict[str, Any], Path]) -> None:
    doc, folder = run
    result, records = doc["tasks"]["shapes_docvqa"], read_jsonl(folder / "shapes_docvqa.samples.jsonl")
    rows = generate_rows("shapes_docvqa", n=5, seed=0, image_size=192)
    assert [r["fields"]["answers"] for r in records] == [row["answers"] for row in rows]
    # only the first invoice's total is "$50.54"; the other totals differ in 4 of 6 characters
    assert rows[0]["answers"] == ["$50.54", "50.54"]
    assert [r["score"] for r in records] == [anls_score(ocd.REPLY, row["answers"]) for row in rows]
    approx_all(result["metrics"], {"anls": 10.0})
    assert result["n"] == 10 and records[1]["prompt"].endswith(DOCVQA_SUFFIX)


OCRBENCH_SCORE_TABLE = [  # dataset, question_type, answers, response, official, robust
    ("IIIT5K", "Regular Text Recognition", ["Hello"], "The word is HELLO.", 1, 1),
    ("ORAND", "Digit String Recognition", ["1"], "10", 1, 0),  # robust: no digit glued to the answer
    ("svt", "Irregular Text Recognition", [""], "anything", 1, 0),  # an empty answer is in every reply
    ("IAM", "Handwriting Recognition", ["new york"], "New\tYork", 0, 1),  # only "\n" becomes a space
    ("textVQA", "Scene Text-centric VQA", ["ＡＢＣ"], "abc", 0, 1),  # full-width letters fold under NFKC
    ("HME100k", "Handwritten Mathematical Expression Recognition", ["X ^ 2"], "x^2", 0, 0),  # case kept
    ("HME100k", "Handwritten Mathematical Expression Recognition", ["x ^ 2"], "$x^2$\t", 1, 1),
    ("HME100k", "Handwritten Mathematical Expression Recognition", ["a+b"], "a\t+b", 0, 1),  # tab stays
    ("SROIE", "Key Information Extraction", ["12.50", "$12.50"], "", 0, 0),
]


def test_ocrbench_score_file_official_and_robust(tmp_path: Path) -> None:
    rows = [{"dataset": d, "question": "?", "question_type": t, "answer": a, "response": r}
            for d, t, a, r, _, _ in OCRBENCH_SCORE_TABLE]  # fmt: skip
    for column, mode in ((4, "official"), (5, "robust")):
        doc, samples = score(tmp_path, "ocrbench", rows, "--parser", mode)
        want = [t[column] for t in OCRBENCH_SCORE_TABLE]
        assert [s["score"] for s in samples] == want, mode
        assert doc["metrics"]["final_score"] == sum(want)
    assert doc["metrics"]["math_expression_recognition"] == 2.0


DOCVQA_SCORE_TABLE = [  # answers, response, official, robust
    (["Paris"], "paris.", 1 - 1 / 6, 1.0),  # robust drops the trailing period
    (["a"], "   ", 1 - 1 / 3, 0.0),  # official: whitespace still counts in the denominator
    (["12"], "１２", 0.0, 1.0),  # full-width digits: NFKC
    (["New York"], "new   york", 1.0, 1.0),  # inner whitespace collapses in both modes
    (["straße"], "STRASSE", 1 - 2 / 7, 1.0),  # lower() keeps ß (2 edits); casefold gives "strasse"
    (["ßß"], "x", 0.5, 0.0),  # upper() makes "SSSS": the official denominator doubles
    (["ab"], "abc", 1 - 1 / 3, 1 - 1 / 3),
]


def test_docvqa_score_file_official_and_robust(tmp_path: Path) -> None:
    rows = [{"questionId": str(n), "question": "?", "question_types": ["form"], "answers": a, "response": r}
            for n, (a, r, _, _) in enumerate(DOCVQA_SCORE_TABLE)]  # fmt: skip
    for column, mode in ((2, "official"), (3, "robust")):
        doc, samples = score(tmp_path, "docvqa", rows, "--parser", mode)
        want = [t[column] for t in DOCVQA_SCORE_TABLE]
        assert [s["score"] for s in samples] == pytest.approx(want), mode
        assert doc["metrics"]["anls"] == pytest.approx(100 * sum(want) / len(want))


def test_score_of_all_three_tasks_imports_no_torch(tmp_path: Path) -> None:
    """`evalkit score` for each task in one interpreter: ground-truth replies score full marks."""
    files = {}
    synthetic = generate_rows("shapes_docvqa", n=3, seed=1)
    shapes = [
        {k: v for k, v in row.items() if k != "image"} | {"response": row["answers"][0]} for row in synthetic
    ]
    ocr = [{"dataset": "IIIT5K", "question": "?", "question_type": "Regular Text Recognition", "answer": ["hi"],
            "response": "hi"}]  # fmt: skip
    docs = [{"questionId": "1", "question": "?", "answers": ["x"], "response": "X"}]
    for task, rows in (("ocrbench", ocr), ("docvqa", docs), ("shapes_docvqa", shapes)):
        files[task] = tmp_path / f"{task}.jsonl"
        files[task].write_text("".join(json.dumps(row) + "\n" for row in rows))
    code = (
        "import json, sys; from evalkit.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"for task, path in {[(t, str(p)) for t, p in files.items()]!r}:\n"
        "    r = CliRunner().invoke(app, ['score', '--task', task, path, '--json'])\n"
        "    assert r.exit_code == 0, r.output\n"
        "    metrics = json.loads(r.output)['metrics']\n"
        "    assert metrics.get('anls', metrics.get('accuracy')) == 100.0, (task, metrics)\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr


def evalkit_failing(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    return lines[0]


def test_empty_answers_list_fails_in_one_line_and_keeps_the_records(tmp_path: Path) -> None:
    rows = ocd.docvqa_rows()
    rows[2]["answers"] = []
    ocd.write_hub_parquet(tmp_path / "data" / "DocVQA" / "DocVQA" / "validation-00000-of-00001.parquet",
                          rows, ocd.DOCVQA_FEATURES)  # fmt: skip
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")}
    line = evalkit_failing(["run", "--model", "mock:constant=x", "--tasks", "docvqa", "--data-dir",
                            str(tmp_path / "data"), "--output-dir", str(tmp_path / "out"), "--run-name", "bad",
                            "--no-progress"], env)  # fmt: skip
    assert "questionId='57349'" in line and "empty 'answers' list" in line
    records = read_jsonl(tmp_path / "out" / "bad" / "docvqa.samples.jsonl")
    assert [r["response"] for r in records] == ["x"] * 6  # the generated replies are on disk


@pytest.mark.parametrize(
    ("task", "row", "message"),
    [
        ("docvqa", {"questionId": "77", "question": "?"}, "row questionId='77' has no 'answers' field"),
        ("ocrbench", {"dataset": "svt", "question": "Read it", "question_type": "Regular Text Recognition"},
         "row at position 1 (question 'Read it') has no 'answer' field"),
    ],
)  # fmt: skip
def test_a_row_without_answers_names_the_row_and_the_field(
    tmp_path: Path, task: str, row: dict[str, Any], message: str
) -> None:
    good = {"questionId": "1", "question": "?", "answers": ["a"], "dataset": "svt", "answer": ["a"],
            "question_type": "Regular Text Recognition", "response": "a"}  # fmt: skip
    path = tmp_path / "preds.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**row, "response": "a"}) + "\n")
    line = evalkit_failing(["score", "--task", task, str(path)], dict(os.environ))
    assert message in line
