"""Training recipes: the ordered stages of a visionpangu model in one YAML file.

``evalkit train --recipe FILE|NAME`` checks every stage before training any (a bad stage name,
an ``init`` that is neither an earlier stage nor a folder, an unknown flag: one line, nothing
trained), then runs the stages in order, each into ``<out>/<stage name>``. It is resumable stage
by stage: a finished stage (its ``recipe_stage.json`` says so, with the same flags) is skipped,
an interrupted one continues from its last checkpoint, and a stage whose flags changed since is
refused rather than silently mixed. Format (``evalkit/recipes/*.yaml`` are the shipped ones)::

    name: my-model
    out: runs/my-model            # default root; --out overrides
    vars: {DATA: data}            # ${DATA} in values; --var DATA=/big/disk overrides
    stages:
      - name: align               # the stage's folder name, unique
        stage: align              # vision | align | sft
        init: null                # an earlier stage's name or a checkpoint folder; null = fresh
        flags: {vision: ..., lm: ..., data: ["kind=llava,path=${DATA}/x.json,images=${DATA}"], steps: 2000}

``flags`` are ``evalkit train``'s own flags without the dashes (lists repeat a repeatable flag;
``tasks`` lists are joined by commas); ``stage``, ``out``, ``init`` and ``resume`` belong to the
recipe. ``--smoke`` runs every stage for two tiny steps (the test of a recipe file).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.tinyvlm.train import STAGES, TrainConfig, train
from evalkit.tinyvlm.train_cli import OneLineArgumentParser, config_from_args, stage_parser

RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"
STAGE_FILE = "recipe_stage.json"
RECIPE_KEYS = {"name", "description", "out", "vars", "stages"}
STAGE_KEYS = {"name", "stage", "init", "flags", "note"}
OWNED_FLAGS = {"stage", "out", "init", "resume"}
SMOKE = {"steps": 2, "batch-size": 2, "warmup-steps": 1, "log-every": 1, "save-every": 1000, "tokenizer-texts": 400,
         "data-workers": 0}  # fmt: skip
GLOBAL_FLAGS = ("device", "num-threads", "data-workers")  # the same results on any value: every stage
RUNTIME_FLAGS = {f"--{name}" for name in GLOBAL_FLAGS}  # where a stage ran, not what it trains
RUNTIME_SWITCHES = {"--trust-remote-code", "--compile"}  # the same, without a value
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RecipeError(ValueError):
    """A recipe that cannot run; the message names the file, the stage and the fix."""


@dataclass(frozen=True)
class PlannedStage:
    """One stage, resolved: its folder and its ``evalkit train`` arguments."""

    name: str
    out: Path
    argv: tuple[str, ...]
    where: str  # how errors name the stage

    @property
    def config(self) -> TrainConfig:
        """The stage's training config; every check of ``evalkit train`` (flags, combinations,
        data files) fails here, naming the stage."""
        try:
            return config_from_args(vars(stage_parser().parse_args(list(self.argv))))
        except ValueError as exc:
            raise RecipeError(f"{self.where}: {exc}") from None

    @property
    def target_step(self) -> int:
        config = self.config
        return config.stop_after or config.steps

    def command(self) -> str:
        """The equivalent ``evalkit train`` command line."""
        return "evalkit train " + " ".join(shlex.quote(a) for a in self.argv)


def find_recipe(spec: str) -> Path:
    """A recipe file path, or the name of a shipped recipe (``visionpangu-tiny``)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    shipped = RECIPES_DIR / f"{spec}.yaml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
    raise RecipeError(f"no recipe file {spec}: pass a YAML file or one of the shipped recipes {names}")


def load_recipe(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), list) or not raw["stages"]:
        raise RecipeError(f"{path}: a recipe is a mapping with a non-empty 'stages' list")
    unknown = sorted(set(raw) - RECIPE_KEYS)
    if unknown:
        raise RecipeError(f"{path}: unknown key(s) {unknown}; a recipe has {sorted(RECIPE_KEYS)}")
    return raw


def substitute(value: Any, variables: Mapping[str, str], where: str) -> Any:
    """``${NAME}`` replaced in every string of ``value`` (lists and mappings walked)."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            if match.group(1) not in variables:
                raise RecipeError(
                    f"{where}: unknown variable ${{{match.group(1)}}}; known: {sorted(variables)}"
                )
            return variables[match.group(1)]

        return VAR.sub(lookup, value)
    if isinstance(value, list):
        return [substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables, where) for k, v in value.items()}
    return value


def flag_argv(flags: Mapping[str, Any], parser: OneLineArgumentParser) -> list[str]:
    """``{"steps": 5, "tasks": [a, b], "data": [x, y], "resume": true}`` as command-line words."""
    repeatable = {a.dest for a in parser._actions if type(a).__name__ == "_AppendAction"}
    argv: list[str] = []
    for key, value in flags.items():
        flag = f"--{key}"
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list) and key.replace("-", "_") in repeatable:
            for item in value:
                argv += [flag, str(item)]
        elif isinstance(value, list):
            argv += [flag, ",".join(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


def stage_init(entry: Mapping[str, Any], out: Path, earlier: Sequence[str], where: str) -> Path | None:
    """The folder a stage starts from: an earlier stage's, or an existing checkpoint folder."""
    init = entry.get("init")
    if init is None:
        return None
    if str(init) in earlier:
        return out / str(init)
    path = Path(str(init)).expanduser()
    if not (path / "config.json").is_file():
        raise RecipeError(f"{where}: init {init!r} is neither an earlier stage ({list(earlier)}) "
                          "nor a checkpoint folder; fix the name or train that checkpoint first")  # fmt: skip
    return path


def plan_stage(entry: Any, index: int, out: Path, earlier: Sequence[str], overrides: Mapping[str, Any],
               where: str) -> PlannedStage:  # fmt: skip
    """Check one stage entry and resolve it to its arguments and config (nothing is trained)."""
    where = f"{where}: stage {index + 1}"
    if not isinstance(entry, dict) or not entry.get("name") or entry.get("stage") not in STAGES:
        raise RecipeError(f"{where}: each stage needs a 'name' and a 'stage' in {STAGES}")
    where = f"{where} ({entry['name']!r})"
    unknown = sorted(set(entry) - STAGE_KEYS)
    flags = dict(entry.get("flags") or {})
    owned = sorted(OWNED_FLAGS & set(flags))
    if unknown or owned or entry["name"] in earlier:
        problem = f"unknown key(s) {unknown}" if unknown else (
            f"flags {owned} are set by the recipe" if owned else "a name used twice")  # fmt: skip
        raise RecipeError(f"{where}: {problem}")
    init = stage_init(entry, out, earlier, where)
    argv = ["--stage", entry["stage"], "--out", str(out / entry["name"])]
    argv += ["--init", str(init)] if init is not None else []
    argv += flag_argv({**flags, **overrides}, stage_parser())
    return PlannedStage(entry["name"], out / entry["name"], tuple(argv), where)


def smoke_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    """A stage's flags shortened to two tiny steps (``--stop-after`` dropped)."""
    short = {k: v for k, v in flags.items() if k != "stop-after"}
    return {**short, **SMOKE}


def plan(raw: Mapping[str, Any], path: Path, *, out: Path | None, variables: Mapping[str, str],
         smoke: bool, overrides: Mapping[str, Any]) -> list[PlannedStage]:  # fmt: skip
    """Every stage resolved, in order (:attr:`PlannedStage.config` checks one)."""
    known = {str(k): str(v) for k, v in (raw.get("vars") or {}).items()}
    unknown = sorted(set(variables) - set(known))
    if unknown:
        raise RecipeError(
            f"{path}: --var {unknown[0]} is not a variable of this recipe; it has {sorted(known)}"
        )
    values = {**known, **variables}
    root = out or Path(
        substitute(str(raw.get("out") or f"runs/{raw.get('name', path.stem)}"), values, str(path))
    )
    stages: list[PlannedStage] = []
    for index, entry in enumerate(raw["stages"]):
        entry = substitute(entry, values, str(path))
        if smoke and isinstance(entry, dict):
            entry = {**entry, "flags": smoke_flags(entry.get("flags") or {})}
        stages.append(plan_stage(entry, index, root, [s.name for s in stages], overrides, str(path)))
    return stages


def stage_status(stage: PlannedStage) -> str:
    """``new``, ``done`` (finished with these flags) or ``resume``; changed flags are an error."""
    marker = stage.out / STAGE_FILE
    if not marker.is_file():
        return "resume" if (stage.out / "trainer_state.pt").is_file() else "new"
    record = json.loads(marker.read_text())
    if training_flags(record.get("argv", [])) != training_flags(stage.argv):
        raise RecipeError(f"stage {stage.name!r} in {stage.out} was trained with other flags "
                          f"({shlex.join(record.get('argv', []))}); delete that folder or pass another --out")  # fmt: skip
    return "done" if record.get("status") == "finished" else "resume"


def training_flags(argv: Sequence[str]) -> list[str]:
    """A stage's arguments without those that say where or how it ran (device, threads, data
    workers, remote code, compilation): a stage trained on a GPU, compiled, or with other workers,
    is the same stage on a CPU."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in RUNTIME_FLAGS:
            skip = True
        elif arg not in RUNTIME_SWITCHES:
            kept.append(arg)
    return kept


def write_marker(stage: PlannedStage, status: str, seconds: float | None = None) -> None:
    stage.out.mkdir(parents=True, exist_ok=True)
    record = {
        "stage": stage.name,
        "argv": list(stage.argv),
        "status": status,
        "target_step": stage.target_step,
    }
    if seconds is not None:
        record["wall_s"] = round(seconds, 1)
    tmp = stage.out / f".{STAGE_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(stage.out / STAGE_FILE)


def run_stages(stages: Sequence[PlannedStage], log: Any = print) -> Path:
    """Train every stage not yet finished, in order; return the last stage's folder."""
    statuses = [stage_status(stage) for stage in stages]  # refuse changed flags before training
    for stage, status in zip(stages, statuses):
        if status == "done":
            log(f"[recipe] {stage.name}: finished before, skipped")
            continue
        log(f"[recipe] {stage.name}: {'resuming' if status == 'resume' else 'training'}: {stage.command()}")
        write_marker(stage, "running")
        started = time.perf_counter()
        train(dataclasses.replace(stage.config, resume=status == "resume"))
        write_marker(stage, "finished", time.perf_counter() - started)
    return stages[-1].out


def until_index(stages: Sequence[PlannedStage], name: str | None, path: Path) -> int:
    """The index of the stage ``--until`` names (the last stage without it)."""
    names = [stage.name for stage in stages]
    if name is None:
        return len(names) - 1
    if name not in names:
        raise RecipeError(f"{path}: --until {name!r} is not a stage of this recipe; its stages are {names}")
    return names.index(name)


def recipe_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(prog="evalkit train --recipe", description=__doc__)
    p.add_argument("--recipe", required=True, help="a recipe YAML file, or a shipped recipe's name")
    p.add_argument("--out", type=Path, default=None, help="root folder of the stages (default: the recipe's)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="set a recipe variable")
    p.add_argument("--smoke", action="store_true", help="two tiny steps per stage: check a recipe end to end")
    p.add_argument("--dry-run", action="store_true", help="print each stage's evalkit train command and stop")
    p.add_argument(
        "--until",
        default=None,
        metavar="STAGE",
        help="stop after this stage (the rest of the recipe is still checked); a rerun without it goes on",
    )
    p.add_argument("--trust-remote-code", action="store_true", default=None)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile every stage's blocks")
    for name in GLOBAL_FLAGS:
        p.add_argument(f"--{name}", default=None, help="passed to every stage (results do not depend on it)")
    return p


def recipe_main(argv: Sequence[str]) -> int:
    """``evalkit train --recipe FILE [--out DIR] [--var K=V] [--smoke] [--dry-run] ...``"""
    args = recipe_parser().parse_args(list(argv))
    path = find_recipe(args.recipe)
    if any("=" not in item for item in args.var):
        raise RecipeError(f"--var expects NAME=VALUE, got {next(i for i in args.var if '=' not in i)!r}")
    variables = dict(item.partition("=")[::2] for item in args.var)
    overrides: dict[str, Any] = {name: getattr(args, name.replace("-", "_")) for name in GLOBAL_FLAGS}
    overrides["trust-remote-code"] = args.trust_remote_code
    overrides["compile"] = args.compile
    overrides = {k: v for k, v in overrides.items() if v is not None}
    stages = plan(
        load_recipe(path), path, out=args.out, variables=variables, smoke=args.smoke, overrides=overrides
    )
    chosen = stages[: until_index(stages, args.until, path) + 1]
    if args.dry_run:  # the commands only: data and checkpoints need not exist yet
        for stage in chosen:
            print(stage.command())
        return 0
    for stage in stages:
        _ = stage.config  # every stage checked before any trains
    final = run_stages(chosen, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(final, file=sys.stderr)
    return 0
