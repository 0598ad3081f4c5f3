"""Task registry: YAML specs, variants, groups and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.registry import (
    TaskSpecError,
    UnknownNameError,
    default_registry,
    load_registries,
    load_registry,
    parse_task_file,
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


GOOD = """
name: fam
description: A family
version: 3
dataset: {path: org/data, split: test, image_columns: [image]}
prompt: "{question}"
scorer: pope
metrics: [accuracy, f1]
variants:
  fam_a: {filter: {category: a}, description: only a}
  fam_val: {dataset: {split: val}}
groups:
  fam_all: [fam_a, fam_val]
"""


def test_yaml_task_loads_with_variants_and_groups(tmp_path: Path) -> None:
    write(tmp_path, "fam.yaml", GOOD)
    reg = load_registry(tmp_path)
    assert reg.get("fam").version == 3
    assert reg.get("fam").headline == "accuracy"  # first metric when no headline is given
    assert reg.get("fam_a").filter == {"category": "a"}
    assert reg.get("fam_a").description == "only a"
    val = reg.get("fam_val").dataset
    assert (val.split, val.path, val.image_columns) == ("val", "org/data", ("image",))
    assert [s.name for s in reg.expand(["fam_all", "fam"])] == ["fam_a", "fam_val", "fam"]


def test_unknown_task_names_the_closest_known_ones(tmp_path: Path) -> None:
    write(tmp_path, "fam.yaml", GOOD)
    with pytest.raises(UnknownNameError, match="did you mean fam_a"):
        load_registry(tmp_path).get("fam_aa")


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "name: x\ndataset: [unclosed\n")
    with pytest.raises(TaskSpecError, match="broken.yaml: invalid YAML"):
        parse_task_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nscorer: pope\nprompt: p\n", "lacks required key 'dataset'"),
        ("name: x\nscorer: pope\nprompt: p\ndataset: {path: a, local: b}\n", "exactly one of"),
        ("name: x\nscorer: pope\nprompt: p\ndataset: {path: a}\nmetircs: [a]\n", "unknown key"),
        ("name: x\nscorer: pope\ndataset: {path: a}\n", "needs a 'prompt'"),
        ("name: x\nscorer: pope\nprompt: p\ndataset: {path: a, spilt: t}\n", "unknown dataset key"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_bad_specs_fail_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TaskSpecError, match=message):
        parse_task_file(write(tmp_path, "x.yaml", text))


def test_group_with_unknown_member_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "fam.yaml", GOOD.replace("[fam_a, fam_val]", "[fam_a, nope]"))
    with pytest.raises(TaskSpecError, match="unknown task"):
        load_registry(tmp_path)


def test_same_task_in_two_folders_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "fam.yaml", GOOD)
    write(tmp_path / "b", "fam.yaml", GOOD)
    with pytest.raises(TaskSpecError, match="already defined"):
        load_registries([tmp_path / "a", tmp_path / "b"])


def test_shipped_specs_all_load() -> None:
    from evalkit.registry import load_registry as load
    from evalkit.scoring.base import scorer_names

    reg = load()
    for spec in reg.tasks.values():
        assert spec.scorer in scorer_names(), spec.name
        assert spec.description, f"{spec.name} needs a one-line description"


def test_benchmark_family_groups_expand_as_papers_group_them() -> None:
    registry = default_registry()
    expected = {
        "general_vqa": ["vqav2", "textvqa", "okvqa", "gqa"],
        "multiple_choice": ["mmbench", "mmmu", "scienceqa_img", "ai2d", "seedbench"],
        "ocr_docs": ["ocrbench", "chartqa", "docvqa", "textvqa"],
        "captioning": ["docci", "coco2017_cap", "flickr30k", "nocaps"],
    }
    for group, members in expected.items():
        assert [spec.name for spec in registry.expand([group])] == members
