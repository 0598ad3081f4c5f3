"""The scorer protocol and the lazy scorer registry."""

from __future__ import annotations

import importlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evalkit.types import ScoreResult

# scorer name -> module under evalkit.scoring that defines SCORER
_SCORER_MODULES: dict[str, str] = {
    "mme": "evalkit.scoring.mme",
    "pope": "evalkit.scoring.pope",
    "mmbench": "evalkit.scoring.mmbench",
    "mmmu": "evalkit.scoring.mmmu",
    "scienceqa": "evalkit.scoring.scienceqa",
    "ai2d": "evalkit.scoring.ai2d",
    "seedbench": "evalkit.scoring.seedbench",
    "vqav2": "evalkit.scoring.vqa",
    "okvqa": "evalkit.scoring.okvqa",
    "textvqa": "evalkit.scoring.textvqa",
    "gqa": "evalkit.scoring.gqa",
    "grounding": "evalkit.scoring.grounding",
    "caption": "evalkit.scoring.caption",
    "chartqa": "evalkit.scoring.chartqa",
    "anls": "evalkit.scoring.anls",
    "ocrbench": "evalkit.scoring.ocrbench",
}


@dataclass(frozen=True)
class ScoringContext:
    """Everything a scorer may need besides rows and responses.

    ``mode`` is the parser mode (``official`` by default, ``robust``, or a scorer-specific named
    variant listed in ``Scorer.modes``). ``seed`` drives any random fallback. ``box_format`` is
    the adapter's declared box convention (see :data:`evalkit.types.BOX_FORMATS`), or None
    when unknown (then the scorer's default applies).
    """

    mode: str = "official"
    seed: int = 42
    box_format: str | None = None


class Scorer(Protocol):
    """A benchmark's official scoring algorithm.

    ``score`` is the single source of truth: given dataset rows (plain dicts, images left out)
    and raw responses, it returns per-row parsed answers and outcomes plus the metrics. It must
    not depend on the order of rows (sort internally where the official algorithm is
    order-sensitive). ``aggregate`` recomputes metrics from per-row outcomes only (used for
    bootstrap standard errors); ``group_keys`` gives each row the unit that must be resampled
    together (e.g. MME image pairs, MMBench circular groups).
    """

    name: str
    modes: tuple[str, ...]
    streaming: bool  # True when per-row outcomes of a batch do not depend on other rows

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult: ...

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]: ...

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]: ...


def scorer_names() -> list[str]:
    return sorted(_SCORER_MODULES)


def get_scorer(name: str) -> Scorer:
    """Return the scorer called ``name``; unknown names fail with the closest known ones."""
    if name not in _SCORER_MODULES:
        from evalkit.registry import unknown_name_error

        raise unknown_name_error("scorer", name, _SCORER_MODULES)
    module = importlib.import_module(_SCORER_MODULES[name])
    return module.SCORER  # type: ignore[no-any-return]
