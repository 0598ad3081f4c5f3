"""RefCOCO grounding: Qwen-VL evaluate_grounding.py (official) and the robust mode."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evalkit.scoring.base import ScoringContext, get_scorer
from evalkit.scoring.grounding import box_iou_float32, official_pred_pixels

# one 640x480 image; ground truth [x, y, w, h] = corners (64, 96)-(192, 192)
ROW = {
    "question_id": "q",
    "answer": ["dog"],
    "bbox": [64, 96, 128, 96],
    "image_width": 640,
    "image_height": 480,
}
# (100,200),(300,400) / 999 * (640, 480) = (64.064, 96.096)-(192.192, 192.192):
# inter 127.936 * 95.904, union 128.128 * 96.096 + 12288 - inter -> IoU 0.99501
QWEN_IOU = 0.9950124713179654

# reply -> (official IoU, official parse failure, robust IoU with box_format None, robust failure)
CASES = {
    "<box>(100,200),(300,400)</box>": (QWEN_IOU, False, 1.0, False),
    "[64, 96, 192, 192]": (0.0, True, 0.0, False),  # robust reads it on the 0-1000 grid: a miss
    "[0.1, 0.2, 0.3, 0.4]": (0.0, True, 1.0, False),  # fractions of 640x480
    "I cannot find it.": (0.0, True, 0.0, True),
    "(cat) and (100,200),(300,400)": (0.0, True, 1.0, False),
}


@pytest.mark.parametrize("reply", list(CASES))
def test_each_reply_in_both_modes(reply: str) -> None:
    scorer = get_scorer("grounding")
    official_iou, official_fail, robust_iou, robust_fail = CASES[reply]
    official = scorer.score([ROW], [reply], ScoringContext("official")).per_sample[0]
    robust = scorer.score([ROW], [reply], ScoringContext("robust")).per_sample[0]
    assert official["iou"] == pytest.approx(official_iou, abs=1e-6)
    assert official["parse_failure"] is official_fail
    assert official["hit"] is (official_iou >= 0.5)
    assert robust["iou"] == pytest.approx(robust_iou, abs=1e-6)
    assert robust["parse_failure"] is robust_fail


def test_robust_mode_honours_a_pixel_adapter() -> None:
    scorer = get_scorer("grounding")
    ctx = ScoringContext("robust", box_format="pixel")
    pixel = scorer.score([ROW], ["[64, 96, 192, 192]"], ctx)
    qwen_points_as_pixels = scorer.score([ROW], ["(100,200),(300,400)"], ctx)
    assert pixel.per_sample[0]["iou"] == pytest.approx(1.0)
    assert pixel.parsed[0] == [64.0, 96.0, 192.0, 192.0]
    assert qwen_points_as_pixels.per_sample[0]["hit"] is False


def test_official_scaling_and_iou_stay_in_float32() -> None:
    pred = official_pred_pixels((100.0, 200.0, 300.0, 400.0), 640, 480)
    assert pred.dtype == np.float32
    x1 = np.float32(100) / np.float32(999) * np.float32(640)  # rounded to float32 at each step
    assert pred[0] == x1
    iou = box_iou_float32(pred[None], np.asarray([[64, 96, 192, 192]], dtype=np.float32))
    assert iou.dtype == np.float32
    assert iou[0] == pytest.approx(QWEN_IOU, abs=1e-6)


def test_iou_matches_the_torchvision_formula_on_random_boxes() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 800, size=(500, 4)).astype(np.float32)  # some inverted on purpose
    target = np.sort(rng.uniform(0, 800, size=(500, 2, 2)), axis=1).transpose(0, 2, 1)
    target = target.reshape(500, 4)[:, [0, 2, 1, 3]].astype(np.float32)
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    wh = (torch.min(p[:, 2:], t[:, 2:]) - torch.max(p[:, :2], t[:, :2])).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    expected = (inter / (area_p + area_t - inter)).numpy()
    np.testing.assert_array_equal(box_iou_float32(pred, target), expected)


def test_golden_table_in_both_modes_and_row_order_does_not_matter() -> None:
    scorer = get_scorer("grounding")
    replies = list(CASES)
    rows = [dict(ROW, question_id=f"q{i}") for i in range(len(replies))]
    official = scorer.score(rows, replies, ScoringContext("official"))
    assert official.metrics == pytest.approx(
        {"acc@0.5": 20.0, "miou": 100 * QWEN_IOU / 5, "parse_failure_rate": 80.0}, abs=1e-4
    )
    robust = scorer.score(rows, replies, ScoringContext("robust"))
    assert robust.metrics == pytest.approx(
        {"acc@0.5": 60.0, "miou": 60.0, "parse_failure_rate": 20.0}, abs=1e-4
    )
    order = list(range(len(rows)))
    random.Random(1).shuffle(order)
    shuffled = scorer.score([rows[i] for i in order], [replies[i] for i in order], ScoringContext("official"))
    assert shuffled.metrics == official.metrics
    assert scorer.aggregate(rows, official.per_sample, ScoringContext())[0] == official.metrics


def test_rows_without_image_size_fail_with_the_fix() -> None:
    row = {"question_id": "q", "bbox": [0, 0, 1, 1]}
    with pytest.raises(ValueError, match="refcoco.py"):
        get_scorer("grounding").score([row], ["(1,2),(3,4)"], ScoringContext())


def test_refcoco_hook_reads_image_size_and_builds_the_prompt() -> None:
    import io

    from PIL import Image

    from tasks import refcoco

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, format="PNG")
    row = refcoco.prepare_row(
        {
            "question_id": "q",
            "answer": ["left dog", "brown dog"],
            "image": {"bytes": buffer.getvalue()},
        }
    )
    assert (row["image_width"], row["image_height"]) == (64, 48)
    assert "<ref>left dog</ref>" in refcoco.build_prompt(row)
    assert "<box>(x1,y1),(x2,y2)</box>" in refcoco.build_prompt(row)
