# Pathways: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
# Needs only Python 3.11+ on the machine: uv is installed from PyPI into .tools/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install chromium run demo test test-unit test-integration test-e2e test-security test-fault toxiproxy bench schemas asyncapi clean

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

# Toxiproxy, the fault-injecting TCP proxy of the fault suite, built from its Go module.
TOXIPROXY_VERSION := v2.12.0
TOXIPROXY := .tools/bin/toxiproxy-server
$(TOXIPROXY):
	mkdir -p .tools/go-bin
	GOBIN=$(abspath .tools/go-bin) go install github.com/Shopify/toxiproxy/v2/cmd/server@$(TOXIPROXY_VERSION)
	mkdir -p .tools/bin && mv .tools/go-bin/server $@

toxiproxy: $(TOXIPROXY)

test: install chromium  ## everything but the fault suite (make test-fault): unit, integration, e2e, security
	$(VENV)/bin/pytest -m "not fault"

test-unit: install
	$(VENV)/bin/pytest -m unit

test-integration: install
	$(VENV)/bin/pytest -m integration

test-e2e: install chromium
	$(VENV)/bin/pytest -m e2e

test-security: install  ## authorisation matrix, privacy scan, API and consumer fuzzing
	$(VENV)/bin/pytest -m security

test-fault: install toxiproxy  ## the services as processes under faults (kills, restarts, network), one checker
	$(VENV)/bin/pytest -m fault

bench: install  ## figures, printed: kit replay vs raw aiokafka, screening throughput, policy simulation speed
	$(VENV)/bin/pathways bench
	$(VENV)/bin/pathways bench-screening
	$(VENV)/bin/pathways bench-simulation

schemas: install  ## regenerate contracts/schemas and the AsyncAPI documents after changing a model
	$(VENV)/bin/pathways contracts write

clean:
	rm -rf $(VENV) .tools .pathways
