"""Box extraction: Qwen-VL evaluate_grounding.py parsing (official) and the robust parser."""

from __future__ import annotations

import pytest

from evalkit.parsing.boxes import (
    box_to_pixels,
    find_box,
    parse_box_robust,
    parse_qwen_box_official,
    resolve_scale,
    xywh_to_xyxy,
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<box>(100,200),(300,400)</box>", (100.0, 200.0, 300.0, 400.0)),
        ("(100,200),(300,400)", (100.0, 200.0, 300.0, 400.0)),
        ("( 1 , 2 ),( 3 , 4 )", (1.0, 2.0, 3.0, 4.0)),  # float() tolerates the spaces
        ("(1.5,2),(3,4e2) and (5,6),(7,8)", (1.5, 2.0, 3.0, 400.0)),  # first match wins
        ("(100, 200), (300, 400)", None),  # "), (" is not "),(": no match
        ("(1,2,3),(4,5)", None),  # three numbers do not unpack into x, y
        ("(100),(200)", None),  # a point without a comma
        ("(cat) and (1,2),(3,4)", None),  # the lazy group swallows "cat) and (1"
        ("[10, 20, 30, 40]", None),
        ("", None),
    ],
)
def test_official_parser_reproduces_qwen_vl(reply: str, expected: tuple | None) -> None:
    assert parse_qwen_box_official(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("(100, 200), (300, 400)", (100.0, 200.0, 300.0, 400.0)),
        ("(cat) and (1,2),(3,4)", (1.0, 2.0, 3.0, 4.0)),
        ("[0.1, 0.2, 0.5, 0.6]", (0.1, 0.2, 0.5, 0.6)),
        ('{"bbox_2d": [64, 48, 192, 144], "label": "dog"}', (64.0, 48.0, 192.0, 144.0)),
        ("[[10, 20], [30, 40]]", (10.0, 20.0, 30.0, 40.0)),
        ("<box>10 20 30 40</box>", (10.0, 20.0, 30.0, 40.0)),
        ("the dog is at (10, 20, 30, 40).", (10.0, 20.0, 30.0, 40.0)),
        ("first (1,2),(3,4) then [5, 6, 7, 8]", (1.0, 2.0, 3.0, 4.0)),  # earliest wins
        ("[5, 6, 7, 8] then (1,2),(3,4)", (5.0, 6.0, 7.0, 8.0)),
        ("I cannot find it.", None),
        ("[1, 2, 3]", None),
    ],
)
def test_robust_parser_finds_the_earliest_box_in_any_syntax(reply: str, expected) -> None:
    assert find_box(reply) == expected


@pytest.mark.parametrize(
    ("box", "declared", "scale"),
    [
        ((0.1, 0.2, 0.5, 0.6), "pixel", "norm_0_1"),  # all within [0, 1]: fractions
        ((0.1, 0.2, 0.5, 0.6), "qwen_0_1000", "norm_0_1"),
        ((100, 200, 300, 400), None, "qwen_0_1000"),
        ((100, 200, 300, 400), "norm_0_1", "qwen_0_1000"),
        ((100, 200, 300, 400), "pixel", "pixel"),
        ((100, 200, 1300, 400), None, "pixel"),  # beyond the grid: pixels
        ((100, 200, 1300, 400), "qwen_0_1000", "qwen_0_1000"),  # declared wins (then clipped)
    ],
)
def test_scale_follows_the_declared_format(box, declared, scale) -> None:
    assert resolve_scale(box, declared) == scale


def test_unknown_declared_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="qwen_0_1000"):
        resolve_scale((10, 20, 30, 40), "inches")


def test_pixels_are_ordered_and_clipped() -> None:
    assert box_to_pixels((300, 400, 100, 200), "qwen_0_1000", 640, 480) == (64, 96, 192, 192)
    assert box_to_pixels((-10, 0, 700, 500), "pixel", 640, 480) == (0, 0, 640, 480)
    assert box_to_pixels((0.5, 0.5, 1.0, 1.0), "norm_0_1", 640, 480) == (320, 240, 640, 480)


def test_same_box_in_grid_and_in_pixels_maps_to_the_same_pixels() -> None:
    grid = parse_box_robust("<box>(100,200),(300,400)</box>", "qwen_0_1000", 640, 480)
    pixels = parse_box_robust("[64, 96, 192, 192]", "pixel", 640, 480)
    assert grid == ((64.0, 96.0, 192.0, 192.0), "qwen_0_1000")
    assert pixels == ((64.0, 96.0, 192.0, 192.0), "pixel")
    assert parse_box_robust("no box here", None, 640, 480) is None


def test_coco_xywh_becomes_corners() -> None:
    assert xywh_to_xyxy((64, 96, 128, 96)) == (64.0, 96.0, 192.0, 192.0)
