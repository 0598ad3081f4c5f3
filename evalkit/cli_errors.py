"""How the CLI reports failure: one ``error:`` line on stderr and a non-zero exit code.

Known user errors (a bad flag, an unknown task, a missing file ...) are caught by each command
and exit with code 2. Anything else that escapes a command is turned into one line naming the
command, the exception and what to do, exit code 1; ``EVALKIT_DEBUG=1`` shows the traceback
instead. Under torchrun every rank writes its line to the launcher's error file (so torchrun's
failure summary shows it in place of "To enable traceback see ..."), and only rank 0 prints it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

DEBUG_ENV = "EVALKIT_DEBUG"
MAX_LINE = 800


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad user input (one-line error, exit 2), gathered lazily."""
    from evalkit.data import DatasetUnavailableError
    from evalkit.images import ImageError
    from evalkit.prompts import PromptError
    from evalkit.registry import TaskSpecError, UnknownNameError
    from evalkit.score_file import PredictionFileError
    from evalkit.store import ResumeConflictError
    from model_adapters.base import ModelUnavailableError

    errors: list[type[BaseException]] = [
        DatasetUnavailableError, ImageError, PromptError, TaskSpecError, UnknownNameError,
        PredictionFileError, ResumeConflictError, ModelUnavailableError, FileNotFoundError, ValueError,
    ]  # fmt: skip
    try:
        from evalkit.runner import TooManyErrorsError

        errors.append(TooManyErrorsError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _launcher_rank() -> int:
    return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0


def _record_for_launcher(line: str) -> None:
    """Leave ``line`` in torchrun's per-rank error file, when there is one (best effort)."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"message": line, "timestamp": int(time.time())}, fh)
    except OSError:
        pass


def report_error(message: str) -> None:
    """Print ``error: <message>`` as one line on stderr (rank 0 only under a launcher)."""
    line = f"error: {one_line(message)}"
    _record_for_launcher(line)
    if _launcher_rank() == 0:
        print(line, file=sys.stderr, flush=True)


def describe_unexpected(exc: BaseException, command: str) -> str:
    """One line for an exception no command anticipated: what failed and what to do."""
    where = f"evalkit {command}" if command else "evalkit"
    if isinstance(exc, OSError) and exc.filename is not None:
        return (
            f"{where}: cannot use {exc.filename}: {exc.strerror or type(exc).__name__}; "
            "check that the path exists and is readable/writable"
        )
    if isinstance(exc, MemoryError):
        return f"{where} ran out of memory; use a smaller --batch-size (or --limit) and run again to resume"
    detail = one_line(str(exc)) or "(no message)"
    return (
        f"{where} failed: {type(exc).__name__}: {detail} — rerun with {DEBUG_ENV}=1 for the "
        "traceback; finished records stay on disk and the same command resumes"
    )


def _is_usage_error(exc: BaseException) -> bool:
    """click/typer usage errors (unknown option, missing argument), whichever click is vendored."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _command_name(args: Sequence[str]) -> str:
    words = [a for a in args if not a.startswith("-")][:2]
    return " ".join(words[:2] if words[:1] == ["list"] else words[:1])


def run_cli(app: Callable[..., Any], args: Sequence[str]) -> int:
    """Run the typer ``app`` on ``args`` and return the exit code; no traceback escapes unless
    ``EVALKIT_DEBUG=1``."""
    if not args:
        app(args=[])  # standalone: prints the help, exits
        return 0
    command = _command_name(args)
    try:
        result = app(args=list(args), standalone_mode=False)
    except KeyboardInterrupt:
        report_error("interrupted; finished records are on disk and the same command resumes")
        return 130
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `evalkit list`: typer printed its help
            return int(getattr(exc, "exit_code", 2))
        if _is_usage_error(exc):
            usage: Any = exc  # a click.UsageError of whichever click typer uses
            report_error(f"{usage.format_message()} (see `evalkit {command} --help`)")
            return int(usage.exit_code)
        import typer

        if isinstance(exc, typer.Abort):
            report_error("aborted")
            return 1
        if debug_enabled():
            raise
        report_error(describe_unexpected(exc, command))
        return 1
    return result if isinstance(result, int) else 0
