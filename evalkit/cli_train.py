"""``evalkit train``: train the built-in visionpangu model stage by stage, or a recipe file.

The flags are those of :func:`evalkit.tinyvlm.train_cli.stage_parser` (one definition, so
``evalkit train``, ``python -m evalkit.tinyvlm.train_cli`` and recipe files cannot drift apart):
``--stage vision|align|sft --out DIR [--preset tiny] [--init DIR] [--steps N] [--resume] ...``,
or ``--recipe FILE [--out DIR] [--smoke] [--var NAME=VALUE] ...``; ``evalkit train --help`` lists them.
"""

from __future__ import annotations

import typer

from evalkit.cli import app, fail, known_errors


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help="Train the built-in model: one stage (vision, align, sft) or a recipe file (--recipe); "
    "`evalkit train --help` lists the flags.",
)
def train(ctx: typer.Context) -> None:
    from evalkit.tinyvlm.train_cli import main as train_main

    try:
        code = train_main(list(ctx.args))
    except known_errors() as exc:
        fail(str(exc))
    raise typer.Exit(code)
