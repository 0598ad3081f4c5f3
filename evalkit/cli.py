"""The ``evalkit`` command line: thin wrappers over the library.

Every command turns a known failure into one ``error: ...`` line on stderr and exit code 2;
logs and progress go to stderr so ``--json`` output on stdout stays machine-readable. Heavy
libraries are imported inside the commands that need them (``evalkit score`` never loads torch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from evalkit import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Evaluate vision-language models on official benchmarks, with official scoring.",
)
list_app = typer.Typer(help="List registered tasks or models.", no_args_is_help=True)
app.add_typer(list_app, name="list")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line (rank 0 only under torchrun) and exit with ``code``."""
    from evalkit.cli_errors import report_error

    report_error(message)
    raise typer.Exit(code)


def known_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's input, not a bug: reported in one line."""
    from evalkit.cli_errors import user_errors

    return user_errors()


@app.command()
def run(
    model: Annotated[
        str, typer.Option(help="visionpangu, mock:<behaviour>, hf:<repo-or-path>, openai:<model>")
    ] = "visionpangu",
    tasks: Annotated[str, typer.Option(help="Comma-separated task or group names")] = "shapes_all",
    limit: Annotated[int | None, typer.Option(help="Evaluate at most N samples per task")] = None,
    batch_size: Annotated[
        str, typer.Option(help="Batch size, or 'auto' (largest that fits, halving on OOM)")
    ] = "8",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16, float16")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for anything random (recorded)")] = 1234,
    parser: Annotated[
        str, typer.Option(help="Scoring mode: official (default), robust or a named variant")
    ] = "official",
    output_dir: Annotated[Path, typer.Option(help="Root folder; the run writes DIR/<run-name>/")] = Path(
        "results"
    ),
    run_name: Annotated[
        str | None,
        typer.Option(
            help="Run folder name (default: model + timestamp; an unfinished run of the same model and tasks is resumed)"
        ),
    ] = None,
    max_errors: Annotated[int | None, typer.Option(help="Stop when more samples than this fail")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Read datasets from local parquet/JSONL here instead of the hub")
    ] = None,
    dataset_revision: Annotated[str | None, typer.Option(help="Hub dataset revision (commit or tag)")] = None,
    size: Annotated[int | None, typer.Option(help="Number of scenes for synthetic tasks")] = None,
    shard: Annotated[
        str | None, typer.Option(help="Run only shard i/n (merge later with `evalkit merge`)")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="Server URL for openai:<model>")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key for openai:<model> (none sent by default)")
    ] = None,
    attn_implementation: Annotated[
        str | None, typer.Option(help="HF attention implementation (eager, sdpa, flash_attention_2)")
    ] = None,
    trust_remote_code: Annotated[
        bool, typer.Option(help="Allow HF models to run their own code (off by default)")
    ] = False,
    adapter_arg: Annotated[
        list[str] | None, typer.Option(help="Extra adapter setting key=value (repeatable)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print only the results JSON on stdout")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr")] = True,
) -> None:
    """Evaluate a model on tasks; resumable, writes per-sample records and results.json."""
    from evalkit.cli_run import execute_run

    try:
        execute_run(**locals())
    except known_errors() as exc:
        fail(str(exc))


@app.command()
def score(
    predictions: Annotated[Path, typer.Argument(help="JSONL: one dataset row per line plus 'response'")],
    task: Annotated[str, typer.Option(help="Task whose scorer to use")],
    parser: Annotated[str, typer.Option(help="official (default), robust, or a named variant")] = "official",
    seed: Annotated[int, typer.Option(help="Seed for random fallbacks (recorded)")] = 42,
    box_format: Annotated[
        str | None, typer.Option(help="Box convention of the responses: qwen_0_1000, pixel, norm_0_1")
    ] = None,
    samples_out: Annotated[
        Path | None,
        typer.Option("--samples-out", help="Also write per-sample parsed answers and outcomes (JSONL)"),
    ] = None,
    submission: Annotated[
        Path | None, typer.Option(help="vqav2: also write the official submission JSON")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout")] = False,
) -> None:
    """Score responses produced elsewhere, exactly like the benchmark's official script."""
    from evalkit.score_file import score_predictions_file

    try:
        document = score_predictions_file(
            predictions, task, parser=parser, seed=seed, box_format=box_format,
            samples_out=samples_out, submission=submission,
        )  # fmt: skip
    except known_errors() as exc:
        fail(str(exc))
    if json_out:
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        from evalkit.tables import print_score_table

        print_score_table(document)


@list_app.command("tasks")
def list_tasks() -> None:
    """Every task and group, with a one-line description."""
    from evalkit.tables import print_task_list

    print_task_list()


@list_app.command("models")
def list_models() -> None:
    """The model name forms evalkit understands."""
    from evalkit.tables import print_model_list

    print_model_list()


@app.command()
def merge(run_dir: Annotated[Path, typer.Argument(help="Run folder holding shard record files")]) -> None:
    """Merge the shards of a run made with --shard i/n and score it."""
    from evalkit.finalize import merge_run
    from evalkit.tables import print_results

    try:
        results = merge_run(run_dir)
    except known_errors() as exc:
        fail(str(exc))
    print_results({name: r.to_dict() for name, r in results.items()}, run_dir)


@app.command()
def version() -> None:
    """Print the evalkit version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: any failure ends as one ``error:`` line and a non-zero exit code."""
    from evalkit.cli_errors import run_cli

    sys.exit(run_cli(app, sys.argv[1:]))


from evalkit import cli_reports, cli_train  # noqa: E402,F401  (register their commands on `app`)
