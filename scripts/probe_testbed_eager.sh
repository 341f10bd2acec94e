#!/usr/bin/env bash
# Memory-only probes of every testbed model under eager attention (the hf-eager runtime's fit):
# a space-filling sample of the pool at four lengths, into runs/testbed-eager.db (resumable).
# Then `kvpareto fit --memory-db runs/testbed-eager.db` fits memory_profiles["hf-eager-generate"].
# Usage: [RUNS=n] scripts/probe_testbed_eager.sh [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DB=${KVPARETO_EAGER_DB:-runs/testbed-eager.db}
RUNS=${RUNS:-160}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# the kernel path the shipped SDPA fits were measured on (their artifacts name it): the two
# runtimes then differ by their attention alone
export ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-AVX512_CORE_BF16}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(testbed-llama testbed-qwen2 testbed-mistral)
for m in "${models[@]}"; do
  "$PY" -m calibration.cli probe --model "models/testbed/$m" --attention eager \
    --contexts 256,384,512,1024 --runs "$RUNS" --db "$DB"
done
