# Pathways: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
# Needs only Python 3.11+ on the machine: uv is installed from PyPI into .tools/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

KAFKA_LIBS := .tools/kafka/libs
KAFKA_POM := deploy/kafka/pom.xml

.PHONY: install chromium kafka-jars validate-deploy toxiproxy run demo test test-unit test-integration test-e2e test-security test-kafka test-fault bench schemas asyncapi clean

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

# Apache Kafka's jars (version pinned in deploy/kafka/pom.xml), fetched by Maven; needs Java 17+ and mvn.
$(KAFKA_LIBS)/.installed: $(KAFKA_POM)
	rm -rf $(KAFKA_LIBS)
	mvn -q -B -f $(KAFKA_POM) -Dmaven.repo.local=$(CURDIR)/.tools/m2 dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/$(KAFKA_LIBS)
	touch $@

kafka-jars: $(KAFKA_LIBS)/.installed  ## Apache Kafka from Maven Central into .tools/kafka/libs

BROKER ?= tansu

# Deployment files checked offline: the compose file against the Compose Specification schema (shipped
# in the docker-compose 1.29.2 wheel on PyPI, a 2021 edition of the spec), the Kubernetes manifests
# with kubeconform (a Go module) against the Kubernetes JSON schemas shipped in the kubernetes-validate
# wheel on PyPI, made standalone by deploy/k8s_schemas.py. Nothing is fetched from elsewhere.
KUBECONFORM_VERSION := v0.7.0
K8S_VERSION := 1.33.0
SCHEMAS := .tools/schemas

$(SCHEMAS)/.installed: $(UV) deploy/k8s_schemas.py
	rm -rf $(SCHEMAS) .tools/dl && mkdir -p $(SCHEMAS) .tools/dl
	.tools/bin/pip download --quiet --no-deps --dest .tools/dl docker-compose==1.29.2 kubernetes-validate==1.37.0
	$(PYTHON) -c "import zipfile, glob; z = zipfile.ZipFile(glob.glob('.tools/dl/docker_compose-*.whl')[0]); \
	  open('$(SCHEMAS)/compose-spec.json', 'wb').write(z.read('compose/config/compose_spec.json'))"
	$(PYTHON) deploy/k8s_schemas.py .tools/dl/kubernetes_validate-1.37.0-py3-none-any.whl $(K8S_VERSION) $(SCHEMAS)/kubernetes
	touch $@

.tools/bin/kubeconform: $(UV)
	GOBIN=$(CURDIR)/.tools/bin GOPATH=$(CURDIR)/.tools/go GOCACHE=$(CURDIR)/.tools/go-cache GOFLAGS=-modcacherw \
	  go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

validate-deploy: install $(SCHEMAS)/.installed .tools/bin/kubeconform  ## compose file and Kubernetes manifests, offline
	$(VENV)/bin/python deploy/validate_compose.py $(SCHEMAS)/compose-spec.json docker-compose.yml
	.tools/bin/kubeconform -strict -summary -kubernetes-version $(K8S_VERSION) \
	  -schema-location '$(SCHEMAS)/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
	  deploy/k8s

run: install $(if $(filter kafka,$(BROKER)),kafka-jars)  ## the embedded stack, the services and the ops console (BROKER=kafka: Apache Kafka); Ctrl-C stops
	PATHWAYS_DEV_MODE=1 $(VENV)/bin/pathways run --broker $(BROKER)

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

test-fault: install toxiproxy kafka-jars  ## the services as processes under faults (kills, restarts, network, broker faults on a three-broker Apache Kafka cluster), one checker
	$(VENV)/bin/pytest -m fault

test-kafka: install kafka-jars  ## the integration and end-to-end tiers on Apache Kafka instead of Tansu
	PATHWAYS_TEST_BROKER=kafka $(VENV)/bin/pytest -m "integration or e2e"

# The ladder of issue 10: offered rates climbed per subscription count until one is not sustained
# (docs/performance.md has the rule), then deliveries/s, the bulk intake and the kit's replay beside raw
# consume, all in one run of `pathways bench e2e`. BROKER=kafka or both: the replay also on Apache Kafka.
BENCH_RATES ?= 10,100,500,1000,2000
BENCH_SUBSCRIPTIONS ?= 1,10,50
BENCH_SECONDS ?= 10
BENCH_EVENTS ?= 200000

bench: install $(if $(filter kafka both,$(BROKER)),kafka-jars)  ## figures, printed and written as JSON under bench-results/: end to end ladder, deliveries, bulk intake, replay vs raw, screening, policy simulation
	$(if $(filter kafka both,$(BROKER)),$(VENV)/bin/pathways bench --broker $(BROKER) --events $(BENCH_EVENTS))
	$(VENV)/bin/pathways bench e2e --rates $(BENCH_RATES) --subscriptions $(BENCH_SUBSCRIPTIONS) \
	  --seconds $(BENCH_SECONDS) --replay-events $(BENCH_EVENTS)
	$(VENV)/bin/pathways bench-screening
	$(VENV)/bin/pathways bench-simulation

schemas: install  ## regenerate contracts/schemas and the AsyncAPI documents after changing a model
	$(VENV)/bin/pathways contracts write

clean:
	rm -rf $(VENV) .tools .pathways
