"""Staged training of the built-in VLM: ``vision`` -> ``align`` -> ``sft`` (VisionPangu recipe).

``vision``: ViT + per-patch heads on the synthetic renderer's dense labels (stage 0, replaces
a pre-trained InternViT). ``align``: only the projector learns, on captions. ``sft``: all of
vision, projector and LM learn on instruction data. The model starts from a checkpoint, from
pretrained Hugging Face parts or from a preset (:mod:`evalkit.tinyvlm.startup`); the data is the
synthetic stream or a weighted mix of LLaVA-format, DOCCI and synthetic sources
(:mod:`evalkit.tinyvlm.data_mix`). AdamW, linear warm-up then cosine decay, gradient
accumulation and clipping, bf16 autocast on CUDA, periodic checkpoints + ``--resume``. The
command line is :mod:`evalkit.tinyvlm.train_cli`, multi-stage recipes :mod:`evalkit.tinyvlm.recipe`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from evalkit.tinyvlm import curves
from evalkit.tinyvlm.data import Batch
from evalkit.tinyvlm.data_mix import DATA_STATS_FILE
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.startup import STATE_FILE, initial_model
from evalkit.tinyvlm.stream import close_iterator, stage_batches
from evalkit.tinyvlm.tokenizer import VLMTokenizer

STAGES = ("vision", "align", "sft")
TRAINABLE_PREFIXES = {
    "vision": ("vision.", "dense."),
    "align": ("projector.",),
    "sft": ("vision.", "projector.", "language."),
}
DEFAULT_LR = {"vision": 1e-3, "align": 1e-3, "sft": 5e-4}


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
    stop_after: int | None = None  # end (and save) at this step of the ``steps``-long schedule
    vision: str | None = None  # pretrained vision tower (hub id or folder), with ``lm``
    lm: str | None = None  # pretrained causal LM (hub id or folder), with ``vision``
    vision_layer: int = -1  # the tower's hidden state the projector reads
    trust_remote_code: bool = False  # let a pretrained part's tokenizer/config run its own code
    data: tuple[str, ...] = ()  # align/sft sources (data_mix.parse_data_source); () = synthetic stream
    compile: bool = False  # torch.compile each vision block and decoder layer (compile_blocks)

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
        if self.stop_after is not None and not 1 <= self.stop_after <= self.steps:
            raise ValueError(
                f"--stop-after must be a step in 1..--steps ({self.steps}), got {self.stop_after}"
            )
        self.check_sources()

    def check_sources(self) -> None:
        """Pretrained parts come as a pair, replace the preset and never meet ``--init``; real
        data feeds only the text stages (each source's spec is checked here, before any model)."""
        if (self.vision is None) != (self.lm is None):
            raise ValueError("--vision and --lm go together: a pretrained tower and a pretrained LM")
        if self.vision is not None and self.init is not None:
            raise ValueError("--vision/--lm assemble a new model; --init continues one: pass one of them")
        if self.vision is not None and self.stage == "vision":
            raise ValueError("--vision/--lm start at --stage align (the tower is already trained)")
        if self.data:
            if self.stage == "vision":
                raise ValueError(
                    "--data feeds the align and sft stages; the vision stage reads the synthetic stream"
                )
            from evalkit.tinyvlm.data_mix import parse_data_sources

            parse_data_sources(self.data)

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


def repeated_blocks(module: torch.nn.Module) -> list[torch.nn.Module]:
    """The longest ``ModuleList`` inside ``module``: a transformer's stack of identical blocks
    (the built-in ViT's ``blocks``, a Hugging Face tower's ``encoder.layers``)."""
    lists: list[list[torch.nn.Module]] = [
        list(m) for m in module.modules() if isinstance(m, torch.nn.ModuleList)
    ]
    return max(lists, key=len) if lists else []


def compile_blocks(model: VisionPangu) -> int:
    """Regional compilation: ``torch.compile`` each vision block and LM decoder layer in place,
    so one compiled graph serves every identical layer (compiling the whole model traces each
    layer apart and took minutes). Decoder layers compile with dynamic shapes: training calls
    them on groups of rows of varying count and length (:func:`evalkit.tinyvlm.model.length_groups`).
    Returns the number of modules compiled."""
    vision = repeated_blocks(model.vision)
    layers = list(model.language.get_decoder().layers)
    for block in vision:
        block.compile()
    for layer in layers:
        layer.compile(dynamic=True)
    return len(vision) + len(layers)


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
    state = torch.load(cfg.out / STATE_FILE, weights_only=True, map_location="cpu")  # saved on any device
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
    if cfg.compile:
        compile_blocks(model)
    params = set_trainable(model, cfg.stage)
    optimizer = build_optimizer(params, cfg, list(model.vision.parameters()))
    resuming = cfg.resume and (cfg.out / STATE_FILE).exists()
    start = load_trainer_state(cfg, optimizer) if resuming else 0
    cfg.out.mkdir(parents=True, exist_ok=True)
    if not resuming:  # a fresh start, or a --resume with no checkpoint yet: no stale log rows
        for name in ("loss.csv", DATA_STATS_FILE):
            (cfg.out / name).unlink(missing_ok=True)
    batches = training_batches(cfg, model, tokenizer, seed=cfg.seed * 1_000_003 + start)
    try:
        run_loop(model, tokenizer, optimizer, params, batches, cfg, start, device)
    finally:
        close_iterator(batches)  # stops the data workers, if any
    return cfg.out


def training_batches(
    cfg: TrainConfig, model: VisionPangu, tokenizer: VLMTokenizer | None, *, seed: int
) -> Any:
    """The stage's batches: the synthetic stream, or with ``--data`` the weighted mix of real
    and synthetic sources (then the iterator carries ``.stats``, the data counters)."""
    common: dict[str, Any] = {"seed": seed, "max_len": cfg.max_len, "workers": cfg.data_workers,
                              "referents": bool(cfg.referent_loss), "box_start_weight": cfg.box_start_weight,
                              **cfg.data_mix()}  # fmt: skip
    if not cfg.data:
        return stage_batches(cfg.stage, model.config, tokenizer, cfg.batch_size, **common)
    from evalkit.tinyvlm.data_mix import parse_data_sources, real_stage_batches

    if tokenizer is None:
        raise ValueError(f"stage {cfg.stage!r} needs a tokenizer")
    sources = parse_data_sources(cfg.data)
    return real_stage_batches(sources, cfg.stage, model.config, tokenizer, cfg.batch_size, **common)


def log_data_stats(batches: Any, cfg: TrainConfig, step: int, progress: Any) -> None:
    """Append the real-data counters (skipped, truncated, ...) to the run folder and the log:
    nothing a reader drops or cuts goes unsaid."""
    stats = getattr(batches, "stats", None)
    if stats is None:
        return
    from evalkit.tinyvlm.data_mix import append_data_stats

    append_data_stats(cfg.out / DATA_STATS_FILE, step, stats)
    progress.console.print(f"[{cfg.stage}] {stats.summary()}", markup=False, highlight=False, soft_wrap=True)


def run_loop(model: VisionPangu, tokenizer: VLMTokenizer | None, optimizer: Any, params: list[torch.nn.Parameter],
             batches: Iterator[Batch], cfg: TrainConfig, start: int, device: torch.device) -> None:  # fmt: skip
    """The optimisation loop with logging, periodic checkpoints and a final one."""
    from evalkit.tinyvlm.progress import TrainProgress

    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    t0 = time.perf_counter()
    window_tokens, window_loss, window_n, window_t = 0, 0.0, 0, time.perf_counter()
    end = cfg.stop_after or cfg.steps
    with TrainProgress(cfg.stage, total=end, start=start) as progress:
        for step in range(start, end):
            factor = lr_factor(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)
            for group in optimizer.param_groups:
                group["lr"] = cfg.peak_lr * factor * group.get("lr_scale", 1.0)
            for _ in range(cfg.grad_accum):
                batch = next(batches).to(device)
                with autocast:
                    loss = step_loss(model, batch, cfg.stage, cfg.referent_loss) / cfg.grad_accum
                if loss.requires_grad:  # align on text-only rows: nothing trainable took part
                    loss.backward()
                window_loss += float(loss.detach()) * cfg.grad_accum
                window_n += 1
                window_tokens += batch_tokens(batch, model)
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            if done % cfg.log_every == 0 or done == end:
                now = time.perf_counter()
                row = {"step": done, "loss": window_loss / window_n, "lr": cfg.peak_lr * factor,
                       "tokens_per_s": window_tokens / max(now - window_t, 1e-9), "elapsed_s": now - t0}  # fmt: skip
                curves.append_row(cfg.out / "loss.csv", row)
                progress.log(row)
                log_data_stats(batches, cfg, done, progress)
                window_tokens, window_loss, window_n, window_t = 0, 0.0, 0, now
            progress.advance()
            if done % cfg.save_every == 0 or done == end:
                save_checkpoint(model, tokenizer, optimizer, done, cfg)
