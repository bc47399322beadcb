# k8s-bot: every target installs what it needs into .venv first (a fresh clone needs only python3).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

MO := templates/locale/zh/LC_MESSAGES/messages.mo
PO := $(MO:.mo=.po)

.PHONY: install demo test lint bench clean i18n locales

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The gettext catalogs: compiled (.po -> .mo) by install and test; `make i18n` re-extracts the messages
# from templates/ (and the knowledge YAML) into messages.pot and updates every .po (bot/i18n_build.py).
$(MO): $(PO) $(STAMP)
	$(BIN)/python -m bot.i18n_build compile

locales: $(MO)

i18n: $(STAMP)
	$(BIN)/python -m bot.i18n_build extract

install: $(STAMP) $(MO)

demo: $(STAMP) $(MO)
	@$(BIN)/k8s-bot demo

test: $(STAMP) $(MO) lint
	$(BIN)/python -m pytest -n auto -p no:cacheprovider tests

lint: $(STAMP)
	$(BIN)/ruff format --check bot handlers tests
	$(BIN)/ruff check bot handlers tests
	$(BIN)/mypy
	$(BIN)/python tests/check_layers.py

bench: $(STAMP) $(MO)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
