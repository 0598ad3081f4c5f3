"""Caption metrics: pycocoevalcap (Java PTB tokenizer + METEOR) and the Python fallback."""

from __future__ import annotations

import math
import random
import shutil

import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.caption import (
    CaptionScorer,
    bleu_from_counts,
    caption_metrics,
    java_tokenize,
    ptb_like_tokenize,
    references_of,
)

needs_java = pytest.mark.skipif(
    shutil.which("java") is None,
    reason="java is not on PATH: pycocoevalcap's tokenizer/METEOR need it",
)

# Golden table: image 1's reply equals its only reference; image 2's shares no word with its own.
ROWS = [
    {"example_id": "img1", "description": "A man rides a horse."},
    {"example_id": "img2", "references": ["Two dogs play outside."]},
]
REPLIES = ["a man rides a horse", "The kitchen is clean!"]
# BLEU counts: img1 5/4/3/2 n-grams all right, img2 4/3/2/1 all wrong; lengths equal refs
GOLDEN = {
    "bleu_1": 5 / 9,
    "bleu_2": (5 / 9 * 4 / 7) ** (1 / 2),
    "bleu_3": (5 / 9 * 4 / 7 * 3 / 5) ** (1 / 3),
    "bleu_4": (5 / 9 * 4 / 7 * 3 / 5 * 2 / 3) ** (1 / 4),
    "rouge_l": 0.5,  # 1 and 0
    "cider": 5.0,  # 10 x cosine 1 for img1 (IDF log 2 for every n-gram), 0 for img2
}


def shuffled(rows: list, replies: list, seed: int) -> tuple[list, list]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [rows[i] for i in order], [replies[i] for i in order]


@needs_java
def test_official_java_backend_golden_table_and_tokenizer_mirror() -> None:
    """One score() call starts Java once for tokens and once for METEOR (about 10 s)."""
    rows, replies = ROWS * 2, REPLIES * 2  # duplicates make the IDF the same as above
    rows = [dict(row, example_id=f"{row['example_id']}-{i}") for i, row in enumerate(rows)]
    result = get_scorer("caption").score(rows, replies, ScoringContext())
    assert result.info["backend"].startswith("java")
    for name, value in GOLDEN.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-6), name
    assert result.per_sample[0]["meteor"] > 0.9 and result.per_sample[1]["meteor"] == 0.0
    assert result.per_sample[0]["cider"] == pytest.approx(10.0)
    assert result.parsed[1] == "the kitchen is clean"
    assert caption_metrics(result.per_sample)["bleu_4"] == pytest.approx(GOLDEN["bleu_4"])
    # the tokenizer mirror agrees with Stanford's on ordinary captions
    captions = [
        "A man, riding a horse.",
        "Dogs (two of them) play outside!",
        "The kitchen's counters aren't clean.",
        'A sign reads "STOP" -- at 3.5 p.m., near the U.S. border; 1,000 cars.',
        "A well-known red/white t-shirt... isn't it?",
    ]
    java = java_tokenize({i: [c] for i, c in enumerate(captions)})
    assert [ptb_like_tokenize(c) for c in captions] == [java[i][0] for i in range(len(captions))]


def test_python_backend_golden_table_and_order_independence() -> None:
    scorer = CaptionScorer(backend="python")
    rows = [dict(row, example_id=f"{row['example_id']}-{i}") for i, row in enumerate(ROWS * 2)]
    result = scorer.score(rows, REPLIES * 2, ScoringContext())
    assert result.info["backend"].startswith("python")
    for name, value in GOLDEN.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-6), name
    # nltk METEOR: img1 all 5 words in one chunk -> 1 - 0.5 * (1/5)^3; img2 -> 0
    assert result.metrics["meteor"] == pytest.approx((1 - 0.5 * 0.2**3) / 2, rel=1e-6)
    again = scorer.score(*shuffled(rows, REPLIES * 2, seed=3), ScoringContext())
    assert again.metrics == result.metrics
    assert scorer.aggregate(rows, result.per_sample, ScoringContext())[0] == pytest.approx(result.metrics)


@pytest.mark.parametrize(
    ("caption", "tokens"),
    [
        ("A man, riding a horse.", "a man riding a horse"),
        (
            "Dogs (two of them) play!",
            "dogs -lrb- two of them -rrb- play",
        ),  # -LRB- survives lower-cased
        ("The kitchen's counters aren't clean.", "the kitchen 's counters are n't clean"),
        ('A sign reads "STOP".', "a sign reads stop"),
        ("It costs 3.5 dollars, about 1,000 yen.", "it costs 3.5 dollars about 1,000 yen"),
        ("A well-known red/white t-shirt...", "a well-known red/white t-shirt"),
        ("", ""),
    ],
)
def test_python_tokenizer_mirrors_ptb_punctuation_removal(caption: str, tokens: str) -> None:
    assert ptb_like_tokenize(caption) == tokens


def test_references_come_from_references_description_or_answer() -> None:
    assert references_of({"references": ["a", "b"]}) == ["a", "b"]
    assert references_of({"description": "a long description"}) == ["a long description"]
    assert references_of({"answer": ["x", "y", "z", "u", "v"]}) == ["x", "y", "z", "u", "v"]
    with pytest.raises(ValueError, match="no references"):
        references_of({"example_id": "e"})


def test_bleu_counts_reproduce_the_brevity_penalty() -> None:
    stats = [{"testlen": 2, "reflen": 4, "guess": [2, 1, 0, 0], "correct": [2, 1, 0, 0]}]
    bleu_1 = bleu_from_counts(stats)[0]
    assert bleu_1 == pytest.approx(math.exp(1 - 4 / 2))  # precision 1, ratio 1/2


def test_unknown_backend_and_mode_are_rejected() -> None:
    with pytest.raises(ValueError, match="auto, java or python"):
        CaptionScorer(backend="perl")
    with pytest.raises(ValueError, match="official"):
        CaptionScorer("python").score(ROWS, REPLIES, ScoringContext("strict"))
