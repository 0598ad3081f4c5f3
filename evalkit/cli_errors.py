"""The exception types that mean bad user input (one-line error, exit 2), gathered lazily."""

from __future__ import annotations


def user_errors() -> tuple[type[BaseException], ...]:
    from evalkit.data import DatasetUnavailableError
    from evalkit.images import ImageError
    from evalkit.prompts import PromptError
    from evalkit.registry import TaskSpecError, UnknownNameError
    from evalkit.score_file import PredictionFileError
    from evalkit.store import ResumeConflictError

    errors: list[type[BaseException]] = [
        DatasetUnavailableError, ImageError, PromptError, TaskSpecError, UnknownNameError,
        PredictionFileError, ResumeConflictError, FileNotFoundError, ValueError,
    ]  # fmt: skip
    try:
        from evalkit.runner import TooManyErrorsError

        errors.append(TooManyErrorsError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)
