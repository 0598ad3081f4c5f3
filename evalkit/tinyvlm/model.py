"""VisionPangu: vision encoder -> projector -> Llama decoder, with safetensors checkpoints.

The LM sees one ``<image>`` placeholder token per visual token; :meth:`VisionPangu.embed`
replaces those embeddings with the projected patch features (LLaVA / InternVL style).
A checkpoint directory holds ``config.json``, ``model.safetensors`` and the tokenizer files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_model, save_model
from torch import nn
from transformers import PreTrainedModel

from evalkit.tinyvlm.config import VLMConfig
from evalkit.tinyvlm.language import build_language_model, cache_keyword
from evalkit.tinyvlm.projector import Projector
from evalkit.tinyvlm.tokenizer import VLMTokenizer
from evalkit.tinyvlm.vision import DenseHeads, build_vision_encoder

WEIGHTS_FILE = "model.safetensors"
IGNORE_INDEX = -100


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counting only real tokens, so left padding does not shift RoPE: ``(B, T)``."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


@dataclass(frozen=True)
class VLMOutput:
    """Loss over labelled positions (None without labels), last-position logits or all logits,
    and the referent loss when the batch names referents (:class:`ReferentHead`)."""

    loss: torch.Tensor | None
    logits: torch.Tensor | None
    referent_loss: torch.Tensor | None = None


@dataclass(frozen=True)
class Referents:
    """Questions that name one object: batch ``rows`` and token ``positions`` (K,) of the state
    that starts each answer, and ``targets`` (K, num_visual_tokens): the share of the object's
    pixels under each visual token (rows sum to 1)."""

    rows: torch.Tensor
    positions: torch.Tensor
    targets: torch.Tensor

    def to(self, device: str | torch.device) -> Referents:
        return Referents(self.rows.to(device), self.positions.to(device), self.targets.to(device))


class ReferentHead(nn.Module):
    """Scaled dot-product scores between a query from the answer-start state and a key from each
    visual token's state, both after ``referent_layer`` decoder layers: trained to point at the
    named object, it asks the LM to route that object's tokens to where the answer is written."""

    def __init__(self, cfg: VLMConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(cfg.lm_hidden)  # the residual stream's scale grows with depth
        self.query = nn.Linear(cfg.lm_hidden, cfg.referent_dim)
        self.key = nn.Linear(cfg.lm_hidden, cfg.referent_dim)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``queries (K, D)``, ``keys (K, N, D)`` -> logits ``(K, N)``."""
        q, k = self.query(self.norm(queries)), self.key(self.norm(keys))
        return torch.einsum("kd,knd->kn", q, k) / q.shape[-1] ** 0.5


def balanced_patch_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged separately over background (label 0) and object patches, then
    the two means averaged; ``logits (B, N, C)``, ``labels (B, N)`` with -100 ignored."""
    per_patch = F.cross_entropy(
        logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    )
    flat = labels.flatten()
    parts = [per_patch[mask].mean() for mask in (flat == 0, (flat > 0)) if bool(mask.any())]
    return torch.stack(parts).mean() if parts else per_patch.sum() * 0.0


# Each group of rows costs one decoder call: in the split that :func:`length_groups` picks, a
# group must save about this many padded token positions to be worth its call (measured on 2
# CPU cores with the tiny preset, where a call costs about what 512 tokens of work do).
GROUP_OVERHEAD_TOKENS = 512


def last_real_position(real: torch.Tensor) -> torch.Tensor:
    """Index of each row's last true (or 1) position in ``real (B, T)``, ``(B,)``; -1 where none."""
    positions = torch.arange(real.shape[1], device=real.device)
    return torch.where(real.bool(), positions, -1).amax(dim=1)


def length_groups(lengths: Sequence[int], overhead: int = GROUP_OVERHEAD_TOKENS) -> list[list[int]]:
    """Row indices split into groups of similar length, each to be run cut to its own longest
    row: the split of the rows sorted by length (ties by index) into consecutive groups that
    minimises ``sum(len(group) * longest(group)) + overhead * number_of_groups`` (exact, by
    dynamic programming). Every row appears once; the result depends only on ``lengths``."""
    if overhead < 0:
        raise ValueError(f"overhead must be >= 0, got {overhead}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    sorted_lengths = [max(0, lengths[i]) for i in order]
    n = len(order)
    best = [0.0] + [math.inf] * n  # best[j]: cost of the first j sorted rows
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):  # the last group is sorted rows i..j-1, padded to sorted_lengths[j-1]
            cost = best[i] + (j - i) * sorted_lengths[j - 1] + overhead
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups: list[list[int]] = []
    j = n
    while j > 0:
        groups.append(sorted(order[cut[j] : j]))
        j = cut[j]
    return groups[::-1]


def example_loss_sums(
    head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor, label_weights: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example ``(B,)``: the weighted sum of next-token losses over labelled positions
    (logits computed only there) and the sum of their weights (0: nothing to answer)."""
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    logits = head(hidden[:, :-1][keep])  # (K, V)
    token_loss = F.cross_entropy(logits.float(), targets[keep], reduction="none")  # (K,)
    weights = torch.ones_like(token_loss) if label_weights is None else label_weights[:, 1:][keep].float()
    rows = keep.nonzero()[:, 0]  # the example each kept position belongs to
    sums = torch.zeros(keep.shape[0], device=token_loss.device).index_add_(0, rows, token_loss * weights)
    counts = torch.zeros(keep.shape[0], device=token_loss.device).index_add_(0, rows, weights)
    return sums, counts


def mean_of_examples(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The mean over answered examples of each one's weighted mean loss (:func:`example_loss_sums`)."""
    answered = counts > 0
    return (sums[answered] / counts[answered]).mean()


class VisionPangu(nn.Module):
    """The compact VLM. ``forward`` trains; :mod:`evalkit.tinyvlm.generate` decodes."""

    def __init__(
        self, config: VLMConfig, *, vision: nn.Module | None = None, language: PreTrainedModel | None = None
    ) -> None:
        """Modules built from ``config``; ``vision`` / ``language``: pretrained parts already
        loaded (:func:`evalkit.tinyvlm.pretrained.assemble`), used instead of fresh ones."""
        super().__init__()
        self.config = config.validate()
        self.vision = build_vision_encoder(config, vision)
        self.projector = Projector(config)
        self.language = language if language is not None else build_language_model(config)
        self.dense = DenseHeads(config)
        self.group_overhead = GROUP_OVERHEAD_TOKENS  # training's length groups (length_groups)
        if config.referent_dim:
            self.referent = ReferentHead(config)

    @property
    def pixel_dtype(self) -> torch.dtype:
        """The dtype the vision encoder's weights (and so its input pixels) are in."""
        return next(self.vision.parameters()).dtype

    def visual_embeddings(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``(N_img, 3, S, S)`` -> ``(N_img, num_visual_tokens, lm_hidden)``."""
        return self.projector(self.vision(pixel_values))

    def embed(self, input_ids: torch.Tensor, pixel_values: torch.Tensor | None) -> torch.Tensor:
        """Token embeddings ``(B, T, D)`` with ``<image>`` slots filled by visual features, in order."""
        embeds = self.language.get_input_embeddings()(input_ids)
        slots = input_ids == self.config.image_token_id
        n_slots = int(slots.sum())
        if pixel_values is None or n_slots == 0:
            if n_slots:
                raise ValueError(f"{n_slots} <image> tokens but no pixel_values")
            return embeds
        visual = self.visual_embeddings(pixel_values)
        if visual.shape[0] * visual.shape[1] != n_slots:
            raise ValueError(
                f"{n_slots} <image> tokens for {visual.shape[0]}x{visual.shape[1]} visual tokens"
            )
        return embeds.masked_scatter(slots.unsqueeze(-1), visual.to(embeds.dtype))

    def hidden_states(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        cache: Any = None,
        *,
        layer: int | None = None,
    ) -> tuple[torch.Tensor, Any]:
        """Run the decoder; returns final hidden states ``(B, T, D)`` and the (updated) KV cache,
        or with ``layer``, the states after that many decoder layers in place of the cache."""
        full_mask = attention_mask
        past = 0 if cache is None else cache.get_seq_length()
        positions = position_ids_from_mask(full_mask)[:, past:]
        decoder = self.language.get_decoder()
        out = decoder(
            inputs_embeds=inputs_embeds,
            attention_mask=full_mask,
            position_ids=positions,
            use_cache=cache is not None,
            output_hidden_states=layer is not None,
            **{cache_keyword(decoder): cache},
        )
        if layer is not None:
            return out.last_hidden_state, out.hidden_states[layer]
        return out.last_hidden_state, getattr(out, cache_keyword(decoder))

    def referent_loss(
        self, states: torch.Tensor, input_ids: torch.Tensor, referents: Referents
    ) -> torch.Tensor:
        """Cross-entropy of the head's distribution over each image's visual tokens against the
        referent's pixel shares; ``states (B, T, D)`` after ``referent_layer`` layers."""
        visual = (input_ids == self.config.image_token_id).nonzero()  # row-major: (B*N, 2)
        n = self.config.num_visual_tokens
        if visual.shape[0] != n * input_ids.shape[0]:
            raise ValueError("the referent loss needs exactly one image per row")
        keys = states[visual[:, 0], visual[:, 1]].view(-1, n, states.shape[-1])[referents.rows]  # (K, N, D)
        queries = states[referents.rows, referents.positions]  # (K, D)
        logits = self.referent(queries, keys).float()
        return -(referents.targets * logits.log_softmax(-1)).sum(-1).mean()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        referents: Referents | None = None,
        label_weights: torch.Tensor | None = None,
    ) -> VLMOutput:
        """Next-token loss over positions whose label is not -100 (logits only computed there),
        averaged per example, then over examples: a one-word yes/no answer weighs as much as a
        long caption (a plain token mean lets captions drown out the short answers); with
        ``label_weights`` ``(B, T)`` each example's mean is weighted by them. With ``referents``,
        also :meth:`referent_loss` (returned apart, for the trainer to weigh)."""
        embeds = self.embed(input_ids, pixel_values)
        head = self.language.get_output_embeddings()
        if referents is None or not len(referents.rows):
            if labels is None:
                hidden, _ = self.hidden_states(embeds, attention_mask)
                return VLMOutput(loss=None, logits=head(hidden))
            return VLMOutput(
                loss=self.grouped_loss(embeds, attention_mask, labels, label_weights), logits=None
            )
        if not self.config.referent_dim:
            raise ValueError("the batch names referents but the model has no referent head; "
                             "train with --referent-loss, which adds one")  # fmt: skip
        hidden, states = self.hidden_states(embeds, attention_mask, layer=self.config.referent_layer)
        referent_loss = self.referent_loss(states, input_ids, referents)
        if labels is None:
            return VLMOutput(loss=None, logits=head(hidden), referent_loss=referent_loss)
        loss = mean_of_examples(*example_loss_sums(head, hidden, labels, label_weights))
        return VLMOutput(loss=loss, logits=None, referent_loss=referent_loss)

    def grouped_loss(
        self,
        embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        label_weights: torch.Tensor | None,
    ) -> torch.Tensor:
        """The same loss as one padded pass, computed in groups of rows of similar length, each
        cut to its own longest row (:func:`length_groups`): rows never see each other and a
        right-padded row's pads come after everything it attends to, so this is the padded
        batch's loss with up to half the decoder's work left out (a batch mixing 60-token
        yes/no turns with 260-token captions is half padding). ``self.group_overhead`` is the split's
        cost of one group (a huge value gives the one padded pass)."""
        head = self.language.get_output_embeddings()
        # a row's extent: through its last real or labelled position (never cut a label)
        extents = (last_real_position(attention_mask.bool() | (labels != IGNORE_INDEX)) + 1).clamp(min=1)
        sums = torch.zeros(labels.shape[0], device=embeds.device)
        counts = torch.zeros(labels.shape[0], device=embeds.device)
        for rows in length_groups(extents.tolist(), self.group_overhead):
            index = torch.as_tensor(rows, device=embeds.device)
            width = int(extents[index].max())
            hidden, _ = self.hidden_states(embeds[index, :width], attention_mask[index, :width])
            weights = None if label_weights is None else label_weights[index, :width]
            group_sums, group_counts = example_loss_sums(head, hidden, labels[index, :width], weights)
            sums = sums.index_add(0, index, group_sums)
            counts = counts.index_add(0, index, group_counts)
        return mean_of_examples(sums, counts)

    def dense_loss(self, pixel_values: torch.Tensor, patch_labels: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean over heads of a class-balanced per-patch cross-entropy (labels ``(B, N)``, -100
        ignored): background patches (label 0, most of every image) and object patches each weigh
        half, so the encoder cannot score well by predicting background everywhere."""
        logits = self.dense(self.vision(pixel_values))
        losses = [balanced_patch_loss(logits[name], patch_labels[name]) for name in logits]
        if not losses:
            raise ValueError("config has no dense_heads; the vision stage needs them")
        return torch.stack(losses).mean()

    def num_parameters(self, *, include_dense: bool = False) -> int:
        """Unique parameters (tied embeddings counted once); the training-only heads (dense,
        referent) are excluded by default."""
        heads = ("dense.", "referent.")
        seen = {
            id(p): p for name, p in self.named_parameters() if include_dense or not name.startswith(heads)
        }
        return sum(p.numel() for p in seen.values())

    def save_pretrained(self, directory: Path | str, tokenizer: VLMTokenizer | None = None) -> None:
        """Write ``config.json`` + ``model.safetensors`` (+ tokenizer files when given)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save(directory)
        save_model(self, str(directory / WEIGHTS_FILE))
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)

    @staticmethod
    def from_pretrained(
        directory: Path | str,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        overrides: Mapping[str, Any] | None = None,
    ) -> VisionPangu:
        """Load a checkpoint directory written by :meth:`save_pretrained` (strict: all keys must
        match). ``overrides`` change config fields first (training ``--init DIR --set F=V``):
        parameters the changed config adds keep their fresh initialisation, every stored tensor
        must still fit."""
        directory = Path(directory)
        if not (directory / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"no {WEIGHTS_FILE} in {directory}; train one with `evalkit train`")
        stored = VLMConfig.load(directory)
        model = VisionPangu(dataclasses.replace(stored, **overrides) if overrides else stored)
        # Always read the tensors onto the CPU, then move: a device name is only ever used by
        # .to(), so no accelerator-only loading option reaches a CPU-only machine.
        missing, unexpected = load_model(
            model, str(directory / WEIGHTS_FILE), strict=not overrides, device="cpu"
        )
        if unexpected:
            raise ValueError(f"{directory}: weights {sorted(unexpected)[:3]} have no place once {dict(overrides or {})} "
                             "is applied; drop that --set")  # fmt: skip
        return model.to(device=device, dtype=dtype).eval()


def load_pretrained(directory: Path | str, *, device: str = "cpu") -> tuple[VisionPangu, VLMTokenizer]:
    """Model and tokenizer of one checkpoint directory."""
    return VisionPangu.from_pretrained(directory, device=device), VLMTokenizer.from_pretrained(directory)
