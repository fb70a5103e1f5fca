# Every target installs into .venv first, and only when requirements.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
STACK ?= dev

.PHONY: plan policy test lint lock docs help bytecode

# `make help` lists every target from its `## ` line (a test holds that each target has one).
help: ## this list
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / { printf "  make %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "  STACK=dev|staging|prod|pipeline|<yours> picks the stack for plan and policy (default dev)."

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $(STAMP)

# Python reads existing .pyc files even where PYTHONDONTWRITEBYTECODE=1 (as on some CI images
# and this project's dev machines) stops it writing them; compiling the project once here spares
# every command and test process the recompile (a no-op when nothing changed).
bytecode: $(STAMP) ## compile the project once (spares every command the recompile)
	$(BIN)/python -m compileall -q baseline components policy

plan: bytecode ## render STACK offline (no Pulumi CLI, no cloud)
	$(BIN)/python -m baseline plan --stack $(STACK)

# A RAM lint finding outside baseline/analysis/lint_exclusions.yaml fails, as a policy violation does.
policy: bytecode ## run the CrossGuard policy pack and the RAM linter over STACK's offline plan
	$(BIN)/python -m baseline policy --stack $(STACK)
	$(BIN)/python -m baseline lint --stack $(STACK)

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# pytest caches each test module's assertion-rewritten bytecode only where bytecode may be written
# (an empty PYTHONDONTWRITEBYTECODE is unset); without the cache every worker rewrites all test
# modules at every run (~5 s each). Work stealing keeps both cores busy to the last test.
test: lint bytecode ## lint and run the whole test suite
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2 --dist worksteal

docs: $(STAMP) ## regenerate the configuration reference (docs/configuration.md)
	$(BIN)/python -m baseline.docgen

# A fresh temporary venv, never .venv (pip freeze lists whatever is installed there), pins sorted
# by normalised name, the current pins constraining transitive versions: a clone that changes
# nothing in requirements.in gets requirements.txt back byte for byte. UPGRADE=1 re-resolves all.
lock: ## regenerate requirements.txt from requirements.in in a fresh venv (UPGRADE=1 re-resolves)
	UPGRADE=$(UPGRADE) $(PYTHON) -m baseline.lock
