"""End to end on the official task specs: tiny hub-schema parquet data, `evalkit run` and `evalkit score`.

`evalkit run` tests drive the real task YAMLs and hooks over ``--data-dir`` copies built by
``official_data.py`` with a constant mock reply; rows are chosen so that the constant gives a
known, non-trivial score (the arithmetic is in each test). To stay fast, tasks sharing a reply
run in one subprocess (module-scoped). `evalkit score` tests feed a JSONL of tricky replies,
each row's official and robust outcome worked out by hand from the official algorithm.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import official_data as od
import pytest

REPO = Path(__file__).resolve().parents[1]
PERCEPTION_SUFFIX = "\nAnswer the question using a single word or phrase."
# METEOR's JVM takes ~20 s to start on a loaded machine, so Java runs once in this file (the
# COCO `evalkit score` test); the caption run and the DOCCI score test hide `java` from PATH.
RUNS_WITHOUT_JAVA = {"caption"}
RUNS = {  # run name -> (mock model, tasks sharing that reply)
    "yes": ("mock:yes", "mme,pope,pope_random,vqav2"),
    "cat": ("mock:constant=cat", "mmbench,mmmu"),
    "box": ("mock:constant=<box>(250,250),(750,750)</box>", "refcoco,refcoco_testA"),
    "caption": (f"mock:constant={od.CAPTION_REPLY}", "docci,coco2017_cap"),
}


def cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -m evalkit ARGS`` and return its ``--json`` document."""
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=180)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def without_java(env: dict[str, str]) -> dict[str, str]:
    """``env`` with PATH reduced to the interpreter's folder, so ``shutil.which("java")`` fails."""
    return {**env, "PATH": str(Path(sys.executable).parent)}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Runs:
    """Builds every dataset once and runs each group of tasks once, on first use."""

    def __init__(self, root: Path) -> None:
        self.root, self.data, self.out = root, root / "data", root / "out"
        for build in (od.build_mme, od.build_pope, od.build_vqav2, od.build_mmbench, od.build_mmmu,
                      od.build_refcoco, od.build_docci, od.build_coco_cap):  # fmt: skip
            build(self.data)
        self.env = {**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")}
        self.docs: dict[str, dict[str, Any]] = {}

    def task(self, run: str, task: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The task's entry in results.json and its records, in doc_id order."""
        if run not in self.docs:
            model, tasks = RUNS[run]
            env = without_java(self.env) if run in RUNS_WITHOUT_JAVA else self.env
            self.docs[run] = cli(["run", "--model", model, "--tasks", tasks, "--data-dir", str(self.data),
                                  "--output-dir", str(self.out), "--run-name", run, "--json", "--no-progress"],
                                 env)  # fmt: skip
        return self.docs[run]["tasks"][task], read_jsonl(self.out / run / f"{task}.samples.jsonl")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("official"))


def score(
    tmp_path: Path, task: str, rows: list[dict[str, Any]], *flags: str, env: dict[str, str] | None = None
) -> tuple[dict, list[dict]]:
    """`evalkit score --task TASK FILE --json FLAGS`: the document and the per-row samples."""
    path = tmp_path / f"{task}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    samples = tmp_path / f"{task}{'_'.join(flags)}.samples.jsonl".replace("/", "")
    doc = cli(
        ["score", "--task", task, str(path), "--json", "--samples-out", str(samples), *flags],
        env or dict(os.environ),
    )
    assert doc["task"] == task and doc["n"] == len(rows)
    return doc, read_jsonl(samples)


def approx_all(got: dict[str, float], want: dict[str, float]) -> None:
    assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-6), got


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two (x1, y1, x2, y2) boxes, in float64 (the scorer works in float32: compare ~1e-5)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def qwen_box_official(width: int, height: int) -> tuple[float, ...]:
    """Qwen-VL's mapping of (250,250),(750,750): coordinates / 999 * width or height."""
    return (250 / 999 * width, 250 / 999 * height, 750 / 999 * width, 750 / 999 * height)


# ------------------------------------------------------------------------------ evalkit run
def test_mme_run_sums_acc_and_acc_plus_over_subtasks_with_lmms_eval_prompt(runs: Runs) -> None:
    result, records = runs.task("yes", "mme")
    # "yes" to every question: each image has a Yes and a No question (gold is "Yes"/"No",
    # lower-cased), so every subtask has acc 50 and acc+ 0 -> score 50; pairs are found by
    # question_id although they are not adjacent in the file.
    # perception = existence 50 + OCR 50; cognition = code_reasoning 50.
    approx_all(result["metrics"], {"perception": 100.0, "cognition": 50.0})
    for subtask in ("existence", "OCR", "code_reasoning"):
        approx_all(result["breakdown"][subtask], {"acc": 50.0, "acc_plus": 0.0, "score": 50.0})
    assert result["breakdown"]["existence"]["n"] == 4 and result["n"] == 8 and result["parser"] == "official"
    # lmms-eval drops MME's own " Please answer yes or no." and appends its post-prompt
    assert records[0]["prompt"] == "Is there a train in this image?" + PERCEPTION_SUFFIX
    assert result["dataset"]["split"] == "test" and result["dataset"]["files"] == 1


def test_pope_run_pools_categories_and_takes_yes_ratio_from_predictions(runs: Runs) -> None:
    result, records = runs.task("yes", "pope")
    # 12 rows, all predicted yes: random 3 yes/1 no, popular 2/2, adversarial 1/3.
    # pooled: TP 6, FP 6 -> accuracy 50, precision 50, recall 100, F1 2*50*100/150 = 66.67,
    # yes_ratio 100 (of the predictions; the ground truth's would be 50).
    approx_all(result["metrics"], {"accuracy": 50.0, "precision": 50.0, "recall": 100.0,
                                   "f1": 200 / 3, "yes_ratio": 100.0})  # fmt: skip
    # per category: random P 75 -> F1 2*75*100/175; adversarial P 25 -> F1 2*25*100/125 = 40.
    # The pooled F1 (66.67) is not the mean of the categories' (64.13).
    approx_all(result["breakdown"]["random"], {"accuracy": 75.0, "precision": 75.0, "f1": 15000 / 175})
    approx_all(result["breakdown"]["popular"], {"accuracy": 50.0, "f1": 200 / 3})
    approx_all(result["breakdown"]["adversarial"], {"accuracy": 25.0, "precision": 25.0, "f1": 40.0})
    assert records[0]["prompt"] == "Is there a thing0 in the image?" + PERCEPTION_SUFFIX
    random_only, random_records = runs.task("yes", "pope_random")
    assert random_only["n"] == 4 and [r["doc_id"] for r in random_records] == [0, 1, 2, 3]
    approx_all(random_only["metrics"], {"accuracy": 75.0, "recall": 100.0, "f1": 15000 / 175})


def test_vqav2_run_scores_leave_one_out_and_normalises_only_the_reply(runs: Runs) -> None:
    result, records = runs.task("yes", "vqav2")
    # reply "yes" (normalised "yes") against the ten answers, averaged over the 10
    # leave-one-out subsets of min(1, matches/3):
    #   10 x "yes"               -> 1
    #   3 x "yes", 7 x "no"      -> (3 * 2/3 + 7 * 3/3) / 10 = 0.9
    #   10 x "Yes"               -> 0   (identical answers are not processed: "Yes" != "yes")
    #   2 x "Yes", 8 x "yes"     -> 1   (8 matches; the punctuation pass does not lower-case)
    #   1 x "yes", 9 x "no"      -> (1 * 0 + 9 * 1/3) / 10 = 0.3
    #   10 x "2" (number)        -> 0
    #   4 x "yes.", 6 x "maybe"  -> 1   (answers differ, so "yes." loses its period: 4 matches)
    # yes/no: 3.2 / 5 = 64; number: 0; other: 100; overall 4.2 / 7 = 60.
    assert result["n"] == 7  # the testdev file beside validation is not read
    approx_all(result["metrics"], {"accuracy": 60.0})
    assert [r["score"] for r in records] == pytest.approx([1.0, 0.9, 0.0, 1.0, 0.3, 0.0, 1.0])
    approx_all({k: v["accuracy"] for k, v in result["breakdown"].items() if k.startswith("answer_type")},
               {"answer_type/yes/no": 64.0, "answer_type/number": 0.0, "answer_type/other": 100.0})  # fmt: skip
    assert records[0]["prompt"] == "Is it thing 0?" + PERCEPTION_SUFFIX


def test_mmbench_run_needs_every_circular_copy_right(runs: Runs) -> None:
    result, records = runs.task("cat", "mmbench")
    # reply "cat": no option letter, so VLMEvalKit matches option text; copy k has the options
    # shifted by k and its answer letter shifted with them.
    #   group 0 (cat/dog/bird/fish, right "cat", 4 copies) -> every copy right -> right
    #   group 1 (same options, right "dog")                 -> "cat" is wrong  -> wrong
    #   group 2 (cat/dog, C and D null, right "cat")        -> both copies right -> right
    #   group 3 (red/green/blue, right "red")               -> nothing inferred -> wrong
    # accuracy 2/4 = 50; category attribute_recognition {0, 2} 100, image_scene {1, 3} 0;
    # L2 Coarse Perception {0, 1, 2} 2/3, Fine-grained Perception {3} 0.
    assert result["n"] == 13 and result["dataset"]["split"] == "dev" and result["dataset"]["files"] == 1
    approx_all(result["metrics"], {"accuracy": 50.0})
    approx_all({k: v["accuracy"] for k, v in result["breakdown"].items()},
               {"category/attribute_recognition": 100.0, "category/image_scene": 0.0,
                "L2-category/Coarse Perception": 200 / 3,
                "L2-category/Fine-grained Perception (single-instance)": 0.0})  # fmt: skip
    by_index = {r["fields"]["index"]: r for r in records}
    assert [by_index[i]["parsed"] for i in (0, 1_000_000, 2_000_000, 3_000_000)] == ["A", "D", "C", "B"]
    assert by_index[0]["prompt"] == (
        "Which is it? (0) There are several options:\nA. cat\nB. dog\nC. bird\n"
        "D. fish\n\nAnswer with the option's letter from the given choices directly."
    )
    assert by_index[2]["prompt"].startswith("Which is it? (2) There are several options:\nA. cat\nB. dog\n\n")
    assert by_index[1]["prompt"].startswith("Look at the animal. Which is it? (1)")


def test_mmmu_run_parses_open_answers_and_falls_back_at_random_for_letters(runs: Runs) -> None:
    result, records = runs.task("cat", "mmmu")
    # reply "cat": the 3 open questions compare normalised strings: gold "cat" right,
    # "['Cat', 'feline']" (a list stored as a string) right, "dog" wrong. The 4
    # multiple-choice replies hold no letter and are under 6 words: random fallback.
    by_id = {r["fields"]["id"]: r for r in records}
    assert [by_id[f"validation_Biology_{n}"]["score"]["score"] for n in (1, 2, 3)] == [1.0, 1.0, 0.0]
    assert {r["score"]["method"] for r in records if r["fields"]["question_type"] != "open"} == {"random"}
    assert result["n"] == 7 and result["dataset"]["split"] == "validation"
    assert by_id["validation_Math_1"]["prompt"] == (
        "<image 1> <image 2> Which one matches?\nA. 1\nB. 2\nC. 3\nD. 4\n\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert (
        by_id["validation_Biology_3"]["prompt"]
        == "<image 1> What animal is this?\n\n" + PERCEPTION_SUFFIX[1:]
    )


def test_mmmu_run_random_fallback_is_mmmus_stream_seeded_42(runs: Runs) -> None:
    """The issue: "in official mode one stream seeded 42 as MMMU does", consumed in id order."""
    result, records = runs.task("cat", "mmmu")
    # MMMU: random.seed(42), then random.choice(["A", "B", "C", "D"]) per unparsable reply in
    # id order (Art_Theory_1, Art_Theory_2, Math_1, Physics_1; the file holds them shuffled).
    # Python's stream seeded 42 draws A, A, C, B; the answers are A, B, C, B -> 3 of 4 right.
    # With the 3 open questions (2 right): 5/7.
    by_id = {r["fields"]["id"]: r["parsed"] for r in records}
    assert [
        by_id[f"validation_{q}"] for q in ("Art_Theory_1", "Art_Theory_2", "Math_1", "Physics_1")
    ] == list("AACB")
    approx_all(result["metrics"], {"accuracy": 500 / 7})


def test_refcoco_run_reads_image_size_and_maps_the_qwen_grid_by_999(runs: Runs) -> None:
    result, records = runs.task("box", "refcoco")
    # reply (250,250),(750,750) on the 0-1000 grid -> (250/999*w, 250/999*h, 750/999*w, 750/999*h),
    # w and h read from each image (the hub rows have no size columns):
    #   200x100, bbox [50,25,100,50]    -> IoU 0.996 hit (swapping w and h would miss: 0.067)
    #   100x200, bbox [25,50,50,100]    -> IoU 0.996 hit
    #   640x480, bbox [0,0,320,240]     -> IoU 0.142 miss
    #   300x300, bbox [0,0,30,30]       -> IoU 0     miss
    #   640x480, bbox [160,120,320,240] -> IoU 0.996 hit
    #   500x250, bbox [250,125,250,125] -> IoU 0.144 miss
    ious = [iou(qwen_box_official(*size), (x, y, x + w, y + h)) for size, (x, y, w, h) in od.REFCOCO_ROWS]
    assert [r["score"]["iou"] for r in records] == pytest.approx(ious, rel=1e-5)
    assert [r["score"]["hit"] for r in records] == [True, True, False, False, True, False]
    approx_all(result["metrics"], {"acc@0.5": 50.0, "parse_failure_rate": 0.0})
    assert result["metrics"]["miou"] == pytest.approx(100 * sum(ious) / 6, rel=1e-5)
    assert [(r["fields"]["image_width"], r["fields"]["image_height"]) for r in records] == [
        s for s, _ in od.REFCOCO_ROWS
    ]
    assert "<ref>the block number 0</ref>" in records[0]["prompt"]
    test_a, _ = runs.task("box", "refcoco_testA")
    assert result["n"] == 6 and test_a["n"] == 2 and test_a["dataset"]["split"] == "testA"
    approx_all(test_a["metrics"], {"acc@0.5": 100.0})


@pytest.mark.parametrize("task", ["docci", "coco2017_cap"])
def test_caption_run_without_java_falls_back_and_labels_the_backend(runs: Runs, task: str) -> None:
    result, records = runs.task("caption", task)  # run with `java` off PATH (see RUNS_WITHOUT_JAVA)
    # reply "A red square, on a white background." -> PTB-like tokens "a red square on a white
    # background" (7). Rows 0-2 have a reference with exactly these tokens, rows 3-5 only
    # references of 7 tokens sharing none of them.
    # BLEU-n: clipped matches 3*(7, 6, 5, 4) over guesses 6*(7, 6, 5, 4) -> 1/2 for every n,
    # reference length 42 = hypothesis length (no brevity penalty) -> every BLEU-n 0.5.
    # ROUGE-L: 1 on rows 0-2, 0 on rows 3-5 -> 0.5.
    # CIDEr-D: the reply's n-grams occur in 3 of 6 images (idf log 2 > 0); the matching
    # reference gives cosine 1 for n = 1..4 with no length penalty -> 10 / (number of references):
    # DOCCI (1 reference) 10 on rows 0-2 -> 5.0; COCO (5 references, the 4 others scoring 0)
    # 2 on rows 0-2 -> 1.0.
    # nltk METEOR (alpha 0.9, beta 3, gamma 0.5): an exact 7-word match is one chunk ->
    # 1 - 0.5 * (1/7)**3; averaged with three 0s -> 0.5 * (1 - 0.5/343).
    assert result["n"] == 6
    want = {f"bleu_{n}": 0.5 for n in (1, 2, 3, 4)}
    approx_all(result["metrics"], {**want, "rouge_l": 0.5, "cider": 5.0 if task == "docci" else 1.0,
                                   "meteor": 0.5 * (1 - 0.5 / 343)})  # fmt: skip
    assert result["info"]["backend"].startswith("python")
    assert [r["parsed"] for r in records] == ["a red square on a white background"] * 6
    prompt = (
        "Describe this image in detail."
        if task == "docci"
        else "Provide a one-sentence caption for the provided image."
    )
    assert records[0]["prompt"] == prompt


# ---------------------------------------------------------------------------- evalkit score
def test_mme_score_file_official_and_robust(tmp_path: Path) -> None:
    table = [  # question_id, category, answer, response, right officially, right in robust mode
        ("existence/1.jpg", "existence", "Yes", "Yes.", 1, 1),  # "yes" within the first 4 chars
        ("count/3.jpg", "count", "No", "Not sure", 1, 1),  # "not " holds "no"; robust: "not"
        ("existence/2.jpg", "existence", "Yes", "The answer is yes.", 0, 1),  # official: other
        ("OCR/4.jpg", "OCR", "Yes", "Yesterday", 1, 0),  # robust: whole words only -> other
        ("existence/1.jpg", "existence", "No", "No, there is not.", 1, 1),
        ("count/3.jpg", "count", "Yes", "  yes", 0, 1),  # official does not strip: other
        ("code_reasoning/5.png", "code_reasoning", "Yes", "YES", 1, 1),
        ("existence/2.jpg", "existence", "No", "no", 1, 1),
        ("OCR/4.jpg", "OCR", "No", "noon", 1, 0),
        ("code_reasoning/5.png", "code_reasoning", "No", "There is no error", 0, 1),
    ]
    rows = [{"question_id": q, "question": "Is it? Please answer yes or no.", "answer": a, "category": c,
             "response": r} for q, c, a, r, _, _ in table]  # fmt: skip
    official, samples = score(tmp_path, "mme", rows)
    assert [s["score"]["score"] for s in samples] == [t[4] for t in table]
    # existence: acc 3/4 = 75, acc+ 1/2 images = 50 -> 125; count: 50 + 0; OCR: 100 + 100;
    # perception 125 + 50 + 200 = 375; cognition: code_reasoning 50 + 0 = 50.
    approx_all(official["metrics"], {"perception": 375.0, "cognition": 50.0})
    approx_all(official["breakdown"]["existence"], {"acc": 75.0, "acc_plus": 50.0, "score": 125.0})
    robust, samples = score(tmp_path, "mme", rows, "--parser", "robust")
    assert [s["score"]["score"] for s in samples] == [t[5] for t in table]
    # existence 200, count 200, OCR 0 -> 400; code_reasoning 200
    approx_all(robust["metrics"], {"perception": 400.0, "cognition": 200.0})
    assert robust["parser"] == "robust"


def test_pope_score_file_official_and_robust(tmp_path: Path) -> None:
    table = [  # question_id, category, answer, response, official parse, robust parse
        ("1", "random", "yes", "Yes, there is a dog.", "yes", "yes"),
        ("2", "random", "no", "Yes, there is no cat", "no", "no"),  # "no" anywhere in sentence 1
        ("3", "popular", "no", "No!", "yes", "no"),  # official splits on spaces: "No!" is no word
        ("4", "popular", "yes", "There is a cat. No other animals.", "yes", "yes"),  # sentence 1 only
        ("5", "adversarial", "no", "NO", "yes", "no"),
        ("6", "adversarial", "no", "There isn't a cat.", "yes", "no"),
        ("7", "adversarial", "yes", "", "yes", "other"),  # robust: no words -> other (a miss)
        ("8", "random", "no", "No, there is not.", "no", "no"),
    ]
    rows = [{"question_id": q, "question": "Is there a cat in the image?", "answer": a, "category": c,
             "response": r} for q, c, a, r, _, _ in table]  # fmt: skip
    official, samples = score(tmp_path, "pope", rows)
    assert [s["parsed"] for s in samples] == [t[4] for t in table]
    # TP {1,4,7}, FP {3,5,6}, TN {2,8}: accuracy 5/8, precision 3/6, recall 3/3,
    # F1 2*50*100/150, yes_ratio 6/8 (of the predictions)
    approx_all(official["metrics"], {"accuracy": 62.5, "precision": 50.0, "recall": 100.0,
                                     "f1": 200 / 3, "yes_ratio": 75.0})  # fmt: skip
    approx_all(official["breakdown"]["random"], {"accuracy": 100.0, "f1": 100.0, "yes_ratio": 100 / 3})
    approx_all(official["breakdown"]["adversarial"], {"accuracy": 100 / 3, "precision": 100 / 3, "f1": 50.0})
    robust, samples = score(tmp_path, "pope", rows, "--parser", "robust")
    assert [s["parsed"] for s in samples] == [t[5] for t in table]
    # TP {1,4}, TN {2,3,5,6,8}, FN {7}: accuracy 7/8, precision 2/2, recall 2/3, F1 80, yes_ratio 2/8
    approx_all(robust["metrics"], {"accuracy": 87.5, "precision": 100.0, "recall": 200 / 3,
                                   "f1": 80.0, "yes_ratio": 25.0})  # fmt: skip


MMBENCH_SCORE_GROUPS = (
    (
        ("cat", "dog", "bird", "fish"),
        "cat",
        None,
        "attribute_recognition",
        "Fine-grained Perception (single-instance)",
    ),
    (("cat", "dog"), "dog", "Look.", "attribute_recognition", "Coarse Perception"),
    (("red", "green", "blue"), "green", None, "image_scene", "Fine-grained Perception (single-instance)"),
    (("true", "false"), "true", None, "image_scene", "Coarse Perception"),
)


def test_mmbench_score_file_circular_groups_official_and_robust(tmp_path: Path) -> None:
    table = [  # index, response, right officially (VLMEvalKit can_infer), right in robust mode
        (0, "A", 1, 1),
        (1_000_000, "The answer is D.", 1, 1),  # copy 1: dog/bird/fish/cat -> D
        (2_000_000, "C. cat", 1, 1),
        (3_000_000, "cat", 1, 1),  # option text -> B (fish/cat/dog/bird)
        (1, "B", 1, 1),  # cat/dog, right "dog"
        (1_000_001, "A dog is shown in the picture, not a cat", 0, 1),  # letter not in last 4 tokens
        (2, "**B**", 1, 1),
        (1_000_002, "I'm sorry, but without the image provided I cannot answer.", 0, 0),  # refusal: Z
        (2_000_002, "C", 1, 1),
        (3, "The correct answer is **A**", 1, 1),
        (1_000_003, "b", 0, 1),  # a lower-case letter: official finds nothing
    ]
    by_index = {row["index"]: row for row in od.mmbench_rows(MMBENCH_SCORE_GROUPS)}
    keep = ("index", "question", "hint", "A", "B", "C", "D", "answer", "category", "L2-category")
    rows = [{**{k: by_index[i][k] for k in keep}, "response": r} for i, r, _, _ in table]
    official, samples = score(tmp_path, "mmbench", rows)
    assert [s["score"]["score"] for s in samples] == [t[2] for t in table]
    # groups (all copies right?): 0 yes, 1 no, 2 no, 3 no -> 25
    approx_all(official["metrics"], {"accuracy": 25.0})
    approx_all({k: v["accuracy"] for k, v in official["breakdown"].items()},
               {"category/attribute_recognition": 50.0, "category/image_scene": 0.0,
                "L2-category/Fine-grained Perception (single-instance)": 50.0, "L2-category/Coarse Perception": 0.0})  # fmt: skip
    robust, samples = score(tmp_path, "mmbench", rows, "--parser", "robust")
    assert [s["score"]["score"] for s in samples] == [t[3] for t in table]
    approx_all(robust["metrics"], {"accuracy": 75.0})  # groups 0, 1, 3 right; 2 has the refusal


def test_mmmu_score_file_official_stream_and_robust(tmp_path: Path) -> None:
    animals, three = "['cat', 'dog', 'bird', 'fish']", "['up', 'down', 'left']"
    table = [  # id, options, answer, response, right officially, right in robust mode
        ("Physics_3", three, "B", "b\n", 0, 1),  # official: random, 2nd draw of the stream: A
        ("Art_Theory_1", animals, "B", "(B)", 1, 1),
        ("Art_Theory_2", animals, "A", "I think it is (A) cat, not (B) dog", 0, 0),  # last one wins
        ("Art_Theory_3", animals, "C", "C.", 1, 1),
        ("Math_1", animals, "D", "The answer is D, because the bird flies", 0, 1),  # official: text "bird"
        ("Math_2", "[]", "2.5", "x = 2.50", 1, 1),  # open: numbers compared as floats
        ("Math_3", "[]", "['24/7', '3.429']", "3.429", 1, 1),  # a list stored as a string
        ("Physics_1", "[]", "Newton", "The unit is newton.", 1, 1),
        ("Physics_2", three, "C", "c.", 1, 1),  # official: random, 1st draw: C
    ]
    # official: random.seed(42) once; unparsable replies draw in id order (Physics_2, then
    # Physics_3, although the file lists Physics_3 first): random.choice("ABC") -> C, then A.
    rows = [{"id": f"validation_{i}", "question": "<image 1> Which?", "options": o, "answer": a,
             "question_type": "open" if o == "[]" else "multiple-choice", "response": r}
            for i, o, a, r, _, _ in table]  # fmt: skip
    official, samples = score(tmp_path, "mmmu", rows)
    assert [s["score"]["score"] for s in samples] == [t[4] for t in table]
    approx_all(official["metrics"], {"accuracy": 600 / 9})
    approx_all({k: v["accuracy"] for k, v in official["breakdown"].items()},
               {"Art_Theory": 200 / 3, "Math": 200 / 3, "Physics": 200 / 3, "Overall-Science": 400 / 6})  # fmt: skip
    assert official["info"]["random_fallbacks"] == 2 and official["info"]["seed"] == 42
    robust, samples = score(tmp_path, "mmmu", rows, "--parser", "robust")
    assert [s["score"]["score"] for s in samples] == [t[5] for t in table]
    approx_all(robust["metrics"], {"accuracy": 800 / 9})
    assert robust["info"]["random_fallbacks"] == 0


def test_vqav2_score_file_three_modes_and_submission(tmp_path: Path) -> None:
    table = [  # answer_type, ten answers, response, official (c4e6a0e), official-2021, robust
        ("number", ["2"] * 10, "Two", 1.0, 0.0, 1.0),  # reply normalised "2"; 2021: identical GT -> raw
        ("number", ["two"] * 10, "2", 0.0, 0.0, 1.0),  # identical answers are never normalised
        ("yes/no", ["yes"] * 10, "Yes", 1.0, 0.0, 1.0),  # 2021: "Yes" against ten "yes" scores 0
        ("other", ["red"] * 3 + ["blue"] * 7, "red.", 0.9, 0.9, 0.9),  # (3*2/3 + 7*1)/10
        ("other", ["a dog"] * 8 + ["dog"] * 2, "the dog", 0.6, 1.0, 1.0),  # official: GT keeps "a"
        ("number", ["10"] + ["ten"] * 9, "10", 0.3, 1.0, 1.0),  # official: 1 match -> 9*(1/3)/10
        ("other", ["blue"] * 10, "", 0.0, 0.0, 0.0),
        ("number", ["1,000"] * 10, "1,000", 0.0, 1.0, 1.0),  # reply -> "1000", GT left "1,000"
    ]
    rows = [{"question_id": 100 + n, "question": "How many?", "answers": od.vqa_answers(answers),
             "answer_type": atype, "response": reply} for n, (atype, answers, reply, *_) in enumerate(table)]  # fmt: skip
    submission = tmp_path / "submission.json"
    docs = {}
    for column, mode, accuracy in ((3, "official", 47.5), (4, "official-2021", 48.75), (5, "robust", 86.25)):
        flags = ["--parser", mode] + (["--submission", str(submission)] if mode == "official" else [])
        docs[mode], samples = score(tmp_path, "vqav2", rows, *flags)
        assert [s["score"] for s in samples] == pytest.approx([t[column] for t in table]), mode
        approx_all(docs[mode]["metrics"], {"accuracy": accuracy})
    # official by answer_type: number (1 + 0 + 0.3 + 0)/4, yes/no 1/1, other (0.9 + 0.6 + 0)/3
    approx_all({k: v["accuracy"] for k, v in docs["official"]["breakdown"].items() if k.startswith("answer_type")},
               {"answer_type/number": 32.5, "answer_type/yes/no": 100.0, "answer_type/other": 50.0})  # fmt: skip
    assert json.loads(submission.read_text())[:2] == [
        {"question_id": 100, "answer": "Two"},
        {"question_id": 101, "answer": "2"},
    ]


def test_refcoco_score_file_official_999_grid_and_robust_formats(tmp_path: Path) -> None:
    table = [  # (w, h), bbox, response, official hit, robust hit (adapter declares qwen_0_1000)
        ((200, 100), [50, 25, 100, 50], "<ref>the cat</ref><box>(250,250),(750,750)</box>", True, True),
        ((640, 480), [160, 120, 320, 240], "[0.25, 0.25, 0.75, 0.75]", False, True),  # 0-1 floats
        ((200, 100), [50, 25, 100, 50], "<box>(250, 250), (750, 750)</box>", False, True),  # spaces
        ((300, 300), [0, 0, 30, 30], "The object is at (100,100)", False, False),  # no box at all
        ((100, 200), [25, 50, 50, 100], "(250,250),(750,750) and (0,0),(10,10)", True, True),  # first pair
        ((640, 480), [0, 0, 320, 240], "<box>(250,250),(750)</box>", False, False),  # a point lacks y
    ]
    rows = [{"question_id": str(n), "answer": ["the cat"], "bbox": bbox, "image_width": w, "image_height": h,
             "response": r} for n, ((w, h), bbox, r, _, _) in enumerate(table)]  # fmt: skip
    official, samples = score(tmp_path, "refcoco", rows)
    assert [s["score"]["hit"] for s in samples] == [t[3] for t in table]
    # hits: rows 0 and 4, IoU of (250/999*w, ..., 750/999*h) with the centre box: 0.99601;
    # rows 1, 2, 3, 5 fall back to the box (0,0,0,0) and count as parse failures.
    hit_iou = iou(qwen_box_official(200, 100), (50, 25, 150, 75))
    approx_all(official["metrics"], {"acc@0.5": 100 / 3, "parse_failure_rate": 200 / 3})
    assert official["metrics"]["miou"] == pytest.approx(100 * 2 * hit_iou / 6, rel=1e-5)
    robust, samples = score(tmp_path, "refcoco", rows, "--parser", "robust", "--box-format", "qwen_0_1000")
    assert [s["score"]["hit"] for s in samples] == [t[4] for t in table]
    # robust divides the grid by 1000: rows 0, 2, 4 are exact (IoU 1); row 1's floats in [0, 1]
    # are fractions of the image: exact too. Rows 3 and 5 have no box.
    approx_all(robust["metrics"], {"acc@0.5": 200 / 3, "miou": 200 / 3, "parse_failure_rate": 100 / 3})


def test_docci_score_file_without_java_uses_the_python_backend(tmp_path: Path) -> None:
    table = [  # example_id, description (the one reference), response
        ("test_00000", od.CAPTION_MATCH, od.CAPTION_REPLY),  # same 7 tokens once "," and "." go
        ("test_00001", "Two brown dogs run through tall grass.", "two brown dogs"),  # 3 of 7 tokens
        ("test_00002", "An empty blue sky.", "the green field"),  # nothing shared
    ]
    rows = [{"example_id": e, "description": d, "response": r} for e, d, r in table]
    doc, _ = score(tmp_path, "docci", rows, env=without_java(dict(os.environ)))
    # BLEU: hypothesis 7+3+3 = 13 tokens, references 7+7+4 = 18 -> brevity exp(1 - 18/13);
    # clipped precisions 1-4: (7+3+0)/13, (6+2+0)/10, (5+1+0)/7, (4+0+0)/4.
    precisions, brevity = [10 / 13, 8 / 10, 6 / 7, 4 / 4], math.exp(1 - 18 / 13)
    bleu = {f"bleu_{n}": brevity * math.prod(precisions[:n]) ** (1 / n) for n in (1, 2, 3, 4)}
    # ROUGE-L (beta 1.2): 1; P = 3/3, R = 3/7 -> (1 + 1.44) P R / (R + 1.44 P); 0.
    rouge_1 = 2.44 * (3 / 7) / (3 / 7 + 1.44)
    # CIDEr-D (one reference, idf log 3 for every n-gram): 10; row 1 cosines 3/sqrt(3*7),
    # 2/sqrt(2*6), 1/sqrt(1*5), 0 (no 4-gram), length penalty exp(-(2-6)**2 / 72) on bigram
    # counts, times 10/4; row 2: 0.
    cider_1 = 10 * math.exp(-16 / 72) * (3 / math.sqrt(21) + 2 / math.sqrt(12) + 1 / math.sqrt(5)) / 4
    # nltk METEOR: row 0 one chunk of 7 -> 1 - 0.5/343; row 1: P 1, R 3/7, Fmean =
    # P R / (0.9 P + 0.1 R), one chunk of 3 -> (1 - 0.5/27) Fmean; row 2: 0.
    meteor_1 = (1 - 0.5 / 27) * (3 / 7) / (0.9 + 0.1 * 3 / 7)
    approx_all(doc["metrics"], {**bleu, "rouge_l": (1 + rouge_1) / 3, "cider": (10 + cider_1) / 3,
                                "meteor": (1 - 0.5 / 343 + meteor_1) / 3})  # fmt: skip
    assert doc["info"]["backend"].startswith("python")


def test_coco_caption_score_file_with_the_java_ptb_tokenizer_and_meteor(tmp_path: Path) -> None:
    rows = [  # question_id, the five references, response
        {"question_id": "000000000139.jpg", "answer": [od.CAPTION_MATCH, *od.CAPTION_OTHERS[:4]],
         "response": "A RED square,  on a white background!"},  # PTB: lower-cased, "," and "!" dropped
        {"question_id": "000000000285.jpg", "answer": list(od.CAPTION_OTHERS), "response": "a red square"},
    ]  # fmt: skip
    doc, samples = score(tmp_path, "coco2017_cap", rows)
    # BLEU: hypotheses 7 + 3 tokens, closest references 7 + 7 -> brevity exp(1 - 14/10);
    # clipped precisions: 7/10, 6/(6+2), 5/(5+1), 4/(4+0).
    precisions, brevity = [7 / 10, 6 / 8, 5 / 6, 4 / 4], math.exp(1 - 14 / 10)
    bleu = {f"bleu_{n}": brevity * math.prod(precisions[:n]) ** (1 / n) for n in (1, 2, 3, 4)}
    # ROUGE-L: best precision and recall over the references: 1 and 0 -> 0.5.
    # CIDEr-D: the four shared references occur in both images (idf 0); the exact one gives
    # cosine 1 for n = 1..4 -> 10 * 1 / 5 references = 2; the second image 0 -> 1.0.
    approx_all(doc["metrics"], {**bleu, "rouge_l": 0.5, "cider": 1.0})
    assert 0 < doc["metrics"]["meteor"] < 1 and samples[1]["score"]["meteor"] == 0
    assert doc["info"]["backend"].startswith("java")
    assert samples[0]["parsed"] == "a red square on a white background"


# ------------------------------------------------------------- --data-dir layouts (in-process)
def load_rows(
    task: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[dict[str, Any]]:
    """The rows `evalkit run --data-dir DATA_DIR --tasks TASK` would evaluate (filter applied)."""
    import datasets.config

    from evalkit.data import load_task_dataset
    from evalkit.registry import default_registry

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")
    spec = default_registry().get(task)
    loaded = load_task_dataset(spec, data_dir=data_dir)
    doc_ids = loaded.select_doc_ids(spec.filter, None, spec.subset, 0)
    return [row for _, row in loaded.iter_rows(doc_ids)]


def test_mmbench_data_dir_with_every_config_reads_only_en_dev(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a snapshot of lmms-lab/MMBench holds each config in its folder: en/, cn/, cc/
    folder = od.build_mmbench(tmp_path / "data")
    chinese = [{**row, "question": "它是哪个？"} for row in od.mmbench_rows()]
    od.write_hub_parquet(folder / "cn" / "dev-00000-of-00001.parquet", chinese, od.MMBENCH_FEATURES)
    od.write_hub_parquet(folder / "cc" / "test-00000-of-00001.parquet", chinese[:2], od.MMBENCH_FEATURES)
    rows = load_rows("mmbench", tmp_path / "data", monkeypatch, tmp_path)
    assert len(rows) == 13 and {row["question"][:5] for row in rows} == {"Which"}


def test_docci_parquet_conversion_reads_test_not_qual_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the hub's parquet conversion of google/docci (refs/convert/parquet): <config>/<split>/0000.parquet
    rows = [{"image": od.image_cell((9, 9, 9)), "example_id": f"{split}_{n}", "description": od.CAPTION_MATCH}
            for split in ("test", "qual_test", "train") for n in range(2)]  # fmt: skip
    for split in ("test", "qual_test", "train"):
        part = [row for row in rows if row["example_id"].rsplit("_", 1)[0] == split]
        od.write_hub_parquet(
            tmp_path / "data" / "docci" / "default" / split / "0000.parquet", part, od.DOCCI_FEATURES
        )
    loaded = load_rows("docci", tmp_path / "data", monkeypatch, tmp_path)
    assert [row["example_id"] for row in loaded] == ["test_0", "test_1"]


def test_docci_local_reads_the_released_jsonlines_and_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    od.build_docci_release(tmp_path / "data" / "docci")  # splits: test, test, train, qual_test
    rows = load_rows("docci_local", tmp_path / "data", monkeypatch, tmp_path)
    assert [row["example_id"] for row in rows] == ["test_00000", "test_00001"]
    assert [row["description"] for row in rows] == list(od.CAPTION_OTHERS[:2])


def test_coco2017_cap_limit_takes_a_seeded_subset() -> None:
    """`--limit 600 --seed S` must pick the same images every time: a seeded, not a head, subset."""
    from evalkit.registry import default_registry

    assert default_registry().get("coco2017_cap").subset == "seeded"
