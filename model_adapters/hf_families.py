"""Per-family differences of Hugging Face VLMs, as data (keyed by ``config.model_type``).

The generic ``hf:`` adapter (:mod:`model_adapters.hf`) reads one :class:`FamilySpec` and never
branches on a family name itself. A model type missing here gets :data:`GENERIC`, which works
for any processor that has a chat template accepting ``{"type": "image"}`` parts.

Box conventions (what a family writes when asked to locate something):

- LLaVA-1.5 / LLaVA-NeXT: ``[x1, y1, x2, y2]`` as fractions of width/height (``norm_0_1``).
- Qwen2-VL: ``(x1,y1),(x2,y2)`` on a 0-1000 grid (``qwen_0_1000``).
- Qwen2.5-VL: absolute pixels of the *model input*, which smart-resize keeps within rounding to
  28 px of the original size for ordinary photos (``pixel``).
- InternVL: ``<box>[[x1, y1, x2, y2]]</box>`` on a 0-1000 grid (``qwen_0_1000``).
- PaliGemma: four ``<locNNNN>`` tokens, y before x, on a 0-1023 grid; the adapter rewrites them
  with :func:`loc_tokens_to_box` into ``<box>(x1,y1),(x2,y2)</box>`` on the 0-1000 grid.
- Idefics3 / SmolVLM / Gemma 3: no grounding training; we declare the closest convention their
  outputs follow in practice (fractions for Idefics3/SmolVLM, 0-1000 for Gemma 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FamilySpec:
    """How one model family is prompted, batched and read back.

    ``use_chat_template``: wrap the prompt with ``processor.apply_chat_template`` (images as
    ``{"type": "image"}`` parts before the text when ``images_first``); otherwise format
    ``raw_prompt`` (``{images}`` = the processor's image token once per image, ``{prompt}``) and
    let the processor expand it (PaliGemma).
    ``end_of_turn``: tokens that end a reply besides the tokenizer's EOS.
    ``image_tokens``: a sorting estimate of tokens per image; 0 means "area / 28**2" (Qwen).
    ``needs_torchvision``: the processor carries a video processor, which transformers builds
    only when torchvision is installed.
    ``reply_boxes``: name of a rewrite applied to replies (``"paligemma_loc"`` or ``""``).
    """

    box_format: str = "qwen_0_1000"
    use_chat_template: bool = True
    images_first: bool = True
    raw_prompt: str = "{images}{prompt}"
    end_of_turn: tuple[str, ...] = ()
    image_tokens: int = 576
    needs_torchvision: bool = False
    reply_boxes: str = ""


GENERIC = FamilySpec()

_QWEN = FamilySpec(
    box_format="qwen_0_1000", end_of_turn=("<|im_end|>",), image_tokens=0, needs_torchvision=True
)

FAMILIES: dict[str, FamilySpec] = {
    "llava": FamilySpec(box_format="norm_0_1", image_tokens=576),
    "llava_next": FamilySpec(box_format="norm_0_1", image_tokens=2000),
    "qwen2_vl": _QWEN,
    "qwen2_5_vl": FamilySpec(
        box_format="pixel", end_of_turn=("<|im_end|>",), image_tokens=0, needs_torchvision=True
    ),
    "internvl": FamilySpec(
        box_format="qwen_0_1000", end_of_turn=("<|im_end|>",), image_tokens=256, needs_torchvision=True
    ),
    "idefics3": FamilySpec(box_format="norm_0_1", end_of_turn=("<end_of_utterance>",), image_tokens=1200),
    "smolvlm": FamilySpec(
        box_format="norm_0_1", end_of_turn=("<end_of_utterance>",), image_tokens=1200, needs_torchvision=True
    ),
    "paligemma": FamilySpec(
        box_format="qwen_0_1000", use_chat_template=False, image_tokens=256, reply_boxes="paligemma_loc"
    ),
    "gemma3": FamilySpec(box_format="qwen_0_1000", end_of_turn=("<end_of_turn>",), image_tokens=256),
}


def family_for(model_type: str) -> FamilySpec:
    """The spec for ``config.model_type``, or :data:`GENERIC` for families not listed."""
    return FAMILIES.get(model_type, GENERIC)


def estimate_image_tokens(spec: FamilySpec, width: int, height: int) -> int:
    """Tokens one image adds, for sorting only (Qwen: one token per 28x28 pixels)."""
    if spec.image_tokens > 0:
        return spec.image_tokens
    return max(4, (width * height) // (28 * 28))


_LOC_BOX = re.compile(r"<loc(\d{4})><loc(\d{4})><loc(\d{4})><loc(\d{4})>")


def _loc_to_grid(value: str) -> int:
    """A PaliGemma location bin (0-1023, the bin's lower edge over 1024) on the 0-1000 grid."""
    return round(int(value) * 1000 / 1024)


def loc_tokens_to_box(reply: str) -> str:
    """Rewrite PaliGemma's ``<locY1><locX1><locY2><locX2>`` as ``<box>(x1,y1),(x2,y2)</box>`` (0-1000).

    PaliGemma's detection output (big_vision's ``paligemma`` README) lists y before x and bins
    each coordinate into 1024 steps of the image size.
    """

    def rewrite(match: re.Match[str]) -> str:
        y1, x1, y2, x2 = (_loc_to_grid(v) for v in match.groups())
        return f"<box>({x1},{y1}),({x2},{y2})</box>"

    return _LOC_BOX.sub(rewrite, reply)


REPLY_REWRITES = {"": lambda reply: reply, "paligemma_loc": loc_tokens_to_box}
