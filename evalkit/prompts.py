"""Prompt building: a task's template over the row's columns, or its hook's ``build_prompt``."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import string
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from evalkit.registry import TaskSpec, tasks_dir


class PromptError(ValueError):
    """A template names a column the row lacks, or a hook failed."""


@functools.cache
def _load_hooks(module_name: str, folder: str) -> ModuleType:
    path = Path(folder) / f"{module_name}.py"
    if Path(folder).resolve() == tasks_dir().resolve():
        return importlib.import_module(f"tasks.{module_name}")
    if not path.is_file():
        raise PromptError(f"hook module {path} named by the task spec does not exist")
    spec = importlib.util.spec_from_file_location(f"evalkit_user_tasks.{module_name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_hooks(spec: TaskSpec) -> ModuleType | None:
    """The task's hook module (``hooks:`` in its spec, found beside the spec file), or None."""
    if not spec.hooks:
        return None
    folder = str(Path(spec.source_file).parent) if spec.source_file else str(tasks_dir())
    return _load_hooks(spec.hooks, folder)


def template_fields(template: str) -> list[str]:
    """The column names a ``str.format`` template refers to."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_template(template: str, row: Mapping[str, Any]) -> str:
    """Fill ``template`` from ``row``; a missing column raises a :class:`PromptError` naming it."""
    missing = [name for name in template_fields(template) if name not in row]
    if missing:
        raise PromptError(f"prompt template needs column(s) {missing}; row has {sorted(row)}")
    return template.format_map(row)


def prepare_row(spec: TaskSpec, row: dict[str, Any]) -> dict[str, Any]:
    """Apply the task hook's ``prepare_row`` (if any) to a raw row."""
    hooks = load_hooks(spec)
    fn = getattr(hooks, "prepare_row", None)
    return fn(row) if fn else row


def build_prompt(spec: TaskSpec, row: Mapping[str, Any]) -> str:
    """The user text for one row: the hook's ``build_prompt`` if defined, else the template."""
    hooks = load_hooks(spec)
    fn = getattr(hooks, "build_prompt", None)
    if fn is not None:
        return str(fn(dict(row)))
    return render_template(spec.prompt, row)
