#!/usr/bin/env bash
# Regenerates the committed leaderboard of the synthetic suite: the built-in model and the
# mock baselines, each on every shapes task (shapes_all and the later twins, shapes_extra), then
# results/LEADERBOARD.md.
# Usage (from the repository root): bash results/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# mock:constant=... is the constant-caption baseline the caption metrics are read against
for model in visionpangu mock:yes mock:random "mock:constant=a red circle"; do
  name="shapes-$(echo "$model" | tr -c 'A-Za-z0-9\n' '-')"
  rm -rf "results/$name"
  evalkit run --model "$model" --tasks shapes_all,shapes_extra --output-dir results --run-name "$name" --no-progress
done
evalkit leaderboard results --format md --out results/LEADERBOARD.md
