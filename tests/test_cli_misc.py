"""`evalkit list`, `evalkit score` on JSONL files, and the score path's light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def evalkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, timeout=120
    )


def test_list_tasks_shows_families_variants_groups_and_descriptions() -> None:
    proc = evalkit("list", "tasks")
    assert proc.returncode == 0, proc.stderr
    for name in (
        "mme",
        "pope",
        "pope_random",
        "pope_all",
        "mmbench",
        "mmmu",
        "vqav2",
        "refcoco",
        "docci",
        *("textvqa", "textvqa_ocr", "okvqa", "gqa", "scienceqa_img", "ai2d", "seedbench", "ocrbench"),
        *("chartqa", "docvqa", "flickr30k", "nocaps", "shapes_gqa", "shapes_seedbench", "shapes_docvqa"),
        *("general_vqa", "multiple_choice", "ocr_docs", "captioning", "shapes_extra"),
    ):
        assert name in proc.stdout, name
    assert "hallucination" in proc.stdout


def test_list_models_shows_every_prefix() -> None:
    proc = evalkit("list", "models")
    assert proc.returncode == 0
    for prefix in ("mock:", "hf:", "openai:", "visionpangu"):
        assert prefix in proc.stdout


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


POPE_PREDICTIONS = [
    # question_id, answer, category, response -> official parse
    {
        "question_id": 1,
        "question": "q",
        "answer": "yes",
        "category": "random",
        "response": "Yes, there is.",
    },  # yes TP
    {
        "question_id": 2,
        "question": "q",
        "answer": "no",
        "category": "random",
        "response": "Yes, there is no cat",
    },  # no TN
    {
        "question_id": 3,
        "question": "q",
        "answer": "no",
        "category": "popular",
        "response": "No!",
    },  # yes (flaw) FP
    {
        "question_id": 4,
        "question": "q",
        "answer": "yes",
        "category": "popular",
        "response": "no",
    },  # no FN
]


def test_score_pope_file_json_in_both_modes(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", POPE_PREDICTIONS)
    official = json.loads(evalkit("score", "--task", "pope", str(path), "--json").stdout)
    assert official["task"] == "pope" and official["parser"] == "official" and official["n"] == 4
    # TP=1 TN=1 FP=1 FN=1: accuracy 50, precision 50, recall 50, f1 50, yes ratio 50
    assert official["metrics"] == pytest.approx(
        {"accuracy": 50.0, "precision": 50.0, "recall": 50.0, "f1": 50.0, "yes_ratio": 50.0}
    )
    assert official["breakdown"]["random"]["accuracy"] == pytest.approx(100.0)
    robust = json.loads(evalkit("score", "--task", "pope", str(path), "--parser", "robust", "--json").stdout)
    # robust reads "No!" as no: TP=1 TN=2 FN=1 -> accuracy 75, yes ratio 25
    assert robust["metrics"]["accuracy"] == pytest.approx(75.0)
    assert robust["metrics"]["yes_ratio"] == pytest.approx(25.0)


def test_score_variant_keeps_only_its_category(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", POPE_PREDICTIONS)
    doc = json.loads(evalkit("score", "--task", "pope_random", str(path), "--json").stdout)
    assert doc["n"] == 2 and doc["metrics"]["accuracy"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"question_id": 1, "answer": "yes"}\n',
            "must be a JSON object with the row's fields and a 'response'",
        ),
        ('{"question_id": 1,\n', "p.jsonl:1: not valid JSON"),
        ("", "no predictions"),
    ],
)
def test_malformed_prediction_files_fail_in_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    proc = evalkit("score", "--task", "pope", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_unknown_parser_mode_is_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", POPE_PREDICTIONS)
    proc = evalkit("score", "--task", "pope", str(path), "--parser", "lenient")
    assert proc.returncode == 2 and "parser modes" in proc.stderr


def test_score_path_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", POPE_PREDICTIONS)
    code = (
        "import sys; from evalkit.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['score', '--task', 'pope', {str(path)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_score_rows_without_the_filter_column_are_an_error_not_dropped(tmp_path: Path) -> None:
    """seedbench keeps data_type == image: a file without data_type would otherwise score 0 rows."""
    from evalkit.score_file import PredictionFileError, keep_filtered

    rows = [{"data_type": "image", "response": "A"}, {"response": "B"}]
    with pytest.raises(PredictionFileError, match=r"p.jsonl: prediction 2 has no 'data_type'"):
        keep_filtered(rows, {"data_type": "image"}, "p.jsonl")
    assert keep_filtered(rows[:1], {"data_type": "image"}) == rows[:1]
    assert keep_filtered([{"data_type": "video"}], {"data_type": "image"}) == []
