"""``evalkit train``: one stage from flags, or a whole recipe file (``--recipe``).

One flag definition (:func:`stage_parser`) serves the command line and recipe files, so a
recipe's ``flags:`` are exactly ``evalkit train``'s flags and cannot drift from them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from evalkit.synthetic.drills import DRILLS
from evalkit.synthetic.training import BOX_REPLIES, CHOICE_REPLIES
from evalkit.tinyvlm.train import STAGES, TrainConfig, train

NUMERIC_FLAGS = (
    ("steps", int), ("batch-size", int), ("grad-accum", int), ("lr", float), ("warmup-steps", int),
    ("seed", int), ("save-every", int), ("log-every", int), ("max-len", int), ("tokenizer-texts", int),
    ("num-threads", int), ("vision-lr-scale", float), ("max-turns", int), ("label-prob", float),
    ("data-workers", int), ("referent-loss", float), ("box-start-weight", float), ("stop-after", int),
    ("vision-layer", int),
)  # fmt: skip


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that raises a one-line ``ValueError`` instead of printing usage and exiting, so
    ``evalkit train`` reports a bad flag like every other command."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def comma_list(value: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in value.split(",") if t.strip())


def stage_parser(prog: str = "evalkit train") -> OneLineArgumentParser:
    """The flags of one training stage."""
    p = OneLineArgumentParser(prog=prog, description="Train one stage of the built-in visionpangu model; "
                              "`evalkit train --recipe FILE` runs a whole recipe instead.")  # fmt: skip
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--init", type=Path, default=None, help="checkpoint to continue from (the previous stage)")
    for name, kind in NUMERIC_FLAGS:
        p.add_argument(f"--{name}", type=kind, default=None)
    p.add_argument("--vision", default=None, help="align/sft: a pretrained Hugging Face vision tower (hub id "
                   "or folder: CLIP, SigLIP, InternViT ...), assembled with --lm")  # fmt: skip
    p.add_argument("--lm", default=None, help="a pretrained Hugging Face causal LM (Llama, Qwen2, "
                   "openPangu-Embedded ...), assembled with --vision")  # fmt: skip
    p.add_argument("--trust-remote-code", action="store_true", default=None,
                   help="let a pretrained part's tokenizer or config run code from its folder")  # fmt: skip
    p.add_argument("--data", action="append", default=None, metavar="kind=K,key=value,...",
                   help="align/sft, repeatable: kind=llava,path=FILE[,images=DIR][,weight=W] | "
                        "kind=docci,path=DIR[,split=train][,weight=W] | kind=shapes[,weight=W] (the "
                        "synthetic stream, mixed by --tasks etc.); each example's source is drawn by weight")  # fmt: skip
    p.add_argument("--tasks", type=comma_list, default=None,
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
    p.add_argument("--device", default=None)
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile each vision block and decoder layer: about 1.2x faster steps on a "
                        "CPU after a minute of compiling (the same training, to float rounding)")  # fmt: skip
    p.add_argument("--resume", action="store_true", default=None)
    p.add_argument("--set", action="append", default=None, metavar="FIELD=VALUE",
                   help="override a model config field of the preset or of the --init checkpoint, e.g. "
                        "--set lm_layers=2, or --set visual_position=true to add position embeddings")  # fmt: skip
    return p


def config_from_args(args: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from parsed flags (flags not given keep the config's defaults)."""
    values = {k: v for k, v in args.items() if v is not None}
    overrides = parse_overrides(values.pop("set", []))
    if "data" in values:
        values["data"] = tuple(values["data"])
    return TrainConfig(**values, model_overrides=overrides)


def parse_args(argv: Sequence[str]) -> TrainConfig:
    """``--stage vision|align|sft --preset tiny --out DIR [--init DIR] [--steps N] [--resume] ...``"""
    return config_from_args(vars(stage_parser().parse_args(list(argv))))


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["lm_layers=2", "preset=\\"x\\""]`` -> ``{"lm_layers": 2, "preset": "x"}`` (values as JSON,
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
    """CLI entry: one stage, or with ``--recipe`` every stage of a recipe file."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--recipe" in args or any(a.startswith("--recipe=") for a in args):
        from evalkit.tinyvlm.recipe import recipe_main

        return recipe_main(args)
    out = train(parse_args(args))
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
