#!/usr/bin/env bash
# Held-out eager probes for bench.runtime_holdout: another sample seed, lengths past the fit's
# (which stop at 1,024), into runs/testbed-eager-holdout.db (resumable).
set -euo pipefail
cd "$(dirname "$0")/.."
export KVPARETO_EAGER_DB=${KVPARETO_EAGER_DB:-runs/testbed-eager-holdout.db}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX512_CORE_BF16}
for m in testbed-llama testbed-qwen2 testbed-mistral; do
  "$PY" -m calibration.cli probe --model "models/testbed/$m" --attention eager \
    --contexts 1536,2048 --runs "${RUNS:-24}" --seed 7 --db "$KVPARETO_EAGER_DB"
done
