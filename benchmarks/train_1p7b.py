"""GPU benchmark of the ``1.7b`` VisionPangu preset: bf16 training step (tokens/s, MFU) and
batched KV-cache greedy generation throughput. Needs a CUDA device; prints one JSON object.

    python benchmarks/train_1p7b.py --batch-size 16 --text-len 256 --steps 8 [--compile]
    python benchmarks/train_1p7b.py --preset tiny --device cpu --steps 2   # a smoke run, no MFU

MFU = achieved model FLOPs / peak dense bf16 FLOPs, with model FLOPs per step counted as
6 x (parameters touched per token) x tokens, plus attention's 12 x layers x width x context per
token (the PaLM appendix-B convention), for both the ViT (patches) and the LM (tokens).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from evalkit.tinyvlm.config import VLMConfig, preset
from evalkit.tinyvlm.data import Batch
from evalkit.tinyvlm.generate import generate
from evalkit.tinyvlm.model import VisionPangu
from evalkit.tinyvlm.train import compile_blocks

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(name: str) -> float:
    """Dense bf16 peak of the device named ``name`` (H100/H200 SXM: 989 TFLOP/s)."""
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value
    raise ValueError(f"unknown GPU {name!r}; add its bf16 peak to PEAK_BF16_TFLOPS")


def step_flops(model: VisionPangu, batch_size: int, text_len: int) -> float:
    """Training FLOPs of one step (forward + backward = 3 x forward)."""
    cfg = model.config
    vit = sum(p.numel() for p in model.vision.parameters())
    lm_matmul = sum(p.numel() for n, p in model.language.named_parameters() if "embed_tokens" not in n)
    patches, seq = cfg.grid**2, cfg.num_visual_tokens + text_len
    vit_flops = 6 * vit * patches + 12 * cfg.vit_layers * cfg.vit_hidden * patches * patches
    proj_flops = 6 * sum(p.numel() for p in model.projector.parameters()) * cfg.num_visual_tokens
    lm_flops = (
        6 * lm_matmul * seq + 12 * cfg.lm_layers * cfg.lm_hidden * seq * seq / 2
    )  # causal: half the scores
    return batch_size * (vit_flops + proj_flops + lm_flops)


def synthetic_batch(cfg: VLMConfig, batch_size: int, text_len: int, device: str) -> Batch:
    """Random pixels and tokens with the image placeholders up front; every text token labelled."""
    text = torch.randint(16, cfg.vocab_size, (batch_size, text_len), device=device)
    image = torch.full((batch_size, cfg.num_visual_tokens), cfg.image_token_id, device=device)
    ids = torch.cat([image, text], dim=1)
    labels = torch.cat([torch.full_like(image, -100), text], dim=1)
    pixels = torch.randn(batch_size, 3, cfg.image_size, cfg.image_size, device=device)
    return Batch(ids, torch.ones_like(ids), labels, pixels)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_training(model: VisionPangu, args: argparse.Namespace) -> dict[str, Any]:
    """Mean time of ``steps`` AdamW steps after ``warmup`` untimed ones (bf16 autocast)."""
    model.train()
    device = next(model.parameters()).device
    batch = synthetic_batch(model.config, args.batch_size, args.text_len, str(device))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    if args.compile:
        compile_blocks(model)

    def one_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = model(batch.input_ids, batch.attention_mask, batch.pixel_values, batch.labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        one_step()
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        one_step()
    synchronize(device)
    seconds = (time.perf_counter() - t0) / args.steps
    tokens = args.batch_size * (model.config.num_visual_tokens + args.text_len)
    achieved = step_flops(model, args.batch_size, args.text_len) / seconds / 1e12
    result = {"step_s": seconds, "tokens_per_s": tokens / seconds, "tflops": achieved}
    if device.type == "cuda":
        result["mfu"] = achieved / peak_tflops(torch.cuda.get_device_name())
        result["max_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


@torch.no_grad()
def bench_generation(model: VisionPangu, args: argparse.Namespace) -> dict[str, Any]:
    """Greedy decoding of up to ``gen_tokens`` new tokens for a batch of prompts (tokens counted)."""
    model.eval()
    device = next(model.parameters()).device
    batch = synthetic_batch(model.config, args.gen_batch, 32, str(device))
    with torch.autocast(device.type, dtype=torch.bfloat16):
        generate(model, batch, max_new_tokens=4)  # warm-up
        synchronize(device)
        t0 = time.perf_counter()
        out = generate(model, batch, max_new_tokens=args.gen_tokens)
        synchronize(device)
    seconds = time.perf_counter() - t0
    new = sum(len(row) for row in out)
    return {"batch": args.gen_batch, "new_tokens": new, "seconds": seconds, "tokens_per_s": new / seconds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--text-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="torch.compile each ViT block and LM layer")
    p.add_argument("--gen-batch", type=int, default=32)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--preset", default="1.7b")
    p.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a smoke run: no MFU)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU (or --device cpu for a smoke run)")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(0)
    with torch.device(args.device):  # initialised in place: 1.7B fp32 parameters are slow to fill on a CPU
        model = VisionPangu(preset(args.preset, eos_token_id=preset(args.preset).vocab_size - 1))
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    result: dict[str, Any] = {"device": name, "preset": args.preset, "parameters": model.num_parameters(),
              "batch_size": args.batch_size, "text_len": args.text_len, "compile": args.compile,
              "generate": bench_generation(model, args)}  # fmt: skip
    result["train"] = bench_training(model, args)  # after generation: --compile compiles the layers in place
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
