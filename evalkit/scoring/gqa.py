"""GQA accuracy: exact match on the balanced questions, as GQA's official ``eval.py`` computes it.

The official script (``eval/eval.py`` from the GQA download page, also the copy LLaVA's
``scripts/v1_5/eval/gqa.sh`` runs) scores only questions with ``isBalanced``: 1 when the
prediction string equals the ``answer`` string, else 0. It applies **no normalisation at all**
(no lower-casing, punctuation or article removal); whatever normalising happens is done by the
harness that writes the predictions file. It prints ``accuracy``, ``binary`` and ``open``
(``open`` = structural type ``query``, ``binary`` = every other type) and the accuracy per
structural and per semantic type, all in percent. (Validity, plausibility and consistency need
the choices file and every question; distribution needs the gold histograms: left out.)

Modes (what happens to the reply before that exact comparison; the gold answer stays raw):

* ``official``: LLaVA's pipeline, the reference for the GQA numbers most VLMs report:
  ``model_vqa_loader.py`` strips the decoded reply, ``scripts/convert_gqa_for_eval.py`` writes
  ``reply.rstrip('.').lower()``. So "Yes." is right, "Yes!" and "yes, it is" are not.
* ``lmms-eval``: lmms-eval's ``gqa`` task, metric ``exact_match`` with ``ignore_case`` and
  ``ignore_punctuation`` (``exact_match_hf_evaluate`` in ``lmms_eval/api/metrics.py``): the reply
  is stripped, then reply *and* gold are lower-cased and lose every ASCII punctuation mark
  (``string.punctuation``); numpy's fixed-width strings also drop trailing NUL characters.
* ``robust``: the reply and its short answer (:mod:`evalkit.parsing.short_answer`) are each
  normalised -- NFKC, lower-case, every Unicode punctuation mark to a space, control characters
  dropped, articles (a/an/the) dropped, whitespace collapsed -- and the question is right when either equals the
  gold answer normalised the same way. "The answer is: Yes." and "a wooden table" both count.

``per_sample`` is 0/1 per balanced question and None for an unbalanced one; metrics are
percentages, unrounded. A row without an ``answer`` is an input error, raised naming the row.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from evalkit.parsing.short_answer import reply_candidates
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import accuracy_breakdown, check_inputs, percent_mean, row_units
from evalkit.types import ScoreResult

MODES = ("official", "lmms-eval", "robust")
ARTICLES = frozenset({"a", "an", "the"})
_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)


def official_prediction(reply: str) -> str:
    """LLaVA's GQA prediction: the stripped reply, trailing periods removed, lower-cased."""
    return reply.strip().rstrip(".").lower()


def lmms_eval_form(text: str) -> str:
    """lmms-eval's ``exact_match`` form: lower-cased, ASCII punctuation deleted, trailing NULs dropped."""
    return text.lower().translate(_ASCII_PUNCTUATION).rstrip("\x00")


def robust_form(text: str) -> str:
    """Lower-cased NFKC text, punctuation as spaces, control characters dropped, no articles,
    whitespace collapsed."""
    spaced = "".join(_robust_char(ch) for ch in unicodedata.normalize("NFKC", text).lower())
    return " ".join(word for word in spaced.split() if word not in ARTICLES)


def _robust_char(ch: str) -> str:
    category = unicodedata.category(ch)
    return " " if category.startswith("P") else "" if category in ("Cc", "Cf") and not ch.isspace() else ch


def gold_answer(row: Mapping[str, Any], index: int) -> str:
    """The row's ``answer``; a row without one is an input error naming the row."""
    if row.get("answer") is None:
        ident = row.get("id", f"at position {index}")
        raise ValueError(
            f"gqa: row {ident} has no 'answer'; score rows that keep the dataset's 'answer' column "
            "(GQA's test split has no answers: submit its predictions to the evaluation server)"
        )
    return str(row["answer"])


def compare(reply: str, gold: str, mode: str) -> tuple[str, bool]:
    """(the reply as compared, whether it equals the gold answer) in ``mode``."""
    if mode == "official":
        prediction = official_prediction(reply)
        return prediction, prediction == gold
    if mode == "lmms-eval":
        prediction = lmms_eval_form(reply.strip())
        return prediction, prediction == lmms_eval_form(gold)
    target = robust_form(gold)
    forms = [robust_form(candidate) for candidate in reply_candidates(reply)]
    return next(((form, True) for form in forms if form == target), (forms[-1], False))


def question_types(row: Mapping[str, Any]) -> Mapping[str, Any]:
    types = row.get("types")
    return types if isinstance(types, Mapping) else {}


def gqa_metrics(
    rows: Sequence[Mapping[str, Any]], per_sample: Sequence[float | None]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``accuracy``, ``binary`` and ``open`` plus accuracy per structural and semantic type."""
    scored = [(question_types(row), s) for row, s in zip(rows, per_sample, strict=True) if s is not None]
    if not scored:
        return {}, {}
    metrics = {"accuracy": percent_mean(s for _, s in scored)}
    typed = [(types, s) for types, s in scored if types.get("structural") is not None]
    if typed:
        metrics["binary"] = percent_mean(s for types, s in typed if types["structural"] != "query")
        metrics["open"] = percent_mean(s for types, s in typed if types["structural"] == "query")
    groups: dict[str, list[float]] = {}
    for types, s in scored:
        for kind in ("structural", "semantic"):
            if types.get(kind) is not None:
                groups.setdefault(f"{kind}/{types[kind]}", []).append(s)
    return metrics, accuracy_breakdown(groups)


class GQAScorer:
    """The ``gqa`` scorer (see the module docstring for the modes)."""

    name = "gqa"
    modes = MODES
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        parsed: list[str] = []
        per_sample: list[float | None] = []
        for i, (row, response) in enumerate(zip(rows, responses, strict=True)):
            prediction, right = compare(response or "", gold_answer(row, i), ctx.mode)
            parsed.append(prediction)
            per_sample.append(float(right) if row.get("isBalanced", True) is not False else None)
        metrics, breakdown = gqa_metrics(rows, per_sample)
        info = {"mode": ctx.mode, "n_scored": sum(s is not None for s in per_sample),
                "n_unbalanced": sum(s is None for s in per_sample)}  # fmt: skip
        return ScoreResult(parsed, per_sample, metrics, breakdown, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return gqa_metrics(rows, per_sample)

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return row_units(rows, "id")


SCORER = GQAScorer()
