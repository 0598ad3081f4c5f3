"""End to end on the flickr30k and nocaps task specs: `evalkit run` on tiny hub-schema parquet
(``official_data_captions.py``) and `evalkit score` on JSONL rows.

METEOR's JVM is slow to start, so every process here runs with ``java`` off PATH (the python
backend, labelled in ``info``); the Java path of the same scorer is checked on COCO in
``test_official_tasks_e2e.py``. With the constant reply "A red square, on a white background."
(PTB tokens "a red square on a white background", 7) exact-match rows score and the others share
no word; the references every image holds score 0 in CIDEr-D (IDF log(N/N) = 0).
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
import official_data_captions as odc
import pytest
from test_official_tasks_e2e import REPO, approx_all, read_jsonl, without_java

PROMPT = "Provide a one-sentence caption for the provided image."
EXACT_METEOR = 1 - 0.5 / 7**3  # nltk METEOR of an exact 7-word match (one chunk)


def evalkit(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=180)  # fmt: skip


def run_tasks(root: Path, data: Path, tasks: str) -> subprocess.CompletedProcess[str]:
    env = without_java({**os.environ, "HF_DATASETS_CACHE": str(root / "hf_cache")})
    return evalkit(["run", "--model", f"mock:constant={od.CAPTION_REPLY}", "--tasks", tasks, "--data-dir", str(data),
                    "--output-dir", str(root / "out"), "--run-name", "r", "--json", "--no-progress"], env)  # fmt: skip


@pytest.fixture(scope="module")
def run_doc(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One `evalkit run` of flickr30k and nocaps; its results document and run folder."""
    root = tmp_path_factory.mktemp("captions")
    odc.build_flickr30k(root / "data")
    odc.build_nocaps(root / "data")
    proc = run_tasks(root, root / "data", "flickr30k,nocaps")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), root / "out" / "r"


def test_flickr30k_run_reads_every_test_shard_and_the_caption_lists(run_doc: tuple[dict, Path]) -> None:
    doc, folder = run_doc
    result, records = doc["tasks"]["flickr30k"], read_jsonl(folder / "flickr30k.samples.jsonl")
    assert result["n"] == 4 and result["dataset"]["files"] == 2 and result["dataset"]["split"] == "test"
    # 4 images x 5 references; image 0 holds the reply's 7 tokens, images 1-3 nothing of it.
    # BLEU-n: clipped matches (7, 6, 5, 4) over guesses 4 x (7, 6, 5, 4) -> 1/4; hypothesis
    # length 28 = the closest references' 28 -> no brevity penalty. ROUGE-L 1, 0, 0, 0.
    # CIDEr-D: image 0's match has IDF log 4 and cosine 1 for n = 1..4, its 4 other references
    # (on every image) weigh 0 -> 10 / 5 references = 2; mean 2 / 4. METEOR: max over references.
    approx_all(result["metrics"], {**{f"bleu_{n}": 0.25 for n in (1, 2, 3, 4)}, "rouge_l": 0.25,
                                   "cider": 0.5, "meteor": EXACT_METEOR / 4})  # fmt: skip
    assert result["breakdown"] == {} and result["info"]["backend"].startswith("python")
    assert [r["fields"]["img_id"] for r in records] == list(odc.FLICKR30K_IDS)
    assert records[0]["prompt"] == PROMPT and records[0]["target"][-1] == od.CAPTION_MATCH
    assert records[0]["parsed"] == "a red square on a white background"


def test_nocaps_run_reads_validation_not_test_and_reports_no_domains(run_doc: tuple[dict, Path]) -> None:
    doc, folder = run_doc
    result, records = doc["tasks"]["nocaps"], read_jsonl(folder / "nocaps.samples.jsonl")
    # 5 validation images (the test shard's 2 caption-less rows are not read), 10 references
    # each; images 0-1 hold the reply's tokens: BLEU-n 2/5, ROUGE-L 2/5, CIDEr-D 10/10 = 1 on
    # images 0-1 (IDF log(5/2)) -> 0.4.
    assert result["n"] == 5 and result["dataset"]["split"] == "validation" and result["dataset"]["files"] == 2
    approx_all(result["metrics"], {**{f"bleu_{n}": 0.4 for n in (1, 2, 3, 4)}, "rouge_l": 0.4,
                                   "cider": 0.4, "meteor": 2 * EXACT_METEOR / 5})  # fmt: skip
    assert result["breakdown"] == {}  # lmms-lab/NoCaps rows carry no domain
    assert [r["fields"]["image_id"] for r in records] == [0, 1, 2, 3, 4]
    assert records[0]["prompt"] == PROMPT and len(records[0]["target"]) == 10


SCORE_SCRIPT = """
import json, sys
from typer.testing import CliRunner
from evalkit.cli import app
docs = []
for task, path, samples in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, ["score", "--task", task, path, "--json", "--samples-out", samples])
    assert r.exit_code == 0, r.output
    docs.append(json.loads(r.output))
heavy = [m for m in ("torch", "transformers", "datasets") if m in sys.modules]
print(json.dumps({"docs": docs, "heavy": heavy}))
"""

# nocaps rows as a user joins them with each image's domain from nocaps_val_4500_captions.json:
# (image_id, domain, references, response); every response but image 4's is the 7 tokens.
NOCAPS_ROWS = [
    (0, "in-domain", [od.CAPTION_MATCH], "A red square, on a white background."),
    (1, "in-domain", [odc.UNRELATED[0]], "A red square on a white background"),
    (2, "out-domain", [od.CAPTION_MATCH], "a red square on a white background."),
    (3, "out-domain", [od.CAPTION_MATCH], "A RED square on a white background!"),
    (4, "near-domain", [odc.UNRELATED[1]], ""),
    (5, "near-domain", [od.CAPTION_MATCH], od.CAPTION_MATCH),
]


def test_score_files_report_nocaps_domains_as_corpora_without_importing_torch(tmp_path: Path) -> None:
    flickr = [{**row, "response": reply} for row, reply in zip(
        [{k: v for k, v in r.items() if k != "image"} for r in odc.flickr30k_rows(odc.flickr30k_references(2))],
        [od.CAPTION_REPLY, ""])]  # fmt: skip
    nocaps = [{"image_id": i, "domain": d, "annotations_captions": refs, "response": reply}
              for i, d, refs, reply in NOCAPS_ROWS]  # fmt: skip
    jobs = []
    for task, rows in (("flickr30k", flickr), ("nocaps", nocaps)):
        path = tmp_path / f"{task}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        jobs.append((task, str(path), str(tmp_path / f"{task}.samples.jsonl")))
    env = without_java(dict(os.environ))
    proc = subprocess.run([sys.executable, "-c", SCORE_SCRIPT, json.dumps(jobs)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["heavy"] == []
    flickr_doc, nocaps_doc = out["docs"]
    # flickr30k: the exact reply and an empty one: 7 tokens against 14 -> brevity e^-1, precision 1;
    # CIDEr-D 10 / 5 references on image 0 (IDF log 2) -> 1.0; ROUGE-L 1, 0.
    approx_all(flickr_doc["metrics"], {**{f"bleu_{n}": math.exp(-1) for n in (1, 2, 3, 4)}, "rouge_l": 0.5,
                                       "cider": 1.0, "meteor": EXACT_METEOR / 2})  # fmt: skip
    # nocaps, entire: the reply's n-grams in 4 of 6 images' references -> CIDEr 10 on each of them;
    # BLEU: 35 tokens against 42 -> brevity exp(-0.2), precision 4/5.
    approx_all(nocaps_doc["metrics"], {**{f"bleu_{n}": 0.8 * math.exp(-0.2) for n in (1, 2, 3, 4)},
                                       "cider": 40 / 6, "rouge_l": 4 / 6})  # fmt: skip
    # each domain as a corpus: in-domain IDF log 2 -> (10 + 0)/2; out-domain: both images hold
    # the n-grams -> IDF 0 -> CIDEr 0 (their full-set CIDEr is 10 each); near-domain: 7 tokens
    # against 14 -> BLEU e^-1, CIDEr (0 + 10)/2.
    by_domain = nocaps_doc["breakdown"]
    approx_all(by_domain["in-domain"], {"cider": 5.0, "bleu_4": 0.5, "rouge_l": 0.5, "n": 2})
    approx_all(by_domain["out-domain"], {"cider": 0.0, "bleu_4": 1.0, "rouge_l": 1.0, "n": 2})
    approx_all(by_domain["near-domain"], {"cider": 5.0, "bleu_4": math.exp(-1), "rouge_l": 0.5, "n": 2})
    samples = read_jsonl(tmp_path / "nocaps.samples.jsonl")
    assert [s["score"]["cider"] for s in samples] == pytest.approx([10, 0, 10, 10, 0, 10])


def test_run_with_an_empty_caption_list_fails_in_one_line_and_keeps_the_records(tmp_path: Path) -> None:
    references = odc.flickr30k_references()
    references[1] = []
    odc.build_flickr30k(tmp_path / "data", references)
    proc = run_tasks(tmp_path, tmp_path / "data", "flickr30k")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "caption row '10002456' has no references" in lines[0], lines
    assert "fix or drop that row" in lines[0]
    records = read_jsonl(tmp_path / "out" / "r" / "flickr30k.samples.jsonl")
    assert [r["response"] for r in records] == [od.CAPTION_REPLY] * 4
