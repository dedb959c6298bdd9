# notary: `make run` sets up what is missing and serves; `make test` runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ARTIFACT := notary/chain/artifacts/EvidenceRegistry.json

.PHONY: help install system-packages run test test-py test-contracts lint contracts clean

help:
	@echo "make run    install what is missing, then run the service (chain, registry, API)"
	@echo "make test   run every suite (lint, import contracts, Python, contracts)"

# Python: a venv with exactly the locked dependency set, then the project itself (editable).
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Node: solc (wasm), Hardhat 2, anvil, OpenZeppelin, from the lock file only.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages the tests use as independent checkers (the age CLI decrypts our blobs).
# Installed only when missing and only when we may (root); otherwise say what to install.
SYSTEM_PACKAGES := age
SYSTEM_STAMP := $(VENV)/.system-packages

$(SYSTEM_STAMP): Makefile
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (apt-get install$$missing)"; exit 1; fi; \
	fi
	@mkdir -p $(VENV) && touch $@

system-packages: $(SYSTEM_STAMP)

install: $(STAMP) $(NODE_STAMP)

# Recompile with py-solc-x through the local solcjs (no download) and fail if the committed
# artifact differs from what the source compiles to.
contracts: install
	$(PY) -m notary.chain.compile --check

run: install contracts
	$(VENV)/bin/notary run

lint: install
	$(VENV)/bin/ruff check notary api storage tests
	$(VENV)/bin/lint-imports

# The Python suite runs twice: on SQLite (the default) and on PostgreSQL. When no PostgreSQL
# answers, that second run is reported as NOT RUN (loudly), never as passed.
NOTARY_TEST_POSTGRES ?= postgresql://root@127.0.0.1:5432/test

test-py: install system-packages
	$(VENV)/bin/pytest -q
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(NOTARY_TEST_POSTGRES)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== the Python suite again, on PostgreSQL ($(NOTARY_TEST_POSTGRES)) =="; \
	  NOTARY_TEST_POSTGRES='$(NOTARY_TEST_POSTGRES)' $(VENV)/bin/pytest -q; \
	else \
	  echo; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!  PostgreSQL tests NOT RUN: nothing answers at $(NOTARY_TEST_POSTGRES)"; \
	  echo "!!  (set NOTARY_TEST_POSTGRES to a server with trust auth to run them)"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; echo; \
	fi

test-contracts: install
	npx hardhat test

test: lint contracts test-py test-contracts

clean:
	rm -rf cache artifacts .pytest_cache
