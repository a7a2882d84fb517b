# The template's own commands. `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
# The interpreter found before .venv/bin joins PATH: it creates the venv and, if needed, runs uv.
BASE_PYTHON := $(shell command -v $(PYTHON) 2>/dev/null || echo $(PYTHON))
VENV ?= .venv
DEMO_DIR ?= demo
export PATH := $(abspath $(VENV))/bin:$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))
UV = $(shell command -v uv 2>/dev/null || echo "$(BASE_PYTHON) -m uv")
SLUG := {{cookiecutter.project_slug}}

.DEFAULT_GOAL := help
.PHONY: help env demo test test-fast lint lock bench clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

env: $(VENV)/.installed ## Create .venv with the template's test tools

$(VENV)/.installed: requirements-test.lock package-lock.json
	@command -v uv >/dev/null 2>&1 || $(BASE_PYTHON) -m uv --version >/dev/null 2>&1 || $(BASE_PYTHON) -m pip install --quiet uv
	$(UV) venv --quiet --allow-existing --python $(BASE_PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python requirements-test.lock
	npm ci --silent --no-audit --no-fund
	@touch $@

demo: env ## Bake the default project into $(DEMO_DIR)/ and run its whole loop
	$(VENV)/bin/python scripts/demo.py --template . --output $(DEMO_DIR)

test: lint ## Lint, then run the whole template test suite (fast and slow tiers)
	$(VENV)/bin/pytest -n 2 --dist loadgroup

test-fast: lint ## Lint, then run only the fast tier (no project environments)
	$(VENV)/bin/pytest -m "not slow" -n 2

# The generated project (its package and its tests, which import the package by a Jinja name) is
# linted once, after baking, by tests/test_bake.py; the template's own Python here.
LINTED := hooks scripts tests benchmarks

# --no-cache: a cache file inside the template's project folder would be rendered in every bake.
lint: env ## Lint the template's own Python
	$(VENV)/bin/ruff check --no-cache $(LINTED)
	$(VENV)/bin/ruff format --check --no-cache $(LINTED)

lock: env ## Re-resolve requirements-test.lock and the generated project's lock files
	$(UV) pip compile --quiet --universal --python-version 3.11 --no-annotate --no-header requirements-test.in -o requirements-test.lock
	$(VENV)/bin/python scripts/lock_project.py --template .

bench: env ## Run the drift benchmarks (see benchmarks/README.md)
	$(VENV)/bin/python benchmarks/run.py

clean: ## Remove the environment, node modules and the demo
	rm -rf $(VENV) node_modules $(DEMO_DIR)
