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

# Python reads each module's compiled bytecode from its __pycache__ folder. `pip install` writes it for an
# ordinary install, and Python writes it on the first import. An editable install in an environment
# that sets PYTHONDONTWRITEBYTECODE (many containers do) would compile every module of sim again in
# every process, 0.05-0.1 s of each command (docs/performance.md). Brought up to date
# at each `make install` (about 0.05 s when nothing changed).
COMPILE := $(BIN)/python -m compileall -q sim

install: $(VENV)/.installed
	$(COMPILE)

dev: $(VENV)/.installed-dev
	$(COMPILE)

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
