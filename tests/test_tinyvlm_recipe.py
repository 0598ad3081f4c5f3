"""Recipes (`evalkit train --recipe`): the shipped files are the commands they claim, run end to
end in --smoke mode, resume stage by stage, and a broken file fails before anything trains."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from PIL import Image

from evalkit.tinyvlm.recipe import RecipeError, find_recipe, load_recipe, plan, recipe_main, training_flags
from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, load_adapter
from tests import hf_tiny_parts as parts
from tests.test_tinyvlm_llava_data import DOCCI_ROWS, write_llava

REPO = Path(__file__).resolve().parents[1]
MICRO = {"steps": 2, "batch-size": 2, "warmup-steps": 1, "log-every": 1, "save-every": 1000,
         "tokenizer-texts": 300, "set": ["lm_layers=1", "vit_layers=1"]}  # fmt: skip


def historical_commands() -> list[list[str]]:
    """The commands that made the shipped checkpoint, as docs/visionpangu.md records them."""
    text = (REPO / "docs" / "visionpangu.md").read_text()
    history = text[text.index("## How the shipped checkpoint was made") :]
    return [
        shlex.split(line.split("#")[0]) for line in history.splitlines() if line.startswith("evalkit train")
    ]


def flag_values(argv: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """``--flag value`` pairs (bare flags map to ["true"]); numbers compared as floats."""
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        has_value = i + 1 < len(argv) and not argv[i + 1].startswith("--")
        value = argv[i + 1] if has_value else "true"
        out.setdefault(argv[i], []).append(str(float(value)) if re.fullmatch(r"[0-9.e+-]+", value) else value)
        i += 2 if has_value else 1
    return out


def test_the_tiny_recipe_is_the_shipped_checkpoints_commands_stage_for_stage() -> None:
    path = find_recipe("visionpangu-tiny")
    stages = plan(load_recipe(path), path, out=Path("runs/tiny"), variables={}, smoke=False, overrides={})
    history = historical_commands()
    assert len(stages) == len(history) == 21
    ignored = {
        "--device",
        "--data-workers",
        "--num-threads",
        "--compile",
        "--preset",
        "--out",
        "--init",
    }  # no effect on results
    stop_after = {
        "vread2": ["1000.0"],
        "cE": ["1200.0"],
    }  # "stopped after 1,000" / "the step-1,200 checkpoint"
    for stage, command in zip(stages, history):
        ours = {k: v for k, v in flag_values(stage.argv).items() if k not in ignored}
        theirs = {k: v for k, v in flag_values(command[2:]).items() if k not in ignored}
        if stage.name in stop_after:
            theirs["--stop-after"] = stop_after[stage.name]
        assert ours == theirs, stage.name
        assert command[command.index("--out") + 1].endswith("/" + stage.name)
        if "--init" in command:
            assert stage.config.init is not None and command[command.index("--init") + 1].endswith(
                stage.config.init.name
            )


@pytest.mark.slow
def test_the_tiny_recipe_smoke_runs_every_stage_then_skips_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert recipe_main(["--recipe", "visionpangu-tiny", "--smoke", "--out", str(tmp_path)]) == 0
    stages = [json.loads((d / "recipe_stage.json").read_text()) for d in sorted(tmp_path.iterdir())]
    assert len(stages) == 21 and {s["status"] for s in stages} == {"finished"}
    final = tmp_path / "cF"
    adapter = load_adapter(f"visionpangu:{final}", AdapterOptions(device="cpu"))
    request = GenerationRequest(
        0, "Is there a red circle?", (Image.new("RGB", (96, 96), "red"),), GenerationSettings(4)
    )
    assert isinstance(adapter.generate([request])[0], str)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("model.safetensors")}
    capsys.readouterr()
    assert recipe_main(["--recipe", "visionpangu-tiny", "--smoke", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err.count("finished before, skipped") == 21
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("model.safetensors")} == before


def layout_17b_data(root: Path) -> Path:
    """The folders the 1.7b recipe reads under ${DATA}, with tiny LLaVA and DOCCI files."""
    pretrain = write_llava(root / "LLaVA-Pretrain" / "images")  # image paths relative to images/
    pretrain.rename(root / "LLaVA-Pretrain" / "blip_laion_cc_sbu_558k.json")
    instruct = write_llava(root / "LLaVA-Instruct")
    instruct.rename(root / "LLaVA-Instruct" / "llava_v1_5_mix665k.json")
    docci = root / "docci"
    (docci / "images").mkdir(parents=True)
    for row in DOCCI_ROWS:
        Image.new("RGB", (8, 8), (0, 128, 0)).save(docci / "images" / row["image_file"])
    (docci / "docci_descriptions.jsonlines").write_text("".join(json.dumps(r) + "\n" for r in DOCCI_ROWS))
    return root


@pytest.mark.slow
def test_the_17b_recipe_smoke_runs_on_tiny_parts_and_data(tmp_path: Path) -> None:
    vision, lm = parts.build_internvit(tmp_path / "tower"), parts.build_pangu(tmp_path / "lm")
    data = layout_17b_data(tmp_path / "data")
    args = ["--recipe", "visionpangu-1.7b", "--smoke", "--out", str(tmp_path / "run"), "--var", f"VISION={vision}",
            "--var", f"LM={lm}", "--var", f"DATA={data}"]  # fmt: skip
    assert recipe_main(args) == 0
    stats = [
        json.loads(line) for line in (tmp_path / "run" / "sft" / "data_stats.jsonl").read_text().splitlines()
    ]
    assert (
        stats[-1]["used"] > 0 and stats[-1]["skipped_missing_image"] > 0
    )  # the llava folder has a missing image
    adapter = load_adapter(f"visionpangu:{tmp_path / 'run' / 'sft'}", AdapterOptions(device="cpu"))
    assert (
        adapter.describe()["preset"] == "tiny"
        and adapter.model.config.language_model["model_type"] == "llama"
    )


def write_recipe(folder: Path, stages: list[dict], **extra: object) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "stages": stages, **extra}))
    return path


@pytest.mark.parametrize(
    ("stages", "extra", "message"),
    [
        (
            [{"name": "a", "stage": "pretrain", "flags": MICRO}],
            {},
            r"stage 1: each stage needs a 'name' and a 'stage'",
        ),
        (
            [{"name": "a", "stage": "vision", "flags": MICRO}, {"name": "b", "stage": "sft", "init": "aa"}],
            {},
            r"stage 2 \('b'\): init 'aa' is neither an earlier stage \(\['a'\]\) nor a checkpoint folder",
        ),
        (
            [{"name": "a", "stage": "vision", "flags": {**MICRO, "bogus": 1}}],
            {},
            r"stage 1 \('a'\): evalkit train: unrecognized arguments: --bogus 1",
        ),
        (
            [{"name": "a", "stage": "vision", "flags": {"out": "x"}}],
            {},
            r"flags \['out'\] are set by the recipe",
        ),
        ([{"name": "a", "stage": "vision"}, {"name": "a", "stage": "vision"}], {}, "a name used twice"),
        (
            [{"name": "a", "stage": "vision", "flags": {"tasks": ["shapes_pope"]}}],
            {},
            "use them with --stage sft",
        ),
        (
            [{"name": "a", "stage": "sft", "flags": {"data": ["kind=llava,path=${D}/x.json"]}}],
            {},
            r"unknown variable \$\{D\}",
        ),
        ([{"name": "a", "stage": "vision", "flags": MICRO}], {"steps": 3}, r"unknown key\(s\) \['steps'\]"),
    ],
)
def test_a_broken_recipe_fails_in_one_line_before_anything_trains(
    stages: list[dict], extra: dict, message: str, tmp_path: Path
) -> None:
    path = write_recipe(tmp_path, stages, **extra)
    with pytest.raises(RecipeError, match=message):
        recipe_main(["--recipe", str(path), "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_recipe_errors_reach_the_cli_as_one_line(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from evalkit.cli import app
    from evalkit.cli_errors import run_cli

    path = write_recipe(tmp_path, [{"name": "a", "stage": "vision", "flags": {**MICRO, "bogus": 1}}])
    capfd.readouterr()
    assert run_cli(app, ["train", "--recipe", str(path)]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "unrecognized arguments: --bogus 1" in err
    assert run_cli(app, ["train", "--recipe", "no-such-recipe"]) == 2
    assert "shipped recipes ['visionpangu-1.7b', 'visionpangu-tiny']" in capfd.readouterr().err


@pytest.mark.slow
def test_stages_resume_and_changed_flags_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [{"name": "v", "stage": "vision", "flags": MICRO},
              {"name": "s", "stage": "sft", "init": "v", "flags": {**MICRO, "steps": 4, "save-every": 2}}]  # fmt: skip
    path = write_recipe(tmp_path, stages)
    run = ["--recipe", str(path), "--out", str(tmp_path / "run")]
    assert recipe_main(run) == 0
    marker = tmp_path / "run" / "s" / "recipe_stage.json"
    record = json.loads(marker.read_text())
    marker.write_text(json.dumps({**record, "status": "running"}))  # as if killed after its last save
    capsys.readouterr()
    assert recipe_main(run) == 0
    log = capsys.readouterr().err
    assert "v: finished before, skipped" in log and "s: resuming" in log
    assert json.loads(marker.read_text())["status"] == "finished"
    stages[1]["flags"] = {**stages[1]["flags"], "lr": 0.1}
    write_recipe(tmp_path, stages)
    with pytest.raises(RecipeError, match=r"stage 's' in .* was trained with other flags"):
        recipe_main(run)


@pytest.mark.slow
def test_until_stops_after_the_named_stage_and_a_rerun_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stages = [{"name": "v", "stage": "vision", "flags": MICRO},
              {"name": "s", "stage": "sft", "init": "v", "flags": MICRO}]  # fmt: skip
    path = write_recipe(tmp_path, stages)
    run = ["--recipe", str(path), "--out", str(tmp_path / "run")]
    assert recipe_main([*run, "--until", "v"]) == 0
    assert (tmp_path / "run" / "v" / "model.safetensors").is_file()
    assert not (tmp_path / "run" / "s").exists()
    capsys.readouterr()
    assert recipe_main(run) == 0
    log = capsys.readouterr().err
    assert "v: finished before, skipped" in log and "s: training" in log
    with pytest.raises(
        RecipeError, match=r"--until 'x' is not a stage of this recipe; its stages are \['v', 's'\]"
    ):
        recipe_main([*run, "--until", "x"])
    stages.append({"name": "bad", "stage": "sft", "init": "v", "flags": {"no-such-flag": 1}})
    write_recipe(tmp_path, stages)
    with pytest.raises(RecipeError, match="no-such-flag"):  # the stages after --until are still checked
        recipe_main([*run, "--until", "v"])


def test_dry_run_prints_the_commands_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert recipe_main(["--recipe", "visionpangu-1.7b", "--dry-run", "--var", "DATA=/nowhere"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(
        "evalkit train --stage sft --out runs/visionpangu-1.7b/sft"
    )
    assert "path=/nowhere/docci" in lines[1]
    with pytest.raises(RecipeError, match="--var NOPE is not a variable"):
        recipe_main(["--recipe", "visionpangu-1.7b", "--dry-run", "--var", "NOPE=1"])


def test_where_a_stage_ran_is_not_a_changed_flag() -> None:
    """A stage trained on a GPU with data workers is the same stage when the recipe goes on on a CPU
    (the historical gB ran so); a changed training flag still counts."""
    ran = ["--stage", "sft", "--out", "o/s", "--steps", "4", "--device", "cuda", "--data-workers", "7",
           "--num-threads", "1", "--trust-remote-code", "--compile"]  # fmt: skip
    assert training_flags(ran) == ["--stage", "sft", "--out", "o/s", "--steps", "4"]
    assert training_flags(ran) == training_flags(["--stage", "sft", "--out", "o/s", "--steps", "4"])
    assert training_flags(ran) != training_flags(["--stage", "sft", "--out", "o/s", "--steps", "5"])


@pytest.mark.slow
def test_a_recipe_goes_on_with_other_runtime_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_recipe(tmp_path, [{"name": "v", "stage": "vision", "flags": MICRO}])
    run = ["--recipe", str(path), "--out", str(tmp_path / "run")]
    assert recipe_main([*run, "--data-workers", "1", "--num-threads", "1"]) == 0
    marker = json.loads((tmp_path / "run" / "v" / "recipe_stage.json").read_text())
    assert "--data-workers" in marker["argv"]  # the marker says where it ran
    capsys.readouterr()
    assert recipe_main([*run, "--device", "cpu", "--compile"]) == 0
    assert "v: finished before, skipped" in capsys.readouterr().err
