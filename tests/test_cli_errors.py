"""Every CLI command, given a broken input, fails with one `error:` line, no traceback, a non-zero
exit code, and without touching the records a finished (or half-finished) run left on disk."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from conftest import TINY_POPE_YAML, pope_rows, write_parquet

from evalkit.cli import app
from evalkit.cli_errors import describe_unexpected, one_line, report_error, run_cli
from model_adapters.visionpangu import SHIPPED_CHECKPOINT

BAD_SCORER_YAML = """
name: bad_scorer_task
description: a task whose scorer name is misspelt
version: 1
dataset:
  synthetic: shapes_pope
  size: 2
  seed: 0
  image_columns: [image]
prompt: "{question}"
target: answer
scorer: popee
metrics: [accuracy]
headline: accuracy
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def invoke(args: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run the CLI in-process exactly as `main()` does; returns the exit code and stderr lines."""
    capfd.readouterr()
    code = run_cli(app, args)
    err = capfd.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished mock run (`done`), a half-finished visionpangu run (`half`, 4 of 12 records,
    its checkpoint since lost its config), a task with a misspelt scorer, a folder with no config."""
    root = tmp_path_factory.mktemp("broken")
    write_parquet(root / "data" / "tiny_pope", "test", pope_rows())
    (root / "specs").mkdir()
    (root / "specs" / "tiny_pope.yaml").write_text(TINY_POPE_YAML.format(data=root / "data" / "tiny_pope"))
    out = root / "results"
    common = ["--tasks", "tiny_pope", "--output-dir", str(out), "--no-progress"]
    ckpt = shutil.copytree(SHIPPED_CHECKPOINT, root / "ckpt")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVALKIT_TASK_DIRS", str(root / "specs"))
        assert run_cli(app, ["run", "--model", "mock:yes", *common, "--run-name", "done"]) == 0
        assert run_cli(app, ["run", "--model", f"visionpangu:{ckpt}", *common, "--limit", "4",
                             "--run-name", "half"]) == 0  # fmt: skip
    (ckpt / "config.json").unlink()
    (root / "bad_specs").mkdir()
    (root / "bad_specs" / "bad_scorer_task.yaml").write_text(BAD_SCORER_YAML)
    (root / "no_config").mkdir()
    (root / "not_a_folder").write_text("x")
    yield root


def broken_commands(w: Path) -> dict[str, tuple[list[str], str]]:
    """command -> (argv, text the one error line must contain)."""
    out, done = w / "results", w / "results" / "done"
    run = ["run", "--output-dir", str(out), "--no-progress"]
    return {
        "run: missing checkpoint, samples pending": (
            [*run, "--model", f"visionpangu:{w / 'ckpt'}", "--tasks", "tiny_pope", "--run-name", "half"],
            "no visionpangu checkpoint at",
        ),
        "run: wrong --shard syntax": (
            [*run, "--model", "mock:yes", "--tasks", "tiny_pope", "--shard", "1-2"],
            "--shard must look like i/n",
        ),
        "run: task file with a bad scorer name": (
            [*run, "--model", "mock:yes", "--tasks", "bad_scorer_task"],
            "unknown scorer 'popee'",
        ),
        "run: hf folder without a config": (
            [*run, "--model", f"hf:{w / 'no_config'}", "--tasks", "tiny_pope"],
            "has no config.json",
        ),
        "run: results folder is a file": (
            [
                "run",
                "--output-dir",
                str(w / "not_a_folder"),
                "--model",
                "mock:yes",
                "--tasks",
                "tiny_pope",
                "--no-progress",
            ],
            "cannot use",
        ),  # fmt: skip
        "score: malformed predictions": (
            ["score", "--task", "pope", str(w / "not_a_folder")],
            "not_a_folder",
        ),
        "merge: unreadable results folder": (["merge", str(w / "not_a_folder")], "not_a_folder"),
        "leaderboard: unreadable results folder": (["leaderboard", str(w / "not_a_folder")], "not_a_folder"),
        "compare: missing run": (["compare", str(done), str(w / "no_config")], "no results.json"),
        "report: missing results": (["report", str(w / "no_config")], "no results.json"),
        "train: missing init checkpoint": (
            [
                "train",
                "--stage",
                "sft",
                "--init",
                str(w / "no_config"),
                "--out",
                str(w / "t"),
                "--steps",
                "1",
            ],
            "is not a visionpangu checkpoint",
        ),
        "train: unknown flag": (
            ["train", "--stage", "sft", "--out", str(w / "t"), "--bogus", "1"],
            "unrecognized arguments: --bogus 1",
        ),
        "list tasks: missing task folder": (["list", "tasks"], "does not exist"),
        "list models: unknown option": (["list", "models", "--bogus"], "No such option: --bogus"),
        "version: unknown option": (["version", "--bogus"], "No such option: --bogus"),
    }


CASES = list(broken_commands(Path("/x")))


@pytest.mark.parametrize("case", CASES)
def test_broken_input_gives_one_line_and_loses_nothing(
    case: str, workspace: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args, expected = broken_commands(workspace)[case]
    task_dirs = {
        "run: task file with a bad scorer name": f"{workspace / 'specs'}:{workspace / 'bad_specs'}",
        "list tasks: missing task folder": str(workspace / "gone"),
    }
    monkeypatch.setenv("EVALKIT_TASK_DIRS", task_dirs.get(case, str(workspace / "specs")))
    before = snapshot(workspace / "results")
    code, lines = invoke(args, capfd)
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    after = snapshot(workspace / "results")
    kept = {k: v for k, v in before.items() if not k.endswith("run.json")}  # a resume re-marks its status
    assert {k: v for k, v in after.items() if k in kept} == kept  # no record or result lost or changed
    assert len(after["half/tiny_pope.samples.jsonl"].splitlines()) == 4


def test_every_command_has_a_broken_input_case() -> None:
    commands = {c.name for c in typer.main.get_command(app).commands.values()}  # type: ignore[attr-defined]
    covered = {case.split(":")[0].split()[0] for case in CASES}
    assert commands <= covered, commands - covered


def test_an_unforeseen_exception_is_one_line_naming_command_and_cause(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = typer.Typer()

    @fake.command()
    def explode() -> None:
        raise RuntimeError("pin_memory=True requires\na CUDA backend")

    @fake.command()
    def other() -> None:  # two commands, so typer keeps the command name
        pass

    capfd.readouterr()
    code = run_cli(fake, ["explode"])
    lines = [x for x in capfd.readouterr().err.splitlines() if x.strip()]
    assert code == 1
    assert lines == [
        "error: evalkit explode failed: RuntimeError: pin_memory=True requires a CUDA backend — rerun with "
        "EVALKIT_DEBUG=1 for the traceback; finished records stay on disk and the same command resumes"
    ]
    monkeypatch.setenv("EVALKIT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="pin_memory"):
        run_cli(fake, ["explode"])


def test_under_a_launcher_only_rank_zero_prints_and_every_rank_leaves_its_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(tmp_path / f"{rank}.json"))
        capfd.readouterr()
        report_error("bad\ninput")
        assert capfd.readouterr().err == ("error: bad input\n" if rank == 0 else "")
        assert json.loads((tmp_path / f"{rank}.json").read_text())["message"] == "error: bad input"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NotADirectoryError(20, "Not a directory", "/r/x"), "evalkit run: cannot use /r/x: Not a directory;"),
        (MemoryError(), "evalkit run ran out of memory; use a smaller --batch-size"),
        (KeyError("k"), "evalkit run failed: KeyError: 'k' — rerun with EVALKIT_DEBUG=1"),
    ],
)
def test_describe_unexpected(exc: BaseException, expected: str) -> None:
    assert describe_unexpected(exc, "run").startswith(expected)


def test_one_line_collapses_whitespace_and_caps_length() -> None:
    assert one_line(" a\n\n b\tc ") == "a b c"
    assert len(one_line("x" * 5000)) == 800


def test_the_console_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    """`python -m evalkit` goes through main(): an OS error deep in a run is one line, exit 1."""
    (tmp_path / "file").write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "--model", "mock:yes", "--tasks", "shapes_pope", "--limit",
         "2", "--output-dir", str(tmp_path / "file"), "--no-progress"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: evalkit run: cannot use"), (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr
