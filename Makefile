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

.PHONY: install dev run test chromium test-postgres unit integration infra e2e lint typecheck check docs synth synth-pipeline package deploy bench bench-pipeline bench-duplicates backtest bench-enrich bench-encrypt bench-load profile bench-speed db-upgrade health clean drills doc-figures

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

test: $(DEV) chromium ## every test: unit, integration (moto), infrastructure (CDK), end to end
	$(BIN)/pytest

chromium: ## Debian's Chromium for the report tests, unless one is installed (needs root or sudo)
	bash scripts/install-chromium.sh

test-postgres: $(DEV) ## every test, with a throwaway PostgreSQL server for the warehouse tests
	scripts/with-postgres.sh $(BIN)/pytest

unit: $(DEV)
	$(BIN)/pytest tests/unit
integration: $(DEV)
	$(BIN)/pytest tests/integration
infra: $(DEV)
	$(BIN)/pytest tests/infra
e2e: $(DEV) chromium ## the end-to-end tests, Chromium report tests included
	$(BIN)/pytest tests/e2e

lint: $(DEV) ## ruff, formatting, and the package's bands (import-linter, docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
typecheck: $(DEV)
	$(BIN)/mypy layers/customer_etl functions infra tests scripts

check: lint typecheck test

docs: $(DEV) ## regenerate docs/configuration.md and docs/governance/ from the configuration model
	$(BIN)/customer-etl config docs --output docs/configuration.md
	$(BIN)/customer-etl config governance-docs --output docs/governance
	$(BIN)/python -m customer_etl.config.classification_scheme --output docs/governance/classification-scheme.md

synth: $(DEV) ## synthesise the CloudFormation template of ENV (dev, staging or prod)
	@test -n "$(ENV)" || { echo "name the environment: make synth ENV=staging"; exit 2; }
	$(CDK) synth --context env=$(ENV) --no-notices

synth-pipeline: $(DEV) ## synthesise the deployment pipeline (config/pipeline.yaml) with every environment
	$(CDK) synth --context pipeline=true --no-notices

package: $(DEV) ## build ENV's function and layer assets; print sizes and hashes against Lambda's limits
	@test -n "$(ENV)" || { echo "name the environment: make package ENV=staging"; exit 2; }
	$(BIN)/python -m infra.package --env $(ENV)

deploy: $(DEV) ## deploy ENV (dev, staging or prod) to the current AWS account
	@test -n "$(ENV)" || { echo "name the environment: make deploy ENV=staging"; exit 2; }
	$(CDK) deploy --context env=$(ENV) --no-notices

bench: $(DEV)
	$(BIN)/python scripts/bench_generate.py

bench-pipeline: $(DEV) ## whole local runs, 1 and 2 workers, vs read-and-insert and read_csv+to_sql; cost per 1M rows
	$(BIN)/python scripts/bench_pipeline.py $(BENCH_ARGS)

backtest: $(DEV) ## precision and recall of the "likely to breach" predictions on planted drifts
	$(BIN)/python scripts/backtest_forecast.py $(BENCH_ARGS)

bench-duplicates: $(DEV) ## extract's file-wide uniqueness check vs a plain set, 1M and 5M keys
	$(BIN)/python scripts/bench_duplicates.py $(BENCH_ARGS)

bench-enrich: $(DEV) ## batched enrichment vs one request per row, against the fake API
	$(BIN)/python scripts/bench_enrich.py

bench-encrypt: $(DEV) ## envelope encryption of 1,000,000 values vs Powertools encrypt, moto KMS
	$(BIN)/python scripts/bench_encrypt.py

# awswrangler pins pyarrow below the version the tests use: the load benchmark has its own
# environment. BENCH_ARGS=--rows 200000 for a shorter run.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e ".[bench]"
	touch $@

bench-load: $(BENCH_VENV)/.installed ## warehouse load vs pandas.to_sql and awswrangler
	scripts/with-postgres.sh $(BENCH_VENV)/bin/python scripts/bench_load.py $(BENCH_ARGS)

# dlt, the plain loader bench-speed compares with, in its own environment as well.
DLT_VENV := .venv-dlt
$(DLT_VENV)/.installed:
	$(PYTHON) -m venv $(DLT_VENV)
	$(DLT_VENV)/bin/pip install --quiet --upgrade pip
	$(DLT_VENV)/bin/pip install --quiet "dlt[sqlalchemy]>=1.5"
	touch $@

bench-speed: $(DEV) $(DLT_VENV)/.installed ## 1M rows: end to end and per stage, unchanged rerun, imports, peak RSS, dlt's merge load
	$(BIN)/python scripts/bench_speed.py --dlt-python $(DLT_VENV)/bin/python $(BENCH_ARGS)

ROWS ?= 100000
profile: $(DEV) ## cProfile of a whole local run of ROWS rows: sorted tables and a flame graph in .etl/profile
	$(BIN)/python scripts/profile_run.py --rows $(ROWS) $(PROFILE_ARGS)
drills: $(DEV) ## run the failure drills (tests/resilience); write their measured times to docs/figures/drills.json
	scripts/with-postgres.sh $(BIN)/python scripts/drill_times.py; status=$$?; \
	$(BIN)/python scripts/refresh_doc_figures.py; exit $$status

doc-figures: $(DEV) ## the dashboard screenshots, downtime cost and energy figures the docs quote (docs/figures/)
	$(BIN)/python scripts/dashboard_figures.py
	$(BIN)/python scripts/impact_figures.py
	$(BIN)/python scripts/energy_figures.py
	$(BIN)/python scripts/refresh_doc_figures.py

db-upgrade: $(RUNTIME) ## apply pending warehouse migrations (ENV=local by default)
	$(BIN)/customer-etl db upgrade --env $(or $(ENV),local)

health: $(RUNTIME) ## check the warehouse of ENV (local by default)
	$(BIN)/customer-etl health --env $(or $(ENV),local)

clean:
	rm -rf .etl cdk.out .pytest_cache .mypy_cache .ruff_cache $(BENCH_VENV) $(DLT_VENV)
