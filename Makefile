# k8s-bot: every target installs what it needs into .venv first (a fresh clone needs only python3).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/k8s-bot demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto -p no:cacheprovider tests

lint: $(STAMP)
	$(BIN)/ruff format --check bot handlers tests
	$(BIN)/ruff check bot handlers tests
	$(BIN)/mypy
	$(BIN)/python tests/check_layers.py

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
