# The two commands the README starts with. Each creates .venv from requirements.txt when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: plan test lint check clean e2e

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

plan: $(VENV)/.installed  ## what the $(STACK) stack would do: offline, no credentials
	$(PY) -m access plan --stack $(STACK)

test: $(VENV)/.installed  ## ruff, mypy and the whole test suite
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q -n auto

e2e: $(VENV)/.installed  ## issue 17: the real engine, provider and API server (docs/e2e.md)
	tools/e2e/run

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
