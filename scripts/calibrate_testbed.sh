#!/usr/bin/env bash
# Calibrate every shipped testbed model, fit its artifact, validate its frontier at 2x the longest
# calibrated context. Writes models/artifacts/<model>.json and models/artifacts/validations/*.
# Budget: ~35 min of one CPU core per model (measured 34-42 min, the other core busy); JOBS=2
# runs two models at once.
# Usage: [JOBS=n] scripts/calibrate_testbed.sh [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DB=${KVPARETO_DB:-runs/testbed.db}
EAGER_DB=${KVPARETO_EAGER_DB:-runs/testbed-eager.db}
BUDGET=${BUDGET:-240}
N=${N:-64}  # samples per run: exact match moves in steps of 1/N
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for d in models/testbed/*/; do [ -f "$d/config.json" ] && models+=("$(basename "$d")"); done
fi
[ ${#models[@]} -gt 0 ] || { echo "no testbed models in models/testbed/" >&2; exit 2; }
JOBS=${JOBS:-1}  # models calibrated at once, one core each (the SQLite store takes both writers)
if [ "$JOBS" -gt 1 ] && [ ${#models[@]} -gt 1 ]; then
  printf '%s\n' "${models[@]}" | JOBS=1 xargs -P "$JOBS" -n 1 bash "$PWD/scripts/calibrate_testbed.sh"
  exit $?
fi
for m in "${models[@]}"; do
  "$PY" -m calibration.cli calibrate --model "models/testbed/$m" --contexts 256,512 \
    --tasks kv_retrieval,passkey --budget-runs "$BUDGET" --n "$N" --mode active \
    --anchor-contexts 1024,2048 --anchor-seeds 1,2,3 --memory-contexts 320,384,448 --db "$DB"
  # the eager runtime's memory (its own store: run keys do not name the attention) and the
  # 4-bit weights' own KL of every AWQ group the service serves, then the artifact
  "$PY" -m calibration.cli probe --model "models/testbed/$m" --attention eager \
    --contexts 256,384,512,1024 --runs 160 --db "$EAGER_DB"
  "$PY" -m scripts.testbed_weights_kl --db "$DB" "$m"
  "$PY" -m calibration.cli fit --model "models/testbed/$m" --db "$DB" --memory-db "$EAGER_DB"
  "$PY" -m calibration.cli validate --model "models/testbed/$m" --context 1024 \
    --task kv_retrieval --metric exact_match --points 6 --n "$N" --db "$DB"
done
