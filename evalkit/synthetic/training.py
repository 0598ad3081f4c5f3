"""Training data for the built-in model, drawn from the shapes generators' ``train`` stream.

Stages (each an infinite, deterministic iterator of :class:`TrainingExample`):

- ``vision``: images with dense per-pixel labels (shape, colour and size class ids, instance
  map) for pre-training the vision encoder; no text turns. Objects may overlap a little.
- ``align``: one caption turn per image (the caption task's prompt, one of its references).
- ``sft``: instruction turns for every shapes task, round-robin, built from the very rows the
  eval tasks use and prompted by the evaluation pipeline itself (task YAML template or hook),
  so train and eval prompts are identical; the assistant text is what the task's scorer wants.
  The mix may also name training-only drills (:mod:`evalkit.synthetic.drills`: several
  independent yes/no, multiple-choice or grounding questions per image) and weight a task by
  naming it twice.

Scenes come from split ``train``, whose random streams are disjoint from ``eval``'s.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from evalkit.synthetic.drills import DRILLS, REFERENT_KEY
from evalkit.synthetic.scene import COLOR_NAMES, LABEL_LETTERS, SHAPES, SIZE_NAMES, RenderedScene, SceneConfig
from evalkit.synthetic.streams import draw_scenes, pick, scene_rng, shuffled
from evalkit.synthetic.suite import scene_row_groups

STAGES = ("vision", "align", "sft")
CHOICE_REPLIES = ("letter", "text")  # how MMBench-format questions are answered in training
BOX_REPLIES = ("box", "ref", "padded")  # grounding replies: the box, Qwen-VL's <ref>expr</ref><box>, 3-digit
NUM_SHAPE_IDS = len(SHAPES) + 1  # 0 = background, k = SHAPES[k - 1]
NUM_COLOR_IDS = len(COLOR_NAMES) + 1  # 0 = background, k = COLOR_NAMES[k - 1]
NUM_SIZE_IDS = len(SIZE_NAMES) + 1  # 0 = background, k = SIZE_NAMES[k - 1]
NUM_LETTER_IDS = len(LABEL_LETTERS) + 1  # 0 = no letter, k = LABEL_LETTERS[k - 1]
VISION_CONFIG = SceneConfig(min_objects=0, max_objects=7, max_overlap=0.25, label_prob=0.3)
SFT_TASKS = ("shapes_mme", "shapes_pope", "shapes_vqa", "shapes_mmbench", "shapes_mmmu", "shapes_refcoco",
             "shapes_caption")  # fmt: skip
SFT_BLOCK = 16  # scenes generated together per task (POPE's negatives use the block's statistics)
BLOCK = 32  # vision / align examples per block of the stream (they are independent of each other)
MAX_TURNS = 3


@dataclass(frozen=True, eq=False)
class DenseLabels:
    """Per-pixel targets, each (H, W) int64: 0 is background, k the k-th vocabulary entry;
    ``letter`` covers the whole visible object that carries a letter (0 on the rest), so a
    patch anywhere on the shape is asked which letter the shape bears; ``instance`` is the
    object index (-1 background)."""

    shape: np.ndarray
    color: np.ndarray
    size: np.ndarray
    letter: np.ndarray
    instance: np.ndarray


@dataclass(frozen=True)
class TrainingExample:
    """An RGB image, its (user, assistant) turns and, for stage ``vision``, dense labels; for
    drill turns that name one object, its pixel mask (``referents``, None for other turns)."""

    image: Image.Image
    turns: tuple[tuple[str, str], ...]
    dense: DenseLabels | None = None
    task: str = ""
    referents: tuple[np.ndarray | None, ...] = ()  # per turn: (H, W) bool pixels of the named object


def dense_labels(scene: RenderedScene) -> DenseLabels:
    """Map the object map through per-object class ids (index 0 of each table is background)."""
    objs = scene.scene.objects
    instance = scene.object_map.astype(np.int64)

    def lookup(ids: list[int]) -> np.ndarray:
        return np.asarray([0, *ids], dtype=np.int64)[instance + 1]

    return DenseLabels(
        shape=lookup([SHAPES.index(o.shape) + 1 for o in objs]),
        color=lookup([COLOR_NAMES.index(o.color) + 1 for o in objs]),
        size=lookup([SIZE_NAMES.index(o.size) + 1 for o in objs]),
        letter=lookup([LABEL_LETTERS.index(o.label) + 1 if o.label else 0 for o in objs]),
        instance=instance,
    )


def grounding_answer(bbox: list[float], width: int, height: int, padded: bool = False) -> str:
    """``<box>(x1,y1),(x2,y2)</box>`` on Qwen-VL's 0-1000 grid from a COCO [x, y, w, h] pixel box;
    ``padded``: every coordinate written with three digits, 0-999 (``(062,583),(354,875)``)."""
    x, y, w, h = bbox
    values = (round(x / width * 1000), round(y / height * 1000),
              round((x + w) / width * 1000), round((y + h) / height * 1000))  # fmt: skip
    x1, y1, x2, y2 = (f"{min(v, 999):03d}" for v in values) if padded else values
    return f"<box>({x1},{y1}),({x2},{y2})</box>"


def option_text_reply(row: Mapping[str, Any]) -> str:
    """The true option's text as an MMBench reply, when VLMEvalKit's official matcher reads it
    back as the true letter (``can_infer_text``: "red" -> the option "red"); otherwise the letter
    itself (an option whose text is a lone capital such as "C" would be read as letter C)."""
    from evalkit.parsing.choice import VLMEVALKIT_CURRENT, vlmevalkit_can_infer
    from evalkit.scoring.mmbench import build_choices

    letter = str(row["answer"])
    text = str(row[letter])
    return text if vlmevalkit_can_infer(text, build_choices(row), VLMEVALKIT_CURRENT) == letter else letter


def target_text(
    task: str,
    row: Mapping[str, Any],
    rng: np.random.Generator,
    choice_reply: str = "letter",
    box_reply: str = "box",
) -> str:
    """The reply a perfect model gives to ``row`` of ``task`` (what that task's scorer accepts);
    ``choice_reply="text"`` answers MMBench questions with the true option's text instead of its
    letter (:func:`option_text_reply`); ``box_reply="ref"`` answers grounding questions as Qwen-VL
    does, ``<ref>expression</ref><box>...</box>`` (the expression echoed right before the
    coordinates), and ``box_reply="padded"`` writes each coordinate with three digits, so the first
    digit token always means hundreds ("62" and "625" both start with "6"; "062" does not). The
    grounding parsers read either as the same box."""
    if task == "shapes_mmbench" and choice_reply == "text":
        return option_text_reply(row)
    if task == "shapes_vqa":
        return str(row["multiple_choice_answer"])
    if task == "shapes_refcoco":
        box = grounding_answer(row["bbox"], row["image_width"], row["image_height"], box_reply == "padded")
        return f"<ref>{row['answer'][0]}</ref>{box}" if box_reply == "ref" else box
    if task == "shapes_caption":
        return pick(rng, list(row["references"]))
    return str(row["answer"])  # mme Yes/No, pope yes/no, mmbench / mmmu letter, mmmu open number


def _prompted(task: str, row: dict[str, Any]) -> tuple[str, Image.Image]:
    """The prompt and image the evaluation pipeline builds for ``row`` (same code path)."""
    from evalkit.pipeline import prepare_sample
    from evalkit.registry import default_registry

    sample = prepare_sample(default_registry().get(task), 0, dict(row), None)
    if sample.error or not sample.images:
        raise RuntimeError(
            f"{task}: cannot build the eval prompt for a training row: {sample.error or 'no image'}"
        )
    return sample.prompt, sample.images[0]


def sft_example(
    task: str,
    rows: list[dict[str, Any]],
    rng: np.random.Generator,
    max_turns: int = MAX_TURNS,
    choice_reply: str = "letter",
    box_reply: str = "box",
) -> TrainingExample:
    """Up to ``max_turns`` turns about one scene: one random circular copy for MMBench, and
    for RefCOCO one turn per expression (the eval prompt grounds ``answer[0]`` only)."""
    if task == "shapes_refcoco":
        rows = [{**row, "answer": [expression]} for row in rows for expression in row["answer"]]
    chosen = [pick(rng, rows)] if task == "shapes_mmbench" else shuffled(rng, rows)[:max_turns]
    return conversation_example(task, [(task, row) for row in chosen], rng, choice_reply, box_reply)


def conversation_example(
    task: str,
    drilled: list[tuple[str, dict[str, Any]]],
    rng: np.random.Generator,
    choice_reply: str = "letter",
    box_reply: str = "box",
) -> TrainingExample:
    """``(eval task, row)`` pairs about one scene as one conversation (a drill's questions, or
    one task's rows), each prompted by its eval task and answered with its scorer's target."""
    turns = []
    image = None
    for eval_task, row in drilled:
        prompt, image = _prompted(eval_task, row)
        turns.append((prompt, target_text(eval_task, row, rng, choice_reply, box_reply)))
    assert image is not None
    referents = tuple(row.get(REFERENT_KEY) for _, row in drilled)
    return TrainingExample(image=image, turns=tuple(turns), task=task,
                           referents=referents if any(r is not None for r in referents) else ())  # fmt: skip


def _scene_groups(task: str, indices: range, seed: int, image_size: int) -> list[Any]:
    """Per scene: an eval task's rows, or a drill's ``(eval task, row)`` pairs."""
    if task in DRILLS:
        build = DRILLS[task]
        return draw_scenes(task, indices, seed=seed, split="train", image_size=image_size,
                           build=lambda scene, rng, _: build(scene, rng))  # fmt: skip
    return scene_row_groups(task, indices, seed=seed, split="train", image_size=image_size)


def _vision_block(block: int, seed: int, image_size: int, label_prob: float | None) -> list[TrainingExample]:
    config = VISION_CONFIG if label_prob is None else replace(VISION_CONFIG, label_prob=label_prob)
    indices = range(block * BLOCK, (block + 1) * BLOCK)
    scenes = draw_scenes("train_vision", indices, seed=seed, split="train", image_size=image_size,
                         build=lambda s, r, k: s, config=config)  # fmt: skip
    return [TrainingExample(image=s.image, turns=(), dense=dense_labels(s), task="vision") for s in scenes]


def _align_block(block: int, seed: int, image_size: int) -> list[TrainingExample]:
    indices = range(block * BLOCK, (block + 1) * BLOCK)
    groups = scene_row_groups("shapes_caption", indices, seed=seed, split="train", image_size=image_size)
    out = []
    for i, rows in zip(indices, groups):
        rng = scene_rng("align_pick", seed, "train", i)
        prompt, image = _prompted("shapes_caption", rows[0])
        turns = ((prompt, target_text("shapes_caption", rows[0], rng)),)
        out.append(TrainingExample(image=image, turns=turns, task="align"))
    return out


def _sft_block(
    block: int,
    seed: int,
    image_size: int,
    tasks: tuple[str, ...],
    max_turns: int,
    choice_reply: str,
    box_reply: str,
) -> list[TrainingExample]:
    """Round-robin over ``tasks``; a task named ``r`` times is weighted ``r``-fold, its k-th
    mention at block position ``j`` taking scene ``j * r + k`` of the task's stream (so every
    mention sees new scenes, and a task named once reads its stream in order)."""
    repeats = Counter(tasks)
    mention = [tasks[:i].count(task) for i, task in enumerate(tasks)]  # k of each slot
    groups = {
        t: _scene_groups(t, range(block * SFT_BLOCK * r, (block + 1) * SFT_BLOCK * r), seed, image_size)
        for t, r in repeats.items()
    }
    out = []
    for j in range(SFT_BLOCK):
        for task, k in zip(tasks, mention):
            local = j * repeats[task] + k
            rng = scene_rng(f"sft_pick_{task}", seed, "train", block * SFT_BLOCK * repeats[task] + local)
            if task in DRILLS:
                out.append(conversation_example(task, groups[task][local], rng, choice_reply, box_reply))
            else:
                out.append(sft_example(task, groups[task][local], rng, max_turns, choice_reply, box_reply))
    return out


def sft_task_mix(tasks: Sequence[str] | None) -> tuple[str, ...]:
    """The SFT tasks to cycle through (all of :data:`SFT_TASKS` by default, in that order; a
    drill from :data:`DRILLS` may be named too, and a task named twice weighs twice);
    ValueError names an unknown one."""
    if tasks is None:
        return SFT_TASKS
    known = (*SFT_TASKS, *DRILLS)
    unknown = [t for t in tasks if t not in known]
    if unknown or not tasks:
        raise ValueError(f"unknown sft task(s) {unknown or '(none given)'}; choose from {', '.join(known)}")
    return tuple(tasks)


def training_blocks(
    stage: str,
    *,
    seed: int,
    image_size: int,
    tasks: Sequence[str] | None = None,
    max_turns: int = MAX_TURNS,
    choice_reply: str = "letter",
    box_reply: str = "box",
    label_prob: float | None = None,
) -> Callable[[int], list[TrainingExample]]:
    """The stage's stream as blocks: ``fn(b)`` returns the ``b``-th block of examples, each
    block independent of the others, and the stream is blocks 0, 1, 2, ... in order, so blocks
    may be rendered in parallel (worker processes: ``fn`` pickles) without changing the stream.
    For ``sft``, ``tasks`` picks the task mix (a curriculum can start with captions alone),
    ``max_turns`` the questions asked about one image, ``choice_reply`` whether MMBench
    questions are answered with the letter or the option's text and ``box_reply`` how
    grounding replies are written (:data:`BOX_REPLIES`, :func:`target_text`). For ``vision``, ``label_prob``
    is the chance that a shape able to bear a letter does (None: :data:`VISION_CONFIG`'s).
    ValueError names a bad argument at once."""
    if max_turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    if choice_reply not in CHOICE_REPLIES:
        raise ValueError(f"choice_reply must be one of {', '.join(CHOICE_REPLIES)}, got {choice_reply!r}")
    if box_reply not in BOX_REPLIES:
        raise ValueError(f"box_reply must be one of {', '.join(BOX_REPLIES)}, got {box_reply!r}")
    if label_prob is not None and not 0.0 <= label_prob <= 1.0:
        raise ValueError(f"label_prob must be in [0, 1], got {label_prob}")
    if stage == "vision":
        return partial(_vision_block, seed=seed, image_size=image_size, label_prob=label_prob)
    if stage == "align":
        return partial(_align_block, seed=seed, image_size=image_size)
    if stage == "sft":
        return partial(_sft_block, seed=seed, image_size=image_size, tasks=sft_task_mix(tasks),
                       max_turns=max_turns, choice_reply=choice_reply, box_reply=box_reply)  # fmt: skip
    raise ValueError(f"unknown training stage {stage!r}; use one of {', '.join(STAGES)}")


def iter_training_examples(
    stage: str, *, seed: int, image_size: int, **mix: Any
) -> Iterator[TrainingExample]:
    """Infinite deterministic examples of ``stage`` (``vision``, ``align`` or ``sft``): the
    blocks of :func:`training_blocks` (which takes the same arguments) one after another."""
    block = training_blocks(stage, seed=seed, image_size=image_size, **mix)
    return itertools.chain.from_iterable(map(block, itertools.count()))


def training_text_corpus(n: int, seed: int) -> list[str]:
    """``n`` texts (prompt and reply of a turn, joined by a newline) from the sft and align
    streams, alternating, for training a tokenizer; images are drawn small and discarded."""
    streams = [iter_training_examples("sft", seed=seed, image_size=64),
               iter_training_examples("align", seed=seed, image_size=64)]  # fmt: skip
    texts: list[str] = []
    for k in itertools.count():
        for user, assistant in next(streams[k % 2]).turns:
            texts.append(f"{user}\n{assistant}")
        if len(texts) >= n:
            return texts[:n]
    raise AssertionError("unreachable")
