# One door to the tooling. `make test` and `make run` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test lint typecheck bench openapi serve calibrate calibrate-testbed train-testbed clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[calibration,dev]'
	touch $@

setup: $(VENV)/.installed

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check models calibration service tests bench

typecheck: setup
	$(BIN)/mypy models service

bench: setup
	$(BIN)/python bench/ledger.py
	$(BIN)/python -m bench.frontier
	$(BIN)/python -m bench.service

openapi: setup
	$(BIN)/python -m service.openapi > openapi.yaml

serve: setup
	$(BIN)/uvicorn --factory service.main:create_app --host 127.0.0.1 --port 8000

run: setup
	$(BIN)/python -m calibration.cli memory --model Llama-3.1-8B-Instruct --context 131072 --config w16-k16v16-cfull
	$(BIN)/python bench/study_ledger.py --model Llama-3.1-8B-Instruct --context 131072

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
