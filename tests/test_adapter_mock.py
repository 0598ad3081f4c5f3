"""Specification of the mock adapters (``mock:<behaviour>``)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from PIL import Image

from evalkit.types import GenerationRequest
from model_adapters.base import AdapterOptions, load_adapter


def _requests(n: int, prompt: str = "Is there a cat?") -> list[GenerationRequest]:
    return [GenerationRequest(doc_id=i, prompt=f"{prompt} #{i}") for i in range(n)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mock:yes", ["yes", "yes"]),
        ("mock:no", ["no", "no"]),
        ("mock:echo", ["Is there a cat? #0", "Is there a cat? #1"]),
        ("mock:constant=The answer: 42", ["The answer: 42", "The answer: 42"]),
        ("mock:constant=", ["", ""]),
    ],
)
def test_simple_mocks_answer_as_named(name: str, expected: list[str]) -> None:
    assert load_adapter(name).generate(_requests(2)) == expected


def test_mock_declares_qwen_boxes_and_batch_64() -> None:
    adapter = load_adapter("mock:yes")
    assert adapter.box_format == "qwen_0_1000"
    assert adapter.max_batch_size == 64


@pytest.mark.parametrize("name", ["mock:maybe", "mock:fail-every-0", "mock:fail-every-x", "mock:"])
def test_unknown_mock_spec_names_the_choices(name: str) -> None:
    with pytest.raises(ValueError, match="mock:yes"):
        load_adapter(name)


def test_random_mock_answers_do_not_depend_on_batch_or_order() -> None:
    adapter = load_adapter("mock:random", AdapterOptions(seed=7))
    requests = _requests(40)
    one_by_one = [adapter.generate([r])[0] for r in requests]
    reversed_batch = adapter.generate(list(reversed(requests)))[::-1]
    assert one_by_one == reversed_batch
    # the doc_id is not part of the draw: same prompt and image, same answer
    moved = GenerationRequest(doc_id=999, prompt=requests[3].prompt)
    assert adapter.generate([moved]) == [one_by_one[3]]


def test_random_mock_draws_from_the_documented_answers() -> None:
    adapter = load_adapter("mock:random")
    replies = adapter.generate(_requests(400))
    box = re.compile(r"^<box>\((\d+),(\d+)\),\((\d+),(\d+)\)</box>$")
    kinds = set()
    for reply in replies:
        if reply in {"yes", "no", "A", "B", "C", "D"}:
            kinds.add(reply)
        elif reply.isdigit():
            assert 0 <= int(reply) <= 100
            kinds.add("number")
        else:
            x1, y1, x2, y2 = map(int, box.match(reply).groups())  # type: ignore[union-attr]
            assert 0 <= x1 < x2 <= 1000 and 0 <= y1 < y2 <= 1000
            kinds.add("box")
    assert kinds == {"yes", "no", "A", "B", "C", "D", "number", "box"}


def test_random_mock_depends_on_seed_and_image_pixels() -> None:
    requests = _requests(50)
    seed_a = load_adapter("mock:random", AdapterOptions(seed=1)).generate(requests)
    seed_b = load_adapter("mock:random", AdapterOptions(seed=2)).generate(requests)
    assert seed_a != seed_b
    adapter = load_adapter("mock:random", AdapterOptions(seed=1))
    red = [GenerationRequest(i, r.prompt, (Image.new("RGB", (4, 4), "red"),)) for i, r in enumerate(requests)]
    blue = [
        GenerationRequest(i, r.prompt, (Image.new("RGB", (4, 4), "blue"),)) for i, r in enumerate(requests)
    ]
    assert adapter.generate(red) != adapter.generate(blue)
    assert adapter.generate(red) == adapter.generate(list(red))


def test_fail_every_n_fails_by_doc_id_not_by_call_count() -> None:
    adapter = load_adapter("mock:fail-every-3")
    table = {0: "yes", 1: "yes", 2: None, 3: "yes", 4: "yes", 5: None, 8: None}
    for doc_id, expected in table.items():
        request = GenerationRequest(doc_id=doc_id, prompt="q")
        for _ in range(2):  # retrying gives the same outcome
            if expected is None:
                with pytest.raises(RuntimeError, match=f"doc_id {doc_id}"):
                    adapter.generate([request])
            else:
                assert adapter.generate([request]) == [expected]


def test_fail_every_n_fails_the_whole_batch_holding_a_bad_request() -> None:
    adapter = load_adapter("mock:fail-every-2", AdapterOptions())
    with pytest.raises(RuntimeError):
        adapter.generate(_requests(3))
    assert adapter.n_answered == 0  # type: ignore[attr-defined]


def test_call_log_gets_one_line_per_answered_request(tmp_path) -> None:
    log = tmp_path / "calls.log"
    adapter = load_adapter("mock:fail-every-4", AdapterOptions(extra={"call_log": str(log)}))
    adapter.generate(_requests(3))
    with pytest.raises(RuntimeError):
        adapter.generate(_requests(4))
    adapter.generate([GenerationRequest(doc_id=9, prompt="q")])
    assert log.read_text().splitlines() == ["0", "1", "2", "9"]
    assert adapter.n_answered == 4  # type: ignore[attr-defined]


def test_mock_module_does_not_import_torch() -> None:
    code = (
        "import sys; from model_adapters.base import load_adapter; "
        "load_adapter('mock:random'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
