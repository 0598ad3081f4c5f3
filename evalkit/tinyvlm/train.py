"""Staged training of the built-in VLM: ``vision`` -> ``align`` -> ``sft`` (VisionPangu recipe).

``vision``: ViT + per-patch heads on the synthetic renderer's dense labels (stage 0, replaces
a pre-trained InternViT). ``align``: only the projector learns, on captions. ``sft``: all of
vision, projector and LM learn on instruction data. AdamW, linear warm-up then cosine decay,
gradient accumulation and clipping, bf16 autocast on CUDA, periodic checkpoints + ``--resume``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import torch

from evalkit.synthetic.drills import DRILLS
from evalkit.synthetic.training import BOX_REPLIES, CHOICE_REPLIES
from evalkit.tinyvlm import curves
from evalkit.tinyvlm.config import VLMConfig, preset
from evalkit.tinyvlm.data import Batch
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.stream import close_iterator, dense_head_spec, stage_batches, tokenizer_corpus
from evalkit.tinyvlm.tokenizer import (
    END,
    IMAGE,
    PAD,
    SPECIAL_TOKENS,
    TOKENIZER_FILE,
    VLMTokenizer,
    train_tokenizer,
)

STAGES = ("vision", "align", "sft")
TRAINABLE_PREFIXES = {
    "vision": ("vision.", "dense."),
    "align": ("projector.",),
    "sft": ("vision.", "projector.", "language."),
}
STATE_FILE = "trainer_state.pt"
DEFAULT_LR = {"vision": 1e-3, "align": 1e-3, "sft": 5e-4}
REFERENT_DIM = 64  # query/key width of the referent head --referent-loss adds


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``init`` is a checkpoint dir to start from (the previous stage); without
    it the tokenizer is trained and the model built from ``preset``. ``model_overrides`` change
    config fields of either (with ``init``: e.g. adding ``visual_position`` to a trained model)."""

    stage: str
    out: Path
    preset: str = "tiny"
    init: Path | None = None
    steps: int = 1000
    batch_size: int = 32
    grad_accum: int = 1
    lr: float | None = None  # None -> DEFAULT_LR[stage]
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    vision_lr_scale: float = 1.0  # the vision encoder's learning rate relative to the rest (sft)
    tasks: tuple[str, ...] | None = None  # sft task mix; None = every synthetic task
    max_turns: int | None = None  # sft questions per image; None = the generator's default (3)
    choice_reply: str | None = None  # sft: MMBench replies "letter" (default) or the option's "text"
    box_reply: str | None = None  # sft: grounding replies "box" (default), "ref" or "padded" (BOX_REPLIES)
    label_prob: float | None = None  # vision: chance a letter-bearing shape has one; None = 0.3
    seed: int = 0
    save_every: int = 200
    log_every: int = 10
    resume: bool = False
    device: str = "auto"
    max_len: int = 320
    tokenizer_texts: int = 20_000
    num_threads: int | None = None
    data_workers: int = 0  # processes rendering the synthetic stream (0: the trainer's own); same data
    referent_loss: float = 0.0  # sft: weight of the referent head's loss on drill turns naming one object
    box_start_weight: float = 1.0  # sft: loss weight of x1's first digit (data.box_start_weights)
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; choose one of {STAGES}")
        if self.steps < 1 or self.grad_accum < 1 or self.batch_size < 1:
            raise ValueError("steps, grad_accum and batch_size must be >= 1")
        if self.data_workers < 0:
            raise ValueError(f"--data-workers must be >= 0, got {self.data_workers}")
        sft_mix = (self.tasks, self.max_turns, self.choice_reply, self.box_reply)
        if self.stage != "sft" and sft_mix != (None,) * len(sft_mix):
            raise ValueError("--tasks, --max-turns, --choice-reply and --box-reply choose the sft data mix; "
                             "use them with --stage sft")  # fmt: skip
        if self.referent_loss < 0 or (self.referent_loss and self.stage != "sft"):
            raise ValueError("--referent-loss is a non-negative weight for --stage sft")
        if self.box_start_weight <= 0 or (self.box_start_weight != 1.0 and self.stage != "sft"):
            raise ValueError("--box-start-weight is a positive weight for --stage sft")
        if self.stage != "vision" and self.label_prob is not None:
            raise ValueError("--label-prob sets the vision stage's scenes; use it with --stage vision")

    def data_mix(self) -> dict[str, Any]:
        """Keyword arguments for the stage's example stream (empty: the generator's defaults)."""
        mix: dict[str, Any] = {}
        if self.tasks is not None:
            mix["tasks"] = self.tasks
        if self.max_turns is not None:
            mix["max_turns"] = self.max_turns
        if self.choice_reply is not None:
            mix["choice_reply"] = self.choice_reply
        if self.box_reply is not None:
            mix["box_reply"] = self.box_reply
        if self.label_prob is not None:
            mix["label_prob"] = self.label_prob
        return mix

    @property
    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.stage]


def set_trainable(model: VisionPangu, stage: str) -> list[torch.nn.Parameter]:
    """Freeze everything except the stage's modules (align: projector only); return trainables."""
    prefixes = TRAINABLE_PREFIXES[stage]
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith(prefixes))
        if param.requires_grad:
            trainable.append(param)
    return trainable


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to ``min_ratio`` at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(
    params: Sequence[torch.nn.Parameter], cfg: TrainConfig, vision: Sequence[torch.nn.Parameter] = ()
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (norms, biases and gains are not decayed); the
    ``vision`` parameters get ``cfg.vision_lr_scale`` times the learning rate (``lr_scale``), so
    SFT can adapt a pre-trained encoder without overwriting it."""
    vision_ids = {id(p) for p in vision}
    groups = []
    for scale, members in ((1.0, [p for p in params if id(p) not in vision_ids]),
                           (cfg.vision_lr_scale, [p for p in params if id(p) in vision_ids])):  # fmt: skip
        decay = [p for p in members if p.ndim >= 2]
        no_decay = [p for p in members if p.ndim < 2]
        groups += [{"params": decay, "weight_decay": cfg.weight_decay, "lr_scale": scale},
                   {"params": no_decay, "weight_decay": 0.0, "lr_scale": scale}]  # fmt: skip
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.peak_lr, betas=(0.9, 0.95))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def initial_model(cfg: TrainConfig) -> tuple[VisionPangu, VLMTokenizer | None]:
    """From ``cfg.init`` (or ``cfg.out`` when resuming), else a fresh model from the preset.

    The tokenizer is trained on the generator's text at the first text stage (``align`` or
    ``sft``); the ``vision`` stage needs none. Special-token ids are fixed by their order in
    :data:`SPECIAL_TOKENS`, so the model's ids are known before the tokenizer exists.
    """
    source = cfg.out if cfg.resume and (cfg.out / STATE_FILE).exists() else cfg.init
    if source is not None:
        torch.manual_seed(cfg.seed)  # parameters the overrides add start from a seeded init
        model = VisionPangu.from_pretrained(source, overrides=vision_head_overrides(cfg, source))
        has_tokenizer = (Path(source) / TOKENIZER_FILE).is_file()
        tokenizer = VLMTokenizer.from_pretrained(source) if has_tokenizer else None
    else:
        base = preset(cfg.preset, **cfg.model_overrides)
        if cfg.referent_loss and not base.referent_dim:
            head = referent_head(base.lm_layers)
            base = dataclasses.replace(
                base, referent_dim=head["referent_dim"], referent_layer=head["referent_layer"]
            )
        ids: dict[str, Any] = {"pad_token_id": SPECIAL_TOKENS.index(PAD), "eos_token_id": SPECIAL_TOKENS.index(END),
               "image_token_id": SPECIAL_TOKENS.index(IMAGE)}  # fmt: skip
        torch.manual_seed(cfg.seed)
        model = VisionPangu(
            dataclasses.replace(base, **ids, dense_heads=base.dense_heads or dense_head_spec())
        )
        tokenizer = None
    if tokenizer is None and cfg.stage != "vision":
        tokenizer = train_tokenizer(tokenizer_corpus(cfg.tokenizer_texts, cfg.seed), model.config.vocab_size)
    if tokenizer is not None:
        check_compatible(model.config, tokenizer)
    return model, tokenizer


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


def step_loss(model: VisionPangu, batch: Batch, stage: str, referent_weight: float = 0.0) -> torch.Tensor:
    """The stage's objective on one micro-batch (plus ``referent_weight`` x the referent loss
    when the batch has turns that name one object)."""
    if stage == "vision":
        if batch.pixel_values is None or batch.patch_labels is None:
            raise ValueError("vision-stage batches need pixel_values and patch_labels")
        return model.dense_loss(batch.pixel_values, dict(batch.patch_labels))
    referents = batch.referents if referent_weight else None
    out = model(batch.input_ids, batch.attention_mask, batch.pixel_values, batch.labels, referents,
                batch.label_weights)  # fmt: skip
    assert out.loss is not None
    return out.loss if out.referent_loss is None else out.loss + referent_weight * out.referent_loss


def batch_tokens(batch: Batch, model: VisionPangu) -> int:
    """Tokens processed: patches for the vision stage, non-pad LM tokens otherwise."""
    if batch.patch_labels is not None:
        return int(batch.pixel_values.shape[0]) * model.config.grid**2  # type: ignore[union-attr]
    return int(batch.attention_mask.sum())


def save_checkpoint(
    model: VisionPangu, tokenizer: VLMTokenizer | None, optimizer: Any, step: int, cfg: TrainConfig
) -> None:
    """Write model + tokenizer + trainer state into ``cfg.out`` (temp files, then renamed)."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    tmp = cfg.out / ".tmp_checkpoint"
    model.save_pretrained(tmp, tokenizer)
    state = {"step": step, "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
    torch.save(state, tmp / STATE_FILE)
    for item in tmp.iterdir():
        item.replace(cfg.out / item.name)
    tmp.rmdir()
    curves.plot_losses(cfg.out / "loss.csv", cfg.out / "loss.png", f"{cfg.preset} / {cfg.stage}")


def load_trainer_state(cfg: TrainConfig, optimizer: Any) -> int:
    """Restore optimizer and RNG from ``cfg.out``; return the step to continue from."""
    state = torch.load(cfg.out / STATE_FILE, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    curves.truncate_after(cfg.out / "loss.csv", int(state["step"]))
    return int(state["step"])


def train(cfg: TrainConfig) -> Path:
    """Run one stage; return the checkpoint directory (``cfg.out``)."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    random.seed(cfg.seed)
    device = resolve_device(cfg.device)
    model, tokenizer = initial_model(cfg)
    model.to(device).train()
    params = set_trainable(model, cfg.stage)
    optimizer = build_optimizer(params, cfg, list(model.vision.parameters()))
    start = load_trainer_state(cfg, optimizer) if cfg.resume and (cfg.out / STATE_FILE).exists() else 0
    if not cfg.resume:
        (cfg.out / "loss.csv").unlink(missing_ok=True)
    cfg.out.mkdir(parents=True, exist_ok=True)
    batches = stage_batches(cfg.stage, model.config, tokenizer, cfg.batch_size, seed=cfg.seed * 1_000_003 + start,
                            max_len=cfg.max_len, workers=cfg.data_workers, referents=bool(cfg.referent_loss),
                            box_start_weight=cfg.box_start_weight, **cfg.data_mix())  # fmt: skip
    try:
        run_loop(model, tokenizer, optimizer, params, batches, cfg, start, device)
    finally:
        close_iterator(batches)  # stops the data workers, if any
    return cfg.out


def run_loop(model: VisionPangu, tokenizer: VLMTokenizer | None, optimizer: Any, params: list[torch.nn.Parameter],
             batches: Iterator[Batch], cfg: TrainConfig, start: int, device: torch.device) -> None:  # fmt: skip
    """The optimisation loop with logging, periodic checkpoints and a final one."""
    from evalkit.tinyvlm.progress import TrainProgress

    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    t0 = time.perf_counter()
    window_tokens, window_loss, window_n, window_t = 0, 0.0, 0, time.perf_counter()
    with TrainProgress(cfg.stage, total=cfg.steps, start=start) as progress:
        for step in range(start, cfg.steps):
            factor = lr_factor(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)
            for group in optimizer.param_groups:
                group["lr"] = cfg.peak_lr * factor * group.get("lr_scale", 1.0)
            for _ in range(cfg.grad_accum):
                batch = next(batches).to(device)
                with autocast:
                    loss = step_loss(model, batch, cfg.stage, cfg.referent_loss) / cfg.grad_accum
                loss.backward()
                window_loss += float(loss.detach()) * cfg.grad_accum
                window_n += 1
                window_tokens += batch_tokens(batch, model)
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                now = time.perf_counter()
                row = {"step": done, "loss": window_loss / window_n, "lr": cfg.peak_lr * factor,
                       "tokens_per_s": window_tokens / max(now - window_t, 1e-9), "elapsed_s": now - t0}  # fmt: skip
                curves.append_row(cfg.out / "loss.csv", row)
                progress.log(row)
                window_tokens, window_loss, window_n, window_t = 0, 0.0, 0, now
            progress.advance()
            if done % cfg.save_every == 0 or done == cfg.steps:
                save_checkpoint(model, tokenizer, optimizer, done, cfg)


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that raises a one-line ``ValueError`` instead of printing usage and exiting, so
    ``evalkit train`` reports a bad flag like every other command."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parse_args(argv: Sequence[str]) -> TrainConfig:
    """``--stage vision|align|sft --preset tiny --out DIR [--init DIR] [--steps N] [--resume] ...``"""
    p = OneLineArgumentParser(prog="evalkit train", description=__doc__)
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--init", type=Path, default=None)
    for name, kind in (("steps", int), ("batch-size", int), ("grad-accum", int), ("lr", float),
                       ("warmup-steps", int), ("seed", int), ("save-every", int), ("log-every", int),
                       ("max-len", int), ("tokenizer-texts", int), ("num-threads", int),
                       ("vision-lr-scale", float), ("max-turns", int), ("label-prob", float),
                       ("data-workers", int), ("referent-loss", float), ("box-start-weight", float)):  # fmt: skip
        p.add_argument(f"--{name}", type=kind, default=None)
    p.add_argument("--tasks", type=lambda v: tuple(t.strip() for t in v.split(",") if t.strip()), default=None,
                   help="sft only: comma-separated synthetic tasks to train on (default: all seven), "
                        f"and training drills ({', '.join(DRILLS)}: several independent "
                        "questions per image); name a task twice to weight it twice")  # fmt: skip
    p.add_argument("--choice-reply", choices=CHOICE_REPLIES, default=None,
                   help="sft only: answer MMBench questions with the option's letter (default) or its "
                        "text, which VLMEvalKit's official matcher maps back to the letter")  # fmt: skip
    p.add_argument("--box-reply", choices=BOX_REPLIES, default=None,
                   help="sft only: answer grounding questions with the box alone (default), as Qwen-VL "
                        "does (<ref>expression</ref><box>(x1,y1),(x2,y2)</box>), or with three-digit "
                        "coordinates, 0-999 (padded: <box>(062,583),(354,875)</box>)")  # fmt: skip
    p.add_argument("--device", default="auto")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a model config field of the preset or of the --init checkpoint, e.g. "
                        "--set lm_layers=2, or --set visual_position=true to add position embeddings")  # fmt: skip
    args = vars(p.parse_args(list(argv)))
    overrides = parse_overrides(args.pop("set"))
    given = {k: v for k, v in args.items() if v is not None}
    return TrainConfig(**given, model_overrides=overrides)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["lm_layers=2", "preset=\"x\""]`` -> ``{"lm_layers": 2, "preset": "x"}`` (values as JSON,
    bare words as strings); unknown fields are rejected when the preset is built."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: ``python -m evalkit.tinyvlm.train --stage sft --out DIR --init DIR``."""
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    out = train(cfg)
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
