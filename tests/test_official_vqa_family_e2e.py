"""End to end on textvqa, textvqa_ocr, okvqa, gqa and shapes_gqa: `evalkit run` and `evalkit score`.

One `evalkit run` subprocess drives all five tasks with the constant reply "Yes." over the tiny
hub-schema copies of ``official_data_vqa_family.py`` (GQA's questions joined to its images
config through ``dataset.join``); the arithmetic behind each expected score is in the tests.
`evalkit score` tests feed tricky replies with outcomes worked out by hand, and bad input
must fail in one line naming the row and the column while keeping finished records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import official_data_vqa_family as vf
import pytest
from PIL import Image
from test_official_tasks_e2e import approx_all, cli, read_jsonl, score

from evalkit.synthetic import generate_rows

REPO = Path(__file__).resolve().parents[1]
SUFFIX = "\nAnswer the question using a single word or phrase."
TASKS = "textvqa,textvqa_ocr,okvqa,gqa,shapes_gqa"
SHAPES_SIZE = 8  # images of shapes_gqa -> 40 rows


class Run:
    """The five tasks, run once with ``mock:constant=Yes.``."""

    def __init__(self, root: Path) -> None:
        self.data, self.out = root / "data", root / "out"
        for build in (vf.build_textvqa, vf.build_okvqa, vf.build_gqa):
            build(self.data)
        self.env = {**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")}
        self.doc = cli(["run", "--model", f"mock:constant={vf.REPLY}", "--tasks", TASKS, "--data-dir", str(self.data),
                        "--size", str(SHAPES_SIZE), "--output-dir", str(self.out), "--run-name", "yes", "--json",
                        "--no-progress"], self.env)  # fmt: skip

    def task(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return self.doc["tasks"][name], read_jsonl(self.out / "yes" / f"{name}.samples.jsonl")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(tmp_path_factory.mktemp("vqa_family"))


# ------------------------------------------------------------------------------ evalkit run
def test_textvqa_run_normalises_both_sides_and_averages_leave_one_out(run: Run) -> None:
    result, records = run.task("textvqa")
    # reply "Yes." -> EvalAI "yes"; every answer is EvalAI-processed too (VQAv2's vqaEval would not):
    #   10 x "yes"               -> 1
    #   3 x "Yes", 7 x "no"      -> "yes" x 3 -> (3 * 2/3 + 7 * 1) / 10 = 0.9
    #   2 x "yes.", 8 x "No"     -> (2 * 1/3 + 8 * 2/3) / 10 = 0.6
    #   "YES!", 9 x "nope"       -> "YES!" -> "yes" -> (1 * 0 + 9 * 1/3) / 10 = 0.3
    #   10 x "joe's"             -> "joe 's" -> 0
    # mean 2.8 / 5 = 56
    assert [r["score"] for r in records] == pytest.approx([1.0, 0.9, 0.6, 0.3, 0.0])
    approx_all(result["metrics"], {"accuracy": 56.0})
    assert result["n"] == 5 and result["dataset"]["split"] == "validation"  # the test decoy is not read
    # lmms-eval's question.capitalize() lower-cases the rest of the question
    assert [r["prompt"] for r in records[:2]] == [
        "What does the sign say?" + SUFFIX,
        "Is this a nike shoe?" + SUFFIX,
    ]


def test_textvqa_ocr_run_lists_the_ocr_tokens_like_llava(run: Run) -> None:
    result, records = run.task("textvqa_ocr")
    approx_all(result["metrics"], {"accuracy": 56.0})
    assert records[0]["prompt"] == "What does the sign say?\nReference OCR token: STOP, ahead" + SUFFIX
    assert records[2]["prompt"] == "What brand is it?\nReference OCR token: " + SUFFIX  # no tokens


def test_okvqa_run_uses_vqaeval_which_leaves_identical_answers_raw(run: Run) -> None:
    result, records = run.task("okvqa")
    # vqaEval.py (c4e6a0e): the reply "Yes." -> "yes"; answers get the punctuation pass only
    # when they differ, and are never lower-cased:
    #   10 x "yes" -> 1;  10 x "Yes" -> 0 (raw "Yes");  4 x "yes", 6 x "no" -> 1;
    #   2 x "yes", 8 x "no" -> (2 * 1/3 + 8 * 2/3) / 10 = 0.6;  5 x "yes.", 5 x "no" -> 1;
    #   10 x "unanswerable" -> 0.  Mean 3.6 / 6 = 60 (both val2014 shards, not the train decoy).
    assert [r["score"] for r in records] == pytest.approx([1.0, 0.0, 1.0, 0.6, 1.0, 0.0])
    approx_all(result["metrics"], {"accuracy": 60.0})
    assert result["n"] == 6 and result["dataset"]["files"] == 2
    assert records[0]["prompt"] == (
        "What sport is 0?\nWhen the provided information is insufficient, respond with 'Unanswerable'."
        + SUFFIX
    )


def test_gqa_run_joins_images_and_scores_balanced_questions(run: Run) -> None:
    result, records = run.task("gqa")
    # official: "Yes." -> rstrip(".").lower() -> "yes", compared with the raw answer.
    # balanced rows 201-206: yes, no, yes, left, table, yes -> right, wrong, right, wrong, wrong,
    # right = 3/6; row 207 is not balanced: unscored. binary (not "query") 3/5, open ("query") 0/1.
    assert [r["score"] for r in records] == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, None]
    approx_all(result["metrics"], {"accuracy": 50.0, "binary": 60.0, "open": 0.0})
    approx_all({k: v["accuracy"] for k, v in result["breakdown"].items()},
               {"structural/verify": 50.0, "structural/logical": 100.0, "structural/choose": 0.0,
                "structural/query": 0.0, "structural/compare": 100.0, "semantic/attr": 100.0,
                "semantic/rel": 0.0, "semantic/obj": 100.0, "semantic/cat": 0.0})  # fmt: skip
    assert result["n"] == 7 and result["dataset"]["join"]["config"] == "testdev_balanced_images"
    assert records[0]["prompt"] == "Question 201?" + SUFFIX and records[0]["error"] is None
    # each question got the image its imageId names (sizes differ per image)
    for record in records:
        with Image.open(run.out / "yes" / "images" / "gqa" / f"{record['doc_id']}.jpg") as thumb:
            assert thumb.size == vf.GQA_IMAGES[record["fields"]["imageId"]]


def test_shapes_gqa_run_scores_the_generated_rows_like_gqa(run: Run) -> None:
    result, records = run.task("shapes_gqa")
    rows = generate_rows("shapes_gqa", n=SHAPES_SIZE, seed=0)
    right = [float(row["answer"] == "yes") for row in rows]  # "Yes." is right exactly on "yes"
    assert [r["score"] for r in records] == right and 0 < sum(right) < len(rows)
    approx_all(result["metrics"], {"accuracy": 100 * sum(right) / len(rows)})
    assert {r["fields"]["types"]["structural"] for r in records} == {
        "verify",
        "query",
        "choose",
        "logical",
        "compare",
    }


# ---------------------------------------------------------------------------- evalkit score
def test_textvqa_score_file_official_and_robust(tmp_path: Path) -> None:
    table = [  # answers, reply, official, robust (each worked out in test_scoring_textvqa.py)
        (["yes"] * 10, "The answer is yes.", 0.0, 1.0),  # officially "answer is yes"
        (["coca cola"] * 3 + ["coke"] * 7, "Coca-Cola", 0.9, 0.9),  # "-" between letters -> space
        (["new york"] * 10, "New York, NY", 0.0, 1.0),  # officially "new york ny"; robust: first clause
        (["joe's"] * 10, "Joe\u2019s", 0.0, 1.0),  # a curly apostrophe is no "'s" officially
    ]
    rows = [{"question_id": n, "answers": a, "response": r} for n, (a, r, _, _) in enumerate(table)]
    official, samples = score(tmp_path, "textvqa", rows)
    assert [s["score"] for s in samples] == pytest.approx([t[2] for t in table])
    approx_all(official["metrics"], {"accuracy": 22.5})
    robust, samples = score(tmp_path, "textvqa", rows, "--parser", "robust")
    assert [s["score"] for s in samples] == pytest.approx([t[3] for t in table])
    approx_all(robust["metrics"], {"accuracy": 97.5})


def test_gqa_score_file_three_modes(tmp_path: Path) -> None:
    table = [  # answer, structural, reply, official, lmms-eval, robust
        ("yes", "verify", "Yes.", 1, 1, 1),
        ("yes", "verify", "Yes!", 0, 1, 1),  # only "." is stripped officially
        ("no", "logical", "No, there is not.", 0, 0, 1),  # robust: first clause
        ("left", "choose", "The answer is: left", 0, 0, 1),
        ("t-shirt", "query", "T-shirt", 1, 1, 1),
        ("table", "query", "a wooden table", 0, 0, 0),  # robust drops "a", "wooden" stays
    ]
    rows = [{"id": str(n), "answer": a, "isBalanced": True, "types": {"structural": s, "semantic": "attr"},
             "response": r} for n, (a, s, r, *_) in enumerate(table)]  # fmt: skip
    for column, mode, metrics in ((3, "official", {"accuracy": 100 / 3, "binary": 25.0, "open": 50.0}),
                                  (4, "lmms-eval", {"accuracy": 50.0, "binary": 50.0, "open": 50.0}),
                                  (5, "robust", {"accuracy": 500 / 6, "binary": 100.0, "open": 50.0})):  # fmt: skip
        doc, samples = score(tmp_path, "gqa", rows, "--parser", mode)
        assert [s["score"] for s in samples] == [float(t[column]) for t in table], mode
        approx_all(doc["metrics"], metrics)


def test_score_commands_never_import_torch(tmp_path: Path) -> None:
    rows = {"textvqa": {"question_id": 1, "answers": ["yes"] * 10},
            "okvqa": {"question_id": "1", "answers": ["yes"] * 10},
            "gqa": {"id": "1", "answer": "yes", "isBalanced": True},
            "shapes_gqa": {"id": "1", "answer": "yes"}}  # fmt: skip
    code = (
        "import sys, json\nfrom evalkit.score_file import score_predictions_file\nfrom pathlib import Path\n"
        "for task in sys.argv[2:]:\n"
        "    doc = score_predictions_file(Path(sys.argv[1]) / (task + '.jsonl'), task)\n"
        "    assert doc['metrics']['accuracy'] == 100.0, doc\n"
        "print('torch' in sys.modules)\n"
    )
    for task, row in rows.items():
        (tmp_path / f"{task}.jsonl").write_text(json.dumps({**row, "response": "Yes"}) + "\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), *rows], capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


# -------------------------------------------------------------------------------- bad input
def test_score_file_row_without_answers_fails_in_one_line_naming_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "preds.jsonl"
    lines = [
        {"question_id": 7, "answers": ["yes"] * 10, "response": "yes"},
        {"question_id": 8, "response": "no"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = subprocess.run([sys.executable, "-m", "evalkit", "score", "--task", "textvqa", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "row 8" in proc.stderr and "'answers'" in proc.stderr
    gqa = tmp_path / "gqa.jsonl"
    gqa.write_text(json.dumps({"id": "99", "question": "Q?", "response": "yes"}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "evalkit", "score", "--task", "gqa", str(gqa)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "row 99" in proc.stderr and "'answer'" in proc.stderr


def test_run_on_data_without_answers_fails_in_one_line_and_keeps_the_records(tmp_path: Path) -> None:
    vf.build_textvqa(tmp_path / "data", with_answers=False)
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")}
    args = ["run", "--model", "mock:yes", "--tasks", "textvqa", "--data-dir", str(tmp_path / "data"),
            "--output-dir", str(tmp_path / "out"), "--run-name", "bad", "--no-progress"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=180)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith("error: textvqa: row 34602 has no 'answers' column")
    assert proc.stderr.strip().count("\n") == 0
    records = read_jsonl(tmp_path / "out" / "bad" / "textvqa.samples.jsonl")
    assert [r["response"] for r in records] == ["yes"] * 5  # generated work is kept for a re-run
