"""The shapes scene generator: exact boxes, object maps, determinism, legibility."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.synthetic.language import quadrant, referring_expressions, relation
from evalkit.synthetic.scene import (
    COLORS,
    SIZES,
    Scene,
    SceneConfig,
    ShapeObject,
    render_scene,
    sample_scene,
    shape_polygon,
)


def _scene(*objects: tuple[str, str, str, float, float]) -> Scene:
    """A scene from (shape, colour, size, cx, cy) tuples."""
    return Scene(tuple(ShapeObject(s, c, z, cx, cy, SIZES[z]) for s, c, z, cx, cy in objects))


def test_known_square_renders_to_the_expected_pixel_box() -> None:
    # a large square at the centre of a 100 px image: half side 0.85 * 0.19 * 100 = 16.15 px,
    # so its edges lie at 33.85 and 66.15; PIL truncates vertices to 33 and 66 and fills both
    # edge rows, so the box is 33..66 inclusive (exclusive end 67).
    rendered = render_scene(_scene(("square", "red", "large", 0.5, 0.5)), 100)
    assert rendered.boxes == ((33, 33, 67, 67),)
    assert rendered.xywh(0) == [33.0, 33.0, 34.0, 34.0]
    assert rendered.image.getpixel((50, 50)) == COLORS["red"]
    assert rendered.image.getpixel((5, 5)) == rendered.scene.background


@pytest.mark.parametrize("seed", range(12))
def test_boxes_are_the_tight_boxes_of_each_objects_pixels(seed: int) -> None:
    rendered = render_scene(sample_scene(np.random.default_rng(seed)), 96)
    for i, (x1, y1, x2, y2) in enumerate(rendered.boxes):
        ys, xs = np.nonzero(rendered.object_map == i)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
        assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96


@pytest.mark.parametrize("seed", range(12))
def test_object_map_pixels_carry_the_objects_colour_or_its_letter(seed: int) -> None:
    rendered = render_scene(sample_scene(np.random.default_rng(seed), SceneConfig(label_prob=1.0)), 96)
    pixels = np.asarray(rendered.image)
    assert (pixels[rendered.object_map == -1] == rendered.scene.background).all()
    for i, obj in enumerate(rendered.scene.objects):
        inside = pixels[rendered.object_map == i]
        coloured = (inside == COLORS[obj.color]).all(axis=1)
        inks = {(255, 255, 255), (0, 0, 0)}
        assert all(tuple(p) in inks for p in inside[~coloured])
        assert coloured.mean() > 0.6  # the letter never hides the colour
        assert obj.label is not None or coloured.all()


def test_default_scenes_never_overlap() -> None:
    for seed in range(40):
        rendered = render_scene(sample_scene(np.random.default_rng(seed)), 64)
        boxes = rendered.boxes
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                ax1, ay1, ax2, ay2 = boxes[a]
                bx1, by1, bx2, by2 = boxes[b]
                assert ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1


def test_overlapping_scenes_draw_later_objects_on_top() -> None:
    scene = _scene(("square", "red", "large", 0.45, 0.5), ("circle", "blue", "small", 0.55, 0.5))
    rendered = render_scene(scene, 64)
    x, y = int(0.55 * 64), 32
    assert rendered.object_map[y, x] == 1
    assert rendered.image.getpixel((x, y)) == COLORS["blue"]
    assert rendered.boxes[0][2] - rendered.boxes[0][0] > 15  # the square keeps its whole box


def test_every_shape_stays_recognisably_large_at_64_px() -> None:
    for shape in (
        "circle",
        "square",
        "triangle",
        "star",
        "pentagon",
        "hexagon",
        "diamond",
        "cross",
    ):
        rendered = render_scene(_scene((shape, "black", "small", 0.5, 0.5)), 64)
        assert (rendered.object_map == 0).sum() >= 40, shape


def test_same_seed_gives_same_scene_and_pixels() -> None:
    first = render_scene(sample_scene(np.random.default_rng(7)), 96)
    second = render_scene(sample_scene(np.random.default_rng(7)), 96)
    other = render_scene(sample_scene(np.random.default_rng(8)), 96)
    assert first.scene == second.scene
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))
    assert first.scene != other.scene


def test_unknown_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown shape 'blob'"):
        shape_polygon("blob", 0, 0, 1)


def test_images_below_32_px_are_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        render_scene(_scene(("circle", "red", "small", 0.5, 0.5)), 16)


def test_referring_expressions_only_name_what_is_unique() -> None:
    rendered = render_scene(
        _scene(
            ("circle", "red", "small", 0.2, 0.2),
            ("circle", "blue", "large", 0.75, 0.25),
            ("square", "red", "medium", 0.3, 0.75),
        ),
        96,
    )
    assert referring_expressions(rendered, 0) == [
        "the red circle",
        "the small circle",
        "the leftmost circle",
    ]
    assert referring_expressions(rendered, 1) == [
        "the blue circle", "the blue shape", "the large circle", "the rightmost circle",
    ]  # fmt: skip
    assert referring_expressions(rendered, 2) == [
        "the red square",
        "the square",
        "the medium square",
    ]


def test_relations_and_quadrants_need_a_clear_margin() -> None:
    rendered = render_scene(
        _scene(
            ("circle", "red", "small", 0.2, 0.2),
            ("square", "blue", "small", 0.8, 0.25),
            ("star", "green", "small", 0.52, 0.8),
        ),  # fmt: skip
        96,
    )
    assert relation(rendered, 0, 1) == "to the left of"
    assert relation(rendered, 1, 0) == "to the right of"
    assert relation(rendered, 2, 0) == "below"
    assert quadrant(rendered, 0) == "top left"
    assert quadrant(rendered, 1) == "top right"
    assert quadrant(rendered, 2) is None  # too close to the vertical midline


def test_closest_to_an_edge_needs_both_the_centre_and_the_box_edge_to_agree() -> None:
    from evalkit.synthetic.language import extreme_index

    # the large circle's left edge (0.11) is left of the small one's (0.15) but its centre
    # (0.30) is right of the small one's (0.25): neither is clearly the leftmost.
    rendered = render_scene(
        _scene(("circle", "red", "large", 0.30, 0.3), ("circle", "blue", "small", 0.25, 0.75)), 96
    )
    assert extreme_index(rendered, 0, largest=False, among=[0, 1]) is None
    clear = render_scene(
        _scene(("circle", "red", "large", 0.25, 0.3), ("circle", "blue", "small", 0.6, 0.75)), 96
    )
    assert extreme_index(clear, 0, largest=False, among=[0, 1]) == 0
    assert extreme_index(clear, 1, largest=True, among=[0, 1]) == 1
