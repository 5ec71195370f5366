# The two commands the README starts with; each creates .venv when it is missing (only Python is needed).
#   make plan   the dev stack's offline plan: installs the runtime lock (requirements.txt), as Pulumi does
#   make test   ruff, mypy, the layering contract, actionlint and zizmor on the workflows, and the whole test
#               suite: installs the dev lock on top
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes
STACK ?= dev
UV_VERSION := 0.13.8

.PHONY: plan test lint lock clean e2e

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

plan: $(VENV)/.runtime  ## what the $(STACK) stack would do: offline, no credentials
	$(PY) -m access plan --stack $(STACK)

test: $(VENV)/.dev  ## ruff, mypy, the layering contract, the workflow linters and the whole test suite
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/actionlint -shellcheck=$(VENV)/bin/shellcheck -pyflakes=
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows
	$(PY) -m pytest -q -n auto

e2e: $(VENV)/.dev  ## issue 17: the real engine, provider and API server (docs/e2e.md)
	tools/e2e/run

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# Re-resolve the locks from pyproject.toml (after changing a dependency range): hashes for every platform.
lock: $(VENV)/.dev
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	  --annotation-style line --custom-compile-command "make lock" -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	  --annotation-style line --custom-compile-command "make lock" -c requirements.txt -o requirements-dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
