# Every target installs into .venv first, and only when requirements.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
STACK ?= dev

.PHONY: plan policy test lint lock docs help bytecode

help:
	@echo "make plan STACK=dev|staging|prod   render a stack offline (no Pulumi CLI, no cloud)"
	@echo "make policy STACK=dev|staging|prod run the CrossGuard policy pack over the offline plan"
	@echo "make test                          lint and run the whole test suite"
	@echo "make docs                          regenerate the README configuration reference"
	@echo "make lock                          regenerate requirements.txt from requirements.in"

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $(STAMP)

# Python reads existing .pyc files even where PYTHONDONTWRITEBYTECODE=1 (as on some CI images
# and this project's dev machines) stops it writing them; compiling the project once here spares
# every command and test process the recompile (a no-op when nothing changed).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q baseline components policy

plan: bytecode
	$(BIN)/python -m baseline plan --stack $(STACK)

policy: bytecode
	$(BIN)/python -m baseline policy --stack $(STACK)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint bytecode
	$(BIN)/python -m pytest -q

docs: $(STAMP)
	$(BIN)/python -m baseline.docgen

# A fresh temporary venv, never .venv (pip freeze lists whatever is installed there), pins sorted
# by normalised name, the current pins constraining transitive versions: a clone that changes
# nothing in requirements.in gets requirements.txt back byte for byte. UPGRADE=1 re-resolves all.
lock:
	UPGRADE=$(UPGRADE) $(PYTHON) -m baseline.lock
