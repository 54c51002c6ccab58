PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export RECTIFY_INSTANCE ?= $(CURDIR)/instance

.PHONY: demo lint test test-fast install dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/rectify init-db
	$(BIN)/rectify demo $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

# the linters first (a few seconds), then the tests
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: lint
	$(BIN)/python -m pytest -m 'not slow' $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
