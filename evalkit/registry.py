"""The task registry: task specs read from ``tasks/*.yaml``, their variants and groups.

A spec file declares a family task (e.g. ``pope``), optional named variants that override some
of its keys (``pope_random``) and groups that expand to several tasks (``refcoco_all``).
See ``tasks/README.md`` for the format.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TASK_KEYS = {
    "name", "description", "version", "dataset", "prompt", "generation", "target", "scorer",
    "metrics", "headline", "hooks", "subset", "variants", "groups", "filter",
}  # fmt: skip
DATASET_KEYS = {
    "path", "name", "split", "revision", "local", "synthetic", "size", "seed", "image_columns",
    "id_column", "data_files", "image_size", "join",
}  # fmt: skip
JOIN_KEYS = {"name", "column", "key"}  # not "on": YAML 1.1 reads it as True


class TaskSpecError(ValueError):
    """A task spec file is malformed; the message names the file and the bad key."""


class UnknownNameError(KeyError):
    """A task, model or scorer name that is not registered."""

    def __str__(self) -> str:
        return str(self.args[0])


def unknown_name_error(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """An error naming the unknown ``name`` and the closest known ones."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known[:20])}"
    listing = {"task": " (see `evalkit list tasks`)", "model": " (see `evalkit list models`)"}.get(kind, "")
    return UnknownNameError(f"unknown {kind} {name!r}: {hint}{listing}")


@dataclass(frozen=True)
class DatasetJoin:
    """Columns joined in from another config of the same dataset: each row's ``column`` value
    is looked up in that config's ``key`` column (GQA: questions' ``imageId`` -> images' ``id``)."""

    name: str
    column: str
    key: str


@dataclass(frozen=True)
class DatasetSource:
    """Where a task's rows come from: a hub id, a local directory, or a synthetic generator."""

    path: str | None = None
    name: str | None = None
    split: str = "test"
    revision: str | None = None
    local: str | None = None
    synthetic: str | None = None
    size: int | None = None
    seed: int = 0
    image_columns: tuple[str, ...] = ("image",)
    id_column: str | None = None
    data_files: str | None = None
    image_size: int | None = None  # synthetic generators only
    join: DatasetJoin | None = None

    @property
    def label(self) -> str:
        return self.synthetic or self.local or self.path or "?"


@dataclass(frozen=True)
class TaskSpec:
    """One runnable task."""

    name: str
    description: str
    version: int
    dataset: DatasetSource
    prompt: str
    generation: Mapping[str, Any]
    scorer: str
    metrics: tuple[str, ...]
    headline: str
    target: str | None = None
    hooks: str | None = None
    subset: str = "head"
    filter: Mapping[str, Any] = field(default_factory=dict)
    family: str = ""
    source_file: str = ""


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (nested dicts merge, the rest replaces)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _spec_from_dict(raw: Mapping[str, Any], *, name: str, family: str, source: str) -> TaskSpec:
    """Validate one (merged) task mapping and build its :class:`TaskSpec`."""
    unknown = set(raw) - TASK_KEYS
    if unknown:
        raise TaskSpecError(f"{source}: unknown key(s) {sorted(unknown)} in task {name!r}")
    for required in ("dataset", "scorer"):
        if required not in raw:
            raise TaskSpecError(f"{source}: task {name!r} lacks required key {required!r}")
    ds = raw["dataset"]
    if not isinstance(ds, Mapping):
        raise TaskSpecError(f"{source}: 'dataset' of task {name!r} must be a mapping")
    bad = set(ds) - DATASET_KEYS
    if bad:
        raise TaskSpecError(f"{source}: unknown dataset key(s) {sorted(bad)} in task {name!r}")
    if sum(bool(ds.get(k)) for k in ("path", "local", "synthetic")) != 1:
        raise TaskSpecError(f"{source}: task {name!r} needs exactly one of dataset.path/local/synthetic")
    ds = dict(ds)
    ds["image_columns"] = tuple(ds.get("image_columns") or ())
    ds["join"] = _join_from(ds.get("join"), name=name, source=source)
    metrics = tuple(raw.get("metrics") or ())
    if not raw.get("prompt") and not raw.get("hooks"):
        raise TaskSpecError(f"{source}: task {name!r} needs a 'prompt' template or a 'hooks' module")
    subset = raw.get("subset", "head")
    if subset not in ("head", "seeded"):
        raise TaskSpecError(f"{source}: task {name!r}: subset must be 'head' or 'seeded'")
    return TaskSpec(
        name=name,
        description=str(raw.get("description", "")).strip(),
        version=int(raw.get("version", 1)),
        dataset=DatasetSource(**ds),
        prompt=str(raw.get("prompt") or ""),
        generation=dict(raw.get("generation") or {}),
        scorer=str(raw["scorer"]),
        metrics=metrics,
        headline=str(raw.get("headline") or (metrics[0] if metrics else "")),
        target=raw.get("target"),
        hooks=raw.get("hooks"),
        subset=subset,
        filter=dict(raw.get("filter") or {}),
        family=family,
        source_file=source,
    )


def _join_from(raw: Any, *, name: str, source: str) -> DatasetJoin | None:
    """``dataset.join`` as a :class:`DatasetJoin`; it must give exactly ``name``, ``column`` and ``key``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != JOIN_KEYS:
        raise TaskSpecError(
            f"{source}: 'dataset.join' of task {name!r} needs exactly the keys {sorted(JOIN_KEYS)}"
        )
    return DatasetJoin(name=str(raw["name"]), column=str(raw["column"]), key=str(raw["key"]))


def parse_task_file(path: Path) -> tuple[dict[str, TaskSpec], dict[str, tuple[str, ...]]]:
    """Read one spec file into its tasks (family + variants) and groups."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaskSpecError(f"{path.name}: invalid YAML: {exc}".replace("\n", " ")) from exc
    if isinstance(raw, Mapping) and "name" not in raw and set(raw) == {"groups"}:
        return {}, {g: tuple(members) for g, members in (raw["groups"] or {}).items()}
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise TaskSpecError(f"{path.name}: a task spec must be a mapping with a 'name' (or only 'groups')")
    family = str(raw["name"])
    base = {k: v for k, v in raw.items() if k not in ("variants", "groups")}
    tasks = {family: _spec_from_dict(base, name=family, family=family, source=str(path))}
    for vname, override in (raw.get("variants") or {}).items():
        if not isinstance(override, Mapping):
            raise TaskSpecError(f"{path.name}: variant {vname!r} must be a mapping")
        merged = _merge(base, override)
        tasks[vname] = _spec_from_dict(merged, name=vname, family=family, source=str(path))
    groups = {g: tuple(members) for g, members in (raw.get("groups") or {}).items()}
    return tasks, groups


def tasks_dir() -> Path:
    """The folder holding the shipped task specs (works from a checkout and when installed)."""
    import tasks as tasks_package

    return Path(tasks_package.__file__).parent


@dataclass(frozen=True)
class TaskRegistry:
    tasks: Mapping[str, TaskSpec]
    groups: Mapping[str, tuple[str, ...]]

    def get(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise unknown_name_error("task", name, [*self.tasks, *self.groups])
        return self.tasks[name]

    def _members(self, name: str, seen: tuple[str, ...]) -> list[str]:
        if name not in self.groups:
            return [name]
        if name in seen:
            raise TaskSpecError(f"group {name!r} contains itself")
        return [m for member in self.groups[name] for m in self._members(member, (*seen, name))]

    def expand(self, names: Iterable[str]) -> list[TaskSpec]:
        """Resolve task and group names (in order, without duplicates)."""
        out: dict[str, TaskSpec] = {}
        for name in names:
            name = name.strip()
            if not name:
                continue
            for member in self._members(name, ()):
                out.setdefault(member, self.get(member))
        return list(out.values())


def load_registry(directory: Path | None = None, *, check_groups: bool = True) -> TaskRegistry:
    """Read every ``*.yaml`` spec in ``directory`` (default: the shipped ``tasks/``)."""
    directory = directory or tasks_dir()
    tasks: dict[str, TaskSpec] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for path in sorted(directory.glob("*.yaml")):
        file_tasks, file_groups = parse_task_file(path)
        for name in [*file_tasks, *file_groups]:
            if name in tasks or name in groups:
                raise TaskSpecError(f"{path.name}: task or group {name!r} is defined twice")
        tasks.update(file_tasks)
        groups.update(file_groups)
    if check_groups:
        _check_groups(tasks, groups)
    return TaskRegistry(tasks=tasks, groups=groups)


def _check_groups(tasks: Mapping[str, TaskSpec], groups: Mapping[str, tuple[str, ...]]) -> None:
    for group, members in groups.items():
        missing = [m for m in members if m not in tasks and m not in groups]
        if missing:
            raise TaskSpecError(f"group {group!r} names unknown task(s) {missing}")


def task_dirs() -> list[Path]:
    """The shipped ``tasks/`` folder, then any folders in ``EVALKIT_TASK_DIRS`` (os.pathsep-separated)."""
    extra = [Path(p) for p in os.environ.get("EVALKIT_TASK_DIRS", "").split(os.pathsep) if p]
    return [tasks_dir(), *extra]


def load_registries(directories: Iterable[Path]) -> TaskRegistry:
    """One registry over several spec folders; a name defined twice is an error."""
    tasks: dict[str, TaskSpec] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for directory in directories:
        if not directory.is_dir():
            raise TaskSpecError(f"task folder {directory} does not exist (check EVALKIT_TASK_DIRS)")
        part = load_registry(directory, check_groups=False)
        clash = (set(part.tasks) | set(part.groups)) & (set(tasks) | set(groups))
        if clash:
            raise TaskSpecError(f"{directory}: task or group {sorted(clash)} is already defined")
        tasks.update(part.tasks)
        groups.update(part.groups)
    _check_groups(tasks, groups)
    return TaskRegistry(tasks=tasks, groups=groups)


def default_registry() -> TaskRegistry:
    """The registry of the shipped specs plus ``EVALKIT_TASK_DIRS`` (cached per setting)."""
    return _cached_registry(os.environ.get("EVALKIT_TASK_DIRS", ""))


@functools.lru_cache(maxsize=4)
def _cached_registry(_extra: str) -> TaskRegistry:
    return load_registries(task_dirs())
