# The two commands of the README:
#   make dev    run the shop locally (embedded PostgreSQL + moto server + local gateway)
#   make test   run every check CI runs: ruff, mypy, pytest
# Both bootstrap uv and the virtual environment on a fresh machine. uv always
# uses the machine's Python; it never downloads an interpreter.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced-$(shell cat requirements/dev.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: help bootstrap system-deps dev test lint format typecheck pytest lock bench cost clean deploy-venv smoke preflight fuzz

help:
	@echo "make dev    - run the shop locally (ARGS='--port 8080 --reset' to pass options)"
	@echo "make test   - lint, type-check and run every test"
	@echo "make lock   - re-pin requirements/*.txt from pyproject.toml"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make fuzz   - the long schemathesis run against the local platform (>= 50,000 cases; FUZZ_EXAMPLES, FUZZ_MIN_CASES, FUZZ_SEED)"
	@echo "make cost   - monthly cost of each stack at rest (STACKS='dev' to pick, ARGS='--free')"
	@echo "make preflight STACK=dev - read-only checks that pulumi up will get through on this AWS account"

bootstrap: $(STAMP)

$(STAMP):
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(VENV)
	@# uv 0.13.8 has been seen to crash once mid-download on a cold cache; a second run resumes from the cache.
	@# --compile-bytecode: every module loads from a .pyc (about 30 s once). Without it each new
	@# interpreter (a test's subprocess, a worker, moto) compiles what it imports from source, and
	@# where PYTHONDONTWRITEBYTECODE is set (these machines) it does so every time.
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements/dev.txt || $(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements/dev.txt
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@$(PY) -m compileall -q -j 0 src >/dev/null
	@rm -f $(VENV)/.synced-* && touch $@

dev: bootstrap
	$(PY) -m shop.local $(ARGS)

test: bootstrap system-deps lint typecheck pytest

# Debian packages the end-to-end tests need (headless Chromium).
system-deps:
	@scripts/system-deps.sh

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/actionlint

format: bootstrap
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: bootstrap
	$(VENV)/bin/mypy

# pytest on PYTEST_WORKERS processes (pytest-xdist): more than the 2 cores CI has, since many tests
# wait on subprocesses, servers and the browser. --dist loadgroup spreads tests one by one, except
# those sharing one xdist_group (tests/conftest.py: the e2e tests on the shared local platform),
# which run on one worker. PYTEST_WORKERS=0 runs everything in this process (pdb, -x).
PYTEST_WORKERS ?= 3
pytest: bootstrap
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Read-only checks against the caller's AWS account before `pulumi up` (README, "Deploying to AWS").
preflight: STACK ?= dev
preflight: bootstrap
	$(PY) -m infra.preflight --stack $(STACK)

bench: bootstrap
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The long version of tests/e2e/test_fuzz.py: every phase and check, FUZZ_EXAMPLES cases per
# operation, and the run fails unless it generated FUZZ_MIN_CASES (50,000); FUZZ_SEED varies it.
FUZZ_EXAMPLES ?= 4500
FUZZ_MIN_CASES ?= 50000
FUZZ_SEED ?= 17
fuzz: bootstrap
	SHOP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SHOP_FUZZ_MIN_CASES=$(FUZZ_MIN_CASES) SHOP_FUZZ_SEED=$(FUZZ_SEED) \
		$(PY) -m pytest tests/e2e/test_fuzz.py -s -q \
		-p no:cacheprovider --basetemp=$${TMPDIR:-/tmp}/pytest-fuzz-$$$$

# What each stack costs at rest, from the program's resource graph under the infra tests' mocks.
cost: bootstrap
	$(PY) -m infra.cost $(STACKS) $(ARGS)

# Pinned, hashed requirements with no index address in them (uv.lock would record one).
lock:
	$(UV) pip compile --quiet pyproject.toml --group infra --group local --group dev \
		--universal --python-version 3.11 --generate-hashes --no-header -o requirements/dev.txt
	$(UV) pip compile --quiet pyproject.toml --python-platform aarch64-manylinux_2_28 \
		--python-version 3.13 --generate-hashes --no-header -o requirements/lambda.txt
	$(UV) pip compile --quiet --group pyproject.toml:infra --constraints requirements/dev.txt \
		--universal --python-version 3.11 --generate-hashes --no-header -o requirements/infra.txt

# The deploy virtualenv exactly as Pulumi builds it (Pulumi.yaml: toolchain pip): a venv, then
# pip install -r requirements.txt (the hashed pins of requirements/infra.txt, hash-checked).
DEPLOY_VENV ?= .venv-deploy
deploy-venv:
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

# The read-only integration tests against a deployed stack (what the pipeline runs after pulumi up).
smoke: bootstrap
	@test -n "$(STACK)" || { echo "usage: make smoke STACK=<stack>"; exit 2; }
	pulumi stack output --stack $(STACK) --json --show-secrets > .smoke-outputs.json
	STACK_OUTPUTS_FILE=.smoke-outputs.json $(PY) -m pytest tests/integration -m smoke -q -p no:cacheprovider; \
		status=$$?; rm -f .smoke-outputs.json; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
