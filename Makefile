# Desa Digital: `make run` starts the whole platform on this machine, `make test` tests it.
PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The portal's browser tests: Debian's Chromium and axe-core from npm (never a browser download).
CHROMIUM ?= /usr/bin/chromium
AXE_VERSION := 4.14.1
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

.PHONY: install browser run run-cluster stop stop-cluster status test test-faults test-load bench lint clean

install: $(STAMP) browser

browser: $(AXE)
	@test -x $(CHROMIUM) || (apt-get update -q && apt-get install -y -q chromium)

$(AXE):
	npm install --silent --no-audit --no-fund --no-save --prefix $(VENV)/npm axe-core@$(AXE_VERSION)

# Reinstalls only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check 'setuptools<82'
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: install
	$(PY) -m deploy.local.run up

# The platform on a local three-node RabbitMQ cluster (quorum queues), beside the system broker.
run-cluster: install
	$(PY) -m deploy.local.rabbitcluster up
	DESA_AMQP_URI="$$($(PY) -m deploy.local.rabbitcluster uri)" $(PY) -m deploy.local.run up

stop-cluster:
	@if test -x $(PY); then $(PY) -m deploy.local.rabbitcluster down; fi

stop:
	@if test -x $(PY); then $(PY) -m deploy.local.run down; else echo "nothing to stop"; fi

status: install
	$(PY) -m deploy.local.run status

# tests/bench is not part of the suite (its files are bench_*.py; --ignore makes sure).
# End-to-end tests run as their own session: their platform processes consume the same queues
# as the in-process service containers of the integration tests, so the two never share a run.
# The browser tests are a third session, without eventlet (tests/browser/conftest.py says why).
test: install
	$(VENV)/bin/pytest -q --ignore=tests/bench --ignore=tests/e2e --ignore=tests/browser --ignore=tests/faults --ignore=tests/load
	$(VENV)/bin/pytest -q tests/e2e
	DESA_TESTS_WITHOUT_EVENTLET=1 $(VENV)/bin/pytest -q tests/browser

# A three-node RabbitMQ cluster is started for them (a few minutes): nodes and service processes
# are killed mid-flow. Not part of `make test`; .ci/run runs both.
test-faults: install
	$(VENV)/bin/pytest -q tests/faults

# The load run (tests/load, a few minutes: DESA_LOAD_SECONDS, default 120): mixed traffic against
# the whole platform, figures printed (docs/reliability.md). Not part of `make test`; .ci/run runs it.
test-load: install
	$(VENV)/bin/pytest -q -s tests/load

bench: install
	$(PY) -m tests.bench.run_all

lint: install
	$(VENV)/bin/ruff check .

clean: stop
	rm -rf var .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
