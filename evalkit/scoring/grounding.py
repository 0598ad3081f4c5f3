"""RefCOCO / RefCOCO+ / RefCOCOg grounding, as in QwenLM/Qwen-VL ``eval_mm/evaluate_grounding.py``.

``official``: the reply's first ``(x1,y1),(x2,y2)`` (see
:func:`evalkit.parsing.boxes.parse_qwen_box_official`); a failed parse becomes the box
(0, 0, 0, 0) and counts in ``parse_failure_rate``. Coordinates are divided by 999 and scaled by
the image width/height, and IoU is torchvision's ``box_iou`` formula with every step in
float32 (reproduced with numpy; Qwen-VL's CPU tensors are float32). A hit is IoU >= 0.5. The
adapter's declared box format is ignored, as the official script assumes the Qwen grid.

``robust``: any common box syntax, read in the adapter's declared ``ctx.box_format``, the
0-1000 grid divided by 1000, corners ordered and clipped to the image (rules in
:mod:`evalkit.parsing.boxes`); a reply without a box is a miss and a parse failure.

Ground truth ``bbox`` is COCO ``[x, y, w, h]`` in pixels (Qwen-VL's converted files hold the
corners; we add ``w``/``h`` in float64, then cast). Rows need ``image_width`` and
``image_height`` (the ``tasks/refcoco.py`` hook adds them). Metrics, in percent:
``acc@0.5``, ``miou`` (mean IoU, a non-finite IoU counted as 0) and ``parse_failure_rate``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from evalkit.parsing.boxes import (
    OFFICIAL_QWEN_DIVISOR,
    Box,
    parse_box_robust,
    parse_qwen_box_official,
    xywh_to_xyxy,
)
from evalkit.scoring.base import ScoringContext
from evalkit.scoring.common import check_inputs, percent, percent_mean, row_units
from evalkit.types import ScoreResult

MODES = ("official", "robust")
HIT_THRESHOLD = 0.5


def box_iou_float32(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """IoU of row-aligned box pairs, (N, 4) x1y1x2y2 each, computed like torchvision's ``box_iou``
    in float32 (no corner reordering: an inverted box has a negative area)."""
    pred = np.asarray(pred, dtype=np.float32).reshape(-1, 4)
    target = np.asarray(target, dtype=np.float32).reshape(-1, 4)
    area_pred = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])  # (N,)
    area_target = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    left_top = np.maximum(pred[:, :2], target[:, :2])  # (N, 2)
    right_bottom = np.minimum(pred[:, 2:], target[:, 2:])
    wh = np.clip(right_bottom - left_top, np.float32(0), None)
    inter = wh[:, 0] * wh[:, 1]
    union = area_pred + area_target - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def official_pred_pixels(box: Box | None, width: int, height: int) -> np.ndarray:
    """The official scaling: ``tensor(box, float32) / 999``, then x *= width, y *= height."""
    values = np.asarray(box if box is not None else (0.0, 0.0, 0.0, 0.0), dtype=np.float32)
    values = values / np.float32(OFFICIAL_QWEN_DIVISOR)
    values[0::2] *= np.float32(width)
    values[1::2] *= np.float32(height)
    return values


def row_geometry(row: Mapping[str, Any]) -> tuple[Box, int, int]:
    """A row's ground-truth corners and image size; fails clearly when the hook did not run."""
    if row.get("image_width") is None or row.get("image_height") is None:
        raise ValueError(
            f"grounding row {row.get('question_id')!r} lacks image_width/image_height; "
            "prepare rows with the tasks/refcoco.py hook (prepare_row)"
        )
    bbox = row["bbox"]
    if isinstance(bbox, str):
        bbox = json.loads(bbox)
    return xywh_to_xyxy(tuple(bbox)), int(row["image_width"]), int(row["image_height"])


def predict_boxes(
    rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Predicted and target pixel boxes (N, 4) float32, and which replies failed to parse."""
    preds, targets, failed = [], [], []
    for row, reply in zip(rows, responses, strict=True):
        target, width, height = row_geometry(row)
        reply = reply or ""
        if ctx.mode == "official":
            box = parse_qwen_box_official(reply)
            preds.append(official_pred_pixels(box, width, height))
        else:
            found = parse_box_robust(reply, ctx.box_format, width, height)
            box = found[0] if found else None
            preds.append(np.asarray(box or (0.0, 0.0, 0.0, 0.0), dtype=np.float32))
        targets.append(target)
        failed.append(box is None)
    shape = (len(preds), 4)
    return (
        np.asarray(preds, dtype=np.float32).reshape(shape),
        np.asarray(targets, dtype=np.float64).astype(np.float32).reshape(shape),
        failed,
    )


def grounding_metrics(per_sample: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """acc@0.5, mean IoU and parse-failure rate, all percent."""
    if not per_sample:
        return {}
    n = len(per_sample)
    return {
        "acc@0.5": percent(sum(bool(s["hit"]) for s in per_sample), n),
        "miou": percent_mean(float(s["iou"]) for s in per_sample),
        "parse_failure_rate": percent(sum(bool(s["parse_failure"]) for s in per_sample), n),
    }


class GroundingScorer:
    """The ``grounding`` scorer (see the module docstring for the modes)."""

    name = "grounding"
    modes = MODES
    streaming = True

    def score(
        self, rows: Sequence[Mapping[str, Any]], responses: Sequence[str], ctx: ScoringContext
    ) -> ScoreResult:
        check_inputs(self.name, self.modes, ctx.mode, rows, responses)
        preds, targets, failed = predict_boxes(rows, responses, ctx)
        ious = box_iou_float32(preds, targets)
        per_sample = []
        parsed: list[Any] = []
        for i, iou in enumerate(ious.tolist()):
            finite = math.isfinite(iou)
            per_sample.append(
                {
                    "iou": iou if finite else 0.0,
                    "hit": finite and iou >= HIT_THRESHOLD,
                    "parse_failure": failed[i],
                }
            )
            parsed.append(None if failed[i] else [float(v) for v in preds[i]])
        info = {
            "mode": ctx.mode,
            "box_format": ctx.box_format,
            "divisor": OFFICIAL_QWEN_DIVISOR if ctx.mode == "official" else None,
        }
        return ScoreResult(parsed, per_sample, grounding_metrics(per_sample), {}, info)

    def aggregate(
        self, rows: Sequence[Mapping[str, Any]], per_sample: Sequence[Any], ctx: ScoringContext
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        return grounding_metrics(per_sample), {}

    def group_keys(self, rows: Sequence[Mapping[str, Any]]) -> list[Hashable]:
        return row_units(rows)


SCORER = GroundingScorer()
