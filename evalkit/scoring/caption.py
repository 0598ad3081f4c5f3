"""Caption metrics (DOCCI, COCO, Flickr30k, NoCaps), as pycocoevalcap's ``COCOEvalCap`` computes them.

``java`` backend (the official one): pycocoevalcap's Stanford ``PTBTokenizer`` (lower-cases,
splits, then drops the punctuation tokens in its list; "(" becomes ``-lrb-`` and is kept, as
the list only has upper-case ``-LRB-``), then ``Bleu(4)`` ("closest" reference length),
``Meteor`` 1.5, ``Rouge`` (ROUGE-L, beta 1.2) and ``Cider`` (CIDEr-D with IDF from the scored
references). Java starts twice per :meth:`score` call, never per sample: one tokenizer run for
all references and hypotheses together, one METEOR process. SPICE is left out (it downloads).

``python`` backend (used when ``java`` is not on PATH): :func:`ptb_like_tokenize` mirrors the
tokenizer on ordinary captions; BLEU, ROUGE-L and CIDEr are still pycocoevalcap's (pure
Python); METEOR is nltk's sentence METEOR averaged over images, with WordNet synonyms when
nltk's ``wordnet`` data is installed and exact + Porter-stem matching otherwise (the data is
not on PyPI, and Debian's ``wordnet-base`` lacks the ``lexnames`` file nltk needs). Numbers
differ slightly from the official ones; ``info["backend"]`` says which ran.

Metrics are in 0-1 as pycocoevalcap gives them: ``bleu_1..bleu_4, meteor, rouge_l, cider``.
``per_sample`` holds each image's values plus its BLEU counts, so :meth:`aggregate` recomputes
corpus BLEU exactly; it averages METEOR, ROUGE-L and CIDEr per image (exact for ROUGE-L and
CIDEr with the IDF of the full set, an approximation of corpus METEOR). Rows are scored in a
canonical order, so shuffling them changes nothing. The modes are identical (no parsing step).

Breakdown: rows with a ``domain`` column (NoCaps' in-domain / near-domain / out-domain, from the
``domain`` of each image in the official ``nocaps_val_4500_captions.json``) are also scored per
domain, each domain as a corpus of its own, as the nocaps evaluation server reports them
(nocaps-org/updown-baseline ``updown/utils/evalai.py`` documents the result: every metric for
in-, near-, out-domain and entire): CIDEr-D with document frequencies from that domain's
references only, BLEU from its summed counts, METEOR 1.5 from its pooled statistics (python
backend: the mean), ROUGE-L the mean. A domain's CIDEr is not the mean of its images' CIDEr
in the full set. Tokens are reused, although Stanford's tokenizer reads its input as one text:
a caption ending in a one-letter word and "." keeps "a." or splits it by the caption after it,
so such a caption can tokenize apart from an official run over other neighbours (kept as is).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, column_value, group_by
from evalkit.types import ScoreResult

MODES = ("official", "robust")
METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider")
PTB_PUNCTUATION = frozenset(
    [
        "''",
        "'",
        "``",
        "`",
        "-LRB-",
        "-RRB-",
        "-LCB-",
        "-RCB-",
        ".",
        "?",
        "!",
        ",",
        ":",
        "-",
        "--",
        "...",
        ";",
    ]  # fmt: skip
)
_ID_COLUMNS = ("question_id", "example_id", "image_id", "img_id", "id")
# reference columns: ours, DOCCI, COCO/RefCOCO, Flickr30k, NoCaps
_REFERENCE_COLUMNS = ("references", "description", "answer", "caption", "annotations_captions")
BREAKDOWN_COLUMN = "domain"  # rows are also scored per value of this column, when they have it
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_CONTRACTION = re.compile(r"(?<=\w)(n't|'s|'re|'ve|'ll|'d|'m)\b")
_PTB_TOKEN = re.compile(
    r"\d+(?:[.,:]\d+)+|(?:[^\W\d_]\.){2,}|n't|'(?:s|re|ve|ll|d|m)\b"
    r"|\w+(?:[-/&']\w+)*|\.\.\.|--|\S"
)


def references_of(row: Mapping[str, Any]) -> list[str]:
    """Reference captions: the first non-empty column of :data:`_REFERENCE_COLUMNS` (list or string)."""
    for column in _REFERENCE_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and value.lstrip().startswith("["):
            value = json.loads(value)
        if isinstance(value, str) and value.strip():
            return [value]
        if isinstance(value, (list, tuple)) and value:
            return [str(v) for v in value]
    raise ValueError(
        f"caption row {_row_id(row)!r} has no references: each row needs a non-empty one of "
        f"{'/'.join(_REFERENCE_COLUMNS)}; fix or drop that row"
    )


def _row_id(row: Mapping[str, Any]) -> str:
    return next((str(row[c]) for c in _ID_COLUMNS if row.get(c) is not None), "")


def ptb_like_tokenize(text: str) -> str:
    """Python stand-in for PTBTokenizer ``-preserveLines -lowerCase`` plus the punctuation filter."""
    text = text.replace("\n", " ").lower().replace("\u2019", "'").replace("\u2018", "`")
    text = _CONTRACTION.sub(r" \1", text)
    tokens = (_BRACKETS.get(tok, tok) for tok in _PTB_TOKEN.findall(text))
    return " ".join(t for t in tokens if t not in PTB_PUNCTUATION and t not in {'"', "\u201c", "\u201d"})


def java_tokenize(captions: dict[Hashable, list[str]]) -> dict[Hashable, list[str]]:
    """One pycocoevalcap ``PTBTokenizer.tokenize`` call for every caption of every key."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    wrapped = {key: [{"caption": c} for c in caps] for key, caps in captions.items()}
    out = PTBTokenizer().tokenize(wrapped)
    if any(len(out.get(key, ())) != len(caps) for key, caps in captions.items()):
        raise RuntimeError("PTBTokenizer returned fewer lines than captions given")
    return out


def java_meteor(
    gts: dict[int, list[str]], res: dict[int, list[str]], subsets: Sequence[Sequence[int]] = ()
) -> tuple[float, list[float], list[float]]:
    """pycocoevalcap ``Meteor`` (one Java process, stopped before returning): the corpus score,
    each image's score, then the corpus score of each subset of keys, pooled in the same process."""
    from pycocoevalcap.meteor.meteor import Meteor

    meteor = Meteor()
    try:
        score, scores = meteor.compute_score(gts, res)
        of_subsets = [
            meteor.compute_score({k: gts[k] for k in keys}, {k: res[k] for k in keys})[0] for keys in subsets
        ]
    finally:
        meteor.meteor_p.stdin.close()
        meteor.meteor_p.kill()
        meteor.meteor_p.wait()
    return float(score), [float(s) for s in scores], [float(s) for s in of_subsets]


class _NoSynonyms:
    """A WordNet stand-in with no synsets: nltk METEOR then matches exact words and stems."""

    def synsets(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def python_meteor(gts: dict[int, list[str]], res: dict[int, list[str]]) -> tuple[float, list[float], str]:
    """nltk sentence METEOR per image, their mean, and which synonym source was used."""
    from nltk.translate.meteor_score import meteor_score

    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        synonyms: Any = wordnet
        source = "wordnet"
    except LookupError:
        synonyms, source = _NoSynonyms(), "no-wordnet"
    scores = [
        float(meteor_score([r.split() for r in gts[k]], res[k][0].split(), wordnet=synonyms)) for k in gts
    ]
    return math.fsum(scores) / len(scores), scores, source


def bleu_from_counts(stats: Sequence[Mapping[str, Any]], n: int = 4) -> list[float]:
    """Corpus BLEU-1..n from per-image counts, BleuScorer's formula (tiny/small guards, brevity)."""
    tiny, small = 1e-15, 1e-9
    testlen = sum(s["testlen"] for s in stats)
    reflen = sum(s["reflen"] for s in stats)
    bleus, product = [], 1.0
    for k in range(n):
        correct = sum(s["correct"][k] for s in stats)
        guess = sum(s["guess"][k] for s in stats)
        product *= float(correct + tiny) / (guess + small)
        bleus.append(product ** (1.0 / (k + 1)))
    ratio = (testlen + tiny) / (reflen + small)
    penalty = math.exp(1 - 1 / ratio) if ratio < 1 else 1.0
    return [b * penalty for b in bleus]


def bleu_scores(
    gts: dict[int, list[str]], res: dict[int, list[str]]
) -> tuple[list[float], list[list[float]], list[dict]]:
    """pycocoevalcap ``Bleu(4)``: corpus scores, per-image scores and per-image counts."""
    from pycocoevalcap.bleu.bleu_scorer import BleuScorer

    scorer = BleuScorer(n=4)
    for key in gts:
        scorer += (res[key][0], gts[key])
    corpus, per_image = scorer.compute_score(option="closest", verbose=0)
    counts = [
        {
            "testlen": c["testlen"],
            "reflen": min((abs(ref - c["testlen"]), ref) for ref in c["reflen"])[1],
            "guess": list(c["guess"]),
            "correct": list(c["correct"]),
        }
        for c in scorer.ctest
    ]
    return [float(s) for s in corpus], per_image, counts


def caption_scores(
    gts: dict[int, list[str]],
    res: dict[int, list[str]],
    backend: str,
    groups: Mapping[str, Sequence[int]] | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]], dict[str, Any], dict[str, dict[str, float]]]:
    """All metrics on tokenized captions keyed 0..n-1: corpus values, per-image values, info,
    and the metrics of each group of keys scored as a corpus of its own (see :func:`group_breakdown`)."""
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    groups = groups or {}
    bleu, bleu_per_image, counts = bleu_scores(gts, res)
    rouge, rouge_per_image = Rouge().compute_score(gts, res)
    cider, cider_per_image = Cider().compute_score(gts, res)
    if backend == "java":
        meteor, meteor_per_image, meteor_of_groups = java_meteor(gts, res, list(groups.values()))
        info = {"backend": "java: pycocoevalcap PTBTokenizer + METEOR 1.5"}
    else:
        meteor, meteor_per_image, source = python_meteor(gts, res)
        meteor_of_groups = [
            math.fsum(meteor_per_image[k] for k in keys) / len(keys) for keys in groups.values()
        ]
        info = {"backend": f"python: PTB-like tokenizer + nltk METEOR ({source})"}
    metrics = {f"bleu_{k + 1}": bleu[k] for k in range(4)}
    metrics.update(meteor=meteor, rouge_l=float(rouge), cider=float(cider))
    per_image = []
    for i in range(len(gts)):
        values: dict[str, Any] = {f"bleu_{k + 1}": float(bleu_per_image[k][i]) for k in range(4)}
        values.update(
            meteor=meteor_per_image[i],
            rouge_l=float(rouge_per_image[i]),
            cider=float(cider_per_image[i]),
            bleu_counts=counts[i],
        )
        per_image.append(values)
    return metrics, per_image, info, group_breakdown(gts, res, per_image, groups, meteor_of_groups)


def group_breakdown(
    gts: dict[int, list[str]],
    res: dict[int, list[str]],
    per_image: Sequence[Mapping[str, Any]],
    groups: Mapping[str, Sequence[int]],
    meteor_of_groups: Sequence[float],
) -> dict[str, dict[str, float]]:
    """Each group of keys scored as its own corpus, as if it were the whole test set: CIDEr-D
    again with the group's document frequencies, BLEU from its counts, ROUGE-L the mean, METEOR
    as given (pooled by METEOR 1.5, or the nltk mean); ``n`` its number of images."""
    from pycocoevalcap.cider.cider import Cider

    breakdown = {}
    for (name, keys), meteor in zip(groups.items(), meteor_of_groups, strict=True):
        values = caption_metrics([per_image[k] for k in keys])
        cider, _ = Cider().compute_score({k: gts[k] for k in keys}, {k: res[k] for k in keys})
        values.update(meteor=float(meteor), cider=float(cider), n=float(len(keys)))
        breakdown[name] = values
    return dict(sorted(breakdown.items()))


def caption_metrics(per_sample: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Metrics from per-image outcomes: exact corpus BLEU, mean METEOR / ROUGE-L / CIDEr."""
    if not per_sample:
        return {}
    metrics = dict(zip(METRICS[:4], bleu_from_counts([s["bleu_counts"] for s in per_sample])))
    for name in ("meteor", "rouge_l", "cider"):
        metrics[name] = math.fsum(float(s[name]) for s in per_sample) / len(per_sample)
    return metrics


class CaptionScorer:
    """The ``caption`` scorer; ``backend`` is ``auto`` (java when on PATH), ``java`` or ``python``."""

    name = "caption"
    modes = MODES
    streaming = False  # CIDEr's IDF comes from all references scored together

    def __init__(self, backend: str = "auto") -> None:
        if backend not in ("auto", "java", "python"):
            raise ValueError(f"caption backend {backend!r}: choose auto, java or python")
        self.backend = backend

    def resolved_backend(self) -> str:
        if self.backend == "auto":
            return "java" if shutil.which("java") else "python"
        if self.backend == "java" and not shutil.which("java"):
            raise RuntimeError("caption backend 'java' needs java on PATH (Java 8+)")
        return self.backend

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        if not rows:
            return ScoreResult([], [], {}, {}, {"mode": ctx.mode})
        refs = [references_of(row) for row in rows]
        hyps = [response or "" for response in responses]
        order = sorted(range(len(rows)), key=lambda i: (_row_id(rows[i]), hyps[i], refs[i]))
        backend = self.resolved_backend()
        tokenized = self._tokenize(order, refs, hyps, backend)
        gts = {slot: tokenized[f"r{i}"] for slot, i in enumerate(order)}
        res = {slot: tokenized[f"h{i}"] for slot, i in enumerate(order)}
        groups = group_by((column_value(rows[i], BREAKDOWN_COLUMN) for i in order), range(len(order)))
        metrics, per_image, info, breakdown = caption_scores(gts, res, backend, groups)
        per_sample: list[Any] = [None] * len(rows)
        parsed: list[Any] = [None] * len(rows)
        for slot, i in enumerate(order):
            per_sample[i] = per_image[slot]
            parsed[i] = res[slot][0]
        return ScoreResult(parsed, per_sample, metrics, breakdown, {"mode": ctx.mode, **info})

    @staticmethod
    def _tokenize(
        order: Sequence[int], refs: Sequence[list[str]], hyps: Sequence[str], backend: str
    ) -> dict[Hashable, list[str]]:
        captions: dict[Hashable, list[str]] = {f"h{i}": [hyps[i]] for i in order}
        captions.update({f"r{i}": list(refs[i]) for i in order})
        if backend == "java":
            return java_tokenize(captions)
        return {key: [ptb_like_tokenize(c) for c in caps] for key, caps in captions.items()}

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return caption_metrics(per_sample), {}

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return [_row_id(row) or i for i, row in enumerate(rows)]


SCORER = CaptionScorer()
