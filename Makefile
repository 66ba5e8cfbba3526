# Red Brolly: `make run` serves a demo on 127.0.0.1:5000; `make test` runs every test;
# `make lint` checks the import direction and the code style.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint security clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,deploy]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app forum demo
	$(BIN)/python -m forum

# Two runs: the in-process tests on TEST_WORKERS processes at once (pytest-xdist, one test
# file per worker: a module's shared world is built once), then, one at a time, the tests
# that start servers or browsers, use the machine's PostgreSQL or Redis, or are heavy: they
# time things and share ports and keys. Both always run; the target fails if either did.
# With PYTEST_ARGS (a file, -k, -m …) it is one plain run with those arguments.
TEST_WORKERS ?= 2
SERIAL_TESTS := server or redis or postgres or slow
test: $(STAMP)
ifeq ($(strip $(PYTEST_ARGS)),)
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not ($(SERIAL_TESTS))"; a=$$?; \
	$(BIN)/python -m pytest -m "$(SERIAL_TESTS)"; b=$$?; \
	echo "make test: in-process run exit $$a, serial run exit $$b"; \
	[ $$a -eq 0 ] && [ $$b -eq 0 ]
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

# Languages (docs/I18N.md): extract every marked string (Python, templates, the JavaScript
# labels in forum/jslabels.py) into messages.pot, merge it into each catalogue, compile.
# The compiled .mo files are committed beside their .po, so a clean checkout, an editable
# install and a wheel all carry them and nothing compiles at run time;
# tests/test_translations.py fails when a .mo does not match its .po, or a catalogue lacks
# a string. After `make translations`, translate the new entries, then run it again.
CATALOGUES := forum/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
		-o $(CATALOGUES)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --no-fuzzy-matching \
		--width 100
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

# Import direction (import-linter contract in pyproject.toml), then ruff (rules there too),
# then the static security checks.
lint: $(STAMP) security
	$(BIN)/lint-imports
	$(BIN)/ruff check forum realtime moderation tests
	$(BIN)/ruff format --check forum realtime moderation tests

# semgrep in a virtualenv of its own: its pinned dependencies would fight the app's.
SEMGREP_VENV := $(VENV)/semgrep
SEMGREP      := $(SEMGREP_VENV)/bin/semgrep

$(SEMGREP):
	$(PYTHON) -m venv $(SEMGREP_VENV)
	$(SEMGREP_VENV)/bin/pip install --quiet 'semgrep>=1.100'

# Static security checks, offline (docs/SECURITY.md): bandit's medium and high findings
# (each waiver is a `# nosec` with its reason), then the project's semgrep rules in
# .semgrep/, whose own test cases run first.
security: $(STAMP) $(SEMGREP)
	$(BIN)/bandit -ll -q -r forum realtime moderation
	cd .semgrep && SEMGREP_ENABLE_VERSION_CHECK=0 $(abspath $(SEMGREP)) --test --metrics=off --quiet .
	SEMGREP_ENABLE_VERSION_CHECK=0 $(SEMGREP) scan --config .semgrep --metrics=off --error --quiet \
		forum realtime moderation templates

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
