"""Caption scorer on Flickr30k / NoCaps rows: their reference columns, and the per-domain breakdown.

NoCaps is reported per domain (in-, near-, out-domain) with each domain scored as a corpus of
its own: CIDEr-D takes its document frequencies from that domain's references only, so a
domain's CIDEr is not the mean of its images' CIDEr in the full set.
"""

from __future__ import annotations

import math
import random
import shutil
from typing import Any

import pytest
from official_data import CAPTION_MATCH
from official_data_captions import UNRELATED

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.caption import CaptionScorer, java_meteor, references_of

PYTHON = CaptionScorer(backend="python")
METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider")
EXACT_METEOR = 1 - 0.5 / 7**3  # nltk METEOR of an exact 7-word match: one chunk, penalty 0.5 (1/7)^3

# (image_id, domain, references, reply): every reply but row 4's tokenizes to the 7 tokens
# "a red square on a white background", which CAPTION_MATCH has and UNRELATED[0:2] share nothing with.
DOMAIN_TABLE = [
    (0, "in-domain", [CAPTION_MATCH], "A red square, on a white background."),
    (1, "in-domain", [UNRELATED[0]], "A red square on a white background"),
    (2, "out-domain", [CAPTION_MATCH], "a red square on a white background."),
    (3, "out-domain", [CAPTION_MATCH], "A RED square on a white background!"),
    (4, "near-domain", [UNRELATED[1]], ""),
    (5, "near-domain", [CAPTION_MATCH], CAPTION_MATCH),
]


def nocaps_rows(table: list[tuple[Any, ...]]) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [{"image_id": i, "annotations_captions": refs, "domain": d} for i, d, refs, _ in table]
    return rows, [reply for *_, reply in table]


def approx_all(got: dict[str, float], want: dict[str, float]) -> None:
    assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-6), got


def test_each_domain_is_scored_as_its_own_corpus_hand_table() -> None:
    rows, replies = nocaps_rows(DOMAIN_TABLE)
    result = PYTHON.score(rows, replies, ScoringContext())
    # Full set: the reply's n-grams occur in the references of images 0, 2, 3, 5 (4 of 6), so
    # their IDF log(6/4) > 0 and an exact match scores CIDEr-D 10; images 1 and 4 score 0.
    assert [s["cider"] for s in result.per_sample] == pytest.approx([10, 0, 10, 10, 0, 10])
    # BLEU: 5 replies of 7 tokens, the closest references 6 x 7 = 42 tokens -> brevity
    # exp(1 - 42/35); 4 of the 5 replies match fully -> precision 4/5 for every n.
    overall = {f"bleu_{n}": math.exp(-0.2) * 0.8 for n in (1, 2, 3, 4)}
    approx_all(result.metrics, {**overall, "rouge_l": 4 / 6, "cider": 40 / 6, "meteor": 4 * EXACT_METEOR / 6})
    # in-domain alone: IDF log(2/1) -> 10 and 0 -> 5 (the mean of the full-set values is 5 too).
    # BLEU: 7 + 7 tokens, half of every n-gram order right -> 0.5; ROUGE-L 1, 0 -> 0.5.
    approx_all(result.breakdown["in-domain"], {**{f"bleu_{n}": 0.5 for n in (1, 2, 3, 4)}, "rouge_l": 0.5,
                                               "cider": 5.0, "meteor": EXACT_METEOR / 2, "n": 2})  # fmt: skip
    # out-domain alone: both images hold the reply's n-grams -> IDF log(2/2) = 0, every weight 0
    # -> CIDEr 0, although both images score 10 in the full set (mean 10).
    approx_all(result.breakdown["out-domain"], {**{f"bleu_{n}": 1.0 for n in (1, 2, 3, 4)}, "rouge_l": 1.0,
                                                "cider": 0.0, "meteor": EXACT_METEOR, "n": 2})  # fmt: skip
    # near-domain alone: an empty reply and an exact one: 7 tokens against 14 -> brevity e^-1,
    # precision 1; CIDEr IDF log 2 -> 10 and 0 -> 5.
    approx_all(result.breakdown["near-domain"], {**{f"bleu_{n}": math.exp(-1) for n in (1, 2, 3, 4)},
                                                 "rouge_l": 0.5, "cider": 5.0, "meteor": EXACT_METEOR / 2, "n": 2})  # fmt: skip
    assert list(result.breakdown) == ["in-domain", "near-domain", "out-domain"]


# (domain, references, reply, the reply's tokens worked out from the PTB rules)
TRICKY = [
    ("in-domain", [CAPTION_MATCH, UNRELATED[0]], "", ""),
    ("in-domain", [CAPTION_MATCH], "A red square, on a white background.", "a red square on a white background"),
    ("in-domain", [UNRELATED[2], "A red square."], "THE RED SQUARE!", "the red square"),
    ("in-domain", ["Two red squares on white."], "Two red squares.", "two red squares"),  # number word
    ("in-domain", ["2 red squares."], "2 red squares", "2 red squares"),
    ("in-domain", [UNRELATED[3]], "A red square in a café.", "a red square in a café"),  # unicode
    ("near-domain", [CAPTION_MATCH], "A red square on a white background. The image shows nothing else, I think.",
     "a red square on a white background the image shows nothing else i think"),  # extra explanation
    ("near-domain", [CAPTION_MATCH, UNRELATED[4]], "  a   red square  ", "a red square"),  # whitespace
    ("near-domain", ["A red and white square."], "A red-and-white square (small).",
     "a red-and-white square -lrb- small -rrb-"),  # "(" is -LRB-, kept once lower-cased
    ("near-domain", ["It is a red square."], "It's a red square.", "it 's a red square"),
    ("near-domain", [UNRELATED[5]], "The square isn't blue.", "the square is n't blue"),
    ("near-domain", ["A thousand red squares."], "1,000 red squares, 50% white.", "1,000 red squares 50 % white"),
    ("out-domain", [CAPTION_MATCH], "A 3.5 cm square", "a 3.5 cm square"),
    ("out-domain", [UNRELATED[0]], "Two brown dogs run through tall grass.", "two brown dogs run through tall grass"),
    ("out-domain", [CAPTION_MATCH], "A red square on a white background...", "a red square on a white background"),
    ("out-domain", [CAPTION_MATCH], '"A red square"', "a red square"),  # quotes dropped
    ("out-domain", [UNRELATED[6]], "Naïve red square", "naïve red square"),
    ("out-domain", [CAPTION_MATCH], "Answer: a red square", "answer a red square"),  # ":" dropped
]  # fmt: skip


@pytest.mark.parametrize("mode", ["official", "robust"])
def test_tricky_replies_every_domain_equals_scoring_that_domain_alone(mode: str) -> None:
    rows = [
        {"image_id": 100 + k, "annotations_captions": refs, "domain": d}
        for k, (d, refs, _, _) in enumerate(TRICKY)
    ]
    replies = [reply for _, _, reply, _ in TRICKY]
    result = PYTHON.score(rows, replies, ScoringContext(mode))
    assert result.parsed == [tokens for *_, tokens in TRICKY]
    assert result.per_sample[0]["cider"] == 0 and result.per_sample[0]["bleu_counts"]["testlen"] == 0
    means_differ = []
    for domain in ("in-domain", "near-domain", "out-domain"):
        keep = [k for k, row in enumerate(rows) if row["domain"] == domain]
        alone = PYTHON.score([rows[k] for k in keep], [replies[k] for k in keep], ScoringContext(mode))
        assert result.breakdown[domain] == pytest.approx({**alone.metrics, "n": len(keep)}, rel=1e-12)
        per_image_mean = math.fsum(result.per_sample[k]["cider"] for k in keep) / len(keep)
        means_differ.append(abs(per_image_mean - result.breakdown[domain]["cider"]) > 1e-3)
    assert all(means_differ)  # the IDF of 6 images is not the IDF of 18
    order = list(range(len(rows)))
    random.Random(5).shuffle(order)
    again = PYTHON.score([rows[k] for k in order], [replies[k] for k in order], ScoringContext(mode))
    assert again.metrics == result.metrics and again.breakdown == result.breakdown


def test_rows_without_a_domain_are_in_no_group_and_hub_rows_give_no_breakdown() -> None:
    rows, replies = nocaps_rows(DOMAIN_TABLE)
    rows[1] = {k: v for k, v in rows[1].items() if k != "domain"}
    partial = PYTHON.score(rows, replies, ScoringContext())
    assert partial.breakdown["in-domain"]["n"] == 1 and partial.breakdown["in-domain"]["cider"] == 0.0
    bare = [{k: v for k, v in row.items() if k != "domain"} for row in rows]
    assert PYTHON.score(bare, replies, ScoringContext()).breakdown == {}


def test_flickr30k_and_nocaps_reference_columns_and_rows_without_references() -> None:
    flickr = {"img_id": "1000092795", "caption": ["A dog.", "A brown dog."], "sentids": ["0", "1"]}
    assert references_of(flickr) == ["A dog.", "A brown dog."]
    assert references_of({"image_id": 7, "annotations_captions": ["x"] * 10}) == ["x"] * 10
    with pytest.raises(
        ValueError, match=r"caption row '1000092795' has no references: .*caption.*drop that row"
    ):
        references_of({**flickr, "caption": []})
    with pytest.raises(ValueError, match=r"caption row '7' has no references: .*annotations_captions"):
        references_of({"image_id": 7})


@pytest.mark.slow  # one METEOR JVM
@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR 1.5 needs java on PATH")
def test_java_meteor_pools_each_subset_in_the_same_process() -> None:
    """One METEOR process: a one-image subset scores as that image, the full subset as the set."""
    gts = {0: ["a red square on a white background"], 1: ["two dogs play"], 2: ["a man rides a horse"]}
    res = {0: ["a red square on white"], 1: ["two dogs play outside"], 2: ["the kitchen is clean"]}
    score, per_image, of_subsets = java_meteor(gts, res, [[1], [0, 1, 2], [2]])
    assert of_subsets == pytest.approx([per_image[1], score, per_image[2]], abs=1e-12)
    assert per_image[2] == 0 and 0 < per_image[0] < 1
