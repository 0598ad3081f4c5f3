"""``evalkit train``: train the built-in visionpangu model stage by stage.

The flags are those of :func:`evalkit.tinyvlm.train.parse_args` (one definition, so
``evalkit train`` and ``python -m evalkit.tinyvlm.train`` cannot drift apart):
``--stage vision|align|sft --out DIR [--preset tiny] [--init DIR] [--steps N] [--resume] ...``;
``evalkit train --help`` lists them all.
"""

from __future__ import annotations

import typer

from evalkit.cli import app, fail, known_errors


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help="Train one stage of the built-in model (vision, align, sft) on the offline synthetic "
    "generator; `evalkit train --help` lists the flags.",
)
def train(ctx: typer.Context) -> None:
    from evalkit.tinyvlm.train import main as train_main

    try:
        code = train_main(list(ctx.args))
    except known_errors() as exc:
        fail(str(exc))
    raise typer.Exit(code)
