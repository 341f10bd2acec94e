#!/usr/bin/env bash
# Calibrate every shipped testbed model, fit its artifact, validate its frontier at 2x the longest
# calibrated context. Writes models/artifacts/<model>.json and models/artifacts/validations/*.
# Budget: ~20 min of one CPU core per model. Usage: scripts/calibrate_testbed.sh [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DB=${KVPARETO_DB:-runs/testbed.db}
BUDGET=${BUDGET:-240}
N=${N:-64}  # samples per run: exact match moves in steps of 1/N
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for d in models/testbed/*/; do [ -f "$d/config.json" ] && models+=("$(basename "$d")"); done
fi
[ ${#models[@]} -gt 0 ] || { echo "no testbed models in models/testbed/" >&2; exit 2; }
for m in "${models[@]}"; do
  "$PY" -m calibration.cli calibrate --model "models/testbed/$m" --contexts 256,512 \
    --tasks kv_retrieval,passkey --budget-runs "$BUDGET" --n "$N" --mode active \
    --anchor-contexts 1024,2048 --db "$DB"
  "$PY" -m calibration.cli fit --model "models/testbed/$m" --db "$DB"
  "$PY" -m calibration.cli validate --model "models/testbed/$m" --context 1024 \
    --task kv_retrieval --metric exact_match --points 6 --n "$N" --db "$DB"
done
