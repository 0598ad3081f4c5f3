"""The model and tokenizer a training stage starts from: a checkpoint (``--init``, or the run's
own folder on ``--resume``), pretrained parts (``--vision`` + ``--lm``), or a fresh preset."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from evalkit.tinyvlm.config import VLMConfig, preset
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.stream import dense_head_spec, tokenizer_corpus
from evalkit.tinyvlm.tokenizer import (
    END,
    IMAGE,
    PAD,
    SPECIAL_TOKENS,
    TOKENIZER_FILE,
    VLMTokenizer,
    train_tokenizer,
)

if TYPE_CHECKING:
    from evalkit.tinyvlm.train import TrainConfig

STATE_FILE = "trainer_state.pt"
REFERENT_DIM = 64  # query/key width of the referent head --referent-loss adds


def initial_model(cfg: TrainConfig) -> tuple[VisionPangu, VLMTokenizer | None]:
    """From ``cfg.init`` (or ``cfg.out`` when resuming), from pretrained parts, else a fresh
    model from the preset.

    A fresh model's tokenizer is trained on the generator's text at the first text stage
    (``align`` or ``sft``); the ``vision`` stage needs none. Its special-token ids are fixed by
    their order in :data:`SPECIAL_TOKENS`, so the model's ids are known before the tokenizer
    exists. Pretrained parts bring the LM's tokenizer, extended with those tokens.
    """
    source = cfg.out if cfg.resume and (cfg.out / STATE_FILE).exists() else cfg.init
    torch.manual_seed(cfg.seed)  # parameters not loaded from anywhere start from a seeded init
    if source is not None:
        model = VisionPangu.from_pretrained(source, overrides=vision_head_overrides(cfg, source))
        has_tokenizer = (Path(source) / TOKENIZER_FILE).is_file()
        tokenizer = VLMTokenizer.from_pretrained(source) if has_tokenizer else None
    elif cfg.vision is not None and cfg.lm is not None:
        from evalkit.tinyvlm.pretrained import assemble

        model, tokenizer = assemble(cfg.vision, cfg.lm, fresh_base(cfg), feature_layer=cfg.vision_layer,
                                    trust_remote_code=cfg.trust_remote_code)  # fmt: skip
    else:
        ids: dict[str, Any] = {"pad_token_id": SPECIAL_TOKENS.index(PAD), "eos_token_id": SPECIAL_TOKENS.index(END),
               "image_token_id": SPECIAL_TOKENS.index(IMAGE)}  # fmt: skip
        base = fresh_base(cfg)
        model = VisionPangu(
            dataclasses.replace(base, **ids, dense_heads=base.dense_heads or dense_head_spec())
        )
        tokenizer = None
    if tokenizer is None and cfg.stage != "vision":
        tokenizer = train_tokenizer(tokenizer_corpus(cfg.tokenizer_texts, cfg.seed), model.config.vocab_size)
    if tokenizer is not None:
        check_compatible(model.config, tokenizer)
    return model, tokenizer


def fresh_base(cfg: TrainConfig) -> VLMConfig:
    """The preset with ``--set`` overrides and, with ``--referent-loss``, a referent head."""
    base = preset(cfg.preset, **cfg.model_overrides)
    if cfg.referent_loss and not base.referent_dim:
        head = referent_head(base.lm_layers)
        base = dataclasses.replace(
            base, referent_dim=head["referent_dim"], referent_layer=head["referent_layer"]
        )
    return base


def referent_head(lm_layers: int) -> dict[str, int]:
    """Config fields of the head ``--referent-loss`` adds: :data:`REFERENT_DIM` wide, reading the
    LM after half its layers (so the layers above can use what it teaches)."""
    return {"referent_dim": REFERENT_DIM, "referent_layer": max(1, lm_layers // 2)}


def vision_head_overrides(cfg: TrainConfig, source: Path) -> dict[str, Any]:
    """``cfg.model_overrides``, plus, for the ``vision`` stage, the dense heads the generator
    provides that the ``source`` checkpoint lacks (e.g. ``letter`` on an older checkpoint), and
    with ``--referent-loss`` a referent head: they are added freshly initialised."""
    overrides = dict(cfg.model_overrides)
    stored = VLMConfig.load(source)
    if cfg.referent_loss and "referent_dim" not in overrides and not stored.referent_dim:
        overrides.update(referent_head(overrides.get("lm_layers", stored.lm_layers)))
    if cfg.stage == "vision" and "dense_heads" not in overrides:
        missing = [head for head in dense_head_spec() if head[0] not in dict(stored.dense_heads)]
        if missing:
            overrides["dense_heads"] = (*stored.dense_heads, *missing)
    return overrides


def check_compatible(config: VLMConfig, tokenizer: VLMTokenizer) -> None:
    """The tokenizer must fit the embedding table and agree on the special-token ids."""
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(
            f"tokenizer has {tokenizer.vocab_size} tokens > model vocab_size {config.vocab_size}"
        )
    pairs = [(tokenizer.pad_id, config.pad_token_id), (tokenizer.eos_id, config.eos_token_id),
             (tokenizer.image_id, config.image_token_id)]  # fmt: skip
    if any(a != b for a, b in pairs):
        raise ValueError(f"tokenizer special ids {pairs} disagree with the model config")
