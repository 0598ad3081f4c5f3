"""Official scoring algorithms, one module per benchmark family.

Each module ``evalkit/scoring/<name>.py`` exposes ``SCORER``, an object satisfying
:class:`evalkit.scoring.base.Scorer`. Modules are imported lazily by :func:`get_scorer`, and no
scorer imports torch or transformers, so ``evalkit score`` starts fast.
"""

from evalkit.scoring.base import Scorer, ScoringContext, get_scorer, scorer_names

__all__ = ["Scorer", "ScoringContext", "get_scorer", "scorer_names"]
