# notary: `make run` sets up what is missing and serves; `make test` runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ARTIFACT := notary/chain/artifacts/EvidenceRegistry.json

.PHONY: help install system-packages run-packages soak run test test-unit test-py test-contracts lint contracts clean bench \
        audit load

help:
	@echo "make run    install what is missing, then run the service (chain, registry, API)"
	@echo "make test   run every suite (lint, import contracts, Python, contracts)"
	@echo "make test-unit  the fast tier: the pure core and its vectors (about 10 s)"
	@echo "make bench  measure throughput, memory, gas, trees, verification (bench/results.md)"
	@echo "make audit  known vulnerabilities in the locked Python and npm dependencies"
	@echo "make load   submit small files at a fixed rate for a bounded time (load/results.json)"

# Python: a venv with exactly the locked dependency set, then the project itself (editable).
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Node: solc (wasm), Hardhat 2, anvil, OpenZeppelin, js-ipfs (the tests' IPFS daemon), solhint
# (make lint), from the lock file only. package.json overrides 'headless', an unused optional dependency deep under
# js-ipfs's optional WebRTC support, from a GitHub tarball to its registry release: npm cannot
# lock a tarball it cannot fetch, and `npm ci` refuses a lock without it.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages. At run time: the CJK font embedded in PDF certificates. For the tests, the
# independent checkers: the age CLI decrypts our blobs, chromium runs the verification page,
# poppler-utils and zbar-tools read the PDF certificate and its QR code, curl and openssl run
# the steps of a bundle's VERIFY.md. Installed only when missing and only when we may (root);
# otherwise say what to install.
RUN_PACKAGES  := fonts-noto-cjk
TEST_PACKAGES := $(RUN_PACKAGES) age chromium poppler-utils zbar-tools curl openssl

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (apt-get install$$missing)"; exit 1; fi; \
	fi
endef

$(VENV)/.run-packages: Makefile
	$(call apt_install,$(RUN_PACKAGES))
	@mkdir -p $(VENV) && touch $@

$(VENV)/.test-packages: Makefile
	$(call apt_install,$(TEST_PACKAGES))
	@mkdir -p $(VENV) && touch $@

run-packages: $(VENV)/.run-packages
system-packages: $(VENV)/.test-packages

install: $(STAMP) $(NODE_STAMP)

# Recompile with py-solc-x through the local solcjs (no download) and fail if the committed
# artifact differs from what the source compiles to.
contracts: install
	$(PY) -m notary.chain.compile --check

run: install contracts run-packages
	$(VENV)/bin/notary run

# ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade: pyproject.toml), mypy (strict for the
# core and the bundle reader; the migrations are not type-checked), the import contracts, and
# solhint on the contract (.solhint.json; every warning fails: --max-warnings 0). The rule set
# is solhint:recommended, tightened (compiler-version: exactly the 0.8.30 the artifact is built
# with) and extended (code-complexity, max-line-length, imports-order, naming, no unused private
# functions, no loops over .length, payable fallback). What differs from recommended, and why:
# - gas-indexed-events off: the BatchAnchored and SigningKey* events are a format. Verifiers
#   decode them from the raw transaction receipt's logs (docs/bundle-format.md), and indexing
#   another field moves it from the data to the topics;
# - use-natspec without @author: the contract is the project's, not a person's (@title,
#   @notice, @param and @return are still required);
# - func-visibility with ignoreConstructors: Solidity 0.7 and later forbids a visibility on a
#   constructor (the rule's own advice).
# contracts/EvidenceRegistry.sol itself never changes for a linter: its metadata hash is in the
# bytecode, whose keccak the trust roots pin (`make contracts` checks the artifact).
lint: install
	$(VENV)/bin/ruff check notary api storage tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	node_modules/.bin/solhint --disc --noPoster --max-warnings 0 'contracts/**/*.sol'

# The Python suite runs twice: on SQLite (the default) and on PostgreSQL. The PostgreSQL pass
# runs the tests that reach a database through the `database_url` fixture (tests/conftest.py
# deselects the rest, which would run exactly as on SQLite). When no PostgreSQL answers, that
# second run is reported as NOT RUN (loudly), never as passed.
# The two passes run side by side: each is one pytest process that mostly waits on the servers,
# nodes and workers it starts, so together they fill the 2 cores that one alone leaves half
# idle. Each has its own port range (tests/support.free_port) and temporary directory; the
# PostgreSQL pass's output is printed whole when it ends, after the SQLite pass's own. Each
# prints its 25 slowest tests: CI's budget is 60 minutes, and that list says where time goes.
NOTARY_TEST_POSTGRES ?= postgresql://root@127.0.0.1:5432/test

test-py: install system-packages
	@set -u; pg=0; \
	if $(PY) -c "import psycopg,sys; psycopg.connect('$(NOTARY_TEST_POSTGRES)', connect_timeout=3).close()" 2>/dev/null; then pg=1; fi; \
	tmp=$$(mktemp -d); pgpid=; \
	trap 'if [ -n "$$pgpid" ]; then kill $$pgpid 2>/dev/null; fi; rm -rf '$$tmp EXIT INT TERM; \
	if [ $$pg = 1 ]; then \
	  echo "== the PostgreSQL pass ($(NOTARY_TEST_POSTGRES)) runs beside this one; its output follows this one's =="; \
	  NOTARY_TEST_POSTGRES='$(NOTARY_TEST_POSTGRES)' NOTARY_TEST_PORTS=26000-31999 \
	    $(VENV)/bin/pytest -q --durations=25 -p no:cacheprovider --basetemp=$$tmp/postgres \
	    > $$tmp/postgres.log 2>&1 & pgpid=$$!; \
	fi; \
	NOTARY_TEST_PORTS=20000-25999 $(VENV)/bin/pytest -q --durations=25; sqlite=$$?; \
	if [ $$pg = 1 ]; then \
	  wait $$pgpid; postgres=$$?; pgpid=; \
	  echo "== the Python suite on PostgreSQL ($(NOTARY_TEST_POSTGRES)) =="; cat $$tmp/postgres.log; \
	  echo "== SQLite pass: exit $$sqlite; PostgreSQL pass: exit $$postgres =="; \
	else \
	  postgres=0; \
	  echo; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!  PostgreSQL tests NOT RUN: nothing answers at $(NOTARY_TEST_POSTGRES)"; \
	  echo "!!  (set NOTARY_TEST_POSTGRES to a server with trust auth to run them)"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; echo; \
	fi; \
	[ $$sqlite = 0 ] && [ $$postgres = 0 ]

# The fast tier: the pure core (formats, proofs, verification) and the golden vectors; no
# chain, database or network.
test-unit: install
	$(VENV)/bin/pytest -q tests/unit tests/vectors

test-contracts: install
	npx hardhat test

test: lint contracts test-py test-contracts

# Benchmarks of issue 8 (3-6 minutes): writes bench/results.md and bench/results.json.
bench: install
	$(PY) bench/run.py

# Dependency audit. pip-audit checks every pin of requirements.lock against PyPI's advisory
# data (--strict: a package that could not be checked fails the audit, never a silent pass);
# npm audit checks the Node tools (all dev-only: nothing from npm runs in the service) and
# fails on high or critical advisories. Both need their registry's advisory API.
audit: install
	@echo "== pip-audit: requirements.lock against PyPI's advisory data =="
	@$(VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict \
	    --progress-spinner off || { echo; \
	  echo "!! make audit FAILED: a known vulnerability, or a package pip-audit could not check"; \
	  echo "!! ('Dependency not found on PyPI' means PyPI's per-release JSON API, where pip-audit"; \
	  echo "!! reads advisories, did not answer: https://pypi.org/pypi/NAME/VERSION/json)"; exit 1; }
	@echo "== npm audit: package-lock.json (dev tools) against the npm registry's advisories =="
	@npm audit --audit-level=high || { echo; \
	  echo "!! make audit FAILED: a high/critical advisory, or the registry's audit endpoint did"; \
	  echo "!! not answer (see the npm error above)"; exit 1; }

# The crash test at soak size: 300 SIGKILLs instead of the 50 of `make test`; prints figures.
soak: install system-packages
	NOTARY_CRASH_KILLS=$${NOTARY_CRASH_KILLS:-300} $(VENV)/bin/pytest -q -s tests/faults/test_crash.py

# Load test: the service and a second process on loopback; defaults 50 submissions/s for 30 s.
LOAD_RATE ?= 50
LOAD_SECONDS ?= 30
load: install
	$(PY) -m load.run --rate $(LOAD_RATE) --seconds $(LOAD_SECONDS)

clean:
	rm -rf cache artifacts .pytest_cache
