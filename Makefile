# The developer workflow. `make run` and `make test` set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
ENV ?=
CDK := CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true \
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 PATH="$(CURDIR)/$(BIN):$$PATH" \
	npx --yes aws-cdk@2

.PHONY: install dev run test unit integration infra e2e lint typecheck check docs synth deploy bench clean

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(RUNTIME)

install: $(RUNTIME)
dev: $(DEV)

run: $(RUNTIME) ## run the pipeline on the bundled sample
	$(BIN)/customer-etl run data/sample/customers.csv

test: $(DEV) ## every test: unit, integration (moto), infrastructure (CDK), end to end
	$(BIN)/pytest

unit: $(DEV)
	$(BIN)/pytest tests/unit
integration: $(DEV)
	$(BIN)/pytest tests/integration
infra: $(DEV)
	$(BIN)/pytest tests/infra
e2e: $(DEV)
	$(BIN)/pytest tests/e2e

lint: $(DEV)
	$(BIN)/ruff check .
typecheck: $(DEV)
	$(BIN)/mypy layers/customer_etl functions infra tests scripts

check: lint typecheck test

docs: $(DEV) ## regenerate docs/configuration.md from the configuration model
	$(BIN)/customer-etl config docs --output docs/configuration.md

synth: $(DEV) ## synthesise the CloudFormation template of ENV (dev, staging or prod)
	@test -n "$(ENV)" || { echo "name the environment: make synth ENV=staging"; exit 2; }
	$(CDK) synth --context env=$(ENV) --no-notices

deploy: $(DEV) ## deploy ENV (dev, staging or prod) to the current AWS account
	@test -n "$(ENV)" || { echo "name the environment: make deploy ENV=staging"; exit 2; }
	$(CDK) deploy --context env=$(ENV) --no-notices

bench: $(DEV)
	$(BIN)/python scripts/bench_generate.py

clean:
	rm -rf .etl cdk.out .pytest_cache .mypy_cache .ruff_cache
