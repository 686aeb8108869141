# ACRM: two commands for a new user (`make demo`, `make test`), the rest for developers.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV          := .venv
BIN           := $(VENV)/bin
INSTALLED     := $(VENV)/.installed
MANIFEST      := dbt_project/target/manifest.json
DEMO_SCALE    ?= 0.1
DEMO_SEED     ?= 42
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o \
                 -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print 2>/dev/null)

.PHONY: help setup demo test test-spark test-unit lint bench lock dagster serve clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml requirements.lock
	@set -e; \
	if [ ! -x $(BIN)/python ]; then \
	    python=$$(tools/find-python); \
	    echo "creating $(VENV) with $$python"; \
	    "$$python" -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev,atoti,spark]'
	@touch $@

$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	$(BIN)/acrm dbt-prepare

setup: $(INSTALLED) $(MANIFEST)  ## create .venv, install the locked dependencies, prepare dbt
	@mkdir -p $(DAGSTER_HOME)
	@cp -n tools/dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true

demo: setup  ## generate sample sources, run the whole pipeline, print a summary
	$(BIN)/acrm generate --scale $(DEMO_SCALE) --seed $(DEMO_SEED)
	$(BIN)/acrm run
	$(BIN)/acrm summary

test: setup  ## run every test (unit, integration, e2e, Spark parity; `-m 'not spark'` skips Spark)
	@tools/ensure-apt "PostgreSQL landing tests" 'ls /usr/lib/postgresql/*/bin/initdb' postgresql
	@tools/ensure-apt "web pivot browser tests" 'command -v chromium && command -v chromedriver' \
	    chromium chromium-driver
	$(BIN)/python -m pytest -m "unit or integration or e2e or spark"

test-spark: setup  ## the Spark parity test alone: DuckDB's marts against Spark's
	$(BIN)/python -m pytest -m spark

test-unit: setup  ## run the fast unit tests only
	$(BIN)/python -m pytest -m unit

BENCH_SCALES ?= 1 10
RUN_BENCH_SCALES ?= 1 10
WAREHOUSE_BENCH_SCALES ?= 1 10
CUBE_BENCH_SCALES ?= 1 10
SPARK_BENCH_SCALES ?= 1 10

bench: setup  ## landing, whole runs, warehouse increments, cube queries, serving, mining, Spark: ours, naive, lower bound
	$(BIN)/python bench/landing.py --scales $(BENCH_SCALES)
	$(BIN)/python bench/run.py --scales $(RUN_BENCH_SCALES)
	$(BIN)/python bench/warehouse.py --scales $(WAREHOUSE_BENCH_SCALES)
	$(BIN)/python bench/cube.py --scales $(CUBE_BENCH_SCALES)
	$(BIN)/python bench/serve.py --scales $(CUBE_BENCH_SCALES)
	$(BIN)/python bench/mining_assets.py --scales $(CUBE_BENCH_SCALES)
	$(BIN)/python bench/spark.py --scales $(SPARK_BENCH_SCALES)

lint: setup  ## ruff, import contracts, the atoti engine's types (mypy), SQLFluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	@# dbt's templater opens a warehouse: an empty one of its own, so a new clone lints too
	scratch=$$(mktemp -d) && ACRM_WAREHOUSE=$$scratch/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models; \
	    status=$$?; rm -rf $$scratch; exit $$status

dagster: setup  ## open the Dagster UI on the same definitions `acrm run` uses
	$(BIN)/dagster dev -m pipelines.definitions

serve: setup  ## serve the HTTP API, the web pivot and the report on http://127.0.0.1:8765/
	$(BIN)/acrm serve

lock:  ## re-resolve the dependencies and rewrite requirements.lock
	rm -rf /tmp/acrm-lock && "$$(tools/find-python)" -m venv /tmp/acrm-lock
	/tmp/acrm-lock/bin/pip install --quiet --upgrade pip
	/tmp/acrm-lock/bin/pip install --quiet '.[dev,atoti,spark]'
	/tmp/acrm-lock/bin/pip freeze --exclude acrm | grep -v '^-e ' > requirements.lock

clean:  ## remove the virtualenv, generated data and dbt artifacts
	rm -rf $(VENV) data/sources data/warehouse dbt_project/target .dagster_home
