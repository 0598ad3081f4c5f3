"""``evalkit run``: build the run configuration and the adapter, run, print results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig, parse_shard


def build_config(args: dict[str, Any]) -> RunConfig:
    batch = args["batch_size"]
    if batch != "auto":
        if not str(batch).isdigit() or int(batch) < 1:
            raise ValueError(f"--batch-size must be a positive integer or 'auto', got {batch!r}")
        batch = int(batch)
    extra = dict(_key_values(args.get("adapter_arg")))
    return RunConfig(
        model=args["model"],
        tasks=tuple(t.strip() for t in args["tasks"].split(",") if t.strip()),
        output_dir=Path(args["output_dir"]),
        run_name=args["run_name"],
        limit=args["limit"],
        batch_size=batch,
        device=args["device"],
        dtype=args["dtype"],
        seed=args["seed"],
        parser=args["parser"],
        max_errors=args["max_errors"],
        data_dir=args["data_dir"],
        dataset_revision=args["dataset_revision"],
        synthetic_size=args["size"],
        shard=parse_shard(args["shard"]) if args["shard"] else None,
        adapter_extra=extra,
    )


def _key_values(items: list[str] | None) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--adapter-arg expects key=value, got {item!r}")
        pairs.append((key.strip(), value))
    return pairs


def check_parser_modes(cfg: RunConfig) -> None:
    """Fail before loading anything when a task's scorer lacks the requested parser mode."""
    from evalkit.registry import TaskSpecError, UnknownNameError, default_registry
    from evalkit.scoring import get_scorer

    for spec in default_registry().expand(cfg.tasks):
        try:
            modes = get_scorer(spec.scorer).modes
        except UnknownNameError as exc:
            raise TaskSpecError(
                f"{spec.source_file}: task {spec.name!r}: {exc}; fix its 'scorer:' key"
            ) from exc
        if cfg.parser not in modes:
            raise ValueError(f"task {spec.name!r} has parser modes {list(modes)}, not {cfg.parser!r}")


def execute_run(**args: Any) -> None:
    from evalkit import distributed
    from evalkit.data import force_offline_if_unreachable

    cfg = build_config(args)
    check_parser_modes(cfg)
    if not cfg.model.startswith("mock:"):
        force_offline_if_unreachable()
    from model_adapters.base import AdapterOptions, load_adapter

    device = distributed.local_device() if cfg.device == "auto" and distributed.is_launched() else cfg.device
    options = AdapterOptions(
        device=device or cfg.device, dtype=cfg.dtype, seed=cfg.seed,
        attn_implementation=args["attn_implementation"], trust_remote_code=args["trust_remote_code"],
        base_url=args["base_url"], api_key=args["api_key"], extra=dict(cfg.adapter_extra),
    )  # fmt: skip
    load_adapter_now = cfg.model
    from evalkit.runner import run

    run_dir, results = run(cfg, lambda: load_adapter(load_adapter_now, options), progress=args["progress"])
    if distributed.is_launched() and distributed.rank() != 0:
        return  # rank 0 merged the shards and speaks for the run
    results_path = run_dir / "results.json"
    if args["json_out"]:
        document = json.loads(results_path.read_text()) if results_path.exists() else {}
        sys.stdout.write(json.dumps(document) + "\n")
        return
    from evalkit.tables import print_results

    print_results({name: r.to_dict() for name, r in results.items()}, run_dir)
