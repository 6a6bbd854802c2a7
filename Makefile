# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install dev golden bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

## Install, run the baseline scenario, print where its results are.
run: install
	$(BIN)/retailsim run scenarios/baseline.yaml

## Install the test extras and run the whole suite.
test: dev
	$(BIN)/python -m pytest

## Regenerate the golden baseline after a deliberate change of behaviour.
golden: dev
	$(BIN)/python -m tests.golden

## Print speed and memory figures of the model.
bench: install
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
