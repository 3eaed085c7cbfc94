# The two commands a new user needs: `make demo` and `make test`.
# Each target creates (or reuses) .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8050
PYTEST_ARGS ?=
# versions the test suite last passed with (regenerate: pip freeze --exclude-editable)
CONSTRAINTS := -c constraints.txt

.PHONY: demo test bench lint serve clean help

help:
	@echo "make demo   - set up and serve the dashboard on the demo world at http://127.0.0.1:$(PORT)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make bench  - run the benchmarks (figures and ratios)"
	@echo "make lint   - ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-base: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q $(CONSTRAINTS) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q $(CONSTRAINTS) -e ".[test]"
	@touch $(VENV)/.installed-base $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q $(CONSTRAINTS) -e ".[dev]"
	@touch $(VENV)/.installed-base $(VENV)/.installed-test $@

demo: $(VENV)/.installed-base
	$(BIN)/chokepoint demo --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python tests/bench/run.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check analytics dashboards tests

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts bench-results
