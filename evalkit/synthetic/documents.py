"""shapes_docvqa: tiny rendered documents with questions about their text, in DocVQA's schema.

Each document is a key-value form ("INVOICE" over lines such as ``TOTAL: $12.50``) or a bar
chart (three labelled bars with their values printed above them), drawn with PIL's built-in
6x11 bitmap font, so the pixels do not depend on the FreeType version. Layouts are made for a
96-pixel page; a larger ``image_size`` draws the page at ``image_size // k`` pixels (k = the
whole number of times 96 fits) and enlarges it k times with nearest-neighbour, so text stays
sharp. Two questions per document; every answer is text printed on the page (``answers``
lists it first, then a variant DocVQA annotators would also accept, e.g. "12.50" for
"$12.50"). Deterministic in (seed, split, index) through :func:`scene_rng`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evalkit.synthetic.scene import COLORS
from evalkit.synthetic.streams import pick, scene_rng, shuffled

BASE_SIZE = 96
CHAR_W, LINE_H = 6, 11  # the bitmap font's cell
INK, PAPER = (20, 20, 20), (250, 250, 246)
FORM_TITLES = ("INVOICE", "RECEIPT", "ORDER", "MEMO", "REPORT", "PERMIT")
CHART_TITLES = ("SALES", "VOTES", "SCORES", "VISITS", "ORDERS")
BAR_LABELS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
NAMES = ("ROSE", "OMAR", "LENA", "IVAN", "MAYA", "NOAH", "ZOE", "YUKI", "PAUL", "ANNA", "KOFI", "SARA")
CITIES = ("OSLO", "LIMA", "ROME", "KYIV", "DOHA", "BERN", "PERTH", "TUNIS", "QUITO", "ACCRA", "MINSK")
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
Row = dict[str, Any]
Field = tuple[str, str, list[str]]  # key printed on the form, value printed, accepted answers


def _money(rng: np.random.Generator) -> list[str]:
    text = f"{int(rng.integers(1, 100))}.{int(rng.integers(0, 100)):02d}"
    return [f"${text}", text]


def _code(rng: np.random.Generator) -> list[str]:
    letters = "".join(pick(rng, list(LETTERS)) for _ in range(2))
    digits = f"{int(rng.integers(10, 100))}"
    return [f"{letters}-{digits}", f"{letters}{digits}"]


FIELD_VALUES = {
    "NAME": lambda rng: [pick(rng, list(NAMES))],
    "CITY": lambda rng: [pick(rng, list(CITIES))],
    "DATE": lambda rng: [f"{int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}"],
    "TOTAL": _money,
    "CODE": _code,
    "QTY": lambda rng: [str(int(rng.integers(1, 1000)))],
}


def page_scale(image_size: int) -> int:
    """How many times the page is enlarged: the whole number of 96-pixel pages that fit."""
    if image_size < BASE_SIZE:
        raise ValueError(f"shapes_docvqa needs image_size >= {BASE_SIZE} to fit its text, got {image_size}")
    return image_size // BASE_SIZE


def _blank(width: int) -> tuple[Image.Image, ImageDraw.ImageDraw, ImageFont.ImageFont]:
    image = Image.new("RGB", (width, width), PAPER)
    return image, ImageDraw.Draw(image), ImageFont.load_default_imagefont()


def _finish(page: Image.Image, image_size: int) -> Image.Image:
    return (
        page if page.width == image_size else page.resize((image_size, image_size), Image.Resampling.NEAREST)
    )


def render_form(title: str, fields: list[Field], image_size: int) -> Image.Image:
    """The title, a rule, then one ``KEY: VALUE`` line per field, spread over the page."""
    width = image_size // page_scale(image_size)
    page, draw, font = _blank(width)
    draw.text((4, 4), title, fill=INK, font=font)
    draw.line((4, 17, width - 5, 17), fill=INK)
    step = max(LINE_H + 3, (width - 28) // max(1, len(fields)))
    for k, (key, value, _) in enumerate(fields):
        draw.text((4, 22 + k * step), f"{key}: {value}", fill=INK, font=font)
    return _finish(page, image_size)


def render_chart(title: str, bars: list[tuple[str, int]], color: str, image_size: int) -> Image.Image:
    """Three bars on a baseline, value printed above each bar and label below it."""
    width = image_size // page_scale(image_size)
    page, draw, font = _blank(width)
    draw.text((4, 3), title, fill=INK, font=font)
    baseline, top = width - 15, 28
    slot = (width - 8) // len(bars)
    for k, (label, value) in enumerate(bars):
        centre = 4 + slot * k + slot // 2
        height = round((baseline - top) * value / 100)
        draw.rectangle(
            (centre - slot // 4, baseline - height, centre + slot // 4, baseline), fill=COLORS[color]
        )
        text = str(value)
        draw.text(
            (centre - CHAR_W * len(text) // 2, baseline - height - LINE_H - 1), text, fill=INK, font=font
        )
        draw.text((centre - CHAR_W * len(label) // 2, baseline + 3), label, fill=INK, font=font)
    draw.line((4, baseline, width - 5, baseline), fill=INK)
    return _finish(page, image_size)


def form_document(
    rng: np.random.Generator, image_size: int
) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    """A form with 3-4 fields and two questions about two of them."""
    title = pick(rng, list(FORM_TITLES))
    keys = shuffled(rng, list(FIELD_VALUES))[: int(rng.integers(3, 5))]
    fields = [(key, (values := FIELD_VALUES[key](rng))[0], values) for key in keys]
    asked = shuffled(rng, fields)[:2]
    questions = [
        (f"What is the {key.lower()} on the {title.lower()}?", answers, "form") for key, _, answers in asked
    ]
    return render_form(title, fields, image_size), questions


def chart_document(
    rng: np.random.Generator, image_size: int
) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    """A bar chart with distinct values; asks one bar's value and which bar is the tallest."""
    start = int(rng.integers(0, len(BAR_LABELS) - 2))
    labels = list(BAR_LABELS[start : start + 3])
    values = [int(v) for v in rng.choice(np.arange(10, 100), size=3, replace=False)]
    bars = list(zip(labels, values, strict=True))
    label, value = pick(rng, bars)
    tallest = labels[int(np.argmax(values))]
    questions = [
        (f"What is the value of the {label} bar?", [str(value)], "figure/diagram"),
        ("Which bar is the tallest?", [tallest], "figure/diagram"),
    ]
    color = pick(rng, [c for c in COLORS if c not in ("black", "yellow")])
    return render_chart(pick(rng, list(CHART_TITLES)), bars, color, image_size), questions


def document_rows(rng: np.random.Generator, index: int, image_size: int) -> list[Row]:
    """The two DocVQA-schema rows of document ``index``."""
    make = form_document if rng.random() < 0.6 else chart_document
    image, questions = make(rng, image_size)
    return [
        {"questionId": str(index * 10 + k), "question": question, "question_types": [qtype], "image": image,
         "docId": index, "ucsf_document_id": f"shapes{index:05d}", "ucsf_document_page_no": "1",
         "answers": answers, "data_split": "val"}
        for k, (question, answers, qtype) in enumerate(questions)
    ]  # fmt: skip


def document_row_groups(
    name: str, indices: Iterable[int], *, seed: int, split: str, image_size: int
) -> list[list[Row]]:
    """Per document index, its rows (the suite's ``scene_row_groups`` contract)."""
    page_scale(image_size)
    return [document_rows(scene_rng(name, seed, split, i), i, image_size) for i in indices]
