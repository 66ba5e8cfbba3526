# Red Brolly: `make run` serves a demo on 127.0.0.1:5000; `make test` runs every test;
# `make lint` checks the import direction and the code style.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,deploy]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app forum demo
	$(BIN)/python -m forum

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Import direction (import-linter contract in pyproject.toml), then ruff (rules there too).
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check forum realtime moderation tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
