"""Generation throughput vs batch size, and whether replies stay identical across batch sizes.

For each model: the same N synthetic requests (random images, prompts of varied length) go
through ``adapter.generate`` in length-sorted batches of 1, 2, 4, ... 32 (as the runner sends
them). Prints samples/s, the ratio to batch 1, how many replies equal the batch-1 replies and,
on CUDA, the peak GPU memory.

Models: ``visionpangu`` (the built-in model, skipped when its checkpoint is missing) and
``hf-llava``: a LLaVA-1.5-layout model with random weights built from its config and loaded
through the ``hf:`` adapter (``from_pretrained`` on a saved directory). Its size follows
``--hf-size``: ``tiny`` (CPU default; hidden 32), ``small`` (hidden 256, 4 layers), ``1b``
(CUDA default: CLIP ViT-L/14-336 + a TinyLlama-shaped 22-layer decoder, ~1.4B parameters).

    python -m benchmarks.generation --quick          # CPU, about a minute
    python -m benchmarks.generation --device cuda    # bf16, 1.4B model, batch 1..32
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image

from evalkit.types import GenerationRequest, GenerationSettings
from model_adapters.base import AdapterOptions, ModelAdapter, load_adapter

HF_SIZES: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "tiny": ({}, {}),
    "small": (
        {"hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4, "num_attention_heads": 8},
        {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 4, "image_size": 112},
    ),
    "1b": (  # TinyLlama-1.1B decoder shape + CLIP ViT-L/14 at 336 px (LLaVA-1.5's tower)
        {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
         "num_key_value_heads": 4},
        {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
         "image_size": 336, "projection_dim": 768},
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One batch size's measurement."""

    model: str
    batch_size: int
    samples_per_s: float
    speedup_vs_batch1: float
    identical_to_batch1: int
    n: int
    peak_gpu_gib: float | None


def synthetic_requests(n: int, max_new_tokens: int, seed: int = 0) -> list[GenerationRequest]:
    """N requests with noise images of varied sizes and prompts of 5-40 words."""
    rng = random.Random(seed)
    words = "what is the colour of the object on the left side of this picture near a small".split()
    requests = []
    for i in range(n):
        size = (rng.randint(64, 640), rng.randint(64, 480))
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
        prompt = " ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) + "?"
        requests.append(
            GenerationRequest(i, prompt, (image,), GenerationSettings(max_new_tokens=max_new_tokens))
        )
    return requests


def run_batched(adapter: ModelAdapter, requests: Sequence[GenerationRequest], batch_size: int) -> list[str]:
    """Replies for all requests, sent in length-sorted batches as the runner does, in request order."""
    order = sorted(range(len(requests)), key=lambda i: adapter.prompt_length(requests[i]))
    replies = [""] * len(requests)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for i, reply in zip(chunk, adapter.generate([requests[i] for i in chunk]), strict=True):
            replies[i] = reply
    return replies


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(name: str, adapter: ModelAdapter, requests: Sequence[GenerationRequest], sizes: Sequence[int],
            device: str) -> list[Row]:  # fmt: skip
    """Time every batch size after one warm-up batch; compare replies with batch 1's."""
    adapter.generate(list(requests[: max(sizes)]))  # warm-up: kernels, allocator, caches
    rows: list[Row] = []
    baseline: list[str] | None = None
    base_rate = 0.0
    for size in sizes:
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        _sync(device)
        start = time.perf_counter()
        replies = run_batched(adapter, requests, size)
        _sync(device)
        rate = len(requests) / (time.perf_counter() - start)
        baseline = baseline or replies
        base_rate = base_rate or rate
        same = sum(a == b for a, b in zip(replies, baseline, strict=True))
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
        rows.append(Row(name, size, rate, rate / base_rate, same, len(requests), peak))
        print(_format_row(rows[-1]), flush=True)
    return rows


def _format_row(row: Row) -> str:
    peak = f"{row.peak_gpu_gib:7.2f}" if row.peak_gpu_gib is not None else "      -"
    return (f"{row.model:<14} {row.batch_size:>5} {row.samples_per_s:>10.2f} {row.speedup_vs_batch1:>8.2f}x "
            f"{row.identical_to_batch1:>5}/{row.n:<5} {peak}")  # fmt: skip


def build_hf_llava(size: str, out_dir: Path) -> Path:
    """A random-weight LLaVA-layout checkpoint of the given size, saved to ``out_dir``."""
    from tests.hf_tiny import build_llava

    text, vision = HF_SIZES[size]
    return build_llava(out_dir, text_sizes=text, vision_sizes=vision, std=0.5 if size == "tiny" else None)


def load_models(
    names: Sequence[str], options: AdapterOptions, hf_size: str, workdir: Path
) -> dict[str, ModelAdapter]:
    """The adapters to measure; a model that cannot load is reported and skipped."""
    adapters: dict[str, ModelAdapter] = {}
    for name in names:
        try:
            if name == "hf-llava":
                path = build_hf_llava(hf_size, workdir / f"llava-{hf_size}")
                adapters[f"hf-llava-{hf_size}"] = load_adapter(f"hf:{path}", options)
            else:
                adapters[name] = load_adapter(name, options)
        except (FileNotFoundError, ImportError, RuntimeError, ValueError) as err:
            print(f"{name}: skipped ({err})")
    return adapters


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default="visionpangu,hf-llava", help="comma-separated: visionpangu, hf-llava"
    )
    parser.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    parser.add_argument(
        "--n", type=int, default=None, help="requests per batch size (default 64 CPU, 256 GPU)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default 16 CPU, 32 GPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto = bfloat16 on CUDA, float32 on CPU")
    parser.add_argument(
        "--hf-size", choices=sorted(HF_SIZES), default=None, help="default tiny on CPU, 1b on CUDA"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default torch's; 1 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="32 requests, 8 new tokens, tiny HF model, 1 thread"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    on_gpu = device.startswith("cuda")
    n = args.n or (32 if args.quick else 256 if on_gpu else 64)
    new_tokens = args.max_new_tokens or (8 if args.quick else 32 if on_gpu else 16)
    hf_size = args.hf_size or ("1b" if on_gpu and not args.quick else "tiny")
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    threads = args.threads or (1 if args.quick else None)
    if threads:  # tiny models on CPU are dominated by per-op overhead, which threads only add to
        torch.set_num_threads(threads)
    options = AdapterOptions(device=device, dtype=args.dtype, extra={"max_batch_size": max(sizes)})
    print(f"device={device} dtype={args.dtype} n={n} max_new_tokens={new_tokens} hf_size={hf_size} "
          f"threads={torch.get_num_threads()}")  # fmt: skip
    print(f"{'model':<14} {'batch':>5} {'samples/s':>10} {'vs b=1':>9} {'same':>11} {'peakGiB':>7}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as workdir:
        for name, adapter in load_models(args.models.split(","), options, hf_size, Path(workdir)).items():
            rows += measure(name, adapter, synthetic_requests(n, new_tokens), sizes, device)
            adapter.close()
    for name in dict.fromkeys(r.model for r in rows):
        best = [r for r in rows if r.model == name][-1]
        print(f"{name}: batch {best.batch_size} / batch 1 throughput = {best.speedup_vs_batch1:.2f}x, "
              f"identical replies {best.identical_to_batch1}/{best.n}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows


if __name__ == "__main__":
    main()
