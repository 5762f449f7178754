# Pathways: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
# Needs only Python 3.11+ on the machine: uv is installed from PyPI into .tools/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install chromium run demo test test-unit test-integration test-e2e bench schemas asyncapi clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-packages
	touch $@

install: $(VENV)/.installed

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
# As root apt-get runs as it is; otherwise through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

run: install  ## the embedded stack, the services and the ops console; Ctrl-C stops everything
	PATHWAYS_DEV_MODE=1 $(VENV)/bin/pathways run

demo: install  ## beside a running `make run`: the README walk-through as a script
	$(VENV)/bin/pathways demo

test: install chromium
	$(VENV)/bin/pytest

test-unit: install
	$(VENV)/bin/pytest -m unit

test-integration: install
	$(VENV)/bin/pytest -m integration

test-e2e: install chromium
	$(VENV)/bin/pytest -m e2e

# Short by default so `make bench` takes a few minutes; larger runs: BENCH_EVENTS=1000000 BENCH_RATES=15,30,60,100.
BENCH_EVENTS ?= 200000
BENCH_RATES ?= 10,30
BENCH_SECONDS ?= 10

bench: install  ## figures, printed and written as JSON: kit replay vs raw aiokafka, end to end, screening, policy simulation
	$(VENV)/bin/pathways bench --events $(BENCH_EVENTS)
	$(VENV)/bin/pathways bench e2e --rates $(BENCH_RATES) --seconds $(BENCH_SECONDS)
	$(VENV)/bin/pathways bench-screening
	$(VENV)/bin/pathways bench-simulation

schemas: install  ## regenerate contracts/schemas and the AsyncAPI documents after changing a model
	$(VENV)/bin/pathways contracts write

clean:
	rm -rf $(VENV) .tools .pathways
